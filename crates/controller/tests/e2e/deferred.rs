//! DeferredResource end to end: scenario A16, objects that already exist,
//! RBAC and spec errors, spec edits, an operator restart while pending,
//! and the additions: waitFor on a condition in another namespace,
//! failAfter, and mode keepApplied.
//! The harness runs the operator with a 1 s poll period.

use std::time::{Duration, Instant};

use integration_api::{CreatedObject, DeferredResource};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube_emulator::WRITE_VERBS;
use serde_json::json;

use crate::harness::*;

/// A `waitFor` of a kind no API serves (its CRD is not installed yet).
const WAIT_FOR_UNSERVED: &str = "[{group: example.com, version: v1, kind: Widget, name: w}]";

/// A16's DeferredResource.
const A16: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: DeferredResource
metadata: {name: late-cm, namespace: app}
spec:
  serviceAccountName: integrator
  timeout: 5
  waitFor:
    - {apiVersion: v1, kind: Secret, name: db-credentials}
  resource:
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: late-cm, namespace: somewhere-else}
    data: {hello: world}
"#;

const SECRET: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: db-credentials, namespace: app}
stringData: {password: pw}
"#;

/// The operator's poll period in these tests (the harness's).
const POLL: Duration = Duration::from_secs(1);

fn drs(op: &Op) -> Api<DeferredResource> {
    Api::namespaced(op.client.clone(), "app")
}

async fn dr(op: &Op, name: &str) -> Option<DeferredResource> {
    drs(op).get_opt(name).await.unwrap()
}

/// Waits until the DR's `Resolved` condition has `reason` and `message`.
async fn resolved_with(op: &Op, name: &str, reason: &str, message: &str) -> DeferredResource {
    eventually(&format!("DR app/{name} {reason}: {message}"), || async {
        dr(op, name).await.filter(|d| {
            d.status
                .as_ref()
                .and_then(|s| condition(s.conditions.as_ref(), "Resolved"))
                .is_some_and(|c| c.reason == reason && c.message == message)
        })
    })
    .await
}

/// Waits for `Resolved=True/Success`, then checks the whole status.
async fn succeeds(op: &Op, name: &str, object: CreatedObject, preexisting: Option<bool>) {
    let d = resolved_with(op, name, "Success", "success").await;
    let status = d.status.unwrap();
    assert_eq!(
        summary(status.conditions.as_ref()),
        [cond("Resolved", "True", "Success", "success")]
    );
    assert_eq!(status.owner_references, Some(object));
    assert_eq!(status.preexisting, preexisting);
}

/// Waits until the DR shows `Failed` with `message` and a Warning Event
/// says the same.
async fn fails_with(op: &Op, name: &str, message: &str) -> DeferredResource {
    let d = eventually(&format!("DR app/{name} Failed: {message}"), || async {
        dr(op, name).await.filter(|d| {
            d.status
                .as_ref()
                .and_then(|s| condition(s.conditions.as_ref(), "Failed"))
                .is_some_and(|c| c.message == message)
        })
    })
    .await;
    eventually(&format!("Warning Event: {message}"), || async {
        let notes = op.event_notes("app", name, "Failed").await;
        notes.iter().any(|n| n == message).then_some(())
    })
    .await;
    d
}

fn config_map_record(cm: &k8s_openapi::api::core::v1::ConfigMap) -> CreatedObject {
    CreatedObject {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: cm.metadata.name.clone().unwrap(),
        uid: cm.metadata.uid.clone().unwrap(),
    }
}

/// Writes of the DR (status, finalizers, spec) since `before`.
fn dr_writes(op: &Op, before: &kube_emulator::RequestCounts) -> u64 {
    op.emu.requests().since(before).sum(|k| {
        WRITE_VERBS.contains(&k.verb.as_str()) && k.resource.starts_with("deferredresources")
    })
}

/// Waits for `n` more DR passes.
async fn passes(op: &Op, n: u64) {
    let target = op.metrics.passes.deferred() + n;
    eventually("DR passes", || async {
        (op.metrics.passes.deferred() >= target).then_some(())
    })
    .await;
}

async fn delete_dr(op: &Op, name: &str) {
    drs(op)
        .delete(name, &DeleteParams::default())
        .await
        .unwrap();
    eventually(&format!("DR app/{name} gone"), || async {
        dr(op, name).await.is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn a16_deferred_resource() {
    let op = Op::start().await;
    op.apply(A16).await;

    let d = resolved_with(&op, "late-cm", "Pending", "waiting for timeout").await;
    let created = d.metadata.creation_timestamp.clone().unwrap().0;
    assert_eq!(
        summary(d.status.as_ref().unwrap().conditions.as_ref()),
        [cond("Resolved", "False", "Pending", "waiting for timeout")]
    );
    assert!(op.config_map("app", "late-cm").await.is_none());

    resolved_with(&op, "late-cm", "Pending", "waiting for resource").await;
    let waited = jiff::Timestamp::now().duration_since(created);
    assert!(waited >= jiff::SignedDuration::from_secs(5), "{waited:?}");
    assert!(op.config_map("app", "late-cm").await.is_none());

    // Waiting polls, at most one status write per poll period (none here:
    // nothing changes), and no hot loop.
    // (The write of the reason may still trigger one immediate pass.)
    let before = op.emu.requests();
    let start = Instant::now();
    passes(&op, 4).await;
    assert!(
        start.elapsed() >= 2 * POLL,
        "4 passes in {:?}",
        start.elapsed()
    );
    assert_eq!(dr_writes(&op, &before), 0);
    assert!(op.config_map("app", "late-cm").await.is_none());

    op.admin_apply(SECRET).await;
    let cm = eventually("ConfigMap app/late-cm", || op.config_map("app", "late-cm")).await;
    assert_eq!(data(&cm), json!({"hello": "world"}));
    let managers: Vec<_> = cm
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.as_deref())
        .collect();
    assert_eq!(managers, ["integration-operator"]);
    assert!(op.config_map("somewhere-else", "late-cm").await.is_none());
    succeeds(&op, "late-cm", config_map_record(&cm), None).await;

    delete_dr(&op, "late-cm").await;
    assert!(op.config_map("app", "late-cm").await.is_none());
}

/// A16's Secret, and the ConfigMap `app/late-cm` created by someone else
/// before the DR would create it.
async fn someone_elses_late_cm(op: &Op) -> ConfigMap {
    op.admin_apply(SECRET).await;
    op.admin_apply(
        "{apiVersion: v1, kind: ConfigMap, metadata: {name: late-cm, namespace: app}, \
         data: {mine: 'yes'}}",
    )
    .await;
    op.config_map("app", "late-cm").await.unwrap()
}

/// Deletes the DR `late-cm`, then asserts `mine` outlived it.
async fn deleting_the_dr_keeps(op: &Op, mine: &ConfigMap) {
    delete_dr(op, "late-cm").await;
    let kept = op.config_map("app", "late-cm").await.unwrap();
    assert_eq!(kept.metadata.uid, mine.metadata.uid);
}

#[tokio::test]
async fn an_object_that_already_exists_is_success_and_is_kept() {
    let op = Op::start().await;
    let mine = someone_elses_late_cm(&op).await;
    op.apply_value(&manifest(A16, &[("spec.timeout", "0")]))
        .await;

    succeeds(&op, "late-cm", config_map_record(&mine), Some(true)).await;
    // Left as it was: not applied over.
    let cm = op.config_map("app", "late-cm").await.unwrap();
    assert_eq!(cm.metadata.resource_version, mine.metadata.resource_version);

    deleting_the_dr_keeps(&op, &mine).await;
}

/// F0's Role in `app`, plus ServiceAccounts.
const ROLE_WITH_SERVICE_ACCOUNTS: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: integrator, namespace: app}
rules:
  - apiGroups: [""]
    resources: [configmaps, secrets, services, serviceaccounts]
    verbs: [get, list, watch, create, update, patch, delete]
"#;

#[tokio::test]
async fn forbidden_resource_fails_until_rbac_allows_it() {
    let op = Op::start().await;
    op.apply_value(&manifest(
        A16,
        &[
            ("spec.timeout", "1"),
            ("spec.waitFor", "[]"),
            (
                "spec.resource",
                "{apiVersion: v1, kind: ServiceAccount, metadata: {name: late-sa}}",
            ),
        ],
    ))
    .await;
    let message = "get ServiceAccount app/late-sa: Forbidden: serviceaccounts \"late-sa\" is \
                   forbidden: User \"system:serviceaccount:app:integrator\" cannot get resource \
                   \"serviceaccounts\" in API group \"\" in the namespace \"app\"";
    let d = fails_with(&op, "late-cm", message).await;
    assert_eq!(
        summary(d.status.as_ref().unwrap().conditions.as_ref()),
        [
            cond("Resolved", "False", "Error", "failed"),
            cond("Failed", "True", "Error", message),
        ]
    );

    // Settled: retries back off and write nothing new.
    let rv = d.metadata.resource_version.clone();
    passes(&op, 2).await;
    assert_eq!(
        dr(&op, "late-cm").await.unwrap().metadata.resource_version,
        rv
    );
    assert_eq!(op.event_notes("app", "late-cm", "Failed").await.len(), 1);

    // Roles are not watched: the fix is picked up by the backoff retry.
    op.admin_apply(ROLE_WITH_SERVICE_ACCOUNTS).await;
    let accounts: Api<ServiceAccount> = Api::namespaced(op.client.clone(), "app");
    let sa = eventually("ServiceAccount app/late-sa", || async {
        accounts.get_opt("late-sa").await.unwrap()
    })
    .await;
    let record = CreatedObject {
        api_version: "v1".into(),
        kind: "ServiceAccount".into(),
        name: "late-sa".into(),
        uid: sa.metadata.uid.unwrap(),
    };
    succeeds(&op, "late-cm", record, None).await;
}

#[tokio::test]
async fn bad_specs_fail_with_a_clear_message_until_fixed() {
    let op = Op::start().await;
    op.admin_apply(SECRET).await;
    op.apply_value(&manifest(
        A16,
        &[
            ("spec.timeout", "0"),
            (
                "spec.resource",
                "{apiVersion: v1, kind: ConfigMap, data: {hello: world}}",
            ),
        ],
    ))
    .await;
    let d = fails_with(&op, "late-cm", "spec.resource has no metadata.name").await;
    assert_eq!(
        summary(d.status.as_ref().unwrap().conditions.as_ref()),
        [cond(
            "Failed",
            "True",
            "Error",
            "spec.resource has no metadata.name"
        )]
    );

    // A waitFor kind that no API serves (its CRD is not installed yet).
    op.apply_value(&manifest(
        A16,
        &[("spec.timeout", "0"), ("spec.waitFor", WAIT_FOR_UNSERVED)],
    ))
    .await;
    fails_with(
        &op,
        "late-cm",
        "kind Widget is not served in example.com/v1",
    )
    .await;

    // A mode the operator does not know: the schema takes any string, the
    // operator names the field.
    op.apply_value(&manifest(
        A16,
        &[("spec.timeout", "0"), ("spec.mode", "sometimes")],
    ))
    .await;
    fails_with(
        &op,
        "late-cm",
        "spec.mode must be createOnce or keepApplied, not \"sometimes\"",
    )
    .await;

    op.apply_value(&manifest(A16, &[("spec.timeout", "0")]))
        .await;
    let cm = eventually("ConfigMap app/late-cm", || op.config_map("app", "late-cm")).await;
    succeeds(&op, "late-cm", config_map_record(&cm), None).await;
}

#[tokio::test]
async fn a_spec_edit_applies_the_resource_again() {
    let op = Op::start().await;
    op.admin_apply(SECRET).await;
    op.apply_value(&manifest(A16, &[("spec.timeout", "0")]))
        .await;
    let first = eventually("ConfigMap app/late-cm", || op.config_map("app", "late-cm")).await;
    succeeds(&op, "late-cm", config_map_record(&first), None).await;

    // Same object, new content: applied over (same uid).
    op.apply_value(&manifest(
        A16,
        &[
            ("spec.timeout", "0"),
            ("spec.resource.data", "{hello: again}"),
        ],
    ))
    .await;
    let updated = eventually("late-cm updated", || async {
        op.config_map("app", "late-cm")
            .await
            .filter(|cm| data(cm)["hello"] == "again")
    })
    .await;
    assert_eq!(updated.metadata.uid, first.metadata.uid);
    succeeds(&op, "late-cm", config_map_record(&updated), None).await;

    // Another object: created, and the one created before is deleted.
    op.apply_value(&manifest(
        A16,
        &[
            ("spec.timeout", "0"),
            ("spec.resource.metadata.name", "renamed-cm"),
        ],
    ))
    .await;
    let renamed = eventually("ConfigMap app/renamed-cm", || {
        op.config_map("app", "renamed-cm")
    })
    .await;
    succeeds(&op, "late-cm", config_map_record(&renamed), None).await;
    assert!(op.config_map("app", "late-cm").await.is_none());
    let d = dr(&op, "late-cm").await.unwrap();
    let resolved = condition(d.status.unwrap().conditions.as_ref(), "Resolved").cloned();
    assert_eq!(resolved.unwrap().observed_generation, d.metadata.generation);
}

#[tokio::test]
async fn a_restarted_operator_resumes_a_pending_resource() {
    let mut op = Op::start().await;
    op.apply_value(&manifest(A16, &[("spec.timeout", "1")]))
        .await;
    resolved_with(&op, "late-cm", "Pending", "waiting for resource").await;

    op.stop_operator().await;
    op.admin_apply(SECRET).await;
    let before = op.emu.requests();
    // Nothing happens while the operator is away.
    assert!(op.config_map("app", "late-cm").await.is_none());
    op.start_operator();

    let cm = eventually("ConfigMap app/late-cm", || op.config_map("app", "late-cm")).await;
    succeeds(&op, "late-cm", config_map_record(&cm), None).await;
    // One status write (Success); the finalizer was already there.
    assert_eq!(dr_writes(&op, &before), 1);

    delete_dr(&op, "late-cm").await;
    assert!(op.config_map("app", "late-cm").await.is_none());
}

#[tokio::test]
async fn deleting_a_pending_resource_deletes_nothing() {
    let op = Op::start().await;
    op.admin_apply(
        "{apiVersion: v1, kind: ConfigMap, metadata: {name: late-cm, namespace: app}, \
         data: {mine: 'yes'}}",
    )
    .await;
    op.apply(A16).await;
    resolved_with(&op, "late-cm", "Pending", "waiting for timeout").await;
    delete_dr(&op, "late-cm").await;
    assert!(op.config_map("app", "late-cm").await.is_some());
}

/// A16 waiting for Job `db/migrate` to be `Complete=True`.
const AFTER_MIGRATION: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: DeferredResource
metadata: {name: late-cm, namespace: app}
spec:
  serviceAccountName: integrator
  waitFor:
    - {apiVersion: batch/v1, kind: Job, name: migrate, namespace: db, condition: {type: Complete}}
  resource:
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: late-cm}
    data: {hello: world}
"#;

/// Lets `app/integrator` use F0's Role in `db` (get Jobs there).
const APP_READS_DB: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: app-integrator, namespace: db}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: integrator}
subjects: [{kind: ServiceAccount, name: integrator, namespace: app}]
"#;

/// Plays the Job controller: sets `db/migrate`'s conditions.
async fn job_conditions(op: &Op, conditions: serde_json::Value) {
    let jobs: Api<Job> = Api::namespaced(op.client.clone(), "db");
    let patch = json!({"status": {"conditions": conditions}});
    jobs.patch_status("migrate", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test]
async fn waits_for_a_condition_in_another_namespace_as_the_service_account() {
    let op = Op::start().await;
    op.apply(AFTER_MIGRATION).await;
    // The lookup is the service account's: no access to `db` yet.
    let forbidden = "get Job db/migrate: Forbidden: jobs.batch \"migrate\" is forbidden: User \
                     \"system:serviceaccount:app:integrator\" cannot get resource \"jobs\" in API \
                     group \"batch\" in the namespace \"db\"";
    fails_with(&op, "late-cm", forbidden).await;

    // Roles are not watched: the backoff retry sees the binding. An entry
    // with a condition names it, whether the object exists yet or not.
    op.admin_apply(APP_READS_DB).await;
    let waiting = "waiting for Job db/migrate to be Complete=True";
    resolved_with(&op, "late-cm", "Pending", waiting).await;

    op.admin_apply("{apiVersion: batch/v1, kind: Job, metadata: {name: migrate, namespace: db}}")
        .await;
    passes(&op, 2).await;
    resolved_with(&op, "late-cm", "Pending", waiting).await;
    job_conditions(&op, json!([{"type": "Complete", "status": "False"}])).await;
    // The look after that change still waits.
    passes(&op, 2).await;
    resolved_with(&op, "late-cm", "Pending", waiting).await;
    assert!(op.config_map("app", "late-cm").await.is_none());

    job_conditions(&op, json!([{"type": "Complete", "status": "True"}])).await;
    let cm = eventually("ConfigMap app/late-cm", || op.config_map("app", "late-cm")).await;
    assert_eq!(data(&cm), json!({"hello": "world"}));
    succeeds(&op, "late-cm", config_map_record(&cm), None).await;
}

/// Adds a label: a watch event, so one more pass, without a spec change.
async fn touch(op: &Op, name: &str, value: &str) {
    let patch = json!({"metadata": {"labels": {"touched": value}}});
    drs(op)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Operator reads of `resource` since `before`.
fn reads_of(op: &Op, before: &kube_emulator::RequestCounts, resource: &str) -> u64 {
    op.emu
        .requests()
        .since(before)
        .sum(|k| k.verb == "get" && k.resource.starts_with(resource))
}

#[tokio::test]
async fn fail_after_gives_up_until_a_spec_edit_raises_it() {
    let op = Op::start().await;
    op.apply_value(&manifest(
        A16,
        &[("spec.timeout", "0"), ("spec.failAfter", "2")],
    ))
    .await;
    resolved_with(&op, "late-cm", "Pending", "waiting for resource").await;
    let message = "gave up after 2 s waiting for Secret app/db-credentials";
    let d = fails_with(&op, "late-cm", message).await;
    assert_eq!(
        summary(d.status.as_ref().unwrap().conditions.as_ref()),
        [
            cond("Resolved", "False", "Error", "gave up"),
            cond("Failed", "True", "Error", message),
        ]
    );
    let created = d.metadata.creation_timestamp.clone().unwrap().0;
    let waited = jiff::Timestamp::now().duration_since(created);
    assert!(waited >= jiff::SignedDuration::from_secs(2), "{waited:?}");

    // Given up: the Secret arriving changes nothing. A pass (here after a
    // label change) looks at nothing and schedules no next look (that it
    // requeues nothing is the unit test
    // `fail_after_makes_one_last_look_then_gives_up_until_the_spec_changes`).
    op.admin_apply(SECRET).await;
    let before = op.emu.requests();
    touch(&op, "late-cm", "1").await;
    passes(&op, 1).await;
    assert_eq!(reads_of(&op, &before, "secrets"), 0);
    assert_eq!(dr_writes(&op, &before), 1, "only the label");
    assert!(op.config_map("app", "late-cm").await.is_none());
    let d = dr(&op, "late-cm").await.unwrap();
    assert_eq!(
        summary(d.status.as_ref().unwrap().conditions.as_ref())[1],
        cond("Failed", "True", "Error", message)
    );
    assert_eq!(op.event_notes("app", "late-cm", "Failed").await.len(), 1);

    // Raising failAfter resumes (time still counts from creation).
    op.apply_value(&manifest(
        A16,
        &[("spec.timeout", "0"), ("spec.failAfter", "600")],
    ))
    .await;
    let cm = eventually("ConfigMap app/late-cm", || op.config_map("app", "late-cm")).await;
    succeeds(&op, "late-cm", config_map_record(&cm), None).await;
}

#[tokio::test]
async fn fail_after_gives_up_on_a_kind_that_is_never_served() {
    let op = Op::start().await;
    op.apply_value(&manifest(
        A16,
        &[
            ("spec.timeout", "0"),
            ("spec.failAfter", "1"),
            ("spec.waitFor", WAIT_FOR_UNSERVED),
        ],
    ))
    .await;
    fails_with(
        &op,
        "late-cm",
        "gave up after 1 s, last error: kind Widget is not served in example.com/v1",
    )
    .await;
    resolved_with(&op, "late-cm", "Error", "gave up").await;
}

#[tokio::test]
async fn keep_applied_repairs_drift_and_recreates_a_deleted_object() {
    let op = Op::start().await;
    op.admin_apply(SECRET).await;
    op.apply_value(&manifest(
        A16,
        &[("spec.timeout", "0"), ("spec.mode", "keepApplied")],
    ))
    .await;
    let first = eventually("ConfigMap app/late-cm", || op.config_map("app", "late-cm")).await;
    succeeds(&op, "late-cm", config_map_record(&first), None).await;

    // Another manager takes a field the resource sets: taken back.
    let change = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "late-cm", "namespace": "app"}, "data": {"hello": "tampered"}});
    op.config_maps("app")
        .patch(
            "late-cm",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(&change),
        )
        .await
        .unwrap();
    let repaired = eventually("late-cm repaired", || async {
        op.config_map("app", "late-cm")
            .await
            .filter(|cm| data(cm)["hello"] == "world")
    })
    .await;
    assert_eq!(repaired.metadata.uid, first.metadata.uid);

    // Deleted: created again, and the new object is recorded.
    op.delete_config_map("app", "late-cm").await;
    let again = eventually("late-cm created again", || async {
        op.config_map("app", "late-cm")
            .await
            .filter(|cm| cm.metadata.uid != first.metadata.uid)
    })
    .await;
    succeeds(&op, "late-cm", config_map_record(&again), None).await;

    delete_dr(&op, "late-cm").await;
    assert!(op.config_map("app", "late-cm").await.is_none());
}

#[tokio::test]
async fn keep_applied_never_touches_an_object_it_did_not_create() {
    let op = Op::start().await;
    let mine = someone_elses_late_cm(&op).await;
    op.apply_value(&manifest(
        A16,
        &[("spec.timeout", "0"), ("spec.mode", "keepApplied")],
    ))
    .await;
    succeeds(&op, "late-cm", config_map_record(&mine), Some(true)).await;
    // Several polls later, still as it was.
    passes(&op, 3).await;
    let cm = op.config_map("app", "late-cm").await.unwrap();
    assert_eq!(cm.metadata.resource_version, mine.metadata.resource_version);

    deleting_the_dr_keeps(&op, &mine).await;
}

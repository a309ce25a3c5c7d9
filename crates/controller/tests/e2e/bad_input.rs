//! Issue #4 "Must show": bad input ends in a clear condition message and a
//! Warning Event, never a panic, a crash loop or a half-applied state.
//!
//! Each case applies one bad plug (`app/orders-db`), then checks:
//! * its conditions (`Coupled` reason/message, `Failed` message);
//! * a Warning Event `Failed` regarding it whose note is that message;
//! * no Secret value in any condition or Event;
//! * a healthy plug applied afterwards still couples;
//! * it settles: passes after the failure write nothing;
//! * fixing the input recovers (`CouplingSucceeded`, `Failed` gone).

use integration_api::Plug;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::harness::*;

/// A Secret value some cases read: as `.plugData.password` through
/// `dataSecretName` (config templates) and as `.plugConfig.owner` through
/// `configSecretName` (resource templates). It must never reach a condition
/// or an Event, even when the bad input puts it into an error message.
const SECRET_VALUE: &str = "s3cr3t-zx81-value";

fn secret() -> String {
    format!(
        "{{apiVersion: v1, kind: Secret, metadata: {{name: orders-secret, namespace: app}}, \
         stringData: {{password: {SECRET_VALUE}, owner: {SECRET_VALUE}}}}}"
    )
}

/// The emulator with F0, the Secret and S0, the operator running.
async fn start() -> Op {
    let op = Op::start().await;
    op.admin_apply(&secret()).await;
    op.apply(S0).await;
    op
}

/// A P0-like plug `app/healthy-db`, applied after the bad one: the
/// operator keeps serving other plugs.
async fn healthy_plug_couples(op: &Op) {
    op.apply(
        &P0.replace("name: orders-db, namespace", "name: healthy-db, namespace")
            .replace("database: orders", "database: healthy")
            .replace("name: orders-db-connection", "name: healthy-db-connection"),
    )
    .await;
    let plug = op
        .plug_reason("app", "healthy-db", "CouplingSucceeded")
        .await;
    assert!(condition(plug.status.unwrap().conditions.as_ref(), "Failed").is_none());
    let conn = op.config_map("app", "healthy-db-connection").await.unwrap();
    assert_eq!(
        data(&conn)["url"],
        "postgres://postgres.db.svc:5432/healthy"
    );
}

/// P0 with `edits` (see [`manifest`]).
fn p0_with(edits: &[(&str, &str)]) -> serde_json::Value {
    manifest(P0, edits)
}

/// Waits until the plug's failure has settled (`Failed` present, `Coupled`
/// not in process) with `message`, then checks the conditions.
async fn fails_with(op: &Op, name: &str, message: &str) -> Plug {
    let plug = eventually(&format!("plug app/{name} Failed: {message}"), || async {
        let plug = op.plug("app", name).await?;
        let conditions = plug.status.as_ref()?.conditions.as_ref();
        let in_process =
            condition(conditions, "Coupled").is_some_and(|c| c.reason.ends_with("InProcess"));
        let failed = condition(conditions, "Failed")?;
        (!in_process && failed.message == message).then_some(plug.clone())
    })
    .await;
    assert_eq!(
        summary(plug.status.as_ref().unwrap().conditions.as_ref()),
        [
            cond("Coupled", "False", "Error", "coupling failed"),
            cond("Failed", "True", "Error", message),
        ]
    );
    plug
}

/// Every Event regarding `name` in `ns`.
async fn events_of(op: &Op, ns: &str, name: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(op.client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect()
}

/// Notes of the Warning Events regarding the plug; every one has reason
/// `Failed`.
async fn warnings(op: &Op, name: &str) -> Vec<String> {
    let warnings: Vec<Event> = events_of(op, "app", name)
        .await
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .collect();
    for e in &warnings {
        assert_eq!(e.reason.as_deref(), Some("Failed"), "{e:?}");
    }
    warnings
        .into_iter()
        .map(|e| e.note.unwrap_or_default())
        .collect()
}

/// Waits for a Warning Event `Failed` regarding the plug whose note is
/// `message`.
async fn warned(op: &Op, name: &str, message: &str) {
    eventually(&format!("Warning Event: {message}"), || async {
        warnings(op, name)
            .await
            .iter()
            .any(|n| n == message)
            .then_some(())
    })
    .await;
}

/// How many Warning Events regarding the plug happened, repeats folded
/// into a series included.
async fn warning_count(op: &Op, name: &str) -> i32 {
    events_of(op, "app", name)
        .await
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum()
}

/// No condition of any plug or socket, and no Event, holds the Secret value.
async fn no_secret_shown(op: &Op) {
    for ns in ["app", "db"] {
        for plug in op.plugs(ns).list(&ListParams::default()).await.unwrap() {
            let status = serde_json::to_string(&plug.status).unwrap();
            assert!(!status.contains(SECRET_VALUE), "plug status: {status}");
        }
        for socket in op.sockets(ns).list(&ListParams::default()).await.unwrap() {
            let status = serde_json::to_string(&socket.status).unwrap();
            assert!(!status.contains(SECRET_VALUE), "socket status: {status}");
        }
        let api: Api<Event> = Api::namespaced(op.client.clone(), ns);
        for e in api.list(&ListParams::default()).await.unwrap() {
            let text = serde_json::to_string(&e).unwrap();
            assert!(!text.contains(SECRET_VALUE), "Event: {text}");
        }
    }
}

/// Touches socket `db/postgres` and the Secret `app/orders-secret` (a
/// label each, so no input changes): every plug naming the socket or
/// reading the Secret gets a pass. Waits for `plugs` more plug passes.
async fn nudge(op: &Op, i: usize, plugs: u64) {
    let before = op.metrics.passes.plugs();
    let labels = json!({"metadata": {"labels": {"nudge": i.to_string()}}});
    op.sockets("db")
        .patch("postgres", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(op.client.clone(), "app");
    secrets
        .patch(
            "orders-secret",
            &PatchParams::default(),
            &Patch::Merge(&labels),
        )
        .await
        .unwrap();
    eventually("plug passes", || async {
        (op.metrics.passes.plugs() >= before + plugs).then_some(())
    })
    .await;
}

/// Not a hot loop: three rounds of passes over both plugs (plus any
/// backoff retries) write nothing to the bad plug and record no Event.
async fn settled(op: &Op, name: &str) {
    let rv = |p: Option<Plug>| p.unwrap().metadata.resource_version;
    let before = rv(op.plug("app", name).await);
    let warnings = warning_count(op, name).await;
    for i in 0..3 {
        nudge(op, i, 2).await;
    }
    assert_eq!(rv(op.plug("app", name).await), before, "status writes");
    assert_eq!(warning_count(op, name).await, warnings, "Warning Events");
}

/// Fixed input: the plug couples and `Failed` is gone.
async fn recovers(op: &Op, name: &str) -> Plug {
    let plug = op.plug_reason("app", name, "CouplingSucceeded").await;
    assert_eq!(
        summary(plug.status.as_ref().unwrap().conditions.as_ref()),
        [cond(
            "Coupled",
            "True",
            "CouplingSucceeded",
            "coupling succeeded"
        )]
    );
    plug
}

// ------------------------------------------------------------ unknown socket

#[tokio::test]
async fn unknown_socket_waits_without_failing() {
    let op = start().await;
    // It reads the Secret only so that `settled` can wake it.
    op.apply_value(&p0_with(&[
        ("spec.socket", "{name: nope, namespace: db}"),
        ("spec.dataSecretName", "orders-secret"),
    ]))
    .await;
    // Not an error: the socket may be created later (A2), so the plug
    // waits, with no `Failed` and no Warning.
    let plug = op.plug_reason("app", "orders-db", "SocketNotCreated").await;
    let status = plug.status.unwrap();
    assert_eq!(
        summary(status.conditions.as_ref()),
        [cond(
            "Coupled",
            "False",
            "SocketNotCreated",
            "waiting for socket to be created"
        )]
    );
    assert!(status.coupled_socket.is_none());
    assert!(op.config_map("app", "orders-db-connection").await.is_none());
    healthy_plug_couples(&op).await;
    settled(&op, "orders-db").await;
    assert!(warnings(&op, "orders-db").await.is_empty());
    assert_eq!(op.events("app", "orders-db").await, ["PlugCreated"]);
    no_secret_shown(&op).await;

    op.apply(P0).await;
    recovers(&op, "orders-db").await;
    assert!(op.config_map("app", "orders-db-connection").await.is_some());
    assert!(warnings(&op, "orders-db").await.is_empty());
}

// ------------------------------------------------------------ invalid template

const PARSE_ERROR: &str = r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: orders-db-connection}
    data: {x: "{% if %}yes{% end %}"}
"#;

#[tokio::test]
async fn template_parse_error() {
    let op = start().await;
    op.apply_value(&p0_with(&[
        ("spec.dataSecretName", "orders-secret"),
        ("spec.resources", PARSE_ERROR),
    ]))
    .await;
    // The parser's message, with the template's name, line and column.
    let message = "template: plug.resources[0].stringTemplate:4:18: missing value for if";
    fails_with(&op, "orders-db", message).await;
    let errors = sample(
        &scrape(&op.metrics),
        r#"integration_operator_template_errors_total{side="plug"}"#,
    );
    assert!(errors >= Some(1.0), "template errors: {errors:?}");
    warned(&op, "orders-db", message).await;
    assert!(op.config_map("app", "orders-db-connection").await.is_none());
    healthy_plug_couples(&op).await;
    settled(&op, "orders-db").await;
    no_secret_shown(&op).await;

    op.apply(P0).await;
    recovers(&op, "orders-db").await;
    assert!(op.config_map("app", "orders-db-connection").await.is_some());
}

const FAIL_BOOM: &str = r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: orders-db-connection}
    data: {x: "{% fail "boom" %}"}
"#;

#[tokio::test]
async fn template_execution_error() {
    let op = start().await;
    op.apply_value(&p0_with(&[("spec.resources", FAIL_BOOM)]))
        .await;
    let boom = "template: plug.resources[0].stringTemplate:4:15: executing \
                \"plug.resources[0].stringTemplate\" at <fail \"boom\">: error calling fail: boom";
    fails_with(&op, "orders-db", boom).await;
    warned(&op, "orders-db", boom).await;
    healthy_plug_couples(&op).await;
    settled(&op, "orders-db").await;

    // Another execution error, in a configTemplate, whose message would
    // quote a Secret value.
    op.apply_value(&p0_with(&[
        ("spec.dataSecretName", "orders-secret"),
        (
            "spec.configTemplate",
            r#"{database: '{% fail (printf "no database for %s" .plugData.password) %}'}"#,
        ),
    ]))
    .await;
    let leaky = "template: plug.configTemplate.database:1:4: executing \
                 \"plug.configTemplate.database\" at <fail (printf \"no database for %s\" \
                 .plugData.password)>: error calling fail: no database for [redacted]";
    fails_with(&op, "orders-db", leaky).await;
    // A second, different failure of the same plug: its own Warning.
    warned(&op, "orders-db", leaky).await;
    settled(&op, "orders-db").await;
    no_secret_shown(&op).await;

    op.apply(P0).await;
    recovers(&op, "orders-db").await;
    no_secret_shown(&op).await;
}

// ------------------------------------------------------------ required config

#[tokio::test]
async fn missing_required_config() {
    let op = start().await;
    // The config comes from the Secret, which lacks the required key.
    let mut plug = p0_with(&[("spec.configSecretName", "orders-secret")]);
    plug["spec"].as_object_mut().unwrap().remove("config");
    op.apply_value(&plug).await;
    let message = "plug config property 'database' is required";
    let plug = fails_with(&op, "orders-db", message).await;
    assert!(plug.status.unwrap().coupled_socket.is_none());
    warned(&op, "orders-db", message).await;
    assert!(op.config_map("app", "orders-db-connection").await.is_none());
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    healthy_plug_couples(&op).await;
    settled(&op, "orders-db").await;
    no_secret_shown(&op).await;

    op.apply_value(&p0_with(&[("spec.configSecretName", "orders-secret")]))
        .await;
    recovers(&op, "orders-db").await;
    assert!(op.config_map("db", "grant-app-orders-db").await.is_some());
    no_secret_shown(&op).await;
}

// ------------------------------------------------------------ wrong namespace

const WRONG_NAMESPACE: &str = r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: sneaky, namespace: "{% .plugConfig.owner %}"}
"#;

#[tokio::test]
async fn wrong_namespace_in_a_template() {
    let op = start().await;
    op.apply_value(&p0_with(&[
        ("spec.configSecretName", "orders-secret"),
        ("spec.resources", WRONG_NAMESPACE),
    ]))
    .await;
    // The namespace is the Secret's value: the message names it redacted.
    let message = "resource namespace [redacted] must be app";
    let plug = fails_with(&op, "orders-db", message).await;
    assert!(plug.status.unwrap().coupled_socket.is_none());
    warned(&op, "orders-db", message).await;
    assert!(op.config_map("app", "sneaky").await.is_none());
    healthy_plug_couples(&op).await;
    settled(&op, "orders-db").await;
    no_secret_shown(&op).await;

    // Plain namespace `db` (A7's wording).
    op.apply_value(&p0_with(&[(
        "spec.resources",
        &WRONG_NAMESPACE.replace("\"{% .plugConfig.owner %}\"", "db"),
    )]))
    .await;
    let message = "resource namespace db must be app";
    fails_with(&op, "orders-db", message).await;
    warned(&op, "orders-db", message).await;
    assert!(op.config_map("db", "sneaky").await.is_none());
    settled(&op, "orders-db").await;

    op.apply(P0).await;
    recovers(&op, "orders-db").await;
}

// ------------------------------------------------------------ RBAC

/// Service account `app/limited`, allowed ConfigMaps only.
const LIMITED: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: limited, namespace: app}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: limited, namespace: app}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: limited, namespace: app}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: limited}
subjects: [{kind: ServiceAccount, name: limited, namespace: app}]
"#;

const A_SERVICE: &str = r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    apiVersion: v1
    kind: Service
    metadata: {name: "orders-{% .plugConfig.owner %}"}
    spec:
      ports: [{name: pg, port: 5432}]
"#;

#[tokio::test]
async fn forbidden_by_rbac() {
    let op = start().await;
    op.admin_apply(LIMITED).await;
    op.apply_value(&p0_with(&[
        ("spec.serviceAccountName", "limited"),
        ("spec.configSecretName", "orders-secret"),
        ("spec.resources", A_SERVICE),
    ]))
    .await;
    // The API server's message; the Service's name holds the Secret value.
    let message = "apply Service app/orders-[redacted]: Forbidden: services \"orders-[redacted]\" \
                   is forbidden: User \"system:serviceaccount:app:limited\" cannot patch resource \
                   \"services\" in API group \"\" in the namespace \"app\"";
    fails_with(&op, "orders-db", message).await;
    warned(&op, "orders-db", message).await;
    healthy_plug_couples(&op).await;
    settled(&op, "orders-db").await;
    no_secret_shown(&op).await;

    // Grant Services. Roles are not watched: the retry comes with the
    // backoff or, as here, with the next pass of the plug.
    op.admin_apply(&LIMITED.replace("[configmaps]", "[configmaps, services]"))
        .await;
    nudge(&op, 10, 2).await;
    recovers(&op, "orders-db").await;
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(op.client.clone(), "app");
    assert!(
        services
            .get_opt(&format!("orders-{SECRET_VALUE}"))
            .await
            .unwrap()
            .is_some()
    );
    no_secret_shown(&op).await;
}

// ------------------------------------------------------------ malformed YAML

#[tokio::test]
async fn malformed_yaml() {
    let op = start().await;
    op.apply_value(&p0_with(&[(
        "spec.resources",
        r#"[{when: [coupled, updated], do: apply, stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: broken}"}]"#,
    )]))
    .await;
    // Only the position: the parser's text could quote a value.
    let message = "template plug.resources[0].stringTemplate: rendered text is not valid YAML \
                   (line 1, column 1)";
    fails_with(&op, "orders-db", message).await;
    warned(&op, "orders-db", message).await;
    assert!(op.config_map("app", "broken").await.is_none());
    healthy_plug_couples(&op).await;
    settled(&op, "orders-db").await;
    no_secret_shown(&op).await;

    op.apply(P0).await;
    recovers(&op, "orders-db").await;
}

// ------------------------------------------------------------ half-applied

const TWO_RESOURCES: &str = r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: half-first}}"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    apiVersion: v1
    kind: Pod
    metadata: {name: half-second}
    spec:
      containers: [{name: c, image: busybox}]
"#;

#[tokio::test]
async fn second_resource_fails_after_the_first_applied() {
    let op = start().await;
    op.apply_value(&p0_with(&[
        ("spec.configSecretName", "orders-secret"),
        ("spec.resources", TWO_RESOURCES),
    ]))
    .await;
    // `integrator` may not create Pods (F0).
    let message = "apply Pod app/half-second: Forbidden: pods \"half-second\" is forbidden: \
                   User \"system:serviceaccount:app:integrator\" cannot patch resource \"pods\" \
                   in API group \"\" in the namespace \"app\"";
    fails_with(&op, "orders-db", message).await;
    warned(&op, "orders-db", message).await;
    // Resources run in order and the first error stops the sequence
    // (docs/lifecycle.md, "Order of hooks"): the first one stays applied, but
    // the coupling is not marked done, and the socket side did not run.
    // The status names the socket from before the first hook on, so
    // decoupling would undo the half that was applied.
    assert!(op.config_map("app", "half-first").await.is_some());
    let plug = op.plug("app", "orders-db").await.unwrap();
    let status = plug.status.unwrap();
    let recorded = status.coupled_socket.as_ref().map(|c| c.name.as_str());
    assert_eq!(recorded, Some("postgres"));
    assert!(status.coupled_result.is_none());
    assert!(status.inputs_hash.is_none());
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    assert!(
        !op.events("app", "orders-db")
            .await
            .contains(&"PlugCoupled".to_string())
    );
    healthy_plug_couples(&op).await;
    settled(&op, "orders-db").await;
    no_secret_shown(&op).await;

    // Drop the Pod: the cycle runs again from the start and completes.
    let (first, _) = TWO_RESOURCES
        .split_once("- when: [coupled, updated]\n  do: apply\n  stringTemplate: |")
        .unwrap();
    op.apply_value(&p0_with(&[
        ("spec.configSecretName", "orders-secret"),
        ("spec.resources", first),
    ]))
    .await;
    recovers(&op, "orders-db").await;
    assert!(op.config_map("app", "half-first").await.is_some());
    assert!(op.config_map("db", "grant-app-orders-db").await.is_some());
    no_secret_shown(&op).await;
}

//! Acceptance scenarios A3, A5–A7, A12–A14, A17, A18, A20, and operator
//! restarts at each lifecycle step of A1 and of a plug's deletion,
//! including between the two sides of `coupled` and of `decoupled`.

use integration_api::Plug;
use integration_fixtures::A3_PLUG;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube_emulator::Fault;
use serde_json::{Value, json};

use crate::harness::*;

/// The `Failed` message of a plug, once it has one.
/// Waits for the plug's `Failed` condition once a pass has finished: a
/// retry first marks `Coupled` in process, keeping the last `Failed`, so
/// the failure is only settled when `Coupled` is no longer in process.
async fn failed(op: &Op, ns: &str, name: &str) -> (Plug, String) {
    eventually(&format!("plug {ns}/{name} Failed"), || async {
        let plug = op.plug(ns, name).await?;
        let conditions = plug.status.as_ref()?.conditions.as_ref();
        let in_process =
            condition(conditions, "Coupled").is_some_and(|c| c.reason.ends_with("InProcess"));
        let message = condition(conditions, "Failed")?.message.clone();
        (!in_process).then_some((plug, message))
    })
    .await
}

/// How many times an Event with `reason` regarding `name` happened:
/// repeats folded into one Event's `series` count too.
async fn occurrences(op: &Op, ns: &str, name: &str, reason: &str) -> i32 {
    let api: Api<Event> = Api::namespaced(op.client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum()
}

/// Waits until the socket's `Coupled` condition says `message`.
async fn socket_says(op: &Op, message: &str) -> integration_api::Socket {
    eventually(&format!("socket {message}"), || async {
        op.socket("db", "postgres").await.filter(|s| {
            coupled(s.status.as_ref().and_then(|s| s.conditions.as_ref()))
                .is_some_and(|c| c.message == message)
        })
    })
    .await
}

fn uncoupled(plug: &Plug) -> bool {
    plug.status
        .as_ref()
        .is_none_or(|s| s.coupled_socket.is_none() && s.coupled_result.is_none())
}

// ---------------------------------------------------------------- A3

const A3_SOURCES: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: orders-secret, namespace: app}
stringData: {database: from-secret, user: secret-user, password: secret-pass}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: orders-cm, namespace: app}
data: {database: from-configmap}
"#;

#[tokio::test]
async fn a3_config_source_precedence() {
    let op = Op::start().await;
    op.admin_apply(A3_SOURCES).await;
    op.apply_value(&manifest(
        S0,
        &[(
            "spec.interface.config.plug",
            "{database: {}, user: {}, password: {}, owner: {default: app-user}}",
        )],
    ))
    .await;
    op.apply(A3_PLUG).await;
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert!(condition(plug.status.unwrap().conditions.as_ref(), "Failed").is_none());
    let effective = op.config_map("app", "effective-config").await.unwrap();
    // Secret < inline < template < ConfigMap.
    assert_eq!(
        data(&effective),
        json!({"database": "from-configmap", "user": "tpl-payments", "password": "secret-pass"})
    );
}

// ---------------------------------------------------------------- A5

#[tokio::test]
async fn a5_empty_strings_take_defaults() {
    let op = Op::start().await;
    op.apply_value(&manifest(S0, &[("spec.config.port", r#""""#)]))
        .await;
    op.apply_value(&manifest(P0, &[("spec.config.owner", r#""""#)]))
        .await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let grant = op.config_map("db", "grant-app-orders-db").await.unwrap();
    assert_eq!(
        data(&grant),
        json!({"database": "orders", "owner": "app-user"})
    );
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert_eq!(data(&conn)["url"], "postgres://postgres.db.svc:5432/orders");
}

// ---------------------------------------------------------------- A6

fn namespace(name: &str) -> String {
    format!("{{apiVersion: v1, kind: Namespace, metadata: {{name: {name}}}}}")
}

#[tokio::test]
async fn a6_namespace_allow_and_deny_lists() {
    let op = Op::start().await;
    op.admin_apply(&namespace("team-sandbox-1")).await;
    op.apply_value(&manifest(
        S0,
        &[("spec.validation", r#"{namespaceBlacklist: ["sandbox"]}"#)],
    ))
    .await;
    op.apply_value(&manifest(
        P0,
        &[("metadata", "{name: sb, namespace: team-sandbox-1}")],
    ))
    .await;
    let (plug, message) = failed(&op, "team-sandbox-1", "sb").await;
    assert_eq!(message, "namespace team-sandbox-1 is blacklisted");
    assert!(uncoupled(&plug));
    let socket = socket_says(&op, "0 plugs coupled").await;
    assert!(socket.status.unwrap().coupled_plugs.is_none());
    assert!(
        op.config_map("db", "grant-team-sandbox-1-sb")
            .await
            .is_none()
    );

    op.apply_value(&manifest(
        S0,
        &[("spec.validation", r#"{namespaceWhitelist: ["^app$"]}"#)],
    ))
    .await;
    op.plugs("team-sandbox-1")
        .delete("sb", &DeleteParams::default())
        .await
        .unwrap();
    eventually("plug sb gone", || async {
        op.plug("team-sandbox-1", "sb")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    op.admin_apply(&namespace("app-staging")).await;
    op.apply_value(&manifest(
        P0,
        &[("metadata", "{name: sb, namespace: app-staging}")],
    ))
    .await;
    let (plug, message) = failed(&op, "app-staging", "sb").await;
    assert_eq!(message, "namespace app-staging is not whitelisted");
    assert!(uncoupled(&plug));

    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert!(op.config_map("db", "grant-app-orders-db").await.is_some());
    socket_says(&op, "1 plug coupled").await;
    // The refused plug is still refused.
    let (_, message) = failed(&op, "app-staging", "sb").await;
    assert_eq!(message, "namespace app-staging is not whitelisted");
}

/// `namespaceSelector` (docs/lifecycle.md, "Namespace rules"): the plug's
/// namespace labels are checked at coupling, and a socket change that stops
/// allowing a coupled plug decouples it.
#[tokio::test]
async fn namespace_selector_admits_by_namespace_labels() {
    let op = Op::start().await;
    op.apply_value(&manifest(
        S0,
        &[(
            "spec.validation",
            "{namespaceSelector: {matchLabels: {integration: allowed}}}",
        )],
    ))
    .await;
    op.apply(P0).await;
    let (plug, message) = failed(&op, "app", "orders-db").await;
    assert_eq!(
        message,
        "namespace app does not match the namespaceSelector of socket db/postgres"
    );
    assert!(uncoupled(&plug));
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());

    // Labelled, the namespace is admitted on the plug's next retry.
    op.admin_apply(
        "{apiVersion: v1, kind: Namespace, metadata: {name: app, labels: {integration: allowed}}}",
    )
    .await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert!(op.config_map("db", "grant-app-orders-db").await.is_some());

    // The socket narrows its selector: the coupled plug is decoupled.
    op.apply_value(&manifest(
        S0,
        &[(
            "spec.validation",
            "{namespaceSelector: {matchLabels: {integration: other}}}",
        )],
    ))
    .await;
    let (plug, message) = failed(&op, "app", "orders-db").await;
    assert_eq!(
        message,
        "namespace app does not match the namespaceSelector of socket db/postgres"
    );
    assert!(uncoupled(&plug));
    socket_says(&op, "0 plugs coupled").await;
}

// ---------------------------------------------------------------- A7

#[tokio::test]
async fn a7_resources_stay_in_their_owners_namespace() {
    let op = Op::start().await;
    op.apply(S0).await;
    let p0 = format!(
        "{P0}    - when: [coupled]\n      do: apply\n      stringTemplate: |\n        apiVersion: v1\n        kind: ConfigMap\n        metadata: {{name: sneaky, namespace: db}}\n"
    );
    op.apply(&p0).await;
    let (plug, message) = failed(&op, "app", "orders-db").await;
    assert_eq!(message, "resource namespace db must be app");
    assert_eq!(
        summary(plug.status.unwrap().conditions.as_ref())[0],
        cond("Coupled", "False", "Error", "coupling failed")
    );
    assert!(op.config_map("db", "sneaky").await.is_none());
    assert!(op.config_map("app", "sneaky").await.is_none());
}

// ---------------------------------------------------------------- A12

const A12_RESULT_RESOURCES: &str = r#"
- do: apply
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: orders-db-result}
    data:
      connection: "{% .socketResult.connection %}"
      ack: "{% .plugResult.ack %}"
"#;

#[tokio::test]
async fn a12_results_and_result_resources() {
    let op = Op::start().await;
    op.apply_value(&manifest(
        S0,
        &[
            (
                "spec.interface.result",
                "{socket: {connection: {required: true}}, plug: {ack: {}}}",
            ),
            (
                "spec.resultTemplate",
                r#"{connection: "postgres://{% .plug.spec.config.database %}@postgres.db.svc"}"#,
            ),
        ],
    ))
    .await;
    op.apply_value(&manifest(
        P0,
        &[
            ("spec.result", r#"{ack: "yes", extra: "dropped"}"#),
            ("spec.resultResources", A12_RESULT_RESOURCES),
        ],
    ))
    .await;
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let result = op.config_map("app", "orders-db-result").await.unwrap();
    assert_eq!(
        data(&result),
        json!({"connection": "postgres://orders@postgres.db.svc", "ack": "yes"})
    );
    let coupled_result = plug.status.unwrap().coupled_result.unwrap();
    assert_eq!(
        serde_json::to_value(&coupled_result).unwrap(),
        json!({
            "plug": {"ack": "yes"},
            "socket": {"connection": "postgres://orders@postgres.db.svc"},
            "observedGeneration": 1,
        })
    );

    op.delete_plug("app", "orders-db").await;
    op.plug_gone("app", "orders-db").await;
    assert!(op.config_map("app", "orders-db-result").await.is_none());
}

// ---------------------------------------------------------------- A13

fn a13_socket() -> Value {
    manifest(
        S0,
        &[
            (
                "spec.interface.result",
                "{socket: {ready: {required: true}}}",
            ),
            (
                "spec.resultVars",
                "[{name: ready, objref: {apiVersion: v1, kind: ConfigMap, name: provision-status}, fieldref: {fieldPath: data.ready}}]",
            ),
            (
                "spec.resultTemplate",
                r#"{ready: "{% .resultVars.ready %}"}"#,
            ),
        ],
    )
}

#[tokio::test]
async fn a13_delayed_result_through_result_vars() {
    let op = Op::start().await;
    op.apply("{apiVersion: v1, kind: ConfigMap, metadata: {name: provision-status, namespace: db}, data: {}}")
        .await;
    op.apply_value(&a13_socket()).await;
    op.apply(P0).await;
    let (plug, message) = failed(&op, "app", "orders-db").await;
    // The var reads a missing field as "": present, but empty.
    assert_eq!(message, "socket result property 'ready' is empty");
    assert_eq!(
        summary(plug.status.as_ref().unwrap().conditions.as_ref())[0],
        cond("Coupled", "False", "Error", "coupling failed")
    );
    // The coupled hooks ran.
    assert!(op.config_map("db", "grant-app-orders-db").await.is_some());
    assert!(op.config_map("app", "orders-db-connection").await.is_some());
    // The socket lists the plug.
    let socket = socket_says(&op, "1 plug coupled").await;
    let listed = socket.status.unwrap().coupled_plugs.unwrap();
    assert_eq!(Some(listed[0].uid.clone()), plug.uid());

    // (A merge patch, as `kubectl patch` sends: the emulator loses the
    // value when a server-side apply adds a key to a map it applied empty.)
    op.config_maps("db")
        .patch(
            "provision-status",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"ready": "true"}})),
        )
        .await
        .unwrap();
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let status = plug.status.unwrap();
    assert!(condition(status.conditions.as_ref(), "Failed").is_none());
    let result = status.coupled_result.unwrap();
    assert_eq!(result.socket.unwrap()["ready"], "true");
    assert_eq!(occurrences(&op, "app", "orders-db", "PlugCoupled").await, 1);
    assert_eq!(occurrences(&op, "db", "postgres", "SocketCoupled").await, 1);
    assert_eq!(occurrences(&op, "app", "orders-db", "PlugUpdated").await, 0);
}

// ---------------------------------------------------------------- A14

const A14_SERVICE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: postgres, namespace: db}
spec:
  ports: [{name: pg, port: 5432}]
"#;

#[tokio::test]
async fn a14_vars_in_config_template() {
    let op = Op::start().await;
    op.admin_apply(A14_SERVICE).await;
    op.apply_value(&manifest(
        S0,
        &[
            ("spec.interface.config.socket.port", "{required: true}"),
            (
                "spec.vars",
                "[{name: pgPort, objref: {apiVersion: v1, kind: Service, name: postgres}, fieldref: {fieldPath: spec.ports.0.port}}]",
            ),
            ("spec.configTemplate", r#"{port: "{% .vars.pgPort %}"}"#),
        ],
    ))
    .await;
    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert_eq!(data(&conn)["url"], "postgres://postgres.db.svc:5432/orders");

    // Second case: a plug var pointing into another namespace.
    op.apply_value(&manifest(
        P0,
        &[
            ("metadata.name", "vars-db"),
            (
                "spec.vars",
                "[{name: x, objref: {apiVersion: v1, kind: Service, name: postgres, namespace: db}, fieldref: {fieldPath: metadata.name}}]",
            ),
            ("spec.configTemplate", r#"{database: "{% .vars.x %}"}"#),
            ("spec.resources", "[]"),
        ],
    ))
    .await;
    let (plug, message) = failed(&op, "app", "vars-db").await;
    assert_eq!(message, "var objRef namespace db must be app");
    assert!(uncoupled(&plug));
}

// ---------------------------------------------------------------- A17

const A17_RESOURCES: &str = r#"
- when: [coupled, updated]
  do: recreate
  stringTemplate: |
    apiVersion: batch/v1
    kind: Job
    metadata: {name: grant-{% .plug.metadata.name %}}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: ["true"]}]
"#;

#[tokio::test]
async fn a17_recreate() {
    let op = Op::start().await;
    op.apply_value(&manifest(S0, &[("spec.resources", A17_RESOURCES)]))
        .await;
    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let jobs: Api<Job> = Api::namespaced(op.client.clone(), "db");
    let old = jobs.get("grant-orders-db").await.unwrap();
    let old_uid = old.uid().unwrap();
    // The emulator runs no Job controller: stand in for it with a Pod the
    // old Job owns, which background propagation must remove.
    let pods: Api<Pod> = Api::namespaced(op.client.clone(), "db");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "grant-orders-db-x1", "namespace": "db",
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                "name": "grant-orders-db", "uid": old_uid, "controller": true}]},
        "spec": {"restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();

    op.apply(&P0.replace("database: orders", "database: orders2"))
        .await;
    let new = eventually("Job re-created", || async {
        jobs.get_opt("grant-orders-db")
            .await
            .unwrap()
            .filter(|j| j.uid().as_deref() != Some(old_uid.as_str()))
    })
    .await;
    assert!(new.uid().is_some());
    eventually("old Job's Pods gone", || async {
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert_eq!(plug.metadata.generation, Some(2));
}

// ---------------------------------------------------------------- A18

const A18_RESOURCES: &str = r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    {%- if eq .plugConfig.tls "true" %}
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: tls-settings}
    {%- end %}
"#;

#[tokio::test]
async fn a18_conditional_empty_templates() {
    let op = Op::start().await;
    op.apply_value(&manifest(S0, &[("spec.interface.config.plug.tls", "{}")]))
        .await;
    let plug = |tls: &str| {
        manifest(
            P0,
            &[
                (
                    "spec.config",
                    &format!(r#"{{database: orders, tls: "{tls}"}}"#),
                ),
                ("spec.resources", A18_RESOURCES),
            ],
        )
    };
    op.apply_value(&plug("false")).await;
    let p = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert!(condition(p.status.unwrap().conditions.as_ref(), "Failed").is_none());
    assert!(op.config_map("app", "tls-settings").await.is_none());

    op.apply_value(&plug("true")).await;
    eventually("tls-settings", || op.config_map("app", "tls-settings")).await;
    eventually("update cycle done", || async {
        op.plug("app", "orders-db").await.filter(|p| {
            let s = p.status.as_ref();
            s.and_then(|s| s.coupled_result.as_ref())
                .and_then(|r| r.observed_generation)
                == Some(2)
                && coupled(s.and_then(|s| s.conditions.as_ref()))
                    .is_some_and(|c| c.reason == "CouplingSucceeded")
        })
    })
    .await;
}

// ---------------------------------------------------------------- A20

const A20_VALUE: &str = "x\"\n  injected: \"y";

fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m.contains_key(key) || m.values().any(|v| has_key(v, key)),
        Value::Array(items) => items.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

#[tokio::test]
async fn a20_template_safety() {
    let op = Op::start().await;
    op.apply(S0).await;
    let mut p0 = manifest(P0, &[]);
    p0["spec"]["config"]["database"] = json!(A20_VALUE);
    op.apply_value(&p0).await;
    let (plug, message) = failed(&op, "app", "orders-db").await;
    assert_eq!(
        message,
        "template socket.resources[0].stringTemplate: the value of plugConfig.database would change \
         the structure of the rendered resource; render it with `| quote` or `| toJson`, or use a \
         structured template"
    );
    assert!(uncoupled(&plug));

    // `.plugConfig.doesNotExist` is a template error for a strict plug
    // (decision 2, amended: a warning otherwise, see compat.rs).
    let missing = manifest(
        P0,
        &[
            ("metadata.name", "missing-db"),
            (
                "metadata.annotations",
                r#"{integration.rock8s.com/strict: "true"}"#,
            ),
            (
                "spec.resources",
                r#"
- when: [coupled]
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: missing}
    data: {v: "{% .plugConfig.doesNotExist %}"}
"#,
            ),
        ],
    );
    op.apply_value(&missing).await;
    let (_, message) = failed(&op, "app", "missing-db").await;
    assert_eq!(
        message,
        "template plug.resources[0].stringTemplate: {% .plugConfig.doesNotExist %} at line 4, column 15 \
         rendered <no value>: plugConfig.doesNotExist is not in the data; \
         integration.rock8s.com/strict is \"true\", so this is an error"
    );
    assert!(op.config_map("app", "missing").await.is_none());

    // The socket's grant either holds exactly that string or does not exist,
    // and nothing in the socket's namespace has an `injected` key. (The plug's
    // own value rendered raw into the plug's own resource is the plug author's
    // own text; docs/templates.md, "No injection" guards values that come from
    // the other side, and the engine rejects those above.)
    if let Some(grant) = op.config_map("db", "grant-app-orders-db").await {
        assert_eq!(data(&grant)["database"], A20_VALUE);
    }
    for cm in op
        .config_maps("db")
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
    {
        let cm = serde_json::to_value(&cm).unwrap();
        assert!(!has_key(&cm, "injected"), "{cm}");
    }
}

// ---------------------------------------------------------------- restarts

/// A1's objects and statuses, after a restart.
async fn coupled_like_a1(op: &Op) {
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let status = plug.status.unwrap();
    assert!(status.progress.is_none());
    assert_eq!(
        summary(status.conditions.as_ref()),
        [cond(
            "Coupled",
            "True",
            "CouplingSucceeded",
            "coupling succeeded"
        )]
    );
    let grant = op.config_map("db", "grant-app-orders-db").await.unwrap();
    assert_eq!(
        data(&grant),
        json!({"database": "orders", "owner": "app-user"})
    );
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert_eq!(data(&conn)["url"], "postgres://postgres.db.svc:5432/orders");
    socket_says(op, "1 plug coupled").await;
}

/// Asserts how often each `(namespace, name, reason)` Event happened. An
/// expected one is waited for first: Events are best-effort and may land
/// after the status that the test waited on.
async fn assert_events(op: &Op, expected: &[(&str, &str, &str, i32)]) {
    for &(ns, name, reason, count) in expected {
        let n = if count == 0 {
            occurrences(op, ns, name, reason).await
        } else {
            eventually(reason, || async {
                let n = occurrences(op, ns, name, reason).await;
                (n > 0).then_some(n)
            })
            .await
        };
        assert_eq!(n, count, "{reason} regarding {ns}/{name}");
    }
}

/// Every lifecycle Event of A1 happened exactly once, and no update ran.
async fn each_event_once(op: &Op) {
    assert_events(
        op,
        &[
            ("app", "orders-db", "PlugCreated", 1),
            ("app", "orders-db", "PlugCoupled", 1),
            ("db", "postgres", "SocketCreated", 1),
            ("db", "postgres", "SocketCoupled", 1),
            ("app", "orders-db", "PlugUpdated", 0),
            ("db", "postgres", "SocketUpdated", 0),
        ],
    )
    .await;
}

#[tokio::test]
async fn restart_after_created() {
    let mut op = Op::start().await;
    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "SocketNotCreated").await;
    op.stop_operator().await;
    op.apply(S0).await;
    op.start_operator();
    coupled_like_a1(&op).await;
    each_event_once(&op).await;
}

/// P0 whose `coupled`/`updated` resource recreates its ConfigMap instead
/// of applying it, plus `extra` resources: a recreate is not idempotent
/// (docs/lifecycle.md, "At-least-once hooks and resume"), so a restart
/// must not repeat it.
fn p0_recreating(extra: &str) -> Value {
    let resources = format!(
        r#"
- when: [coupled, updated]
  do: recreate
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: orders-db-connection}}
    data:
      url: "postgres://{{% .socketConfig.host %}}:{{% .socketConfig.port %}}/{{% .plugConfig.database %}}"
{extra}"#
    );
    manifest(P0, &[("spec.resources", &resources)])
}

/// The uid of the ConfigMap `ns/name`: a recreate changes it.
async fn config_map_uid(op: &Op, ns: &str, name: &str) -> String {
    let cm = op.config_map(ns, name).await;
    cm.and_then(|cm| cm.metadata.uid).unwrap()
}

#[tokio::test]
async fn restart_before_the_first_cycle_write() {
    let mut op = Op::start().await;
    op.apply_value(&p0_recreating("")).await;
    op.plug_reason("app", "orders-db", "SocketNotCreated").await;
    // Every plug status write fails from now on: the pass that sees the
    // socket cannot record that a cycle started, so it must not run its
    // unrepeatable recreate.
    op.emu.inject(
        Fault::new(500)
            .verb("update")
            .resource("plugs")
            .name("orders-db")
            .always(),
    );
    let passes = op.metrics.passes.plugs();
    op.apply(S0).await;
    eventually("a failed plug pass", || async {
        (op.metrics.passes.plugs() > passes + 1).then_some(())
    })
    .await;
    op.stop_operator().await;
    assert_eq!(occurrences(&op, "app", "orders-db", "PlugCoupled").await, 0);
    assert!(op.config_map("app", "orders-db-connection").await.is_none());
    op.emu.clear_faults();
    op.start_operator();
    coupled_like_a1(&op).await;
    each_event_once(&op).await;
}

/// P0 coupling to S0, stopped between the sides: the socket side fails
/// and, once the coupling is recorded (before any hook: docs/lifecycle.md,
/// "At-least-once hooks and resume"), nothing more a pass does can be, as
/// in a crash there. The plug side only applies, so it runs without a
/// status write of its own. Returns with the operator stopped and the
/// faults still set.
async fn stopped_between_the_sides() -> Op {
    let mut op = Op::start().await;
    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "SocketNotCreated").await;
    op.emu.inject(
        Fault::new(500)
            .verb("update")
            .resource("plugs")
            .name("orders-db")
            .after(1)
            .always(),
    );
    failing(&op, "patch", "db", "grant-app-orders-db");
    op.apply(S0).await;
    eventually("the plug side applied", || async {
        op.config_map("app", "orders-db-connection").await
    })
    .await;
    op.stop_operator().await;
    op
}

#[tokio::test]
async fn a_plain_cycle_interrupted_between_the_sides_converges() {
    let mut op = stopped_between_the_sides().await;
    let plug = op.plug("app", "orders-db").await.unwrap();
    let progress = plug.status.unwrap().progress.unwrap_or_default();
    assert!(progress.sides_done.is_none(), "no side recorded as done");
    // Gone meanwhile: the repeated apply brings it back as desired.
    op.delete_config_map("app", "orders-db-connection").await;
    op.emu.clear_faults();
    op.start_operator();
    // Repeating the plug side did no harm: both sides' objects exactly as
    // desired, the socket side run once.
    coupled_like_a1(&op).await;
    assert!(occurrences(&op, "app", "orders-db", "PlugCoupled").await >= 1);
    assert_eq!(occurrences(&op, "db", "postgres", "SocketCoupled").await, 1);
}

/// Found by the chaos suite: a hook ran, then the pass ended before the
/// coupling was written (here the socket side fails and no status write
/// after the first goes through, as in a crash; there a status write was
/// refused because the plug changed meanwhile), and the plug was deleted.
/// The status recorded the socket before the first hook, so the deletion
/// decouples and nothing of the coupling remains.
#[tokio::test]
async fn a_plug_deleted_after_an_unrecorded_coupling_leaves_nothing() {
    let mut op = stopped_between_the_sides().await;
    op.emu.clear_faults();
    op.delete_plug("app", "orders-db").await;
    op.start_operator();
    op.plug_gone("app", "orders-db").await;
    assert!(
        op.config_map("app", "orders-db-connection").await.is_none(),
        "the plug side's ConfigMap was left behind"
    );
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    assert!(occurrences(&op, "app", "orders-db", "PlugDecoupled").await >= 1);
}

#[tokio::test]
async fn restart_after_the_hooks_before_the_result_phase() {
    let mut op = Op::start().await;
    op.apply(S0).await;
    let p0 = manifest(
        P0,
        &[(
            "spec.resultResources",
            "[{do: apply, stringTemplate: '{apiVersion: v1, kind: ConfigMap, metadata: {name: orders-db-result}}'}]",
        )],
    );
    // The result phase cannot apply its resource: the coupling stops
    // after the hooks ran and their progress was recorded.
    op.emu.inject(
        Fault::new(500)
            .verb("patch")
            .resource("configmaps")
            .namespace("app")
            .name("orders-db-result")
            .always(),
    );
    op.apply_value(&p0).await;
    eventually("hooks done, result pending", || async {
        op.plug("app", "orders-db").await.filter(|p| {
            let s = p.status.as_ref();
            s.and_then(|s| s.progress.as_ref())
                .is_some_and(|p| p.hooks_done)
                && condition(s.and_then(|s| s.conditions.as_ref()), "Failed").is_some()
        })
    })
    .await;
    op.stop_operator().await;
    op.emu.clear_faults();
    op.start_operator();
    coupled_like_a1(&op).await;
    assert!(op.config_map("app", "orders-db-result").await.is_some());
    each_event_once(&op).await;
}

#[tokio::test]
async fn restart_after_coupled_changes_nothing() {
    let mut op = Op::start().await;
    op.apply(S0).await;
    op.apply(P0).await;
    coupled_like_a1(&op).await;
    each_event_once(&op).await;
    op.stop_operator().await;
    let before = op.emu.resource_version();
    let (plugs, sockets) = (op.metrics.passes.plugs(), op.metrics.passes.sockets());
    op.start_operator();
    eventually("the new operator looked at both", || async {
        (op.metrics.passes.plugs() > plugs && op.metrics.passes.sockets() > sockets).then_some(())
    })
    .await;
    // No writes at all: no hooks, no status, no Events (A9's extra check).
    assert_eq!(op.emu.resource_version(), before);
    coupled_like_a1(&op).await;
    each_event_once(&op).await;
}

/// Waits until the plug records `event` in progress with `sides` done and
/// a failure that stopped it there.
async fn stopped_at(op: &Op, event: &str, sides: &[&str], hooks_done: bool) {
    eventually(&format!("{event} stopped after {sides:?}"), || async {
        op.plug("app", "orders-db").await.filter(|p| {
            let s = p.status.as_ref();
            let progress = s.and_then(|s| s.progress.as_ref());
            progress.is_some_and(|p| {
                p.event == event
                    && p.hooks_done == hooks_done
                    && p.sides_done.clone().unwrap_or_default() == sides
            }) && condition(s.and_then(|s| s.conditions.as_ref()), "Failed").is_some()
        })
    })
    .await;
}

/// Restarts the operator with the faults cleared.
async fn restart(op: &mut Op) {
    op.stop_operator().await;
    op.emu.clear_faults();
    op.start_operator();
}

/// A fault on every attempt to apply (`patch`) or delete the ConfigMap
/// `ns/name`.
fn failing(op: &Op, verb: &str, ns: &str, name: &str) {
    op.emu.inject(
        Fault::new(500)
            .verb(verb)
            .resource("configmaps")
            .namespace(ns)
            .name(name)
            .always(),
    );
}

#[tokio::test]
async fn restart_between_the_sides_resumes_at_the_socket_side() {
    let mut op = Op::start().await;
    op.apply(S0).await;
    // The socket side's grant cannot be applied: the coupled cycle stops
    // after the plug side, whose recreate is recorded as done.
    failing(&op, "patch", "db", "grant-app-orders-db");
    op.apply_value(&p0_recreating("")).await;
    stopped_at(&op, "coupled", &["plug"], false).await;
    let recreated = config_map_uid(&op, "app", "orders-db-connection").await;
    restart(&mut op).await;
    coupled_like_a1(&op).await;
    // The plug side's hooks (its recreate and Event with them) ran once,
    // before the restart; the socket side's once, after it.
    assert_eq!(
        config_map_uid(&op, "app", "orders-db-connection").await,
        recreated
    );
    each_event_once(&op).await;
}

/// Every Event of a plug deletion happened exactly once.
async fn each_deletion_event_once(op: &Op) {
    assert_events(
        op,
        &[
            ("app", "orders-db", "PlugDecoupled", 1),
            ("db", "postgres", "SocketDecoupled", 1),
            ("app", "orders-db", "PlugDeleted", 1),
        ],
    )
    .await;
}

#[tokio::test]
async fn restart_between_the_decoupled_sides_resumes_at_the_socket_side() {
    let mut op = Op::start().await;
    op.apply(S0).await;
    // The plug side's decoupled hooks recreate a farewell ConfigMap.
    let farewell = r#"- when: [decoupled]
  do: recreate
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: orders-db-farewell}}"
"#;
    op.apply_value(&p0_recreating(farewell)).await;
    coupled_like_a1(&op).await;
    // The socket side's auto-delete of its grant fails: decoupling stops
    // after the plug side.
    failing(&op, "delete", "db", "grant-app-orders-db");
    op.delete_plug("app", "orders-db").await;
    stopped_at(&op, "decoupled", &["plug"], false).await;
    assert!(op.config_map("app", "orders-db-connection").await.is_none());
    let recreated = config_map_uid(&op, "app", "orders-db-farewell").await;
    restart(&mut op).await;
    op.plug_gone("app", "orders-db").await;
    // Not recreated again.
    assert_eq!(
        config_map_uid(&op, "app", "orders-db-farewell").await,
        recreated
    );
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    each_deletion_event_once(&op).await;
    socket_says(&op, "0 plugs coupled").await;
}

/// P0 with a `deleted` resource, `app/orders-db-goodbye`.
fn p0_with_goodbye() -> Value {
    manifest(
        P0,
        &[(
            "spec.resources",
            r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: orders-db-connection}
    data:
      url: "postgres://{% .socketConfig.host %}:{% .socketConfig.port %}/{% .plugConfig.database %}"
- when: [deleted]
  do: apply
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: orders-db-goodbye}}"
"#,
        )],
    )
}

#[tokio::test]
async fn restart_after_decoupled_before_the_deleted_hooks() {
    let mut op = Op::start().await;
    op.apply(S0).await;
    op.apply_value(&p0_with_goodbye()).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    // The deleted hook cannot apply its ConfigMap: deletion stops after
    // decoupling, which is recorded (the coupling is forgotten).
    failing(&op, "patch", "app", "orders-db-goodbye");
    op.delete_plug("app", "orders-db").await;
    eventually("decoupled, deleted hooks failing", || async {
        op.plug("app", "orders-db").await.filter(|p| {
            let s = p.status.as_ref();
            uncoupled(p) && condition(s.and_then(|s| s.conditions.as_ref()), "Failed").is_some()
        })
    })
    .await;
    restart(&mut op).await;
    op.plug_gone("app", "orders-db").await;
    assert!(op.config_map("app", "orders-db-goodbye").await.is_some());
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    each_deletion_event_once(&op).await;
}

#[tokio::test]
async fn restart_after_the_deleted_hooks_before_the_finalizer_goes() {
    let mut op = Op::start().await;
    op.apply(S0).await;
    op.apply_value(&p0_with_goodbye()).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    // Removing the finalizer fails: the deleted hooks ran and are recorded.
    op.emu.inject(
        Fault::new(500)
            .verb("patch")
            .resource("plugs")
            .name("orders-db")
            .always(),
    );
    op.delete_plug("app", "orders-db").await;
    stopped_at(&op, "deleted", &[], true).await;
    assert!(op.config_map("app", "orders-db-goodbye").await.is_some());
    op.delete_config_map("app", "orders-db-goodbye").await;
    restart(&mut op).await;
    op.plug_gone("app", "orders-db").await;
    // Not run again: the ConfigMap deleted meanwhile stays deleted.
    assert!(op.config_map("app", "orders-db-goodbye").await.is_none());
    each_deletion_event_once(&op).await;
}

//! Manifests written for the original operator (docs/compatibility.md,
//! "Warnings and strict mode"): what it coupled couples here, with the
//! warnings named on the objects.

use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;

use crate::harness::*;
use integration_fixtures::{CHART_PLUG, CHART_SOCKET};

/// The warning for CHART_SOCKET's script reading `create`, which its
/// interface drops.
const DROPPED_CREATE: &str = "template socket.resources[0].stringTemplate: {% .plugConfig.create %} at line 16, column 24 rendered <no value>: create was set by the plug but is not declared in the socket's interface.config.plug, so it was dropped";

fn chart_socket(edits: &[(&str, &str)]) -> String {
    serde_json::to_string(&manifest(CHART_SOCKET, edits)).unwrap()
}

#[tokio::test]
async fn a_chart_script_with_an_undeclared_key_couples_with_a_warning() {
    let op = Op::start().await;
    op.apply(&chart_socket(&[])).await;
    op.apply(CHART_PLUG).await;
    let plug = op.plug_reason("app", "shop", "CouplingSucceeded").await;
    let conditions = plug.status.as_ref().and_then(|s| s.conditions.as_ref());
    assert_eq!(
        summary(conditions),
        [
            cond("Coupled", "True", "CouplingSucceeded", "coupling succeeded"),
            cond("Warnings", "True", "Compatibility", DROPPED_CREATE),
        ]
    );
    let jobs: Api<Job> = Api::namespaced(op.client.clone(), "db");
    let job = jobs.get("setup-shop").await.unwrap();
    let command = job
        .spec
        .and_then(|s| s.template.spec)
        .map(|s| s.containers[0].command.clone().unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(
        command[2],
        "if [ \"<no value>\" != \"0\" ]; then\n  echo creating realm shop at http://keycloak.db.svc\nfi\n"
    );
    let notes = eventually("the socket's Warning Event", || async {
        let notes = op
            .event_notes("db", "keycloak", "CompatibilityWarning")
            .await;
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert_eq!(notes, [DROPPED_CREATE]);
}

#[tokio::test]
async fn the_strict_annotation_turns_the_warning_into_an_error() {
    let op = Op::start().await;
    let annotations = r#"{integration.rock8s.com/strict: "true"}"#;
    op.apply(&chart_socket(&[("metadata.annotations", annotations)]))
        .await;
    op.apply(CHART_PLUG).await;
    let failed = eventually("plug failed", || async {
        let plug = op.plug("app", "shop").await?;
        let conditions = plug.status.as_ref().and_then(|s| s.conditions.as_ref());
        condition(conditions, "Failed").map(|c| c.message.clone())
    })
    .await;
    assert_eq!(
        failed,
        format!("{DROPPED_CREATE}; integration.rock8s.com/strict is \"true\", so this is an error")
    );
    let jobs: Api<Job> = Api::namespaced(op.client.clone(), "db");
    assert!(jobs.get_opt("setup-shop").await.unwrap().is_none());
}

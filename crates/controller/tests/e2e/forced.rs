//! The escape hatch for deletions whose hooks cannot succeed: the
//! `integration.rock8s.com/force-delete: "true"` annotation.

use integration_api::FORCE_DELETE_ANNOTATION;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

use crate::harness::*;

const PREFIX: &str =
    "deletion forced by annotation integration.rock8s.com/force-delete: hooks skipped after: ";

/// Annotates `name` in `ns` of kind `plural` (plugs or sockets) for a
/// forced deletion.
async fn force(op: &Op, plural: &str, ns: &str, name: &str) {
    let patch =
        Patch::Merge(json!({"metadata": {"annotations": {FORCE_DELETE_ANNOTATION: "true"}}}));
    let params = PatchParams::default();
    match plural {
        "plugs" => drop(op.plugs(ns).patch(name, &params, &patch).await.unwrap()),
        _ => drop(op.sockets(ns).patch(name, &params, &patch).await.unwrap()),
    }
}

/// The `Failed` message of the plug or socket, once it has one.
fn failed_message(status_conditions: Option<&Vec<Condition>>) -> Option<String> {
    condition(status_conditions, "Failed")
        .filter(|c| c.status == "True")
        .map(|c| c.message.clone())
}

#[tokio::test]
async fn a_plug_whose_decouple_cannot_resolve_goes_when_forced() {
    let op = Op::start().await;
    op.apply(S0).await;
    op.apply("{apiVersion: v1, kind: ConfigMap, metadata: {name: orders-config, namespace: app}, data: {database: orders}}")
        .await;
    let p0 = P0.replace("    database: orders\n", "").replace(
        "  config:\n",
        "  configConfigMapName: orders-config\n  config:\n",
    );
    op.apply(&p0).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;

    // Its config goes first (say, a namespace being torn down); the plug's
    // deletion then cannot decouple and keeps its finalizer, saying why.
    op.delete_config_map("app", "orders-config").await;
    op.delete_plug("app", "orders-db").await;
    let message = eventually("deletion blocked", || async {
        let plug = op.plug("app", "orders-db").await?;
        plug.metadata.deletion_timestamp.as_ref()?;
        failed_message(plug.status.as_ref()?.conditions.as_ref())
    })
    .await;

    force(&op, "plugs", "app", "orders-db").await;
    op.plug_gone("app", "orders-db").await;
    let notes = op.event_notes("app", "orders-db", "ForcedDeletion").await;
    assert_eq!(notes, [format!("{PREFIX}{message}")]);
    // The skipped hooks are visible in their effect: the socket side's
    // grant stayed, and the socket no longer lists the plug.
    assert!(op.config_map("db", "grant-app-orders-db").await.is_some());
    eventually("socket empty", || async {
        let socket = op.socket("db", "postgres").await?;
        let status = socket.status?;
        status.coupled_plugs.is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_socket_whose_deleted_hooks_fail_goes_when_forced() {
    let op = Op::start().await;
    let bye = r#"[{when: [deleted], stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: bye, namespace: app}}"}]"#;
    op.apply_value(&manifest(S0, &[("spec.resources", bye)]))
        .await;
    eventually("socket created", || async {
        let socket = op.socket("db", "postgres").await?;
        coupled(socket.status?.conditions.as_ref()).map(drop)
    })
    .await;
    op.sockets("db")
        .delete("postgres", &DeleteParams::default())
        .await
        .unwrap();
    let message = eventually("deletion blocked", || async {
        let socket = op.socket("db", "postgres").await?;
        failed_message(socket.status?.conditions.as_ref())
    })
    .await;
    assert_eq!(message, "resource namespace app must be db");

    force(&op, "sockets", "db", "postgres").await;
    eventually("socket gone", || async {
        op.socket("db", "postgres").await.is_none().then_some(())
    })
    .await;
    let notes = op.event_notes("db", "postgres", "ForcedDeletion").await;
    assert_eq!(notes, [format!("{PREFIX}{message}")]);
    assert!(op.config_map("app", "bye").await.is_none());
}

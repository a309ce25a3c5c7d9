//! Drift repair is opt-in per resource (docs/lifecycle.md, "Drift repair"). A
//! `reconcile: true` resource returns to its rendered state on the plug's next
//! pass (here the resync); other resources are applied on lifecycle events
//! only.

use std::time::Duration;

use integration_controller::RunOptions;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::harness::*;

const RESOURCES: &str = r#"
- reconcile: true
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: kept}, data: {db: '{% .plugConfig.database %}'}}"
- stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: loose}, data: {db: '{% .plugConfig.database %}'}}"
"#;

/// The `db` value of ConfigMap `app/<name>`, if it exists.
async fn db(op: &Op, name: &str) -> Option<String> {
    let cm = op.config_map("app", name).await?;
    cm.data?.get("db").cloned()
}

/// Another manager takes `data.db` of ConfigMap `app/<name>`.
async fn tamper(op: &Op, name: &str) {
    let change = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "app"}, "data": {"db": "tampered"}});
    op.config_maps("app")
        .patch(
            name,
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(&change),
        )
        .await
        .unwrap();
}

/// Waits until the plug has had two more passes: at least one started
/// after the caller's last change.
async fn two_more_passes(op: &Op) {
    let passes = op.metrics.passes.plugs();
    eventually("two more plug passes", || async {
        (op.metrics.passes.plugs() > passes + 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn reconciled_resources_return_to_their_rendered_state() {
    let op = Op::start_with(RunOptions {
        resync: Duration::from_millis(300),
        ..RunOptions::default()
    })
    .await;
    op.apply(S0).await;
    op.apply_value(&manifest(P0, &[("spec.resources", RESOURCES)]))
        .await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert_eq!(db(&op, "kept").await.as_deref(), Some("orders"));
    assert_eq!(db(&op, "loose").await.as_deref(), Some("orders"));

    // Changed by another manager, which now owns the field: repaired by
    // taking the field back; the other resource keeps the change.
    tamper(&op, "kept").await;
    tamper(&op, "loose").await;
    eventually("kept repaired", || async {
        (db(&op, "kept").await.as_deref() == Some("orders")).then_some(())
    })
    .await;
    two_more_passes(&op).await;
    assert_eq!(db(&op, "loose").await.as_deref(), Some("tampered"));

    // Deleted: re-created; the other one stays deleted.
    op.delete_config_map("app", "kept").await;
    op.delete_config_map("app", "loose").await;
    eventually("kept re-created", || async {
        (db(&op, "kept").await.as_deref() == Some("orders")).then_some(())
    })
    .await;
    two_more_passes(&op).await;
    assert!(op.config_map("app", "loose").await.is_none());
    let plug = op.plug("app", "orders-db").await.unwrap();
    let conditions = plug.status.as_ref().and_then(|s| s.conditions.as_ref());
    assert!(condition(conditions, "Failed").is_none_or(|c| c.status == "False"));
}

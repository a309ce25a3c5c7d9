//! Manifests written for the original operator (docs/compatibility.md,
//! "Warnings and strict mode"): what it coupled couples here, with the
//! warnings named on the objects.

use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;

use integration_controller::RunOptions;

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

/// Writes `status` on the plug or socket `ns/name`, as the original
/// operator wrote it (a status update).
async fn write_status(op: &Op, plural: &str, ns: &str, name: &str, status: serde_json::Value) {
    use kube::api::{Patch, PatchParams};
    let params = PatchParams::default();
    let patch = Patch::Merge(serde_json::json!({ "status": status }));
    match plural {
        "plugs" => drop(
            op.plugs(ns)
                .patch_status(name, &params, &patch)
                .await
                .unwrap(),
        ),
        _ => drop(
            op.sockets(ns)
                .patch_status(name, &params, &patch)
                .await
                .unwrap(),
        ),
    }
}

/// Spec decision 14: a plug and socket coupled by the original (status as
/// it writes it, integration.md §2.2, finalizers included) are adopted: no
/// hook runs (the coupled resources are not applied again), an `Adopted`
/// Event is written, and the next real change runs `updated`.
#[tokio::test]
async fn a_coupling_made_by_the_original_operator_is_adopted_without_hooks() {
    use integration_api::FINALIZER;
    use kube::ResourceExt;

    let mut op = Op::without_operator(RunOptions::default()).await;
    let finalizers = format!("[{FINALIZER}]");
    op.apply_value(&manifest(S0, &[("metadata.finalizers", &finalizers)]))
        .await;
    op.apply_value(&manifest(P0, &[("metadata.finalizers", &finalizers)]))
        .await;
    let socket = op.socket("db", "postgres").await.unwrap();
    let plug = op.plug("app", "orders-db").await.unwrap();
    let (socket_uid, plug_uid) = (socket.uid().unwrap(), plug.uid().unwrap());
    let at = "2024-05-01T10:00:00Z";
    write_status(
        &op,
        "sockets",
        "db",
        "postgres",
        serde_json::json!({
            "conditions": [{"type": "Coupled", "status": "True", "reason": "SocketCoupled",
                "message": "1 plug coupled", "observedGeneration": 1, "lastTransitionTime": at}],
            "coupledPlugs": [{"apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
                "name": "orders-db", "namespace": "app", "uid": plug_uid}],
        }),
    )
    .await;
    write_status(
        &op,
        "plugs",
        "app",
        "orders-db",
        serde_json::json!({
            "conditions": [{"type": "Coupled", "status": "True", "reason": "CouplingSucceeded",
                "message": "coupling succeeded", "observedGeneration": 1, "lastTransitionTime": at}],
            "coupledSocket": {"apiVersion": "integration.rock8s.com/v1beta1", "kind": "Socket",
                "name": "postgres", "namespace": "db", "uid": socket_uid},
            "coupledResult": {"observedGeneration": 1},
        }),
    )
    .await;

    op.start_operator();
    let adopted = eventually("plug adopted", || async {
        let plug = op.plug("app", "orders-db").await?;
        plug.status.as_ref()?.inputs_hash.is_some().then_some(plug)
    })
    .await;
    let status = adopted.status.clone().unwrap();
    assert_eq!(
        summary(status.conditions.as_ref()),
        [cond(
            "Coupled",
            "True",
            "CouplingSucceeded",
            "coupling succeeded"
        )]
    );
    assert_eq!(status.coupled_socket.unwrap().uid, socket_uid);
    assert!(status.progress.is_none());
    assert_eq!(
        op.event_notes("app", "orders-db", "Adopted").await,
        ["plug orders-db/app adopted from the original operator"]
    );
    // No hook ran: neither side's coupled resources were applied, and no
    // created/coupled Event was written.
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    assert!(op.config_map("app", "orders-db-connection").await.is_none());
    assert_eq!(op.events("app", "orders-db").await, ["Adopted"]);
    assert!(op.events("db", "postgres").await.is_empty());
    let socket = eventually("socket lists the plug", || async {
        let socket = op.socket("db", "postgres").await?;
        let plugs = socket.status.as_ref()?.coupled_plugs.clone()?;
        (plugs.len() == 1 && plugs[0].uid == plug_uid).then_some(socket)
    })
    .await;
    assert_eq!(
        summary(socket.status.as_ref().unwrap().conditions.as_ref()),
        [cond("Coupled", "True", "SocketCoupled", "1 plug coupled")]
    );

    // The next real change runs `updated`, which applies the resources.
    op.apply_value(&manifest(
        P0,
        &[
            ("metadata.finalizers", &finalizers),
            ("spec.config.database", "invoices"),
        ],
    ))
    .await;
    let grant = eventually("updated applied the grant", || {
        op.config_map("db", "grant-app-orders-db")
    })
    .await;
    assert_eq!(data(&grant)["database"], "invoices");
    let reasons = op.events("app", "orders-db").await;
    assert_eq!(reasons, ["Adopted", "PlugUpdated"]);
    op.stop_operator().await;
}

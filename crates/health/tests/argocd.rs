//! Runs the shipped Argo CD health check, `deploy/argocd/health.lua`, in an
//! embedded Lua over status fixtures, as Argo CD does: the object in the
//! global `obj`, the chunk's return value a table with `status` and
//! `message`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mlua::{Lua, LuaSerdeExt, SerializeOptions, Table};
use serde_json::{Value, json};

const SCRIPT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/argocd/health.lua"
));

/// `(status, message)` the script returns for `obj`.
fn health(obj: &Value) -> (String, String) {
    let lua = Lua::new();
    // JSON null becomes nil, as in Argo CD (not mlua's null sentinel).
    let options = SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    let value = lua.to_value_with(obj, options).unwrap();
    lua.globals().set("obj", value).unwrap();
    let result: Table = lua.load(SCRIPT).set_name("health.lua").eval().unwrap();
    (
        result.get("status").unwrap(),
        result.get("message").unwrap(),
    )
}

fn application(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "integration.rock8s.com/v1beta1",
        "kind": "Application",
        "metadata": {"name": "shop", "namespace": "shop", "generation": generation},
        "spec": {"components": []},
        "status": status,
    })
}

fn cond(ty: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": ty, "status": status, "reason": reason, "message": message, "observedGeneration": 2})
}

#[test]
fn fixtures() {
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "no status",
            json!({"apiVersion": "integration.rock8s.com/v1beta1", "kind": "Application",
                   "metadata": {"name": "shop", "generation": 1}, "spec": {}}),
            "Progressing",
            "Waiting for integration-operator to report a status",
        ),
        (
            "CRD default observedGeneration -1, nothing else",
            application(1, json!({"observedGeneration": -1})),
            "Progressing",
            "Waiting for integration-operator to observe generation 1",
        ),
        (
            "Running",
            application(
                2,
                json!({
                    "phase": "Running", "observedGeneration": 2,
                    "conditions": [cond("Ready", "True", "AllComponentsReady", "3/3 components ready")],
                }),
            ),
            "Healthy",
            "AllComponentsReady: 3/3 components ready",
        ),
        (
            "Running, but for an older generation",
            application(
                3,
                json!({
                    "phase": "Running", "observedGeneration": 2,
                    "conditions": [cond("Ready", "True", "AllComponentsReady", "")],
                }),
            ),
            "Progressing",
            "Waiting for integration-operator to observe generation 3",
        ),
        (
            "Running without observedGeneration",
            application(1, json!({"phase": "Running"})),
            "Progressing",
            "Waiting for integration-operator to observe generation 1",
        ),
        (
            "Pending",
            application(
                2,
                json!({
                    "phase": "Pending", "observedGeneration": 2,
                    "conditions": [
                        cond("Ready", "False", "LatestGenerationNotObserved", "web: waiting for the Deployment controller"),
                        cond("Reconciling", "True", "LatestGenerationNotObserved", "web: waiting for the Deployment controller"),
                    ],
                }),
            ),
            "Progressing",
            "LatestGenerationNotObserved: web: waiting for the Deployment controller",
        ),
        (
            "Degraded (AP3)",
            application(
                2,
                json!({
                    "phase": "Degraded", "observedGeneration": 2,
                    "conditions": [cond("Ready", "False", "ComponentsDegraded", "web: 1/2 ready; web-7d9c-x2x: CrashLoopBackOff")],
                }),
            ),
            "Degraded",
            "ComponentsDegraded: web: 1/2 ready; web-7d9c-x2x: CrashLoopBackOff",
        ),
        (
            "Failed, ProgressDeadlineExceeded (AP4)",
            application(
                2,
                json!({
                    "phase": "Failed", "observedGeneration": 2,
                    "conditions": [
                        cond("Ready", "False", "ProgressDeadlineExceeded", "StatefulSet shop/api: 0/1 ready for 3s"),
                        cond("Stalled", "True", "ProgressDeadlineExceeded", "StatefulSet shop/api: 0/1 ready for 3s"),
                    ],
                }),
            ),
            "Degraded",
            "ProgressDeadlineExceeded: StatefulSet shop/api: 0/1 ready for 3s",
        ),
        (
            "Failed without conditions",
            application(1, json!({"phase": "Failed", "observedGeneration": 1})),
            "Degraded",
            "Failed",
        ),
        (
            "no phase, Stalled",
            application(
                1,
                json!({"observedGeneration": 1,
                "conditions": [cond("Stalled", "True", "ChildConflict", "Service shop/web exists and is not managed by Application shop")]}),
            ),
            "Degraded",
            "ChildConflict: Service shop/web exists and is not managed by Application shop",
        ),
        (
            "no phase, Ready",
            application(
                1,
                json!({"observedGeneration": 1,
                "conditions": [cond("Ready", "True", "AllComponentsReady", "")]}),
            ),
            "Healthy",
            "AllComponentsReady",
        ),
        (
            "unknown phase",
            application(1, json!({"phase": "Exploded", "observedGeneration": 1})),
            "Progressing",
            "Unknown phase Exploded",
        ),
        (
            "a Component, Running, with a null field",
            json!({
                "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Component",
                "metadata": {"name": "worker", "namespace": "shop", "generation": 1},
                "spec": {"application": "shop", "image": "shop/worker:1.0"},
                "status": {"phase": "Running", "observedGeneration": 1, "message": null,
                           "conditions": [cond("Ready", "True", "AllComponentsReady", "")]},
            }),
            "Healthy",
            "AllComponentsReady",
        ),
        (
            "a Component whose Application is missing",
            json!({
                "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Component",
                "metadata": {"name": "worker", "namespace": "shop", "generation": 1},
                "status": {"phase": "Pending", "observedGeneration": 1,
                           "conditions": [cond("Ready", "False", "ApplicationNotFound", "Application shop/shop not found")]},
            }),
            "Progressing",
            "ApplicationNotFound: Application shop/shop not found",
        ),
    ];
    for (what, obj, status, message) in cases {
        assert_eq!(
            health(&obj),
            (status.to_owned(), message.to_owned()),
            "{what}"
        );
    }
}

/// The README says where both kinds' checks go.
#[test]
fn readme_names_both_kinds() {
    let readme = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/argocd/README.md"
    ));
    for key in [
        "resource.customizations.health.integration.rock8s.com_Application",
        "resource.customizations.health.integration.rock8s.com_Component",
    ] {
        assert!(readme.contains(key), "{key}");
    }
}

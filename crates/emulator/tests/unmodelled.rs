//! The README's "Not modelled" list, checked: every listed behavior has a check here that
//! asserts the behavior is absent, and every check here is listed. If the emulator learns one
//! of these, its check fails and the list must shrink.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Env, wait_until};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Pod, Service};
use k8s_openapi::api::events::v1::Event as NewEvent;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use kube::discovery::Discovery;
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

fn listed_ids() -> BTreeSet<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Not modelled")
        .nth(1)
        .expect("README has a Not modelled section");
    let section = section.split("\n## ").next().unwrap_or("");
    section
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

const CHECKED: &[&str] = &[
    "no-workload-controllers",
    "no-graceful-pod-deletion",
    "no-builtin-schema",
    "no-builtin-defaulting",
    "no-cel-validation",
    "no-version-conversion",
    "no-admission",
    "no-table-watch",
    "no-aggregated-discovery",
    "no-snapshot-pagination",
    "no-protobuf-responses",
    "no-root-ca-configmap",
    "no-scale-subresource",
    "no-list-at-resource-version",
    "no-get-at-resource-version",
    "no-ssa-applied-order",
    "no-strategic-directives",
    "no-role-aggregation",
    "no-managed-fields-versions",
];

#[test]
fn the_list_and_the_checks_agree() {
    let listed = listed_ids();
    let checked: BTreeSet<String> = CHECKED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        listed, checked,
        "README 'Not modelled' list and tests/unmodelled.rs differ"
    );
}

async fn raw(
    env: &Env,
    req: http::Request<Vec<u8>>,
) -> (http::StatusCode, http::HeaderMap, Vec<u8>) {
    let emu = env.emu.as_ref().unwrap();
    let url = format!("{}{}", emu.url(), req.uri());
    let (parts, body) = req.into_parts();
    let mut req = http::Request::from_parts(parts, body);
    *req.uri_mut() = url.parse().unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", emu.admin_token()).parse().unwrap(),
    );
    // Through the in-process router, to see status, headers and body exactly.
    use tower::ServiceExt;
    let resp = emu
        .router()
        .oneshot(req.map(axum::body::Body::from))
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec();
    (status, headers, body)
}

#[tokio::test]
async fn absent_behaviors() {
    let env = Env::emulator().await;
    let c = env.client.clone();
    let ns = env.ns.clone();

    // no-workload-controllers
    let deps: Api<Deployment> = Api::namespaced(c.clone(), &ns);
    deps.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}}})).unwrap()).await.unwrap();
    // Any GC/controller work triggered by the write happens before this delete is answered
    // and collected: wait for the collection, then look.
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), &ns);
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "barrier"}})).unwrap(),
        )
        .await
        .unwrap();
    cms.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "barrier-dep",
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "barrier", "uid": owner.metadata.uid}]}})).unwrap()).await.unwrap();
    cms.delete("barrier", &DeleteParams::default())
        .await
        .unwrap();
    wait_until("barrier collected", 10, || {
        let cms = cms.clone();
        async move { cms.get_opt("barrier-dep").await.unwrap().is_none() }
    })
    .await;
    assert!(deps.get("d").await.unwrap().status.is_none());
    assert!(
        Api::<ReplicaSet>::namespaced(c.clone(), &ns)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        Api::<Pod>::namespaced(c.clone(), &ns)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // no-graceful-pod-deletion
    let pods: Api<Pod> = Api::namespaced(c.clone(), &ns);
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]}}))
        .unwrap(),
    )
    .await
    .unwrap();
    pods.delete("p", &DeleteParams::default()).await.unwrap();
    assert!(pods.get_opt("p").await.unwrap().is_none());

    // no-builtin-schema
    let (status, _, body) = raw(
        &env,
        http::Request::post(format!("/api/v1/namespaces/{ns}/configmaps"))
            .header("content-type", "application/json")
            .body(
                br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u"},"bogus":1}"#
                    .to_vec(),
            )
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["bogus"], 1);

    // no-builtin-defaulting
    let svcs: Api<Service> = Api::namespaced(c.clone(), &ns);
    let s = svcs
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}]}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let spec = s.spec.unwrap();
    assert!(spec.cluster_ip.is_none() && spec.type_.is_none());

    // no-managed-fields-versions
    let core: Api<CoreEvent> = Api::namespaced(c.clone(), &ns);
    core.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "ev"},
        "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": ns}, "message": "m"}))
        .unwrap(),
    )
    .await
    .unwrap();
    let at_new = Api::<NewEvent>::namespaced(c.clone(), &ns)
        .get("ev")
        .await
        .unwrap();
    let entry = &at_new.metadata.managed_fields.unwrap()[0];
    assert_eq!(
        entry.api_version.as_deref(),
        Some("events.k8s.io/v1"),
        "written through v1"
    );
    assert!(entry.fields_v1.as_ref().unwrap().0.get("f:note").is_some());

    // no-cel-validation and no-version-conversion
    let crds: Api<CustomResourceDefinition> = Api::all(c.clone());
    let schema = json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [{"rule": "self.size < 5"}],
        "properties": {"size": {"type": "integer"}}}}}});
    crds.create(&PostParams::default(), &serde_json::from_value(json!({
        "metadata": {"name": "things.emu.example.com"},
        "spec": {"group": "emu.example.com", "scope": "Namespaced", "names": {"kind": "Thing", "plural": "things"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": schema},
                         {"name": "v2", "served": true, "storage": false, "schema": schema}]}})).unwrap()).await.unwrap();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        await_condition(
            crds,
            "things.emu.example.com",
            conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let ar1 = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("emu.example.com", "v1", "Thing"),
        "things",
    );
    let ar2 = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("emu.example.com", "v2", "Thing"),
        "things",
    );
    let mut t = DynamicObject::new("t", &ar1);
    t.data = json!({"spec": {"size": 10}});
    Api::<DynamicObject>::namespaced_with(c.clone(), &ns, &ar1)
        .create(&PostParams::default(), &t)
        .await
        .expect("CEL rule not enforced");
    let at_v2 = Api::<DynamicObject>::namespaced_with(c.clone(), &ns, &ar2)
        .get("t")
        .await
        .unwrap();
    assert_eq!(at_v2.types.unwrap().api_version, "emu.example.com/v2");
    assert_eq!(at_v2.data["spec"]["size"], 10, "same body at every version");

    // no-admission
    let d = Discovery::new(c.clone()).run().await.unwrap();
    assert!(
        !d.groups()
            .any(|g| g.name() == "admissionregistration.k8s.io")
    );

    // no-table-watch
    let (_, _, body) = raw(
        &env,
        http::Request::get(format!(
            "/api/v1/namespaces/{ns}/configmaps?watch=1&timeoutSeconds=1"
        ))
        .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .body(vec![])
        .unwrap(),
    )
    .await;
    let first = body.split(|b| *b == b'\n').next().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(first).unwrap()["object"]["kind"],
        "ConfigMap"
    );

    // no-aggregated-discovery
    let (_, _, body) = raw(
        &env,
        http::Request::get("/apis")
            .header(
                "accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            )
            .body(vec![])
            .unwrap(),
    )
    .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["kind"],
        "APIGroupList"
    );

    // no-snapshot-pagination
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "a-first"}})).unwrap(),
    )
    .await
    .unwrap();
    let page = cms.list(&ListParams::default().limit(1)).await.unwrap();
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "zz-late"}})).unwrap(),
    )
    .await
    .unwrap();
    let rest = cms
        .list(&ListParams::default().continue_token(page.metadata.continue_.as_deref().unwrap()))
        .await
        .unwrap();
    assert!(
        rest.items
            .iter()
            .any(|i| i.metadata.name.as_deref() == Some("zz-late"))
    );

    // no-protobuf-responses
    let (_, headers, _) = raw(
        &env,
        http::Request::get(format!("/api/v1/namespaces/{ns}/configmaps"))
            .header("accept", "application/vnd.kubernetes.protobuf")
            .body(vec![])
            .unwrap(),
    )
    .await;
    assert_eq!(headers["content-type"], "application/json");

    // no-root-ca-configmap
    assert!(cms.get_opt("kube-root-ca.crt").await.unwrap().is_none());

    // no-scale-subresource
    let (status, _, _) = raw(
        &env,
        http::Request::get(format!("/apis/apps/v1/namespaces/{ns}/deployments/d/scale"))
            .body(vec![])
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);

    // no-list-at-resource-version
    let (status, _, body) = raw(
        &env,
        http::Request::get(format!(
            "/api/v1/namespaces/{ns}/configmaps?resourceVersion=1&resourceVersionMatch=Exact"
        ))
        .body(vec![])
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        !serde_json::from_slice::<Value>(&body).unwrap()["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "latest state, not revision 1"
    );
}

/// Container names of a Deployment, in order.
async fn container_names(deps: &Api<Deployment>, name: &str) -> Vec<String> {
    let d = serde_json::to_value(deps.get(name).await.unwrap()).unwrap();
    d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn approximated_behaviors() {
    use k8s_openapi::api::rbac::v1::ClusterRole;
    use kube::api::{Patch, PatchParams};
    let env = Env::emulator().await;
    let c = env.client.clone();
    let ns = env.ns.clone();

    // no-get-at-resource-version
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), &ns);
    let first = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "rv"}, "data": {"v": "1"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    cms.patch(
        "rv",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    let old_rv = first.metadata.resource_version.unwrap();
    let (status, _, body) = raw(
        &env,
        http::Request::get(format!(
            "/api/v1/namespaces/{ns}/configmaps/rv?resourceVersion={old_rv}"
        ))
        .body(vec![])
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["data"]["v"],
        "2"
    );

    // no-ssa-applied-order
    let deps: Api<Deployment> = Api::namespaced(c.clone(), &ns);
    let deployment = |names: [&str; 2]| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "order"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": names[0], "image": "i"}, {"name": names[1], "image": "i"}]}}}})
    };
    let ssa = PatchParams::apply("order-test");
    deps.patch("order", &ssa, &Patch::Apply(deployment(["a", "b"])))
        .await
        .unwrap();
    deps.patch("order", &ssa, &Patch::Apply(deployment(["b", "a"])))
        .await
        .unwrap();
    assert_eq!(
        container_names(&deps, "order").await,
        ["a", "b"],
        "live order kept"
    );

    // no-strategic-directives
    let reorder = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}}});
    deps.patch("order", &PatchParams::default(), &Patch::Strategic(reorder))
        .await
        .unwrap();
    assert_eq!(
        container_names(&deps, "order").await,
        ["a", "b"],
        "directive ignored"
    );

    // no-role-aggregation
    let roles: Api<ClusterRole> = Api::all(c.clone());
    let rules = |r: ClusterRole| serde_json::to_value(r.rules).unwrap();
    let before = rules(roles.get("view").await.unwrap());
    let name = format!("aggregate-{}", env.suffix);
    roles
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
            "rules": [{"apiGroups": ["emu.example.com"], "resources": ["widgets"], "verbs": ["get"]}]})).unwrap())
        .await
        .unwrap();
    assert_eq!(rules(roles.get("view").await.unwrap()), before);
    roles.delete(&name, &DeleteParams::default()).await.unwrap();
}

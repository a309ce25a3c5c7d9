//! API behaviors the Application controller relies on: workload status written by tests playing
//! the workload controllers, the immutable parts of workload specs, CRD defaults in `status`,
//! orphaning deletes, discovery that follows CRDs, and field managers on merge patches. Each
//! check runs against the emulator and, in `real_cluster`, against `KUBECONFIG`'s cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Env, install_crd, reason, wait_until};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::discovery::Discovery;
use kube::{Client, Resource};
use serde_json::{Value, json};

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1"}]}}}})
}

fn statefulset(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
        "spec": {"serviceName": name, "replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "nginx:1"}]}})
}

fn pvc(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
}

/// A dynamic API for the built-in kind `K` in the check's namespace.
fn api_for<K: Resource<DynamicType = ()>>(env: &Env) -> Api<DynamicObject> {
    Api::namespaced_with(env.client.clone(), &env.ns, &ApiResource::erase::<K>(&()))
}

fn object(v: Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

/// Status isolation on one kind: a status write (merge patch, as kube-rs `patch_status` sends
/// it) keeps spec and generation; a main-resource write keeps status; and, where the kind
/// has a generation, `spec_change` bumps it while the status write did not.
async fn status_isolation(
    api: &Api<DynamicObject>,
    manifest: Value,
    status: Value,
    spec_change: Option<Value>,
) {
    let made = api
        .create(&PostParams::default(), &object(manifest))
        .await
        .unwrap();
    let name = made.metadata.name.clone().unwrap();
    let spec = made.data["spec"].clone();
    let mut body = json!({"status": status, "spec": {"bogusChange": true}});
    body["metadata"] = json!({"labels": {"by-status": "yes"}});
    let st = api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap();
    for (k, v) in status.as_object().unwrap() {
        assert_eq!(&st.data["status"][k], v, "{name}: status.{k} written");
    }
    assert_eq!(st.data["spec"], spec, "{name}: a status write ignores spec");
    assert_eq!(
        st.metadata.generation, made.metadata.generation,
        "{name}: a status write keeps the generation"
    );
    let read = api.get(&name).await.unwrap();
    assert_eq!(
        read.data["status"], st.data["status"],
        "{name}: status reads back"
    );

    let mut main = json!({"metadata": {"labels": {"touched": "yes"}}, "status": {"bogus": 1}});
    if let Some(change) = &spec_change {
        main["spec"] = change.clone();
    }
    let after = api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&main))
        .await
        .unwrap();
    assert_eq!(
        after.data["status"], st.data["status"],
        "{name}: a spec write ignores status"
    );
    if spec_change.is_some() {
        let before = st.metadata.generation.unwrap();
        assert_eq!(after.metadata.generation, Some(before + 1), "{name}");
    }
}

// 1. Deployment, StatefulSet, Pod and PVC status through `/status`.
async fn workload_status(env: &Env) {
    let replicas = json!({"replicas": 3});
    status_isolation(
        &api_for::<Deployment>(env),
        deployment("web"),
        json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
            "availableReplicas": 1, "conditions": [{"type": "Available", "status": "True",
            "reason": "MinimumReplicasAvailable"}]}),
        Some(replicas.clone()),
    )
    .await;
    status_isolation(
        &api_for::<StatefulSet>(env),
        statefulset("api"),
        json!({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "currentReplicas": 1,
            "updatedReplicas": 1, "currentRevision": "api-1", "updateRevision": "api-1"}),
        Some(replicas),
    )
    .await;
    status_isolation(
        &api_for::<Pod>(env),
        pod("p"),
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
        None,
    )
    .await;
    status_isolation(
        &api_for::<PersistentVolumeClaim>(env),
        pvc("data"),
        json!({"phase": "Bound", "accessModes": ["ReadWriteOnce"]}),
        None,
    )
    .await;
    // The typed client reads what a test wrote.
    let deps: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns);
    let d = deps.get_status("web").await.unwrap();
    assert_eq!(d.status.unwrap().ready_replicas, Some(1));
}

/// The 422 of a forbidden StatefulSet update, checked field by field.
fn assert_statefulset_forbidden(r: Result<DynamicObject, kube::Error>, how: &str) {
    let Err(kube::Error::Api(s)) = r else {
        panic!("{how}: expected 422, got {r:?}");
    };
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"), "{how}");
    assert_eq!(
        s.message,
        "StatefulSet.apps \"api\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        "{how}"
    );
    let d = s.details.expect("details");
    assert_eq!(
        (d.name.as_str(), d.group.as_str(), d.kind.as_str()),
        ("api", "apps", "StatefulSet"),
        "{how}"
    );
    assert_eq!(d.causes.len(), 1, "{how}");
    assert_eq!(
        (d.causes[0].field.as_str(), d.causes[0].reason.as_str()),
        ("spec", "FieldValueForbidden"),
        "{how}"
    );
}

// 2. StatefulSet spec fields other than the listed ones are immutable, through every write.
async fn statefulset_immutable(env: &Env) {
    let api = api_for::<StatefulSet>(env);
    let ssa = PatchParams::apply("app-controller");
    let made = api
        .patch("api", &ssa, &Patch::Apply(statefulset("api")))
        .await
        .unwrap();

    let mut renamed = statefulset("api");
    renamed["spec"]["serviceName"] = json!("other");
    assert_statefulset_forbidden(
        api.patch("api", &ssa, &Patch::Apply(&renamed)).await,
        "server-side apply",
    );
    let bigger = json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}]}});
    assert_statefulset_forbidden(
        api.patch("api", &PatchParams::default(), &Patch::Merge(&bigger))
            .await,
        "merge patch",
    );
    let mut put = made.clone();
    put.data["spec"]["podManagementPolicy"] = json!("Parallel");
    assert_statefulset_forbidden(
        api.replace("api", &PostParams::default(), &put).await,
        "update",
    );

    // The mutable fields may change, all at once.
    let mut allowed = statefulset("api");
    let spec = &mut allowed["spec"];
    spec["replicas"] = json!(3);
    spec["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    spec["updateStrategy"] = json!({"type": "OnDelete"});
    spec["minReadySeconds"] = json!(5);
    spec["revisionHistoryLimit"] = json!(3);
    spec["persistentVolumeClaimRetentionPolicy"] =
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"});
    let after = api
        .patch("api", &ssa, &Patch::Apply(&allowed))
        .await
        .unwrap();
    assert_eq!(after.data["spec"]["replicas"], 3);
    assert_eq!(after.data["spec"]["serviceName"], "api");
}

// 2b. A Deployment's selector is immutable.
async fn deployment_selector_immutable(env: &Env) {
    let api = api_for::<Deployment>(env);
    api.create(&PostParams::default(), &object(deployment("web")))
        .await
        .unwrap();
    let moved = json!({"spec": {"selector": {"matchLabels": {"app": "other"}},
        "template": {"metadata": {"labels": {"app": "other"}}}}});
    let r = api
        .patch("web", &PatchParams::default(), &Patch::Merge(&moved))
        .await;
    let Err(kube::Error::Api(s)) = r else {
        panic!("expected 422, got {r:?}");
    };
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        s.message,
        "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"other\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    );
    let causes = s.details.unwrap().causes;
    assert_eq!(
        (causes[0].field.as_str(), causes[0].reason.as_str()),
        ("spec.selector", "FieldValueInvalid")
    );
}

/// A namespaced CRD `<kind><suffix>` in `group` whose status defaults `observedGeneration` to
/// -1 (`status_default` says whether `status` itself defaults to `{}`).
fn crd(env: &Env, group: &str, kind: &str, status_default: bool) -> CustomResourceDefinition {
    let kind = format!("{kind}{}", env.suffix);
    let plural = kind.to_lowercase() + "s";
    let mut status = json!({"type": "object", "properties": {
        "observedGeneration": {"type": "integer", "format": "int64", "default": -1},
        "phase": {"type": "string"}}});
    if status_default {
        status["default"] = json!({});
    }
    serde_json::from_value(json!({
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": status}}}}]}
    }))
    .unwrap()
}

async fn delete_crd(env: &Env, ar: &ApiResource) {
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    let name = format!("{}.{}", ar.plural, ar.group);
    crds.delete(&name, &DeleteParams::default()).await.unwrap();
    wait_until("CRD gone", 30, || {
        let crds = crds.clone();
        let name = name.clone();
        async move { crds.get_opt(&name).await.unwrap().is_none() }
    })
    .await;
}

fn cr(ar: &ApiResource, name: &str, data: Value) -> DynamicObject {
    let mut o = DynamicObject::new(name, ar);
    o.data = data;
    o
}

// 3. Structural defaults reach `status`, which a create cannot set.
async fn crd_status_defaults(env: &Env) {
    let ar = install_crd(env, crd(env, "emu.example.com", "App", true)).await;
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
    let body = json!({"spec": {"x": 1}, "status": {"observedGeneration": 7, "phase": "Running"}});
    let made = api
        .create(&PostParams::default(), &cr(&ar, "a", body))
        .await
        .unwrap();
    assert_eq!(
        made.data["status"],
        json!({"observedGeneration": -1}),
        "the create's status is dropped, then defaulted"
    );
    assert_eq!(
        api.get("a").await.unwrap().data["status"]["observedGeneration"],
        -1
    );
    let st = api
        .patch_status(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Pending"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        st.data["status"],
        json!({"observedGeneration": -1, "phase": "Pending"})
    );
    // Without a default for `status` itself there is no object to default into.
    let bare = install_crd(env, crd(env, "emu.example.com", "Bare", false)).await;
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &bare);
    let made = api
        .create(&PostParams::default(), &cr(&bare, "b", json!({"spec": {}})))
        .await
        .unwrap();
    assert!(made.data.get("status").is_none(), "{:?}", made.data);
    delete_crd(env, &ar).await;
    delete_crd(env, &bare).await;
}

fn owner_ref(owner: &DynamicObject, ar: &ApiResource) -> Value {
    json!({"apiVersion": ar.api_version, "kind": ar.kind,
        "name": owner.metadata.name, "uid": owner.metadata.uid})
}

fn owner_uids(o: &DynamicObject) -> Vec<String> {
    o.metadata
        .owner_references
        .iter()
        .flatten()
        .map(|r| r.uid.clone())
        .collect()
}

/// Deletes `owner` (through `delete`) and waits until it is gone; `dependent` must survive
/// with its UID and without a reference to the owner, keeping its other owners.
async fn orphans_on_delete<F, Fut>(
    deps: &Api<DynamicObject>,
    owners: &Api<DynamicObject>,
    owner: &DynamicObject,
    dependent: &DynamicObject,
    delete: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let owner_name = owner.metadata.name.clone().unwrap();
    let owner_uid = owner.metadata.uid.clone().unwrap();
    delete().await;
    wait_until("owner gone", 30, || {
        let owners = owners.clone();
        let n = owner_name.clone();
        async move { owners.get_opt(&n).await.unwrap().is_none() }
    })
    .await;
    let name = dependent.metadata.name.clone().unwrap();
    let kept = deps
        .get(&name)
        .await
        .expect("the dependent is orphaned, not deleted");
    assert_eq!(kept.metadata.uid, dependent.metadata.uid, "same object");
    let left: Vec<String> = owner_uids(dependent)
        .into_iter()
        .filter(|u| *u != owner_uid)
        .collect();
    assert_eq!(
        owner_uids(&kept),
        left,
        "only the deleted owner's reference goes"
    );
}

// 4. `propagationPolicy: Orphan`, in DeleteOptions and as a query parameter.
async fn orphan_delete(env: &Env) {
    let ar = install_crd(env, crd(env, "emu.example.com", "Owner", true)).await;
    let owners: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
    let app = owners
        .create(&PostParams::default(), &cr(&ar, "app", json!({"spec": {}})))
        .await
        .unwrap();
    let cms = api_for::<ConfigMap>(env);
    let keeper = cms
        .create(
            &PostParams::default(),
            &object(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keeper"}}),
            ),
        )
        .await
        .unwrap();
    let cm_ar = ApiResource::erase::<ConfigMap>(&());
    let mut manifest = deployment("web");
    manifest["metadata"]["ownerReferences"] =
        json!([owner_ref(&app, &ar), owner_ref(&keeper, &cm_ar)]);
    let deps = api_for::<Deployment>(env);
    let web = deps
        .create(&PostParams::default(), &object(manifest))
        .await
        .unwrap();
    orphans_on_delete(&deps, &owners, &app, &web, || async {
        owners.delete("app", &DeleteParams::orphan()).await.unwrap();
    })
    .await;

    // The query parameter, with no body (as `curl -X DELETE ...?propagationPolicy=Orphan`).
    let parent = cms
        .create(
            &PostParams::default(),
            &object(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "parent"}}),
            ),
        )
        .await
        .unwrap();
    let mut child = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "child"}});
    child["metadata"]["ownerReferences"] = json!([owner_ref(&parent, &cm_ar)]);
    let child = cms
        .create(&PostParams::default(), &object(child))
        .await
        .unwrap();
    let url = format!(
        "/api/v1/namespaces/{}/configmaps/parent?propagationPolicy=Orphan",
        env.ns
    );
    orphans_on_delete(&cms, &cms, &parent, &child, || async {
        let req = http::Request::delete(url).body(Vec::new()).unwrap();
        env.client.request::<Value>(req).await.unwrap();
    })
    .await;
    delete_crd(env, &ar).await;
}

/// A discovery document, or `None` on 404.
async fn discovery_doc(client: &Client, path: &str) -> Option<Value> {
    let req = http::Request::get(path).body(Vec::new()).unwrap();
    match client.request::<Value>(req).await {
        Ok(v) => Some(v),
        Err(kube::Error::Api(s)) if s.code == 404 => None,
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// The resource names `/apis/<group>/v1` lists, and whether `/apis` and `/apis/<group>` list
/// the group: what a client's discovery of `group` sees.
async fn discovered(client: &Client, group: &str) -> (Vec<String>, bool, bool) {
    let resources = discovery_doc(client, &format!("/apis/{group}/v1"))
        .await
        .map(|d| {
            d["resources"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let all = discovery_doc(client, "/apis").await.unwrap();
    let listed = all["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == group);
    let own = discovery_doc(client, &format!("/apis/{group}")).await;
    let own_listed = own.is_some_and(|g| g["versions"][0]["version"] == "v1");
    (resources, listed, own_listed)
}

/// Whether kube-rs discovery serves `kind` in `group`.
async fn kube_discovers(client: &Client, group: &str, kind: &str) -> bool {
    let d = Discovery::new(client.clone()).run().await.unwrap();
    d.groups().any(|g| {
        g.name() == group
            && g.recommended_resources()
                .iter()
                .any(|(r, _)| r.kind == kind)
    })
}

/// Waits until discovery of `group` shows `want` resources (and the group iff any).
async fn wait_discovered(client: &Client, group: &str, want: &[&str]) {
    wait_until(
        &format!("discovery of {group} shows {want:?}"),
        20,
        || async {
            let (resources, listed, own) = discovered(client, group).await;
            let mut resources: Vec<&str> = resources
                .iter()
                .map(String::as_str)
                .filter(|r| !r.ends_with("/status"))
                .collect();
            resources.sort_unstable();
            let present = !want.is_empty();
            resources == want && listed == present && own == present
        },
    )
    .await;
}

// 5. Discovery follows CRD creation and deletion; a CRD watch sees both.
async fn discovery_follows_crds(env: &Env) {
    let group = format!("g{}.emu.example.com", env.suffix);
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    let rv = crds
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let first = crd(env, &group, "First", true);
    let first_name = first.metadata.name.clone().unwrap();
    let watch = crds
        .watch(
            &WatchParams::default()
                .fields(&format!("metadata.name={first_name}"))
                .timeout(60),
            &rv,
        )
        .await
        .unwrap()
        .boxed();

    let a = install_crd(env, first).await;
    let b = install_crd(env, crd(env, &group, "Second", true)).await;
    let mut both = vec![a.plural.as_str(), b.plural.as_str()];
    both.sort_unstable();
    wait_discovered(&env.client, &group, &both).await;
    assert!(kube_discovers(&env.client, &group, &a.kind).await);

    delete_crd(env, &a).await;
    wait_discovered(&env.client, &group, &[&b.plural]).await;
    assert!(!kube_discovers(&env.client, &group, &a.kind).await);
    assert!(kube_discovers(&env.client, &group, &b.kind).await);
    delete_crd(env, &b).await;
    wait_discovered(&env.client, &group, &[]).await;
    assert!(!kube_discovers(&env.client, &group, &b.kind).await);

    let types = tokio::time::timeout(Duration::from_secs(20), async move {
        let mut types = Vec::new();
        let mut watch = watch;
        while let Some(e) = watch.next().await {
            let t = match e.unwrap() {
                WatchEvent::Added(_) => "ADDED",
                WatchEvent::Modified(_) => "MODIFIED",
                WatchEvent::Deleted(_) => "DELETED",
                _ => continue,
            };
            types.push(t);
            if t == "DELETED" {
                break;
            }
        }
        types
    })
    .await
    .expect("the watch saw the deletion in time");
    assert_eq!(types.first(), Some(&"ADDED"), "{types:?}");
    assert_eq!(types.last(), Some(&"DELETED"), "{types:?}");
}

/// The managers whose `managedFields` entries own `spec.replicas`, with their operations.
fn replicas_owners(d: &DynamicObject) -> Vec<(String, String)> {
    d.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .is_some_and(|f| f.0.pointer("/f:spec/f:replicas").is_some())
        })
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

// 6. A merge patch's `fieldManager` owns what it changed; apply then conflicts until forced.
async fn merge_patch_field_manager(env: &Env) {
    let api = api_for::<Deployment>(env);
    let mut manifest = deployment("web");
    manifest["spec"]["replicas"] = json!(2);
    let a = PatchParams::apply("manager-a");
    api.patch("web", &a, &Patch::Apply(&manifest))
        .await
        .unwrap();
    let b = PatchParams {
        field_manager: Some("manager-b".into()),
        ..Default::default()
    };
    let d = api
        .patch("web", &b, &Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .unwrap();
    assert_eq!(d.data["spec"]["replicas"], 5);
    assert_eq!(
        replicas_owners(&d),
        [("manager-b".to_string(), "Update".to_string())],
        "the field moved to the patch's manager"
    );
    let (code, r) = reason(api.patch("web", &a, &Patch::Apply(&manifest)).await);
    assert_eq!((code, r.as_str()), (409, "Conflict"));
    let d = api
        .patch("web", &a.clone().force(), &Patch::Apply(&manifest))
        .await
        .unwrap();
    assert_eq!(d.data["spec"]["replicas"], 2);
    assert_eq!(
        replicas_owners(&d),
        [("manager-a".to_string(), "Apply".to_string())],
        "a forced apply takes the field back"
    );
}

mod emulator {
    crate::conformance!(
        workload_status,
        statefulset_immutable,
        deployment_selector_immutable,
        crd_status_defaults,
        orphan_delete,
        discovery_follows_crds,
        merge_patch_field_manager,
    );
}

//! API behaviors the operator relies on, written against a plain `kube::Client`. Each check
//! runs against the emulator (one test per check) and, in `real_cluster`, against the cluster
//! `KUBECONFIG` points at (skipped with a message when it is unset).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Env, reason, wait_until};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event as CoreEvent, Namespace, Secret, ServiceAccount,
};
use k8s_openapi::api::events::v1::Event as NewEvent;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::discovery::Discovery;
use serde_json::{Value, json};

fn cm(name: &str, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).unwrap()
}

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]}}}
    }))
    .unwrap()
}

/// A namespaced `Widget<suffix>` CRD in group `emu.example.com` with a status subresource,
/// a default, a bound, and an unknown-field-preserving map.
async fn widget_crd(env: &Env) -> ApiResource {
    let kind = format!("Widget{}", env.suffix);
    let plural = format!("widgets{}", env.suffix);
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": format!("{plural}.emu.example.com")},
        "spec": {"group": "emu.example.com", "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer", "minimum": 1, "default": 3},
                        "color": {"type": "string"},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]}
    }))
    .unwrap();
    common::install_crd(env, crd).await
}

async fn delete_crd(env: &Env, ar: &ApiResource) {
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    let _ = crds
        .delete(
            &format!("{}.emu.example.com", ar.plural),
            &DeleteParams::default(),
        )
        .await;
}

fn widget(ar: &ApiResource, name: &str, spec: Value) -> DynamicObject {
    let mut o = DynamicObject::new(name, ar);
    o.data = json!({"spec": spec});
    o
}

// 1. Discovery, CRD lifecycle.
async fn discovery(env: &Env) {
    let v = env.client.apiserver_version().await.unwrap();
    assert_eq!(v.major, "1");
    let d = Discovery::new(env.client.clone()).run().await.unwrap();
    for (g, k) in [
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "Namespace"),
        ("", "ServiceAccount"),
        ("", "Service"),
        ("", "Pod"),
        ("", "Event"),
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("coordination.k8s.io", "Lease"),
        ("events.k8s.io", "Event"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ] {
        let found = d.groups().any(|grp| {
            grp.name() == g && grp.recommended_resources().iter().any(|(r, _)| r.kind == k)
        });
        assert!(found, "discovery serves {g}/{k}");
    }
}

async fn crd_lifecycle(env: &Env) {
    let ar = widget_crd(env).await;
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    let crd = crds
        .get(&format!("{}.emu.example.com", ar.plural))
        .await
        .unwrap();
    let conds = crd.status.unwrap().conditions.unwrap();
    for t in ["Established", "NamesAccepted"] {
        assert!(
            conds.iter().any(|c| c.type_ == t && c.status == "True"),
            "{t}"
        );
    }
    let d = Discovery::new(env.client.clone()).run().await.unwrap();
    assert!(d.groups().any(|g| {
        g.recommended_resources()
            .iter()
            .any(|(r, _)| r.kind == ar.kind)
    }));
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
    api.create(
        &PostParams::default(),
        &widget(&ar, "w1", json!({"size": 2})),
    )
    .await
    .unwrap();
    delete_crd(env, &ar).await;
    wait_until("CRD and its objects gone", 30, || {
        let api = api.clone();
        async move { matches!(api.list(&ListParams::default()).await, Err(kube::Error::Api(s)) if s.code == 404) }
    })
    .await;
}

// 2. Metadata.
async fn metadata(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let mut c = cm("", json!({"a": "1"}));
    c.metadata.name = None;
    c.metadata.generate_name = Some("gen-".into());
    let made = api.create(&PostParams::default(), &c).await.unwrap();
    let name = made.metadata.name.clone().unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    assert!(made.metadata.uid.is_some() && made.metadata.creation_timestamp.is_some());
    assert_eq!(made.metadata.namespace.as_deref(), Some(env.ns.as_str()));
    let (code, r) = reason(
        api.create(&PostParams::default(), &cm("Bad_Name", json!({})))
            .await,
    );
    assert_eq!((code, r.as_str()), (422, "Invalid"));
    let (code, r) = reason(
        api.create(&PostParams::default(), &cm(&name, json!({})))
            .await,
    );
    assert_eq!((code, r.as_str()), (409, "AlreadyExists"));
    let missing: Api<ConfigMap> =
        Api::namespaced(env.client.clone(), &format!("missing-{}", env.suffix));
    let (code, r) = reason(
        missing
            .create(&PostParams::default(), &cm("x", json!({})))
            .await,
    );
    assert_eq!((code, r.as_str()), (404, "NotFound"));
    let sas: Api<ServiceAccount> = Api::namespaced(env.client.clone(), &env.ns);
    wait_until("default ServiceAccount", 30, || {
        let sas = sas.clone();
        async move { sas.get_opt("default").await.unwrap().is_some() }
    })
    .await;
}

// 3. resourceVersion, generation, conflicts, no-op writes.
async fn versions(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let c = api
        .create(&PostParams::default(), &cm("v", json!({"a": "1"})))
        .await
        .unwrap();
    let rv1 = c.metadata.resource_version.clone().unwrap();
    let same = api.replace("v", &PostParams::default(), &c).await.unwrap();
    assert_eq!(
        same.metadata.resource_version.as_deref(),
        Some(rv1.as_str()),
        "no-op keeps resourceVersion"
    );
    let mut changed = same.clone();
    changed.data = Some([("a".to_string(), "2".to_string())].into());
    let c2 = api
        .replace("v", &PostParams::default(), &changed)
        .await
        .unwrap();
    let rv2 = c2.metadata.resource_version.clone().unwrap();
    assert!(rv2.parse::<u64>().unwrap() > rv1.parse::<u64>().unwrap());
    let (code, r) = reason(api.replace("v", &PostParams::default(), &changed).await);
    assert_eq!(
        (code, r.as_str()),
        (409, "Conflict"),
        "stale resourceVersion"
    );

    // A no-op write emits no watch event: the first event after rv2 is the real change.
    let mut stream = api
        .watch(
            &WatchParams::default().fields("metadata.name=v").timeout(10),
            &rv2,
        )
        .await
        .unwrap()
        .boxed();
    api.replace("v", &PostParams::default(), &c2).await.unwrap();
    let mut c3 = c2.clone();
    c3.data = Some([("a".to_string(), "3".to_string())].into());
    let c3 = api.replace("v", &PostParams::default(), &c3).await.unwrap();
    loop {
        match stream.try_next().await.unwrap().expect("an event") {
            WatchEvent::Modified(o) => {
                assert_eq!(o.metadata.resource_version, c3.metadata.resource_version);
                break;
            }
            WatchEvent::Bookmark(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }

    let deps: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns);
    let d = deps
        .create(&PostParams::default(), &deployment("gen", "nginx:1"))
        .await
        .unwrap();
    assert_eq!(d.metadata.generation, Some(1));
    let d = deps
        .patch(
            "gen",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        d.metadata.generation,
        Some(1),
        "metadata change keeps generation"
    );
    let d = deps
        .patch(
            "gen",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(
        d.metadata.generation,
        Some(2),
        "spec change bumps generation"
    );
}

// 4. Status subresource isolation.
async fn status_subresource(env: &Env) {
    let ar = widget_crd(env).await;
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
    let mut w = widget(&ar, "s", json!({"size": 2}));
    w.data["status"] = json!({"ready": true});
    let made = api.create(&PostParams::default(), &w).await.unwrap();
    assert!(
        made.data.get("status").is_none(),
        "status ignored on create"
    );
    let mut upd = made.clone();
    upd.data["status"] = json!({"ready": true});
    upd.data["spec"]["size"] = json!(5);
    let after = api
        .replace("s", &PostParams::default(), &upd)
        .await
        .unwrap();
    assert!(
        after.data.get("status").is_none(),
        "main resource ignores status"
    );
    assert_eq!(after.data["spec"]["size"], 5);
    let st = api
        .patch_status(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 9}, "status": {"ready": true}})),
        )
        .await
        .unwrap();
    assert_eq!(st.data["status"]["ready"], true);
    assert_eq!(
        st.data["spec"]["size"], 5,
        "status subresource ignores spec"
    );
    assert_eq!(
        st.metadata.generation, after.metadata.generation,
        "status write keeps generation"
    );

    let deps: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns);
    deps.create(&PostParams::default(), &deployment("st", "nginx:1"))
        .await
        .unwrap();
    let d = deps
        .patch_status(
            "st",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(d.status.unwrap().ready_replicas, Some(1));
    delete_crd(env, &ar).await;
}

// 5. Patches and server-side apply.
async fn patches(env: &Env) {
    let deps: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns);
    deps.create(&PostParams::default(), &deployment("p", "nginx:1"))
        .await
        .unwrap();
    let d = deps.patch("p", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}}))).await.unwrap();
    let names: Vec<String> = d
        .spec
        .template
        .spec
        .unwrap()
        .containers
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["main", "side"], "strategic merge by name");
    let d = deps
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::<()>::Json(
                serde_json::from_value(
                    json!([{"op": "replace", "path": "/spec/replicas", "value": 3}]),
                )
                .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(d.spec.replicas, Some(3));
    let d = deps
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(d.metadata.annotations.unwrap()["a"], "b");

    let ar = widget_crd(env).await;
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
    api.create(
        &PostParams::default(),
        &widget(&ar, "w", json!({"size": 2})),
    )
    .await
    .unwrap();
    let (code, r) = reason(
        api.patch(
            "w",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 4}})),
        )
        .await,
    );
    assert_eq!((code, r.as_str()), (415, "UnsupportedMediaType"));
    delete_crd(env, &ar).await;
}

async fn server_side_apply(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let a = PatchParams::apply("alpha");
    let o = api.patch("ssa", &a, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"x": "1", "y": "1"}}))).await.unwrap();
    let mf = o.metadata.managed_fields.clone().unwrap();
    assert_eq!(mf.len(), 1);
    assert_eq!(
        (mf[0].manager.as_deref(), mf[0].operation.as_deref()),
        (Some("alpha"), Some("Apply"))
    );
    let fields = mf[0].fields_v1.clone().unwrap().0;
    assert_eq!(fields["f:data"], json!({"f:x": {}, "f:y": {}}));
    // Dropping y removes it.
    let o = api.patch("ssa", &a, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"x": "1"}}))).await.unwrap();
    assert_eq!(o.data.unwrap().len(), 1);
    // Another manager changing x conflicts, unless forced.
    let b = PatchParams::apply("beta");
    let err = api.patch("ssa", &b, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"x": "2"}}))).await;
    match err {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
            assert!(s.message.contains("alpha"), "{}", s.message);
            let causes = s.details.unwrap().causes;
            assert_eq!(causes[0].reason, "FieldManagerConflict");
            assert_eq!(causes[0].field, ".data.x");
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    let o = api.patch("ssa", &b.clone().force(), &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"x": "2"}}))).await.unwrap();
    assert_eq!(o.data.unwrap()["x"], "2");
    let managers: Vec<String> = o
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, ["beta"], "forced apply takes ownership");

    // Keyed list merge: two managers each own one container.
    let deps: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns);
    let base = |c: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "lm"},
        "spec": {"selector": {"matchLabels": {"app": "lm"}}, "template": {"metadata": {"labels": {"app": "lm"}}, "spec": {"containers": [c]}}}})
    };
    deps.patch(
        "lm",
        &PatchParams::apply("one"),
        &Patch::Apply(base(json!({"name": "a", "image": "a:1"}))),
    )
    .await
    .unwrap();
    let d = deps
        .patch(
            "lm",
            &PatchParams::apply("two"),
            &Patch::Apply(base(json!({"name": "b", "image": "b:1"}))),
        )
        .await
        .unwrap();
    let names: Vec<String> = d
        .spec
        .template
        .spec
        .unwrap()
        .containers
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
}

// 5b. Server-side apply of empty maps and lists, then of their contents (and back).
async fn server_side_apply_empty(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let cm_apply = |data: Value| {
        Patch::Apply(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "empty"}, "data": data}),
        )
    };
    let (alpha, beta) = (PatchParams::apply("alpha"), PatchParams::apply("beta"));
    let data_fields = |o: &ConfigMap, manager: &str| {
        o.metadata
            .managed_fields
            .iter()
            .flatten()
            .find(|m| m.manager.as_deref() == Some(manager))
            .and_then(|m| m.fields_v1.clone())
            .map(|f| f.0["f:data"].clone())
    };
    // An empty map, then a key from the same manager: the value is kept.
    api.patch("empty", &alpha, &cm_apply(json!({})))
        .await
        .unwrap();
    let o = api
        .patch("empty", &alpha, &cm_apply(json!({"k": "v"})))
        .await
        .unwrap();
    assert_eq!(
        o.data
            .clone()
            .unwrap_or_default()
            .get("k")
            .map(String::as_str),
        Some("v")
    );
    assert_eq!(data_fields(&o, "alpha"), Some(json!({"f:k": {}})));
    // Omitting the key removes it.
    let o = api
        .patch("empty", &alpha, &cm_apply(json!({})))
        .await
        .unwrap();
    assert!(o.data.unwrap_or_default().is_empty(), "k removed");
    // An empty map, then a key from another manager: both stay, each owning its part.
    let o = api
        .patch("empty", &beta, &cm_apply(json!({"b": "1"})))
        .await
        .unwrap();
    assert_eq!(
        o.data.unwrap_or_default().get("b").map(String::as_str),
        Some("1")
    );
    let o = api
        .patch("empty", &alpha, &cm_apply(json!({"a": "1"})))
        .await
        .unwrap();
    let data = o.data.unwrap_or_default();
    assert_eq!(
        (
            data.get("a").map(String::as_str),
            data.get("b").map(String::as_str)
        ),
        (Some("1"), Some("1"))
    );

    // An empty keyed list, then an item.
    let owner = api.get("empty").await.unwrap();
    let owned = |refs: Value| {
        Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "owned", "ownerReferences": refs}}))
    };
    api.patch("owned", &alpha, &owned(json!([]))).await.unwrap();
    let oref = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "empty", "uid": owner.metadata.uid});
    let o = api
        .patch("owned", &alpha, &owned(json!([oref])))
        .await
        .unwrap();
    assert_eq!(o.metadata.owner_references.unwrap_or_default().len(), 1);
    let o = api.patch("owned", &alpha, &owned(json!([]))).await.unwrap();
    assert!(o.metadata.owner_references.unwrap_or_default().is_empty());

    // Nested empty maps, filled level by level, then emptied again.
    let ar = widget_crd(env).await;
    let widgets: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
    let free = |free: Value| {
        Patch::Apply(json!({"apiVersion": "emu.example.com/v1", "kind": ar.kind,
            "metadata": {"name": "nested"}, "spec": {"free": free}}))
    };
    for (applied, want) in [
        (json!({}), json!({})),
        (json!({"a": {}}), json!({"a": {}})),
        (
            json!({"a": {"b": {"c": "d"}}}),
            json!({"a": {"b": {"c": "d"}}}),
        ),
        (json!({"a": {"b": {}}}), json!({"a": {"b": {}}})),
    ] {
        let o = widgets
            .patch("nested", &alpha, &free(applied.clone()))
            .await
            .unwrap();
        assert_eq!(o.data["spec"]["free"], want, "after applying {applied}");
    }
    delete_crd(env, &ar).await;
}

// 6. Finalizers, deletionTimestamp, preconditions.
async fn finalizers(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let mut c = cm("f", json!({}));
    c.metadata.finalizers = Some(vec!["emu.example.com/hold".into()]);
    let made = api.create(&PostParams::default(), &c).await.unwrap();
    let wrong = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: Some("nope".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let (code, r) = reason(api.delete("f", &wrong).await);
    assert_eq!((code, r.as_str()), (409, "Conflict"));
    api.delete("f", &DeleteParams::default()).await.unwrap();
    let t = api.get("f").await.unwrap();
    assert!(t.metadata.deletion_timestamp.is_some());
    let (code, r) = reason(api.patch("f", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": ["emu.example.com/hold", "emu.example.com/new"]}}))).await);
    assert_eq!(
        (code, r.as_str()),
        (422, "Invalid"),
        "no new finalizers while terminating"
    );
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    wait_until("object deleted after last finalizer", 10, || {
        let api = api.clone();
        async move { api.get_opt("f").await.unwrap().is_none() }
    })
    .await;
    let _ = made;
}

// 7. Garbage collection.
async fn garbage_collection(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let owner_of = |o: &ConfigMap| json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": o.metadata.name, "uid": o.metadata.uid, "blockOwnerDeletion": true}]);
    // Background.
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .unwrap();
    let mut dep = cm("dep", json!({}));
    dep.metadata.owner_references = serde_json::from_value(owner_of(&owner)).unwrap();
    api.create(&PostParams::default(), &dep).await.unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    wait_until("dependent collected", 30, || {
        let api = api.clone();
        async move { api.get_opt("dep").await.unwrap().is_none() }
    })
    .await;
    // Foreground: the owner waits for its dependent's finalizer.
    let owner = api
        .create(&PostParams::default(), &cm("fg", json!({})))
        .await
        .unwrap();
    let mut dep = cm("fg-dep", json!({}));
    dep.metadata.owner_references = serde_json::from_value(owner_of(&owner)).unwrap();
    dep.metadata.finalizers = Some(vec!["emu.example.com/hold".into()]);
    api.create(&PostParams::default(), &dep).await.unwrap();
    api.delete("fg", &DeleteParams::foreground()).await.unwrap();
    wait_until("dependent terminating", 30, || {
        let api = api.clone();
        async move {
            api.get("fg-dep")
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_some()
        }
    })
    .await;
    let o = api.get("fg").await.unwrap();
    assert!(
        o.metadata
            .finalizers
            .unwrap()
            .contains(&"foregroundDeletion".to_string())
    );
    api.patch(
        "fg-dep",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    wait_until("foreground owner gone", 30, || {
        let api = api.clone();
        async move { api.get_opt("fg").await.unwrap().is_none() }
    })
    .await;
    // Orphan: the dependent stays, without the reference.
    let owner = api
        .create(&PostParams::default(), &cm("or", json!({})))
        .await
        .unwrap();
    let mut dep = cm("or-dep", json!({}));
    dep.metadata.owner_references = serde_json::from_value(owner_of(&owner)).unwrap();
    api.create(&PostParams::default(), &dep).await.unwrap();
    api.delete("or", &DeleteParams::orphan()).await.unwrap();
    wait_until("orphaned owner gone", 30, || {
        let api = api.clone();
        async move { api.get_opt("or").await.unwrap().is_none() }
    })
    .await;
    let d = api.get("or-dep").await.unwrap();
    assert!(d.metadata.owner_references.unwrap_or_default().is_empty());
}

// 8. Namespace deletion.
async fn namespace_deletion(env: &Env) {
    let nss: Api<Namespace> = Api::all(env.client.clone());
    let ns = format!("gone-{}", env.suffix);
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
    )
    .await
    .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &ns);
    let mut held = cm("held", json!({}));
    held.metadata.finalizers = Some(vec!["emu.example.com/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    api.create(&PostParams::default(), &cm("plain", json!({})))
        .await
        .unwrap();
    nss.delete(&ns, &DeleteParams::default()).await.unwrap();
    wait_until("contents deleted", 60, || {
        let api = api.clone();
        async move { api.get_opt("plain").await.unwrap().is_none() }
    })
    .await;
    let (code, r) = reason(
        api.create(&PostParams::default(), &cm("late", json!({})))
            .await,
    );
    assert_eq!(
        (code, r.as_str()),
        (403, "Forbidden"),
        "no new content in a terminating namespace"
    );
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    wait_until("namespace gone", 60, || {
        let nss = nss.clone();
        let ns = ns.clone();
        async move { nss.get_opt(&ns).await.unwrap().is_none() }
    })
    .await;
}

// 9. List selectors and pagination.
async fn list_selectors(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    for (n, l) in [
        ("a", json!({"tier": "web", "env": "prod"})),
        ("b", json!({"tier": "db", "env": "prod"})),
        ("c", json!({"tier": "web"})),
    ] {
        let mut c = cm(n, json!({}));
        c.metadata.labels = serde_json::from_value(l).unwrap();
        api.create(&PostParams::default(), &c).await.unwrap();
    }
    let names = |sel: &'static str| {
        let api = api.clone();
        async move {
            let l = api.list(&ListParams::default().labels(sel)).await.unwrap();
            l.items
                .into_iter()
                .map(|c| c.metadata.name.unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("tier=web").await, ["a", "c"]);
    assert_eq!(names("tier==web").await, ["a", "c"]);
    assert_eq!(names("tier!=web,tier").await, ["b"]);
    assert_eq!(names("tier in (db,web),env").await, ["a", "b"]);
    assert_eq!(names("tier notin (web),env").await, ["b"]);
    assert_eq!(names("!env,tier").await, ["c"]);
    let l = api
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .unwrap();
    assert_eq!(l.items.len(), 1);
    let l = api
        .list(
            &ListParams::default()
                .fields(&format!("metadata.namespace={}", env.ns))
                .labels("tier"),
        )
        .await
        .unwrap();
    assert_eq!(l.items.len(), 3);
    let page = api
        .list(&ListParams::default().labels("tier").limit(2))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let token = page.metadata.continue_.clone().expect("continue token");
    let rest = api
        .list(
            &ListParams::default()
                .labels("tier")
                .limit(2)
                .continue_token(&token),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].metadata.name.as_deref(), Some("c"));
}

// 10. Watch.
async fn watch(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut s = api
        .watch(&WatchParams::default().labels("sel=yes").timeout(20), &rv)
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &cm("w", json!({})))
        .await
        .unwrap();
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"sel": "yes"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"sel": "no"}}})),
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match s.try_next().await.unwrap().expect("event") {
            WatchEvent::Added(o) => seen.push(("ADDED", o.metadata.name.unwrap())),
            WatchEvent::Deleted(o) => seen.push(("DELETED", o.metadata.name.unwrap())),
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [("ADDED", "w".to_string()), ("DELETED", "w".to_string())]
    );
    // Bookmarks are sent to watches that ask, and timeoutSeconds ends the stream.
    let mut s = api
        .watch(&WatchParams::default().timeout(3), &rv)
        .await
        .unwrap()
        .boxed();
    let mut bookmark = false;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        while let Some(ev) = s.try_next().await.unwrap() {
            if matches!(ev, WatchEvent::Bookmark(_)) {
                bookmark = true;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "watch honours timeoutSeconds");
    assert!(bookmark, "a BOOKMARK arrived");
}

// 11. Error shapes.
async fn errors(env: &Env) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    match api.get("absent").await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
            assert_eq!(s.message, "configmaps \"absent\" not found");
            let d = s.details.unwrap();
            assert_eq!((d.name.as_str(), d.kind.as_str()), ("absent", "configmaps"));
        }
        other => panic!("{other:?}"),
    }
    let req = http::Request::post(format!("/api/v1/namespaces/{}/configmaps", env.ns))
        .header("content-type", "application/json")
        .body(b"{not json".to_vec())
        .unwrap();
    let err = env.client.request::<ConfigMap>(req).await;
    assert_eq!(reason(err).0, 400);
    let req = http::Request::patch(format!("/api/v1/namespaces/{}/configmaps/absent", env.ns))
        .header("content-type", "text/plain")
        .body(b"{}".to_vec())
        .unwrap();
    assert_eq!(reason(env.client.request::<ConfigMap>(req).await).0, 415);
    let req = http::Request::post(format!("/api/v1/namespaces/{}/configmaps/absent", env.ns))
        .header("content-type", "application/json")
        .body(b"{}".to_vec())
        .unwrap();
    assert_eq!(reason(env.client.request::<ConfigMap>(req).await).0, 405);
}

// 12. RBAC and impersonation.
async fn rbac(env: &Env) {
    let sa = format!("system:serviceaccount:{}:reader", env.ns);
    let sas: Api<ServiceAccount> = Api::namespaced(env.client.clone(), &env.ns);
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "reader"}})).unwrap(),
    )
    .await
    .unwrap();
    let roles: Api<Role> = Api::namespaced(env.client.clone(), &env.ns);
    roles.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "r"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["allowed"]}]})).unwrap()).await.unwrap();
    let rbs: Api<RoleBinding> = Api::namespaced(env.client.clone(), &env.ns);
    rbs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "r"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": env.ns}]}))
        .unwrap(),
    )
    .await
    .unwrap();
    let admin: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    for n in ["allowed", "other"] {
        admin
            .create(&PostParams::default(), &cm(n, json!({})))
            .await
            .unwrap();
    }
    let as_sa: Api<ConfigMap> = Api::namespaced(env.impersonating(&sa, &[]), &env.ns);
    wait_until("RBAC grants get", 30, || {
        let as_sa = as_sa.clone();
        async move { as_sa.get("allowed").await.is_ok() }
    })
    .await;
    match as_sa.get("other").await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert_eq!(
                s.message,
                format!(
                    "configmaps \"other\" is forbidden: User \"{sa}\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"{}\"",
                    env.ns
                )
            );
        }
        other => panic!("{other:?}"),
    }
    let (code, _) = reason(as_sa.list(&ListParams::default()).await);
    assert_eq!(code, 403);
    let reviews: Api<SelfSubjectAccessReview> = Api::all(env.impersonating(&sa, &[]));
    let review: SelfSubjectAccessReview =
        serde_json::from_value(json!({"spec": {"resourceAttributes": {
        "namespace": env.ns, "verb": "get", "resource": "configmaps", "name": "allowed"}}}))
        .unwrap();
    let r = reviews
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    assert!(r.status.unwrap().allowed);
    let crs: Api<ClusterRole> = Api::all(env.client.clone());
    for n in ["cluster-admin", "admin", "edit", "view"] {
        crs.get(n).await.unwrap();
    }
}

// 13. Structural schema: pruning, defaults, validation.
async fn crd_schema(env: &Env) {
    let ar = widget_crd(env).await;
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
    let o = api
        .create(
            &PostParams::default(),
            &widget(
                &ar,
                "p",
                json!({"color": "red", "bogus": 1, "free": {"any": {"thing": 1}}}),
            ),
        )
        .await
        .unwrap();
    assert!(
        o.data["spec"].get("bogus").is_none(),
        "unknown field pruned"
    );
    assert_eq!(o.data["spec"]["size"], 3, "default applied");
    assert_eq!(
        o.data["spec"]["free"]["any"]["thing"], 1,
        "preserved unknown fields kept"
    );
    let (code, r) = reason(
        api.create(
            &PostParams::default(),
            &widget(&ar, "bad", json!({"size": 0})),
        )
        .await,
    );
    assert_eq!((code, r.as_str()), (422, "Invalid"));
    let (code, _) = reason(
        api.create(
            &PostParams::default(),
            &widget(&ar, "bad", json!({"size": "big"})),
        )
        .await,
    );
    assert_eq!(code, 422);
    // Nulls of non-nullable fields are dropped (or defaulted) before validation: `spec:` with
    // no value in a manifest is not "must be of type object".
    let o = api
        .create(
            &PostParams::default(),
            &widget(&ar, "nulls", json!({"size": null, "color": null})),
        )
        .await
        .unwrap();
    assert_eq!(o.data["spec"], json!({"size": 3}));
    let mut empty = widget(&ar, "empty", json!(null));
    empty.data["spec"] = Value::Null;
    let o = api.create(&PostParams::default(), &empty).await.unwrap();
    assert!(o.data.get("spec").is_none(), "{:?}", o.data);
    delete_crd(env, &ar).await;
}

// 14. Events and Leases are ordinary objects.
async fn events_and_leases(env: &Env) {
    let core: Api<CoreEvent> = Api::namespaced(env.client.clone(), &env.ns);
    core.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "e1"},
        "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": env.ns}, "reason": "Test", "message": "m", "type": "Normal"})).unwrap()).await.unwrap();
    let l = core
        .list(&ListParams::default().fields("involvedObject.name=x"))
        .await
        .unwrap();
    assert_eq!(l.items.len(), 1);
    let new: Api<NewEvent> = Api::namespaced(env.client.clone(), &env.ns);
    new.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "e2"},
        "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "emu.example.com/test", "reportingInstance": "i",
        "action": "Test", "reason": "Test", "type": "Normal", "regarding": {"kind": "ConfigMap", "name": "x", "namespace": env.ns}})).unwrap()).await.unwrap();
    new.get("e2").await.unwrap();
    let leases: Api<Lease> = Api::namespaced(env.client.clone(), &env.ns);
    let l = leases
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "leader"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let mut l2 = l.clone();
    l2.spec.as_mut().unwrap().holder_identity = Some("b".into());
    leases
        .replace("leader", &PostParams::default(), &l2)
        .await
        .unwrap();
    let (code, _) = reason(leases.replace("leader", &PostParams::default(), &l).await);
    assert_eq!(
        code, 409,
        "lease takeover with a stale resourceVersion conflicts"
    );
}

/// The first `n` ADDED objects of a watch (bookmarks skipped), within 20 seconds.
async fn added<K>(api: &Api<K>, rv: &str, n: usize) -> Vec<K>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let stream = api
        .watch(&WatchParams::default().timeout(20), rv)
        .await
        .unwrap();
    let objects = stream
        .try_filter_map(|ev| async move {
            Ok(match ev {
                WatchEvent::Added(o) => Some(o),
                _ => None,
            })
        })
        .take(n)
        .try_collect::<Vec<K>>();
    tokio::time::timeout(std::time::Duration::from_secs(20), objects)
        .await
        .expect("watch events in time")
        .unwrap()
}

// 15. core/v1 and events.k8s.io/v1 Events are one store, converted field by field.
async fn events_one_store(env: &Env) {
    let core: Api<CoreEvent> = Api::namespaced(env.client.clone(), &env.ns);
    let new: Api<NewEvent> = Api::namespaced(env.client.clone(), &env.ns);
    let rv = core
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let (core_watch, new_watch) = (core.clone(), new.clone());
    let (core_rv, new_rv) = (rv.clone(), rv.clone());
    let core_seen = tokio::spawn(async move { added(&core_watch, &core_rv, 2).await });
    let new_seen = tokio::spawn(async move { added(&new_watch, &new_rv, 2).await });
    // Both watches are open before the writes (a watch from `rv` would replay them anyway).
    let target = |kind: &str, name: &str| json!({"apiVersion": "v1", "kind": kind, "name": name, "namespace": env.ns});
    core.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
        "metadata": {"name": "legacy"}, "involvedObject": target("ConfigMap", "old"),
        "reason": "Synced", "message": "from core", "type": "Normal", "count": 3,
        "source": {"component": "legacy-controller"},
        "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:01:00Z"}))
        .unwrap(),
    )
    .await
    .unwrap();
    // What the operator writes: an events.k8s.io Event.
    new.create(&PostParams::default(), &serde_json::from_value(json!({
        "metadata": {"name": "modern"}, "regarding": target("ConfigMap", "new"),
        "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "emu.example.com/operator",
        "reportingInstance": "operator-0", "action": "Couple", "reason": "Coupled",
        "note": "from events.k8s.io", "type": "Normal"})).unwrap()).await.unwrap();

    // get through the other API.
    let legacy = new.get("legacy").await.unwrap();
    assert_eq!(legacy.note.as_deref(), Some("from core"));
    assert_eq!(
        legacy.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("old")
    );
    assert_eq!(legacy.deprecated_count, Some(3));
    assert_eq!(
        legacy
            .deprecated_source
            .and_then(|s| s.component)
            .as_deref(),
        Some("legacy-controller")
    );
    assert!(
        legacy.deprecated_first_timestamp.is_some() && legacy.deprecated_last_timestamp.is_some()
    );
    let modern = core.get("modern").await.unwrap();
    assert_eq!(modern.message.as_deref(), Some("from events.k8s.io"));
    assert_eq!(modern.involved_object.name.as_deref(), Some("new"));
    assert_eq!(
        modern.reporting_component.as_deref(),
        Some("emu.example.com/operator")
    );
    assert_eq!(modern.reporting_instance.as_deref(), Some("operator-0"));
    assert_eq!(modern.action.as_deref(), Some("Couple"));
    assert!(modern.event_time.is_some());

    // list through both, with each API's field names in selectors.
    let names = |l: Vec<Option<String>>| {
        let mut n: Vec<String> = l.into_iter().flatten().collect();
        n.sort();
        n
    };
    let all = core.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        names(all.items.into_iter().map(|e| e.metadata.name).collect()),
        ["legacy", "modern"]
    );
    let all = new.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        names(all.items.into_iter().map(|e| e.metadata.name).collect()),
        ["legacy", "modern"]
    );
    let l = core
        .list(&ListParams::default().fields("involvedObject.name=new"))
        .await
        .unwrap();
    assert_eq!(
        names(l.items.into_iter().map(|e| e.metadata.name).collect()),
        ["modern"]
    );
    let l = new
        .list(&ListParams::default().fields("regarding.name=old"))
        .await
        .unwrap();
    assert_eq!(
        names(l.items.into_iter().map(|e| e.metadata.name).collect()),
        ["legacy"]
    );

    // watch through both.
    let seen = core_seen.await.unwrap();
    let messages: Vec<_> = seen.iter().map(|e| e.message.clone()).collect();
    assert_eq!(
        messages,
        [Some("from core".into()), Some("from events.k8s.io".into())]
    );
    let seen = new_seen.await.unwrap();
    let notes: Vec<_> = seen.iter().map(|e| e.note.clone()).collect();
    assert_eq!(
        notes,
        [Some("from core".into()), Some("from events.k8s.io".into())]
    );

    // A patch through one API is seen through the other; a delete through one removes it.
    new.patch(
        "legacy",
        &PatchParams::default(),
        &Patch::Merge(json!({"note": "patched"})),
    )
    .await
    .unwrap();
    assert_eq!(
        core.get("legacy").await.unwrap().message.as_deref(),
        Some("patched")
    );
    core.delete("modern", &DeleteParams::default())
        .await
        .unwrap();
    assert!(new.get_opt("modern").await.unwrap().is_none());
}

// 16. Secret stringData: folded into data, winning over it, never stored or returned.
async fn secret_string_data(env: &Env) {
    let api: Api<Secret> = Api::namespaced(env.client.clone(), &env.ns);
    let data = |s: Secret| -> std::collections::BTreeMap<String, String> {
        assert!(s.string_data.is_none(), "stringData is write-only");
        s.data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
            .collect()
    };
    let want = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let made = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
        "metadata": {"name": "creds"}, "data": {"user": "ZGF0YQ==", "pass": "ZGF0YQ=="},
        "stringData": {"pass": "string", "host": "db"}}))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        data(made),
        want(&[("host", "db"), ("pass", "string"), ("user", "data")])
    );
    assert_eq!(
        data(api.get("creds").await.unwrap()),
        want(&[("host", "db"), ("pass", "string"), ("user", "data")])
    );
    let listed = api.list(&ListParams::default()).await.unwrap();
    assert!(listed.items.iter().all(|s| s.string_data.is_none()));

    // update
    let mut s = api.get("creds").await.unwrap();
    s.string_data = Some([("port".to_string(), "5432".to_string())].into());
    let replaced = api
        .replace("creds", &PostParams::default(), &s)
        .await
        .unwrap();
    assert_eq!(data(replaced)["port"], "5432");
    // patch
    let patched = api
        .patch(
            "creds",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"user": "patched"}})),
        )
        .await
        .unwrap();
    assert_eq!(data(patched)["user"], "patched");

    // apply: the manager owns stringData keys, so one it later omits stays in data
    // (kubernetes/kubernetes#108008).
    let apply = |string_data: Value| {
        Patch::Apply(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "applied"}, "stringData": string_data}),
        )
    };
    let ssa = PatchParams::apply("secret-test");
    let o = api
        .patch(
            "applied",
            &ssa,
            &apply(json!({"username": "admin", "password": "p"})),
        )
        .await
        .unwrap();
    assert_eq!(data(o), want(&[("password", "p"), ("username", "admin")]));
    let o = api
        .patch(
            "applied",
            &ssa,
            &apply(json!({"username1": "admin", "password": "q"})),
        )
        .await
        .unwrap();
    assert_eq!(
        data(o),
        want(&[
            ("password", "q"),
            ("username", "admin"),
            ("username1", "admin")
        ])
    );
}

/// Metadata-only requests (`Api<PartialObjectMeta<K>>`, which controllers
/// use to watch kinds they only need to notice): get, list and watch serve
/// `PartialObjectMetadata`, without the object's data.
async fn metadata_only(env: &Env) {
    const ACCEPT: &str =
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
    const ACCEPT_LIST: &str =
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let made = api
        .create(&PostParams::default(), &cm("meta", json!({"k": "v"})))
        .await
        .unwrap();
    let raw = |query: &str, accept: &'static str| {
        let uri = format!("/api/v1/namespaces/{}/configmaps{query}", env.ns);
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .unwrap();
        let client = env.client.clone();
        async move { client.request_text(request).await.unwrap() }
    };

    let one: Value = serde_json::from_str(&raw("/meta", ACCEPT).await).unwrap();
    assert_eq!(one["kind"], "PartialObjectMetadata");
    assert_eq!(one["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(one["metadata"]["name"], "meta");
    assert!(one.get("data").is_none(), "{one}");

    let list: Value = serde_json::from_str(&raw("", ACCEPT_LIST).await).unwrap();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    let items = list["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["metadata"]["name"] == "meta"));
    assert!(items.iter().all(|i| i.get("data").is_none()), "{list}");

    let rv = made.metadata.resource_version.unwrap();
    let changed = json!({"data": {"k": "changed"}});
    api.patch("meta", &PatchParams::default(), &Patch::Merge(&changed))
        .await
        .unwrap();
    let query = format!("?watch=1&resourceVersion={rv}&timeoutSeconds=1");
    let events = raw(&query, ACCEPT).await;
    let first: Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "MODIFIED");
    assert_eq!(first["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(first["object"]["metadata"]["name"], "meta");
    assert!(first["object"].get("data").is_none(), "{first}");

    // The typed client reads them as `PartialObjectMeta`.
    let metas: Api<kube::core::PartialObjectMeta<ConfigMap>> =
        Api::namespaced(env.client.clone(), &env.ns);
    let listed = metas.list(&ListParams::default()).await.unwrap();
    assert!(
        listed
            .items
            .iter()
            .any(|m| m.metadata.name.as_deref() == Some("meta"))
    );
}

/// A list or get of `path` as a Table (what `kubectl get` asks for).
async fn get_table(env: &Env, path: &str) -> Value {
    let req = http::Request::get(path)
        .header(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .body(Vec::new())
        .unwrap();
    let t: Value = env.client.request(req).await.unwrap();
    assert_eq!(
        (t["kind"].as_str(), t["apiVersion"].as_str()),
        (Some("Table"), Some("meta.k8s.io/v1"))
    );
    t
}

fn column_names(t: &Value) -> Vec<(String, i64)> {
    t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["priority"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

fn columns(names: &[(&str, i64)]) -> Vec<(String, i64)> {
    names.iter().map(|(n, p)| (n.to_string(), *p)).collect()
}

// 21. Server-side printing: a CRD's printer columns, built-ins' usual columns.
async fn table_output(env: &Env) {
    let kind = format!("Plug{}", env.suffix);
    let plural = format!("plugs{}", env.suffix);
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": format!("{plural}.emu.example.com")},
        "spec": {"group": "emu.example.com", "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Color", "type": "string", "priority": 1, "jsonPath": ".spec.color"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))
    .unwrap();
    let ar = common::install_crd(env, crd).await;
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
    let mut p = widget(&ar, "p", json!({"size": 2, "color": "red"}));
    p.data["status"] = json!({"conditions": [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]});
    api.create(&PostParams::default(), &p).await.unwrap();
    api.create(&PostParams::default(), &widget(&ar, "q", json!({})))
        .await
        .unwrap();
    let base = format!("/apis/emu.example.com/v1/namespaces/{}/{plural}", env.ns);
    let t = get_table(env, &base).await;
    assert_eq!(
        column_names(&t),
        columns(&[
            ("Name", 0),
            ("Size", 0),
            ("Ready", 0),
            ("Color", 1),
            ("Age", 0)
        ])
    );
    let rows = t["rows"].as_array().unwrap();
    let cells = &rows[0]["cells"];
    assert_eq!(
        cells.as_array().unwrap()[..4],
        [json!("p"), json!(2), json!("True"), json!("red")]
    );
    assert!(
        cells[4].as_str().unwrap().ends_with('s'),
        "an age: {}",
        cells[4]
    );
    assert_eq!(rows[0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(
        rows[1]["cells"].as_array().unwrap()[..4],
        [json!("q"), Value::Null, Value::Null, Value::Null]
    );
    let one = get_table(env, &format!("{base}/p")).await;
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);

    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    cms.create(
        &PostParams::default(),
        &cm("t", json!({"a": "1", "b": "2"})),
    )
    .await
    .unwrap();
    let t = get_table(env, &format!("/api/v1/namespaces/{}/configmaps/t", env.ns)).await;
    assert_eq!(
        column_names(&t),
        columns(&[("Name", 0), ("Data", 0), ("Age", 0)])
    );
    assert_eq!(
        t["rows"][0]["cells"].as_array().unwrap()[..2],
        [json!("t"), json!(2)]
    );
    delete_crd(env, &ar).await;
}

mod emulator {
    crate::conformance!(
        discovery,
        crd_lifecycle,
        metadata,
        versions,
        status_subresource,
        patches,
        server_side_apply,
        server_side_apply_empty,
        finalizers,
        garbage_collection,
        namespace_deletion,
        list_selectors,
        watch,
        errors,
        rbac,
        crd_schema,
        events_and_leases,
        events_one_store,
        secret_string_data,
        metadata_only,
        table_output,
    );
}

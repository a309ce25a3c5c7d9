//! Emulator-only behavior: fault knobs, compaction, dropped watches, the in-process client,
//! tokens, and a kube-runtime Controller that must settle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Env, reason, wait_until};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube_emulator::{Emulator, Fault, Options};
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
}

#[tokio::test]
async fn faults_fail_chosen_requests() {
    let env = Env::emulator().await;
    let emu = env.emu.clone().unwrap();
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    api.create(&PostParams::default(), &cm("a")).await.unwrap();
    for (code, want) in [(500, "InternalError"), (409, "Conflict"), (410, "Expired")] {
        emu.inject(
            Fault::new(code)
                .verb("get")
                .resource("configmaps")
                .name("a"),
        );
        let (c, r) = reason(api.get("a").await);
        assert_eq!((c, r.as_str()), (code, want));
        api.get("a").await.expect("a fault fires once by default");
    }
    // kube's client retries 429 itself: one injected 429 is absorbed, the in-process client
    // (no retry layer) sees it.
    emu.inject(Fault::new(429).verb("get").name("a"));
    api.get("a").await.expect("kube retries a 429");
    emu.inject(Fault::new(429).verb("get").name("a"));
    let raw: Api<ConfigMap> = Api::namespaced(emu.in_process_client(), &env.ns);
    let (c, r) = reason(raw.get("a").await);
    assert_eq!((c, r.as_str()), (429, "TooManyRequests"));
    emu.inject(Fault::new(500).verb("create").always());
    assert_eq!(
        reason(api.create(&PostParams::default(), &cm("b")).await).0,
        500
    );
    assert_eq!(
        reason(api.create(&PostParams::default(), &cm("b")).await).0,
        500
    );
    emu.clear_faults();
    api.create(&PostParams::default(), &cm("b")).await.unwrap();
    // `after`: the first matching requests pass, the next one fails.
    emu.inject(Fault::new(500).verb("get").name("b").after(2));
    api.get("b").await.expect("first passes");
    api.get("b").await.expect("second passes");
    assert_eq!(reason(api.get("b").await).0, 500);
    api.get("b").await.expect("fired once");
}

#[tokio::test]
async fn compaction_expires_old_watches_and_continue_tokens() {
    let env = Env::emulator().await;
    let emu = env.emu.clone().unwrap();
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    for n in ["a", "b", "c"] {
        api.create(&PostParams::default(), &cm(n)).await.unwrap();
    }
    let page = api.list(&ListParams::default().limit(1)).await.unwrap();
    let old_rv = page.metadata.resource_version.clone().unwrap();
    api.create(&PostParams::default(), &cm("d")).await.unwrap();
    emu.compact();
    let mut s = api
        .watch(&WatchParams::default(), &old_rv)
        .await
        .unwrap()
        .boxed();
    match s.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {other:?}"),
    }
    let token = page.metadata.continue_.unwrap();
    let (code, r) = reason(
        api.list(&ListParams::default().limit(1).continue_token(&token))
            .await,
    );
    assert_eq!((code, r.as_str()), (410, "Expired"));
}

#[tokio::test]
async fn watcher_recovers_from_dropped_connections_and_compaction() {
    let env = Env::emulator().await;
    let emu = env.emu.clone().unwrap();
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let mut names = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    async fn next(
        names: &mut futures::stream::BoxStream<'static, Result<ConfigMap, watcher::Error>>,
    ) -> String {
        let ev = tokio::time::timeout(Duration::from_secs(20), names.try_next())
            .await
            .expect("event in time");
        ev.unwrap().unwrap().metadata.name.unwrap()
    }
    api.create(&PostParams::default(), &cm("one"))
        .await
        .unwrap();
    assert_eq!(next(&mut names).await, "one");
    emu.drop_watches();
    api.create(&PostParams::default(), &cm("two"))
        .await
        .unwrap();
    assert_eq!(next(&mut names).await, "two");
    emu.drop_watches();
    emu.compact();
    api.create(&PostParams::default(), &cm("three"))
        .await
        .unwrap();
    // After a 410 the watcher relists: it may replay objects, but it must reach "three".
    let mut seen = Vec::new();
    while !seen.contains(&"three".to_string()) {
        seen.push(next(&mut names).await);
    }
}

#[tokio::test]
async fn in_process_client_and_kubeconfig() {
    let emu = Emulator::new(Options::default());
    let client = emu.in_process_client();
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(&PostParams::default(), &cm("inproc"))
        .await
        .unwrap();
    let mut s = api
        .watch(&WatchParams::default().timeout(5), "0")
        .await
        .unwrap()
        .boxed();
    match s.try_next().await.unwrap() {
        Some(WatchEvent::Added(o)) => assert_eq!(o.metadata.name.as_deref(), Some("inproc")),
        other => panic!("{other:?}"),
    }

    let served = Emulator::start().await.unwrap();
    let kc = kube::config::Kubeconfig::from_yaml(&served.kubeconfig_yaml()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(&PostParams::default(), &cm("from-kubeconfig"))
        .await
        .unwrap();
}

#[tokio::test]
async fn tokens_and_impersonation_are_checked() {
    let env = Env::emulator().await;
    let emu = env.emu.clone().unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(env.client.clone(), &env.ns);
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "bot"}})).unwrap(),
    )
    .await
    .unwrap();
    let tr: TokenRequest = serde_json::from_value(json!({"spec": {"audiences": []}})).unwrap();
    let tr = sas
        .create_token_request("bot", &PostParams::default(), &tr)
        .await
        .unwrap();
    let token = tr.status.unwrap().token.unwrap();
    let bot = kube::Client::try_from(emu.config_for_token(&token).unwrap()).unwrap();
    let api: Api<ConfigMap> = Api::namespaced(bot, &env.ns);
    match api.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(
            s.message,
            format!(
                "configmaps is forbidden: User \"system:serviceaccount:{}:bot\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"{}\"",
                env.ns, env.ns
            )
        ),
        other => panic!("{other:?}"),
    }
    // alice may not impersonate.
    let mut cfg = emu
        .config_for_token(&emu.issue_token("alice", &[]))
        .unwrap();
    cfg.auth_info.impersonate = Some("admin".into());
    let api: Api<ConfigMap> = Api::namespaced(kube::Client::try_from(cfg).unwrap(), &env.ns);
    match api.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(
            s.message,
            "users \"admin\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
        ),
        other => panic!("{other:?}"),
    }
    // An unknown token is 401.
    let bad = kube::Client::try_from(emu.config_for_token("nope").unwrap()).unwrap();
    assert_eq!(
        reason(
            Api::<ConfigMap>::namespaced(bad, &env.ns)
                .list(&ListParams::default())
                .await
        )
        .0,
        401
    );
}

/// A Controller whose reconciler writes status once must settle: no hot loop, no relist loop.
#[tokio::test]
async fn controller_settles() {
    let env = Env::emulator().await;
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    crds.create(&PostParams::default(), &serde_json::from_value(json!({
        "metadata": {"name": "gadgets.emu.example.com"},
        "spec": {"group": "emu.example.com", "scope": "Namespaced", "names": {"kind": "Gadget", "plural": "gadgets"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    })).unwrap()).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            crds,
            "gadgets.emu.example.com",
            conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("emu.example.com", "v1", "Gadget"),
        "gadgets",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);

    type Counts = Arc<Mutex<HashMap<String, usize>>>;
    let counts: Counts = Arc::default();
    struct Ctx {
        api: Api<DynamicObject>,
        counts: Counts,
    }
    async fn reconcile(o: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
        let name = o.metadata.name.clone().unwrap_or_default();
        *ctx.counts.lock().unwrap().entry(name.clone()).or_default() += 1;
        if o.data.get("status").and_then(|s| s.get("ready")).is_none() {
            ctx.api
                .patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"ready": true}})),
                )
                .await?;
        }
        Ok(Action::await_change())
    }
    fn error_policy(_: Arc<DynamicObject>, _: &kube::Error, _: Arc<Ctx>) -> Action {
        Action::requeue(Duration::from_millis(100))
    }
    let ctx = Arc::new(Ctx {
        api: api.clone(),
        counts: counts.clone(),
    });
    let controller = Controller::new_with(api.clone(), watcher::Config::default(), ar.clone())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);

    let mut g = DynamicObject::new("g1", &ar);
    g.data = json!({"spec": {"x": 1}});
    api.create(&PostParams::default(), &g).await.unwrap();
    wait_until("status written", 20, || {
        let api = api.clone();
        async move { api.get("g1").await.unwrap().data.get("status").is_some() }
    })
    .await;
    // A second object is a barrier: once it is reconciled (and its own status write seen),
    // everything queued for g1 before it has been handled too.
    let mut b = DynamicObject::new("barrier", &ar);
    b.data = json!({"spec": {}});
    api.create(&PostParams::default(), &b).await.unwrap();
    wait_until("barrier reconciled twice", 20, || {
        let counts = counts.clone();
        async move { counts.lock().unwrap().get("barrier").copied().unwrap_or(0) >= 2 }
    })
    .await;
    let n = counts.lock().unwrap()["g1"];
    assert!((1..=3).contains(&n), "g1 reconciled {n} times");
    handle.abort();
}

/// Malformed requests get a 4xx `Status`, never a panic, a 5xx or a hang.
#[tokio::test]
async fn malformed_requests_get_client_errors() {
    use tower::ServiceExt;
    let emu = Emulator::new(Options::default());
    let ns = "/api/v1/namespaces/default";
    let cases: Vec<(&str, String, &str, &[u8])> = vec![
        (
            "POST",
            format!("{ns}/configmaps"),
            "application/json",
            b"[]",
        ),
        (
            "POST",
            format!("{ns}/configmaps"),
            "application/json",
            b"\"x\"",
        ),
        (
            "POST",
            format!("{ns}/configmaps"),
            "application/json",
            br#"{"metadata":"x"}"#,
        ),
        (
            "POST",
            format!("{ns}/configmaps"),
            "application/json",
            br#"{"metadata":{"name":"a","labels":5}}"#,
        ),
        (
            "POST",
            format!("{ns}/configmaps"),
            "application/json",
            br#"{"kind":"Secret","metadata":{"name":"a"}}"#,
        ),
        (
            "POST",
            format!("{ns}/configmaps"),
            "application/json",
            br#"{"metadata":{}}"#,
        ),
        ("POST", format!("{ns}/configmaps"), "application/json", b""),
        (
            "POST",
            format!("{ns}/configmaps"),
            "application/vnd.kubernetes.protobuf",
            b"k8s\x00\xff\xff",
        ),
        (
            "PATCH",
            format!("{ns}/serviceaccounts/default"),
            "application/json-patch+json",
            br#"[{"op":"remove","path":"/nope"}]"#,
        ),
        (
            "PATCH",
            format!("{ns}/serviceaccounts/default"),
            "application/json-patch+json",
            br#"[{"op":"replace","path":"","value":[]}]"#,
        ),
        (
            "PATCH",
            format!("{ns}/serviceaccounts/default"),
            "application/merge-patch+json",
            br#"{"metadata":"x"}"#,
        ),
        (
            "PATCH",
            format!("{ns}/serviceaccounts/default"),
            "application/strategic-merge-patch+json",
            br#"{"secrets":[{"$patch":"delete"}],"metadata":{"finalizers":5}}"#,
        ),
        (
            "PATCH",
            format!("{ns}/serviceaccounts/default?fieldManager=m"),
            "application/apply-patch+yaml",
            b": : :",
        ),
        (
            "PATCH",
            format!("{ns}/serviceaccounts/default?fieldManager=m"),
            "application/apply-patch+yaml",
            b"kind: ServiceAccount\n",
        ),
        (
            "PATCH",
            format!("{ns}/serviceaccounts/default"),
            "application/apply-patch+yaml",
            b"apiVersion: v1\nkind: ServiceAccount\n",
        ),
        (
            "PUT",
            format!("{ns}/serviceaccounts/other"),
            "application/json",
            br#"{"metadata":{"name":"default"}}"#,
        ),
        (
            "GET",
            format!("{ns}/configmaps?watch=1&resourceVersion=abc"),
            "",
            b"",
        ),
        (
            "GET",
            format!("{ns}/configmaps?labelSelector=a%20in%20(b"),
            "",
            b"",
        ),
        (
            "GET",
            format!("{ns}/configmaps?fieldSelector=spec.x%3D1"),
            "",
            b"",
        ),
        ("GET", format!("{ns}/configmaps?limit=-1"), "", b""),
        ("GET", format!("{ns}/configmaps?continue=zz"), "", b""),
        ("GET", "/api/v1/nope".to_string(), "", b""),
        ("GET", "/apis/nope.io/v1/things".to_string(), "", b""),
        (
            "DELETE",
            format!("{ns}/configmaps/absent"),
            "application/json",
            b"{bad",
        ),
        (
            "DELETE",
            format!("{ns}/serviceaccounts/default"),
            "application/json",
            br#"{"propagationPolicy":"Sideways"}"#,
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews".to_string(),
            "application/json",
            b"[1]",
        ),
        (
            "POST",
            format!("{ns}/serviceaccounts/default/token"),
            "application/json",
            br#"{"spec":[]}"#,
        ),
        (
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions".to_string(),
            "application/json",
            br#"{"metadata":{"name":"x"},"spec":{"names":"x"}}"#,
        ),
    ];
    for (method, uri, ct, body) in cases {
        let mut req = http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("authorization", format!("Bearer {}", emu.admin_token()));
        if !ct.is_empty() {
            req = req.header("content-type", ct);
        }
        let req = req.body(axum::body::Body::from(body.to_vec())).unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(5), emu.router().oneshot(req))
            .await
            .unwrap_or_else(|_| panic!("{method} {uri} hung"))
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        // The token request with a bad spec still mints a token with defaults: 201 is fine.
        assert!(
            status.is_client_error() || status.is_success(),
            "{method} {uri}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        if status.is_client_error() {
            let s: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(s["kind"], "Status", "{method} {uri}");
        }
    }
}

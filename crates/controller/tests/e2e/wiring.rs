//! Wiring end to end (scenarios AP5, AP7 and AP10 of the Application
//! spec, summarised in docs/application.md): connection variables inside
//! an app, NetworkPolicies from the declared flows, and links across
//! namespaces made of a Socket and a Plug.

use integration_api::{Plug, Socket};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};

use integration_controller::RunOptions;

use crate::application::{
    B0, absent, app_is, apps, at, deployment, deployment_ready, deployments, namespace, services,
    settled,
};
use crate::harness::{Op, condition, eventually};

/// The env of a Deployment's first container, as name=value.
fn env(d: &Deployment) -> Vec<String> {
    let pod = d.spec.template.spec.as_ref();
    pod.map(|p| &p.containers[0])
        .and_then(|c| c.env.as_ref())
        .into_iter()
        .flatten()
        .map(|v| format!("{}={}", v.name, v.value.as_deref().unwrap_or_default()))
        .collect()
}

/// Waits until Deployment `name` has (or, with `present` false, lacks)
/// the variable `var` (`NAME=value`), and returns it.
async fn with_env(op: &Op, ns: &str, name: &str, var: &str, present: bool) -> Deployment {
    let what = format!("Deployment {ns}/{name} with {var}: {present}");
    eventually(&what, || async {
        let d = deployments(op, ns).get_opt(name).await.unwrap()?;
        (env(&d).iter().any(|v| v == var) == present).then_some(d)
    })
    .await
}

#[tokio::test]
async fn ap5_connection_variables_are_order_free_and_follow_only_the_service_port() {
    let op = Op::start().await;
    for ns in ["shop", "reversed"] {
        namespace(&op, ns).await;
    }
    op.apply(&at(B0, "shop")).await;
    // The same application with its components in the other order.
    let mut reversed: Value = serde_yaml_value(&at(B0, "reversed"));
    reversed["spec"]["components"]
        .as_array_mut()
        .unwrap()
        .reverse();
    op.apply_value(&reversed).await;
    let expected = [
        "API_SERVICE_HOST=api.shop.svc.cluster.local",
        "API_SERVICE_PORT=80",
        "API_SERVICE_PORT_HTTP=80",
    ];
    let web = with_env(&op, "shop", "web", expected[0], true).await;
    assert_eq!(env(&web), expected);
    let other = with_env(
        &op,
        "reversed",
        "web",
        "API_SERVICE_HOST=api.reversed.svc.cluster.local",
        true,
    )
    .await;
    assert_eq!(env(&other)[1..], expected[1..], "whatever the order");
    let app = app_is(&op, "shop", "Pending", "").await;
    let web_state = &app.status.unwrap().components.unwrap()[0];
    assert_eq!(
        web_state.connections.as_deref(),
        Some(&["api:http".to_string()][..])
    );

    // A new targetPort on api changes api, not web's pod template.
    let generation = web.metadata.generation;
    let retargeted = at(B0, "shop").replace("targetPort: 8080", "targetPort: 9090");
    op.apply(&retargeted).await;
    eventually("api's container port 9090", || async {
        let api = crate::application::stateful_set(&op, "shop", "api").await;
        let port = api.spec.template.spec?.containers[0].ports.clone()?[0].container_port;
        (port == 9090).then_some(())
    })
    .await;
    settled(&op).await;
    let web = deployment(&op, "shop", "web").await;
    assert_eq!(web.metadata.generation, generation, "web not rolled");

    // A new Service port does reach web.
    op.apply(&retargeted.replace(
        "{name: http, port: 80, targetPort: 9090}",
        "{name: http, port: 8000, targetPort: 9090}",
    ))
    .await;
    let web = with_env(&op, "shop", "web", "API_SERVICE_PORT=8000", true).await;
    assert!(env(&web).contains(&"API_SERVICE_PORT_HTTP=8000".to_string()));
}

/// B0 with policies on, api's metrics scraped from `monitoring`, and web
/// reached from ingress-nginx.
fn with_policies(mode: &str) -> String {
    at(B0, "shop")
        .replace(
            "spec:\n  components:",
            &format!("spec:\n  networkPolicy: \"{mode}\"\n  components:"),
        )
        .replace(
            "      connectsTo: [{component: api, port: http}]",
            "      connectsTo: [{component: api, port: http}]\n      allowFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}, port: http}]",
        )
}

fn policies(op: &Op, ns: &str) -> Api<NetworkPolicy> {
    Api::namespaced(op.client.clone(), ns)
}

/// The ingress rules of policy `name` once they equal `rules`.
async fn policy_is(op: &Op, ns: &str, name: &str, rules: Value) -> NetworkPolicy {
    let what = format!("NetworkPolicy {ns}/{name} with {rules}");
    eventually(&what, || async {
        let p = policies(op, ns).get_opt(name).await.unwrap()?;
        let spec = serde_json::to_value(p.spec.as_ref()?).unwrap();
        let ingress = spec.get("ingress").cloned().unwrap_or(json!([]));
        (ingress == rules).then_some(p)
    })
    .await
}

fn from_pods(component: &str, port: i32) -> Value {
    json!({"from": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": component, "app.kubernetes.io/part-of": "shop"}}}],
        "ports": [{"protocol": "TCP", "port": port}]})
}

fn from_namespace(ns: &str, port: i32) -> Value {
    json!({"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}],
        "ports": [{"protocol": "TCP", "port": port}]})
}

#[tokio::test]
async fn ap7_network_policies_admit_exactly_the_declared_flows() {
    let op = Op::start_with(RunOptions {
        scrape_namespace: Some("monitoring".into()),
        ..RunOptions::default()
    })
    .await;
    namespace(&op, "shop").await;
    op.apply(&with_policies("true")).await;
    let api = policy_is(
        &op,
        "shop",
        "api",
        json!([from_pods("web", 8080), from_namespace("monitoring", 8080)]),
    )
    .await;
    let spec = api.spec.as_ref().unwrap();
    assert_eq!(
        spec.policy_types.as_deref(),
        Some(&["Ingress".to_string()][..])
    );
    assert!(spec.egress.is_none(), "no egress rules");
    assert_eq!(
        serde_json::to_value(&spec.pod_selector).unwrap(),
        json!({"matchLabels": {"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": "shop"}})
    );
    policy_is(
        &op,
        "shop",
        "web",
        json!([from_namespace("ingress-nginx", 3000)]),
    )
    .await;
    let uid = api.uid();

    // Removing the flow removes its rule, in place.
    let text =
        with_policies("true").replace("      connectsTo: [{component: api, port: http}]\n", "");
    op.apply(&text).await;
    let api = policy_is(
        &op,
        "shop",
        "api",
        json!([from_namespace("monitoring", 8080)]),
    )
    .await;
    assert_eq!(api.uid(), uid, "updated in place");
    op.apply(&text.replace(
        "      metrics: {port: http, path: /metrics, interval: 30s}\n",
        "",
    ))
    .await;
    let api = policy_is(&op, "shop", "api", json!([])).await;
    assert_eq!(api.uid(), uid, "updated in place");

    // Removing a component removes its policy and nothing of the others.
    let web_policy = policies(&op, "shop").get("web").await.unwrap().uid();
    let web = deployment(&op, "shop", "web").await;
    let without_api = &text[..text.find("    - name: api").unwrap()];
    op.apply(without_api).await;
    eventually("policy api removed", || async {
        absent(&policies(&op, "shop"), "api").await.then_some(())
    })
    .await;
    settled(&op).await;
    assert_eq!(
        policies(&op, "shop").get("web").await.unwrap().uid(),
        web_policy
    );
    let after = deployment(&op, "shop", "web").await;
    assert_eq!(
        (after.uid(), after.metadata.generation),
        (web.uid(), web.metadata.generation)
    );

    // Audit: no policies, the rules in the status.
    op.apply(&with_policies("audit")).await;
    eventually("policies deleted", || async {
        let list = policies(&op, "shop")
            .list(&Default::default())
            .await
            .unwrap();
        list.items.is_empty().then_some(())
    })
    .await;
    let listed = eventually("rules listed in status", || async {
        let app = apps(&op, "shop").get("shop").await.unwrap();
        let status = app.status?;
        (status.observed_generation == app.metadata.generation).then_some(())?;
        status.network_policies
    })
    .await;
    let rules: Vec<(String, Vec<String>)> = listed
        .into_iter()
        .map(|p| (p.component, p.ingress))
        .collect();
    assert_eq!(
        rules,
        [
            ("web".to_string(), vec!["allowFrom[0] -> 3000".to_string()]),
            (
                "api".to_string(),
                vec![
                    "component web -> 8080".to_string(),
                    "namespace monitoring (metrics) -> 8080".to_string()
                ]
            ),
        ]
    );

    // Off: nothing created, nothing listed.
    op.apply(&with_policies("false")).await;
    eventually("no rules listed", || async {
        let app = apps(&op, "shop").get("shop").await.unwrap();
        let status = app.status?;
        (status.observed_generation == app.metadata.generation && status.network_policies.is_none())
            .then_some(())
    })
    .await;
    settled(&op).await;
    assert!(
        policies(&op, "shop")
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// Application billing: api provides its http port to namespace shop.
const BILLING: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Application
metadata: {name: billing, namespace: billing}
spec:
  networkPolicy: "true"
  components:
    - name: api
      image: billing/api:1.0
      replicas: 1
      ports: [{name: http, port: 80, targetPort: 8080}]
      provides:
        - {name: api, port: http, interface: http, access: {namespaces: ["^shop$"]}}
"#;

/// Application shop in `NS`: web requires billing's api.
const CONSUMER: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Application
metadata: {name: shop, namespace: NS}
spec:
  components:
    - name: web
      image: shop/web:1.4
      replicas: 1
      ports: [{name: http, port: 80, targetPort: 3000}]
      requires:
        - {name: billing, socket: {name: billing-api-api, namespace: billing}, alias: billing}
"#;

fn plugs(op: &Op, ns: &str) -> Api<Plug> {
    Api::namespaced(op.client.clone(), ns)
}

/// Waits until Plug `name` in `ns` has `Coupled` with `status`.
async fn plug_coupled(op: &Op, ns: &str, name: &str, status: &str) -> Plug {
    eventually(&format!("Plug {ns}/{name} Coupled={status}"), || async {
        let plug = plugs(op, ns).get_opt(name).await.unwrap()?;
        let coupled = condition(plug.status.as_ref()?.conditions.as_ref(), "Coupled")?;
        (coupled.status == status).then_some(plug)
    })
    .await
}

#[tokio::test]
async fn ap10_links_across_namespaces_are_couplings_with_consent() {
    let op = Op::start().await;
    for ns in ["billing", "shop", "other"] {
        namespace(&op, ns).await;
    }
    op.apply(BILLING).await;
    let sockets: Api<Socket> = Api::namespaced(op.client.clone(), "billing");
    let socket = eventually("Socket billing/billing-api-api", || async {
        sockets.get_opt("billing-api-api").await.unwrap()
    })
    .await;
    assert_eq!(
        socket
            .spec
            .common
            .config
            .as_ref()
            .map(|c| (c["host"].clone(), c["port"].clone())),
        Some((
            "api.billing.svc.cluster.local".to_string(),
            "80".to_string()
        ))
    );
    assert_eq!(
        socket
            .spec
            .validation
            .as_ref()
            .unwrap()
            .namespace_whitelist
            .as_deref(),
        Some(&["^shop$".to_string()][..])
    );
    assert_eq!(socket.labels()["integration.rock8s.com/interface"], "http");
    // Before any consumer, billing's policy admits nobody.
    policy_is(&op, "billing", "api", json!([])).await;

    op.apply(&at(CONSUMER, "shop")).await;
    plug_coupled(&op, "shop", "shop-web-billing", "True").await;
    let external = eventually("ExternalName Service shop/billing", || async {
        services(&op, "shop").get_opt("billing").await.unwrap()
    })
    .await;
    let spec = external.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("ExternalName"));
    assert_eq!(
        spec.external_name.as_deref(),
        Some("api.billing.svc.cluster.local")
    );
    let web = with_env(
        &op,
        "shop",
        "web",
        "BILLING_SERVICE_HOST=api.billing.svc.cluster.local",
        true,
    )
    .await;
    assert!(env(&web).contains(&"BILLING_SERVICE_PORT=80".to_string()));
    deployment_ready(&op, "shop", "web").await;
    let shop = app_is(&op, "shop", "Running", "AllComponentsReady").await;
    let links = shop.status.unwrap().links.unwrap();
    assert_eq!(
        (
            links[0].from.as_str(),
            links[0].to.as_str(),
            links[0].state.as_str()
        ),
        ("web", "billing/billing-api-api", "Coupled")
    );
    // The provider's policy admits the consenting namespace.
    policy_is(&op, "billing", "api", json!([from_namespace("shop", 8080)])).await;

    // The same link from a namespace the socket does not allow.
    op.apply(&at(CONSUMER, "other")).await;
    deployment_ready(&op, "other", "web").await;
    let refused = eventually("other Pending/LinkNotAllowed", || async {
        let app = apps(&op, "other").get_opt("shop").await.unwrap()?;
        let status = app.status.clone()?;
        let ready = condition(status.conditions.as_ref(), "Ready")?;
        (status.phase.as_deref() == Some("Pending") && ready.reason == "LinkNotAllowed")
            .then_some(app)
    })
    .await;
    assert_eq!(
        refused.status.as_ref().unwrap().message.as_deref(),
        Some(
            "Plug other/shop-web-billing is not allowed by Socket billing/billing-api-api: namespace other is not whitelisted"
        )
    );
    settled(&op).await;
    assert!(
        absent(&services(&op, "other"), "billing").await,
        "no ExternalName Service"
    );
    let web = deployment(&op, "other", "web").await;
    assert!(
        !env(&web).iter().any(|v| v.starts_with("BILLING_")),
        "no variables"
    );
    policy_is(&op, "billing", "api", json!([from_namespace("shop", 8080)])).await;

    // Removing the coupled link from shop removes exactly its plug, its
    // Service, its variables and the provider's rule.
    let shop_web = deployment(&op, "shop", "web").await.uid();
    let unlinked = at(CONSUMER, "shop").replace(
        "      requires:\n        - {name: billing, socket: {name: billing-api-api, namespace: billing}, alias: billing}\n",
        "",
    );
    op.apply(&unlinked).await;
    with_env(&op, "shop", "web", "BILLING_SERVICE_PORT=80", false).await;
    eventually("shop's link removed", || async {
        let plug_gone = absent(&plugs(&op, "shop"), "shop-web-billing").await;
        let service_gone = absent(&services(&op, "shop"), "billing").await;
        (plug_gone && service_gone).then_some(())
    })
    .await;
    policy_is(&op, "billing", "api", json!([])).await;
    assert_eq!(deployment(&op, "shop", "web").await.uid(), shop_web);
    assert!(!absent(&services(&op, "shop"), "web").await);
    op.apply(&at(CONSUMER, "shop")).await;
    plug_coupled(&op, "shop", "shop-web-billing", "True").await;
    policy_is(&op, "billing", "api", json!([from_namespace("shop", 8080)])).await;

    // Removing the refused link from other removes exactly its plug.
    let other_web = web.uid();
    op.apply(&at(CONSUMER, "other").replace(
        "      requires:\n        - {name: billing, socket: {name: billing-api-api, namespace: billing}, alias: billing}\n",
        "",
    ))
    .await;
    eventually("plug other/shop-web-billing pruned", || async {
        absent(&plugs(&op, "other"), "shop-web-billing")
            .await
            .then_some(())
    })
    .await;
    assert_eq!(deployment(&op, "other", "web").await.uid(), other_web);
    assert!(!absent(&services(&op, "other"), "web").await);

    // The provider goes: the link is pending again, its Service and
    // variables gone; the plug stays.
    apps(&op, "billing")
        .delete("billing", &DeleteParams::default())
        .await
        .unwrap();
    plug_coupled(&op, "shop", "shop-web-billing", "False").await;
    with_env(
        &op,
        "shop",
        "web",
        "BILLING_SERVICE_HOST=api.billing.svc.cluster.local",
        false,
    )
    .await;
    eventually("ExternalName Service shop/billing removed", || async {
        absent(&services(&op, "shop"), "billing")
            .await
            .then_some(())
    })
    .await;
    deployment_ready(&op, "shop", "web").await;
    let pending = app_is(&op, "shop", "Pending", "LinkPending").await;
    let links = pending.status.unwrap().links.unwrap();
    assert_eq!(links[0].state, "Pending");
    assert!(
        !absent(&services(&op, "shop"), "web").await,
        "web's own Service stays"
    );
}

/// A YAML manifest as JSON.
fn serde_yaml_value(text: &str) -> Value {
    crate::harness::yaml_docs(text).remove(0)
}

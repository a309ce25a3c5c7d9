//! NetworkPolicies from declared flows (docs/application.md, "Network
//! policies"): with `networkPolicy: "true"` each component gets one
//! ingress-only policy admitting exactly its `connectsTo` clients, the
//! scrape namespace on its metrics port, the namespaces coupled to what it
//! `provides`, and its `allowFrom` sources; no egress rules. `"audit"`
//! computes the same rules and only reports them.

use std::collections::BTreeMap;

use integration_api::{ComponentPort, PolicyState};
use serde_json::{Value, json};

use super::children::{Part, Place, labels, selector, target_port};

/// The label every namespace carries with its own name.
const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// One ingress rule, and how the status says it.
struct Rule {
    from: Value,
    port: Option<i32>,
    says: String,
}

/// The policy of `target` (`None` unless policies are on) and its rules
/// for the status (`None` when policies are off). `parts` are the
/// application's components (the clients), `consumers` the namespaces
/// coupled to each of its `provides` entries, by entry name.
pub fn policy(
    place: &Place<'_>,
    target: &Part<'_>,
    parts: &BTreeMap<&str, Part<'_>>,
    consumers: &BTreeMap<String, Vec<String>>,
) -> (Option<Value>, Option<PolicyState>) {
    use super::children::PolicyMode;
    if place.network_policy == PolicyMode::Off {
        return (None, None);
    }
    let rules = rules(place, target, parts, consumers);
    let state = PolicyState {
        component: target.name.to_string(),
        ingress: rules.iter().map(|r| r.says.clone()).collect(),
    };
    if place.network_policy == PolicyMode::Audit {
        return (None, Some(state));
    }
    let ingress: Vec<Value> = rules
        .into_iter()
        .map(|rule| {
            let mut out = json!({"from": [rule.from]});
            if let Some(port) = rule.port {
                out["ports"] = json!([{"protocol": "TCP", "port": port}]);
            }
            out
        })
        .collect();
    let object = json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": target.name, "namespace": place.namespace, "labels": labels(place, target)},
        "spec": {
            "podSelector": {"matchLabels": selector(place, target)},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    });
    (Some(object), Some(state))
}

/// The rules, in a stable order: clients by name, the scrape namespace,
/// consumers by entry and namespace, then `allowFrom` in spec order.
fn rules(
    place: &Place<'_>,
    target: &Part<'_>,
    parts: &BTreeMap<&str, Part<'_>>,
    consumers: &BTreeMap<String, Vec<String>>,
) -> Vec<Rule> {
    let port_named = |name: &str| target.ports().iter().find(|p| p.name == name);
    let mut rules = Vec::new();
    for client in parts.values() {
        let mut ports: Vec<&ComponentPort> = client
            .workload
            .connects_to
            .iter()
            .flatten()
            .filter(|c| c.component == target.name)
            .filter_map(|c| port_named(&c.port))
            .collect();
        ports.sort_by_key(|p| target_port(p));
        ports.dedup_by_key(|p| target_port(p));
        for port in ports {
            rules.push(Rule {
                from: json!({"podSelector": {"matchLabels": selector(place, client)}}),
                port: Some(target_port(port)),
                says: format!("component {} -> {}", client.name, target_port(port)),
            });
        }
    }
    if let (Some(namespace), Some(metrics)) = (place.scrape_namespace, &target.workload.metrics)
        && let Some(port) = port_named(&metrics.port)
    {
        rules.push(namespace_rule(namespace, target_port(port), "metrics"));
    }
    for provide in target.workload.provides.iter().flatten() {
        let Some(port) = port_named(&provide.port) else {
            continue;
        };
        for namespace in consumers.get(&provide.name).into_iter().flatten() {
            let why = format!("provides {}", provide.name);
            rules.push(namespace_rule(namespace, target_port(port), &why));
        }
    }
    for (i, allow) in target.workload.allow_from.iter().flatten().enumerate() {
        let mut from = serde_json::Map::new();
        if let Some(namespaces) = &allow.namespace_selector {
            from.insert("namespaceSelector".into(), json!(namespaces));
        }
        if let Some(pods) = &allow.pod_selector {
            from.insert("podSelector".into(), json!(pods));
        }
        if from.is_empty() {
            from.insert("podSelector".into(), json!({}));
        }
        let port = allow.port.as_deref().and_then(port_named).map(target_port);
        let to = port.map_or_else(|| "every port".to_string(), |p| p.to_string());
        rules.push(Rule {
            from: Value::Object(from),
            port,
            says: format!("allowFrom[{i}] -> {to}"),
        });
    }
    rules
}

/// A rule admitting every pod of `namespace` on `port`.
fn namespace_rule(namespace: &str, port: i32, why: &str) -> Rule {
    Rule {
        from: json!({"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: namespace}}}),
        port: Some(port),
        says: format!("namespace {namespace} ({why}) -> {port}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::children::PolicyMode;
    use super::*;
    use integration_api::{ApplicationSpec, InlineComponent};

    fn spec() -> ApplicationSpec {
        serde_json::from_value(json!({"networkPolicy": "true", "components": [
            {"name": "web", "image": "x", "ports": [{"name": "http", "port": 80, "targetPort": 3000}],
             "connectsTo": [{"component": "api", "port": "http"}],
             "allowFrom": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "ingress-nginx"}}, "port": "http"}]},
            {"name": "api", "image": "x", "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
             "metrics": {"port": "http"},
             "provides": [{"name": "api", "port": "http"}]}]}))
        .unwrap()
    }

    fn place(mode: PolicyMode) -> Place<'static> {
        Place {
            namespace: "shop",
            application: "shop",
            cluster_domain: "cluster.local",
            monitoring: false,
            network_policy: mode,
            scrape_namespace: Some("monitoring"),
        }
    }

    fn parts(components: &[InlineComponent]) -> BTreeMap<&str, Part<'_>> {
        super::super::parts(components.iter())
    }

    #[test]
    fn each_component_admits_exactly_its_declared_flows() {
        let spec = spec();
        let components = spec.components.unwrap();
        let parts = parts(&components);
        let consumers = BTreeMap::from([("api".to_string(), vec!["billing".to_string()])]);
        let (api, state) = policy(&place(PolicyMode::On), &parts["api"], &parts, &consumers);
        let api = api.unwrap();
        assert_eq!(api["spec"]["policyTypes"], json!(["Ingress"]));
        assert!(api["spec"].get("egress").is_none());
        assert_eq!(
            api["spec"]["ingress"],
            json!([
                {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "shop", "app.kubernetes.io/name": "web"}}}],
                 "ports": [{"protocol": "TCP", "port": 8080}]},
                {"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "monitoring"}}}],
                 "ports": [{"protocol": "TCP", "port": 8080}]},
                {"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "billing"}}}],
                 "ports": [{"protocol": "TCP", "port": 8080}]},
            ])
        );
        assert_eq!(
            state.unwrap().ingress,
            [
                "component web -> 8080",
                "namespace monitoring (metrics) -> 8080",
                "namespace billing (provides api) -> 8080"
            ]
        );
        let (web, _) = policy(&place(PolicyMode::On), &parts["web"], &parts, &consumers);
        assert_eq!(
            web.unwrap()["spec"]["ingress"],
            json!([{"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "ingress-nginx"}}}],
                    "ports": [{"protocol": "TCP", "port": 3000}]}])
        );
    }

    #[test]
    fn audit_reports_and_creates_nothing_and_off_does_neither() {
        let spec = spec();
        let components = spec.components.unwrap();
        let parts = parts(&components);
        let none = BTreeMap::new();
        let (object, state) = policy(&place(PolicyMode::Audit), &parts["api"], &parts, &none);
        assert!(object.is_none());
        assert_eq!(
            state.unwrap().ingress,
            [
                "component web -> 8080",
                "namespace monitoring (metrics) -> 8080"
            ]
        );
        assert_eq!(
            policy(&place(PolicyMode::Off), &parts["api"], &parts, &none),
            (None, None)
        );
    }
}

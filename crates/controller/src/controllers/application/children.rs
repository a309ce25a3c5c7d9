//! The children of one component, as manifests: its Deployment or
//! StatefulSet, its Service (when it has ports) and its ServiceMonitor
//! (when it exports metrics and the cluster serves the monitoring API).

use std::collections::BTreeMap;

use integration_api::{ComponentPort, Workload};
use serde_json::{Map, Value, json};

/// `app.kubernetes.io/part-of`: the application.
pub const PART_OF: &str = "app.kubernetes.io/part-of";
/// `app.kubernetes.io/name`: the component.
pub const NAME: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/managed-by`: who applies it.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// On a workload whose `spec.replicas` the component sets: when the
/// component stops setting it, the field is handed over (kept at its live
/// value) rather than dropped, which would scale the workload to 1.
pub const REPLICAS_SET: &str = "integration.rock8s.com/replicas-set";

/// `apiVersion` of ServiceMonitors.
pub const MONITORING_API: &str = "monitoring.coreos.com/v1";

/// Where a component lives and what the cluster offers it.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    /// The namespace.
    pub namespace: &'a str,
    /// The application.
    pub application: &'a str,
    /// The cluster domain (`cluster.local`).
    pub cluster_domain: &'a str,
    /// Whether ServiceMonitors are served.
    pub monitoring: bool,
    /// The application's `networkPolicy`.
    pub network_policy: PolicyMode,
    /// The namespace Prometheus scrapes from (an operator flag), admitted
    /// on metrics ports when policies are on.
    pub scrape_namespace: Option<&'a str>,
}

/// What `networkPolicy` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyMode {
    /// "false" (the default): no policies.
    Off,
    /// "audit": compute them and list them in the status, create none.
    Audit,
    /// "true": one ingress policy per component.
    On,
}

impl PolicyMode {
    /// The mode a `networkPolicy` value asks for (an invalid one is
    /// refused by the spec check first).
    pub fn of(value: Option<&str>) -> PolicyMode {
        match value {
            Some("true") => PolicyMode::On,
            Some("audit") => PolicyMode::Audit,
            _ => PolicyMode::Off,
        }
    }
}

/// A component: its name and what it runs.
#[derive(Clone, Copy, Debug)]
pub struct Part<'a> {
    /// The component's name.
    pub name: &'a str,
    /// What it runs.
    pub workload: &'a Workload,
}

impl Part<'_> {
    /// Deployment or StatefulSet.
    pub fn kind(&self) -> &str {
        self.workload.kind.as_deref().unwrap_or("Deployment")
    }

    /// Its ports.
    pub fn ports(&self) -> &[ComponentPort] {
        self.workload.ports.as_deref().unwrap_or_default()
    }
}

/// The labels that select a component's pods (a workload's selector is
/// immutable, so only these two, which never change).
pub fn selector(place: &Place<'_>, part: &Part<'_>) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PART_OF.to_string(), place.application.to_string()),
        (NAME.to_string(), part.name.to_string()),
    ])
}

/// The labels of every child: the selector's, and managed-by.
pub fn labels(place: &Place<'_>, part: &Part<'_>) -> BTreeMap<String, String> {
    let mut labels = selector(place, part);
    labels.insert(MANAGED_BY.into(), integration_api::FIELD_MANAGER.into());
    labels
}

/// The children of `part`; `env` are the connection variables of its
/// `connectsTo`, already sorted.
pub fn children(place: &Place<'_>, part: &Part<'_>, env: &[(String, String)]) -> Vec<Value> {
    let mut out = vec![workload(place, part, env)];
    if !part.ports().is_empty() {
        out.push(service(place, part));
    }
    if let Some(monitor) = service_monitor(place, part) {
        out.push(monitor);
    }
    out
}

/// The Deployment or StatefulSet.
fn workload(place: &Place<'_>, part: &Part<'_>, env: &[(String, String)]) -> Value {
    let w = part.workload;
    let mut spec = Map::new();
    if let Some(replicas) = w.replicas {
        spec.insert("replicas".into(), json!(replicas));
    }
    spec.insert(
        "selector".into(),
        json!({"matchLabels": selector(place, part)}),
    );
    spec.insert("template".into(), pod_template(place, part, env));
    if part.kind() == "StatefulSet" {
        spec.insert("serviceName".into(), json!(part.name));
        if let Some(claims) = &w.volume_claim_templates {
            spec.insert("volumeClaimTemplates".into(), json!(claims));
        }
    } else if let Some(deadline) = w.progress_deadline_seconds {
        spec.insert("progressDeadlineSeconds".into(), json!(deadline));
    }
    let mut metadata =
        json!({"name": part.name, "namespace": place.namespace, "labels": labels(place, part)});
    if w.replicas.is_some() {
        metadata["annotations"] = json!({REPLICAS_SET: "true"});
    }
    json!({"apiVersion": "apps/v1", "kind": part.kind(), "metadata": metadata, "spec": spec})
}

/// The pod template: our labels over the user's, the container, volumes.
fn pod_template(place: &Place<'_>, part: &Part<'_>, env: &[(String, String)]) -> Value {
    let meta = part
        .workload
        .pod_template
        .as_ref()
        .and_then(|t| t.metadata.as_ref());
    let mut pod_labels = meta.and_then(|m| m.labels.clone()).unwrap_or_default();
    pod_labels.extend(labels(place, part));
    let mut metadata = json!({"labels": pod_labels});
    if let Some(annotations) = meta.and_then(|m| m.annotations.as_ref()) {
        metadata["annotations"] = json!(annotations);
    }
    let mut spec = json!({"containers": [container(part, env)]});
    if let Some(volumes) = &part.workload.volumes {
        spec["volumes"] = json!(volumes);
    }
    json!({"metadata": metadata, "spec": spec})
}

/// The container: the user's fields, then name, image, ports and the
/// connection variables (a variable the user sets wins).
fn container(part: &Part<'_>, env: &[(String, String)]) -> Value {
    let mut container = match &part.workload.container {
        Some(Value::Object(fields)) => fields.clone(),
        _ => Map::new(),
    };
    container.insert("name".into(), json!(part.name));
    container.insert("image".into(), json!(part.workload.image));
    if !part.ports().is_empty() {
        let ports: Vec<Value> = part
            .ports()
            .iter()
            .map(|p| json!({"name": p.name, "containerPort": target_port(p)}))
            .collect();
        container.insert("ports".into(), json!(ports));
    }
    let mut vars = match container.remove("env") {
        Some(Value::Array(vars)) => vars,
        _ => Vec::new(),
    };
    for (name, value) in env {
        if !vars.iter().any(|v| v["name"] == name.as_str()) {
            vars.push(json!({"name": name, "value": value}));
        }
    }
    if !vars.is_empty() {
        container.insert("env".into(), json!(vars));
    }
    Value::Object(container)
}

/// The container port behind a Service port.
pub fn target_port(port: &ComponentPort) -> i32 {
    port.target_port.unwrap_or(port.port)
}

/// The Service: the component's ports, selecting its pods.
fn service(place: &Place<'_>, part: &Part<'_>) -> Value {
    let ports: Vec<Value> = part
        .ports()
        .iter()
        .map(|p| json!({"name": p.name, "port": p.port, "targetPort": target_port(p)}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": part.name, "namespace": place.namespace, "labels": labels(place, part)},
        "spec": {"selector": selector(place, part), "ports": ports},
    })
}

/// The ServiceMonitor, when metrics are asked for and served.
fn service_monitor(place: &Place<'_>, part: &Part<'_>) -> Option<Value> {
    let metrics = part
        .workload
        .metrics
        .as_ref()
        .filter(|_| place.monitoring)?;
    let mut monitor_labels = metrics.labels.clone().unwrap_or_default();
    monitor_labels.extend(labels(place, part));
    let mut endpoint =
        json!({"port": metrics.port, "path": metrics.path.as_deref().unwrap_or("/metrics")});
    if let Some(interval) = &metrics.interval {
        endpoint["interval"] = json!(interval);
    }
    Some(json!({
        "apiVersion": MONITORING_API, "kind": "ServiceMonitor",
        "metadata": {"name": part.name, "namespace": place.namespace, "labels": monitor_labels},
        "spec": {"selector": {"matchLabels": selector(place, part)}, "endpoints": [endpoint]},
    }))
}

/// The variables `connectsTo` gives a component for `target`:
/// `<TARGET>_SERVICE_HOST`, `<TARGET>_SERVICE_PORT` (the named port's
/// Service port) and `<TARGET>_SERVICE_PORT_<NAME>` per port of the target.
pub fn connection_env(
    place: &Place<'_>,
    target: &Part<'_>,
    port: &ComponentPort,
) -> Vec<(String, String)> {
    let prefix = env_name(target.name);
    let mut vars = vec![
        (
            format!("{prefix}_SERVICE_HOST"),
            service_host(place, target.name),
        ),
        (format!("{prefix}_SERVICE_PORT"), port.port.to_string()),
    ];
    vars.extend(target.ports().iter().map(|p| {
        (
            format!("{prefix}_SERVICE_PORT_{}", env_name(&p.name)),
            p.port.to_string(),
        )
    }));
    vars
}

/// The DNS name of the Service of component `name`.
pub fn service_host(place: &Place<'_>, name: &str) -> String {
    format!("{name}.{}.svc.{}", place.namespace, place.cluster_domain)
}

/// A name as an environment variable prefix: upper case, `-` → `_`.
pub fn env_name(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn place(monitoring: bool) -> Place<'static> {
        Place {
            namespace: "shop",
            application: "shop",
            cluster_domain: "cluster.local",
            monitoring,
            network_policy: PolicyMode::Off,
            scrape_namespace: None,
        }
    }

    fn workload(v: Value) -> Workload {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_deployment_with_replicas_only_when_set_and_its_service() {
        let w = workload(json!({"image": "shop/web:1.4", "replicas": 2,
            "ports": [{"name": "http", "port": 80, "targetPort": 3000}],
            "container": {"env": [{"name": "A", "value": "1"}], "name": "ignored"},
            "podTemplate": {"metadata": {"labels": {"team": "a", "app.kubernetes.io/name": "x"}}}}));
        let part = Part {
            name: "web",
            workload: &w,
        };
        let env = [("API_SERVICE_HOST".to_string(), "h".to_string())];
        let out = children(&place(true), &part, &env);
        assert_eq!(out.len(), 2, "no metrics: no ServiceMonitor");
        let d = &out[0];
        assert_eq!(d["kind"], "Deployment");
        assert_eq!(d["spec"]["replicas"], 2);
        assert_eq!(
            d["spec"]["selector"]["matchLabels"],
            json!({PART_OF: "shop", NAME: "web"})
        );
        let labels = &d["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["team"], "a");
        assert_eq!(labels[NAME], "web", "ours win");
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            (c["name"].as_str(), c["image"].as_str()),
            (Some("web"), Some("shop/web:1.4"))
        );
        assert_eq!(c["ports"], json!([{"name": "http", "containerPort": 3000}]));
        assert_eq!(
            c["env"],
            json!([{"name": "A", "value": "1"}, {"name": "API_SERVICE_HOST", "value": "h"}])
        );
        assert_eq!(
            out[1]["spec"]["ports"],
            json!([{"name": "http", "port": 80, "targetPort": 3000}])
        );

        let unset = workload(json!({"image": "x"}));
        let out = children(
            &place(true),
            &Part {
                name: "w",
                workload: &unset,
            },
            &[],
        );
        assert_eq!(out.len(), 1, "no ports: no Service");
        assert!(out[0]["spec"].get("replicas").is_none());
    }

    #[test]
    fn a_stateful_set_with_claims_and_a_service_monitor_when_served() {
        let w = workload(json!({"image": "shop/api:2.0", "kind": "StatefulSet",
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            "metrics": {"port": "http", "interval": "30s", "labels": {"release": "kps"}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}]}));
        let part = Part {
            name: "api",
            workload: &w,
        };
        let out = children(&place(true), &part, &[]);
        let s = &out[0];
        assert_eq!(
            (s["kind"].as_str(), s["spec"]["serviceName"].as_str()),
            (Some("StatefulSet"), Some("api"))
        );
        assert_eq!(
            s["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
            "data"
        );
        let m = &out[2];
        assert_eq!(m["apiVersion"], MONITORING_API);
        assert_eq!(m["metadata"]["labels"]["release"], "kps");
        assert_eq!(
            m["spec"]["endpoints"],
            json!([{"port": "http", "path": "/metrics", "interval": "30s"}])
        );
        assert_eq!(
            children(&place(false), &part, &[]).len(),
            2,
            "not served: none"
        );
    }

    #[test]
    fn connection_variables_use_the_service_port() {
        let w = workload(json!({"image": "x",
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "grpc-api", "port": 9090}]}));
        let target = Part {
            name: "my-api",
            workload: &w,
        };
        let env = connection_env(&place(false), &target, &w.ports.as_ref().unwrap()[0]);
        assert_eq!(
            env,
            [
                (
                    "MY_API_SERVICE_HOST".into(),
                    "my-api.shop.svc.cluster.local".into()
                ),
                ("MY_API_SERVICE_PORT".into(), "80".into()),
                ("MY_API_SERVICE_PORT_HTTP".into(), "80".into()),
                ("MY_API_SERVICE_PORT_GRPC_API".into(), "9090".into()),
            ]
        );
    }
}

//! Whether a Prometheus (prometheus-operator's `Prometheus` objects) picks
//! a ServiceMonitor: by its `serviceMonitorSelector` and, for the
//! namespace, its `serviceMonitorNamespaceSelector` (unset: only the
//! Prometheus's own namespace; `{}`: every namespace; a selector on
//! namespace labels, which a pass does not read, counts as a match).

use std::collections::BTreeMap;

use kube::api::DynamicObject;
use serde_json::Value;

/// Why no Prometheus picks `monitor`, naming the labels each one wants;
/// `None` when one does.
pub fn unselected(monitor: &Value, prometheuses: &[&DynamicObject]) -> Option<String> {
    let labels: BTreeMap<String, String> =
        serde_json::from_value(monitor["metadata"]["labels"].clone()).unwrap_or_default();
    let namespace = monitor["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let mut wants = Vec::new();
    for prometheus in prometheuses {
        let spec = &prometheus.data["spec"];
        if !namespace_matches(
            prometheus,
            &spec["serviceMonitorNamespaceSelector"],
            namespace,
        ) {
            continue;
        }
        let selector = &spec["serviceMonitorSelector"];
        if selector.is_null() {
            // prometheus-operator selects no ServiceMonitor without one.
            continue;
        }
        match missing(selector, &labels) {
            None => return None,
            Some(want) => wants.push(format!(
                "Prometheus {}/{} selects {want}",
                prometheus.metadata.namespace.as_deref().unwrap_or_default(),
                prometheus.metadata.name.as_deref().unwrap_or_default()
            )),
        }
    }
    let name = monitor["metadata"]["name"].as_str().unwrap_or_default();
    let why = if wants.is_empty() {
        "no Prometheus watches its namespace".to_string()
    } else {
        format!("{}; add the labels to metrics.labels", wants.join(", "))
    };
    Some(format!(
        "ServiceMonitor {namespace}/{name} is not selected by any Prometheus: {why}"
    ))
}

/// Whether the namespace selector admits `namespace`.
fn namespace_matches(prometheus: &DynamicObject, selector: &Value, namespace: &str) -> bool {
    match selector {
        Value::Null => prometheus.metadata.namespace.as_deref() == Some(namespace),
        _ => true,
    }
}

/// The first requirement of `selector` that `labels` do not meet
/// (`release=kps`), or `None` when they all are.
fn missing(selector: &Value, labels: &BTreeMap<String, String>) -> Option<String> {
    let match_labels = selector["matchLabels"].as_object().into_iter().flatten();
    for (key, value) in match_labels {
        let value = value.as_str().unwrap_or_default();
        if labels.get(key).map(String::as_str) != Some(value) {
            return Some(format!("{key}={value}"));
        }
    }
    for expression in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = expression["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = expression["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let has = labels.get(key).map(String::as_str);
        let met = match expression["operator"].as_str().unwrap_or_default() {
            "In" => has.is_some_and(|v| values.contains(&v)),
            "NotIn" => has.is_none_or(|v| !values.contains(&v)),
            "Exists" => has.is_some(),
            "DoesNotExist" => has.is_none(),
            _ => false,
        };
        if !met {
            return Some(format!(
                "{key} {} {values:?}",
                expression["operator"].as_str().unwrap_or_default()
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn prometheus(spec: Value) -> DynamicObject {
        serde_json::from_value(
            json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "metadata": {"name": "kps", "namespace": "monitoring"}, "spec": spec}),
        )
        .unwrap()
    }

    fn monitor(labels: Value) -> Value {
        json!({"metadata": {"name": "api", "namespace": "shop", "labels": labels}})
    }

    #[test]
    fn names_the_label_a_prometheus_wants() {
        let kps = prometheus(
            json!({"serviceMonitorSelector": {"matchLabels": {"release": "kps"}},
            "serviceMonitorNamespaceSelector": {}}),
        );
        assert_eq!(
            unselected(&monitor(json!({"app": "x"})), &[&kps]).unwrap(),
            "ServiceMonitor shop/api is not selected by any Prometheus: Prometheus monitoring/kps selects release=kps; add the labels to metrics.labels"
        );
        assert_eq!(
            unselected(&monitor(json!({"release": "kps"})), &[&kps]),
            None
        );
        let expression = prometheus(json!({"serviceMonitorNamespaceSelector": {},
            "serviceMonitorSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}}));
        assert!(unselected(&monitor(json!({"team": "b"})), &[&expression]).is_some());
        assert_eq!(
            unselected(&monitor(json!({"team": "a"})), &[&expression]),
            None
        );
    }

    #[test]
    fn without_a_namespace_selector_only_its_own_namespace_counts() {
        let local = prometheus(json!({"serviceMonitorSelector": {}}));
        let message = unselected(&monitor(json!({})), &[&local]).unwrap();
        assert!(
            message.ends_with("no Prometheus watches its namespace"),
            "{message}"
        );
    }
}

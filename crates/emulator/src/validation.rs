//! Update validation of built-in workload kinds: the immutable parts of their specs, with the
//! real server's field paths and messages, because controllers (and their tests) branch on
//! exactly these 422s to decide whether to recreate an object.

use serde_json::{Map, Value};

use crate::error::Cause;
use crate::resources::ResourceType;

/// The StatefulSet spec fields an update may change (`ValidateStatefulSetUpdate`).
const STATEFULSET_MUTABLE: [&str; 7] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
    "revisionHistoryLimit",
];

const STATEFULSET_FORBIDDEN: &str = "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/// The causes of a rejected update of the main resource from `old` to `new` (none if allowed).
pub fn update(rt: &ResourceType, old: &Value, new: &Value) -> Vec<Cause> {
    if !rt.builtin || rt.group != "apps" {
        return Vec::new();
    }
    match rt.plural.as_str() {
        "statefulsets" => statefulset(old, new),
        // apps/v1 made workload selectors immutable; only the old beta versions allowed it.
        "deployments" | "replicasets" | "daemonsets" => immutable_selector(old, new),
        _ => Vec::new(),
    }
}

/// Everything in a StatefulSet's spec but the mutable fields must stay as it was.
fn statefulset(old: &Value, new: &Value) -> Vec<Cause> {
    let fixed = |obj: &Value| {
        let mut spec = semantic(obj.get("spec").unwrap_or(&Value::Null));
        if let Value::Object(m) = &mut spec {
            for f in STATEFULSET_MUTABLE {
                m.remove(f);
            }
        }
        spec
    };
    if fixed(old) == fixed(new) {
        return Vec::new();
    }
    vec![Cause::new(
        "FieldValueForbidden",
        "spec",
        STATEFULSET_FORBIDDEN,
    )]
}

/// `spec.selector` may not change (`ValidateImmutableField`).
fn immutable_selector(old: &Value, new: &Value) -> Vec<Cause> {
    let selector = |obj: &Value| semantic(obj.pointer("/spec/selector").unwrap_or(&Value::Null));
    let new_selector = selector(new);
    if selector(old) == new_selector {
        return Vec::new();
    }
    vec![Cause::new(
        "FieldValueInvalid",
        "spec.selector",
        format!(
            "Invalid value: {}: field is immutable",
            go_label_selector(&new_selector)
        ),
    )]
}

/// The value as Go's semantic equality sees it after decoding: a null is the zero value (as if
/// absent), and an empty list is a nil slice.
fn semantic(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, c)| !c.is_null() && c.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, c)| (k.clone(), semantic(c)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(semantic).collect()),
        other => other.clone(),
    }
}

/// A label selector printed the way the real server prints it in this message (Go's `%#v` of
/// `metav1.LabelSelector`), since clients match on the text.
fn go_label_selector(sel: &Value) -> String {
    let labels = match sel.get("matchLabels").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => {
            // Go prints map keys sorted; serde_json's map is sorted too.
            let pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", go_string(k), go_string(v.as_str().unwrap_or(""))))
                .collect();
            format!("map[string]string{{{}}}", pairs.join(", "))
        }
        _ => "map[string]string(nil)".to_string(),
    };
    let exprs = match sel.get("matchExpressions").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => {
            let items: Vec<String> = a.iter().map(go_requirement).collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
        _ => "[]v1.LabelSelectorRequirement(nil)".to_string(),
    };
    format!("v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{exprs}}}")
}

fn go_requirement(r: &Value) -> String {
    let s = |k: &str| go_string(r.get(k).and_then(Value::as_str).unwrap_or(""));
    let values = match r.get("values").and_then(Value::as_array) {
        Some(vs) if !vs.is_empty() => {
            let vs: Vec<String> = vs
                .iter()
                .map(|v| go_string(v.as_str().unwrap_or("")))
                .collect();
            format!("[]string{{{}}}", vs.join(", "))
        }
        _ => "[]string(nil)".to_string(),
    };
    format!(
        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{values}}}",
        s("key"),
        s("operator")
    )
}

/// A Go double-quoted string literal (JSON's escaping agrees for label keys and values).
fn go_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    #[test]
    fn statefulset_spec_is_immutable_but_for_the_listed_fields() {
        let rt = Registry::with_builtins()
            .get("apps", "v1", "statefulsets")
            .unwrap();
        let old = json!({"spec": {"serviceName": "a", "replicas": 1, "volumeClaimTemplates": []}});
        let scaled = json!({"spec": {"serviceName": "a", "replicas": 3, "minReadySeconds": 5}});
        assert!(update(&rt, &old, &scaled).is_empty());
        let renamed = json!({"spec": {"serviceName": "b", "replicas": 1}});
        let causes = update(&rt, &old, &renamed);
        assert_eq!(causes[0].field, "spec");
        assert_eq!(causes[0].reason, "FieldValueForbidden");
    }

    #[test]
    fn selector_message_matches_the_real_server() {
        let sel = json!({"matchLabels": {"b": "2", "a": "1"}});
        assert_eq!(
            go_label_selector(&sel),
            r#"v1.LabelSelector{MatchLabels:map[string]string{"a":"1", "b":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"#
        );
        let sel = json!({"matchExpressions": [{"key": "k", "operator": "In", "values": ["x"]}]});
        assert_eq!(
            go_label_selector(&sel),
            r#"v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"k", Operator:"In", Values:[]string{"x"}}}}"#
        );
    }
}

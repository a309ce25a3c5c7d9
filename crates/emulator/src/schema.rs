//! CRD structural schemas: pruning of unknown fields, defaulting, and the common validations
//! (type, required, enum, bounds, lengths, pattern, items, nullable).

use serde_json::{Map, Value};

use crate::error::Cause;

fn preserves_unknown(s: &Value) -> bool {
    s.get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn is_embedded(s: &Value) -> bool {
    s.get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true)
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Drops fields the schema does not declare; returns their paths (for strict field validation).
/// The root's `apiVersion`, `kind` and `metadata` are never pruned.
pub fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut pruned = Vec::new();
    if let Value::Object(m) = obj {
        let props = schema.get("properties").and_then(Value::as_object);
        let keys: Vec<String> = m.keys().cloned().collect();
        for k in keys {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            match props.and_then(|p| p.get(&k)) {
                Some(sub) => {
                    if let Some(v) = m.get_mut(&k) {
                        prune_rec(v, sub, &k, &mut pruned);
                    }
                }
                None if preserves_unknown(schema) => {}
                None => {
                    m.remove(&k);
                    pruned.push(k);
                }
            }
        }
    }
    pruned
}

fn prune_rec(v: &mut Value, s: &Value, path: &str, pruned: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    let embedded_meta =
                        is_embedded(s) && matches!(k.as_str(), "apiVersion" | "kind" | "metadata");
                    match props.get(&k) {
                        Some(sub) => {
                            if let Some(c) = m.get_mut(&k) {
                                prune_rec(c, sub, &join(path, &k), pruned);
                            }
                        }
                        None if preserves_unknown(s) || embedded_meta => {}
                        None => {
                            m.remove(&k);
                            pruned.push(join(path, &k));
                        }
                    }
                }
            } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, c) in m.iter_mut() {
                    prune_rec(c, ap, &join(path, k), pruned);
                }
            } else if !preserves_unknown(s)
                && !is_embedded(s)
                && s.get("type").and_then(Value::as_str) == Some("object")
            {
                // An object with neither properties nor additionalProperties holds nothing.
                for k in m.keys() {
                    pruned.push(join(path, k));
                }
                m.clear();
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for (i, it) in items.iter_mut().enumerate() {
                    prune_rec(it, is, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

fn nullable(s: &Value) -> bool {
    s.get("nullable").and_then(Value::as_bool) == Some(true)
}

/// Drops the nulls of non-nullable fields that have no default (the real server's
/// `PruneNonNullableNullsWithoutDefaults`, run before defaulting and validation), so that
/// `spec:` with no value is as if absent rather than "must be of type object".
fn prune_null(m: &mut Map<String, Value>, k: &str, s: &Value) {
    if m.get(k).is_some_and(Value::is_null) && !nullable(s) && s.get("default").is_none() {
        m.remove(k);
    }
}

/// Applies `default`s for absent fields of present objects, recursively; a non-nullable null
/// counts as absent (a null without a default is dropped, see [`prune_null`]).
pub fn apply_defaults(v: &mut Value, s: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    prune_null(m, k, sub);
                    let absent = m.get(k).is_none_or(|c| c.is_null() && !nullable(sub));
                    if absent && let Some(d) = sub.get("default") {
                        m.insert(k.clone(), d.clone());
                    }
                    if let Some(c) = m.get_mut(k)
                        && !matches!(k.as_str(), "metadata")
                    {
                        apply_defaults(c, sub);
                    }
                }
            } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    prune_null(m, &k, ap);
                    if let Some(c) = m.get_mut(&k) {
                        apply_defaults(c, ap);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for it in items {
                    apply_defaults(it, is);
                }
            }
        }
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// Validates `v` against a schema node; causes use the real server's field paths and wording.
pub fn validate(v: &Value, s: &Value, path: &str, out: &mut Vec<Cause>) {
    let invalid = |out: &mut Vec<Cause>, msg: String| {
        out.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {}: {msg}", shown(v)),
        ))
    };
    if v.is_null() {
        if s.get("nullable").and_then(Value::as_bool) != Some(true)
            && let Some(t) = s.get("type").and_then(Value::as_str)
        {
            invalid(out, format!("{path} in body must be of type {t}: \"null\""));
        }
        return;
    }
    let int_or_string = s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let got = type_name(v);
        let ok = got == t
            || (t == "number" && got == "integer")
            || (int_or_string && matches!(got, "integer" | "string"));
        if !ok {
            out.push(Cause::new(
                "FieldValueTypeInvalid",
                path,
                format!("Invalid value: \"{got}\": {path} in body must be of type {t}: \"{got}\""),
            ));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        let allowed: Vec<String> = e.iter().map(shown).collect();
        out.push(Cause::new(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                shown(v),
                allowed.join(", ")
            ),
        ));
    }
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
                let excl = s.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true);
                if x < min || (excl && x == min) {
                    invalid(
                        out,
                        format!("{path} in body should be greater than or equal to {min}"),
                    );
                }
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
                let excl = s.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true);
                if x > max || (excl && x == max) {
                    invalid(
                        out,
                        format!("{path} in body should be less than or equal to {max}"),
                    );
                }
            }
        }
        Value::String(st) => {
            let len = st.chars().count() as u64;
            if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                invalid(
                    out,
                    format!("{path} in body should be at least {min} chars long"),
                );
            }
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                out.push(Cause::new(
                    "FieldValueTooLong",
                    path,
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str)
                && let Ok(re) = regex::Regex::new(p)
                && !re.is_match(st)
            {
                invalid(out, format!("{path} in body should match '{p}'"));
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                && n < min
            {
                invalid(
                    out,
                    format!("{path} in body should have at least {min} items"),
                );
            }
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                && n > max
            {
                out.push(Cause::new(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {n}: must have at most {max} items"),
                ));
            }
            if let Some(is) = s.get("items") {
                for (i, it) in items.iter().enumerate() {
                    validate(it, is, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(m) => {
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if !m.contains_key(r) {
                        out.push(Cause::new(
                            "FieldValueRequired",
                            join(path, r),
                            "Required value",
                        ));
                    }
                }
            }
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, c) in m {
                    if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    if let Some(sub) = props.get(k) {
                        validate(c, sub, &join(path, k), out);
                    }
                }
            } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, c) in m {
                    validate(c, ap, &join(path, k), out);
                }
            }
        }
        _ => {}
    }
}

/// The structural schema of a CRD version, as stored in the registry.
pub fn version_schema(version: &Map<String, Value>) -> Option<Value> {
    version
        .get("schema")
        .and_then(|s| s.get("openAPIV3Schema"))
        .cloned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1, "default": 3},
            "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "tags": {"type": "array", "items": {"type": "string"}}
        }}}})
    }

    #[test]
    fn prune_default_validate() {
        let s = schema();
        let mut o = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"},
            "spec": {"extra": 1, "free": {"any": 1}, "tags": ["a"]}, "junk": true});
        let pruned = prune(&mut o, &s);
        assert_eq!(pruned, vec!["junk".to_string(), "spec.extra".to_string()]);
        apply_defaults(&mut o, &s);
        assert_eq!(o["spec"]["size"], 3);
        assert_eq!(o["spec"]["mode"], "a");
        assert_eq!(o["spec"]["free"]["any"], 1);
        let mut errs = Vec::new();
        validate(&o, &s, "", &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        o["spec"]["size"] = json!(0);
        o["spec"]["mode"] = json!("c");
        o["spec"]["tags"] = json!([1]);
        validate(&o, &s, "", &mut errs);
        let fields: Vec<&str> = errs.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.mode", "spec.size", "spec.tags[0]"]);
    }

    #[test]
    fn non_nullable_nulls_are_dropped_or_defaulted() {
        let s = schema();
        let mut o = json!({"spec": {"size": null, "tags": null, "free": null}});
        apply_defaults(&mut o, &s);
        assert_eq!(o["spec"], json!({"size": 3, "mode": "a"}));
        let mut errs = Vec::new();
        validate(&o, &s, "", &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        let mut o = json!({"spec": null});
        apply_defaults(&mut o, &s);
        assert_eq!(o, json!({}));
    }
}

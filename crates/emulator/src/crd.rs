//! CustomResourceDefinitions: validation, the types a CRD serves, and its status.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::Cause;
use crate::resources::{NameRule, ResourceType};
use crate::schema::version_schema;

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(c) => cur = c,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

/// The checks the real server makes that a test is likely to trip over.
pub fn validate(crd: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let group = s(crd, &["spec", "group"]);
    let plural = s(crd, &["spec", "names", "plural"]);
    let name = s(crd, &["metadata", "name"]);
    if group.is_empty() {
        out.push(Cause::new(
            "FieldValueRequired",
            "spec.group",
            "Required value",
        ));
    }
    if plural.is_empty() {
        out.push(Cause::new(
            "FieldValueRequired",
            "spec.names.plural",
            "Required value",
        ));
    }
    if s(crd, &["spec", "names", "kind"]).is_empty() {
        out.push(Cause::new(
            "FieldValueRequired",
            "spec.names.kind",
            "Required value",
        ));
    }
    if name != format!("{plural}.{group}") {
        out.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    match s(crd, &["spec", "scope"]) {
        "Namespaced" | "Cluster" => {}
        other => out.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!(
                "Unsupported value: \"{other}\": supported values: \"Cluster\", \"Namespaced\""
            ),
        )),
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        out.push(Cause::new(
            "FieldValueRequired",
            "spec.versions",
            "Required value",
        ));
    }
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !versions.is_empty() && storage != 1 {
        out.push(Cause::new(
            "FieldValueInvalid",
            "spec.versions",
            format!(
                "Invalid value: {}: must have exactly one version marked as storage version",
                storage
            ),
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if v.pointer("/schema/openAPIV3Schema").is_none() {
            out.push(Cause::new(
                "FieldValueRequired",
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "Required value: schemas are required",
            ));
        }
    }
    out
}

/// The resource types a CRD serves (one per served version).
pub fn types(crd: &Value) -> Vec<ResourceType> {
    let group = s(crd, &["spec", "group"]).to_string();
    let names = crd.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let plural = s(&names, &["plural"]).to_string();
    let kind = s(&names, &["kind"]).to_string();
    let singular = match s(&names, &["singular"]) {
        "" => kind.to_lowercase(),
        x => x.to_string(),
    };
    let list = |k: &str| crate::meta::string_list(names.get(k));
    let namespaced = s(crd, &["spec", "scope"]) == "Namespaced";
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
                .filter_map(|v| {
                    let vm = v.as_object()?;
                    Some(ResourceType {
                        group: group.clone(),
                        version: vm.get("name")?.as_str()?.to_string(),
                        kind: kind.clone(),
                        plural: plural.clone(),
                        singular: singular.clone(),
                        namespaced,
                        short_names: list("shortNames"),
                        categories: list("categories"),
                        status: v.pointer("/subresources/status").is_some(),
                        generation: true,
                        builtin: false,
                        name_rule: NameRule::Subdomain,
                        virtual_only: false,
                        schema: version_schema(vm).map(Arc::new),
                        stored_as: None,
                        printer_columns: vm
                            .get("additionalPrinterColumns")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Status the API server sets once the names are accepted: both conditions True at once.
pub fn status(crd: &Value, now: &str) -> Value {
    let mut names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    if names.get("singular").is_none() {
        let k = s(&names, &["kind"]).to_lowercase();
        names["singular"] = json!(k);
    }
    if names.get("listKind").is_none() {
        let k = format!("{}List", s(&names, &["kind"]));
        names["listKind"] = json!(k);
    }
    let storage: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "acceptedNames": names,
        "storedVersions": storage,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now}
        ]
    })
}

/// The storage resource of a CRD: (group, plural).
pub fn gr(crd: &Value) -> (String, String) {
    (
        s(crd, &["spec", "group"]).to_string(),
        s(crd, &["spec", "names", "plural"]).to_string(),
    )
}

//! Checks and completes one rendered object: it must be a whole object
//! whose identity (`apiVersion`, `kind`, `metadata.name`,
//! `metadata.namespace`) holds no `<no value>`, it lives in its owner's
//! namespace, and it carries owner labels (docs/templates.md, "Objects").
//! `<no value>` anywhere else was reported as a warning when it printed.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::owner::Owner;
use crate::template::NO_VALUE;

/// Label: kind of the Plug or Socket that rendered the object.
pub const LABEL_OWNER_KIND: &str = "integration.rock8s.com/owner-kind";
/// Label: name of the owner. Left out when the name is not a valid label
/// value (longer than 63 characters); the UID label still identifies it.
pub const LABEL_OWNER_NAME: &str = "integration.rock8s.com/owner-name";
/// Label: namespace of the owner (always the object's own namespace).
pub const LABEL_OWNER_NAMESPACE: &str = "integration.rock8s.com/owner-namespace";
/// Label: UID of the owner.
pub const LABEL_OWNER_UID: &str = "integration.rock8s.com/owner-uid";

/// Validates `object` and completes its namespace and labels.
pub(super) fn finish(
    object: Value,
    owner: &Owner<'_>,
    template: &str,
    document: usize,
) -> Result<Value> {
    let Value::Object(mut object) = object else {
        return Err(Error::NotAnObject {
            template: template.to_string(),
            document,
        });
    };
    if let Some(key) = no_value_in_identity(&object) {
        return Err(Error::NoValue {
            template: template.to_string(),
            key: key.to_string(),
        });
    }
    require(&object, template)?;
    let metadata = metadata_mut(&mut object, template)?;
    enforce_namespace(metadata, owner.namespace())?;
    add_labels(metadata, owner);
    Ok(Value::Object(object))
}

/// The first identity field whose text holds `<no value>`: there it would
/// make an object that cannot be applied, or one with the wrong name.
fn no_value_in_identity(object: &Map<String, Value>) -> Option<&'static str> {
    let metadata = object.get("metadata");
    [
        ("apiVersion", object.get("apiVersion")),
        ("kind", object.get("kind")),
        ("metadata.name", metadata.and_then(|m| m.get("name"))),
        (
            "metadata.namespace",
            metadata.and_then(|m| m.get("namespace")),
        ),
    ]
    .into_iter()
    .find(|(_, v)| {
        v.and_then(Value::as_str)
            .is_some_and(|s| s.contains(NO_VALUE))
    })
    .map(|(field, _)| field)
}

/// `apiVersion`, `kind` and `metadata.name` must be non-empty strings: the
/// edge needs them to apply or delete the object.
fn require(object: &Map<String, Value>, template: &str) -> Result<()> {
    let present = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    let name = object.get("metadata").and_then(|m| m.get("name"));
    let missing = [
        ("apiVersion", object.get("apiVersion")),
        ("kind", object.get("kind")),
        ("metadata.name", name),
    ]
    .into_iter()
    .find(|(_, v)| !present(*v));
    match missing {
        Some((field, _)) => Err(Error::IncompleteResource {
            template: template.to_string(),
            field,
        }),
        None => Ok(()),
    }
}

fn metadata_mut<'o>(
    object: &'o mut Map<String, Value>,
    template: &str,
) -> Result<&'o mut Map<String, Value>> {
    object
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Error::IncompleteResource {
            template: template.to_string(),
            field: "metadata",
        })
}

/// Empty or absent means the owner's namespace; anything else must equal
/// it. Cluster-scoped kinds get it too (the API server ignores it).
fn enforce_namespace(metadata: &mut Map<String, Value>, owner_namespace: &str) -> Result<()> {
    let namespace = match metadata.get("namespace") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if !namespace.is_empty() && namespace != owner_namespace {
        return Err(Error::ResourceNamespace {
            namespace,
            owner_namespace: owner_namespace.to_string(),
        });
    }
    metadata.insert(
        "namespace".into(),
        Value::String(owner_namespace.to_string()),
    );
    Ok(())
}

/// Sets the owner labels, overwriting any the template set: they identify
/// what the operator created and must not be spoofed by a template.
fn add_labels(metadata: &mut Map<String, Value>, owner: &Owner<'_>) {
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    let Some(labels) = labels.as_object_mut() else {
        return;
    };
    let mut set = |key: &str, value: &str| {
        if is_label_value(value) {
            labels.insert(key.to_string(), Value::String(value.to_string()));
        }
    };
    set(LABEL_OWNER_KIND, owner.side().kind());
    set(LABEL_OWNER_NAME, owner.name());
    set(LABEL_OWNER_NAMESPACE, owner.namespace());
    set(LABEL_OWNER_UID, owner.uid());
}

/// A valid, non-empty Kubernetes label value.
fn is_label_value(v: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    !v.is_empty()
        && v.len() <= 63
        && edge(v.chars().next())
        && edge(v.chars().last())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

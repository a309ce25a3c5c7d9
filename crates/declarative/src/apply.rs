//! The pure rules of applying one child: how the runtime marks what it
//! owns, recognises it again, and tells a needed write from a no-op.

use kube::api::DynamicObject;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::object::ObjectRef;

/// How the runtime marks the children it manages, set once per runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marks {
    /// The server-side apply field manager.
    pub field_manager: String,
    /// The label every marked child carries (key, value); watches select
    /// on it, so the caches hold only ours.
    pub label: (String, String),
    /// The annotation holding a hash of what was last applied: equal hash
    /// and live fields that match mean nothing to write.
    pub hash_annotation: String,
    /// An annotation that, set to `"true"` on an unmarked object, lets the
    /// runtime take it over.
    pub adopt_annotation: Option<String>,
}

impl Marks {
    /// Marks with `app.kubernetes.io/managed-by=<field_manager>` and
    /// annotations under `domain`.
    pub fn new(field_manager: &str, domain: &str) -> Self {
        Marks {
            field_manager: field_manager.to_string(),
            label: (
                "app.kubernetes.io/managed-by".to_string(),
                field_manager.to_string(),
            ),
            hash_annotation: format!("{domain}/applied-hash"),
            adopt_annotation: Some(format!("{domain}/adopt")),
        }
    }

    /// The label selector of marked children.
    pub fn selector(&self) -> String {
        format!("{}={}", self.label.0, self.label.1)
    }
}

/// The parent as a child's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// `apiVersion` of the parent kind.
    pub api_version: String,
    /// Its `kind`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
}

/// The identity of a live object (its `apiVersion` and `kind` must be set).
pub fn identity(object: &DynamicObject) -> Option<ObjectRef> {
    let types = object.types.as_ref()?;
    Some(ObjectRef::new(
        &types.api_version,
        &types.kind,
        object.metadata.namespace.as_deref(),
        object.metadata.name.as_deref()?,
    ))
}

/// `object` with the marks: the label, a controller ownerReference to
/// `owner`, and the hash of the object as it was before marking.
pub fn marked(object: &Value, marks: &Marks, owner: Option<&Owner>) -> Value {
    let hash = hash(object);
    let mut out = object.clone();
    let Some(metadata) = out
        .as_object_mut()
        .map(|o| o.entry("metadata").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    else {
        return out;
    };
    if let Some(owner) = owner {
        set(metadata, "labels", &marks.label.0, json!(marks.label.1));
        metadata.insert(
            "ownerReferences".into(),
            json!([{
                "apiVersion": owner.api_version, "kind": owner.kind,
                "name": owner.name, "uid": owner.uid,
                "controller": true, "blockOwnerDeletion": true,
            }]),
        );
    }
    set(metadata, "annotations", &marks.hash_annotation, json!(hash));
    out
}

/// Sets `metadata[map][key]`, creating the map.
fn set(metadata: &mut Map<String, Value>, map: &str, key: &str, value: Value) {
    if let Some(entries) = metadata
        .entry(map)
        .or_insert_with(|| json!({}))
        .as_object_mut()
    {
        entries.insert(key.to_string(), value);
    }
}

/// A stable hash of a manifest (hex, shortened): the same across
/// restarts and versions of the operator.
fn hash(object: &Value) -> String {
    let digest = Sha256::digest(object.to_string().as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `live` is the parent's to write: marked with an ownerReference
/// to `owner_uid`, the object with `owned_uid`, or unmarked but annotated
/// for adoption.
pub fn is_ours(
    live: &DynamicObject,
    marks: &Marks,
    owner_uid: &str,
    owned_uid: Option<&str>,
) -> bool {
    let meta = &live.metadata;
    let owned = meta
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.uid == owner_uid);
    let recorded = owned_uid.is_some_and(|uid| meta.uid.as_deref() == Some(uid));
    let adopted = marks.adopt_annotation.as_ref().is_some_and(|key| {
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .is_some_and(|v| v == "true")
    });
    owned || recorded || adopted
}

/// What writing `desired` (marked) over `live` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Nothing: `live` already is as desired.
    None,
    /// An apply; `drift` names a field of ours someone changed.
    Apply {
        /// The first differing field, when the desired object itself did
        /// not change since the last apply.
        drift: Option<String>,
    },
}

/// Whether `desired` must be applied over `live`: when the object is
/// missing, when what we apply changed (the hash), or when a field we set
/// differs (drift). Fields we do not set (another manager's, defaults)
/// never count.
pub fn write_needed(live: Option<&DynamicObject>, desired: &Value, marks: &Marks) -> Write {
    let Some(live) = live else {
        return Write::Apply { drift: None };
    };
    let Ok(live) = serde_json::to_value(live) else {
        return Write::Apply { drift: None };
    };
    let key = &marks.hash_annotation;
    let hash = |o: &Value| o["metadata"]["annotations"][key].clone();
    if hash(&live) != hash(desired) {
        return Write::Apply { drift: None };
    }
    match first_difference(&live, desired, &mut Vec::new()) {
        Some(field) => Write::Apply { drift: Some(field) },
        None => Write::None,
    }
}

/// The path (`spec.replicas`, `spec.ports[0].port`) of the first field of
/// `desired` that `live` lacks or holds another value in.
fn first_difference(live: &Value, desired: &Value, path: &mut Vec<String>) -> Option<String> {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => d.iter().find_map(|(key, value)| {
            path.push(key.clone());
            let found = match l.get(key) {
                Some(live_value) => first_difference(live_value, value, path),
                None if value.is_null() => None,
                None => Some(render(path)),
            };
            path.pop();
            found
        }),
        (Value::Array(l), Value::Array(d)) if l.len() == d.len() => {
            l.iter().zip(d).enumerate().find_map(|(i, (lv, dv))| {
                path.push(format!("[{i}]"));
                let found = first_difference(lv, dv, path);
                path.pop();
                found
            })
        }
        (l, d) if l == d || numbers_equal(l, d) => None,
        _ => Some(render(path)),
    }
}

/// `1` and `1.0` are the same number to the server.
fn numbers_equal(live: &Value, desired: &Value) -> bool {
    matches!((live.as_f64(), desired.as_f64()), (Some(l), Some(d)) if l == d)
}

fn render(path: &[String]) -> String {
    let mut out = String::new();
    for part in path {
        if !out.is_empty() && !part.starts_with('[') {
            out.push('.');
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn marks() -> Marks {
        Marks::new("op", "example.com")
    }

    fn owner() -> Owner {
        Owner {
            api_version: "example.com/v1".into(),
            kind: "Shop".into(),
            name: "shop".into(),
            uid: "u-shop".into(),
        }
    }

    fn deployment(replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": "a"}]}}}})
    }

    fn live(value: &Value) -> DynamicObject {
        serde_json::from_value(value.clone()).unwrap()
    }

    #[test]
    fn marking_adds_the_label_owner_and_a_hash_of_the_unmarked_object() {
        let m = marked(&deployment(2), &marks(), Some(&owner()));
        assert_eq!(
            m["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "op"
        );
        assert_eq!(m["metadata"]["ownerReferences"][0]["uid"], "u-shop");
        assert_eq!(m["metadata"]["ownerReferences"][0]["controller"], true);
        let again = marked(&deployment(2), &marks(), Some(&owner()));
        assert_eq!(m, again, "stable");
        let other = marked(&deployment(3), &marks(), Some(&owner()));
        assert_ne!(
            m["metadata"]["annotations"]["example.com/applied-hash"],
            other["metadata"]["annotations"]["example.com/applied-hash"]
        );
        let unmarked = marked(&deployment(2), &marks(), None);
        assert!(unmarked["metadata"].get("ownerReferences").is_none());
        assert!(unmarked["metadata"].get("labels").is_none());
    }

    #[test]
    fn only_marked_recorded_or_adopted_objects_are_ours() {
        let m = marks();
        let ours = live(&marked(&deployment(2), &m, Some(&owner())));
        assert!(is_ours(&ours, &m, "u-shop", None));
        assert!(!is_ours(&ours, &m, "u-other", None));
        let mut theirs = live(&deployment(2));
        theirs.metadata.uid = Some("u1".into());
        assert!(!is_ours(&theirs, &m, "u-shop", None));
        assert!(is_ours(&theirs, &m, "u-shop", Some("u1")), "recorded");
        assert!(!is_ours(&theirs, &m, "u-shop", Some("u2")));
        theirs.metadata.annotations = Some([("example.com/adopt".into(), "true".into())].into());
        assert!(is_ours(&theirs, &m, "u-shop", None), "adopted");
    }

    #[test]
    fn writes_only_what_changed_and_names_drift() {
        let m = marks();
        let desired = marked(&deployment(2), &m, Some(&owner()));
        assert_eq!(
            write_needed(None, &desired, &m),
            Write::Apply { drift: None }
        );
        // The server adds defaults and other managers' fields: no write.
        let mut stored = desired.clone();
        stored["spec"]["strategy"] = json!({"type": "RollingUpdate"});
        stored["metadata"]["uid"] = json!("u1");
        stored["status"] = json!({"replicas": 2});
        assert_eq!(
            write_needed(Some(&live(&stored)), &desired, &m),
            Write::None
        );
        // Someone scaled it: drift on our field.
        stored["spec"]["replicas"] = json!(5);
        assert_eq!(
            write_needed(Some(&live(&stored)), &desired, &m),
            Write::Apply {
                drift: Some("spec.replicas".into())
            }
        );
        stored["spec"]["replicas"] = json!(2);
        stored["spec"]["template"]["spec"]["containers"][0]["image"] = json!("b");
        assert_eq!(
            write_needed(Some(&live(&stored)), &desired, &m),
            Write::Apply {
                drift: Some("spec.template.spec.containers[0].image".into())
            }
        );
        // A new desired object (say a field dropped): applied, not drift.
        let fewer = marked(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}}),
            &m,
            Some(&owner()),
        );
        assert_eq!(
            write_needed(Some(&live(&stored)), &fewer, &m),
            Write::Apply { drift: None }
        );
    }
}

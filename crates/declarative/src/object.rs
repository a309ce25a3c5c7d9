//! Which object a call is about: the identity every error message names.

use std::fmt;

use serde_json::Value;

use crate::error::{Error, Result};

/// `apiVersion`, `kind`, namespace and name of one object. Its `Display`
/// form (`ConfigMap app/orders-db-connection`) is how users see the object
/// in conditions and Events.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// `v1`, `batch/v1`, …
    pub api_version: String,
    /// `ConfigMap`, `Job`, …
    pub kind: String,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// A reference from its parts.
    pub fn new(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        namespace: Option<&str>,
        name: impl Into<String>,
    ) -> Self {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.filter(|ns| !ns.is_empty()).map(String::from),
            name: name.into(),
        }
    }

    /// The identity of a manifest. `apiVersion`, `kind` and `metadata.name`
    /// are required: without them there is nothing to call.
    pub fn of(object: &Value) -> Result<Self> {
        fn field<'v>(value: &'v Value, name: &'static str) -> Result<&'v str> {
            value
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or(Error::Incomplete { field: name })
        }
        let meta = &object["metadata"];
        Ok(ObjectRef::new(
            field(&object["apiVersion"], "apiVersion")?,
            field(&object["kind"], "kind")?,
            meta["namespace"].as_str(),
            field(&meta["name"], "metadata.name")?,
        ))
    }

    /// Typed objects (`ConfigMap`, `Secret`) from their namespace and name.
    pub fn typed<K>(namespace: &str, name: &str) -> Self
    where
        K: kube::Resource<DynamicType = ()>,
    {
        ObjectRef::new(K::api_version(&()), K::kind(&()), Some(namespace), name)
    }

    /// The namespace, or `""` when cluster-scoped.
    pub fn namespace_or_empty(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn displays_kind_namespace_and_name() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "orders-db-connection", "namespace": "app"}});
        let r = ObjectRef::of(&cm).unwrap();
        assert_eq!(r.to_string(), "ConfigMap app/orders-db-connection");
        let cr = ObjectRef::new("rbac.authorization.k8s.io/v1", "ClusterRole", None, "x");
        assert_eq!(cr.to_string(), "ClusterRole x");
    }

    #[test]
    fn names_the_missing_field() {
        let err = ObjectRef::of(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).unwrap_err();
        assert_eq!(err.to_string(), "rendered object has no metadata.name");
    }
}

//! What the Kubernetes edge fetched for one coupling. The engine never does
//! I/O: the edge reads the objects listed by a [`FetchPlan`](crate::FetchPlan),
//! puts them here, and the engine computes from them.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::Value;

use crate::side::Pair;

/// Namespace and name of a ConfigMap or Secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// A key from its parts.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The object a var reads, after its templates were rendered and its
/// namespace checked. The edge GETs it with the owner's service account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarTarget {
    /// `v1`, `apps/v1`, …
    pub api_version: String,
    /// `Service`, `ConfigMap`, …
    pub kind: String,
    /// Always the owner's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}

impl fmt::Display for VarTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}/{}",
            self.api_version, self.kind, self.namespace, self.name
        )
    }
}

/// The objects the edge fetched. An object that does not exist is simply
/// absent; the engine reports it when a resolution needs it.
///
/// Secret values are held as UTF-8 strings, already base64-decoded (invalid
/// UTF-8 is replaced, as the original's `string(bytes)` would garble it too).
/// `Debug` never prints Secret values.
#[derive(Clone, Default)]
pub struct Sources {
    /// `data` of ConfigMaps (`binaryData` is not read, as in the original).
    pub config_maps: BTreeMap<ObjectKey, BTreeMap<String, String>>,
    /// Decoded `data` of Secrets.
    pub secrets: BTreeMap<ObjectKey, BTreeMap<String, String>>,
    /// Var targets as JSON, as the API server returned them.
    pub objects: BTreeMap<VarTarget, Value>,
    /// Body of each side's apparatus `POST /config` response, for sides with
    /// an apparatus.
    pub apparatus_config: Pair<Option<Value>>,
}

impl Sources {
    /// Adds a ConfigMap's `data`.
    pub fn add_config_map(&mut self, cm: &ConfigMap) {
        let key = key_of(&cm.metadata);
        self.config_maps
            .insert(key, cm.data.clone().unwrap_or_default());
    }

    /// Adds a Secret: `data` decoded to strings, then `stringData` on top
    /// (as the API server merges them on write).
    pub fn add_secret(&mut self, secret: &Secret) {
        let mut values: BTreeMap<String, String> = secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
            .collect();
        values.extend(secret.string_data.clone().unwrap_or_default());
        self.secrets.insert(key_of(&secret.metadata), values);
    }

    /// Adds a var target object.
    pub fn add_object(&mut self, target: VarTarget, object: Value) {
        self.objects.insert(target, object);
    }

    /// The data of a ConfigMap, if it was fetched.
    pub fn config_map(&self, key: &ObjectKey) -> Option<&BTreeMap<String, String>> {
        self.config_maps.get(key)
    }

    /// The decoded data of a Secret, if it was fetched.
    pub fn secret(&self, key: &ObjectKey) -> Option<&BTreeMap<String, String>> {
        self.secrets.get(key)
    }
}

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> ObjectKey {
    ObjectKey::new(
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret_keys: BTreeMap<&ObjectKey, Vec<&String>> = self
            .secrets
            .iter()
            .map(|(k, v)| (k, v.keys().collect()))
            .collect();
        f.debug_struct("Sources")
            .field("config_maps", &self.config_maps)
            .field("secrets (keys only)", &secret_keys)
            .field("objects", &self.objects.keys().collect::<Vec<_>>())
            .field(
                "apparatus_config",
                &Pair {
                    plug: self.apparatus_config.plug.is_some(),
                    socket: self.apparatus_config.socket.is_some(),
                },
            )
            .finish()
    }
}

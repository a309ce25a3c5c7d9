//! The Socket kind: the provider side of an integration
//! (docs/lifecycle.md).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{CommonSpec, CoupledRef};

/// Desired state of a Socket: the interface plugs must satisfy, who may
/// couple, and this side's data, config, result, resources and apparatus.
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "integration.rock8s.com",
    version = "v1beta1",
    kind = "Socket",
    plural = "sockets",
    singular = "socket",
    namespaced,
    status = "SocketStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "Provider side of an integration. A socket defines the interface, accepts plugs, exchanges validated config and results with each, and applies templated resources on lifecycle events.",
    printcolumn = r#"{"name":"PLUGS","type":"string","jsonPath":".status.conditions[?(@.type==\"Coupled\")].message","description":"How many plugs are coupled."}"#,
    printcolumn = r#"{"name":"COUPLED","type":"string","jsonPath":".status.conditions[?(@.type==\"Coupled\")].status","description":"Whether at least one plug is coupled."}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct SocketSpec {
    /// Keys each side must or may provide in config and result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<Interface>,
    /// Maximum number of coupled plugs; further plugs wait. Zero or unset
    /// means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// Which plug namespaces may couple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    /// Fields shared with Plug.
    #[serde(flatten)]
    pub common: CommonSpec,
}

/// Keys, keyed by name, that a side provides. Keys not listed are dropped.
pub type SchemaProperties = BTreeMap<String, SchemaProperty>;

/// The contract between a socket and its plugs: which config and result keys
/// each side provides.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// Config keys of each side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<InterfaceSides>,
    /// Result keys of each side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<InterfaceSides>,
}

/// Keys of the plug side and of the socket side.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceSides {
    /// Keys the plug provides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plug: Option<SchemaProperties>,
    /// Keys the socket provides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<SchemaProperties>,
}

/// One string key of an interface.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SchemaProperty {
    /// Value used when the key is missing or empty. Cannot be empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// What the key means, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Coupling fails while the key is missing or empty. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The value is sensitive: it is passed by reference through a Secret and
    /// never appears in status, events or logs. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<bool>,
}

impl SchemaProperty {
    /// Whether the key is required.
    pub fn is_required(&self) -> bool {
        self.required.unwrap_or(false)
    }

    /// Whether the value is secret.
    pub fn is_secret(&self) -> bool {
        self.secret.unwrap_or(false)
    }

    /// The default, if set and non-empty.
    pub fn default_value(&self) -> Option<&str> {
        self.default.as_deref().filter(|d| !d.is_empty())
    }
}

/// Rules on the namespaces of plugs that may couple. All given rules must
/// pass.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    /// Regular expressions; when present, at least one must match the plug's
    /// namespace. They are searched, not anchored ("dev" matches
    /// "my-dev-ns"); write "^app$" for an exact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_whitelist: Option<Vec<String>>,
    /// Regular expressions; a plug whose namespace matches any is refused.
    /// Searched like namespaceWhitelist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_blacklist: Option<Vec<String>>,
    /// Labels the plug's namespace must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
}

/// Observed state of a Socket.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SocketStatus {
    /// Current state: type Coupled (reasons SocketCreated, SocketCoupled,
    /// SocketEmpty, Error; the message counts the plugs) and type Failed with
    /// the last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Plugs currently coupled, sorted by namespace, then name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupled_plugs: Option<Vec<CoupledRef>>,
    /// The admission ledger of a socket with a `limit`: the plugs holding a
    /// slot and those waiting for one. Plug passes change it with the
    /// socket's resourceVersion as a precondition, so concurrent passes and
    /// operator replicas never hand out more slots than the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<Admission>,
}

/// Who holds a slot of a socket with a `limit`, and who waits for one
/// (docs/lifecycle.md, "Socket limit").
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Admission {
    /// Plugs holding a slot: a plug couples only once it is listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admitted: Vec<AdmissionEntry>,
    /// Plugs waiting for a slot, oldest first (creation time, then
    /// namespace and name); a freed slot goes to the first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<AdmissionEntry>,
}

/// One plug in an admission ledger.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionEntry {
    /// Namespace of the plug.
    pub namespace: String,
    /// Name of the plug.
    pub name: String,
    /// UID of the plug.
    pub uid: String,
    /// Creation time of the plug (RFC 3339), which orders the waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl Socket {
    /// The effective limit: `None` when unset or not positive.
    pub fn plug_limit(&self) -> Option<u32> {
        self.spec
            .limit
            .filter(|l| *l > 0)
            .and_then(|l| u32::try_from(l).ok())
    }
}

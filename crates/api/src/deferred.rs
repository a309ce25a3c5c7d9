//! The DeferredResource kind: create one object after a delay and once
//! other objects exist (spec §1.5, §6).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::{DEFAULT_SERVICE_ACCOUNT, effective_api_version};
use crate::schema::free_form;

/// Desired state of a DeferredResource: what to create, and what to wait for
/// first.
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "integration.rock8s.com",
    version = "v1beta1",
    kind = "DeferredResource",
    plural = "deferredresources",
    singular = "deferredresource",
    namespaced,
    status = "DeferredResourceStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "Creates one object in its namespace after a minimum delay and once the listed objects exist, for example an instance of a CRD that another chart installs.",
    printcolumn = r#"{"name":"RESOLVED","type":"string","jsonPath":".status.conditions[?(@.type==\"Resolved\")].status","description":"Whether the object was created."}"#,
    printcolumn = r#"{"name":"REASON","type":"string","jsonPath":".status.conditions[?(@.type==\"Resolved\")].reason","description":"Pending, Success or Error."}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DeferredResourceSpec {
    /// Minimum delay in seconds, counted from creation, before the object is
    /// created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Objects in this namespace that must exist before the object is
    /// created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for: Option<Vec<WaitFor>>,
    /// The manifest to create, not templated. Its namespace is forced to this
    /// DeferredResource's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form")]
    pub resource: Option<Value>,
    /// Service account in this namespace that the operator impersonates.
    /// Default "default".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

impl DeferredResourceSpec {
    /// The service account to impersonate: `serviceAccountName`, or
    /// "default" when unset or empty.
    pub fn service_account_name(&self) -> &str {
        match self.service_account_name.as_deref() {
            Some(sa) if !sa.is_empty() => sa,
            _ => DEFAULT_SERVICE_ACCOUNT,
        }
    }
}

/// An object that must exist, by kind and name.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WaitFor {
    /// API version of the object, for example "v1". Takes precedence over
    /// group and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// API group of the object, used with version when apiVersion is unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version within the group, used when apiVersion is unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl WaitFor {
    /// The effective apiVersion: `apiVersion`, else `group/version`, else
    /// `version` alone.
    pub fn effective_api_version(&self) -> String {
        effective_api_version(&self.api_version, &self.group, &self.version)
    }
}

/// Observed state of a DeferredResource.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeferredResourceStatus {
    /// Current state: type Resolved (reasons Pending, Success, Error) and
    /// type Failed with the last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Identity of the created object: one object, not a list, despite the
    /// name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_references: Option<CreatedObject>,
    /// True when the object in ownerReferences already existed when this
    /// DeferredResource would have created it: the operator leaves it as
    /// it is and never deletes it. Unset when the operator created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preexisting: Option<bool>,
}

/// Identity of an object the operator created.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedObject {
    /// API version of the object.
    pub api_version: String,
    /// Kind of the object.
    pub kind: String,
    /// Name of the object.
    pub name: String,
    /// UID of the object.
    pub uid: String,
}

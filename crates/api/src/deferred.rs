//! The DeferredResource kind: create one object after a delay and once
//! other objects exist (docs/deferred.md).

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
    /// Objects that must exist before the object is created, in this
    /// namespace unless they name another, and carrying a condition when
    /// they name one. Looked at again every poll period (10 s).
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
    /// Seconds, counted from creation, after which a DeferredResource that
    /// has not resolved gives up: Resolved=False/Error, Failed=True with
    /// what it was waiting for, a Warning Event, and no more looks until
    /// the spec changes. A spec edit takes one more look and waits on only
    /// while the (new) failAfter has not passed, so raising it resumes.
    /// Must not be less than timeout. Unset or 0: never give up. New in
    /// this implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<i64>,
    /// What happens once the object is created. "createOnce" (the default):
    /// it is applied once per spec change and then left alone, as in the
    /// original. "keepApplied": it is applied again (taking back the fields
    /// the resource sets) every poll period (10 s), so changes by others
    /// are repaired and a deleted object is created again; an object this
    /// DeferredResource did not create is still never touched. New in this
    /// implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
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

    /// The mode: `mode` parsed, createOnce when unset or empty; the
    /// unknown value as an error. `mode` is a plain string in the schema
    /// so that the operator, not admission, reports a bad value, naming
    /// the field (and an object stored under another CRD version never
    /// stops the watch).
    pub fn mode(&self) -> Result<DeferredMode, &str> {
        match self.mode.as_deref() {
            None | Some("") => Ok(DeferredMode::CreateOnce),
            Some(CREATE_ONCE) => Ok(DeferredMode::CreateOnce),
            Some(KEEP_APPLIED) => Ok(DeferredMode::KeepApplied),
            Some(other) => Err(other),
        }
    }
}

/// `spec.mode` value: apply once per spec change.
pub const CREATE_ONCE: &str = "createOnce";
/// `spec.mode` value: apply again at every poll.
pub const KEEP_APPLIED: &str = "keepApplied";

/// What a DeferredResource does with its object once created
/// (`spec.mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeferredMode {
    /// Apply once per spec change, then leave the object alone.
    #[default]
    CreateOnce,
    /// Apply again at every poll: drift is repaired, a deleted object is
    /// created again.
    KeepApplied,
}

/// An object that must exist (and, with condition, be in a state), by
/// kind, name and namespace.
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
    /// Namespace of the object; default this DeferredResource's namespace.
    /// The object is read as the service account (serviceAccountName), so
    /// it needs get on that kind in that namespace. Ignored for
    /// cluster-scoped kinds. New in this implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A condition the object must have in status.conditions, for example
    /// type Ready with status "True"; without it, existence is enough. New
    /// in this implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<WaitForCondition>,
}

/// A condition a waited-for object must carry in `status.conditions`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct WaitForCondition {
    /// Type of the condition, for example "Ready" or "Available".
    /// Required.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Status the condition must have: "True" (the default), "False" or
    /// "Unknown".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl WaitForCondition {
    /// The status to wait for: `status`, or "True" when unset or empty.
    pub fn status(&self) -> &str {
        match self.status.as_deref() {
            Some(status) if !status.is_empty() => status,
            _ => "True",
        }
    }
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

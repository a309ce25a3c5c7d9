//! Types shared by Plug and Socket (docs/lifecycle.md, "Resources";
//! docs/config.md, "Vars"; docs/apparatus.md).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{Affinity, Container};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::{drop_description, free_form, free_form_list};

/// Default service account for impersonation when `serviceAccountName` is unset.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// Name and optional namespace of an object.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedName {
    /// Name of the object.
    pub name: String,
    /// Namespace of the object. Defaults to the namespace of the object that
    /// holds this reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl NamespacedName {
    /// The namespace, or `default` when it is unset or empty.
    pub fn namespace_or<'a>(&'a self, default: &'a str) -> &'a str {
        match self.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => default,
        }
    }
}

/// A lifecycle event of a plug or socket: created, coupled, updated,
/// decoupled or deleted.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
#[schemars(transform = drop_description)]
pub enum When {
    /// The object was created (first reconcile).
    Created,
    /// A plug coupled to its socket.
    Coupled,
    /// A coupled plug or socket changed.
    Updated,
    /// A plug left its socket (plug or socket deletion).
    Decoupled,
    /// The object is being deleted.
    Deleted,
}

impl When {
    /// Every event, in lifecycle order.
    pub const ALL: [When; 5] = [
        When::Created,
        When::Coupled,
        When::Updated,
        When::Decoupled,
        When::Deleted,
    ];

    /// The wire name, also used as the apparatus URL path (`/coupled`).
    pub fn as_str(self) -> &'static str {
        match self {
            When::Created => "created",
            When::Coupled => "coupled",
            When::Updated => "updated",
            When::Decoupled => "decoupled",
            When::Deleted => "deleted",
        }
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do with a rendered resource: apply, delete or recreate.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "lowercase")]
#[schemars(transform = drop_description)]
pub enum Do {
    /// Server-side apply with field manager `integration-operator`.
    #[default]
    Apply,
    /// Delete by name; a missing object is fine.
    Delete,
    /// Delete, wait until the object is gone, then apply.
    Recreate,
}

impl Do {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Do::Apply => "apply",
            Do::Delete => "delete",
            Do::Recreate => "recreate",
        }
    }
}

impl fmt::Display for Do {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One templated action on Kubernetes objects. The manifests may be given in
/// any mix of the four template fields; each is rendered with Go templates
/// using {% %} delimiters.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAction {
    /// Action to take: apply (the default when empty), delete or recreate.
    #[serde(default, rename = "do", skip_serializing_if = "Option::is_none")]
    pub do_: Option<Do>,
    /// One manifest written as a structured object. Each string in it is
    /// rendered as a template on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form")]
    pub template: Option<Value>,
    /// Several manifests written as structured objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_list")]
    pub templates: Option<Vec<Value>>,
    /// One manifest as YAML or JSON text, rendered as a template and then
    /// parsed. It may hold several YAML documents; an empty result is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_template: Option<String>,
    /// Several manifests as YAML or JSON text, each like stringTemplate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_templates: Option<Vec<String>>,
}

impl ResourceAction {
    /// The effective action: `apply` when `do` is unset.
    pub fn effective_do(&self) -> Do {
        self.do_.unwrap_or_default()
    }
}

/// Events a resource runs on when its `when` is unset or empty.
pub const DEFAULT_WHEN: [When; 2] = [When::Coupled, When::Updated];

/// A templated action that runs on chosen lifecycle events.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// The action and its templates.
    #[serde(flatten)]
    pub action: ResourceAction,
    /// Lifecycle events at which the action runs. Defaults to coupled and
    /// updated when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Vec<When>>,
    /// Keep the applied objects when the plug decouples. By default objects
    /// not applied on the decoupled event are deleted at decouple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_when_decoupled: Option<bool>,
    /// Deprecated alias of retainWhenDecoupled, accepted for manifests
    /// written for older documentation. retainWhenDecoupled wins when both are
    /// set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_when_decoupled: Option<bool>,
    /// Repair drift: while coupled, re-apply the objects (taking back fields
    /// others changed, re-creating deleted ones) on every pass of the plug,
    /// at the latest each resync, not only on the lifecycle events. Only for
    /// `do: apply` resources that run on coupled or updated. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<bool>,
}

impl Resource {
    /// The effective events: `when`, or coupled and updated when it is unset
    /// or empty.
    pub fn effective_when(&self) -> &[When] {
        match self.when.as_deref() {
            Some(when) if !when.is_empty() => when,
            _ => &DEFAULT_WHEN,
        }
    }

    /// Whether the resource runs on `event`.
    pub fn runs_on(&self, event: When) -> bool {
        self.effective_when().contains(&event)
    }

    /// Whether to keep the objects at decouple, honoring the deprecated
    /// `preserveWhenDecoupled` spelling when `retainWhenDecoupled` is unset.
    pub fn retain_when_decoupled(&self) -> bool {
        self.retain_when_decoupled
            .or(self.preserve_when_decoupled)
            .unwrap_or(false)
    }

    /// Whether drift repair is on for this resource.
    pub fn reconcile(&self) -> bool {
        self.reconcile.unwrap_or(false)
    }

    /// The effective action: `apply` when `do` is unset.
    pub fn effective_do(&self) -> Do {
        self.action.effective_do()
    }
}

/// Default apparatus idle timeout, in seconds.
pub const DEFAULT_IDLE_TIMEOUT_SECONDS: i64 = 60;

/// Default apparatus call timeout, in seconds.
pub const DEFAULT_APPARATUS_TIMEOUT_SECONDS: i64 = 30;

/// An HTTP service, started on demand as a Pod and Service named
/// `<owner>-apparatus`, that the operator calls for config and on lifecycle
/// events.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SpecApparatus {
    /// Base URL or path of the apparatus. A path (or empty) is resolved
    /// against the apparatus Service; an absolute URL is called as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Seconds without calls after which the apparatus Pod is stopped.
    /// Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub idle_timeout: Option<i64>,
    /// Seconds to wait for one apparatus call before it fails. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout: Option<i64>,
    /// Scheduling affinity of the apparatus Pod. Unset means no constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Containers of the apparatus Pod, copied verbatim. One must expose a
    /// port named "container", which the Service targets.
    pub containers: Vec<Container>,
}

impl SpecApparatus {
    /// The effective idle timeout in seconds (default 60).
    pub fn idle_timeout_seconds(&self) -> i64 {
        self.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECONDS)
    }

    /// The effective call timeout in seconds (default 30).
    pub fn timeout_seconds(&self) -> i64 {
        match self.timeout {
            Some(t) if t > 0 => t,
            _ => DEFAULT_APPARATUS_TIMEOUT_SECONDS,
        }
    }
}

/// A value read from a field of another Kubernetes object.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Var {
    /// Key under which the value appears in the template data.
    pub name: String,
    /// The object to read.
    pub objref: ObjectReference,
    /// The field to read from the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fieldref: Option<FieldReference>,
}

/// The object a var reads. It must be in the owner's namespace.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// API version of the object, for example "v1" or "apps/v1". Takes
    /// precedence over group and version.
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
    /// Namespace of the object. Defaults to, and must equal, the owner's
    /// namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the object as a template, rendered before the lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    /// Namespace of the object as a template, rendered before the lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_namespace: Option<String>,
}

impl ObjectReference {
    /// The effective apiVersion: `apiVersion`, else `group/version`, else
    /// `version` alone.
    pub fn effective_api_version(&self) -> String {
        effective_api_version(&self.api_version, &self.group, &self.version)
    }
}

/// Builds an apiVersion from `apiVersion` or `group` + `version`.
pub(crate) fn effective_api_version(
    api_version: &Option<String>,
    group: &Option<String>,
    version: &Option<String>,
) -> String {
    if let Some(av) = api_version.as_deref().filter(|s| !s.is_empty()) {
        return av.to_string();
    }
    let version = version.as_deref().unwrap_or_default();
    match group.as_deref().filter(|g| !g.is_empty()) {
        Some(group) => format!("{group}/{version}"),
        None => version.to_string(),
    }
}

/// Selects a field of an object.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldReference {
    /// gjson path into the object's JSON, for example "spec.ports.0.port".
    /// Empty reads as an empty string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
}

/// Identity of an object at a point in time.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CoupledRef {
    /// API version of the object.
    pub api_version: String,
    /// Kind of the object.
    pub kind: String,
    /// Name of the object.
    pub name: String,
    /// Namespace of the object.
    pub namespace: String,
    /// UID of the object; identifies one incarnation of the name.
    pub uid: String,
}

/// Fields that Plug and Socket share: the data, config and result each side
/// brings to a coupling, and what it does on lifecycle events.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CommonSpec {
    /// Values read from other objects, available to configTemplate and the
    /// apparatus config call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vars: Option<Vec<Var>>,
    /// Values read from other objects, available to resultTemplate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_vars: Option<Vec<Var>>,
    /// Inline data: free values exchanged before config exists. Not
    /// validated by the interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// ConfigMap in this namespace merged into data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_config_map_name: Option<String>,
    /// Secret in this namespace merged into data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_secret_name: Option<String>,
    /// Inline config. Values must be strings (quote numbers and booleans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, String>>,
    /// ConfigMap in this namespace merged into config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_config_map_name: Option<String>,
    /// Secret in this namespace merged into config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_secret_name: Option<String>,
    /// Config values computed from templates, one template per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_template: Option<BTreeMap<String, String>>,
    /// Inline result, exchanged after config. Values must be strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<BTreeMap<String, String>>,
    /// ConfigMap in this namespace merged into result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_config_map_name: Option<String>,
    /// Secret in this namespace merged into result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_secret_name: Option<String>,
    /// Result values computed from templates, one template per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_template: Option<BTreeMap<String, String>>,
    /// Service account in this namespace that the operator impersonates for
    /// resources and vars, and that runs the apparatus. Default "default".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Optional HTTP service called for config and on lifecycle events.
    // Boxed: most objects have none, and every cached Plug would otherwise
    // carry its space (a pod's affinity among it) inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apparatus: Option<Box<SpecApparatus>>,
    /// Templated resources applied in this namespace on lifecycle events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    /// Templated resources applied in this namespace after results are
    /// computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_resources: Option<Vec<ResourceAction>>,
    /// Free string; changing it forces an update cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

impl CommonSpec {
    /// The service account to impersonate: `serviceAccountName`, or
    /// "default" when unset or empty.
    pub fn service_account_name(&self) -> &str {
        match self.service_account_name.as_deref() {
            Some(sa) if !sa.is_empty() => sa,
            _ => DEFAULT_SERVICE_ACCOUNT,
        }
    }

    /// The lifecycle resources (empty when unset).
    pub fn resources(&self) -> &[Resource] {
        self.resources.as_deref().unwrap_or_default()
    }

    /// The result resources (empty when unset).
    pub fn result_resources(&self) -> &[ResourceAction] {
        self.result_resources.as_deref().unwrap_or_default()
    }
}

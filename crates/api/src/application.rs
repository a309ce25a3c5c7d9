//! The Application and Component kinds: the parts of one app, run as
//! Deployments or StatefulSets with their Services and ServiceMonitors,
//! and an honest account of their health (docs/application.md).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::NamespacedName;
use crate::schema::{free_form, free_form_list};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Desired state of an Application: its components, inline or as
/// Component resources.
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "integration.rock8s.com",
    version = "v1beta1",
    kind = "Application",
    plural = "applications",
    singular = "application",
    shortname = "app",
    namespaced,
    status = "WorkloadStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "The components of one app: each runs as a Deployment or StatefulSet with a Service (and a ServiceMonitor when it exports metrics), and the status tells how they are doing: Pending, Running, Degraded or Failed.",
    printcolumn = r#"{"name":"PHASE","type":"string","jsonPath":".status.phase","description":"Pending, Running, Degraded or Failed."}"#,
    printcolumn = r#"{"name":"READY","type":"string","jsonPath":".status.ready","description":"Ready replicas of all components over the desired ones."}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"MESSAGE","type":"string","jsonPath":".status.message","priority":1,"description":"Why the application is not Running."}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.components) || self.components.all(c, self.components.exists_one(d, d.name == c.name))",
     "message": "component names must be unique", "fieldPath": ".components"}
]))]
pub struct ApplicationSpec {
    /// Components defined inline, each with a unique name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<InlineComponent>>,
    /// Components defined as Component resources in this namespace, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_refs: Option<Vec<ComponentRef>>,
    /// "true": one ingress NetworkPolicy per component admitting only the
    /// declared flows; "audit": compute them and list them in the status,
    /// create nothing; "false" (the default): none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<String>,
}

/// A component defined inside its Application.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InlineComponent {
    /// The component's name: a DNS label, also the name of its workload
    /// and Service.
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self.matches('^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$')",
         "message": "must be a DNS label: lower case letters, digits and '-', starting with a letter, at most 63 characters"}
    ]))]
    pub name: String,
    /// What it runs.
    #[serde(flatten)]
    pub workload: Workload,
}

/// A Component resource an Application lists.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct ComponentRef {
    /// The Component's name, in the Application's namespace.
    pub name: String,
}

/// Desired state of a Component: one part of an Application, defined on
/// its own (the Application lists it in componentRefs).
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "integration.rock8s.com",
    version = "v1beta1",
    kind = "Component",
    plural = "components",
    singular = "component",
    namespaced,
    status = "WorkloadStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "One component of an Application, defined as its own resource: it runs as a Deployment or StatefulSet with a Service, owned by this Component (not by the Application).",
    printcolumn = r#"{"name":"APPLICATION","type":"string","jsonPath":".spec.application","description":"The Application it belongs to."}"#,
    printcolumn = r#"{"name":"PHASE","type":"string","jsonPath":".status.phase","description":"Pending, Running, Degraded or Failed."}"#,
    printcolumn = r#"{"name":"READY","type":"string","jsonPath":".status.ready","description":"Ready replicas over desired ones."}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"MESSAGE","type":"string","jsonPath":".status.message","priority":1,"description":"Why the component is not Running."}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// The Application this component belongs to, in the same namespace.
    pub application: String,
    /// What it runs.
    #[serde(flatten)]
    pub workload: Workload,
}

/// What a component runs, and how it is reached.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "(has(self.kind) && self.kind == 'StatefulSet') || !has(self.volumeClaimTemplates)",
     "message": "volumeClaimTemplates needs kind StatefulSet", "fieldPath": ".volumeClaimTemplates"}
]))]
pub struct Workload {
    /// "Deployment" (the default) or "StatefulSet".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Deployment", "StatefulSet"]))]
    pub kind: Option<String>,
    /// The container image.
    pub image: String,
    /// Replicas. No default: when unset the workload's replicas are never
    /// set by the operator (an autoscaler may own them), and the live value
    /// is kept when a value set before is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i32>,
    /// More fields of the container (a core/v1 Container: env, resources,
    /// probes, …); its name and image come from the component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form")]
    pub container: Option<Value>,
    /// Labels and annotations for the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<PodTemplate>,
    /// The ports the component serves; its Service exposes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<ComponentPort>>,
    /// Prometheus metrics to scrape, through a ServiceMonitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Components of the same application this one calls: each gives the
    /// container <TARGET>_SERVICE_HOST and <TARGET>_SERVICE_PORT variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connects_to: Option<Vec<ConnectsTo>>,
    /// Seconds without progress after which a rollout counts as failed
    /// (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub progress_deadline_seconds: Option<i32>,
    /// Pod volumes (core/v1 Volume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_list")]
    pub volumes: Option<Vec<Value>>,
    /// StatefulSet only: PersistentVolumeClaim templates. Their claims are
    /// never deleted by the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_list")]
    pub volume_claim_templates: Option<Vec<Value>>,
    /// What to do when a change needs a field the API server will not
    /// update (a StatefulSet's volumeClaimTemplates, serviceName,
    /// selector): "Fail" (the default) reports it; "Recreate" deletes the
    /// workload leaving its pods and claims, and creates it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Fail", "Recreate"]))]
    pub on_immutable_change: Option<String>,
    /// Extra ingress sources admitted when the application's
    /// networkPolicy is on (an ingress controller, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_from: Option<Vec<AllowFrom>>,
    /// Ports other applications may consume: each becomes a Socket named
    /// `<application>-<component>-<name>`, whose `access` says which
    /// namespaces may couple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provides: Option<Vec<Provide>>,
    /// Sockets of other applications this component consumes: each becomes
    /// a Plug named `<application>-<component>-<name>` and, once coupled,
    /// an ExternalName Service named `alias` and <ALIAS>_SERVICE_HOST and
    /// <ALIAS>_SERVICE_PORT variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<Vec<Require>>,
}

/// An ingress source admitted besides the declared flows.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AllowFrom {
    /// Namespaces whose pods are admitted (all namespaces when only
    /// podSelector is set; the application's own when neither is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Pods admitted (in the selected namespaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    /// The name of the port they may reach; every port when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// A port offered to other applications, as a Socket.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Provide {
    /// Its name, unique within the component (a DNS label).
    pub name: String,
    /// The name of the component's port it offers.
    pub port: String,
    /// What is spoken on it (`http`, `postgres`, …): a label on the Socket
    /// so consumers can find it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Which namespaces may consume it; only the application's own
    /// namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// How many consumers may couple at once (the Socket's limit; unset:
    /// no limit); the others wait, `LinkPending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub limit: Option<i32>,
}

/// The namespaces that may couple to a provided Socket.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// Regular expressions, searched in the consumer's namespace name
    /// (write `^shop$` for one name); one must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Labels the consumer's namespace must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
}

/// A Socket of another application this component consumes.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Require {
    /// Its name, unique within the component (a DNS label).
    pub name: String,
    /// The Socket (in the application's namespace when no namespace is
    /// given).
    pub socket: NamespacedName,
    /// The name of the ExternalName Service and the prefix of the
    /// variables (default: name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

impl Require {
    /// The alias, or the name.
    pub fn alias(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// Pod template metadata.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct PodTemplate {
    /// Labels and annotations added to the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PodMetadata>,
}

/// Labels and annotations.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct PodMetadata {
    /// Labels (the operator's own labels win).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// One port of a component.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComponentPort {
    /// Its name (a DNS label, at most 15 characters).
    pub name: String,
    /// The Service port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// The container port (default: port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub target_port: Option<i32>,
}

/// Metrics to scrape.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// The name of the port serving them.
    pub port: String,
    /// The HTTP path (default /metrics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How often to scrape (a Prometheus duration, e.g. 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Labels for the ServiceMonitor, so that a Prometheus selects it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// A component this one calls.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct ConnectsTo {
    /// The component, in the same application.
    pub component: String,
    /// The name of its port.
    pub port: String,
}

/// Observed state of an Application or Component.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {}))]
pub struct WorkloadStatus {
    /// Pending, Running, Degraded or Failed: the worst of the components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The generation this status is about; -1 until the operator has
    /// seen the object, so a new object never reads as done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = -1))]
    pub observed_generation: Option<i64>,
    /// Ready replicas over desired ones, e.g. 2/3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    /// Why it is not Running (empty when it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Each component's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<ComponentState>>,
    /// Each `requires` link and how far it got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<LinkState>>,
    /// The ingress rules of each component's NetworkPolicy (networkPolicy
    /// "true" or "audit").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policies: Option<Vec<PolicyState>>,
    /// Ready, Reconciling, Stalled, MetricsAvailable and MetricsSelected,
    /// each with the generation it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

/// How one component is doing.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComponentState {
    /// The component's name.
    pub name: String,
    /// Deployment or StatefulSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Desired replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Ready replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Pending, Running, Degraded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why, in one word (LessReady, ChildConflict, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The workload generation at which it was last Running: not being
    /// ready at that generation again is Degraded, not Pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_generation: Option<i64>,
    /// Since when a StatefulSet rollout has made no progress (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_since: Option<String>,
    /// The workload generation, updated and ready replicas seen at
    /// progressSince.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_mark: Option<Vec<i64>>,
    /// The env vars connectsTo gave the container, as component:port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<String>>,
}

/// How a `requires` link is doing.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LinkState {
    /// The consuming component.
    pub from: String,
    /// The Socket, as namespace/name.
    pub to: String,
    /// The Plug, as namespace/name.
    pub plug: String,
    /// Coupled, Pending or NotAllowed.
    pub state: String,
    /// Why it is not Coupled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The ingress rules of one component's NetworkPolicy.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyState {
    /// The component (and policy) name.
    pub component: String,
    /// Who may connect, and to which port: `component web -> 8080`,
    /// `namespace monitoring -> 8080`, … (empty: it admits nothing).
    pub ingress: Vec<String>,
}

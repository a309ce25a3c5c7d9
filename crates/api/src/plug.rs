//! The Plug kind: the consumer side of an integration (docs/lifecycle.md).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{CommonSpec, CoupledRef, NamespacedName};

/// Desired state of a Plug: the socket to couple to, and this side's data,
/// config, result, resources and apparatus.
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "integration.rock8s.com",
    version = "v1beta1",
    kind = "Plug",
    plural = "plugs",
    singular = "plug",
    namespaced,
    status = "PlugStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "Consumer side of an integration. A plug couples to one socket, exchanges validated config and results with it, and applies templated resources on lifecycle events.",
    printcolumn = r#"{"name":"SOCKET","type":"string","jsonPath":".spec.socket.name","description":"Name of the socket this plug couples to."}"#,
    printcolumn = r#"{"name":"COUPLED","type":"string","jsonPath":".status.conditions[?(@.type==\"Coupled\")].status","description":"Whether the plug is coupled."}"#,
    printcolumn = r#"{"name":"REASON","type":"string","jsonPath":".status.conditions[?(@.type==\"Coupled\")].reason","description":"Why the plug is or is not coupled."}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PlugSpec {
    /// The socket to couple to. The namespace defaults to the plug's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<NamespacedName>,
    /// Fields shared with Socket.
    #[serde(flatten)]
    pub common: CommonSpec,
}

/// Observed state of a Plug.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlugStatus {
    /// Current state: type Coupled (reasons PlugCreated, SocketNotCreated,
    /// CouplingInProcess, CouplingSucceeded, UpdatingInProcess,
    /// SocketLimitReached, Error) and type Failed with the last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The socket this plug is coupled to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupled_socket: Option<CoupledRef>,
    /// Validated results of both sides and the plug generation they were
    /// computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupled_result: Option<CoupledResult>,
    /// Hash of the resolved inputs of the last completed coupled or updated
    /// cycle (both specs and the ConfigMaps and Secrets they read). The
    /// updated hooks run only when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_hash: Option<String>,
    /// A lifecycle event in flight: persisted before each step with side
    /// effects, so a retry or a restart resumes at the side or the result
    /// phase it left instead of running completed hooks again. Absent when
    /// idle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<CycleProgress>,
}

/// How far a coupled, updated, decoupled or deleted event got.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CycleProgress {
    /// The lifecycle event: `coupled`, `updated`, `decoupled` or `deleted`.
    pub event: String,
    /// Fingerprint of what the cycle's hooks saw (both specs and both
    /// resolved configs). Hooks that ran for the same fingerprint are not
    /// run again.
    pub inputs_hash: String,
    /// Whether all hooks of the event completed (both sides', or the
    /// plug's own for `deleted`).
    pub hooks_done: bool,
    /// The sides whose hooks of the event completed, in the order they ran
    /// (`plug`, then `socket`), so a retry or a restart between the sides
    /// resumes at the side it left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sides_done: Option<Vec<String>>,
}

/// Results of a completed coupling. Values of properties marked secret are
/// never stored here.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CoupledResult {
    /// The plug's validated result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plug: Option<BTreeMap<String, String>>,
    /// The socket's validated result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<BTreeMap<String, String>>,
    /// Plug metadata.generation the results were computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Plug {
    /// The socket's namespace and name, the namespace defaulting to the
    /// plug's own. `None` when `spec.socket` is unset.
    pub fn socket_key(&self) -> Option<(String, String)> {
        crate::plug_link::key(
            self.spec.socket.as_ref(),
            self.metadata.namespace.as_deref(),
        )
    }
}

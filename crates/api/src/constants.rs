//! Names shared by the API, the controllers and the objects they write.
//!
//! These strings are a wire contract with existing clusters (objects
//! reconciled by the original operator carry them), so they must not change.

/// API group of every kind in this crate.
pub const GROUP: &str = "integration.rock8s.com";

/// The only served and storage version.
pub const VERSION: &str = "v1beta1";

/// `apiVersion` of every kind in this crate.
pub const API_VERSION: &str = "integration.rock8s.com/v1beta1";

/// Finalizer that Plug and Socket controllers put on their objects so that
/// decoupled/deleted hooks run before the object goes away.
pub const FINALIZER: &str = "integration.rock8s.com/finalizer";

/// Annotation that lets a Plug or Socket being deleted go even when its
/// hooks keep failing (for example because the ConfigMap its config needs
/// was deleted first): with the value "true", a failed decouple or
/// `deleted` hook is reported as a Warning Event and the finalizer is
/// removed anyway, and a socket does not wait for its plugs to decouple.
/// New in this implementation.
pub const FORCE_DELETE_ANNOTATION: &str = "integration.rock8s.com/force-delete";

/// Whether `annotations` ask for a forced deletion
/// ([`FORCE_DELETE_ANNOTATION`] set to "true").
pub fn force_delete(annotations: &std::collections::BTreeMap<String, String>) -> bool {
    annotations
        .get(FORCE_DELETE_ANNOTATION)
        .is_some_and(|v| v == "true")
}

/// Annotation on a Plug or Socket that makes the compatibility warnings of
/// its templates and maps errors (docs/compatibility.md, "Warnings and
/// strict mode"): with the value "true", a template that prints
/// `<no value>` fails, and an empty value of a required or defaulted
/// interface key counts as missing on all four maps. New in this
/// implementation.
pub const STRICT_ANNOTATION: &str = "integration.rock8s.com/strict";

/// Whether `annotations` opt into strictness ([`STRICT_ANNOTATION`] set
/// to "true").
pub fn strict(annotations: &std::collections::BTreeMap<String, String>) -> bool {
    annotations
        .get(STRICT_ANNOTATION)
        .is_some_and(|v| v == "true")
}

/// Server-side-apply field manager for everything the operator writes.
pub const FIELD_MANAGER: &str = "integration-operator";

/// Condition types, reasons and messages (docs/lifecycle.md and
/// docs/deferred.md, "Conditions").
///
/// Status checks in tests and user tooling compare type, status, reason and
/// message, so all four are part of the contract.
pub mod condition {
    /// Condition type on Plug and Socket: whether the coupling is established.
    pub const COUPLED: &str = "Coupled";
    /// Condition type on every kind: the last reconcile failed; the message is
    /// the raw error text.
    pub const FAILED: &str = "Failed";
    /// Condition type on DeferredResource: whether the resource was created.
    pub const RESOLVED: &str = "Resolved";
    /// Condition type on Plug and Socket: the last coupling cycle (or own
    /// event) succeeded with compatibility warnings, listed in the message
    /// (docs/compatibility.md, "Warnings and strict mode"). New.
    pub const WARNINGS: &str = "Warnings";

    /// Values of a condition's `reason`.
    pub mod reason {
        /// Plug `Coupled=False`: the `created` hooks ran.
        pub const PLUG_CREATED: &str = "PlugCreated";
        /// Plug `Coupled=False`: the referenced socket does not exist.
        pub const SOCKET_NOT_CREATED: &str = "SocketNotCreated";
        /// Plug `Coupled=False`: the coupled hooks are running.
        pub const COUPLING_IN_PROCESS: &str = "CouplingInProcess";
        /// Plug `Coupled=True`: results computed and resultResources applied.
        pub const COUPLING_SUCCEEDED: &str = "CouplingSucceeded";
        /// Plug `Coupled=False`: an update cycle is running.
        pub const UPDATING_IN_PROCESS: &str = "UpdatingInProcess";
        /// Plug `Coupled=False`: the socket's `limit` is reached (new;
        /// docs/lifecycle.md, "Socket limit").
        pub const SOCKET_LIMIT_REACHED: &str = "SocketLimitReached";
        /// Plug `Failed=True`: the socket's namespace rules refuse the
        /// plug's namespace (new; `Coupled` still reads `Error`, as the
        /// original's did, so only this reason tells a refusal apart).
        pub const NAMESPACE_NOT_ALLOWED: &str = "NamespaceNotAllowed";
        /// Socket `Coupled=False`: the `created` hooks ran.
        pub const SOCKET_CREATED: &str = "SocketCreated";
        /// Socket `Coupled=True`: at least one plug is coupled.
        pub const SOCKET_COUPLED: &str = "SocketCoupled";
        /// Socket `Coupled=False`: no plug is coupled.
        pub const SOCKET_EMPTY: &str = "SocketEmpty";
        /// Any kind: the reconcile failed (`Coupled`/`Resolved` and `Failed`).
        pub const ERROR: &str = "Error";
        /// DeferredResource `Resolved=False`: waiting for the delay or waitFor.
        pub const PENDING: &str = "Pending";
        /// DeferredResource `Resolved=True`: the resource was created.
        pub const SUCCESS: &str = "Success";
        /// `Warnings=True`: templates printed `<no value>` or required
        /// keys were empty, and the coupling went on as the original did.
        pub const COMPATIBILITY: &str = "Compatibility";
    }

    /// Fixed values of a condition's `message`.
    pub mod message {
        /// With reason `PlugCreated`.
        pub const PLUG_CREATED: &str = "plug created";
        /// With reason `SocketNotCreated`.
        pub const SOCKET_NOT_CREATED: &str = "waiting for socket to be created";
        /// With reason `CouplingInProcess`.
        pub const COUPLING_IN_PROCESS: &str = "coupling to socket";
        /// With reason `CouplingSucceeded`.
        pub const COUPLING_SUCCEEDED: &str = "coupling succeeded";
        /// With reason `UpdatingInProcess`.
        pub const UPDATING_IN_PROCESS: &str = "updating coupling";
        /// `Coupled` condition with reason `Error` (Plug and Socket).
        pub const COUPLING_FAILED: &str = "coupling failed";
        /// With reason `SocketCreated`.
        pub const SOCKET_CREATED: &str = "socket created";
        /// With reason `SocketEmpty`.
        pub const SOCKET_EMPTY: &str = "0 plugs coupled";
        /// DeferredResource pending on its delay.
        pub const WAITING_FOR_TIMEOUT: &str = "waiting for timeout";
        /// DeferredResource pending on a `waitFor` object.
        pub const WAITING_FOR_RESOURCE: &str = "waiting for resource";
        /// DeferredResource resolved.
        pub const SUCCESS: &str = "success";
        /// `Resolved` condition with reason `Error`.
        pub const FAILED: &str = "failed";
        /// `Resolved` condition with reason `Error` once `failAfter` has
        /// passed: the DeferredResource stopped trying until its spec
        /// changes (new; `Failed` says what it was waiting for).
        pub const GAVE_UP: &str = "gave up";
    }

    /// Socket `Coupled` message for `n` coupled plugs: `1 plug coupled`,
    /// otherwise `<n> plugs coupled`. The `PLUGS` printer column shows it.
    pub fn plugs_coupled(n: usize) -> String {
        if n == 1 {
            "1 plug coupled".to_string()
        } else {
            format!("{n} plugs coupled")
        }
    }

    /// Plug `Coupled` message with reason `SocketLimitReached`: the limit,
    /// and the plug's place among the plugs waiting for a slot (1: next).
    pub fn socket_limit_reached(namespace: &str, name: &str, limit: i32, place: usize) -> String {
        format!("socket {namespace}/{name} accepts at most {limit} plugs; place in line: {place}")
    }
}

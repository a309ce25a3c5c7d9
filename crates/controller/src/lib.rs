//! The Kubernetes edge of the integration operator: the controllers and
//! the I/O building blocks they call. The engine
//! (`integration-engine`) decides; this crate talks to the API server.
//!
//! * [`Cluster`]: the operator's client, the shared [`RestMapper`] and the
//!   cache of [`Impersonation`] clients. Build one, clone it everywhere.
//! * [`Objects`]: apply (server-side, field manager
//!   `integration-operator`), delete (background propagation) and recreate
//!   objects of any kind, usually as the owner's service account
//!   ([`Cluster::objects_as`]).
//! * [`fetch`]: reads the ConfigMaps, Secrets and var targets of an engine
//!   `FetchPlan` into engine `Sources`.
//! * [`EventRecorder`]: `events.k8s.io/v1` Events about Plugs and Sockets.
//!
//! * [`apparatus`]: calls to each side's apparatus, its Pod and Service,
//!   and the idle reaper.
//! * [`run`]: the Plug and Socket controllers ([`plug`], [`socket`]) with
//!   the watches that connect them, and the DeferredResource controller
//!   ([`deferred`]).
//! * [`leader`]: leader election on a Lease, so only one replica runs the
//!   controllers; [`metrics`]: everything `/metrics` exports (reconcile
//!   passes, hook durations, apparatus calls, template errors, couplings).
//!
//! Errors ([`Error`]) name the object and the API server's reason, and are
//! meant to be shown to users: they never repeat values the server echoed.

pub mod apparatus;
mod cluster;
mod context;
pub mod controllers;
mod events;
mod fetch;
pub mod leader;
pub mod metrics;
mod runtime;
pub mod status;

pub use apparatus::ApparatusOptions;
pub use cluster::Cluster;
pub use context::{Context, ReconcileError, run_rendered};
pub use events::EventRecorder;
pub use fetch::{MapReader, fetch};
pub use kube_declarative::{
    DEFAULT_DELETION_TIMEOUT, Deletion, Error, Impersonation, Mapping, ObjectRef, Objects,
    Operation, RestMapper, Result, service_account_user,
};
pub use metrics::{Metrics, Passes};
pub use runtime::{
    DEFAULT_CONCURRENCY, DEFAULT_RESYNC, RunOptions, SocketChange, plugs_for_socket, plugs_reading,
    run, run_until, sockets_for_plug,
};

//! The Kubernetes edge of the integration operator: the controllers and
//! the I/O building blocks they call. The engine
//! (`integration-engine`) decides; this crate talks to the API server.
//!
//! What the operator binary, its CLI, the benches and the tests use:
//!
//! * [`run_until`] with [`RunOptions`]: the Plug and Socket
//!   controllers with the watches that connect them, the DeferredResource
//!   controller, and the apparatus reaper.
//! * [`Cluster`]: the operator's client, the shared [`RestMapper`] and the
//!   cache of impersonated clients. Build one, clone it everywhere;
//!   [`run_rendered`] carries out one rendered object through it.
//! * [`fetch()`]: reads the ConfigMaps, Secrets and var targets of an engine
//!   `FetchPlan` into engine `Sources` (the dev report reads the same).
//! * [`EventRecorder`]: `events.k8s.io/v1` Events about Plugs and Sockets.
//! * [`apparatus`]: the kube-free [`apparatus::Caller`] that the CLI's
//!   `render` shares with the controllers, and [`ApparatusOptions`].
//! * [`leader`]: leader election on a Lease, so only one replica runs the
//!   controllers; [`metrics`]: everything `/metrics` exports (reconcile
//!   passes, hook durations, apparatus calls, template errors, couplings).
//!
//! Errors ([`Error`]) name the object and the API server's reason, and are
//! meant to be shown to users: they never repeat values the server echoed.

pub mod apparatus;
mod cluster;
mod context;
mod controllers;
mod events;
mod fetch;
pub mod leader;
pub mod metrics;
mod runtime;
mod status;

pub use apparatus::ApparatusOptions;
pub use cluster::Cluster;
pub use context::run_rendered;
pub use controllers::application;
pub use events::EventRecorder;
pub use fetch::{MapReader, fetch};
pub use kube_declarative::{Deletion, Error, ObjectRef, RestMapper, Result, service_account_user};
pub use metrics::Metrics;
pub use runtime::{DEFAULT_CONCURRENCY, DEFAULT_RESYNC, RunOptions, run_until};

use kube_declarative::{Impersonation, Objects, Operation};

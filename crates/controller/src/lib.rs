//! The Kubernetes edge of the integration operator: the controllers and
//! the I/O building blocks they call. The engine
//! (`integration-engine`) decides; this crate talks to the API server.
//!
//! What the operator binary, its CLI, the benches and the tests use:
//!
//! * [`run_until`] with [`RunOptions`]: the Plug and Socket
//!   controllers with the watches that connect them, the DeferredResource,
//!   Application and Component controllers (on the declarative runtime,
//!   `kube-declarative`), and the apparatus reaper.
//! * [`application`]: the Application and Component controllers' pure
//!   functions, which `render` runs offline on a snapshot it builds.
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
//! # Adding a controller
//!
//! A parent/children controller is a folder under `src/controllers/`: a
//! pure part (a `kube_declarative::Declarative` impl and the functions it
//! calls, tested beside them) and one registration in `runtime.rs`, where
//! `declarative()` gives it the operator's scope, clients, Event recorder
//! and pass metrics, and the kinds it owns and reads are listed. The
//! DeferredResource (one unwatched child, made as a service account) and
//! Application (owned workloads, related Pods) controllers are the two
//! shapes to copy. The runtime's own walkthrough, with a complete example
//! controller run against the emulator, is in the `kube-declarative`
//! crate's docs and its `tests/example.rs`.
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
mod map_readers;
pub mod metrics;
mod plug_index;
mod runtime;
mod status;
mod written;

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

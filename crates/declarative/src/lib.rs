//! A declarative runtime for Kubernetes controllers of the "from this
//! parent, these children" kind, on kube 5.
//!
//! A controller is one pure function, [`Declarative::sync`]: from a
//! [`Snapshot`] (the parent, its children by kind, objects it looked up,
//! facts such as which APIs the cluster serves, and the time) to the
//! [`Desired`] children, the parent's status, Events, and an optional
//! wake-up time. It does no I/O, so it is tested with plain values. The
//! [`Runtime`] does the rest:
//!
//! * watches the parent kind and each owned child kind (only the children
//!   it marked: a label, and a controller ownerReference to the parent's
//!   uid), and related kinds the parent reads but does not own
//!   ([`Runtime::watches`], mapped to parents by a function; with
//!   [`Runtime::watches_only`] only metadata and the fields it names are
//!   cached), and
//!   runs a pass when any of them changes;
//! * applies each desired child with server-side apply under one field
//!   manager, skipping writes that would change nothing (a hash of what it
//!   last applied, and the live fields it sets), and re-applying when a
//!   field it set has drifted ([`Outcome::Applied`] names it);
//! * never touches a same-named object it does not manage: the child's
//!   outcome is [`Outcome::Conflict`] (unless the object is annotated for
//!   adoption, or is the one the parent recorded by uid), looked at again
//!   after a backoff since that object is not watched;
//! * prunes children that are no longer desired, only its own and only of
//!   pruned kinds (never, say, PersistentVolumeClaims);
//! * reports each child's outcome back to the function, which makes the
//!   status from it: a failed child is one failed apply (server-side apply
//!   writes an object whole or not at all), never half a child;
//! * writes the status only when it changed, keeps a finalizer when asked,
//!   and backs off per parent after failures (not after a 422: the same
//!   write fails the same way until something changes, which wakes it);
//! * hands fields over when asked ([`Apply::handover`]): a field the parent
//!   stops setting keeps its live value instead of being removed.
//!
//! A pass is bounded: the runtime's own status writes do not wake the
//! parent, and a write that changes nothing makes no watch event, so one
//! change of a child leads to one pass, plus one for each child it writes.
//!
//! # Adding a controller
//!
//! The test `tests/example.rs` is a complete controller and is the model
//! to copy. Its parent, `Greeting` (`example.com/v1`), wants one ConfigMap
//! holding its message, and shows in `status.phase` whether it has it.
//!
//! 1. Write the parent type (a `kube::CustomResource` or any namespaced
//!    resource with a `status`).
//! 2. Implement [`Declarative`] for a unit struct: `status`/`with_status`
//!    read and replace the status, and `sync` returns
//!    `Desired { children: vec![Child::apply(config_map)], status, .. }`.
//!    The status reads [`Snapshot::outcome`] for the ConfigMap: a
//!    [`Outcome::Conflict`] becomes a `Conflict` phase, an
//!    [`Outcome::Failed`] a `Failed` one with the message.
//! 3. Build the runtime, tell it the child kinds, run it:
//!
//! ```no_run
//! # use kube_declarative::{Declarative, Desired, Marks, Runtime, Snapshot};
//! # use kube::discovery::ApiResource;
//! # use k8s_openapi::api::core::v1::ConfigMap;
//! # struct Greetings;
//! # impl Declarative for Greetings {
//! #     type Parent = ConfigMap; type Status = ();
//! #     fn status(_: &ConfigMap) -> Option<&()> { None }
//! #     fn with_status(p: &ConfigMap, _: ()) -> ConfigMap { p.clone() }
//! #     fn sync(&self, _: &Snapshot<ConfigMap>) -> Desired<()> { Desired::status(()) }
//! # }
//! # async fn run(client: kube::Client) {
//! Runtime::new(client, Greetings, "greeting", Marks::new("greeter", "example.com"))
//!     .owns(ApiResource::erase::<ConfigMap>(&()))
//!     .run_until(futures::future::pending())
//!     .await;
//! # }
//! ```
//!
//! The operator's DeferredResource controller is a larger example: it
//! applies its one child as a service account ([`Declarative::acts_as`]),
//! reads objects it does not own ([`Declarative::lookups`]), wakes itself
//! on timers ([`Desired::wake_at`]), and deletes what it created in a
//! finalizer ([`Child::Delete`]).
//!
//! The I/O building blocks are public too: [`Objects`] (apply, delete,
//! recreate objects of any kind), the [`RestMapper`], [`Impersonation`]
//! and the user-facing [`Error`].

#![warn(missing_docs)]

mod apply;
mod backoff;
mod declare;
mod error;
mod impersonation;
pub mod listed;
mod mapper;
mod object;
mod objects;
mod pass;
mod runtime;

pub use apply::Marks;
pub use backoff::{Backoff, object_key};
pub use declare::{
    Apply, Child, Declarative, Desired, Event, Facts, Failure, Outcome, Parent, ServiceAccount,
    Snapshot,
};
pub use error::{Error, Operation, Result};
pub use impersonation::{Impersonation, service_account_user};
pub use mapper::{Mapping, RestMapper};
pub use object::ObjectRef;
pub use objects::{DEFAULT_DELETION_TIMEOUT, Deletion, Objects};
pub use pass::{PassError, set_finalizer};
pub use runtime::{
    KubeEvents, Observer, OwnedKind, ParentsOf, Recorder, RelatedKind, Runtime, acted_on,
    until_synced_or_shutdown,
};

//! The pure integration engine: everything about a Plug/Socket coupling
//! that can be computed without talking to Kubernetes.
//!
//! The controllers (the edge) fetch objects and pass them in; the engine
//! computes. No I/O, no async, no clock. A reconcile pass goes like this:
//!
//! 1. [`Coupling::new`] pairs the plug with its socket, and
//!    [`Coupling::plan`] lists the ConfigMaps, Secrets and var targets both
//!    sides read (failing early on a var outside its namespace).
//! 2. The edge fetches them into [`Sources`]. For a side with an apparatus
//!    it posts [`Coupling::apparatus_config_request`] to `/config` and puts
//!    the answer in [`Sources::apparatus_config`].
//! 3. [`Coupling::inputs_hash`] says whether anything changed since the
//!    last cycle (docs/lifecycle.md, "Level-triggered updates").
//! 4. [`Coupling::configs`] resolves and validates both configs;
//!    [`Coupling::render_event`] renders the resources of an event;
//!    [`Coupling::results`] and [`Coupling::render_result_resources`] do the
//!    result phase; [`Coupling::render_decouple_deletes`] lists what to
//!    delete at decouple. [`render_own_event`] covers `created`/`deleted`.
//!
//! Error messages ([`Error`]) are the user-facing `Failed` condition texts
//! and never contain config, result or Secret values; [`Redactor`] cleans
//! any other text the edge writes.

mod apparatus;
mod coupling;
mod error;
pub mod fieldpath;
mod hash;
mod interface;
mod lifecycle;
mod maps;
mod owner;
mod plan;
mod redact;
mod render;
mod resolve;
mod side;
mod sources;
mod template;
mod vars;
mod warning;

pub use apparatus::apparatus_own_request;
pub use coupling::Coupling;
pub use error::{Error, Result, Stage};
pub use fieldpath::{FieldValue, lookup};
pub use hash::sha256_hex;
pub use interface::{Configs, Missing, Results, Validated, validate};
pub use lifecycle::{
    CouplingEvent, OwnEvent, auto_deleted, drift_repaired, render_own_event, resources_on,
};
pub use maps::{MapKind, MapObject, maps_read, named_maps, reads_map};
pub use owner::Owner;
pub use plan::{FetchPlan, SidePlan};
pub use redact::{REDACTED, Redactor};
pub use render::Rendered;
pub use render::manifest::{
    LABEL_OWNER_KIND, LABEL_OWNER_NAME, LABEL_OWNER_NAMESPACE, LABEL_OWNER_UID,
};
pub use side::{Pair, Side};
pub use sources::{ObjectKey, Sources, VarTarget};
pub use template::NO_VALUE;
pub use vars::{VarList, VarRef};
pub use warning::{Warning, Warnings};

//! The `integration.rock8s.com/v1beta1` API: Plug, Socket,
//! DeferredResource, Application and Component.
//!
//! Field names and JSON shapes match the original Go operator so that
//! existing manifests apply unchanged; the additions are optional. Every
//! optional field is an `Option` that is skipped when `None`, so a
//! deserialize/serialize round trip never adds fields. Defaults that the
//! wire leaves implicit (`do`, `when`, timeouts, service account) are
//! applied by accessor methods, never written back.
//!
//! Doc comments on the types become the CRD schema descriptions that
//! `kubectl explain` shows; [`crds`] builds the CustomResourceDefinitions.

pub mod application;
pub mod common;
pub mod constants;
pub mod deferred;
pub mod plug;
pub mod plug_link;
mod schema;
pub mod socket;

pub use application::*;
pub use common::*;
pub use constants::*;
pub use deferred::*;
pub use plug::*;
pub use plug_link::*;
pub use schema::crds;
pub use socket::*;

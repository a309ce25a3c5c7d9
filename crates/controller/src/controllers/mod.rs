//! The controllers, one folder each: a pure `decide` part, tested beside
//! it, and the I/O of a pass. [`crate::run_until`] starts them all.

pub mod admission;
pub mod application;
pub mod deferred;
pub mod plug;
pub mod socket;

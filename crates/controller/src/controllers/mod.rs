//! The controllers, one folder each.

pub mod deferred;

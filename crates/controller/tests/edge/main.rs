//! The edge's building blocks against the emulator (F0 of integration.md §9).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
mod discovery;
mod events;
mod fetch;
mod impersonation;
mod objects;

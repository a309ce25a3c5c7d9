//! The edge's building blocks against the emulator (fixture F0:
//! docs/scenarios.md, "Fixtures").

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
mod discovery;
mod events;
mod fetch;
mod impersonation;
mod objects;

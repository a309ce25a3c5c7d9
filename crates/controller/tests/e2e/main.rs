//! The Plug, Socket and DeferredResource controllers end to end against the emulator
//! (scenarios and fixture F0 of docs/scenarios.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod apparatus;
mod application;
mod bad_input;
mod chaos;
mod compat;
mod deferred;
mod drift;
mod forced;
mod harness;
mod leader;
mod limit;
mod metrics;
mod more_scenarios;
mod scenarios;
mod wiring;

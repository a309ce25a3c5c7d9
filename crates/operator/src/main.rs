//! integration-operator: declarative integrations between Kubernetes
//! applications, with plugs and sockets.

use std::process::ExitCode;

use clap::Parser;

mod cli;

/// mimalloc: under many concurrent reconcile passes glibc malloc's arena
/// locks dominated the operator's profile (see the couplings bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}

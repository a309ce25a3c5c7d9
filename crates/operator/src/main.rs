//! integration-operator: declarative integrations between Kubernetes
//! applications, with plugs and sockets.

use std::process::ExitCode;

use clap::Parser;

mod cli;

/// mimalloc, with the `mimalloc` feature: faster under many concurrent
/// passes (glibc malloc's arena locks dominated a profile of the couplings
/// bench), but it held about twice the memory of the system allocator at
/// 1,000 plugs (README, "Operator: memory at scale"), so it is opt-in.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}

//! integration-operator: declarative integrations between Kubernetes
//! applications, with plugs and sockets.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}

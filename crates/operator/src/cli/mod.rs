//! Command-line interface: one module per subcommand.

use std::process::ExitCode;

use anyhow::Context;

use clap::{Parser, Subcommand};

mod crds;
#[cfg(feature = "dev")]
mod dev;
mod endpoints;
mod graph;
mod operate;
mod render;
mod run;
mod shown;
mod template;
mod yaml;

/// Declarative integrations between Kubernetes applications: plugs couple to
/// sockets, exchange validated config and results, and apply templated
/// resources on lifecycle events.
#[derive(Debug, Parser)]
#[command(name = "integration-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions (Plug, Socket, DeferredResource,
    /// Application, Component) as multi-document YAML, ready for
    /// `kubectl apply -f -`.
    Crds,
    /// Render one template ({% %} delimiters) with data from a JSON or YAML
    /// file, as the operator would.
    Template(template::Args),
    /// Run the Plug, Socket and DeferredResource controllers against the
    /// current cluster until SIGINT or SIGTERM.
    Run(run::Args),
    /// Show offline what a plug and its socket would do: both configs, both
    /// results, and the resources each side applies or deletes at each event.
    /// Or, with --application/--component, what an Application and its
    /// Components would create and their predicted status, through the
    /// controllers' own functions (exit 1 when a spec is invalid).
    ///
    /// A side's apparatus `/config` is called when its endpoint is an
    /// absolute URL or --plug-apparatus/--socket-apparatus gives one
    /// (otherwise, or with --no-apparatus, it counts as empty); its event
    /// paths are never called, because they have side effects.
    Render(render::Args),
    /// Draw the applications of a namespace or cluster and how they are
    /// wired (connectsTo flows, links across namespaces, plain plugs and
    /// sockets) as Mermaid or Graphviz DOT, from manifests (--file) or from
    /// the live cluster.
    Graph(graph::Args),
    /// Start an in-memory API server (kube-emulator) with the CRDs and the
    /// operator in this process; optionally apply a directory of manifests
    /// and report how its plugs coupled and its Applications and Components
    /// read.
    #[cfg(feature = "dev")]
    Dev(dev::Args),
}

impl Cli {
    /// Runs the chosen subcommand. Errors are printed to stderr with their
    /// causes and give exit code 1.
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Crds => crds::run(),
            Command::Template(args) => template::run(args),
            Command::Render(args) => render::run(args),
            Command::Run(args) => run::run(args),
            Command::Graph(args) => graph::run(args),
            #[cfg(feature = "dev")]
            Command::Dev(args) => dev::run(args),
        };
        result.unwrap_or_else(|err| {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        })
    }
}

/// SIGINT or SIGTERM. The handlers are installed when this is built, not
/// when it is first awaited, so a signal sent right after the usage text
/// is printed is not lost (and does not kill the process outright).
#[cfg(unix)]
pub(crate) fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

#[cfg(not(unix))]
pub(crate) fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

//! `run`: the Plug, Socket and DeferredResource controllers against the
//! cluster of the current kubeconfig (or the in-cluster service account).

use std::process::ExitCode;

use anyhow::Context;
use integration_controller::apparatus::DEFAULT_CLUSTER_DOMAIN;
use integration_controller::{ApparatusOptions, DEFAULT_CONCURRENCY, DEFAULT_RESYNC, RunOptions};
use tracing_subscriber::EnvFilter;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Watch this namespace only; empty or absent watches all.
    #[arg(long, env = "WATCH_NAMESPACE", value_name = "NS")]
    namespace: Option<String>,
    /// Reconciles in flight per controller.
    #[arg(long, env = "MAX_CONCURRENT_RECONCILES", default_value_t = DEFAULT_CONCURRENCY)]
    concurrency: u16,
    /// DNS domain of the cluster, for apparatus Service URLs
    /// (`<owner>-apparatus.<ns>.svc.<domain>`).
    #[arg(long, env = "CLUSTER_DOMAIN", default_value = DEFAULT_CLUSTER_DOMAIN, value_name = "DOMAIN")]
    cluster_domain: String,
    /// Base URL of every plug's apparatus, instead of the one its spec
    /// gives (local development).
    #[arg(long, env = "DEBUG_PLUG_ENDPOINT", value_name = "URL")]
    plug_endpoint: Option<String>,
    /// Base URL of every socket's apparatus, instead of the one its spec
    /// gives (local development).
    #[arg(long, env = "DEBUG_SOCKET_ENDPOINT", value_name = "URL")]
    socket_endpoint: Option<String>,
    /// The namespace Prometheus scrapes from: Applications' network
    /// policies admit it on their metrics ports.
    #[arg(long, env = "SCRAPE_NAMESPACE", value_name = "NS")]
    scrape_namespace: Option<String>,
    /// Log filter: a level (`info`, `debug`, …) or `tracing` directives
    /// (`integration_controller=debug,kube=info`).
    #[arg(long, env = "LOG_LEVEL", default_value = "info", value_name = "LEVEL")]
    log_level: String,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(flatten)]
    operate: super::operate::OperateArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logging(&args)?;
    // kube's TLS is rustls with ring; make ring the process default once so
    // no other rustls user picks a different provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = RunOptions {
        namespace: args.namespace.filter(|ns| !ns.is_empty()),
        concurrency: args.concurrency,
        resync: DEFAULT_RESYNC,
        apparatus: ApparatusOptions {
            cluster_domain: args.cluster_domain,
            plug_endpoint: args.plug_endpoint.filter(|e| !e.is_empty()),
            socket_endpoint: args.socket_endpoint.filter(|e| !e.is_empty()),
            ..ApparatusOptions::default()
        },
        scrape_namespace: args.scrape_namespace.filter(|ns| !ns.is_empty()),
        ..RunOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let endpoints = args.operate.endpoints.bind().await?;
        let client = kube::Client::try_default()
            .await
            .context("connecting to the cluster (kubeconfig or in-cluster config)")?;
        super::operate::run(client, options, &args.operate, endpoints).await
    })?;
    Ok(ExitCode::SUCCESS)
}

fn init_logging(args: &Args) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&args.log_level)
        .with_context(|| format!("invalid --log-level {:?}", args.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

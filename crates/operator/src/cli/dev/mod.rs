//! `dev`: a whole development cluster in one process. Starts kube-emulator
//! on a loopback port, installs the CRDs, runs the operator's controllers
//! as their own service account (the RBAC of docs/operations.md), and
//! optionally applies a directory of manifests and reports how its plugs
//! coupled and how its Applications and Components read. Nothing is
//! persisted: stopping the process discards the cluster.

mod identity;
mod manifests;
mod report;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use integration_controller::{ApparatusOptions, Cluster, RunOptions};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube_emulator::{Emulator, Options};
use tracing_subscriber::EnvFilter;

use super::endpoints::Health;

/// Field manager of everything `dev` itself applies (CRDs, the operator's
/// RBAC, `--apply` manifests), so `managedFields` tell it apart from the
/// operator's own `integration-operator`.
const FIELD_MANAGER: &str = "integration-operator-dev";

/// How long the CRDs may take to be served.
const SETTLE: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Loopback port of the API server; 0 picks a free one (the kubeconfig
    /// names it either way).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write a cluster-admin kubeconfig for kubectl
    /// [default: integration-operator-dev.kubeconfig in the temp directory].
    #[arg(long, value_name = "PATH", conflicts_with = "once")]
    kubeconfig: Option<PathBuf>,
    /// Apply every .yaml/.yml/.json manifest of DIR (sorted by file name,
    /// several documents per file; `kind: ClusterFacts` documents, for
    /// `render`, are skipped) after the CRDs, then wait for its plugs to
    /// couple and its Applications and Components to settle, and print
    /// what they did.
    #[arg(long, value_name = "DIR")]
    apply: Option<PathBuf>,
    /// Apply, wait, print the result as YAML and exit: 0 when every plug
    /// coupled and every Application and Component was reconciled and is
    /// not Failed (workloads never become ready here: no workload
    /// controller runs), 1 otherwise. Nothing is served.
    #[arg(long, requires = "apply")]
    once: bool,
    /// Seconds to wait for the plugs of --apply to couple and its
    /// Applications and Components to settle.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    timeout: u64,
    /// Log filter for the operator and the emulator (stderr).
    #[arg(long, env = "LOG_LEVEL", default_value = "warn", value_name = "LEVEL")]
    log_level: String,
    /// `run`'s `/healthz`, `/readyz` and `/metrics`, when given.
    #[command(flatten)]
    endpoints: super::endpoints::EndpointArgs,
    /// Base URL of every plug's apparatus: a server you run yourself (no
    /// apparatus Pod or Service is created for plugs).
    #[arg(long, env = "DEBUG_PLUG_ENDPOINT", value_name = "URL")]
    plug_endpoint: Option<String>,
    /// Base URL of every socket's apparatus: a server you run yourself (no
    /// apparatus Pod or Service is created for sockets).
    #[arg(long, env = "DEBUG_SOCKET_ENDPOINT", value_name = "URL")]
    socket_endpoint: Option<String>,
}

impl Args {
    /// How the controllers run: local apparatus endpoints, when given.
    fn run_options(&self) -> RunOptions {
        let local = |e: &Option<String>| e.clone().filter(|e| !e.is_empty());
        RunOptions {
            apparatus: ApparatusOptions {
                plug_endpoint: local(&self.plug_endpoint),
                socket_endpoint: local(&self.socket_endpoint),
                overrides_are_local: true,
                ..ApparatusOptions::default()
            },
            ..RunOptions::default()
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let filter = EnvFilter::try_new(&args.log_level)
        .with_context(|| format!("invalid --log-level {:?}", args.log_level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))?;
    // One rustls provider for the emulator's server and kube's clients.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Read the manifests before starting anything: a bad directory fails
    // at once, with nothing applied.
    let manifests = args.apply.as_deref().map(manifests::read_dir).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(session(args, manifests))
}

async fn session(
    args: Args,
    manifests: Option<Vec<manifests::Manifest>>,
) -> anyhow::Result<ExitCode> {
    let endpoints = args.endpoints.bind_given().await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let emu = Emulator::serve_on(addr, Options::default())
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let admin = emu.client();
    install_crds(&admin).await?;

    let token = identity::token(&admin, FIELD_MANAGER)
        .await
        .context("setting up the operator's service account")?;
    let config = emu
        .config_for_token(&token)
        .context("the emulator is not listening")?;
    let operator = kube::Client::try_from(config).context("building the operator's client")?;
    let options = args.run_options();
    let health = Health {
        synced: options.synced.clone(),
        ..Health::default()
    };
    endpoints.serve(Arc::new(health), &options.metrics);
    let controllers = tokio::spawn(integration_controller::run_until(
        operator,
        options,
        std::future::pending(),
    ));
    let outcome = work(&args, &emu, &admin, manifests).await;
    // The controllers are aborted, not shut down gracefully: the cluster
    // they work on dies with this process, so a half-done reconcile loses
    // nothing, and a graceful stop before their first list completes would
    // wait for a store that never fills. They go before the emulator, so
    // they never log errors about a vanished server.
    controllers.abort();
    let _ = controllers.await;
    outcome
}

/// Writes the kubeconfig, applies and reports, then serves until a signal
/// (unless `--once`).
async fn work(
    args: &Args,
    emu: &Emulator,
    admin: &kube::Client,
    manifests: Option<Vec<manifests::Manifest>>,
) -> anyhow::Result<ExitCode> {
    let kubeconfig = match (&args.kubeconfig, args.once) {
        (_, true) => None,
        (Some(path), false) => Some(path.clone()),
        (None, false) => Some(std::env::temp_dir().join("integration-operator-dev.kubeconfig")),
    };
    // Listen before the kubeconfig tells anyone the server is up: whoever
    // reads it may signal at once.
    let signal = if args.once {
        None
    } else {
        Some(super::shutdown_signal()?)
    };
    if let Some(path) = &kubeconfig {
        write_private(path, &emu.kubeconfig_yaml())?;
    }

    let mut all_coupled = true;
    if let Some(manifests) = manifests {
        all_coupled = apply_and_report(admin, manifests, args.timeout).await?;
    }

    if let (Some(path), Some(signal)) = (kubeconfig.as_deref(), signal) {
        print_usage(&emu.url(), path);
        signal.await;
        eprintln!("integration-operator dev: stopping");
        // Serving ended as asked: a plug that did not couple was reported
        // above and could have been fixed meanwhile.
        return Ok(ExitCode::SUCCESS);
    }
    Ok(if all_coupled {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Applies the manifests, waits for their plugs to couple and their
/// Applications and Components to settle (both at once), and prints the
/// report as YAML on stdout; returns whether every plug coupled and every
/// Application and Component was reconciled without failing.
async fn apply_and_report(
    admin: &kube::Client,
    manifests: Vec<manifests::Manifest>,
    timeout: u64,
) -> anyhow::Result<bool> {
    let applied = manifests::apply(admin, manifests, FIELD_MANAGER).await?;
    let ours = |m: &&manifests::Manifest, kinds: &[&str]| {
        kinds.contains(&m.kind()) && m.api_version().starts_with("integration.rock8s.com/")
    };
    let plugs: Vec<(String, String)> = applied
        .iter()
        .filter(|m| ours(m, &["Plug"]))
        .map(|m| {
            let ns = m.namespace().unwrap_or("default");
            (ns.to_string(), m.name().to_string())
        })
        .collect();
    let parents: Vec<report::application::Key> = applied
        .iter()
        .filter(|m| ours(m, &["Application", "Component"]))
        .map(|m| report::application::Key {
            kind: m.kind().to_string(),
            namespace: m.namespace().unwrap_or("default").to_string(),
            name: m.name().to_string(),
        })
        .collect();
    let timeout = Duration::from_secs(timeout);
    let (last, last_parents) = tokio::join!(
        report::wait(admin, &plugs, timeout),
        report::application::wait(admin, &parents, timeout),
    );
    let all_coupled = last
        .iter()
        .all(|p| p.as_ref().is_some_and(report::is_coupled));
    let all_settled = last_parents
        .iter()
        .all(|p| p.as_ref().is_some_and(report::application::is_ok));
    let cluster = Cluster::new(admin.clone());
    let mut entries = Vec::with_capacity(plugs.len());
    for (key, plug) in plugs.iter().zip(&last) {
        entries.push(report::plug_report(&cluster, key, plug.as_ref()).await);
    }
    let mut report = Report {
        plugs: None,
        applications: Vec::new(),
        components: Vec::new(),
    };
    for (key, parent) in parents.iter().zip(&last_parents) {
        let entry = report::application::parent_report(admin, key, parent.as_ref()).await;
        if key.kind == "Application" {
            report.applications.push(entry);
        } else {
            report.components.push(entry);
        }
    }
    // `plugs` always, as before, unless the directory has only
    // Applications and Components.
    if !entries.is_empty() || parents.is_empty() {
        report.plugs = Some(entries);
    }
    let yaml = serde_saphyr::to_string(&report).context("writing YAML")?;
    print!("{yaml}");
    let _ = std::io::stdout().flush();
    let seconds = timeout.as_secs();
    if !all_coupled {
        eprintln!(
            "error: not every plug coupled (within {seconds}s); see each plug's reason, message and error"
        );
    }
    if !all_settled {
        eprintln!(
            "error: not every Application and Component was reconciled without failing (within {seconds}s); see each one's phase, reason and message"
        );
    }
    Ok(all_coupled && all_settled)
}

/// What `dev --apply` prints: each section in the order a reader wants it.
#[derive(serde::Serialize)]
struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    plugs: Option<Vec<report::PlugReport>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    applications: Vec<report::application::ParentReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<report::application::ParentReport>,
}

/// Installs the CRDs server-side and waits until each is served.
async fn install_crds(admin: &kube::Client) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for crd in integration_api::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .with_context(|| format!("installing CRD {name}"))?;
        tokio::time::timeout(
            SETTLE,
            await_condition(api.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .with_context(|| format!("CRD {name} not established within {SETTLE:?}"))?
        .with_context(|| format!("waiting for CRD {name}"))?;
    }
    Ok(())
}

/// Writes `text` readable by the owner only (it holds the admin token),
/// through a temporary file and a rename, so a reader never sees half.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("kubeconfig.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

fn print_usage(url: &str, kubeconfig: &Path) {
    let path = kubeconfig.display();
    println!(
        "\nintegration-operator dev: kube-emulator serving {url}, the CRDs installed, the operator running\n\
         as {} (ClusterRole {}, see docs/operations.md).\n\
         The kubeconfig {path} is cluster-admin:\n\n  \
         export KUBECONFIG={path}\n  \
         kubectl get plugs,sockets -A\n  \
         kubectl apply --server-side -f examples/express-mongodb/\n\n\
         State is in memory only. Ctrl-C or SIGTERM stops.",
        identity::username(),
        identity::NAME,
    );
    let _ = std::io::stdout().flush();
}

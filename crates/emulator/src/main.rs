//! `kube-emulator --port PORT --kubeconfig PATH`: serves the emulator until interrupted.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use kube_emulator::{Emulator, Options};

/// In-memory Kubernetes API server emulator for tests.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Where to write a kubeconfig for the admin user.
    #[arg(long)]
    kubeconfig: PathBuf,
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let emu = Emulator::serve_on(SocketAddr::new(args.host, args.port), Options::default())
        .await
        .context("binding the listener")?;
    std::fs::write(&args.kubeconfig, emu.kubeconfig_yaml())
        .with_context(|| format!("writing {}", args.kubeconfig.display()))?;
    eprintln!(
        "kube-emulator serving {} (kubeconfig {})",
        emu.url(),
        args.kubeconfig.display()
    );
    shutdown_signal().await?;
    eprintln!("kube-emulator: stopping");
    Ok(())
}

//! What `run` needs in a real cluster around the controllers
//! (docs/operations.md): the health and metrics endpoints, and leader
//! election.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use integration_controller::RunOptions;
use integration_controller::leader::{self, LeaseConfig};

use super::endpoints::{EndpointArgs, Endpoints, Health};

/// The flags of `run` for operating it.
#[derive(Debug, clap::Args)]
pub struct OperateArgs {
    #[command(flatten)]
    pub endpoints: EndpointArgs,
    /// Run the controllers only while holding the Lease
    /// `integration-operator` in the operator's namespace, so that several
    /// replicas can run; losing the Lease exits with status 1.
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", value_name = "BOOL")]
    leader_elect: bool,
    /// Namespace of the leader Lease (the operator's own).
    #[arg(
        long,
        env = "POD_NAMESPACE",
        default_value = "integration-system",
        value_name = "NS"
    )]
    leader_election_namespace: String,
    /// How long a leader's Lease stays valid without a renewal: how long
    /// the replicas wait for a crashed leader.
    #[arg(long, default_value = "15s", value_parser = duration, value_name = "DURATION")]
    leader_elect_lease_duration: Duration,
    /// How long a leader keeps leading while its renewals fail; shorter
    /// than the lease duration.
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    leader_elect_renew_deadline: Duration,
    /// How often a contender tries to take the Lease and the leader renews
    /// it; shorter than the renew deadline.
    #[arg(long, default_value = "2s", value_parser = duration, value_name = "DURATION")]
    leader_elect_retry_period: Duration,
}

/// A duration flag: `15s`, `1m30s`, `500ms` (or ISO 8601, `PT15S`).
fn duration(value: &str) -> Result<Duration, String> {
    let parsed: jiff::SignedDuration = value
        .parse()
        .map_err(|e| format!("not a duration like 15s or 1m30s: {e}"))?;
    Duration::try_from(parsed).map_err(|_| "a duration cannot be negative".to_string())
}

/// Serves the endpoints, then runs the controllers until SIGINT/SIGTERM,
/// only while leading when `--leader-elect` is on. Losing the Lease is an
/// error (exit status 1, so the pod restarts).
pub async fn run(
    client: kube::Client,
    options: RunOptions,
    args: &OperateArgs,
    endpoints: Endpoints,
) -> anyhow::Result<()> {
    let health = Arc::new(Health {
        leader_election: args.leader_elect,
        synced: options.synced.clone(),
        ..Health::default()
    });
    endpoints.serve(health.clone(), &options.metrics);
    let shutdown = super::shutdown_signal()?;
    if !args.leader_elect {
        integration_controller::run_until(client, options, shutdown).await;
        return Ok(());
    }
    let config = LeaseConfig {
        lease_duration: args.leader_elect_lease_duration,
        renew_deadline: args.leader_elect_renew_deadline,
        retry_period: args.leader_elect_retry_period,
        ..LeaseConfig::new(&args.leader_election_namespace, identity())
    };
    let (lease, metrics) = (config.name.clone(), options.metrics.clone());
    tracing::info!(identity = %config.identity, namespace = %config.namespace, "waiting for the leader lease");
    let on_change = move |leading: bool| {
        health.leading.store(leading, Ordering::SeqCst);
        metrics.set_leading(&lease, leading);
    };
    let controllers_client = client.clone();
    leader::run_elected(client, config, shutdown, on_change, move |stop| {
        integration_controller::run_until(controllers_client, options, stop)
    })
    .await?;
    Ok(())
}

/// This process's `holderIdentity`: the pod name (`POD_NAME`, else the
/// host name) and a random suffix, so a restarted pod is a new contender.
fn identity() -> String {
    let host = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "integration-operator".to_string());
    let suffix: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(8)
        .collect();
    format!("{host}_{}", suffix.to_lowercase())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::Parser;
    use serde_json::Value;

    const DEPLOYMENT: &str = include_str!("../../../../deploy/deployment.yaml");

    /// The install manifest runs `run` with flags this binary accepts,
    /// hardened, and with several replicas only under leader election.
    #[test]
    fn the_deployment_runs_valid_flags_hardened() {
        let deployment: Value = serde_saphyr::from_str(DEPLOYMENT).unwrap();
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let parsed = super::super::Cli::try_parse_from(
            std::iter::once("integration-operator").chain(args.iter().copied()),
        );
        assert!(parsed.is_ok(), "{args:?}: {}", parsed.unwrap_err());
        let replicas = deployment["spec"]["replicas"].as_u64().unwrap();
        assert!(replicas == 1 || args.contains(&"--leader-elect"));
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["capabilities"]["drop"][0], "ALL");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        for probe in ["livenessProbe", "readinessProbe"] {
            assert_eq!(container[probe]["httpGet"]["port"], "health");
        }
        assert_eq!(container["ports"][1]["containerPort"], 8081);
        assert!(container["resources"]["limits"]["memory"].is_string());
    }

    #[test]
    fn lease_timings_are_durations() {
        assert_eq!(duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(duration("15").unwrap_err().contains("15s"));
        assert!(duration("-2s").unwrap_err().contains("negative"));
        let cli = super::super::Cli::try_parse_from([
            "integration-operator",
            "run",
            "--leader-elect-lease-duration",
            "soon",
        ]);
        let error = cli.unwrap_err().to_string();
        assert!(error.contains("--leader-elect-lease-duration"), "{error}");
    }

    /// The flags' defaults are the election's own: one set of timings.
    #[test]
    fn lease_flag_defaults_are_the_election_defaults() {
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            operate: OperateArgs,
        }
        let args = Flags::try_parse_from(["run"]).unwrap().operate;
        assert_eq!(
            (
                args.leader_elect_lease_duration,
                args.leader_elect_renew_deadline,
                args.leader_elect_retry_period,
            ),
            (
                leader::DEFAULT_LEASE_DURATION,
                leader::DEFAULT_RENEW_DEADLINE,
                leader::DEFAULT_RETRY_PERIOD,
            )
        );
    }

    #[test]
    fn identities_differ_per_process_start() {
        let (a, b) = (identity(), identity());
        assert_ne!(a, b);
        assert!(a.contains('_') && !a.starts_with('_'), "{a}");
    }
}

//! The HTTP endpoints of `run` and `dev` (docs/operations.md,
//! "Endpoints"): `/healthz` and `/readyz` on the health probe address,
//! Prometheus `/metrics` on the metrics address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// The endpoint flags, the same for `run` and `dev`. `run` serves both by
/// default; `dev` only when given (several `dev` processes, as tests run
/// them, must not fight over fixed ports).
#[derive(Debug, clap::Args)]
pub struct EndpointArgs {
    /// Where `/healthz` and `/readyz` listen: HOST:PORT, :PORT, or 0 (off).
    /// `run` listens on :8081 unless told otherwise, `dev` only when given.
    #[arg(long, value_name = "ADDR")]
    health_probe_bind_address: Option<String>,
    /// Where Prometheus `/metrics` listens: HOST:PORT, :PORT, or 0 (off).
    /// `run` listens on :8080 unless told otherwise, `dev` only when given.
    #[arg(long, value_name = "ADDR")]
    metrics_bind_address: Option<String>,
}

/// `run`'s addresses when the flags are not given.
const RUN_DEFAULTS: (&str, &str) = (":8081", ":8080");

/// Bound listeners, checked before anything talks to the cluster.
pub struct Endpoints {
    health: Option<TcpListener>,
    metrics: Option<TcpListener>,
}

impl EndpointArgs {
    /// Binds the addresses of `run`: the flags, else `:8081` and `:8080`
    /// (flags set to 0 bind nothing).
    pub async fn bind(&self) -> anyhow::Result<Endpoints> {
        self.bind_or(RUN_DEFAULTS.0, RUN_DEFAULTS.1).await
    }

    /// Binds the addresses of `dev`: only those given.
    #[cfg(feature = "dev")]
    pub async fn bind_given(&self) -> anyhow::Result<Endpoints> {
        self.bind_or("0", "0").await
    }

    async fn bind_or(&self, health: &str, metrics: &str) -> anyhow::Result<Endpoints> {
        let health_flag = self.health_probe_bind_address.as_deref();
        let metrics_flag = self.metrics_bind_address.as_deref();
        Ok(Endpoints {
            health: bind_flag("--health-probe-bind-address", health_flag.unwrap_or(health)).await?,
            metrics: bind_flag("--metrics-bind-address", metrics_flag.unwrap_or(metrics)).await?,
        })
    }
}

async fn bind_flag(flag: &str, value: &str) -> anyhow::Result<Option<TcpListener>> {
    match parse_bind(flag, value)? {
        Some(addr) => Ok(Some(bind(flag, addr).await?)),
        None => Ok(None),
    }
}

impl Endpoints {
    /// Serves the probes from `health` and every series of `metrics` on
    /// the bound addresses, until the process ends.
    pub fn serve(self, health: Arc<Health>, metrics: &integration_controller::Metrics) {
        if let Some(listener) = self.health {
            spawn("health probes", listener, health_routes(health));
        }
        if let Some(listener) = self.metrics {
            let mut registry = Registry::default();
            metrics.register(&mut registry);
            spawn("metrics", listener, metrics_routes(Arc::new(registry)));
        }
    }
}

/// What the probes report.
#[derive(Debug, Default)]
pub struct Health {
    /// Whether this process contends for the leader Lease.
    pub leader_election: bool,
    /// Whether it holds the Lease now.
    pub leading: AtomicBool,
    /// Set once the controllers' caches have synced
    /// (`RunOptions::synced`).
    pub synced: Arc<AtomicBool>,
}

impl Health {
    /// Ready once the controllers' caches have synced; a standby waiting
    /// for the Lease is ready too, so rolling updates can proceed while
    /// another replica leads.
    pub fn ready(&self) -> bool {
        let standby = self.leader_election && !self.leading.load(Ordering::SeqCst);
        standby || self.synced.load(Ordering::SeqCst)
    }
}

/// Parses a bind address flag: `HOST:PORT`, `:PORT` (every interface),
/// or `0` (the endpoint is off, `None`).
pub fn parse_bind(flag: &str, value: &str) -> anyhow::Result<Option<SocketAddr>> {
    if value == "0" {
        return Ok(None);
    }
    let full = match value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => value.to_string(),
    };
    full.parse()
        .map(Some)
        .with_context(|| format!("invalid {flag} {value:?}: expected HOST:PORT, :PORT or 0 (off)"))
}

/// Binds `addr`, naming the flag in the error.
pub async fn bind(flag: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({flag})"))
}

/// `/healthz` (200 while the process serves) and `/readyz` (200 when
/// [`Health::ready`], else 503).
pub fn health_routes(health: Arc<Health>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(health)
}

async fn readyz(State(health): State<Arc<Health>>) -> impl IntoResponse {
    if health.ready() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
    }
}

/// `/metrics`: every metric of `registry` in the OpenMetrics text format.
pub fn metrics_routes(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry)
}

async fn metrics(State(registry): State<Arc<Registry>>) -> impl IntoResponse {
    let mut body = String::new();
    match encode(&mut body, &registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics").into_response(),
    }
}

/// Serves `routes` on `listener` until the process ends; a failing server
/// is logged, not fatal (the probes then fail and the kubelet acts).
pub fn spawn(name: &'static str, listener: TcpListener, routes: Router) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving {name}");
    }
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, routes).await {
            tracing::error!(error = %e, "{name} server stopped");
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use integration_controller::Metrics;
    use integration_controller::metrics::ControllerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn serve(routes: Router) -> SocketAddr {
        let listener = bind("test", "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn("test", listener, routes);
        addr
    }

    /// Status code and body of `GET path`.
    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let code = response[9..12].parse().unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        (code, body)
    }

    #[test]
    fn bind_addresses_follow_the_go_flags() {
        let parse = |v| parse_bind("--metrics-bind-address", v).unwrap();
        assert_eq!(parse("0"), None);
        assert_eq!(parse(":8080"), Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(parse("127.0.0.1:9"), Some("127.0.0.1:9".parse().unwrap()));
        assert_eq!(parse("[::1]:9"), Some("[::1]:9".parse().unwrap()));
        let err = parse_bind("--metrics-bind-address", "localhost").unwrap_err();
        assert!(err.to_string().contains("invalid --metrics-bind-address"));
    }

    #[test]
    fn ready_when_synced_or_standing_by() {
        let alone = Health::default();
        assert!(!alone.ready());
        alone.synced.store(true, Ordering::SeqCst);
        assert!(alone.ready());

        let elected = Health {
            leader_election: true,
            ..Health::default()
        };
        assert!(elected.ready(), "a standby is ready");
        elected.leading.store(true, Ordering::SeqCst);
        assert!(
            !elected.ready(),
            "a new leader is not ready before its caches"
        );
        elected.synced.store(true, Ordering::SeqCst);
        assert!(elected.ready());
    }

    #[tokio::test]
    async fn probes_answer_on_the_health_port() {
        let health = Arc::new(Health::default());
        let addr = serve(health_routes(health.clone())).await;
        assert_eq!(get(addr, "/healthz").await, (200, "ok".into()));
        assert_eq!(get(addr, "/readyz").await.0, 503);
        health.synced.store(true, Ordering::SeqCst);
        assert_eq!(get(addr, "/readyz").await, (200, "ok".into()));
        assert_eq!(get(addr, "/metrics").await.0, 404);
    }

    #[tokio::test]
    async fn metrics_show_reconcile_counts_and_operator_series() {
        let metrics = Metrics::default();
        let _: Result<(), ()> = metrics
            .passes
            .record(ControllerName::Socket, async { Ok(()) })
            .await;
        metrics.count_apparatus_call("config", Some(200));
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let addr = serve(metrics_routes(Arc::new(registry))).await;
        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(
            body.contains(
                r#"controller_runtime_reconcile_total{controller="socket",result="success"} 1"#
            ),
            "{body}"
        );
        // The operator's own series are next to controller-runtime's.
        assert!(
            body.contains(
                r#"integration_operator_apparatus_calls_total{path="config",code="200"} 1"#
            ),
            "{body}"
        );
        assert!(body.trim_end().ends_with("# EOF"), "{body}");
    }
}

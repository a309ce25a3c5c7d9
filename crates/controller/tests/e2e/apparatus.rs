//! Issue #5: the apparatus end to end. A real HTTP server started by the
//! test plays the apparatus and records every request; "not running" is a
//! reserved port nobody listens on yet, which is what a Pod that is still
//! starting looks like.
//!
//! * A15 in full: the Service and Pod, the requests in order with their
//!   exact body keys and version types, the config merge, the idle reaper
//!   (with the Service left), a later event re-creating the Pod, and a
//!   restarted operator still reaping.
//! * A socket's apparatus, started by its own pass and called by the plug's.
//! * An apparatus that is down, slow, answers 500 or invalid JSON leaves a
//!   clear `Failed` message naming the URL and a Warning Event, and the
//!   coupling completes once it behaves.
//! * 404 means "not implemented"; a hung apparatus blocks no other plug.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use integration_controller::{ApparatusOptions, RunOptions};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::Api;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::harness::*;

/// How the test apparatus answers.
#[derive(Clone, Debug)]
enum Mode {
    /// 200; `/config` answers the configured JSON.
    Ok,
    /// This status to everything.
    Status(u16),
    /// 200 with a body that is not JSON.
    InvalidJson,
    /// Answers (as `Ok`) only after this long.
    Slow(Duration),
}

/// One request the apparatus received.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    body: Value,
    idempotency_key: Option<String>,
    at: Instant,
}

struct Shared {
    mode: Mutex<Mode>,
    seen: Mutex<Vec<Seen>>,
    config: Value,
}

/// A recording apparatus on a reserved loopback port.
struct TestApparatus {
    addr: SocketAddr,
    shared: Arc<Shared>,
    serving: Option<(
        tokio::task::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    )>,
}

impl TestApparatus {
    /// Reserves a port; nothing listens until [`TestApparatus::listen`].
    fn reserve(config: Value) -> Self {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        TestApparatus {
            addr,
            shared: Arc::new(Shared {
                mode: Mutex::new(Mode::Ok),
                seen: Mutex::default(),
                config,
            }),
            serving: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn listen(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        let app = Router::new()
            .fallback(record_and_answer)
            .with_state(self.shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        self.serving = Some((task, stop));
    }

    /// Stops listening, as a deleted Pod would.
    async fn stop(&mut self) {
        let (task, stop) = self.serving.take().expect("serving");
        let _ = stop.send(());
        within(10, "test apparatus stops", task).await.unwrap();
    }

    fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.path).collect()
    }

    /// Waits until a request to `path` arrived.
    async fn wait_for(&self, path: &str) -> Seen {
        eventually(&format!("a request to {path}"), || async {
            self.seen().into_iter().find(|s| s.path == path)
        })
        .await
    }
}

async fn record_and_answer(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    shared.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        idempotency_key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        at: Instant::now(),
    });
    let mode = shared.mode.lock().unwrap().clone();
    match mode {
        Mode::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Mode::InvalidJson => (StatusCode::OK, "not json {").into_response(),
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            ok_answer(&path, &shared.config)
        }
        Mode::Ok => ok_answer(&path, &shared.config),
    }
}

fn ok_answer(path: &str, config: &Value) -> Response {
    if path.ends_with("/config") {
        axum::Json(config.clone()).into_response()
    } else {
        StatusCode::OK.into_response()
    }
}

/// The A15 apparatus answer.
fn a15_config() -> Value {
    json!({"database": "from-apparatus", "port": 5432})
}

/// Short apparatus timings for tests; plug calls go to `plug_url`.
fn options(plug_url: Option<String>, socket_url: Option<String>) -> RunOptions {
    RunOptions {
        apparatus: ApparatusOptions {
            plug_endpoint: plug_url,
            socket_endpoint: socket_url,
            start_delay: Duration::from_millis(200),
            reap_period: Duration::from_millis(500),
            ..ApparatusOptions::default()
        },
        ..RunOptions::default()
    }
}

/// The containers of A15's apparatus.
const CONTAINERS: &str = "[{name: apparatus, image: 'registry.test/recorder:1', \
     ports: [{name: container, containerPort: 8080}]}]";

fn a15_plug(idle_timeout: u32) -> Value {
    manifest(
        P0,
        &[(
            "spec.apparatus",
            &format!("{{endpoint: /plug, idleTimeout: {idle_timeout}, containers: {CONTAINERS}}}"),
        )],
    )
}

fn pods(op: &Op, ns: &str) -> Api<Pod> {
    Api::namespaced(op.client.clone(), ns)
}

async fn pod(op: &Op, ns: &str, name: &str) -> Option<Pod> {
    pods(op, ns).get_opt(name).await.unwrap()
}

/// Waits until the apparatus Pod `ns/name` exists.
async fn pod_exists(op: &Op, ns: &str, name: &str) -> Pod {
    eventually(&format!("Pod {ns}/{name} exists"), || pod(op, ns, name)).await
}

/// Waits until the Pod is gone, failing at `deadline`.
async fn pod_gone_by(op: &Op, ns: &str, name: &str, deadline: Instant) {
    loop {
        if pod(op, ns, name).await.is_none() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Pod {ns}/{name} was not reaped in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object().unwrap().keys().cloned().collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

/// The owner reference of `meta` to the plug or socket with `uid`.
fn owned_by(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    kind: &str,
    name: &str,
    uid: &str,
) {
    let refs = meta.owner_references.clone().unwrap_or_default();
    assert!(
        refs.iter().any(|r| r.kind == kind
            && r.name == name
            && r.uid == uid
            && r.api_version == "integration.rock8s.com/v1beta1"),
        "no ownerReference to {kind} {name}: {refs:?}"
    );
}

#[tokio::test]
async fn a15_apparatus_lifecycle() {
    let mut apparatus = TestApparatus::reserve(a15_config());
    let mut op = Op::start_with(options(Some(apparatus.url("/plug")), None)).await;
    op.apply(S0).await;
    op.apply_value(&a15_plug(30)).await;

    // The created call finds nothing listening: the operator starts the
    // apparatus, and the test "starts" it once its Pod exists.
    let pod = pod_exists(&op, "app", "orders-db-apparatus").await;
    apparatus.listen().await;
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let plug_uid = plug.metadata.uid.clone().unwrap();
    assert!(condition(plug.status.as_ref().unwrap().conditions.as_ref(), "Failed").is_none());

    let svc: Service = Api::namespaced(op.client.clone(), "app")
        .get("orders-db-apparatus")
        .await
        .unwrap();
    let spec = serde_json::to_value(svc.spec.as_ref().unwrap()).unwrap();
    assert_eq!(
        spec["ports"],
        json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "container"}])
    );
    assert_eq!(
        spec["selector"],
        json!({"apparatus": "orders-db-apparatus"})
    );
    owned_by(&svc.metadata, "Plug", "orders-db", &plug_uid);

    let meta = &pod.metadata;
    assert_eq!(
        meta.labels.as_ref().unwrap()["apparatus"],
        "orders-db-apparatus"
    );
    assert_eq!(
        meta.annotations.as_ref().unwrap()["sidecar.istio.io/inject"],
        "false"
    );
    owned_by(meta, "Plug", "orders-db", &plug_uid);
    let pod_spec = serde_json::to_value(pod.spec.as_ref().unwrap()).unwrap();
    assert_eq!(pod_spec["serviceAccountName"], "integrator");
    assert_eq!(pod_spec["automountServiceAccountToken"], true);
    assert_eq!(
        pod_spec["containers"],
        json!([{"name": "apparatus", "image": "registry.test/recorder:1",
                "ports": [{"name": "container", "containerPort": 8080}]}])
    );
    assert!(
        pod_spec.get("affinity").is_none(),
        "no architecture pinning"
    );

    // The requests, in order: created, config (once or more), coupled,
    // then at most more config calls.
    let seen = apparatus.seen();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths[0], "/plug/created", "{paths:?}");
    let coupled_at = paths.iter().position(|p| *p == "/plug/coupled").unwrap();
    assert!(coupled_at >= 2, "{paths:?}");
    assert!(
        paths[1..coupled_at].iter().all(|p| *p == "/plug/config"),
        "{paths:?}"
    );
    assert!(
        paths[coupled_at + 1..].iter().all(|p| *p == "/plug/config"),
        "{paths:?}"
    );
    let created = &seen[0].body;
    assert_eq!(keys(created), set(&["version", "plug"]));
    assert_eq!(created["version"], json!("1"));
    assert_eq!(created["plug"]["metadata"]["name"], "orders-db");
    for config in &seen[1..coupled_at] {
        assert_eq!(
            keys(&config.body),
            set(&["version", "plug", "socket", "plugData", "socketData"])
        );
        assert_eq!(config.body["version"], json!(1));
    }
    let coupled_body = &seen[coupled_at].body;
    assert_eq!(
        keys(coupled_body),
        set(&["version", "plug", "socket", "plugConfig", "socketConfig"])
    );
    assert_eq!(coupled_body["version"], json!("1"));
    assert_eq!(coupled_body["plugConfig"]["database"], "from-apparatus");
    assert!(coupled_body["plugConfig"].get("port").is_none());
    assert_eq!(coupled_body["socketConfig"]["host"], "postgres.db.svc");
    for s in &seen {
        let key = s.idempotency_key.as_deref().unwrap_or_default();
        assert!(key.starts_with(&plug_uid), "Idempotency-Key {key:?}");
    }

    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    let url = data(&conn)["url"].as_str().unwrap().to_string();
    assert!(url.ends_with("/from-apparatus"), "{url}");
    assert_eq!(data(&conn)["keys"], "database,owner,");

    // Idle: reaped within idleTimeout + 15 s of the last call; the Service
    // stays.
    let last = apparatus.seen().last().unwrap().at;
    pod_gone_by(
        &op,
        "app",
        "orders-db-apparatus",
        last + Duration::from_secs(45),
    )
    .await;
    apparatus.stop().await;
    let services: Api<Service> = Api::namespaced(op.client.clone(), "app");
    assert!(
        services
            .get_opt("orders-db-apparatus")
            .await
            .unwrap()
            .is_some()
    );

    // A later event call re-creates the Pod through the not-running path:
    // a spec change runs the updated cycle.
    let before = apparatus.seen().len();
    op.apply_value(&a15_plug(3)).await;
    pod_exists(&op, "app", "orders-db-apparatus").await;
    apparatus.listen().await;
    apparatus.wait_for("/plug/updated").await;
    assert!(apparatus.paths()[before..].contains(&"/plug/updated".to_string()));
    eventually("the update cycle completes", || async {
        let plug = op.plug("app", "orders-db").await?;
        let done = plug.status.as_ref()?.inputs_hash.is_some()
            && coupled(plug.status.as_ref()?.conditions.as_ref())?.reason == "CouplingSucceeded"
            && coupled(plug.status.as_ref()?.conditions.as_ref())?.observed_generation
                == plug.metadata.generation;
        done.then_some(())
    })
    .await;

    // A restarted operator reaps the Pod the previous one started.
    op.stop_operator().await;
    op.start_operator();
    let last = apparatus.seen().last().unwrap().at;
    let deadline = last.max(Instant::now()) + Duration::from_secs(3 + 15);
    pod_gone_by(&op, "app", "orders-db-apparatus", deadline).await;
    assert!(
        services
            .get_opt("orders-db-apparatus")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_socket_apparatus_is_started_by_its_pass_and_called_by_the_plugs() {
    let mut apparatus = TestApparatus::reserve(json!({"host": "from-socket-apparatus"}));
    let op = Op::start_with(options(None, Some(apparatus.url("/socket")))).await;
    op.apply_value(&manifest(
        S0,
        &[(
            "spec.apparatus",
            &format!("{{endpoint: /socket, containers: {CONTAINERS}}}"),
        )],
    ))
    .await;
    let pod = pod_exists(&op, "db", "postgres-apparatus").await;
    let socket = op.socket("db", "postgres").await.unwrap();
    owned_by(
        &pod.metadata,
        "Socket",
        "postgres",
        socket.metadata.uid.as_deref().unwrap(),
    );
    assert_eq!(
        pod.spec.unwrap().service_account_name.as_deref(),
        Some("integrator")
    );
    apparatus.listen().await;
    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert_eq!(
        data(&conn)["url"],
        "postgres://from-socket-apparatus:5432/orders"
    );
    let seen = apparatus.seen();
    let created = seen.iter().find(|s| s.path == "/socket/created").unwrap();
    assert_eq!(keys(&created.body), set(&["version", "socket"]));
    let coupled = seen.iter().find(|s| s.path == "/socket/coupled").unwrap();
    assert_eq!(
        coupled.body["socketConfig"]["host"],
        "from-socket-apparatus"
    );
    assert!(seen.iter().any(|s| s.path == "/socket/config"));
}

/// Issue #10: while apparatuses start, the plug and the socket say so in
/// `Coupled=False/CouplingInProcess`, naming the apparatus and since when,
/// with no `Failed`; the `created` hooks still run once it listens.
#[tokio::test]
async fn a_starting_apparatus_shows_coupling_in_process_on_plug_and_socket() {
    let mut plug_side = TestApparatus::reserve(a15_config());
    let mut socket_side = TestApparatus::reserve(json!({}));
    let op = Op::start_with(options(
        Some(plug_side.url("/plug")),
        Some(socket_side.url("/socket")),
    ))
    .await;
    let socket_apparatus = format!("{{endpoint: /socket, containers: {CONTAINERS}}}");
    op.apply_value(&manifest(S0, &[("spec.apparatus", &socket_apparatus)]))
        .await;
    op.apply_value(&a15_plug(30)).await;
    let in_process =
        |conditions: Option<&Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>| {
            let main = coupled(conditions)?;
            let failed = condition(conditions, "Failed");
            (main.reason == "CouplingInProcess" && failed.is_none()).then(|| main.message.clone())
        };
    let plug_message = eventually("plug in process", || async {
        let plug = op.plug("app", "orders-db").await?;
        in_process(plug.status.as_ref()?.conditions.as_ref())
    })
    .await;
    let socket_message = eventually("socket in process", || async {
        let socket = op.socket("db", "postgres").await?;
        in_process(socket.status.as_ref()?.conditions.as_ref())
    })
    .await;
    for (message, pod_ns, pod_name) in [
        (&plug_message, "app", "orders-db-apparatus"),
        (&socket_message, "db", "postgres-apparatus"),
    ] {
        let pod = pod_exists(&op, pod_ns, pod_name).await;
        let created = pod.metadata.creation_timestamp.unwrap().0;
        let since: jiff::Timestamp = message
            .strip_prefix(&format!(
                "waiting for apparatus {pod_ns}/{pod_name} to start, since "
            ))
            .unwrap_or_else(|| panic!("{message}"))
            .parse()
            .unwrap();
        assert!(
            since.duration_since(created).abs() < jiff::SignedDuration::from_secs(2),
            "{message}"
        );
    }
    plug_side.listen().await;
    socket_side.listen().await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    plug_side.wait_for("/plug/created").await;
    socket_side.wait_for("/socket/created").await;
    let socket = eventually("socket coupled", || async {
        let socket = op.socket("db", "postgres").await?;
        let main = coupled(socket.status.as_ref()?.conditions.as_ref())?;
        (main.reason == "SocketCoupled").then_some(socket)
    })
    .await;
    assert!(condition(socket.status.unwrap().conditions.as_ref(), "Failed").is_none());
}

/// P0 whose apparatus is the test server at `base` (an absolute endpoint,
/// no containers, 1 s timeout).
fn p0_calling(base: &str) -> Value {
    manifest(
        P0,
        &[(
            "spec.apparatus",
            &format!("{{endpoint: '{base}', timeout: 1, containers: []}}"),
        )],
    )
}

/// Applies a plug calling `apparatus`, waits for the `Failed` message
/// `message` (and its Warning Event), then lets `heal` fix the apparatus
/// and waits for the coupling to complete.
async fn fails_then_recovers(
    mut apparatus: TestApparatus,
    message: impl Fn(&TestApparatus) -> String,
    heal: impl AsyncFnOnce(&mut TestApparatus),
) {
    let op = Op::start_with(options(None, None)).await;
    op.apply(S0).await;
    op.apply_value(&p0_calling(&apparatus.url("/plug"))).await;
    let message = message(&apparatus);
    eventually(&format!("Failed: {message}"), || async {
        let plug = op.plug("app", "orders-db").await?;
        let failed = condition(plug.status.as_ref()?.conditions.as_ref(), "Failed")?;
        (failed.message == message).then_some(())
    })
    .await;
    eventually("a Warning Event with the message", || async {
        let notes = op.event_notes("app", "orders-db", "Failed").await;
        notes.contains(&message).then_some(())
    })
    .await;

    heal(&mut apparatus).await;
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert!(condition(plug.status.unwrap().conditions.as_ref(), "Failed").is_none());
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert_eq!(
        data(&conn)["url"],
        "postgres://postgres.db.svc:5432/from-apparatus"
    );
}

#[tokio::test]
async fn a_down_apparatus_fails_clearly_then_recovers() {
    let apparatus = TestApparatus::reserve(a15_config());
    fails_then_recovers(
        apparatus,
        |a| {
            format!(
                "apparatus event created could not reach POST {}: connection refused",
                a.url("/plug/created")
            )
        },
        async |a| a.listen().await,
    )
    .await;
}

#[tokio::test]
async fn a_slow_apparatus_times_out_then_recovers() {
    let mut apparatus = TestApparatus::reserve(a15_config());
    apparatus.set_mode(Mode::Slow(Duration::from_secs(3)));
    apparatus.listen().await;
    fails_then_recovers(
        apparatus,
        |a| {
            format!(
                "apparatus event created timed out after 1s on POST {}",
                a.url("/plug/created")
            )
        },
        async |a| a.set_mode(Mode::Ok),
    )
    .await;
}

#[tokio::test]
async fn an_apparatus_answering_500_is_retried_then_fails_then_recovers() {
    let mut apparatus = TestApparatus::reserve(a15_config());
    apparatus.set_mode(Mode::Status(500));
    apparatus.listen().await;
    fails_then_recovers(
        apparatus,
        |a| {
            format!(
                "apparatus event created failed with 500 status from POST {}",
                a.url("/plug/created")
            )
        },
        async |a| {
            // 5xx answers are retried three times within a call.
            let calls = a.paths().len();
            assert!(calls >= 4, "{calls} requests");
            a.set_mode(Mode::Ok);
        },
    )
    .await;
}

#[tokio::test]
async fn invalid_json_from_config_fails_then_recovers() {
    let mut apparatus = TestApparatus::reserve(a15_config());
    apparatus.set_mode(Mode::InvalidJson);
    apparatus.listen().await;
    fails_then_recovers(
        apparatus,
        |a| {
            format!(
                "apparatus config returned invalid JSON from POST {}",
                a.url("/plug/config")
            )
        },
        async |a| a.set_mode(Mode::Ok),
    )
    .await;
}

#[tokio::test]
async fn apparatus_calls_are_counted_by_path_and_code() {
    let mut apparatus = TestApparatus::reserve(a15_config());
    let op = Op::start_with(options(None, None)).await;
    let calls = |path: &str, code: &str| {
        let series =
            format!(r#"integration_operator_apparatus_calls_total{{path="{path}",code="{code}"}}"#);
        sample(&scrape(&op.metrics), &series).unwrap_or(0.0)
    };
    op.apply(S0).await;
    op.apply_value(&p0_calling(&apparatus.url("/plug"))).await;
    // Nothing listens: no answer, `error`.
    eventually("a created call without an answer", || async {
        (calls("created", "error") >= 1.0).then_some(())
    })
    .await;
    // A 500, retried within the call, counts once per call.
    apparatus.set_mode(Mode::Status(500));
    apparatus.listen().await;
    eventually("a created call answered 500", || async {
        (calls("created", "500") >= 1.0).then_some(())
    })
    .await;
    let requests = apparatus.paths().len() as f64;
    assert!(
        calls("created", "500") < requests,
        "retries counted as calls"
    );

    apparatus.set_mode(Mode::Ok);
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    for path in ["created", "config", "coupled"] {
        assert!(calls(path, "200") >= 1.0, "{path}");
    }
    assert_eq!(calls("coupled", "error"), 0.0);
}

#[tokio::test]
async fn not_found_means_not_implemented() {
    let mut apparatus = TestApparatus::reserve(a15_config());
    apparatus.set_mode(Mode::Status(404));
    apparatus.listen().await;
    let op = Op::start_with(options(None, None)).await;
    op.apply(S0).await;
    op.apply_value(&p0_calling(&apparatus.url("/plug"))).await;
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert!(condition(plug.status.unwrap().conditions.as_ref(), "Failed").is_none());
    // Config from the apparatus is empty: the plug's own database stands.
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert_eq!(data(&conn)["url"], "postgres://postgres.db.svc:5432/orders");
    let paths = apparatus.paths();
    for path in ["/plug/created", "/plug/config", "/plug/coupled"] {
        assert!(
            paths.iter().any(|p| p == path),
            "{path} not called: {paths:?}"
        );
    }
}

#[tokio::test]
async fn a_hung_apparatus_blocks_no_other_plug() {
    let mut apparatus = TestApparatus::reserve(a15_config());
    apparatus.set_mode(Mode::Slow(Duration::from_secs(600)));
    apparatus.listen().await;
    let op = Op::start_with(options(None, None)).await;
    op.apply(S0).await;
    let mut hung = p0_calling(&apparatus.url("/plug"));
    hung["spec"]["apparatus"]["timeout"] = json!(300);
    op.apply_value(&hung).await;
    apparatus.wait_for("/plug/created").await;

    op.apply(
        &P0.replace("name: orders-db, namespace", "name: other-db, namespace")
            .replace("name: orders-db-connection", "name: other-db-connection"),
    )
    .await;
    op.plug_reason("app", "other-db", "CouplingSucceeded").await;
    // The hung call is still waiting, with no status written for it.
    let stuck = op.plug("app", "orders-db").await.unwrap();
    assert!(coupled(stuck.status.as_ref().and_then(|s| s.conditions.as_ref())).is_none());
}

/// A pass stuck on a hung apparatus does not hold up shutdown past
/// `shutdown_timeout`; the next operator resumes the coupling.
#[tokio::test]
async fn shutdown_abandons_a_pass_stuck_on_a_hung_apparatus() {
    let mut apparatus = TestApparatus::reserve(a15_config());
    apparatus.set_mode(Mode::Slow(Duration::from_secs(600)));
    apparatus.listen().await;
    let mut op = Op::start_with(RunOptions {
        shutdown_timeout: Duration::from_millis(500),
        ..options(None, None)
    })
    .await;
    op.apply(S0).await;
    let mut hung = p0_calling(&apparatus.url("/plug"));
    hung["spec"]["apparatus"]["timeout"] = json!(300);
    op.apply_value(&hung).await;
    apparatus.wait_for("/plug/created").await;
    within(5, "the operator stops at its deadline", op.stop_operator()).await;

    apparatus.set_mode(Mode::Ok);
    op.start_operator();
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
}

//! Memory and requests at scale: `integration-operator run` in its own
//! process against `kube-emulator`, as a user runs it.
//!
//! ```sh
//! CARGO_TARGET_DIR=/tmp/target-bench cargo bench -p integration-operator --bench scale
//! PLUGS=2000 SOCKETS=20 cargo bench -p integration-operator --bench scale
//! ```
//!
//! The emulator runs in the benchmark's process (HTTPS on loopback, a
//! kubeconfig written for the operator), the operator binary in a child
//! process, so the RSS read from `/proc/<pid>/status` (`VmRSS`, and the
//! kernel's high-water mark `VmHWM` for the peak) is the operator's alone. Under `cargo test
//! --benches` (no `--bench` argument) it runs a smoke size of 20 plugs.
//!
//! 1. Idle: the operator started and ready (`/readyz`) with no plug or
//!    socket.
//! 2. `SOCKETS` sockets (default 100; S0 without resources) and `PLUGS`
//!    plugs (default 10,000; P0 with one templated ConfigMap each, plug
//!    `i` on socket `i % SOCKETS`), created together from 64 concurrent
//!    tasks. Reports the time until every plug is
//!    `Coupled=True/CouplingSucceeded`, the requests per coupling, and RSS
//!    steady (once the API server is quiet) and peak.
//! 3. One socket's `spec.config.host` changes: its plugs' ConfigMaps show
//!    it; requests per plug of that socket.
//! 4. Restart: the operator is stopped (SIGTERM) and started again. Reports
//!    the time until it is ready, the time until it has passed over every
//!    plug once (its `controller_runtime_reconcile_total`), the requests of
//!    that resync (writes must be 0), and RSS peak and steady.
//!
//! Requests are counted by the emulator ([`Emulator::requests`]); in each
//! window the benchmark's own are known (its creates and one patch) and
//! subtracted. `OPERATOR_BIN=path` runs another build of the operator
//! (before and after). The figures are in README.md ("Operator: memory at
//! scale").

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use integration_api::{Plug, Socket};
use integration_fixtures::{F0, S0, manifest, p0_plug};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use kube_emulator::{Emulator, RequestCounts};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Concurrent creates from the benchmark.
const CREATORS: usize = 64;
/// How long any phase may take before the benchmark gives up.
const DEADLINE: Duration = Duration::from_secs(900);
/// The API server counts as quiet after this long without a request or a
/// new resourceVersion.
const QUIET: Duration = Duration::from_secs(2);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} wants a number"))
        })
        .unwrap_or(default)
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let plugs = env_or("PLUGS", if benching { 10_000 } else { 20 });
    let sockets = env_or("SOCKETS", if benching { 100 } else { 2 }).clamp(1, plugs.max(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(plugs, sockets));
}

async fn run(n: usize, sockets: usize) {
    println!(
        "scale: {n} plugs on {sockets} sockets, operator `run` in its own process, {} cores",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    let bench = Bench::start().await;
    let mut operator = bench.operator();
    let ready = operator.ready().await;
    bench.quiet().await;
    let idle = operator.rss();
    println!(
        "idle: ready after {:.2} s; RSS {} (peak {})",
        ready.as_secs_f64(),
        mib(idle.rss),
        mib(idle.peak)
    );

    couple_all(&bench, &operator, n, sockets, idle.rss).await;
    socket_change(&bench, &operator, n, sockets).await;

    operator.stop();
    let mut operator = bench.operator();
    restart(&bench, &mut operator, n).await;
    operator.stop();
}

/// Phase 2: sockets and plugs created together, until all are coupled.
async fn couple_all(bench: &Bench, operator: &Operator, n: usize, sockets: usize, idle: u64) {
    let mut objects: Vec<Value> = (0..sockets).map(socket).collect();
    objects.extend((0..n).map(|i| plug(i, i % sockets)));
    let done = bench.all_coupled(n).await;
    let window = bench.window();
    let start = Instant::now();
    let cpu_before = (operator.cpu_seconds(), own_cpu_seconds());
    bench.create_all(objects).await;
    let created = start.elapsed();
    let coupled_at = tokio::time::timeout(DEADLINE, done).await.unwrap().unwrap();
    let cpu = (
        operator.cpu_seconds() - cpu_before.0,
        own_cpu_seconds() - cpu_before.1,
    );
    let during = operator.rss();
    bench.quiet().await;
    let delta = window.close();
    let steady = operator.steady().await;
    println!("couple: {sockets} sockets and {n} plugs created together");
    println!(
        "  created in {:.2} s; all {n} plugs Coupled=True/CouplingSucceeded after {:.2} s",
        created.as_secs_f64(),
        (coupled_at - start).as_secs_f64()
    );
    println!(
        "  CPU until then: operator {:.1} s, emulator and benchmark {:.1} s",
        cpu.0, cpu.1
    );
    println!(
        "  RSS when all coupled {}, steady {}, peak {}; per 1,000 plugs {} (steady - idle)",
        mib(during.rss),
        mib(steady.rss),
        mib(steady.peak),
        mib(steady.rss.saturating_sub(idle) * 1000 / n.max(1) as u64)
    );
    let own = Own {
        reads: 0,
        writes: (n + sockets) as u64,
        creates: &[
            ("create", "plugs", n as u64),
            ("create", "sockets", sockets as u64),
        ],
    };
    print_requests(
        &delta,
        &own,
        n,
        "coupling (sockets' own lifecycle included)",
    );
}

/// Phase 3: one socket's config changes; every plug of it updates.
async fn socket_change(bench: &Bench, operator: &Operator, n: usize, sockets: usize) {
    let host = "postgres-2.db.svc";
    let of_socket: Vec<usize> = (0..n).filter(|i| i % sockets == 0).collect();
    let window = bench.window();
    let start = Instant::now();
    let api: Api<Socket> = Api::namespaced(bench.client.clone(), "db");
    api.patch(
        &socket_name(0),
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"config": {"host": host}}})),
    )
    .await
    .unwrap();
    bench.quiet().await;
    let took = start.elapsed().saturating_sub(QUIET);
    let delta = window.close();
    let cms: Api<ConfigMap> = Api::namespaced(bench.client.clone(), "app");
    let urls: HashMap<String, String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|cm| {
            let url = cm.data.as_ref().and_then(|d| d.get("url")).cloned();
            (cm.name_any(), url.unwrap_or_default())
        })
        .collect();
    let updated = of_socket
        .iter()
        .filter(|i| urls[&format!("{}-connection", plug_name(**i))].contains(host))
        .count();
    assert_eq!(updated, of_socket.len(), "every plug of the socket updated");
    let steady = operator.rss();
    println!(
        "socket change: {} plugs' ConfigMaps updated, quiet after {:.2} s; RSS {} (peak {})",
        of_socket.len(),
        took.as_secs_f64(),
        mib(steady.rss),
        mib(steady.peak)
    );
    let own = Own {
        reads: 0,
        writes: 1,
        creates: &[("patch", "sockets", 1)],
    };
    print_requests(&delta, &own, of_socket.len(), "plug of the socket");
}

/// Phase 4: a restart with every plug coupled.
async fn restart(bench: &Bench, operator: &mut Operator, n: usize) {
    let window = bench.window();
    let ready = operator.ready().await;
    let start = Instant::now();
    let passed = loop {
        assert!(start.elapsed() < DEADLINE, "the resync never finished");
        if operator.plug_passes().await >= n as u64 {
            break start.elapsed() + ready;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    bench.quiet().await;
    let delta = window.close();
    let steady = operator.steady().await;
    println!("restart with {n} coupled plugs:");
    println!(
        "  ready after {:.2} s; every plug passed over after {:.2} s",
        ready.as_secs_f64(),
        passed.as_secs_f64()
    );
    println!(
        "  RSS steady {}, peak {} (the resync included)",
        mib(steady.rss),
        mib(steady.peak)
    );
    let own = Own {
        reads: 0,
        writes: 0,
        creates: &[],
    };
    print_requests(&delta, &own, n, "plug");
    assert_eq!(
        delta.writes(),
        0,
        "a restart with everything coupled writes nothing"
    );
}

/// The benchmark's own requests in a window.
struct Own<'a> {
    reads: u64,
    writes: u64,
    /// Its writes by (verb, resource), left out of the breakdown.
    creates: &'a [(&'a str, &'a str, u64)],
}

fn print_requests(delta: &RequestCounts, own: &Own<'_>, per: usize, what: &str) {
    let per_f = |x: u64| x as f64 / per.max(1) as f64;
    let events = delta.sum(|k| {
        k.resource == "events" && k.verb != "get" && k.verb != "list" && k.verb != "watch"
    });
    let writes = delta.writes() - own.writes;
    println!(
        "  operator requests per {what}: {:.2} reads, {:.2} writes ({:.2} of them Events)",
        per_f(delta.reads() - own.reads),
        per_f(writes),
        per_f(events)
    );
    let mut rows: Vec<(String, f64)> = delta
        .counts
        .iter()
        .map(|(k, count)| {
            let mine: u64 = own
                .creates
                .iter()
                .filter(|(v, r, _)| *v == k.verb && *r == k.resource)
                .map(|(_, _, c)| c)
                .sum();
            (format!("{} {}", k.verb, k.resource), per_f(count - mine))
        })
        .filter(|(_, x)| *x > 0.0)
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (key, x) in rows {
        println!("    {x:8.3}  {key}");
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn socket_name(i: usize) -> String {
    format!("s-{i}")
}

fn plug_name(i: usize) -> String {
    format!("p-{i}")
}

/// S0 without its per-plug resource: one templated ConfigMap per coupling,
/// the plug's.
fn socket(i: usize) -> Value {
    manifest(
        S0,
        &[("metadata.name", &socket_name(i)), ("spec.resources", "[]")],
    )
}

fn plug(i: usize, socket: usize) -> Value {
    p0_plug(&plug_name(i), &socket_name(socket))
}

fn coupled(plug: &Plug) -> bool {
    plug.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Coupled"))
        .is_some_and(|c| c.status == "True" && c.reason == "CouplingSucceeded")
}

/// The emulator with the CRDs and F0, and a kubeconfig for the operator.
struct Bench {
    emu: Emulator,
    client: Client,
    kubeconfig: PathBuf,
}

impl Bench {
    async fn start() -> Bench {
        let emu = Emulator::start().await.expect("emulator starts");
        let client = emu.client();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in integration_api::crds() {
            let name = crd.metadata.name.clone().unwrap();
            crds.create(&PostParams::default(), &crd).await.unwrap();
            await_condition(crds.clone(), &name, conditions::is_crd_established())
                .await
                .unwrap();
        }
        for doc in F0.split("\n---").filter(|d| !d.trim().is_empty()) {
            let object: DynamicObject = serde_saphyr::from_str(doc).unwrap();
            let kind = object.types.as_ref().unwrap();
            let (group, version) = kind.api_version.rsplit_once('/').unwrap_or(("", "v1"));
            let gvk = kube::core::GroupVersionKind::gvk(group, version, &kind.kind);
            let resource = kube::discovery::ApiResource::from_gvk(&gvk);
            let api: Api<DynamicObject> = match object.namespace() {
                Some(ns) => Api::namespaced_with(client.clone(), &ns, &resource),
                None => Api::all_with(client.clone(), &resource),
            };
            api.create(&PostParams::default(), &object).await.unwrap();
        }
        let kubeconfig =
            std::env::temp_dir().join(format!("scale-{}.kubeconfig", std::process::id()));
        std::fs::write(&kubeconfig, emu.kubeconfig_yaml()).unwrap();
        Bench {
            emu,
            client,
            kubeconfig,
        }
    }

    /// Starts `integration-operator run` against the emulator.
    fn operator(&self) -> Operator {
        let health = free_port();
        let metrics = free_port();
        // OPERATOR_BIN runs another build, e.g. the previous commit's.
        let binary = std::env::var_os("OPERATOR_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_integration-operator").into());
        let child = Command::new(binary)
            .arg("run")
            .arg("--health-probe-bind-address")
            .arg(health.to_string())
            .arg("--metrics-bind-address")
            .arg(metrics.to_string())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the operator starts");
        Operator {
            child,
            health,
            metrics,
        }
    }

    /// Watches plugs in `app` (its initial list done) until `n` of them are
    /// coupled; returns when.
    async fn all_coupled(&self, n: usize) -> tokio::task::JoinHandle<Instant> {
        let api: Api<Plug> = Api::namespaced(self.client.clone(), "app");
        let (listed, is_listed) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut state: HashMap<String, bool> = HashMap::new();
            let mut listed = Some(listed);
            let stream = watcher(api, watcher::Config::default()).default_backoff();
            futures::pin_mut!(stream);
            while let Some(event) = stream.try_next().await.unwrap() {
                match event {
                    watcher::Event::InitDone => {
                        if let Some(l) = listed.take() {
                            let _ = l.send(());
                        }
                    }
                    watcher::Event::Apply(plug) | watcher::Event::InitApply(plug) => {
                        state.insert(plug.name_any(), coupled(&plug));
                    }
                    _ => {}
                }
                if state.values().filter(|c| **c).count() == n {
                    return Instant::now();
                }
            }
            panic!("the plug watch ended");
        });
        is_listed.await.unwrap();
        task
    }

    async fn create_all(&self, objects: Vec<Value>) {
        futures::stream::iter(objects)
            .map(|object| {
                let client = self.client.clone();
                async move {
                    let kind = object["kind"].as_str().unwrap_or_default().to_string();
                    let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
                    if kind == "Socket" {
                        let api: Api<Socket> = Api::namespaced(client, ns);
                        let socket: Socket = serde_json::from_value(object).unwrap();
                        api.create(&PostParams::default(), &socket).await.map(drop)
                    } else {
                        let api: Api<Plug> = Api::namespaced(client, ns);
                        let plug: Plug = serde_json::from_value(object).unwrap();
                        api.create(&PostParams::default(), &plug).await.map(drop)
                    }
                }
            })
            .buffer_unordered(CREATORS)
            .try_collect::<Vec<()>>()
            .await
            .unwrap();
    }

    /// Opens a window of counted requests.
    fn window(&self) -> Window<'_> {
        Window {
            emu: &self.emu,
            before: self.emu.requests(),
        }
    }

    /// Waits until no request came and no resourceVersion was handed out
    /// for [`QUIET`].
    async fn quiet(&self) {
        let start = Instant::now();
        let seen = || (self.emu.resource_version(), self.emu.requests().total());
        let mut last = (seen(), Instant::now());
        while last.1.elapsed() < QUIET {
            assert!(start.elapsed() < DEADLINE, "the API server never got quiet");
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = seen();
            if now != last.0 {
                last = (now, Instant::now());
            }
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

struct Window<'a> {
    emu: &'a Emulator,
    before: RequestCounts,
}

impl Window<'_> {
    fn close(self) -> RequestCounts {
        self.emu.requests().since(&self.before)
    }
}

/// The operator process.
struct Operator {
    child: Child,
    health: SocketAddr,
    metrics: SocketAddr,
}

/// Resident memory, in bytes: now and the process's peak so far.
struct Rss {
    rss: u64,
    peak: u64,
}

impl Operator {
    fn rss(&self) -> Rss {
        let read = |field| status_kib(self.child.id(), field).unwrap_or(0) * 1024;
        Rss {
            rss: read("VmRSS"),
            peak: read("VmHWM"),
        }
    }

    /// CPU time the process has used (user and system), in seconds.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }

    /// RSS after a few seconds of quiet.
    async fn steady(&self) -> Rss {
        tokio::time::sleep(Duration::from_secs(3)).await;
        self.rss()
    }

    /// Waits for `/readyz`; returns how long the process took.
    async fn ready(&self) -> Duration {
        let start = Instant::now();
        loop {
            assert!(start.elapsed() < DEADLINE, "the operator never got ready");
            if http_get(self.health, "/readyz")
                .await
                .is_some_and(|(code, _)| code == 200)
            {
                return start.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Plug passes so far (`controller_runtime_reconcile_total`).
    async fn plug_passes(&self) -> u64 {
        let Some((200, text)) = http_get(self.metrics, "/metrics").await else {
            return 0;
        };
        text.lines()
            .filter(|l| {
                l.starts_with("controller_runtime_reconcile_total{") && l.contains("\"plug\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// SIGTERM, then wait for the exit.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time the benchmark's own process (the emulator's) has used.
fn own_cpu_seconds() -> f64 {
    cpu_seconds("/proc/self/stat")
}

/// User plus system time from a `/proc/<pid>/stat` file, in seconds
/// (fields 14 and 15, counted in clock ticks of 1/100 s on Linux).
fn cpu_seconds(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // The command name (field 2) may hold spaces: count after its ')'.
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// A field of `/proc/<pid>/status` in kiB, e.g. `VmRSS`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A plain HTTP/1.0 GET: the status code and body.
async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    Some((code, body.unwrap_or_default()))
}

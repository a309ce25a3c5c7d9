//! Couplings at scale: the Plug and Socket controllers against `kube-emulator`.
//!
//! ```sh
//! CARGO_TARGET_DIR=/tmp/target-bench cargo bench -p integration-controller --bench couplings
//! PAIRS=200 cargo bench -p integration-controller --bench couplings
//! cargo bench -p integration-controller --bench couplings -- --pairs 200 --concurrency 16
//! ```
//!
//! Under `cargo test --benches` (no `--bench` argument) it runs a smoke size
//! of 10 so the target stays cheap.
//!
//! One process, one 2-worker tokio runtime (on 2 cores): the emulator
//! (HTTPS on loopback), the operator (`run_until` with the default
//! [`RunOptions`], as `integration-operator run` runs it) and the benchmark
//! client share it, so every figure includes the API server's cost.
//!
//! * Phase 1, N pairs: N sockets and N plugs, each like S0/P0 (one
//!   templated ConfigMap per side), created from 32 concurrent tasks with
//!   the operator already running. Reports the time from the first create
//!   until every plug is `Coupled=True/CouplingSucceeded`, then waits until
//!   the API server is quiet and reports the operator's API requests per
//!   coupling, split into writes and reads.
//! * Phase 2, N sockets, then N plugs (a fresh emulator and operator): the
//!   sockets are created first and counted on their own (finalizer,
//!   `created` hooks, status), then one plug per socket; the plugs'
//!   requests are what a coupling to an existing socket costs.
//! * Phase 3, one socket and N plugs (a fresh emulator and operator): all
//!   plugs couple to one socket; then one merge patch changes the socket's
//!   `spec.config.host`. Reports the time until every plug's ConfigMap
//!   shows the new host, and asserts that no plug spec was written (every
//!   plug's `metadata.generation` is unchanged).
//!
//! Requests are counted exactly by the emulator ([`Emulator::requests`]);
//! the benchmark's own requests are counted on its client and subtracted.
//! A write is any create, update, patch or delete, status writes included;
//! an Event counts as one write per request that creates or patches it
//! (kube's recorder folds repeats into a series patch). "Resources" are
//! the two templated ConfigMaps each coupling applies (one server-side
//! apply patch each).
//!
//! The figures on the 2-core development machine, and what each round of
//! work changed, are in README.md ("Operator: couplings at scale"): one
//! place, so they cannot disagree.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

/// The allocator of the operator's `mimalloc` feature (crates/operator/src/main.rs),
/// as when these figures were first taken.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use http::{Method, Request, Response};
use integration_api::{Plug, Socket};
use integration_controller::{Cluster, RunOptions};
use integration_fixtures::{F0, S0, manifest, p0_plug};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::client::Body;
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use kube_emulator::{Emulator, RequestCounts};
use serde_json::{Value, json};

/// Concurrent creates from the benchmark.
const CREATORS: usize = 32;
/// How long any phase may take before the benchmark gives up.
const DEADLINE: Duration = Duration::from_secs(600);
/// The API server counts as quiet after this long without a new
/// resourceVersion.
const QUIET: Duration = Duration::from_secs(1);

struct Args {
    pairs: usize,
    concurrency: Option<u16>,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let benching = argv.iter().any(|a| a == "--bench");
    let flag = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} wants a number"))
            })
    };
    let env = std::env::var("PAIRS")
        .ok()
        .map(|v| v.parse().expect("PAIRS wants a number"));
    Args {
        pairs: flag("--pairs")
            .or(env)
            .unwrap_or(if benching { 1000 } else { 10 }),
        concurrency: flag("--concurrency").map(|c: usize| c as u16),
    }
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let n = args.pairs;
        let options = || {
            let mut o = RunOptions::default();
            if let Some(c) = args.concurrency {
                o.concurrency = c;
            }
            o
        };
        println!(
            "couplings: N = {n}, operator concurrency {}, {} tokio workers",
            options().concurrency,
            std::thread::available_parallelism().map_or(0, |p| p.get())
        );
        pairs(n, options()).await;
        existing_sockets(n, options()).await;
        one_socket(n, options()).await;
    });
}

/// Counts the benchmark's own requests: a GET is a read, anything else a
/// write (as the emulator splits them).
#[derive(Clone)]
struct Counting {
    inner: Client,
    reads: Arc<AtomicU64>,
    writes: Arc<AtomicU64>,
}

impl tower::Service<Request<Body>> for Counting {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let counter = if request.method() == Method::GET {
            &self.reads
        } else {
            &self.writes
        };
        counter.fetch_add(1, Ordering::SeqCst);
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(request).await })
    }
}

/// An emulator with the CRDs and F0, the operator running against it, and
/// the benchmark's counted client.
struct Setup {
    emu: Emulator,
    bench: Client,
    reads: Arc<AtomicU64>,
    writes: Arc<AtomicU64>,
    stop: Option<futures::channel::oneshot::Sender<()>>,
    operator: Option<tokio::task::JoinHandle<()>>,
}

impl Setup {
    async fn start(options: RunOptions) -> Setup {
        let emu = Emulator::start().await.expect("emulator starts");
        let admin = emu.client();
        let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
        for crd in integration_api::crds() {
            let name = crd.metadata.name.clone().unwrap();
            crds.create(&PostParams::default(), &crd).await.unwrap();
            await_condition(crds.clone(), &name, conditions::is_crd_established())
                .await
                .unwrap();
        }
        let cluster = Cluster::new(admin.clone());
        for doc in yaml_docs(F0) {
            cluster.objects().apply(&doc).await.expect("F0 applies");
        }
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        let operator = tokio::spawn(integration_controller::run_until(
            admin.clone(),
            options,
            async move {
                let _ = stopped.await;
            },
        ));
        let (reads, writes) = (Arc::default(), Arc::default());
        let bench = Client::new(
            Counting {
                inner: admin,
                reads: Arc::clone(&reads),
                writes: Arc::clone(&writes),
            },
            "default",
        );
        let setup = Setup {
            emu,
            bench,
            reads,
            writes,
            stop: Some(stop),
            operator: Some(operator),
        };
        // The operator's initial lists and watches are not part of any
        // coupling.
        setup.quiet().await;
        setup
    }

    /// The benchmark's (reads, writes) so far.
    fn own(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::SeqCst),
            self.writes.load(Ordering::SeqCst),
        )
    }

    /// Starts counting requests: the window's delta leaves out what came
    /// before.
    fn window(&self) -> Window {
        Window {
            before: self.emu.requests(),
            own: self.own(),
        }
    }

    /// Waits until no resourceVersion was handed out for [`QUIET`].
    async fn quiet(&self) {
        let start = Instant::now();
        let mut last = (self.emu.resource_version(), Instant::now());
        while last.1.elapsed() < QUIET {
            assert!(start.elapsed() < DEADLINE, "the API server never got quiet");
            tokio::time::sleep(Duration::from_millis(100)).await;
            let rv = self.emu.resource_version();
            if rv != last.0 {
                last = (rv, Instant::now());
            }
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.operator.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
    }
}

fn yaml_docs(text: &str) -> Vec<Value> {
    text.split("\n---")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect()
}

fn socket(name: &str) -> Socket {
    serde_json::from_value(manifest(S0, &[("metadata.name", name)])).unwrap()
}

fn plug(name: &str, socket: &str) -> Plug {
    serde_json::from_value(p0_plug(name, socket)).unwrap()
}

/// Creates the objects from [`CREATORS`] concurrent tasks, in order of
/// `objects` as far as the concurrency allows.
async fn create_all(bench: &Client, objects: Vec<Either>) {
    futures::stream::iter(objects)
        .map(|o| {
            let bench = bench.clone();
            async move {
                match o {
                    Either::Socket(s) => {
                        let api: Api<Socket> = Api::namespaced(bench, "db");
                        api.create(&PostParams::default(), &s).await.map(drop)
                    }
                    Either::Plug(p) => {
                        let api: Api<Plug> = Api::namespaced(bench, "app");
                        api.create(&PostParams::default(), &p).await.map(drop)
                    }
                }
            }
        })
        .buffer_unordered(CREATORS)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
}

enum Either {
    Socket(Socket),
    Plug(Plug),
}

fn coupled(plug: &Plug) -> bool {
    plug.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Coupled"))
        .is_some_and(|c| c.status == "True" && c.reason == "CouplingSucceeded")
}

/// Watches plugs in `app` until `n` of them are coupled; returns when.
fn all_coupled(bench: &Client, n: usize) -> tokio::task::JoinHandle<Instant> {
    let api: Api<Plug> = Api::namespaced(bench.clone(), "app");
    tokio::spawn(async move {
        let mut state: HashMap<String, bool> = HashMap::new();
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .applied_objects();
        futures::pin_mut!(stream);
        while let Some(plug) = stream.try_next().await.unwrap() {
            state.insert(plug.name_any(), coupled(&plug));
            if state.values().filter(|c| **c).count() == n {
                return Instant::now();
            }
        }
        panic!("the plug watch ended");
    })
}

/// A span of requests being counted, opened by [`Setup::window`].
struct Window {
    before: RequestCounts,
    own: (u64, u64),
}

impl Window {
    /// The emulator's requests since the window opened, and the
    /// benchmark's own (reads, writes) among them.
    fn close(self, setup: &Setup) -> (RequestCounts, (u64, u64)) {
        let own = setup.own();
        (
            setup.emu.requests().since(&self.before),
            (own.0 - self.own.0, own.1 - self.own.1),
        )
    }
}

/// Writes and reads of `delta` minus the benchmark's own.
struct Figures {
    writes: u64,
    reads: u64,
}

fn operator_figures(delta: &RequestCounts, own: (u64, u64)) -> Figures {
    Figures {
        writes: delta.writes() - own.1,
        reads: delta.reads() - own.0,
    }
}

/// Prints the operator's requests per verb and resource, per `per`.
fn breakdown(delta: &RequestCounts, bench_writes: &[(&str, &str, u64)], per: usize) {
    let mut rows: Vec<(String, f64)> = delta
        .counts
        .iter()
        .map(|(k, count)| {
            let own: u64 = bench_writes
                .iter()
                .filter(|(v, r, _)| *v == k.verb && *r == k.resource)
                .map(|(_, _, n)| n)
                .sum();
            (
                format!("{} {}", k.verb, k.resource),
                (count - own) as f64 / per as f64,
            )
        })
        .filter(|(_, x)| *x > 0.0)
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (what, x) in rows {
        println!("    {x:8.3}  {what}");
    }
}

/// Phase 1: N socket/plug pairs.
async fn pairs(n: usize, options: RunOptions) {
    let setup = Setup::start(options).await;
    let objects: Vec<Either> = (0..n)
        .flat_map(|i| {
            let (s, p) = (format!("s-{i}"), format!("p-{i}"));
            [Either::Socket(socket(&s)), Either::Plug(plug(&p, &s))]
        })
        .collect();
    let window = setup.window();
    let start = Instant::now();
    let done = all_coupled(&setup.bench, n);
    create_all(&setup.bench, objects).await;
    let created = start.elapsed();
    let coupled_at = tokio::time::timeout(DEADLINE, done).await.unwrap().unwrap();
    let elapsed = coupled_at - start;
    setup.quiet().await;
    let settled = start.elapsed() - QUIET;
    let (delta, own) = window.close(&setup);
    assert_eq!(own.1, 2 * n as u64, "the benchmark writes only its creates");
    println!("phase 1: {n} socket/plug pairs (S0/P0, one ConfigMap per side)");
    println!("  created all 2N objects in {:.2} s", created.as_secs_f64());
    println!(
        "  all {n} plugs Coupled=True/CouplingSucceeded after {:.2} s ({:.0} couplings/s); quiet after {:.2} s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        settled.as_secs_f64()
    );
    println!("  operator requests per pair (a socket's own lifecycle included):");
    per_coupling(&delta, own, n, &[("create", "sockets", n as u64)]);
    setup.stop().await;
}

/// Phase 2: N sockets, then one plug for each. The sockets' own lifecycle
/// (finalizer, `created` hooks and status) is counted before any plug
/// exists, so the plugs' figures are what a coupling costs.
async fn existing_sockets(n: usize, options: RunOptions) {
    let setup = Setup::start(options).await;
    println!("phase 2: {n} sockets, then one plug for each");
    let window = setup.window();
    let sockets = (0..n).map(|i| Either::Socket(socket(&format!("t-{i}"))));
    let done = all_sockets_created(&setup.bench, n);
    create_all(&setup.bench, sockets.collect()).await;
    tokio::time::timeout(DEADLINE, done).await.unwrap().unwrap();
    setup.quiet().await;
    let (delta, own) = window.close(&setup);
    assert_eq!(own.1, n as u64, "the benchmark writes only its creates");
    println!("  operator requests per socket, before any plug:");
    breakdown(&delta, &[("create", "sockets", n as u64)], n);

    let window = setup.window();
    let start = Instant::now();
    let done = all_coupled(&setup.bench, n);
    let plugs = (0..n).map(|i| Either::Plug(plug(&format!("u-{i}"), &format!("t-{i}"))));
    create_all(&setup.bench, plugs.collect()).await;
    let coupled_at = tokio::time::timeout(DEADLINE, done).await.unwrap().unwrap();
    println!(
        "  all {n} plugs coupled after {:.2} s",
        (coupled_at - start).as_secs_f64()
    );
    setup.quiet().await;
    let (delta, own) = window.close(&setup);
    assert_eq!(own.1, n as u64, "the benchmark writes only its creates");
    println!("  operator requests per coupling:");
    per_coupling(&delta, own, n, &[]);
    setup.stop().await;
}

/// Watches sockets in `db` until `n` of them have a `Coupled` condition,
/// which marks their `created` hooks as done.
fn all_sockets_created(bench: &Client, n: usize) -> tokio::task::JoinHandle<()> {
    let api: Api<Socket> = Api::namespaced(bench.clone(), "db");
    tokio::spawn(async move {
        let mut created: HashSet<String> = HashSet::new();
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .applied_objects();
        futures::pin_mut!(stream);
        while let Some(socket) = stream.try_next().await.unwrap() {
            let conditions = socket.status.as_ref().and_then(|s| s.conditions.as_ref());
            if conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Coupled")) {
                created.insert(socket.name_any());
            }
            if created.len() == n {
                return;
            }
        }
        panic!("the socket watch ended");
    })
}

/// Prints the operator's requests per coupling over `delta`, less the
/// benchmark's own (`own`: its reads and writes, `created`: its creates
/// besides one plug per coupling). Writes are split into the coupling's
/// resources, its state (status writes and finalizer patches: what the
/// ≤ 3 target counts) and Events.
fn per_coupling(delta: &RequestCounts, own: (u64, u64), n: usize, created: &[(&str, &str, u64)]) {
    let op = operator_figures(delta, own);
    let per = |x: u64| x as f64 / n as f64;
    let resources = delta.get("patch", "configmaps");
    let events = delta.sum(|k| {
        k.resource == "events" && k.verb != "get" && k.verb != "list" && k.verb != "watch"
    });
    let status = delta.get("update", "plugs/status") + delta.get("update", "sockets/status");
    let finalizers = delta.get("patch", "plugs") + delta.get("patch", "sockets");
    println!(
        "    {:.2} writes: {:.2} resource applies + {:.2} state ({:.2} status, {:.2} finalizer patches) + {:.2} Events{}",
        per(op.writes),
        per(resources),
        per(status + finalizers),
        per(status),
        per(finalizers),
        per(events),
        match op.writes - resources - status - finalizers - events {
            0 => String::new(),
            other => format!(" + {:.2} other", per(other)),
        }
    );
    println!("    {:.2} reads", per(op.reads));
    println!("    by verb and resource (the benchmark's creates left out):");
    let mut bench_writes = vec![("create", "plugs", n as u64)];
    bench_writes.extend_from_slice(created);
    breakdown(delta, &bench_writes, n);
}

/// Phase 3: one socket, N plugs; then one change of the socket's host.
async fn one_socket(n: usize, options: RunOptions) {
    let setup = Setup::start(options).await;
    let mut objects = vec![Either::Socket(socket("shared"))];
    objects.extend((0..n).map(|i| Either::Plug(plug(&format!("q-{i}"), "shared"))));
    let window = setup.window();
    let start = Instant::now();
    let done = all_coupled(&setup.bench, n);
    create_all(&setup.bench, objects).await;
    let coupled_at = tokio::time::timeout(DEADLINE, done).await.unwrap().unwrap();
    println!("phase 3: one socket, {n} plugs");
    println!(
        "  all {n} plugs coupled to the one socket after {:.2} s",
        (coupled_at - start).as_secs_f64()
    );
    setup.quiet().await;
    let (delta, own) = window.close(&setup);
    assert_eq!(own.1, n as u64 + 1, "the benchmark writes only its creates");
    println!("  operator requests per coupling (the socket's own lifecycle included):");
    per_coupling(&delta, own, n, &[("create", "sockets", 1)]);

    let plugs: Api<Plug> = Api::namespaced(setup.bench.clone(), "app");
    let generations: HashMap<String, Option<i64>> = plugs
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|p| (p.name_any(), p.metadata.generation))
        .collect();
    assert_eq!(generations.len(), n);

    let host = "postgres-2.db.svc";
    let cms: Api<ConfigMap> = Api::namespaced(setup.bench.clone(), "app");
    let want: HashSet<String> = (0..n).map(|i| format!("q-{i}-connection")).collect();
    let (ready, is_ready) = tokio::sync::oneshot::channel();
    let seen = tokio::spawn(async move {
        let mut updated: HashSet<String> = HashSet::new();
        let stream = watcher(cms, watcher::Config::default())
            .default_backoff()
            .applied_objects();
        futures::pin_mut!(stream);
        let mut ready = Some(ready);
        // The initial list is in before the patch goes out.
        let mut initial = 0;
        while let Some(cm) = stream.try_next().await.unwrap() {
            let name = cm.name_any();
            let url = cm
                .data
                .as_ref()
                .and_then(|d| d.get("url"))
                .cloned()
                .unwrap_or_default();
            if want.contains(&name) {
                initial += 1;
                if url.contains(host) {
                    updated.insert(name);
                }
                if initial >= want.len()
                    && let Some(r) = ready.take()
                {
                    let _ = r.send(());
                }
            }
            if updated.len() == want.len() {
                return Instant::now();
            }
        }
        panic!("the ConfigMap watch ended");
    });
    is_ready.await.unwrap();
    let window = setup.window();
    let sockets: Api<Socket> = Api::namespaced(setup.bench.clone(), "db");
    let start = Instant::now();
    sockets
        .patch(
            "shared",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"config": {"host": host}}})),
        )
        .await
        .unwrap();
    let updated_at = tokio::time::timeout(DEADLINE, seen).await.unwrap().unwrap();
    let elapsed = updated_at - start;
    setup.quiet().await;
    let (delta, own) = window.close(&setup);
    assert_eq!(own.1, 1, "the benchmark writes only its patch");
    let op = operator_figures(&delta, own);
    println!(
        "  socket host patched: all {n} plug ConfigMaps show it after {:.2} s ({:.0} plugs/s)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  operator requests per plug: {:.2} writes, {:.2} reads",
        op.writes as f64 / n as f64,
        op.reads as f64 / n as f64
    );
    println!("  per plug, by verb and resource (the benchmark's patch left out):");
    breakdown(&delta, &[("patch", "sockets", 1)], n);

    let after = plugs.list(&ListParams::default()).await.unwrap().items;
    let changed: Vec<String> = after
        .iter()
        .filter(|p| generations.get(&p.name_any()) != Some(&p.metadata.generation))
        .map(ResourceExt::name_any)
        .collect();
    assert!(
        changed.is_empty(),
        "plug specs were written: {} plugs changed generation",
        changed.len()
    );
    assert_eq!(delta.get("update", "plugs"), 0, "no plug spec updates");
    println!("  no plug spec writes: every plug's metadata.generation is unchanged");
    setup.stop().await;
}

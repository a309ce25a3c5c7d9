//! Sustained writes/s and watch fan-out with 10,000 objects.
//!
//! `cargo bench -p kube-emulator --bench throughput` runs the full size; under `cargo test`
//! (no `--bench` argument) it runs a small smoke size so the target stays cheap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Client;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use kube_emulator::{Emulator, Options};
use serde_json::json;

const WRITERS: usize = 32;
const WATCHERS: usize = 10;

fn cm(name: &str, v: usize) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"bench": "yes"}}, "data": {"v": v.to_string()}})).unwrap()
}

/// Creates (or updates) `n` ConfigMaps from `WRITERS` concurrent tasks; returns writes/s.
async fn run(api: &Api<ConfigMap>, n: usize, prefix: &str, update: bool) -> f64 {
    let per = n / WRITERS;
    {
        let api = api.clone();
        let prefix = prefix.to_string();
        {
            let start = Instant::now();
            let tasks: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let api = api.clone();
                    let prefix = prefix.clone();
                    tokio::spawn(async move {
                        for i in 0..per {
                            let name = format!("{prefix}-{w}-{i}");
                            if update {
                                api.replace(&name, &PostParams::default(), &cm(&name, 1))
                                    .await
                                    .unwrap();
                            } else {
                                api.create(&PostParams::default(), &cm(&name, 0))
                                    .await
                                    .unwrap();
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            (per * WRITERS) as f64 / start.elapsed().as_secs_f64()
        }
    }
}

/// Creates then updates `n` ConfigMaps; returns (creates/s, updates/s).
async fn writes(client: Client, ns: &str, n: usize, prefix: &str) -> (f64, f64) {
    let api: Api<ConfigMap> = Api::namespaced(client, ns);
    (
        run(&api, n, prefix, false).await,
        run(&api, n, prefix, true).await,
    )
}

/// `WATCHERS` watches see all of `n` creates; returns (seconds, events delivered/s).
async fn fan_out(emu: &Emulator, client: Client, ns: &str, n: usize) -> (f64, f64) {
    let api: Api<ConfigMap> = Api::namespaced(client, ns);
    let rv = emu.resource_version().to_string();
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let stream = api
            .watch(&WatchParams::default().timeout(600), &rv)
            .await
            .unwrap();
        watchers.push(tokio::spawn(async move {
            let mut stream = stream.boxed();
            let mut seen = 0;
            while seen < n {
                match stream.try_next().await.unwrap() {
                    Some(WatchEvent::Added(_)) => seen += 1,
                    Some(_) => {}
                    None => panic!("watch ended after {seen} events"),
                }
            }
        }));
    }
    let start = Instant::now();
    run(&api, n, "fan", false).await;
    for w in watchers {
        w.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    (secs, (n * WATCHERS) as f64 / secs)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 10_016 } else { 320 })
        / WRITERS
        * WRITERS;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let emu = Emulator::serve_on("127.0.0.1:0".parse().unwrap(), Options { bookmark_interval: Duration::from_secs(60), ..Options::default() })
            .await
            .unwrap();
        let emu = Arc::new(emu);
        for (ns, client) in [("https", emu.client()), ("inproc", emu.in_process_client()), ("fanout", emu.client())] {
            let nss: Api<Namespace> = Api::all(client.clone());
            nss.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap()).await.unwrap();
        }
        let (c, u) = writes(emu.client(), "https", n, "w").await;
        println!("writes over HTTPS (kube::Client, {WRITERS} writers, {n} objects): create {c:.0}/s, update {u:.0}/s");
        let (c, u) = writes(emu.in_process_client(), "inproc", n, "w").await;
        println!("writes in-process (kube::Client over the Router, {WRITERS} writers, {n} objects): create {c:.0}/s, update {u:.0}/s");
        let (secs, rate) = fan_out(&emu, emu.client(), "fanout", n).await;
        println!("watch fan-out over HTTPS: {WATCHERS} watchers x {n} creates delivered in {secs:.2}s ({rate:.0} events/s)");
    });
}

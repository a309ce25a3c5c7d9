//! Socket `limit` under concurrency (docs/lifecycle.md, "Socket limit"):
//! plugs created together, slots freed while others wait, and two
//! operators acting at once never couple more plugs than the limit, as seen
//! at every moment of a watch on plugs; a freed slot goes to the oldest
//! waiting plug, and the waiting plugs' message says their place in line.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use integration_api::Plug;
use integration_controller::RunOptions;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use crate::harness::*;

const SOCKETS: usize = 5;
const PLUGS_PER_SOCKET: usize = 10;

/// The most plugs ever seen coupled to each socket at one moment, from a
/// watch on all plugs; keyed `namespace/name@uid`, so a re-created socket
/// counts apart from its predecessor.
#[derive(Clone, Default)]
pub(crate) struct Peak(Arc<Mutex<BTreeMap<String, usize>>>);

impl Peak {
    /// Watches plugs until the test ends, recording the peak per socket.
    pub(crate) fn watch(&self, client: kube::Client) -> tokio::task::JoinHandle<()> {
        let peak = self.clone();
        let plugs: Api<Plug> = Api::all(client);
        tokio::spawn(async move {
            let mut coupled: HashMap<(String, String), String> = HashMap::new();
            let mut events = watcher(plugs, watcher::Config::default())
                .default_backoff()
                .boxed();
            while let Ok(Some(event)) = events.try_next().await {
                match event {
                    watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                        let key = (p.namespace().unwrap_or_default(), p.name_any());
                        match p.status.and_then(|s| s.coupled_socket) {
                            Some(c) => {
                                coupled.insert(key, format!("{}/{}@{}", c.namespace, c.name, c.uid))
                            }
                            None => coupled.remove(&key),
                        };
                    }
                    watcher::Event::Delete(p) => {
                        coupled.remove(&(p.namespace().unwrap_or_default(), p.name_any()));
                    }
                    watcher::Event::Init | watcher::Event::InitDone => {}
                }
                peak.record(&coupled);
            }
        })
    }

    fn record(&self, coupled: &HashMap<(String, String), String>) {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for socket in coupled.values() {
            *counts.entry(socket.clone()).or_default() += 1;
        }
        let mut peak = self.0.lock().unwrap();
        for (socket, n) in counts {
            let most = peak.entry(socket).or_default();
            *most = (*most).max(n);
        }
    }

    pub(crate) fn most(&self) -> BTreeMap<String, usize> {
        self.0.lock().unwrap().clone()
    }
}

fn socket_name(s: usize) -> String {
    format!("s{s}")
}

fn plug_name(s: usize, i: usize) -> String {
    format!("s{s}-p{i}")
}

/// Creates `SOCKETS` sockets of `limit: 1` and `PLUGS_PER_SOCKET` plugs
/// each, all at once.
async fn create_all(op: &Op) {
    let mut writes = Vec::new();
    for s in 0..SOCKETS {
        writes.push(
            json!({"apiVersion": "integration.rock8s.com/v1beta1", "kind": "Socket",
            "metadata": {"name": socket_name(s), "namespace": "db"}, "spec": {"limit": 1}}),
        );
        for i in 0..PLUGS_PER_SOCKET {
            writes.push(
                json!({"apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
                "metadata": {"name": plug_name(s, i), "namespace": "app"},
                "spec": {"socket": {"name": socket_name(s), "namespace": "db"}}}),
            );
        }
    }
    futures::future::join_all(writes.iter().map(|doc| op.apply_value(doc))).await;
}

/// The plugs of each socket, grouped by socket name, once every socket has
/// one plug coupled and the others wait for a slot.
/// Fails at once when the watch saw more than one plug coupled to a
/// socket.
async fn settled(op: &Op, peak: &Peak) -> BTreeMap<String, Vec<Plug>> {
    eventually("one coupled plug per socket, the rest waiting", || async {
        assert_at_most_one(peak);
        let plugs = op.plugs("app").list(&Default::default()).await.unwrap();
        let mut by_socket: BTreeMap<String, Vec<Plug>> = BTreeMap::new();
        for p in plugs.items {
            let socket = p.spec.socket.as_ref().map(|s| s.name.clone());
            by_socket
                .entry(socket.unwrap_or_default())
                .or_default()
                .push(p);
        }
        let ok = by_socket.len() == SOCKETS
            && by_socket.values().all(|plugs| {
                let reasons: Vec<&str> = plugs.iter().map(reason).collect();
                reasons
                    .iter()
                    .filter(|r| **r == "CouplingSucceeded")
                    .count()
                    == 1
                    && reasons
                        .iter()
                        .filter(|r| **r == "SocketLimitReached")
                        .count()
                        == plugs.len() - 1
            });
        ok.then_some(by_socket)
    })
    .await
}

fn reason(p: &Plug) -> &str {
    coupled(p.status.as_ref().and_then(|s| s.conditions.as_ref()))
        .map(|c| c.reason.as_str())
        .unwrap_or_default()
}

fn message(p: &Plug) -> String {
    coupled(p.status.as_ref().and_then(|s| s.conditions.as_ref()))
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// Oldest first: creation time, then namespace and name.
fn by_age(plugs: &mut [Plug]) {
    plugs.sort_by_key(|p| {
        (
            p.metadata.creation_timestamp.as_ref().map(|t| t.0),
            p.namespace(),
            p.name_any(),
        )
    });
}

/// Whether the waiting plugs of one socket say their place in line,
/// oldest first.
fn places_shown(socket: &str, plugs: &[Plug]) -> bool {
    let mut waiting: Vec<Plug> = plugs
        .iter()
        .filter(|p| reason(p) == "SocketLimitReached")
        .cloned()
        .collect();
    by_age(&mut waiting);
    waiting.iter().enumerate().all(|(place, p)| {
        message(p)
            == format!(
                "socket db/{socket} accepts at most 1 plugs; place in line: {}",
                place + 1
            )
    })
}

/// Waits until every socket has one plug coupled and the waiting plugs
/// show their place in line; returns the plugs by socket.
async fn in_line(op: &Op, peak: &Peak) -> BTreeMap<String, Vec<Plug>> {
    eventually("waiting plugs show their place in line", || async {
        let by_socket = settled(op, peak).await;
        by_socket
            .iter()
            .all(|(socket, plugs)| places_shown(socket, plugs))
            .then_some(by_socket)
    })
    .await
}

fn assert_at_most_one(peak: &Peak) {
    let most = peak.most();
    assert!(most.values().all(|n| *n <= 1), "coupled at once: {most:?}");
}

fn assert_never_over_limit(peak: &Peak) {
    let most = peak.most();
    assert_eq!(most.len(), SOCKETS, "{most:?}");
    assert_at_most_one(peak);
}

#[tokio::test]
async fn plugs_created_together_and_freed_slots_never_exceed_the_limit() {
    let op = Op::start().await;
    let peak = Peak::default();
    let _watch = peak.watch(op.client.clone());
    create_all(&op).await;
    let first = in_line(&op, &peak).await;

    // Free one slot per socket: the oldest waiting plug takes it, alone.
    let mut expected = BTreeMap::new();
    for (socket, plugs) in &first {
        let holder = plugs.iter().find(|p| reason(p) == "CouplingSucceeded");
        op.delete_plug("app", &holder.unwrap().name_any()).await;
        let mut waiting: Vec<Plug> = plugs
            .iter()
            .filter(|p| reason(p) == "SocketLimitReached")
            .cloned()
            .collect();
        by_age(&mut waiting);
        expected.insert(socket.clone(), waiting[0].name_any());
    }
    eventually("the oldest waiting plugs coupled", || async {
        let by_socket = in_line(&op, &peak).await;
        let ok = by_socket.iter().all(|(socket, plugs)| {
            plugs.len() == PLUGS_PER_SOCKET - 1
                && plugs
                    .iter()
                    .any(|p| p.name_any() == expected[socket] && reason(p) == "CouplingSucceeded")
        });
        ok.then_some(())
    })
    .await;
    assert_never_over_limit(&peak);
}

#[tokio::test]
async fn two_operators_at_once_never_exceed_the_limit() {
    // Worse than a leader handover: two replicas act on the same plugs
    // the whole time, each with its own caches and queues.
    let mut op = Op::without_operator(RunOptions::default()).await;
    op.start_operator();
    let (stop_second, stopped) = futures::channel::oneshot::channel::<()>();
    let second = tokio::spawn(integration_controller::run_until(
        op.client.clone(),
        RunOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let peak = Peak::default();
    let _watch = peak.watch(op.client.clone());
    create_all(&op).await;
    let first = settled(&op, &peak).await;
    for plugs in first.values() {
        let holder = plugs.iter().find(|p| reason(p) == "CouplingSucceeded");
        op.delete_plug("app", &holder.unwrap().name_any()).await;
    }
    eventually("every socket coupled again", || async {
        let by_socket = settled(&op, &peak).await;
        by_socket
            .values()
            .all(|plugs| plugs.len() == PLUGS_PER_SOCKET - 1)
            .then_some(())
    })
    .await;
    assert_never_over_limit(&peak);
    let _ = stop_second.send(());
    within(EVENTUALLY, "second operator stops", second)
        .await
        .unwrap();
    op.stop_operator().await;
}

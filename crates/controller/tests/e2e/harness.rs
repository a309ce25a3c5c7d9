//! The emulator with the CRDs and F0, the operator running against it,
//! and bounded waits on conditions.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use integration_api::{Plug, Socket};
use integration_controller::{Cluster, Metrics, RunOptions};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube_emulator::Emulator;
use serde_json::Value;

#[path = "../edge/common.rs"]
#[allow(dead_code)]
mod common;
pub use common::{F0, yaml_docs};
pub use integration_fixtures::{P0, S0, manifest};

/// How long "eventually" may take (docs/scenarios.md: 30 s).
pub const EVENTUALLY: u64 = 30;

pub struct Op {
    pub emu: Emulator,
    pub client: kube::Client,
    /// The metrics of every operator this test starts.
    pub metrics: Arc<Metrics>,
    /// How every operator this test starts runs.
    pub options: RunOptions,
    /// The running operator, if any: its task and its shutdown trigger.
    operator: Option<(
        tokio::task::JoinHandle<()>,
        futures::channel::oneshot::Sender<()>,
    )>,
}

impl Drop for Op {
    fn drop(&mut self) {
        if let Some((task, _)) = &self.operator {
            task.abort();
        }
    }
}

impl Op {
    /// F0 with the CRDs installed and the operator running, polling
    /// DeferredResources every second.
    pub async fn start() -> Op {
        Op::start_with(RunOptions {
            deferred_poll: Duration::from_secs(1),
            ..RunOptions::default()
        })
        .await
    }

    /// [`Op::start`] with an operator run with `options`.
    pub async fn start_with(options: RunOptions) -> Op {
        let mut op = Op::without_operator(options).await;
        op.start_operator();
        op
    }

    /// F0 with the CRDs installed; no operator yet (one started later runs
    /// with `options`).
    pub async fn without_operator(options: RunOptions) -> Op {
        log_when_asked();
        let emu = Emulator::start().await.expect("emulator starts");
        let client = emu.client();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in integration_api::crds() {
            let name = crd.metadata.name.clone().unwrap();
            crds.create(&PostParams::default(), &crd).await.unwrap();
            within(10, "CRD established", async {
                await_condition(crds.clone(), &name, conditions::is_crd_established())
                    .await
                    .unwrap()
            })
            .await;
        }
        let cluster = Cluster::new(client.clone());
        for doc in yaml_docs(F0) {
            cluster.objects().apply(&doc).await.expect("F0 applies");
        }
        Op {
            emu,
            client,
            metrics: Arc::new(Metrics::default()),
            options,
            operator: None,
        }
    }

    /// Starts an operator against the emulator (a fresh process: its own
    /// caches, queues and Event recorder; the metrics are shared).
    pub fn start_operator(&mut self) {
        assert!(self.operator.is_none(), "an operator is already running");
        let options = RunOptions {
            metrics: self.metrics.clone(),
            ..self.options.clone()
        };
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        let task = tokio::spawn(integration_controller::run_until(
            self.client.clone(),
            options,
            async move {
                let _ = stopped.await;
            },
        ));
        self.operator = Some((task, stop));
    }

    /// Stops the running operator gracefully (in-flight passes finish)
    /// and waits until it has stopped.
    pub async fn stop_operator(&mut self) {
        let (task, stop) = self.operator.take().expect("an operator is running");
        let _ = stop.send(());
        within(EVENTUALLY, "operator stops", task).await.unwrap();
    }

    /// Applies every document of `text` as cluster-admin, for objects a
    /// user would not apply through [`Op::apply`] (namespaces, …).
    pub async fn admin_apply(&self, text: &str) {
        let objects = Cluster::new(self.client.clone()).objects();
        for doc in yaml_docs(text) {
            objects.apply(&doc).await.expect("applies");
        }
    }

    /// Applies every document of `text` (server-side, as a user would).
    pub async fn apply(&self, text: &str) {
        for doc in yaml_docs(text) {
            self.apply_value(&doc).await;
        }
    }

    /// Applies one object (server-side, as a user would).
    pub async fn apply_value(&self, doc: &Value) {
        let cluster = Cluster::new(self.client.clone());
        let name = doc["metadata"]["name"].as_str().unwrap();
        let ns = doc["metadata"]["namespace"].as_str().unwrap();
        let mapping = cluster
            .mapper()
            .mapping(
                doc["apiVersion"].as_str().unwrap(),
                doc["kind"].as_str().unwrap(),
            )
            .await
            .unwrap();
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &mapping.resource);
        let params = PatchParams::apply("e2e-user").force();
        api.patch(name, &params, &Patch::Apply(doc)).await.unwrap();
    }

    pub fn plugs(&self, ns: &str) -> Api<Plug> {
        Api::namespaced(self.client.clone(), ns)
    }

    pub fn sockets(&self, ns: &str) -> Api<Socket> {
        Api::namespaced(self.client.clone(), ns)
    }

    pub fn config_maps(&self, ns: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), ns)
    }

    pub async fn plug(&self, ns: &str, name: &str) -> Option<Plug> {
        self.plugs(ns).get_opt(name).await.unwrap()
    }

    pub async fn socket(&self, ns: &str, name: &str) -> Option<Socket> {
        self.sockets(ns).get_opt(name).await.unwrap()
    }

    pub async fn config_map(&self, ns: &str, name: &str) -> Option<ConfigMap> {
        self.config_maps(ns).get_opt(name).await.unwrap()
    }

    pub async fn delete_config_map(&self, ns: &str, name: &str) {
        self.config_maps(ns)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Deletes the plug `ns/name` (its finalizer keeps it until the
    /// operator is done).
    pub async fn delete_plug(&self, ns: &str, name: &str) {
        self.plugs(ns)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Waits until the plug `ns/name` is gone.
    pub async fn plug_gone(&self, ns: &str, name: &str) {
        eventually(&format!("plug {ns}/{name} gone"), || async {
            self.plug(ns, name).await.is_none().then_some(())
        })
        .await;
    }

    /// Reasons of the Events regarding `name` in `ns`, oldest first.
    pub async fn events(&self, ns: &str, name: &str) -> Vec<String> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), ns);
        let mut events: Vec<Event> = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect();
        events.sort_by_key(|e| {
            e.metadata
                .resource_version
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
        });
        events
            .into_iter()
            .map(|e| e.reason.unwrap_or_default())
            .collect()
    }

    /// Notes of the Events with `reason` regarding `name` in `ns`.
    pub async fn event_notes(&self, ns: &str, name: &str, reason: &str) -> Vec<String> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), ns);
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .filter(|e| e.reason.as_deref() == Some(reason))
            .map(|e| e.note.unwrap_or_default())
            .collect()
    }

    /// Waits until the plug's `Coupled` condition has `reason`.
    pub async fn plug_reason(&self, ns: &str, name: &str, reason: &str) -> Plug {
        eventually(&format!("plug {ns}/{name} {reason}"), || async {
            self.plug(ns, name).await.filter(|p| {
                coupled(p.status.as_ref().and_then(|s| s.conditions.as_ref()))
                    .map(|c| c.reason.as_str())
                    == Some(reason)
            })
        })
        .await
    }
}

/// What `/metrics` shows for `metrics` now.
pub fn scrape(metrics: &Metrics) -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    text
}

/// The value of `series` (name and labels, as the text format writes
/// them) in `text`, if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

/// The `Coupled` condition.
pub fn coupled(conditions: Option<&Vec<Condition>>) -> Option<&Condition> {
    condition(conditions, "Coupled")
}

pub fn condition<'c>(conditions: Option<&'c Vec<Condition>>, type_: &str) -> Option<&'c Condition> {
    conditions?.iter().find(|c| c.type_ == type_)
}

/// `type/status/reason/message` of every condition, as docs/scenarios.md
/// compares them.
pub fn summary(conditions: Option<&Vec<Condition>>) -> Vec<[String; 4]> {
    conditions
        .into_iter()
        .flatten()
        .map(|c| {
            [
                c.type_.clone(),
                c.status.clone(),
                c.reason.clone(),
                c.message.clone(),
            ]
        })
        .collect()
}

pub fn cond(type_: &str, status: &str, reason: &str, message: &str) -> [String; 4] {
    [type_, status, reason, message].map(String::from)
}

/// Polls `check` until it yields a value, failing after [`EVENTUALLY`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    within(EVENTUALLY, what, async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// Awaits `fut`, failing the test after `secs` seconds.
pub async fn within<T>(secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {secs}s"))
}

/// `data` of a ConfigMap as JSON.
pub fn data(cm: &ConfigMap) -> Value {
    serde_json::to_value(cm.data.clone().unwrap_or_default()).unwrap()
}

/// With `RUST_LOG` set (e.g. `RUST_LOG=integration_controller=debug`), the
/// operator's logs go to the test's output: the way to see which passes a
/// failing test ran.
fn log_when_asked() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

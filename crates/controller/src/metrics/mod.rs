//! What the operator exports on `/metrics` (docs/operations.md, "Metrics"), in
//! the Prometheus text format. [`Metrics`] holds every series and
//! [`Metrics::register`] is the one place that adds them to a registry.
//!
//! controller-runtime's names, so dashboards written for the original
//! operator keep working (`controller` is `plug`, `socket` or
//! `deferredresource`):
//!
//! * `controller_runtime_reconcile_total{controller, result}`: passes,
//!   `result` is `success` or `error`;
//! * `controller_runtime_reconcile_errors_total{controller}`: failed passes;
//! * `controller_runtime_reconcile_time_seconds{controller}`: a histogram of
//!   pass durations;
//! * `leader_election_master_status{name}`: 1 while this process holds the
//!   Lease `name`, else 0 (with leader election).
//!
//! The operator's own, under `integration_operator_`:
//!
//! * `hook_duration_seconds{event, side}`: a histogram of how long one
//!   side's hooks of one lifecycle event took (its apparatus call, its
//!   resources and its Event), `event` one of `created`, `coupled`,
//!   `updated`, `decoupled`, `deleted` and `side` `plug` or `socket`. Only
//!   hooks that completed are observed: a failed attempt ends at its first
//!   error (an apparatus that is starting fails in milliseconds, one that
//!   hangs after its timeout), so its duration says little about hooks;
//!   failures show in the reconcile errors, the apparatus calls and the
//!   `Failed` condition.
//! * `apparatus_calls_total{path, code}`: apparatus calls by path
//!   (`config`, `created`, `coupled`, …) and outcome: the HTTP status of
//!   the answer (after the retries of a 5xx; `404` is "not implemented"),
//!   or `error` when none came (refused, broken connection, timeout,
//!   invalid URL). A `/config` answer that is not JSON counts under its
//!   status.
//! * `template_errors_total{side}`: passes that failed on a template
//!   (parse, execution, `<no value>`, output that is not a resource), by
//!   the side whose template it is. A broken template fails every retry of
//!   its plug, so the rate stays above zero until it is fixed.
//!
//! Computed from the controllers' caches at each scrape (nothing to keep
//! in step, and a restarted operator is right at once); a process that does
//! not run the controllers (a standby replica) exports none of them:
//!
//! * `couplings{reason}`: plugs by the reason of their `Coupled`
//!   condition: `PlugCreated`, `SocketNotCreated`, `CouplingInProcess`,
//!   `UpdatingInProcess`, `CouplingSucceeded`, `SocketLimitReached`,
//!   `Error`, and `Unknown` for a plug the operator has not seen yet (or a
//!   reason it does not write). Every reason is always there, 0 included,
//!   so an alert on `Error` needs no `absent()`.
//! * `coupled_plugs`: plugs coupled to a socket (`status.coupledSocket`);
//! * `sockets`: sockets;
//! * `socket_plugs_max`: the most plugs coupled to one socket.
//! * `applications{phase}`: Applications by `status.phase` (`Pending`,
//!   `Running`, `Degraded`, `Failed`, and `Unknown` before the first
//!   pass), every phase always there.
//!
//! And `application_time_to_running_seconds`: a histogram of the time from
//! an Application's creation to its first `Running`, observed when this
//! process sees the transition (once per Application; a recovery from
//! `Degraded` is not counted again).
//!
//! Plugs per socket with a label per socket would be one series per socket:
//! unbounded, and a series that outlives its socket. What a platform
//! engineer watches is load and headroom: the total (`coupled_plugs`), the
//! mean (`coupled_plugs / sockets`) and the busiest socket
//! (`socket_plugs_max`); which socket that is, kubectl's `PLUGS` column
//! says. No label holds an object's name or a value from a spec or a
//! Secret: every label value comes from a fixed set.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use integration_api::condition::{COUPLED, reason};
use integration_api::{Plug, Socket, When};
use integration_engine::Side;
use kube::runtime::reflector::Store;
use kube_declarative::listed::Listed;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::status;

mod applications;

pub use applications::Applications;

/// A controller, as the `controller` label names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerName {
    /// The Plug controller.
    Plug,
    /// The Socket controller.
    Socket,
    /// The DeferredResource controller.
    DeferredResource,
    /// The Application controller.
    Application,
    /// The Component controller.
    Component,
}

impl ControllerName {
    /// The `controller` label value: the kind, lower case.
    pub fn label(self) -> &'static str {
        match self {
            ControllerName::Plug => "plug",
            ControllerName::Socket => "socket",
            ControllerName::DeferredResource => "deferredresource",
            ControllerName::Application => "application",
            ControllerName::Component => "component",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    controller: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabels {
    event: &'static str,
    side: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    path: &'static str,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SideLabels {
    side: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaseLabels {
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

type Durations<L> = Family<L, Histogram, fn() -> Histogram>;

/// Buckets from 5 ms to about 82 s, doubling: passes and hooks wait on the
/// API server and, for apparatus, on HTTP calls (30 s by default).
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Completed reconcile passes per controller: how many, how many failed,
/// and how long they took. Part of [`Metrics`]; tests read it for "n
/// passes later" instead of "some time later".
#[derive(Debug)]
pub struct Passes {
    totals: Family<ResultLabels, Counter>,
    errors: Family<ControllerLabels, Counter>,
    durations: Durations<ControllerLabels>,
}

impl Default for Passes {
    fn default() -> Self {
        Passes {
            totals: Family::default(),
            errors: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
        }
    }
}

impl Passes {
    /// Runs one reconcile pass of `controller` and counts it: its result
    /// and its duration.
    pub async fn record<T, E>(
        &self,
        controller: ControllerName,
        pass: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = pass.await;
        self.count(controller, result.is_ok(), started.elapsed());
        result
    }

    /// Counts one pass of `controller` that succeeded (`ok`) or not and
    /// took `took`.
    pub fn count(&self, controller: ControllerName, ok: bool, took: Duration) {
        let name = controller.label();
        self.durations
            .get_or_create(&ControllerLabels { controller: name })
            .observe(took.as_secs_f64());
        if !ok {
            self.errors
                .get_or_create(&ControllerLabels { controller: name })
                .inc();
        }
        let result = if ok { "success" } else { "error" };
        self.totals
            .get_or_create(&ResultLabels {
                controller: name,
                result,
            })
            .inc();
    }

    /// Completed passes of `controller`, failed ones included.
    pub fn of(&self, controller: ControllerName) -> u64 {
        ["success", "error"]
            .into_iter()
            .map(|result| {
                self.totals
                    .get_or_create(&ResultLabels {
                        controller: controller.label(),
                        result,
                    })
                    .get()
            })
            .sum()
    }

    /// Failed passes of `controller`.
    pub fn errors(&self, controller: ControllerName) -> u64 {
        self.errors
            .get_or_create(&ControllerLabels {
                controller: controller.label(),
            })
            .get()
    }

    /// Plug passes so far.
    pub fn plugs(&self) -> u64 {
        self.of(ControllerName::Plug)
    }

    /// Socket passes so far.
    pub fn sockets(&self) -> u64 {
        self.of(ControllerName::Socket)
    }

    /// DeferredResource passes so far.
    pub fn deferred(&self) -> u64 {
        self.of(ControllerName::DeferredResource)
    }
}

/// Every metric of the operator (see the module documentation). One per
/// process, shared by the controllers, the apparatus client and the
/// metrics endpoint; later observations show in every scrape.
#[derive(Debug)]
pub struct Metrics {
    /// Reconcile passes (controller-runtime's series).
    pub passes: Passes,
    hooks: Durations<HookLabels>,
    apparatus_calls: Family<CallLabels, Counter>,
    template_errors: Family<SideLabels, Counter>,
    leader: Family<LeaseLabels, Gauge>,
    couplings: Couplings,
    /// Applications by phase, and their time to first Running.
    pub applications: Applications,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            passes: Passes::default(),
            hooks: Family::new_with_constructor(duration_histogram),
            apparatus_calls: Family::default(),
            template_errors: Family::default(),
            leader: Family::default(),
            couplings: Couplings::default(),
            applications: Applications::default(),
        }
    }
}

impl Metrics {
    /// Runs `side`'s hooks of `event` and, when they complete, observes
    /// how long they took.
    pub async fn time_hooks<T, E>(
        &self,
        event: When,
        side: Side,
        hooks: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = hooks.await;
        if result.is_ok() {
            let labels = HookLabels {
                event: event.as_str(),
                side: side.as_str(),
            };
            self.hooks
                .get_or_create(&labels)
                .observe(started.elapsed().as_secs_f64());
        }
        result
    }

    /// Counts one apparatus call to `path` (`config`, `coupled`, …) that
    /// ended with the HTTP `status`, or with none (`None`: no answer).
    pub fn count_apparatus_call(&self, path: &'static str, status: Option<u16>) {
        let code = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        self.apparatus_calls
            .get_or_create(&CallLabels { path, code })
            .inc();
    }

    /// Counts `err` when a template caused it.
    pub fn count_template_error(&self, err: &integration_engine::Error) {
        if let Some(side) = err.template_side() {
            self.template_errors
                .get_or_create(&SideLabels {
                    side: side.as_str(),
                })
                .inc();
        }
    }

    /// Records whether this process holds the leader Lease `lease`.
    pub fn set_leading(&self, lease: &str, leading: bool) {
        self.leader
            .get_or_create(&LeaseLabels {
                name: lease.to_string(),
            })
            .set(i64::from(leading));
    }

    /// Computes the coupling gauges from `plugs` and `sockets` (the
    /// controllers' caches; `listed` says whether each holds its first
    /// list) at each scrape, until the returned guard is dropped.
    pub fn watch(
        &self,
        plugs: Store<Plug>,
        sockets: Store<Socket>,
        listed: [Listed; 2],
    ) -> Watching {
        *self.couplings.write() = Some(Caches {
            plugs,
            sockets,
            listed,
        });
        Watching(self.couplings.clone())
    }

    /// Adds every metric to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let passes = &self.passes;
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            passes.totals.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            passes.errors.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            passes.durations.clone(),
        );
        registry.register(
            "leader_election_master_status",
            "Whether this process leads (1) or stands by (0)",
            self.leader.clone(),
        );
        registry.register(
            "integration_operator_hook_duration_seconds",
            "How long one side's hooks of one lifecycle event took (apparatus call, resources, Event)",
            self.hooks.clone(),
        );
        registry.register(
            "integration_operator_apparatus_calls",
            "Apparatus calls by path and HTTP status (error: no answer)",
            self.apparatus_calls.clone(),
        );
        registry.register(
            "integration_operator_template_errors",
            "Passes that failed on a template, by the side of the template",
            self.template_errors.clone(),
        );
        registry.register_collector(Box::new(self.couplings.clone()));
        registry.register(
            "integration_operator_application_time_to_running_seconds",
            "Seconds from an Application's creation to its first Running phase",
            self.applications.to_running(),
        );
        registry.register_collector(Box::new(self.applications.clone()));
    }
}

/// The caches the coupling gauges are computed from, and whether both
/// hold their first list.
#[derive(Clone)]
struct Caches {
    plugs: Store<Plug>,
    sockets: Store<Socket>,
    listed: [Listed; 2],
}

/// The coupling gauges: computed from the caches, while the controllers
/// run, at each scrape.
#[derive(Clone, Default)]
struct Couplings(Arc<RwLock<Option<Caches>>>);

impl Couplings {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<Caches>> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The caches, once both hold their first list.
    fn caches(&self) -> Option<Caches> {
        let caches = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        caches.listed.iter().all(Listed::now).then_some(caches)
    }
}

impl fmt::Debug for Couplings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Couplings").finish_non_exhaustive()
    }
}

/// Keeps the coupling gauges computed from the caches given to
/// [`Metrics::watch`]; dropping it stops them (the controllers stopped, so
/// the caches no longer follow the cluster).
#[must_use = "the coupling gauges stop when this is dropped"]
pub struct Watching(Couplings);

impl Drop for Watching {
    fn drop(&mut self) {
        *self.0.write() = None;
    }
}

/// The `reason` values of `couplings`: the reasons of a plug's `Coupled`
/// condition, then [`UNKNOWN`].
const REASONS: [&str; 8] = [
    reason::PLUG_CREATED,
    reason::SOCKET_NOT_CREATED,
    reason::COUPLING_IN_PROCESS,
    reason::UPDATING_IN_PROCESS,
    reason::COUPLING_SUCCEEDED,
    reason::SOCKET_LIMIT_REACHED,
    reason::ERROR,
    "Unknown",
];

/// Where [`REASONS`] counts a plug without a `Coupled` condition, or with
/// a reason the operator does not write.
const UNKNOWN: usize = REASONS.len() - 1;

/// What the coupling gauges show.
#[derive(Debug)]
struct Snapshot {
    /// Plugs per reason of [`REASONS`].
    reasons: [usize; REASONS.len()],
    coupled_plugs: usize,
    sockets: usize,
    socket_plugs_max: usize,
}

impl Snapshot {
    /// One pass over the plugs.
    fn of(plugs: &[Arc<Plug>], sockets: usize) -> Self {
        let mut reasons = [0; REASONS.len()];
        let mut per_socket: HashMap<&str, usize> = HashMap::new();
        for plug in plugs {
            let status = plug.status.as_ref();
            let reason = status::find(status.and_then(|s| s.conditions.as_ref()), COUPLED)
                .map(|c| c.reason.as_str());
            let slot = REASONS[..UNKNOWN]
                .iter()
                .position(|known| Some(*known) == reason)
                .unwrap_or(UNKNOWN);
            reasons[slot] += 1;
            if let Some(socket) = status.and_then(|s| s.coupled_socket.as_ref()) {
                *per_socket.entry(socket.uid.as_str()).or_default() += 1;
            }
        }
        Snapshot {
            reasons,
            coupled_plugs: per_socket.values().sum(),
            sockets,
            socket_plugs_max: per_socket.values().copied().max().unwrap_or(0),
        }
    }
}

/// A count as a gauge value.
fn gauge(n: usize) -> ConstGauge {
    ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX))
}

impl Collector for Couplings {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let Some(caches) = self.caches() else {
            return Ok(());
        };
        let plugs = caches.plugs.state();
        let snapshot = Snapshot::of(&plugs, caches.sockets.len());
        let mut family = encoder.encode_descriptor(
            "integration_operator_couplings",
            "Plugs by the reason of their Coupled condition",
            None,
            MetricType::Gauge,
        )?;
        for (reason, n) in REASONS.into_iter().zip(snapshot.reasons) {
            gauge(n).encode(family.encode_family(&ReasonLabels { reason })?)?;
        }
        for (name, help, n) in [
            (
                "integration_operator_coupled_plugs",
                "Plugs coupled to a socket",
                snapshot.coupled_plugs,
            ),
            ("integration_operator_sockets", "Sockets", snapshot.sockets),
            (
                "integration_operator_socket_plugs_max",
                "The most plugs coupled to one socket",
                snapshot.socket_plugs_max,
            ),
        ] {
            let metric = gauge(n);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use integration_api::{CoupledRef, PlugStatus};
    use kube::runtime::watcher;
    use kube_declarative::listed::listed;
    use prometheus_client::encoding::text::encode;
    use serde_json::json;

    fn scrape(metrics: &Metrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        out
    }

    /// Fails unless every line of `lines` is in `text`.
    fn assert_lines(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(
                text.lines().any(|l| l == *line),
                "{line:?} missing in\n{text}"
            );
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn counts_passes_errors_and_durations_per_controller() {
        let metrics = Metrics::default();
        let passes = &metrics.passes;
        block_on(async {
            let ok: Result<(), ()> = passes.record(ControllerName::Plug, async { Ok(()) }).await;
            assert!(ok.is_ok());
            let failed: Result<(), &str> = passes
                .record(ControllerName::Plug, async { Err("boom") })
                .await;
            assert_eq!(failed, Err("boom"));
            let _: Result<(), ()> = passes
                .record(ControllerName::Socket, async { Ok(()) })
                .await;
        });
        assert_eq!(passes.plugs(), 2);
        assert_eq!(passes.errors(ControllerName::Plug), 1);
        assert_eq!(passes.sockets(), 1);
        assert_eq!(passes.deferred(), 0);

        assert_lines(
            &scrape(&metrics),
            &[
                r#"controller_runtime_reconcile_total{controller="plug",result="success"} 1"#,
                r#"controller_runtime_reconcile_total{controller="plug",result="error"} 1"#,
                r#"controller_runtime_reconcile_total{controller="socket",result="success"} 1"#,
                r#"controller_runtime_reconcile_errors_total{controller="plug"} 1"#,
                r#"controller_runtime_reconcile_time_seconds_count{controller="plug"} 2"#,
                r#"controller_runtime_reconcile_time_seconds_bucket{le="+Inf",controller="socket"} 1"#,
                "# TYPE controller_runtime_reconcile_time_seconds histogram",
            ],
        );
    }

    #[test]
    fn times_completed_hooks_per_event_and_side() {
        let metrics = Metrics::default();
        block_on(async {
            let slow = async {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok::<_, ()>(())
            };
            metrics
                .time_hooks(When::Coupled, Side::Plug, slow)
                .await
                .unwrap();
            let fast = async { Ok::<_, ()>(()) };
            metrics
                .time_hooks(When::Coupled, Side::Socket, fast)
                .await
                .unwrap();
            let failed = metrics
                .time_hooks(When::Deleted, Side::Socket, async { Err::<(), _>("boom") })
                .await;
            assert_eq!(failed, Err("boom"));
        });
        let text = scrape(&metrics);
        assert_lines(
            &text,
            &[
                "# TYPE integration_operator_hook_duration_seconds histogram",
                r#"integration_operator_hook_duration_seconds_count{event="coupled",side="plug"} 1"#,
                r#"integration_operator_hook_duration_seconds_count{event="coupled",side="socket"} 1"#,
                // 20 ms is above the 5 and 10 ms buckets.
                r#"integration_operator_hook_duration_seconds_bucket{le="0.01",event="coupled",side="plug"} 0"#,
                r#"integration_operator_hook_duration_seconds_bucket{le="+Inf",event="coupled",side="plug"} 1"#,
            ],
        );
        assert!(!text.contains(r#"event="deleted""#), "{text}");
    }

    #[test]
    fn counts_apparatus_calls_and_template_errors() {
        let metrics = Metrics::default();
        metrics.count_apparatus_call("config", Some(200));
        metrics.count_apparatus_call("config", Some(200));
        metrics.count_apparatus_call("coupled", Some(500));
        metrics.count_apparatus_call("created", None);
        let template = integration_engine::Error::NoValue {
            template: "socket.resources[0]".into(),
            key: "data.url".into(),
        };
        metrics.count_template_error(&template);
        let not_a_template = integration_engine::Error::ResourceNamespace {
            namespace: "other".into(),
            owner_namespace: "app".into(),
        };
        metrics.count_template_error(&not_a_template);
        let text = scrape(&metrics);
        assert_lines(
            &text,
            &[
                "# TYPE integration_operator_apparatus_calls counter",
                r#"integration_operator_apparatus_calls_total{path="config",code="200"} 2"#,
                r#"integration_operator_apparatus_calls_total{path="coupled",code="500"} 1"#,
                r#"integration_operator_apparatus_calls_total{path="created",code="error"} 1"#,
                r#"integration_operator_template_errors_total{side="socket"} 1"#,
            ],
        );
        assert!(!text.contains(r#"template_errors_total{side="plug"}"#));
    }

    #[test]
    fn shows_the_leader_lease() {
        let metrics = Metrics::default();
        metrics.set_leading("integration-operator", true);
        metrics.set_leading("integration-operator", false);
        assert_lines(
            &scrape(&metrics),
            &[r#"leader_election_master_status{name="integration-operator"} 0"#],
        );
    }

    fn plug(name: &str, reason: Option<&str>, socket_uid: Option<&str>) -> Plug {
        let mut p: Plug = serde_json::from_value(json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
            "metadata": {"name": name, "namespace": "app"},
            "spec": {"socket": {"name": "s"}}
        }))
        .unwrap();
        let mut status = PlugStatus::default();
        if let Some(reason) = reason {
            let coupled = status::Desired::coupled(reason == "CouplingSucceeded", reason, "m");
            status::set_main(&mut status.conditions, coupled, None);
        }
        status.coupled_socket = socket_uid.map(|uid| CoupledRef {
            uid: uid.into(),
            ..Default::default()
        });
        p.status = Some(status);
        p
    }

    fn socket(name: &str) -> Socket {
        serde_json::from_value(json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Socket",
            "metadata": {"name": name, "namespace": "db"}, "spec": {}
        }))
        .unwrap()
    }

    /// A readiness flag, set when `set`.
    fn done(set: bool) -> Listed {
        let (lister, listed) = listed();
        if set {
            lister.observe(&watcher::Event::<Plug>::InitDone);
        }
        listed
    }

    /// A cache holding `objects`, as a reflector that listed them has it.
    fn cache<K>(objects: Vec<K>) -> Store<K>
    where
        K: kube::Resource<DynamicType = ()> + Clone + 'static,
    {
        let mut writer = kube::runtime::reflector::store::Writer::default();
        writer.apply_watcher_event(&watcher::Event::Init);
        for object in objects {
            writer.apply_watcher_event(&watcher::Event::InitApply(object));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
        writer.as_reader()
    }

    #[test]
    fn coupling_gauges_come_from_the_caches_while_watched() {
        let metrics = Metrics::default();
        let plugs = cache(vec![
            plug("a", Some("CouplingSucceeded"), Some("s1")),
            plug("b", Some("CouplingSucceeded"), Some("s1")),
            plug("c", Some("Error"), Some("s2")),
            plug("d", Some("SocketNotCreated"), None),
            plug("e", None, None),
            plug("f", Some("SomethingElse"), None),
        ]);
        let sockets = cache(vec![socket("s1"), socket("s2"), socket("s3")]);
        let text = scrape(&metrics);
        assert!(!text.contains("integration_operator_couplings"), "{text}");

        let watching = metrics.watch(plugs, sockets, [done(true), done(true)]);
        let text = scrape(&metrics);
        assert_lines(
            &text,
            &[
                "# TYPE integration_operator_couplings gauge",
                r#"integration_operator_couplings{reason="CouplingSucceeded"} 2"#,
                r#"integration_operator_couplings{reason="Error"} 1"#,
                r#"integration_operator_couplings{reason="SocketNotCreated"} 1"#,
                r#"integration_operator_couplings{reason="Unknown"} 2"#,
                r#"integration_operator_couplings{reason="SocketLimitReached"} 0"#,
                r#"integration_operator_couplings{reason="PlugCreated"} 0"#,
                "# TYPE integration_operator_coupled_plugs gauge",
                "integration_operator_coupled_plugs 3",
                "integration_operator_sockets 3",
                "integration_operator_socket_plugs_max 2",
            ],
        );
        assert!(!text.contains("SomethingElse"), "{text}");

        drop(watching);
        assert!(!scrape(&metrics).contains("integration_operator_sockets"));
    }

    #[test]
    fn no_coupling_gauges_before_the_caches_listed() {
        let metrics = Metrics::default();
        let (plugs_lister, plugs_listed) = listed();
        let sockets = cache(vec![socket("s1")]);
        let _watching = metrics.watch(cache(vec![]), sockets, [plugs_listed, done(true)]);
        assert!(!scrape(&metrics).contains("integration_operator_sockets"));
        plugs_lister.observe(&watcher::Event::<Plug>::InitDone);
        assert!(scrape(&metrics).contains("integration_operator_sockets 1"));
    }
}

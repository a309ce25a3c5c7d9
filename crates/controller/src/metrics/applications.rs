//! Application metrics: how many Applications are in each phase (from the
//! controller's cache at each scrape), and how long new ones take to run.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use integration_api::Application;
use jiff::Timestamp;
use kube::runtime::reflector::Store;
use kube_declarative::listed::Listed;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

use super::gauge;

/// The `phase` values of `applications`, `Unknown` last (not reconciled
/// yet, or a phase the operator does not write).
const PHASES: [&str; 5] = ["Pending", "Running", "Degraded", "Failed", "Unknown"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: &'static str,
}

/// The Application cache and whether it holds its first list.
type Watched = (Store<Application>, Listed);

/// The application series: the phase gauges (from the cache, while the
/// controller runs) and the time-to-Running histogram.
#[derive(Clone)]
pub struct Applications {
    cache: Arc<RwLock<Option<Watched>>>,
    to_running: Histogram,
    /// Applications whose first Running was observed by this process.
    seen: Arc<Mutex<HashSet<String>>>,
}

impl Default for Applications {
    fn default() -> Self {
        Applications {
            cache: Arc::default(),
            // 1 s to about 4.5 h, doubling: image pulls, rollouts.
            to_running: Histogram::new(exponential_buckets(1.0, 2.0, 15)),
            seen: Arc::default(),
        }
    }
}

impl fmt::Debug for Applications {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Applications").finish_non_exhaustive()
    }
}

impl Applications {
    /// Computes the phase gauges from `cache` from now on, once `listed`
    /// says it holds its first list.
    pub fn watch(&self, cache: Store<Application>, listed: Listed) {
        *self.cache.write().unwrap_or_else(PoisonError::into_inner) = Some((cache, listed));
    }

    /// Records that the Application with `uid`, created at `created`,
    /// became Running at `now`: observed once per Application (a later
    /// recovery from Degraded is not a first Running).
    pub fn running(&self, uid: &str, created: Option<Timestamp>, now: Timestamp) {
        let first = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uid.to_string());
        if let Some(created) = created.filter(|_| first) {
            let took = now.duration_since(created).as_secs_f64().max(0.0);
            self.to_running.observe(took);
        }
    }

    /// The time-to-Running histogram, for the registry.
    pub fn to_running(&self) -> Histogram {
        self.to_running.clone()
    }

    /// Applications per phase, once the cache holds its first list.
    fn phases(&self) -> Option<[usize; 5]> {
        let (cache, listed) = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        // Not the store's own signal: a look at it with a no-op waker
        // would take the controller runner's place as its one waiter.
        if !listed.now() {
            return None;
        }
        let mut counts = [0; 5];
        for app in cache.state() {
            let phase = app.status.as_ref().and_then(|s| s.phase.as_deref());
            let at = PHASES.iter().position(|p| Some(*p) == phase).unwrap_or(4);
            counts[at] += 1;
        }
        Some(counts)
    }
}

impl Collector for Applications {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let Some(counts) = self.phases() else {
            return Ok(());
        };
        let mut family = encoder.encode_descriptor(
            "integration_operator_applications",
            "Applications by phase",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (phase, n) in PHASES.into_iter().zip(counts) {
            gauge(n).encode(family.encode_family(&PhaseLabels { phase })?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_scrape_before_the_first_list_leaves_the_caches_waiter_awake() {
        use kube::runtime::{reflector, watcher};
        let mut writer = reflector::store::Writer::<Application>::default();
        let (lister, listed) = kube_declarative::listed::listed();
        let apps = Applications::default();
        apps.watch(writer.as_reader(), listed);
        // A controller runner waits on the store's own signal.
        let store = writer.as_reader();
        let runner = tokio::spawn(async move { store.wait_until_ready().await.is_ok() });
        tokio::task::yield_now().await;
        assert_eq!(apps.phases(), None, "no gauges before the first list");
        for event in [watcher::Event::Init, watcher::Event::InitDone] {
            writer.apply_watcher_event(&event);
            lister.observe(&event);
        }
        let woke = tokio::time::timeout(std::time::Duration::from_secs(5), runner).await;
        assert!(matches!(woke, Ok(Ok(true))), "the runner wakes");
        assert_eq!(apps.phases(), Some([0; 5]));
    }

    #[test]
    fn the_first_running_is_observed_once() {
        let apps = Applications::default();
        let created: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let later = created + jiff::SignedDuration::from_secs(42);
        apps.running("u1", Some(created), later);
        apps.running(
            "u1",
            Some(created),
            later + jiff::SignedDuration::from_secs(600),
        );
        let mut text = String::new();
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("t", "t", apps.to_running());
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("t_count 1"), "{text}");
        assert!(text.contains("t_sum 42.0"), "{text}");
    }
}

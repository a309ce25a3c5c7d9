//! What the controllers count: reconcile passes, failed passes and pass
//! durations per controller, exported in the Prometheus text format under
//! controller-runtime's metric names (spec §7.1), so dashboards written for
//! the original operator keep working:
//!
//! * `controller_runtime_reconcile_total{controller, result}`: passes,
//!   `result` is `success` or `error`;
//! * `controller_runtime_reconcile_errors_total{controller}`: failed passes;
//! * `controller_runtime_reconcile_time_seconds{controller}`: a histogram of
//!   pass durations.
//!
//! `controller` is `plug`, `socket` or `deferredresource`.

use std::future::Future;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A controller, as the `controller` label names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerName {
    /// The Plug controller.
    Plug,
    /// The Socket controller.
    Socket,
    /// The DeferredResource controller.
    DeferredResource,
}

impl ControllerName {
    /// The `controller` label value: the kind, lower case.
    pub fn label(self) -> &'static str {
        match self {
            ControllerName::Plug => "plug",
            ControllerName::Socket => "socket",
            ControllerName::DeferredResource => "deferredresource",
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

type Durations = Family<ControllerLabels, Histogram, fn() -> Histogram>;

/// Completed reconcile passes per controller: how many, how many failed,
/// and how long they took. Shared between the controllers, the metrics
/// endpoint, and tests that need "n passes later" instead of "some time
/// later".
#[derive(Debug)]
pub struct Passes {
    totals: Family<ResultLabels, Counter>,
    errors: Family<ControllerLabels, Counter>,
    durations: Durations,
}

impl Default for Passes {
    fn default() -> Self {
        Passes {
            totals: Family::default(),
            errors: Family::default(),
            durations: Family::new_with_constructor(pass_histogram),
        }
    }
}

/// Buckets from 5 ms to about 82 s, doubling: passes wait on the API server
/// and, for apparatus, on HTTP calls.
fn pass_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
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
        let name = controller.label();
        self.durations
            .get_or_create(&ControllerLabels { controller: name })
            .observe(started.elapsed().as_secs_f64());
        let outcome = if result.is_ok() { "success" } else { "error" };
        if result.is_err() {
            self.errors
                .get_or_create(&ControllerLabels { controller: name })
                .inc();
        }
        self.totals
            .get_or_create(&ResultLabels {
                controller: name,
                result: outcome,
            })
            .inc();
        result
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

    /// Adds these metrics to `registry` (they stay shared: later passes
    /// show in every scrape).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            self.totals.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            self.errors.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            self.durations.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use prometheus_client::encoding::text::encode;

    fn scrape(passes: &Passes) -> String {
        let mut registry = Registry::default();
        passes.register(&mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        out
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn counts_passes_errors_and_durations_per_controller() {
        let passes = Passes::default();
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

        let text = scrape(&passes);
        for line in [
            r#"controller_runtime_reconcile_total{controller="plug",result="success"} 1"#,
            r#"controller_runtime_reconcile_total{controller="plug",result="error"} 1"#,
            r#"controller_runtime_reconcile_total{controller="socket",result="success"} 1"#,
            r#"controller_runtime_reconcile_errors_total{controller="plug"} 1"#,
            r#"controller_runtime_reconcile_time_seconds_count{controller="plug"} 2"#,
            r#"controller_runtime_reconcile_time_seconds_bucket{le="+Inf",controller="socket"} 1"#,
            "# TYPE controller_runtime_reconcile_time_seconds histogram",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
    }
}

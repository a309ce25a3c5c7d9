//! The apparatus (docs/apparatus.md): an HTTP service per Plug or Socket
//! that the operator calls for config (`POST <base>/config`) and on
//! lifecycle events (`POST <base>/<event>`), started lazily as a Pod and
//! Service named `<owner>-apparatus` and reaped when idle.
//!
//! * [`Caller`]: builds and posts calls, without Kubernetes (where a call
//!   goes, its body, `Idempotency-Key`, timeout and retries); the CLI's
//!   `render` uses it too.
//! * `Apparatus`: what the reconcilers call: a [`Caller`] that also
//!   starts the apparatus. A call that finds nothing listening
//!   (docs/apparatus.md, "Lazy start") creates the Service and Pod and
//!   fails with `Error::Starting`, which retries the pass after
//!   [`ApparatusOptions::start_delay`] without an error status.
//! * The reaper deletes Pods idle longer than their timeout; the state is
//!   in Pod annotations, so a restarted operator reaps what the last one
//!   started.
//!
//! A `404` answer means "not implemented": an event call is skipped and a
//! `/config` call counts as `{}`.

mod caller;
mod endpoint;
mod http;
mod options;
pub(crate) mod reaper;
mod workload;

pub use caller::{Call, Caller};
pub use http::CallError;
pub use options::{ApparatusOptions, DEFAULT_CLUSTER_DOMAIN};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use integration_api::{FIELD_MANAGER, SpecApparatus};
use integration_engine::{Configs, Coupling, CouplingEvent, OwnEvent, Owner, Side, Sources};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::ObjectRef;
use crate::Operation;
use crate::metrics::Metrics;
use workload::{IDLE_TIMEOUT, LAST_USED, apparatus_name};

/// Why an apparatus step failed. `Display` is the `Failed` message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A call failed (timeout, error status, invalid JSON, unreachable).
    #[error(transparent)]
    Call(#[from] CallError),
    /// Nothing listened, so the Pod and Service were (re)created, or the
    /// Pod is still starting: the pass is retried after the start delay;
    /// the owner shows `Coupled=False/CouplingInProcess` with this text.
    #[error("waiting for apparatus {namespace}/{name} to start, since {since}")]
    Starting {
        /// The Pod's namespace.
        namespace: String,
        /// The Pod's name.
        name: String,
        /// When the Pod was created (now for a new one), to the second.
        since: Timestamp,
    },
    /// Creating or replacing the Pod or Service failed.
    #[error("starting the apparatus: {0}")]
    Start(#[source] crate::Error),
}

impl Error {
    /// Whether the apparatus is starting (not a failure to report).
    pub fn is_starting(&self) -> bool {
        matches!(self, Error::Starting { .. })
    }
}

/// What ensuring the Pod found.
enum Started {
    /// Created now, or an old one is being replaced.
    New,
    /// It already existed, created at this time.
    Existing(Option<Timestamp>),
}

/// The reconcilers' handle on apparatuses: the [`Caller`], the
/// operator's own client for Pods and Services, and when each Pod's
/// last-used annotation was last refreshed by this process.
pub(crate) struct Apparatus {
    client: kube::Client,
    caller: Caller,
    touched: Mutex<HashMap<String, Instant>>,
}

impl Apparatus {
    /// Apparatus calls with `options`, counted in `metrics`; Pods and
    /// Services are written through `client` (the operator's identity,
    /// docs/operations.md, "Impersonation").
    pub fn new(client: kube::Client, options: ApparatusOptions, metrics: Arc<Metrics>) -> Self {
        Apparatus {
            client,
            caller: Caller::new(options).counting(metrics),
            touched: Mutex::default(),
        }
    }

    /// The options.
    pub fn options(&self) -> &ApparatusOptions {
        self.caller.options()
    }

    /// Posts `/config` for each side with an apparatus and puts the answers
    /// into `sources` (the engine merges them last into config,
    /// docs/config.md, "Merge order"). Generic over the caller's error so
    /// that a request body that cannot be built stays an engine error.
    pub async fn fill_configs<E>(
        &self,
        coupling: &Coupling<'_>,
        sources: &mut Sources,
    ) -> Result<(), E>
    where
        E: From<integration_engine::Error> + From<Error>,
    {
        for side in Side::BOTH {
            let Some(call) = self.caller.config(coupling, side, sources)? else {
                continue;
            };
            let answer = self.post(&call).await?;
            *sources.apparatus_config.get_mut(side) = Some(answer);
        }
        Ok(())
    }

    /// Posts a coupling event (`coupled`, `updated`, `decoupled`) to
    /// `side`'s apparatus, if it has one.
    pub async fn coupling_event(
        &self,
        coupling: &Coupling<'_>,
        side: Side,
        event: CouplingEvent,
        configs: &Configs,
    ) -> Result<(), Error> {
        match self.caller.coupling_event(coupling, side, event, configs) {
            Some(call) => self.post(&call).await.map(drop),
            None => Ok(()),
        }
    }

    /// Posts the owner's own `created` or `deleted` event, if it has an
    /// apparatus.
    pub async fn own_event(&self, owner: &Owner<'_>, event: OwnEvent) -> Result<(), Error> {
        match self.caller.own_event(owner, event) {
            Some(call) => self.post(&call).await.map(drop),
            None => Ok(()),
        }
    }

    /// Makes one call, refreshing the Pod's last-used mark first and
    /// starting the Pod when nothing listens. Returns the `/config` answer
    /// (`{}` when not implemented), `Null` for events.
    async fn post(&self, call: &Call<'_>) -> Result<Value, Error> {
        let (owner, spec) = (call.owner(), call.spec());
        let options = self.options();
        let overridden = match owner.side() {
            Side::Plug => options.plug_endpoint.is_some(),
            Side::Socket => options.socket_endpoint.is_some(),
        };
        // A local server stands in for the Pod: nothing to start.
        let local = overridden && options.overrides_are_local;
        let has_pod = if local {
            false
        } else {
            !spec.containers.is_empty()
        };
        if has_pod {
            self.touch(owner, spec).await;
        }
        match self.caller.post(call).await {
            Err(e) if e.is_not_running() && has_pod => Err(self.start(owner, spec, e).await),
            answer => Ok(answer?),
        }
    }

    /// Nothing listened at the apparatus: makes sure its Service and Pod
    /// exist. The result is [`Error::Starting`] unless the Pod has existed
    /// for longer than the start grace, when the call's error stands.
    async fn start(
        &self,
        owner: &Owner<'_>,
        spec: &SpecApparatus,
        unreachable: CallError,
    ) -> Error {
        match self.ensure_running(owner, spec).await {
            Err(e) => e,
            Ok(Started::Existing(Some(created)))
                if Timestamp::now().duration_since(created).unsigned_abs()
                    > self.options().start_grace =>
            {
                Error::Call(unreachable)
            }
            Ok(started) => {
                let since = match started {
                    Started::Existing(Some(created)) => created,
                    _ => Timestamp::now(),
                };
                tracing::info!(
                    owner = %format!("{}/{}", owner.namespace(), owner.name()),
                    "apparatus not running; started it"
                );
                Error::Starting {
                    namespace: owner.namespace().to_string(),
                    name: apparatus_name(owner.name()),
                    since: since.round(jiff::Unit::Second).unwrap_or(since),
                }
            }
        }
    }

    /// Creates the Service (never updated) and the Pod; an existing Pod
    /// built from another spec, or stopped for good, is deleted so that the
    /// next attempt creates it anew.
    async fn ensure_running(
        &self,
        owner: &Owner<'_>,
        spec: &SpecApparatus,
    ) -> Result<Started, Error> {
        let namespace = owner.namespace();
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PostParams::default()
        };
        let services: Api<Service> = Api::namespaced(self.client.clone(), namespace);
        let service = workload::desired_service(owner);
        if let Err(e) = services.create(&params, &service).await
            && !already_exists(&e)
        {
            return Err(start_error(owner, "Service", Operation::Create, e));
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let desired = workload::desired_pod(owner, spec, Timestamp::now());
        let name = apparatus_name(owner.name());
        match pods.create(&params, &desired).await {
            Ok(_) => {
                self.mark_touched(namespace, &name);
                return Ok(Started::New);
            }
            Err(e) if !already_exists(&e) => {
                return Err(start_error(owner, "Pod", Operation::Create, e));
            }
            Err(_) => {}
        }
        let existing = pods
            .get_opt(&name)
            .await
            .map_err(|e| start_error(owner, "Pod", Operation::Get, e))?;
        let Some(existing) = existing.filter(|p| p.metadata.deletion_timestamp.is_none()) else {
            return Ok(Started::New);
        };
        if workload::needs_replacing(&existing, &desired) {
            self.replace(&pods, &existing).await;
            return Ok(Started::New);
        }
        Ok(Started::Existing(
            existing.metadata.creation_timestamp.map(|t| t.0),
        ))
    }

    /// Deletes a stale Pod (that incarnation only); the next call's
    /// not-running path creates the new one.
    async fn replace(&self, pods: &Api<Pod>, stale: &Pod) {
        let name = stale.metadata.name.clone().unwrap_or_default();
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: stale.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match pods.delete(&name, &params).await {
            Ok(_) => tracing::info!(pod = %name, "replacing a stale apparatus Pod"),
            Err(e) => {
                tracing::warn!(pod = %name, error = %e, "deleting a stale apparatus Pod failed")
            }
        }
    }

    /// Refreshes the Pod's last-used annotation, at most once per
    /// [`touch_interval`] per Pod and process; a Pod found stale is
    /// replaced. Best effort: the call itself decides the pass.
    async fn touch(&self, owner: &Owner<'_>, spec: &SpecApparatus) {
        let namespace = owner.namespace();
        let name = apparatus_name(owner.name());
        let key = format!("{namespace}/{name}");
        {
            let touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
            if touched
                .get(&key)
                .is_some_and(|at| at.elapsed() < touch_interval(spec))
            {
                return;
            }
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let patch = json!({"metadata": {"annotations": {
            LAST_USED: Timestamp::now().to_string(),
            IDLE_TIMEOUT: workload::idle_timeout(spec).to_string(),
        }}});
        match pods
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(pod) => {
                self.mark_touched(namespace, &name);
                let desired = workload::desired_pod(owner, spec, Timestamp::now());
                if workload::needs_replacing(&pod, &desired) {
                    self.replace(&pods, &pod).await;
                }
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {
                self.touched
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
            }
            Err(e) => {
                tracing::warn!(pod = %key, error = %e, "refreshing apparatus last-used failed")
            }
        }
    }

    fn mark_touched(&self, namespace: &str, name: &str) {
        self.touched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(format!("{namespace}/{name}"), Instant::now());
    }
}

/// How often the last-used annotation is refreshed while calls go on: a
/// quarter of the idle timeout, between 1 s and 60 s, so a Pod in use is
/// never idle for the reaper.
fn touch_interval(spec: &SpecApparatus) -> Duration {
    Duration::from_secs(workload::idle_timeout(spec) / 4)
        .clamp(Duration::from_secs(1), Duration::from_secs(60))
}

fn already_exists(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 409)
}

fn start_error(owner: &Owner<'_>, kind: &str, operation: Operation, err: kube::Error) -> Error {
    let object = ObjectRef::new(
        "v1",
        kind,
        Some(owner.namespace()),
        apparatus_name(owner.name()),
    );
    Error::Start(crate::Error::from_kube(operation, &object, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touches_are_spread_over_the_idle_timeout() {
        let mut spec = SpecApparatus {
            idle_timeout: Some(30),
            ..SpecApparatus::default()
        };
        assert_eq!(touch_interval(&spec), Duration::from_millis(7000));
        spec.idle_timeout = Some(0);
        assert_eq!(touch_interval(&spec), Duration::from_secs(1));
        spec.idle_timeout = Some(3600);
        assert_eq!(touch_interval(&spec), Duration::from_secs(60));
    }
}

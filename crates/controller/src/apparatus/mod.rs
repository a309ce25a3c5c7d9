//! The apparatus (§5, README decision 11): an HTTP service per Plug or
//! Socket that the operator calls for config (`POST <base>/config`) and on
//! lifecycle events (`POST <base>/<event>`), started lazily as a Pod and
//! Service named `<owner>-apparatus` and reaped when idle.
//!
//! * [`endpoint`]: where calls go (pure).
//! * [`workload`]: the desired Pod and Service, and the idle rule (pure).
//! * [`http`]: the HTTP client: timeouts, retries, error messages.
//! * [`Apparatus`]: what the reconcilers call. A call that finds nothing
//!   listening (§5.5 "not running") creates the Service and Pod and fails
//!   with [`Error::Starting`], which retries the pass after
//!   [`ApparatusOptions::start_delay`] without an error status.
//! * [`reaper`]: deletes Pods idle longer than their timeout; the state is
//!   in Pod annotations, so a restarted operator reaps what the last one
//!   started.
//!
//! A `404` answer means "not implemented": an event call is skipped and a
//! `/config` call counts as `{}`.

pub mod endpoint;
pub mod http;
pub mod reaper;
pub mod workload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use integration_api::{FIELD_MANAGER, SpecApparatus, When};
use integration_engine::{
    Configs, Coupling, CouplingEvent, OwnEvent, Owner, Side, Sources, apparatus_own_request,
    sha256_hex,
};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::ObjectRef;
use crate::Operation;
use crate::context::ReconcileError;
use crate::metrics::Metrics;
use endpoint::CallPath;
use http::{Answer, Call, CallError, HttpClient};
use workload::{IDLE_TIMEOUT, LAST_USED, apparatus_name};

/// Default delay before a pass that started an apparatus runs again.
pub const DEFAULT_START_DELAY: Duration = Duration::from_secs(10);
/// Default time an apparatus Pod may stay unreachable after its creation
/// before calls to it count as failures.
pub const DEFAULT_START_GRACE: Duration = Duration::from_secs(120);
/// Default period of the idle reaper.
pub const DEFAULT_REAP_PERIOD: Duration = Duration::from_secs(10);
/// Default cluster DNS domain of apparatus Service URLs.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// How apparatus calls, starts and the reaper behave.
#[derive(Clone, Debug)]
pub struct ApparatusOptions {
    /// DNS domain of the cluster, for `<owner>-apparatus.<ns>.svc.<domain>`.
    pub cluster_domain: String,
    /// Base URL of every plug's apparatus (`DEBUG_PLUG_ENDPOINT`).
    pub plug_endpoint: Option<String>,
    /// Base URL of every socket's apparatus (`DEBUG_SOCKET_ENDPOINT`).
    pub socket_endpoint: Option<String>,
    /// Delay before a pass that started an apparatus runs again.
    pub start_delay: Duration,
    /// How long after its creation an unreachable apparatus Pod counts as
    /// starting (silent retries) rather than failing.
    pub start_grace: Duration,
    /// How often the reaper looks for idle apparatus Pods.
    pub reap_period: Duration,
}

impl Default for ApparatusOptions {
    fn default() -> Self {
        ApparatusOptions {
            cluster_domain: DEFAULT_CLUSTER_DOMAIN.to_string(),
            plug_endpoint: None,
            socket_endpoint: None,
            start_delay: DEFAULT_START_DELAY,
            start_grace: DEFAULT_START_GRACE,
            reap_period: DEFAULT_REAP_PERIOD,
        }
    }
}

/// Why an apparatus step failed. `Display` is the `Failed` message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call failed (timeout, error status, invalid JSON, unreachable).
    #[error(transparent)]
    Call(#[from] CallError),
    /// Nothing listened, so the Pod and Service were (re)created: the pass
    /// is retried after the start delay, without an error status.
    #[error("apparatus {namespace}/{name} is starting")]
    Starting {
        /// The Pod's namespace.
        namespace: String,
        /// The Pod's name.
        name: String,
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

/// The reconcilers' handle on apparatuses: the HTTP client, the
/// operator's own client for Pods and Services, and when each Pod's
/// last-used annotation was last refreshed by this process.
pub struct Apparatus {
    client: kube::Client,
    http: HttpClient,
    options: ApparatusOptions,
    touched: Mutex<HashMap<String, Instant>>,
}

impl Apparatus {
    /// Apparatus calls with `options`, counted in `metrics`; Pods and
    /// Services are written through `client` (the operator's identity,
    /// §7.2).
    pub fn new(client: kube::Client, options: ApparatusOptions, metrics: Arc<Metrics>) -> Self {
        Apparatus {
            client,
            http: HttpClient::new().counting(metrics),
            options,
            touched: Mutex::default(),
        }
    }

    /// The options.
    pub fn options(&self) -> &ApparatusOptions {
        &self.options
    }

    /// Posts `/config` for each side with an apparatus and puts the answers
    /// into `sources` (the engine merges them last into config, §3.3).
    pub async fn fill_configs(
        &self,
        coupling: &Coupling<'_>,
        sources: &mut Sources,
    ) -> Result<(), ReconcileError> {
        for side in Side::BOTH {
            let owner = coupling.owner(side);
            let Some(spec) = &owner.spec().apparatus else {
                continue;
            };
            let body = coupling.apparatus_config_request(side, sources)?;
            let answer = self.call(owner, spec, CallPath::Config, &body).await?;
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
        let owner = coupling.owner(side);
        let Some(spec) = &owner.spec().apparatus else {
            return Ok(());
        };
        let body = coupling.apparatus_event_request(configs);
        let path = CallPath::Event(When::from(event));
        self.call(owner, spec, path, &body).await.map(drop)
    }

    /// Posts the owner's own `created` or `deleted` event, if it has an
    /// apparatus.
    pub async fn own_event(&self, owner: &Owner<'_>, event: OwnEvent) -> Result<(), Error> {
        let Some(spec) = &owner.spec().apparatus else {
            return Ok(());
        };
        let body = apparatus_own_request(owner);
        let path = CallPath::Event(When::from(event));
        self.call(owner, spec, path, &body).await.map(drop)
    }

    /// Makes one call. Returns the `/config` answer (`{}` when not
    /// implemented), `Null` for events.
    async fn call(
        &self,
        owner: &Owner<'_>,
        spec: &SpecApparatus,
        path: CallPath,
        body: &Value,
    ) -> Result<Value, Error> {
        let base = endpoint::base_url(
            owner.side(),
            owner.name(),
            owner.namespace(),
            spec,
            &self.options,
        );
        let url = endpoint::call_url(&base, path);
        let key = idempotency_key(owner, path, body);
        let call = Call {
            path,
            url: &url,
            body,
            timeout: call_timeout(spec),
            idempotency_key: &key,
        };
        let has_pod = !spec.containers.is_empty();
        if has_pod {
            self.touch(owner, spec).await;
        }
        match post(&self.http, &call).await {
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
                    > self.options.start_grace =>
            {
                Error::Call(unreachable)
            }
            Ok(_) => {
                tracing::info!(
                    owner = %format!("{}/{}", owner.namespace(), owner.name()),
                    "apparatus not running; started it"
                );
                Error::Starting {
                    namespace: owner.namespace().to_string(),
                    name: apparatus_name(owner.name()),
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

/// Makes `call` and reads its answer: the `/config` JSON object (`{}`
/// when the apparatus answers 404), `Null` for events. No Pod is started
/// or touched: [`Apparatus`] does that, `render` calls this directly.
pub async fn post(client: &HttpClient, call: &Call<'_>) -> Result<Value, CallError> {
    tracing::debug!(url = %endpoint::shown_url(call.url), "calling apparatus");
    match (client.post(call).await?, call.path) {
        (Answer::NotImplemented, CallPath::Config) => Ok(json!({})),
        (Answer::Ok { body, .. }, CallPath::Config) => http::json_answer(call, &body),
        _ => Ok(Value::Null),
    }
}

/// The call timeout of `spec` (`timeout`, default 30 s).
pub fn call_timeout(spec: &SpecApparatus) -> Duration {
    Duration::from_secs(u64::try_from(spec.timeout_seconds()).unwrap_or(1))
}

/// How often the last-used annotation is refreshed while calls go on: a
/// quarter of the idle timeout, between 1 s and 60 s, so a Pod in use is
/// never idle for the reaper.
pub fn touch_interval(spec: &SpecApparatus) -> Duration {
    Duration::from_secs(workload::idle_timeout(spec) / 4)
        .clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// The `Idempotency-Key` header: `<owner uid>-<path>-<generation>-<digest>`,
/// where the digest covers the body without the fields that change with
/// every status write (`status`, `resourceVersion`, `managedFields`). A
/// retry of the same call sends the same key; a call with other configs
/// (an update that changed no generation) sends another.
pub fn idempotency_key(owner: &Owner<'_>, path: CallPath, body: &Value) -> String {
    let generation = owner.json()["metadata"]["generation"]
        .as_i64()
        .unwrap_or_default();
    let mut stable = body.clone();
    for side in Side::BOTH {
        if let Some(object) = stable.get_mut(side.as_str()).and_then(Value::as_object_mut) {
            object.remove("status");
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
                meta.remove("managedFields");
            }
        }
    }
    let digest = sha256_hex(&stable.to_string());
    format!(
        "{}-{}-{generation}-{}",
        owner.uid(),
        path.segment(),
        &digest[..16]
    )
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
    #![allow(clippy::unwrap_used)]
    use super::*;
    use integration_api::{API_VERSION, Plug};

    fn plug(generation: i64, rv: &str) -> Plug {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Plug",
            "metadata": {"name": "p", "namespace": "app", "uid": "u1",
                "generation": generation, "resourceVersion": rv},
            "spec": {"apparatus": {"idleTimeout": 30, "containers": []}},
            "status": {"inputsHash": rv}
        }))
        .unwrap()
    }

    #[test]
    fn idempotency_keys_ignore_status_writes_only() {
        let (a, b, c) = (plug(1, "10"), plug(1, "11"), plug(2, "12"));
        let key = |p: &Plug| {
            let owner = Owner::plug(p).unwrap();
            idempotency_key(
                &owner,
                CallPath::Event(When::Created),
                &apparatus_own_request(&owner),
            )
        };
        assert_eq!(key(&a), key(&b));
        assert!(key(&a).starts_with("u1-created-1-"));
        assert_ne!(key(&a), key(&c));
    }

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

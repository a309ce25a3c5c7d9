//! What the reconcilers (Plug, Socket, DeferredResource) share: the
//! cluster handle, the Event recorder, the reconcile error type, per-object
//! backoff, and the small I/O steps they take (finalizers, running rendered
//! objects).

use std::sync::Arc;
use std::time::Duration;

use integration_api::{Do, FINALIZER, When};
use integration_engine::{OwnEvent, Owner, Redactor, Rendered};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use kube_declarative::Backoff;
use serde::de::DeserializeOwned;

use crate::apparatus::{Apparatus, ApparatusOptions};
use crate::cluster::Cluster;
use crate::events::EventRecorder;
use crate::metrics::Metrics;
use crate::written::Written;

/// Shared state of the controllers.
pub struct Context {
    /// Clients and caches.
    pub cluster: Cluster,
    /// Events about Plugs, Sockets and DeferredResources.
    pub recorder: EventRecorder,
    /// The one namespace watched, or `None` for all.
    pub namespace: Option<String>,
    /// Calls to apparatuses, and their Pods.
    pub apparatus: Apparatus,
    /// What the operator exports on `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The operator's own writes of Plugs and Sockets that the watch
    /// caches may not show yet ([`fresh`]).
    pub written: Arc<Written>,
    /// Consecutive failures per object, for exponential backoff.
    failures: Backoff,
}

impl Context {
    /// A context over `cluster`, observed in `metrics`.
    pub fn new(
        cluster: Cluster,
        namespace: Option<String>,
        apparatus: ApparatusOptions,
        metrics: Arc<Metrics>,
    ) -> Self {
        let recorder = EventRecorder::new(cluster.client().clone(), None);
        let apparatus = Apparatus::new(cluster.client().clone(), apparatus, metrics.clone());
        Context {
            cluster,
            recorder,
            namespace,
            apparatus,
            metrics,
            written: Arc::default(),
            failures: Backoff::default(),
        }
    }

    /// Records one more failure of `key` and returns the delay before its
    /// retry.
    pub fn backoff(&self, key: &str) -> Duration {
        self.failures.failed(key)
    }

    /// Forgets the failures of `key` after a successful pass.
    pub fn succeeded(&self, key: &str) {
        self.failures.succeeded(key);
    }

    /// Closes a pass over the object with `key` (`object_key`): success
    /// resets its backoff; a failure other than a write conflict (which just
    /// retries) or a starting apparatus (which retries after the start
    /// delay) is reported with `report`, and counted when a template
    /// caused it.
    pub async fn settle(
        &self,
        key: &str,
        result: Result<Action>,
        report: impl AsyncFnOnce(&ReconcileError),
    ) -> Result<Action> {
        match result {
            Ok(action) => {
                self.succeeded(key);
                Ok(action)
            }
            Err(err) => {
                if let ReconcileError::Engine(e) = &err {
                    self.metrics.count_template_error(e);
                }
                // A starting apparatus is reported too: as in-process, not
                // as a failure.
                if !err.is_conflict() {
                    report(&err).await;
                }
                Err(err)
            }
        }
    }
}

/// Retry timing after a failed pass: conflicts retry soon, a starting
/// apparatus after the start delay, other errors back off exponentially per
/// object.
pub fn error_policy<K: Resource<DynamicType = ()>>(
    object: Arc<K>,
    err: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    if err.is_conflict() {
        return Action::requeue(Duration::from_millis(200));
    }
    if err.is_starting() {
        return Action::requeue(ctx.apparatus.options().start_delay);
    }
    Action::requeue(ctx.backoff(&object_key(object.as_ref())))
}

pub use kube_declarative::object_key;

/// Why a reconcile pass failed. `Display` is the user-facing `Failed`
/// message (before redaction).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A call to the API server on behalf of the coupling (apply, fetch, …).
    #[error(transparent)]
    Edge(#[from] crate::Error),
    /// Resolution, validation or rendering.
    #[error(transparent)]
    Engine(#[from] integration_engine::Error),
    /// An apparatus call, or starting an apparatus.
    #[error(transparent)]
    Apparatus(#[from] crate::apparatus::Error),
    /// The socket refuses this plug (namespace rules).
    #[error("{0}")]
    Refused(String),
    /// A failure as it leaves a pass: its text went through the pass's
    /// [`Redactor`] when the pass made it ([`ReconcileError::redacted`]), so
    /// the runtime, and any library logging the error it gets back (say,
    /// kube-runtime's reconcile error), only ever holds the redacted text.
    #[error("{message}")]
    Redacted {
        /// The redacted message.
        message: String,
        /// Whether the failure was a stale write ([`Self::is_conflict`]).
        conflict: bool,
        /// Whether an apparatus was starting ([`Self::is_starting`]).
        starting: bool,
    },
    /// Reading or writing a Plug, Socket or DeferredResource itself.
    #[error("{action} {kind} {namespace}/{name}: {source}")]
    Own {
        /// `get`, `update status of`, …
        action: &'static str,
        /// `Plug`, `Socket` or `DeferredResource`.
        kind: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
}

impl ReconcileError {
    /// A failed call on a Plug, Socket or DeferredResource.
    pub fn own<K: Resource<DynamicType = ()>>(
        action: &'static str,
        object: &K,
        source: kube::Error,
    ) -> Self {
        ReconcileError::Own {
            action,
            kind: K::kind(&()).into_owned(),
            namespace: object.meta().namespace.clone().unwrap_or_default(),
            name: object.meta().name.clone().unwrap_or_default(),
            source,
        }
    }

    /// This error with every value `redactor` knows replaced, keeping how
    /// it is retried. The original goes: nothing after the pass needs it.
    pub fn redacted(self, redactor: &Redactor) -> Self {
        ReconcileError::Redacted {
            message: redactor.redact(&self.to_string()),
            conflict: self.is_conflict(),
            starting: self.is_starting(),
        }
    }

    /// An apparatus was not running and is being started: the pass is
    /// retried after the start delay, without an error status
    /// (docs/apparatus.md, "Lazy start").
    pub fn is_starting(&self) -> bool {
        match self {
            ReconcileError::Apparatus(e) => e.is_starting(),
            ReconcileError::Redacted { starting, .. } => *starting,
            _ => false,
        }
    }

    /// A stale write (optimistic lock): the next pass sees fresher state,
    /// so it is retried without reporting it. A field-manager conflict of
    /// an apply is not one: retrying cannot fix it, so it is reported and
    /// backs off like any other error.
    pub fn is_conflict(&self) -> bool {
        match self {
            ReconcileError::Edge(e) => e.is_conflict() && !e.is_field_conflict(),
            ReconcileError::Redacted { conflict, .. } => *conflict,
            ReconcileError::Own {
                source: kube::Error::Api(status),
                ..
            } => status.code == 409,
            _ => false,
        }
    }
}

/// The reconcile result type.
pub type Result<T, E = ReconcileError> = std::result::Result<T, E>;

/// An API for `K` over the watched scope: one namespace or all.
pub fn scoped<K>(ctx: &Context) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    let client = ctx.cluster.client().clone();
    match &ctx.namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

/// How long a pass waits for the watch cache to show the operator's own
/// last write of its object before reading it from the API server.
pub const CATCH_UP: Duration = Duration::from_millis(500);

/// The API of `cached`'s kind in its namespace, and the newest copy of it
/// the pass can act on, or `None` once it is gone. `cached` is the watch
/// cache's copy: it serves when it holds the operator's own last write of
/// the object ([`Written`]); otherwise the pass waits up to [`CATCH_UP`]
/// for `cache` to show that write (its watch event is usually a few
/// milliseconds behind), then reads the object from the API server, since
/// acting on a copy without that write would repeat a step.
pub async fn fresh<K>(ctx: &Context, cached: &K, cache: &Store<K>) -> Result<Option<(Api<K>, K)>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let namespace = cached.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.cluster.client().clone(), &namespace);
    if ctx.written.shown_in(cached) {
        return Ok(Some((api, cached.clone())));
    }
    let key = ObjectRef::from_obj(cached);
    let caught_up = tokio::time::timeout(CATCH_UP, async {
        loop {
            let next = ctx.written.next_change();
            match cache.get(&key) {
                Some(latest) if ctx.written.shown_in(latest.as_ref()) => return Some(latest),
                // Gone from the cache: the server says whether it is gone.
                None => return None,
                Some(_) => next.await,
            }
        }
    });
    if let Ok(Some(latest)) = caught_up.await {
        return Ok(Some((api, latest.as_ref().clone())));
    }
    let found = api
        .get_opt(&cached.name_any())
        .await
        .map_err(|e| ReconcileError::own("get", cached, e))?;
    Ok(found.map(|latest| (api, latest)))
}

/// Records `written`, the server's answer to a write of a Plug or Socket,
/// so the next pass does not act on a cached copy without it.
pub fn wrote<K: Resource<DynamicType = ()>>(ctx: &Context, written: K) -> K {
    ctx.written.record(&written);
    written
}

/// Whether `object` carries the operator's finalizer.
pub fn has_finalizer<K: Resource>(object: &K) -> bool {
    object.finalizers().iter().any(|f| f == FINALIZER)
}

/// Adds (`true`) or removes (`false`) the finalizer and returns the object
/// as the server has it now. The patch carries the resourceVersion, so it
/// fails on a stale object instead of dropping another writer's finalizers.
pub async fn set_finalizer<K>(api: &Api<K>, object: &K, present: bool) -> Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    kube_declarative::set_finalizer(api, object, FINALIZER, present)
        .await
        .map_err(|e| ReconcileError::own("update finalizers of", object, e))
}

/// Runs an owner's own `created` or `deleted` hooks, timed: its
/// apparatus, its `rendered` resources (as its service account), then the
/// Event `PlugCreated`, `SocketDeleted`, … about `object`.
pub async fn run_own_event<K>(
    ctx: &Context,
    object: &K,
    owner: &Owner<'_>,
    event: OwnEvent,
    rendered: &[Rendered],
) -> Result<()>
where
    K: Resource<DynamicType = ()>,
{
    let run = async {
        ctx.apparatus.own_event(owner, event).await?;
        let sa = owner.spec().service_account_name();
        run_all(ctx, owner.namespace(), sa, rendered).await?;
        let (title, verb) = match event {
            OwnEvent::Created => ("Created", "created"),
            OwnEvent::Deleted => ("Deleted", "deleted"),
        };
        let reason = format!("{}{title}", owner.side().kind());
        record(ctx, object, &reason, verb).await;
        Ok(())
    };
    let when = When::from(event);
    ctx.metrics.time_hooks(when, owner.side(), run).await
}

/// Runs rendered objects in order as service account `sa` of `namespace`;
/// the first error stops the sequence (docs/lifecycle.md, "Order of hooks").
pub async fn run_all(
    ctx: &Context,
    namespace: &str,
    sa: &str,
    rendered: &[Rendered],
) -> Result<()> {
    run_each(ctx, namespace, sa, rendered, false).await
}

/// [`run_all`] for drift repair (docs/lifecycle.md, "Drift repair"): applies
/// take back the fields another manager changed (`force`), since a `reconcile:
/// true` resource declares the operator their owner.
pub async fn repair_all(
    ctx: &Context,
    namespace: &str,
    sa: &str,
    rendered: &[Rendered],
) -> Result<()> {
    run_each(ctx, namespace, sa, rendered, true).await
}

async fn run_each(
    ctx: &Context,
    namespace: &str,
    sa: &str,
    rendered: &[Rendered],
    force: bool,
) -> Result<()> {
    if rendered.is_empty() {
        return Ok(());
    }
    let objects = ctx.cluster.objects_as(namespace, sa)?;
    for object in rendered {
        if force && object.action == Do::Apply {
            objects.apply_forced(&object.object).await?;
        } else {
            run_rendered(&objects, object).await?;
        }
    }
    Ok(())
}

/// Carries out a rendered object's action: apply, delete or recreate.
pub async fn run_rendered(objects: &crate::Objects, rendered: &Rendered) -> crate::Result<()> {
    match rendered.action {
        Do::Apply => objects.apply(&rendered.object).await.map(drop),
        Do::Delete => objects
            .delete(&crate::ObjectRef::of(&rendered.object)?)
            .await
            .map(drop),
        Do::Recreate => objects.recreate(&rendered.object).await.map(drop),
    }
}

/// The Event note `plug <name>/<namespace> <verb>`, name first
/// (docs/lifecycle.md, "Kubernetes Events").
pub fn note<K: Resource<DynamicType = ()>>(object: &K, verb: &str) -> String {
    let kind = K::kind(&()).to_lowercase();
    format!(
        "{kind} {}/{} {verb}",
        object.name_any(),
        object.namespace().unwrap_or_default()
    )
}

/// Writes a Warning Event `Failed` with the (redacted) error `message`;
/// failing to record one is logged, not returned.
pub async fn warn_failed<K>(ctx: &Context, object: &K, message: &str, redactor: &Redactor)
where
    K: Resource<DynamicType = ()>,
{
    warn(ctx, object, "Failed", message, redactor).await;
}

/// Reason of the Warning Events that report compatibility warnings
/// (docs/compatibility.md, "Warnings and strict mode").
pub const COMPATIBILITY_WARNING: &str = "CompatibilityWarning";

/// Writes a Warning Event with `reason` and the (redacted) `message`;
/// failing to record one is logged, not returned.
pub async fn warn<K>(ctx: &Context, object: &K, reason: &str, message: &str, redactor: &Redactor)
where
    K: Resource<DynamicType = ()>,
{
    if let Err(e) = ctx
        .recorder
        .warning(object, reason, message, redactor)
        .await
    {
        tracing::warn!(error = %e, reason, "recording an Event failed");
    }
}

/// Reason of the Warning Event of a deletion forced past failing hooks.
pub const FORCED_DELETION: &str = "ForcedDeletion";

/// When `object` asks for a forced deletion
/// ([`integration_api::FORCE_DELETE_ANNOTATION`]), the note of the
/// `ForcedDeletion` Warning that replaces its deletion hooks' failure
/// `err`; `None` when the failure stands (not forced, or a stale write,
/// which the next pass retries anyway).
pub fn forced_note<K: Resource>(object: &K, err: &ReconcileError) -> Option<String> {
    (integration_api::force_delete(object.annotations()) && !err.is_conflict()).then(|| {
        format!(
            "deletion forced by annotation {}: hooks skipped after: {err}",
            integration_api::FORCE_DELETE_ANNOTATION
        )
    })
}

/// Writes a Normal Event; failing to record one does not fail the pass
/// (Events are best-effort, and retrying would rerun hooks).
pub async fn record<K>(ctx: &Context, object: &K, reason: &str, verb: &str)
where
    K: Resource<DynamicType = ()>,
{
    if let Err(e) = ctx
        .recorder
        .normal(object, reason, &note(object, verb))
        .await
    {
        tracing::warn!(error = %e, reason, "recording an Event failed");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use kube::api::{ObjectMeta, PostParams};
    use kube_emulator::Emulator;

    fn config_map(data: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("cm".into()),
                namespace: Some("app".into()),
                ..ObjectMeta::default()
            },
            data: Some([("k".to_string(), data.to_string())].into()),
            ..ConfigMap::default()
        }
    }

    fn data(cm: &ConfigMap) -> &str {
        cm.data.as_ref().and_then(|d| d.get("k")).unwrap()
    }

    /// A pass acts on the newest copy it can know of: the cached one while
    /// it holds the operator's own last write (no request), the server's
    /// when the cache is older than that write; a copy older than another
    /// writer's change fails its write with a conflict.
    #[tokio::test]
    async fn a_cached_copy_without_our_last_write_is_read_again() {
        let emu = Emulator::start().await.unwrap();
        let client = emu.client();
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some("app".into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
        let ctx = Context::new(
            Cluster::new(client.clone()),
            None,
            ApparatusOptions::default(),
            Arc::default(),
        );
        let api: Api<ConfigMap> = Api::namespaced(client, "app");
        let cached = api
            .create(&PostParams::default(), &config_map("first"))
            .await
            .unwrap();
        let gets = || emu.requests().get("get", "configmaps");
        // The watch cache, which the test moves along by hand.
        let mut writer = kube::runtime::reflector::store::Writer::<ConfigMap>::default();
        let cache = writer.as_reader();
        writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(cached.clone()));

        // Nothing written by the operator: the cache serves.
        let before = gets();
        let (_, copy) = fresh(&ctx, &cached, &cache).await.unwrap().unwrap();
        assert_eq!((data(&copy), gets() - before), ("first", 0));

        // The operator writes; its watch has not brought the write yet.
        let mut change = cached.clone();
        change.data = config_map("ours").data;
        let ours = wrote(
            &ctx,
            api.replace("cm", &PostParams::default(), &change)
                .await
                .unwrap(),
        );
        // It does not come within CATCH_UP: read from the server.
        let before = gets();
        let (_, copy) = fresh(&ctx, &cached, &cache).await.unwrap().unwrap();
        assert_eq!((data(&copy), gets() - before), ("ours", 1));

        // It comes while the pass waits: served from the cache.
        let before = gets();
        let (found, ()) = tokio::join!(fresh(&ctx, &cached, &cache), async {
            writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(ours.clone()));
            ctx.written.changed();
        });
        let (_, copy) = found.unwrap().unwrap();
        assert_eq!((data(&copy), gets() - before), ("ours", 0));

        // The cache caught up: served again, and the record forgotten.
        let before = gets();
        let (_, copy) = fresh(&ctx, &ours, &cache).await.unwrap().unwrap();
        assert_eq!((data(&copy), gets() - before), ("ours", 0));
        assert_eq!(ctx.written.pending(), 0);

        // Another writer changed it since, and the watch has not brought
        // it: a write based on the cached copy is refused (the pass retries
        // soon, `error_policy`, by when the watch has brought the change).
        let mut theirs = ours.clone();
        theirs.data = config_map("theirs").data;
        api.replace("cm", &PostParams::default(), &theirs)
            .await
            .unwrap();
        let (_, stale) = fresh(&ctx, &ours, &cache).await.unwrap().unwrap();
        let refused = api
            .replace("cm", &PostParams::default(), &stale)
            .await
            .unwrap_err();
        assert!(matches!(refused, kube::Error::Api(s) if s.code == 409));
    }

    #[test]
    fn a_redacted_error_hides_values_and_keeps_its_retry() {
        let redactor = Redactor::new(["hunter22"]);
        let refused = ReconcileError::Refused("password hunter22 refused".into());
        let redacted = refused.redacted(&redactor);
        assert_eq!(redacted.to_string(), "password [redacted] refused");
        assert!(!format!("{redacted:?}").contains("hunter22"));
        assert!(!redacted.is_conflict() && !redacted.is_starting());
    }
}

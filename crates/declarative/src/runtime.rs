//! The runtime: watches a parent kind and its child kinds, and runs a
//! [`Declarative`] controller's passes ([`crate::pass`]) when any of them
//! changes, when the controller asked to be woken, or after a failure.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::discovery::ApiResource;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{self, ObjectRef as ParentRef, Store, reflector};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Client, Resource};

use crate::apply::Marks;
use crate::backoff::{Backoff, object_key};
use crate::declare::{Declarative, Event, Facts};
use crate::impersonation::Impersonation;
use crate::listed::{Listed, Lister, listed};
use crate::mapper::RestMapper;
use crate::pass::{self, PassError};

/// Records the Events a controller asks for. The operator's own recorder
/// (spam filter, redaction) plugs in here; [`KubeEvents`] is the plain one.
pub trait Recorder<P>: Send + Sync + 'static {
    /// Records `event` about `parent`; failures are the recorder's to log.
    fn record<'a>(&'a self, parent: &'a P, event: &'a Event) -> BoxFuture<'a, ()>;
}

/// Events through kube's `events.k8s.io/v1` recorder.
pub struct KubeEvents(kube::runtime::events::Recorder);

impl KubeEvents {
    /// A recorder reporting as `controller`.
    pub fn new(client: Client, controller: &str) -> Self {
        let reporter = kube::runtime::events::Reporter {
            controller: controller.to_string(),
            instance: None,
        };
        KubeEvents(kube::runtime::events::Recorder::new(client, reporter))
    }
}

impl<P: Resource<DynamicType = ()> + Send + Sync + 'static> Recorder<P> for KubeEvents {
    fn record<'a>(&'a self, parent: &'a P, event: &'a Event) -> BoxFuture<'a, ()> {
        use kube::runtime::events::{Event as KubeEvent, EventType};
        Box::pin(async move {
            let type_ = if event.warning {
                EventType::Warning
            } else {
                EventType::Normal
            };
            let published = KubeEvent {
                type_,
                reason: event.reason.clone(),
                note: Some(event.note.clone()),
                action: event.reason.clone(),
                secondary: None,
            };
            if let Err(e) = self.0.publish(&published, &parent.object_ref(&())).await {
                tracing::warn!(error = %e, reason = %event.reason, "recording an Event failed");
            }
        })
    }
}

/// Counts passes: whether one succeeded, and how long it took.
pub type Observer = Arc<dyn Fn(bool, Duration) + Send + Sync>;

/// A child kind the parent owns: watched (its marked objects), applied,
/// and pruned unless told otherwise.
#[derive(Clone, Debug)]
pub struct OwnedKind {
    /// Where it is served.
    pub resource: ApiResource,
    /// Whether children of this kind that are no longer desired are
    /// deleted (never, say, for PersistentVolumeClaims).
    pub prune: bool,
}

/// Maps an object of a related kind to the parents it concerns, given
/// the parents' cache.
pub type ParentsOf<P> = Arc<dyn Fn(&DynamicObject, &Store<P>) -> Vec<ParentRef<P>> + Send + Sync>;

/// A kind the parent reads but does not own (an Application's Pods, its
/// Component resources): watched, mapped to parents, never written.
pub struct RelatedKind<P: Resource<DynamicType = ()> + 'static> {
    /// Where it is served.
    pub resource: ApiResource,
    /// A label selector for the watch (less to cache).
    pub selector: Option<String>,
    /// The parents an object concerns.
    pub parents: ParentsOf<P>,
    /// Cache only metadata and these top-level fields (say, a Pod's
    /// `status`, whose spec a health check never reads): less memory per
    /// object. `None` caches the whole object.
    pub keep: Option<&'static [&'static str]>,
}

impl<P: Resource<DynamicType = ()> + 'static> Clone for RelatedKind<P> {
    fn clone(&self) -> Self {
        RelatedKind {
            resource: self.resource.clone(),
            selector: self.selector.clone(),
            parents: self.parents.clone(),
            keep: self.keep,
        }
    }
}

/// The runtime of one [`Declarative`] controller: build it, then
/// [`run_until`](Runtime::run_until).
pub struct Runtime<D: Declarative> {
    pub(crate) declarative: Arc<D>,
    pub(crate) name: String,
    pub(crate) marks: Marks,
    pub(crate) owned: Vec<OwnedKind>,
    pub(crate) related: Vec<RelatedKind<D::Parent>>,
    pub(crate) namespace: Option<String>,
    pub(crate) concurrency: u16,
    pub(crate) finalizer: Option<String>,
    pub(crate) impersonation: Impersonation,
    pub(crate) mapper: Arc<RestMapper>,
    pub(crate) recorder: Arc<dyn Recorder<D::Parent>>,
    pub(crate) observer: Option<Observer>,
    pub(crate) follow_crds: bool,
    pub(crate) failures: Backoff,
    /// Which owned kinds are served, once known (see [`FactsCache`]).
    pub(crate) facts: Arc<FactsCache>,
    /// The parents' cache, filled once the runtime runs.
    parents: Store<D::Parent>,
    /// Whether that cache holds its first list.
    parents_listed: Listed,
    /// What fills the cache and sets the flag, taken when the runtime runs.
    parent_writer: Mutex<Option<(reflector::store::Writer<D::Parent>, Lister)>>,
}

/// Retry delay after a stale write: the next pass reads fresher state.
const CONFLICT_RETRY: Duration = Duration::from_millis(200);

impl<D: Declarative> Runtime<D> {
    /// A runtime named `name` (logs, Events) running `declarative` through
    /// `client`, marking children with `marks`.
    pub fn new(client: Client, declarative: D, name: &str, marks: Marks) -> Self {
        let writer = reflector::store::Writer::default();
        let (lister, listed) = listed();
        Runtime {
            declarative: Arc::new(declarative),
            name: name.to_string(),
            recorder: Arc::new(KubeEvents::new(client.clone(), &marks.field_manager)),
            marks,
            owned: Vec::new(),
            related: Vec::new(),
            namespace: None,
            concurrency: 8,
            finalizer: None,
            mapper: Arc::new(RestMapper::new(client.clone())),
            impersonation: Impersonation::new(client),
            observer: None,
            follow_crds: false,
            failures: Backoff::default(),
            facts: Arc::default(),
            parents: writer.as_reader(),
            parents_listed: listed,
            parent_writer: Mutex::new(Some((writer, lister))),
        }
    }

    /// Owns children of this kind (watched, applied, pruned).
    pub fn owns(mut self, resource: ApiResource) -> Self {
        self.owned.push(OwnedKind {
            resource,
            prune: true,
        });
        self
    }

    /// Owns children of this kind but never deletes them.
    pub fn owns_unpruned(mut self, resource: ApiResource) -> Self {
        self.owned.push(OwnedKind {
            resource,
            prune: false,
        });
        self
    }

    /// Watches objects of a kind the parent reads but does not own
    /// (optionally only those matching a label `selector`); `parents` says
    /// which parents each concerns. They show in [`crate::Snapshot::related`].
    pub fn watches(
        mut self,
        resource: ApiResource,
        selector: Option<&str>,
        parents: impl Fn(&DynamicObject, &Store<D::Parent>) -> Vec<ParentRef<D::Parent>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.related.push(RelatedKind {
            resource,
            selector: selector.map(String::from),
            parents: Arc::new(parents),
            keep: None,
        });
        self
    }

    /// [`watches`](Self::watches), caching only each object's metadata and
    /// the top-level fields in `keep` (say, `["status"]` for Pods): for
    /// kinds of which the controller reads little, the rest of each object
    /// would only take memory.
    pub fn watches_only(
        self,
        resource: ApiResource,
        selector: Option<&str>,
        keep: &'static [&'static str],
        parents: impl Fn(&DynamicObject, &Store<D::Parent>) -> Vec<ParentRef<D::Parent>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        let mut runtime = self.watches(resource, selector, parents);
        if let Some(kind) = runtime.related.last_mut() {
            kind.keep = Some(keep);
        }
        runtime
    }

    /// Watches one namespace only.
    pub fn namespace(mut self, namespace: Option<String>) -> Self {
        self.namespace = namespace;
        self
    }

    /// Passes in flight at once (0: unbounded).
    pub fn concurrency(mut self, concurrency: u16) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Keeps `finalizer` on every parent until [`Declarative::sync`] of a
    /// deleted parent has nothing left to delete.
    pub fn finalizer(mut self, finalizer: &str) -> Self {
        self.finalizer = Some(finalizer.to_string());
        self
    }

    /// Shares the operator's impersonating clients and REST mapper.
    pub fn clients(mut self, impersonation: Impersonation, mapper: Arc<RestMapper>) -> Self {
        self.impersonation = impersonation;
        self.mapper = mapper;
        self
    }

    /// Records Events through `recorder`.
    pub fn recorder(mut self, recorder: Arc<dyn Recorder<D::Parent>>) -> Self {
        self.recorder = recorder;
        self
    }

    /// Reports every pass to `observer`.
    pub fn observe(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Wakes every parent when a CustomResourceDefinition changes, so
    /// [`crate::Facts`] follow kinds being installed and removed (without
    /// it they are looked up once).
    pub fn follow_crds(mut self) -> Self {
        self.follow_crds = true;
        self
    }

    /// The parents as the runtime's cache holds them (empty until it runs):
    /// for gauges computed at scrape time, say.
    pub fn parents(&self) -> Store<D::Parent> {
        self.parents.clone()
    }

    /// Whether [`parents`](Self::parents) holds its first list: to read
    /// instead of the store's own signal, which wakes one waiter only.
    pub fn parents_listed(&self) -> Listed {
        self.parents_listed.clone()
    }

    /// The operator's own client.
    pub(crate) fn client(&self) -> &Client {
        self.impersonation.base()
    }

    /// Runs until `shutdown` completes; passes in flight finish first.
    pub fn run_until<S>(self, shutdown: S) -> impl Future<Output = ()> + Send + use<D, S>
    where
        S: Future<Output = ()> + Send + Sync + 'static,
    {
        let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
        let writer = self
            .parent_writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (writer, lister) = writer.map_or_else(Default::default, |(w, l)| (w, Some(l)));
        let parents = writer.as_reader();
        let parent_changes =
            parent_changes::<D::Parent>(self.client(), &self.namespace, writer, lister);
        let mut controller = Controller::for_stream(parent_changes, parents.clone())
            .with_config(Config::default().concurrency(self.concurrency));
        let mut stores = Vec::new();
        for kind in &self.owned {
            let selector = self.marks.selector();
            let (store, changes) = cached(
                self.client(),
                &self.namespace,
                &kind.resource,
                Some(&selector),
                None,
            );
            stores.push((kind.clone(), store));
            controller = controller.watches_stream_with(
                changes,
                parents_of::<D::Parent>,
                kind.resource.clone(),
            );
        }
        let mut related = Vec::new();
        for kind in &self.related {
            let (store, changes) = cached(
                self.client(),
                &self.namespace,
                &kind.resource,
                kind.selector.as_deref(),
                kind.keep,
            );
            related.push((kind.clone(), store));
            let (map, parents) = (kind.parents.clone(), parents.clone());
            controller = controller.watches_stream_with(
                changes,
                move |object| map(&object, &parents),
                kind.resource.clone(),
            );
        }
        if self.follow_crds {
            controller = controller.reconcile_all_on(self.crd_changes());
        }
        let name = self.name.clone();
        let shared = Arc::new(Shared {
            runtime: self,
            stores,
            related,
            parents: parents.clone(),
        });
        let run = controller
            .graceful_shutdown_on(shutdown.clone())
            .run(reconcile::<D>, error_policy::<D>, shared)
            .for_each(move |result| {
                if let Err(e) = result {
                    tracing::debug!(controller = %name, error = %e, "pass");
                }
                futures::future::ready(())
            });
        until_synced_or_shutdown(run, parents, shutdown)
    }

    /// One unit per CRD change, after forgetting the cached mappings.
    fn crd_changes(&self) -> impl Stream<Item = ()> + Send + 'static {
        let api: Api<PartialObjectMeta<CustomResourceDefinition>> = Api::all(self.client().clone());
        let (mapper, facts) = (self.mapper.clone(), self.facts.clone());
        watcher(api, watcher::Config::default())
            .default_backoff()
            .touched_objects()
            .filter_map(move |change| {
                mapper.forget_all();
                facts.forget();
                futures::future::ready(change.ok().map(drop))
            })
    }
}

/// The facts of the last look at discovery, so a pass does not ask the
/// API server again (a kind that is not served would cost a request per
/// pass). Forgotten on every CRD change when the runtime follows CRDs;
/// the epoch keeps a look that started before a change from being kept
/// after it.
#[derive(Debug, Default)]
pub(crate) struct FactsCache(Mutex<(u64, Option<Facts>)>);

impl FactsCache {
    /// The cached facts, or the epoch a new look starts in.
    pub(crate) fn get(&self) -> Result<Facts, u64> {
        let cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cache.1.clone().ok_or(cache.0)
    }

    /// Keeps `facts`, looked at in `epoch`, unless a change came since.
    pub(crate) fn keep(&self, epoch: u64, facts: &Facts) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.0 == epoch {
            cache.1 = Some(facts.clone());
        }
    }

    /// Forgets the facts: the kinds served may have changed.
    fn forget(&self) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *cache = (cache.0.wrapping_add(1), None);
    }
}

/// What every pass shares: the runtime and the caches of owned children.
pub(crate) struct Shared<D: Declarative> {
    pub(crate) runtime: Runtime<D>,
    pub(crate) stores: Vec<(OwnedKind, Store<DynamicObject>)>,
    pub(crate) related: Vec<(RelatedKind<D::Parent>, Store<DynamicObject>)>,
    pub(crate) parents: Store<D::Parent>,
}

async fn reconcile<D: Declarative>(
    parent: Arc<D::Parent>,
    shared: Arc<Shared<D>>,
) -> Result<Action, PassError> {
    let started = tokio::time::Instant::now();
    let result = pass::run(&shared, parent.as_ref()).await;
    tracing::debug!(
        controller = %shared.runtime.name,
        parent = %object_key(parent.as_ref()),
        result = ?result.as_ref().map_err(ToString::to_string),
        "pass"
    );
    if let Some(observe) = &shared.runtime.observer {
        observe(result.is_ok(), started.elapsed());
    }
    result
}

fn error_policy<D: Declarative>(
    parent: Arc<D::Parent>,
    error: &PassError,
    shared: Arc<Shared<D>>,
) -> Action {
    if error.is_conflict() {
        return Action::requeue(CONFLICT_RETRY);
    }
    tracing::warn!(controller = %shared.runtime.name, error = %error, "pass failed");
    Action::requeue(shared.runtime.failures.failed(&object_key(parent.as_ref())))
}

/// The parent watch: its cache, and the changes a pass acts on (spec,
/// deletion, finalizers, labels, annotations). Status writes, nearly all
/// the runtime's own, are left out: each would cost a pass that finds
/// nothing to do.
fn parent_changes<P: crate::declare::Parent>(
    client: &Client,
    namespace: &Option<String>,
    writer: reflector::store::Writer<P>,
    lister: Option<Lister>,
) -> impl Stream<Item = Result<P, watcher::Error>> + Send + 'static {
    let api: Api<P> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .inspect_ok(move |event| {
            if let Some(lister) = &lister {
                lister.observe(event);
            }
        })
        .applied_objects()
        .predicate_filter(acted_on::<P>, PredicateConfig::default())
}

/// Hashes what a controller acts on in its own objects: generation,
/// deletion, finalizers, labels and annotations. As a watch predicate it
/// leaves out status-only changes, nearly all of them a controller's own
/// writes, each of which would cost a pass that finds nothing to do.
pub fn acted_on<P: Resource>(parent: &P) -> Option<u64> {
    let meta = parent.meta();
    let mut hasher = std::hash::DefaultHasher::new();
    (
        meta.generation,
        meta.deletion_timestamp.as_ref().map(|t| t.0),
        &meta.finalizers,
        &meta.labels,
        &meta.annotations,
    )
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// A watch of one kind (objects matching `selector`): its cache, and its
/// changes. Managed fields are dropped before caching: no pass reads them,
/// and they are often the largest part of an object; so is every top-level
/// field not in `keep`, when given.
fn cached(
    client: &Client,
    namespace: &Option<String>,
    ar: &ApiResource,
    selector: Option<&str>,
    keep: Option<&'static [&'static str]>,
) -> (
    Store<DynamicObject>,
    impl Stream<Item = Result<DynamicObject, watcher::Error>> + Send + 'static,
) {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    };
    let writer = reflector::store::Writer::new(ar.clone());
    let store = writer.as_reader();
    let mut config = watcher::Config::default();
    if let Some(selector) = selector {
        config = config.labels(selector);
    }
    let changes = reflector(writer, watcher(api, config).modify(move |o| trim(o, keep)))
        .default_backoff()
        .touched_objects();
    (store, changes)
}

/// Drops what no pass reads before the cache holds an object: its managed
/// fields, and every top-level field not in `keep`, when given.
fn trim(object: &mut DynamicObject, keep: Option<&[&str]>) {
    object.metadata.managed_fields = None;
    if let (Some(keep), Some(fields)) = (keep, object.data.as_object_mut()) {
        fields.retain(|key, _| keep.contains(&key.as_str()));
    }
}

/// The parents a child names in its ownerReferences.
fn parents_of<P: Resource<DynamicType = ()>>(child: DynamicObject) -> Vec<ParentRef<P>> {
    let namespace = child.metadata.namespace.clone().unwrap_or_default();
    let (kind, api_version) = (P::kind(&()), P::api_version(&()));
    child
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.kind == kind && r.api_version == api_version)
        .map(|r| ParentRef::new(&r.name).within(&namespace))
        .collect()
}

/// Ends the controller at `shutdown` when its cache never finished its
/// first list: kube-runtime holds passes until then, which never happens
/// once shutdown stopped the watch.
pub async fn until_synced_or_shutdown<P: Resource + Clone>(
    controller: impl Future<Output = ()>,
    cache: Store<P>,
    shutdown: impl Future<Output = ()>,
) where
    P::DynamicType: Eq + Hash + Clone,
{
    let mut controller = std::pin::pin!(controller);
    tokio::select! {
        () = &mut controller => return,
        () = shutdown => {}
    }
    if futures::future::poll_immediate(cache.wait_until_ready())
        .await
        .is_some()
    {
        controller.await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    fn socket() -> DynamicObject {
        let mut object: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Socket",
            "metadata": {"name": "db", "namespace": "data"},
            "spec": {"config": {"host": "db.data", "port": "5432"}},
            "status": {"coupledPlugs": [{"name": "app", "namespace": "web"}]},
        }))
        .unwrap();
        object.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
        object
    }

    #[test]
    fn a_cached_object_keeps_only_its_metadata_and_the_fields_named() {
        let mut object = socket();
        trim(&mut object, Some(&["spec"]));
        assert_eq!(object.metadata.name.as_deref(), Some("db"));
        assert_eq!(object.metadata.managed_fields, None);
        assert_eq!(object.data["spec"]["config"]["port"], "5432");
        assert_eq!(object.data.get("status"), None);
    }

    #[test]
    fn without_fields_named_a_cached_object_keeps_all_but_managed_fields() {
        let mut object = socket();
        trim(&mut object, None);
        assert_eq!(object.metadata.managed_fields, None);
        assert_eq!(object.data["status"]["coupledPlugs"][0]["name"], "app");
        assert_eq!(object.data["spec"]["config"]["host"], "db.data");
    }
}

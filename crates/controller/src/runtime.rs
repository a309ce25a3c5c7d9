//! Running the Plug and Socket controllers, and the watches that connect
//! them: changes reach plugs through watches, never through writes to
//! their spec (docs/lifecycle.md, "Level-triggered updates").
//!
//! * Plug controller: Plugs (changes other than status-only ones, see
//!   [`own_changes`]); Sockets, mapped to the plugs that name them or
//!   are coupled to them (the same watch fills a store of sockets);
//!   ConfigMaps and Secrets, mapped to the plugs that read them and the
//!   plugs of the sockets that read them.
//! * Socket controller: Sockets (likewise); Plugs, mapped to the socket they name, the
//!   one they are coupled to, and any socket still listing them (so a plug
//!   that moved away is dropped from its old socket's status).
//! * DeferredResource controller: DeferredResources only; a DR waiting for
//!   objects polls ([`RunOptions::deferred_poll`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use integration_api::{
    Application, Component, FIELD_MANAGER, FINALIZER, GROUP, Plug, PlugLink, Socket,
};
use integration_engine::{MapObject, reads_map};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::DynamicObject;
use kube::core::PartialObjectMeta;
use kube::discovery::ApiResource;
use kube::runtime::controller::{Config, Controller};
use kube::runtime::reflector::{ObjectRef, ObjectRef as ParentRef, Store};
use kube::runtime::{PredicateConfig, WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use kube_declarative::{Declarative, Marks, Observer, Runtime, acted_on, until_synced_or_shutdown};

use crate::EventRecorder;
use crate::apparatus::{ApparatusOptions, reaper};
use crate::cluster::Cluster;
use crate::context;
use crate::context::{Context, scoped};
use crate::controllers::application::{self, Applications, Components};
use crate::controllers::deferred::{self, Deferred};
use crate::controllers::{plug, socket};
use crate::map_readers::MapReaders;
use crate::metrics::{ControllerName, Metrics};
use kube_declarative::listed::{Listed, listed};

/// Default period after which an idle plug is looked at again: var targets
/// of arbitrary kinds are not watched (docs/lifecycle.md, "Level-triggered
/// updates").
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(600);

/// Default reconciles in flight per controller: passes mostly wait on the
/// API server (and on apparatus calls), so more than the cores pay off.
pub const DEFAULT_CONCURRENCY: u16 = 8;

/// Default grace for passes in flight at shutdown: below Kubernetes'
/// default 30 s termination grace period, so the process exits on its own.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);

/// How the operator runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Watch one namespace only; `None` watches all.
    pub namespace: Option<String>,
    /// Reconciles in flight per controller (0 means unbounded).
    pub concurrency: u16,
    /// How often every plug is passed over again, changed or not.
    pub resync: Duration,
    /// Apparatus endpoints, start delay and reaper period.
    pub apparatus: ApparatusOptions,
    /// What the operator exports on `/metrics`, shared with the caller
    /// (the endpoint, and tests that read it, say for "n passes later"
    /// instead of "some time later").
    pub metrics: Arc<Metrics>,
    /// How often a DeferredResource waiting for its `waitFor` objects looks
    /// again.
    pub deferred_poll: Duration,
    /// Set once the Plug and Socket controllers' caches have listed
    /// everything (for the operator's readiness probe).
    pub synced: Arc<AtomicBool>,
    /// How long passes in flight may take to finish after shutdown; then
    /// they are abandoned (the next operator resumes them: docs/lifecycle.md,
    /// "At-least-once hooks and resume").
    pub shutdown_timeout: Duration,
    /// The namespace Prometheus scrapes from: Applications' network
    /// policies admit it on metrics ports (none by default).
    pub scrape_namespace: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            namespace: None,
            concurrency: DEFAULT_CONCURRENCY,
            resync: DEFAULT_RESYNC,
            apparatus: ApparatusOptions::default(),
            metrics: Arc::default(),
            deferred_poll: deferred::DEFAULT_POLL,
            synced: Arc::default(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            scrape_namespace: None,
        }
    }
}

/// Runs the controllers and the apparatus reaper until `shutdown`
/// completes; in-flight reconciles finish first.
pub async fn run_until(
    client: Client,
    options: RunOptions,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let ctx = Arc::new(Context::new(
        Cluster::new(client),
        options.namespace.clone(),
        options.apparatus.clone(),
        options.metrics.clone(),
    ));
    let config = Config::default().concurrency(options.concurrency);
    let wc = watcher::Config::default();
    let shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));
    let reaper = reaper::run(
        ctx.cluster.client().clone(),
        options.namespace.clone(),
        options.apparatus.reap_period,
        shutdown.clone(),
    );

    let deferred = deferred_controller(&ctx, &options, shutdown.clone());
    let applications = application_controllers(&ctx, &options, shutdown.clone());
    let readers = Arc::new(MapReaders::default());
    let (plug_store, plugs_listed, plug_changes) = own_changes::<Plug>(&ctx, &wc, {
        let readers = readers.clone();
        move |event| readers.observe(event)
    });
    // Every plug is passed over again each `resync`, all at once (as
    // controller-runtime's sync period does), rather than each on a timer
    // of its own: 10,000 idle plugs held 10,000 timers.
    let plugs = Controller::for_stream(plug_changes, plug_store.clone())
        .with_config(config.clone())
        .reconcile_all_on(ticks(options.resync));
    // One socket watch fills one cache for both controllers: the socket
    // controller acts on its own changes and hands every event, once the
    // cache holds it, on to the plug controller. Plug passes read their
    // socket from that cache, and map events reach plugs through the
    // sockets that read those maps. (The plug controller drains its
    // triggers even while its passes are all busy, so the hand-over queue
    // stays short.)
    let (to_plugs, socket_events) = futures::channel::mpsc::unbounded();
    let (socket_store, sockets_listed, socket_changes) =
        own_changes::<Socket>(&ctx, &wc, move |event| {
            let _ = to_plugs.unbounded_send(Ok(event.clone()));
        });
    let plug_sockets = plug::Sockets {
        store: socket_store.clone(),
        listed: sockets_listed.clone(),
    };
    let plugs = plugs
        .watches_stream(store_triggers(marking_deletions(socket_events)), {
            let store = plug_store.clone();
            let views = SocketViews::default();
            move |socket: Socket| plugs_for_socket(|| store.state(), &socket, views.change(&socket))
        })
        // Metadata only: a change of a map's data bumps its resourceVersion,
        // which is all a trigger needs, and the operator's memory never
        // holds Secret values it has no coupling for.
        .watches_stream(map_changes::<ConfigMap>(&ctx, &wc), {
            let (plugs, sockets) = (plug_store.clone(), socket_store.clone());
            let readers = readers.clone();
            move |cm: PartialObjectMeta<ConfigMap>| {
                map_readers(&readers, &plugs, &sockets, MapObject::ConfigMap, &cm)
            }
        })
        .watches_stream(map_changes::<Secret>(&ctx, &wc), {
            let (plugs, sockets) = (plug_store.clone(), socket_store.clone());
            move |secret: PartialObjectMeta<Secret>| {
                map_readers(&readers, &plugs, &sockets, MapObject::Secret, &secret)
            }
        })
        .graceful_shutdown_on(shutdown.clone())
        .run(
            {
                let (plugs, sockets) = (plug_store.clone(), plug_sockets);
                move |p, ctx: Arc<Context>| {
                    let (plugs, sockets) = (plugs.clone(), sockets.clone());
                    async move {
                        let metrics = ctx.metrics.clone();
                        let pass = plug::reconcile(p, ctx, plugs, sockets);
                        metrics.passes.record(ControllerName::Plug, pass).await
                    }
                }
            },
            context::error_policy,
            ctx.clone(),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "plug reconcile");
            }
        });

    // Socket passes find their coupled plugs in this cache; the same watch
    // triggers them, after the cache has taken in each event, for the
    // sockets a plug named or was coupled to before and after it: the
    // cache remembers both, so no event scans the sockets. A (re-)list of
    // plugs passes over every socket once it is complete.
    let plugs_seen = Arc::new(socket::PlugLinks::default());
    let pace = Arc::new(socket::Pace::default());
    let (relisted, plugs_relisted) = futures::channel::mpsc::unbounded::<()>();
    let links = plugs_seen.clone();
    let plug_triggers = watcher(scoped::<PlugLink>(&ctx), wc.clone())
        .default_backoff()
        .modify(lean)
        .flat_map(move |event| {
            let touched = match event {
                Ok(event) => {
                    let touched = links.observe(&event);
                    // After the cache took the new list in.
                    if matches!(event, watcher::Event::InitDone) {
                        let _ = relisted.unbounded_send(());
                    }
                    touched
                }
                Err(e) => {
                    tracing::debug!(error = %e, "plug watch for socket passes");
                    Vec::new()
                }
            };
            futures::stream::iter(touched)
        });
    // No debounce: it would hold a new socket's created pass back behind
    // the couplings of its plugs. Plug events that arrive while a socket's
    // pass runs already fold into one follow-up pass.
    let sockets = Controller::for_stream(socket_changes, socket_store.clone()).with_config(config);
    let own_sockets = socket_store.clone();
    let sockets = sockets
        .reconcile_on(plug_triggers)
        .reconcile_all_on(plugs_relisted)
        .graceful_shutdown_on(shutdown.clone())
        .run(
            move |s, ctx: Arc<Context>| {
                let (sockets, plugs) = (own_sockets.clone(), plugs_seen.clone());
                let pace = pace.clone();
                async move {
                    let metrics = ctx.metrics.clone();
                    let pass = socket::reconcile(s, ctx, sockets, plugs, pace);
                    metrics.passes.record(ControllerName::Socket, pass).await
                }
            },
            context::error_policy,
            ctx,
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "socket reconcile");
            }
        });

    // The coupling gauges read the controllers' caches while they run.
    let _gauges = options.metrics.watch(
        plug_store.clone(),
        socket_store.clone(),
        [plugs_listed.clone(), sockets_listed.clone()],
    );
    let plugs = until_synced_or_shutdown(plugs, plug_store.clone(), shutdown.clone());
    let sockets = until_synced_or_shutdown(sockets, socket_store.clone(), shutdown.clone());
    let synced = {
        let shutdown = shutdown.clone();
        let synced = mark_synced(plugs_listed, sockets_listed, options.synced.clone());
        async move {
            tokio::select! {
                () = synced => {}
                () = shutdown => {}
            }
        }
    };
    tracing::info!("controllers started");
    let running = async { tokio::join!(plugs, sockets, deferred, applications, reaper, synced) };
    let deadline = async {
        shutdown.await;
        tokio::time::sleep(options.shutdown_timeout).await;
    };
    tokio::select! {
        _ = running => tracing::info!("controllers stopped"),
        () = deadline => tracing::warn!(
            timeout = ?options.shutdown_timeout,
            "passes still in flight at the shutdown deadline were abandoned"
        ),
    }
}

/// A tick every `period`, the first one `period` from now.
fn ticks(period: Duration) -> impl Stream<Item = ()> + Send + 'static {
    futures::stream::unfold((), move |()| async move {
        tokio::time::sleep(period).await;
        Some(((), ()))
    })
}

/// A controller's own watch: its cache, and the changes of its objects that
/// it acts on: spec (generation), deletion, and metadata a user may edit
/// (finalizers, labels, annotations such as the force-delete escape hatch).
/// Status writes, nearly all the controller's
/// own, are left out (as the original's event filter does; docs/lifecycle.md,
/// "Level-triggered updates"): each
/// would cost a pass that reads the object and finds nothing to do. A
/// pass never waits for its own status write to come back. So are the
/// events of the operator's own writes and older ones
/// ([`Written::superseded`](crate::written::Written::superseded)): the
/// pass that adds a finalizer and goes on to couple does not run again
/// for the finalizer's event.
fn own_changes<K>(
    ctx: &Context,
    wc: &watcher::Config,
    observe: impl Fn(&watcher::Event<K>) + Send + 'static,
) -> (
    Store<K>,
    Listed,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let (lister, listed) = listed();
    let written = ctx.written.clone();
    let own = ctx.written.clone();
    let changes = reflector(
        writer,
        watcher(scoped::<K>(ctx), wc.clone())
            .default_backoff()
            .modify(lean),
    )
    .inspect_ok(move |event| {
        if let watcher::Event::Delete(gone) = event {
            written.forget(gone);
        }
        lister.observe(event);
        observe(event);
        written.changed();
    })
    .applied_objects()
    .try_filter(move |object| futures::future::ready(!own.superseded(object)))
    .predicate_filter(acted_on::<K>, PredicateConfig::default());
    (store, listed, changes)
}

/// Drops what no pass reads from a cached object before the store holds
/// it: `managedFields`, the server's record of which manager set which
/// field, often larger than the rest of the object, and the copy of the
/// whole object `kubectl apply` (client-side) keeps in an annotation. A
/// status write ignores metadata, so the server keeps both as they are.
fn lean<K: Resource>(object: &mut K) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// The annotation client-side `kubectl apply` stores the applied object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Every change of a ConfigMap or Secret in scope, as its metadata.
fn map_changes<K>(
    ctx: &Context,
    wc: &watcher::Config,
) -> impl Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    // An `Api` of `PartialObjectMeta` makes metadata-only requests.
    watcher(scoped::<PartialObjectMeta<K>>(ctx), wc.clone())
        .default_backoff()
        .touched_objects()
}

/// Sets `synced` once both controllers' caches have listed everything.
async fn mark_synced(plugs: Listed, sockets: Listed, synced: Arc<AtomicBool>) {
    let (plugs, sockets) = tokio::join!(plugs.wait(), sockets.wait());
    if plugs && sockets {
        tracing::info!("caches synced");
        synced.store(true, Ordering::SeqCst);
    }
}

/// A declarative runtime for `controller` with the operator's settings:
/// scope, concurrency, shared clients, Event recorder and pass metrics.
fn declarative<D: Declarative>(
    ctx: &Context,
    options: &RunOptions,
    name: ControllerName,
    controller: D,
) -> Runtime<D> {
    let metrics = ctx.metrics.clone();
    let observer: Observer = Arc::new(move |ok, took| metrics.passes.count(name, ok, took));
    let cluster = &ctx.cluster;
    Runtime::new(
        cluster.client().clone(),
        controller,
        name.label(),
        Marks::new(FIELD_MANAGER, GROUP),
    )
    .namespace(options.namespace.clone())
    .concurrency(options.concurrency)
    .clients(cluster.impersonation().clone(), cluster.mapper().clone())
    .recorder(Arc::new(ctx.recorder.clone()))
    .observe(observer)
}

/// The DeferredResource controller: its one child is created as its
/// service account and is not watched.
fn deferred_controller<S>(
    ctx: &Context,
    options: &RunOptions,
    shutdown: S,
) -> impl Future<Output = ()> + Send + use<S>
where
    S: Future<Output = ()> + Send + Sync + 'static,
{
    let deferred = Deferred {
        poll: options.deferred_poll,
    };
    declarative(ctx, options, ControllerName::DeferredResource, deferred)
        .finalizer(FINALIZER)
        .run_until(shutdown)
}

/// The Application and Component controllers: they own workloads,
/// Services and ServiceMonitors, read their components' Pods, each other,
/// and Prometheus objects, and follow CRDs (the monitoring API may come
/// and go).
fn application_controllers<S>(
    ctx: &Context,
    options: &RunOptions,
    shutdown: S,
) -> impl Future<Output = ()> + Send + use<S>
where
    S: Future<Output = ()> + Clone + Send + Sync + 'static,
{
    let domain = options.apparatus.cluster_domain.clone();
    let applications = Applications {
        cluster_domain: domain.clone(),
        scrape_namespace: options.scrape_namespace.clone(),
    };
    let components = Components {
        cluster_domain: domain,
        scrape_namespace: options.scrape_namespace.clone(),
    };
    let applications = app_kinds(declarative(
        ctx,
        options,
        ControllerName::Application,
        applications,
    ))
    .watches(ApiResource::erase::<Component>(&()), None, |c, _| {
        app_of_component(c)
    })
    .recorder(Arc::new(TimedRecorder {
        events: ctx.recorder.clone(),
        metrics: ctx.metrics.clone(),
    }));
    let listed = applications.parents_listed();
    ctx.metrics
        .applications
        .watch(applications.parents(), listed);
    let applications = applications.run_until(shutdown.clone());
    let components = app_kinds(declarative(
        ctx,
        options,
        ControllerName::Component,
        components,
    ))
    .watches(
        ApiResource::erase::<Application>(&()),
        None,
        components_of_app,
    )
    // Sibling Components: the clients whose flows a policy admits, the
    // targets a connectsTo may name.
    .watches(
        ApiResource::erase::<Component>(&()),
        None,
        |c, components| {
            let app = c.data["spec"]["application"].as_str().unwrap_or_default();
            siblings(c.metadata.namespace.as_deref(), app, components)
        },
    )
    .run_until(shutdown);
    async move {
        tokio::join!(applications, components);
    }
}

/// The Application controller's Events, timing each Application's first
/// `Running` on the way (the transition's Event is when it happens).
struct TimedRecorder {
    events: EventRecorder,
    metrics: Arc<Metrics>,
}

impl kube_declarative::Recorder<Application> for TimedRecorder {
    fn record<'a>(
        &'a self,
        app: &'a Application,
        event: &'a kube_declarative::Event,
    ) -> futures::future::BoxFuture<'a, ()> {
        if event.reason == workload_health::Phase::Running.as_str() {
            let created = app.meta().creation_timestamp.as_ref().map(|t| t.0);
            let uid = app.uid().unwrap_or_default();
            self.metrics
                .applications
                .running(&uid, created, jiff::Timestamp::now());
        }
        kube_declarative::Recorder::record(&self.events, app, event)
    }
}

/// What both application controllers own and read: workloads, Services,
/// ServiceMonitors, NetworkPolicies, the Plugs and Sockets of links, the
/// Sockets their links require (in any namespace), Pods and Prometheuses.
fn app_kinds<D>(runtime: Runtime<D>) -> Runtime<D>
where
    D: Declarative,
    D::Parent: application::Wired,
{
    let pods = format!("{}={FIELD_MANAGER}", application::children::MANAGED_BY);
    runtime
        .owns(ApiResource::erase::<Deployment>(&()))
        .owns(ApiResource::erase::<StatefulSet>(&()))
        .owns(ApiResource::erase::<Service>(&()))
        .owns(kinds::service_monitor())
        .owns(ApiResource::erase::<NetworkPolicy>(&()))
        .owns(ApiResource::erase::<Plug>(&()))
        .owns(ApiResource::erase::<Socket>(&()))
        // A link reads a required Socket's spec only (its host and port
        // config); the rest, above all the coupled plugs in its status,
        // would be thousands of entries held for nothing.
        .watches_only(
            ApiResource::erase::<Socket>(&()),
            None,
            &["spec"],
            requiring::<D::Parent>,
        )
        .watches_only(
            ApiResource::erase::<Pod>(&()),
            Some(&pods),
            &["status"],
            pod_parents::<D::Parent>,
        )
        .watches(kinds::prometheus(), None, |_, parents| {
            parents
                .state()
                .iter()
                .map(|p| ParentRef::from_obj(p.as_ref()))
                .collect()
        })
        .follow_crds()
}

/// The parent of a component's pod: the Application or the Component
/// named by its labels.
fn pod_parents<P: kube::Resource<DynamicType = ()> + Clone + 'static>(
    pod: &DynamicObject,
    parents: &Store<P>,
) -> Vec<ParentRef<P>> {
    let labels = pod.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).cloned();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = match P::kind(&()).as_ref() {
        "Application" => label(application::children::PART_OF),
        _ => label(application::children::NAME),
    };
    name.map(|name| ParentRef::new(&name).within(&namespace))
        .filter(|r| parents.get(r).is_some())
        .into_iter()
        .collect()
}

/// The Application a Component names.
fn app_of_component(component: &DynamicObject) -> Vec<ParentRef<Application>> {
    let namespace = component.metadata.namespace.clone().unwrap_or_default();
    component.data["spec"]["application"]
        .as_str()
        .map(|app| ParentRef::new(app).within(&namespace))
        .into_iter()
        .collect()
}

/// The Components that name an Application.
fn components_of_app(
    app: &DynamicObject,
    components: &Store<Component>,
) -> Vec<ParentRef<Component>> {
    let name = app.metadata.name.as_deref().unwrap_or_default();
    siblings(app.metadata.namespace.as_deref(), name, components)
}

/// The Components of application `app` in `namespace`.
fn siblings(
    namespace: Option<&str>,
    app: &str,
    components: &Store<Component>,
) -> Vec<ParentRef<Component>> {
    components
        .state()
        .iter()
        .filter(|c| c.metadata.namespace.as_deref() == namespace)
        .filter(|c| c.spec.application == app)
        .map(|c| ParentRef::from_obj(c.as_ref()))
        .collect()
}

/// The parents with a `requires` entry naming this Socket.
fn requiring<P>(socket: &DynamicObject, parents: &Store<P>) -> Vec<ParentRef<P>>
where
    P: application::Wired + kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let id = (
        socket.metadata.namespace.as_deref().unwrap_or_default(),
        socket.metadata.name.as_deref().unwrap_or_default(),
    );
    parents
        .state()
        .iter()
        .filter(|p| {
            application::requires_socket(p.as_ref(), &p.namespace().unwrap_or_default(), id)
        })
        .map(|p| ParentRef::from_obj(p.as_ref()))
        .collect()
}

/// The kinds of the monitoring API (prometheus-operator's CRDs), which
/// have no Rust types here.
mod kinds {
    use kube::core::GroupVersionKind;
    use kube::discovery::ApiResource;

    fn of(kind: &str) -> ApiResource {
        ApiResource::from_gvk(&GroupVersionKind::gvk("monitoring.coreos.com", "v1", kind))
    }

    /// monitoring.coreos.com/v1 ServiceMonitor.
    pub fn service_monitor() -> ApiResource {
        of("ServiceMonitor")
    }

    /// monitoring.coreos.com/v1 Prometheus.
    pub fn prometheus() -> ApiResource {
        ApiResource {
            plural: "prometheuses".into(),
            ..of("Prometheus")
        }
    }
}

/// The objects of a reflected watch as triggers, each once the reflector
/// store shows it: a (re-)list's objects are held back until the list is
/// complete, because the store swaps in a new list only then.
fn store_triggers<K: Send + 'static>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    events
        .scan(Vec::new(), |listing: &mut Vec<K>, event| {
            let out: Vec<Result<K, watcher::Error>> = match event {
                Ok(watcher::Event::Apply(plug) | watcher::Event::Delete(plug)) => vec![Ok(plug)],
                Ok(watcher::Event::Init) => {
                    listing.clear();
                    Vec::new()
                }
                Ok(watcher::Event::InitApply(plug)) => {
                    listing.push(plug);
                    Vec::new()
                }
                Ok(watcher::Event::InitDone) => {
                    std::mem::take(listing).into_iter().map(Ok).collect()
                }
                Err(e) => vec![Err(e)],
            };
            futures::future::ready(Some(futures::stream::iter(out)))
        })
        .flatten()
}

/// What changed in a socket, as far as plugs are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketChange {
    /// Its identity, metadata, spec or deletion: every plug may be
    /// affected.
    Seen,
    /// Only its status (`coupledPlugs` after a plug coupled or left): it
    /// matters only to plugs that are not coupled to it, which may be
    /// waiting for a slot (`limit`).
    Status,
}

/// The plugs a socket event concerns: those naming it and those coupled to
/// it (by name, so a re-created socket reaches its stale plugs too); after
/// a status-only change, only those naming it and not coupled to it, and
/// only when it has a `limit` (they may be waiting for a slot): a socket's
/// status changes with every coupling, and nothing else in it wakes a plug.
pub fn plugs_for_socket(
    plugs: impl FnOnce() -> Vec<Arc<Plug>>,
    socket: &Socket,
    change: SocketChange,
) -> Vec<ObjectRef<Plug>> {
    if change == SocketChange::Status && socket.plug_limit().is_none() {
        return Vec::new();
    }
    let ns = socket.metadata.namespace.as_deref().unwrap_or_default();
    let name = socket.metadata.name.as_deref().unwrap_or_default();
    let uid = socket.metadata.uid.as_deref();
    plugs()
        .iter()
        .filter(|p| {
            let named = names(p, ns, name);
            let coupled = p.status.as_ref().and_then(|s| s.coupled_socket.as_ref());
            match change {
                SocketChange::Seen => {
                    named || coupled.is_some_and(|c| c.namespace == ns && c.name == name)
                }
                SocketChange::Status => named && coupled.map(|c| c.uid.as_str()) != uid,
            }
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// Whether `plug` names the socket `ns/name` (without allocating: called
/// for every plug on some socket events).
fn names(plug: &Plug, ns: &str, name: &str) -> bool {
    plug.spec.socket.as_ref().is_some_and(|s| {
        let own = plug.metadata.namespace.as_deref().unwrap_or_default();
        s.name == name && s.namespace_or(own) == ns
    })
}

/// What plugs see of each socket: everything but its status. Tells a
/// status-only change (one per coupling, each waking every plug of the
/// socket otherwise) from the others.
#[derive(Default)]
struct SocketViews(Mutex<HashMap<(String, String), Socket>>);

impl SocketViews {
    /// Records `socket` and says what changed since the last one seen.
    fn change(&self, socket: &Socket) -> SocketChange {
        let key = (socket.namespace().unwrap_or_default(), socket.name_any());
        // Not a clone of the whole socket: its status lists every plug.
        let mut view = Socket {
            metadata: socket.metadata.clone(),
            spec: socket.spec.clone(),
            status: None,
        };
        view.metadata.resource_version = None;
        view.metadata.managed_fields = None;
        let mut views = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match views.insert(key, view.clone()) {
            Some(old) if old == view => SocketChange::Status,
            _ => SocketChange::Seen,
        }
    }
}

/// Socket events with each deletion marked as such (a deletion timestamp),
/// so that [`SocketViews`] never takes a deleted socket's last state for a
/// status-only change.
fn marking_deletions(
    events: impl Stream<Item = Result<watcher::Event<Socket>, watcher::Error>> + Send + 'static,
) -> impl Stream<Item = Result<watcher::Event<Socket>, watcher::Error>> + Send + 'static {
    events.map_ok(|event| match event {
        watcher::Event::Delete(mut socket) => {
            socket
                .metadata
                .deletion_timestamp
                .get_or_insert_with(|| Time(jiff::Timestamp::now()));
            watcher::Event::Delete(socket)
        }
        other => other,
    })
}

/// The plugs a ConfigMap or Secret feeds ([`plugs_reading`]), found
/// without looking at any plug when none in its namespace reads it and no
/// socket there does.
fn map_readers<K: ResourceExt>(
    readers: &MapReaders,
    plugs: &Store<Plug>,
    sockets: &Store<Socket>,
    kind: MapObject,
    map: &K,
) -> Vec<ObjectRef<Plug>> {
    let ns = map.meta().namespace.as_deref().unwrap_or_default();
    let name = map.meta().name.as_deref().unwrap_or_default();
    let sockets = sockets.state();
    let socket_reads = sockets.iter().any(|s| {
        s.metadata.namespace.as_deref() == Some(ns) && reads_map(&s.spec.common, kind, name)
    });
    if !socket_reads && !readers.may_read(kind, ns, name) {
        return Vec::new();
    }
    plugs_reading(&plugs.state(), &sockets, kind, map)
}

/// The plugs a ConfigMap or Secret feeds: plugs in its namespace that
/// read it, and the plugs naming a socket in its namespace that reads it
/// (the engine's [`reads_map`], which covers everything a fetch plan
/// lists). One pass over each store per event, however many sockets there
/// are.
pub fn plugs_reading<K: ResourceExt>(
    plugs: &[Arc<Plug>],
    sockets: &[Arc<Socket>],
    kind: MapObject,
    map: &K,
) -> Vec<ObjectRef<Plug>> {
    // Called for every map event with every plug: no allocation per plug
    // (at 10,000 plugs creating one map each, that was quadratic).
    let ns = map.meta().namespace.as_deref().unwrap_or_default();
    let name = map.meta().name.as_deref().unwrap_or_default();
    let in_ns = |namespace: &Option<String>| namespace.as_deref() == Some(ns);
    let sockets_reading: HashSet<&str> = sockets
        .iter()
        .filter(|s| in_ns(&s.metadata.namespace) && reads_map(&s.spec.common, kind, name))
        .filter_map(|s| s.metadata.name.as_deref())
        .collect();
    plugs
        .iter()
        .filter(|p| {
            let own = in_ns(&p.metadata.namespace) && reads_map(&p.spec.common, kind, name);
            own || (!sockets_reading.is_empty() && names_socket(p, ns, &sockets_reading))
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// Whether `plug` names one of `sockets` in namespace `ns`.
fn names_socket(plug: &Plug, ns: &str, sockets: &HashSet<&str>) -> bool {
    let Some(socket) = plug.spec.socket.as_ref() else {
        return false;
    };
    let own = plug.metadata.namespace.as_deref().unwrap_or_default();
    socket.namespace_or(own) == ns && sockets.contains(socket.name.as_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn plug(name: &str, socket: &str, coupled_uid: Option<&str>) -> Arc<Plug> {
        let mut p: Plug = serde_json::from_value(json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
            "metadata": {"name": name, "namespace": "app"},
            "spec": {"socket": {"name": socket, "namespace": "db"}}
        }))
        .unwrap();
        if let Some(uid) = coupled_uid {
            p.status = Some(integration_api::PlugStatus {
                coupled_socket: Some(integration_api::CoupledRef {
                    name: socket.into(),
                    namespace: "db".into(),
                    uid: uid.into(),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        Arc::new(p)
    }

    fn socket(name: &str, spec: serde_json::Value) -> Socket {
        serde_json::from_value(json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Socket",
            "metadata": {"name": name, "namespace": "db", "uid": "s1"},
            "spec": spec
        }))
        .unwrap()
    }

    fn names(refs: Vec<ObjectRef<Plug>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn a_status_change_wakes_only_plugs_not_coupled_to_a_limited_socket() {
        let plugs = [plug("a", "s", Some("s1")), plug("b", "s", None)];
        let all = || plugs.to_vec();
        let s = socket("s", json!({}));
        assert_eq!(
            names(plugs_for_socket(all, &s, SocketChange::Seen)),
            ["a", "b"]
        );
        // No limit: no plug waits for a slot.
        assert!(plugs_for_socket(all, &s, SocketChange::Status).is_empty());
        let limited = socket("s", json!({"limit": 1}));
        assert_eq!(
            names(plugs_for_socket(all, &limited, SocketChange::Status)),
            ["b"]
        );
        let views = SocketViews::default();
        assert_eq!(views.change(&s), SocketChange::Seen);
        let mut counted = s.clone();
        counted.status = Some(Default::default());
        assert_eq!(views.change(&counted), SocketChange::Status);
        counted.spec.common.config = Some([("k".into(), "v".into())].into());
        assert_eq!(views.change(&counted), SocketChange::Seen);
    }

    #[test]
    fn cached_objects_drop_what_no_pass_reads() {
        let mut p: Plug = serde_json::from_value(json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
            "metadata": {"name": "p", "namespace": "app",
                "annotations": {LAST_APPLIED: "{\"spec\":{}}", "keep": "me"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "spec": {}
        }))
        .unwrap();
        lean(&mut p);
        assert!(p.metadata.managed_fields.is_none());
        let kept: Vec<_> = p.annotations().keys().collect();
        assert_eq!(kept, ["keep"]);
    }

    #[test]
    fn a_map_wakes_the_plugs_of_the_sockets_reading_it() {
        let plugs = [plug("a", "reads", None), plug("b", "other", None)];
        let sockets = [
            Arc::new(socket("reads", json!({"configConfigMapName": "cm"}))),
            Arc::new(socket("other", json!({}))),
        ];
        let map = |name: &str| -> ConfigMap {
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "db"}})).unwrap()
        };
        let woken = plugs_reading(&plugs, &sockets, MapObject::ConfigMap, &map("cm"));
        assert_eq!(names(woken), ["a"]);
        assert!(plugs_reading(&plugs, &sockets, MapObject::ConfigMap, &map("x")).is_empty());
        assert!(plugs_reading(&plugs, &sockets, MapObject::Secret, &map("cm")).is_empty());
    }

    /// The names of the Plug CRD's spec fields that name a map object of
    /// `object`'s kind (`…ConfigMapName`, `…SecretName`), from the schema,
    /// so a field added to the API is covered without editing this test.
    fn map_fields(object: MapObject) -> Vec<String> {
        let suffix = format!("{}Name", object.kind());
        let crds = integration_api::crds();
        let plug = crds.iter().find(|c| c.spec.names.kind == "Plug").unwrap();
        let schema = plug.spec.versions[0].schema.as_ref().unwrap();
        let root = schema.open_api_v3_schema.as_ref().unwrap();
        let spec = &root.properties.as_ref().unwrap()["spec"];
        let fields = spec.properties.as_ref().unwrap().keys();
        fields.filter(|f| f.ends_with(&suffix)).cloned().collect()
    }

    /// A side's spec reading every map field (each its own name, `<side>-<field>`)
    /// and a var of each map kind.
    fn reading_everything(side: &str) -> serde_json::Value {
        let mut spec = serde_json::Map::new();
        for object in [MapObject::ConfigMap, MapObject::Secret] {
            let fields = map_fields(object);
            assert!(!fields.is_empty(), "no {} fields", object.kind());
            for field in fields {
                spec.insert(field.clone(), json!(format!("{side}-{field}")));
            }
        }
        let var = |kind: &str| {
            json!({"name": kind, "fieldref": {"fieldPath": "data.k"},
            "objref": {"apiVersion": "v1", "kind": kind, "name": format!("{side}-var-{kind}")}})
        };
        spec.insert("vars".into(), json!([var("ConfigMap")]));
        spec.insert("resultVars".into(), json!([var("Secret")]));
        spec.into()
    }

    #[test]
    fn every_map_a_plan_fetches_wakes_its_plug() {
        let mut plug_spec = reading_everything("p");
        plug_spec["socket"] = json!({"name": "s", "namespace": "db"});
        let p: Plug = serde_json::from_value(json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
            "metadata": {"name": "a", "namespace": "db", "uid": "p1"},
            "spec": plug_spec
        }))
        .unwrap();
        let s = socket("s", reading_everything("s"));
        let plan = integration_engine::Coupling::new(&p, &s)
            .unwrap()
            .plan()
            .unwrap();
        let (plugs, sockets) = ([Arc::new(p)], [Arc::new(s)]);
        let wakes = |object: MapObject, name: &str| {
            let map: ConfigMap =
                serde_json::from_value(json!({"metadata": {"name": name, "namespace": "db"}}))
                    .unwrap();
            names(plugs_reading(&plugs, &sockets, object, &map)) == ["a"]
        };
        let mut checked = 0;
        for side in [&plan.plug, &plan.socket] {
            let vars = side.var_refs().map(|v| &v.target);
            let var_maps = vars.filter_map(|t| {
                let object = [MapObject::ConfigMap, MapObject::Secret]
                    .into_iter()
                    .find(|o| o.kind() == t.kind)?;
                Some((object, t.name.clone()))
            });
            let fetched = (side
                .config_maps
                .iter()
                .map(|n| (MapObject::ConfigMap, n.clone())))
            .chain(side.secrets.iter().map(|n| (MapObject::Secret, n.clone())))
            .chain(var_maps);
            for (object, name) in fetched {
                assert!(
                    wakes(object, &name),
                    "{} {name} is fetched but wakes no plug",
                    object.kind()
                );
                checked += 1;
            }
        }
        let fields = map_fields(MapObject::ConfigMap).len() + map_fields(MapObject::Secret).len();
        assert_eq!(checked, 2 * (fields + 2), "every field is fetched");
    }
}

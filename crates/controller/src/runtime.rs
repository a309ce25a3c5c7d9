//! Running the Plug and Socket controllers, and the watches that connect
//! them (§2.1 [FIX]: changes reach plugs through watches, not epoch writes).
//!
//! * Plug controller: Plugs; Sockets, mapped to the plugs that name them or
//!   are coupled to them; ConfigMaps and Secrets, mapped to the plugs that
//!   may read them.
//! * Socket controller: Sockets; Plugs, mapped to the socket they name, the
//!   one they are coupled to, and any socket still listing them (so a plug
//!   that moved away is dropped from its old socket's status).
//! * DeferredResource controller: DeferredResources only; a DR waiting for
//!   objects polls ([`RunOptions::deferred_poll`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{Stream, StreamExt};
use integration_api::{CommonSpec, DeferredResource, Plug, Socket};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::controller::{Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, ResourceExt};

use crate::apparatus::{ApparatusOptions, reaper};
use crate::cluster::Cluster;
use crate::context::{Context, scoped};
use crate::metrics::{ControllerName, Passes};
use crate::{context, deferred, plug, socket};

/// Default period after which an idle plug is looked at again (README
/// decision 5: var targets of arbitrary kinds are not watched).
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(600);

/// Default reconciles in flight per controller. Passes mostly wait on the
/// API server (and on apparatus calls), so more than the core count pays.
pub const DEFAULT_CONCURRENCY: u16 = 8;

/// How the operator runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Watch one namespace only; `None` watches all.
    pub namespace: Option<String>,
    /// Reconciles in flight per controller (0 means unbounded).
    pub concurrency: u16,
    /// Resync period of idle plugs.
    pub resync: Duration,
    /// Apparatus endpoints, start delay and reaper period.
    pub apparatus: ApparatusOptions,
    /// Completed reconcile passes, shared with the caller (for metrics and
    /// for tests that need "n passes later" instead of "some time later").
    pub passes: Arc<Passes>,
    /// How often a DeferredResource waiting for its `waitFor` objects looks
    /// again.
    pub deferred_poll: Duration,
    /// Set once the Plug and Socket controllers' caches have listed
    /// everything (for the operator's readiness probe).
    pub synced: Arc<AtomicBool>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            namespace: None,
            concurrency: DEFAULT_CONCURRENCY,
            resync: DEFAULT_RESYNC,
            apparatus: ApparatusOptions::default(),
            passes: Arc::default(),
            deferred_poll: deferred::DEFAULT_POLL,
            synced: Arc::default(),
        }
    }
}

/// Runs the controllers until SIGINT/SIGTERM.
pub async fn run(client: Client, options: RunOptions) {
    run_until(client, options, shutdown_signal()).await;
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
        options.resync,
        options.apparatus.clone(),
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

    let deferred = deferred_controller(ctx.clone(), &options, config.clone(), shutdown.clone());
    let plugs = Controller::new(scoped::<Plug>(&ctx), wc.clone()).with_config(config.clone());
    let plug_store = plugs.store();
    let plugs = plugs
        .watches(scoped::<Socket>(&ctx), wc.clone(), {
            let store = plug_store.clone();
            move |socket: Socket| plugs_for_socket(&store.state(), &socket)
        })
        .watches(scoped::<ConfigMap>(&ctx), wc.clone(), {
            let store = plug_store.clone();
            move |cm: ConfigMap| plugs_reading(&store.state(), MapKind::ConfigMap, &cm)
        })
        .watches(scoped::<Secret>(&ctx), wc.clone(), {
            let store = plug_store.clone();
            move |secret: Secret| plugs_reading(&store.state(), MapKind::Secret, &secret)
        })
        .graceful_shutdown_on(shutdown.clone())
        .run(
            {
                let passes = options.passes.clone();
                move |p, ctx| {
                    let passes = passes.clone();
                    async move {
                        passes
                            .record(ControllerName::Plug, plug::reconcile(p, ctx))
                            .await
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

    // Socket passes count coupled plugs from this store; the same watch
    // triggers them, after the store has applied each event.
    let (plugs_seen, plug_writer) = reflector::store::<Plug>();
    let plug_events = reflector(
        plug_writer,
        watcher(scoped::<Plug>(&ctx), wc.clone()).default_backoff(),
    );
    let sockets = Controller::new(scoped::<Socket>(&ctx), wc).with_config(config);
    let socket_store = sockets.store();
    let socket_store_ready = socket_store.clone();
    let sockets = sockets
        .watches_stream(plug_triggers(plug_events), move |plug: Plug| {
            sockets_for_plug(&socket_store, &plug)
        })
        .graceful_shutdown_on(shutdown.clone())
        .run(
            {
                let passes = options.passes.clone();
                move |s, ctx| {
                    let passes = passes.clone();
                    let plugs = plugs_seen.clone();
                    async move {
                        passes
                            .record(ControllerName::Socket, socket::reconcile(s, ctx, plugs))
                            .await
                    }
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

    let synced = mark_synced(plug_store, socket_store_ready, options.synced.clone());
    tracing::info!("controllers started");
    tokio::join!(plugs, sockets, deferred, reaper, synced);
    tracing::info!("controllers stopped");
}

/// Sets `synced` once both controllers' caches have listed everything.
async fn mark_synced(plugs: Store<Plug>, sockets: Store<Socket>, synced: Arc<AtomicBool>) {
    let (plugs, sockets) = tokio::join!(plugs.wait_until_ready(), sockets.wait_until_ready());
    if plugs.is_ok() && sockets.is_ok() {
        tracing::info!("caches synced");
        synced.store(true, Ordering::SeqCst);
    }
}

/// The DeferredResource controller: it watches DeferredResources only.
fn deferred_controller(
    ctx: Arc<Context>,
    options: &RunOptions,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> {
    let passes = options.passes.clone();
    let poll = options.deferred_poll;
    Controller::new(scoped::<DeferredResource>(&ctx), watcher::Config::default())
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(
            move |dr, ctx| {
                let passes = passes.clone();
                async move {
                    let pass = deferred::reconcile(dr, ctx, poll);
                    passes.record(ControllerName::DeferredResource, pass).await
                }
            },
            context::error_policy,
            ctx,
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "deferred resource reconcile");
            }
        })
}

/// The plugs whose events trigger socket passes, each once the reflector
/// store shows it: a (re-)list's objects are held back until the list is
/// complete, because the store swaps in a new list only then.
fn plug_triggers(
    events: impl Stream<Item = Result<watcher::Event<Plug>, watcher::Error>> + Send + 'static,
) -> impl Stream<Item = Result<Plug, watcher::Error>> + Send + 'static {
    events
        .scan(Vec::new(), |listing: &mut Vec<Plug>, event| {
            let out: Vec<Result<Plug, watcher::Error>> = match event {
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

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            futures::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = futures::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The plugs a socket event concerns: those naming it and those coupled to
/// it (by name, so a re-created socket reaches its stale plugs too).
pub fn plugs_for_socket(plugs: &[Arc<Plug>], socket: &Socket) -> Vec<ObjectRef<Plug>> {
    let ns = socket.namespace().unwrap_or_default();
    let name = socket.name_any();
    plugs
        .iter()
        .filter(|p| {
            let named = p.socket_key().is_some_and(|(n, s)| n == ns && s == name);
            let coupled = p
                .status
                .as_ref()
                .and_then(|s| s.coupled_socket.as_ref())
                .is_some_and(|c| c.namespace == ns && c.name == name);
            named || coupled
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// Which of a side's map fields a kind fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// `dataConfigMapName`, `configConfigMapName`, `resultConfigMapName`.
    ConfigMap,
    /// `dataSecretName`, `configSecretName`, `resultSecretName`.
    Secret,
}

/// Whether `spec` reads the map `name` of `kind`.
fn reads(spec: &CommonSpec, kind: MapKind, name: &str) -> bool {
    let names = match kind {
        MapKind::ConfigMap => [
            &spec.data_config_map_name,
            &spec.config_config_map_name,
            &spec.result_config_map_name,
        ],
        MapKind::Secret => [
            &spec.data_secret_name,
            &spec.config_secret_name,
            &spec.result_secret_name,
        ],
    };
    names.into_iter().any(|n| n.as_deref() == Some(name))
}

/// The plugs a ConfigMap or Secret may feed: plugs that read it themselves,
/// and every plug whose socket lives in its namespace (the socket's spec,
/// with its maps and var targets, is not in this cache; a spare pass costs
/// one fetch and writes nothing when the inputs hash is unchanged).
pub fn plugs_reading<K: ResourceExt>(
    plugs: &[Arc<Plug>],
    kind: MapKind,
    map: &K,
) -> Vec<ObjectRef<Plug>> {
    let ns = map.namespace().unwrap_or_default();
    let name = map.name_any();
    plugs
        .iter()
        .filter(|p| {
            let own =
                p.namespace().as_deref() == Some(ns.as_str()) && reads(&p.spec.common, kind, &name);
            let socket_side = p.socket_key().is_some_and(|(socket_ns, _)| socket_ns == ns);
            own || socket_side
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// The sockets a plug event concerns: the one it names, the one it is
/// coupled to, and any whose status still lists it.
pub fn sockets_for_plug(sockets: &Store<Socket>, plug: &Plug) -> Vec<ObjectRef<Socket>> {
    let mut out = Vec::new();
    if let Some((ns, name)) = plug.socket_key() {
        out.push(ObjectRef::new(&name).within(&ns));
    }
    if let Some(c) = plug.status.as_ref().and_then(|s| s.coupled_socket.as_ref()) {
        out.push(ObjectRef::new(&c.name).within(&c.namespace));
    }
    let uid = plug.uid().unwrap_or_default();
    out.extend(
        sockets
            .state()
            .iter()
            .filter(|s| {
                s.status
                    .as_ref()
                    .and_then(|st| st.coupled_plugs.as_ref())
                    .is_some_and(|list| list.iter().any(|r| r.uid == uid))
            })
            .map(|s| ObjectRef::from_obj(s.as_ref())),
    );
    out.sort_by_key(|r| (r.namespace.clone(), r.name.clone()));
    out.dedup();
    out
}

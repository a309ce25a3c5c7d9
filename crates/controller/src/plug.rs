//! The Plug reconciler (§2.3–2.11 with README decisions 4–8).
//!
//! Level-triggered: every pass reads the plug and its socket fresh, decides
//! from that snapshot ([`decide`], [`cycle`]) and writes only what differs,
//! so an idle coupled pair causes no writes at all. Each write triggers the
//! next pass through the watch, so a pass does at most one lifecycle step
//! before its status write, except the coupled/updated cycle, which
//! persists its progress as it goes (decision 6).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use integration_api::condition::{COUPLED, FAILED, message, reason, socket_limit_reached};
use integration_api::{
    API_VERSION, CommonSpec, CoupledRef, CoupledResult, CycleProgress, Do, Plug, PlugStatus,
    Socket, When,
};
use integration_engine::{
    Configs, Coupling, CouplingEvent, OwnEvent, Owner, Pair, Redactor, Rendered, Results, Side,
    Sources, Validated, render_own_event,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, PostParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use regex::Regex;
use serde_json::json;

use crate::Operation;
use crate::context::{
    Context, FORCED_DELETION, ReconcileError, Result, forced_note, fresh, has_finalizer,
    object_key, record, repair_all, run_all, run_own_event, scoped, set_finalizer, warn,
    warn_failed,
};
use crate::fetch::{MapReader, fetch};
use crate::socket::coupled_plugs;
use crate::status::{self, Desired};

/// The lifecycle step a pass takes, decided from the plug and the socket
/// its spec names (`None` when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Being deleted with our finalizer: decouple, deleted hooks, release.
    Finalize,
    /// Being deleted, finalizer already gone: nothing to do.
    Gone,
    /// Add the finalizer.
    AddFinalizer,
    /// Run the `created` hooks (no `Coupled` condition yet).
    Create,
    /// The recorded coupling is not with the live socket (deleted,
    /// re-created or re-targeted): decouple from the old one.
    Break,
    /// No live socket: wait for one.
    WaitForSocket,
    /// Check admission, then couple or update.
    Couple,
}

/// The step for `plug`, given the socket its spec names.
pub fn decide(plug: &Plug, socket: Option<&Socket>) -> Step {
    if plug.meta().deletion_timestamp.is_some() {
        return if has_finalizer(plug) {
            Step::Finalize
        } else {
            Step::Gone
        };
    }
    if !has_finalizer(plug) {
        return Step::AddFinalizer;
    }
    let status = plug.status.as_ref();
    if status::find(status.and_then(|s| s.conditions.as_ref()), COUPLED).is_none() {
        return Step::Create;
    }
    let live = socket.filter(|s| s.meta().deletion_timestamp.is_none());
    let coupled_uid = status
        .and_then(|s| s.coupled_socket.as_ref())
        .map(|c| c.uid.as_str());
    match (coupled_uid, live) {
        (Some(uid), live) if live.and_then(|s| s.meta().uid.as_deref()) != Some(uid) => Step::Break,
        (_, None) => Step::WaitForSocket,
        (_, Some(_)) => Step::Couple,
    }
}

/// The cycle to run against the socket with `socket_uid` when the inputs
/// hash to `hash`: `coupled` for a new coupling (including one whose hooks
/// ran but whose result phase has not completed yet: `coupledSocket` is
/// set, `inputsHash` is not), `updated` when the inputs changed since the
/// last completed cycle (decision 5), else none.
pub fn cycle(status: &PlugStatus, socket_uid: &str, hash: &str) -> Option<CouplingEvent> {
    match (&status.coupled_socket, status.inputs_hash.as_deref()) {
        (Some(c), Some(done)) if c.uid == socket_uid => {
            (done != hash).then_some(CouplingEvent::Updated)
        }
        _ => Some(CouplingEvent::Coupled),
    }
}

/// Namespace rules of the socket (§2.10, decision 7): the deny and allow
/// patterns (unanchored regular-expression searches; an invalid one is an
/// error), then `namespaceSelector` against `labels`, the labels of the
/// plug's namespace (read only when the socket has a selector).
pub fn admission(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    socket: &Socket,
) -> Result<(), String> {
    let Some(validation) = &socket.spec.validation else {
        return Ok(());
    };
    let matches = |patterns: &[String]| -> Result<bool, String> {
        for pattern in patterns {
            let re = Regex::new(pattern).map_err(|_| {
                format!(
                    "socket {}/{} has an invalid namespace pattern '{pattern}'",
                    socket.namespace().unwrap_or_default(),
                    socket.name_any()
                )
            })?;
            if re.is_match(namespace) {
                return Ok(true);
            }
        }
        Ok(false)
    };
    if let Some(deny) = &validation.namespace_blacklist
        && matches(deny)?
    {
        return Err(format!("namespace {namespace} is blacklisted"));
    }
    if let Some(allow) = &validation.namespace_whitelist
        && !matches(allow)?
    {
        return Err(format!("namespace {namespace} is not whitelisted"));
    }
    if let Some(selector) = &validation.namespace_selector {
        let selector = Selector::try_from(selector.clone()).map_err(|e| {
            format!(
                "socket {}/{} has an invalid namespaceSelector: {}",
                socket.namespace().unwrap_or_default(),
                socket.name_any(),
                e.0
            )
        })?;
        if !selector.matches(labels) {
            return Err(format!(
                "namespace {namespace} does not match the namespaceSelector of socket {}/{}",
                socket.namespace().unwrap_or_default(),
                socket.name_any()
            ));
        }
    }
    Ok(())
}

/// Whether the socket's rules need the labels of the plug's namespace.
fn needs_namespace_labels(socket: &Socket) -> bool {
    socket
        .spec
        .validation
        .as_ref()
        .is_some_and(|v| v.namespace_selector.is_some())
}

/// Marks a completed coupling: `Coupled=True/CouplingSucceeded`, no cycle
/// in progress.
fn mark_succeeded(status: &mut PlugStatus, generation: Option<i64>) {
    status.progress = None;
    let ok = Desired::coupled(
        true,
        reason::COUPLING_SUCCEEDED,
        message::COUPLING_SUCCEEDED,
    );
    status::set_main(&mut status.conditions, ok, generation);
}

/// Fingerprint of what a cycle's hooks see: both objects' identity and
/// spec, and both resolved configs. Stored in `status.progress` so a retry
/// whose hooks already ran for the same inputs skips them (A13), while a
/// changed config runs them again. It covers secret values, so only its
/// equality means anything.
fn hooks_fingerprint(
    plug: &Plug,
    socket: &Socket,
    configs: &integration_engine::Configs,
) -> String {
    digest(&json!({
        "plug": {"uid": plug.uid(), "spec": plug.spec},
        "socket": {"uid": socket.uid(), "spec": socket.spec},
        "configs": {"plug": configs.plug.values, "socket": configs.socket.values},
    }))
}

/// Fingerprint of what the plug's own `deleted` hooks see.
fn own_fingerprint(plug: &Plug) -> String {
    digest(&json!({"plug": {"uid": plug.uid(), "spec": plug.spec}}))
}

/// SHA-256 of a JSON document, in hex.
fn digest(doc: &serde_json::Value) -> String {
    integration_engine::sha256_hex(&doc.to_string())
}

/// The progress of `event` with `fingerprint`: the recorded one when it is
/// the same event over the same inputs (a retry or a restart resumes it),
/// else a fresh one with nothing done.
pub fn resume(recorded: Option<&CycleProgress>, event: When, fingerprint: String) -> CycleProgress {
    match recorded {
        Some(p) if p.event == event.as_str() && p.inputs_hash == fingerprint => p.clone(),
        _ => CycleProgress {
            event: event.as_str().to_string(),
            inputs_hash: fingerprint,
            hooks_done: false,
            sides_done: None,
        },
    }
}

/// Whether `progress` records `side`'s hooks as done.
pub fn side_done(progress: &CycleProgress, side: Side) -> bool {
    progress.hooks_done
        || progress
            .sides_done
            .iter()
            .flatten()
            .any(|s| s == side.as_str())
}

/// Records `side`'s hooks as done in `progress`.
fn mark_side_done(progress: &mut CycleProgress, side: Side) {
    let done = progress.sides_done.get_or_insert_with(Vec::new);
    if !done.iter().any(|s| s == side.as_str()) {
        done.push(side.as_str().to_string());
    }
}

/// Whether a side's hooks hold a step that must not run twice: an
/// apparatus call, or a `recreate` (each repeat deletes and re-creates its
/// object). Decision 6 makes hooks at-least-once: a server-side apply and a
/// delete are idempotent, so repeating them after a crash does no harm and
/// needs no status write. Only an unrepeatable step needs its progress
/// written before it runs, and its completion before the next step.
pub fn has_unrepeatable_steps(spec: &CommonSpec, rendered: &[Rendered]) -> bool {
    spec.apparatus.is_some() || recreates(rendered)
}

/// Whether any of `rendered` is a `recreate`: the one resource step that is
/// not idempotent.
fn recreates(rendered: &[Rendered]) -> bool {
    rendered.iter().any(|r| r.action == Do::Recreate)
}

/// The `Coupled` condition a new coupled or updated cycle shows while it
/// runs.
fn in_process(event: CouplingEvent) -> Desired<'static> {
    match event {
        CouplingEvent::Updated => Desired::coupled(
            false,
            reason::UPDATING_IN_PROCESS,
            message::UPDATING_IN_PROCESS,
        ),
        _ => Desired::coupled(
            false,
            reason::COUPLING_IN_PROCESS,
            message::COUPLING_IN_PROCESS,
        ),
    }
}

/// One coupling event's hooks: what each side renders for it, and the
/// configs each side's apparatus is sent.
struct Hooks<'c> {
    event: CouplingEvent,
    configs: &'c Configs,
    rendered: Pair<Vec<Rendered>>,
}

/// Forgets a coupling in a status: no socket, result, hash or progress.
fn forget_coupling(status: &mut PlugStatus) {
    status.coupled_socket = None;
    status.coupled_result = None;
    status.inputs_hash = None;
    status.progress = None;
}

/// The reason and verb of a coupling event's Events: `PlugCoupled`, …
fn event_words(side: Side, event: CouplingEvent) -> (String, &'static str) {
    let verb = match event {
        CouplingEvent::Coupled => "coupled",
        CouplingEvent::Updated => "updated",
        CouplingEvent::Decoupled => "decoupled",
    };
    let mut title = verb.to_string();
    title[..1].make_ascii_uppercase();
    (format!("{}{title}", side.kind()), verb)
}

/// The results stored at the last result phase, for cleaning up
/// resultResources when they cannot be recomputed at decouple.
fn stored_results(status: Option<&PlugStatus>) -> Option<Results> {
    let stored = status?.coupled_result.as_ref()?;
    let side = |values: &Option<std::collections::BTreeMap<String, String>>| Validated {
        values: values.clone().unwrap_or_default(),
        secret_keys: BTreeSet::new(),
    };
    Some(Results {
        plug: side(&stored.plug),
        socket: side(&stored.socket),
    })
}

/// Reconciles one Plug. `sockets` is the store of the socket watch that
/// triggers plug passes: a socket change has reached it before it wakes
/// the plug, so it is as fresh as a read and spares the API server a large
/// object (a socket's status lists all its plugs) on every pass.
pub async fn reconcile(
    plug: Arc<Plug>,
    ctx: Arc<Context>,
    sockets: Store<Socket>,
) -> Result<Action> {
    let Some((api, plug)) = fresh(&ctx, plug.as_ref()).await? else {
        return Ok(Action::await_change());
    };
    // Only an operator shutting down drops the writer; the pass is
    // abandoned then anyway.
    if sockets.wait_until_ready().await.is_err() {
        return Ok(Action::await_change());
    }
    let key = object_key(&plug);
    let mut pass = Pass {
        ctx: &ctx,
        api,
        sockets,
        recorded: plug.status.clone(),
        plug,
        redactor: Redactor::default(),
        unwritten_unrepeatable: false,
    };
    let result = pass.run().await;
    ctx.settle(&key, result, async |err| pass.report(err).await)
        .await
}

/// One reconcile pass over a fresh copy of the plug.
///
/// Status changes are staged in `plug.status` and written at checkpoints
/// (around a step that must not run twice, decision 6), when a step fails
/// and at the end of the pass, so a plain coupling writes its status once.
struct Pass<'c> {
    ctx: &'c Context,
    api: Api<Plug>,
    /// The sockets as the socket watch has them.
    sockets: Store<Socket>,
    /// The latest plug, its status with the changes staged so far:
    /// replaced by the server's answer after each write.
    plug: Plug,
    /// The status as the server has it.
    recorded: Option<PlugStatus>,
    /// Hides the values of the Secrets and secret properties seen so far.
    redactor: Redactor,
    /// An unrepeatable step completed since the last write: the next step
    /// writes its completion first.
    unwritten_unrepeatable: bool,
}

impl Pass<'_> {
    async fn run(&mut self) -> Result<Action> {
        let socket = self
            .plug
            .socket_key()
            .and_then(|(ns, name)| self.sockets.get(&ObjectRef::new(&name).within(&ns)));
        let action = self.steps(socket.as_deref()).await?;
        self.flush().await?;
        Ok(action)
    }

    /// Takes lifecycle steps until one waits for a change. Adding the
    /// finalizer and the created step go straight on to the next step:
    /// its checkpoint, or the end of the pass, writes what they staged.
    async fn steps(&mut self, socket: Option<&Socket>) -> Result<Action> {
        loop {
            match decide(&self.plug, socket) {
                Step::Gone => return Ok(Action::await_change()),
                Step::Finalize => return self.finalize().await,
                Step::AddFinalizer => {
                    let plug = set_finalizer(&self.api, &self.plug, true).await?;
                    self.adopt(plug);
                }
                Step::Create => {
                    let rendered = self.render_own(OwnEvent::Created)?;
                    self.own_event(OwnEvent::Created, &rendered).await?;
                    // The Coupled condition marks the created hooks as done.
                    self.stage(|s, generation| {
                        let created =
                            Desired::coupled(false, reason::PLUG_CREATED, message::PLUG_CREATED);
                        status::set_main(&mut s.conditions, created, generation);
                    });
                }
                Step::Break => {
                    let alive = socket.is_some_and(|s| s.meta().deletion_timestamp.is_none());
                    // Then on: couple with the live socket, or wait for one.
                    self.break_coupling(alive).await?;
                }
                Step::WaitForSocket => {
                    self.stage(|s, generation| {
                        let waiting = Desired::coupled(
                            false,
                            reason::SOCKET_NOT_CREATED,
                            message::SOCKET_NOT_CREATED,
                        );
                        status::set_main(&mut s.conditions, waiting, generation);
                    });
                    return Ok(Action::await_change());
                }
                Step::Couple => {
                    return match socket {
                        Some(socket) => self.admit_and_couple(socket).await,
                        None => Ok(Action::await_change()),
                    };
                }
            }
        }
    }

    async fn get_socket(&self, namespace: &str, name: &str) -> Result<Option<Socket>> {
        let api: Api<Socket> = Api::namespaced(self.ctx.cluster.client().clone(), namespace);
        api.get_opt(name)
            .await
            .map_err(|e| ReconcileError::own("get socket for", &self.plug, e))
    }

    /// The socket recorded in `coupledSocket`, if that incarnation (uid)
    /// still exists, even while it is being deleted.
    async fn recorded_socket(&self) -> Result<Option<Socket>> {
        let Some(recorded) = self.coupled_socket().cloned() else {
            return Ok(None);
        };
        let socket = self.get_socket(&recorded.namespace, &recorded.name).await?;
        Ok(socket.filter(|s| s.uid().as_deref() == Some(recorded.uid.as_str())))
    }

    /// The labels of `namespace`, read with the operator's identity.
    async fn namespace_labels(&self, namespace: &str) -> Result<BTreeMap<String, String>> {
        let api: Api<Namespace> = Api::all(self.ctx.cluster.client().clone());
        let found = api.get_opt(namespace).await.map_err(|e| {
            let object = crate::ObjectRef::new("v1", "Namespace", None, namespace);
            crate::Error::from_kube(Operation::Get, &object, e)
        })?;
        Ok(found.map(|ns| ns.labels().clone()).unwrap_or_default())
    }

    fn coupled_socket(&self) -> Option<&CoupledRef> {
        self.plug.status.as_ref()?.coupled_socket.as_ref()
    }

    /// Deletion: decouple from the recorded socket, run the deleted hooks,
    /// release the finalizer. Any error keeps the finalizer for a retry;
    /// what completed is written first, so the retry does not repeat it.
    /// A forced deletion (`FORCE_DELETE_ANNOTATION`) turns the error into a
    /// Warning and releases the finalizer anyway.
    async fn finalize(&mut self) -> Result<Action> {
        match self.deletion_hooks().await {
            Ok(()) => drop(self.flush().await?),
            Err(err) => {
                let note = forced_note(&self.plug, &err).ok_or(err)?;
                warn(self.ctx, &self.plug, FORCED_DELETION, &note, &self.redactor).await;
            }
        }
        let plug = set_finalizer(&self.api, &self.plug, false).await?;
        self.adopt(plug);
        Ok(Action::await_change())
    }

    /// Decouple from the recorded socket, then the `deleted` hooks.
    async fn deletion_hooks(&mut self) -> Result<()> {
        if let Some(socket) = self.recorded_socket().await? {
            self.decouple(&socket).await?;
            self.stage(|s, _| forget_coupling(s));
        }
        self.deleted_hooks().await
    }

    /// The plug's `deleted` hooks, unless the progress records them as
    /// done. Their completion is staged for the write before the finalizer
    /// goes, so a failed finalizer removal does not run them again; with an
    /// unrepeatable step, what came before is written before they run.
    async fn deleted_hooks(&mut self) -> Result<()> {
        let recorded = self.plug.status.as_ref().and_then(|s| s.progress.as_ref());
        let mut progress = resume(recorded, When::Deleted, own_fingerprint(&self.plug));
        if progress.hooks_done {
            return Ok(());
        }
        let rendered = self.render_own(OwnEvent::Deleted)?;
        let unrepeatable = has_unrepeatable_steps(&self.plug.spec.common, &rendered);
        self.guard(unrepeatable).await?;
        self.own_event(OwnEvent::Deleted, &rendered).await?;
        if unrepeatable || !rendered.is_empty() {
            progress.hooks_done = true;
            self.stage(|s, _| s.progress = Some(progress));
        }
        Ok(())
    }

    /// The recorded coupling no longer matches the live socket: decouple
    /// from the old socket (if it still exists) and forget the coupling,
    /// in a status write of its own (the decoupled hooks are done).
    async fn break_coupling(&mut self, socket_alive: bool) -> Result<()> {
        if let Some(old) = self.recorded_socket().await? {
            self.decouple(&old).await?;
        }
        self.clear_coupling(socket_alive).await
    }

    /// Forgets the coupling; without a live socket the plug waits for one.
    async fn clear_coupling(&mut self, socket_alive: bool) -> Result<()> {
        self.write_status(|s, generation| {
            forget_coupling(s);
            if !socket_alive {
                let waiting = Desired::coupled(
                    false,
                    reason::SOCKET_NOT_CREATED,
                    message::SOCKET_NOT_CREATED,
                );
                status::set_main(&mut s.conditions, waiting, generation);
            }
        })
        .await
        .map(drop)
    }

    /// Namespace rules and the plug limit, then the coupling itself.
    async fn admit_and_couple(&mut self, socket: &Socket) -> Result<Action> {
        let namespace = self.plug.namespace().unwrap_or_default();
        let coupled = self.coupled_socket().is_some();
        let labels = if needs_namespace_labels(socket) {
            self.namespace_labels(&namespace).await?
        } else {
            BTreeMap::new()
        };
        if let Err(refusal) = admission(&namespace, &labels, socket) {
            // Decision 7: a plug the socket stops allowing is decoupled.
            if coupled {
                self.decouple(socket).await?;
                self.clear_coupling(true).await?;
            }
            return Err(ReconcileError::Refused(refusal));
        }
        if !coupled && let Some(limit) = socket.plug_limit() {
            let plugs = scoped::<Plug>(self.ctx)
                .list(&ListParams::default())
                .await
                .map_err(|e| ReconcileError::own("list plugs for", &self.plug, e))?;
            let own_uid = self.plug.uid().unwrap_or_default();
            let socket_uid = socket.uid().unwrap_or_default();
            let others = coupled_plugs(&plugs.items, &socket_uid)
                .iter()
                .filter(|p| p.uid != own_uid)
                .count();
            if others >= limit as usize {
                let text = socket_limit_reached(
                    &socket.namespace().unwrap_or_default(),
                    &socket.name_any(),
                    socket.spec.limit.unwrap_or_default(),
                );
                self.stage(|s, generation| {
                    let full = Desired::coupled(false, reason::SOCKET_LIMIT_REACHED, text);
                    status::set_main(&mut s.conditions, full, generation);
                });
                // The socket's status changes when a slot frees, and the
                // watch on sockets brings this plug back.
                return Ok(Action::await_change());
            }
        }
        self.couple(socket).await
    }

    /// Runs the coupled or updated cycle when one is due: the hooks of the
    /// sides not done yet, then the result phase. A cycle whose steps have
    /// no side effects writes its status once, at the end.
    async fn couple(&mut self, socket: &Socket) -> Result<Action> {
        let plug = self.plug.clone();
        let coupling = Coupling::new(&plug, socket)?;
        let (sources, configs) = self.resolve(&coupling).await?;
        let hash = coupling.inputs_hash(&sources)?;
        let socket_uid = socket.uid().unwrap_or_default();
        let coupled_ref = CoupledRef {
            api_version: API_VERSION.to_string(),
            kind: "Socket".to_string(),
            name: socket.name_any(),
            namespace: socket.namespace().unwrap_or_default(),
            uid: socket_uid.clone(),
        };
        let current = plug.status.clone().unwrap_or_default();
        let Some(event) = cycle(&current, &socket_uid, &hash) else {
            // Nothing changed: keep the `reconcile: true` objects as
            // rendered, and restore the success status after a transient
            // failure (nothing to write when it already holds).
            self.repair_drift(&coupling, &configs).await?;
            self.stage(mark_succeeded);
            return Ok(Action::requeue(self.ctx.resync));
        };

        let fingerprint = hooks_fingerprint(&plug, socket, &configs);
        let mut progress = resume(current.progress.as_ref(), event.into(), fingerprint);
        if !progress.hooks_done {
            let hooks = Hooks {
                event,
                configs: &configs,
                rendered: Pair::try_build(|side| coupling.render_event(side, event, &configs))?,
            };
            let starting = Some(in_process(event));
            self.run_sides(&coupling, socket, &hooks, &mut progress, starting)
                .await?;
        }
        // From here on the plug counts as coupled (§2.4: the socket lists
        // it while its result is pending, A13, and deleting it runs the
        // decoupled hooks). A failure below writes this with `Failed`.
        self.stage(|s, _| {
            s.progress = Some(progress);
            s.coupled_socket = Some(coupled_ref);
        });

        // Result phase (§2.8): a missing required result fails here and is
        // retried without running the hooks again (A13).
        let results = coupling.results(&sources, &configs)?;
        self.redactor = coupling.redactor(
            &sources,
            &[
                &configs.plug,
                &configs.socket,
                &results.plug,
                &results.socket,
            ],
        );
        let rendered =
            Pair::try_build(|side| coupling.render_result_resources(side, &configs, &results))?;
        for side in [Side::Socket, Side::Plug] {
            let unrepeatable = recreates(rendered.get(side));
            self.guard(unrepeatable).await?;
            self.run_side(&coupling, side, rendered.get(side)).await?;
            self.unwritten_unrepeatable |= unrepeatable;
        }
        self.stage(|s, generation| {
            s.coupled_result = Some(CoupledResult {
                plug: Some(results.plug.without_secrets()).filter(|m| !m.is_empty()),
                socket: Some(results.socket.without_secrets()).filter(|m| !m.is_empty()),
                observed_generation: generation,
            });
            s.inputs_hash = Some(hash);
            mark_succeeded(s, generation);
        });
        Ok(Action::requeue(self.ctx.resync))
    }

    /// Fetches what the coupling reads, asks each side's apparatus for its
    /// config, and resolves both configs. The redactor learns the Secrets'
    /// values first (a configTemplate error may quote them), then the
    /// configs' secret values.
    async fn resolve(&mut self, coupling: &Coupling<'_>) -> Result<(Sources, Configs)> {
        let plan = coupling.plan()?;
        let mut sources = fetch(&self.ctx.cluster, &plan, MapReader::Operator).await?;
        self.redactor = coupling.redactor(&sources, &[]);
        self.ctx
            .apparatus
            .fill_configs(coupling, &mut sources)
            .await?;
        let configs = coupling.configs(&sources)?;
        self.redactor = coupling.redactor(&sources, &[&configs.plug, &configs.socket]);
        Ok((sources, configs))
    }

    /// Decoupled hooks and the auto-delete pass of both sides, plug first
    /// (§2.7), resuming at the side a failed attempt left. Stages the
    /// progress; the caller forgets the coupling. The socket's status is
    /// left to the socket controller.
    async fn decouple(&mut self, socket: &Socket) -> Result<()> {
        let plug = self.plug.clone();
        let coupling = Coupling::new(&plug, socket)?;
        let (sources, configs) = self.resolve(&coupling).await?;
        let event = CouplingEvent::Decoupled;
        let recorded = plug.status.as_ref().and_then(|s| s.progress.as_ref());
        let fingerprint = hooks_fingerprint(&plug, socket, &configs);
        let mut progress = resume(recorded, event.into(), fingerprint);
        if progress.hooks_done {
            return Ok(());
        }
        let results = coupling
            .results(&sources, &configs)
            .ok()
            .or_else(|| stored_results(plug.status.as_ref()));
        let rendered = Pair::try_build(|side| {
            let mut rendered = coupling.render_event(side, event, &configs)?;
            rendered.extend(coupling.render_decouple_deletes(side, &configs, results.as_ref())?);
            Ok::<_, integration_engine::Error>(rendered)
        })?;
        let hooks = Hooks {
            event,
            configs: &configs,
            rendered,
        };
        self.run_sides(&coupling, socket, &hooks, &mut progress, None)
            .await?;
        self.stage(|s, _| s.progress = Some(progress));
        Ok(())
    }

    /// Runs `event`'s hooks for each side that `progress` does not record
    /// as done, plug first, marking each done in the staged status (a
    /// failure writes it). Around a side with an unrepeatable step the
    /// progress is written, so a restart does not repeat it; a new cycle
    /// also shows `starting` in `Coupled` then. Sides of idempotent steps
    /// write nothing: a restart repeats them harmlessly.
    async fn run_sides(
        &mut self,
        coupling: &Coupling<'_>,
        socket: &Socket,
        hooks: &Hooks<'_>,
        progress: &mut CycleProgress,
        starting: Option<Desired<'static>>,
    ) -> Result<()> {
        for side in Side::BOTH {
            if side_done(progress, side) {
                continue;
            }
            let spec = coupling.owner(side).spec();
            let unrepeatable = has_unrepeatable_steps(spec, hooks.rendered.get(side));
            if unrepeatable || self.unwritten_unrepeatable {
                self.checkpoint(progress, starting.clone()).await?;
            }
            self.side_hooks(coupling, socket, side, hooks).await?;
            mark_side_done(progress, side);
            let done = progress.clone();
            self.stage(|s, _| s.progress = Some(done));
            self.unwritten_unrepeatable |= unrepeatable;
        }
        progress.hooks_done = true;
        Ok(())
    }

    /// Writes `progress` (and whatever else is staged) before a step that
    /// must not be repeated, or after one. A cycle the server has not seen yet also shows
    /// `starting`; a retry of a recorded one leaves `Coupled=Error` as it
    /// is: flipping it to in-process and back on every failed attempt would
    /// be two status writes per pass, each waking the next pass at once,
    /// past the backoff. `Failed` stays until the cycle succeeds: it says
    /// why the last attempt did not.
    async fn checkpoint(
        &mut self,
        progress: &CycleProgress,
        starting: Option<Desired<'static>>,
    ) -> Result<()> {
        let recorded = self.recorded.as_ref().and_then(|s| s.progress.as_ref());
        let known = recorded.is_some_and(|r| {
            (&r.event, &r.inputs_hash) == (&progress.event, &progress.inputs_hash)
        });
        let progress = progress.clone();
        self.stage(|s, generation| {
            s.progress = Some(progress);
            if let Some(starting) = starting.filter(|_| !known) {
                status::set(&mut s.conditions, starting, generation);
            }
        });
        self.flush().await.map(drop)
    }

    /// Runs one side's hooks of a coupling event (§2.8), timed: its
    /// apparatus, its resources, then its Event.
    async fn side_hooks(
        &self,
        coupling: &Coupling<'_>,
        socket: &Socket,
        side: Side,
        hooks: &Hooks<'_>,
    ) -> Result<()> {
        let run = async {
            (self.ctx.apparatus)
                .coupling_event(coupling, side, hooks.event, hooks.configs)
                .await?;
            self.run_side(coupling, side, hooks.rendered.get(side))
                .await?;
            self.record_side(socket, side, hooks.event).await;
            Ok(())
        };
        let event = When::from(hooks.event);
        self.ctx.metrics.time_hooks(event, side, run).await
    }

    /// Re-applies both sides' `reconcile: true` resources (decision 9), so
    /// objects changed or deleted between events return to their rendered
    /// state on the next pass: a watched input's change, or the resync.
    async fn repair_drift(&self, coupling: &Coupling<'_>, configs: &Configs) -> Result<()> {
        for side in Side::BOTH {
            let rendered = coupling.render_drift_repairs(side, configs)?;
            let owner = coupling.owner(side);
            let sa = owner.spec().service_account_name();
            repair_all(self.ctx, owner.namespace(), sa, &rendered).await?;
        }
        Ok(())
    }

    /// Runs one side's rendered objects as that side's service account.
    async fn run_side(
        &self,
        coupling: &Coupling<'_>,
        side: Side,
        rendered: &[Rendered],
    ) -> Result<()> {
        let owner = coupling.owner(side);
        let sa = owner.spec().service_account_name();
        run_all(self.ctx, owner.namespace(), sa, rendered).await
    }

    async fn record_side(&self, socket: &Socket, side: Side, event: CouplingEvent) {
        let (reason, verb) = event_words(side, event);
        match side {
            Side::Plug => record(self.ctx, &self.plug, &reason, verb).await,
            Side::Socket => record(self.ctx, socket, &reason, verb).await,
        }
    }

    /// The plug's own resources for `created` or `deleted`.
    fn render_own(&self, event: OwnEvent) -> integration_engine::Result<Vec<Rendered>> {
        render_own_event(&Owner::plug(&self.plug)?, event)
    }

    /// Runs the plug's own `created` or `deleted` hooks.
    async fn own_event(&self, event: OwnEvent, rendered: &[Rendered]) -> Result<()> {
        let owner = Owner::plug(&self.plug)?;
        run_own_event(self.ctx, &self.plug, &owner, event, rendered).await
    }

    /// Takes the server's copy after a write: it is what the server holds,
    /// so nothing is staged any more.
    fn adopt(&mut self, plug: Plug) {
        self.recorded = plug.status.clone();
        self.plug = plug;
        self.unwritten_unrepeatable = false;
    }

    /// Writes what is staged before a step when a restart during it must
    /// not repeat anything: the step is `unrepeatable` itself, or an
    /// unrepeatable one completed since the last write.
    async fn guard(&mut self, unrepeatable: bool) -> Result<()> {
        if unrepeatable || self.unwritten_unrepeatable {
            self.flush().await?;
        }
        Ok(())
    }

    /// Applies `change` to the staged status.
    fn stage(&mut self, change: impl FnOnce(&mut PlugStatus, Option<i64>)) {
        let generation = self.plug.meta().generation;
        change(
            self.plug.status.get_or_insert_with(PlugStatus::default),
            generation,
        );
    }

    /// Writes the staged status when it differs from the server's
    /// (optimistic lock on resourceVersion). Returns whether it wrote.
    async fn flush(&mut self) -> Result<bool> {
        let staged = self.plug.status.clone().unwrap_or_default();
        if self.recorded.clone().unwrap_or_default() == staged {
            return Ok(false);
        }
        let written = self
            .api
            .replace_status(&self.plug.name_any(), &PostParams::default(), &self.plug)
            .await
            .map_err(|e| ReconcileError::own("update status of", &self.plug, e))?;
        self.adopt(written);
        Ok(true)
    }

    /// Stages `change` and writes the status. Returns whether it wrote.
    async fn write_status(
        &mut self,
        change: impl FnOnce(&mut PlugStatus, Option<i64>),
    ) -> Result<bool> {
        self.stage(change);
        self.flush().await
    }

    /// Shows a failure: `Coupled=Error` (when present) and `Failed` with
    /// the redacted message, plus a Warning Event when the message is new.
    /// The same write records the progress staged before the failure.
    async fn report(&mut self, err: &ReconcileError) {
        let message = self.redactor.redact(&err.to_string());
        tracing::warn!(plug = %object_key(&self.plug), error = %message, "plug reconcile failed");
        let recorded = self.recorded.as_ref().and_then(|s| s.conditions.as_ref());
        let new_message =
            status::find(recorded, FAILED).map(|c| c.message.as_str()) != Some(message.as_str());
        let written = self
            .write_status(|s, generation| {
                status::set_failed(&mut s.conditions, &message, generation)
            })
            .await;
        match written {
            Ok(_) if new_message => {
                warn_failed(self.ctx, &self.plug, &message, &self.redactor).await;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "writing the failure status failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use integration_api::{FINALIZER, Validation};

    fn plug(finalizer: bool, conditions: bool) -> Plug {
        let mut p: Plug = serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Plug",
            "metadata": {"name": "p", "namespace": "app", "uid": "p1"},
            "spec": {"socket": {"name": "s", "namespace": "db"}}
        }))
        .unwrap();
        if finalizer {
            p.metadata.finalizers = Some(vec![FINALIZER.into()]);
        }
        if conditions {
            let mut s = PlugStatus::default();
            status::set(
                &mut s.conditions,
                Desired::coupled(false, "PlugCreated", "x"),
                None,
            );
            p.status = Some(s);
        }
        p
    }

    fn socket(uid: &str) -> Socket {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Socket",
            "metadata": {"name": "s", "namespace": "db", "uid": uid},
            "spec": {}
        }))
        .unwrap()
    }

    fn coupled_to(mut p: Plug, uid: &str) -> Plug {
        let s = p.status.get_or_insert_with(Default::default);
        s.coupled_socket = Some(CoupledRef {
            uid: uid.into(),
            ..Default::default()
        });
        p
    }

    #[test]
    fn steps_follow_the_lifecycle() {
        assert_eq!(decide(&plug(false, false), None), Step::AddFinalizer);
        assert_eq!(decide(&plug(true, false), None), Step::Create);
        assert_eq!(decide(&plug(true, true), None), Step::WaitForSocket);
        assert_eq!(decide(&plug(true, true), Some(&socket("s1"))), Step::Couple);
        let coupled = coupled_to(plug(true, true), "s1");
        assert_eq!(decide(&coupled, Some(&socket("s1"))), Step::Couple);
        assert_eq!(decide(&coupled, Some(&socket("s2"))), Step::Break);
        assert_eq!(decide(&coupled, None), Step::Break);
        let mut deleting = socket("s1");
        deleting.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now()),
        );
        assert_eq!(decide(&coupled, Some(&deleting)), Step::Break);
    }

    #[test]
    fn cycles_run_only_when_inputs_change() {
        let mut s = PlugStatus::default();
        assert_eq!(cycle(&s, "s1", "h"), Some(CouplingEvent::Coupled));
        s.coupled_socket = Some(CoupledRef {
            uid: "s1".into(),
            ..Default::default()
        });
        // Hooks ran, result phase pending: still the coupled cycle.
        assert_eq!(cycle(&s, "s1", "h"), Some(CouplingEvent::Coupled));
        s.inputs_hash = Some("h".into());
        assert_eq!(cycle(&s, "s1", "h"), None);
        assert_eq!(cycle(&s, "s1", "h2"), Some(CouplingEvent::Updated));
    }

    #[test]
    fn namespace_rules_search_unanchored() {
        let mut s = socket("s1");
        s.spec.validation = Some(Validation {
            namespace_blacklist: Some(vec!["sandbox".into()]),
            ..Default::default()
        });
        assert_eq!(
            admission("team-sandbox-1", &BTreeMap::new(), &s).unwrap_err(),
            "namespace team-sandbox-1 is blacklisted"
        );
        assert!(admission("app", &BTreeMap::new(), &s).is_ok());
        s.spec.validation = Some(Validation {
            namespace_whitelist: Some(vec!["^app$".into()]),
            ..Default::default()
        });
        assert_eq!(
            admission("app-staging", &BTreeMap::new(), &s).unwrap_err(),
            "namespace app-staging is not whitelisted"
        );
        s.spec.validation = Some(Validation {
            namespace_whitelist: Some(vec!["(".into()]),
            ..Default::default()
        });
        assert!(
            admission("app", &BTreeMap::new(), &s)
                .unwrap_err()
                .contains("invalid namespace pattern '('")
        );
    }

    #[test]
    fn progress_resumes_the_same_event_over_the_same_inputs() {
        let mut p = resume(None, When::Coupled, "h".into());
        assert!(!side_done(&p, Side::Plug));
        mark_side_done(&mut p, Side::Plug);
        mark_side_done(&mut p, Side::Plug);
        assert_eq!(p.sides_done, Some(vec!["plug".to_string()]));
        assert!(side_done(&p, Side::Plug) && !side_done(&p, Side::Socket));
        assert_eq!(resume(Some(&p), When::Coupled, "h".into()), p);
        // Other inputs or another event start over.
        assert_eq!(
            resume(Some(&p), When::Coupled, "h2".into()).sides_done,
            None
        );
        assert_eq!(resume(Some(&p), When::Updated, "h".into()).sides_done, None);
    }

    #[test]
    fn only_a_recreate_or_an_apparatus_is_unrepeatable() {
        let step = |action| Rendered {
            action,
            object: json!({}),
            template: String::new(),
            document: 0,
        };
        let mut spec = CommonSpec::default();
        assert!(!has_unrepeatable_steps(&spec, &[]));
        let idempotent = [step(Do::Apply), step(Do::Delete)];
        assert!(!has_unrepeatable_steps(&spec, &idempotent));
        assert!(has_unrepeatable_steps(
            &spec,
            &[step(Do::Apply), step(Do::Recreate)]
        ));
        spec.apparatus = Some(Default::default());
        assert!(has_unrepeatable_steps(&spec, &[]));
    }

    #[test]
    fn event_reasons() {
        assert_eq!(
            event_words(Side::Plug, CouplingEvent::Coupled).0,
            "PlugCoupled"
        );
        assert_eq!(
            event_words(Side::Socket, CouplingEvent::Decoupled).0,
            "SocketDecoupled"
        );
    }
}

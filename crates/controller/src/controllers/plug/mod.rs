//! The Plug reconciler (docs/lifecycle.md, "Plug passes", and the sections
//! it links).
//!
//! Level-triggered: every pass takes the plug and its socket from the watch
//! caches (the plug from the server while its cache misses the operator's
//! own last write: `context::fresh`), decides
//! from that snapshot ([`decide()`], [`cycle`]) and writes only what differs,
//! so an idle coupled pair causes no writes at all. Each write triggers the
//! next pass through the watch, so a pass does at most one lifecycle step
//! before its status write, except the coupled/updated cycle, which
//! persists its progress as it goes (docs/lifecycle.md, "At-least-once
//! hooks and resume").
//!
//! [`decide`](mod@decide) holds the pure part; this module does the I/O of
//! a pass.

pub mod decide;

use decide::{
    Step, admission, adoptable, cycle, decide, event_words, forget_coupling,
    has_unrepeatable_steps, hooks_fingerprint, in_process, mark_side_done, mark_succeeded,
    needs_namespace_labels, own_fingerprint, recreates, resume, side_done, starting,
    stored_results,
};

use std::collections::BTreeMap;
use std::sync::Arc;

use integration_api::condition::{FAILED, message, reason, socket_limit_reached};
use integration_api::{
    API_VERSION, CoupledRef, CoupledResult, CycleProgress, Plug, PlugStatus, Socket, When,
};
use integration_engine::{
    Configs, Coupling, CouplingEvent, OwnEvent, Owner, Pair, Redactor, Rendered, Side, Sources,
    Warning, render_own_event,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use kube_declarative::listed::Listed;

use crate::Operation;
use crate::context::{
    COMPATIBILITY_WARNING, Context, FORCED_DELETION, ReconcileError, Result, forced_note, fresh,
    has_finalizer, object_key, record, repair_all, run_all, run_own_event, set_finalizer, warn,
    warn_failed,
};
use crate::controllers::admission::{self, Claim, Verdict, ledger::needs_claim};
use crate::fetch::{MapReader, fetch};
use crate::status::{self, Desired};

/// Reason of the Event on a plug taken over from the original operator.
const ADOPTED: &str = "Adopted";

/// One coupling event's hooks: what each side renders for it, and the
/// configs each side's apparatus is sent.
struct Hooks<'c> {
    event: CouplingEvent,
    configs: &'c Configs,
    rendered: Pair<Vec<Rendered>>,
}

/// The socket cache plug passes read their socket from: the socket
/// controller's, whose watch also triggers plug passes. A socket change has
/// reached it before it wakes a plug, so it is as fresh as a read and
/// spares the API server a large object (a socket's status lists all its
/// plugs) on every pass.
#[derive(Clone)]
pub struct Sockets {
    /// The cache.
    pub store: Store<Socket>,
    /// Whether it holds its first list.
    pub listed: Listed,
}

impl Sockets {
    /// Waits until the cache holds its first list; `false` if its watch
    /// ended first. Not on the store's own signal: that one wakes a single
    /// waiter, and the socket controller's runner waits on it.
    pub async fn ready(&self) -> bool {
        self.listed.wait().await
    }
}

/// Reconciles one Plug. `plugs` is the controller's own cache of plugs.
pub async fn reconcile(
    plug: Arc<Plug>,
    ctx: Arc<Context>,
    plugs: Store<Plug>,
    sockets: Sockets,
) -> Result<Action> {
    let Some((api, plug)) = fresh(&ctx, plug.as_ref(), &plugs).await? else {
        return Ok(Action::await_change());
    };
    // Only an operator shutting down ends the watch; the pass is abandoned
    // then anyway.
    if !sockets.ready().await {
        return Ok(Action::await_change());
    }
    let key = object_key(&plug);
    let mut pass = Pass {
        ctx: &ctx,
        api,
        sockets: sockets.store,
        recorded: plug.status.clone(),
        plug,
        redactor: Redactor::default(),
        unwritten_unrepeatable: false,
    };
    let result = pass.run().await;
    let settled = ctx
        .settle(&key, result, async |err| pass.report(err).await)
        .await;
    // What leaves the pass holds no secret value, whoever logs it.
    settled.map_err(|err| err.redacted(&pass.redactor))
}

/// One reconcile pass over a fresh copy of the plug.
///
/// Status changes are staged in `plug.status` and written at checkpoints
/// (around a step that must not run twice: docs/lifecycle.md, "At-least-once
/// hooks and resume"), when a step fails
/// and at the end of the pass, so a plain coupling writes its status once.
struct Pass<'c> {
    ctx: &'c Context,
    api: Api<Plug>,
    /// The sockets as the socket controller's cache has them.
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
                    let (rendered, warnings) = self.render_own(OwnEvent::Created)?;
                    self.own_event(OwnEvent::Created, &rendered).await?;
                    // The Coupled condition marks the created hooks as done.
                    self.stage(|s, generation| {
                        let created =
                            Desired::coupled(false, reason::PLUG_CREATED, message::PLUG_CREATED);
                        status::set_main(&mut s.conditions, created, generation);
                        s.progress = None;
                    });
                    let found = warnings.into_iter().map(|w| (Side::Plug, w)).collect();
                    self.show_warnings(None, found).await;
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

    /// Whether the socket recorded in `coupledSocket` is still that
    /// incarnation, not being deleted, and holds the operator's finalizer.
    /// Read as metadata only: a socket's status lists all its plugs.
    async fn recorded_socket_live(&self) -> Result<bool> {
        let Some(recorded) = self.coupled_socket() else {
            return Ok(false);
        };
        let api: Api<Socket> =
            Api::namespaced(self.ctx.cluster.client().clone(), &recorded.namespace);
        let socket = api
            .get_metadata_opt(&recorded.name)
            .await
            .map_err(|e| ReconcileError::own("get socket for", &self.plug, e))?;
        Ok(socket.is_some_and(|s| {
            let meta = s.meta();
            meta.uid.as_deref() == Some(recorded.uid.as_str())
                && meta.deletion_timestamp.is_none()
                && has_finalizer(&s)
        }))
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
            Ok(()) => {
                self.flush().await?;
                self.release_slots().await?;
            }
            Err(err) => {
                let note = forced_note(&self.plug, &err).ok_or(err)?;
                warn(self.ctx, &self.plug, FORCED_DELETION, &note, &self.redactor).await;
                // Best effort: socket passes drop what a failure leaves.
                let _ = self.release_slots().await;
            }
        }
        let plug = set_finalizer(&self.api, &self.plug, false).await?;
        self.adopt(plug);
        Ok(Action::await_change())
    }

    /// Leaves the admission ledgers of the socket the plug names and the one
    /// it was coupled to, once its status no longer shows a coupling.
    async fn release_slots(&self) -> Result<()> {
        let named = self.plug.socket_key();
        let recorded = self
            .coupled_socket()
            .map(|c| (c.namespace.clone(), c.name.clone()));
        for (ns, name) in named.into_iter().chain(recorded) {
            let cached = self.sockets.get(&ObjectRef::new(&name).within(&ns));
            admission::release(self.ctx, &self.plug, cached.as_deref(), None).await?;
        }
        Ok(())
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
        let (rendered, warnings) = self.render_own(OwnEvent::Deleted)?;
        for warning in warnings {
            let text = self.redactor.redact(&warning.to_string());
            warn(
                self.ctx,
                &self.plug,
                COMPATIBILITY_WARNING,
                &text,
                &self.redactor,
            )
            .await;
        }
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
        let old = self.recorded_socket().await?;
        if let Some(old) = &old {
            self.decouple(old).await?;
        }
        self.clear_coupling(socket_alive).await?;
        // The slot frees only now that the status shows no coupling.
        admission::release(self.ctx, &self.plug, old.as_ref(), None).await
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
            // A plug the socket stops allowing is decoupled
            // (docs/lifecycle.md, "Namespace rules").
            if coupled {
                self.decouple(socket).await?;
                self.clear_coupling(true).await?;
            }
            admission::release(self.ctx, &self.plug, Some(socket), None).await?;
            return Err(ReconcileError::Refused(refusal));
        }
        if needs_claim(socket, &self.plug) {
            match admission::claim(self.ctx, &self.plug, socket).await? {
                Claim::Decided(Verdict::Admitted, _) => {}
                Claim::Decided(Verdict::Waiting { place }, limit) => {
                    self.wait_for_slot(socket, limit, place);
                    // A ledger change (a slot freed, a plug ahead gone)
                    // is a socket status change: the watch on sockets
                    // brings this plug back.
                    return Ok(Action::await_change());
                }
                // The socket's deletion brings this plug back.
                Claim::SocketGone => return Ok(Action::await_change()),
            }
        }
        self.couple(socket).await
    }

    /// Shows that the plug waits for a slot of `socket`, at `place` in line.
    fn wait_for_slot(&mut self, socket: &Socket, limit: Option<u32>, place: usize) {
        let text = socket_limit_reached(
            &socket.namespace().unwrap_or_default(),
            &socket.name_any(),
            limit
                .and_then(|l| i32::try_from(l).ok())
                .unwrap_or_default(),
            place,
        );
        self.stage(|s, generation| {
            let full = Desired::coupled(false, reason::SOCKET_LIMIT_REACHED, text);
            status::set_main(&mut s.conditions, full, generation);
        });
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
        if adoptable(&current, &socket_uid) {
            // Coupled by the original operator: take it over as it is, no
            // hooks (docs/lifecycle.md, "Taking over from the original
            // operator"). The next change of its inputs runs `updated`.
            self.stage(|s, generation| {
                s.inputs_hash = Some(hash);
                mark_succeeded(s, generation);
            });
            self.flush().await?;
            record(
                self.ctx,
                &self.plug,
                ADOPTED,
                "adopted from the original operator",
            )
            .await;
            return Ok(Action::await_change());
        }
        let Some(event) = cycle(&current, &socket_uid, &hash) else {
            // Nothing changed: keep the `reconcile: true` objects as
            // rendered, and restore the success status after a transient
            // failure (nothing to write when it already holds).
            self.repair_drift(&coupling, &configs).await?;
            self.stage(mark_succeeded);
            return Ok(Action::await_change());
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
            if !self
                .record_coupling(&coupled_ref, &progress, starting.clone())
                .await?
            {
                // The socket is going: its deletion brings the plug back.
                return Ok(Action::await_change());
            }
            self.run_sides(&coupling, socket, &hooks, &mut progress, starting)
                .await?;
        }
        // The socket lists the plug while its result is pending
        // (docs/lifecycle.md, "Socket status" and "Result phase"). A
        // failure below writes this with `Failed`.
        self.stage(|s, _| {
            s.progress = Some(progress);
            s.coupled_socket = Some(coupled_ref);
        });

        // Result phase (docs/lifecycle.md, "Result phase"): a missing
        // required result fails here and is retried without running the
        // hooks again.
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
        let found = Side::BOTH
            .into_iter()
            .flat_map(|side| {
                let warnings = coupling.owner(side).warnings().list();
                warnings.into_iter().map(move |w| (side, w))
            })
            .collect();
        self.show_warnings(Some(socket), found).await;
        Ok(Action::await_change())
    }

    /// Writes `coupledSocket` before the first hook acts for a new coupling:
    /// from then on the plug counts as coupled, so a pass cut short after
    /// a hook (a crash, a failed status write, the plug deleted or moved
    /// to another socket meanwhile) leaves a record that decoupling undoes
    /// (docs/lifecycle.md, "At-least-once hooks and resume"). Nothing to
    /// write when the status already names this socket.
    ///
    /// Then reads the socket's metadata: the pass may hold a copy older than the
    /// socket's deletion, which waits (thanks to its finalizer) only for
    /// the plugs it sees coupled.
    /// Live after the write, the socket will see this one; already going,
    /// the record is taken back before any hook ran. Returns whether the
    /// hooks may run.
    async fn record_coupling(
        &mut self,
        coupled: &CoupledRef,
        progress: &CycleProgress,
        starting: Option<Desired<'static>>,
    ) -> Result<bool> {
        let recorded = self
            .recorded
            .as_ref()
            .and_then(|s| s.coupled_socket.as_ref());
        if recorded.is_some_and(|r| r.uid == coupled.uid) {
            return Ok(true);
        }
        let record = coupled.clone();
        self.stage(|s, _| s.coupled_socket = Some(record));
        self.checkpoint(progress, starting).await?;
        let live = self.recorded_socket_live().await?;
        if !live {
            self.write_status(|s, _| s.coupled_socket = None).await?;
        }
        Ok(live)
    }

    /// Shows the compatibility warnings of a cycle (docs/compatibility.md,
    /// "Warnings and strict mode"): the plug's `Warnings` condition lists
    /// those of both sides (the socket's status has one writer, the socket
    /// controller), and when the list changed, each is a Warning Event on
    /// the object whose template or map it is about.
    async fn show_warnings(&mut self, socket: Option<&Socket>, found: Vec<(Side, Warning)>) {
        let texts: Vec<String> = found
            .iter()
            .map(|(_, w)| self.redactor.redact(&w.to_string()))
            .collect();
        let mut changed = false;
        self.stage(|s, generation| {
            changed = status::set_warnings(&mut s.conditions, &texts, generation);
        });
        if !changed {
            return;
        }
        for ((side, _), text) in found.iter().zip(&texts) {
            let (ctx, redactor) = (self.ctx, &self.redactor);
            match (side, socket) {
                (Side::Socket, Some(socket)) => {
                    warn(ctx, socket, COMPATIBILITY_WARNING, text, redactor).await;
                }
                _ => warn(ctx, &self.plug, COMPATIBILITY_WARNING, text, redactor).await,
            }
        }
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
            .fill_configs::<ReconcileError>(coupling, &mut sources)
            .await?;
        let configs = coupling.configs(&sources)?;
        self.redactor = coupling.redactor(&sources, &[&configs.plug, &configs.socket]);
        Ok((sources, configs))
    }

    /// Decoupled hooks and the auto-delete pass of both sides, plug first
    /// (docs/lifecycle.md, "Decoupling"), resuming at the side a failed attempt
    /// left. Stages the progress; the caller forgets the coupling. The socket's
    /// status is left to the socket controller.
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

    /// Runs one side's hooks of a coupling event (docs/lifecycle.md, "Order
    /// of hooks"), timed: its
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

    /// Re-applies both sides' `reconcile: true` resources (docs/lifecycle.md,
    /// "Drift repair"), so
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

    /// The plug's own resources for `created` or `deleted`, and the
    /// compatibility warnings of their templates.
    fn render_own(
        &self,
        event: OwnEvent,
    ) -> integration_engine::Result<(Vec<Rendered>, Vec<Warning>)> {
        let owner = Owner::plug(&self.plug)?;
        let rendered = render_own_event(&owner, event)?;
        Ok((rendered, owner.warnings().list()))
    }

    /// Runs the plug's own `created` or `deleted` hooks.
    async fn own_event(&self, event: OwnEvent, rendered: &[Rendered]) -> Result<()> {
        let owner = Owner::plug(&self.plug)?;
        run_own_event(self.ctx, &self.plug, &owner, event, rendered).await
    }

    /// Takes the server's copy after a write: it is what the server holds,
    /// so nothing is staged any more. The next pass acts on no older copy.
    fn adopt(&mut self, plug: Plug) {
        self.ctx.written.record(&plug);
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
        if err.is_starting() {
            let written = self.write_status(|s, g| starting(s, &message, g)).await;
            if let Err(e) = written {
                tracing::debug!(error = %e, "writing the in-process status failed");
            }
            return;
        }
        tracing::warn!(plug = %object_key(&self.plug), error = %message, "plug reconcile failed");
        let recorded = self.recorded.as_ref().and_then(|s| s.conditions.as_ref());
        let new_message =
            status::find(recorded, FAILED).map(|c| c.message.as_str()) != Some(message.as_str());
        let reason = match err {
            ReconcileError::Refused(_) => integration_api::condition::reason::NAMESPACE_NOT_ALLOWED,
            _ => integration_api::condition::reason::ERROR,
        };
        let written = self
            .write_status(|s, generation| {
                status::set_failed_because(&mut s.conditions, reason, &message, generation)
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
    use kube::runtime::{reflector, watcher};
    use std::time::Duration;

    #[tokio::test]
    async fn passes_waiting_for_the_socket_cache_leave_the_socket_runner_awake() {
        let mut writer = reflector::store::Writer::<Socket>::default();
        let (lister, listed) = kube_declarative::listed::listed();
        let sockets = Sockets {
            store: writer.as_reader(),
            listed,
        };
        // The socket controller's runner waits on the store's own signal...
        let store = writer.as_reader();
        let runner = tokio::spawn(async move { store.wait_until_ready().await.is_ok() });
        tokio::task::yield_now().await;
        // ...and then plug passes wait for the same cache, several at once.
        let passes: Vec<_> = (0..3)
            .map(|_| {
                let sockets = sockets.clone();
                tokio::spawn(async move { sockets.ready().await })
            })
            .collect();
        tokio::task::yield_now().await;
        for event in [watcher::Event::Init, watcher::Event::InitDone] {
            writer.apply_watcher_event(&event);
            lister.observe(&event);
        }
        let within = Duration::from_secs(5);
        let runner = tokio::time::timeout(within, runner).await;
        assert!(matches!(runner, Ok(Ok(true))), "the runner wakes");
        for pass in passes {
            let pass = tokio::time::timeout(within, pass).await;
            assert!(matches!(pass, Ok(Ok(true))), "every pass wakes");
        }
    }
}

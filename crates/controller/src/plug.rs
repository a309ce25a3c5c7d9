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

use integration_api::condition::{COUPLED, message, reason, socket_limit_reached};
use integration_api::{
    API_VERSION, CoupledRef, CoupledResult, CycleProgress, Plug, PlugStatus, Socket, When,
};
use integration_engine::{
    Coupling, CouplingEvent, OwnEvent, Owner, Redactor, Results, Side, Validated, render_own_event,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, PostParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use regex::Regex;
use serde_json::json;

use crate::context::{
    Context, ReconcileError, Result, has_finalizer, object_key, record, run_all, scoped,
    set_finalizer, warn_failed,
};
use crate::fetch::{MapReader, fetch};
use crate::socket::coupled_plugs;
use crate::status::{self, Desired};
use crate::{ObjectRef, Operation};

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
/// whose hooks already ran for the same inputs goes straight to the result
/// phase (A13), while a changed config runs them again. It covers secret
/// values, so only its equality means anything.
fn hooks_fingerprint(
    plug: &Plug,
    socket: &Socket,
    configs: &integration_engine::Configs,
) -> String {
    let doc = json!({
        "plug": {"uid": plug.uid(), "spec": plug.spec},
        "socket": {"uid": socket.uid(), "spec": socket.spec},
        "configs": {"plug": configs.plug.values, "socket": configs.socket.values},
    });
    integration_engine::sha256_hex(&doc.to_string())
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

/// Reconciles one Plug.
pub async fn reconcile(plug: Arc<Plug>, ctx: Arc<Context>) -> Result<Action> {
    let api: Api<Plug> = Api::namespaced(
        ctx.cluster.client().clone(),
        &plug.namespace().unwrap_or_default(),
    );
    // Read fresh: the cache may not have our own last status write yet,
    // and acting on it would run a cycle twice.
    let Some(plug) = api
        .get_opt(&plug.name_any())
        .await
        .map_err(|e| ReconcileError::own("get", plug.as_ref(), e))?
    else {
        return Ok(Action::await_change());
    };
    let key = object_key(&plug);
    let mut pass = Pass {
        ctx: &ctx,
        api,
        plug,
        redactor: Redactor::default(),
    };
    let result = pass.run().await;
    ctx.settle(&key, result, async |err| pass.report(err).await)
        .await
}

/// One reconcile pass over a fresh copy of the plug.
struct Pass<'c> {
    ctx: &'c Context,
    api: Api<Plug>,
    /// The latest plug: replaced by the server's answer after each write.
    plug: Plug,
    /// Hides the values of the Secrets and secret properties seen so far.
    redactor: Redactor,
}

impl Pass<'_> {
    async fn run(&mut self) -> Result<Action> {
        let socket = match self.plug.socket_key() {
            Some((ns, name)) => self.get_socket(&ns, &name).await?,
            None => None,
        };
        match decide(&self.plug, socket.as_ref()) {
            Step::Gone => Ok(Action::await_change()),
            Step::Finalize => self.finalize().await,
            Step::AddFinalizer => {
                set_finalizer(&self.api, &self.plug, true).await?;
                Ok(Action::await_change())
            }
            Step::Create => {
                self.own_event(OwnEvent::Created).await?;
                self.write_status(|s, generation| {
                    let created =
                        Desired::coupled(false, reason::PLUG_CREATED, message::PLUG_CREATED);
                    status::set_main(&mut s.conditions, created, generation);
                })
                .await?;
                Ok(Action::await_change())
            }
            Step::Break => {
                self.break_coupling(socket.is_some_and(|s| s.meta().deletion_timestamp.is_none()))
                    .await
            }
            Step::WaitForSocket => {
                self.write_status(|s, generation| {
                    let waiting = Desired::coupled(
                        false,
                        reason::SOCKET_NOT_CREATED,
                        message::SOCKET_NOT_CREATED,
                    );
                    status::set_main(&mut s.conditions, waiting, generation);
                })
                .await?;
                Ok(Action::await_change())
            }
            Step::Couple => match socket {
                Some(socket) => self.admit_and_couple(&socket).await,
                None => Ok(Action::await_change()),
            },
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
            let object = ObjectRef::new("v1", "Namespace", None, namespace);
            crate::Error::from_kube(Operation::Get, &object, e)
        })?;
        Ok(found.map(|ns| ns.labels().clone()).unwrap_or_default())
    }

    fn coupled_socket(&self) -> Option<&CoupledRef> {
        self.plug.status.as_ref()?.coupled_socket.as_ref()
    }

    /// Deletion: decouple from the recorded socket, run the deleted hooks,
    /// release the finalizer. Any error keeps the finalizer for a retry.
    async fn finalize(&mut self) -> Result<Action> {
        if let Some(socket) = self.recorded_socket().await? {
            self.decouple(&socket).await?;
        }
        self.own_event(OwnEvent::Deleted).await?;
        set_finalizer(&self.api, &self.plug, false).await?;
        Ok(Action::await_change())
    }

    /// The recorded coupling no longer matches the live socket: decouple
    /// from the old socket (if it still exists) and forget the coupling.
    /// The status write triggers the pass that couples anew.
    async fn break_coupling(&mut self, socket_alive: bool) -> Result<Action> {
        if let Some(old) = self.recorded_socket().await? {
            self.decouple(&old).await?;
        }
        self.clear_coupling(socket_alive).await?;
        Ok(Action::await_change())
    }

    /// Forgets the coupling; without a live socket the plug waits for one.
    async fn clear_coupling(&mut self, socket_alive: bool) -> Result<()> {
        self.write_status(|s, generation| {
            s.coupled_socket = None;
            s.coupled_result = None;
            s.inputs_hash = None;
            s.progress = None;
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
                self.write_status(|s, generation| {
                    let full = Desired::coupled(false, reason::SOCKET_LIMIT_REACHED, text);
                    status::set_main(&mut s.conditions, full, generation);
                })
                .await?;
                // The socket's status changes when a slot frees, and the
                // watch on sockets brings this plug back.
                return Ok(Action::await_change());
            }
        }
        self.couple(socket).await
    }

    /// Runs the coupled or updated cycle when one is due.
    async fn couple(&mut self, socket: &Socket) -> Result<Action> {
        let plug = self.plug.clone();
        let coupling = Coupling::new(&plug, socket)?;
        let mut sources = fetch(&self.ctx.cluster, &coupling.plan()?, MapReader::Operator).await?;
        // The Secrets' values first: a configTemplate error may quote them.
        self.redactor = coupling.redactor(&sources, &[]);
        self.ctx
            .apparatus
            .fill_configs(&coupling, &mut sources)
            .await?;
        let hash = coupling.inputs_hash(&sources)?;
        let configs = coupling.configs(&sources)?;
        self.redactor = coupling.redactor(&sources, &[&configs.plug, &configs.socket]);
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
            // Nothing changed; restore the success status after a transient
            // failure (a no-op write when it already holds).
            self.write_status(mark_succeeded).await?;
            return Ok(Action::requeue(self.ctx.resync));
        };

        let progress = CycleProgress {
            event: When::from(event).as_str().to_string(),
            inputs_hash: hooks_fingerprint(&plug, socket, &configs),
            hooks_done: true,
        };
        if current.progress.as_ref() != Some(&progress) {
            let (in_process, text) = match event {
                CouplingEvent::Updated => {
                    (reason::UPDATING_IN_PROCESS, message::UPDATING_IN_PROCESS)
                }
                _ => (reason::COUPLING_IN_PROCESS, message::COUPLING_IN_PROCESS),
            };
            let started = CycleProgress {
                hooks_done: false,
                ..progress.clone()
            };
            // A retry of a cycle whose start is already recorded leaves
            // `Coupled=Error` as it is: flipping it to in-process and back
            // on every failed attempt would be two status writes per pass,
            // each waking the next pass at once, past the backoff.
            if current.progress.as_ref() != Some(&started) {
                self.write_status(|s, generation| {
                    s.progress = Some(started);
                    // Keep Failed until the cycle succeeds: it says why the
                    // last attempt did not.
                    status::set(
                        &mut s.conditions,
                        Desired::coupled(false, in_process, text),
                        generation,
                    );
                })
                .await?;
            }
            for side in Side::BOTH {
                let rendered = coupling.render_event(side, event, &configs)?;
                (self.ctx.apparatus)
                    .coupling_event(&coupling, side, event, &configs)
                    .await?;
                self.run_side(&coupling, side, &rendered).await?;
                self.record_side(socket, side, event).await;
            }
            // From here on the plug counts as coupled (§2.4: the socket
            // lists it while its result is pending, A13, and deleting it
            // runs the decoupled hooks).
            let coupled_ref = coupled_ref.clone();
            self.write_status(|s, _| {
                s.progress = Some(progress);
                s.coupled_socket = Some(coupled_ref);
            })
            .await?;
        }

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
        for side in [Side::Socket, Side::Plug] {
            let rendered = coupling.render_result_resources(side, &configs, &results)?;
            self.run_side(&coupling, side, &rendered).await?;
        }
        self.write_status(|s, generation| {
            s.coupled_socket = Some(coupled_ref);
            s.coupled_result = Some(CoupledResult {
                plug: Some(results.plug.without_secrets()).filter(|m| !m.is_empty()),
                socket: Some(results.socket.without_secrets()).filter(|m| !m.is_empty()),
                observed_generation: generation,
            });
            s.inputs_hash = Some(hash);
            mark_succeeded(s, generation);
        })
        .await?;
        Ok(Action::requeue(self.ctx.resync))
    }

    /// Decoupled hooks and the auto-delete pass of both sides, plug first
    /// (§2.7). The socket's status is left to the socket controller.
    async fn decouple(&mut self, socket: &Socket) -> Result<()> {
        let plug = self.plug.clone();
        let coupling = Coupling::new(&plug, socket)?;
        let mut sources = fetch(&self.ctx.cluster, &coupling.plan()?, MapReader::Operator).await?;
        self.redactor = coupling.redactor(&sources, &[]);
        self.ctx
            .apparatus
            .fill_configs(&coupling, &mut sources)
            .await?;
        let configs = coupling.configs(&sources)?;
        self.redactor = coupling.redactor(&sources, &[&configs.plug, &configs.socket]);
        let results = coupling
            .results(&sources, &configs)
            .ok()
            .or_else(|| stored_results(plug.status.as_ref()));
        let event = CouplingEvent::Decoupled;
        for side in Side::BOTH {
            let mut rendered = coupling.render_event(side, event, &configs)?;
            rendered.extend(coupling.render_decouple_deletes(side, &configs, results.as_ref())?);
            (self.ctx.apparatus)
                .coupling_event(&coupling, side, event, &configs)
                .await?;
            self.run_side(&coupling, side, &rendered).await?;
            self.record_side(socket, side, event).await;
        }
        Ok(())
    }

    /// Runs one side's rendered objects as that side's service account.
    async fn run_side(
        &self,
        coupling: &Coupling<'_>,
        side: Side,
        rendered: &[integration_engine::Rendered],
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

    /// The plug's own `created` or `deleted` resources and Event.
    async fn own_event(&self, event: OwnEvent) -> Result<()> {
        let owner = Owner::plug(&self.plug)?;
        let rendered = render_own_event(&owner, event)?;
        self.ctx.apparatus.own_event(&owner, event).await?;
        let sa = self.plug.spec.common.service_account_name();
        run_all(self.ctx, owner.namespace(), sa, &rendered).await?;
        let (reason, verb) = match event {
            OwnEvent::Created => ("PlugCreated", "created"),
            OwnEvent::Deleted => ("PlugDeleted", "deleted"),
        };
        record(self.ctx, &self.plug, reason, verb).await;
        Ok(())
    }

    /// Applies `change` to a copy of the status and replaces the status when
    /// the result differs (optimistic lock on resourceVersion). Returns
    /// whether it wrote.
    async fn write_status(
        &mut self,
        change: impl FnOnce(&mut PlugStatus, Option<i64>),
    ) -> Result<bool> {
        let before = self.plug.status.clone().unwrap_or_default();
        let mut after = before.clone();
        change(&mut after, self.plug.meta().generation);
        if after == before {
            return Ok(false);
        }
        let mut updated = self.plug.clone();
        updated.status = Some(after);
        self.plug = self
            .api
            .replace_status(&self.plug.name_any(), &PostParams::default(), &updated)
            .await
            .map_err(|e| ReconcileError::own("update status of", &self.plug, e))?;
        Ok(true)
    }

    /// Shows a failure: `Coupled=Error` (when present) and `Failed` with
    /// the redacted message, plus a Warning Event when the message is new.
    async fn report(&mut self, err: &ReconcileError) {
        let message = self.redactor.redact(&err.to_string());
        tracing::warn!(plug = %object_key(&self.plug), error = %message, "plug reconcile failed");
        let written = self
            .write_status(|s, generation| {
                status::set_failed(&mut s.conditions, &message, generation)
            })
            .await;
        match written {
            Ok(true) => warn_failed(self.ctx, &self.plug, &message, &self.redactor).await,
            Ok(false) => {}
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
    fn namespace_selector_matches_the_namespace_labels() {
        let mut s = socket("s1");
        s.spec.validation = Some(serde_json::from_value(json!({
            "namespaceSelector": {
                "matchLabels": {"team": "orders"},
                "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["sandbox"]}]
            }
        })).unwrap());
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(admission("app", &labels(&[("team", "orders")]), &s).is_ok());
        assert_eq!(
            admission(
                "app",
                &labels(&[("team", "orders"), ("tier", "sandbox")]),
                &s
            )
            .unwrap_err(),
            "namespace app does not match the namespaceSelector of socket db/s"
        );
        assert!(admission("app", &labels(&[]), &s).is_err());
        assert!(needs_namespace_labels(&s));
        assert!(!needs_namespace_labels(&socket("s2")));
        s.spec.validation = Some(
            serde_json::from_value(json!({
                "namespaceSelector": {
                    "matchExpressions": [{"key": "tier", "operator": "Sometimes", "values": []}]
                }
            }))
            .unwrap(),
        );
        assert!(
            admission("app", &labels(&[]), &s)
                .unwrap_err()
                .starts_with("socket db/s has an invalid namespaceSelector")
        );
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

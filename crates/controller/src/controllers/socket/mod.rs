//! The Socket reconciler (docs/lifecycle.md, "Socket status" and
//! "Deletion").
//!
//! The socket controller writes socket status, except the admission
//! ledger of a socket with a `limit`, which plug passes change
//! ([`admission`]); every writer sends the resourceVersion it read, so
//! none overwrites another's change. It never touches plugs: `coupledPlugs` is computed from the plugs whose
//! `status.coupledSocket.uid` names this socket, read from the cache of
//! plug links ([`links`]) kept from the very plug watch that triggers
//! socket passes (see `runtime`): the cache has taken in a plug event
//! before that event triggers a pass, so a pass never sees plugs older
//! than its trigger, and
//! a later plug change triggers another pass. Listing plugs from the API
//! server on every pass instead cost O(plugs) per pass, O(N²) for N
//! couplings; only a deletion lists them, once, before its finalizer goes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_api::condition::{COUPLED, reason};
use integration_api::{CoupledRef, PlugLink, Socket, SocketStatus, force_delete};
use integration_engine::{OwnEvent, Owner, Redactor, render_own_event};
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};

use crate::context::{
    COMPATIBILITY_WARNING, Context, FORCED_DELETION, ReconcileError, Result, forced_note, fresh,
    has_finalizer, object_key, run_own_event, scoped, set_finalizer, warn, warn_failed, wrote,
};
use crate::controllers::admission;
use crate::status::{self, Desired};

/// How often a deleting socket checks again whether its plugs decoupled
/// (their status writes also trigger it through the watch).
const DELETION_POLL: Duration = Duration::from_secs(5);
/// Plugs per page of the one list a deletion reads before the finalizer goes.
const LIST_PAGE: u32 = 500;

pub mod decide;
pub mod links;
pub mod pace;

pub use decide::{coupled_plugs, desired_status, only_plugs_changed, only_plugs_may_change};
pub use links::PlugLinks;
pub use pace::Pace;

/// Reconciles one Socket. `sockets` is the controller's own cache of
/// sockets; `plugs` the cache of the plug watch that triggers socket
/// passes, which the pass waits for until it holds its first list; `pace`
/// spaces the status writes that only change the listed plugs.
pub async fn reconcile(
    socket: Arc<Socket>,
    ctx: Arc<Context>,
    sockets: Store<Socket>,
    plugs: Arc<PlugLinks>,
    pace: Arc<Pace>,
) -> Result<Action> {
    let Some((api, socket)) = fresh(&ctx, socket.as_ref(), &sockets).await? else {
        return Ok(Action::await_change());
    };
    let key = object_key(&socket);
    let mut pass = Pass {
        ctx: &ctx,
        api,
        socket,
        plugs,
        pace,
    };
    let result = pass.run().await;
    ctx.settle(&key, result, async |err| pass.report(err).await)
        .await
}

struct Pass<'c> {
    ctx: &'c Context,
    api: Api<Socket>,
    socket: Socket,
    plugs: Arc<PlugLinks>,
    pace: Arc<Pace>,
}

impl Pass<'_> {
    async fn run(&mut self) -> Result<Action> {
        let deleting = self.socket.meta().deletion_timestamp.is_some();
        if deleting && !has_finalizer(&self.socket) {
            return Ok(Action::await_change());
        }
        if !deleting && !has_finalizer(&self.socket) {
            // Straight on: the created step needs no pass of its own.
            self.socket = wrote(
                self.ctx,
                set_finalizer(&self.api, &self.socket, true).await?,
            );
        }
        self.plugs.ready().await;
        let uid = self.uid();
        if deleting {
            return self.finalize(self.plugs.coupled_to(&uid)).await;
        }
        let main = status::find(
            self.socket
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref()),
            COUPLED,
        );
        // A socket writes CouplingInProcess only while its apparatus starts
        // for the `created` hooks, so they are still due then.
        if main.is_none_or(|c| c.reason == reason::COUPLING_IN_PROCESS) {
            // The Coupled condition written below marks the created hooks
            // as done.
            let warnings = self.own_event(OwnEvent::Created).await?;
            let mut status = self.socket.status.clone().unwrap_or_default();
            let generation = self.socket.meta().generation;
            if status::set_warnings(&mut status.conditions, &warnings, generation) {
                self.socket.status = Some(status);
                for text in &warnings {
                    let redactor = Redactor::default();
                    warn(
                        self.ctx,
                        &self.socket,
                        COMPATIBILITY_WARNING,
                        text,
                        &redactor,
                    )
                    .await;
                }
            }
        }
        // Waiting anyway: spare building the list.
        let count = self.plugs.count_coupled(&uid);
        if let Some(wait) = self.pace.wait(&uid, Instant::now())
            && only_plugs_may_change(&self.socket, count)
        {
            return Ok(Action::requeue(wait));
        }
        let mut desired = desired_status(&self.socket, self.plugs.coupled_to(&uid));
        desired.admission = admission::pruned(self.ctx, &self.socket, &self.plugs).await?;
        if let Some(wait) = self.paced(&desired) {
            return Ok(Action::requeue(wait));
        }
        self.write_status(desired).await?;
        Ok(Action::await_change())
    }

    /// How long a write of `desired` still waits, when it only changes
    /// the listed plugs ([`pace`]).
    fn paced(&self, desired: &SocketStatus) -> Option<Duration> {
        let current = self.socket.status.as_ref();
        let unchanged = current.map_or(*desired == SocketStatus::default(), |c| c == desired);
        if unchanged || !only_plugs_changed(current, desired) {
            return None;
        }
        self.pace.wait(&self.uid(), Instant::now())
    }

    fn uid(&self) -> String {
        self.socket.uid().unwrap_or_default()
    }

    /// Deletion (docs/lifecycle.md, "Deletion"): every plug decouples (through
    /// its own watch on sockets) before the deleted hooks run and the socket
    /// goes, unless the deletion is forced (`FORCE_DELETE_ANNOTATION`): then
    /// the socket goes at once, and failing deleted hooks only warn.
    async fn finalize(&mut self, mut coupled: Vec<CoupledRef>) -> Result<Action> {
        let forced = force_delete(self.socket.annotations());
        if coupled.is_empty() && !forced {
            coupled = self.coupled_on_server().await?;
        }
        let waiting = !coupled.is_empty() && !forced;
        self.write_status(desired_status(&self.socket, coupled))
            .await?;
        if waiting {
            return Ok(Action::requeue(DELETION_POLL));
        }
        if let Err(err) = self.own_event(OwnEvent::Deleted).await.map(drop) {
            let note = forced_note(&self.socket, &err).ok_or(err)?;
            let redactor = Redactor::default();
            warn(self.ctx, &self.socket, FORCED_DELETION, &note, &redactor).await;
        }
        self.socket = wrote(
            self.ctx,
            set_finalizer(&self.api, &self.socket, false).await?,
        );
        Ok(Action::await_change())
    }

    /// The plugs coupled to this socket as the server lists them: before the
    /// finalizer goes, which cannot be undone, since the cache may not show
    /// yet a plug that recorded its coupling a moment ago. Read in pages,
    /// so a large cluster does not arrive in one response.
    async fn coupled_on_server(&self) -> Result<Vec<CoupledRef>> {
        let api: Api<PlugLink> = scoped(self.ctx);
        let uid = self.uid();
        let mut params = ListParams::default().limit(LIST_PAGE);
        let mut coupled = Vec::new();
        loop {
            let page = api
                .list(&params)
                .await
                .map_err(|e| ReconcileError::own("list the plugs coupled to", &self.socket, e))?;
            coupled.extend(coupled_plugs(&page.items, &uid));
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => return Ok(coupled),
            }
        }
    }

    /// Runs the socket's own `created` or `deleted` hooks. Returns the
    /// compatibility warnings of their templates.
    async fn own_event(&self, event: OwnEvent) -> Result<Vec<String>> {
        let owner = Owner::socket(&self.socket)?;
        let rendered = render_own_event(&owner, event)?;
        run_own_event(self.ctx, &self.socket, &owner, event, &rendered).await?;
        Ok(owner
            .warnings()
            .list()
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    /// Replaces the status when it differs from `desired`.
    async fn write_status(&mut self, desired: SocketStatus) -> Result<bool> {
        if self.socket.status.clone().unwrap_or_default() == desired {
            return Ok(false);
        }
        let mut updated = self.socket.clone();
        updated.status = Some(desired);
        let written = self
            .api
            .replace_status(&self.socket.name_any(), &PostParams::default(), &updated)
            .await
            .map_err(|e| ReconcileError::own("update status of", &self.socket, e))?;
        self.socket = wrote(self.ctx, written);
        self.pace.wrote(&self.uid(), Instant::now());
        Ok(true)
    }

    /// Shows a failure in status and, when it is new, as a Warning Event.
    /// Socket-only passes render no coupling data, so there is nothing
    /// secret to redact beyond what the edge already hides.
    async fn report(&mut self, err: &ReconcileError) {
        let message = err.to_string();
        if err.is_starting() {
            let mut status = self.socket.status.clone().unwrap_or_default();
            let waiting = Desired::coupled(false, reason::COUPLING_IN_PROCESS, message);
            status::set(
                &mut status.conditions,
                waiting,
                self.socket.meta().generation,
            );
            if let Err(e) = self.write_status(status).await {
                tracing::debug!(error = %e, "writing the in-process status failed");
            }
            return;
        }
        tracing::warn!(socket = %object_key(&self.socket), error = %message, "socket reconcile failed");
        let mut status = self.socket.status.clone().unwrap_or_default();
        status::set_failed(
            &mut status.conditions,
            &message,
            self.socket.meta().generation,
        );
        if let Ok(true) = self.write_status(status).await {
            warn_failed(self.ctx, &self.socket, &message, &Redactor::default()).await;
        }
    }
}

//! Race-free admission for a socket's `limit` (docs/lifecycle.md, "Socket
//! limit").
//!
//! The slots live in an API object, not in memory: the socket's
//! `status.admission` ledger lists the plugs holding a slot and those
//! waiting for one. Every change of it is a status write with the socket's
//! resourceVersion as a precondition (optimistic concurrency), so of two
//! passes — of one operator, of a restarted one, or of two replicas around
//! a leader handover — that read the same ledger, one write wins and the
//! other retries against the new ledger. A plug couples only after a write
//! listing it as admitted was committed, and leaves the ledger only after
//! its status no longer shows it coupled, so no moment shows more coupled
//! plugs than the limit.
//!
//! Plugs release their entry when they decouple, are refused or finalize;
//! socket passes drop the entries of plugs that are gone or went elsewhere
//! (say, a finalizer removed by hand), after reading each such plug fresh.
//!
//! [`ledger`] holds the rules; this module does the reads and writes.

pub mod ledger;

use std::collections::BTreeSet;

use integration_api::{Admission, Plug, PlugLink, Socket};
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};

use crate::context::{Context, ReconcileError, Result};
use crate::controllers::socket::PlugLinks;
pub use ledger::Verdict;

/// What a claim found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The verdict, and the limit it was made under (`None`: no limit).
    Decided(Verdict, Option<u32>),
    /// The socket, or that incarnation of it, is gone.
    SocketGone,
}

/// Reads the socket fresh and admits `plug` or lines it up, writing the
/// ledger first when that changes it. A conflicting write fails the pass as
/// a conflict: it is retried soon against the newer ledger.
pub async fn claim(ctx: &Context, plug: &Plug, socket: &Socket) -> Result<Claim> {
    let Some(fresh) = read(ctx, socket).await? else {
        return Ok(Claim::SocketGone);
    };
    let Some(limit) = fresh.plug_limit() else {
        return Ok(Claim::Decided(Verdict::Admitted, None));
    };
    let (verdict, changed) = ledger::admit(&fresh, limit, plug);
    if let Some(next) = changed {
        write(ctx, &fresh, Some(next)).await?;
    }
    Ok(Claim::Decided(verdict, Some(limit)))
}

/// Drops `plug` from the ledger of the socket `namespace/name` (only the
/// incarnation `uid`, when given). Reads fresh only when the cached copy
/// `cached` may hold a ledger.
pub async fn release(
    ctx: &Context,
    plug: &Plug,
    cached: Option<&Socket>,
    uid: Option<&str>,
) -> Result<()> {
    let Some(cached) = cached else {
        return Ok(());
    };
    let may_list = cached.plug_limit().is_some()
        || cached
            .status
            .as_ref()
            .is_some_and(|s| s.admission.is_some());
    if !may_list {
        return Ok(());
    }
    let Some(fresh) = read(ctx, cached).await? else {
        return Ok(());
    };
    if uid.is_some_and(|uid| fresh.meta().uid.as_deref() != Some(uid)) {
        return Ok(());
    }
    let own = plug.uid().unwrap_or_default();
    match ledger::release(&ledger::ledger(&fresh), &own) {
        Some(next) => write(ctx, &fresh, Some(next)).await,
        None => Ok(()),
    }
}

/// The ledger a socket pass writes for `socket` (read fresh by the pass):
/// none without a limit; else without the entries of plugs that `plugs`
/// (the pass's cache) shows as gone or elsewhere and a fresh read confirms.
pub async fn pruned(
    ctx: &Context,
    socket: &Socket,
    plugs: &PlugLinks,
) -> Result<Option<Admission>> {
    if socket.plug_limit().is_none() {
        return Ok(None);
    }
    let current = ledger::ledger(socket);
    let mut gone = BTreeSet::new();
    for entry in ledger::stale_in(socket, |ns, name| plugs.get(ns, name)) {
        let api: Api<PlugLink> = Api::namespaced(ctx.cluster.client().clone(), &entry.namespace);
        let plug = api
            .get_opt(&entry.name)
            .await
            .map_err(|e| ReconcileError::own("read the plugs in the admission of", socket, e))?;
        if ledger::stale(&entry, plug.as_ref(), socket) {
            gone.insert(entry.uid);
        }
    }
    let next = ledger::without(&current, &gone);
    let empty = next.admitted.is_empty() && next.waiting.is_empty();
    Ok((!empty).then_some(next))
}

/// The socket as the server has it now, if it is still the incarnation
/// of `socket`.
async fn read(ctx: &Context, socket: &Socket) -> Result<Option<Socket>> {
    let namespace = socket.namespace().unwrap_or_default();
    let api: Api<Socket> = Api::namespaced(ctx.cluster.client().clone(), &namespace);
    let fresh = api
        .get_opt(&socket.name_any())
        .await
        .map_err(|e| ReconcileError::own("read the admission of", socket, e))?;
    Ok(fresh.filter(|s| s.meta().uid == socket.meta().uid))
}

/// Writes `admission` into `fresh`'s status, on the precondition that the
/// socket is still at `fresh`'s resourceVersion.
async fn write(ctx: &Context, fresh: &Socket, admission: Option<Admission>) -> Result<()> {
    let namespace = fresh.namespace().unwrap_or_default();
    let api: Api<Socket> = Api::namespaced(ctx.cluster.client().clone(), &namespace);
    let mut updated = fresh.clone();
    updated
        .status
        .get_or_insert_with(Default::default)
        .admission = admission.filter(|a| !a.admitted.is_empty() || !a.waiting.is_empty());
    api.replace_status(&fresh.name_any(), &PostParams::default(), &updated)
        .await
        .map_err(|e| ReconcileError::own("update the admission of", fresh, e))?;
    Ok(())
}

//! One pass over one parent: read it fresh, build the snapshot, ask the
//! controller what it wants, write the difference, prune, write the status
//! when it changed, and say when to run again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::TypeMeta;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::apply::{self, Owner, Write};
use crate::backoff::object_key;
use crate::declare::{Apply, Child, Declarative, Desired, Facts, Failure, Outcome, Snapshot};
use crate::error::Error;
use crate::object::ObjectRef;
use crate::objects::{Deletion, Objects};
use crate::runtime::Shared;

/// The longest a pass waits for its wake-up time: later ones are looked at
/// again by then (the queue's clock must not overflow).
const MAX_WAKE: Duration = Duration::from_secs(600);

/// Why a pass failed before it could write the status.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Reading or writing the parent itself.
    #[error("{action} {parent}: {source}")]
    Parent {
        /// `get`, `update status of`, `update finalizers of`.
        action: &'static str,
        /// `Kind namespace/name`.
        parent: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// The identity the parent's calls go through.
    #[error(transparent)]
    Identity(#[from] Error),
}

impl PassError {
    /// A stale write: retried soon, not reported.
    pub fn is_conflict(&self) -> bool {
        matches!(self, PassError::Parent { source: kube::Error::Api(s), .. } if s.code == 409)
    }
}

/// Runs one pass over `parent` (as the cache had it).
pub(crate) async fn run<D: Declarative>(
    shared: &Shared<D>,
    cached: &D::Parent,
) -> Result<Action, PassError> {
    let runtime = &shared.runtime;
    let namespace = cached.namespace().unwrap_or_default();
    let api: Api<D::Parent> = Api::namespaced(runtime.client().clone(), &namespace);
    let parent_error = |action, source| PassError::Parent {
        action,
        parent: object_key(cached),
        source,
    };
    // Fresh: the cache may not hold our own last status write yet.
    let Some(parent) = api
        .get_opt(&cached.name_any())
        .await
        .map_err(|e| parent_error("get", e))?
    else {
        return Ok(Action::await_change());
    };
    let deleting = parent.meta().deletion_timestamp.is_some();
    if let Some(finalizer) = &runtime.finalizer {
        let present = parent.finalizers().iter().any(|f| f == finalizer);
        if !present {
            // Not ours yet (the finalizer comes first), or no longer ours
            // to finalize (deleting, already released).
            if !deleting {
                set_finalizer(&api, &parent, finalizer, true)
                    .await
                    .map_err(|e| parent_error("update finalizers of", e))?;
            }
            return Ok(Action::await_change());
        }
    } else if deleting {
        return Ok(Action::await_change());
    }

    let objects = objects_for(shared, &parent)?;
    let mut snapshot = snapshot(shared, &objects, parent.clone()).await;
    let desired = runtime.declarative.sync(&snapshot);
    let applied = write_children(shared, &objects, &snapshot, &desired, deleting).await;
    let failed_child = applied.values().any(|o| matches!(o, Outcome::Failed(_)));
    // A write the server found invalid fails the same way until the parent
    // or the child changes, and either wakes the parent: no retry.
    let retried_failure = applied
        .values()
        .any(|o| matches!(o, Outcome::Failed(f) if f.code != 422));
    // A conflict is looked at again after a backoff too: the object may
    // be deleted or annotated for adoption, and neither wakes the parent
    // (only marked children are watched).
    let conflict = applied
        .values()
        .any(|o| matches!(o, Outcome::Conflict { .. }));
    let all_unchanged = applied
        .values()
        .all(|o| matches!(o, Outcome::Unchanged { .. }));
    let desired = if all_unchanged {
        desired
    } else {
        snapshot.applied = applied;
        runtime.declarative.sync(&snapshot)
    };
    write_status(shared, &api, &parent, &desired)
        .await
        .map_err(|e| parent_error("update status of", e))?;
    if deleting && !failed_child && !desired.retry {
        if let Some(finalizer) = &runtime.finalizer {
            set_finalizer(&api, &parent, finalizer, false)
                .await
                .map_err(|e| parent_error("update finalizers of", e))?;
        }
        return Ok(Action::await_change());
    }
    let retry = retried_failure || conflict || desired.retry;
    tracing::trace!(wake_at = ?desired.wake_at, retry, outcomes = ?snapshot.applied, "pass decided");
    Ok(next_pass(shared, &parent, &desired, retry, snapshot.now))
}

/// The objects client of the identity `parent` acts as.
fn objects_for<D: Declarative>(shared: &Shared<D>, parent: &D::Parent) -> Result<Objects, Error> {
    let runtime = &shared.runtime;
    let client = match runtime.declarative.acts_as(parent) {
        Some(sa) => runtime.impersonation.client(&sa.namespace, &sa.name)?,
        None => runtime.client().clone(),
    };
    Ok(Objects::new(
        client,
        runtime.mapper.clone(),
        &runtime.marks.field_manager,
    ))
}

/// The snapshot of `parent`: its children from the caches, its lookups
/// read now, the facts and the time.
async fn snapshot<D: Declarative>(
    shared: &Shared<D>,
    objects: &Objects,
    parent: D::Parent,
) -> Snapshot<D::Parent> {
    let runtime = &shared.runtime;
    let uid = parent.uid().unwrap_or_default();
    let namespace = parent.namespace();
    let mut snap = Snapshot::new(parent, Timestamp::now());
    snap.facts = facts(shared).await;
    for (kind, store) in &shared.stores {
        let types = type_meta(&kind.resource);
        let ours = store.state().into_iter().filter(|child| {
            child.metadata.namespace == namespace
                && child
                    .owner_references()
                    .iter()
                    .any(|r| r.uid == uid && r.controller == Some(true))
        });
        snap.children
            .extend(ours.map(|child| with_types(&child, &types)));
    }
    let me = kube::runtime::reflector::ObjectRef::from_obj(&snap.parent);
    for (kind, store) in &shared.related {
        let types = type_meta(&kind.resource);
        let concerning = store
            .state()
            .into_iter()
            .filter(|o| (kind.parents)(o, &shared.parents).contains(&me));
        snap.related
            .extend(concerning.map(|o| with_types(&o, &types)));
    }
    for object in runtime.declarative.lookups(&snap.parent) {
        let found = objects.get(&object).await.map_err(|e| e.to_string());
        snap.lookups.insert(object, found);
    }
    snap
}

/// Which owned kinds are served: cached until a CRD changes.
async fn facts<D: Declarative>(shared: &Shared<D>) -> Facts {
    let runtime = &shared.runtime;
    let epoch = match runtime.facts.get() {
        Ok(facts) => return facts,
        Err(epoch) => epoch,
    };
    let mut facts = Facts::default();
    for (kind, _) in &shared.stores {
        let ar = &kind.resource;
        if runtime
            .mapper
            .mapping(&ar.api_version, &ar.kind)
            .await
            .is_ok()
        {
            facts.served.push((ar.api_version.clone(), ar.kind.clone()));
        }
    }
    runtime.facts.keep(epoch, &facts);
    facts
}

fn type_meta(ar: &kube::discovery::ApiResource) -> TypeMeta {
    types(&ar.api_version, &ar.kind)
}

fn types(api_version: &str, kind: &str) -> TypeMeta {
    TypeMeta {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
    }
}

/// A cached object with its `apiVersion` and `kind` (lists leave them out).
fn with_types(object: &Arc<DynamicObject>, types: &TypeMeta) -> Arc<DynamicObject> {
    if object.types.is_some() {
        return object.clone();
    }
    let mut object = DynamicObject::clone(object);
    object.types = Some(types.clone());
    Arc::new(object)
}

/// Applies, keeps and deletes the desired children, then prunes the
/// watched ones no longer desired; what happened to each.
async fn write_children<D: Declarative>(
    shared: &Shared<D>,
    objects: &Objects,
    snapshot: &Snapshot<D::Parent>,
    desired: &Desired<D::Status>,
    deleting: bool,
) -> BTreeMap<ObjectRef, Outcome> {
    let mut outcomes = BTreeMap::new();
    let mut wanted = BTreeSet::new();
    for child in &desired.children {
        let Some(id) = child.identity() else {
            if let Child::Apply(apply) = child {
                let why = ObjectRef::of(&apply.object).err().map(|e| e.to_string());
                tracing::warn!(error = ?why, "a desired child has no identity");
            }
            continue;
        };
        wanted.insert(id.clone());
        let outcome = match child {
            Child::Apply(_) if deleting => continue,
            Child::Apply(apply) => apply_child(shared, objects, snapshot, &id, apply).await,
            Child::Keep(_) => continue,
            Child::Delete { uid, orphan, .. } => delete(objects, &id, uid, *orphan).await,
        };
        outcomes.insert(id, outcome);
    }
    let pruned = snapshot.children.iter().filter_map(|child| {
        let id = apply::identity(child)?;
        let prunable = shared.stores.iter().any(|(kind, _)| {
            kind.prune
                && kind.resource.kind == id.kind
                && kind.resource.api_version == id.api_version
        });
        (prunable && !wanted.contains(&id)).then(|| (id, child.uid().unwrap_or_default()))
    });
    for (id, uid) in pruned.collect::<Vec<_>>() {
        let outcome = delete(objects, &id, &uid, false).await;
        outcomes.insert(id, outcome);
    }
    outcomes
}

/// Applies one child unless a same-named object that is not ours exists
/// or nothing would change.
async fn apply_child<D: Declarative>(
    shared: &Shared<D>,
    objects: &Objects,
    snapshot: &Snapshot<D::Parent>,
    id: &ObjectRef,
    apply: &Apply,
) -> Outcome {
    let marks = &shared.runtime.marks;
    let parent = &snapshot.parent;
    let owner = Owner {
        api_version: D::Parent::api_version(&()).into_owned(),
        kind: D::Parent::kind(&()).into_owned(),
        name: parent.name_any(),
        uid: parent.uid().unwrap_or_default(),
    };
    let live = match live_child(objects, snapshot, id).await {
        Ok(live) => live,
        Err(e) => return Outcome::Failed(Failure::from(&e)),
    };
    if let Some(live) = &live
        && !apply::is_ours(live, marks, &owner.uid, apply.owned_uid.as_deref())
    {
        return Outcome::Conflict {
            uid: live.uid().unwrap_or_default(),
        };
    }
    let body = apply::marked(&apply.object, marks, apply.mark.then_some(&owner));
    let drift = match apply::write_needed(live.as_ref(), &body, marks) {
        Write::None => {
            let uid = live.and_then(|l| l.uid()).unwrap_or_default();
            return Outcome::Unchanged { uid };
        }
        Write::Apply { drift } => drift,
    };
    if let Some(fields) = &apply.handover {
        let manager = format!("{}-handover", marks.field_manager);
        if let Err(e) = objects.as_manager(&manager).apply_forced(fields).await {
            return Outcome::Failed(Failure::from(&e));
        }
    }
    let written = if apply.force {
        objects.apply_forced(&body).await
    } else {
        objects.apply(&body).await
    };
    match written {
        Ok(object) => Outcome::Applied {
            uid: object.uid().unwrap_or_default(),
            drift,
        },
        Err(e) => Outcome::Failed(Failure::from(&e)),
    }
}

/// The live child: from the cache or the lookups when they hold it, else
/// read now (a child the cache does not hold may be someone else's
/// object with the same name).
async fn live_child<P>(
    objects: &Objects,
    snapshot: &Snapshot<P>,
    id: &ObjectRef,
) -> Result<Option<DynamicObject>, Error> {
    if let Some(cached) = snapshot.child(id) {
        return Ok(Some(cached.clone()));
    }
    if let Some(Ok(Some(found))) = snapshot.lookups.get(id) {
        return Ok(Some(found.clone()));
    }
    let mut found = objects.get(id).await?;
    if let Some(object) = &mut found {
        object
            .types
            .get_or_insert_with(|| types(&id.api_version, &id.kind));
    }
    Ok(found)
}

async fn delete(objects: &Objects, id: &ObjectRef, uid: &str, orphan: bool) -> Outcome {
    match objects.delete_exact(id, uid, orphan).await {
        Ok(Deletion::Absent | Deletion::Requested { .. }) => Outcome::Deleted,
        Err(e) => Outcome::Failed(Failure::from(&e)),
    }
}

/// Writes the desired status when it differs from the parent's, then
/// records the desired Events (after the write, so a stale write that is
/// retried does not record them twice).
async fn write_status<D: Declarative>(
    shared: &Shared<D>,
    api: &Api<D::Parent>,
    parent: &D::Parent,
    desired: &Desired<D::Status>,
) -> Result<(), kube::Error> {
    if D::status(parent) != Some(&desired.status) {
        let updated = D::with_status(parent, desired.status.clone());
        api.replace_status(&parent.name_any(), &PostParams::default(), &updated)
            .await?;
    }
    for event in &desired.events {
        shared.runtime.recorder.record(parent, event).await;
    }
    Ok(())
}

/// When to run again: at the controller's wake-up time, sooner after a
/// failed write (backing off per parent), or on the next change.
fn next_pass<D: Declarative>(
    shared: &Shared<D>,
    parent: &D::Parent,
    desired: &Desired<D::Status>,
    failed: bool,
    now: Timestamp,
) -> Action {
    let key = object_key(parent);
    let failures = &shared.runtime.failures;
    let retry = if failed {
        Some(failures.failed(&key))
    } else {
        failures.succeeded(&key);
        None
    };
    let wake = desired.wake_at.map(|at| {
        Duration::try_from(at.duration_since(now))
            .unwrap_or_default()
            .min(MAX_WAKE)
    });
    match (wake, retry) {
        (Some(a), Some(b)) => Action::requeue(a.min(b)),
        (Some(d), None) | (None, Some(d)) => Action::requeue(d),
        (None, None) => Action::await_change(),
    }
}

/// Adds (`true`) or removes (`false`) `finalizer`; the patch carries the
/// resourceVersion, so a stale parent fails instead of dropping another
/// writer's finalizers.
pub async fn set_finalizer<P>(
    api: &Api<P>,
    parent: &P,
    finalizer: &str,
    present: bool,
) -> Result<P, kube::Error>
where
    P: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut finalizers: Vec<String> = parent
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect();
    if present {
        finalizers.push(finalizer.to_string());
    }
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": parent.resource_version(),
    }});
    api.patch(
        &parent.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
}

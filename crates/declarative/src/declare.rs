//! What a controller writes: one pure function from a [`Snapshot`] of a
//! parent and its world to the [`Desired`] children and status.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use kube::api::DynamicObject;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::object::ObjectRef;

/// A parent kind: a namespaced, typed resource with a status subresource.
pub trait Parent:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
}

impl<K> Parent for K where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

/// A controller of one parent kind. Every method is pure: no I/O, no
/// clock (the time is in the snapshot), so each can be tested with plain
/// values. The runtime ([`crate::Runtime`]) does the rest.
pub trait Declarative: Send + Sync + 'static {
    /// The parent kind.
    type Parent: Parent;
    /// Its `status`.
    type Status: Serialize + DeserializeOwned + Clone + PartialEq + Debug + Send + Sync;

    /// The parent's status as last written (`None` before the first write).
    fn status(parent: &Self::Parent) -> Option<&Self::Status>;

    /// The parent with `status` in place, for the status write.
    fn with_status(parent: &Self::Parent, status: Self::Status) -> Self::Parent;

    /// The service account whose identity reads lookups and writes
    /// children of `parent`; `None` uses the operator's own.
    fn acts_as(&self, parent: &Self::Parent) -> Option<ServiceAccount> {
        let _ = parent;
        None
    }

    /// Objects a pass reads that are not watched children (read on every
    /// pass, in [`Snapshot::lookups`]). A child of a kind the runtime does
    /// not watch belongs here too: then its live state is known.
    fn lookups(&self, parent: &Self::Parent) -> Vec<ObjectRef> {
        let _ = parent;
        Vec::new()
    }

    /// The desired children, status, Events and wake-up time. Called once
    /// before the children are applied (with [`Snapshot::applied`] empty),
    /// and once more with the outcomes when any child was written or
    /// failed: the status comes from that second call.
    fn sync(&self, snapshot: &Snapshot<Self::Parent>) -> Desired<Self::Status>;
}

/// A service account: namespace and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// What a pass knows: the parent, its children, what it looked up, the
/// cluster's facts and the time.
#[derive(Clone, Debug)]
pub struct Snapshot<P> {
    /// The parent, fresh from the API server.
    pub parent: P,
    /// Its children of the watched kinds (ours: marked and owned by it).
    pub children: Vec<Arc<DynamicObject>>,
    /// Objects of the related kinds that concern it (see
    /// [`crate::Runtime::watches`]), `apiVersion` and `kind` set.
    pub related: Vec<Arc<DynamicObject>>,
    /// The result of each [`Declarative::lookups`] entry: the object, none,
    /// or why it could not be read.
    pub lookups: BTreeMap<ObjectRef, Result<Option<DynamicObject>, String>>,
    /// What the cluster serves.
    pub facts: Facts,
    /// The time of the pass.
    pub now: Timestamp,
    /// What applying each child did in this pass (empty before applying).
    pub applied: BTreeMap<ObjectRef, Outcome>,
}

impl<P> Snapshot<P> {
    /// A snapshot of `parent` alone at `now`.
    pub fn new(parent: P, now: Timestamp) -> Self {
        Snapshot {
            parent,
            children: Vec::new(),
            related: Vec::new(),
            lookups: BTreeMap::new(),
            facts: Facts::default(),
            now,
            applied: BTreeMap::new(),
        }
    }

    /// The child with this identity, if the cache holds it.
    pub fn child(&self, object: &ObjectRef) -> Option<&DynamicObject> {
        self.children
            .iter()
            .map(Arc::as_ref)
            .find(|c| crate::apply::identity(c).as_ref() == Some(object))
    }

    /// Every child as it is: neither applied nor pruned (say, while the
    /// parent's spec is invalid).
    pub fn keep_children(&self) -> Vec<Child> {
        self.children
            .iter()
            .filter_map(|c| crate::apply::identity(c))
            .map(Child::Keep)
            .collect()
    }

    /// The related objects of `kind`.
    pub fn related_of<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s DynamicObject> + 's {
        self.related
            .iter()
            .map(Arc::as_ref)
            .filter(move |o| o.types.as_ref().is_some_and(|t| t.kind == kind))
    }

    /// What a lookup found: `Ok(None)` when the object does not exist (or
    /// was not looked up).
    pub fn lookup(&self, object: &ObjectRef) -> Result<Option<&DynamicObject>, &str> {
        match self.lookups.get(object) {
            Some(Ok(found)) => Ok(found.as_ref()),
            Some(Err(why)) => Err(why),
            None => Ok(None),
        }
    }

    /// What applying `object` did in this pass.
    pub fn outcome(&self, object: &ObjectRef) -> Option<&Outcome> {
        self.applied.get(object)
    }
}

/// Facts about the cluster: which of the kinds the runtime owns are served.
/// Looked up once, and again after each CRD change when the runtime
/// follows CRDs ([`crate::Runtime::follow_crds`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// `(apiVersion, kind)` of every served kind among the watched ones.
    pub served: Vec<(String, String)>,
}

impl Facts {
    /// Whether `kind` of `api_version` is served.
    pub fn serves(&self, api_version: &str, kind: &str) -> bool {
        self.served
            .iter()
            .any(|(v, k)| v == api_version && k == kind)
    }
}

/// What the parent and its world should look like.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired<S> {
    /// The parent's status.
    pub status: S,
    /// The children: watched ones not listed here are pruned.
    pub children: Vec<Child>,
    /// Events about the parent; recorded once the status is written.
    pub events: Vec<Event>,
    /// When to run again though nothing changed (a timer, a poll).
    pub wake_at: Option<Timestamp>,
    /// The pass did not get what it needed (a lookup failed, say): run
    /// again after a per-parent backoff, as after a failed child.
    pub retry: bool,
}

impl<S> Desired<S> {
    /// Just a status: no children, no Events, no timer.
    pub fn status(status: S) -> Self {
        Desired {
            status,
            children: Vec::new(),
            events: Vec::new(),
            wake_at: None,
            retry: false,
        }
    }
}

/// One desired child.
#[derive(Clone, Debug, PartialEq)]
pub enum Child {
    /// Make the object look like this.
    Apply(Apply),
    /// Leave the object as it is: neither apply nor prune it.
    Keep(ObjectRef),
    /// Delete the object, only while it has this uid (children of kinds
    /// the runtime does not watch are never pruned: say so here).
    Delete {
        /// The object.
        object: ObjectRef,
        /// Its uid (a precondition of the delete).
        uid: String,
        /// Leave its dependents (a workload's pods) in place: delete with
        /// `propagationPolicy: Orphan` instead of `Background`.
        orphan: bool,
    },
}

/// A child to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Apply {
    /// The manifest: `apiVersion`, `kind`, `metadata.name` and, for
    /// namespaced kinds, `metadata.namespace`.
    pub object: Value,
    /// Take fields another manager changed back (server-side apply
    /// `force`): the parent declares itself their owner.
    pub force: bool,
    /// Mark the object as the parent's (managed-by label, controller
    /// ownerReference): how watched children are found and pruned.
    pub mark: bool,
    /// An existing object with this uid counts as ours though unmarked
    /// (one the parent recorded having created).
    pub owned_uid: Option<String>,
    /// Fields to hand over before this apply: applied first (forced) under
    /// a second field manager, `<field manager>-handover`, so that fields
    /// this apply no longer sets keep their live value instead of being
    /// removed (say `spec.replicas` left to an autoscaler). The same
    /// identity as `object`, with only those fields.
    pub handover: Option<Value>,
}

impl Child {
    /// Apply `object`, marked as the parent's, without force.
    pub fn apply(object: Value) -> Self {
        Child::Apply(Apply {
            object,
            force: false,
            mark: true,
            owned_uid: None,
            handover: None,
        })
    }

    /// The same, forced (see [`Apply::force`]).
    pub fn forced(self) -> Self {
        self.map_apply(|a| a.force = true)
    }

    /// The same, unmarked: an object the parent only records by uid.
    pub fn unmarked(self) -> Self {
        self.map_apply(|a| a.mark = false)
    }

    /// The same, owning an existing object with `uid`.
    pub fn owning(self, uid: Option<String>) -> Self {
        self.map_apply(|a| a.owned_uid = uid)
    }

    /// The same, handing `fields` over first (see [`Apply::handover`]).
    pub fn handing_over(self, fields: Value) -> Self {
        self.map_apply(|a| a.handover = Some(fields))
    }

    fn map_apply(mut self, change: impl FnOnce(&mut Apply)) -> Self {
        if let Child::Apply(apply) = &mut self {
            change(apply);
        }
        self
    }

    /// The child's identity; `None` for a manifest that has none.
    pub fn identity(&self) -> Option<ObjectRef> {
        match self {
            Child::Apply(apply) => ObjectRef::of(&apply.object).ok(),
            Child::Keep(object) | Child::Delete { object, .. } => Some(object.clone()),
        }
    }
}

/// What happened to one child in a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written; `drift` names the first field of ours someone had changed
    /// (`spec.replicas`), when that is why.
    Applied {
        /// The object's uid.
        uid: String,
        /// The corrected field, for a drift repair.
        drift: Option<String>,
    },
    /// Already as desired: nothing written.
    Unchanged {
        /// The object's uid.
        uid: String,
    },
    /// A same-named object that is not ours exists: left untouched.
    Conflict {
        /// Its uid.
        uid: String,
    },
    /// Deleted (or already gone).
    Deleted,
    /// The write failed.
    Failed(Failure),
}

/// A failed write: the user-facing message and the server's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// `apply Service shop/web: Forbidden: …`, echoed values hidden.
    pub message: String,
    /// `Forbidden`, `Invalid`, `Conflict`, … (empty without an answer).
    pub reason: String,
    /// The HTTP status (0 without an answer).
    pub code: u16,
}

impl From<&Error> for Failure {
    fn from(error: &Error) -> Self {
        let (reason, code) = match error {
            Error::Api { reason, code, .. } => (reason.clone(), *code),
            _ => (String::new(), 0),
        };
        Failure {
            message: error.to_string(),
            reason,
            code,
        }
    }
}

/// An Event about the parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// `DriftCorrected`, `Failed`, … (UpperCamelCase).
    pub reason: String,
    /// What happened, for people.
    pub note: String,
}

impl Event {
    /// A Normal Event.
    pub fn normal(reason: impl Into<String>, note: impl Into<String>) -> Self {
        Event {
            warning: false,
            reason: reason.into(),
            note: note.into(),
        }
    }

    /// A Warning Event.
    pub fn warning(reason: impl Into<String>, note: impl Into<String>) -> Self {
        Event {
            warning: true,
            ..Event::normal(reason, note)
        }
    }
}

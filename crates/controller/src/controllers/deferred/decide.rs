//! The DeferredResource reconciler (docs/deferred.md; scenario A16 in
//! docs/scenarios.md).
//!
//! A DeferredResource creates one object, `spec.resource` with its namespace
//! forced to the DR's, as the DR's service account, once `spec.timeout` seconds
//! have passed since the DR was created and every `spec.waitFor` object exists
//! (in its `namespace`, default the DR's) and, when the entry names a
//! `condition`, carries it in `status.conditions`. Like the Plug reconciler, a
//! pass reads the DR fresh, decides from that snapshot and the time
//! ([`decide`], [`plan`]), does the I/O of that one step and writes the status
//! only when it differs. Nothing blocks a worker: the delay is a requeue after
//! the remaining time, and a DR waiting for objects looks again every poll
//! period (`RunOptions::deferred_poll`) with one GET per object and no write
//! while nothing changed (docs/deferred.md, "Resolving"). The `waitFor` GETs,
//! like every other call of a pass, go through the DR's service account, so an
//! object in another namespace needs `get` granted there.
//!
//! **Modes.** `createOnce` (the default, the spec's behavior): the DR is
//! done when `Resolved=True` carries its current `metadata.generation`. A
//! spec edit makes the next pass check `waitFor` again and apply the new
//! resource (server-side apply, so fields dropped from it are pruned); if
//! the new resource names another object, the one created before is
//! deleted first. Between spec edits nothing is re-applied: no drift
//! repair, and an object someone deleted is not re-created.
//! `keepApplied`: once resolved, every poll applies the resource again
//! (without looking at `waitFor` again), so an object someone deleted is
//! created again. Its applies are forced: the mode declares the DR the
//! owner of the fields its resource sets (as `reconcile: true` does for a
//! plug's resources), so a field another manager took is taken back
//! instead of failing every poll with a conflict; fields the resource does
//! not set are left to their managers. A failed repair sets `Failed` but
//! keeps `Resolved=True`: the object was created.
//!
//! **Giving up** (`spec.failAfter`, seconds from `creationTimestamp`): the
//! first look at or after that time is the last. If it does not resolve,
//! the DR shows `Resolved=False/Error/gave up` at its generation and
//! `Failed` saying what it was waiting for (or the last error), records a
//! Warning Event, and is not looked at again until its spec changes.
//! Time still counts from creation: a spec edit gets one more look, and the
//! DR waits on only if the new `failAfter` has not passed, so raising it
//! resumes. A pending DR looks again at the deadline, not up to a poll
//! period later.
//!
//! **Ownership** (docs/deferred.md, "Existing objects"): an object that already
//! exists when the DR would create it is left untouched, counts as Success, and
//! is recorded with `status.preexisting: true`; it is never deleted, and
//! `keepApplied` never applies over it. Only the object this DR created (its
//! uid is in `status.ownerReferences`) is deleted, with a uid precondition,
//! when the DR is deleted (the DR carries the operator's finalizer until then).
//! An object whose creation the status never recorded (the operator stopped
//! between the apply and the status write) counts as pre-existing: the safe
//! side of that race.
//!
//! Errors (invalid spec, unknown kind, RBAC) show as `Resolved=False/Error`
//! and `Failed=True/Error/<message>`, with a Warning Event when the message
//! changes, and retry with exponential backoff.

use std::fmt;
use std::time::Duration;

use integration_api::condition::{RESOLVED, message, reason};
use integration_api::{
    CREATE_ONCE, CreatedObject, DeferredMode, DeferredResource, DeferredResourceStatus,
    KEEP_APPLIED, WaitFor,
};
use integration_engine::Redactor;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::DynamicObject;
use kube::{Resource, ResourceExt};
use kube_declarative::{Child, Desired, Event, Outcome, Snapshot};
use serde_json::{Value, json};

use crate::context::has_finalizer;
use crate::status;
use crate::{Error, ObjectRef};

/// Default period after which a DeferredResource waiting for `waitFor`
/// objects looks again (the spec's \[FIX\] asks for 5–30 s), and after
/// which a `keepApplied` one applies its resource again.
pub const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// The step a pass takes, decided from the DR and the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Being deleted, finalizer already gone: nothing to do.
    Gone,
    /// Being deleted with our finalizer: delete the object this DR
    /// created, then release the DR.
    Finalize,
    /// Add the finalizer.
    AddFinalizer,
    /// Resolved at the current generation (`createOnce`): nothing to do.
    Done,
    /// Resolved at the current generation (`keepApplied`): apply the
    /// resource again.
    Repair,
    /// Gave up at the current generation (`failAfter`): nothing to do
    /// until the spec changes.
    GaveUp,
    /// The minimum delay has not passed; this much of it is left.
    Delay(Duration),
    /// Check the `waitFor` objects, then apply the resource. `last`: the
    /// `failAfter` time has passed, so if this look does not resolve, the
    /// DR gives up.
    Resolve {
        /// Whether this is the last look.
        last: bool,
    },
}

/// The step for `dr` at `now`.
pub fn decide(dr: &DeferredResource, now: Timestamp) -> Step {
    if dr.meta().deletion_timestamp.is_some() {
        return if has_finalizer(dr) {
            Step::Finalize
        } else {
            Step::Gone
        };
    }
    if !has_finalizer(dr) {
        return Step::AddFinalizer;
    }
    if resolved_now(dr) {
        return match dr.spec.mode() {
            Ok(DeferredMode::KeepApplied) => Step::Repair,
            // An unknown mode is a spec edit, so never resolved yet.
            Ok(DeferredMode::CreateOnce) | Err(_) => Step::Done,
        };
    }
    if gave_up_now(dr) {
        return Step::GaveUp;
    }
    match remaining_delay(dr, now) {
        Some(left) => Step::Delay(left),
        None => Step::Resolve {
            last: until_deadline(dr, now).is_some_and(|left| left.is_zero()),
        },
    }
}

/// The DR's `Resolved` condition when it carries the current generation.
fn resolved_condition(dr: &DeferredResource) -> Option<&Condition> {
    let conditions = dr.status.as_ref().and_then(|s| s.conditions.as_ref());
    status::find(conditions, RESOLVED).filter(|c| c.observed_generation == dr.meta().generation)
}

/// Whether `Resolved=True` carries the DR's current generation.
fn resolved_now(dr: &DeferredResource) -> bool {
    resolved_condition(dr).is_some_and(|c| c.status == "True")
}

/// Whether the DR gave up at its current generation
/// (`Resolved=False/Error/gave up`).
fn gave_up_now(dr: &DeferredResource) -> bool {
    resolved_condition(dr).is_some_and(|c| {
        c.status == "False" && c.reason == reason::ERROR && c.message == message::GAVE_UP
    })
}

/// How long ago, at `now`, the DR was created (zero for a clock behind
/// the creation time); `None` without a creation time.
fn age(dr: &DeferredResource, now: Timestamp) -> Option<Duration> {
    let created = dr.meta().creation_timestamp.as_ref()?.0;
    Some(Duration::try_from(now.duration_since(created)).unwrap_or_default())
}

/// A positive number of seconds, or `None` (unset, zero or negative).
fn seconds(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok()).filter(|&v| v > 0)
}

/// What is left at `now` of the minimum delay, `spec.timeout` seconds
/// from `metadata.creationTimestamp`; `None` once it has passed (or when
/// there is none).
fn remaining_delay(dr: &DeferredResource, now: Timestamp) -> Option<Duration> {
    let timeout = seconds(dr.spec.timeout)?;
    Duration::from_secs(timeout)
        .checked_sub(age(dr, now)?)
        .filter(|left| !left.is_zero())
}

/// What is left at `now` until `spec.failAfter` seconds from
/// `metadata.creationTimestamp` (zero once that has passed); `None` when
/// the DR never gives up.
fn until_deadline(dr: &DeferredResource, now: Timestamp) -> Option<Duration> {
    let fail_after = Duration::from_secs(seconds(dr.spec.fail_after)?);
    Some(fail_after.saturating_sub(age(dr, now)?))
}

/// When a DR still waiting at `now` looks again: after the poll period,
/// or at its `failAfter` time when that comes first, so the last look is
/// on time.
pub fn next_look(dr: &DeferredResource, now: Timestamp, poll: Duration) -> Duration {
    until_deadline(dr, now).map_or(poll, |left| left.min(poll))
}

/// A DR's request, checked: the manifest to apply (its namespace forced to
/// the DR's), its identity, the objects to wait for, and the mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The manifest to apply.
    pub object: Value,
    /// Its identity.
    pub target: ObjectRef,
    /// The `waitFor` objects.
    pub wait_for: Vec<Wait>,
    /// `spec.mode`.
    pub mode: DeferredMode,
}

/// One `waitFor` entry, checked: the object and, optionally, the
/// condition it must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    /// The object (in the DR's namespace unless the entry names another).
    pub object: ObjectRef,
    /// The condition it must have, if any.
    pub condition: Option<WantedCondition>,
}

/// A condition a waited-for object must carry in `status.conditions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedCondition {
    /// Its `type`.
    pub type_: String,
    /// Its `status`: `True`, `False` or `Unknown`.
    pub status: String,
}

impl Wait {
    /// Whether `found`, the object as read (`None`: it does not exist),
    /// satisfies this entry: it exists and, when a condition is wanted,
    /// its first `status.conditions` entry of that type has that status.
    pub fn met_by(&self, found: Option<&DynamicObject>) -> bool {
        let Some(object) = found else {
            return false;
        };
        let Some(wanted) = &self.condition else {
            return true;
        };
        object.data["status"]["conditions"]
            .as_array()
            .and_then(|list| list.iter().find(|c| c["type"] == wanted.type_.as_str()))
            .is_some_and(|c| c["status"] == wanted.status.as_str())
    }

    /// The `Resolved=False/Pending` message while this entry is not met:
    /// the spec's `waiting for resource` for plain existence, else which
    /// object and which condition.
    pub fn pending_message(&self) -> String {
        match &self.condition {
            None => message::WAITING_FOR_RESOURCE.to_string(),
            Some(_) => format!("waiting for {self}"),
        }
    }
}

/// `Job app/migrate` or `Job app/migrate to be Complete=True`.
impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.object)?;
        match &self.condition {
            Some(c) => write!(f, " to be {}={}", c.type_, c.status),
            None => Ok(()),
        }
    }
}

/// Why a DR gave up: what its last look found.
#[derive(Clone, Copy, Debug)]
pub enum LastLook<'a> {
    /// This `waitFor` entry was not met.
    Waiting(&'a Wait),
    /// The look failed with this message (redacted when it is shown).
    Failed(&'a str),
}

/// The `Failed` message of a DR that gave up after `fail_after` seconds.
pub fn gave_up_message(fail_after: u64, last: LastLook<'_>) -> String {
    match last {
        LastLook::Waiting(wait) => format!("gave up after {fail_after} s waiting for {wait}"),
        LastLook::Failed(error) => format!("gave up after {fail_after} s, last error: {error}"),
    }
}

/// Checks `dr`'s spec; the error names the field to fix.
pub fn plan(dr: &DeferredResource) -> Result<Plan, String> {
    let namespace = dr.namespace().unwrap_or_default();
    let wait_for = dr
        .spec
        .wait_for
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, wanted)| waited(i, wanted, &namespace))
        .collect::<Result<_, _>>()?;
    let object = forced_namespace(dr.spec.resource.as_ref(), &namespace)?;
    let target = ObjectRef::of(&object).map_err(|e| match e {
        Error::Incomplete { field } => format!("spec.resource has no {field}"),
        other => format!("spec.resource: {other}"),
    })?;
    check_fail_after(dr)?;
    let mode = dr.spec.mode().map_err(|other| {
        format!("spec.mode must be {CREATE_ONCE} or {KEEP_APPLIED}, not {other:?}")
    })?;
    Ok(Plan {
        object,
        target,
        wait_for,
        mode,
    })
}

/// `spec.failAfter` is not negative and, when both are set, not less than
/// `spec.timeout`: the DR would give up before its first look.
fn check_fail_after(dr: &DeferredResource) -> Result<(), String> {
    let Some(fail_after) = dr.spec.fail_after else {
        return Ok(());
    };
    if fail_after < 0 {
        return Err(format!(
            "spec.failAfter must not be negative (seconds; 0 never gives up), not {fail_after}"
        ));
    }
    match seconds(dr.spec.timeout) {
        Some(timeout) if fail_after > 0 && fail_after.unsigned_abs() < timeout => Err(format!(
            "spec.failAfter ({fail_after}) must not be less than spec.timeout ({timeout})"
        )),
        _ => Ok(()),
    }
}

/// Values of a condition's `status` (Kubernetes API conventions).
const CONDITION_STATUSES: [&str; 3] = ["True", "False", "Unknown"];

/// The checked `waitFor[index]`; `namespace` is the DR's.
fn waited(index: usize, wanted: &WaitFor, namespace: &str) -> Result<Wait, String> {
    let missing = |field: &str| format!("spec.waitFor[{index}] has no {field}");
    let api_version = wanted.effective_api_version();
    if api_version.is_empty() || api_version.ends_with('/') {
        return Err(missing("apiVersion (or version)"));
    }
    let field = |value: &Option<String>, name: &str| {
        value
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing(name))
    };
    let kind = field(&wanted.kind, "kind")?;
    let name = field(&wanted.name, "name")?;
    let namespace = wanted
        .namespace
        .as_deref()
        .filter(|ns| !ns.is_empty())
        .unwrap_or(namespace);
    let condition = match &wanted.condition {
        None => None,
        Some(condition) => {
            let type_ = field(&condition.type_, "condition.type")?;
            let status = condition.status();
            if !CONDITION_STATUSES.contains(&status) {
                return Err(format!(
                    "spec.waitFor[{index}].condition.status must be True, False or Unknown, \
                     not {status:?}"
                ));
            }
            Some(WantedCondition {
                type_,
                status: status.to_string(),
            })
        }
    };
    Ok(Wait {
        object: ObjectRef::new(api_version, kind, Some(namespace), name),
        condition,
    })
}

/// `resource` with `metadata.namespace` set to `namespace`.
fn forced_namespace(resource: Option<&Value>, namespace: &str) -> Result<Value, String> {
    let mut object = resource.cloned().ok_or("spec.resource is not set")?;
    let Some(fields) = object.as_object_mut() else {
        return Err(format!(
            "spec.resource must be an object (a manifest), not {}",
            json_type(&object)
        ));
    };
    let metadata = fields.entry("metadata").or_insert_with(|| json!({}));
    let Some(metadata) = metadata.as_object_mut() else {
        return Err("spec.resource.metadata must be an object".to_string());
    };
    metadata.insert("namespace".to_string(), json!(namespace));
    Ok(object)
}

/// How a JSON value's type reads in a message.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The object this DR created, as its status records it: none when it
/// resolved to a pre-existing object.
fn created_by_us(status: &DeferredResourceStatus) -> Option<&CreatedObject> {
    status
        .owner_references
        .as_ref()
        .filter(|o| status.preexisting != Some(true) && !o.uid.is_empty())
}

/// The object this DR created before, when its resource no longer
/// resolves to it: what exists under the resource's name now (`existing_uid`)
/// is another object, or nothing. It is deleted before the resource is
/// applied, so a failed delete leaves the status pointing at it for the
/// retry. (When it is merely gone already, the delete finds nothing.)
pub fn replaced<'s>(
    status: &'s DeferredResourceStatus,
    existing_uid: Option<&str>,
) -> Option<&'s CreatedObject> {
    created_by_us(status).filter(|c| Some(c.uid.as_str()) != existing_uid)
}

/// `Resolved=False/Pending` with `message`, `Failed` cleared. The record of
/// an object created for an earlier generation stays.
pub fn pending(status: &mut DeferredResourceStatus, message: &str, generation: Option<i64>) {
    let waiting = status::Desired::resolved(false, reason::PENDING, message);
    status::set_main(&mut status.conditions, waiting, generation);
}

/// `Resolved=True/Success`, `Failed` cleared, and the object recorded.
pub fn resolved(
    status: &mut DeferredResourceStatus,
    object: CreatedObject,
    preexisting: bool,
    generation: Option<i64>,
) {
    let success = status::Desired::resolved(true, reason::SUCCESS, message::SUCCESS);
    status::set_main(&mut status.conditions, success, generation);
    status.owner_references = Some(object);
    status.preexisting = preexisting.then_some(true);
}

/// The failure transition: `Failed` carries `text`, and `Resolved`
/// becomes `Error/failed` (when present), unless it is `True` at
/// `generation`: then a `keepApplied` repair failed, and the object that
/// was created stays resolved.
pub fn failed(status: &mut DeferredResourceStatus, text: &str, generation: Option<i64>) {
    let resolved_now = status::find(status.conditions.as_ref(), RESOLVED)
        .is_some_and(|c| c.status == "True" && c.observed_generation == generation);
    if resolved_now {
        status::set(
            &mut status.conditions,
            status::Desired::failed(text),
            generation,
        );
    } else {
        status::set_error(
            &mut status.conditions,
            RESOLVED,
            message::FAILED,
            text,
            generation,
        );
    }
}

/// The give-up transition (`failAfter`): `Resolved=False/Error/gave up`
/// at `generation`, which [`decide`] reads as "no more looks", and
/// `Failed` with `text`. The record of an object created for an earlier
/// generation stays (it is still deleted with the DR).
pub fn gave_up(status: &mut DeferredResourceStatus, text: &str, generation: Option<i64>) {
    let given_up = status::Desired::resolved(false, reason::ERROR, message::GAVE_UP);
    status::set(&mut status.conditions, given_up, generation);
    status::set(
        &mut status.conditions,
        status::Desired::failed(text),
        generation,
    );
}

/// Hides the values of a Secret manifest's `data` and `stringData` in
/// messages: a server error may quote them.
fn redactor(dr: &DeferredResource) -> Redactor {
    let Some(resource) = dr.spec.resource.as_ref().filter(|r| r["kind"] == "Secret") else {
        return Redactor::default();
    };
    let values = ["data", "stringData"]
        .into_iter()
        .filter_map(|field| resource[field].as_object())
        .flat_map(|map| map.values().filter_map(Value::as_str));
    Redactor::new(values)
}

/// What a pass looks up for `dr`: the `waitFor` objects and the resource's
/// target, when the DR may look at them (it is not done, has not given up
/// and is not being deleted). Nothing for a bad spec.
pub fn lookups(dr: &DeferredResource) -> Vec<ObjectRef> {
    let settled = resolved_now(dr) && !matches!(dr.spec.mode(), Ok(DeferredMode::KeepApplied));
    if dr.meta().deletion_timestamp.is_some() || settled || gave_up_now(dr) {
        return Vec::new();
    }
    let Ok(plan) = plan(dr) else {
        return Vec::new();
    };
    let waits = plan.wait_for.into_iter().map(|w| w.object);
    waits.chain([plan.target]).collect()
}

/// The DR's pass, decided from its snapshot: the status, the one child
/// (the resource, or the deletion of the object created before) and when
/// to look again. `poll` is how often a waiting DR looks again and a
/// `keepApplied` one applies again.
pub fn sync(
    snapshot: &Snapshot<DeferredResource>,
    poll: Duration,
) -> Desired<DeferredResourceStatus> {
    let dr = &snapshot.parent;
    let mut pass = PassOf::new(dr);
    let now = snapshot.now;
    match decide(dr, now) {
        Step::Gone | Step::Done | Step::GaveUp | Step::AddFinalizer => {}
        Step::Finalize => pass.finalize(snapshot),
        Step::Delay(left) => match plan(dr) {
            Ok(_) => {
                pass.change(|s, g| pending(s, message::WAITING_FOR_TIMEOUT, g));
                pass.wake_in(now, left);
            }
            Err(invalid) => pass.fail(&invalid),
        },
        Step::Resolve { last } => match plan(dr) {
            Ok(plan) => pass.resolve(snapshot, &plan, last, poll),
            Err(invalid) if last => pass.give_up(LastLook::Failed(&invalid)),
            Err(invalid) => pass.fail(&invalid),
        },
        Step::Repair => match plan(dr) {
            Ok(plan) => {
                pass.apply(snapshot, &plan, false);
                pass.wake_in(now, poll);
            }
            Err(invalid) => pass.fail(&invalid),
        },
    }
    pass.desired
}

/// A pass being decided: the DR, its redactor, and what it will ask for.
struct PassOf<'d> {
    dr: &'d DeferredResource,
    redactor: Redactor,
    desired: Desired<DeferredResourceStatus>,
}

impl<'d> PassOf<'d> {
    fn new(dr: &'d DeferredResource) -> Self {
        PassOf {
            dr,
            redactor: redactor(dr),
            desired: Desired::status(dr.status.clone().unwrap_or_default()),
        }
    }

    /// Changes the status at the DR's generation.
    fn change(&mut self, change: impl FnOnce(&mut DeferredResourceStatus, Option<i64>)) {
        change(&mut self.desired.status, self.dr.meta().generation);
    }

    fn wake_in(&mut self, now: Timestamp, after: Duration) {
        let after = jiff::SignedDuration::try_from(after).unwrap_or(jiff::SignedDuration::MAX);
        self.desired.wake_at = Some(now.checked_add(after).unwrap_or(Timestamp::MAX));
    }

    /// Looks at the `waitFor` objects, then applies the resource; while an
    /// object is missing or lacks its condition the DR stays pending, or
    /// gives up on its `last` look.
    fn resolve(
        &mut self,
        snapshot: &Snapshot<DeferredResource>,
        plan: &Plan,
        last: bool,
        poll: Duration,
    ) {
        for wait in &plan.wait_for {
            match snapshot.lookup(&wait.object) {
                Ok(found) if wait.met_by(found) => continue,
                Ok(_) if last => return self.give_up(LastLook::Waiting(wait)),
                Ok(_) => {
                    let message = wait.pending_message();
                    self.change(|s, g| pending(s, &message, g));
                    self.wake_in(snapshot.now, next_look(self.dr, snapshot.now, poll));
                }
                Err(error) if last => self.give_up(LastLook::Failed(error)),
                Err(error) => self.fail(error),
            }
            return;
        }
        self.apply(snapshot, plan, last);
        if plan.mode == DeferredMode::KeepApplied {
            self.wake_in(snapshot.now, poll);
        }
    }

    /// Asks for the resource (unless someone else's object has its name:
    /// then that one is recorded as pre-existing), after deleting the
    /// object this DR created before under another name, and records what
    /// the runtime did as `Resolved=True`. `keepApplied` applies are forced
    /// (see the module docs).
    fn apply(&mut self, snapshot: &Snapshot<DeferredResource>, plan: &Plan, last: bool) {
        let status = self.dr.status.clone().unwrap_or_default();
        let existing = match snapshot.lookup(&plan.target) {
            Ok(found) => found,
            Err(error) if last => return self.give_up(LastLook::Failed(error)),
            Err(error) => return self.fail(error),
        };
        let existing_uid = existing.and_then(|o| o.metadata.uid.as_deref());
        if let Some(old) = replaced(&status, existing_uid) {
            let object = created_ref(self.dr, old);
            if let Some(Outcome::Failed(failure)) = snapshot.outcome(&object) {
                return self.fail(&failure.message);
            }
            self.desired.children.push(Child::Delete {
                object,
                uid: old.uid.clone(),
                orphan: false,
            });
        }
        let mut child = Child::apply(plan.object.clone())
            .unmarked()
            .owning(created_by_us(&status).map(|c| c.uid.clone()));
        if plan.mode == DeferredMode::KeepApplied {
            child = child.forced();
        }
        self.desired.children.push(child);
        let (uid, preexisting) = match snapshot.outcome(&plan.target) {
            Some(Outcome::Applied { uid, .. } | Outcome::Unchanged { uid }) => (uid.clone(), false),
            Some(Outcome::Conflict { uid }) => (uid.clone(), true),
            Some(Outcome::Failed(failure)) if last => {
                return self.give_up(LastLook::Failed(&failure.message));
            }
            Some(Outcome::Failed(failure)) => return self.fail(&failure.message),
            // Not applied yet (the first call): the status comes after.
            Some(Outcome::Deleted) | None => return,
        };
        let record = CreatedObject {
            api_version: plan.target.api_version.clone(),
            kind: plan.target.kind.clone(),
            name: plan.target.name.clone(),
            uid,
        };
        self.change(|s, g| resolved(s, record, preexisting, g));
    }

    /// Deletion: delete the object this DR created (if it still is the
    /// same object); a failure keeps the finalizer for a retry.
    fn finalize(&mut self, snapshot: &Snapshot<DeferredResource>) {
        let status = self.dr.status.clone().unwrap_or_default();
        let Some(created) = created_by_us(&status) else {
            return;
        };
        let object = created_ref(self.dr, created);
        if let Some(Outcome::Failed(failure)) = snapshot.outcome(&object) {
            self.fail(&failure.message);
        }
        self.desired.children.push(Child::Delete {
            object,
            uid: created.uid.clone(),
            orphan: false,
        });
    }

    /// Gives up (`failAfter`): the status says so and why, with a Warning
    /// Event, and the DR is not looked at again until its spec changes.
    fn give_up(&mut self, last: LastLook<'_>) {
        let fail_after = seconds(self.dr.spec.fail_after).unwrap_or_default();
        let text = gave_up_message(fail_after, last);
        self.show_failure(&text, gave_up);
    }

    /// A failed pass: `Failed` with the message and `Resolved=Error` (see
    /// [`failed`]), retried after a backoff.
    fn fail(&mut self, text: &str) {
        self.show_failure(text, failed);
        self.desired.retry = true;
    }

    /// Writes the failure `text` (redacted here) into the status with
    /// `change`, plus a Warning Event when that changed the status, so a
    /// failure that repeats is recorded once.
    fn show_failure(
        &mut self,
        text: &str,
        change: fn(&mut DeferredResourceStatus, &str, Option<i64>),
    ) {
        let text = self.redactor.redact(text);
        let before = self.desired.status.clone();
        self.change(|s, g| change(s, &text, g));
        if self.desired.status != before {
            self.desired.events.push(Event::warning("Failed", text));
        }
    }
}

/// The identity of the object this DR created, in its namespace.
fn created_ref(dr: &DeferredResource, created: &CreatedObject) -> ObjectRef {
    ObjectRef::new(
        &created.api_version,
        &created.kind,
        dr.namespace().as_deref(),
        &created.name,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use integration_api::{DeferredResourceSpec, FINALIZER, WaitForCondition};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const CREATED: &str = "2024-01-01T00:00:00Z";
    /// A look that is not the last.
    const RESOLVE: Step = Step::Resolve { last: false };
    const LAST_LOOK: Step = Step::Resolve { last: true };

    fn at(seconds_after_creation: i64) -> Timestamp {
        let created: Timestamp = CREATED.parse().unwrap();
        created + jiff::SignedDuration::from_secs(seconds_after_creation)
    }

    /// A16's DR, with our finalizer, at generation 1.
    fn dr() -> DeferredResource {
        serde_json::from_value(json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "DeferredResource",
            "metadata": {"name": "late-cm", "namespace": "app", "generation": 1,
                         "creationTimestamp": CREATED, "finalizers": [FINALIZER]},
            "spec": {
                "serviceAccountName": "integrator", "timeout": 5,
                "waitFor": [{"apiVersion": "v1", "kind": "Secret", "name": "db-credentials"}],
                "resource": {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "late-cm", "namespace": "somewhere-else"},
                             "data": {"hello": "world"}}
            }
        }))
        .unwrap()
    }

    fn record(uid: &str) -> CreatedObject {
        CreatedObject {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "late-cm".into(),
            uid: uid.into(),
        }
    }

    /// `type/status/reason/message` of each condition.
    fn summary(status: &DeferredResourceStatus) -> Vec<(&str, &str, &str, &str)> {
        let list = status.conditions.iter().flatten();
        list.map(|c| {
            let fields = [&c.type_, &c.status, &c.reason, &c.message];
            let [t, s, r, m] = fields.map(String::as_str);
            (t, s, r, m)
        })
        .collect()
    }

    fn resolved_dr(uid: &str, preexisting: bool) -> DeferredResource {
        let mut dr = dr();
        let mut status = DeferredResourceStatus::default();
        resolved(&mut status, record(uid), preexisting, Some(1));
        dr.status = Some(status);
        dr
    }

    #[test]
    fn steps_follow_the_lifecycle() {
        let mut fresh = dr();
        fresh.metadata.finalizers = None;
        assert_eq!(decide(&fresh, at(0)), Step::AddFinalizer);
        assert_eq!(decide(&dr(), at(0)), Step::Delay(Duration::from_secs(5)));
        assert_eq!(decide(&dr(), at(3)), Step::Delay(Duration::from_secs(2)));
        assert_eq!(decide(&dr(), at(5)), RESOLVE);
        assert_eq!(decide(&dr(), at(60)), RESOLVE);
        assert_eq!(decide(&resolved_dr("u1", false), at(60)), Step::Done);

        let mut deleting = resolved_dr("u1", false);
        deleting.metadata.deletion_timestamp = Some(Time(at(70)));
        assert_eq!(decide(&deleting, at(70)), Step::Finalize);
        deleting.metadata.finalizers = None;
        assert_eq!(decide(&deleting, at(70)), Step::Gone);
    }

    #[test]
    fn a_spec_edit_resolves_again_and_a_resolved_dr_ignores_the_delay() {
        let mut edited = resolved_dr("u1", false);
        edited.metadata.generation = Some(2);
        assert_eq!(decide(&edited, at(60)), RESOLVE);
        // Resolved at this generation: the delay no longer matters.
        assert_eq!(decide(&resolved_dr("u1", false), at(0)), Step::Done);
    }

    #[test]
    fn delays_that_cannot_count_are_none() {
        for timeout in [None, Some(0), Some(-5)] {
            let mut d = dr();
            d.spec.timeout = timeout;
            assert_eq!(decide(&d, at(0)), RESOLVE, "{timeout:?}");
        }
        // A clock behind the creation time waits the whole delay, no more.
        assert_eq!(decide(&dr(), at(-30)), Step::Delay(Duration::from_secs(5)));
        let mut huge = dr();
        huge.spec.timeout = Some(i64::MAX);
        assert!(matches!(decide(&huge, at(0)), Step::Delay(_)));
    }

    #[test]
    fn a_failed_resolution_is_retried() {
        let mut failed = resolved_dr("u1", false);
        let status = failed.status.as_mut().unwrap();
        status::set_error(&mut status.conditions, RESOLVED, "failed", "boom", Some(1));
        assert_eq!(decide(&failed, at(60)), RESOLVE);
        let list = failed.status.unwrap().conditions.unwrap();
        let summary: Vec<_> = list
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_str()))
            .collect();
        assert_eq!(
            summary,
            [("Resolved", "False", "Error"), ("Failed", "True", "Error")]
        );
    }

    #[test]
    fn the_plan_forces_the_namespace() {
        let plan = plan(&dr()).unwrap();
        assert_eq!(plan.object["metadata"]["namespace"], "app");
        assert_eq!(plan.object["data"], json!({"hello": "world"}));
        assert_eq!(plan.target.to_string(), "ConfigMap app/late-cm");
        assert_eq!(plan.wait_for.len(), 1);
        assert_eq!(plan.wait_for[0].to_string(), "Secret app/db-credentials");
    }

    #[test]
    fn bad_specs_name_the_field() {
        let cases: [(&str, Value); 7] = [
            ("/spec/resource/metadata/name", Value::Null),
            ("/spec/resource/kind", json!("")),
            ("/spec/resource/metadata", json!("late-cm")),
            ("/spec/resource", json!("{\"apiVersion\": \"v1\"")),
            ("/spec/waitFor/0/kind", Value::Null),
            ("/spec/waitFor/0/apiVersion", Value::Null),
            ("/spec/waitFor/0/name", json!("")),
        ];
        let expected = [
            "spec.resource has no metadata.name",
            "spec.resource has no kind",
            "spec.resource.metadata must be an object",
            "spec.resource must be an object (a manifest), not a string",
            "spec.waitFor[0] has no kind",
            "spec.waitFor[0] has no apiVersion (or version)",
            "spec.waitFor[0] has no name",
        ];
        for ((pointer, value), message) in cases.into_iter().zip(expected) {
            let mut doc = serde_json::to_value(dr()).unwrap();
            *doc.pointer_mut(pointer).unwrap() = value;
            let d: DeferredResource = serde_json::from_value(doc).unwrap();
            assert_eq!(plan(&d).unwrap_err(), message, "{pointer}");
        }
        let mut unset = dr();
        unset.spec.resource = None;
        assert_eq!(plan(&unset).unwrap_err(), "spec.resource is not set");
    }

    #[test]
    fn only_objects_this_dr_created_are_replaced() {
        let ours = resolved_dr("u1", false).status.unwrap();
        assert_eq!(replaced(&ours, Some("u1")), None);
        assert_eq!(replaced(&ours, Some("u2")), Some(&record("u1")));
        assert_eq!(replaced(&ours, None), Some(&record("u1")));

        let theirs = resolved_dr("u1", true).status.unwrap();
        assert_eq!(replaced(&theirs, Some("u2")), None);
        assert_eq!(replaced(&theirs, None), None);
        assert_eq!(theirs.preexisting, Some(true));
    }

    #[test]
    fn pending_keeps_the_record_and_repeats_are_no_ops() {
        let mut status = resolved_dr("u1", false).status.unwrap();
        pending(&mut status, message::WAITING_FOR_RESOURCE, Some(2));
        let before = status.clone();
        pending(&mut status, message::WAITING_FOR_RESOURCE, Some(2));
        assert_eq!(status, before);
        assert_eq!(status.owner_references, Some(record("u1")));
        let resolved_condition = status::find(status.conditions.as_ref(), RESOLVED).unwrap();
        assert_eq!(
            (
                resolved_condition.status.as_str(),
                resolved_condition.reason.as_str()
            ),
            ("False", "Pending")
        );
    }

    #[test]
    fn fail_after_makes_one_last_look_then_gives_up_until_the_spec_changes() {
        let mut d = dr();
        d.spec.fail_after = Some(30);
        assert_eq!(decide(&d, at(0)), Step::Delay(Duration::from_secs(5)));
        assert_eq!(decide(&d, at(29)), RESOLVE);
        assert_eq!(decide(&d, at(30)), LAST_LOOK);
        assert_eq!(decide(&d, at(3000)), LAST_LOOK);

        let mut status = DeferredResourceStatus::default();
        pending(&mut status, message::WAITING_FOR_RESOURCE, Some(1));
        gave_up(&mut status, "gave up after 30 s waiting for x", Some(1));
        let before = status.clone();
        gave_up(&mut status, "gave up after 30 s waiting for x", Some(1));
        assert_eq!(status, before, "giving up again writes nothing");
        assert_eq!(
            summary(&status),
            [
                ("Resolved", "False", "Error", "gave up"),
                (
                    "Failed",
                    "True",
                    "Error",
                    "gave up after 30 s waiting for x"
                )
            ]
        );
        d.status = Some(status);
        assert_eq!(decide(&d, at(30)), Step::GaveUp);
        assert_eq!(decide(&d, at(3000)), Step::GaveUp);

        // A spec edit: one more look; raising failAfter waits on.
        d.metadata.generation = Some(2);
        assert_eq!(decide(&d, at(40)), LAST_LOOK);
        d.spec.fail_after = Some(60);
        assert_eq!(decide(&d, at(40)), RESOLVE);
        // A transient error is not giving up.
        let status = d.status.as_mut().unwrap();
        failed(status, "boom", Some(2));
        assert_eq!(decide(&d, at(40)), RESOLVE);

        // Resolved in time: failAfter no longer matters. 0 never gives up.
        let mut done = resolved_dr("u1", false);
        done.spec.fail_after = Some(30);
        assert_eq!(decide(&done, at(3000)), Step::Done);
        let mut never = dr();
        never.spec.fail_after = Some(0);
        assert_eq!(decide(&never, at(3000)), RESOLVE);
    }

    #[test]
    fn a_pending_dr_looks_again_at_the_poll_or_its_fail_after_time() {
        let poll = Duration::from_secs(10);
        assert_eq!(next_look(&dr(), at(25), poll), poll);
        let mut d = dr();
        d.spec.fail_after = Some(30);
        assert_eq!(next_look(&d, at(10), poll), poll);
        assert_eq!(next_look(&d, at(25), poll), Duration::from_secs(5));
    }

    #[test]
    fn keep_applied_repairs_and_a_failed_repair_stays_resolved() {
        let mut keep = resolved_dr("u1", false);
        keep.spec.mode = Some(KEEP_APPLIED.into());
        keep.spec.fail_after = Some(30);
        assert_eq!(decide(&keep, at(3000)), Step::Repair);
        assert_eq!(plan(&keep).unwrap().mode, DeferredMode::KeepApplied);
        assert_eq!(plan(&dr()).unwrap().mode, DeferredMode::CreateOnce);

        let status = keep.status.as_mut().unwrap();
        failed(status, "apply: Forbidden", Some(1));
        assert_eq!(
            summary(status),
            [
                ("Resolved", "True", "Success", "success"),
                ("Failed", "True", "Error", "apply: Forbidden")
            ]
        );
        assert_eq!(decide(&keep, at(3000)), Step::Repair, "retried as a repair");
        // The next good repair clears Failed.
        let status = keep.status.as_mut().unwrap();
        resolved(status, record("u1"), false, Some(1));
        assert_eq!(
            summary(status),
            [("Resolved", "True", "Success", "success")]
        );

        // Resolved at an older generation: a failure is an error as before.
        let mut edited = resolved_dr("u1", false).status.unwrap();
        failed(&mut edited, "boom", Some(2));
        assert_eq!(
            summary(&edited),
            [
                ("Resolved", "False", "Error", "failed"),
                ("Failed", "True", "Error", "boom")
            ]
        );
    }

    fn job(status: Value) -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "db"}, "status": status}))
        .unwrap()
    }

    #[test]
    fn waits_are_met_by_existence_or_by_the_condition() {
        let mut d = dr();
        d.spec.wait_for = Some(vec![
            serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret", "name": "s",
                "namespace": ""}))
            .unwrap(),
            serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "Job",
                "name": "migrate", "namespace": "db", "condition": {"type": "Complete"}}))
            .unwrap(),
            serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "Job",
                "name": "migrate", "namespace": "db",
                "condition": {"type": "Failed", "status": "False"}}))
            .unwrap(),
        ]);
        let plan = plan(&d).unwrap();
        let [exists, complete, not_failed] = &plan.wait_for[..] else {
            panic!("{:?}", plan.wait_for)
        };
        assert_eq!(exists.object.to_string(), "Secret app/s", "empty: the DR's");
        assert_eq!(complete.object.namespace.as_deref(), Some("db"));

        let running = job(json!({"active": 1}));
        let done = job(json!({"conditions": [
            {"type": "Failed", "status": "False"}, {"type": "Complete", "status": "True"}]}));
        let failing = job(json!({"conditions": [{"type": "Failed", "status": "True"}]}));
        assert!(!exists.met_by(None));
        assert!(exists.met_by(Some(&running)));
        assert!(!complete.met_by(None));
        assert!(!complete.met_by(Some(&running)));
        assert!(!complete.met_by(Some(&failing)));
        assert!(complete.met_by(Some(&done)));
        assert!(not_failed.met_by(Some(&done)));
        assert!(!not_failed.met_by(Some(&failing)));
        assert!(
            !not_failed.met_by(Some(&running)),
            "no condition is not False"
        );

        assert_eq!(exists.pending_message(), "waiting for resource");
        assert_eq!(
            complete.pending_message(),
            "waiting for Job db/migrate to be Complete=True"
        );
        assert_eq!(
            gave_up_message(60, LastLook::Waiting(exists)),
            "gave up after 60 s waiting for Secret app/s"
        );
        assert_eq!(
            gave_up_message(60, LastLook::Waiting(complete)),
            "gave up after 60 s waiting for Job db/migrate to be Complete=True"
        );
        assert_eq!(
            gave_up_message(60, LastLook::Failed("kind Widget is not served")),
            "gave up after 60 s, last error: kind Widget is not served"
        );
    }

    #[test]
    fn bad_additions_name_the_field() {
        type Edit = fn(&mut DeferredResourceSpec);
        let cases: [(Edit, &str); 6] = [
            (
                |s| s.fail_after = Some(-5),
                "spec.failAfter must not be negative (seconds; 0 never gives up), not -5",
            ),
            (
                |s| s.fail_after = Some(3),
                "spec.failAfter (3) must not be less than spec.timeout (5)",
            ),
            (
                |s| s.mode = Some("always".into()),
                "spec.mode must be createOnce or keepApplied, not \"always\"",
            ),
            (
                |s| s.wait_for.as_mut().unwrap()[0].condition = Some(WaitForCondition::default()),
                "spec.waitFor[0] has no condition.type",
            ),
            (
                |s| {
                    s.wait_for.as_mut().unwrap()[0].condition = Some(WaitForCondition {
                        type_: Some("Ready".into()),
                        status: Some("true".into()),
                    })
                },
                "spec.waitFor[0].condition.status must be True, False or Unknown, not \"true\"",
            ),
            (
                |s| s.mode = Some("KeepApplied".into()),
                "spec.mode must be createOnce or keepApplied, not \"KeepApplied\"",
            ),
        ];
        for (edit, message) in cases {
            let mut d = dr();
            edit(&mut d.spec);
            assert_eq!(plan(&d).unwrap_err(), message);
        }
        for fine in [Some(0), Some(5), Some(i64::MAX), None] {
            let mut d = dr();
            d.spec.fail_after = fine;
            assert!(plan(&d).is_ok(), "{fine:?}");
        }
    }

    #[test]
    fn secret_values_are_redacted() {
        let mut d = dr();
        d.spec.resource = Some(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s"}, "stringData": {"password": "hunter2-hunter2"}}));
        assert!(
            !redactor(&d)
                .redact("x hunter2-hunter2 y")
                .contains("hunter2")
        );
        assert_eq!(redactor(&dr()).redact("world"), "world");
    }

    /// A snapshot of `dr` at `seconds` after creation, its lookups found
    /// as `found` says (`None`: absent).
    fn snapshot(
        dr: DeferredResource,
        seconds: i64,
        found: &[(&str, Option<&str>)],
    ) -> Snapshot<DeferredResource> {
        let mut snap = Snapshot::new(dr, at(seconds));
        for (kind, uid) in found {
            let (api_version, name) = match *kind {
                "Secret" => ("v1", "db-credentials"),
                _ => ("v1", "late-cm"),
            };
            let object = ObjectRef::new(api_version, *kind, Some("app"), name);
            let live = uid.map(|uid| {
                serde_json::from_value(json!({"apiVersion": api_version, "kind": kind,
                    "metadata": {"name": name, "namespace": "app", "uid": uid}}))
                .unwrap()
            });
            snap.lookups.insert(object, Ok(live));
        }
        snap
    }

    fn target() -> ObjectRef {
        ObjectRef::new("v1", "ConfigMap", Some("app"), "late-cm")
    }

    #[test]
    fn sync_waits_then_asks_for_the_resource_and_records_what_the_runtime_did() {
        let poll = Duration::from_secs(10);
        // Before the delay: pending, woken when it ends, nothing asked for.
        let early = sync(&snapshot(dr(), 2, &[]), poll);
        assert!(early.children.is_empty());
        assert_eq!(early.wake_at, Some(at(5)));
        assert_eq!(summary(&early.status)[0].3, "waiting for timeout");

        // The Secret is missing: pending, looked at again after the poll.
        let waiting = sync(&snapshot(dr(), 6, &[("Secret", None)]), poll);
        assert!(waiting.children.is_empty());
        assert_eq!(waiting.wake_at, Some(at(16)));
        assert_eq!(summary(&waiting.status)[0].3, "waiting for resource");

        // It exists: the resource is asked for, unmarked, owning nothing yet.
        let mut ready = snapshot(dr(), 6, &[("Secret", Some("s1")), ("ConfigMap", None)]);
        let first = sync(&ready, poll);
        let [Child::Apply(apply)] = &first.children[..] else {
            panic!("{:?}", first.children)
        };
        assert!(!apply.mark && !apply.force && apply.owned_uid.is_none());
        assert_eq!(apply.object["metadata"]["namespace"], "app");

        // Created: resolved with the new object's uid.
        let created = Outcome::Applied {
            uid: "u1".into(),
            drift: None,
        };
        ready.applied.insert(target(), created);
        let done = sync(&ready, poll);
        assert_eq!(
            summary(&done.status)[0],
            ("Resolved", "True", "Success", "success")
        );
        assert_eq!(done.status.owner_references.as_ref().unwrap().uid, "u1");
        assert_eq!(done.status.preexisting, None);
        assert_eq!(done.wake_at, None, "createOnce: nothing more to do");

        // Someone else's object had the name: pre-existing, left alone.
        ready.applied.insert(
            target(),
            Outcome::Conflict {
                uid: "theirs".into(),
            },
        );
        let theirs = sync(&ready, poll);
        assert_eq!(theirs.status.preexisting, Some(true));
        assert_eq!(
            theirs.status.owner_references.as_ref().unwrap().uid,
            "theirs"
        );
    }

    #[test]
    fn sync_reports_a_failed_apply_once_and_retries() {
        let mut waited = dr();
        let mut status = DeferredResourceStatus::default();
        pending(&mut status, message::WAITING_FOR_TIMEOUT, Some(1));
        waited.status = Some(status);
        let mut snap = snapshot(waited, 6, &[("Secret", Some("s1")), ("ConfigMap", None)]);
        let failure = kube_declarative::Failure {
            message: "apply ConfigMap app/late-cm: Forbidden: no".into(),
            reason: "Forbidden".into(),
            code: 403,
        };
        snap.applied.insert(target(), Outcome::Failed(failure));
        let failed = sync(&snap, Duration::from_secs(10));
        assert!(failed.retry, "backs off and tries again");
        assert_eq!(
            summary(&failed.status),
            [
                ("Resolved", "False", "Error", "failed"),
                (
                    "Failed",
                    "True",
                    "Error",
                    "apply ConfigMap app/late-cm: Forbidden: no"
                )
            ]
        );
        assert_eq!(
            failed.events,
            [Event::warning(
                "Failed",
                "apply ConfigMap app/late-cm: Forbidden: no"
            )]
        );
        // The same failure again: the status does not change, no new Event.
        let mut again = snap.clone();
        again.parent.status = Some(failed.status.clone());
        assert!(sync(&again, Duration::from_secs(10)).events.is_empty());
    }

    #[test]
    fn sync_deletes_only_what_it_created_when_the_dr_goes() {
        let mut deleting = resolved_dr("u1", false);
        deleting.metadata.deletion_timestamp = Some(Time(at(70)));
        let gone = sync(
            &snapshot(deleting.clone(), 70, &[]),
            Duration::from_secs(10),
        );
        assert_eq!(
            gone.children,
            [Child::Delete {
                object: target(),
                uid: "u1".into(),
                orphan: false
            }]
        );
        let mut theirs = resolved_dr("u1", true);
        theirs.metadata.deletion_timestamp = Some(Time(at(70)));
        assert!(
            sync(&snapshot(theirs, 70, &[]), Duration::from_secs(10))
                .children
                .is_empty()
        );
        assert!(lookups(&deleting).is_empty(), "a deleting DR reads nothing");
        assert_eq!(
            lookups(&dr()).len(),
            2,
            "the Secret to wait for and the target"
        );
    }
}

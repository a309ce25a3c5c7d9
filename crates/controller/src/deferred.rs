//! The DeferredResource reconciler (§6 with its \[FIX\]es, scenario A16).
//!
//! A DeferredResource creates one object, `spec.resource` with its
//! namespace forced to the DR's, as the DR's service account, once
//! `spec.timeout` seconds have passed since the DR was created and every
//! `spec.waitFor` object exists in its namespace. Like the Plug reconciler,
//! a pass reads the DR fresh, decides from that snapshot and the time
//! ([`decide`], [`plan`]), does the I/O of that one step and writes the
//! status only when it differs. Nothing blocks a worker: the delay is a
//! requeue after the remaining time, and a DR waiting for objects looks
//! again every poll period (`RunOptions::deferred_poll`) with one GET per
//! object and no write while nothing changed (A16).
//!
//! **Once per spec generation** (the spec's `createOnce`): the DR is done
//! when `Resolved=True` carries its current `metadata.generation`. A spec
//! edit makes the next pass check `waitFor` again and apply the new
//! resource (server-side apply, so fields dropped from it are pruned); if
//! the new resource names another object, the one created before is
//! deleted first. Between spec edits nothing is re-applied: no drift repair, and
//! an object someone deleted is not re-created.
//!
//! **Ownership** (decision 4): an object that already exists when the DR
//! would create it is left untouched, counts as Success, and is recorded
//! with `status.preexisting: true`; it is never deleted. Only the object
//! this DR created (its uid is in `status.ownerReferences`) is deleted, with
//! a uid precondition, when the DR is deleted (the DR carries the
//! operator's finalizer until then). An object whose creation the status
//! never recorded (the operator stopped between the apply and the status
//! write) counts as pre-existing: the safe side of that race.
//!
//! Errors (invalid spec, unknown kind, RBAC) show as `Resolved=False/Error`
//! and `Failed=True/Error/<message>`, with a Warning Event when the message
//! changes, and retry with exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use integration_api::condition::{RESOLVED, message, reason};
use integration_api::{CreatedObject, DeferredResource, DeferredResourceStatus, WaitFor};
use integration_engine::Redactor;
use jiff::Timestamp;
use kube::api::{Api, DynamicObject, PostParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::context::{
    Context, ReconcileError, Result, fresh, has_finalizer, object_key, set_finalizer, warn_failed,
};
use crate::error::Error;
use crate::object::ObjectRef;
use crate::objects::Objects;
use crate::status::{self, Desired};

/// Default period after which a DeferredResource waiting for `waitFor`
/// objects looks again (the spec's \[FIX\] asks for 5–30 s).
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
    /// Resolved at the current generation: nothing to do.
    Done,
    /// The minimum delay has not passed; this much of it is left.
    Delay(Duration),
    /// Check the `waitFor` objects, then apply the resource.
    Resolve,
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
        return Step::Done;
    }
    match remaining_delay(dr, now) {
        Some(left) => Step::Delay(left),
        None => Step::Resolve,
    }
}

/// Whether `Resolved=True` carries the DR's current generation.
fn resolved_now(dr: &DeferredResource) -> bool {
    let conditions = dr.status.as_ref().and_then(|s| s.conditions.as_ref());
    status::find(conditions, RESOLVED)
        .is_some_and(|c| c.status == "True" && c.observed_generation == dr.meta().generation)
}

/// What is left at `now` of the minimum delay, `spec.timeout` seconds
/// from `metadata.creationTimestamp`; `None` once it has passed (or when
/// there is none).
fn remaining_delay(dr: &DeferredResource, now: Timestamp) -> Option<Duration> {
    let timeout = u64::try_from(dr.spec.timeout?).ok()?;
    let created = dr.meta().creation_timestamp.as_ref()?.0;
    let elapsed = Duration::try_from(now.duration_since(created)).unwrap_or_default();
    Duration::from_secs(timeout)
        .checked_sub(elapsed)
        .filter(|left| !left.is_zero())
}

/// A DR's request, checked: the manifest to apply (its namespace forced to
/// the DR's), its identity, and the objects to wait for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The manifest to apply.
    pub object: Value,
    /// Its identity.
    pub target: ObjectRef,
    /// The `waitFor` objects, in the DR's namespace.
    pub wait_for: Vec<ObjectRef>,
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
    Ok(Plan {
        object,
        target,
        wait_for,
    })
}

/// The identity of `waitFor[index]`, in `namespace`.
fn waited(index: usize, wanted: &WaitFor, namespace: &str) -> Result<ObjectRef, String> {
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
    Ok(ObjectRef::new(api_version, kind, Some(namespace), name))
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

/// Whether the DR may apply its resource over what exists: nothing (it
/// creates it), or the object it created itself (same uid). Any other
/// object is someone else's (decision 4).
pub fn may_apply(status: &DeferredResourceStatus, existing_uid: Option<&str>) -> bool {
    existing_uid.is_none_or(|uid| created_by_us(status).is_some_and(|c| c.uid == uid))
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
    let waiting = Desired::resolved(false, reason::PENDING, message);
    status::set_main(&mut status.conditions, waiting, generation);
}

/// `Resolved=True/Success`, `Failed` cleared, and the object recorded.
pub fn resolved(
    status: &mut DeferredResourceStatus,
    object: CreatedObject,
    preexisting: bool,
    generation: Option<i64>,
) {
    let success = Desired::resolved(true, reason::SUCCESS, message::SUCCESS);
    status::set_main(&mut status.conditions, success, generation);
    status.owner_references = Some(object);
    status.preexisting = preexisting.then_some(true);
}

/// The record of `object`, which is `target` as the server returned it.
fn record_of(target: &ObjectRef, object: &DynamicObject) -> CreatedObject {
    CreatedObject {
        api_version: target.api_version.clone(),
        kind: target.kind.clone(),
        name: object.name_any(),
        uid: object.uid().unwrap_or_default(),
    }
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

/// Reconciles one DeferredResource; `poll` is how often a DR waiting for
/// objects looks again.
pub async fn reconcile(
    dr: Arc<DeferredResource>,
    ctx: Arc<Context>,
    poll: Duration,
) -> Result<Action> {
    let Some((api, dr)) = fresh(&ctx, dr.as_ref()).await? else {
        return Ok(Action::await_change());
    };
    let key = object_key(&dr);
    let mut pass = Pass {
        ctx: &ctx,
        api,
        dr,
        poll,
    };
    let result = pass.run().await;
    ctx.settle(&key, result, async |err| pass.report(err).await)
        .await
}

/// One reconcile pass over a fresh copy of the DR.
struct Pass<'c> {
    ctx: &'c Context,
    api: Api<DeferredResource>,
    /// The latest DR: replaced by the server's answer after a status write.
    dr: DeferredResource,
    poll: Duration,
}

impl Pass<'_> {
    async fn run(&mut self) -> Result<Action> {
        match decide(&self.dr, Timestamp::now()) {
            Step::Gone | Step::Done => Ok(Action::await_change()),
            Step::AddFinalizer => {
                set_finalizer(&self.api, &self.dr, true).await?;
                Ok(Action::await_change())
            }
            Step::Finalize => self.finalize().await,
            Step::Delay(left) => {
                // A bad spec shows at once, not after the delay.
                plan(&self.dr).map_err(ReconcileError::Invalid)?;
                self.write_status(|s, g| pending(s, message::WAITING_FOR_TIMEOUT, g))
                    .await?;
                // Capped: a huge timeout must not overflow the queue's clock.
                Ok(Action::requeue(left.min(self.ctx.resync)))
            }
            Step::Resolve => {
                let plan = plan(&self.dr).map_err(ReconcileError::Invalid)?;
                self.resolve(plan).await
            }
        }
    }

    /// Objects as the DR's service account.
    fn objects(&self) -> crate::Result<Objects> {
        let namespace = self.dr.namespace().unwrap_or_default();
        let sa = self.dr.spec.service_account_name();
        self.ctx.cluster.objects_as(&namespace, sa)
    }

    /// Waits for the `waitFor` objects, then applies the resource (or
    /// finds it already there) and records it.
    async fn resolve(&mut self, plan: Plan) -> Result<Action> {
        let objects = self.objects()?;
        for wanted in &plan.wait_for {
            if objects.get(wanted).await?.is_none() {
                self.write_status(|s, g| pending(s, message::WAITING_FOR_RESOURCE, g))
                    .await?;
                return Ok(Action::requeue(self.poll));
            }
        }
        let status = self.dr.status.clone().unwrap_or_default();
        let existing = objects.get(&plan.target).await?;
        let existing_uid = existing.as_ref().and_then(|o| o.metadata.uid.as_deref());
        let preexisting = !may_apply(&status, existing_uid);
        if let Some(old) = replaced(&status, existing_uid) {
            self.delete(&objects, old).await?;
        }
        let object = match existing {
            Some(object) if preexisting => object,
            _ => objects.apply(&plan.object).await?,
        };
        let record = record_of(&plan.target, &object);
        self.write_status(|s, g| resolved(s, record, preexisting, g))
            .await?;
        Ok(Action::await_change())
    }

    /// Deletion: delete the object this DR created (if it still is the
    /// same object), then release the DR. An error keeps the finalizer for
    /// a retry.
    async fn finalize(&mut self) -> Result<Action> {
        let status = self.dr.status.clone().unwrap_or_default();
        if let Some(created) = created_by_us(&status) {
            self.delete(&self.objects()?, created).await?;
        }
        set_finalizer(&self.api, &self.dr, false).await?;
        Ok(Action::await_change())
    }

    /// Deletes `created` in the DR's namespace, only while it has the
    /// recorded uid; a missing object is fine.
    async fn delete(&self, objects: &Objects, created: &CreatedObject) -> Result<()> {
        let namespace = self.dr.namespace();
        let object = ObjectRef::new(
            &created.api_version,
            &created.kind,
            namespace.as_deref(),
            &created.name,
        );
        objects.delete_exact(&object, &created.uid).await?;
        Ok(())
    }

    /// Applies `change` to a copy of the status and replaces the status when
    /// the result differs (optimistic lock on resourceVersion). Returns
    /// whether it wrote.
    async fn write_status(
        &mut self,
        change: impl FnOnce(&mut DeferredResourceStatus, Option<i64>),
    ) -> Result<bool> {
        let before = self.dr.status.clone().unwrap_or_default();
        let mut after = before.clone();
        change(&mut after, self.dr.meta().generation);
        if after == before {
            return Ok(false);
        }
        let mut updated = self.dr.clone();
        updated.status = Some(after);
        self.dr = self
            .api
            .replace_status(&self.dr.name_any(), &PostParams::default(), &updated)
            .await
            .map_err(|e| ReconcileError::own("update status of", &self.dr, e))?;
        Ok(true)
    }

    /// Shows a failure: `Resolved=Error` (when present) and `Failed` with
    /// the redacted message, plus a Warning Event when the message is new.
    async fn report(&mut self, err: &ReconcileError) {
        let redactor = redactor(&self.dr);
        let text = redactor.redact(&err.to_string());
        tracing::warn!(deferred_resource = %object_key(&self.dr), error = %text, "deferred resource reconcile failed");
        let written = self
            .write_status(|s, g| {
                status::set_error(&mut s.conditions, RESOLVED, message::FAILED, &text, g);
            })
            .await;
        match written {
            Ok(true) => warn_failed(self.ctx, &self.dr, &text, &redactor).await,
            Ok(false) => {}
            Err(e) => tracing::debug!(error = %e, "writing the failure status failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use integration_api::FINALIZER;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const CREATED: &str = "2024-01-01T00:00:00Z";

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
        assert_eq!(decide(&dr(), at(5)), Step::Resolve);
        assert_eq!(decide(&dr(), at(60)), Step::Resolve);
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
        assert_eq!(decide(&edited, at(60)), Step::Resolve);
        // Resolved at this generation: the delay no longer matters.
        assert_eq!(decide(&resolved_dr("u1", false), at(0)), Step::Done);
    }

    #[test]
    fn delays_that_cannot_count_are_none() {
        for timeout in [None, Some(0), Some(-5)] {
            let mut d = dr();
            d.spec.timeout = timeout;
            assert_eq!(decide(&d, at(0)), Step::Resolve, "{timeout:?}");
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
        assert_eq!(decide(&failed, at(60)), Step::Resolve);
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
    fn only_objects_this_dr_created_are_applied_over_or_deleted() {
        let fresh = DeferredResourceStatus::default();
        assert!(may_apply(&fresh, None));
        assert!(!may_apply(&fresh, Some("u1")), "someone else's object");

        let ours = resolved_dr("u1", false).status.unwrap();
        assert!(may_apply(&ours, Some("u1")));
        assert!(!may_apply(&ours, Some("u2")), "a new object took the name");
        assert_eq!(replaced(&ours, Some("u1")), None);
        assert_eq!(replaced(&ours, Some("u2")), Some(&record("u1")));
        assert_eq!(replaced(&ours, None), Some(&record("u1")));

        let theirs = resolved_dr("u1", true).status.unwrap();
        assert!(!may_apply(&theirs, Some("u1")));
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
}

//! AP2's "never Running early": over generated Deployments and
//! StatefulSets, whenever [`workload`] says `Running`, a port of kstatus
//! says `Current` and a port of `kubectl rollout status` says done. Our
//! rules are meant to be the union of theirs, so `Running` implies both.
//!
//! The generated objects are what an API server could return: the
//! workload controllers' conditions only (no `Reconciling`/`Stalled` on a
//! Deployment), `observedGeneration` never above `generation`, any counts.
//! Spec fields the server defaults (`replicas`, `updateStrategy`,
//! `progressDeadlineSeconds`) are sometimes missing, as an emulator may
//! leave them, to check that reading them as the defaults stays safe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};
use workload_health::{Kind, Phase, Previous, reason, workload};

/// A port of kstatus (`sigs.k8s.io/cli-utils/pkg/kstatus/status`,
/// `Compute`) for Deployments and StatefulSets, written from its
/// documented rules. Rules ported, in order:
///
/// Generic (`checkGenericProperties`):
/// 1. `metadata.deletionTimestamp` set → `Terminating`.
/// 2. `metadata.generation` present and `status.observedGeneration`
///    present and different → `InProgress` (`LatestGenerationNotObserved`);
///    an absent `observedGeneration` skips the check.
/// 3. A condition `Reconciling=True` → `InProgress`; `Stalled=True` →
///    `Failed`.
///
/// Deployment (`deploymentConditions`; spec.replicas defaults to 1,
/// status counts to 0):
/// 1. `Progressing` reason `ProgressDeadlineExceeded` → `Failed`.
/// 2. progressing := `spec.progressDeadlineSeconds` (default
///    `MaxInt32`) is `MaxInt32`, or `Progressing=True` with reason
///    `NewReplicaSetAvailable`; available := `Available=True`.
/// 3. `spec > status.replicas` → `LessReplicas`; `spec > updated` →
///    `LessUpdated`; `status.replicas > spec` → `ExtraPods`; `updated >
///    available` → `LessAvailable`; `spec > ready` → `LessReady`; not
///    progressing → `ReplicaSetNotAvailable`; not available →
///    `DeploymentNotAvailable`; else `Current`.
///
/// StatefulSet (`stsConditions`; partition defaults to -1):
/// 1. `updateStrategy.type` `OnDelete` → `Current`.
/// 2. `spec > status.replicas` → `LessReplicas`; `spec > ready` →
///    `LessReady`; `status.replicas > spec` → `ExtraPods`.
/// 3. partition set: `updated < spec - partition` → `PartitionRollout`,
///    else `Current`.
/// 4. `spec > current` → `LessCurrent`; `currentRevision !=
///    updateRevision` → `RevisionMismatch`; else `Current`.
mod kstatus {
    use serde_json::Value;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Status {
        InProgress(&'static str),
        Current,
        Failed(&'static str),
        Terminating,
    }

    fn int(obj: &Value, pointer: &str, default: i64) -> i64 {
        obj.pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or(default)
    }

    fn string<'a>(obj: &'a Value, pointer: &str) -> &'a str {
        obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
    }

    fn conditions(obj: &Value) -> impl Iterator<Item = (&str, &str, &str)> {
        obj.pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    string(c, "/type"),
                    string(c, "/status"),
                    string(c, "/reason"),
                )
            })
    }

    pub fn compute(obj: &Value) -> Status {
        if !string(obj, "/metadata/deletionTimestamp").is_empty() {
            return Status::Terminating;
        }
        if let Some(generation) = obj.pointer("/metadata/generation").and_then(Value::as_i64)
            && let Some(observed) = obj
                .pointer("/status/observedGeneration")
                .and_then(Value::as_i64)
            && observed != generation
        {
            return Status::InProgress("LatestGenerationNotObserved");
        }
        for (ty, status, _) in conditions(obj) {
            if ty == "Reconciling" && status == "True" {
                return Status::InProgress("Reconciling");
            }
            if ty == "Stalled" && status == "True" {
                return Status::Failed("Stalled");
            }
        }
        match string(obj, "/kind") {
            "Deployment" => deployment(obj),
            "StatefulSet" => statefulset(obj),
            other => panic!("not ported: {other}"),
        }
    }

    fn deployment(obj: &Value) -> Status {
        let mut progressing =
            int(obj, "/spec/progressDeadlineSeconds", i64::from(i32::MAX)) == i64::from(i32::MAX);
        let mut available = false;
        for (ty, status, reason) in conditions(obj) {
            match ty {
                "Progressing" => {
                    if reason == "ProgressDeadlineExceeded" {
                        return Status::Failed("ProgressDeadlineExceeded");
                    }
                    if status == "True" && reason == "NewReplicaSetAvailable" {
                        progressing = true;
                    }
                }
                "Available" if status == "True" => available = true,
                _ => {}
            }
        }
        let spec = int(obj, "/spec/replicas", 1);
        let status = int(obj, "/status/replicas", 0);
        let updated = int(obj, "/status/updatedReplicas", 0);
        let ready = int(obj, "/status/readyReplicas", 0);
        let available_replicas = int(obj, "/status/availableReplicas", 0);
        if spec > status {
            return Status::InProgress("LessReplicas");
        }
        if spec > updated {
            return Status::InProgress("LessUpdated");
        }
        if status > spec {
            return Status::InProgress("ExtraPods");
        }
        if updated > available_replicas {
            return Status::InProgress("LessAvailable");
        }
        if spec > ready {
            return Status::InProgress("LessReady");
        }
        if !progressing {
            return Status::InProgress("ReplicaSetNotAvailable");
        }
        if !available {
            return Status::InProgress("DeploymentNotAvailable");
        }
        Status::Current
    }

    fn statefulset(obj: &Value) -> Status {
        if string(obj, "/spec/updateStrategy/type") == "OnDelete" {
            return Status::Current;
        }
        let spec = int(obj, "/spec/replicas", 1);
        let ready = int(obj, "/status/readyReplicas", 0);
        let current = int(obj, "/status/currentReplicas", 0);
        let updated = int(obj, "/status/updatedReplicas", 0);
        let status = int(obj, "/status/replicas", 0);
        let partition = int(obj, "/spec/updateStrategy/rollingUpdate/partition", -1);
        if spec > status {
            return Status::InProgress("LessReplicas");
        }
        if spec > ready {
            return Status::InProgress("LessReady");
        }
        if status > spec {
            return Status::InProgress("ExtraPods");
        }
        if partition != -1 {
            if updated < spec - partition {
                return Status::InProgress("PartitionRollout");
            }
            return Status::Current;
        }
        if spec > current {
            return Status::InProgress("LessCurrent");
        }
        if string(obj, "/status/currentRevision") != string(obj, "/status/updateRevision") {
            return Status::InProgress("RevisionMismatch");
        }
        Status::Current
    }
}

/// A port of `kubectl rollout status` (`k8s.io/kubectl/pkg/polymorphichelpers`
/// `DeploymentStatusViewer` and `StatefulSetStatusViewer`, revision 0),
/// written from its documented rules. It reads the object as typed Go
/// structs, so a missing pointer field is nil and a missing string is "".
/// Rules ported, in order:
///
/// Deployment:
/// 1. `metadata.generation <= status.observedGeneration`, else waiting
///    for the spec update to be observed.
/// 2. `Progressing` reason `ProgressDeadlineExceeded` → error (exceeded
///    its progress deadline).
/// 3. `spec.replicas` set and `updatedReplicas < spec.replicas` →
///    waiting (new replicas updated).
/// 4. `status.replicas > updatedReplicas` → waiting (old replicas pending
///    termination).
/// 5. `availableReplicas < updatedReplicas` → waiting (updated replicas
///    available); else done.
///
/// StatefulSet:
/// 1. `updateStrategy.type` not `RollingUpdate` → error (rollout status
///    is only available for the RollingUpdate strategy).
/// 2. `observedGeneration == 0` or `generation > observedGeneration` →
///    waiting.
/// 3. `spec.replicas` set and `readyReplicas < spec.replicas` → waiting.
/// 4. `rollingUpdate` set: with `spec.replicas` and `partition` set and
///    `updatedReplicas < spec.replicas - partition` → waiting; else done
///    (partitioned roll out complete).
/// 5. `updateRevision != currentRevision` → waiting; else done.
mod kubectl {
    use serde_json::Value;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Rollout {
        Done,
        Waiting,
        /// kubectl stops with an error: a failed rollout, or a strategy it
        /// cannot follow (which is not "waiting" either).
        Error,
    }

    fn int(obj: &Value, pointer: &str) -> Option<i64> {
        obj.pointer(pointer).and_then(Value::as_i64)
    }

    fn string<'a>(obj: &'a Value, pointer: &str) -> &'a str {
        obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
    }

    pub fn deployment(obj: &Value) -> Rollout {
        let generation = int(obj, "/metadata/generation").unwrap_or(0);
        let observed = int(obj, "/status/observedGeneration").unwrap_or(0);
        if generation > observed {
            return Rollout::Waiting;
        }
        let progressing = obj
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| string(c, "/type") == "Progressing");
        if progressing.is_some_and(|c| string(c, "/reason") == "ProgressDeadlineExceeded") {
            return Rollout::Error;
        }
        let updated = int(obj, "/status/updatedReplicas").unwrap_or(0);
        if let Some(replicas) = int(obj, "/spec/replicas")
            && updated < replicas
        {
            return Rollout::Waiting;
        }
        if int(obj, "/status/replicas").unwrap_or(0) > updated {
            return Rollout::Waiting;
        }
        if int(obj, "/status/availableReplicas").unwrap_or(0) < updated {
            return Rollout::Waiting;
        }
        Rollout::Done
    }

    pub fn statefulset(obj: &Value) -> Rollout {
        if string(obj, "/spec/updateStrategy/type") != "RollingUpdate" {
            return Rollout::Error;
        }
        let generation = int(obj, "/metadata/generation").unwrap_or(0);
        let observed = int(obj, "/status/observedGeneration").unwrap_or(0);
        if observed == 0 || generation > observed {
            return Rollout::Waiting;
        }
        let replicas = int(obj, "/spec/replicas");
        if let Some(replicas) = replicas
            && int(obj, "/status/readyReplicas").unwrap_or(0) < replicas
        {
            return Rollout::Waiting;
        }
        if obj.pointer("/spec/updateStrategy/rollingUpdate").is_some() {
            if let Some(replicas) = replicas
                && let Some(partition) = int(obj, "/spec/updateStrategy/rollingUpdate/partition")
                && int(obj, "/status/updatedReplicas").unwrap_or(0) < replicas - partition
            {
                return Rollout::Waiting;
            }
            return Rollout::Done;
        }
        if string(obj, "/status/updateRevision") != string(obj, "/status/currentRevision") {
            return Rollout::Waiting;
        }
        Rollout::Done
    }
}

/// A count that is usually the desired one (so `Running` is reached
/// often), else anything small, else missing.
fn count(desired: i64) -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        4 => Just(Some(desired)),
        2 => (0..=4i64).prop_map(Some),
        1 => Just(None),
    ]
}

/// `(generation, observedGeneration)`, observed never above generation.
fn generations() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
    (1..=3i64).prop_flat_map(|generation| {
        (
            prop_oneof![8 => Just(Some(generation)), 1 => Just(None)],
            prop_oneof![
                6 => Just(Some(generation)),
                2 => (0..=generation).prop_map(Some),
                1 => Just(None),
            ],
        )
    })
}

fn condition(ty: &str, status: &str, reason: &str) -> Value {
    json!({"type": ty, "status": status, "reason": reason})
}

fn set(map: &mut Map<String, Value>, key: &str, value: Option<i64>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), json!(value));
    }
}

fn metadata(name: &str, generation: Option<i64>, deleting: bool) -> Value {
    let mut meta = json!({"name": name, "namespace": "shop"});
    if let Some(generation) = generation {
        meta["generation"] = json!(generation);
    }
    if deleting {
        meta["deletionTimestamp"] = json!("2025-06-01T00:00:00Z");
    }
    meta
}

fn deployments() -> impl Strategy<Value = Value> {
    let replicas = prop_oneof![6 => (0..=3i64).prop_map(Some), 1 => Just(None)];
    (generations(), replicas, prop::bool::weighted(0.1)).prop_flat_map(
        |((generation, observed), replicas, deleting)| {
            let desired = replicas.unwrap_or(1);
            let statuses = prop::sample::select(vec!["True", "False", "Unknown"]);
            let available = prop_oneof![
                4 => Just(Some("True")),
                2 => statuses.clone().prop_map(Some),
                1 => Just(None),
            ];
            let progressing_reason = prop::sample::select(vec![
                "NewReplicaSetAvailable",
                "ReplicaSetUpdated",
                "NewReplicaSetCreated",
                "FoundNewReplicaSet",
                "ProgressDeadlineExceeded",
            ]);
            let progressing = prop_oneof![
                4 => Just(Some(("True", "NewReplicaSetAvailable"))),
                3 => (statuses.clone(), progressing_reason).prop_map(Some),
                1 => Just(None),
            ];
            let replica_failure = prop_oneof![
                6 => Just(None),
                1 => statuses.prop_map(Some),
            ];
            let deadline = prop_oneof![
                Just(Some(600i64)),
                Just(Some(i64::from(i32::MAX))),
                Just(None),
            ];
            (
                count(desired),
                count(desired),
                count(desired),
                count(desired),
                available,
                progressing,
                replica_failure,
                deadline,
            )
                .prop_map(
                    move |(
                        status_replicas,
                        updated,
                        ready,
                        available_replicas,
                        available,
                        progressing,
                        replica_failure,
                        deadline,
                    )| {
                        let mut spec = Map::new();
                        set(&mut spec, "replicas", replicas);
                        set(&mut spec, "progressDeadlineSeconds", deadline);
                        let mut status = Map::new();
                        set(&mut status, "observedGeneration", observed);
                        set(&mut status, "replicas", status_replicas);
                        set(&mut status, "updatedReplicas", updated);
                        set(&mut status, "readyReplicas", ready);
                        set(&mut status, "availableReplicas", available_replicas);
                        let mut conditions = Vec::new();
                        if let Some(s) = available {
                            conditions.push(condition("Available", s, "MinimumReplicasAvailable"));
                        }
                        if let Some((s, r)) = progressing {
                            conditions.push(condition("Progressing", s, r));
                        }
                        if let Some(s) = replica_failure {
                            conditions.push(condition("ReplicaFailure", s, "FailedCreate"));
                        }
                        if !conditions.is_empty() {
                            status.insert("conditions".into(), Value::Array(conditions));
                        }
                        json!({
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "metadata": metadata("web", generation, deleting),
                            "spec": spec,
                            "status": status,
                        })
                    },
                )
        },
    )
}

fn statefulsets() -> impl Strategy<Value = Value> {
    let replicas = prop_oneof![6 => (0..=3i64).prop_map(Some), 1 => Just(None)];
    (generations(), replicas, prop::bool::weighted(0.1)).prop_flat_map(
        |((generation, observed), replicas, deleting)| {
            let desired = replicas.unwrap_or(1);
            let strategy = prop_oneof![
                2 => Just(None),
                2 => Just(Some(json!({"type": "RollingUpdate"}))),
                3 => (0..=3i64).prop_map(|p| Some(json!({"type": "RollingUpdate", "rollingUpdate": {"partition": p}}))),
                1 => Just(Some(json!({"type": "RollingUpdate", "rollingUpdate": {}}))),
                1 => Just(Some(json!({"type": "OnDelete"}))),
            ];
            let revision = prop_oneof![
                4 => Just(Some("api-1")),
                1 => Just(Some("api-2")),
                1 => Just(None),
            ];
            (
                strategy,
                count(desired),
                count(desired),
                count(desired),
                count(desired),
                revision.clone(),
                revision,
            )
                .prop_map(
                    move |(strategy, status_replicas, ready, updated, current, current_revision, update_revision)| {
                        let mut spec = Map::new();
                        set(&mut spec, "replicas", replicas);
                        if let Some(strategy) = strategy {
                            spec.insert("updateStrategy".into(), strategy);
                        }
                        let mut status = Map::new();
                        set(&mut status, "observedGeneration", observed);
                        set(&mut status, "replicas", status_replicas);
                        set(&mut status, "readyReplicas", ready);
                        set(&mut status, "updatedReplicas", updated);
                        set(&mut status, "currentReplicas", current);
                        if let Some(r) = current_revision {
                            status.insert("currentRevision".into(), json!(r));
                        }
                        if let Some(r) = update_revision {
                            status.insert("updateRevision".into(), json!(r));
                        }
                        json!({
                            "apiVersion": "apps/v1",
                            "kind": "StatefulSet",
                            "metadata": metadata("api", generation, deleting),
                            "spec": spec,
                            "status": status,
                        })
                    },
                )
        },
    )
}

/// Any recorded `runningGeneration`, so the `Degraded` path is taken too.
fn previous() -> impl Strategy<Value = Previous> {
    prop::option::of(1..=3i64).prop_map(|running_generation| Previous {
        running_generation,
        progress: None,
    })
}

fn now() -> jiff::Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn phase(kind: Kind, obj: &Value, previous: &Previous) -> (Phase, String) {
    let verdict = workload(kind, Some(obj), &[], previous, now(), None);
    (verdict.health.phase, verdict.health.reason)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn deployment_running_implies_kstatus_current_and_kubectl_done(
        obj in deployments(),
        previous in previous(),
    ) {
        let (ours, reason) = phase(Kind::Deployment, &obj, &previous);
        if ours == Phase::Running {
            prop_assert_eq!(kstatus::compute(&obj), kstatus::Status::Current, "{:#}", obj);
            prop_assert_eq!(kubectl::deployment(&obj), kubectl::Rollout::Done, "{:#}", obj);
        }
        // And the other way round for a stall: both see it failed too.
        if ours == Phase::Failed && reason == reason::PROGRESS_DEADLINE_EXCEEDED {
            prop_assert_eq!(
                kstatus::compute(&obj),
                kstatus::Status::Failed("ProgressDeadlineExceeded"),
                "{:#}", obj
            );
            prop_assert_eq!(kubectl::deployment(&obj), kubectl::Rollout::Error, "{:#}", obj);
        }
    }

    #[test]
    fn statefulset_running_implies_kstatus_current_and_kubectl_done(
        obj in statefulsets(),
        previous in previous(),
    ) {
        let (ours, _) = phase(Kind::StatefulSet, &obj, &previous);
        if ours == Phase::Running {
            prop_assert_eq!(kstatus::compute(&obj), kstatus::Status::Current, "{:#}", obj);
            // kubectl cannot follow OnDelete (nor a strategy left to the
            // server's default): an error, never "waiting".
            prop_assert_ne!(kubectl::statefulset(&obj), kubectl::Rollout::Waiting, "{:#}", obj);
        }
    }
}

/// The properties above are vacuous if `Running` is never generated.
#[test]
fn generators_reach_running_and_every_reason() {
    let mut runner = TestRunner::deterministic();
    for (kind, strategy) in [
        (Kind::Deployment, deployments().boxed()),
        (Kind::StatefulSet, statefulsets().boxed()),
    ] {
        let mut running = 0;
        let mut reasons = std::collections::BTreeSet::new();
        for _ in 0..4000 {
            let obj = strategy.new_tree(&mut runner).unwrap().current();
            let (ours, reason) = phase(kind, &obj, &Previous::default());
            if ours == Phase::Running {
                running += 1;
            }
            reasons.insert(reason);
        }
        assert!(running > 200, "{kind}: only {running} of 4000 Running");
        let expected: &[&str] = match kind {
            Kind::Deployment => &[
                "",
                reason::TERMINATING,
                reason::LATEST_GENERATION_NOT_OBSERVED,
                reason::PROGRESS_DEADLINE_EXCEEDED,
                reason::REPLICA_FAILURE,
                reason::LESS_UPDATED,
                reason::EXTRA_PODS,
                reason::LESS_AVAILABLE,
                reason::LESS_READY,
            ],
            Kind::StatefulSet => &[
                "",
                reason::TERMINATING,
                reason::LATEST_GENERATION_NOT_OBSERVED,
                reason::EXTRA_PODS,
                reason::LESS_READY,
                reason::LESS_UPDATED,
                reason::PARTITION_ROLLOUT,
                reason::REVISION_MISMATCH,
            ],
        };
        for reason in expected {
            assert!(
                reasons.contains(*reason),
                "{kind}: never {reason:?}: {reasons:?}"
            );
        }
    }
}

//! The health rules of Applications and Components, as pure functions.
//!
//! The Application and Component controllers compute their status as
//! `status = f(previous status, snapshot, now)`. This crate is the part of
//! `f` that reads a workload: from a live Deployment or StatefulSet (as
//! JSON, as the declarative runtime hands children over), the component's
//! Pods, what the last status recorded ([`Previous`]) and the time, it
//! says how the component is doing ([`Health`]), when to look again
//! without any watch event ([`Verdict::wake_at`]), and what to record for
//! the next pass ([`Verdict::record`]).
//!
//! Nothing here does I/O or reads a clock: time is a parameter, so every
//! rule is tested with plain values, and a deadline is a timer the caller
//! arms, never a poll.
//!
//! The rules are rules 2–8 of "Component state, first match wins" in the
//! Application spec (rule 1, a failed apply, is the caller's: it knows the
//! outcome of each apply). See [`workload`] for the rules and [`reason`]
//! for every reason and the check it stands for; [`application`] folds
//! components into the Application's phase and [`conditions`] turns a
//! phase into the `Ready`/`Reconciling`/`Stalled` conditions that kstatus,
//! `kubectl wait` and Argo CD read.
//!
//! Missing numeric status fields count as 0 (the API server omits zeros).
//! Missing *spec* fields take the API server's defaults (`replicas` 1,
//! `progressDeadlineSeconds` 600, `updateStrategy` `RollingUpdate` with
//! partition 0), because a real server never returns them missing and
//! reading them as 0 would call a workload with no replicas done.

#![warn(missing_docs)]

mod application;
mod pods;
mod rules;

use std::fmt;
use std::str::FromStr;

pub use application::{ConditionRow, MANAGED_CONDITIONS, application, conditions, worst};
pub use rules::{DEFAULT_PROGRESS_DEADLINE_SECONDS, workload};

/// How a component (or an Application) is doing.
///
/// The order is the severity used to fold several into one (the worst
/// wins): `Running < Pending < Degraded < Failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Done: the latest generation is rolled out and ready.
    Running,
    /// On its way: not created, not observed, or rolling out.
    Pending,
    /// Was running at this generation and lost readiness since.
    Degraded,
    /// Will not get better by waiting: a deadline passed, a replica
    /// could not be created, or (the caller's) an apply failed.
    Failed,
}

impl Phase {
    /// The name written in `status.phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Running => "Running",
            Phase::Pending => "Pending",
            Phase::Degraded => "Degraded",
            Phase::Failed => "Failed",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `status.phase` string that is none of the four phases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPhase(pub String);

impl fmt::Display for UnknownPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown phase {:?}", self.0)
    }
}

impl std::error::Error for UnknownPhase {}

impl FromStr for Phase {
    type Err = UnknownPhase;

    /// Reads a recorded `status.phase` back (for [`Previous`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Running" => Ok(Phase::Running),
            "Pending" => Ok(Phase::Pending),
            "Degraded" => Ok(Phase::Degraded),
            "Failed" => Ok(Phase::Failed),
            other => Err(UnknownPhase(other.to_owned())),
        }
    }
}

/// Which workload controller runs a component: the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` StatefulSet.
    StatefulSet,
}

impl Kind {
    /// The Kubernetes kind, as messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One component's state, as `status.components[]` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The component's phase.
    pub phase: Phase,
    /// Why, as one of the [`reason`] constants; empty when `Running`.
    pub reason: String,
    /// Details for a person; empty when `Running`.
    pub message: String,
    /// `status.readyReplicas` of the workload (0 when absent).
    pub ready: i32,
    /// `spec.replicas` of the workload (the API default 1 when unset, 0
    /// when there is no workload).
    pub desired: i32,
    /// The workload generation last seen `Running` (`runningGeneration`):
    /// set when `Running`, kept otherwise, so a later loss of readiness at
    /// the same generation reads `Degraded` rather than `Pending`.
    pub running_generation: Option<i64>,
}

/// What the previous status recorded for this component: the memory the
/// pure rules need across passes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    /// `runningGeneration` from the last status.
    pub running_generation: Option<i64>,
    /// The StatefulSet progress timer from the last status, if one runs.
    pub progress: Option<Progress>,
}

/// The StatefulSet progress timer: the counts last seen and since when
/// they have not grown.
///
/// A StatefulSet has no progress deadline of its own (unlike a
/// Deployment's `Progressing` condition), so the operator keeps one: it
/// restarts whenever `updatedReplicas` or `readyReplicas` grows or the
/// generation changes, and the component is `Failed` once `since +
/// progressDeadlineSeconds` passes. Recording it in the status keeps the
/// rules pure and lets the controller arm a single timer at that instant
/// instead of polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The workload generation the counts belong to.
    pub generation: i64,
    /// `status.updatedReplicas` when last seen.
    pub updated: i32,
    /// `status.readyReplicas` when last seen.
    pub ready: i32,
    /// When the counts last grew (or the rollout started).
    pub since: jiff::Timestamp,
}

/// The result of [`workload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// How the component is doing now.
    pub health: Health,
    /// The earliest instant at which the verdict changes without any watch
    /// event (the StatefulSet progress deadline, or a Pod's 15 s
    /// scheduling grace ending): the caller requeues at that instant.
    /// `None`: only a change to a watched object can change it.
    pub wake_at: Option<jiff::Timestamp>,
    /// What to record in the status, to pass back as [`Previous`] next
    /// time.
    pub record: Previous,
}

/// Every reason [`workload`] gives, with the check it stands for.
///
/// Rule numbers are those of "Component state, first match wins" in the
/// Application spec. The "not done" checks are listed in the order they
/// are tried: the first one unmet names the reason.
pub mod reason {
    /// Rule 2: the Deployment or StatefulSet does not exist (yet).
    pub const CHILD_NOT_CREATED: &str = "ChildNotCreated";
    /// Rule 2: the workload has a `deletionTimestamp`.
    pub const TERMINATING: &str = "Terminating";
    /// Rule 3: `status.observedGeneration` is absent, 0, or below
    /// `metadata.generation`: the workload controller has not looked at
    /// the latest spec, so nothing in `status` speaks for it.
    pub const LATEST_GENERATION_NOT_OBSERVED: &str = "LatestGenerationNotObserved";
    /// Rule 4: a Deployment's `Progressing` condition has reason
    /// `ProgressDeadlineExceeded`; rule 5: a StatefulSet made no progress
    /// in `updatedReplicas` or `readyReplicas` for
    /// `progressDeadlineSeconds`.
    pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
    /// Rule 4: a Deployment's `ReplicaFailure` condition is `True` (a
    /// quota, a forbidden pod): failed at once, with the condition's
    /// message.
    pub const REPLICA_FAILURE: &str = "ReplicaFailure";
    /// Deployment: `updatedReplicas < spec.replicas`.
    /// StatefulSet (partition 0): `updatedReplicas < spec.replicas`.
    pub const LESS_UPDATED: &str = "LessUpdated";
    /// Deployment: `status.replicas > updatedReplicas` (old pods still
    /// running) or `status.replicas > spec.replicas` (scaling down).
    /// StatefulSet: `status.replicas > spec.replicas`.
    pub const EXTRA_PODS: &str = "ExtraPods";
    /// Deployment: `availableReplicas < updatedReplicas`, `Available` not
    /// `True`, or (with a deadline) `Progressing` not `True` with reason
    /// `NewReplicaSetAvailable`: the new ReplicaSet is not available yet.
    pub const LESS_AVAILABLE: &str = "LessAvailable";
    /// Deployment: `readyReplicas < spec.replicas`, or `status.replicas <
    /// spec.replicas` (pods missing; kstatus's `LessReplicas`).
    /// StatefulSet: `status.replicas < spec.replicas` (pods missing) or
    /// `readyReplicas < spec.replicas`.
    pub const LESS_READY: &str = "LessReady";
    /// StatefulSet with a partition above 0: `updatedReplicas <
    /// spec.replicas - partition`.
    pub const PARTITION_ROLLOUT: &str = "PartitionRollout";
    /// StatefulSet, `RollingUpdate` with partition 0:
    /// `currentRevision != updateRevision`, or `currentReplicas <
    /// spec.replicas` (not every pod at the current revision yet; kstatus
    /// checks it when no partition is set).
    pub const REVISION_MISMATCH: &str = "RevisionMismatch";
    /// Rule 6: not done, but the workload was `Running` at this same
    /// generation and only readiness checks fail (`LessAvailable`,
    /// `LessReady`): a crash after the rollout, not a rollout.
    pub const REPLICAS_NOT_READY: &str = "ReplicasNotReady";
}

//! Rules 2–8 of "Component state, first match wins".

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::pods;
use crate::reason;
use crate::{Health, Kind, Phase, Previous, Progress, Verdict};

/// The StatefulSet progress deadline when the component sets none: the
/// Deployment controller's default, so both kinds stall alike.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i64 = 600;

/// The health of one component's workload.
///
/// * `kind`: what the component runs;
/// * `live`: the workload as read from the cluster (`None` when absent);
/// * `pods`: the component's Pods (metadata and status suffice), for the
///   message only;
/// * `previous`: what the last status recorded for this component;
/// * `now`: the time of the pass;
/// * `progress_deadline_seconds`: the component's setting, used for
///   StatefulSets only (a Deployment carries its own in
///   `spec.progressDeadlineSeconds` and reports it through its
///   `Progressing` condition); `None` means
///   [`DEFAULT_PROGRESS_DEADLINE_SECONDS`].
///
/// First match wins:
///
/// 2. absent → `Pending`, `ChildNotCreated` (and `runningGeneration` is
///    forgotten: a re-created workload starts again at generation 1);
///    `deletionTimestamp` set → `Pending`, `Terminating`.
/// 3. `status.observedGeneration` absent, 0 or below
///    `metadata.generation` → `Pending`, `LatestGenerationNotObserved`.
/// 4. Deployment: `Progressing` with reason `ProgressDeadlineExceeded` →
///    `Failed`, `ProgressDeadlineExceeded`; `ReplicaFailure=True` →
///    `Failed`, `ReplicaFailure`, with the condition's message. Then the
///    "not done" checks in this order (see [`reason`] for each):
///    `updatedReplicas < replicas` (`LessUpdated`); `status.replicas >
///    updatedReplicas` (`ExtraPods`); `status.replicas > replicas`
///    (`ExtraPods`); `availableReplicas < updatedReplicas`
///    (`LessAvailable`); `readyReplicas < replicas` (`LessReady`);
///    `status.replicas < replicas` (`LessReady`, kstatus's
///    `LessReplicas`); `Available` not `True` (`LessAvailable`); with a
///    deadline (not
///    `i32::MAX`), `Progressing` not `True`/`NewReplicaSetAvailable`
///    (`LessAvailable`).
/// 5. StatefulSet: `status.replicas > replicas` (`ExtraPods`);
///    `status.replicas < replicas` (`LessReady`); `readyReplicas <
///    replicas` (`LessReady`); unless `OnDelete` (done when ready):
///    `updatedReplicas < replicas - partition` (`PartitionRollout` with a
///    partition, else `LessUpdated`); with partition 0, `currentRevision
///    != updateRevision` or `currentReplicas < replicas`
///    (`RevisionMismatch`). Not done with no growth of `updatedReplicas`
///    or `readyReplicas` for the deadline → `Failed`,
///    `ProgressDeadlineExceeded`, `StatefulSet <ns>/<name>: <ready>/<desired>
///    ready for <deadline>s`; before that, [`Verdict::wake_at`] is the
///    deadline.
/// 6. Not done: if `runningGeneration` is this generation and only
///    readiness checks fail (`LessAvailable`, `LessReady`) → `Degraded`,
///    `ReplicasNotReady`, `<ready>/<desired> ready`. The StatefulSet
///    deadline does not apply then: like the Deployment controller's, it
///    times rollouts, and a crash after one is `Degraded`, not `Failed`.
///    Otherwise `Pending` with the first unmet check's reason.
/// 7. The messages of rules 4–6 end with the Pods' reasons.
/// 8. Else `Running`, `runningGeneration` = the workload's generation.
pub fn workload(
    kind: Kind,
    live: Option<&Value>,
    pods: &[Value],
    previous: &Previous,
    now: Timestamp,
    progress_deadline_seconds: Option<i64>,
) -> Verdict {
    // Rule 2.
    let Some(live) = live else {
        return Verdict {
            health: Health {
                phase: Phase::Pending,
                reason: reason::CHILD_NOT_CREATED.to_owned(),
                message: format!("{kind} not created yet"),
                ready: 0,
                desired: 0,
                running_generation: None,
            },
            wake_at: None,
            record: Previous::default(),
        };
    };
    let view = View::new(live);
    let pending = |reason: &str, message: String| Verdict {
        health: view.health(Phase::Pending, reason, message, previous.running_generation),
        wake_at: None,
        record: Previous {
            running_generation: previous.running_generation,
            progress: None,
        },
    };
    if live
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        return pending(
            reason::TERMINATING,
            format!("{kind} {} is being deleted", view.id),
        );
    }

    // Rule 3.
    let observed = int_at(live, "/status/observedGeneration").unwrap_or(0);
    let generation = int_at(live, "/metadata/generation");
    if observed <= 0 || generation.is_some_and(|g| observed < g) {
        let wanted = generation.map_or_else(
            || "the latest generation".to_owned(),
            |g| format!("generation {g}"),
        );
        return pending(
            reason::LATEST_GENERATION_NOT_OBSERVED,
            format!("waiting for the {kind} controller to observe {wanted} (observed {observed})"),
        );
    }
    let generation = generation.unwrap_or(observed);

    // Rules 4 and 5: the checks.
    let unmet = match kind {
        Kind::Deployment => match deployment_checks(&view) {
            Ok(unmet) => unmet,
            Err(failure) => {
                let pods = pods::reasons(pods, now);
                return Verdict {
                    health: view.health(
                        Phase::Failed,
                        failure.reason,
                        with_pods(
                            format!("{kind} {}: {}", view.id, failure.message),
                            &pods.text,
                        ),
                        previous.running_generation,
                    ),
                    wake_at: pods.wake_at,
                    record: Previous {
                        running_generation: previous.running_generation,
                        progress: None,
                    },
                };
            }
        },
        Kind::StatefulSet => statefulset_checks(&view),
    };

    // Rule 8.
    let Some(first) = unmet.first() else {
        return Verdict {
            health: view.health(Phase::Running, "", String::new(), Some(generation)),
            wake_at: None,
            record: Previous {
                running_generation: Some(generation),
                progress: None,
            },
        };
    };

    // Rules 6 and 7.
    let pods = pods::reasons(pods, now);
    let degraded = previous.running_generation == Some(generation)
        && unmet.iter().all(|check| check.readiness);
    if degraded {
        return Verdict {
            health: view.health(
                Phase::Degraded,
                reason::REPLICAS_NOT_READY,
                with_pods(format!("{}/{} ready", view.ready, view.desired), &pods.text),
                previous.running_generation,
            ),
            wake_at: pods.wake_at,
            record: Previous {
                running_generation: previous.running_generation,
                progress: None,
            },
        };
    }
    let mut verdict = Verdict {
        health: view.health(
            Phase::Pending,
            first.reason,
            with_pods(first.message.clone(), &pods.text),
            previous.running_generation,
        ),
        wake_at: pods.wake_at,
        record: Previous {
            running_generation: previous.running_generation,
            progress: None,
        },
    };
    if kind == Kind::StatefulSet {
        statefulset_deadline(
            &mut verdict,
            &view,
            generation,
            previous,
            now,
            progress_deadline_seconds.unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS),
            &pods.text,
        );
    }
    verdict
}

/// Rule 5's deadline, applied to a `Pending` StatefulSet verdict: keeps or
/// restarts the progress timer, and turns the verdict `Failed` once the
/// deadline passed, or else asks to be woken at the deadline.
fn statefulset_deadline(
    verdict: &mut Verdict,
    view: &View<'_>,
    generation: i64,
    previous: &Previous,
    now: Timestamp,
    deadline_seconds: i64,
    pod_text: &str,
) {
    let updated = clamp(int_at(view.live, "/status/updatedReplicas").unwrap_or(0));
    let ready = view.ready;
    // Progress is any growth of the counts since the last pass, or a new
    // generation (a new rollout). A drop is no progress: the timer keeps
    // running, but the lower counts are recorded so that getting back up
    // counts as progress.
    let since = match previous.progress {
        Some(p) if p.generation == generation && updated <= p.updated && ready <= p.ready => {
            p.since
        }
        _ => now,
    };
    verdict.record.progress = Some(Progress {
        generation,
        updated,
        ready,
        since,
    });
    let deadline_seconds = deadline_seconds.max(0);
    // A deadline past the end of time is no deadline.
    let Ok(due) = since.checked_add(SignedDuration::from_secs(deadline_seconds)) else {
        return;
    };
    if now >= due {
        verdict.health.phase = Phase::Failed;
        verdict.health.reason = reason::PROGRESS_DEADLINE_EXCEEDED.to_owned();
        // The deadline, not the time elapsed: the message stays the same
        // on later passes, so they write no status.
        verdict.health.message = with_pods(
            format!(
                "StatefulSet {}: {}/{} ready for {deadline_seconds}s",
                view.id, view.ready, view.desired
            ),
            pod_text,
        );
    } else {
        verdict.wake_at = Some(verdict.wake_at.map_or(due, |w| w.min(due)));
    }
}

/// A "not done" check that failed.
struct Unmet {
    /// The reason it gives when it is the first.
    reason: &'static str,
    /// What it saw.
    message: String,
    /// A readiness check: failing only these after `Running` at the same
    /// generation is `Degraded`.
    readiness: bool,
}

impl Unmet {
    fn rollout(reason: &'static str, message: String) -> Self {
        Unmet {
            reason,
            message,
            readiness: false,
        }
    }

    fn readiness(reason: &'static str, message: String) -> Self {
        Unmet {
            reason,
            message,
            readiness: true,
        }
    }
}

/// A Deployment condition that fails the component at once.
struct Failure {
    reason: &'static str,
    message: String,
}

/// Rule 4: the Deployment's failures, else its unmet checks in order.
fn deployment_checks(view: &View<'_>) -> Result<Vec<Unmet>, Failure> {
    let live = view.live;
    let progressing = condition(live, "Progressing");
    if let Some(progressing) = progressing
        && str_at(progressing, "/reason") == Some("ProgressDeadlineExceeded")
    {
        return Err(Failure {
            reason: reason::PROGRESS_DEADLINE_EXCEEDED,
            message: str_at(progressing, "/message")
                .unwrap_or("progress deadline exceeded")
                .to_owned(),
        });
    }
    if let Some(failure) = condition(live, "ReplicaFailure")
        && str_at(failure, "/status") == Some("True")
    {
        return Err(Failure {
            reason: reason::REPLICA_FAILURE,
            message: str_at(failure, "/message")
                .or_else(|| str_at(failure, "/reason"))
                .unwrap_or("a replica could not be created")
                .to_owned(),
        });
    }

    let replicas = view.desired_i64();
    let status = int_at(live, "/status/replicas").unwrap_or(0);
    let updated = int_at(live, "/status/updatedReplicas").unwrap_or(0);
    let available = int_at(live, "/status/availableReplicas").unwrap_or(0);
    let ready = int_at(live, "/status/readyReplicas").unwrap_or(0);

    let mut unmet = Vec::new();
    if updated < replicas {
        unmet.push(Unmet::rollout(
            reason::LESS_UPDATED,
            format!("{updated}/{replicas} replicas updated"),
        ));
    }
    if status > updated {
        unmet.push(Unmet::rollout(
            reason::EXTRA_PODS,
            format!("{} old replicas pending termination", status - updated),
        ));
    }
    if status > replicas {
        unmet.push(Unmet::rollout(
            reason::EXTRA_PODS,
            format!("{} extra replicas pending termination", status - replicas),
        ));
    }
    if available < updated {
        unmet.push(Unmet::readiness(
            reason::LESS_AVAILABLE,
            format!("{available}/{updated} updated replicas available"),
        ));
    }
    if ready < replicas {
        unmet.push(Unmet::readiness(
            reason::LESS_READY,
            format!("{ready}/{replicas} replicas ready"),
        ));
    }
    // Not in the spec's list, but kstatus checks it (`LessReplicas`):
    // pods missing altogether. Real statuses never get here (ready pods
    // exist), so it only keeps "our done implies kstatus's" exact.
    if status < replicas {
        unmet.push(Unmet::readiness(
            reason::LESS_READY,
            format!("{status}/{replicas} replicas created"),
        ));
    }
    let available_condition = condition(live, "Available");
    if available_condition.and_then(|c| str_at(c, "/status")) != Some("True") {
        unmet.push(Unmet::readiness(
            reason::LESS_AVAILABLE,
            describe("Available", available_condition),
        ));
    }
    // The API server defaults the deadline to 600 s; i32::MAX means none,
    // and then the controller does not keep `Progressing` up to date.
    let deadline = int_at(live, "/spec/progressDeadlineSeconds");
    let has_deadline = deadline != Some(i64::from(i32::MAX));
    let rolled_out = progressing.is_some_and(|c| {
        str_at(c, "/status") == Some("True")
            && str_at(c, "/reason") == Some("NewReplicaSetAvailable")
    });
    if has_deadline && !rolled_out {
        unmet.push(Unmet::readiness(
            reason::LESS_AVAILABLE,
            format!(
                "rollout not complete: {}",
                describe("Progressing", progressing)
            ),
        ));
    }
    Ok(unmet)
}

/// Rule 5's checks, in order.
fn statefulset_checks(view: &View<'_>) -> Vec<Unmet> {
    let live = view.live;
    let replicas = view.desired_i64();
    let status = int_at(live, "/status/replicas").unwrap_or(0);
    let ready = int_at(live, "/status/readyReplicas").unwrap_or(0);
    let updated = int_at(live, "/status/updatedReplicas").unwrap_or(0);
    let current = int_at(live, "/status/currentReplicas").unwrap_or(0);
    // The API server defaults the strategy to RollingUpdate, partition 0.
    let on_delete = str_at(live, "/spec/updateStrategy/type") == Some("OnDelete");
    let partition = int_at(live, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0);

    let mut unmet = Vec::new();
    if status > replicas {
        unmet.push(Unmet::rollout(
            reason::EXTRA_PODS,
            format!("{} extra replicas pending termination", status - replicas),
        ));
    }
    if status < replicas {
        unmet.push(Unmet::readiness(
            reason::LESS_READY,
            format!("{status}/{replicas} replicas created"),
        ));
    }
    if ready < replicas {
        unmet.push(Unmet::readiness(
            reason::LESS_READY,
            format!("{ready}/{replicas} replicas ready"),
        ));
    }
    if on_delete {
        return unmet;
    }
    if updated < replicas - partition {
        unmet.push(if partition > 0 {
            Unmet::rollout(
                reason::PARTITION_ROLLOUT,
                format!(
                    "{updated}/{} replicas updated (partition {partition})",
                    replicas - partition
                ),
            )
        } else {
            Unmet::rollout(
                reason::LESS_UPDATED,
                format!("{updated}/{replicas} replicas updated"),
            )
        });
    }
    if partition <= 0 {
        let current_revision = str_at(live, "/status/currentRevision").unwrap_or("");
        let update_revision = str_at(live, "/status/updateRevision").unwrap_or("");
        if current_revision != update_revision {
            unmet.push(Unmet::rollout(
                reason::REVISION_MISMATCH,
                format!(
                    "current revision {current_revision:?}, update revision {update_revision:?}"
                ),
            ));
        }
        if current < replicas {
            unmet.push(Unmet::rollout(
                reason::REVISION_MISMATCH,
                format!("{current}/{replicas} replicas at the current revision"),
            ));
        }
    }
    unmet
}

/// What the rules read of every workload, read once.
struct View<'a> {
    live: &'a Value,
    /// `<namespace>/<name>`.
    id: String,
    ready: i32,
    desired: i32,
}

impl<'a> View<'a> {
    fn new(live: &'a Value) -> Self {
        let namespace = str_at(live, "/metadata/namespace").unwrap_or("");
        let name = str_at(live, "/metadata/name").unwrap_or("");
        View {
            live,
            id: format!("{namespace}/{name}"),
            ready: clamp(int_at(live, "/status/readyReplicas").unwrap_or(0)),
            // The API server defaults `spec.replicas` to 1; reading a
            // missing one as 0 would call a workload with no pods done.
            desired: clamp(int_at(live, "/spec/replicas").unwrap_or(1)),
        }
    }

    fn desired_i64(&self) -> i64 {
        i64::from(self.desired)
    }

    fn health(
        &self,
        phase: Phase,
        reason: &str,
        message: String,
        running_generation: Option<i64>,
    ) -> Health {
        Health {
            phase,
            reason: reason.to_owned(),
            message,
            ready: self.ready,
            desired: self.desired,
            running_generation,
        }
    }
}

/// `message` followed by the pods' reasons, if any.
fn with_pods(message: String, pod_text: &str) -> String {
    if pod_text.is_empty() {
        message
    } else {
        format!("{message}; {pod_text}")
    }
}

/// `Available is False (MinimumReplicasUnavailable: Deployment does not
/// have minimum availability.)`, or that there is no such condition.
fn describe(condition_type: &str, condition: Option<&Value>) -> String {
    let Some(condition) = condition else {
        return format!("no {condition_type} condition");
    };
    let status = str_at(condition, "/status").unwrap_or("Unknown");
    let reason = str_at(condition, "/reason").unwrap_or("");
    let message = str_at(condition, "/message").unwrap_or("");
    match (reason.is_empty(), message.is_empty()) {
        (true, true) => format!("{condition_type} is {status}"),
        (false, true) => format!("{condition_type} is {status} ({reason})"),
        (true, false) => format!("{condition_type} is {status} ({message})"),
        (false, false) => format!("{condition_type} is {status} ({reason}: {message})"),
    }
}

/// The workload's status condition of this type.
fn condition<'a>(live: &'a Value, condition_type: &str) -> Option<&'a Value> {
    live.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| str_at(c, "/type") == Some(condition_type))
}

/// The string at a JSON pointer.
pub(crate) fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer)?.as_str()
}

/// The integer at a JSON pointer.
pub(crate) fn int_at(value: &Value, pointer: &str) -> Option<i64> {
    value.pointer(pointer)?.as_i64()
}

/// The RFC 3339 time at a JSON pointer.
pub(crate) fn timestamp_at(value: &Value, pointer: &str) -> Option<Timestamp> {
    str_at(value, pointer)?.parse().ok()
}

/// A count as the `int32` Kubernetes uses, saturating.
fn clamp(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}

//! Table tests of each rule and reason, with messages, including the
//! statuses of the spec's acceptance scenarios AP2, AP3 and AP4.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use workload_health::{
    ConditionRow, Health, Kind, Phase, Previous, Progress, Verdict, application, conditions,
    reason, workload, worst,
};

fn t0() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn at(seconds: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(seconds))
        .unwrap()
}

fn rfc3339(seconds: i64) -> String {
    at(seconds).to_string()
}

fn deployment(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation},
        "spec": {"replicas": 2, "progressDeadlineSeconds": 600},
        "status": status,
    })
}

/// "Make web ready" from the spec.
fn web_ready(generation: i64) -> Value {
    json!({
        "observedGeneration": generation,
        "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    })
}

fn statefulset(generation: i64, spec: Value, status: Value) -> Value {
    let mut spec_full = json!({"replicas": 1, "serviceName": "api"});
    if let (Some(full), Some(extra)) = (spec_full.as_object_mut(), spec.as_object()) {
        full.extend(extra.clone());
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "api", "namespace": "shop", "generation": generation},
        "spec": spec_full,
        "status": status,
    })
}

/// "Make api ready" from the spec.
fn api_ready(generation: i64) -> Value {
    json!({
        "observedGeneration": generation,
        "replicas": 1, "readyReplicas": 1, "currentReplicas": 1, "updatedReplicas": 1,
        "currentRevision": "api-1", "updateRevision": "api-1",
    })
}

fn api_stuck(generation: i64) -> Value {
    json!({
        "observedGeneration": generation,
        "replicas": 1, "readyReplicas": 0, "currentReplicas": 1, "updatedReplicas": 1,
        "currentRevision": "api-1", "updateRevision": "api-1",
    })
}

fn running_at(generation: i64) -> Previous {
    Previous {
        running_generation: Some(generation),
        progress: None,
    }
}

fn deploy(live: &Value, previous: &Previous) -> Verdict {
    workload(Kind::Deployment, Some(live), &[], previous, t0(), None)
}

fn crash_pod(name: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "shop"},
        "status": {
            "phase": "Running",
            "containerStatuses": [{
                "name": "web",
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
            }],
        },
    })
}

fn pod_waiting(name: &str, waiting: &str) -> Value {
    json!({
        "metadata": {"name": name},
        "status": {"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": waiting}}}]},
    })
}

#[track_caller]
fn assert_health(verdict: &Verdict, phase: Phase, reason: &str, message: &str) {
    let health = &verdict.health;
    assert_eq!(
        (
            health.phase,
            health.reason.as_str(),
            health.message.as_str()
        ),
        (phase, reason, message),
        "{verdict:#?}"
    );
}

// Rule 2.

#[test]
fn absent_workload_is_child_not_created() {
    for kind in [Kind::Deployment, Kind::StatefulSet] {
        let previous = Previous {
            running_generation: Some(4),
            progress: Some(Progress {
                generation: 4,
                updated: 0,
                ready: 0,
                since: t0(),
            }),
        };
        let verdict = workload(kind, None, &[], &previous, t0(), None);
        assert_health(
            &verdict,
            Phase::Pending,
            reason::CHILD_NOT_CREATED,
            &format!("{kind} not created yet"),
        );
        // A re-created workload starts at generation 1 again: an old
        // runningGeneration must not make it read Degraded.
        assert_eq!(verdict.health.running_generation, None);
        assert_eq!(verdict.record, Previous::default());
        assert_eq!(verdict.wake_at, None);
    }
}

#[test]
fn deleted_workload_is_terminating() {
    let mut live = deployment(1, web_ready(1));
    live["metadata"]["deletionTimestamp"] = json!(rfc3339(0));
    let verdict = deploy(&live, &running_at(1));
    assert_health(
        &verdict,
        Phase::Pending,
        reason::TERMINATING,
        "Deployment shop/web is being deleted",
    );
    assert_eq!(verdict.health.running_generation, Some(1));
}

// Rule 3.

#[test]
fn unobserved_generation_is_pending() {
    let cases = [
        (
            None,
            "waiting for the Deployment controller to observe generation 2 (observed 0)",
        ),
        (
            Some(0),
            "waiting for the Deployment controller to observe generation 2 (observed 0)",
        ),
        (
            Some(1),
            "waiting for the Deployment controller to observe generation 2 (observed 1)",
        ),
    ];
    for (observed, message) in cases {
        let mut status = web_ready(2);
        match observed {
            Some(o) => status["observedGeneration"] = json!(o),
            None => {
                status.as_object_mut().unwrap().remove("observedGeneration");
            }
        }
        let verdict = deploy(&deployment(2, status), &running_at(1));
        assert_health(
            &verdict,
            Phase::Pending,
            reason::LATEST_GENERATION_NOT_OBSERVED,
            message,
        );
        // Never Running for an old generation, and the old
        // runningGeneration is kept.
        assert_eq!(verdict.health.running_generation, Some(1));
    }
    // Same for StatefulSets, with the absent status altogether.
    let mut live = statefulset(3, json!({}), json!({}));
    live.as_object_mut().unwrap().remove("status");
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &[],
        &Previous::default(),
        t0(),
        None,
    );
    assert_health(
        &verdict,
        Phase::Pending,
        reason::LATEST_GENERATION_NOT_OBSERVED,
        "waiting for the StatefulSet controller to observe generation 3 (observed 0)",
    );
}

// Rules 4 and 8: the spec's ready statuses.

#[test]
fn make_web_ready_is_running() {
    let verdict = deploy(&deployment(3, web_ready(3)), &Previous::default());
    assert_eq!(
        verdict.health,
        Health {
            phase: Phase::Running,
            reason: String::new(),
            message: String::new(),
            ready: 2,
            desired: 2,
            running_generation: Some(3),
        }
    );
    assert_eq!(verdict.record, running_at(3));
    assert_eq!(verdict.wake_at, None);
}

#[test]
fn make_api_ready_is_running() {
    let live = statefulset(2, json!({}), api_ready(2));
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &[],
        &Previous::default(),
        t0(),
        None,
    );
    assert_health(&verdict, Phase::Running, "", "");
    assert_eq!(
        (
            verdict.health.ready,
            verdict.health.desired,
            verdict.health.running_generation
        ),
        (1, 1, Some(2))
    );
    assert_eq!(verdict.record, running_at(2));
}

// AP2: never Running early.

#[test]
fn ap2_image_change_rolls_out_through_less_updated_and_extra_pods() {
    let previous = running_at(1);
    // The image changed: generation 2, nothing observed yet.
    let mut stale = web_ready(1);
    stale["observedGeneration"] = json!(1);
    let verdict = deploy(&deployment(2, stale), &previous);
    assert_health(
        &verdict,
        Phase::Pending,
        reason::LATEST_GENERATION_NOT_OBSERVED,
        "waiting for the Deployment controller to observe generation 2 (observed 1)",
    );

    // One new pod surged, old ones still there.
    let surge = json!({
        "observedGeneration": 2,
        "replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
        ],
    });
    let verdict = deploy(&deployment(2, surge), &previous);
    // runningGeneration is 1, this is generation 2: a rollout, not Degraded.
    assert_health(
        &verdict,
        Phase::Pending,
        reason::LESS_UPDATED,
        "1/2 replicas updated",
    );

    // All new pods up, one old pod terminating.
    let draining = json!({
        "observedGeneration": 2,
        "replicas": 3, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
        ],
    });
    let verdict = deploy(&deployment(2, draining), &previous);
    assert_health(
        &verdict,
        Phase::Pending,
        reason::EXTRA_PODS,
        "1 old replicas pending termination",
    );

    let verdict = deploy(&deployment(2, web_ready(2)), &previous);
    assert_health(&verdict, Phase::Running, "", "");
    assert_eq!(verdict.health.running_generation, Some(2));
}

#[test]
fn deployment_checks_map_to_reasons_in_order() {
    // (what to change on "Make web ready", reason, message)
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str, &str); 8] = [
        (
            "updatedReplicas < replicas",
            |s| s["status"]["updatedReplicas"] = json!(1),
            reason::LESS_UPDATED,
            "1/2 replicas updated",
        ),
        (
            "status.replicas > updatedReplicas",
            |s| s["status"]["replicas"] = json!(3),
            reason::EXTRA_PODS,
            "1 old replicas pending termination",
        ),
        (
            "status.replicas > replicas (scaling down, all updated)",
            |s| {
                s["status"]["replicas"] = json!(3);
                s["status"]["updatedReplicas"] = json!(3);
                s["status"]["availableReplicas"] = json!(3);
            },
            reason::EXTRA_PODS,
            "1 extra replicas pending termination",
        ),
        (
            "availableReplicas < updatedReplicas",
            |s| s["status"]["availableReplicas"] = json!(1),
            reason::LESS_AVAILABLE,
            "1/2 updated replicas available",
        ),
        (
            "readyReplicas < replicas",
            |s| {
                s["status"]["readyReplicas"] = json!(1);
            },
            reason::LESS_READY,
            "1/2 replicas ready",
        ),
        (
            "Available not True",
            |s| {
                s["status"]["conditions"][0] = json!({
                    "type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                    "message": "Deployment does not have minimum availability."
                });
            },
            reason::LESS_AVAILABLE,
            "Available is False (MinimumReplicasUnavailable: Deployment does not have minimum availability.)",
        ),
        (
            "no Available condition",
            |s| {
                s["status"]["conditions"].as_array_mut().unwrap().remove(0);
            },
            reason::LESS_AVAILABLE,
            "no Available condition",
        ),
        (
            "Progressing not NewReplicaSetAvailable",
            |s| {
                s["status"]["conditions"][1] = json!({
                    "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                    "message": "ReplicaSet \"web-5d8\" is progressing."
                });
            },
            reason::LESS_AVAILABLE,
            "rollout not complete: Progressing is True (ReplicaSetUpdated: ReplicaSet \"web-5d8\" is progressing.)",
        ),
    ];
    for (what, edit, reason, message) in cases {
        let mut live = deployment(1, web_ready(1));
        edit(&mut live);
        let verdict = deploy(&live, &Previous::default());
        assert_eq!(
            (
                verdict.health.phase,
                verdict.health.reason.as_str(),
                verdict.health.message.as_str()
            ),
            (Phase::Pending, reason, message),
            "{what}"
        );
    }
}

#[test]
fn deployment_without_deadline_needs_no_progressing_condition() {
    let mut live = deployment(1, web_ready(1));
    live["spec"]["progressDeadlineSeconds"] = json!(i32::MAX);
    live["status"]["conditions"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    assert_health(&deploy(&live, &Previous::default()), Phase::Running, "", "");
    // A missing deadline is the API default, 600 s: the condition counts.
    live["spec"]
        .as_object_mut()
        .unwrap()
        .remove("progressDeadlineSeconds");
    assert_health(
        &deploy(&live, &Previous::default()),
        Phase::Pending,
        reason::LESS_AVAILABLE,
        "rollout not complete: no Progressing condition",
    );
}

#[test]
fn missing_spec_replicas_is_the_api_default_of_one() {
    let mut live = deployment(1, web_ready(1));
    live["spec"].as_object_mut().unwrap().remove("replicas");
    let verdict = deploy(&live, &Previous::default());
    assert_eq!(verdict.health.desired, 1);
    // 2 pods for 1 desired.
    assert_health(
        &verdict,
        Phase::Pending,
        reason::EXTRA_PODS,
        "1 extra replicas pending termination",
    );

    let mut live = statefulset(1, json!({}), json!({"observedGeneration": 1}));
    live["spec"].as_object_mut().unwrap().remove("replicas");
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &[],
        &Previous::default(),
        t0(),
        None,
    );
    assert_health(
        &verdict,
        Phase::Pending,
        reason::LESS_READY,
        "0/1 replicas created",
    );
}

// AP3: a crash after the rollout is Degraded.

#[test]
fn ap3_crash_after_rollout_is_degraded_naming_the_pod() {
    let status = json!({
        "observedGeneration": 1,
        "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    });
    let live = deployment(1, status);
    let pods = [
        crash_pod("web-7d9c-x2x"),
        json!({"metadata": {"name": "web-7d9c-a1a"}, "status": {"phase": "Running"}}),
    ];
    let verdict = workload(
        Kind::Deployment,
        Some(&live),
        &pods,
        &running_at(1),
        t0(),
        None,
    );
    assert_health(
        &verdict,
        Phase::Degraded,
        reason::REPLICAS_NOT_READY,
        "1/2 ready; web-7d9c-x2x: CrashLoopBackOff, exit code 1",
    );
    assert_eq!((verdict.health.ready, verdict.health.desired), (1, 2));
    assert_eq!(verdict.health.running_generation, Some(1));
    assert_eq!(verdict.record, running_at(1));
    let rows = conditions(
        verdict.health.phase,
        &verdict.health.reason,
        &verdict.health.message,
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].condition_type,
            rows[0].status,
            rows[0].reason.as_str()
        ),
        ("Ready", "False", "ComponentsDegraded")
    );

    // Still Degraded on the next pass (runningGeneration was kept).
    let again = workload(
        Kind::Deployment,
        Some(&live),
        &pods,
        &verdict.record,
        t0(),
        None,
    );
    assert_eq!(again.health.phase, Phase::Degraded);

    // Recovery: Running, message cleared.
    let recovered = deploy(&deployment(1, web_ready(1)), &again.record);
    assert_health(&recovered, Phase::Running, "", "");
}

#[test]
fn same_status_without_a_previous_run_is_pending() {
    let status = json!({
        "observedGeneration": 1,
        "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    });
    let live = deployment(1, status);
    let pods = [crash_pod("web-1")];
    let verdict = workload(
        Kind::Deployment,
        Some(&live),
        &pods,
        &Previous::default(),
        t0(),
        None,
    );
    assert_health(
        &verdict,
        Phase::Pending,
        reason::LESS_AVAILABLE,
        "1/2 updated replicas available; web-1: CrashLoopBackOff, exit code 1",
    );
}

#[test]
fn rollout_checks_after_running_are_not_degraded() {
    // Running at generation 1, now old pods reappear at generation 1
    // (status.replicas > updatedReplicas): not a readiness check.
    let mut live = deployment(1, web_ready(1));
    live["status"]["replicas"] = json!(3);
    live["status"]["readyReplicas"] = json!(1);
    let verdict = deploy(&live, &running_at(1));
    assert_health(
        &verdict,
        Phase::Pending,
        reason::EXTRA_PODS,
        "1 old replicas pending termination",
    );
}

// AP4: stalls become Failed.

#[test]
fn ap4_deployment_progress_deadline_exceeded_is_failed() {
    let mut live = deployment(2, web_ready(2));
    live["status"]["conditions"][1] = json!({
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": "ReplicaSet \"web-5d8\" has timed out progressing."
    });
    let verdict = deploy(&live, &running_at(1));
    assert_health(
        &verdict,
        Phase::Failed,
        reason::PROGRESS_DEADLINE_EXCEEDED,
        "Deployment shop/web: ReplicaSet \"web-5d8\" has timed out progressing.",
    );
    let rows = conditions(
        verdict.health.phase,
        &verdict.health.reason,
        &verdict.health.message,
    );
    assert!(
        rows.iter()
            .any(|r| r.condition_type == "Stalled" && r.status == "True")
    );
}

#[test]
fn ap4_replica_failure_is_failed_at_once() {
    let mut live = deployment(1, web_ready(1));
    live["status"]["readyReplicas"] = json!(0);
    live["status"]["conditions"].as_array_mut().unwrap().push(json!({
        "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": "pods \"web-5d8-x\" is forbidden: exceeded quota: compute, requested: cpu=1, used: cpu=4, limited: cpu=4"
    }));
    let verdict = deploy(&live, &Previous::default());
    assert_health(
        &verdict,
        Phase::Failed,
        reason::REPLICA_FAILURE,
        "Deployment shop/web: pods \"web-5d8-x\" is forbidden: exceeded quota: compute, requested: cpu=1, used: cpu=4, limited: cpu=4",
    );
    // ReplicaFailure=False is nothing.
    live["status"]["conditions"][2]["status"] = json!("False");
    assert_eq!(
        deploy(&live, &Previous::default()).health.reason,
        reason::LESS_READY
    );
}

#[test]
fn ap4_statefulset_stuck_fails_at_its_deadline() {
    let live = statefulset(1, json!({}), api_stuck(1));
    let run = |previous: &Previous, now: Timestamp| {
        workload(Kind::StatefulSet, Some(&live), &[], previous, now, Some(3))
    };

    // First pass: Pending, the timer starts, wake at the deadline.
    let first = run(&Previous::default(), at(0));
    assert_health(
        &first,
        Phase::Pending,
        reason::LESS_READY,
        "0/1 replicas ready",
    );
    assert_eq!(first.wake_at, Some(at(3)));
    assert_eq!(
        first.record.progress,
        Some(Progress {
            generation: 1,
            updated: 1,
            ready: 0,
            since: at(0)
        })
    );

    // Before the deadline: still Pending, same wake time, same timer.
    let before = run(&first.record, at(2));
    assert_eq!(before.health.phase, Phase::Pending);
    assert_eq!(before.wake_at, Some(at(3)));
    assert_eq!(before.record, first.record);

    // At the deadline (the timer fired) and after: Failed, exact message.
    for seconds in [3, 4, 60] {
        let failed = run(&first.record, at(seconds));
        assert_health(
            &failed,
            Phase::Failed,
            reason::PROGRESS_DEADLINE_EXCEEDED,
            "StatefulSet shop/api: 0/1 ready for 3s",
        );
        assert_eq!(failed.wake_at, None);
        assert_eq!(failed.record, first.record);
        let rows = conditions(
            failed.health.phase,
            &failed.health.reason,
            &failed.health.message,
        );
        assert_eq!(
            rows,
            vec![
                ConditionRow {
                    condition_type: "Ready",
                    status: "False",
                    reason: "ProgressDeadlineExceeded".into(),
                    message: "StatefulSet shop/api: 0/1 ready for 3s".into(),
                },
                ConditionRow {
                    condition_type: "Stalled",
                    status: "True",
                    reason: "ProgressDeadlineExceeded".into(),
                    message: "StatefulSet shop/api: 0/1 ready for 3s".into(),
                },
            ]
        );
    }

    // Ready: Running, timer gone.
    let ready = statefulset(1, json!({}), api_ready(1));
    let verdict = workload(
        Kind::StatefulSet,
        Some(&ready),
        &[],
        &first.record,
        at(10),
        Some(3),
    );
    assert_health(&verdict, Phase::Running, "", "");
    assert_eq!(verdict.record, running_at(1));
}

#[test]
fn statefulset_progress_restarts_the_timer() {
    let spec = json!({"replicas": 3});
    let status = |updated: i64, ready: i64| {
        json!({
            "observedGeneration": 1, "replicas": 3, "readyReplicas": ready,
            "currentReplicas": 3 - updated, "updatedReplicas": updated,
            "currentRevision": "api-1", "updateRevision": "api-2",
        })
    };
    let run = |live: &Value, previous: &Previous, now| {
        workload(Kind::StatefulSet, Some(live), &[], previous, now, Some(10))
    };
    let first = run(
        &statefulset(1, spec.clone(), status(1, 2)),
        &Previous::default(),
        at(0),
    );
    assert_health(
        &first,
        Phase::Pending,
        reason::LESS_READY,
        "2/3 replicas ready",
    );
    assert_eq!(first.wake_at, Some(at(10)));

    // One more pod updated at 8 s: progress, the deadline moves to 18 s.
    let second = run(
        &statefulset(1, spec.clone(), status(2, 2)),
        &first.record,
        at(8),
    );
    assert_eq!(second.wake_at, Some(at(18)));
    assert_eq!(second.record.progress.map(|p| p.since), Some(at(8)));

    // A pod lost readiness at 12 s: no progress, deadline stays at 18 s.
    let third = run(
        &statefulset(1, spec.clone(), status(2, 1)),
        &second.record,
        at(12),
    );
    assert_eq!(third.wake_at, Some(at(18)));
    assert_eq!(
        third.record.progress.map(|p| (p.ready, p.since)),
        Some((1, at(8)))
    );

    // Back up at 15 s: that is progress again.
    let fourth = run(
        &statefulset(1, spec.clone(), status(2, 2)),
        &third.record,
        at(15),
    );
    assert_eq!(fourth.wake_at, Some(at(25)));

    // A new generation (a new rollout) restarts the timer too.
    let mut next = statefulset(2, spec.clone(), status(2, 2));
    next["status"]["observedGeneration"] = json!(2);
    let fifth = run(&next, &fourth.record, at(24));
    assert_eq!(fifth.wake_at, Some(at(34)));
    assert_eq!(fifth.record.progress.map(|p| p.generation), Some(2));
}

#[test]
fn statefulset_default_deadline_is_600_seconds() {
    let live = statefulset(1, json!({}), api_stuck(1));
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &[],
        &Previous::default(),
        t0(),
        None,
    );
    assert_eq!(verdict.wake_at, Some(at(600)));
    let later = workload(
        Kind::StatefulSet,
        Some(&live),
        &[],
        &verdict.record,
        at(600),
        None,
    );
    assert_health(
        &later,
        Phase::Failed,
        reason::PROGRESS_DEADLINE_EXCEEDED,
        "StatefulSet shop/api: 0/1 ready for 600s",
    );
}

#[test]
fn statefulset_crash_after_running_is_degraded_not_failed() {
    let live = statefulset(1, json!({}), api_stuck(1));
    let pods = [pod_waiting("api-0", "CrashLoopBackOff")];
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &pods,
        &running_at(1),
        at(3600),
        Some(3),
    );
    assert_health(
        &verdict,
        Phase::Degraded,
        reason::REPLICAS_NOT_READY,
        "0/1 ready; api-0: CrashLoopBackOff",
    );
    assert_eq!(verdict.wake_at, None);
    assert_eq!(verdict.record, running_at(1));
}

#[test]
fn statefulset_checks_map_to_reasons() {
    let cases: [(&str, Value, Value, Phase, &str, &str); 9] = [
        (
            "status.replicas > replicas",
            json!({}),
            json!({"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "currentReplicas": 2}),
            Phase::Pending,
            reason::EXTRA_PODS,
            "1 extra replicas pending termination",
        ),
        (
            "status.replicas < replicas",
            json!({"replicas": 2}),
            json!({"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "currentReplicas": 1}),
            Phase::Pending,
            reason::LESS_READY,
            "1/2 replicas created",
        ),
        (
            "readyReplicas < replicas",
            json!({}),
            json!({"replicas": 1, "readyReplicas": 0, "updatedReplicas": 1, "currentReplicas": 1}),
            Phase::Pending,
            reason::LESS_READY,
            "0/1 replicas ready",
        ),
        (
            "updatedReplicas < replicas, partition 0",
            json!({"replicas": 2}),
            json!({"replicas": 2, "readyReplicas": 2, "updatedReplicas": 1, "currentReplicas": 1,
                   "currentRevision": "api-1", "updateRevision": "api-2"}),
            Phase::Pending,
            reason::LESS_UPDATED,
            "1/2 replicas updated",
        ),
        (
            "updatedReplicas < replicas - partition",
            json!({"replicas": 4, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
            json!({"replicas": 4, "readyReplicas": 4, "updatedReplicas": 1, "currentReplicas": 3,
                   "currentRevision": "api-1", "updateRevision": "api-2"}),
            Phase::Pending,
            reason::PARTITION_ROLLOUT,
            "1/2 replicas updated (partition 2)",
        ),
        (
            "partition reached: revisions may differ",
            json!({"replicas": 4, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
            json!({"replicas": 4, "readyReplicas": 4, "updatedReplicas": 2, "currentReplicas": 2,
                   "currentRevision": "api-1", "updateRevision": "api-2"}),
            Phase::Running,
            "",
            "",
        ),
        (
            "partition 0, revisions differ",
            json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}),
            json!({"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "currentReplicas": 1,
                   "currentRevision": "api-1", "updateRevision": "api-2"}),
            Phase::Pending,
            reason::REVISION_MISMATCH,
            "current revision \"api-1\", update revision \"api-2\"",
        ),
        (
            "partition 0, currentReplicas < replicas",
            json!({}),
            json!({"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "currentReplicas": 0,
                   "currentRevision": "api-1", "updateRevision": "api-1"}),
            Phase::Pending,
            reason::REVISION_MISMATCH,
            "0/1 replicas at the current revision",
        ),
        (
            "OnDelete: done when ready",
            json!({"updateStrategy": {"type": "OnDelete"}}),
            json!({"replicas": 1, "readyReplicas": 1, "updatedReplicas": 0, "currentReplicas": 1,
                   "currentRevision": "api-1", "updateRevision": "api-2"}),
            Phase::Running,
            "",
            "",
        ),
    ];
    for (what, spec, mut status, phase, reason, message) in cases {
        status["observedGeneration"] = json!(1);
        let live = statefulset(1, spec, status);
        let verdict = workload(
            Kind::StatefulSet,
            Some(&live),
            &[],
            &Previous::default(),
            t0(),
            None,
        );
        assert_eq!(
            (
                verdict.health.phase,
                verdict.health.reason.as_str(),
                verdict.health.message.as_str()
            ),
            (phase, reason, message),
            "{what}"
        );
    }
    // OnDelete, not ready: LessReady.
    let live = statefulset(
        1,
        json!({"updateStrategy": {"type": "OnDelete"}}),
        json!({"observedGeneration": 1, "replicas": 1}),
    );
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &[],
        &Previous::default(),
        t0(),
        None,
    );
    assert_health(
        &verdict,
        Phase::Pending,
        reason::LESS_READY,
        "0/1 replicas ready",
    );
}

// Rule 7: pod reasons.

#[test]
fn pod_waiting_reasons_that_count() {
    let cases = [
        ("CrashLoopBackOff", true),
        ("ImagePullBackOff", true),
        ("ErrImagePull", true),
        ("ErrImageNeverPull", true),
        ("CreateContainerConfigError", true),
        ("InvalidImageNameError", true),
        ("RunContainerError", true),
        ("ContainerCreating", false),
        ("PodInitializing", false),
    ];
    let live = statefulset(1, json!({}), api_stuck(1));
    for (waiting, counts) in cases {
        let pods = [pod_waiting("api-0", waiting)];
        let verdict = workload(
            Kind::StatefulSet,
            Some(&live),
            &pods,
            &Previous::default(),
            t0(),
            None,
        );
        let expected = if counts {
            format!("0/1 replicas ready; api-0: {waiting}")
        } else {
            "0/1 replicas ready".to_owned()
        };
        assert_eq!(verdict.health.message, expected, "{waiting}");
    }
}

#[test]
fn pod_init_containers_oom_and_exit_codes() {
    let pod = json!({
        "metadata": {"name": "api-0"},
        "status": {
            "initContainerStatuses": [
                {"name": "migrate", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}},
            ],
            "containerStatuses": [
                {"name": "api", "state": {"waiting": {"reason": "PodInitializing"}},
                 "lastState": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "sidecar", "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}},
                {"name": "other", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            ],
        },
    });
    let live = statefulset(1, json!({}), api_stuck(1));
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &[pod],
        &Previous::default(),
        t0(),
        None,
    );
    assert_eq!(
        verdict.health.message,
        "0/1 replicas ready; api-0: CrashLoopBackOff, OOMKilled, exit code 2"
    );
}

#[test]
fn pod_unscheduled_counts_after_15_seconds_and_wakes_then() {
    let pod = |since: i64| {
        json!({
            "metadata": {"name": "api-0", "creationTimestamp": rfc3339(-100)},
            "status": {"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "lastTransitionTime": rfc3339(since),
                "message": "0/3 nodes are available: 3 Insufficient cpu."
            }]},
        })
    };
    let live = statefulset(1, json!({}), api_stuck(1));
    // Unscheduled for 10 s: not yet named; wake when it turns 15 s, which
    // is before the 600 s deadline.
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &[pod(-10)],
        &Previous::default(),
        t0(),
        None,
    );
    assert_eq!(verdict.health.message, "0/1 replicas ready");
    assert_eq!(verdict.wake_at, Some(at(5)));
    // 15 s and more: named, and the wake time is the deadline again.
    for since in [-15, -20] {
        let verdict = workload(
            Kind::StatefulSet,
            Some(&live),
            &[pod(since)],
            &Previous::default(),
            t0(),
            None,
        );
        assert_eq!(
            verdict.health.message,
            "0/1 replicas ready; api-0: Unschedulable"
        );
        assert_eq!(verdict.wake_at, Some(at(600)));
    }
    // Without a transition time, the pod's age counts.
    let mut old = pod(0);
    old["status"]["conditions"][0]
        .as_object_mut()
        .unwrap()
        .remove("lastTransitionTime");
    let verdict = workload(
        Kind::StatefulSet,
        Some(&live),
        &[old],
        &Previous::default(),
        t0(),
        None,
    );
    assert_eq!(
        verdict.health.message,
        "0/1 replicas ready; api-0: Unschedulable"
    );
}

#[test]
fn at_most_three_pods_are_named_in_name_order() {
    let pods: Vec<Value> = ["web-e", "web-c", "web-a", "web-d", "web-b"]
        .iter()
        .map(|name| pod_waiting(name, "ImagePullBackOff"))
        .chain([json!({"metadata": {"name": "web-0"}, "status": {"phase": "Running"}})])
        .collect();
    let status = json!({
        "observedGeneration": 1,
        "replicas": 5, "updatedReplicas": 5, "readyReplicas": 0, "availableReplicas": 0,
        "conditions": [
            {"type": "Available", "status": "False"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    });
    let mut live = deployment(1, status);
    live["spec"]["replicas"] = json!(5);
    let verdict = workload(
        Kind::Deployment,
        Some(&live),
        &pods,
        &running_at(1),
        t0(),
        None,
    );
    assert_health(
        &verdict,
        Phase::Degraded,
        reason::REPLICAS_NOT_READY,
        "0/5 ready; web-a: ImagePullBackOff; web-b: ImagePullBackOff; web-c: ImagePullBackOff; and 2 more",
    );
}

// The Application.

#[test]
fn application_phase_is_the_worst_component() {
    let health = |phase| Health {
        phase,
        reason: String::new(),
        message: String::new(),
        ready: 0,
        desired: 0,
        running_generation: None,
    };
    assert_eq!(application(&[]), Phase::Running);
    assert_eq!(worst([]), Phase::Running);
    let cases = [
        (vec![Phase::Running, Phase::Running], Phase::Running),
        (vec![Phase::Running, Phase::Pending], Phase::Pending),
        (
            vec![Phase::Degraded, Phase::Pending, Phase::Running],
            Phase::Degraded,
        ),
        (
            vec![Phase::Pending, Phase::Failed, Phase::Degraded],
            Phase::Failed,
        ),
    ];
    for (phases, expected) in cases {
        let components: Vec<Health> = phases.iter().copied().map(health).collect();
        assert_eq!(application(&components), expected, "{phases:?}");
        assert_eq!(worst(phases.iter().copied()), expected);
    }
    assert!(
        Phase::Running < Phase::Pending
            && Phase::Pending < Phase::Degraded
            && Phase::Degraded < Phase::Failed
    );
    for phase in [
        Phase::Running,
        Phase::Pending,
        Phase::Degraded,
        Phase::Failed,
    ] {
        assert_eq!(phase.as_str().parse::<Phase>(), Ok(phase));
    }
    assert!("Unknown".parse::<Phase>().is_err());
}

#[test]
fn conditions_table() {
    let rows = |phase, reason| -> Vec<(&'static str, &'static str, String)> {
        conditions(phase, reason, "msg")
            .into_iter()
            .map(|r| {
                assert_eq!(r.message, "msg");
                (r.condition_type, r.status, r.reason)
            })
            .collect()
    };
    assert_eq!(
        rows(Phase::Pending, "LessUpdated"),
        vec![
            ("Ready", "False", "LessUpdated".into()),
            ("Reconciling", "True", "LessUpdated".into())
        ]
    );
    assert_eq!(
        rows(Phase::Running, ""),
        vec![("Ready", "True", "AllComponentsReady".into())]
    );
    assert_eq!(
        rows(Phase::Degraded, "ReplicasNotReady"),
        vec![("Ready", "False", "ComponentsDegraded".into())]
    );
    assert_eq!(
        rows(Phase::Failed, "ChildConflict"),
        vec![
            ("Ready", "False", "ChildConflict".into()),
            ("Stalled", "True", "ChildConflict".into())
        ]
    );
    // A condition's reason may not be empty.
    assert_eq!(
        rows(Phase::Pending, ""),
        vec![
            ("Ready", "False", "Pending".into()),
            ("Reconciling", "True", "Pending".into())
        ]
    );
}

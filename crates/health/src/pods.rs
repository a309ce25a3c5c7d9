//! Rule 7: what the component's Pods say about why it is not done.
//!
//! Pod reasons never change the phase (a crash-looping pod of an old
//! ReplicaSet may be on its way out); they only make the message say what
//! a person would look for with `kubectl describe pod`.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::rules::{str_at, timestamp_at};

/// How long a Pod may stay unscheduled before it is worth naming: the
/// scheduler usually places a pod within seconds, and kstatus uses the
/// same 15 s window.
const SCHEDULING_GRACE: SignedDuration = SignedDuration::from_secs(15);

/// At most this many pods are named; the rest are counted, so a large
/// failing Deployment does not blow the message (and the status) up.
const MAX_PODS_NAMED: usize = 3;

/// The pod part of a message, and when it will change by itself.
pub(crate) struct PodReasons {
    /// `web-1: CrashLoopBackOff; web-2: OOMKilled; and 1 more`, or empty.
    pub(crate) text: String,
    /// When a pod's scheduling grace ends, making it worth naming.
    pub(crate) wake_at: Option<Timestamp>,
}

/// Collects the reasons of `pods` at `now`.
///
/// Pods are taken in name order so the message does not change with the
/// order a cache lists them in (a changed message is a status write).
pub(crate) fn reasons(pods: &[Value], now: Timestamp) -> PodReasons {
    let mut named: Vec<(&str, Vec<String>)> = Vec::new();
    let mut wake_at: Option<Timestamp> = None;
    for pod in pods {
        let (found, wake) = pod_reasons(pod, now);
        if let Some(wake) = wake {
            wake_at = Some(wake_at.map_or(wake, |w| w.min(wake)));
        }
        if !found.is_empty() {
            named.push((str_at(pod, "/metadata/name").unwrap_or("?"), found));
        }
    }
    named.sort_by(|a, b| a.0.cmp(b.0));
    let mut parts: Vec<String> = named
        .iter()
        .take(MAX_PODS_NAMED)
        .map(|(name, found)| format!("{name}: {}", found.join(", ")))
        .collect();
    if named.len() > MAX_PODS_NAMED {
        parts.push(format!("and {} more", named.len() - MAX_PODS_NAMED));
    }
    PodReasons {
        text: parts.join("; "),
        wake_at,
    }
}

/// One pod's reasons, deduplicated in the order found, and when its
/// scheduling grace ends if that is still ahead.
fn pod_reasons(pod: &Value, now: Timestamp) -> (Vec<String>, Option<Timestamp>) {
    let mut found: Vec<String> = Vec::new();
    let mut add = |reason: String| {
        if !found.contains(&reason) {
            found.push(reason);
        }
    };
    let mut wake_at = None;

    // Init containers first: a pod whose init container crash-loops never
    // starts its main containers, so that is the reason to show.
    for list in ["/status/initContainerStatuses", "/status/containerStatuses"] {
        let Some(statuses) = pod.pointer(list).and_then(Value::as_array) else {
            continue;
        };
        for status in statuses {
            if let Some(waiting) = str_at(status, "/state/waiting/reason")
                && is_bad_waiting_reason(waiting)
            {
                add(waiting.to_owned());
            }
            if let Some(terminated) = status.pointer("/lastState/terminated") {
                let reason = str_at(terminated, "/reason").unwrap_or("");
                let exit = terminated
                    .pointer("/exitCode")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if reason == "OOMKilled" {
                    add("OOMKilled".to_owned());
                } else if exit != 0 {
                    add(format!("exit code {exit}"));
                }
            }
        }
    }

    if let Some(conditions) = pod.pointer("/status/conditions").and_then(Value::as_array) {
        for condition in conditions {
            if str_at(condition, "/type") != Some("PodScheduled")
                || str_at(condition, "/status") != Some("False")
            {
                continue;
            }
            // Unscheduled since the condition's transition, else since the
            // pod was created; with neither, name it now rather than never.
            let since = timestamp_at(condition, "/lastTransitionTime")
                .or_else(|| timestamp_at(pod, "/metadata/creationTimestamp"));
            let due = since.and_then(|since| since.checked_add(SCHEDULING_GRACE).ok());
            match due {
                Some(due) if now < due => wake_at = Some(due),
                _ => add(str_at(condition, "/reason")
                    .unwrap_or("Unschedulable")
                    .to_owned()),
            }
        }
    }
    (found, wake_at)
}

/// Waiting reasons that mean trouble rather than a normal start
/// (`ContainerCreating`, `PodInitializing`): `ErrImagePull`,
/// `ErrImageNeverPull`, `CreateContainerConfigError`,
/// `InvalidImageNameError`, `CrashLoopBackOff`, `ImagePullBackOff`, ...
fn is_bad_waiting_reason(reason: &str) -> bool {
    reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff")
}

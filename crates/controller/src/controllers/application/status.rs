//! How a component and an application are doing, from what a pass saw:
//! the outcome of each apply (rule 1: a failed apply is `Failed`), then
//! the workload's own status and its pods (`workload-health`).

use integration_api::{ComponentState, WorkloadStatus};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::DynamicObject;
use kube_declarative::{Event, Outcome};
use serde_json::Value;
use workload_health::{Kind, Phase, Previous, Progress};

use crate::ObjectRef;

/// Reasons of rule 1 and of the application's own checks.
pub mod reason {
    /// A same-named object the operator does not manage is in the way.
    pub const CHILD_CONFLICT: &str = "ChildConflict";
    /// The API server refused an apply as not allowed.
    pub const FORBIDDEN: &str = "Forbidden";
    /// A change needs a field the API server will not update.
    pub const IMMUTABLE_FIELD_CHANGED: &str = "ImmutableFieldChanged";
    /// Any other failed apply.
    pub const APPLY_FAILED: &str = "ApplyFailed";
    /// The spec cannot be applied; the message names the field.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// A `componentRefs` entry names no Component.
    pub const COMPONENT_NOT_FOUND: &str = "ComponentNotFound";
    /// A Component's Application does not exist.
    pub const APPLICATION_NOT_FOUND: &str = "ApplicationNotFound";
    /// A Component's Application does not list it.
    pub const NOT_REFERENCED: &str = "NotReferenced";
    /// The monitoring API is not served: no ServiceMonitors.
    pub const SERVICE_MONITOR_API_NOT_FOUND: &str = "ServiceMonitorAPINotFound";
    /// No Prometheus picks a component's ServiceMonitor.
    pub const NOT_SELECTED_BY_ANY_PROMETHEUS: &str = "NotSelectedByAnyPrometheus";
    /// A Component exists but its status is not about its spec yet.
    pub const COMPONENT_NOT_RECONCILED: &str = "ComponentNotReconciled";
    /// A `requires` link is refused by the socket's namespace rules.
    pub const LINK_NOT_ALLOWED: &str = "LinkNotAllowed";
    /// A `requires` link is not coupled yet.
    pub const LINK_PENDING: &str = "LinkPending";
}

/// A component whose workload is Running but with a link not coupled is
/// `Pending`: `LinkNotAllowed` (quoting the plug) before `LinkPending`.
pub fn with_links(
    mut state: ComponentState,
    links: &[integration_api::LinkState],
) -> ComponentState {
    use super::links::state;
    if state.phase.as_deref() != Some(Phase::Running.as_str()) {
        return state;
    }
    let refused = links.iter().find(|l| l.state == state::NOT_ALLOWED);
    let waiting = links.iter().find(|l| l.state != state::COUPLED);
    let (link, why) = match (refused, waiting) {
        (Some(link), _) => (link, reason::LINK_NOT_ALLOWED),
        (None, Some(link)) => (link, reason::LINK_PENDING),
        (None, None) => return state,
    };
    state.phase = Some(Phase::Pending.as_str().into());
    state.reason = Some(why.into());
    state.message = link.message.clone();
    state
}

/// What a pass saw of one component.
pub struct Seen<'a> {
    /// The component's name.
    pub name: &'a str,
    /// Its workload kind.
    pub kind: Kind,
    /// Its live workload, if any.
    pub workload: Option<&'a DynamicObject>,
    /// Its pods.
    pub pods: Vec<&'a DynamicObject>,
    /// The outcome of each of its children's apply in this pass.
    pub outcomes: Vec<(&'a ObjectRef, &'a Outcome)>,
    /// Its `progressDeadlineSeconds`.
    pub deadline: Option<i32>,
    /// Its connections, as `component:port`.
    pub connections: Vec<String>,
}

/// The state of one component and when to look again without an event.
pub fn component(
    seen: &Seen<'_>,
    previous: Option<&ComponentState>,
    owner: &str,
    now: Timestamp,
) -> (ComponentState, Option<Timestamp>) {
    let mut state = ComponentState {
        name: seen.name.to_string(),
        kind: Some(seen.kind.as_str().to_string()),
        connections: (!seen.connections.is_empty()).then(|| seen.connections.clone()),
        ..ComponentState::default()
    };
    if let Some((reason, message)) = failed_apply(&seen.outcomes, owner) {
        state.phase = Some(Phase::Failed.as_str().into());
        state.reason = Some(reason.into());
        state.message = Some(message);
        state.running_generation = previous.and_then(|p| p.running_generation);
        return (state, None);
    }
    let live = seen.workload.and_then(|w| serde_json::to_value(w).ok());
    let pods: Vec<Value> = seen
        .pods
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect();
    let verdict = workload_health::workload(
        seen.kind,
        live.as_ref(),
        &pods,
        &previous_of(previous),
        now,
        seen.deadline.map(i64::from),
    );
    let health = verdict.health;
    state.replicas = Some(health.desired);
    state.ready_replicas = Some(health.ready);
    state.phase = Some(health.phase.as_str().into());
    state.reason = Some(health.reason).filter(|r| !r.is_empty());
    state.message = Some(health.message).filter(|m| !m.is_empty());
    state.running_generation = health.running_generation;
    if let Some(progress) = verdict.record.progress {
        state.progress_since = Some(progress.since.to_string());
        state.progress_mark = Some(vec![
            progress.generation,
            i64::from(progress.updated),
            i64::from(progress.ready),
        ]);
    }
    (state, verdict.wake_at)
}

/// What the last status recorded for the rules' timers and memory.
fn previous_of(previous: Option<&ComponentState>) -> Previous {
    let progress = previous.and_then(|p| {
        let since = p.progress_since.as_deref()?.parse().ok()?;
        let [generation, updated, ready] = p.progress_mark.as_deref()? else {
            return None;
        };
        Some(Progress {
            generation: *generation,
            updated: i32::try_from(*updated).ok()?,
            ready: i32::try_from(*ready).ok()?,
            since,
        })
    });
    Previous {
        running_generation: previous.and_then(|p| p.running_generation),
        progress,
    }
}

/// Rule 1: the first child whose apply failed or met someone else's
/// object, as a reason and a message naming it.
fn failed_apply(
    outcomes: &[(&ObjectRef, &Outcome)],
    owner: &str,
) -> Option<(&'static str, String)> {
    outcomes.iter().find_map(|(object, outcome)| match outcome {
        Outcome::Conflict { .. } => Some((
            reason::CHILD_CONFLICT,
            format!("{object} exists and is not managed by {owner}"),
        )),
        Outcome::Failed(failure) => Some(match failure.code {
            403 => (reason::FORBIDDEN, failure.message.clone()),
            422 if is_immutable(&failure.message) => (
                reason::IMMUTABLE_FIELD_CHANGED,
                immutable_message(object, &failure.message),
            ),
            _ => (reason::APPLY_FAILED, failure.message.clone()),
        }),
        _ => None,
    })
}

/// Whether a 422 is about a field the server will not update.
pub fn is_immutable(message: &str) -> bool {
    message.contains("field is immutable")
        || message.contains("updates to statefulset spec for fields other than")
}

/// `StatefulSet shop/api: spec.volumeClaimTemplates cannot be changed …`.
fn immutable_message(object: &ObjectRef, message: &str) -> String {
    let field = if message.contains("statefulset spec") {
        "spec.volumeClaimTemplates, spec.serviceName or spec.selector"
    } else {
        "spec.selector"
    };
    format!(
        "{object}: {field} cannot be changed in place; set onImmutableChange: Recreate to delete it (keeping its pods and claims) and create it again"
    )
}

/// The Ready, Reconciling and Stalled conditions of `phase`, keeping each
/// unchanged condition's `lastTransitionTime`.
pub fn conditions(
    previous: Option<&Vec<Condition>>,
    phase: Phase,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    workload_health::conditions(phase, reason, message)
        .into_iter()
        .map(|row| {
            condition(
                previous,
                row.condition_type,
                row.status,
                &row.reason,
                &row.message,
                generation,
                now,
            )
        })
        .collect()
}

/// One condition; its `lastTransitionTime` moves only when its status does.
pub fn condition(
    previous: Option<&Vec<Condition>>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> Condition {
    let since = previous
        .into_iter()
        .flatten()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or(Time(now), |c| c.last_transition_time.clone());
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: since,
    }
}

/// Folds component states into the status of their owner: the worst
/// phase, its reason and message, READY as ready components over all.
pub fn summary(status: &mut WorkloadStatus, states: &[ComponentState]) -> (Phase, String, String) {
    let phase_of = |s: &ComponentState| {
        s.phase
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(Phase::Pending)
    };
    let phase = workload_health::worst(states.iter().map(phase_of));
    let ready = states
        .iter()
        .filter(|s| phase_of(s) == Phase::Running)
        .count();
    status.ready = Some(format!("{ready}/{}", states.len()));
    let worst = states.iter().find(|s| phase_of(s) == phase);
    let reason = worst.and_then(|s| s.reason.clone()).unwrap_or_default();
    let message = worst.and_then(|s| s.message.clone()).unwrap_or_default();
    status.phase = Some(phase.as_str().into());
    status.message = Some(message.clone()).filter(|m| !m.is_empty());
    (phase, reason, message)
}

/// The Events of a pass: drift set back, and a phase that changed.
pub fn events(
    kind: &str,
    name: &str,
    before: Option<&str>,
    after: Phase,
    message: &str,
    outcomes: &[(&ObjectRef, &Outcome)],
) -> Vec<Event> {
    let mut events: Vec<Event> = outcomes
        .iter()
        .filter_map(|(object, outcome)| match outcome {
            Outcome::Applied {
                drift: Some(field), ..
            } => Some(Event::normal(
                "DriftCorrected",
                format!("{object}: {field} was changed by someone else and is set back"),
            )),
            _ => None,
        })
        .collect();
    if before != Some(after.as_str()) {
        let note = if message.is_empty() {
            format!("{kind} {name} is {after}")
        } else {
            format!("{kind} {name} is {after}: {message}")
        };
        events.push(match after {
            Phase::Running | Phase::Pending => Event::normal(after.as_str(), note),
            Phase::Degraded | Phase::Failed => Event::warning(after.as_str(), note),
        });
    }
    events
}

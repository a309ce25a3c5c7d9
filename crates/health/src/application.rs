//! Folding components into the Application's phase, and the conditions
//! a phase shows.

use crate::{Health, Phase};

/// The worst of `phases` (`Running < Pending < Degraded < Failed`);
/// `Running` when there are none.
///
/// The Application folds in more than its components (links, missing
/// `componentRefs`); this is the fold they all go through.
pub fn worst(phases: impl IntoIterator<Item = Phase>) -> Phase {
    phases.into_iter().max().unwrap_or(Phase::Running)
}

/// The Application's phase from its components' health: the worst one,
/// `Running` for zero components (nothing to wait for).
pub fn application<'a>(components: impl IntoIterator<Item = &'a Health>) -> Phase {
    worst(components.into_iter().map(|health| health.phase))
}

/// The condition types [`conditions`] decides: a type it does not return
/// for a phase must be removed from the status, not left stale.
pub const MANAGED_CONDITIONS: [&str; 3] = ["Ready", "Reconciling", "Stalled"];

/// One condition to set: `type`, `status`, `reason` and `message` of a
/// `metav1.Condition` (the caller adds `observedGeneration` and keeps
/// `lastTransitionTime` when the status does not change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionRow {
    /// `Ready`, `Reconciling` or `Stalled`.
    pub condition_type: &'static str,
    /// `"True"` or `"False"`, as Kubernetes spells them.
    pub status: &'static str,
    /// A CamelCase reason (never empty: the API rejects that).
    pub reason: String,
    /// Details for a person.
    pub message: String,
}

/// The `Ready`/`Reconciling`/`Stalled` conditions for a phase, per the
/// spec's table, so kstatus (Flux, Helm `--wait`), `kubectl wait
/// --for=condition=Ready` and Argo CD all read the Application the same
/// way:
///
/// | phase | `Ready` | `Reconciling` | `Stalled` |
/// |---|---|---|---|
/// | Pending | False, `reason` | True, `reason` | absent |
/// | Running | True, `AllComponentsReady` | absent | absent |
/// | Degraded | False, `ComponentsDegraded` | absent | absent |
/// | Failed | False, `reason` | absent | True, `reason` |
///
/// `reason` and `message` are those of the component (or link) that made
/// the phase; an empty `reason` falls back to the phase's name, since a
/// condition's reason may not be empty. Types not returned are absent.
pub fn conditions(phase: Phase, reason: &str, message: &str) -> Vec<ConditionRow> {
    let reason = if reason.is_empty() {
        phase.as_str()
    } else {
        reason
    };
    let row = |condition_type, status, reason: &str| ConditionRow {
        condition_type,
        status,
        reason: reason.to_owned(),
        message: message.to_owned(),
    };
    match phase {
        Phase::Pending => vec![
            row("Ready", "False", reason),
            row("Reconciling", "True", reason),
        ],
        Phase::Running => vec![row("Ready", "True", "AllComponentsReady")],
        Phase::Degraded => vec![row("Ready", "False", "ComponentsDegraded")],
        Phase::Failed => vec![
            row("Ready", "False", reason),
            row("Stalled", "True", reason),
        ],
    }
}

//! Pure helpers for status conditions (docs/lifecycle.md, "Conditions";
//! docs/deferred.md, "Conditions").
//!
//! Every kind has one main condition (`Coupled` on Plug and Socket,
//! `Resolved` on DeferredResource) and a `Failed` condition that carries
//! the last error.
//!
//! Re-asserting a condition that already holds must produce an identical
//! status, so that the controllers can compare before writing and stay
//! silent when nothing changed: `lastTransitionTime` only moves when the
//! condition's `status` flips.

use integration_api::condition::{COUPLED, FAILED, RESOLVED, reason};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The desired state of one condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired<'a> {
    /// `Coupled`, `Failed`, …
    pub type_: &'a str,
    /// `True` or `False`.
    pub status: bool,
    /// The reason constant.
    pub reason: &'a str,
    /// The message.
    pub message: String,
}

impl<'a> Desired<'a> {
    /// `Coupled` with the given status, reason and message.
    pub fn coupled(status: bool, reason: &'a str, message: impl Into<String>) -> Self {
        Desired {
            type_: COUPLED,
            status,
            reason,
            message: message.into(),
        }
    }

    /// `Resolved` (DeferredResource) with the given status, reason and
    /// message.
    pub fn resolved(status: bool, reason: &'a str, message: impl Into<String>) -> Self {
        Desired {
            type_: RESOLVED,
            status,
            reason,
            message: message.into(),
        }
    }

    /// `Failed=True/Error` with the error text.
    pub fn failed(message: impl Into<String>) -> Self {
        Desired {
            type_: FAILED,
            status: true,
            reason: reason::ERROR,
            message: message.into(),
        }
    }
}

/// The condition of `type_`, if present.
pub fn find<'c>(conditions: Option<&'c Vec<Condition>>, type_: &str) -> Option<&'c Condition> {
    conditions?.iter().find(|c| c.type_ == type_)
}

/// Sets `desired` in `conditions`, keeping `lastTransitionTime` when the
/// status did not flip.
pub fn set(conditions: &mut Option<Vec<Condition>>, desired: Desired<'_>, generation: Option<i64>) {
    let list = conditions.get_or_insert_with(Vec::new);
    let status = if desired.status { "True" } else { "False" };
    let previous = list.iter().position(|c| c.type_ == desired.type_);
    let last_transition_time = previous
        .map(|i| &list[i])
        .filter(|c| c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(jiff::Timestamp::now()));
    let condition = Condition {
        type_: desired.type_.to_string(),
        status: status.to_string(),
        reason: desired.reason.to_string(),
        message: desired.message,
        observed_generation: generation,
        last_transition_time,
    };
    match previous {
        Some(i) => list[i] = condition,
        None => list.push(condition),
    }
}

/// Removes the condition of `type_`; an emptied list becomes `None`.
pub fn remove(conditions: &mut Option<Vec<Condition>>, type_: &str) {
    if let Some(list) = conditions {
        list.retain(|c| c.type_ != type_);
        if list.is_empty() {
            *conditions = None;
        }
    }
}

/// Sets the main condition (`Coupled`, `Resolved`) and clears `Failed`:
/// every non-error transition.
pub fn set_main(
    conditions: &mut Option<Vec<Condition>>,
    desired: Desired<'_>,
    generation: Option<i64>,
) {
    set(conditions, desired, generation);
    remove(conditions, FAILED);
}

/// The error transition: the main condition `main_type` becomes
/// `False/Error` with `main_message` when it exists (an object that never
/// got one keeps retrying its first steps), and `Failed` carries `message`.
pub fn set_error(
    conditions: &mut Option<Vec<Condition>>,
    main_type: &str,
    main_message: &str,
    message: &str,
    generation: Option<i64>,
) {
    if find(conditions.as_ref(), main_type).is_some() {
        let main = Desired {
            type_: main_type,
            status: false,
            reason: reason::ERROR,
            message: main_message.to_string(),
        };
        set(conditions, main, generation);
    }
    set(conditions, Desired::failed(message), generation);
}

/// Shows `warnings` (docs/compatibility.md, "Warnings and strict mode"):
/// `Warnings=True/Compatibility` listing them, one per line, or no
/// `Warnings` condition when there are none. Returns whether the message
/// is new (the Warning Events are due).
pub fn set_warnings(
    conditions: &mut Option<Vec<Condition>>,
    warnings: &[String],
    generation: Option<i64>,
) -> bool {
    use integration_api::condition::WARNINGS;
    if warnings.is_empty() {
        remove(conditions, WARNINGS);
        return false;
    }
    let message = warnings.join("\n");
    let new = find(conditions.as_ref(), WARNINGS).map(|c| c.message.as_str()) != Some(&message);
    let desired = Desired {
        type_: WARNINGS,
        status: true,
        reason: reason::COMPATIBILITY,
        message,
    };
    set(conditions, desired, generation);
    new
}

/// [`set_error`] for Plug and Socket: `Coupled` becomes `Error`
/// (`coupling failed`).
pub fn set_failed(conditions: &mut Option<Vec<Condition>>, message: &str, generation: Option<i64>) {
    use integration_api::condition::message::COUPLING_FAILED;
    set_error(conditions, COUPLED, COUPLING_FAILED, message, generation);
}

/// [`set_failed`] with the reason of `Failed` given: a refusal by the
/// socket's namespace rules is `NamespaceNotAllowed`, so an Application
/// can tell a refused link from one still trying.
pub fn set_failed_because(
    conditions: &mut Option<Vec<Condition>>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set_failed(conditions, message, generation);
    if let Some(failed) = conditions
        .as_mut()
        .and_then(|list| list.iter_mut().find(|c| c.type_ == FAILED))
    {
        failed.reason = reason.to_string();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reasserting_a_condition_changes_nothing() {
        let mut conditions = None;
        set_main(&mut conditions, Desired::coupled(false, "A", "a"), Some(1));
        let before = conditions.clone();
        set_main(&mut conditions, Desired::coupled(false, "A", "a"), Some(1));
        assert_eq!(conditions, before);
        // Same status, other reason: the transition time is kept.
        set_main(&mut conditions, Desired::coupled(false, "B", "b"), Some(1));
        let list = conditions.unwrap();
        assert_eq!(
            list[0].last_transition_time,
            before.unwrap()[0].last_transition_time
        );
        assert_eq!(list[0].reason, "B");
    }

    #[test]
    fn warnings_are_listed_once_and_cleared_when_gone() {
        use integration_api::condition::WARNINGS;
        let mut conditions = None;
        let two = ["a".to_string(), "b".to_string()];
        assert!(set_warnings(&mut conditions, &two, Some(1)));
        let shown = find(conditions.as_ref(), WARNINGS).unwrap();
        assert_eq!(
            (
                shown.status.as_str(),
                shown.reason.as_str(),
                shown.message.as_str()
            ),
            ("True", "Compatibility", "a\nb")
        );
        assert!(!set_warnings(&mut conditions, &two, Some(1)));
        assert!(!set_warnings(&mut conditions, &[], Some(1)));
        assert!(conditions.is_none());
    }

    #[test]
    fn failures_mark_coupled_only_when_it_exists() {
        let mut conditions = None;
        set_failed(&mut conditions, "boom", Some(1));
        let list = conditions.clone().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].type_, FAILED);
        set_main(&mut conditions, Desired::coupled(false, "X", "x"), Some(1));
        assert!(find(conditions.as_ref(), FAILED).is_none());
        set_failed(&mut conditions, "boom", Some(2));
        let coupled = find(conditions.as_ref(), COUPLED).unwrap();
        assert_eq!(
            (coupled.reason.as_str(), coupled.message.as_str()),
            ("Error", "coupling failed")
        );
    }
}

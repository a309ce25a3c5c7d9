//! The Plug controller's decisions: pure functions of the plug, its socket
//! and what a pass has seen (no I/O), tested beside them.

use std::collections::BTreeMap;

use integration_api::condition::{COUPLED, message, reason};
use integration_api::{CommonSpec, CycleProgress, Do, Plug, PlugStatus, Socket, When};
use integration_engine::{CouplingEvent, Rendered, Results, Side, Validated};
use kube::core::{Selector, SelectorExt};
use kube::{Resource, ResourceExt};
use regex::Regex;
use serde_json::json;

use crate::context::{Result, has_finalizer};
use crate::status::{self, Desired};

/// The lifecycle step a pass takes, decided from the plug and the socket
/// its spec names (`None` when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Being deleted with our finalizer: decouple, deleted hooks, release.
    Finalize,
    /// Being deleted, finalizer already gone: nothing to do.
    Gone,
    /// Add the finalizer.
    AddFinalizer,
    /// Run the `created` hooks (no `Coupled` condition yet).
    Create,
    /// The recorded coupling is not with the live socket (deleted,
    /// re-created or re-targeted): decouple from the old one.
    Break,
    /// No live socket: wait for one.
    WaitForSocket,
    /// Check admission, then couple or update.
    Couple,
}

/// The step for `plug`, given the socket its spec names.
pub fn decide(plug: &Plug, socket: Option<&Socket>) -> Step {
    if plug.meta().deletion_timestamp.is_some() {
        return if has_finalizer(plug) {
            Step::Finalize
        } else {
            Step::Gone
        };
    }
    if !has_finalizer(plug) {
        return Step::AddFinalizer;
    }
    let status = plug.status.as_ref();
    if status::find(status.and_then(|s| s.conditions.as_ref()), COUPLED).is_none()
        || status.is_some_and(created_pending)
    {
        return Step::Create;
    }
    let live = socket.filter(|s| s.meta().deletion_timestamp.is_none());
    let coupled_uid = status
        .and_then(|s| s.coupled_socket.as_ref())
        .map(|c| c.uid.as_str());
    match (coupled_uid, live) {
        (Some(uid), live) if live.and_then(|s| s.meta().uid.as_deref()) != Some(uid) => Step::Break,
        (_, None) => Step::WaitForSocket,
        // A new socket's first pass has not added its finalizer yet: until
        // it has, deleting the socket would not wait for this plug to
        // decouple. Adding it wakes the plug.
        (None, Some(socket)) if !has_finalizer(socket) => Step::WaitForSocket,
        (_, Some(_)) => Step::Couple,
    }
}

/// The cycle to run against the socket with `socket_uid` when the inputs
/// hash to `hash`: `coupled` for a new coupling (including one whose hooks
/// ran but whose result phase has not completed yet: `coupledSocket` is
/// set, `inputsHash` is not), `updated` when the inputs changed since the
/// last completed cycle (docs/lifecycle.md, "Level-triggered updates"),
/// else none.
pub fn cycle(status: &PlugStatus, socket_uid: &str, hash: &str) -> Option<CouplingEvent> {
    match (&status.coupled_socket, status.inputs_hash.as_deref()) {
        (Some(c), Some(done)) if c.uid == socket_uid => {
            (done != hash).then_some(CouplingEvent::Updated)
        }
        _ => Some(CouplingEvent::Coupled),
    }
}

/// Shows that an apparatus the pass needs is starting (docs/apparatus.md,
/// "Lazy start"): `Coupled=False/CouplingInProcess` with `message`, which
/// names the apparatus and since when. Before the `created` hooks ran
/// (no `Coupled` yet) the progress records them as pending, since the
/// `Coupled` condition alone would mark them done.
pub fn starting(status: &mut PlugStatus, message: &str, generation: Option<i64>) {
    if status::find(status.conditions.as_ref(), COUPLED).is_none() {
        status.progress = Some(CycleProgress {
            event: When::Created.as_str().to_string(),
            inputs_hash: String::new(),
            hooks_done: false,
            sides_done: None,
        });
    }
    let waiting = Desired::coupled(false, reason::COUPLING_IN_PROCESS, message);
    status::set(&mut status.conditions, waiting, generation);
}

/// Whether the `created` hooks are still pending behind a `Coupled`
/// condition written by [`starting`].
fn created_pending(status: &PlugStatus) -> bool {
    status
        .progress
        .as_ref()
        .is_some_and(|p| p.event == When::Created.as_str() && !p.hooks_done)
}

/// Whether the plug was coupled to the socket with `socket_uid` by the
/// original Go operator, and is taken over as it is (docs/lifecycle.md,
/// "Taking over from the original operator"): its status says
/// `Coupled=True/CouplingSucceeded` with a `coupledSocket` naming that
/// socket, and has none of what this operator records (`inputsHash`,
/// `progress`). Adopting it records the inputs hash without running hooks.
pub fn adoptable(status: &PlugStatus, socket_uid: &str) -> bool {
    let succeeded = status::find(status.conditions.as_ref(), COUPLED)
        .is_some_and(|c| c.status == "True" && c.reason == reason::COUPLING_SUCCEEDED);
    let same_socket = status
        .coupled_socket
        .as_ref()
        .is_some_and(|c| c.uid == socket_uid);
    succeeded && same_socket && status.inputs_hash.is_none() && status.progress.is_none()
}

/// Namespace rules of the socket (docs/lifecycle.md, "Namespace rules"): the
/// deny and allow patterns (unanchored regular-expression searches; an invalid
/// one is an error), then `namespaceSelector` against `labels`, the labels of
/// the plug's namespace (read only when the socket has a selector).
pub fn admission(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    socket: &Socket,
) -> Result<(), String> {
    let Some(validation) = &socket.spec.validation else {
        return Ok(());
    };
    let matches = |patterns: &[String]| -> Result<bool, String> {
        for pattern in patterns {
            let re = Regex::new(pattern).map_err(|_| {
                format!(
                    "socket {}/{} has an invalid namespace pattern '{pattern}'",
                    socket.namespace().unwrap_or_default(),
                    socket.name_any()
                )
            })?;
            if re.is_match(namespace) {
                return Ok(true);
            }
        }
        Ok(false)
    };
    if let Some(deny) = &validation.namespace_blacklist
        && matches(deny)?
    {
        return Err(format!("namespace {namespace} is blacklisted"));
    }
    if let Some(allow) = &validation.namespace_whitelist
        && !matches(allow)?
    {
        return Err(format!("namespace {namespace} is not whitelisted"));
    }
    if let Some(selector) = &validation.namespace_selector {
        let selector = Selector::try_from(selector.clone()).map_err(|e| {
            format!(
                "socket {}/{} has an invalid namespaceSelector: {}",
                socket.namespace().unwrap_or_default(),
                socket.name_any(),
                e.0
            )
        })?;
        if !selector.matches(labels) {
            return Err(format!(
                "namespace {namespace} does not match the namespaceSelector of socket {}/{}",
                socket.namespace().unwrap_or_default(),
                socket.name_any()
            ));
        }
    }
    Ok(())
}

/// Whether the socket's rules need the labels of the plug's namespace.
pub(super) fn needs_namespace_labels(socket: &Socket) -> bool {
    socket
        .spec
        .validation
        .as_ref()
        .is_some_and(|v| v.namespace_selector.is_some())
}

/// Marks a completed coupling: `Coupled=True/CouplingSucceeded`, no cycle
/// in progress.
pub(super) fn mark_succeeded(status: &mut PlugStatus, generation: Option<i64>) {
    status.progress = None;
    let ok = Desired::coupled(
        true,
        reason::COUPLING_SUCCEEDED,
        message::COUPLING_SUCCEEDED,
    );
    status::set_main(&mut status.conditions, ok, generation);
}

/// Fingerprint of what a cycle's hooks see: both objects' identity and
/// spec, and both resolved configs. Stored in `status.progress` so a retry
/// whose hooks already ran for the same inputs skips them (docs/lifecycle.md,
/// "Result phase"), while a
/// changed config runs them again. It covers secret values, so only its
/// equality means anything.
pub(super) fn hooks_fingerprint(
    plug: &Plug,
    socket: &Socket,
    configs: &integration_engine::Configs,
) -> String {
    digest(&json!({
        "plug": {"uid": plug.uid(), "spec": plug.spec},
        "socket": {"uid": socket.uid(), "spec": socket.spec},
        "configs": {"plug": configs.plug.values, "socket": configs.socket.values},
    }))
}

/// Fingerprint of what the plug's own `deleted` hooks see.
pub(super) fn own_fingerprint(plug: &Plug) -> String {
    digest(&json!({"plug": {"uid": plug.uid(), "spec": plug.spec}}))
}

/// SHA-256 of a JSON document, in hex.
pub(super) fn digest(doc: &serde_json::Value) -> String {
    integration_engine::sha256_hex(&doc.to_string())
}

/// The progress of `event` with `fingerprint`: the recorded one when it is
/// the same event over the same inputs (a retry or a restart resumes it),
/// else a fresh one with nothing done.
pub fn resume(recorded: Option<&CycleProgress>, event: When, fingerprint: String) -> CycleProgress {
    match recorded {
        Some(p) if p.event == event.as_str() && p.inputs_hash == fingerprint => p.clone(),
        _ => CycleProgress {
            event: event.as_str().to_string(),
            inputs_hash: fingerprint,
            hooks_done: false,
            sides_done: None,
        },
    }
}

/// Whether `progress` records `side`'s hooks as done.
pub fn side_done(progress: &CycleProgress, side: Side) -> bool {
    progress.hooks_done
        || progress
            .sides_done
            .iter()
            .flatten()
            .any(|s| s == side.as_str())
}

/// Records `side`'s hooks as done in `progress`.
pub(super) fn mark_side_done(progress: &mut CycleProgress, side: Side) {
    let done = progress.sides_done.get_or_insert_with(Vec::new);
    if !done.iter().any(|s| s == side.as_str()) {
        done.push(side.as_str().to_string());
    }
}

/// Whether a side's hooks hold a step that must not run twice: an
/// apparatus call, or a `recreate` (each repeat deletes and re-creates its
/// object). Hooks run at least once (docs/lifecycle.md, "At-least-once hooks
/// and resume"): a server-side apply and a
/// delete are idempotent, so repeating them after a crash does no harm and
/// needs no status write. Only an unrepeatable step needs its progress
/// written before it runs, and its completion before the next step.
pub fn has_unrepeatable_steps(spec: &CommonSpec, rendered: &[Rendered]) -> bool {
    spec.apparatus.is_some() || recreates(rendered)
}

/// Whether any of `rendered` is a `recreate`: the one resource step that is
/// not idempotent.
pub(super) fn recreates(rendered: &[Rendered]) -> bool {
    rendered.iter().any(|r| r.action == Do::Recreate)
}

/// The `Coupled` condition a new coupled or updated cycle shows while it
/// runs.
pub(super) fn in_process(event: CouplingEvent) -> Desired<'static> {
    match event {
        CouplingEvent::Updated => Desired::coupled(
            false,
            reason::UPDATING_IN_PROCESS,
            message::UPDATING_IN_PROCESS,
        ),
        _ => Desired::coupled(
            false,
            reason::COUPLING_IN_PROCESS,
            message::COUPLING_IN_PROCESS,
        ),
    }
}

/// Forgets a coupling in a status: no socket, result, hash or progress.
pub(super) fn forget_coupling(status: &mut PlugStatus) {
    status.coupled_socket = None;
    status.coupled_result = None;
    status.inputs_hash = None;
    status.progress = None;
}

/// The reason and verb of a coupling event's Events: `PlugCoupled`, …
pub(super) fn event_words(side: Side, event: CouplingEvent) -> (String, &'static str) {
    let verb = match event {
        CouplingEvent::Coupled => "coupled",
        CouplingEvent::Updated => "updated",
        CouplingEvent::Decoupled => "decoupled",
    };
    let mut title = verb.to_string();
    title[..1].make_ascii_uppercase();
    (format!("{}{title}", side.kind()), verb)
}

/// The results stored at the last result phase, for cleaning up
/// resultResources when they cannot be recomputed at decouple.
pub(super) fn stored_results(status: Option<&PlugStatus>) -> Option<Results> {
    let stored = status?.coupled_result.as_ref()?;
    let side = |values: &Option<std::collections::BTreeMap<String, String>>| Validated {
        values: values.clone().unwrap_or_default(),
        ..Validated::default()
    };
    Some(Results {
        plug: side(&stored.plug),
        socket: side(&stored.socket),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A plug status as the original writes it after a successful couple
    /// (spec integration.md §2.2): one `Coupled` condition, `coupledSocket`,
    /// `coupledResult`.
    fn original_status(reason: &str, status: &str, socket_uid: &str) -> PlugStatus {
        serde_json::from_value(json!({
            "conditions": [{
                "type": "Coupled", "status": status, "reason": reason,
                "message": "coupling succeeded", "observedGeneration": 1,
                "lastTransitionTime": "2024-01-01T00:00:00Z"
            }],
            "coupledSocket": {
                "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Socket",
                "name": "postgres", "namespace": "db", "uid": socket_uid
            },
            "coupledResult": {"observedGeneration": 1}
        }))
        .unwrap()
    }

    #[test]
    fn only_a_completed_coupling_of_the_original_is_adopted() {
        assert!(adoptable(
            &original_status("CouplingSucceeded", "True", "s1"),
            "s1"
        ));
        // Another incarnation of the socket.
        assert!(!adoptable(
            &original_status("CouplingSucceeded", "True", "s1"),
            "s2"
        ));
        // Left mid-way: couples normally.
        for reason in ["CouplingInProcess", "Error", "UpdatingInProcess"] {
            assert!(!adoptable(&original_status(reason, "False", "s1"), "s1"));
        }
        // Already ours.
        let mut ours = original_status("CouplingSucceeded", "True", "s1");
        ours.inputs_hash = Some("h".into());
        assert!(!adoptable(&ours, "s1"));
    }
    use integration_api::{API_VERSION, CoupledRef, FINALIZER, Validation};

    fn plug(finalizer: bool, conditions: bool) -> Plug {
        let mut p: Plug = serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Plug",
            "metadata": {"name": "p", "namespace": "app", "uid": "p1"},
            "spec": {"socket": {"name": "s", "namespace": "db"}}
        }))
        .unwrap();
        if finalizer {
            p.metadata.finalizers = Some(vec![FINALIZER.into()]);
        }
        if conditions {
            let mut s = PlugStatus::default();
            status::set(
                &mut s.conditions,
                Desired::coupled(false, "PlugCreated", "x"),
                None,
            );
            p.status = Some(s);
        }
        p
    }

    /// A socket its controller has passed over: it holds the finalizer.
    fn socket(uid: &str) -> Socket {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Socket",
            "metadata": {"name": "s", "namespace": "db", "uid": uid, "finalizers": [FINALIZER]},
            "spec": {}
        }))
        .unwrap()
    }

    fn coupled_to(mut p: Plug, uid: &str) -> Plug {
        let s = p.status.get_or_insert_with(Default::default);
        s.coupled_socket = Some(CoupledRef {
            uid: uid.into(),
            ..Default::default()
        });
        p
    }

    #[test]
    fn steps_follow_the_lifecycle() {
        assert_eq!(decide(&plug(false, false), None), Step::AddFinalizer);
        assert_eq!(decide(&plug(true, false), None), Step::Create);
        assert_eq!(decide(&plug(true, true), None), Step::WaitForSocket);
        assert_eq!(decide(&plug(true, true), Some(&socket("s1"))), Step::Couple);
        // A socket without its finalizer yet: deleting it would not wait
        // for the plug, so no new coupling; a coupled plug stays.
        let mut new_socket = socket("s1");
        new_socket.metadata.finalizers = None;
        assert_eq!(
            decide(&plug(true, true), Some(&new_socket)),
            Step::WaitForSocket
        );
        let coupled = coupled_to(plug(true, true), "s1");
        assert_eq!(decide(&coupled, Some(&new_socket)), Step::Couple);
        assert_eq!(decide(&coupled, Some(&socket("s1"))), Step::Couple);
        assert_eq!(decide(&coupled, Some(&socket("s2"))), Step::Break);
        assert_eq!(decide(&coupled, None), Step::Break);
        let mut deleting = socket("s1");
        deleting.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now()),
        );
        assert_eq!(decide(&coupled, Some(&deleting)), Step::Break);
    }

    #[test]
    fn cycles_run_only_when_inputs_change() {
        let mut s = PlugStatus::default();
        assert_eq!(cycle(&s, "s1", "h"), Some(CouplingEvent::Coupled));
        s.coupled_socket = Some(CoupledRef {
            uid: "s1".into(),
            ..Default::default()
        });
        // Hooks ran, result phase pending: still the coupled cycle.
        assert_eq!(cycle(&s, "s1", "h"), Some(CouplingEvent::Coupled));
        s.inputs_hash = Some("h".into());
        assert_eq!(cycle(&s, "s1", "h"), None);
        assert_eq!(cycle(&s, "s1", "h2"), Some(CouplingEvent::Updated));
    }

    #[test]
    fn namespace_rules_search_unanchored() {
        let mut s = socket("s1");
        s.spec.validation = Some(Validation {
            namespace_blacklist: Some(vec!["sandbox".into()]),
            ..Default::default()
        });
        assert_eq!(
            admission("team-sandbox-1", &BTreeMap::new(), &s).unwrap_err(),
            "namespace team-sandbox-1 is blacklisted"
        );
        assert!(admission("app", &BTreeMap::new(), &s).is_ok());
        s.spec.validation = Some(Validation {
            namespace_whitelist: Some(vec!["^app$".into()]),
            ..Default::default()
        });
        assert_eq!(
            admission("app-staging", &BTreeMap::new(), &s).unwrap_err(),
            "namespace app-staging is not whitelisted"
        );
        s.spec.validation = Some(Validation {
            namespace_whitelist: Some(vec!["(".into()]),
            ..Default::default()
        });
        assert!(
            admission("app", &BTreeMap::new(), &s)
                .unwrap_err()
                .contains("invalid namespace pattern '('")
        );
    }

    #[test]
    fn progress_resumes_the_same_event_over_the_same_inputs() {
        let mut p = resume(None, When::Coupled, "h".into());
        assert!(!side_done(&p, Side::Plug));
        mark_side_done(&mut p, Side::Plug);
        mark_side_done(&mut p, Side::Plug);
        assert_eq!(p.sides_done, Some(vec!["plug".to_string()]));
        assert!(side_done(&p, Side::Plug) && !side_done(&p, Side::Socket));
        assert_eq!(resume(Some(&p), When::Coupled, "h".into()), p);
        // Other inputs or another event start over.
        assert_eq!(
            resume(Some(&p), When::Coupled, "h2".into()).sides_done,
            None
        );
        assert_eq!(resume(Some(&p), When::Updated, "h".into()).sides_done, None);
    }

    #[test]
    fn only_a_recreate_or_an_apparatus_is_unrepeatable() {
        let step = |action| Rendered {
            action,
            object: json!({}),
            template: String::new(),
            document: 0,
        };
        let mut spec = CommonSpec::default();
        assert!(!has_unrepeatable_steps(&spec, &[]));
        let idempotent = [step(Do::Apply), step(Do::Delete)];
        assert!(!has_unrepeatable_steps(&spec, &idempotent));
        assert!(has_unrepeatable_steps(
            &spec,
            &[step(Do::Apply), step(Do::Recreate)]
        ));
        spec.apparatus = Some(Default::default());
        assert!(has_unrepeatable_steps(&spec, &[]));
    }

    #[test]
    fn event_reasons() {
        assert_eq!(
            event_words(Side::Plug, CouplingEvent::Coupled).0,
            "PlugCoupled"
        );
        assert_eq!(
            event_words(Side::Socket, CouplingEvent::Decoupled).0,
            "SocketDecoupled"
        );
    }
}

//! The Socket controller's decisions: its `coupledPlugs` and status, pure
//! functions of the socket and the plugs coupled to it.

use integration_api::condition::{COUPLED, message, plugs_coupled, reason};
use integration_api::{Admission, CoupledRef, Linked, Socket, SocketStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Resource;

use super::links::plug_ref;
use crate::status::{self, Desired};

/// The plugs coupled to the socket with `socket_uid`, as `coupledPlugs`
/// lists them: sorted by namespace, then name.
pub fn coupled_plugs<'p, P: Linked + Resource + 'p>(
    plugs: impl IntoIterator<Item = &'p P>,
    socket_uid: &str,
) -> Vec<CoupledRef> {
    let mut refs: Vec<CoupledRef> = plugs
        .into_iter()
        .filter(|p| p.coupled_socket().is_some_and(|c| c.uid == socket_uid))
        .map(|p| {
            let meta = p.meta();
            let (ns, name) = (meta.namespace.as_deref(), meta.name.as_deref());
            let uid = p.plug_uid().unwrap_or_default();
            plug_ref(ns.unwrap_or_default(), name.unwrap_or_default(), uid)
        })
        .collect();
    refs.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    refs
}

/// The socket status for `coupled`: `SocketCoupled` with the count, or
/// `SocketEmpty`. Failed goes away with any successful pass.
pub fn desired_status(socket: &Socket, coupled: Vec<CoupledRef>) -> SocketStatus {
    let mut status = socket.status.clone().unwrap_or_default();
    status.conditions = desired_conditions(socket, coupled.len());
    status.coupled_plugs = (!coupled.is_empty()).then_some(coupled);
    status
}

/// The socket's conditions with `count` plugs coupled.
fn desired_conditions(socket: &Socket, count: usize) -> Option<Vec<Condition>> {
    let condition = if count == 0 {
        Desired::coupled(false, reason::SOCKET_EMPTY, message::SOCKET_EMPTY)
    } else {
        Desired::coupled(true, reason::SOCKET_COUPLED, plugs_coupled(count))
    };
    let mut conditions = socket.status.as_ref().and_then(|s| s.conditions.clone());
    status::set_main(&mut conditions, condition, socket.meta().generation);
    conditions
}

/// Whether `desired` differs from `current` only in which plugs it lists:
/// `coupledPlugs` and the count in the `Coupled` message, the condition's
/// status and reason unchanged. Such a write may wait ([`super::pace`]).
pub fn only_plugs_changed(current: Option<&SocketStatus>, desired: &SocketStatus) -> bool {
    current.is_some_and(|current| without_plugs(current) == without_plugs(desired))
}

/// Whether a pass that finds `count` plugs coupled can only change which
/// plugs the status lists ([`only_plugs_changed`]), or nothing: known
/// without building the list, so a pass that must wait anyway is cheap.
/// A socket with a limit may also change its admission ledger.
pub fn only_plugs_may_change(socket: &Socket, count: usize) -> bool {
    let probe = SocketStatus {
        conditions: desired_conditions(socket, count),
        coupled_plugs: None,
        admission: None,
    };
    socket.plug_limit().is_none() && only_plugs_changed(socket.status.as_ref(), &probe)
}

/// What of a status is not about which plugs are coupled: the conditions
/// without the `Coupled` message (it counts them), and the admission ledger.
fn without_plugs(status: &SocketStatus) -> (Option<Vec<Condition>>, Option<&Admission>) {
    let mut conditions = status.conditions.clone();
    for condition in conditions.iter_mut().flatten() {
        if condition.type_ == COUPLED {
            condition.message.clear();
        }
    }
    (conditions, status.admission.as_ref())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn socket(status: Option<SocketStatus>) -> Socket {
        let mut socket: Socket = serde_json::from_value(json!({
            "apiVersion": integration_api::API_VERSION, "kind": "Socket",
            "metadata": {"name": "s", "namespace": "db", "uid": "s-uid", "generation": 1},
            "spec": {}
        }))
        .unwrap();
        socket.status = status;
        socket
    }

    fn plugs(n: usize) -> Vec<CoupledRef> {
        (0..n)
            .map(|i| plug_ref("app", &format!("p{i}"), &format!("u{i}")))
            .collect()
    }

    #[test]
    fn only_a_change_of_the_listed_plugs_may_wait() {
        let two = desired_status(&socket(None), plugs(2));
        let three = desired_status(&socket(Some(two.clone())), plugs(3));
        assert_ne!(two, three, "the list and the count changed");
        assert!(only_plugs_changed(Some(&two), &three));

        let none = desired_status(&socket(None), plugs(0));
        let one = desired_status(&socket(Some(none.clone())), plugs(1));
        assert!(
            !only_plugs_changed(Some(&none), &one),
            "Coupled turns True: at once"
        );
        let empty = desired_status(&socket(Some(two.clone())), plugs(0));
        assert!(
            !only_plugs_changed(Some(&two), &empty),
            "Coupled turns False: at once"
        );
        assert!(!only_plugs_changed(None, &one), "the first status: at once");

        let mut failed = two.clone();
        status::set_failed(&mut failed.conditions, "boom", Some(1));
        let recovered = desired_status(&socket(Some(failed.clone())), plugs(3));
        assert!(
            !only_plugs_changed(Some(&failed), &recovered),
            "Failed goes: at once"
        );

        let mut ledger = three.clone();
        ledger.admission = Some(Default::default());
        assert!(
            !only_plugs_changed(Some(&two), &ledger),
            "the admission ledger changed: at once"
        );
    }

    #[test]
    fn the_cheap_check_agrees_with_the_full_one() {
        let two = desired_status(&socket(None), plugs(2));
        let mut failed = two.clone();
        status::set_failed(&mut failed.conditions, "boom", Some(1));
        let mut ledger = two.clone();
        ledger.admission = Some(Default::default());
        let statuses = [
            None,
            Some(desired_status(&socket(None), plugs(0))),
            Some(two),
            Some(failed),
            Some(ledger),
        ];
        for status in statuses {
            for count in 0..4 {
                let socket = socket(status.clone());
                let mut desired = desired_status(&socket, plugs(count));
                // As a pass writes it: no ledger without a limit.
                desired.admission = None;
                let full = socket.status.as_ref() == Some(&desired)
                    || only_plugs_changed(socket.status.as_ref(), &desired);
                assert_eq!(
                    only_plugs_may_change(&socket, count),
                    full,
                    "{status:?} with {count} plugs"
                );
            }
        }
        let mut limited = socket(Some(desired_status(&socket(None), plugs(2))));
        limited.spec.limit = Some(5);
        assert!(
            !only_plugs_may_change(&limited, 3),
            "a limited socket may change its ledger"
        );
    }
}

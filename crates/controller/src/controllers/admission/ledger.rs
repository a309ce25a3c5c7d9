//! The admission ledger's rules: pure functions of a socket (its limit,
//! `status.admission` and `status.coupledPlugs`) and plugs, tested beside
//! them.

use std::collections::BTreeSet;

use integration_api::{Admission, AdmissionEntry, Linked, Plug, Socket};
use kube::{Resource, ResourceExt};

/// Where a plug stands with a socket's limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It holds a slot: it may couple.
    Admitted,
    /// It waits for a slot; `place` 1 gets the next one.
    Waiting {
        /// Its place among the waiting plugs, from 1.
        place: usize,
    },
}

/// The ledger entry of `plug`.
pub fn entry(plug: &Plug) -> AdmissionEntry {
    AdmissionEntry {
        namespace: plug.namespace().unwrap_or_default(),
        name: plug.name_any(),
        uid: plug.uid().unwrap_or_default(),
        created: plug
            .meta()
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string()),
    }
}

/// The socket's ledger (empty when it has none).
pub fn ledger(socket: &Socket) -> Admission {
    socket
        .status
        .as_ref()
        .and_then(|s| s.admission.clone())
        .unwrap_or_default()
}

/// Whether the ledger lists `uid`, holding a slot or waiting.
pub fn lists(ledger: &Admission, uid: &str) -> bool {
    ledger
        .admitted
        .iter()
        .chain(&ledger.waiting)
        .any(|e| e.uid == uid)
}

/// Whether `plug` is coupled to this incarnation of `socket`.
fn coupled_to(plug: &impl Linked, socket: &Socket) -> bool {
    plug.coupled_socket()
        .is_some_and(|c| Some(&c.uid) == socket.meta().uid.as_ref())
}

/// Whether a pass of `plug` must consult the socket's fresh ledger before
/// coupling: the socket has a limit, and the cached copy does not already
/// show the plug both coupled and holding a slot.
pub fn needs_claim(socket: &Socket, plug: &Plug) -> bool {
    let held = coupled_to(plug, socket)
        && ledger(socket)
            .admitted
            .iter()
            .any(|e| Some(&e.uid) == plug.meta().uid.as_ref());
    socket.plug_limit().is_some() && !held
}

/// Slots taken: the plugs the ledger admits, and any plug the socket's
/// status lists as coupled without holding a slot (coupled before the
/// limit was set, or decoupled while the socket status still lists it).
/// Counting those too errs on the side of waiting.
fn taken(socket: &Socket, ledger: &Admission) -> usize {
    let coupled = socket
        .status
        .as_ref()
        .and_then(|s| s.coupled_plugs.as_ref())
        .into_iter()
        .flatten()
        .map(|c| c.uid.as_str());
    let admitted = ledger.admitted.iter().map(|e| e.uid.as_str());
    admitted.chain(coupled).collect::<BTreeSet<_>>().len()
}

/// Oldest first: creation time (RFC 3339 in UTC, so it sorts as text),
/// then namespace and name.
fn by_age(entries: &mut [AdmissionEntry]) {
    entries.sort_by(|a, b| {
        (&a.created, &a.namespace, &a.name).cmp(&(&b.created, &b.namespace, &b.name))
    });
}

/// Admission of `plug` by `socket`, whose ledger is fresh, under `limit`:
/// the verdict, and the ledger to write first when it changes. A plug
/// already coupled keeps its slot whatever the limit; another takes a free
/// slot only when no older plug waits for it.
pub fn admit(socket: &Socket, limit: u32, plug: &Plug) -> (Verdict, Option<Admission>) {
    let current = ledger(socket);
    let own = entry(plug);
    if current.admitted.iter().any(|e| e.uid == own.uid) {
        return (Verdict::Admitted, None);
    }
    let mut next = current.clone();
    next.waiting.retain(|e| e.uid != own.uid);
    if coupled_to(plug, socket) {
        next.admitted.push(own);
        return (Verdict::Admitted, Some(next));
    }
    let free = (limit as usize).saturating_sub(taken(socket, &current));
    next.waiting.push(own.clone());
    by_age(&mut next.waiting);
    let index = next
        .waiting
        .iter()
        .position(|e| e.uid == own.uid)
        .unwrap_or_default();
    if index < free {
        next.waiting.remove(index);
        next.admitted.push(own);
        return (Verdict::Admitted, Some(next));
    }
    let changed = (next != current).then_some(next);
    (Verdict::Waiting { place: index + 1 }, changed)
}

/// The ledger without `uid`, or `None` when it does not list it.
pub fn release(ledger: &Admission, uid: &str) -> Option<Admission> {
    lists(ledger, uid).then(|| without(ledger, &BTreeSet::from([uid.to_string()])))
}

/// The ledger without the entries of `uids`.
pub fn without(ledger: &Admission, uids: &BTreeSet<String>) -> Admission {
    let keep = |entries: &[AdmissionEntry]| {
        entries
            .iter()
            .filter(|e| !uids.contains(&e.uid))
            .cloned()
            .collect()
    };
    Admission {
        admitted: keep(&ledger.admitted),
        waiting: keep(&ledger.waiting),
    }
}

/// Whether `plug` (the one named like `entry`, if any) no longer belongs in
/// the ledger of `socket`: it is gone (absent, or another incarnation), or
/// it names another socket and is not coupled to this one.
pub fn stale<P: Linked>(entry: &AdmissionEntry, plug: Option<&P>, socket: &Socket) -> bool {
    let Some(plug) = plug.filter(|p| p.plug_uid() == Some(entry.uid.as_str())) else {
        return true;
    };
    let names_socket =
        plug.socket_key() == Some((socket.namespace().unwrap_or_default(), socket.name_any()));
    !names_socket && !coupled_to(plug, socket)
}

/// The entries of the socket's ledger that a cache shows as [`stale`]
/// (`find` looks a plug up there by namespace and name): candidates to
/// confirm with a fresh read before dropping.
pub fn stale_in<P: Linked>(
    socket: &Socket,
    find: impl Fn(&str, &str) -> Option<P>,
) -> Vec<AdmissionEntry> {
    let ledger = ledger(socket);
    ledger
        .admitted
        .iter()
        .chain(&ledger.waiting)
        .filter(|e| stale(e, find(&e.namespace, &e.name).as_ref(), socket))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use integration_api::{API_VERSION, CoupledRef, PlugStatus, SocketStatus};
    use serde_json::json;

    fn plug(name: &str, created: &str) -> Plug {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Plug",
            "metadata": {"name": name, "namespace": "app", "uid": format!("u-{name}"),
                "creationTimestamp": created},
            "spec": {"socket": {"name": "s", "namespace": "db"}}
        }))
        .unwrap()
    }

    fn socket(admitted: &[&Plug], waiting: &[&Plug]) -> Socket {
        let mut s: Socket = serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Socket",
            "metadata": {"name": "s", "namespace": "db", "uid": "s1"},
            "spec": {"limit": 1}
        }))
        .unwrap();
        s.status = Some(SocketStatus {
            admission: Some(Admission {
                admitted: admitted.iter().map(|p| entry(p)).collect(),
                waiting: waiting.iter().map(|p| entry(p)).collect(),
            }),
            ..Default::default()
        });
        s
    }

    fn names(entries: &[AdmissionEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn a_free_slot_goes_to_the_oldest_waiting_plug() {
        let (old, young) = (
            plug("b", "2026-01-01T00:00:00Z"),
            plug("a", "2026-01-01T00:00:01Z"),
        );
        let s = socket(&[], &[&old]);
        // The younger plug lines up behind the older one.
        let (verdict, ledger) = admit(&s, 1, &young);
        assert_eq!(verdict, Verdict::Waiting { place: 2 });
        assert_eq!(names(&ledger.unwrap().waiting), ["b", "a"]);
        // The older one takes the slot.
        let (verdict, ledger) = admit(&s, 1, &old);
        assert_eq!(verdict, Verdict::Admitted);
        let ledger = ledger.unwrap();
        assert_eq!(names(&ledger.admitted), ["b"]);
        assert!(ledger.waiting.is_empty());
    }

    #[test]
    fn a_full_socket_admits_nobody_new_and_ties_go_by_name() {
        let holder = plug("h", "2026-01-01T00:00:00Z");
        let (x, y) = (
            plug("x", "2026-01-01T00:00:05Z"),
            plug("y", "2026-01-01T00:00:05Z"),
        );
        let s = socket(&[&holder], &[&y]);
        let (verdict, ledger) = admit(&s, 1, &x);
        assert_eq!(verdict, Verdict::Waiting { place: 1 });
        assert_eq!(names(&ledger.unwrap().waiting), ["x", "y"]);
        // Already listed at its place: nothing to write.
        assert_eq!(admit(&s, 1, &y), (Verdict::Waiting { place: 1 }, None));
        assert_eq!(admit(&s, 1, &holder), (Verdict::Admitted, None));
    }

    #[test]
    fn coupled_plugs_keep_their_slot_and_count_against_the_limit() {
        let mut coupled = plug("c", "2026-01-01T00:00:09Z");
        coupled.status = Some(PlugStatus {
            coupled_socket: Some(CoupledRef {
                uid: "s1".into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        let mut s = socket(&[], &[]);
        // Coupled before the ledger existed: it is listed, past the limit.
        let (verdict, ledger) = admit(&s, 1, &coupled);
        assert_eq!(verdict, Verdict::Admitted);
        assert_eq!(names(&ledger.unwrap().admitted), ["c"]);
        // Listed as coupled by the socket: its slot is taken.
        s.status.as_mut().unwrap().coupled_plugs = Some(vec![CoupledRef {
            uid: "u-c".into(),
            ..Default::default()
        }]);
        let other = plug("o", "2026-01-01T00:00:00Z");
        assert_eq!(admit(&s, 1, &other).0, Verdict::Waiting { place: 1 });
        assert_eq!(admit(&s, 2, &other).0, Verdict::Admitted);
    }

    #[test]
    fn release_and_stale_entries() {
        let (a, b) = (
            plug("a", "2026-01-01T00:00:00Z"),
            plug("b", "2026-01-01T00:00:01Z"),
        );
        let s = socket(&[&a], &[&b]);
        let released = release(&ledger(&s), "u-a").unwrap();
        assert!(released.admitted.is_empty());
        assert_eq!(names(&released.waiting), ["b"]);
        assert_eq!(release(&released, "u-a"), None);

        let mut moved = b.clone();
        moved.spec.socket.as_mut().unwrap().name = "other".into();
        assert!(!stale(&entry(&a), Some(&a), &s));
        assert!(stale::<Plug>(&entry(&a), None, &s));
        assert!(stale(&entry(&b), Some(&moved), &s));
        let plugs = [a.clone(), moved];
        let find = |ns: &str, name: &str| {
            let found = plugs.iter().find(|p| {
                p.metadata.namespace.as_deref() == Some(ns)
                    && p.metadata.name.as_deref() == Some(name)
            });
            found.cloned()
        };
        assert_eq!(names(&stale_in(&s, find)), ["b"]);
    }
}

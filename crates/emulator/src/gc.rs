//! The garbage collector and the namespace and CRD cleanup controllers. They run as a task
//! woken after writes, so, as on a real cluster, dependents go away shortly after the request
//! that orphaned them returned, not within it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::Shared;
use crate::crd;
use crate::resources::Gr;
use crate::state::{
    CRD_CLEANUP, DeleteOpts, FOREGROUND, ORPHAN, State, crd_gr, finalizers, is_terminating, ns_gr,
    set_finalizers,
};
use crate::store::{Key, meta_str};

enum Action {
    Delete(Gr, Key),
    RemoveOwnerRef(Gr, Key, String),
    RemoveFinalizer(Gr, Key, String),
    FinishNamespace(String),
}

/// Runs until the emulator is dropped.
pub async fn run(shared: Weak<Shared>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        let Some(sh) = shared.upgrade() else { return };
        // Let the request that woke us answer first.
        tokio::task::yield_now().await;
        let mut st = sh.lock();
        for _ in 0..64 {
            if !pass(&mut st) {
                break;
            }
        }
    }
}

fn refs(obj: &Value) -> Vec<&str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|r| r.get("uid")?.as_str()).collect())
        .unwrap_or_default()
}

/// One sweep; returns whether anything changed (so the caller sweeps again).
pub fn pass(st: &mut State) -> bool {
    let mut actions = Vec::new();
    let mut dependents: HashMap<String, usize> = HashMap::new();
    let resources = st.store.resources();

    for (key, ns) in st.store.list(&ns_gr(), None) {
        if !is_terminating(ns) {
            continue;
        }
        let mut empty = true;
        for gr in resources.iter().filter(|g| **g != ns_gr()) {
            for (k, o) in st.store.list(gr, Some(&key.1)) {
                empty = false;
                if !is_terminating(o) {
                    actions.push(Action::Delete(gr.clone(), k.clone()));
                }
            }
        }
        if empty {
            actions.push(Action::FinishNamespace(key.1.clone()));
        }
    }

    for (key, c) in st.store.list(&crd_gr(), None) {
        if !is_terminating(c) || !finalizers(c).iter().any(|f| f == CRD_CLEANUP) {
            continue;
        }
        let cr = crd::gr(c);
        let mut empty = true;
        for (k, o) in st.store.list(&cr, None) {
            empty = false;
            if !is_terminating(o) {
                actions.push(Action::Delete(cr.clone(), k.clone()));
            }
        }
        if empty {
            actions.push(Action::RemoveFinalizer(
                crd_gr(),
                key.clone(),
                CRD_CLEANUP.into(),
            ));
        }
    }

    for gr in &resources {
        for (key, obj) in st.store.list(gr, None) {
            let owners = refs(obj);
            if owners.is_empty() {
                continue;
            }
            for u in &owners {
                *dependents.entry(u.to_string()).or_default() += 1;
            }
            if owners.iter().all(|u| !st.store.uid_exists(u)) {
                if !is_terminating(obj) {
                    actions.push(Action::Delete(gr.clone(), key.clone()));
                }
                continue;
            }
            for u in &owners {
                let Some(owner) = st.store.by_uid(u) else {
                    continue;
                };
                if !is_terminating(owner) {
                    continue;
                }
                let f = finalizers(owner);
                if f.iter().any(|x| x == ORPHAN) {
                    actions.push(Action::RemoveOwnerRef(
                        gr.clone(),
                        key.clone(),
                        u.to_string(),
                    ));
                } else if f.iter().any(|x| x == FOREGROUND) && !is_terminating(obj) {
                    actions.push(Action::Delete(gr.clone(), key.clone()));
                }
            }
        }
    }

    for gr in &resources {
        for (key, obj) in st.store.list(gr, None) {
            if !is_terminating(obj) {
                continue;
            }
            let uid = meta_str(obj, "uid").unwrap_or("");
            if dependents.get(uid).copied().unwrap_or(0) > 0 {
                continue;
            }
            for f in finalizers(obj) {
                if f == FOREGROUND || f == ORPHAN {
                    actions.push(Action::RemoveFinalizer(gr.clone(), key.clone(), f));
                }
            }
        }
    }

    let changed = !actions.is_empty();
    for a in actions {
        apply(st, a);
    }
    changed
}

fn apply(st: &mut State, a: Action) {
    match a {
        Action::Delete(gr, (ns, name)) => match st.registry.any_version(&gr) {
            Some(rt) => {
                let _ = st.delete(&rt, &ns, &name, &DeleteOpts::default());
            }
            None => {
                st.remove_object(&gr, &ns, &name);
            }
        },
        Action::RemoveOwnerRef(gr, (ns, name), uid) => {
            let Some(obj) = st.store.get(&gr, &ns, &name) else {
                return;
            };
            let mut o = (**obj).clone();
            if let Some(list) = o
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                list.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
                if list.is_empty()
                    && let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut)
                {
                    m.remove("ownerReferences");
                }
            }
            st.store.put(&gr, o);
        }
        Action::RemoveFinalizer(gr, (ns, name), f) => {
            let Some(obj) = st.store.get(&gr, &ns, &name) else {
                return;
            };
            let mut o = (**obj).clone();
            let rest: Vec<String> = finalizers(&o).into_iter().filter(|x| *x != f).collect();
            set_finalizers(&mut o, &rest);
            finish(st, gr, ns, name, o);
        }
        Action::FinishNamespace(name) => {
            let Some(obj) = st.store.get(&ns_gr(), "", &name) else {
                return;
            };
            let mut o = (**obj).clone();
            o["spec"] = json!({});
            finish(st, ns_gr(), String::new(), name, o);
        }
    }
}

/// Stores `o`, or removes it when it is terminating and nothing holds it any more.
fn finish(st: &mut State, gr: Gr, ns: String, name: String, o: Value) {
    let ns_pending = gr == ns_gr()
        && o.pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
    if is_terminating(&o) && finalizers(&o).is_empty() && !ns_pending {
        st.remove_object(&gr, &ns, &name);
    } else {
        st.store.put(&gr, o);
    }
}

//! Which ConfigMaps and Secrets the plugs read, counted per map, kept from
//! the plug watch's events.
//!
//! Every map change in scope reaches the operator (a metadata watch), and
//! most maps are read by no plug: the ones plugs apply themselves, for a
//! start, one per coupling. Asking this index first makes such an event a
//! hash lookup instead of a scan of every plug, which at 10,000 plugs, each
//! applying a map, was quadratic. A plug reading nothing costs nothing here.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use integration_api::Plug;
use integration_engine::{MapObject, maps_read};
use kube::runtime::watcher;

use crate::plug_index::{PlugIndex, PlugKey, Relisted};

/// A map a plug may read in its namespace; `name: None` for any name of
/// its kind (a var whose name is a template).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Read {
    object: MapObject,
    namespace: String,
    name: Option<String>,
}

/// The maps plugs read: see the module docs.
#[derive(Default)]
pub struct MapReaders(Mutex<Relisted<Readers>>);

#[derive(Default)]
struct Readers {
    /// What each plug reading anything reads.
    by_plug: HashMap<PlugKey, Vec<Read>>,
    /// How many plugs read each map.
    counts: HashMap<Read, usize>,
}

impl MapReaders {
    /// Follows one event of the plug watch.
    pub fn observe(&self, event: &watcher::Event<Plug>) {
        let mut readers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        readers.observe(event);
    }

    /// Whether some plug in `namespace` may read the `object` named `name`.
    pub fn may_read(&self, object: MapObject, namespace: &str, name: &str) -> bool {
        let readers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let counted = |name: Option<&str>| {
            let read = Read {
                object,
                namespace: namespace.to_string(),
                name: name.map(str::to_string),
            };
            readers.index.counts.contains_key(&read)
        };
        counted(Some(name)) || counted(None)
    }
}

impl PlugIndex for Readers {
    type Object = Plug;
    type Entry = Vec<Read>;
    type Touched = ();

    fn entry(plug: &Plug) -> Option<Vec<Read>> {
        Some(reads(plug)).filter(|found| !found.is_empty())
    }

    fn set(&mut self, key: PlugKey, found: Option<Vec<Read>>) {
        let found = found.unwrap_or_default();
        let old = if found.is_empty() {
            self.by_plug.remove(&key)
        } else {
            self.by_plug.insert(key, found.clone())
        };
        for read in old.into_iter().flatten() {
            if let Some(n) = self.counts.get_mut(&read) {
                *n -= 1;
                if *n == 0 {
                    self.counts.remove(&read);
                }
            }
        }
        for read in found {
            *self.counts.entry(read).or_default() += 1;
        }
    }

    /// Replaces everything with a completed listing.
    fn replace(&mut self, listed: HashMap<PlugKey, Vec<Read>>) {
        self.counts.clear();
        for read in listed.values().flatten() {
            *self.counts.entry(read.clone()).or_default() += 1;
        }
        self.by_plug = listed;
    }
}

/// The maps `plug` reads (the engine's [`maps_read`]), without repeats.
fn reads(plug: &Plug) -> Vec<Read> {
    let namespace = plug.metadata.namespace.clone().unwrap_or_default();
    let mut found: Vec<Read> = maps_read(&plug.spec.common)
        .map(|(object, name)| Read {
            object,
            namespace: namespace.clone(),
            name: name.map(str::to_string),
        })
        .collect();
    found.sort_by(|a, b| (a.object.kind(), &a.name).cmp(&(b.object.kind(), &b.name)));
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn plug(name: &str, spec: serde_json::Value) -> Plug {
        serde_json::from_value(json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
            "metadata": {"name": name, "namespace": "app"}, "spec": spec
        }))
        .unwrap()
    }

    fn templated_var() -> serde_json::Value {
        json!({"vars": [{"name": "v", "fieldref": {"fieldPath": "data.k"},
            "objref": {"apiVersion": "v1", "kind": "Secret", "templateName": "{% .plug.metadata.name %}"}}]})
    }

    #[test]
    fn counts_follow_applies_deletes_and_relists() {
        let readers = MapReaders::default();
        let cm = |name: &str| readers.may_read(MapObject::ConfigMap, "app", name);
        let a = plug("a", json!({"configConfigMapName": "settings"}));
        let b = plug("b", json!({"configConfigMapName": "settings"}));
        readers.observe(&watcher::Event::Apply(a.clone()));
        readers.observe(&watcher::Event::Apply(b.clone()));
        assert!(cm("settings"));
        assert!(!cm("other"));
        assert!(!readers.may_read(MapObject::ConfigMap, "db", "settings"));
        assert!(!readers.may_read(MapObject::Secret, "app", "settings"));
        // One reader left: still read.
        readers.observe(&watcher::Event::Delete(a));
        assert!(cm("settings"));
        // A change of what it reads moves the count.
        let moved = plug("b", json!({"configConfigMapName": "other"}));
        readers.observe(&watcher::Event::Apply(moved));
        assert!(!cm("settings"));
        assert!(cm("other"));
        // A templated var name reads any Secret of its namespace.
        readers.observe(&watcher::Event::Apply(plug("c", templated_var())));
        assert!(readers.may_read(MapObject::Secret, "app", "anything"));
        // A relist replaces everything once it is done.
        readers.observe(&watcher::Event::Init);
        readers.observe(&watcher::Event::InitApply(b));
        assert!(cm("other"), "the old state holds until the list is done");
        readers.observe(&watcher::Event::InitDone);
        assert!(cm("settings"));
        assert!(!cm("other"));
        assert!(!readers.may_read(MapObject::Secret, "app", "anything"));
    }
}

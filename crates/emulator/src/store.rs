//! In-memory object storage with one global resourceVersion counter and a bounded event log
//! that watches resume from (and expire against, like etcd compaction).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::resources::Gr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as watches see it. `old` lets a watch with a selector turn an update into
/// ADDED/DELETED when the object enters or leaves the selection.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub gr: Gr,
    pub namespace: String,
    pub kind: EventType,
    pub object: Arc<Value>,
    pub old: Option<Arc<Value>>,
    /// The event as watch lines, serialized once and shared by every
    /// watch that serves it the same way (as the API server's watch cache
    /// does): per (version, type, metadata only).
    pub lines: Mutex<Vec<(LineKey, bytes::Bytes)>>,
}

/// How a watch serves an event: the group/version it converts to, the
/// event type it reports, and whether it wants metadata only.
pub type LineKey = (String, &'static str, bool);

impl Event {
    /// The line for `key`, made by `make` the first time only.
    pub fn line(&self, key: LineKey, make: impl FnOnce() -> bytes::Bytes) -> bytes::Bytes {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, line)) = lines.iter().find(|(k, _)| *k == key) {
            return line.clone();
        }
        let line = make();
        lines.push((key, line.clone()));
        line
    }
}

/// (namespace, name); namespace is empty for cluster-scoped objects.
pub type Key = (String, String);

pub struct Store {
    rv: u64,
    objects: HashMap<Gr, BTreeMap<Key, Arc<Value>>>,
    /// uid → where the object lives, for ownerReference resolution.
    uids: HashMap<String, (Gr, Key)>,
    log: VecDeque<Arc<Event>>,
    /// Events with rv ≤ this are gone; a watch from an older rv gets 410 Expired.
    compacted_rv: u64,
    log_cap: usize,
    tx: broadcast::Sender<Arc<Event>>,
}

/// Reads `metadata.<field>` as a string.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

pub fn key_of(obj: &Value) -> Key {
    (
        meta_str(obj, "namespace").unwrap_or("").to_string(),
        meta_str(obj, "name").unwrap_or("").to_string(),
    )
}

impl Store {
    pub fn new(log_cap: usize, channel_cap: usize) -> Self {
        let (tx, _) = broadcast::channel(channel_cap);
        Store {
            rv: 1,
            objects: HashMap::new(),
            uids: HashMap::new(),
            log: VecDeque::new(),
            compacted_rv: 0,
            log_cap,
            tx,
        }
    }

    pub fn rv(&self) -> u64 {
        self.rv
    }

    pub fn compacted_rv(&self) -> u64 {
        self.compacted_rv
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn get(&self, gr: &Gr, ns: &str, name: &str) -> Option<&Arc<Value>> {
        self.objects
            .get(gr)?
            .get(&(ns.to_string(), name.to_string()))
    }

    /// Objects of one resource, sorted by (namespace, name), optionally in one namespace.
    pub fn list<'a>(
        &'a self,
        gr: &Gr,
        ns: Option<&'a str>,
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a Arc<Value>)> + 'a> {
        let Some(map) = self.objects.get(gr) else {
            return Box::new(std::iter::empty());
        };
        match ns {
            Some(ns) => Box::new(
                map.range((ns.to_string(), String::new())..)
                    .take_while(move |(k, _)| k.0 == ns),
            ),
            None => Box::new(map.iter()),
        }
    }

    /// Resources that hold at least one object.
    pub fn resources(&self) -> Vec<Gr> {
        self.objects
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(gr, _)| gr.clone())
            .collect()
    }

    pub fn by_uid(&self, uid: &str) -> Option<&Arc<Value>> {
        let (gr, key) = self.uids.get(uid)?;
        self.objects.get(gr)?.get(key)
    }

    pub fn uid_exists(&self, uid: &str) -> bool {
        self.uids.contains_key(uid)
    }

    /// Stores `obj` under a fresh resourceVersion and records the event.
    pub fn put(&mut self, gr: &Gr, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let key = key_of(&obj);
        let obj = Arc::new(obj);
        if let Some(uid) = meta_str(&obj, "uid") {
            self.uids.insert(uid.to_string(), (gr.clone(), key.clone()));
        }
        let old = self
            .objects
            .entry(gr.clone())
            .or_default()
            .insert(key.clone(), obj.clone());
        let kind = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(Event {
            rv,
            gr: gr.clone(),
            namespace: key.0,
            kind,
            object: obj.clone(),
            old,
            lines: Mutex::default(),
        });
        obj
    }

    /// Removes an object; the DELETED event carries it with a fresh resourceVersion.
    pub fn remove(&mut self, gr: &Gr, ns: &str, name: &str) -> Option<Arc<Value>> {
        let key = (ns.to_string(), name.to_string());
        let old = self.objects.get_mut(gr)?.remove(&key)?;
        if let Some(uid) = meta_str(&old, "uid") {
            self.uids.remove(uid);
        }
        self.rv += 1;
        let rv = self.rv;
        let mut last = (*old).clone();
        last["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let last = Arc::new(last);
        self.emit(Event {
            rv,
            gr: gr.clone(),
            namespace: key.0,
            kind: EventType::Deleted,
            object: last.clone(),
            old: Some(old),
            lines: Mutex::default(),
        });
        Some(last)
    }

    fn emit(&mut self, ev: Event) {
        let ev = Arc::new(ev);
        self.log.push_back(ev.clone());
        while self.log.len() > self.log_cap {
            if let Some(e) = self.log.pop_front() {
                self.compacted_rv = e.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(ev);
    }

    /// Events after `rv`, or `None` when some of them were compacted away.
    pub fn events_since(&self, rv: u64) -> Option<Vec<Arc<Event>>> {
        if rv < self.compacted_rv {
            return None;
        }
        let start = self.log.partition_point(|e| e.rv <= rv);
        Some(self.log.iter().skip(start).cloned().collect())
    }

    /// Drops the whole event log, like an etcd compaction at the current revision.
    pub fn compact(&mut self) {
        self.log.clear();
        self.compacted_rv = self.rv;
    }
}

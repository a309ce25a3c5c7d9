//! Reading an object from the watch cache only when the cache holds the
//! operator's own last write of it.
//!
//! A pass acts on the newest state it can know of. The watch cache is
//! always at least as new as the event that triggered the pass, but it may
//! not hold a write the operator made a moment ago (its watch event is
//! still on the way): acting on that older copy could repeat a step the
//! write recorded as done. So every write of a Plug or Socket records the
//! resourceVersion the server gave it, and a pass whose cached copy is older
//! than that first waits a moment for the watch to bring the write
//! ([`Written::changed`], told of every event the caches apply), then reads
//! the object from the API server if it still has not come. Once the cache
//! has caught up the record is forgotten, so the map holds only writes in
//! flight, never one entry per object.
//!
//! resourceVersions are compared as numbers, which the API server does not
//! promise (it promises only equality); where one does not parse as an
//! integer the pass reads from the server, as if the cache were stale.
//! Any other writer's change still reaches the pass through the watch, and
//! every write carries the resourceVersion it was based on, so a pass
//! acting on a copy older than another writer's change fails its write
//! with a conflict and runs again.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use kube::Resource;
use tokio::sync::Notify;

use crate::context::object_key;

/// The resourceVersions of the operator's own writes that the watch cache
/// may not show yet, per object (`object_key`).
#[derive(Debug, Default)]
pub struct Written {
    versions: Mutex<HashMap<String, u64>>,
    /// Woken whenever a cache of Plugs or Sockets applied an event.
    applied: Notify,
}

impl Written {
    /// Tells passes waiting for a cache to catch up that it changed.
    pub fn changed(&self) {
        self.applied.notify_waiters();
    }

    /// The next [`changed`](Self::changed), enabled at once so that none
    /// is missed between a look at the cache and the wait.
    pub fn next_change(&self) -> std::pin::Pin<Box<tokio::sync::futures::Notified<'_>>> {
        let mut next = Box::pin(self.applied.notified());
        next.as_mut().enable();
        next
    }

    /// Remembers `written`, the server's answer to a write, as the oldest
    /// copy a pass may act on.
    pub fn record<K: Resource<DynamicType = ()>>(&self, written: &K) {
        let key = object_key(written);
        let mut map = self.lock();
        let meta = written.meta();
        let finalizers = meta.finalizers.as_ref().is_some_and(|f| !f.is_empty());
        if meta.deletion_timestamp.is_some() && !finalizers {
            // The write released it: it is gone, and its watch event may
            // have come before this answer.
            map.remove(&key);
            return;
        }
        match version(written) {
            Some(rv) => {
                let newest = map.entry(key).or_insert(rv);
                *newest = (*newest).max(rv);
            }
            // Unordered versions: nothing cached can be shown to hold it,
            // so the record stays until the object is gone.
            None => {
                map.insert(key, u64::MAX);
            }
        }
    }

    /// Whether `cached` holds every write recorded for it; a record it
    /// holds is forgotten.
    pub fn shown_in<K: Resource<DynamicType = ()>>(&self, cached: &K) -> bool {
        let key = object_key(cached);
        let mut map = self.lock();
        let Some(&written) = map.get(&key) else {
            return true;
        };
        let caught_up = version(cached).is_some_and(|rv| rv >= written);
        if caught_up {
            map.remove(&key);
        }
        caught_up
    }

    /// Whether `seen`, a copy a cache just applied from the watch, is the
    /// operator's own last write of the object or older: the pass that
    /// wrote acted on everything up to that version (a change by anyone
    /// else in between would have failed the write with a conflict, and
    /// that pass runs again), so its event brings nothing to act on. The
    /// record is forgotten once the cache holds the write.
    pub fn superseded<K: Resource<DynamicType = ()>>(&self, seen: &K) -> bool {
        let written = self.lock().get(&object_key(seen)).copied();
        let older = matches!((written, version(seen)),
            (Some(written), Some(rv)) if written != u64::MAX && rv <= written);
        self.shown_in(seen);
        older
    }

    /// Forgets `object`, which is gone.
    pub fn forget<K: Resource<DynamicType = ()>>(&self, object: &K) {
        self.lock().remove(&object_key(object));
    }

    /// Writes recorded that the cache does not show yet.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.versions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn version<K: Resource>(object: &K) -> Option<u64> {
    object.meta().resource_version.as_deref()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    fn at(rv: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("a".into()),
                namespace: Some("app".into()),
                resource_version: Some(rv.into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    #[test]
    fn a_copy_older_than_our_write_is_stale_until_the_cache_catches_up() {
        let written = Written::default();
        assert!(
            written.shown_in(&at("5")),
            "nothing written: the cache will do"
        );
        written.record(&at("10"));
        assert!(!written.shown_in(&at("9")));
        assert_eq!(written.pending(), 1);
        assert!(written.shown_in(&at("11")), "a newer copy holds our write");
        assert_eq!(written.pending(), 0, "caught up: forgotten");
        assert!(written.shown_in(&at("9")));
    }

    #[test]
    fn an_event_up_to_our_own_write_brings_nothing_new() {
        let written = Written::default();
        assert!(!written.superseded(&at("5")), "nothing written");
        written.record(&at("10"));
        assert!(written.superseded(&at("9")), "older than our write");
        assert_eq!(written.pending(), 1, "the cache is not there yet");
        assert!(written.superseded(&at("10")), "our write itself");
        assert_eq!(written.pending(), 0, "the cache holds it: forgotten");
        written.record(&at("12"));
        assert!(!written.superseded(&at("13")), "someone's later change");
        assert_eq!(written.pending(), 0);
        written.record(&at("opaque"));
        assert!(
            !written.superseded(&at("3")),
            "unordered versions: every event counts"
        );
    }

    #[test]
    fn the_newest_write_counts_released_objects_go_and_unordered_versions_always_read() {
        let written = Written::default();
        written.record(&at("12"));
        written.record(&at("10"));
        assert!(!written.shown_in(&at("11")));
        written.forget(&at("12"));
        assert_eq!(written.pending(), 0);
        let mut released = at("13");
        released.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now()),
        );
        written.record(&at("12"));
        written.record(&released);
        assert_eq!(written.pending(), 0, "a released object is not waited for");
        written.record(&at("opaque"));
        assert!(!written.shown_in(&at("99")));
        assert!(!written.shown_in(&at("opaque")));
    }
}

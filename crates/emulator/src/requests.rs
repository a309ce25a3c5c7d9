//! Request counters: how many requests the server answered, per verb and resource, for
//! benchmarks that report API calls per operation.
//!
//! Every request that reaches a resource URL is counted once, after routing and before
//! authorization, faults and the verb itself run: a Forbidden, an injected fault or a 409 is
//! still a request. Non-resource requests (discovery, OpenAPI, `/version`) are counted under
//! verb `get` and their path. Requests that fail authentication or name no route are not
//! counted. A watch counts once, when it is opened, however many events it streams.

use std::collections::BTreeMap;

/// What a request is counted under.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKey {
    /// RBAC verb: get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: String,
    /// Resource plural, with `/subresource` when there is one (`plugs/status`,
    /// `serviceaccounts/token`); for non-resource requests, the path (`/apis`).
    pub resource: String,
}

/// The verbs that change state.
pub const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// Request counts by [`RequestKey`]. [`Emulator::requests`](crate::Emulator::requests) returns
/// a snapshot; subtract an earlier one with [`RequestCounts::since`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests per verb and resource.
    pub counts: BTreeMap<RequestKey, u64>,
}

impl RequestCounts {
    /// Counts one request.
    pub fn record(&mut self, verb: &str, resource: &str) {
        let key = RequestKey {
            verb: verb.to_string(),
            resource: resource.to_string(),
        };
        *self.counts.entry(key).or_default() += 1;
    }

    /// Sums the counts whose key passes `keep`.
    pub fn sum(&self, keep: impl Fn(&RequestKey) -> bool) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(_, n)| n)
            .sum()
    }

    /// All requests.
    pub fn total(&self) -> u64 {
        self.sum(|_| true)
    }

    /// Requests with `verb`.
    pub fn verb(&self, verb: &str) -> u64 {
        self.sum(|k| k.verb == verb)
    }

    /// Requests with `verb` on `resource` (e.g. `update`, `plugs/status`).
    pub fn get(&self, verb: &str, resource: &str) -> u64 {
        self.sum(|k| k.verb == verb && k.resource == resource)
    }

    /// Writes: creates, updates, patches, deletes and deletecollections, of any resource
    /// and subresource (status writes, Events and TokenRequests included).
    pub fn writes(&self) -> u64 {
        self.sum(|k| WRITE_VERBS.contains(&k.verb.as_str()))
    }

    /// Reads: every request that is not a write (get, list, watch, discovery).
    pub fn reads(&self) -> u64 {
        self.total() - self.writes()
    }

    /// The requests counted since `earlier` (a snapshot of the same emulator).
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        let counts = self
            .counts
            .iter()
            .map(|(k, n)| {
                let before = earlier.counts.get(k).copied().unwrap_or(0);
                (k.clone(), n.saturating_sub(before))
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        RequestCounts { counts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_split_into_reads_and_writes() {
        let mut c = RequestCounts::default();
        c.record("get", "plugs");
        c.record("list", "plugs");
        c.record("watch", "plugs");
        c.record("get", "/apis");
        c.record("update", "plugs/status");
        c.record("patch", "plugs");
        c.record("create", "events");
        c.record("create", "events");
        c.record("delete", "configmaps");
        assert_eq!(c.total(), 9);
        assert_eq!(c.writes(), 5);
        assert_eq!(c.reads(), 4);
        assert_eq!(c.verb("create"), 2);
        assert_eq!(c.get("update", "plugs/status"), 1);
        assert_eq!(c.get("update", "plugs"), 0);
        let before = c.clone();
        c.record("create", "events");
        c.record("get", "secrets");
        let delta = c.since(&before);
        assert_eq!(delta.total(), 2);
        assert_eq!(delta.writes(), 1);
        assert_eq!(delta.get("get", "secrets"), 1);
        assert_eq!(delta.counts.len(), 2);
    }
}

//! Kubernetes Events about Plugs and Sockets (`events.k8s.io/v1`;
//! docs/lifecycle.md, "Kubernetes Events"),
//! written under reporting controller `integration-operator`.
//!
//! The recorder folds a repeat of the same Normal (reason, object) within a
//! few minutes into the first Event's `series` count instead of writing a
//! new one, as kube's recorder does, remembering far less per Event. It keeps the first Event's note, so callers should give each
//! distinct situation its own reason.
//!
//! Normal Events pass a spam filter like client-go's: per object and
//! reason, a burst of 25, then one per 5 minutes; the rest are dropped. A
//! socket whose 1,000 plugs update at once gets 25 `SocketUpdated` Events,
//! not 1,000 writes to the API server.
//!
//! Notes are user-visible and readable by anyone who may list Events: a
//! Warning's note (error text) goes through the coupling's [`Redactor`], so
//! no Secret value can reach it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use integration_api::FIELD_MANAGER;
use integration_engine::Redactor;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde_json::json;

use crate::ObjectRef;
use crate::{Error, Operation, Result};

/// The API server's limit on an Event's note, in bytes.
const MAX_NOTE: usize = 1024;

/// Normal Events per object and reason that pass at once (client-go's
/// spam filter default).
const SPAM_BURST: f64 = 25.0;
/// After the burst, one more Event per object and reason each period.
const SPAM_REFILL: Duration = Duration::from_secs(300);
/// Objects and reasons the filter and the series remember (client-go's
/// cache size).
const SPAM_KEYS: usize = 4096;
/// A repeat within this long after the last one extends its Event's
/// series instead of writing a new Event (as kube's recorder does).
const SERIES_TTL: Duration = Duration::from_secs(360);

/// Writes Events regarding Plugs and Sockets. Share one per operator: its
/// de-duplication cache is per recorder.
///
/// kube's own recorder keeps a full copy of every Event it wrote for six
/// minutes and scans them all on each write: for 10,000 plugs coupling at
/// once, 20,000 Events held and a quadratic cost. This one remembers, per
/// object and reason, only the Event's name and count, and at most
/// [`SPAM_KEYS`] of them.
#[derive(Clone)]
pub struct EventRecorder {
    client: Client,
    /// `reportingInstance`: the Pod's name, or the controller name.
    instance: String,
    spam: Arc<SpamFilter>,
    series: Arc<Series>,
}

impl EventRecorder {
    /// A recorder writing through `client`; `instance` names this replica
    /// (the Pod name) and defaults to the controller name.
    pub fn new(client: Client, instance: Option<String>) -> Self {
        EventRecorder {
            client,
            instance: instance.unwrap_or_else(|| FIELD_MANAGER.to_string()),
            spam: Arc::default(),
            series: Arc::default(),
        }
    }

    /// A `Normal` Event, e.g. reason `PlugCoupled`, note
    /// `plug orders-db/app coupled`. The note must be operator-composed
    /// text (names and verbs), never values. Dropped when the spam filter
    /// holds it back; a repeat within a few minutes is counted in the
    /// first Event's `series`.
    pub async fn normal<K>(&self, regarding: &K, reason: &str, note: &str) -> Result<()>
    where
        K: Resource<DynamicType = ()>,
    {
        let reference = regarding.object_ref(&());
        let key = format!(
            "{}/{}/{}/{reason}",
            reference.kind.as_deref().unwrap_or_default(),
            reference.namespace.as_deref().unwrap_or_default(),
            reference.name.as_deref().unwrap_or_default()
        );
        let now = Instant::now();
        if !self.spam.allow(key.clone(), now) {
            tracing::debug!(reason, "Event dropped by the spam filter");
            return Ok(());
        }
        if let Some((name, count)) = self.series.repeat(&key, now) {
            let patched = self.extend_series::<K>(&reference, &name, count).await;
            match patched {
                Err(e) if !e.is_not_found() => return Err(e),
                Err(_) => {} // expired or deleted: a new Event
                Ok(()) => return Ok(()),
            }
        }
        let name = self
            .create::<K>(reference, "Normal", reason, note.to_string())
            .await?;
        self.series.first(key, name, now);
        Ok(())
    }

    /// A `Warning` Event whose note (typically an error message) is
    /// redacted first.
    ///
    /// Each Warning is a new Event: folding a different error about the
    /// same object into the first one's series would keep the first, stale
    /// note. (Callers warn only when the `Failed` message changes, so one
    /// error is not written again and again.)
    pub async fn warning<K>(
        &self,
        regarding: &K,
        reason: &str,
        note: &str,
        redactor: &Redactor,
    ) -> Result<()>
    where
        K: Resource<DynamicType = ()>,
    {
        let reference = regarding.object_ref(&());
        self.create::<K>(reference, "Warning", reason, redactor.redact(note))
            .await
            .map(drop)
    }

    /// Creates an Event about `reference`, an object of kind `K`; returns
    /// its name.
    async fn create<K>(
        &self,
        reference: ObjectReference,
        type_: &str,
        reason: &str,
        note: String,
    ) -> Result<String>
    where
        K: Resource<DynamicType = ()>,
    {
        let now = jiff::Timestamp::now();
        let name = format!(
            "{}.{:x}",
            reference.name.as_deref().unwrap_or(FIELD_MANAGER),
            now.as_nanosecond()
        );
        let namespace = reference.namespace.clone();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: namespace.clone(),
                ..ObjectMeta::default()
            },
            action: Some(reason.to_string()),
            reason: Some(reason.to_string()),
            note: Some(truncate(note, MAX_NOTE)),
            event_time: Some(MicroTime(now)),
            regarding: Some(reference),
            reporting_controller: Some(FIELD_MANAGER.to_string()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(type_.to_string()),
            ..Event::default()
        };
        let events: Api<Event> = self.events_in(namespace.as_deref());
        let params = PostParams::default();
        match retrying(|| events.create(&params, &event)).await {
            // The name is unique to this call: a conflict means an earlier
            // try was written after all.
            Ok(_) => Ok(name),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(name),
            Err(e) => Err(event_error::<K>(&event, e)),
        }
    }

    /// Counts one more occurrence in the series of Event `name`.
    async fn extend_series<K>(
        &self,
        reference: &ObjectReference,
        name: &str,
        count: i32,
    ) -> std::result::Result<(), Error>
    where
        K: Resource<DynamicType = ()>,
    {
        let series = EventSeries {
            count,
            last_observed_time: MicroTime(jiff::Timestamp::now()),
        };
        let events: Api<Event> = self.events_in(reference.namespace.as_deref());
        let patch = Patch::Merge(json!({ "series": series }));
        let params = PatchParams::default();
        retrying(|| events.patch(name, &params, &patch))
            .await
            .map(drop)
            .map_err(|e| {
                let event = Event {
                    regarding: Some(reference.clone()),
                    ..Event::default()
                };
                event_error::<K>(&event, e)
            })
    }

    /// Events of `namespace` (cluster-scoped objects' go to `default`).
    fn events_in(&self, namespace: Option<&str>) -> Api<Event> {
        Api::namespaced(self.client.clone(), namespace.unwrap_or("default"))
    }
}

/// How often an Event write is tried when the API server answers with a
/// transient failure, and the base of the growing pause between tries: the
/// Event of a hook that ran should not be lost to one throttled request
/// (a failed hook is retried by its pass; its Event is not).
const PUBLISH_ATTEMPTS: u32 = 4;
const PUBLISH_RETRY: Duration = Duration::from_millis(100);

/// `call`, tried again (up to [`PUBLISH_ATTEMPTS`] in all) while it fails
/// transiently.
async fn retrying<T, F, Fut>(mut call: F) -> std::result::Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if attempt + 1 < PUBLISH_ATTEMPTS && transient(&e) => {
                attempt += 1;
                tokio::time::sleep(PUBLISH_RETRY * attempt).await;
            }
            other => return other,
        }
    }
}

/// A failure that a retry may get past: throttling, a server error, a
/// conflict on the Event series, or no answer at all.
fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => matches!(status.code, 409 | 429) || status.code >= 500,
        kube::Error::Service(_) | kube::Error::HyperError(_) => true,
        _ => false,
    }
}

/// A failed Event write, naming the object it regards.
fn event_error<K: Resource<DynamicType = ()>>(event: &Event, e: kube::Error) -> Error {
    let reference = event.regarding.as_ref();
    let object = ObjectRef::new(
        K::api_version(&()),
        K::kind(&()),
        reference.and_then(|r| r.namespace.as_deref()),
        reference.and_then(|r| r.name.clone()).unwrap_or_default(),
    );
    Error::from_kube(Operation::RecordEvent, &object, e)
}

/// The Events written lately, per object and reason: their name and count,
/// so a repeat extends the series.
#[derive(Default)]
struct Series {
    sent: Mutex<HashMap<String, Sent>>,
}

/// One Event's series.
struct Sent {
    name: String,
    count: i32,
    at: Instant,
}

impl Series {
    /// For a repeat of `key` within [`SERIES_TTL`]: the Event's name and
    /// its new count (taken as counted).
    fn repeat(&self, key: &str, now: Instant) -> Option<(String, i32)> {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let series = sent
            .get_mut(key)
            .filter(|s| now.saturating_duration_since(s.at) < SERIES_TTL)?;
        series.count = series.count.saturating_add(1);
        series.at = now;
        Some((series.name.clone(), series.count))
    }

    /// Remembers the Event `name` just created for `key`.
    fn first(&self, key: String, name: String, now: Instant) {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        if sent.len() >= SPAM_KEYS && !sent.contains_key(&key) {
            sent.retain(|_, s| now.saturating_duration_since(s.at) < SERIES_TTL);
            if sent.len() >= SPAM_KEYS {
                // A forgotten series only means a new Event for a repeat.
                forget_least_recent(&mut sent, |s| s.at);
            }
        }
        sent.insert(
            key,
            Sent {
                name,
                count: 1,
                at: now,
            },
        );
    }
}

/// A token bucket per object and reason, like client-go's
/// `EventSourceObjectSpamFilter`.
#[derive(Default)]
struct SpamFilter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Tokens left at `at`.
#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The tokens at `now`, refilled since `at`.
    fn tokens_at(self, now: Instant) -> f64 {
        let refilled =
            now.saturating_duration_since(self.at).as_secs_f64() / SPAM_REFILL.as_secs_f64();
        (self.tokens + refilled).min(SPAM_BURST)
    }
}

impl SpamFilter {
    /// Whether an Event with `key` (object and reason) may be written at
    /// `now`; takes a token when it may.
    fn allow(&self, key: String, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= SPAM_KEYS && !buckets.contains_key(&key) {
            // Full buckets carry no state worth keeping; if every bucket
            // is in use, the least recent go rather than grow. A busy
            // object (a socket whose plugs all couple at once) is recent,
            // so it stays limited while the keys of many others come and go.
            buckets.retain(|_, b| b.tokens_at(now) < SPAM_BURST);
            if buckets.len() >= SPAM_KEYS {
                forget_least_recent(&mut buckets, |b| b.at);
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: SPAM_BURST,
            at: now,
        });
        let tokens = bucket.tokens_at(now);
        let allowed = tokens >= 1.0;
        *bucket = Bucket {
            tokens: if allowed { tokens - 1.0 } else { tokens },
            at: now,
        };
        allowed
    }
}

/// Forgets the least recently `used` half of `entries`: a full cache keeps
/// the keys in use.
fn forget_least_recent<V>(entries: &mut HashMap<String, V>, used: impl Fn(&V) -> Instant) {
    let mut times: Vec<Instant> = entries.values().map(&used).collect();
    if times.is_empty() {
        return;
    }
    let middle = times.len() / 2;
    let (_, median, _) = times.select_nth_unstable(middle);
    let median = *median;
    entries.retain(|_, v| used(v) > median);
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let cut = (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
    }
    text
}

/// The declarative runtime's Events go through the same recorder (spam
/// filter for Normal Events); notes come redacted from the controller.
impl<P> kube_declarative::Recorder<P> for EventRecorder
where
    P: Resource<DynamicType = ()> + Send + Sync + 'static,
{
    fn record<'a>(
        &'a self,
        parent: &'a P,
        event: &'a kube_declarative::Event,
    ) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            let (reason, note) = (event.reason.as_str(), event.note.as_str());
            let written = if event.warning {
                self.warning(parent, reason, note, &Redactor::default())
                    .await
            } else {
                self.normal(parent, reason, note).await
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, reason, "recording an Event failed");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spam_filter_lets_a_burst_through_then_one_per_period() {
        let filter = SpamFilter::default();
        let start = Instant::now();
        let key = || "Socket/db/postgres/SocketUpdated".to_string();
        let passed = (0..100).filter(|_| filter.allow(key(), start)).count();
        assert_eq!(passed, 25);
        assert!(!filter.allow(key(), start + SPAM_REFILL / 2));
        assert!(filter.allow(key(), start + SPAM_REFILL));
        assert!(!filter.allow(key(), start + SPAM_REFILL));
        // Other objects and reasons have their own buckets.
        assert!(filter.allow("Socket/db/postgres/SocketCoupled".into(), start));
        assert!(filter.allow("Plug/app/a/PlugUpdated".into(), start));
    }

    #[test]
    fn spam_filter_memory_is_bounded() {
        let filter = SpamFilter::default();
        let now = Instant::now();
        for i in 0..(SPAM_KEYS * 3) {
            assert!(filter.allow(format!("Plug/app/p{i}/PlugCoupled"), now));
        }
        let kept = filter
            .buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        assert!(kept <= SPAM_KEYS, "{kept}");
    }

    #[test]
    fn a_busy_object_stays_limited_while_many_others_come_and_go() {
        let filter = SpamFilter::default();
        let start = Instant::now();
        let busy = || "Socket/db/postgres/SocketCoupled".to_string();
        let mut busy_passed = 0;
        for i in 0..(SPAM_KEYS * 3) {
            let now = start + Duration::from_millis(i as u64);
            assert!(filter.allow(format!("Plug/app/p{i}/PlugCoupled"), now));
            busy_passed += usize::from(filter.allow(busy(), now));
        }
        // 12 s in all: too short to refill a token.
        assert_eq!(busy_passed, 25);
    }

    #[test]
    fn a_series_counts_repeats_until_it_expires_and_its_memory_is_bounded() {
        let series = Series::default();
        let now = Instant::now();
        assert!(series.repeat("Plug/app/a/PlugUpdated", now).is_none());
        series.first("Plug/app/a/PlugUpdated".into(), "a.1".into(), now);
        assert_eq!(
            series.repeat("Plug/app/a/PlugUpdated", now),
            Some(("a.1".to_string(), 2))
        );
        assert_eq!(
            series.repeat("Plug/app/a/PlugUpdated", now + SERIES_TTL / 2),
            Some(("a.1".to_string(), 3))
        );
        let later = now + SERIES_TTL / 2 + SERIES_TTL;
        assert!(series.repeat("Plug/app/a/PlugUpdated", later).is_none());
        for i in 0..(SPAM_KEYS * 3) {
            series.first(format!("Plug/app/p{i}/PlugCoupled"), format!("p{i}.1"), now);
        }
        let kept = series
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        assert!(kept <= SPAM_KEYS, "{kept}");
    }

    #[test]
    fn truncates_on_a_char_boundary() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("hello".into(), 10), "hello");
    }
}

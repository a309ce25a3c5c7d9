//! Kubernetes Events about Plugs and Sockets (`events.k8s.io/v1`;
//! docs/lifecycle.md, "Kubernetes Events"),
//! written with kube's [`Recorder`] under reporting controller
//! `integration-operator`.
//!
//! The recorder folds a repeat of the same (type, reason, object) within a
//! few minutes into the first Event's `series` count instead of writing a
//! new one. It keeps the first Event's note, so callers should give each
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
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};

use crate::ObjectRef;
use crate::{Error, Operation, Result};

/// The API server's limit on an Event's note, in bytes.
const MAX_NOTE: usize = 1024;

/// Normal Events per object and reason that pass at once (client-go's
/// spam filter default).
const SPAM_BURST: f64 = 25.0;
/// After the burst, one more Event per object and reason each period.
const SPAM_REFILL: Duration = Duration::from_secs(300);
/// Objects and reasons the filter remembers (client-go's cache size).
const SPAM_KEYS: usize = 4096;

/// Writes Events regarding Plugs and Sockets. Share one per operator: its
/// de-duplication cache is per recorder.
#[derive(Clone)]
pub struct EventRecorder {
    recorder: Recorder,
    spam: Arc<SpamFilter>,
    /// What [`EventRecorder::new`] got, for the fresh recorder of each
    /// Warning.
    client: Client,
    instance: Option<String>,
}

impl EventRecorder {
    /// A recorder writing through `client`; `instance` names this replica
    /// (the Pod name) and defaults to the controller name.
    pub fn new(client: Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_string(),
            instance: instance.clone(),
        };
        EventRecorder {
            recorder: Recorder::new(client.clone(), reporter),
            spam: Arc::default(),
            client,
            instance,
        }
    }

    /// A `Normal` Event, e.g. reason `PlugCoupled`, note
    /// `plug orders-db/app coupled`. The note must be operator-composed
    /// text (names and verbs), never values. Dropped when the spam filter
    /// holds it back.
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
        if !self.spam.allow(key, Instant::now()) {
            tracing::debug!(reason, "Event dropped by the spam filter");
            return Ok(());
        }
        self.publish::<K>(reference, EventType::Normal, reason, note.to_string())
            .await
    }

    /// A `Warning` Event whose note (typically an error message) is
    /// redacted first.
    ///
    /// Each Warning is a new Event, written through a fresh recorder: the
    /// shared one would fold a different error about the same object into
    /// the first one's series, keeping the first, stale note. (Callers warn
    /// only when the `Failed` message changes, so one error is not written
    /// again and again.)
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
        let fresh = EventRecorder::new(self.client.clone(), self.instance.clone());
        let reference = regarding.object_ref(&());
        fresh
            .publish::<K>(reference, EventType::Warning, reason, redactor.redact(note))
            .await
    }

    /// Writes one Event about `reference`, an object of kind `K`.
    async fn publish<K>(
        &self,
        reference: ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
    ) -> Result<()>
    where
        K: Resource<DynamicType = ()>,
    {
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(note, MAX_NOTE)),
            action: reason.to_string(),
            secondary: None,
        };
        let mut attempt = 0;
        let written = loop {
            let written = self.recorder.publish(&event, &reference).await;
            match written {
                Err(e) if attempt + 1 < PUBLISH_ATTEMPTS && transient(&e) => {
                    attempt += 1;
                    tokio::time::sleep(PUBLISH_RETRY * attempt).await;
                }
                other => break other,
            }
        };
        written.map_err(|e| {
            let object = ObjectRef::new(
                K::api_version(&()),
                K::kind(&()),
                reference.namespace.as_deref(),
                reference.name.unwrap_or_default(),
            );
            Error::from_kube(Operation::RecordEvent, &object, e)
        })
    }
}

/// How often an Event write is tried when the API server answers with a
/// transient failure, and the base of the growing pause between tries: the
/// Event of a hook that ran should not be lost to one throttled request
/// (a failed hook is retried by its pass; its Event is not).
const PUBLISH_ATTEMPTS: u32 = 4;
const PUBLISH_RETRY: Duration = Duration::from_millis(100);

/// A failure that a retry may get past: throttling, a server error, a
/// conflict on the Event series, or no answer at all.
fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => matches!(status.code, 409 | 429) || status.code >= 500,
        kube::Error::Service(_) | kube::Error::HyperError(_) => true,
        _ => false,
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
            // is in use, start over rather than grow.
            buckets.retain(|_, b| b.tokens_at(now) < SPAM_BURST);
            if buckets.len() >= SPAM_KEYS {
                buckets.clear();
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
    fn truncates_on_a_char_boundary() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("hello".into(), 10), "hello");
    }
}

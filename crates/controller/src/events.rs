//! Kubernetes Events about Plugs and Sockets (`events.k8s.io/v1`, §2.8),
//! written with kube's [`Recorder`] under reporting controller
//! `integration-operator`.
//!
//! The recorder folds a repeat of the same (type, reason, object) within a
//! few minutes into the first Event's `series` count instead of writing a
//! new one. It keeps the first Event's note, so callers should give each
//! distinct situation its own reason.
//!
//! Notes are user-visible and readable by anyone who may list Events: a
//! Warning's note (error text) goes through the coupling's [`Redactor`], so
//! no Secret value can reach it.

use integration_api::FIELD_MANAGER;
use integration_engine::Redactor;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};

use crate::error::{Error, Operation, Result};
use crate::object::ObjectRef;

/// The API server's limit on an Event's note, in bytes.
const MAX_NOTE: usize = 1024;

/// Writes Events regarding Plugs and Sockets. Share one per operator: its
/// de-duplication cache is per recorder.
#[derive(Clone)]
pub struct EventRecorder {
    recorder: Recorder,
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
            client,
            instance,
        }
    }

    /// A `Normal` Event, e.g. reason `PlugCoupled`, note
    /// `plug orders-db/app coupled`. The note must be operator-composed
    /// text (names and verbs), never values.
    pub async fn normal<K>(&self, regarding: &K, reason: &str, note: &str) -> Result<()>
    where
        K: Resource<DynamicType = ()>,
    {
        self.publish(regarding, EventType::Normal, reason, note.to_string())
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
        fresh
            .publish(regarding, EventType::Warning, reason, redactor.redact(note))
            .await
    }

    async fn publish<K>(
        &self,
        regarding: &K,
        type_: EventType,
        reason: &str,
        note: String,
    ) -> Result<()>
    where
        K: Resource<DynamicType = ()>,
    {
        let reference = regarding.object_ref(&());
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(note, MAX_NOTE)),
            action: reason.to_string(),
            secondary: None,
        };
        self.recorder
            .publish(&event, &reference)
            .await
            .map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_a_char_boundary() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("hello".into(), 10), "hello");
    }
}

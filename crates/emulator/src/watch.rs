//! Watches: a newline-delimited stream of `{"type","object"}` events, resumable from a
//! resourceVersion, with BOOKMARKs, `timeoutSeconds`, 410 Expired after compaction, and
//! ADDED/DELETED when an object enters or leaves the selection.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::Shared;
use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::state::at_version;
use crate::store::{Event, EventType};

/// What a watch asked for.
pub struct WatchParams {
    /// `None`: start with synthetic ADDED events for the current state.
    pub resource_version: Option<u64>,
    pub timeout: Duration,
    pub bookmarks: bool,
    /// `sendInitialEvents=true`: initial state, then a BOOKMARK marking its end.
    pub initial_events: bool,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// The client asked for `PartialObjectMetadata` (metadata-only watch).
    pub metadata_only: bool,
}

impl WatchParams {
    fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }

    /// The event line for `obj` as this watch serves it.
    fn line(&self, kind: &str, obj: &Value) -> Bytes {
        if self.metadata_only {
            line(kind, &crate::meta::partial_metadata(obj))
        } else {
            line(kind, obj)
        }
    }
}

fn line(kind: &str, obj: &Value) -> Bytes {
    let mut s = String::with_capacity(256);
    s.push_str("{\"type\":\"");
    s.push_str(kind);
    s.push_str("\",\"object\":");
    s.push_str(&serde_json::to_string(obj).unwrap_or_else(|_| "{}".into()));
    s.push_str("}\n");
    Bytes::from(s)
}

/// Translates a store event for this watch, or `None` when it is not visible to it.
fn translate(rt: &ResourceType, p: &WatchParams, ev: &Event) -> Option<Bytes> {
    if ev.gr != rt.gr() {
        return None;
    }
    if let Some(ns) = &p.namespace
        && ev.namespace != *ns
    {
        return None;
    }
    // Selectors see objects as served (an Event's `regarding` or `involvedObject`).
    let obj = at_version(rt, &ev.object);
    let old = ev.old.as_ref().map(|o| at_version(rt, o));
    let now = p.matches(&obj);
    let before = old.as_deref().is_some_and(|o| p.matches(o));
    let kind = match ev.kind {
        EventType::Added => now.then_some("ADDED")?,
        EventType::Deleted => (now || before).then_some("DELETED")?,
        EventType::Modified => match (before, now) {
            (true, true) => "MODIFIED",
            (false, true) => "ADDED",
            (true, false) => {
                // Leaving the selection: the last state that matched, at this revision.
                let mut o = old.as_deref().cloned().unwrap_or(Value::Null);
                o["metadata"]["resourceVersion"] = json!(ev.rv.to_string());
                return Some(p.line("DELETED", &o));
            }
            (false, false) => return None,
        },
    };
    // Two groups may share a store (core/v1 and events.k8s.io/v1 Events).
    let key = (
        format!("{}/{}", rt.group, rt.version),
        kind,
        p.metadata_only,
    );
    Some(ev.line(key, || p.line(kind, &obj)))
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        &json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta}),
    )
}

fn stream_response(rx: mpsc::Receiver<Bytes>) -> Response {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    let mut resp = Body::from_stream(stream).into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// A watch that fails at once with an in-stream ERROR event, as the real server reports a
/// compacted resourceVersion.
pub fn error_stream(err: &ApiError) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    let _ = tx.try_send(line("ERROR", &err.status()));
    stream_response(rx)
}

/// Starts a watch; the events are produced by a task that ends with the stream.
pub fn start(sh: &Arc<Shared>, rt: Arc<ResourceType>, p: WatchParams) -> Response {
    let mut initial: Vec<Bytes> = Vec::new();
    let backlog;
    let mut events;
    let start_rv;
    {
        let st = sh.lock();
        events = st.store.subscribe();
        start_rv = st.store.rv();
        match p
            .resource_version
            .filter(|rv| *rv != 0 && !p.initial_events)
        {
            None => {
                for (_, obj) in st.store.list(&rt.gr(), p.namespace.as_deref()) {
                    let obj = at_version(&rt, obj);
                    if p.matches(&obj) {
                        initial.push(p.line("ADDED", &obj));
                    }
                }
                if p.initial_events {
                    initial.push(bookmark(&rt, start_rv, true));
                }
                backlog = Vec::new();
            }
            Some(rv) => match st.store.events_since(rv) {
                Some(evs) => backlog = evs,
                None => {
                    let err = ApiError::expired(format!(
                        "too old resource version: {rv} ({})",
                        st.store.compacted_rv() + 1
                    ));
                    return error_stream(&err);
                }
            },
        }
    }
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    let mut epoch = sh.epoch.subscribe();
    let interval = sh.bookmark_interval;
    tokio::spawn(async move {
        for b in initial {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        let mut last_rv = start_rv;
        for ev in backlog {
            last_rv = last_rv.max(ev.rv);
            if let Some(b) = translate(&rt, &p, &ev)
                && tx.send(b).await.is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::sleep(p.timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                biased;
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        if ev.rv <= last_rv {
                            continue;
                        }
                        last_rv = ev.rv;
                        if let Some(b) = translate(&rt, &p, &ev)
                            && tx.send(b).await.is_err()
                        {
                            return;
                        }
                    }
                    // Too slow to keep up: end the stream; the client resumes from its last
                    // resourceVersion (or relists on 410), as after a real apiserver restart.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = epoch.changed() => return,
                _ = &mut deadline => {
                    // Like the real server, a closing watch gets a last bookmark.
                    if p.bookmarks {
                        let _ = tx.send(bookmark(&rt, last_rv, false)).await;
                    }
                    return;
                }
                _ = tx.closed() => return,
                _ = ticker.tick() => {
                    if p.bookmarks && tx.send(bookmark(&rt, last_rv, false)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    stream_response(rx)
}

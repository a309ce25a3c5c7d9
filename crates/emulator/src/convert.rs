//! What a real API server changes between the object a client sends and the one it stores:
//! the two Event APIs kept as one store.
//!
//! ## Events
//!
//! `events.k8s.io/v1` Events are stored as `core/v1` Events (see [`StoredAs::CoreEvent`]): an
//! Event written through either API is read, listed and watched through both. The fields that
//! exist in both are carried over; only their top-level names differ:
//!
//! | `events.k8s.io/v1` | `core/v1` |
//! |---|---|
//! | `note` | `message` |
//! | `regarding` | `involvedObject` |
//! | `reportingController` | `reportingComponent` |
//! | `deprecatedSource` | `source` |
//! | `deprecatedFirstTimestamp` | `firstTimestamp` |
//! | `deprecatedLastTimestamp` | `lastTimestamp` |
//! | `deprecatedCount` | `count` |
//!
//! `eventTime`, `series`, `action`, `reason`, `related`, `reportingInstance` and `type` keep
//! their names. A field one API does not know under that name (say `message` sent to
//! `events.k8s.io`) is dropped, as the real server prunes it. `managedFields` are shown at the
//! version read, field names included (the README's `no-managed-fields-versions`).

use serde_json::{Map, Value};

use crate::resources::{ResourceType, StoredAs};

/// Top-level Event field names: (`events.k8s.io/v1`, `core/v1`).
const EVENT_FIELDS: [(&str, &str); 7] = [
    ("note", "message"),
    ("regarding", "involvedObject"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Which way an Event is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToCore,
    FromCore,
}

impl Direction {
    /// The name of `field` after conversion, or `None` when it has no place there.
    fn rename(self, field: &str) -> Option<&str> {
        let pair = |(events, core): &(&'static str, &'static str)| match self {
            Direction::ToCore => (*events, *core),
            Direction::FromCore => (*core, *events),
        };
        let mut pairs = EVENT_FIELDS.iter().map(pair);
        match pairs.find(|(from, to)| *from == field || *to == field) {
            Some((from, to)) if from == field => Some(to),
            // A name only the other API has: unknown here.
            Some(_) => None,
            None => Some(field),
        }
    }
}

/// `obj`, sent at `rt`, in the shape it is stored in.
pub fn to_storage(rt: &ResourceType, obj: &Value) -> Value {
    match rt.stored_as {
        Some(StoredAs::CoreEvent) => convert_event(obj, Direction::ToCore, "v1"),
        None => obj.clone(),
    }
}

/// A stored object as served at `rt`.
pub fn from_storage(rt: &ResourceType, obj: &Value) -> Value {
    let api_version = rt.api_version();
    match rt.stored_as {
        Some(StoredAs::CoreEvent) => convert_event(obj, Direction::FromCore, &api_version),
        None => {
            let mut out = obj.clone();
            out["apiVersion"] = Value::String(api_version);
            out
        }
    }
}

/// Renames an Event's top-level fields (and its managedFields' field names).
fn convert_event(obj: &Value, dir: Direction, api_version: &str) -> Value {
    let Some(m) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = rename_keys(m, dir, "");
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    if let Some(entries) = out
        .get_mut("metadata")
        .and_then(|meta| meta.get_mut("managedFields"))
        .and_then(Value::as_array_mut)
    {
        for e in entries {
            if let Some(Value::Object(fields)) = e.get("fieldsV1") {
                e["fieldsV1"] = Value::Object(rename_keys(fields, dir, "f:"));
            }
            e["apiVersion"] = Value::String(api_version.into());
        }
    }
    Value::Object(out)
}

/// `m` with each key `<prefix><field>` renamed (or dropped) the way `dir` converts `field`.
fn rename_keys(m: &Map<String, Value>, dir: Direction, prefix: &str) -> Map<String, Value> {
    m.iter()
        .filter_map(|(k, v)| {
            let Some(field) = k.strip_prefix(prefix) else {
                return Some((k.clone(), v.clone()));
            };
            let renamed = dir.rename(field)?;
            Some((format!("{prefix}{renamed}"), v.clone()))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    fn rt(group: &str, plural: &str) -> std::sync::Arc<ResourceType> {
        Registry::with_builtins().get(group, "v1", plural).unwrap()
    }

    #[test]
    fn events_round_trip_between_the_two_apis() {
        let events = rt("events.k8s.io", "events");
        let new = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e", "managedFields": [{"apiVersion": "events.k8s.io/v1",
                "fieldsV1": {"f:note": {}, "f:metadata": {}}}]},
            "note": "n", "regarding": {"name": "x"}, "reportingController": "c",
            "reportingInstance": "i", "eventTime": "t", "deprecatedCount": 2, "message": "unknown here"});
        let core = to_storage(&events, &new);
        assert_eq!(
            core,
            json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "e", "managedFields": [{"apiVersion": "v1",
                    "fieldsV1": {"f:message": {}, "f:metadata": {}}}]},
                "message": "n", "involvedObject": {"name": "x"}, "reportingComponent": "c",
                "reportingInstance": "i", "eventTime": "t", "count": 2})
        );
        let mut back = new.clone();
        back.as_object_mut().unwrap().remove("message");
        assert_eq!(from_storage(&events, &core), back);
    }
}

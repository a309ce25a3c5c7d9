//! What a real API server changes between the object a client sends and the one it stores:
//! a Secret's write-only `stringData`, and the two Event APIs kept as one store.
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

use base64::Engine;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
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

/// Changes a real server makes to what a client writes, before it is stored: a Secret's
/// `stringData` is folded into `data`.
pub fn on_write(rt: &ResourceType, obj: &mut Value) -> ApiResult<()> {
    if rt.group.is_empty() && rt.plural == "secrets" {
        fold_string_data(obj)?;
    }
    Ok(())
}

/// Folds a Secret's `stringData` into `data` (base64; `stringData` wins for a key both set)
/// and removes it: it is write-only, never stored or returned.
fn fold_string_data(obj: &mut Value) -> ApiResult<()> {
    let Some(m) = obj.as_object_mut() else {
        return Ok(());
    };
    let string_data = match m.remove("stringData") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(sd)) => sd,
        Some(_) => return Err(undecodable("stringData must be a map of strings")),
    };
    if string_data.is_empty() {
        return Ok(());
    }
    let data = m
        .entry("data")
        .and_modify(|d| {
            if d.is_null() {
                *d = Value::Object(Map::new());
            }
        })
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| undecodable("data must be a map of base64 strings"))?;
    for (key, value) in string_data {
        let Value::String(text) = value else {
            return Err(undecodable(&format!("stringData.{key} must be a string")));
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        data.insert(key, Value::String(encoded));
    }
    Ok(())
}

/// The 400 a real server answers for a Secret body it cannot decode.
fn undecodable(why: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Secret in version \"v1\" cannot be handled as a Secret: {why}"
    ))
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
    fn string_data_folds_into_data_and_wins() {
        let secrets = rt("", "secrets");
        let mut s =
            json!({"data": {"a": "eA==", "b": "eA=="}, "stringData": {"b": "yes", "c": "é"}});
        on_write(&secrets, &mut s).unwrap();
        assert_eq!(s, json!({"data": {"a": "eA==", "b": "eWVz", "c": "w6k="}}));
        let mut no_data = json!({"data": null, "stringData": {"k": "v"}});
        on_write(&secrets, &mut no_data).unwrap();
        assert_eq!(no_data, json!({"data": {"k": "dg=="}}));
    }

    #[test]
    fn string_data_must_be_strings() {
        let secrets = rt("", "secrets");
        for bad in [json!({"stringData": {"k": 1}}), json!({"stringData": "x"})] {
            let err = on_write(&secrets, &mut bad.clone()).unwrap_err();
            assert_eq!(err.code, 400, "{bad}");
        }
        // Other kinds keep a field of that name.
        let mut cm = json!({"stringData": {"k": "v"}});
        on_write(&rt("", "configmaps"), &mut cm).unwrap();
        assert_eq!(cm, json!({"stringData": {"k": "v"}}));
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

//! Server-side printing: a get or list asked for with
//! `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` answers a `meta.k8s.io/v1` Table, so
//! `kubectl get` shows the columns it shows on a cluster: a CRD's `additionalPrinterColumns`
//! (Age when it declares none), and for built-ins Name, a few of their usual columns, and Age.

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// Whether the client asked for a Table (kubectl lists it first, with fallbacks after).
pub fn wanted(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

/// What a row carries besides its cells (`includeObject`): metadata by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(q: Option<&str>) -> Self {
        match q {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// How a column computes its cell.
enum Cell {
    Name,
    Age,
    /// A CRD column: a simple JSONPath and the column's type.
    Path(String, String),
    /// A built-in printer's column.
    Builtin(fn(&Value) -> Value),
}

struct Column {
    def: Value,
    cell: Cell,
}

fn def(name: &str, ty: &str, format: &str, description: &str, priority: i64) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DOC: &str =
    "CreationTimestamp is a timestamp representing the server time when this object was created.";

fn name_column() -> Column {
    Column {
        def: def("Name", "string", "name", NAME_DOC, 0),
        cell: Cell::Name,
    }
}

fn age_column() -> Column {
    Column {
        def: def("Age", "string", "", AGE_DOC, 0),
        cell: Cell::Age,
    }
}

fn builtin(name: &str, ty: &str, priority: i64, f: fn(&Value) -> Value) -> Column {
    Column {
        def: def(name, ty, "", "", priority),
        cell: Cell::Builtin(f),
    }
}

fn int_at(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// `ready/desired`, as the workload printers show READY.
fn ready_of(obj: &Value) -> Value {
    let desired = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    json!(format!(
        "{}/{desired}",
        int_at(obj, "/status/readyReplicas")
    ))
}

fn pod_ready(obj: &Value) -> Value {
    let total = obj
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |cs| cs.iter().filter(|c| c["ready"] == true).count());
    json!(format!("{ready}/{total}"))
}

fn pod_restarts(obj: &Value) -> Value {
    let n: i64 = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |cs| {
            cs.iter().filter_map(|c| c["restartCount"].as_i64()).sum()
        });
    json!(n)
}

fn str_at(obj: &Value, pointer: &str) -> Value {
    json!(obj.pointer(pointer).and_then(Value::as_str).unwrap_or(""))
}

fn data_count(obj: &Value) -> Value {
    let n = ["data", "binaryData"]
        .iter()
        .filter_map(|k| obj.get(*k).and_then(Value::as_object))
        .map(|m| m.len())
        .sum::<usize>();
    json!(n)
}

/// The columns of the built-in printers the operator's users look at most.
fn builtin_columns(rt: &ResourceType) -> Vec<Column> {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("apps", "deployments") => vec![
            builtin("Ready", "string", 0, ready_of),
            builtin("Up-to-date", "integer", 0, |o| {
                json!(int_at(o, "/status/updatedReplicas"))
            }),
            builtin("Available", "integer", 0, |o| {
                json!(int_at(o, "/status/availableReplicas"))
            }),
        ],
        ("apps", "statefulsets") => vec![builtin("Ready", "string", 0, ready_of)],
        ("", "pods") => vec![
            builtin("Ready", "string", 0, pod_ready),
            builtin("Status", "string", 0, |o| str_at(o, "/status/phase")),
            builtin("Restarts", "string", 0, pod_restarts),
        ],
        ("", "configmaps") => vec![builtin("Data", "integer", 0, data_count)],
        ("", "secrets") => vec![
            builtin("Type", "string", 0, |o| str_at(o, "/type")),
            builtin("Data", "integer", 0, data_count),
        ],
        ("", "namespaces") => vec![builtin("Status", "string", 0, |o| {
            str_at(o, "/status/phase")
        })],
        _ => Vec::new(),
    }
}

/// A CRD version's printer columns; Age alone when it declares none (as the real server).
fn crd_columns(rt: &ResourceType) -> Vec<Column> {
    if rt.printer_columns.is_empty() {
        return vec![Column {
            def: def("Age", "date", "", AGE_DOC, 0),
            cell: Cell::Path(".metadata.creationTimestamp".into(), "date".into()),
        }];
    }
    rt.printer_columns
        .iter()
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let priority = c.get("priority").and_then(Value::as_i64).unwrap_or(0);
            Column {
                def: def(
                    &s("name"),
                    &s("type"),
                    &s("format"),
                    &s("description"),
                    priority,
                ),
                cell: Cell::Path(s("jsonPath"), s("type")),
            }
        })
        .collect()
}

fn columns(rt: &ResourceType) -> Vec<Column> {
    let mut cols = vec![name_column()];
    if rt.builtin {
        cols.extend(builtin_columns(rt));
        cols.push(age_column());
    } else {
        cols.extend(crd_columns(rt));
    }
    cols
}

fn cell(col: &Column, obj: &Value, now: jiff::Timestamp) -> Value {
    match &col.cell {
        Cell::Name => obj
            .pointer("/metadata/name")
            .cloned()
            .unwrap_or(Value::Null),
        Cell::Age => json!(age(obj.pointer("/metadata/creationTimestamp"), now)),
        Cell::Builtin(f) => f(obj),
        Cell::Path(path, ty) => match json_path(obj, path) {
            None | Some(Value::Null) => Value::Null,
            Some(v) => typed_cell(ty, v, now),
        },
    }
}

/// A CRD cell of the column's type (the real `cellForJSONValue`); a mismatch is empty.
fn typed_cell(ty: &str, v: &Value, now: jiff::Timestamp) -> Value {
    match (ty, v) {
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, |i| json!(i)),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        ("boolean", Value::Bool(_)) => v.clone(),
        ("date", Value::String(_)) => json!(age(Some(v), now)),
        ("string", Value::String(_)) => v.clone(),
        // A string column prints any value.
        ("string", other) => json!(other.to_string()),
        _ => Value::Null,
    }
}

fn row(cols: &[Column], obj: &Value, include: Include, now: jiff::Timestamp) -> Value {
    let cells: Vec<Value> = cols.iter().map(|c| cell(c, obj, now)).collect();
    let mut r = json!({"cells": cells});
    match include {
        Include::None => {}
        Include::Metadata => r["object"] = crate::meta::partial_metadata(obj),
        Include::Object => r["object"] = obj.clone(),
    }
    r
}

/// The Table of `objects`, with `list_meta` as its metadata.
pub fn table(rt: &ResourceType, objects: &[Value], list_meta: Value, include: Include) -> Value {
    let cols = columns(rt);
    let now = jiff::Timestamp::now();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| row(&cols, o, include, now))
        .collect();
    let defs: Vec<Value> = cols.into_iter().map(|c| c.def).collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
        "columnDefinitions": defs, "rows": rows})
}

/// `5s`, `3m20s`, `4h`, `2d3h`: the age of a timestamp as kubectl prints it.
fn age(ts: Option<&Value>, now: jiff::Timestamp) -> String {
    let Some(t) = ts
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    else {
        return "<unknown>".into();
    };
    human_duration(now.as_second() - t.as_second())
}

/// Go's `duration.HumanDuration`, which kubectl and the server's printers use.
fn human_duration(secs: i64) -> String {
    let unit = |n: i64, a: &str, m: i64, b: &str| {
        if m == 0 {
            format!("{n}{a}")
        } else {
            format!("{n}{a}{m}{b}")
        }
    };
    let (minutes, hours) = (secs / 60, secs / 3600);
    match secs {
        s if s < -1 => "<invalid>".into(),
        s if s < 0 => "0s".into(),
        s if s < 120 => format!("{s}s"),
        _ if minutes < 10 => unit(minutes, "m", secs % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => unit(hours, "h", minutes % 60, "m"),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => unit(hours / 24, "d", hours % 24, "h"),
        _ if hours < 24 * 365 * 2 => format!("{}d", hours / 24),
        _ if hours < 24 * 365 * 8 => unit(hours / 24 / 365, "y", (hours / 24) % 365, "d"),
        _ => format!("{}y", hours / 24 / 365),
    }
}

/// The first value a CRD column's simple JSONPath selects: `.a.b`, `.a[0]`, `.a[*].b`,
/// `.a[?(@.type=="Ready")].status`.
fn json_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut cur = obj;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                cur = cur.get(&r[..end])?;
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            cur = index(cur, &r[..end])?;
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(cur)
}

/// One bracket of a JSONPath: an index, `*` (the first item), a quoted key, or a filter.
fn index<'a>(cur: &'a Value, sel: &str) -> Option<&'a Value> {
    let sel = sel.trim();
    if let Some(filter) = sel.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        return cur
            .as_array()?
            .iter()
            .find(|item| matches_filter(item, filter));
    }
    if sel == "*" {
        return cur.as_array()?.first();
    }
    if let Ok(i) = sel.parse::<i64>() {
        let items = cur.as_array()?;
        let i = if i < 0 { items.len() as i64 + i } else { i };
        return items.get(usize::try_from(i).ok()?);
    }
    cur.get(unquote(sel)?)
}

/// `@.a.b==literal` (or `!=`) against one list item.
fn matches_filter(item: &Value, filter: &str) -> bool {
    let (lhs, rhs, eq) = match filter.split_once("==") {
        Some((l, r)) => (l, r, true),
        None => match filter.split_once("!=") {
            Some((l, r)) => (l, r, false),
            None => return false,
        },
    };
    let Some(path) = lhs.trim().strip_prefix('@') else {
        return false;
    };
    let literal = match unquote(rhs.trim()) {
        Some(s) => json!(s),
        None => serde_json::from_str(rhs.trim()).unwrap_or(Value::Null),
    };
    (json_path(item, path) == Some(&literal)) == eq
}

fn unquote(s: &str) -> Option<&str> {
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_of_printer_columns() {
        let o = json!({"spec": {"size": 3, "items": [{"n": "a"}, {"n": "b"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Other", "status": "False"}]}});
        assert_eq!(json_path(&o, ".spec.size"), Some(&json!(3)));
        assert_eq!(json_path(&o, ".spec.items[1].n"), Some(&json!("b")));
        assert_eq!(json_path(&o, ".spec.items[*].n"), Some(&json!("a")));
        let ready = r#".status.conditions[?(@.type=="Ready")].status"#;
        assert_eq!(json_path(&o, ready), Some(&json!("True")));
        assert_eq!(
            json_path(&o, r#".status.conditions[?(@.type=='Gone')].status"#),
            None
        );
        assert_eq!(json_path(&o, ".spec.missing"), None);
    }

    #[test]
    fn ages_read_like_kubectl() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (200, "3m20s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (30 * 3600, "30h"),
            (50 * 3600, "2d2h"),
            (40 * 86400, "40d"),
        ] {
            assert_eq!(human_duration(secs), want);
        }
    }

    #[test]
    fn table_only_when_asked_first() {
        assert!(wanted(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wanted("application/json"));
    }
}

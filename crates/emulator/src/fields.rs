//! Field ownership (`metadata.managedFields`, FieldsV1) and server-side apply.
//!
//! A field set is a set of paths; a path element is a map field, a keyed list item, or a set
//! list value — the same model as the real server's structured-merge-diff, kept small.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Cause};
use crate::resources::ResourceType;

/// How a list merges.
#[derive(Debug, Clone, PartialEq)]
pub enum ListKind {
    Atomic,
    Set,
    /// Keyed by these item fields.
    Map(Vec<&'static str>),
}

/// Known keyed lists of built-in kinds (and of every object's metadata).
fn builtin_list_kind(names: &[String]) -> ListKind {
    let Some(last) = names.last() else {
        return ListKind::Atomic;
    };
    let parent = names
        .len()
        .checked_sub(2)
        .map(|i| names[i].as_str())
        .unwrap_or("");
    match last.as_str() {
        "finalizers" => ListKind::Set,
        "ownerReferences" => ListKind::Map(vec!["uid"]),
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets" => ListKind::Map(vec!["name"]),
        "ports"
            if matches!(
                parent,
                "containers" | "initContainers" | "ephemeralContainers"
            ) =>
        {
            ListKind::Map(vec!["containerPort", "protocol"])
        }
        "ports" if names.len() == 2 && names[0] == "spec" => {
            ListKind::Map(vec!["port", "protocol"])
        }
        "volumeMounts" => ListKind::Map(vec!["mountPath"]),
        "volumeDevices" => ListKind::Map(vec!["devicePath"]),
        "conditions" => ListKind::Map(vec!["type"]),
        "topologySpreadConstraints" => ListKind::Map(vec!["topologyKey", "whenUnsatisfiable"]),
        _ => ListKind::Atomic,
    }
}

/// The structural schema node at a field-name path (list items are stepped through).
pub fn schema_at<'a>(schema: &'a Value, names: &[String]) -> Option<&'a Value> {
    let mut cur = schema;
    for n in names {
        if cur.get("type").and_then(Value::as_str) == Some("array") {
            cur = cur.get("items")?;
        }
        cur = match cur.get("properties").and_then(|p| p.get(n)) {
            Some(s) => s,
            None => cur.get("additionalProperties").filter(|a| a.is_object())?,
        };
    }
    Some(cur)
}

/// Interns list-map key names so `ListKind` can stay `&'static str`.
fn static_key(k: &str) -> &'static str {
    use std::sync::{Mutex, OnceLock};
    static KEYS: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| Mutex::new(BTreeSet::new()));
    let mut g = match keys.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(s) = g.get(k) {
        return s;
    }
    let s: &'static str = Box::leak(k.to_string().into_boxed_str());
    g.insert(s);
    s
}

pub fn list_kind(rt: &ResourceType, names: &[String]) -> ListKind {
    if rt.builtin || names.first().map(String::as_str) == Some("metadata") {
        return builtin_list_kind(names);
    }
    let Some(node) = rt.schema.as_deref().and_then(|s| schema_at(s, names)) else {
        return ListKind::Atomic;
    };
    match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => ListKind::Set,
        Some("map") => ListKind::Map(
            node.get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|ks| {
                    ks.iter()
                        .filter_map(Value::as_str)
                        .map(static_key)
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => ListKind::Atomic,
    }
}

/// One path element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pe {
    /// A map field.
    F(String),
    /// A keyed list item: canonical JSON of its key fields.
    K(String),
    /// A set list value: its canonical JSON.
    V(String),
}

pub type Path = Vec<Pe>;
pub type FieldSet = BTreeSet<Path>;

/// The key object of a keyed list item, or `None` when the item lacks every key.
pub fn item_key(item: &Value, keys: &[&str]) -> Option<Map<String, Value>> {
    let obj = item.as_object()?;
    let mut out = Map::new();
    for k in keys {
        if let Some(v) = obj.get(*k) {
            out.insert((*k).to_string(), v.clone());
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Which part of an object a write owns: the main resource or the status subresource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Main,
    Status,
}

const OWNED_META: [&str; 4] = ["labels", "annotations", "finalizers", "ownerReferences"];

/// Every owned leaf (and list item) of `obj` in `scope`, with its value.
pub fn leaves<'a>(rt: &ResourceType, obj: &'a Value, scope: Scope) -> BTreeMap<Path, &'a Value> {
    let mut out = BTreeMap::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    let mut path = Vec::new();
    let mut names = Vec::new();
    for (k, v) in map {
        let take = match scope {
            Scope::Status => k == "status",
            Scope::Main => {
                !(matches!(k.as_str(), "apiVersion" | "kind") || (rt.status && k == "status"))
            }
        };
        if !take {
            continue;
        }
        path.push(Pe::F(k.clone()));
        names.push(k.clone());
        if k == "metadata" {
            if let Some(m) = v.as_object() {
                for mk in OWNED_META {
                    if let Some(mv) = m.get(mk) {
                        path.push(Pe::F(mk.to_string()));
                        names.push(mk.to_string());
                        walk(rt, mv, &mut path, &mut names, &mut out);
                        path.pop();
                        names.pop();
                    }
                }
            }
        } else {
            walk(rt, v, &mut path, &mut names, &mut out);
        }
        path.pop();
        names.pop();
    }
    out
}

fn walk<'a>(
    rt: &ResourceType,
    v: &'a Value,
    path: &mut Path,
    names: &mut Vec<String>,
    out: &mut BTreeMap<Path, &'a Value>,
) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                path.push(Pe::F(k.clone()));
                names.push(k.clone());
                walk(rt, c, path, names, out);
                path.pop();
                names.pop();
            }
        }
        // An empty list is a leaf, like an empty map: the writer owns the list itself.
        Value::Array(items) if items.is_empty() => {
            out.insert(path.clone(), v);
        }
        Value::Array(items) => match list_kind(rt, names) {
            ListKind::Map(keys) => {
                let ks: Option<Vec<_>> = items.iter().map(|i| item_key(i, &keys)).collect();
                let Some(ks) = ks else {
                    out.insert(path.clone(), v);
                    return;
                };
                for (item, key) in items.iter().zip(ks) {
                    path.push(Pe::K(Value::Object(key).to_string()));
                    out.insert(path.clone(), item);
                    walk(rt, item, path, names, out);
                    path.pop();
                }
            }
            ListKind::Set => {
                for item in items {
                    path.push(Pe::V(item.to_string()));
                    out.insert(path.clone(), item);
                    path.pop();
                }
            }
            ListKind::Atomic => {
                out.insert(path.clone(), v);
            }
        },
        _ => {
            out.insert(path.clone(), v);
        }
    }
}

fn encode(pe: &Pe) -> String {
    match pe {
        Pe::F(s) => format!("f:{s}"),
        Pe::K(s) => format!("k:{s}"),
        Pe::V(s) => format!("v:{s}"),
    }
}

fn decode(s: &str) -> Option<Pe> {
    let canon = |j: &str| serde_json::from_str::<Value>(j).ok().map(|v| v.to_string());
    if let Some(r) = s.strip_prefix("f:") {
        Some(Pe::F(r.to_string()))
    } else if let Some(r) = s.strip_prefix("k:") {
        canon(r).map(Pe::K)
    } else if let Some(r) = s.strip_prefix("v:") {
        canon(r).map(Pe::V)
    } else {
        None
    }
}

/// A field set in the `fieldsV1` wire format.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    fn insert(node: &mut Map<String, Value>, p: &[Pe]) {
        match p.split_first() {
            None => {
                node.insert(".".into(), Value::Object(Map::new()));
            }
            Some((pe, rest)) => {
                let next = node
                    .entry(encode(pe))
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = next {
                    insert(m, rest);
                }
            }
        }
    }
    let mut root = Map::new();
    for p in set {
        insert(&mut root, p);
    }
    fn strip(m: &mut Map<String, Value>) {
        if m.len() == 1 && m.contains_key(".") {
            m.clear();
            return;
        }
        for (_, v) in m.iter_mut() {
            if let Value::Object(c) = v {
                strip(c);
            }
        }
    }
    strip(&mut root);
    Value::Object(root)
}

pub fn from_fields_v1(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    fn rec(v: &Value, path: &mut Path, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        for (k, c) in m {
            if k == "." {
                out.insert(path.clone());
                continue;
            }
            let Some(pe) = decode(k) else { continue };
            path.push(pe);
            if c.as_object().is_some_and(Map::is_empty) {
                out.insert(path.clone());
            } else {
                rec(c, path, out);
            }
            path.pop();
        }
    }
    rec(v, &mut Vec::new(), &mut out);
    out
}

/// The `.spec.containers[name="c"].image` form used in conflict messages.
pub fn display(p: &Path) -> String {
    let mut s = String::new();
    for pe in p {
        match pe {
            Pe::F(f) => {
                s.push('.');
                s.push_str(f);
            }
            Pe::K(k) => {
                let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(k)
                    .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                s.push('[');
                s.push_str(&parts.join(","));
                s.push(']');
            }
            Pe::V(v) => {
                s.push_str("[=");
                s.push_str(v);
                s.push(']');
            }
        }
    }
    s
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub set: FieldSet,
}

impl Entry {
    fn same_slot(&self, manager: &str, op: &str, sub: &str) -> bool {
        self.manager == manager && self.operation == op && self.subresource == sub
    }
}

pub fn parse_managed(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let s = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    list.iter()
        .map(|e| Entry {
            manager: s(e, "manager"),
            operation: s(e, "operation"),
            api_version: s(e, "apiVersion"),
            time: s(e, "time"),
            subresource: s(e, "subresource"),
            set: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
        })
        .collect()
}

pub fn render_managed(entries: &[Entry]) -> Value {
    Value::Array(
        entries
            .iter()
            .filter(|e| !e.set.is_empty())
            .map(|e| {
                let mut v = json!({
                    "manager": e.manager,
                    "operation": e.operation,
                    "apiVersion": e.api_version,
                    "time": e.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": to_fields_v1(&e.set),
                });
                if !e.subresource.is_empty() {
                    v["subresource"] = json!(e.subresource);
                }
                v
            })
            .collect(),
    )
}

/// Whether `p` still names something in `present` (itself, or a map that gained children).
fn still_present(present: &BTreeMap<Path, &Value>, p: &Path) -> bool {
    // Paths sort before their extensions, so the first one at or after `p` tells.
    present
        .range(p.clone()..)
        .next()
        .is_some_and(|(q, _)| q.starts_with(p))
}

/// Whether `set` holds `p` or a path under it (a map or list that gained children).
fn covers(set: &FieldSet, p: &Path) -> bool {
    set.range(p.clone()..)
        .next()
        .is_some_and(|q| q.starts_with(p))
}

fn scope_sub(scope: Scope) -> &'static str {
    match scope {
        Scope::Main => "",
        Scope::Status => "status",
    }
}

/// Records a non-apply write: the writer takes ownership of every field it changed; fields that
/// disappeared are dropped from every manager.
pub fn track_update(
    rt: &ResourceType,
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    scope: Scope,
    now: &str,
) -> Value {
    let mut entries = old.map(parse_managed).unwrap_or_default();
    let new_leaves = leaves(rt, new, scope);
    let old_leaves = old.map(|o| leaves(rt, o, scope)).unwrap_or_default();
    let changed: FieldSet = new_leaves
        .iter()
        .filter(|(p, v)| match p.last() {
            Some(Pe::K(_)) | Some(Pe::V(_)) => !old_leaves.contains_key(*p),
            _ => old_leaves.get(*p) != Some(*v),
        })
        .map(|(p, _)| p.clone())
        .collect();
    let all_new_main = leaves(rt, new, Scope::Main);
    let all_new_status = leaves(rt, new, Scope::Status);
    for e in &mut entries {
        let present = if e.subresource == "status" {
            &all_new_status
        } else {
            &all_new_main
        };
        e.set
            .retain(|p| still_present(present, p) && !changed.contains(p));
    }
    let sub = scope_sub(scope);
    if !changed.is_empty() {
        match entries
            .iter_mut()
            .find(|e| e.same_slot(manager, "Update", sub))
        {
            Some(e) => {
                e.set.extend(changed);
                e.time = now.to_string();
                e.api_version = api_version_of(new, rt);
            }
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: api_version_of(new, rt),
                time: now.to_string(),
                subresource: sub.to_string(),
                set: changed,
            }),
        }
    }
    render_managed(&entries)
}

fn api_version_of(obj: &Value, rt: &ResourceType) -> String {
    obj.get("apiVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| rt.api_version())
}

/// Merges an applied configuration into a live object: maps recurse, keyed lists merge by key,
/// set lists union, everything else is replaced.
pub fn apply_merge(rt: &ResourceType, base: &mut Value, applied: &Value, names: &mut Vec<String>) {
    match (base, applied) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, av) in a {
                if av.is_null() {
                    b.remove(k);
                    continue;
                }
                names.push(k.clone());
                match b.get_mut(k) {
                    Some(bv)
                        if (bv.is_object() && av.is_object())
                            || (bv.is_array() && av.is_array()) =>
                    {
                        apply_merge(rt, bv, av, names)
                    }
                    _ => {
                        b.insert(k.clone(), av.clone());
                    }
                }
                names.pop();
            }
        }
        (Value::Array(b), Value::Array(a)) => match list_kind(rt, names) {
            ListKind::Map(keys) => {
                for item in a {
                    let key = item_key(item, &keys);
                    let found = key.as_ref().and_then(|k| {
                        b.iter_mut()
                            .find(|bi| item_key(bi, &keys).as_ref() == Some(k))
                    });
                    match found {
                        Some(bi) => apply_merge(rt, bi, item, names),
                        None => b.push(item.clone()),
                    }
                }
            }
            ListKind::Set => {
                for item in a {
                    if !b.contains(item) {
                        b.push(item.clone());
                    }
                }
            }
            ListKind::Atomic => *b = a.clone(),
        },
        (b, a) => *b = a.clone(),
    }
}

/// Removes the field or list item at `p`.
fn remove_path(obj: &mut Value, p: &[Pe]) {
    let Some((last, parent)) = p.split_last() else {
        return;
    };
    let mut cur = obj;
    for pe in parent {
        let next = match (pe, cur) {
            (Pe::F(f), Value::Object(m)) => m.get_mut(f),
            (Pe::K(k), Value::Array(items)) => {
                let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                items.iter_mut().find(|i| {
                    i.as_object()
                        .is_some_and(|o| key.iter().all(|(kk, kv)| o.get(kk) == Some(kv)))
                })
            }
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match (last, cur) {
        (Pe::F(f), Value::Object(m)) => {
            m.remove(f);
        }
        (Pe::K(k), Value::Array(items)) => {
            let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            items.retain(|i| {
                !i.as_object()
                    .is_some_and(|o| key.iter().all(|(kk, kv)| o.get(kk) == Some(kv)))
            });
        }
        (Pe::V(v), Value::Array(items)) => {
            items.retain(|i| serde_json::from_str::<Value>(v).ok().as_ref() != Some(i));
        }
        _ => {}
    }
}

/// The part of an applied configuration a scope owns.
fn scoped_config(rt: &ResourceType, applied: &Value, scope: Scope) -> Value {
    let mut out = Map::new();
    if let Some(m) = applied.as_object() {
        for (k, v) in m {
            let keep = match scope {
                Scope::Status => k == "status",
                Scope::Main => k != "status" || !rt.status,
            };
            if !keep || k == "apiVersion" || k == "kind" {
                continue;
            }
            if k == "metadata" {
                let mut meta = Map::new();
                if let Some(mm) = v.as_object() {
                    for f in OWNED_META {
                        if let Some(x) = mm.get(f) {
                            meta.insert(f.to_string(), x.clone());
                        }
                    }
                }
                out.insert(k.clone(), Value::Object(meta));
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// Server-side apply of `applied` by `manager` onto `live` (or onto nothing, to create).
/// Returns the merged object with its new `managedFields`, or a 409 listing the conflicts.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    rt: &ResourceType,
    live: &Value,
    applied: &Value,
    manager: &str,
    force: bool,
    scope: Scope,
    now: &str,
    name: &str,
) -> Result<Value, ApiError> {
    let mut entries = parse_managed(live);
    let config = scoped_config(rt, applied, scope);
    let applied_leaves = leaves(rt, &config, Scope::Main);
    let applied_set: FieldSet = applied_leaves.keys().cloned().collect();
    let mut merged = live.clone();
    apply_merge(rt, &mut merged, &config, &mut Vec::new());
    let live_leaves = leaves(rt, live, scope);
    let merged_leaves = leaves(rt, &merged, scope);
    let sub = scope_sub(scope);

    let mut conflicts: Vec<(String, Path)> = Vec::new();
    for e in &entries {
        if e.same_slot(manager, "Apply", sub) {
            continue;
        }
        for p in e.set.intersection(&applied_set) {
            if !matches!(p.last(), Some(Pe::F(_))) {
                continue;
            }
            if live_leaves.get(p) != merged_leaves.get(p) {
                conflicts.push((e.manager.clone(), p.clone()));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(rt, name, &conflicts));
        }
        for e in &mut entries {
            if !e.same_slot(manager, "Apply", sub) {
                e.set.retain(|p| !conflicts.iter().any(|(_, c)| c == p));
            }
        }
    }

    let previous = entries
        .iter()
        .find(|e| e.same_slot(manager, "Apply", sub))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let others: FieldSet = entries
        .iter()
        .filter(|e| !e.same_slot(manager, "Apply", sub))
        .flat_map(|e| e.set.iter().cloned())
        .collect();
    // A field stays while this apply or another manager still owns it or anything under it
    // (an empty map applied before is now the parent of the applied keys).
    let mut dropped: Vec<&Path> = previous
        .iter()
        .filter(|p| !covers(&applied_set, p) && !covers(&others, p))
        .collect();
    // Shallowest first: an item goes whole (its key fields are needed to find it), and the
    // removal of its children then finds nothing left to do.
    dropped.sort_by_key(|p| p.len());
    for p in dropped {
        remove_path(&mut merged, p);
    }

    let remaining_main = leaves(rt, &merged, Scope::Main);
    let remaining_status = leaves(rt, &merged, Scope::Status);
    entries.retain(|e| !e.same_slot(manager, "Apply", sub));
    for e in &mut entries {
        let present = if e.subresource == "status" {
            &remaining_status
        } else {
            &remaining_main
        };
        e.set.retain(|p| still_present(present, p));
    }
    let unchanged_entry = previous == applied_set;
    let old_time = parse_managed(live)
        .into_iter()
        .find(|e| e.same_slot(manager, "Apply", sub))
        .map(|e| e.time);
    entries.push(Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: api_version_of(applied, rt),
        time: match (unchanged_entry, old_time) {
            (true, Some(t)) => t,
            _ => now.to_string(),
        },
        subresource: sub.to_string(),
        set: applied_set,
    });
    merged["metadata"]["managedFields"] = render_managed(&entries);
    Ok(merged)
}

fn conflict_error(rt: &ResourceType, name: &str, conflicts: &[(String, Path)]) -> ApiError {
    let by_manager: BTreeMap<&str, Vec<String>> =
        conflicts.iter().fold(BTreeMap::new(), |mut m, (mgr, p)| {
            m.entry(mgr.as_str()).or_default().push(display(p));
            m
        });
    let n = conflicts.len();
    let body = if n == 1 {
        format!(
            "conflict with \"{}\": {}",
            conflicts[0].0,
            display(&conflicts[0].1)
        )
    } else {
        let parts: Vec<String> = by_manager
            .iter()
            .map(|(m, ps)| {
                format!(
                    "conflicts with \"{m}\":\n{}",
                    ps.iter()
                        .map(|p| format!("- {p}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
            .collect();
        parts.join("\n")
    };
    let mut err = ApiError::new(
        409,
        "Conflict",
        format!(
            "Apply failed with {n} conflict{}: {body}",
            if n == 1 { "" } else { "s" }
        ),
    );
    err.details.group = Some(rt.group.clone());
    err.details.kind = Some(rt.plural.clone());
    err.details.name = Some(name.to_string());
    err.details.causes = conflicts
        .iter()
        .map(|(m, p)| {
            Cause::new(
                "FieldManagerConflict",
                display(p),
                format!("conflict with \"{m}\""),
            )
        })
        .collect();
    err
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    fn deploy() -> std::sync::Arc<ResourceType> {
        Registry::with_builtins()
            .get("apps", "v1", "deployments")
            .unwrap()
    }

    #[test]
    fn fields_v1_round_trip() {
        let rt = deploy();
        let obj = json!({"metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let set: FieldSet = leaves(&rt, &obj, Scope::Main).into_keys().collect();
        let v1 = to_fields_v1(&set);
        assert_eq!(
            v1["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"],
            json!({".": {}, "f:name": {}, "f:image": {}})
        );
        assert_eq!(v1["f:metadata"]["f:finalizers"]["v:\"x\""], json!({}));
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn apply_conflict_and_force() {
        let rt = deploy();
        let live = apply(
            &rt,
            &json!({"metadata": {"name": "d"}}),
            &json!({"spec": {"replicas": 1}}),
            "a",
            false,
            Scope::Main,
            "t",
            "d",
        )
        .unwrap();
        let err = apply(
            &rt,
            &live,
            &json!({"spec": {"replicas": 2}}),
            "b",
            false,
            Scope::Main,
            "t",
            "d",
        )
        .unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.details.causes[0].field, ".spec.replicas");
        // Same value: shared ownership, no conflict.
        assert!(
            apply(
                &rt,
                &live,
                &json!({"spec": {"replicas": 1}}),
                "b",
                false,
                Scope::Main,
                "t",
                "d"
            )
            .is_ok()
        );
        let forced = apply(
            &rt,
            &live,
            &json!({"spec": {"replicas": 2}}),
            "b",
            true,
            Scope::Main,
            "t",
            "d",
        )
        .unwrap();
        assert_eq!(forced["spec"]["replicas"], 2);
        // a lost the field: its managedFields entry is gone.
        assert_eq!(
            forced["metadata"]["managedFields"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn apply_drops_fields_and_merges_lists() {
        let rt = deploy();
        let c = |n: &str, i: &str| json!({"name": n, "image": i});
        let live = apply(&rt, &json!({"metadata": {}}), &json!({"spec": {"template": {"spec": {"containers": [c("a", "1"), c("b", "1")]}}}, "metadata": {"labels": {"x": "1", "y": "1"}}}), "m", false, Scope::Main, "t", "d").unwrap();
        let live2 = apply(
            &rt,
            &live,
            &json!({"spec": {"template": {"spec": {"containers": [c("c", "2")]}}}}),
            "other",
            false,
            Scope::Main,
            "t",
            "d",
        )
        .unwrap();
        assert_eq!(
            live2["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        let live3 = apply(&rt, &live2, &json!({"spec": {"template": {"spec": {"containers": [c("a", "1")]}}}, "metadata": {"labels": {"x": "1"}}}), "m", false, Scope::Main, "t", "d").unwrap();
        let names: Vec<&str> = live3["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(live3["metadata"]["labels"], json!({"x": "1"}));
    }
}

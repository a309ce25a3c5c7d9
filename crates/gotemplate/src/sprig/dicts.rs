//! sprig's dictionary functions. Maps are shared by reference, as in Go:
//! `set`, `unset` and the merges change the map in place and return it.

use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;

use super::args::{MAX_DEPTH, arity, arity_min, map, maps, read, string, strings, strval, write};
use super::reflect::is_empty;
use super::strings::string_list;
use crate::value::{MapRef, Value};

/// A map argument that Go would dereference: a nil map fails.
fn map_mut(v: &Value) -> Result<&MapRef, String> {
    map(v)?.ok_or_else(|| "assignment to entry in nil map".to_string())
}

/// A copy of a map's entries, so the map can be changed while they are used.
fn entries(m: Option<&MapRef>) -> Result<Vec<(String, Value)>, String> {
    match m {
        Some(m) => Ok(read(m)?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()),
        None => Ok(Vec::new()),
    }
}

/// Where a map lives, to recognize it without comparing contents.
type MapId = *const std::cell::RefCell<crate::value::Entries>;

/// Refuses to put `value` into maps it already holds at some depth: the map
/// would contain itself, a cycle that reference counting never frees (and
/// that overflows Go's stack when printed).
fn refuse_cycle(name: &str, value: &Value, into: &[MapId]) -> Result<(), String> {
    let mut seen = HashSet::new();
    let mut stack = vec![value.clone()];
    while let Some(v) = stack.pop() {
        match v {
            Value::Map(m) => {
                if into.contains(&Rc::as_ptr(&m)) {
                    return Err(format!("{name}: a map cannot contain itself"));
                }
                if seen.insert(Rc::as_ptr(&m)) {
                    stack.extend(read(&m)?.values().cloned());
                }
            }
            Value::List(items) => stack.extend(items.iter().cloned()),
            _ => {}
        }
    }
    Ok(())
}

/// `dict KEY VALUE ...`: a new map; keys are stringified, a key without a
/// value maps to "".
pub(super) fn dict(args: &[Value]) -> Result<Value, String> {
    let mut out = BTreeMap::new();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
        out.insert(strval(&pair[0]), value);
    }
    Ok(Value::map(out))
}

/// `get MAP KEY`: the value, or "" when the key is absent.
pub(super) fn get(args: &[Value]) -> Result<Value, String> {
    arity("get", args, 2)?;
    let (m, key) = (map(&args[0])?, string(&args[1])?);
    let found = match m {
        Some(m) => read(m)?.get(key).cloned(),
        None => None,
    };
    Ok(found.unwrap_or_else(|| Value::from("")))
}

/// `set MAP KEY VALUE`: stores the value in place and returns the map.
pub(super) fn set(args: &[Value]) -> Result<Value, String> {
    arity("set", args, 3)?;
    let (m, key) = (map_mut(&args[0])?, string(&args[1])?);
    refuse_cycle("set", &args[2], &[Rc::as_ptr(m)])?;
    write(m)?.insert(key.to_string(), args[2].clone());
    Ok(args[0].clone())
}

/// `unset MAP KEY`: removes the key in place and returns the map.
pub(super) fn unset(args: &[Value]) -> Result<Value, String> {
    arity("unset", args, 2)?;
    let key = string(&args[1])?;
    match map(&args[0])? {
        Some(m) => {
            write(m)?.remove(key);
            Ok(args[0].clone())
        }
        None => Ok(Value::map(BTreeMap::new())),
    }
}

/// `hasKey MAP KEY`.
pub(super) fn has_key(args: &[Value]) -> Result<Value, String> {
    arity("hasKey", args, 2)?;
    let (m, key) = (map(&args[0])?, string(&args[1])?);
    Ok(Value::Bool(match m {
        Some(m) => read(m)?.contains_key(key),
        None => false,
    }))
}

/// `pluck KEY MAPS...`: the KEY values of the maps that have it.
pub(super) fn pluck(args: &[Value]) -> Result<Value, String> {
    arity_min("pluck", args, 1)?;
    let key = string(&args[0])?;
    let mut out = Vec::new();
    for m in maps(&args[1..])?.into_iter().flatten() {
        if let Some(v) = read(m)?.get(key) {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}

/// `keys MAPS...`: every key of every map (each map's keys sorted).
pub(super) fn keys(args: &[Value]) -> Result<Value, String> {
    let mut out = Vec::new();
    for m in maps(args)? {
        out.extend(entries(m)?.into_iter().map(|(k, _)| k));
    }
    Ok(string_list(out))
}

/// `values MAP`: the map's values, in key order.
pub(super) fn values(args: &[Value]) -> Result<Value, String> {
    arity("values", args, 1)?;
    Ok(Value::list(
        entries(map(&args[0])?)?
            .into_iter()
            .map(|(_, v)| v)
            .collect(),
    ))
}

/// `pick MAP KEYS...`: a new map with only those keys.
pub(super) fn pick(args: &[Value]) -> Result<Value, String> {
    arity_min("pick", args, 1)?;
    let (m, wanted) = (map(&args[0])?, strings(&args[1..])?);
    let kept = entries(m)?
        .into_iter()
        .filter(|(k, _)| wanted.contains(&k.as_str()));
    Ok(Value::map(kept.collect()))
}

/// `omit MAP KEYS...`: a new map without those keys.
pub(super) fn omit(args: &[Value]) -> Result<Value, String> {
    arity_min("omit", args, 1)?;
    let (m, dropped) = (map(&args[0])?, strings(&args[1..])?);
    let kept = entries(m)?
        .into_iter()
        .filter(|(k, _)| !dropped.contains(&k.as_str()));
    Ok(Value::map(kept.collect()))
}

/// `dig KEYS... DEFAULT MAP`: the value at the key path, or DEFAULT.
pub(super) fn dig(args: &[Value]) -> Result<Value, String> {
    if args.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let (path, tail) = args.split_at(args.len() - 2);
    let (default, mut current) = (&tail[0], as_map(&tail[1])?);
    for (i, key) in path.iter().enumerate() {
        let key = key
            .as_str()
            .ok_or_else(|| conversion_panic(key, "string"))?;
        let step = read(&current)?.get(key).cloned();
        match step {
            None => return Ok(default.clone()),
            Some(v) if i + 1 == path.len() => return Ok(v),
            Some(v) => current = as_map(&v)?,
        }
    }
    Ok(default.clone())
}

/// A Go type assertion to `map[string]interface{}`.
fn as_map(v: &Value) -> Result<MapRef, String> {
    match v {
        Value::Map(m) => Ok(Rc::clone(m)),
        other => Err(conversion_panic(other, "map[string]interface {}")),
    }
}

/// The message of a failed Go type assertion from `interface{}`.
fn conversion_panic(v: &Value, want: &str) -> String {
    let got = match v {
        Value::Missing | Value::Nil => "nil",
        other => other.type_name(),
    };
    format!("interface conversion: interface {{}} is {got}, not {want}")
}

/// `merge DST SRCS...` (also `mustMerge`): fills DST's missing or empty
/// entries from each source, deeply, in place.
pub(super) fn merge(args: &[Value]) -> Result<Value, String> {
    merge_all("merge", args, false)
}

/// `mergeOverwrite DST SRCS...` (also `mustMergeOverwrite`): as `merge`,
/// but source values win.
pub(super) fn merge_overwrite(args: &[Value]) -> Result<Value, String> {
    merge_all("mergeOverwrite", args, true)
}

/// Merges every source into the destination (a new map if it is nil).
fn merge_all(name: &str, args: &[Value], overwrite: bool) -> Result<Value, String> {
    arity_min(name, args, 1)?;
    let dst = match map(&args[0])? {
        Some(m) => Rc::clone(m),
        None => Rc::default(),
    };
    for src in maps(&args[1..])?.into_iter().flatten() {
        merge_into(name, &dst, src, overwrite, &mut Vec::new())?;
    }
    Ok(Value::Map(dst))
}

/// imdario/mergo's map merge, as sprig calls it: nested maps merge
/// recursively, lists and other values fill empty slots (or replace when
/// overwriting), nil sources only overwrite, and a non-map destination
/// entry is never replaced by a map.
/// `into` holds the destination maps from the top down to `dst`.
fn merge_into(
    name: &str,
    dst: &MapRef,
    src: &MapRef,
    overwrite: bool,
    into: &mut Vec<MapId>,
) -> Result<(), String> {
    if Rc::ptr_eq(dst, src) {
        return Ok(());
    }
    if into.len() > MAX_DEPTH {
        return Err("merge: maps nested too deeply".into());
    }
    into.push(Rc::as_ptr(dst));
    let merged = merge_entries(name, dst, src, overwrite, into);
    into.pop();
    merged
}

fn merge_entries(
    name: &str,
    dst: &MapRef,
    src: &MapRef,
    overwrite: bool,
    into: &mut Vec<MapId>,
) -> Result<(), String> {
    for (key, value) in entries(Some(src))? {
        let existing = read(dst)?.get(&key).cloned();
        let replace = match (&value, &existing) {
            (Value::Nil | Value::Missing, _) => overwrite,
            (Value::Map(s), Some(Value::Map(d))) => {
                merge_into(name, d, s, overwrite, into)?;
                is_empty(&Value::Map(Rc::clone(d)))
            }
            (Value::Map(_) | Value::List(_), Some(d)) if !is_empty(d) => {
                overwrite && matches!(value, Value::List(_))
            }
            (_, None) => true,
            (_, Some(d)) => overwrite || is_empty(d),
        };
        if replace {
            refuse_cycle(name, &value, into)?;
            write(dst)?.insert(key, value);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sprig::args::strval;

    fn d(pairs: &[(&str, Value)]) -> Value {
        Value::map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn s(x: &str) -> Value {
        Value::from(x)
    }

    fn l(items: &[i64]) -> Value {
        Value::list(items.iter().map(|&i| Value::Int(i)).collect())
    }

    fn sample() -> Value {
        d(&[
            ("a", s("x")),
            ("b", s("")),
            ("l", l(&[1])),
            ("e", l(&[])),
            ("m", d(&[("q", Value::Int(1))])),
            ("s", s("str")),
            ("z", Value::Nil),
        ])
    }

    fn source() -> Value {
        d(&[
            ("a", s("y")),
            ("b", s("B")),
            ("l", l(&[2])),
            ("e", l(&[3])),
            ("m", d(&[("q", Value::Int(2)), ("r", Value::Int(3))])),
            ("s", d(&[("k", Value::Int(1))])),
            ("n", Value::Nil),
            ("z", s("Z")),
        ])
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn merge_matches_go() {
        let out = merge(&[sample(), source()]).map(|v| strval(&v));
        assert_eq!(
            out.as_deref(),
            Ok("map[a:x b:B e:[3] l:[1] m:map[q:1 r:3] s:str z:Z]")
        );
        let out = merge_overwrite(&[sample(), source()]).map(|v| strval(&v));
        assert_eq!(
            out.as_deref(),
            Ok("map[a:y b:B e:[3] l:[2] m:map[q:2 r:3] n:<nil> s:str z:Z]")
        );
        let out = merge_overwrite(&[d(&[("a", l(&[1]))]), d(&[("a", s("s"))])]).map(|v| strval(&v));
        assert_eq!(out.as_deref(), Ok("map[a:s]"));
        let out = merge(&[d(&[("a", l(&[1]))]), d(&[("a", s("s"))])]).map(|v| strval(&v));
        assert_eq!(out.as_deref(), Ok("map[a:[1]]"));
        let zeros = d(&[("a", Value::Int(0)), ("b", Value::Bool(false))]);
        let out = merge_overwrite(&[d(&[("a", Value::Int(1))]), zeros]).map(|v| strval(&v));
        assert_eq!(out.as_deref(), Ok("map[a:0 b:false]"));
    }

    #[test]
    fn merge_changes_the_destination_in_place() {
        let dst = d(&[("m", d(&[("x", Value::Int(1))]))]);
        let src = d(&[("m", d(&[("y", Value::Int(2))]))]);
        assert!(merge(&[dst.clone(), src.clone()]).is_ok());
        assert_eq!(strval(&dst), "map[m:map[x:1 y:2]]");
        assert_eq!(strval(&src), "map[m:map[y:2]]");
    }

    #[test]
    fn maps_cannot_be_made_to_contain_themselves() {
        let m = d(&[("a", s("x"))]);
        assert!(set(&[m.clone(), s("self"), m.clone()]).is_err());
        let root = d(&[("m", m.clone())]);
        assert!(merge(&[m.clone(), root.clone()]).is_err());
        assert!(set(&[m.clone(), s("list"), Value::list(vec![root])]).is_err());
        // A map holding another map twice is not a cycle.
        let inner = d(&[("k", s("v"))]);
        let outer = d(&[]);
        assert!(set(&[outer.clone(), s("x"), inner.clone()]).is_ok());
        assert!(set(&[outer, s("y"), inner]).is_ok());
    }

    #[test]
    fn set_unset_and_lookups() {
        let m = d(&[("a", Value::Int(1))]);
        assert!(set(&[m.clone(), s("b"), Value::Int(2)]).is_ok());
        assert!(unset(&[m.clone(), s("a")]).is_ok());
        assert_eq!(strval(&m), "map[b:2]");
        assert_eq!(
            set(&[Value::Nil, s("b"), Value::Int(2)]).unwrap_err(),
            "assignment to entry in nil map"
        );
        assert_eq!(
            get(&[Value::Nil, s("x")]).map(|v| strval(&v)).as_deref(),
            Ok("")
        );
        let nested = d(&[("a", d(&[("b", s("deep"))]))]);
        assert_eq!(
            dig(&[s("a"), s("b"), s("def"), nested.clone()])
                .map(|v| strval(&v))
                .as_deref(),
            Ok("deep")
        );
        assert_eq!(
            dig(&[s("a"), s("x"), s("def"), nested.clone()])
                .map(|v| strval(&v))
                .as_deref(),
            Ok("def")
        );
        assert_eq!(
            dig(&[s("a"), s("b"), s("c"), s("def"), nested]).unwrap_err(),
            "interface conversion: interface {} is string, not map[string]interface {}"
        );
        assert_eq!(
            strval(&dict(&[s("a"), Value::Int(1), s("b")]).unwrap_or_default()),
            "map[a:1 b:]"
        );
    }
}

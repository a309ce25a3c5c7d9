//! sprig's list functions. The must* variants share these bodies: sprig's
//! plain variants panic with the same error, which Go reports the same way.

use super::args::{
    MAX_OUTPUT, arity, arity_min, check_size, float_to_int, int, list_items, to_int64,
};
use super::reflect::{deep_equal, is_empty};
use crate::value::Value;

/// Checks a one-list signature and returns the list's items; `verb` names
/// the operation in sprig's "Cannot find VERB on type KIND" error.
fn one_list<'a>(name: &str, args: &'a [Value], verb: &str) -> Result<&'a [Value], String> {
    arity(name, args, 1)?;
    list_items(&args[0], |k| format!("Cannot find {verb} on type {k}"))
}

/// `list ITEMS...` (also `tuple`).
pub(super) fn list(args: &[Value]) -> Result<Value, String> {
    Ok(Value::list(args.to_vec()))
}

/// `append LIST ITEM` (also `push`, `mustAppend`, `mustPush`).
pub(super) fn append(args: &[Value]) -> Result<Value, String> {
    arity("append", args, 2)?;
    let items = list_items(&args[0], |k| format!("Cannot push on type {k}"))?;
    check_size(items.len() + 1)?;
    let mut out = items.to_vec();
    out.push(args[1].clone());
    Ok(Value::list(out))
}

/// `prepend LIST ITEM` (also `mustPrepend`).
pub(super) fn prepend(args: &[Value]) -> Result<Value, String> {
    arity("prepend", args, 2)?;
    let items = list_items(&args[0], |k| format!("Cannot prepend on type {k}"))?;
    check_size(items.len() + 1)?;
    let mut out = Vec::with_capacity(items.len() + 1);
    out.push(args[1].clone());
    out.extend_from_slice(items);
    Ok(Value::list(out))
}

/// `first LIST` (also `mustFirst`): nil for an empty list.
pub(super) fn first(args: &[Value]) -> Result<Value, String> {
    Ok(one_list("first", args, "first")?
        .first()
        .cloned()
        .unwrap_or(Value::Nil))
}

/// `last LIST` (also `mustLast`): nil for an empty list.
pub(super) fn last(args: &[Value]) -> Result<Value, String> {
    Ok(one_list("last", args, "last")?
        .last()
        .cloned()
        .unwrap_or(Value::Nil))
}

/// `rest LIST` (also `mustRest`): all but the first item.
pub(super) fn rest(args: &[Value]) -> Result<Value, String> {
    let items = one_list("rest", args, "rest")?;
    Ok(Value::list(items.get(1..).unwrap_or_default().to_vec()))
}

/// `initial LIST` (also `mustInitial`): all but the last item.
pub(super) fn initial(args: &[Value]) -> Result<Value, String> {
    let items = one_list("initial", args, "initial")?;
    let keep = items.len().saturating_sub(1);
    Ok(Value::list(items[..keep].to_vec()))
}

/// `reverse LIST` (also `mustReverse`).
pub(super) fn reverse(args: &[Value]) -> Result<Value, String> {
    let items = one_list("reverse", args, "reverse")?;
    Ok(Value::list(items.iter().rev().cloned().collect()))
}

/// `compact LIST` (also `mustCompact`): the items that are not empty.
pub(super) fn compact(args: &[Value]) -> Result<Value, String> {
    arity("compact", args, 1)?;
    let items = list_items(&args[0], |k| format!("Cannot compact on type {k}"))?;
    Ok(Value::list(
        items.iter().filter(|v| !is_empty(v)).cloned().collect(),
    ))
}

/// `uniq LIST` (also `mustUniq`): the items without deep-equal repeats.
pub(super) fn uniq(args: &[Value]) -> Result<Value, String> {
    let items = one_list("uniq", args, "uniq")?;
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.iter().any(|seen| deep_equal(seen, item)) {
            out.push(item.clone());
        }
    }
    Ok(Value::list(out))
}

/// `without LIST ITEMS...` (also `mustWithout`): drops deep-equal items.
pub(super) fn without(args: &[Value]) -> Result<Value, String> {
    arity_min("without", args, 1)?;
    let items = list_items(&args[0], |k| format!("Cannot find without on type {k}"))?;
    let omit = &args[1..];
    Ok(Value::list(
        items
            .iter()
            .filter(|item| !omit.iter().any(|o| deep_equal(o, item)))
            .cloned()
            .collect(),
    ))
}

/// `has NEEDLE LIST` (also `mustHas`): whether a deep-equal item exists;
/// false for a nil list.
pub(super) fn has(args: &[Value]) -> Result<Value, String> {
    arity("has", args, 2)?;
    if matches!(args[1], Value::Nil | Value::Missing) {
        return Ok(Value::Bool(false));
    }
    let items = list_items(&args[1], |k| format!("Cannot find has on type {k}"))?;
    Ok(Value::Bool(
        items.iter().any(|item| deep_equal(&args[0], item)),
    ))
}

/// `slice LIST [START [END]]` (also `mustSlice`): Go's `list[start:end]`,
/// nil for an empty list, an error for bounds out of range.
pub(super) fn slice(args: &[Value]) -> Result<Value, String> {
    arity_min("slice", args, 1)?;
    let items = list_items(&args[0], |k| {
        format!("list should be type of slice or array but {k}")
    })?;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = args.get(1).map_or(0, to_int64);
    let end = args.get(2).map_or(items.len() as i64, to_int64);
    if start < 0 || end < start || end > items.len() as i64 {
        return Err("reflect.Value.Slice: slice index out of bounds".into());
    }
    Ok(Value::list(items[start as usize..end as usize].to_vec()))
}

/// `concat LISTS...`: the lists' items, in order.
pub(super) fn concat(args: &[Value]) -> Result<Value, String> {
    let mut out = Vec::new();
    for arg in args {
        let items = list_items(arg, |k| format!("Cannot concat type {k} as list"))?;
        check_size(out.len() + items.len())?;
        out.extend_from_slice(items);
    }
    Ok(Value::list(out))
}

/// `chunk SIZE LIST` (also `mustChunk`): the items in lists of SIZE, with
/// sprig's arithmetic (and Go's panics) for sizes below one.
pub(super) fn chunk(args: &[Value]) -> Result<Value, String> {
    arity("chunk", args, 2)?;
    let size = int(&args[0])?;
    let items = list_items(&args[1], |k| format!("Cannot chunk type {k}"))?;
    const BAD_LEN: &str = "runtime error: makeslice: len out of range";
    let len = items.len() as i64;
    let chunks = float_to_int(((len - 1) as f64 / size as f64).floor() + 1.0);
    let Ok(chunks) = usize::try_from(chunks) else {
        return Err(BAD_LEN.into());
    };
    if chunks > MAX_OUTPUT {
        return Err(BAD_LEN.into());
    }
    let mut out = Vec::with_capacity(chunks);
    for i in 0..chunks {
        let mut width = size;
        if i == chunks - 1 {
            width = float_to_int((len as f64 % size as f64).floor());
            if width == 0 {
                width = size;
            }
        }
        let start = (i as i64).saturating_mul(size);
        let part = usize::try_from(width)
            .ok()
            .zip(usize::try_from(start).ok())
            .and_then(|(w, s)| items.get(s..s.checked_add(w)?));
        match (width < 0, part) {
            (true, _) => return Err(BAD_LEN.into()),
            (false, Some(part)) => out.push(Value::list(part.to_vec())),
            (false, None) => return Err("runtime error: index out of range".into()),
        }
    }
    Ok(Value::list(out))
}

/// Builds a list of `count` integers counting from `start` by `step`.
fn int_list(values: impl Iterator<Item = i64>) -> Result<Value, String> {
    let mut out = Vec::new();
    for v in values {
        if out.len() >= MAX_OUTPUT {
            return Err(super::args::too_big());
        }
        out.push(Value::Int(v));
    }
    Ok(Value::list(out))
}

/// sprig's `untilStep`: from `start` towards `stop` (exclusive) by `step`;
/// empty when the step does not lead there.
pub(super) fn step_range(start: i64, stop: i64, step: i64) -> impl Iterator<Item = i64> {
    let valid = (stop < start && step < 0) || (stop >= start && step > 0);
    let mut next = valid.then_some(start);
    std::iter::from_fn(move || {
        let cur = next?;
        let within = if stop < start { cur > stop } else { cur < stop };
        if !within {
            return None;
        }
        next = cur.checked_add(step);
        Some(cur)
    })
}

/// `until N`: 0 up to (or down to) N, exclusive.
pub(super) fn until(args: &[Value]) -> Result<Value, String> {
    arity("until", args, 1)?;
    let count = int(&args[0])?;
    int_list(step_range(0, count, if count < 0 { -1 } else { 1 }))
}

/// `untilStep START STOP STEP`.
pub(super) fn until_step(args: &[Value]) -> Result<Value, String> {
    arity("untilStep", args, 3)?;
    let (start, stop, step) = (int(&args[0])?, int(&args[1])?, int(&args[2])?);
    int_list(step_range(start, stop, step))
}

/// `seq [START [STEP]] END`: the numbers, space separated, like GNU seq.
pub(super) fn seq(args: &[Value]) -> Result<Value, String> {
    let p = super::args::ints(args)?;
    let toward = |start: i64, end: i64| if end < start { -1 } else { 1 };
    let (start, end, step) = match p[..] {
        [end] => (1, end, toward(1, end)),
        [start, end] => (start, end, toward(start, end)),
        [start, step, end] => {
            if end < start && step > 0 {
                return Ok(Value::from(""));
            }
            (start, end, step)
        }
        _ => return Ok(Value::from("")),
    };
    let stop = end.wrapping_add(toward(start, end));
    let mut out = String::new();
    for n in step_range(start, stop, step) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&n.to_string());
        check_size(out.len())?;
    }
    Ok(Value::from(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sprig::args::{NIL_DEREF, strval};

    fn ints(v: &[i64]) -> Value {
        Value::list(v.iter().map(|&i| Value::Int(i)).collect())
    }

    fn show(r: Result<Value, String>) -> String {
        match r {
            Ok(v) => strval(&v),
            Err(e) => format!("ERR {e}"),
        }
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn edges_match_go() {
        assert_eq!(show(first(&[Value::Nil])), format!("ERR {NIL_DEREF}"));
        assert_eq!(
            show(first(&[Value::from("abc")])),
            "ERR Cannot find first on type string"
        );
        assert_eq!(show(rest(&[ints(&[])])), "[]");
        assert_eq!(show(has(&[Value::Int(1), Value::Nil])), "false");
        assert_eq!(
            show(has(&[Value::Int(1), Value::list(vec![Value::Float(1.0)])])),
            "false"
        );
        assert_eq!(show(slice(&[ints(&[1, 2, 3]), Value::Int(1)])), "[2 3]");
        assert_eq!(
            show(slice(&[
                ints(&[1, 2, 3]),
                Value::from("1"),
                Value::Float(2.5)
            ])),
            "[2]"
        );
        assert_eq!(
            show(slice(&[ints(&[1, 2, 3]), Value::Int(2), Value::Int(1)])),
            "ERR reflect.Value.Slice: slice index out of bounds"
        );
        assert_eq!(
            show(chunk(&[Value::Int(2), ints(&[1, 2, 3, 4, 5])])),
            "[[1 2] [3 4] [5]]"
        );
        assert_eq!(show(chunk(&[Value::Int(2), ints(&[])])), "[]");
        assert_eq!(show(chunk(&[Value::Int(-5), ints(&[1, 2, 3])])), "[]");
        assert_eq!(
            show(chunk(&[Value::Int(0), ints(&[1, 2])])),
            "ERR runtime error: makeslice: len out of range"
        );
        assert_eq!(
            show(chunk(&[Value::Int(-1), ints(&[1])])),
            "ERR runtime error: makeslice: len out of range"
        );
        assert_eq!(
            show(concat(&[Value::from("x")])),
            "ERR Cannot concat type string as list"
        );
        let mixed = Value::list(vec![
            Value::Int(1),
            Value::Int(1),
            Value::from("1"),
            Value::Int(2),
        ]);
        assert_eq!(show(uniq(&[mixed])), "[1 1 2]");
        assert_eq!(
            show(without(&[
                ints(&[1, 2, 3, 1]),
                Value::Int(1),
                Value::Int(3)
            ])),
            "[2]"
        );
        assert_eq!(
            show(append(&[Value::Nil, Value::Int(1)])),
            format!("ERR {NIL_DEREF}")
        );
    }

    #[test]
    fn ranges_match_go() {
        assert_eq!(show(until(&[Value::Int(3)])), "[0 1 2]");
        assert_eq!(show(until(&[Value::Int(-3)])), "[0 -1 -2]");
        assert_eq!(
            show(until_step(&[Value::Int(0), Value::Int(10), Value::Int(3)])),
            "[0 3 6 9]"
        );
        assert_eq!(show(seq(&[Value::Int(1), Value::Int(4)])), "1 2 3 4");
        assert_eq!(show(seq(&[Value::Int(-3)])), "1 0 -1 -2 -3");
        assert_eq!(
            show(seq(&[Value::Int(10), Value::Int(-3), Value::Int(1)])),
            "10 7 4 1"
        );
        assert_eq!(
            show(seq(&[Value::Int(1), Value::Int(3), Value::Int(10)])),
            "1 4 7 10"
        );
        assert_eq!(
            show(until(&[Value::Int(10_000_000)])),
            format!("ERR {}", crate::sprig::args::too_big())
        );
    }
}

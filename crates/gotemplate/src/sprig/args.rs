//! Argument checks and Go-style conversions shared by every sprig function.
//!
//! Go's `text/template` checks each argument against the function's declared
//! parameter type before the call; the helpers here reproduce those checks
//! (and their messages) plus the loose conversions sprig applies to
//! `interface{}` parameters (spf13/cast and `strval`).

use std::fmt::Write as _;

use crate::value::{Entries, MapRef, Value};

/// The most bytes (or list items) one sprig call may produce, so that a
/// template cannot exhaust the operator's memory.
pub(super) const MAX_OUTPUT: usize = 1 << 20;

/// How deep the recursive functions (`deepCopy`, `deepEqual`, `merge`)
/// follow nested lists and maps: a map can contain itself, and the stack
/// must not overflow.
pub(super) const MAX_DEPTH: usize = 256;

/// Fails unless exactly `want` arguments were given (a fixed-arity Go func).
pub(super) fn arity(name: &str, args: &[Value], want: usize) -> Result<(), String> {
    if args.len() == want {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        ))
    }
}

/// Fails unless at least `want` arguments were given (a variadic Go func).
pub(super) fn arity_min(name: &str, args: &[Value], want: usize) -> Result<(), String> {
    if args.len() >= want {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want at least {want} got {}",
            args.len()
        ))
    }
}

/// The message Go gives when an argument does not fit a typed parameter.
pub(super) fn wrong_type(expected: &str, v: &Value) -> String {
    match v {
        Value::Missing | Value::Nil => format!("invalid value; expected {expected}"),
        _ => format!(
            "wrong type for value; expected {expected}; got {}",
            v.type_name()
        ),
    }
}

/// A Go `string` parameter.
pub(super) fn string(v: &Value) -> Result<&str, String> {
    v.as_str().ok_or_else(|| wrong_type("string", v))
}

/// A Go `int` parameter: template integers only, never data floats.
pub(super) fn int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        _ => Err(wrong_type("int", v)),
    }
}

/// A Go `bool` parameter.
pub(super) fn boolean(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        _ => Err(wrong_type("bool", v)),
    }
}

/// A Go `float64` parameter: Go converts untyped integer constants, so
/// template integers are accepted too.
pub(super) fn float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        _ => Err(wrong_type("float64", v)),
    }
}

/// A Go `map[string]interface{}` parameter; `None` is Go's nil map, which
/// is what a missing value becomes.
pub(super) fn map(v: &Value) -> Result<Option<&MapRef>, String> {
    match v {
        Value::Map(m) => Ok(Some(m)),
        Value::Missing | Value::Nil => Ok(None),
        _ => Err(wrong_type("map[string]interface {}", v)),
    }
}

/// A Go `time.Time` parameter.
pub(super) fn time(v: &Value) -> Result<&jiff::Zoned, String> {
    match v {
        Value::Time(t) => Ok(t),
        _ => Err(wrong_type("time.Time", v)),
    }
}

/// Every argument as a Go `string` (a `...string` parameter).
pub(super) fn strings(args: &[Value]) -> Result<Vec<&str>, String> {
    args.iter().map(string).collect()
}

/// Every argument as a Go `int` (a `...int` parameter).
pub(super) fn ints(args: &[Value]) -> Result<Vec<i64>, String> {
    args.iter().map(int).collect()
}

/// Every argument as a nil-able map (a `...map[string]interface{}` parameter).
pub(super) fn maps(args: &[Value]) -> Result<Vec<Option<&MapRef>>, String> {
    args.iter().map(map).collect()
}

/// Reads a shared map, failing instead of panicking if it is being changed.
pub(super) fn read(m: &MapRef) -> Result<std::cell::Ref<'_, Entries>, String> {
    m.try_borrow()
        .map_err(|_| "concurrent map read and map write".to_string())
}

/// Changes a shared map, failing instead of panicking if it is being read.
pub(super) fn write(m: &MapRef) -> Result<std::cell::RefMut<'_, Entries>, String> {
    m.try_borrow_mut()
        .map_err(|_| "concurrent map writes".to_string())
}

/// sprig's `strval`: strings as they are, anything else as Go's `%v`.
pub(super) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => {
            let mut out = String::new();
            crate::fmt::write_value(&mut out, other);
            out
        }
    }
}

/// The message of Go's runtime panic on a nil `reflect.Type`, which is what
/// sprig's list functions hit when given nil.
pub(super) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";

/// The items of a list argument for sprig's reflection-based list functions:
/// nil panics as in Go, other non-lists fail with `not_list(kind)`.
pub(super) fn list_items(
    v: &Value,
    not_list: impl FnOnce(&str) -> String,
) -> Result<&[Value], String> {
    match v {
        Value::List(l) => Ok(l),
        Value::Missing | Value::Nil => Err(NIL_DEREF.to_string()),
        other => Err(not_list(other.kind_name())),
    }
}

/// Go's conversion of a `float64` to `int64` on amd64: truncation, with
/// NaN and out-of-range values becoming the minimum int64.
pub(super) fn float_to_int(f: f64) -> i64 {
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// spf13/cast's `ToInt64` (and `ToInt`): numbers truncate, strings parse
/// as Go integer literals (after dropping a zero fraction), bools are 0/1,
/// and anything else is 0.
pub(super) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => float_to_int(*f),
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_int_literal(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// spf13/cast's `ToFloat64`: numbers as they are, strings parsed by
/// `strconv.ParseFloat`, bools 0/1, anything else 0.
pub(super) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// spf13/cast's `trimZeroDecimal`: "12.00" becomes "12".
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, b) in s.bytes().enumerate().rev() {
        match b {
            b'.' if found_zero => return &s[..i],
            b'.' => return s,
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, then a decimal,
/// `0x`, `0o`, `0b` or leading-`0` octal literal, with `_` separators
/// between digits.
pub(super) fn parse_int_literal(s: &str) -> Option<i64> {
    let (neg, body) = split_sign(s);
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.contains('_') && !underscores_ok(body) {
        return None;
    }
    let digits = digits.replace('_', "");
    if digits.is_empty() || digits.starts_with('+') {
        return None;
    }
    signed(neg, u64::from_str_radix(&digits, radix).ok()?)
}

/// Go's `strconv.ParseInt(s, radix, 64)` for an explicit radix.
pub(super) fn parse_int_radix(s: &str, radix: u32) -> Option<i64> {
    let (neg, digits) = split_sign(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    signed(neg, u64::from_str_radix(digits, radix).ok()?)
}

/// A magnitude with a sign, if it fits an int64.
fn signed(neg: bool, magnitude: u64) -> Option<i64> {
    if neg {
        (magnitude <= 1 << 63).then(|| (magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Splits an optional leading sign off a number.
fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// Go's rule for `_` in number literals: each one must sit between two
/// digits, or between a base prefix and a digit.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let hex_prefix = b.len() >= 2 && b[0] == b'0' && b[1].eq_ignore_ascii_case(&b'x');
    let prefixed =
        b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x');
    // What came last: a digit (or prefix), an underscore, or something else.
    #[derive(PartialEq)]
    enum Saw {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let mut saw = if prefixed { Saw::Digit } else { Saw::Start };
    for &c in &b[if prefixed { 2 } else { 0 }..] {
        saw = if c.is_ascii_digit() || (hex_prefix && c.is_ascii_hexdigit()) {
            Saw::Digit
        } else if c == b'_' {
            if saw != Saw::Digit {
                return false;
            }
            Saw::Underscore
        } else if saw == Saw::Underscore {
            return false;
        } else {
            Saw::Other
        };
    }
    saw != Saw::Underscore
}

/// Go's `strconv.Atoi`: a decimal integer with an optional sign; values out
/// of range saturate (sprig ignores the error but keeps the value).
pub(super) fn atoi(s: &str) -> i64 {
    let (neg, digits) = split_sign(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let mut acc: i128 = 0;
    for b in digits.bytes() {
        acc = (acc * 10 + i128::from(b - b'0')).min(1 << 64);
    }
    let signed = if neg { -acc } else { acc };
    signed.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal syntax: an optional
/// sign, digits with `_` separators, fraction and exponent, or
/// `inf`/`infinity`/`nan` (hexadecimal floats are not supported).
pub(super) fn parse_float(s: &str) -> Option<f64> {
    let (_, body) = split_sign(s);
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "nan" if body.len() == s.len() => return Some(f64::NAN),
        "inf" | "infinity" => return s.to_ascii_lowercase().parse().ok(),
        _ => {}
    }
    let numeric =
        |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_');
    if !body.bytes().all(numeric) || (s.contains('_') && !underscores_ok(s)) {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

/// Go's `strings.Repeat` with the memory cap: negative counts are Go's
/// panic, oversized results an error.
pub(super) fn repeat(s: &str, count: i64) -> Result<String, String> {
    if count < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let total = usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(s.len()))
        .filter(|&n| n <= MAX_OUTPUT);
    match total {
        Some(_) => Ok(s.repeat(count as usize)),
        None => Err(too_big()),
    }
}

/// Fails once `len` exceeds the output cap.
pub(super) fn check_size(len: usize) -> Result<(), String> {
    if len > MAX_OUTPUT {
        Err(too_big())
    } else {
        Ok(())
    }
}

/// The error for a result over the cap.
pub(super) fn too_big() -> String {
    format!("result exceeds the {MAX_OUTPUT}-byte limit for template functions")
}

/// Builds a string from bytes the way Go would keep them; bytes that are
/// not UTF-8 (Go strings may hold any bytes) become U+FFFD.
pub(super) fn from_bytes(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Go's `s[lo:hi]` on a string's bytes, with Go's panic messages for
/// indices out of range; `None` means the omitted bound.
pub(super) fn slice_str(s: &str, lo: Option<i64>, hi: Option<i64>) -> Result<String, String> {
    let len = s.len() as i64;
    let (l, h) = (lo.unwrap_or(0), hi.unwrap_or(len));
    let mut msg = String::from("runtime error: slice bounds out of range ");
    if hi.is_some() && !(0..=len).contains(&h) {
        if h < 0 {
            let _ = write!(msg, "[:{h}]");
        } else {
            let _ = write!(msg, "[:{h}] with length {len}");
        }
        return Err(msg);
    }
    if l < 0 || l > h {
        let _ = write!(msg, "[{l}:{h}]");
        return Err(msg);
    }
    Ok(from_bytes(s.as_bytes()[l as usize..h as usize].to_vec()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn int_literals_follow_go_parse_int_base_zero() {
        assert_eq!(parse_int_literal("010"), Some(8));
        assert_eq!(parse_int_literal("0x1F"), Some(31));
        assert_eq!(parse_int_literal("-0b101"), Some(-5));
        assert_eq!(parse_int_literal("1_000"), Some(1000));
        assert_eq!(parse_int_literal("0x_1F"), Some(31));
        assert_eq!(parse_int_literal("0_7"), Some(7));
        assert_eq!(parse_int_literal("07_"), None);
        assert_eq!(parse_int_literal("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int_literal("9223372036854775808"), None);
        assert_eq!(parse_int_literal(""), None);
    }

    #[test]
    fn cast_conversions() {
        assert_eq!(to_int64(&Value::str("12.0")), 12);
        assert_eq!(to_int64(&Value::str("x")), 0);
        assert_eq!(to_int64(&Value::Float(-7.9)), -7);
        assert_eq!(to_float64(&Value::str("1.5")), 1.5);
        assert_eq!(to_float64(&Value::str("1_000.5")), 1000.5);
        assert_eq!(to_float64(&Value::str("-nan")), 0.0);
        assert_eq!(to_float64(&Value::str(".5")), 0.5);
        assert_eq!(atoi("99999999999999999999"), i64::MAX);
        assert_eq!(atoi("4x"), 0);
    }

    #[test]
    fn go_slice_messages() {
        assert_eq!(slice_str("hello", Some(1), Some(3)).as_deref(), Ok("el"));
        assert_eq!(
            slice_str("hello", None, Some(7)).unwrap_err(),
            "runtime error: slice bounds out of range [:7] with length 5"
        );
        assert_eq!(
            slice_str("hello", Some(7), None).unwrap_err(),
            "runtime error: slice bounds out of range [7:5]"
        );
    }
}

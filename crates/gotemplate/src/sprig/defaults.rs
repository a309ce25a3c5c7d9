//! sprig's defaults, JSON, flow-control and OS functions. The OS and
//! network functions are neutered: templates never see the operator's
//! environment and cannot reach the network.

use super::args::{arity, arity_min, boolean, string};
use super::reflect::is_empty;
use crate::value::Value;

/// `default DEFAULT [VALUE]`: VALUE unless it is empty.
pub(super) fn default(args: &[Value]) -> Result<Value, String> {
    arity_min("default", args, 1)?;
    Ok(match args.get(1) {
        Some(given) if !is_empty(given) => given.clone(),
        _ => args[0].clone(),
    })
}

/// `empty VALUE`: whether VALUE is Go's zero value.
pub(super) fn empty(args: &[Value]) -> Result<Value, String> {
    arity("empty", args, 1)?;
    Ok(Value::Bool(is_empty(&args[0])))
}

/// `coalesce VALUES...`: the first non-empty value, or nil.
pub(super) fn coalesce(args: &[Value]) -> Result<Value, String> {
    Ok(args
        .iter()
        .find(|v| !is_empty(v))
        .cloned()
        .unwrap_or(Value::Nil))
}

/// `all VALUES...`: whether no value is empty.
pub(super) fn all(args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(args.iter().all(|v| !is_empty(v))))
}

/// `any VALUES...`: whether some value is not empty.
pub(super) fn any(args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(args.iter().any(|v| !is_empty(v))))
}

/// `ternary IF_TRUE IF_FALSE CONDITION`.
pub(super) fn ternary(args: &[Value]) -> Result<Value, String> {
    arity("ternary", args, 3)?;
    Ok(if boolean(&args[2])? {
        args[0].clone()
    } else {
        args[1].clone()
    })
}

/// `fail MESSAGE`: stops the template with MESSAGE.
pub(super) fn fail(args: &[Value]) -> Result<Value, String> {
    arity("fail", args, 1)?;
    Err(string(&args[0])?.to_string())
}

/// `env NAME`: always "", so templates cannot read the operator's environment.
pub(super) fn env(args: &[Value]) -> Result<Value, String> {
    arity("env", args, 1)?;
    string(&args[0])?;
    Ok(Value::from(""))
}

/// `expandenv STR`: Go's `os.ExpandEnv` against an empty environment, so
/// `$NAME` and `${NAME}` become "" and the rest is kept.
pub(super) fn expandenv(args: &[Value]) -> Result<Value, String> {
    arity("expandenv", args, 1)?;
    Ok(Value::from(expand_empty(string(&args[0])?)))
}

/// Go's `os.Expand` with every variable unset.
fn expand_empty(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            let (named, width) = shell_name(&b[i + 1..]);
            if !named && width == 0 {
                // `$` not followed by a name stays.
                out.push(b'$');
            }
            i += 1 + width;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Go's `getShellName`: whether a variable name follows a `$`, and how many
/// bytes the reference (or the bad syntax Go swallows) takes.
fn shell_name(s: &[u8]) -> (bool, usize) {
    let special = |c: u8| {
        matches!(
            c,
            b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9'
        )
    };
    match s {
        [b'{', c, b'}', ..] if special(*c) => (true, 3),
        [b'{', rest @ ..] => match rest.iter().position(|&c| c == b'}') {
            Some(0) => (false, 2),
            Some(end) => (true, end + 2),
            None => (false, 1),
        },
        [c, ..] if special(*c) => (true, 1),
        _ => {
            let len = s
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            (len > 0, len)
        }
    }
}

/// `getHostByName NAME`: refused, as templates must not reach the network.
pub(super) fn get_host_by_name(_args: &[Value]) -> Result<Value, String> {
    Err("getHostByName is not available".into())
}

/// `fromJson STR`: the decoded value, or nil when STR is not JSON.
pub(super) fn from_json(args: &[Value]) -> Result<Value, String> {
    arity("fromJson", args, 1)?;
    Ok(crate::json::decode(string(&args[0])?).unwrap_or(Value::Nil))
}

/// `mustFromJson STR`: the decoded value, or the decoding error.
pub(super) fn must_from_json(args: &[Value]) -> Result<Value, String> {
    arity("mustFromJson", args, 1)?;
    crate::json::decode(string(&args[0])?)
}

/// `toJson VALUE`: compact JSON, "" on failure.
pub(super) fn to_json(args: &[Value]) -> Result<Value, String> {
    arity("toJson", args, 1)?;
    Ok(Value::from(
        crate::json::encode(&args[0], true).unwrap_or_default(),
    ))
}

/// `mustToJson VALUE`.
pub(super) fn must_to_json(args: &[Value]) -> Result<Value, String> {
    arity("mustToJson", args, 1)?;
    crate::json::encode(&args[0], true).map(Value::from)
}

/// `toPrettyJson VALUE`: JSON indented by two spaces, "" on failure.
pub(super) fn to_pretty_json(args: &[Value]) -> Result<Value, String> {
    arity("toPrettyJson", args, 1)?;
    Ok(Value::from(
        crate::json::encode_indent(&args[0], "", "  ", true).unwrap_or_default(),
    ))
}

/// `mustToPrettyJson VALUE`.
pub(super) fn must_to_pretty_json(args: &[Value]) -> Result<Value, String> {
    arity("mustToPrettyJson", args, 1)?;
    crate::json::encode_indent(&args[0], "", "  ", true).map(Value::from)
}

/// `toRawJson VALUE`: compact JSON without HTML escaping, "" on failure.
pub(super) fn to_raw_json(args: &[Value]) -> Result<Value, String> {
    arity("toRawJson", args, 1)?;
    Ok(Value::from(
        crate::json::encode(&args[0], false).unwrap_or_default(),
    ))
}

/// `mustToRawJson VALUE`.
pub(super) fn must_to_raw_json(args: &[Value]) -> Result<Value, String> {
    arity("mustToRawJson", args, 1)?;
    crate::json::encode(&args[0], false).map(Value::from)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn expandenv_sees_an_empty_environment() {
        assert_eq!(expand_empty("plain"), "plain");
        assert_eq!(
            expand_empty("a$HOME-${PATH}-$$-${}-${-$1x-$-$"),
            "a-----x-$"
        );
        assert_eq!(expand_empty("${HOME}x$"), "x$");
    }

    #[test]
    fn defaults_follow_emptiness() {
        let d = |args: &[Value]| default(args).map(|v| v.as_str().map(str::to_string));
        assert_eq!(d(&[Value::from("x")]), Ok(Some("x".into())));
        assert_eq!(d(&[Value::from("x"), Value::Int(0)]), Ok(Some("x".into())));
        assert_eq!(
            d(&[Value::from("x"), Value::from("y")]),
            Ok(Some("y".into()))
        );
        assert_eq!(
            ternary(&[Value::Int(1), Value::Int(2), Value::Nil]).unwrap_err(),
            "invalid value; expected bool"
        );
        assert!(get_host_by_name(&[Value::from("localhost")]).is_err());
    }
}

//! Go's reflection as sprig uses it: zero-value tests, `reflect.DeepEqual`,
//! deep copies, and the `typeOf`/`kindOf` family.

use super::args::{MAX_DEPTH, arity, read, string};
use crate::value::Value;

/// sprig's `empty`: Go's zero value test (nil, false, 0, "", and empty
/// lists and maps; a time is never empty).
pub(super) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Missing | Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.try_borrow().map(|m| m.is_empty()).unwrap_or(false),
        Value::Time(_) | Value::Cert(_) => false,
    }
}

/// Go's `reflect.DeepEqual` on two interface values: equal dynamic types
/// and deeply equal contents (NaN is never equal to itself).
pub(super) fn deep_equal(a: &Value, b: &Value) -> bool {
    equal_within(a, b, MAX_DEPTH)
}

/// `deep_equal`, giving up (unequal) below `depth` levels.
fn equal_within(a: &Value, b: &Value, depth: usize) -> bool {
    let Some(depth) = depth.checked_sub(1) else {
        return false;
    };
    let deep_equal = |p: &Value, q: &Value| equal_within(p, q, depth);
    match (a, b) {
        (Value::Missing | Value::Nil, Value::Missing | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            if std::rc::Rc::ptr_eq(x, y) {
                return true;
            }
            let (Ok(x), Ok(y)) = (x.try_borrow(), y.try_borrow()) else {
                return false;
            };
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Time(x), Value::Time(y)) => {
            x.timestamp() == y.timestamp() && x.time_zone() == y.time_zone()
        }
        (Value::Cert(x), Value::Cert(y)) => x == y,
        _ => false,
    }
}

/// A copy sharing nothing mutable with `v`.
pub(super) fn deep_copy(v: &Value) -> Result<Value, String> {
    copy_within(v, MAX_DEPTH)
}

/// `deep_copy`, failing below `depth` levels.
fn copy_within(v: &Value, depth: usize) -> Result<Value, String> {
    let depth = depth
        .checked_sub(1)
        .ok_or("deepCopy: value nested too deeply")?;
    Ok(match v {
        Value::List(items) => Value::list(
            items
                .iter()
                .map(|i| copy_within(i, depth))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => Value::map(
            read(m)?
                .iter()
                .map(|(k, v)| Ok((k.clone(), copy_within(v, depth)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// `deepCopy VALUE` (also `mustDeepCopy`); nil is an error, as in Go.
pub(super) fn deep_copy_fn(args: &[Value]) -> Result<Value, String> {
    arity("deepCopy", args, 1)?;
    if matches!(args[0], Value::Nil | Value::Missing) {
        return Err("reflect: call of reflect.Value.Type on zero Value".into());
    }
    deep_copy(&args[0])
}

/// `typeOf VALUE`: Go's `%T`.
pub(super) fn type_of(args: &[Value]) -> Result<Value, String> {
    arity("typeOf", args, 1)?;
    Ok(Value::from(args[0].type_name()))
}

/// `typeIs TYPE VALUE`.
pub(super) fn type_is(args: &[Value]) -> Result<Value, String> {
    arity("typeIs", args, 2)?;
    Ok(Value::Bool(string(&args[0])? == args[1].type_name()))
}

/// `typeIsLike TYPE VALUE`: the type, or a pointer to it.
pub(super) fn type_is_like(args: &[Value]) -> Result<Value, String> {
    arity("typeIsLike", args, 2)?;
    let (target, actual) = (string(&args[0])?, args[1].type_name());
    Ok(Value::Bool(
        target == actual || actual.strip_prefix('*') == Some(target),
    ))
}

/// `kindOf VALUE`: the `reflect.Kind` name.
pub(super) fn kind_of(args: &[Value]) -> Result<Value, String> {
    arity("kindOf", args, 1)?;
    Ok(Value::from(args[0].kind_name()))
}

/// `kindIs KIND VALUE`.
pub(super) fn kind_is(args: &[Value]) -> Result<Value, String> {
    arity("kindIs", args, 2)?;
    Ok(Value::Bool(string(&args[0])? == args[1].kind_name()))
}

/// `deepEqual A B`.
pub(super) fn deep_equal_fn(args: &[Value]) -> Result<Value, String> {
    arity("deepEqual", args, 2)?;
    Ok(Value::Bool(deep_equal(&args[0], &args[1])))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn reflection_matches_go() {
        let map = |k: &str, v: Value| Value::map([(k.to_string(), v)].into_iter().collect());
        let nested = || Value::list(vec![Value::Int(1), map("a", Value::Int(1))]);
        assert!(deep_equal(&nested(), &nested()));
        assert!(!deep_equal(&Value::Int(1), &Value::Float(1.0)));
        assert!(deep_equal(&Value::Nil, &Value::Nil));
        assert_eq!(
            deep_copy_fn(&[Value::Nil]).unwrap_err(),
            "reflect: call of reflect.Value.Type on zero Value"
        );
        let like = type_is_like(&[Value::from("float64"), Value::Float(7.0)]);
        assert!(matches!(like, Ok(Value::Bool(true))));
        let kind = kind_is(&[Value::from("invalid"), Value::Nil]);
        assert!(matches!(kind, Ok(Value::Bool(true))));
    }

    #[test]
    fn cycles_end_in_an_error_not_a_crash() {
        let m = Value::map(Default::default());
        if let Value::Map(inner) = &m {
            inner.borrow_mut().insert("self".into(), m.clone());
        }
        assert_eq!(
            deep_copy(&m).unwrap_err(),
            "deepCopy: value nested too deeply"
        );
        assert!(deep_equal(&m, &m));
        let other = deep_copy(&Value::map(Default::default())).unwrap();
        assert!(!deep_equal(&m, &other));
    }

    #[test]
    fn deep_copy_shares_nothing() {
        let inner = Value::map(Default::default());
        let outer = Value::list(vec![inner.clone()]);
        let copy = deep_copy(&outer).unwrap_or_default();
        if let (Value::Map(m), Value::List(l)) = (&inner, &copy) {
            m.borrow_mut().insert("k".into(), Value::Int(1));
            assert!(matches!(&l[0], Value::Map(c) if c.borrow().is_empty()));
        } else {
            panic!("unexpected shapes");
        }
    }
}

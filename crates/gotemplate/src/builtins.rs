//! Go's predefined template functions (`not`, `len`, `index`, `eq`, ...).
//! `and` and `or` are evaluated lazily by the executor.

use std::cmp::Ordering;
use std::fmt::Write;

use crate::fmt::{sprint, sprintf, sprintln};
use crate::funcs::Func;
use crate::value::Value;

/// Every builtin, by template name.
pub(crate) const FUNCS: &[(&str, Func)] = &[
    ("call", call),
    ("eq", eq),
    ("ge", ge),
    ("gt", gt),
    ("html", html),
    ("index", index),
    ("js", js),
    ("le", le),
    ("len", len),
    ("lt", lt),
    ("ne", ne),
    ("not", not),
    ("print", print),
    ("printf", printf),
    ("println", println),
    ("slice", slice),
    ("urlquery", urlquery),
];

/// Checks a fixed argument count, with Go's message.
pub(crate) fn arity(name: &str, args: &[Value], want: usize) -> Result<(), String> {
    if args.len() != want {
        return Err(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        ));
    }
    Ok(())
}

fn call(_args: &[Value]) -> Result<Value, String> {
    Err("call of a non-function: template data holds no functions".into())
}

fn not(args: &[Value]) -> Result<Value, String> {
    arity("not", args, 1)?;
    Ok(Value::Bool(!args[0].is_true()))
}

fn len(args: &[Value]) -> Result<Value, String> {
    arity("len", args, 1)?;
    let n = match &args[0] {
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.try_borrow().map_err(|_| "map is being modified")?.len(),
        Value::Missing | Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// An integer index as Go's `index` and `slice` accept it.
fn int_index(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Missing | Value::Nil => Err("cannot index slice/array with nil".into()),
        other => Err(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        )),
    }
}

fn bounded(i: i64, len: usize) -> Result<usize, String> {
    usize::try_from(i)
        .ok()
        .filter(|i| *i < len)
        .ok_or_else(|| format!("index out of range: {i}"))
}

fn index(args: &[Value]) -> Result<Value, String> {
    let Some((item, indexes)) = args.split_first() else {
        return Err("wrong number of args for index: want at least 1 got 0".into());
    };
    if let Value::Missing | Value::Nil = item {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for i in indexes {
        item = match &item {
            Value::List(l) => l[bounded(int_index(i)?, l.len())?].clone(),
            Value::String(s) => {
                Value::Int(i64::from(s.as_bytes()[bounded(int_index(i)?, s.len())?]))
            }
            Value::Map(m) => {
                let Value::String(key) = i else {
                    return Err(format!(
                        "value has type {}; should be string",
                        i.type_name()
                    ));
                };
                let m = m.try_borrow().map_err(|_| "map is being modified")?;
                m.get(&**key).cloned().unwrap_or(Value::Missing)
            }
            Value::Missing | Value::Nil => return Err("index of untyped nil".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(args: &[Value]) -> Result<Value, String> {
    let Some((item, indexes)) = args.split_first() else {
        return Err("wrong number of args for slice: want at least 1 got 0".into());
    };
    let len = match item {
        Value::List(l) => l.len(),
        Value::String(s) => s.len(),
        Value::Missing | Value::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    if indexes.len() > 3 || (indexes.len() == 3 && matches!(item, Value::String(_))) {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let mut bounds = [0, len, len];
    for (slot, i) in indexes.iter().enumerate() {
        let i = int_index(i)?;
        bounds[slot] = usize::try_from(i)
            .ok()
            .filter(|i| *i <= len)
            .ok_or_else(|| format!("index out of range: {i}"))?;
    }
    let [start, end, _] = bounds;
    if start > end {
        return Err(format!("invalid slice index: {start} > {end}"));
    }
    Ok(match item {
        Value::String(s) => Value::str(s.get(start..end).ok_or("slice splits a character")?),
        Value::List(l) => Value::list(l[start..end].to_vec()),
        _ => Value::Nil,
    })
}

fn print(args: &[Value]) -> Result<Value, String> {
    Ok(Value::from(sprint(args)))
}

fn println(args: &[Value]) -> Result<Value, String> {
    Ok(Value::from(sprintln(args)))
}

fn printf(args: &[Value]) -> Result<Value, String> {
    let Some((Value::String(format), rest)) = args.split_first() else {
        return Err("printf needs a format string".into());
    };
    Ok(Value::from(sprintf(format, rest)))
}

/// The text `html`, `js` and `urlquery` escape: one string as is, anything
/// else as `print` would show it, with nil shown as the string `<no value>`.
fn escaping_input(args: &[Value]) -> String {
    match args {
        [Value::String(s)] => s.to_string(),
        _ => {
            let shown: Vec<Value> = args
                .iter()
                .map(|a| match a {
                    Value::Missing | Value::Nil => Value::str("<no value>"),
                    a => a.clone(),
                })
                .collect();
            sprint(&shown)
        }
    }
}

fn html(args: &[Value]) -> Result<Value, String> {
    let text = escaping_input(args);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Ok(Value::from(out))
}

/// Go's `unicode.IsPrint`, closely enough for escaping: graphic characters
/// and the ASCII space.
fn is_printable(c: char) -> bool {
    c == ' '
        || !(c.is_control()
            || c.is_whitespace()
            || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'))
}

fn js(args: &[Value]) -> Result<Value, String> {
    let text = escaping_input(args);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c < ' ' || (!c.is_ascii() && !is_printable(c)) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Ok(Value::from(out))
}

fn urlquery(args: &[Value]) -> Result<Value, String> {
    let text = escaping_input(args);
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    Ok(Value::from(out))
}

/// The comparison classes of Go's `eq` and `lt`.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Missing | Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

const INCOMPATIBLE: &str = "incompatible types for comparison";

fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        if ka != Kind::Invalid && kb != Kind::Invalid {
            return Err(INCOMPATIBLE.into());
        }
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::Cert(x), Value::Cert(y)) => x == y,
        (Value::List(_) | Value::Map(_), _) | (_, Value::List(_) | Value::Map(_)) => {
            return Err(format!("non-comparable type {}", a.type_name()));
        }
        // Values of different struct types are never equal.
        (Value::Time(_) | Value::Cert(_), _) => false,
        _ => true,
    })
}

fn eq(args: &[Value]) -> Result<Value, String> {
    let Some((first, rest)) = args.split_first() else {
        return Err("wrong number of args for eq: want at least 1 got 0".into());
    };
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    for other in rest {
        if equal(first, other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn ne(args: &[Value]) -> Result<Value, String> {
    arity("ne", args, 2)?;
    Ok(Value::Bool(!equal(&args[0], &args[1])?))
}

fn order(name: &str, args: &[Value]) -> Result<Ordering, String> {
    arity(name, args, 2)?;
    let (a, b) = (&args[0], &args[1]);
    let (ka, kb) = (kind(a), kind(b));
    if matches!(ka, Kind::Invalid | Kind::Bool | Kind::Other)
        || matches!(kb, Kind::Invalid | Kind::Bool | Kind::Other)
    {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err(INCOMPATIBLE.into());
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Greater),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => Ordering::Equal,
    })
}

fn lt(args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(order("lt", args)? == Ordering::Less))
}

fn le(args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(order("le", args)? != Ordering::Greater))
}

fn gt(args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(order("gt", args)? == Ordering::Greater))
}

fn ge(args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(order("ge", args)? != Ordering::Less))
}

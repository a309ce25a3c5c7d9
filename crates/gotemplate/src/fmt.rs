//! Go's `fmt` package, as far as templates reach it: `%v` printing of
//! values, `print`, `println` and `printf`.

use crate::value::Value;

/// Appends `v` as Go's `fmt.Print` would (the `%v` verb).
pub fn write_value(out: &mut String, v: &Value) {
    use std::fmt::Write;
    match v {
        Value::Missing => out.push_str("<no value>"),
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::String(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            if let Ok(m) = m.try_borrow() {
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    write_value(out, item);
                }
            }
            out.push(']');
        }
        Value::Time(t) => {
            let _ = write!(out, "{t}");
        }
    }
}

/// Go's `fmt.Sprint`: operands joined, with a space between two operands
/// when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::String(_)) && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        write_value(&mut out, a);
    }
    out
}

/// Go's `fmt.Sprintln`: operands always space-separated, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a);
    }
    out.push('\n');
    out
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    // Placeholder until the full verb set lands: %v for every verb.
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') => out.push('%'),
                Some(_) => {
                    if let Some(a) = args.next() {
                        write_value(&mut out, a)
                    }
                }
                None => out.push_str("%!(NOVERB)"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    format!("{s:?}")
}

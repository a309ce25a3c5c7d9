//! Go's `encoding/json` for template values, as sprig's `toJson`,
//! `toRawJson`, `toPrettyJson` and `fromJson` use it (Go 1.19 behaviour:
//! sorted map keys, Go's string escaping and float layout, Go's error
//! messages).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use crate::fmt::{format_float, time_rfc3339_nano};
use crate::value::Value;

/// Go's `json.Marshal` (compact). `escape_html` turns `<`, `>` and `&` into
/// `\u003c`, `\u003e` and `\u0026`, as `Marshal` does by default; sprig's
/// `toRawJson` switches it off.
pub fn encode(v: &Value, escape_html: bool) -> Result<String, String> {
    let mut e = Encoder::new(escape_html, None);
    e.value(v, 0)?;
    Ok(e.out)
}

/// Go's `json.MarshalIndent`: each element on its own line, starting with
/// `prefix` and one `indent` per level (the first line carries neither).
pub fn encode_indent(
    v: &Value,
    prefix: &str,
    indent: &str,
    escape_html: bool,
) -> Result<String, String> {
    let mut e = Encoder::new(escape_html, Some((prefix, indent)));
    e.value(v, 0)?;
    Ok(e.out)
}

/// Go's `json.Unmarshal` into an `interface{}`: numbers become `float64`,
/// objects maps, arrays lists, `null` nil. Errors read as Go's do, e.g.
/// `invalid character '}' after array element` or
/// `unexpected end of JSON input`. Nesting stops at 1000 levels (Go: 10000)
/// with Go's `exceeded max depth` error, so that values stay shallow enough
/// to print, encode and drop on a thread's stack.
pub fn decode(s: &str) -> Result<Value, String> {
    let mut scanner = Scanner::new();
    for &c in s.as_bytes() {
        scanner.step(c)?;
    }
    scanner.eof()?;
    Parser { s, pos: 0 }.parse()
}

// ---------------------------------------------------------------------------
// Encoding.

/// Go starts checking for cycles below this many nested containers; the
/// container at the next level names the cycle in its error.
const START_DETECTING_CYCLES_AFTER: usize = 1000;
/// Nesting limit for encoding (and decoding), well inside what a thread's
/// stack can take; Go's own limit for decoding is 10000.
const MAX_DEPTH: usize = 1000;

struct Encoder<'a> {
    out: String,
    escape_html: bool,
    indent: Option<(&'a str, &'a str)>,
    /// The containers being encoded, outermost first: address and Go type.
    path: Vec<(usize, &'static str)>,
}

impl<'a> Encoder<'a> {
    fn new(escape_html: bool, indent: Option<(&'a str, &'a str)>) -> Self {
        Encoder {
            out: String::new(),
            escape_html,
            indent,
            path: Vec::new(),
        }
    }

    fn newline(&mut self, depth: usize) {
        if let Some((prefix, indent)) = self.indent {
            self.out.push('\n');
            self.out.push_str(prefix);
            for _ in 0..depth {
                self.out.push_str(indent);
            }
        }
    }

    /// Enters a container. One already on the path is a cycle; Go notices
    /// it only past `START_DETECTING_CYCLES_AFTER` levels and names the type
    /// of the container at the level after that, which repeats with the
    /// cycle's period.
    fn enter(&mut self, ptr: usize, type_name: &'static str) -> Result<(), String> {
        if let Some(first) = self.path.iter().position(|&(p, _)| p == ptr) {
            let period = self.path.len() - first;
            let level = START_DETECTING_CYCLES_AFTER.saturating_sub(first) % period;
            let via = self.path.get(first + level).map_or(type_name, |&(_, t)| t);
            return Err(format!(
                "json: unsupported value: encountered a cycle via {via}"
            ));
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(format!(
                "json: unsupported value: nested deeper than {MAX_DEPTH} levels"
            ));
        }
        self.path.push((ptr, type_name));
        Ok(())
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), String> {
        match v {
            Value::Missing | Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Float(f) => self.out.push_str(&float(*f)?),
            Value::String(s) => self.string(s),
            Value::Time(t) => {
                if !(0..=9999).contains(&t.year()) {
                    return Err("json: error calling MarshalJSON for type time.Time: \
                                Time.MarshalJSON: year outside of range [0,9999]"
                        .to_string());
                }
                self.string(&time_rfc3339_nano(t));
            }
            // A struct encodes like a map of its fields, which are already
            // in sorted order.
            Value::Cert(c) => self.value(&fields_map(c), depth)?,
            Value::List(items) => {
                let ptr = Rc::as_ptr(items) as *const () as usize;
                self.enter(ptr, v.type_name())?;
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.value(item, depth + 1)?;
                }
                if !items.is_empty() {
                    self.newline(depth);
                }
                self.out.push(']');
                self.path.pop();
            }
            Value::Map(m) => {
                let ptr = Rc::as_ptr(m) as *const () as usize;
                self.enter(ptr, v.type_name())?;
                let entries = m
                    .try_borrow()
                    .map_err(|_| "json: unsupported value: map is being modified".to_string())?;
                self.out.push('{');
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.string(k);
                    self.out.push(':');
                    if self.indent.is_some() {
                        self.out.push(' ');
                    }
                    self.value(item, depth + 1)?;
                }
                if !entries.is_empty() {
                    self.newline(depth);
                }
                self.out.push('}');
                self.path.pop();
            }
        }
        Ok(())
    }

    /// Go's JSON string escaping.
    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '<' | '>' | '&' if self.escape_html => {
                    let _ = write!(self.out, "\\u{:04x}", u32::from(c));
                }
                '\u{2028}' | '\u{2029}' => {
                    let _ = write!(self.out, "\\u{:04x}", u32::from(c));
                }
                c if c < ' ' => {
                    let _ = write!(self.out, "\\u{:04x}", u32::from(c));
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// A `float64` as Go's encoder writes it: `%f`-like between 1e-6 and 1e21,
/// exponent form (`1e-7`, `1e+21`) outside.
fn float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', -1)
        ));
    }
    let abs = f.abs();
    let fmt = if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        'e'
    } else {
        'f'
    };
    let mut s = format_float(f, fmt, -1);
    if fmt == 'e' {
        // e-07 becomes e-7.
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b.get(n - 4..n - 1) == Some(b"e-0".as_slice()) {
            s.remove(n - 2);
        }
    }
    Ok(s)
}

// ---------------------------------------------------------------------------
// Decoding, first pass: Go's scanner, which finds the syntax errors and words
// them.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    BeginValueOrEmpty,
    BeginValue,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    /// In `\uXXXX`, with this many hex digits seen.
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    /// In the literal `word`, with `pos` bytes matched.
    Literal {
        word: &'static str,
        pos: usize,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

struct Scanner {
    step: Step,
    parse: Vec<Parse>,
    end_top: bool,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Go's `quoteChar`: a byte as it appears in a syntax error.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let q = crate::fmt::quote(&char::from(c).to_string());
            let inner = q
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or(&q);
            format!("'{inner}'")
        }
    }
}

fn syntax_error(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

impl Scanner {
    fn new() -> Self {
        Scanner {
            step: Step::BeginValue,
            parse: Vec::new(),
            end_top: false,
        }
    }

    fn step(&mut self, c: u8) -> Result<(), String> {
        match self.step {
            Step::BeginValueOrEmpty => {
                if is_space(c) {
                    Ok(())
                } else if c == b']' {
                    self.end_value(c)
                } else {
                    self.begin_value(c)
                }
            }
            Step::BeginValue => self.begin_value(c),
            Step::BeginStringOrEmpty => {
                if is_space(c) {
                    Ok(())
                } else if c == b'}' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectValue;
                    }
                    self.end_value(c)
                } else {
                    self.begin_string(c)
                }
            }
            Step::BeginString => self.begin_string(c),
            Step::EndValue => self.end_value(c),
            Step::EndTop => self.end_top(c),
            Step::InString => {
                match c {
                    b'"' => self.step = Step::EndValue,
                    b'\\' => self.step = Step::InStringEsc,
                    c if c < 0x20 => return Err(syntax_error(c, "in string literal")),
                    _ => {}
                }
                Ok(())
            }
            Step::InStringEsc => match c {
                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                    self.step = Step::InString;
                    Ok(())
                }
                b'u' => {
                    self.step = Step::InStringEscU(0);
                    Ok(())
                }
                _ => Err(syntax_error(c, "in string escape code")),
            },
            Step::InStringEscU(n) => {
                if !c.is_ascii_hexdigit() {
                    return Err(syntax_error(c, "in \\u hexadecimal character escape"));
                }
                self.step = if n >= 3 {
                    Step::InString
                } else {
                    Step::InStringEscU(n + 1)
                };
                Ok(())
            }
            Step::Neg => match c {
                b'0' => {
                    self.step = Step::Zero;
                    Ok(())
                }
                b'1'..=b'9' => {
                    self.step = Step::One;
                    Ok(())
                }
                _ => Err(syntax_error(c, "in numeric literal")),
            },
            Step::One => {
                if c.is_ascii_digit() {
                    Ok(())
                } else {
                    self.zero(c)
                }
            }
            Step::Zero => self.zero(c),
            Step::Dot => {
                if c.is_ascii_digit() {
                    self.step = Step::Dot0;
                    Ok(())
                } else {
                    Err(syntax_error(c, "after decimal point in numeric literal"))
                }
            }
            Step::Dot0 => {
                if c.is_ascii_digit() {
                    Ok(())
                } else if c == b'e' || c == b'E' {
                    self.step = Step::E;
                    Ok(())
                } else {
                    self.end_value(c)
                }
            }
            Step::E => {
                if c == b'+' || c == b'-' {
                    self.step = Step::ESign;
                    Ok(())
                } else {
                    self.e_sign(c)
                }
            }
            Step::ESign => self.e_sign(c),
            Step::E0 => {
                if c.is_ascii_digit() {
                    Ok(())
                } else {
                    self.end_value(c)
                }
            }
            Step::Literal { word, pos } => {
                let expected = word.as_bytes().get(pos).copied().unwrap_or(b' ');
                if c != expected {
                    return Err(syntax_error(
                        c,
                        &format!("in literal {word} (expecting {})", quote_char(expected)),
                    ));
                }
                self.step = if pos + 1 >= word.len() {
                    Step::EndValue
                } else {
                    Step::Literal { word, pos: pos + 1 }
                };
                Ok(())
            }
        }
    }

    fn eof(&mut self) -> Result<(), String> {
        if self.end_top {
            return Ok(());
        }
        self.step(b' ')?;
        if self.end_top {
            return Ok(());
        }
        Err("unexpected end of JSON input".to_string())
    }

    fn push_parse(&mut self, c: u8, p: Parse) -> Result<(), String> {
        self.parse.push(p);
        if self.parse.len() <= MAX_DEPTH {
            Ok(())
        } else {
            Err(syntax_error(c, "exceeded max depth"))
        }
    }

    fn pop_parse(&mut self) {
        self.parse.pop();
        if self.parse.is_empty() {
            self.step = Step::EndTop;
            self.end_top = true;
        } else {
            self.step = Step::EndValue;
        }
    }

    fn begin_value(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            return Ok(());
        }
        match c {
            b'{' => {
                self.step = Step::BeginStringOrEmpty;
                return self.push_parse(c, Parse::ObjectKey);
            }
            b'[' => {
                self.step = Step::BeginValueOrEmpty;
                return self.push_parse(c, Parse::ArrayValue);
            }
            b'"' => self.step = Step::InString,
            b'-' => self.step = Step::Neg,
            b'0' => self.step = Step::Zero,
            b'1'..=b'9' => self.step = Step::One,
            b't' => {
                self.step = Step::Literal {
                    word: "true",
                    pos: 1,
                }
            }
            b'f' => {
                self.step = Step::Literal {
                    word: "false",
                    pos: 1,
                }
            }
            b'n' => {
                self.step = Step::Literal {
                    word: "null",
                    pos: 1,
                }
            }
            _ => return Err(syntax_error(c, "looking for beginning of value")),
        }
        Ok(())
    }

    fn begin_string(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            return Ok(());
        }
        if c == b'"' {
            self.step = Step::InString;
            return Ok(());
        }
        Err(syntax_error(
            c,
            "looking for beginning of object key string",
        ))
    }

    fn end_value(&mut self, c: u8) -> Result<(), String> {
        let Some(&top) = self.parse.last() else {
            self.step = Step::EndTop;
            self.end_top = true;
            return self.end_top(c);
        };
        if is_space(c) {
            self.step = Step::EndValue;
            return Ok(());
        }
        match top {
            Parse::ObjectKey => {
                if c == b':' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectValue;
                    }
                    self.step = Step::BeginValue;
                    return Ok(());
                }
                Err(syntax_error(c, "after object key"))
            }
            Parse::ObjectValue => {
                if c == b',' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectKey;
                    }
                    self.step = Step::BeginString;
                    return Ok(());
                }
                if c == b'}' {
                    self.pop_parse();
                    return Ok(());
                }
                Err(syntax_error(c, "after object key:value pair"))
            }
            Parse::ArrayValue => {
                if c == b',' {
                    self.step = Step::BeginValue;
                    return Ok(());
                }
                if c == b']' {
                    self.pop_parse();
                    return Ok(());
                }
                Err(syntax_error(c, "after array element"))
            }
        }
    }

    fn end_top(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            Ok(())
        } else {
            Err(syntax_error(c, "after top-level value"))
        }
    }

    fn zero(&mut self, c: u8) -> Result<(), String> {
        match c {
            b'.' => {
                self.step = Step::Dot;
                Ok(())
            }
            b'e' | b'E' => {
                self.step = Step::E;
                Ok(())
            }
            _ => self.end_value(c),
        }
    }

    fn e_sign(&mut self, c: u8) -> Result<(), String> {
        if c.is_ascii_digit() {
            self.step = Step::E0;
            Ok(())
        } else {
            Err(syntax_error(c, "in exponent of numeric literal"))
        }
    }
}

// ---------------------------------------------------------------------------
// Decoding, second pass: building the value from text known to be valid.
// An explicit stack keeps deep nesting off the call stack.

enum Frame {
    List(Vec<Value>),
    Map(BTreeMap<String, Value>, String),
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

fn internal() -> String {
    "json: internal error: malformed input".to_string()
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(internal())
        }
    }

    /// An object key and the colon after it.
    fn key(&mut self) -> Result<String, String> {
        self.skip_space();
        let k = self.string()?;
        self.expect(b':')?;
        Ok(k)
    }

    fn parse(mut self) -> Result<Value, String> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            self.skip_space();
            let mut v = match self.peek().ok_or_else(internal)? {
                b'{' => {
                    self.pos += 1;
                    self.skip_space();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        Value::map(BTreeMap::new())
                    } else {
                        let k = self.key()?;
                        stack.push(Frame::Map(BTreeMap::new(), k));
                        continue;
                    }
                }
                b'[' => {
                    self.pos += 1;
                    self.skip_space();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        Value::list(Vec::new())
                    } else {
                        stack.push(Frame::List(Vec::new()));
                        continue;
                    }
                }
                b'"' => Value::str(self.string()?),
                b't' => {
                    self.pos += 4;
                    Value::Bool(true)
                }
                b'f' => {
                    self.pos += 5;
                    Value::Bool(false)
                }
                b'n' => {
                    self.pos += 4;
                    Value::Nil
                }
                _ => self.number()?,
            };
            // Attach the finished value; close every container it finishes.
            loop {
                match stack.last_mut() {
                    None => return Ok(v),
                    Some(Frame::List(items)) => {
                        items.push(v);
                        self.skip_space();
                        if self.peek() == Some(b',') {
                            self.pos += 1;
                            break;
                        }
                        self.expect(b']')?;
                        let Some(Frame::List(items)) = stack.pop() else {
                            return Err(internal());
                        };
                        v = Value::list(items);
                    }
                    Some(Frame::Map(entries, key)) => {
                        entries.insert(std::mem::take(key), v);
                        self.skip_space();
                        if self.peek() == Some(b',') {
                            self.pos += 1;
                            let k = self.key()?;
                            if let Some(Frame::Map(_, key)) = stack.last_mut() {
                                *key = k;
                            }
                            break;
                        }
                        self.expect(b'}')?;
                        let Some(Frame::Map(entries, _)) = stack.pop() else {
                            return Err(internal());
                        };
                        v = Value::map(entries);
                    }
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            self.pos += 1;
        }
        let text = self.s.get(start..self.pos).ok_or_else(internal)?;
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!(
                "json: cannot unmarshal number {text} into Go value of type float64"
            )),
        }
    }

    /// Four hex digits at `pos`, if there are.
    fn hex4(&self, pos: usize) -> Option<u32> {
        let digits = self.s.get(pos..pos.checked_add(4)?)?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    /// A string literal at `pos`, unescaped as Go does: bad surrogates
    /// become U+FFFD.
    fn string(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            return Err(internal());
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self.peek().is_some_and(|c| c != b'"' && c != b'\\') {
                self.pos += 1;
            }
            out.push_str(self.s.get(start..self.pos).ok_or_else(internal)?);
            match self.peek().ok_or_else(internal)? {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => {
                    let esc = self
                        .s
                        .as_bytes()
                        .get(self.pos + 1)
                        .copied()
                        .ok_or_else(internal)?;
                    self.pos += 2;
                    match esc {
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let r = self.hex4(self.pos).ok_or_else(internal)?;
                            self.pos += 4;
                            out.push(self.surrogate_aware(r));
                        }
                        c => out.push(char::from(c)),
                    }
                }
            }
        }
    }

    /// The rune for `\uXXXX` value `r`, consuming a following low surrogate
    /// escape when `r` starts a valid pair.
    fn surrogate_aware(&mut self, r: u32) -> char {
        if !(0xd800..0xe000).contains(&r) {
            return char::from_u32(r).unwrap_or('\u{fffd}');
        }
        let next = if self.s.get(self.pos..self.pos + 2) == Some("\\u") {
            self.hex4(self.pos + 2)
        } else {
            None
        };
        if let Some(r2) = next
            && (0xd800..0xdc00).contains(&r)
            && (0xdc00..0xe000).contains(&r2)
        {
            let c = (((r - 0xd800) << 10) | (r2 - 0xdc00)) + 0x10000;
            if let Some(c) = char::from_u32(c) {
                self.pos += 6;
                return c;
            }
        }
        '\u{fffd}'
    }
}

/// A struct's fields as a map value. Kept out of the recursive encoder so
/// that its stack frame stays small for deeply nested values.
#[inline(never)]
fn fields_map(c: &crate::value::Certificate) -> Value {
    let fields = c.fields().map(|(k, v)| (k.to_string(), Value::str(v)));
    Value::map(fields.into_iter().collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! Expected outputs come from Go 1.19.8's `encoding/json`: `Marshal`,
    //! an `Encoder` with `SetEscapeHTML(false)` (sprig's `toRawJson`),
    //! `MarshalIndent` and `Unmarshal` into an `interface{}`.

    use super::*;

    use crate::value::shorthand::*;

    fn or_err(r: Result<String, String>) -> String {
        r.unwrap_or_else(|e| format!("ERR:{e}"))
    }

    #[test]
    fn encode_matches_go() {
        // value, Marshal, toRawJson, MarshalIndent("", "  "), MarshalIndent("# ", "\t")
        let cases: Vec<(Value, &str, &str, &str, &str)> = vec![
            (Value::Nil, "null", "null", "null", "null"),
            (Value::Bool(true), "true", "true", "true", "true"),
            (Value::Bool(false), "false", "false", "false", "false"),
            (i(0), "0", "0", "0", "0"),
            (i(-42), "-42", "-42", "-42", "-42"),
            (
                i(9223372036854775807),
                "9223372036854775807",
                "9223372036854775807",
                "9223372036854775807",
                "9223372036854775807",
            ),
            (f(0.0), "0", "0", "0", "0"),
            (f(-0.0), "-0", "-0", "-0", "-0"),
            (f(1.5), "1.5", "1.5", "1.5", "1.5"),
            (f(100.0), "100", "100", "100", "100"),
            (
                f(1e+20),
                "100000000000000000000",
                "100000000000000000000",
                "100000000000000000000",
                "100000000000000000000",
            ),
            (f(1e+21), "1e+21", "1e+21", "1e+21", "1e+21"),
            (f(1e-06), "0.000001", "0.000001", "0.000001", "0.000001"),
            (f(1e-07), "1e-7", "1e-7", "1e-7", "1e-7"),
            (f(1.5e-07), "1.5e-7", "1.5e-7", "1.5e-7", "1.5e-7"),
            (
                fb(0x419d6f3454000000),
                "123456789",
                "123456789",
                "123456789",
                "123456789",
            ),
            (f(0.1), "0.1", "0.1", "0.1", "0.1"),
            (f(-2.5e-10), "-2.5e-10", "-2.5e-10", "-2.5e-10", "-2.5e-10"),
            (f(1e+300), "1e+300", "1e+300", "1e+300", "1e+300"),
            (f(5e-324), "5e-324", "5e-324", "5e-324", "5e-324"),
            (
                fb(0x7fefffffffffffff),
                "1.7976931348623157e+308",
                "1.7976931348623157e+308",
                "1.7976931348623157e+308",
                "1.7976931348623157e+308",
            ),
            (
                fb(0x43e56a95319d63e1),
                "12345678901234567000",
                "12345678901234567000",
                "12345678901234567000",
                "12345678901234567000",
            ),
            (
                f(f64::NAN),
                "ERR:json: unsupported value: NaN",
                "ERR:json: unsupported value: NaN",
                "ERR:json: unsupported value: NaN",
                "ERR:json: unsupported value: NaN",
            ),
            (
                f(f64::INFINITY),
                "ERR:json: unsupported value: +Inf",
                "ERR:json: unsupported value: +Inf",
                "ERR:json: unsupported value: +Inf",
                "ERR:json: unsupported value: +Inf",
            ),
            (
                f(f64::NEG_INFINITY),
                "ERR:json: unsupported value: -Inf",
                "ERR:json: unsupported value: -Inf",
                "ERR:json: unsupported value: -Inf",
                "ERR:json: unsupported value: -Inf",
            ),
            (s(""), "\"\"", "\"\"", "\"\"", "\"\""),
            (
                s("plain"),
                "\"plain\"",
                "\"plain\"",
                "\"plain\"",
                "\"plain\"",
            ),
            (
                s("<a href=\"x\">&amp;</a>"),
                "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026amp;\\u003c/a\\u003e\"",
                "\"<a href=\\\"x\\\">&amp;</a>\"",
                "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026amp;\\u003c/a\\u003e\"",
                "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026amp;\\u003c/a\\u003e\"",
            ),
            (
                s("\u{2028}\u{2029}"),
                "\"\\u2028\\u2029\"",
                "\"\\u2028\\u2029\"",
                "\"\\u2028\\u2029\"",
                "\"\\u2028\\u2029\"",
            ),
            (
                s("\u{0}\u{1}\u{7}\u{8}\t\n\u{b}\u{c}\u{d}\u{1f}\u{7f}"),
                "\"\\u0000\\u0001\\u0007\\u0008\\t\\n\\u000b\\u000c\\r\\u001f\u{7f}\"",
                "\"\\u0000\\u0001\\u0007\\u0008\\t\\n\\u000b\\u000c\\r\\u001f\u{7f}\"",
                "\"\\u0000\\u0001\\u0007\\u0008\\t\\n\\u000b\\u000c\\r\\u001f\u{7f}\"",
                "\"\\u0000\\u0001\\u0007\\u0008\\t\\n\\u000b\\u000c\\r\\u001f\u{7f}\"",
            ),
            (
                s("\u{e9}\u{4e16}\u{1f600}\u{feff}"),
                "\"\u{e9}\u{4e16}\u{1f600}\u{feff}\"",
                "\"\u{e9}\u{4e16}\u{1f600}\u{feff}\"",
                "\"\u{e9}\u{4e16}\u{1f600}\u{feff}\"",
                "\"\u{e9}\u{4e16}\u{1f600}\u{feff}\"",
            ),
            (
                s("back\\slash/"),
                "\"back\\\\slash/\"",
                "\"back\\\\slash/\"",
                "\"back\\\\slash/\"",
                "\"back\\\\slash/\"",
            ),
            (l(vec![]), "[]", "[]", "[]", "[]"),
            (m(vec![]), "{}", "{}", "{}", "{}"),
            (
                l(vec![
                    i(1),
                    s("a"),
                    Value::Nil,
                    Value::Bool(true),
                    f(2.5),
                    l(vec![]),
                    m(vec![]),
                ]),
                "[1,\"a\",null,true,2.5,[],{}]",
                "[1,\"a\",null,true,2.5,[],{}]",
                "[\n  1,\n  \"a\",\n  null,\n  true,\n  2.5,\n  [],\n  {}\n]",
                "[\n# \t1,\n# \t\"a\",\n# \tnull,\n# \ttrue,\n# \t2.5,\n# \t[],\n# \t{}\n# ]",
            ),
            (
                m(vec![
                    ("", Value::Nil),
                    ("<", s(">")),
                    ("a", l(vec![i(1), i(2)])),
                    ("b", i(1)),
                    ("z", m(vec![("y", m(vec![]))])),
                ]),
                "{\"\":null,\"\\u003c\":\"\\u003e\",\"a\":[1,2],\"b\":1,\"z\":{\"y\":{}}}",
                "{\"\":null,\"<\":\">\",\"a\":[1,2],\"b\":1,\"z\":{\"y\":{}}}",
                "{\n  \"\": null,\n  \"\\u003c\": \"\\u003e\",\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1,\n  \"z\": {\n    \"y\": {}\n  }\n}",
                "{\n# \t\"\": null,\n# \t\"\\u003c\": \"\\u003e\",\n# \t\"a\": [\n# \t\t1,\n# \t\t2\n# \t],\n# \t\"b\": 1,\n# \t\"z\": {\n# \t\t\"y\": {}\n# \t}\n# }",
            ),
            (
                l(vec![l(vec![l(vec![i(1)])])]),
                "[[[1]]]",
                "[[[1]]]",
                "[\n  [\n    [\n      1\n    ]\n  ]\n]",
                "[\n# \t[\n# \t\t[\n# \t\t\t1\n# \t\t]\n# \t]\n# ]",
            ),
            (
                m(vec![("x", l(vec![f(1.0), f(f64::NAN)]))]),
                "ERR:json: unsupported value: NaN",
                "ERR:json: unsupported value: NaN",
                "ERR:json: unsupported value: NaN",
                "ERR:json: unsupported value: NaN",
            ),
        ];
        for (v, compact, raw, pretty, prefixed) in cases {
            assert_eq!(or_err(encode(&v, true)), compact);
            assert_eq!(or_err(encode(&v, false)), raw);
            assert_eq!(or_err(encode_indent(&v, "", "  ", true)), pretty);
            assert_eq!(or_err(encode_indent(&v, "# ", "\t", true)), prefixed);
        }
    }

    /// `want` is Go's error, or Go's `Marshal` of what it decoded.
    fn check_decode(cases: Vec<(&str, &str)>) {
        let failures: Vec<String> = cases
            .into_iter()
            .filter_map(|(input, want)| {
                let got = match decode(input) {
                    Ok(v) => or_err(encode(&v, true)),
                    Err(e) => format!("ERR:{e}"),
                };
                (got != want).then(|| format!("decode({input:?}): got {got:?}, want {want:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn decode_matches_go() {
        check_decode(vec![
            ("", "ERR:unexpected end of JSON input"),
            (" ", "ERR:unexpected end of JSON input"),
            ("null", "null"),
            ("true", "true"),
            ("false", "false"),
            ("0", "0"),
            ("-0", "-0"),
            ("1.5", "1.5"),
            ("1e2", "100"),
            ("-1.5E-3", "-0.0015"),
            ("12345678901234567890", "12345678901234567000"),
            (
                "1e400",
                "ERR:json: cannot unmarshal number 1e400 into Go value of type float64",
            ),
            (
                "-1e400",
                "ERR:json: cannot unmarshal number -1e400 into Go value of type float64",
            ),
            ("1e-400", "0"),
            ("0.1", "0.1"),
            ("9007199254740993", "9007199254740992"),
            ("\"\"", "\"\""),
            (
                "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
                "\"a\\\"b\\\\c/d\\u0008\\u000c\\n\\r\\t\"",
            ),
            ("\"\\u00e9\\u4e16\"", "\"\u{e9}\u{4e16}\""),
            ("\"\\ud83d\\ude00\"", "\"\u{1f600}\""),
            ("\"\\ud83d\"", "\"\u{fffd}\""),
            ("\"\\ud83dx\"", "\"\u{fffd}x\""),
            ("\"\\ude00\\ud83d\"", "\"\u{fffd}\u{fffd}\""),
            ("\"\\ud83d\\u0041\"", "\"\u{fffd}A\""),
            ("\"\\u0000\"", "\"\\u0000\""),
            ("\"\u{e9}\"", "\"\u{e9}\""),
            ("[]", "[]"),
            ("{}", "{}"),
            (
                " [ 1 , \"a\" , null , true , { \"k\" : [ ] } ] ",
                "[1,\"a\",null,true,{\"k\":[]}]",
            ),
            ("{\"b\":1,\"a\":2,\"b\":3}", "{\"a\":2,\"b\":3}"),
            (
                "{\"a\":{\"b\":{\"c\":[1,[2,[3]]]}}}",
                "{\"a\":{\"b\":{\"c\":[1,[2,[3]]]}}}",
            ),
            (
                "[1,]",
                "ERR:invalid character ']' looking for beginning of value",
            ),
            ("{\"a\" 1}", "ERR:invalid character '1' after object key"),
            (
                "{\"a\":1,}",
                "ERR:invalid character '}' looking for beginning of object key string",
            ),
            (
                "tru",
                "ERR:invalid character ' ' in literal true (expecting 'e')",
            ),
            (
                "trux",
                "ERR:invalid character 'x' in literal true (expecting 'e')",
            ),
            (
                "fals",
                "ERR:invalid character ' ' in literal false (expecting 'e')",
            ),
            (
                "nul",
                "ERR:invalid character ' ' in literal null (expecting 'l')",
            ),
            (
                "nulx",
                "ERR:invalid character 'x' in literal null (expecting 'l')",
            ),
            ("\"\\x\"", "ERR:invalid character 'x' in string escape code"),
            (
                "\"\\u12g4\"",
                "ERR:invalid character 'g' in \\u hexadecimal character escape",
            ),
            ("01", "ERR:invalid character '1' after top-level value"),
            ("-", "ERR:invalid character ' ' in numeric literal"),
            ("-a", "ERR:invalid character 'a' in numeric literal"),
            (
                "1.",
                "ERR:invalid character ' ' after decimal point in numeric literal",
            ),
            (
                "1.e5",
                "ERR:invalid character 'e' after decimal point in numeric literal",
            ),
            (
                "1e",
                "ERR:invalid character ' ' in exponent of numeric literal",
            ),
            (
                "1e+",
                "ERR:invalid character ' ' in exponent of numeric literal",
            ),
            ("[1 2]", "ERR:invalid character '2' after array element"),
            (
                "{1:2}",
                "ERR:invalid character '1' looking for beginning of object key string",
            ),
            ("\"a\nb\"", "ERR:invalid character '\\n' in string literal"),
            ("\"a\tb\"", "ERR:invalid character '\\t' in string literal"),
            (
                "\u{e9}",
                "ERR:invalid character '\u{c3}' looking for beginning of value",
            ),
            ("1 2", "ERR:invalid character '2' after top-level value"),
            ("[", "ERR:unexpected end of JSON input"),
            ("{", "ERR:unexpected end of JSON input"),
            ("{\"a\":", "ERR:unexpected end of JSON input"),
            ("{\"a\"", "ERR:unexpected end of JSON input"),
            ("\"abc", "ERR:unexpected end of JSON input"),
            ("[1,2", "ERR:unexpected end of JSON input"),
            (
                "'a'",
                "ERR:invalid character '\\'' looking for beginning of value",
            ),
            (
                "]",
                "ERR:invalid character ']' looking for beginning of value",
            ),
            (
                "}",
                "ERR:invalid character '}' looking for beginning of value",
            ),
            (
                ":",
                "ERR:invalid character ':' looking for beginning of value",
            ),
            (
                ",",
                "ERR:invalid character ',' looking for beginning of value",
            ),
            (
                "{\"a\":1]",
                "ERR:invalid character ']' after object key:value pair",
            ),
            ("[1}", "ERR:invalid character '}' after array element"),
            (
                "{,}",
                "ERR:invalid character ',' looking for beginning of object key string",
            ),
            (
                "NaN",
                "ERR:invalid character 'N' looking for beginning of value",
            ),
            (
                "Infinity",
                "ERR:invalid character 'I' looking for beginning of value",
            ),
            (
                "+1",
                "ERR:invalid character '+' looking for beginning of value",
            ),
            (
                ".5",
                "ERR:invalid character '.' looking for beginning of value",
            ),
            ("0x10", "ERR:invalid character 'x' after top-level value"),
            ("[-]", "ERR:invalid character ']' in numeric literal"),
            (
                "\u{feff}1",
                "ERR:invalid character '\u{ef}' looking for beginning of value",
            ),
            ("\"\\", "ERR:invalid character ' ' in string escape code"),
            (
                "{\"a\":1}x",
                "ERR:invalid character 'x' after top-level value",
            ),
            (
                "1\u{0}",
                "ERR:invalid character '\\x00' after top-level value",
            ),
            (
                "{\"a\":1}}",
                "ERR:invalid character '}' after top-level value",
            ),
        ]);
    }

    /// A sample of the mangled documents this implementation was compared
    /// against Go with.
    #[test]
    fn decode_random_sample_matches_go() {
        check_decode(vec![
            ("[\n [],\n true\n]", "[[],true]"),
            (
                "[\n -49828,\n 4.130002264}53488\n5,\n -969352\n]",
                "ERR:invalid character '}' after array element",
            ),
            (
                "-5.557\u{1}55097,4958e+23",
                "ERR:invalid character '\\x01' after top-level value",
            ),
            ("true", "true"),
            ("8739\"", "ERR:invalid character '\"' after top-level value"),
            (
                "-3.89+16048n056555",
                "ERR:invalid character '+' after top-level value",
            ),
            (
                "tr.",
                "ERR:invalid character '.' in literal true (expecting 'u')",
            ),
            (
                "0.00000.44552452876146",
                "ERR:invalid character '.' after top-level value",
            ),
            ("1ull", "ERR:invalid character 'u' after top-level value"),
            ("null", "null"),
            ("[[]]", "[[]]"),
            (
                "\u{1}1161 ",
                "ERR:invalid character '\\x01' looking for beginning of value",
            ),
            ("{}", "{}"),
            ("975.2\n", "975.2"),
            (
                "tru}e",
                "ERR:invalid character '}' in literal true (expecting 'e')",
            ),
            (
                "n1l l",
                "ERR:invalid character '1' in literal null (expecting 'u')",
            ),
            (
                "82[\\u375",
                "ERR:invalid character '[' after top-level value",
            ),
            ("1", "1"),
            (
                "-8.447373982653252e+146\\u",
                "ERR:invalid character '\\\\' after top-level value",
            ),
            ("\"\u{4e16}a\u{a0}\\u2029\"", "\"\u{4e16}a\u{a0}\\u2029\""),
            ("21657", "21657"),
            ("16637", "16637"),
            (
                "{\n \"\u{80}\\u0007/\\u0000\\u00\u{1}3e\u{1f8b0}\": \u{1}0\n}",
                "ERR:invalid character '\\x01' in \\u hexadecimal character escape",
            ),
            (
                "{\n \"\\n\\u2029\\tq\u{4e16}a\\u0026\": [],\n \"fw\": null\n}",
                "{\"\\n\\u2029\\tq\u{4e16}a\\u0026\":[],\"fw\":null}",
            ),
            (
                "{\n \"v\u{ad}\":\u{1} true,\n \"\u{200b}\u{10ffff}s\\u0026\": true\n}",
                "ERR:invalid character '\\x01' looking for beginning of value",
            ),
            ("-0.6524452884960841", "-0.6524452884960841"),
            (
                "[\n {\n  \"\": [\n   -4046654136654690979,\n   \"wkh\\ud83d\"\nn],\n  \"q\": null\n },\n -1.411188505686162\n]",
                "ERR:invalid character 'n' after array element",
            ),
            ("-5.9807912070732322e+78", "-5.980791207073232e+78"),
            ("806187366791.6854", "806187366791.6854"),
            ("{\n \"s\u{3000}d\": false\n}", "{\"s\u{3000}d\":false}"),
            (
                "ull",
                "ERR:invalid character 'u' looking for beginning of value",
            ),
            ("null", "null"),
            (
                "fals\u{e9}",
                "ERR:invalid character '\u{c3}' in literal false (expecting 'e')",
            ),
            (
                "n\\l",
                "ERR:invalid character '\\\\' in literal null (expecting 'u')",
            ),
            ("17", "17"),
            ("-34329", "-34329"),
            (
                "41}748706.:92578316",
                "ERR:invalid character '}' after top-level value",
            ),
            ("1000282717.9071481", "1000282717.9071481"),
            ("-14230t", "ERR:invalid character 't' after top-level value"),
            (
                "}t",
                "ERR:invalid character '}' looking for beginning of value",
            ),
            (
                "fnalse{",
                "ERR:invalid character 'n' in literal false (expecting 'a')",
            ),
            ("-46637", "-46637"),
            ("\"\u{200b}\\n\"", "\"\u{200b}\\n\""),
            (
                "n+tl",
                "ERR:invalid character '+' in literal null (expecting 'u')",
            ),
            ("null", "null"),
            (
                "t119\u{1}",
                "ERR:invalid character '1' in literal true (expecting 'r')",
            ),
            ("[]", "[]"),
            (
                "[\n -113569039052206100,\n -5268914103983444513\n]",
                "[-113569039052206100,-5268914103983445000]",
            ),
            (
                "[5.977900000000001e-16,-73788]",
                "[5.977900000000001e-16,-73788]",
            ),
            (
                "nu\\l",
                "ERR:invalid character '\\\\' in literal null (expecting 'l')",
            ),
            (
                "+ull",
                "ERR:invalid character '+' looking for beginning of value",
            ),
            (
                "\\ude0055296.",
                "ERR:invalid character '\\\\' looking for beginning of value",
            ),
            ("0.0009909933712730292", "0.0009909933712730292"),
            (
                "\u{e9}1",
                "ERR:invalid character '\u{c3}' looking for beginning of value",
            ),
            (
                "[[E",
                "ERR:invalid character 'E' looking for beginning of value",
            ),
            ("10170", "10170"),
            (
                "[{\" \\u2029\u{df}\u{feff}\":{\"\\ue00\u{80}\u{a0}v\u{80}\\r\":1114111,\"\\\"bz\":389.625,\"'hdb\\i\":true},\"o%0\u{1f8b0}y\u{1fad7}\":false}]",
                "ERR:invalid character '\u{c2}' in \\u hexadecimal character escape",
            ),
            (
                "801.12t5",
                "ERR:invalid character 't' after top-level value",
            ),
            ("null", "null"),
            ("-10628", "-10628"),
            (
                "t1e",
                "ERR:invalid character '1' in literal true (expecting 'r')",
            ),
            ("-34", "-34"),
            (
                "nu\u{e9}ll",
                "ERR:invalid character '\u{c3}' in literal null (expecting 'l')",
            ),
            ("[[", "ERR:unexpected end of JSON input"),
            (
                "-..269213308680607e-151",
                "ERR:invalid character '.' in numeric literal",
            ),
            (
                "[\n -1.6113862019280488\ne+218,\n 0.0000056551,\n 27865\n]",
                "ERR:invalid character 'e' after array element",
            ),
            (
                "xue",
                "ERR:invalid character 'x' looking for beginning of value",
            ),
            (
                "--87127955170613903",
                "ERR:invalid character '-' in numeric literal",
            ),
            (
                "[[{\"n\":true,\"o\\t\u{61c}eg\\u000bw\":22040,\"\u{1fad7}d\":41101}],{\"\u{a0}\u{fffd}\":true}]",
                "[[{\"n\":true,\"o\\t\u{61c}eg\\u000bw\":22040,\"\u{1fad7}d\":41101}],{\"\u{a0}\u{fffd}\":true}]",
            ),
            ("-13426779.782314999", "-13426779.782314999"),
            (
                "-1.2e193}7186041e-7",
                "ERR:invalid character '}' after top-level value",
            ),
            (
                "123.45678[",
                "ERR:invalid character '[' after top-level value",
            ),
            ("true", "true"),
            ("5216", "5216"),
            (
                "[\n false,\n \\\n  \"\\u000b\u{a0}\\u001f\u{378}\": [\n   -26,\n   29521,\n   \"ob\u{7f}\u{1f600}a\u{80}\"\n  ],\n  \"c\": null,\n   \"\u{7f}\u{ad}\u{3000}\": 1081279327718984700\n }\n]",
                "ERR:invalid character '\\\\' looking for beginning of value",
            ),
            (
                "\"s\u{a0}\u{df}\\u0026x\u{1f600}\u{e9}\u{e9}",
                "ERR:unexpected end of JSON input",
            ),
            ("-3+374", "ERR:invalid character '+' after top-level value"),
        ]);
    }

    #[test]
    fn decode_builds_go_types() {
        let v = decode(r#"{"n":1,"s":"x","b":true,"z":null,"l":[2.5]}"#).unwrap();
        let Value::Map(map) = v else {
            panic!("not a map")
        };
        let map = map.borrow();
        assert!(matches!(map.get("n"), Some(Value::Float(x)) if *x == 1.0));
        assert!(matches!(map.get("s"), Some(Value::String(x)) if &**x == "x"));
        assert!(matches!(map.get("b"), Some(Value::Bool(true))));
        assert!(matches!(map.get("z"), Some(Value::Nil)));
        assert!(matches!(map.get("l"), Some(Value::List(x)) if x.len() == 1));
    }

    #[test]
    fn nesting_is_limited() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        let v = decode(&ok).unwrap();
        assert_eq!(encode(&v, true).unwrap(), ok);
        // Go's wording; Go allows 10000 levels.
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            decode(&deep).unwrap_err(),
            "invalid character '[' exceeded max depth"
        );
        let v = l(vec![v]);
        assert_eq!(
            encode(&v, true).unwrap_err(),
            "json: unsupported value: nested deeper than 1000 levels"
        );
    }

    fn set(map: &Value, key: &str, v: Value) {
        let Value::Map(inner) = map else {
            panic!("not a map")
        };
        inner.borrow_mut().insert(key.to_string(), v);
    }

    fn unset_all(map: &Value) {
        if let Value::Map(inner) = map {
            inner.borrow_mut().clear();
        }
    }

    #[test]
    fn cycles_are_reported_as_go_does() {
        const VIA_MAP: &str =
            "json: unsupported value: encountered a cycle via map[string]interface {}";
        const VIA_LIST: &str = "json: unsupported value: encountered a cycle via []interface {}";

        let a = m(vec![]);
        set(&a, "self", a.clone());
        assert_eq!(encode(&a, true).unwrap_err(), VIA_MAP);
        assert_eq!(encode(&l(vec![a.clone()]), true).unwrap_err(), VIA_MAP);
        unset_all(&a);

        let b = m(vec![]);
        let lb = l(vec![b.clone()]);
        set(&b, "l", lb.clone());
        assert_eq!(encode(&b, true).unwrap_err(), VIA_MAP);
        assert_eq!(encode(&lb, true).unwrap_err(), VIA_LIST);
        unset_all(&b);

        let c = m(vec![]);
        set(&c, "x", l(vec![i(1), l(vec![c.clone()])]));
        assert_eq!(encode(&c, true).unwrap_err(), VIA_LIST);
        assert_eq!(encode(&l(vec![c.clone()]), true).unwrap_err(), VIA_MAP);
        assert_eq!(
            encode(&l(vec![l(vec![c.clone()])]), true).unwrap_err(),
            VIA_LIST
        );
        assert_eq!(encode_indent(&c, "", " ", true).unwrap_err(), VIA_LIST);
        unset_all(&c);

        let d = m(vec![]);
        let e = m(vec![("a", d.clone())]);
        set(&d, "b", e.clone());
        set(&d, "c", l(vec![]));
        assert_eq!(
            encode(&m(vec![("root", d.clone())]), true).unwrap_err(),
            VIA_MAP
        );
        assert_eq!(
            encode(&l(vec![l(vec![l(vec![e.clone()])])]), true).unwrap_err(),
            VIA_MAP
        );
        unset_all(&d);
    }

    #[test]
    fn time_encodes_as_rfc3339_nano() {
        use jiff::tz::{TimeZone, offset};
        let zoned = |date: (i16, i8, i8), nanos: i32, tz: TimeZone| {
            Value::Time(
                jiff::civil::date(date.0, date.1, date.2)
                    .at(0, 0, 0, nanos)
                    .to_zoned(tz)
                    .unwrap(),
            )
        };
        let utc = zoned((2024, 3, 5), 0, TimeZone::UTC);
        assert_eq!(encode(&utc, true).unwrap(), "\"2024-03-05T00:00:00Z\"");
        let nanos = zoned((2024, 3, 5), 123_456_789, TimeZone::UTC);
        assert_eq!(
            encode(&nanos, true).unwrap(),
            "\"2024-03-05T00:00:00.123456789Z\""
        );
        let Value::Time(t) = zoned((2024, 3, 5), 120_000_000, TimeZone::UTC) else {
            unreachable!()
        };
        let west = Value::Time(t.with_time_zone(TimeZone::fixed(offset(-5))));
        assert_eq!(
            encode(&west, true).unwrap(),
            "\"2024-03-04T19:00:00.12-05:00\""
        );
        let ancient = zoned((-5, 1, 2), 0, TimeZone::UTC);
        assert_eq!(
            encode(&ancient, true).unwrap_err(),
            "json: error calling MarshalJSON for type time.Time: \
             Time.MarshalJSON: year outside of range [0,9999]"
        );
    }
}

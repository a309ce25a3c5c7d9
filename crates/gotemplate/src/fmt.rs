//! Go's `fmt` package, as far as templates reach it: `%v` printing of
//! values, `print`, `println` and `printf`, plus the `strconv` pieces they
//! rest on (`Quote`, `FormatFloat`).
//!
//! The behaviour follows Go 1.19: argument errors such as `%!d(string=x)`,
//! `%!v(MISSING)` and `%!(EXTRA int=1)` are written into the output, never
//! reported as failures.

use std::fmt::Write as _;
use std::rc::Rc;

use crate::value::Value;

/// Appends `v` as Go's `fmt.Print` would (the `%v` verb). A missing value
/// prints `<no value>`, as `text/template` prints it.
pub fn write_value(out: &mut String, v: &Value) {
    if matches!(v, Value::Missing) {
        out.push_str("<no value>");
        return;
    }
    Printer::new(out).print_arg(v, 'v');
}

/// Go's `fmt.Sprint`: operands joined, with a space between two operands
/// when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut p = Printer::new(&mut out);
    let mut prev_string = false;
    for (n, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if n > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`: operands always space-separated, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    let mut p = Printer::new(&mut out);
    for (n, arg) in args.iter().enumerate() {
        if n > 0 {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
    }
    out.push('\n');
    out
}

/// Go's `fmt.Sprintf`, including its in-band error forms
/// (`%!d(float64=7)`, `%!v(MISSING)`, `%!(EXTRA …)`, `%!(NOVERB)`, …).
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    Printer::new(&mut out).do_printf(format, args);
    out
}

/// Go's `strconv.Quote`: a double-quoted Go string literal, keeping
/// printable runes and escaping the rest.
pub fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

/// Go's `strconv.QuoteToASCII`: like [`quote`], but every non-ASCII rune is
/// escaped.
pub fn quote_to_ascii(s: &str) -> String {
    quote_with(s, '"', true)
}

/// Go's `strconv.QuoteRune`: a single-quoted Go rune literal.
pub fn quote_rune(r: char) -> String {
    let mut out = String::from('\'');
    append_escaped_rune(&mut out, r, '\'', false);
    out.push('\'');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space, as Unicode 13.0 (Go 1.19) defines them.
pub fn is_print(c: char) -> bool {
    let c = u32::from(c);
    let (mut lo, mut hi) = (0usize, PRINTABLE.len() / 2);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let (Some(&start), Some(&end)) = (PRINTABLE.get(2 * mid), PRINTABLE.get(2 * mid + 1))
        else {
            return false;
        };
        if c < start {
            hi = mid;
        } else if c > end {
            lo = mid + 1;
        } else {
            return true;
        }
    }
    false
}

/// Go's `strconv.FormatFloat(f, fmt, prec, 64)` for the formats `b`, `e`,
/// `E`, `f`, `g`, `G`, `x` and `X`; a negative `prec` asks for the fewest
/// digits that read back as `f`.
pub fn format_float(f: f64, fmt: char, prec: i32) -> String {
    let bits = f.to_bits();
    let neg = bits >> 63 != 0;
    let exp_bits = i64::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp_bits == 0x7ff {
        return if mant != 0 {
            "NaN"
        } else if neg {
            "-Inf"
        } else {
            "+Inf"
        }
        .to_string();
    }
    let exp = if exp_bits == 0 {
        1
    } else {
        mant |= 1u64 << 52;
        exp_bits
    } - 1023;
    let prec = i64::from(prec);
    match fmt {
        'b' => fmt_b(neg, mant, exp),
        'x' | 'X' => fmt_x(prec, fmt == 'X', neg, mant, exp),
        'e' | 'E' | 'f' | 'g' | 'G' => {
            let shortest = prec < 0;
            let mut prec = prec;
            let d = if shortest {
                let d = shortest_digits(f.abs(), mant, exp - 52);
                let nd = d.nd();
                prec = match fmt {
                    'e' | 'E' => (nd - 1).max(0),
                    'f' => (nd - d.dp).max(0),
                    _ => nd,
                };
                d
            } else {
                let mut d = exact_digits(mant, exp - 52);
                match fmt {
                    'e' | 'E' => d.round(prec.saturating_add(1)),
                    'f' => d.round(d.dp.saturating_add(prec)),
                    _ => {
                        if prec == 0 {
                            prec = 1;
                        }
                        d.round(prec)
                    }
                }
                d
            };
            format_digits(neg, &d, prec, fmt, shortest)
        }
        _ => format!("%{fmt}"),
    }
}

/// Go's `time.Time.String()` without a monotonic clock reading:
/// `2006-01-02 15:04:05.999999999 -0700 MST`.
pub fn time_string(t: &jiff::Zoned) -> String {
    let mut s = String::new();
    push_year(&mut s, i32::from(t.year()));
    let _ = write!(
        s,
        "-{:02}-{:02} {:02}:{:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    push_fraction(&mut s, t.subsec_nanosecond());
    s.push(' ');
    let offset = t.offset().seconds();
    push_numeric_zone(&mut s, offset);
    s.push(' ');
    let abbrev = zone_abbreviation(t);
    if abbrev.is_empty() {
        push_numeric_zone(&mut s, offset);
    } else {
        s.push_str(&abbrev);
    }
    s
}

/// Go's `time.Time.Format(time.RFC3339Nano)`:
/// `2006-01-02T15:04:05.999999999Z07:00`.
pub fn time_rfc3339_nano(t: &jiff::Zoned) -> String {
    let mut s = String::new();
    push_year(&mut s, i32::from(t.year()));
    let _ = write!(
        s,
        "-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    push_fraction(&mut s, t.subsec_nanosecond());
    let offset = t.offset().seconds();
    if offset == 0 {
        s.push('Z');
    } else {
        let zone = offset / 60;
        s.push(if zone < 0 { '-' } else { '+' });
        let zone = zone.unsigned_abs();
        let _ = write!(s, "{:02}:{:02}", zone / 60, zone % 60);
    }
    s
}

// ---------------------------------------------------------------------------
// The printer: Go's `pp` and `fmt` types.

const NIL_ANGLE: &str = "<nil>";
const NIL_PAREN: &str = "(nil)";
const LIST_TYPE: &str = "[]interface {}";
const MAP_TYPE: &str = "map[string]interface {}";
const IFACE_TYPE: &str = "interface {}";
/// Go's `tooLarge` bound on widths, precisions and argument indexes.
const TOO_LARGE: i64 = 1_000_000;
/// Nesting beyond this is printed as `...` rather than risk the stack.
const MAX_DEPTH: usize = 1_000;

/// Go's `fmtFlags` plus width and precision.
#[derive(Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: usize,
    wid_present: bool,
    prec: usize,
    prec_present: bool,
}

struct Printer<'a> {
    buf: &'a mut String,
    f: Flags,
    erroring: bool,
    /// Maps being printed, to stop at a map that contains itself.
    maps: Vec<usize>,
}

impl<'a> Printer<'a> {
    fn new(buf: &'a mut String) -> Self {
        Printer {
            buf,
            f: Flags::default(),
            erroring: false,
            maps: Vec::new(),
        }
    }

    // --- padding -----------------------------------------------------------

    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    /// Writes `s` padded to the width.
    fn pad(&mut self, s: &str) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.push_str(s);
            return;
        }
        let width = self.f.wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(width);
        } else {
            self.write_padding(width);
            self.buf.push_str(s);
        }
    }

    /// `pad` with zero padding switched off.
    fn pad_spaces(&mut self, s: &str) {
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(s);
        self.f.zero = old;
    }

    // --- arguments ---------------------------------------------------------

    fn print_arg(&mut self, arg: &Value, verb: char) {
        if matches!(arg, Value::Missing | Value::Nil) {
            match verb {
                'T' | 'v' => self.pad(NIL_ANGLE),
                _ => self.bad_verb(verb, arg),
            }
            return;
        }
        match verb {
            'T' => {
                self.fmt_s(arg.type_name());
                return;
            }
            'p' => {
                self.fmt_pointer(arg, verb);
                return;
            }
            _ => {}
        }
        match arg {
            Value::Bool(b) => self.fmt_bool(*b, verb, arg),
            Value::Int(i) => self.fmt_integer(*i as u64, true, verb, arg),
            Value::Float(f) => self.fmt_float(*f, verb, arg),
            Value::String(s) => self.fmt_string(s, verb, arg),
            _ => {
                if !self.handle_methods(arg, verb) {
                    self.print_value(arg, verb, 0);
                }
            }
        }
    }

    /// Go's `handleMethods`: `%w` outside `Errorf`, and `time.Time`'s
    /// `String` and `GoString` methods.
    fn handle_methods(&mut self, arg: &Value, verb: char) -> bool {
        if self.erroring {
            return false;
        }
        if verb == 'w' {
            self.bad_verb(verb, arg);
            return true;
        }
        if let Value::Time(t) = arg {
            if self.f.sharp_v {
                self.fmt_s(&time_go_string(t));
                return true;
            }
            if matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
                self.fmt_string(&time_string(t), verb, arg);
                return true;
            }
        }
        false
    }

    /// Go's `printValue`, for values inside lists and maps and for the lists
    /// and maps themselves.
    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        if depth > MAX_DEPTH {
            self.buf.push_str("...");
            return;
        }
        if depth > 0 && !matches!(v, Value::Missing | Value::Nil) && self.handle_methods(v, verb) {
            return;
        }
        match v {
            Value::Missing | Value::Nil => {
                if self.f.sharp_v {
                    self.buf.push_str(IFACE_TYPE);
                    self.buf.push_str(NIL_PAREN);
                } else {
                    self.buf.push_str(NIL_ANGLE);
                }
            }
            Value::Bool(b) => self.fmt_bool(*b, verb, v),
            Value::Int(i) => self.fmt_integer(*i as u64, true, verb, v),
            Value::Float(f) => self.fmt_float(*f, verb, v),
            Value::String(s) => self.fmt_string(s, verb, v),
            Value::List(items) => {
                if self.f.sharp_v {
                    self.buf.push_str(LIST_TYPE);
                    self.buf.push('{');
                } else {
                    self.buf.push('[');
                }
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.print_value(item, verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Map(m) => {
                let id = Rc::as_ptr(m) as usize;
                if self.maps.contains(&id) {
                    let _ = write!(self.buf, "%!{verb}(CYCLE)");
                    return;
                }
                if self.f.sharp_v {
                    self.buf.push_str(MAP_TYPE);
                    self.buf.push('{');
                } else {
                    self.buf.push_str("map[");
                }
                self.maps.push(id);
                if let Ok(entries) = m.try_borrow() {
                    for (i, (k, item)) in entries.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                        }
                        self.fmt_string(k, verb, &Value::str(k.as_str()));
                        self.buf.push(':');
                        self.print_value(item, verb, depth + 1);
                    }
                }
                self.maps.pop();
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Cert(c) => self.print_struct(c, verb, depth),
            // Go prints the struct's private fields here, which cannot be
            // reproduced: report the verb as unsuitable, showing the time
            // as `String` would.
            Value::Time(t) => {
                if self.erroring {
                    self.buf.push_str(&time_string(t));
                } else {
                    self.bad_verb(verb, v);
                }
            }
        }
    }

    /// Go's `printValue` for a struct: `{a b}`, `{A:a B:b}` with `%+v`,
    /// and `pkg.T{A:"a", B:"b"}` with `%#v`.
    fn print_struct(&mut self, c: &crate::value::Certificate, verb: char, depth: usize) {
        if self.f.sharp_v {
            self.buf.push_str("sprig.certificate");
        }
        self.buf.push('{');
        for (i, (name, field)) in c.fields().into_iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            if self.f.plus_v || self.f.sharp_v {
                self.buf.push_str(name);
                self.buf.push(':');
            }
            self.print_value(&Value::str(field), verb, depth + 1);
        }
        self.buf.push('}');
    }

    /// Go's `badVerb`: `%!d(string=hello)`.
    fn bad_verb(&mut self, verb: char, arg: &Value) {
        let was_erroring = self.erroring;
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if matches!(arg, Value::Missing | Value::Nil) {
            self.buf.push_str(NIL_ANGLE);
        } else {
            self.buf.push_str(arg.type_name());
            self.buf.push('=');
            self.print_arg(arg, 'v');
        }
        self.buf.push(')');
        self.erroring = was_erroring;
    }

    fn fmt_pointer(&mut self, arg: &Value, verb: char) {
        let addr = match arg {
            Value::List(l) => Rc::as_ptr(l) as *const () as usize,
            Value::Map(m) => Rc::as_ptr(m) as *const () as usize,
            _ => {
                self.bad_verb(verb, arg);
                return;
            }
        };
        let old = self.f.sharp;
        self.f.sharp = !old;
        self.fmt_int(addr as u64, 16, false, 'v', false);
        self.f.sharp = old;
    }

    fn fmt_bool(&mut self, b: bool, verb: char, arg: &Value) {
        match verb {
            't' | 'v' => self.pad(if b { "true" } else { "false" }),
            _ => self.bad_verb(verb, arg),
        }
    }

    /// Go's `pp.fmtInteger`: chooses the base from the verb.
    fn fmt_integer(&mut self, u: u64, signed: bool, verb: char, arg: &Value) {
        match verb {
            'v' | 'd' => self.fmt_int(u, 10, signed, verb, false),
            'b' => self.fmt_int(u, 2, signed, verb, false),
            'o' | 'O' => self.fmt_int(u, 8, signed, verb, false),
            'x' => self.fmt_int(u, 16, signed, verb, false),
            'X' => self.fmt_int(u, 16, signed, verb, true),
            'c' => {
                let c = rune_of(u);
                self.pad(c.encode_utf8(&mut [0; 4]));
            }
            'q' => {
                let c = rune_of(u);
                let q = if self.f.plus {
                    let mut out = String::from('\'');
                    append_escaped_rune(&mut out, c, '\'', true);
                    out.push('\'');
                    out
                } else {
                    quote_rune(c)
                };
                self.pad(&q);
            }
            'U' => self.fmt_unicode(u),
            _ => self.bad_verb(verb, arg),
        }
    }

    /// Go's `fmt.fmtInteger`: digits, precision, prefixes, sign, padding.
    fn fmt_int(&mut self, u: u64, base: u64, signed: bool, verb: char, upper: bool) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative { u.wrapping_neg() } else { u };
        let mut prec = 0usize;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        // Built right to left, then reversed.
        let mut rev: Vec<char> = Vec::new();
        loop {
            rev.push(digit_char(u % base, upper));
            u /= base;
            if u == 0 {
                break;
            }
        }
        while rev.len() < prec {
            rev.push('0');
        }
        if self.f.sharp {
            match base {
                2 => rev.extend(['b', '0']),
                8 if rev.last() != Some(&'0') => rev.push('0'),
                16 => rev.extend([if upper { 'X' } else { 'x' }, '0']),
                _ => {}
            }
        }
        if verb == 'O' {
            rev.extend(['o', '0']);
        }
        if negative {
            rev.push('-');
        } else if self.f.plus {
            rev.push('+');
        } else if self.f.space {
            rev.push(' ');
        }
        let s: String = rev.iter().rev().collect();
        self.pad_spaces(&s);
    }

    /// Go's `fmtUnicode`: `U+0041`, or `U+0041 'A'` with `#`.
    fn fmt_unicode(&mut self, u: u64) {
        let prec = if self.f.prec_present && self.f.prec > 4 {
            self.f.prec
        } else {
            4
        };
        let hex = format!("{u:X}");
        let mut s = String::from("U+");
        s.extend(std::iter::repeat_n('0', prec.saturating_sub(hex.len())));
        s.push_str(&hex);
        if self.f.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && is_print(c)
        {
            s.push_str(" '");
            s.push(c);
            s.push('\'');
        }
        self.pad_spaces(&s);
    }

    /// Go's `pp.fmtFloat`: chooses the format and default precision.
    fn fmt_float(&mut self, v: f64, verb: char, arg: &Value) {
        match verb {
            'v' => self.fmt_float_with(v, 'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float_with(v, verb, -1),
            'f' | 'e' | 'E' | 'F' => self.fmt_float_with(v, verb, 6),
            _ => self.bad_verb(verb, arg),
        }
    }

    /// Go's `fmt.fmtFloat`: sign, `#` handling and padding around
    /// `strconv.FormatFloat`.
    fn fmt_float_with(&mut self, v: f64, verb: char, prec: i32) {
        let prec = if self.f.prec_present {
            i32::try_from(self.f.prec).unwrap_or(i32::MAX)
        } else {
            prec
        };
        let conv = if verb == 'F' { 'f' } else { verb };
        let formatted = format_float(v, conv, prec);
        // `num` always starts with a sign character.
        let mut num: Vec<u8> = Vec::with_capacity(formatted.len() + 1);
        if !(formatted.starts_with('-') || formatted.starts_with('+')) {
            num.push(b'+');
        }
        num.extend_from_slice(formatted.as_bytes());
        if self.f.space
            && !self.f.plus
            && let Some(c) = num.first_mut()
            && *c == b'+'
        {
            *c = b' ';
        }
        if matches!(num.get(1), Some(b'I' | b'N')) {
            let mut start = 0;
            if num.get(1) == Some(&b'N') && !self.f.space && !self.f.plus {
                start = 1;
            }
            let s = ascii(num.get(start..).unwrap_or_default());
            self.pad_spaces(&s);
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i64 = 0;
            if matches!(verb, 'v' | 'g' | 'G' | 'x') {
                digits = if prec == -1 { 6 } else { i64::from(prec) };
            }
            let mut tail: Vec<u8> = Vec::new();
            let mut has_decimal_point = false;
            let mut saw_nonzero_digit = false;
            let mut i = 1;
            while let Some(&c) = num.get(i) {
                match c {
                    b'.' => has_decimal_point = true,
                    b'p' | b'P' => {
                        tail = num.split_off(i);
                        break;
                    }
                    b'e' | b'E' if verb != 'x' && verb != 'X' => {
                        tail = num.split_off(i);
                        break;
                    }
                    _ => {
                        if c != b'0' {
                            saw_nonzero_digit = true;
                        }
                        if saw_nonzero_digit {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_decimal_point {
                if num.len() == 2 && num.get(1) == Some(&b'0') {
                    digits -= 1;
                }
                num.push(b'.');
            }
            while digits > 0 {
                num.push(b'0');
                digits -= 1;
            }
            num.extend_from_slice(&tail);
        }
        let sign = num.first().copied().unwrap_or(b'+');
        if self.f.plus || sign != b'+' {
            if self.f.zero && self.f.wid_present && self.f.wid > num.len() {
                self.buf.push(char::from(sign));
                self.write_padding(self.f.wid - num.len());
                self.buf.push_str(&ascii(num.get(1..).unwrap_or_default()));
                return;
            }
            self.pad(&ascii(&num));
            return;
        }
        self.pad(&ascii(num.get(1..).unwrap_or_default()));
    }

    fn fmt_string(&mut self, s: &str, verb: char, arg: &Value) {
        match verb {
            'v' => {
                if self.f.sharp_v {
                    self.fmt_q(s);
                } else {
                    self.fmt_s(s);
                }
            }
            's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, false),
            'X' => self.fmt_sx(s, true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, arg),
        }
    }

    /// The string cut to the precision, in runes.
    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if self.f.prec_present
            && let Some((i, _)) = s.char_indices().nth(self.f.prec)
        {
            return s.get(..i).unwrap_or(s);
        }
        s
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    /// Go's `fmtSbx` for strings: hex bytes, `% x` spaced, `%#x` prefixed.
    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let bytes = s.as_bytes();
        let mut length = bytes.len();
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding(self.f.wid - width);
        }
        let x = if upper { 'X' } else { 'x' };
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(x);
        }
        for (i, &b) in bytes.iter().take(length).enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(x);
                }
            }
            self.buf.push(digit_char(u64::from(b >> 4), upper));
            self.buf.push(digit_char(u64::from(b & 0xf), upper));
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding(self.f.wid - width);
        }
    }

    /// Go's `fmtQ`: a quoted string, or a raw one with `%#q` when possible.
    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            let q = format!("`{s}`");
            self.pad(&q);
            return;
        }
        let q = quote_with(s, '"', self.f.plus);
        self.pad(&q);
    }

    // --- Sprintf -----------------------------------------------------------

    fn do_printf(&mut self, format: &str, a: &[Value]) {
        let fb = format.as_bytes();
        let end = fb.len();
        let mut arg_num = 0usize;
        let mut reordered = false;
        let mut i = 0usize;
        'verbs: while i < end {
            let mut good_arg_num = true;
            let lasti = i;
            while fb.get(i).is_some_and(|&c| c != b'%') {
                i += 1;
            }
            if i > lasti {
                self.buf.push_str(format.get(lasti..i).unwrap_or_default());
            }
            if i >= end {
                break;
            }
            i += 1; // the '%'
            self.f = Flags::default();
            // Flags, and the fast path for a plain lower-case verb.
            while let Some(&c) = fb.get(i) {
                match c {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    _ => {
                        if c.is_ascii_lowercase()
                            && let Some(arg) = a.get(arg_num)
                        {
                            if c == b'v' {
                                self.move_v_flags();
                            }
                            self.print_arg(arg, char::from(c));
                            arg_num += 1;
                            i += 1;
                            continue 'verbs;
                        }
                        break;
                    }
                }
                i += 1;
            }

            let mut after_index;
            (arg_num, i, after_index) =
                arg_number(arg_num, fb, i, a.len(), &mut good_arg_num, &mut reordered);

            // Width.
            if fb.get(i) == Some(&b'*') {
                i += 1;
                let (num, is_int, next) = int_from_arg(a, arg_num);
                arg_num = next;
                self.f.wid_present = is_int;
                if !is_int {
                    self.buf.push_str("%!(BADWIDTH)");
                }
                self.f.wid = usize::try_from(num.unsigned_abs()).unwrap_or(0);
                if num < 0 {
                    self.f.minus = true;
                    self.f.zero = false;
                }
                after_index = false;
            } else {
                let (num, is_num, next) = parse_num(fb, i, end);
                self.f.wid = usize::try_from(num).unwrap_or(0);
                self.f.wid_present = is_num;
                i = next;
                if after_index && is_num {
                    good_arg_num = false;
                }
            }

            // Precision.
            if i + 1 < end && fb.get(i) == Some(&b'.') {
                i += 1;
                if after_index {
                    good_arg_num = false;
                }
                (arg_num, i, after_index) =
                    arg_number(arg_num, fb, i, a.len(), &mut good_arg_num, &mut reordered);
                if fb.get(i) == Some(&b'*') {
                    i += 1;
                    let (num, is_int, next) = int_from_arg(a, arg_num);
                    arg_num = next;
                    self.f.prec_present = is_int && num >= 0;
                    self.f.prec = if num < 0 {
                        0
                    } else {
                        usize::try_from(num).unwrap_or(0)
                    };
                    if !self.f.prec_present {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (num, is_num, next) = parse_num(fb, i, end);
                    self.f.prec = if is_num {
                        usize::try_from(num).unwrap_or(0)
                    } else {
                        0
                    };
                    self.f.prec_present = true;
                    i = next;
                }
            }

            if !after_index {
                (arg_num, i, _) =
                    arg_number(arg_num, fb, i, a.len(), &mut good_arg_num, &mut reordered);
            }

            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }

            let (verb, size) = match format.get(i..).and_then(|s| s.chars().next()) {
                Some(c) => (c, c.len_utf8()),
                None => ('\u{fffd}', 1),
            };
            i += size;

            if verb == '%' {
                self.buf.push('%');
            } else if !good_arg_num {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(BADINDEX)");
            } else if let Some(arg) = a.get(arg_num) {
                if verb == 'v' {
                    self.move_v_flags();
                }
                self.print_arg(arg, verb);
                arg_num += 1;
            } else {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(MISSING)");
            }
        }

        if !reordered && arg_num < a.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (n, arg) in a.iter().skip(arg_num).enumerate() {
                if n > 0 {
                    self.buf.push_str(", ");
                }
                if matches!(arg, Value::Missing | Value::Nil) {
                    self.buf.push_str(NIL_ANGLE);
                } else {
                    self.buf.push_str(arg.type_name());
                    self.buf.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.buf.push(')');
        }
    }

    /// For `%v`, `#` means Go syntax and `+` means field names.
    fn move_v_flags(&mut self) {
        self.f.sharp_v = self.f.sharp;
        self.f.sharp = false;
        self.f.plus_v = self.f.plus;
        self.f.plus = false;
    }
}

/// Go's `argNumber`: an explicit `[n]` argument index at `i`, if any.
fn arg_number(
    arg_num: usize,
    fb: &[u8],
    i: usize,
    num_args: usize,
    good_arg_num: &mut bool,
    reordered: &mut bool,
) -> (usize, usize, bool) {
    if fb.get(i) != Some(&b'[') {
        return (arg_num, i, false);
    }
    *reordered = true;
    let (index, wid, ok) = parse_arg_number(fb.get(i..).unwrap_or_default());
    if ok
        && let Ok(index) = usize::try_from(index)
        && index < num_args
    {
        return (index, i + wid, true);
    }
    *good_arg_num = false;
    (arg_num, i + wid, ok)
}

/// Go's `parseArgNumber`: the zero-based index in `[n]`, the bytes
/// consumed, and whether it parsed.
fn parse_arg_number(f: &[u8]) -> (i64, usize, bool) {
    if f.len() < 3 {
        return (0, 1, false);
    }
    for (i, &c) in f.iter().enumerate().skip(1) {
        if c == b']' {
            let (width, ok, newi) = parse_num(f, 1, i);
            if !ok || newi != i {
                return (0, i + 1, false);
            }
            return (width - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

/// Go's `parsenum`: a decimal number in `s[start..end]`.
fn parse_num(s: &[u8], start: usize, end: usize) -> (i64, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num: i64 = 0;
    let mut is_num = false;
    let mut i = start;
    while i < end {
        let Some(&c) = s.get(i) else { break };
        if !c.is_ascii_digit() {
            break;
        }
        if num > TOO_LARGE {
            return (0, false, end);
        }
        num = num * 10 + i64::from(c - b'0');
        is_num = true;
        i += 1;
    }
    (num, is_num, i)
}

/// Go's `intFromArg`: a `*` width or precision; only an `int` will do.
fn int_from_arg(a: &[Value], arg_num: usize) -> (i64, bool, usize) {
    match a.get(arg_num) {
        None => (0, false, arg_num),
        Some(Value::Int(n)) if (-TOO_LARGE..=TOO_LARGE).contains(n) => (*n, true, arg_num + 1),
        Some(_) => (0, false, arg_num + 1),
    }
}

/// The rune `%c` and `%q` print for an integer: invalid ones become U+FFFD.
fn rune_of(u: u64) -> char {
    u32::try_from(u)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}')
}

fn digit_char(d: u64, upper: bool) -> char {
    let c = u32::try_from(d)
        .ok()
        .and_then(|d| char::from_digit(d, 16))
        .unwrap_or('0');
    if upper { c.to_ascii_uppercase() } else { c }
}

fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---------------------------------------------------------------------------
// strconv: quoting.

fn quote_with(s: &str, q: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        append_escaped_rune(&mut out, c, q, ascii_only);
    }
    out.push(q);
    out
}

/// Go's `appendEscapedRune`.
fn append_escaped_rune(out: &mut String, r: char, q: char, ascii_only: bool) {
    if r == q || r == '\\' {
        out.push('\\');
        out.push(r);
        return;
    }
    if ascii_only {
        if r.is_ascii() && is_print(r) {
            out.push(r);
            return;
        }
    } else if is_print(r) {
        out.push(r);
        return;
    }
    match r {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        _ => {
            let n = u32::from(r);
            if n < 0x20 || n == 0x7f {
                let _ = write!(out, "\\x{n:02x}");
            } else if n < 0x10000 {
                let _ = write!(out, "\\u{n:04x}");
            } else {
                let _ = write!(out, "\\U{n:08x}");
            }
        }
    }
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| {
        if c.len_utf8() > 1 {
            c != '\u{feff}'
        } else {
            !((c < ' ' && c != '\t') || c == '`' || c == '\u{7f}')
        }
    })
}

// ---------------------------------------------------------------------------
// strconv: floats.

/// Decimal digits (ASCII, no trailing zeros) with the decimal point `dp`
/// places from the left: value = 0.d1d2d3… × 10^dp.
struct Decimal {
    d: Vec<u8>,
    dp: i64,
}

impl Decimal {
    fn nd(&self) -> i64 {
        i64::try_from(self.d.len()).unwrap_or(i64::MAX)
    }

    fn digit(&self, i: i64) -> Option<u8> {
        usize::try_from(i).ok().and_then(|i| self.d.get(i).copied())
    }

    fn trim(&mut self) {
        while self.d.last() == Some(&b'0') {
            self.d.pop();
        }
        if self.d.is_empty() {
            self.dp = 0;
        }
    }

    /// Rounds to `nd` digits, halfway cases to even (the digits are exact).
    fn round(&mut self, nd: i64) {
        let Ok(n) = usize::try_from(nd) else { return };
        let Some(&next) = self.d.get(n) else { return };
        let up = if next == b'5' && n + 1 == self.d.len() {
            n > 0 && self.d.get(n - 1).is_some_and(|c| (c - b'0') % 2 == 1)
        } else {
            next >= b'5'
        };
        if up {
            let mut i = n;
            while i > 0 {
                if let Some(c) = self.d.get_mut(i - 1)
                    && *c < b'9'
                {
                    *c += 1;
                    self.d.truncate(i);
                    return;
                }
                i -= 1;
            }
            self.d.clear();
            self.d.push(b'1');
            self.dp += 1;
        } else {
            self.d.truncate(n);
            self.trim();
        }
    }
}

/// The shortest digits that read back as `f` (finite, non-negative), the
/// closest such to `f`, and the even one when two are equally close (as
/// Go's Ryū does).
fn shortest_digits(f: f64, mant: u64, e2: i64) -> Decimal {
    if f == 0.0 {
        return Decimal {
            d: Vec::new(),
            dp: 0,
        };
    }
    // Rust's `{:e}` prints the shortest round-tripping digits, e.g. `1.5e-7`,
    // but breaks exact ties upwards.
    let s = format!("{f:e}");
    let (m, e) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i64 = e.parse().unwrap_or(0);
    let mut d = Decimal {
        d: m.bytes().filter(u8::is_ascii_digit).collect(),
        dp: exp + 1,
    };
    d.trim();
    // The same number of digits rounded from the exact value, ties to even:
    // where it differs and still reads back as `f`, it is Go's choice. A tie
    // needs two candidates a float64's spacing apart, hence 15+ digits.
    if d.nd() < 15 {
        return d;
    }
    let mut even = exact_digits(mant, e2);
    even.round(d.nd());
    if even.d != d.d || even.dp != d.dp {
        let text = format!("0.{}e{}", String::from_utf8_lossy(&even.d), even.dp);
        if text.parse::<f64>().ok() == Some(f) {
            return even;
        }
    }
    d
}

/// The exact decimal expansion of `mant × 2^e2`.
fn exact_digits(mant: u64, e2: i64) -> Decimal {
    const BASE: u64 = 1_000_000_000;
    if mant == 0 {
        return Decimal {
            d: Vec::new(),
            dp: 0,
        };
    }
    let (mut mant, mut e2) = (mant, e2);
    while mant & 1 == 0 && e2 < 0 {
        mant >>= 1;
        e2 += 1;
    }
    // A big integer in base 10^9, least significant limb first.
    let mut limbs: Vec<u64> = vec![mant % BASE, (mant / BASE) % BASE, mant / BASE / BASE];
    let mul = |limbs: &mut Vec<u64>, by: u64| {
        let mut carry = 0u64;
        for l in limbs.iter_mut() {
            let v = *l * by + carry;
            *l = v % BASE;
            carry = v / BASE;
        }
        while carry > 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    };
    let mut shift: i64 = 0;
    if e2 >= 0 {
        let mut left = e2;
        while left > 0 {
            let step = left.min(29);
            mul(&mut limbs, 1u64 << step);
            left -= step;
        }
    } else {
        // mant / 2^k = mant × 5^k / 10^k.
        let k = -e2;
        let mut left = k;
        while left > 0 {
            let step = left.min(13);
            mul(&mut limbs, 5u64.pow(u32::try_from(step).unwrap_or(0)));
            left -= step;
        }
        shift = k;
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut s = String::new();
    for (i, l) in limbs.iter().rev().enumerate() {
        if i == 0 {
            let _ = write!(s, "{l}");
        } else {
            let _ = write!(s, "{l:09}");
        }
    }
    let mut d = Decimal {
        d: s.into_bytes(),
        dp: 0,
    };
    d.dp = d.nd() - shift;
    d.trim();
    d
}

/// Go's `formatDigits`: lays out rounded digits as `%e`, `%f` or `%g`.
fn format_digits(neg: bool, d: &Decimal, prec: i64, fmt: char, shortest: bool) -> String {
    match fmt {
        'e' | 'E' => fmt_e(neg, d, prec, fmt),
        'f' => fmt_f(neg, d, prec),
        _ => {
            let nd = d.nd();
            let mut eprec = prec;
            if eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                let p = prec.min(nd);
                return fmt_e(neg, d, p - 1, if fmt == 'G' { 'E' } else { 'e' });
            }
            let p = if prec > d.dp { nd } else { prec };
            fmt_f(neg, d, (p - d.dp).max(0))
        }
    }
}

fn fmt_e(neg: bool, d: &Decimal, prec: i64, fmt: char) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push(char::from(d.digit(0).unwrap_or(b'0')));
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(char::from(d.digit(i).unwrap_or(b'0')));
        }
    }
    s.push(fmt);
    let exp = if d.d.is_empty() { 0 } else { d.dp - 1 };
    s.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    let _ = write!(s, "{exp:02}");
    s
}

fn fmt_f(neg: bool, d: &Decimal, prec: i64) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if d.dp > 0 {
        for i in 0..d.dp {
            s.push(char::from(d.digit(i).unwrap_or(b'0')));
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(char::from(d.digit(d.dp + i - 1).unwrap_or(b'0')));
        }
    }
    s
}

/// Go's `%b` for floats: `4503599627370496p-52`.
fn fmt_b(neg: bool, mant: u64, exp: i64) -> String {
    let exp = exp - 52;
    format!(
        "{}{mant}p{}{exp}",
        if neg { "-" } else { "" },
        if exp >= 0 { "+" } else { "" }
    )
}

/// Go's `%x` for floats: `-0x1.yyyyp±dd`.
fn fmt_x(prec: i64, upper: bool, neg: bool, mant: u64, exp: i64) -> String {
    let mut exp = if mant == 0 { 0 } else { exp };
    // The leading 1 (if any) goes to bit 60.
    let mut mant = mant << 8;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = u32::try_from(prec * 4).unwrap_or(0);
        let extra = mant.wrapping_shl(shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push('0');
    s.push(if upper { 'X' } else { 'x' });
    s.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant = mant.wrapping_shl(4);
    if prec < 0 && mant != 0 {
        s.push('.');
        while mant != 0 {
            s.push(digit_char((mant >> 60) & 15, upper));
            mant = mant.wrapping_shl(4);
        }
    } else if prec > 0 {
        s.push('.');
        for _ in 0..prec {
            s.push(digit_char((mant >> 60) & 15, upper));
            mant = mant.wrapping_shl(4);
        }
    }
    s.push(if upper { 'P' } else { 'p' });
    s.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(s, "{:02}", exp.unsigned_abs());
    s
}

// ---------------------------------------------------------------------------
// time.Time.

/// Go's four-digit year field: `-0005`, `0099`, `2024`.
fn push_year(s: &mut String, year: i32) {
    if year < 0 {
        s.push('-');
    }
    let _ = write!(s, "{:04}", year.unsigned_abs());
}

/// `.999999999`: the fraction without trailing zeros, nothing if zero.
fn push_fraction(s: &mut String, nanos: i32) {
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
}

/// `-0700`.
fn push_numeric_zone(s: &mut String, offset_seconds: i32) {
    let zone = offset_seconds / 60;
    s.push(if zone < 0 { '-' } else { '+' });
    let zone = zone.unsigned_abs();
    let _ = write!(s, "{:02}{:02}", zone / 60, zone % 60);
}

/// The zone abbreviation Go would print; empty for a fixed offset zone,
/// which Go names "" and prints as `-0700`.
fn zone_abbreviation(t: &jiff::Zoned) -> String {
    let tz = t.time_zone();
    if tz.iana_name().is_none() && !tz.is_unknown() && tz.to_fixed_offset().is_ok() {
        return String::new();
    }
    tz.to_offset_info(t.timestamp()).abbreviation().to_string()
}

/// Go's `time.Time.GoString()`: `time.Date(2024, time.March, 5, …, time.UTC)`.
fn time_go_string(t: &jiff::Zoned) -> String {
    let month = usize::try_from(t.month())
        .ok()
        .and_then(|m| m.checked_sub(1))
        .and_then(|m| crate::sprig::golayout::MONTHS.get(m))
        .copied()
        .unwrap_or("January");
    let tz = t.time_zone();
    let loc = match tz.iana_name() {
        Some("UTC") => "time.UTC".to_string(),
        Some(name) => format!("time.Location({})", quote(name)),
        None if tz.is_unknown() => "time.UTC".to_string(),
        None => "time.Location(\"\")".to_string(),
    };
    format!(
        "time.Date({}, time.{month}, {}, {}, {}, {}, {}, {loc})",
        t.year(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.subsec_nanosecond()
    )
}

/// Go 1.19's `strconv.IsPrint` as inclusive ranges: start, end, start, end…
/// Generated from Go 1.19 (Unicode 13.0.0).
#[rustfmt::skip]
const PRINTABLE: &[u32] = &[
    0x20, 0x7e, 0xa1, 0xac, 0xae, 0x377, 0x37a, 0x37f, 0x384, 0x38a, 0x38c, 0x38c,
    0x38e, 0x3a1, 0x3a3, 0x52f, 0x531, 0x556, 0x559, 0x58a, 0x58d, 0x58f, 0x591, 0x5c7,
    0x5d0, 0x5ea, 0x5ef, 0x5f4, 0x606, 0x61b, 0x61e, 0x6dc, 0x6de, 0x70d, 0x710, 0x74a,
    0x74d, 0x7b1, 0x7c0, 0x7fa, 0x7fd, 0x82d, 0x830, 0x83e, 0x840, 0x85b, 0x85e, 0x85e,
    0x860, 0x86a, 0x8a0, 0x8b4, 0x8b6, 0x8c7, 0x8d3, 0x8e1, 0x8e3, 0x983, 0x985, 0x98c,
    0x98f, 0x990, 0x993, 0x9a8, 0x9aa, 0x9b0, 0x9b2, 0x9b2, 0x9b6, 0x9b9, 0x9bc, 0x9c4,
    0x9c7, 0x9c8, 0x9cb, 0x9ce, 0x9d7, 0x9d7, 0x9dc, 0x9dd, 0x9df, 0x9e3, 0x9e6, 0x9fe,
    0xa01, 0xa03, 0xa05, 0xa0a, 0xa0f, 0xa10, 0xa13, 0xa28, 0xa2a, 0xa30, 0xa32, 0xa33,
    0xa35, 0xa36, 0xa38, 0xa39, 0xa3c, 0xa3c, 0xa3e, 0xa42, 0xa47, 0xa48, 0xa4b, 0xa4d,
    0xa51, 0xa51, 0xa59, 0xa5c, 0xa5e, 0xa5e, 0xa66, 0xa76, 0xa81, 0xa83, 0xa85, 0xa8d,
    0xa8f, 0xa91, 0xa93, 0xaa8, 0xaaa, 0xab0, 0xab2, 0xab3, 0xab5, 0xab9, 0xabc, 0xac5,
    0xac7, 0xac9, 0xacb, 0xacd, 0xad0, 0xad0, 0xae0, 0xae3, 0xae6, 0xaf1, 0xaf9, 0xaff,
    0xb01, 0xb03, 0xb05, 0xb0c, 0xb0f, 0xb10, 0xb13, 0xb28, 0xb2a, 0xb30, 0xb32, 0xb33,
    0xb35, 0xb39, 0xb3c, 0xb44, 0xb47, 0xb48, 0xb4b, 0xb4d, 0xb55, 0xb57, 0xb5c, 0xb5d,
    0xb5f, 0xb63, 0xb66, 0xb77, 0xb82, 0xb83, 0xb85, 0xb8a, 0xb8e, 0xb90, 0xb92, 0xb95,
    0xb99, 0xb9a, 0xb9c, 0xb9c, 0xb9e, 0xb9f, 0xba3, 0xba4, 0xba8, 0xbaa, 0xbae, 0xbb9,
    0xbbe, 0xbc2, 0xbc6, 0xbc8, 0xbca, 0xbcd, 0xbd0, 0xbd0, 0xbd7, 0xbd7, 0xbe6, 0xbfa,
    0xc00, 0xc0c, 0xc0e, 0xc10, 0xc12, 0xc28, 0xc2a, 0xc39, 0xc3d, 0xc44, 0xc46, 0xc48,
    0xc4a, 0xc4d, 0xc55, 0xc56, 0xc58, 0xc5a, 0xc60, 0xc63, 0xc66, 0xc6f, 0xc77, 0xc8c,
    0xc8e, 0xc90, 0xc92, 0xca8, 0xcaa, 0xcb3, 0xcb5, 0xcb9, 0xcbc, 0xcc4, 0xcc6, 0xcc8,
    0xcca, 0xccd, 0xcd5, 0xcd6, 0xcde, 0xcde, 0xce0, 0xce3, 0xce6, 0xcef, 0xcf1, 0xcf2,
    0xd00, 0xd0c, 0xd0e, 0xd10, 0xd12, 0xd44, 0xd46, 0xd48, 0xd4a, 0xd4f, 0xd54, 0xd63,
    0xd66, 0xd7f, 0xd81, 0xd83, 0xd85, 0xd96, 0xd9a, 0xdb1, 0xdb3, 0xdbb, 0xdbd, 0xdbd,
    0xdc0, 0xdc6, 0xdca, 0xdca, 0xdcf, 0xdd4, 0xdd6, 0xdd6, 0xdd8, 0xddf, 0xde6, 0xdef,
    0xdf2, 0xdf4, 0xe01, 0xe3a, 0xe3f, 0xe5b, 0xe81, 0xe82, 0xe84, 0xe84, 0xe86, 0xe8a,
    0xe8c, 0xea3, 0xea5, 0xea5, 0xea7, 0xebd, 0xec0, 0xec4, 0xec6, 0xec6, 0xec8, 0xecd,
    0xed0, 0xed9, 0xedc, 0xedf, 0xf00, 0xf47, 0xf49, 0xf6c, 0xf71, 0xf97, 0xf99, 0xfbc,
    0xfbe, 0xfcc, 0xfce, 0xfda, 0x1000, 0x10c5, 0x10c7, 0x10c7, 0x10cd, 0x10cd, 0x10d0, 0x1248,
    0x124a, 0x124d, 0x1250, 0x1256, 0x1258, 0x1258, 0x125a, 0x125d, 0x1260, 0x1288, 0x128a, 0x128d,
    0x1290, 0x12b0, 0x12b2, 0x12b5, 0x12b8, 0x12be, 0x12c0, 0x12c0, 0x12c2, 0x12c5, 0x12c8, 0x12d6,
    0x12d8, 0x1310, 0x1312, 0x1315, 0x1318, 0x135a, 0x135d, 0x137c, 0x1380, 0x1399, 0x13a0, 0x13f5,
    0x13f8, 0x13fd, 0x1400, 0x167f, 0x1681, 0x169c, 0x16a0, 0x16f8, 0x1700, 0x170c, 0x170e, 0x1714,
    0x1720, 0x1736, 0x1740, 0x1753, 0x1760, 0x176c, 0x176e, 0x1770, 0x1772, 0x1773, 0x1780, 0x17dd,
    0x17e0, 0x17e9, 0x17f0, 0x17f9, 0x1800, 0x180d, 0x1810, 0x1819, 0x1820, 0x1878, 0x1880, 0x18aa,
    0x18b0, 0x18f5, 0x1900, 0x191e, 0x1920, 0x192b, 0x1930, 0x193b, 0x1940, 0x1940, 0x1944, 0x196d,
    0x1970, 0x1974, 0x1980, 0x19ab, 0x19b0, 0x19c9, 0x19d0, 0x19da, 0x19de, 0x1a1b, 0x1a1e, 0x1a5e,
    0x1a60, 0x1a7c, 0x1a7f, 0x1a89, 0x1a90, 0x1a99, 0x1aa0, 0x1aad, 0x1ab0, 0x1ac0, 0x1b00, 0x1b4b,
    0x1b50, 0x1b7c, 0x1b80, 0x1bf3, 0x1bfc, 0x1c37, 0x1c3b, 0x1c49, 0x1c4d, 0x1c88, 0x1c90, 0x1cba,
    0x1cbd, 0x1cc7, 0x1cd0, 0x1cfa, 0x1d00, 0x1df9, 0x1dfb, 0x1f15, 0x1f18, 0x1f1d, 0x1f20, 0x1f45,
    0x1f48, 0x1f4d, 0x1f50, 0x1f57, 0x1f59, 0x1f59, 0x1f5b, 0x1f5b, 0x1f5d, 0x1f5d, 0x1f5f, 0x1f7d,
    0x1f80, 0x1fb4, 0x1fb6, 0x1fc4, 0x1fc6, 0x1fd3, 0x1fd6, 0x1fdb, 0x1fdd, 0x1fef, 0x1ff2, 0x1ff4,
    0x1ff6, 0x1ffe, 0x2010, 0x2027, 0x2030, 0x205e, 0x2070, 0x2071, 0x2074, 0x208e, 0x2090, 0x209c,
    0x20a0, 0x20bf, 0x20d0, 0x20f0, 0x2100, 0x218b, 0x2190, 0x2426, 0x2440, 0x244a, 0x2460, 0x2b73,
    0x2b76, 0x2b95, 0x2b97, 0x2c2e, 0x2c30, 0x2c5e, 0x2c60, 0x2cf3, 0x2cf9, 0x2d25, 0x2d27, 0x2d27,
    0x2d2d, 0x2d2d, 0x2d30, 0x2d67, 0x2d6f, 0x2d70, 0x2d7f, 0x2d96, 0x2da0, 0x2da6, 0x2da8, 0x2dae,
    0x2db0, 0x2db6, 0x2db8, 0x2dbe, 0x2dc0, 0x2dc6, 0x2dc8, 0x2dce, 0x2dd0, 0x2dd6, 0x2dd8, 0x2dde,
    0x2de0, 0x2e52, 0x2e80, 0x2e99, 0x2e9b, 0x2ef3, 0x2f00, 0x2fd5, 0x2ff0, 0x2ffb, 0x3001, 0x303f,
    0x3041, 0x3096, 0x3099, 0x30ff, 0x3105, 0x312f, 0x3131, 0x318e, 0x3190, 0x31e3, 0x31f0, 0x321e,
    0x3220, 0x9ffc, 0xa000, 0xa48c, 0xa490, 0xa4c6, 0xa4d0, 0xa62b, 0xa640, 0xa6f7, 0xa700, 0xa7bf,
    0xa7c2, 0xa7ca, 0xa7f5, 0xa82c, 0xa830, 0xa839, 0xa840, 0xa877, 0xa880, 0xa8c5, 0xa8ce, 0xa8d9,
    0xa8e0, 0xa953, 0xa95f, 0xa97c, 0xa980, 0xa9cd, 0xa9cf, 0xa9d9, 0xa9de, 0xa9fe, 0xaa00, 0xaa36,
    0xaa40, 0xaa4d, 0xaa50, 0xaa59, 0xaa5c, 0xaac2, 0xaadb, 0xaaf6, 0xab01, 0xab06, 0xab09, 0xab0e,
    0xab11, 0xab16, 0xab20, 0xab26, 0xab28, 0xab2e, 0xab30, 0xab6b, 0xab70, 0xabed, 0xabf0, 0xabf9,
    0xac00, 0xd7a3, 0xd7b0, 0xd7c6, 0xd7cb, 0xd7fb, 0xf900, 0xfa6d, 0xfa70, 0xfad9, 0xfb00, 0xfb06,
    0xfb13, 0xfb17, 0xfb1d, 0xfb36, 0xfb38, 0xfb3c, 0xfb3e, 0xfb3e, 0xfb40, 0xfb41, 0xfb43, 0xfb44,
    0xfb46, 0xfbc1, 0xfbd3, 0xfd3f, 0xfd50, 0xfd8f, 0xfd92, 0xfdc7, 0xfdf0, 0xfdfd, 0xfe00, 0xfe19,
    0xfe20, 0xfe52, 0xfe54, 0xfe66, 0xfe68, 0xfe6b, 0xfe70, 0xfe74, 0xfe76, 0xfefc, 0xff01, 0xffbe,
    0xffc2, 0xffc7, 0xffca, 0xffcf, 0xffd2, 0xffd7, 0xffda, 0xffdc, 0xffe0, 0xffe6, 0xffe8, 0xffee,
    0xfffc, 0xfffd, 0x10000, 0x1000b, 0x1000d, 0x10026, 0x10028, 0x1003a, 0x1003c, 0x1003d, 0x1003f, 0x1004d,
    0x10050, 0x1005d, 0x10080, 0x100fa, 0x10100, 0x10102, 0x10107, 0x10133, 0x10137, 0x1018e, 0x10190, 0x1019c,
    0x101a0, 0x101a0, 0x101d0, 0x101fd, 0x10280, 0x1029c, 0x102a0, 0x102d0, 0x102e0, 0x102fb, 0x10300, 0x10323,
    0x1032d, 0x1034a, 0x10350, 0x1037a, 0x10380, 0x1039d, 0x1039f, 0x103c3, 0x103c8, 0x103d5, 0x10400, 0x1049d,
    0x104a0, 0x104a9, 0x104b0, 0x104d3, 0x104d8, 0x104fb, 0x10500, 0x10527, 0x10530, 0x10563, 0x1056f, 0x1056f,
    0x10600, 0x10736, 0x10740, 0x10755, 0x10760, 0x10767, 0x10800, 0x10805, 0x10808, 0x10808, 0x1080a, 0x10835,
    0x10837, 0x10838, 0x1083c, 0x1083c, 0x1083f, 0x10855, 0x10857, 0x1089e, 0x108a7, 0x108af, 0x108e0, 0x108f2,
    0x108f4, 0x108f5, 0x108fb, 0x1091b, 0x1091f, 0x10939, 0x1093f, 0x1093f, 0x10980, 0x109b7, 0x109bc, 0x109cf,
    0x109d2, 0x10a03, 0x10a05, 0x10a06, 0x10a0c, 0x10a13, 0x10a15, 0x10a17, 0x10a19, 0x10a35, 0x10a38, 0x10a3a,
    0x10a3f, 0x10a48, 0x10a50, 0x10a58, 0x10a60, 0x10a9f, 0x10ac0, 0x10ae6, 0x10aeb, 0x10af6, 0x10b00, 0x10b35,
    0x10b39, 0x10b55, 0x10b58, 0x10b72, 0x10b78, 0x10b91, 0x10b99, 0x10b9c, 0x10ba9, 0x10baf, 0x10c00, 0x10c48,
    0x10c80, 0x10cb2, 0x10cc0, 0x10cf2, 0x10cfa, 0x10d27, 0x10d30, 0x10d39, 0x10e60, 0x10e7e, 0x10e80, 0x10ea9,
    0x10eab, 0x10ead, 0x10eb0, 0x10eb1, 0x10f00, 0x10f27, 0x10f30, 0x10f59, 0x10fb0, 0x10fcb, 0x10fe0, 0x10ff6,
    0x11000, 0x1104d, 0x11052, 0x1106f, 0x1107f, 0x110bc, 0x110be, 0x110c1, 0x110d0, 0x110e8, 0x110f0, 0x110f9,
    0x11100, 0x11134, 0x11136, 0x11147, 0x11150, 0x11176, 0x11180, 0x111df, 0x111e1, 0x111f4, 0x11200, 0x11211,
    0x11213, 0x1123e, 0x11280, 0x11286, 0x11288, 0x11288, 0x1128a, 0x1128d, 0x1128f, 0x1129d, 0x1129f, 0x112a9,
    0x112b0, 0x112ea, 0x112f0, 0x112f9, 0x11300, 0x11303, 0x11305, 0x1130c, 0x1130f, 0x11310, 0x11313, 0x11328,
    0x1132a, 0x11330, 0x11332, 0x11333, 0x11335, 0x11339, 0x1133b, 0x11344, 0x11347, 0x11348, 0x1134b, 0x1134d,
    0x11350, 0x11350, 0x11357, 0x11357, 0x1135d, 0x11363, 0x11366, 0x1136c, 0x11370, 0x11374, 0x11400, 0x1145b,
    0x1145d, 0x11461, 0x11480, 0x114c7, 0x114d0, 0x114d9, 0x11580, 0x115b5, 0x115b8, 0x115dd, 0x11600, 0x11644,
    0x11650, 0x11659, 0x11660, 0x1166c, 0x11680, 0x116b8, 0x116c0, 0x116c9, 0x11700, 0x1171a, 0x1171d, 0x1172b,
    0x11730, 0x1173f, 0x11800, 0x1183b, 0x118a0, 0x118f2, 0x118ff, 0x11906, 0x11909, 0x11909, 0x1190c, 0x11913,
    0x11915, 0x11916, 0x11918, 0x11935, 0x11937, 0x11938, 0x1193b, 0x11946, 0x11950, 0x11959, 0x119a0, 0x119a7,
    0x119aa, 0x119d7, 0x119da, 0x119e4, 0x11a00, 0x11a47, 0x11a50, 0x11aa2, 0x11ac0, 0x11af8, 0x11c00, 0x11c08,
    0x11c0a, 0x11c36, 0x11c38, 0x11c45, 0x11c50, 0x11c6c, 0x11c70, 0x11c8f, 0x11c92, 0x11ca7, 0x11ca9, 0x11cb6,
    0x11d00, 0x11d06, 0x11d08, 0x11d09, 0x11d0b, 0x11d36, 0x11d3a, 0x11d3a, 0x11d3c, 0x11d3d, 0x11d3f, 0x11d47,
    0x11d50, 0x11d59, 0x11d60, 0x11d65, 0x11d67, 0x11d68, 0x11d6a, 0x11d8e, 0x11d90, 0x11d91, 0x11d93, 0x11d98,
    0x11da0, 0x11da9, 0x11ee0, 0x11ef8, 0x11fb0, 0x11fb0, 0x11fc0, 0x11ff1, 0x11fff, 0x12399, 0x12400, 0x1246e,
    0x12470, 0x12474, 0x12480, 0x12543, 0x13000, 0x1342e, 0x14400, 0x14646, 0x16800, 0x16a38, 0x16a40, 0x16a5e,
    0x16a60, 0x16a69, 0x16a6e, 0x16a6f, 0x16ad0, 0x16aed, 0x16af0, 0x16af5, 0x16b00, 0x16b45, 0x16b50, 0x16b59,
    0x16b5b, 0x16b61, 0x16b63, 0x16b77, 0x16b7d, 0x16b8f, 0x16e40, 0x16e9a, 0x16f00, 0x16f4a, 0x16f4f, 0x16f87,
    0x16f8f, 0x16f9f, 0x16fe0, 0x16fe4, 0x16ff0, 0x16ff1, 0x17000, 0x187f7, 0x18800, 0x18cd5, 0x18d00, 0x18d08,
    0x1b000, 0x1b11e, 0x1b150, 0x1b152, 0x1b164, 0x1b167, 0x1b170, 0x1b2fb, 0x1bc00, 0x1bc6a, 0x1bc70, 0x1bc7c,
    0x1bc80, 0x1bc88, 0x1bc90, 0x1bc99, 0x1bc9c, 0x1bc9f, 0x1d000, 0x1d0f5, 0x1d100, 0x1d126, 0x1d129, 0x1d172,
    0x1d17b, 0x1d1e8, 0x1d200, 0x1d245, 0x1d2e0, 0x1d2f3, 0x1d300, 0x1d356, 0x1d360, 0x1d378, 0x1d400, 0x1d454,
    0x1d456, 0x1d49c, 0x1d49e, 0x1d49f, 0x1d4a2, 0x1d4a2, 0x1d4a5, 0x1d4a6, 0x1d4a9, 0x1d4ac, 0x1d4ae, 0x1d4b9,
    0x1d4bb, 0x1d4bb, 0x1d4bd, 0x1d4c3, 0x1d4c5, 0x1d505, 0x1d507, 0x1d50a, 0x1d50d, 0x1d514, 0x1d516, 0x1d51c,
    0x1d51e, 0x1d539, 0x1d53b, 0x1d53e, 0x1d540, 0x1d544, 0x1d546, 0x1d546, 0x1d54a, 0x1d550, 0x1d552, 0x1d6a5,
    0x1d6a8, 0x1d7cb, 0x1d7ce, 0x1da8b, 0x1da9b, 0x1da9f, 0x1daa1, 0x1daaf, 0x1e000, 0x1e006, 0x1e008, 0x1e018,
    0x1e01b, 0x1e021, 0x1e023, 0x1e024, 0x1e026, 0x1e02a, 0x1e100, 0x1e12c, 0x1e130, 0x1e13d, 0x1e140, 0x1e149,
    0x1e14e, 0x1e14f, 0x1e2c0, 0x1e2f9, 0x1e2ff, 0x1e2ff, 0x1e800, 0x1e8c4, 0x1e8c7, 0x1e8d6, 0x1e900, 0x1e94b,
    0x1e950, 0x1e959, 0x1e95e, 0x1e95f, 0x1ec71, 0x1ecb4, 0x1ed01, 0x1ed3d, 0x1ee00, 0x1ee03, 0x1ee05, 0x1ee1f,
    0x1ee21, 0x1ee22, 0x1ee24, 0x1ee24, 0x1ee27, 0x1ee27, 0x1ee29, 0x1ee32, 0x1ee34, 0x1ee37, 0x1ee39, 0x1ee39,
    0x1ee3b, 0x1ee3b, 0x1ee42, 0x1ee42, 0x1ee47, 0x1ee47, 0x1ee49, 0x1ee49, 0x1ee4b, 0x1ee4b, 0x1ee4d, 0x1ee4f,
    0x1ee51, 0x1ee52, 0x1ee54, 0x1ee54, 0x1ee57, 0x1ee57, 0x1ee59, 0x1ee59, 0x1ee5b, 0x1ee5b, 0x1ee5d, 0x1ee5d,
    0x1ee5f, 0x1ee5f, 0x1ee61, 0x1ee62, 0x1ee64, 0x1ee64, 0x1ee67, 0x1ee6a, 0x1ee6c, 0x1ee72, 0x1ee74, 0x1ee77,
    0x1ee79, 0x1ee7c, 0x1ee7e, 0x1ee7e, 0x1ee80, 0x1ee89, 0x1ee8b, 0x1ee9b, 0x1eea1, 0x1eea3, 0x1eea5, 0x1eea9,
    0x1eeab, 0x1eebb, 0x1eef0, 0x1eef1, 0x1f000, 0x1f02b, 0x1f030, 0x1f093, 0x1f0a0, 0x1f0ae, 0x1f0b1, 0x1f0bf,
    0x1f0c1, 0x1f0cf, 0x1f0d1, 0x1f0f5, 0x1f100, 0x1f1ad, 0x1f1e6, 0x1f202, 0x1f210, 0x1f23b, 0x1f240, 0x1f248,
    0x1f250, 0x1f251, 0x1f260, 0x1f265, 0x1f300, 0x1f6d7, 0x1f6e0, 0x1f6ec, 0x1f6f0, 0x1f6fc, 0x1f700, 0x1f773,
    0x1f780, 0x1f7d8, 0x1f7e0, 0x1f7eb, 0x1f800, 0x1f80b, 0x1f810, 0x1f847, 0x1f850, 0x1f859, 0x1f860, 0x1f887,
    0x1f890, 0x1f8ad, 0x1f8b0, 0x1f8b1, 0x1f900, 0x1f978, 0x1f97a, 0x1f9cb, 0x1f9cd, 0x1fa53, 0x1fa60, 0x1fa6d,
    0x1fa70, 0x1fa74, 0x1fa78, 0x1fa7a, 0x1fa80, 0x1fa86, 0x1fa90, 0x1faa8, 0x1fab0, 0x1fab6, 0x1fac0, 0x1fac2,
    0x1fad0, 0x1fad6, 0x1fb00, 0x1fb92, 0x1fb94, 0x1fbca, 0x1fbf0, 0x1fbf9, 0x20000, 0x2a6dd, 0x2a700, 0x2b734,
    0x2b740, 0x2b81d, 0x2b820, 0x2cea1, 0x2ceb0, 0x2ebe0, 0x2f800, 0x2fa1d, 0x30000, 0x3134a, 0xe0100, 0xe01ef,
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! Expected outputs come from Go 1.19.8 (`fmt`, `strconv`), run on the
    //! same arguments.

    use super::*;
    use proptest::prelude::*;

    use crate::value::shorthand::*;

    fn check_printf(cases: Vec<(&str, Vec<Value>, &str)>) {
        let failures: Vec<String> = cases
            .into_iter()
            .filter_map(|(format, args, want)| {
                let got = sprintf(format, &args);
                (got != want).then(|| format!("sprintf({format:?}): got {got:?}, want {want:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn printf_matches_go() {
        check_printf(vec![
            (
                "%05d|%x|%q",
                vec![f(7.0), f(7.0), s("world")],
                "%!d(float64=00007)|0x1.cp+02|\"world\"",
            ),
            (
                "%v|%v|%v|%v|%v|%v|%v|%v|%v|%v",
                vec![
                    f(7.0),
                    f(1e+06),
                    fb(0x419d6f3454000000),
                    f(5432.0),
                    f(0.0001),
                    f(1e-05),
                    f(3.5),
                    f(f64::NAN),
                    f(f64::INFINITY),
                    f(-0.0),
                ],
                "7|1e+06|1.23456789e+08|5432|0.0001|1e-05|3.5|NaN|+Inf|-0",
            ),
            (
                "%v|%v|%v|%v|%v|%v",
                vec![
                    f(1e+20),
                    f(1e+21),
                    f(123456.0),
                    fb(0x4132d68700000000),
                    f(0.1),
                    fb(0x3fd5555555555555),
                ],
                "1e+20|1e+21|123456|1.234567e+06|0.1|0.3333333333333333",
            ),
            (
                "%05s|%5v|%-5v|%#v|%#v|%#v|%+v|%+d",
                vec![
                    s("ab"),
                    l(vec![Value::Nil, i(1)]),
                    l(vec![Value::Nil]),
                    f(7.0),
                    f(1e+06),
                    f(1e+21),
                    f(7.0),
                    f(7.0),
                ],
                "000ab|[<nil>     1]|[<nil>]|7|1e+06|1e+21|7|%!d(float64=+7)",
            ),
            (
                "%F|%#08x|%#O|%O|%#o|%#b|%x|%#x|%X|%#X",
                vec![
                    f(3.5),
                    i(255),
                    i(15),
                    i(15),
                    i(0),
                    i(5),
                    i(-255),
                    i(-255),
                    i(48879),
                    i(48879),
                ],
                "3.500000|0x000000ff|0o017|0o17|0|0b101|-ff|-0xff|BEEF|0XBEEF",
            ),
            (
                "%#v|%#v|%#v",
                vec![
                    m(vec![
                        ("a", i(1)),
                        ("b", s("x")),
                        ("c", Value::Nil),
                        ("d", l(vec![f(1.5), s("s")])),
                    ]),
                    l(vec![]),
                    s("q"),
                ],
                "map[string]interface {}{\"a\":1, \"b\":\"x\", \"c\":interface {}(nil), \"d\":[]interface {}{1.5, \"s\"}}|[]interface {}{}|\"q\"",
            ),
            (
                "%d|%s|%x|%q|%v",
                vec![
                    l(vec![i(1), f(2.0), s("a"), Value::Nil, Value::Bool(true)]),
                    l(vec![i(1), s("a")]),
                    l(vec![i(255), s("ab"), f(1.0)]),
                    l(vec![s("a"), i(65)]),
                    m(vec![("a", Value::Nil)]),
                ],
                "[1 %!d(float64=2) %!d(string=a) <nil> %!d(bool=true)]|[%!s(int=1) a]|[ff 6162 0x1p+00]|[\"a\" 'A']|map[a:<nil>]",
            ),
            (
                "%.0f|%.0f|%.0f|%.2f|%.1f|%.3g|%.3g|%#g|%#.0f|%#.0e|%#x",
                vec![
                    f(0.5),
                    f(1.5),
                    f(2.5),
                    f(0.125),
                    f(0.25),
                    f(1.0),
                    f(100000.0),
                    f(1.0),
                    f(1.0),
                    f(1.0),
                    f(1.0),
                ],
                "0|2|2|0.12|0.2|1|1e+05|1.00000|1.|1.e+00|0x1.0000p+00",
            ),
            (
                "%v|%v|%+v|% v|%05v|%-8v|",
                vec![
                    f(f64::NAN),
                    f(f64::NEG_INFINITY),
                    f(f64::NAN),
                    f(f64::INFINITY),
                    f(f64::INFINITY),
                    f(f64::NAN),
                ],
                "NaN|-Inf|NaN| Inf| +Inf|NaN     |",
            ),
            (
                "%*d|%-*d|%.*f|%*d|%.*d",
                vec![
                    i(5),
                    i(1),
                    i(-5),
                    i(1),
                    i(2),
                    f(3.25),
                    f(5.0),
                    i(1),
                    i(-1),
                    i(7),
                ],
                "    1|1    |3.25|%!(BADWIDTH)1|%!(BADPREC)7",
            ),
            (
                "%[2]d %[1]d|%[3]d|%[]d|%[x]d|%[1]*d|%d %d %[1]d %d",
                vec![i(1), i(2), i(3), i(4)],
                "2 1|3|%!d(BADINDEX)|%!d(BADINDEX)|2|3 4 1 2",
            ),
            (
                "%!|%z|%|%5.|%.",
                vec![i(1)],
                "%!!(int=1)|%!z(MISSING)|%!|(MISSING)%!|(MISSING)%!.(MISSING)",
            ),
            (
                "%T|%10T|%.3T|%T|%T|%T|%T|%T",
                vec![
                    i(1),
                    s("s"),
                    f(1.5),
                    Value::Nil,
                    l(vec![]),
                    m(vec![]),
                    Value::Bool(true),
                    s("x"),
                ],
                "int|    string|flo|<nil>|[]interface {}|map[string]interface {}|bool|string",
            ),
            (
                "%c|%q|%U|%#U|%+q|%#q|%q|%c|%q",
                vec![
                    i(65),
                    i(128512),
                    i(128512),
                    i(128512),
                    i(128512),
                    s("a`b"),
                    s("\u{ad}\u{7f}\u{1}\u{2028}"),
                    i(-1),
                    i(39),
                ],
                "A|'\u{1f600}'|U+1F600|U+1F600 '\u{1f600}'|'\\U0001f600'|\"a`b\"|\"\\u00ad\\x7f\\x01\\u2028\"|\u{fffd}|'\\''",
            ),
            (
                "%t|%t|%5t|%x|%X|% x|%# x|%.1x|%-8x|",
                vec![
                    Value::Bool(true),
                    i(1),
                    Value::Bool(false),
                    s("h\u{e9}llo"),
                    s("h\u{e9}llo"),
                    s("abc"),
                    s("abc"),
                    s("abc"),
                    s("ab"),
                ],
                "true|%!t(int=1)|false|68c3a96c6c6f|68C3A96C6C6F|61 62 63|0x61 0x62 0x63|61|6162    |",
            ),
            (
                "%e|%E|%g|%G|%.3e|%10.3f|%-10.2e|%+.2e|%x|%X|%b|%.1x",
                vec![
                    fb(0x40934a456d5cfaad),
                    f(1e-07),
                    f(1e-07),
                    f(1e+21),
                    f(0.0),
                    f(-3.25),
                    f(1.0),
                    f(123456.0),
                    f(0.1),
                    f(-0.1),
                    f(7.0),
                    f(1.0),
                ],
                "1.234568e+03|1.000000E-07|1e-07|1E+21|0.000e+00|    -3.250|1.00e+00  |+1.23e+05|0x1.999999999999ap-04|-0X1.999999999999AP-04|7881299347898368p-50|0x1.0p+00",
            ),
            ("%d %d", vec![i(1)], "1 %!d(MISSING)"),
            (
                "%d",
                vec![i(1), f(2.0), s("x"), Value::Nil],
                "1%!(EXTRA float64=2, string=x, <nil>)",
            ),
            ("%[2]d", vec![i(1), i(2), i(3)], "2"),
            (
                "%05d|%+05d|% d|%+ d|%-05d|%.3d|%8.3d|%.0d|%5.0d|%08.3d",
                vec![
                    i(-42),
                    i(42),
                    i(42),
                    i(42),
                    i(42),
                    i(7),
                    i(-7),
                    i(0),
                    i(0),
                    i(7),
                ],
                "-0042|+0042| 42|+42|42   |007|    -007||     |     007",
            ),
            (
                "%#X|%#.3g|%#.3x|%#e|%#v|%#b|%#F|%#G",
                vec![
                    f(1.0),
                    f(1.0),
                    f(1.0),
                    f(1.0),
                    f(1.0),
                    f(1.0),
                    f(1.0),
                    f(1e+07),
                ],
                "0X1.P+00|1.00|0x1.000p+00|1.000000e+00|1|4503599627370496p-52|1.000000|1.00000E+07",
            ),
            (
                "%.1e|%.1e|%.2e|%.0e|%.15e|%.16e|%.17e|%.20e|%.3g|%.17g|%.20g",
                vec![
                    f(1.25),
                    f(1.35),
                    f(1.125),
                    f(2.5),
                    f(0.1),
                    f(0.1),
                    f(0.1),
                    f(0.1),
                    f(2.0005),
                    f(0.1),
                    f(0.1),
                ],
                "1.2e+00|1.4e+00|1.12e+00|2e+00|1.000000000000000e-01|1.0000000000000001e-01|1.00000000000000006e-01|1.00000000000000005551e-01|2|0.10000000000000001|0.10000000000000000555",
            ),
            (
                "%b|%x|%x|%x|%.0x|%.1x|%X",
                vec![
                    f(0.0),
                    f(0.0),
                    f(5e-324),
                    fb(0x7fefffffffffffff),
                    f(1.5),
                    f(1.96875),
                    f(-1e-300),
                ],
                "0p-1074|0x0p+00|0x1p-1074|0x1.fffffffffffffp+1023|0x1p+01|0x1.0p+01|-0X1.56E1FC2F8F359P-997",
            ),
            (
                "%#p|%d|%p",
                vec![i(5), Value::Nil, s("s")],
                "%!p(int=5)|%!d(<nil>)|%!p(string=s)",
            ),
            (
                "%w|%w",
                vec![i(1), l(vec![i(1)])],
                "%!w(int=1)|%!w([]interface {}=[1])",
            ),
            (
                "%.2s|%.1q|%5.1s|%-5q|%#5q",
                vec![
                    s("h\u{e9}llo"),
                    s("h\u{e9}llo"),
                    s("h\u{e9}llo"),
                    s("a"),
                    s("b"),
                ],
                "h\u{e9}|\"h\"|    h|\"a\"  |  `b`",
            ),
            (
                "%#d|%#s",
                vec![f(7.0), i(7)],
                "%!d(float64=7.00000)|%!s(int=7)",
            ),
            (
                "%6.2v|%.3v|%#v|%#v",
                vec![f(3.25), s("abcdef"), f(1e+21), fb(0x419d6f3454000000)],
                "   3.2|abc|1e+21|1.23456789e+08",
            ),
            ("100%%|%5%|%-5%|%", vec![], "100%|%|%|%!(NOVERB)"),
            ("%s and %s", vec![s("a")], "a and %!s(MISSING)"),
            (
                "%s",
                vec![m(vec![
                    ("a", m(vec![("z", Value::Nil)])),
                    ("b", l(vec![i(1), s("x")])),
                ])],
                "map[a:map[z:<nil>] b:[%!s(int=1) x]]",
            ),
            (
                "%v %v %v",
                vec![Value::Bool(true), Value::Nil, s("x")],
                "true <nil> x",
            ),
            (
                "%x|%X|%o|%b|%c|%U",
                vec![
                    i(-9223372036854775808),
                    i(9223372036854775807),
                    i(-8),
                    i(-5),
                    i(1114112),
                    i(-1),
                ],
                "-8000000000000000|7FFFFFFFFFFFFFFF|-10|-101|\u{fffd}|U+FFFFFFFFFFFFFFFF",
            ),
            (
                "%#U|%#U|%.6U|%-10U|",
                vec![i(127), i(55296), i(65), i(65)],
                "U+007F|U+D800|U+000041|U+0041    |",
            ),
            (
                "%8.3f|%-8.3f|%08.3f|%+08.3f|% 08.3f|%08.3f",
                vec![
                    f(-1.5),
                    f(1.5),
                    f(-1.5),
                    f(1.5),
                    f(1.5),
                    f(f64::NEG_INFINITY),
                ],
                "  -1.500|1.500   |-001.500|+001.500| 001.500|    -Inf",
            ),
            (
                "%010s|%-010s|%.0s|%3c|%-3c|%03c",
                vec![s("h\u{e9}llo"), s("x"), s("abc"), i(120), i(121), i(122)],
                "00000h\u{e9}llo|x         ||  x|y  |00z",
            ),
            (
                "%[1]d %[1]x %[1]o %[1]q %[1]c",
                vec![i(97)],
                "97 61 141 'a' a",
            ),
            ("%[3]*.[2]*[1]f", vec![f(12.0), i(2), i(6)], " 12.00"),
            ("%d %d %#[1]x %#x", vec![i(16), i(17)], "16 17 0x10 0x11"),
            ("%.[2]d", vec![i(7)], "%!d(BADINDEX)"),
            ("%[5]d", vec![i(1)], "%!d(BADINDEX)"),
            ("%[0]d", vec![i(1)], "%!d(BADINDEX)"),
            ("%[1]", vec![i(1)], "%!(NOVERB)"),
            (
                "%.*d|%*.*f",
                vec![i(1000000000), i(1), f(1.0), i(1), f(3.5)],
                "%!(BADPREC)1|%!(BADWIDTH)3.5",
            ),
            (
                "%\u{e9}|%[1]\u{e9}",
                vec![i(1)],
                "%!\u{e9}(int=1)|%!\u{e9}(int=1)",
            ),
            (
                "%v",
                vec![l(vec![l(vec![]), m(vec![]), l(vec![Value::Nil])])],
                "[[] map[] [<nil>]]",
            ),
            (
                "%+q|%+q|%#+q",
                vec![s("h\u{e9}llo\u{0}"), s("\u{1f600}"), s("\u{e9}")],
                "\"h\\u00e9llo\\x00\"|\"\\U0001f600\"|`\u{e9}`",
            ),
            (
                "%s|%v|%d",
                vec![l(vec![]), m(vec![]), m(vec![("a", f(1.0)), ("b", i(2))])],
                "[]|map[]|map[%!d(string=a):%!d(float64=1) %!d(string=b):2]",
            ),
        ]);
    }

    /// A sample of the randomly generated formats and arguments that this
    /// implementation was compared against Go with.
    #[test]
    fn printf_random_sample_matches_go() {
        check_printf(vec![
            ("%1.1t", vec![fb(0xbe112d561e4c8321)], "%!t(float64=-1e-09)"),
            (
                "%.9t",
                vec![fb(0x43575949d2970a29)],
                "%!t(float64=2.62883923e+16)",
            ),
            ("%15b", vec![f(f64::INFINITY)], "           +Inf"),
            (
                "% #21x",
                vec![fb(0x41c592449d8429f2)],
                " 0x1.592449d8429f2p+29",
            ),
            (
                "%+-7.14q",
                vec![fb(0xc26b190004a16e61)],
                "%!q(float64=-931068388619.45)",
            ),
            (
                "%+-.23X",
                vec![fb(0x3efd744fad2222b9)],
                "+0X1.D744FAD2222B90000000000P-16",
            ),
            ("%0-7F", vec![fb(0xbee4e224fc3f4265)], "-0.000010"),
            (
                "%f",
                vec![fb(0xc3e4c0142cc67e6a)],
                "-11961738070626357248.000000",
            ),
            ("%+.e", vec![fb(0xf15ef053e116b8bd)], "-1e+238"),
            (
                "%#-#.4d",
                vec![fb(0x405758c60beb9e93)],
                "%!d(float64=93.39)",
            ),
            (
                "%#.326x",
                vec![fb(0xf4ca2ce34a94432c)],
                "-0x1.a2ce34a94432c0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000p+845",
            ),
            ("%.0f", vec![fb(0xc3983410fe9dc370)], "-436009410363448320"),
            ("%+v", vec![fb(0x3facb00334cde75d)], "0.05603036899169809"),
            (
                "%#20x",
                vec![fb(0x43303b37b4316367)],
                "0x1.03b37b4316367p+52",
            ),
            (
                "%+-0.18F",
                vec![fb(0xbe84e873d137794f)],
                "-0.000000155776867502",
            ),
            ("%g", vec![f(572.125)], "572.125"),
            ("%.X", vec![fb(0x43d64f6e6b810991)], "0X1P+62"),
            (
                "%.20f",
                vec![fb(0x512287b8d9bd63f6)],
                "70308542659797516019977257900801021810423033153397423057327066132390174483948765184.00000000000000000000",
            ),
            (
                "%22.10E",
                vec![fb(0xc1a73d399d5d2ddb)],
                "     -1.9494420668E+08",
            ),
            ("%014.13F", vec![fb(0x2051a336a142e8ca)], "0.0000000000000"),
            ("%09.G", vec![fb(0x10000000000000)], "0002E-308"),
            ("% 0x", vec![fb(0x438f9888c7050700)], " 0x1.f9888c70507p+57"),
            ("%.0f", vec![f(1.5)], "2"),
            (
                "%8x",
                vec![fb(0xc23678545978899f)],
                "-0x1.678545978899fp+36",
            ),
            (
                "%15.20G",
                vec![fb(0x1bf9a85e2f6a3eae)],
                "6.4836568309813426984E-174",
            ),
            (
                "%014.14x",
                vec![fb(0x4350e46340341abc)],
                "0x1.0e46340341abc0p+54",
            ),
            ("%#-4.6x", vec![f(12538.0)], "0x1.87d000p+13"),
            ("%x", vec![fb(0x5bb4698d1835906)], "0x1.b4698d1835906p-932"),
            (
                "%.20f",
                vec![fb(0xceebd2bbd3a5827b)],
                "-1536228165026544735877662430628405464135878173265767471408766877018619904.00000000000000000000",
            ),
            (
                "% 8.23s",
                vec![fb(0x4192b9887012f211)],
                "%!s(float64= 78537244.018501535058022)",
            ),
            (
                "%.17g",
                vec![fb(0x3e7538f63a8a37a2)],
                "7.9059999999999995e-08",
            ),
            ("%d", vec![f(265.5)], "%!d(float64=265.5)"),
            (
                "%g",
                vec![fb(0xbe475ed277224e54)],
                "-1.0882690058389369e-08",
            ),
            ("%-5g", vec![fb(0x444a2d2adaa524df)], "9.6574e+20"),
            (
                "%-+b",
                vec![fb(0xc1134aab424c31f5)],
                "-5430123969655285p-34",
            ),
            (
                "%# v",
                vec![fb(0x9f5543b102cbfbc6)],
                "-9.680010238077788e-158",
            ),
            (
                "%.17q",
                vec![fb(0x41889b83eb417fad)],
                "%!q(float64=51605629.406981803)",
            ),
            ("%4E", vec![fb(0xc07db3222bed0ed)], "1.041251E-250"),
            ("%+e", vec![fb(0xc1146c93b87d880c)], "-3.346289e+05"),
            (
                "%v",
                vec![fb(0xd9ddd194afaa80cd)],
                "-7.884725241696824e+124",
            ),
            ("%.3e", vec![f(1788.0)], "1.788e+03"),
            ("%.20f", vec![f(82.875)], "82.87500000000000000000"),
            ("%.0f", vec![fb(0xc08f8da862db0b04)], "-1010"),
            (
                "%G",
                vec![fb(0x6564117eab6c8cf7)],
                "2.6023089198021544E+180",
            ),
            ("%+ .8g", vec![fb(0x42af60e0fb289376)], "+1.7250476e+13"),
            ("%e", vec![fb(0x433f6fcd82a6439d)], "8.848653e+15"),
            (
                "%21.10e",
                vec![fb(0x3db34b45b6892d4a)],
                "     1.7547820322e-11",
            ),
            ("%0#-s", vec![f(1e+21)], "%!s(float64=1.00000e+21)"),
            ("%  #17e", vec![fb(0x538e1ee6db105d28)], "     3.141477e+94"),
            ("%-10.1E", vec![fb(0xbff9d261eaa0efaf)], "-1.6E+00  "),
            ("%0#19f", vec![i(1)], "%!f(int=0000000000000000001)"),
            ("%-o", vec![i(44308)], "126424"),
            ("%0 .e", vec![i(10)], "%!e(int= 10)"),
            ("%#020v", vec![i(-17533)], "-0000000000000017533"),
            ("%18.19c", vec![i(-61)], "                 \u{fffd}"),
            ("%s", vec![i(6)], "%!s(int=6)"),
            ("%.22O", vec![i(54)], "0o0000000000000000000066"),
            ("%0o", vec![i(4116699432225198648)], "344413505121065351070"),
            ("%.19d", vec![i(-35758)], "-0000000000000035758"),
            (
                "%-.18f",
                vec![i(1789768380278554384)],
                "%!f(int=1789768380278554384)",
            ),
            ("%+#5.10e", vec![i(44623)], "%!e(int=+0000044623)"),
            ("%.22o", vec![i(-5)], "-0000000000000000000005"),
            (
                "%#0q",
                vec![s("\u{df}\u{1f8b0}x\nv")],
                "\"\u{df}\u{1f8b0}x\\nv\"",
            ),
            ("%#.2x", vec![s("\u{e9}\"\u{80}")], "0xc3a9"),
            (
                "%0t",
                vec![s("\u{1}\u{1f600}")],
                "%!t(string=\u{1}\u{1f600})",
            ),
            ("%00.3s", vec![s("\u{a0}\u{ad}\n")], "\u{a0}\u{ad}\n"),
            (
                "% #.18v",
                vec![s("m\u{ad}'\u{ad}\u{d}e")],
                "\"m\\u00ad'\\u00ad\\re\"",
            ),
            (
                "%#5x",
                vec![s("\u{ad}wr\u{1f8b0}>\u{feff}\u{7f}")],
                "0xc2ad7772f09fa2b03eefbbbf7f",
            ),
            ("% +13.22t", vec![Value::Nil], "%!t(<nil>)"),
            (
                "%-20q",
                vec![s("\n\u{1f600}\u{ad}\\\u{b}py")],
                "\"\\n\u{1f600}\\u00ad\\\\\\vpy\"   ",
            ),
            ("%.15v", vec![s("")], ""),
            ("%++1s", vec![Value::Nil], "%!s(<nil>)"),
            (
                "%+d",
                vec![s("f\u{feff} \u{80}\u{80}0q")],
                "%!d(string=f\u{feff} \u{80}\u{80}0q)",
            ),
            ("%011t", vec![s("hpb%/")], "%!t(string=000000hpb%/)"),
            ("%s", vec![Value::Nil], "%!s(<nil>)"),
            ("%-0.x", vec![Value::Nil], "%!x(<nil>)"),
            (
                "%#+23.22s",
                vec![i(-4415675236837287184)],
                "%!s(int=-0004415675236837287184)",
            ),
            ("%-.c", vec![l(vec![Value::Bool(true)])], "[%!c(bool=true)]"),
            (
                "%16t",
                vec![fb(0x466ad2f99210bad2)],
                "%!t(float64=1.7001806317892444e+31)",
            ),
            ("%+.14X", vec![Value::Bool(false)], "%!X(bool=false)"),
            (
                "% -23.0s",
                vec![m(vec![
                    (
                        "",
                        l(vec![l(vec![i(-48565), Value::Bool(false)]), l(vec![])]),
                    ),
                    ("l\ta\u{1f}h", l(vec![i(44608)])),
                ])],
                "map[                       :[[%!s(int=-48565                 ) %!s(bool=false                  )] []]                        :[%!s(int= 44608                 )]]",
            ),
            ("%.12s", vec![Value::Bool(false)], "%!s(bool=false)"),
            (
                "ce-q",
                vec![Value::Bool(true), Value::Bool(true)],
                "ce-q%!(EXTRA bool=true, bool=true)",
            ),
            ("ct*cg*%%zsf*t", vec![], "ct*cg*%zsf*t"),
            ("v 12#", vec![i(1114112)], "v 12#%!(EXTRA int=1114112)"),
            (
                "s[2]q[1]%%t!",
                vec![
                    l(vec![
                        f(689.0),
                        m(vec![
                            ("", i(39017)),
                            ("\u{e9}&\u{8}&", fb(0xf48262332de39b66)),
                            ("\u{fffd}\u{61c}", Value::Nil),
                        ]),
                        l(vec![Value::Bool(false)]),
                    ]),
                    i(28286),
                    i(14),
                ],
                "s[2]q[1]%t!%!(EXTRA []interface {}=[689 map[:39017 \u{e9}&\u{8}&:-1.684755091253572e+253 \u{fffd}\u{61c}:<nil>] [false]], int=28286, int=14)",
            ),
            (
                "]",
                vec![l(vec![i(-10), i(55296), f(954.125)]), i(-9)],
                "]%!(EXTRA []interface {}=[-10 55296 954.125], int=-9)",
            ),
            ("-1212z-+", vec![i(34273)], "-1212z-+%!(EXTRA int=34273)"),
            ("5t%%%de!", vec![], "5t%%!d(MISSING)e!"),
            (
                "%g\u{e9}",
                vec![Value::Bool(false), i(3), i(-6328644928582244846)],
                "%!g(bool=false)\u{e9}%!(EXTRA int=3, int=-6328644928582244846)",
            ),
            (
                "%5!s",
                vec![fb(0x3dc8cdcb438f0e6c), i(-4)],
                "%!!(float64=4.5118000000000004e-11)s%!(EXTRA int=-4)",
            ),
            ("%x +d[2]#%%%", vec![], "%!x(MISSING) +d[2]#%%!(NOVERB)"),
            (
                "5z%%z]%[",
                vec![i(5), f(-454440.0), i(12)],
                "5z%z]%!(NOVERB)",
            ),
            (
                "%+.sqcet!",
                vec![i(0), fb(0x73da2581a2af5976), i(-4)],
                "%!s(int=)qcet!%!(EXTRA float64=1.1700115133150828e+250, int=-4)",
            ),
            (
                "gx5[1][3]e#+",
                vec![l(vec![])],
                "gx5[1][3]e#+%!(EXTRA []interface {}=[])",
            ),
            (
                "cd",
                vec![i(5488), m(vec![("", l(vec![fb(0x40d66b3fdbebb737)]))])],
                "cd%!(EXTRA int=5488, map[string]interface {}=map[:[22956.997797898217]])",
            ),
            (
                "%% 5v",
                vec![m(vec![(" \\ \u{e9}z<o", l(vec![fb(0xc64afb012ae8e015)]))])],
                "% 5v%!(EXTRA map[string]interface {}=map[ \\ \u{e9}z<o:[-4.2752287487940674e+30]])",
            ),
            (
                "[0][2]#012",
                vec![fb(0xbe879ea669cc2ce4), fb(0xc10bccff289c3f06)],
                "[0][2]#012%!(EXTRA float64=-1.7598067794002857e-07, float64=-227743.89482926595)",
            ),
            (
                " [2]x",
                vec![
                    fb(0xb3ef84e039ace1f5),
                    m(vec![(
                        "\u{df}\u{feff}\u{3000}y\u{e000}\u{c}",
                        i(-9223372036854775808),
                    )]),
                ],
                " [2]x%!(EXTRA float64=-1.5691480586484741e-58, map[string]interface {}=map[\u{df}\u{feff}\u{3000}y\u{e000}\u{c}:-9223372036854775808])",
            ),
            (
                "%%ag12fce[1]z[1]",
                vec![
                    Value::Bool(false),
                    m(vec![("", l(vec![])), ("0'", Value::Nil)]),
                ],
                "%ag12fce[1]z[1]%!(EXTRA bool=false, map[string]interface {}=map[:[] 0':<nil>])",
            ),
            (
                "12fc0g0%[[3] T+",
                vec![Value::Bool(true), i(12), i(-94)],
                "12fc0g0%! (BADINDEX)T+",
            ),
            ("\u{e9}[1]s", vec![i(7)], "\u{e9}[1]s%!(EXTRA int=7)"),
            ("[2][2]", vec![], "[2][2]"),
            (
                "f[1]et%z\u{e9}a[1]]",
                vec![],
                "f[1]et%!z(MISSING)\u{e9}a[1]]",
            ),
            (
                "v[2]%ag[1]c][3]dss",
                vec![m(vec![
                    ("x><m", Value::Bool(false)),
                    ("\u{ad}tr\u{ad}", i(-17776)),
                    (
                        "\u{df}",
                        l(vec![
                            fb(0x3d05c360bcab4aaf),
                            s("\u{10ffff}z\u{7}\\"),
                            i(-9223372036854775808),
                        ]),
                    ),
                ])],
                "v[2]map[%!a(string=x><m):%!a(bool=false) %!a(string=\u{ad}tr\u{ad}):%!a(int=-17776) %!a(string=\u{df}):[%!a(float64=9.664799999999999e-15) %!a(string=\u{10ffff}z\u{7}\\) %!a(int=-9223372036854775808)]]g[1]c][3]dss",
            ),
            ("azq#[#*x%", vec![], "azq#[#*x%!(NOVERB)"),
            ("Ug.f a", vec![i(14)], "Ug.f a%!(EXTRA int=14)"),
            ("#[3][0]5", vec![i(-20960)], "#[3][0]5%!(EXTRA int=-20960)"),
            (
                "s\u{e9}U%*",
                vec![m(vec![("", Value::Bool(true))]), Value::Bool(true)],
                "s\u{e9}U%!(BADWIDTH)%!(NOVERB)%!(EXTRA bool=true)",
            ),
            ("e12-\u{e9}#fc-cf[0]0", vec![], "e12-\u{e9}#fc-cf[0]0"),
            (
                "%",
                vec![i(-9), Value::Nil, i(15), f(943.875)],
                "%!(NOVERB)%!(EXTRA int=-9, <nil>, int=15, float64=943.875)",
            ),
            (
                "gxf[0]!%[1]-",
                vec![i(11), i(5), i(7)],
                "gxf[0]!%!-(int=11)",
            ),
            (
                "d",
                vec![fb(0x3f1aeff64ce6f61f), i(5)],
                "d%!(EXTRA float64=0.00010275784300169858, int=5)",
            ),
            (
                "#v%%",
                vec![i(13), l(vec![s("\u{feff}\u{3000}\u{1f600}x"), f(89538.0)])],
                "#v%%!(EXTRA int=13, []interface {}=[\u{feff}\u{3000}\u{1f600}x 89538])",
            ),
            (
                "vae U",
                vec![fb(0x3c948767524e0fdb), fb(0x43e280c8fa66e289)],
                "vae U%!(EXTRA float64=7.122400000000001e-17, float64=1.0666291739961346e+19)",
            ),
            ("%%55", vec![], "%55"),
            (
                "deaU[\u{e9}+ 5q[0]",
                vec![i(286225185009091166)],
                "deaU[\u{e9}+ 5q[0]%!(EXTRA int=286225185009091166)",
            ),
            (
                "[2]%c[%T%U[e*U",
                vec![],
                "[2]%!c(MISSING)[%!T(MISSING)%!U(MISSING)[e*U",
            ),
            ("%fxgc[3]. ", vec![i(17)], "%!f(int=17)xgc[3]. "),
            (
                "a][*",
                vec![m(vec![])],
                "a][*%!(EXTRA map[string]interface {}=map[])",
            ),
            (
                "\u{e9} v%[",
                vec![Value::Bool(true), s("o\u{1fad7}&")],
                "\u{e9} v%!(NOVERB)",
            ),
            (
                "a%12%%12]gUf+\u{e9}%",
                vec![i(-6), l(vec![]), fb(0xbef3b49b330ccfab)],
                "a%%!](int=          -6)gUf+\u{e9}%!(NOVERB)%!(EXTRA []interface {}=[], float64=-1.8792622714161312e-05)",
            ),
            (
                "..x\u{e9}**5[1]s",
                vec![l(vec![f(923.875), Value::Bool(false), Value::Nil])],
                "..x\u{e9}**5[1]s%!(EXTRA []interface {}=[923.875 false <nil>])",
            ),
            ("#.", vec![i(-8)], "#.%!(EXTRA int=-8)"),
            (
                "qUa#]",
                vec![fb(0x3c3b0f3d48e82ca3), i(-3)],
                "qUa#]%!(EXTRA float64=1.4669e-18, int=-3)",
            ),
            (
                "]t+",
                vec![
                    l(vec![
                        m(vec![("f0", s("r\u{3000}`\u{c}"))]),
                        fb(0x3e10f9505df11027),
                    ]),
                    i(-6),
                ],
                "]t+%!(EXTRA []interface {}=[map[f0:r\u{3000}`\u{c}] 9.8801e-10], int=-6)",
            ),
            (
                "[0][3]x[2]gv",
                vec![Value::Bool(true)],
                "[0][3]x[2]gv%!(EXTRA bool=true)",
            ),
            ("-s%%0*x%s", vec![i(-47103)], "-s%0*x%!s(int=-47103)"),
            (
                "#]T ",
                vec![
                    l(vec![
                        m(vec![("/\u{1f600}", s("</\u{80}v\u{4e16}"))]),
                        i(11110),
                    ]),
                    fb(0xbecda43b41bc91cf),
                ],
                "#]T %!(EXTRA []interface {}=[map[/\u{1f600}:</\u{80}v\u{4e16}] 11110], float64=-3.5335456355525698e-06)",
            ),
            (
                "x-%[1]%%t\u{e9}[1]z[d",
                vec![i(-9501), m(vec![("\u{a0}", Value::Nil)])],
                "x-%%!t(int=-9501)\u{e9}[1]z[d",
            ),
            (
                "+%#",
                vec![l(vec![i(8793088513516994257)]), i(-9)],
                "+%!(NOVERB)%!(EXTRA []interface {}=[8793088513516994257], int=-9)",
            ),
            (
                "%% ",
                vec![fb(0x89798b9441643d75)],
                "% %!(EXTRA float64=-5.070299711297605e-263)",
            ),
        ]);
    }

    #[test]
    fn print_and_println_match_go() {
        let cases: Vec<(Vec<Value>, &str, &str)> = vec![
            (
                vec![s("a"), i(1), i(2), s("b"), Value::Nil, f(3.0), s("c")],
                "a1 2b<nil> 3c",
                "a 1 2 b <nil> 3 c\n",
            ),
            (
                vec![
                    i(1),
                    f(2.5),
                    Value::Bool(true),
                    Value::Nil,
                    l(vec![i(1), s("a")]),
                ],
                "1 2.5 true <nil> [1 a]",
                "1 2.5 true <nil> [1 a]\n",
            ),
            (vec![s("x"), s("y")], "xy", "x y\n"),
            (vec![], "", "\n"),
            (
                vec![m(vec![("k", f(1.5))]), s("s"), m(vec![])],
                "map[k:1.5]smap[]",
                "map[k:1.5] s map[]\n",
            ),
        ];
        for (args, want_print, want_println) in cases {
            assert_eq!(sprint(&args), want_print);
            assert_eq!(sprintln(&args), want_println);
        }
    }

    #[test]
    fn quote_matches_go() {
        let cases: Vec<(&str, &str, &str)> = vec![
            ("", "\"\"", "\"\""),
            ("hello", "\"hello\"", "\"hello\""),
            ("a\"b\\c", "\"a\\\"b\\\\c\"", "\"a\\\"b\\\\c\""),
            (
                "\u{7}\u{8}\u{c}\n\u{d}\t\u{b}",
                "\"\\a\\b\\f\\n\\r\\t\\v\"",
                "\"\\a\\b\\f\\n\\r\\t\\v\"",
            ),
            (
                "\u{0}\u{1}\u{1f}\u{7f}",
                "\"\\x00\\x01\\x1f\\x7f\"",
                "\"\\x00\\x01\\x1f\\x7f\"",
            ),
            (
                "\u{e9}\u{4e16}\u{1f600}",
                "\"\u{e9}\u{4e16}\u{1f600}\"",
                "\"\\u00e9\\u4e16\\U0001f600\"",
            ),
            (
                "\u{a0}\u{ad}\u{2028}\u{2029}\u{feff}\u{200b}\u{3000}",
                "\"\\u00a0\\u00ad\\u2028\\u2029\\ufeff\\u200b\\u3000\"",
                "\"\\u00a0\\u00ad\\u2028\\u2029\\ufeff\\u200b\\u3000\"",
            ),
            (
                "\u{10ffff}\u{e000}\u{378}",
                "\"\\U0010ffff\\ue000\\u0378\"",
                "\"\\U0010ffff\\ue000\\u0378\"",
            ),
            ("`'", "\"`'\"", "\"`'\""),
            (
                "\u{1fad7}\u{1f8b0}\u{61c}",
                "\"\\U0001fad7\u{1f8b0}\\u061c\"",
                "\"\\U0001fad7\\U0001f8b0\\u061c\"",
            ),
        ];
        for (input, want, want_ascii) in cases {
            assert_eq!(quote(input), want, "Quote({input:?})");
            assert_eq!(quote_to_ascii(input), want_ascii, "QuoteToASCII({input:?})");
        }
    }

    #[test]
    fn format_float_matches_go() {
        let cases: Vec<(f64, char, i32, &str)> = vec![
            (3.25, 'f', -1, "3.25"),
            (3.25, 'f', 1, "3.2"),
            (1e21, 'f', -1, "1000000000000000000000"),
            (1e21, 'g', -1, "1e+21"),
            (1e-7, 'e', -1, "1e-07"),
            (123.456, 'e', 2, "1.23e+02"),
            (123.456, 'E', -1, "1.23456E+02"),
            (0.000123456, 'g', 3, "0.000123"),
            (123456.0, 'G', 2, "1.2E+05"),
            (2.5, 'f', 0, "2"),
            (3.5, 'f', 0, "4"),
            (0.1, 'f', 30, "0.100000000000000005551115123126"),
            (1.0, 'x', -1, "0x1p+00"),
            (-1.5, 'X', 3, "-0X1.800P+00"),
            (1.0, 'b', -1, "4503599627370496p-52"),
            (1.0, 'z', -1, "%z"),
            (
                1e100,
                'f',
                -1,
                "10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            ),
            (5e-324, 'g', -1, "5e-324"),
            (5e-324, 'e', 3, "4.941e-324"),
            (0.0, 'e', -1, "0e+00"),
            (0.0, 'g', 5, "0"),
            (0.0, 'f', 2, "0.00"),
            // Two shortest candidates equally close: Go takes the even one.
            (
                f64::from_bits(0x431b108f17ce8129),
                'g',
                -1,
                "1.9045077842412262e+15",
            ),
            (
                f64::from_bits(0xc31167687e9751c5),
                'e',
                -1,
                "-1.2246932755467372e+15",
            ),
        ];
        for (x, fmt, prec, want) in cases {
            assert_eq!(
                format_float(x, fmt, prec),
                want,
                "FormatFloat({x}, {fmt}, {prec})"
            );
        }
    }

    #[test]
    fn is_print_matches_go() {
        let cases = [
            ('\u{20}', true),
            ('\u{61}', true),
            ('\u{7e}', true),
            ('\u{7f}', false),
            ('\u{a0}', false),
            ('\u{ad}', false),
            ('\u{e9}', true),
            ('\u{1f600}', true),
            ('\u{378}', false),
            ('\u{1fad7}', false),
            ('\u{1f8b0}', true),
            ('\u{3000}', false),
            ('\u{fffd}', true),
            ('\u{e000}', false),
            ('\u{10ffff}', false),
            ('\u{2028}', false),
            ('\u{20000}', true),
            ('\u{2a6dd}', true),
            ('\u{2a6de}', false),
        ];
        for (c, want) in cases {
            assert_eq!(is_print(c), want, "IsPrint({c:?})");
        }
    }

    #[test]
    fn write_value_prints_like_go() {
        let cases = [
            (Value::Missing, "<no value>"),
            (Value::Nil, "<nil>"),
            (Value::Bool(false), "false"),
            (i(-3), "-3"),
            (f(1e6), "1e+06"),
            (s("text"), "text"),
            (
                l(vec![
                    i(1),
                    s("a"),
                    Value::Nil,
                    f(1.5),
                    l(vec![Value::Bool(true)]),
                ]),
                "[1 a <nil> 1.5 [true]]",
            ),
            (
                m(vec![("b", f(2.0)), ("a", m(vec![])), ("c", Value::Nil)]),
                "map[a:map[] b:2 c:<nil>]",
            ),
        ];
        for (v, want) in cases {
            let mut out = String::new();
            write_value(&mut out, &v);
            assert_eq!(out, want);
        }
    }

    #[test]
    fn missing_arguments_act_as_nil() {
        // Go passes a missing map entry to functions as nil.
        assert_eq!(sprint(&[Value::Missing]), "<nil>");
        assert_eq!(sprintln(&[Value::Missing, i(1)]), "<nil> 1\n");
        let three = [Value::Missing, Value::Missing, Value::Missing];
        assert_eq!(sprintf("%v|%d|%T", &three), "<nil>|%!d(<nil>)|<nil>");
        assert_eq!(sprintf("x", &[Value::Missing]), "x%!(EXTRA <nil>)");
    }

    #[test]
    fn maps_in_use_or_cyclic_do_not_panic() {
        let map = m(vec![("a", i(1))]);
        let Value::Map(inner) = &map else {
            panic!("not a map")
        };
        // A map that contains itself: Go overflows its stack; we stop.
        inner.borrow_mut().insert("self".into(), map.clone());
        assert_eq!(
            sprintf("%v", std::slice::from_ref(&map)),
            "map[a:1 self:%!v(CYCLE)]"
        );
        // A map that is being changed prints as empty rather than panicking.
        let guard = inner.borrow_mut();
        assert_eq!(sprint(std::slice::from_ref(&map)), "map[]");
        drop(guard);
        inner.borrow_mut().clear();
    }

    #[test]
    fn deep_nesting_is_cut_short() {
        let mut v = i(1);
        for _ in 0..MAX_DEPTH + 10 {
            v = l(vec![v]);
        }
        let out = sprint(&[v]);
        assert!(out.starts_with("[[[[") && out.contains("..."));
    }

    fn zoned(date: (i16, i8, i8), time: (i8, i8, i8, i32), tz: jiff::tz::TimeZone) -> jiff::Zoned {
        jiff::civil::date(date.0, date.1, date.2)
            .at(time.0, time.1, time.2, time.3)
            .to_zoned(tz)
            .unwrap()
    }

    #[test]
    fn time_prints_like_go() {
        use jiff::tz::{TimeZone, offset};
        let utc = zoned((2024, 3, 5), (0, 0, 0, 0), TimeZone::UTC);
        let t = Value::Time(utc.clone());
        let seven: Vec<Value> = std::iter::repeat_n(t.clone(), 7).collect();
        assert_eq!(
            sprintf("%v|%s|%q|%#v|%T|%30v|%.4v", &seven),
            "2024-03-05 00:00:00 +0000 UTC|2024-03-05 00:00:00 +0000 UTC|\
             \"2024-03-05 00:00:00 +0000 UTC\"|\
             time.Date(2024, time.March, 5, 0, 0, 0, 0, time.UTC)|time.Time|\
             \x202024-03-05 00:00:00 +0000 UTC|2024"
        );
        assert_eq!(
            sprintf("%x", std::slice::from_ref(&t)),
            "323032342d30332d30352030303a30303a3030202b3030303020555443"
        );
        assert_eq!(
            sprint(&[m(vec![("t", t.clone()), ("l", l(vec![t.clone()]))])]),
            "map[l:[2024-03-05 00:00:00 +0000 UTC] t:2024-03-05 00:00:00 +0000 UTC]"
        );
        let nanos = zoned((2024, 3, 5), (0, 0, 0, 123_456_789), TimeZone::UTC);
        assert_eq!(
            sprint(&[Value::Time(nanos)]),
            "2024-03-05 00:00:00.123456789 +0000 UTC"
        );
        let fixed = utc.with_time_zone(TimeZone::fixed(
            offset(1).saturating_add(jiff::Span::new().minutes(30)),
        ));
        assert_eq!(
            sprintf("%v|%#v", &[Value::Time(fixed.clone()), Value::Time(fixed)]),
            "2024-03-05 01:30:00 +0130 +0130|\
             time.Date(2024, time.March, 5, 1, 30, 0, 0, time.Location(\"\"))"
        );
        // Verbs a time.Time has no method for: Go shows its private fields.
        assert_eq!(
            sprintf("%d|%w|%d", &[t.clone(), t.clone(), l(vec![t.clone()])]),
            "%!d(time.Time=2024-03-05 00:00:00 +0000 UTC)|\
             %!w(time.Time=2024-03-05 00:00:00 +0000 UTC)|\
             [%!d(time.Time=2024-03-05 00:00:00 +0000 UTC)]"
        );
        let west = utc.with_time_zone(TimeZone::fixed(offset(-5)));
        assert_eq!(
            sprint(&[Value::Time(west)]),
            "2024-03-04 19:00:00 -0500 -0500"
        );
        let ancient = zoned((-5, 1, 2), (3, 4, 5, 600), TimeZone::UTC);
        assert_eq!(
            sprint(&[Value::Time(ancient)]),
            "-0005-01-02 03:04:05.0000006 +0000 UTC"
        );
        // Named zones need the system's time zone database.
        if let Ok(ny) = TimeZone::get("America/New_York") {
            let winter = zoned((2024, 3, 5), (0, 0, 0, 120_000_000), TimeZone::UTC)
                .with_time_zone(ny.clone());
            assert_eq!(
                sprintf(
                    "%v|%#v",
                    &[Value::Time(winter.clone()), Value::Time(winter)]
                ),
                "2024-03-04 19:00:00.12 -0500 EST|time.Date(2024, time.March, 4, 19, 0, 0, \
                 120000000, time.Location(\"America/New_York\"))"
            );
            let summer = zoned((2024, 7, 5), (0, 0, 0, 0), ny);
            assert_eq!(
                sprint(&[Value::Time(summer)]),
                "2024-07-05 00:00:00 -0400 EDT"
            );
        }
    }

    proptest! {
        #[test]
        fn shortest_floats_read_back(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(x.is_finite());
            for fmt in ['g', 'e', 'f'] {
                let text = format_float(x, fmt, -1);
                prop_assert_eq!(text.parse::<f64>().ok().map(f64::to_bits), Some(bits), "{} {}", fmt, text);
            }
            // Seventeen significant digits always identify a float64.
            let text = format_float(x, 'e', 16);
            prop_assert_eq!(text.parse::<f64>().ok().map(f64::to_bits), Some(bits));
        }

        #[test]
        fn sprintf_never_panics(
            format in "[%#+ 0-9.*\\[\\]a-zA-Z!é]{0,24}",
            ints in proptest::collection::vec(-30i64..30, 0..4),
            x in any::<f64>(),
            text in "\\PC{0,6}",
        ) {
            let mut args: Vec<Value> = ints.into_iter().map(Value::Int).collect();
            args.push(Value::Float(x));
            args.push(Value::str(text.as_str()));
            args.push(l(vec![Value::Nil, s("a")]));
            args.push(m(vec![("k", f(1.5))]));
            args.push(Value::Time(jiff::Zoned::now()));
            let _ = sprintf(&format, &args);
        }
    }
}

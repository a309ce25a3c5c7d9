//! Go's reference-time layouts ("2006-01-02 15:04:05 MST"): formatting and
//! parsing as Go's `time.Time.Format` and `time.ParseInLocation` do them,
//! with Go's error messages.

use std::fmt::Write as _;

use jiff::Zoned;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// Full month names.
pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Full weekday names, from Sunday.
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// How a numeric zone element is written (`-0700`, `Z07:00:00`, ...).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct ZoneStyle {
    /// The `Z` variants: "Z" for UTC.
    iso: bool,
    /// A colon between the fields.
    colon: bool,
    /// Hours only.
    short: bool,
    /// With seconds.
    seconds: bool,
}

/// One layout element.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm {
        upper: bool,
    },
    ZoneName,
    Zone(ZoneStyle),
    /// Fractional seconds: digit count, separator, and whether trailing
    /// zeros are trimmed (the `9` form).
    Frac {
        digits: usize,
        sep: u8,
        trim: bool,
    },
}

/// Splits the layout at its first element: the literal text before it,
/// the element, and the rest (Go's `nextStdChunk`).
fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..).is_some_and(|rest| rest.starts_with(s));
    let lower_after = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_lowercase());
    let zone = |iso, colon, short, seconds| {
        Std::Zone(ZoneStyle {
            iso,
            colon,
            short,
            seconds,
        })
    };
    for i in 0..b.len() {
        let found = match b[i] {
            b'J' if at(i, "January") => Some((Std::LongMonth, 7)),
            b'J' if at(i, "Jan") && !lower_after(i + 3) => Some((Std::Month, 3)),
            b'M' if at(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if at(i, "Mon") && !lower_after(i + 3) => Some((Std::WeekDay, 3)),
            b'M' if at(i, "MST") => Some((Std::ZoneName, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Std::ZeroMonth, 2)),
                Some(b'2') => Some((Std::ZeroDay, 2)),
                Some(b'3') => Some((Std::ZeroHour12, 2)),
                Some(b'4') => Some((Std::ZeroMinute, 2)),
                Some(b'5') => Some((Std::ZeroSecond, 2)),
                Some(b'6') => Some((Std::Year, 2)),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => Some((Std::ZeroYearDay, 3)),
                _ => None,
            },
            b'1' if b.get(i + 1) == Some(&b'5') => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if at(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if at(i, "_2006") => {
                return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
            }
            b'_' if at(i, "_2") => Some((Std::UnderDay, 2)),
            b'_' if at(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if at(i, "PM") => Some((Std::Pm { upper: true }, 2)),
            b'p' if at(i, "pm") => Some((Std::Pm { upper: false }, 2)),
            b'-' if at(i, "-070000") => Some((zone(false, false, false, true), 7)),
            b'-' if at(i, "-07:00:00") => Some((zone(false, true, false, true), 9)),
            b'-' if at(i, "-0700") => Some((zone(false, false, false, false), 5)),
            b'-' if at(i, "-07:00") => Some((zone(false, true, false, false), 6)),
            b'-' if at(i, "-07") => Some((zone(false, false, true, false), 3)),
            b'Z' if at(i, "Z070000") => Some((zone(true, false, false, true), 7)),
            b'Z' if at(i, "Z07:00:00") => Some((zone(true, true, false, true), 9)),
            b'Z' if at(i, "Z0700") => Some((zone(true, false, false, false), 5)),
            b'Z' if at(i, "Z07:00") => Some((zone(true, true, false, false), 6)),
            b'Z' if at(i, "Z07") => Some((zone(true, false, true, false), 3)),
            sep @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let digit = b[i + 1];
                let run = b[i + 1..].iter().take_while(|&&c| c == digit).count();
                if b.get(i + 1 + run).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((
                        Std::Frac {
                            digits: run,
                            sep,
                            trim: digit == b'9',
                        },
                        run + 1,
                    ))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

/// Appends `n` zero-padded to `width` digits (Go's `appendInt`).
fn push_int(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:0width$}", n.unsigned_abs());
}

/// The zone abbreviation Go would print for `t`: empty for an unnamed
/// fixed offset.
pub(crate) fn zone_name(t: &Zoned) -> String {
    let tz = t.time_zone();
    if tz.iana_name().is_none() && tz.to_fixed_offset().is_ok() && *tz != TimeZone::UTC {
        return String::new();
    }
    tz.to_offset_info(t.timestamp()).abbreviation().to_string()
}

/// Go's `time.Time.Format(layout)`.
pub(crate) fn format(t: &Zoned, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    loop {
        let (prefix, std, suffix) = next_chunk(rest);
        out.push_str(prefix);
        let Some(std) = std else { break };
        rest = suffix;
        push_element(&mut out, t, std);
    }
    out
}

/// Appends one formatted layout element.
fn push_element(out: &mut String, t: &Zoned, std: Std) {
    let (year, month, day) = (i64::from(t.year()), t.month(), t.day());
    let hour = i64::from(t.hour());
    let weekday = t.weekday().to_sunday_zero_offset() as usize;
    let month_name = MONTHS[(month as usize).clamp(1, 12) - 1];
    match std {
        Std::Year => push_int(out, year.abs() % 100, 2),
        Std::LongYear => push_int(out, year, 4),
        Std::Month => out.push_str(&month_name[..3]),
        Std::LongMonth => out.push_str(month_name),
        Std::NumMonth => push_int(out, i64::from(month), 0),
        Std::ZeroMonth => push_int(out, i64::from(month), 2),
        Std::WeekDay => out.push_str(&DAYS[weekday][..3]),
        Std::LongWeekDay => out.push_str(DAYS[weekday]),
        Std::Day => push_int(out, i64::from(day), 0),
        Std::UnderDay => {
            if day < 10 {
                out.push(' ');
            }
            push_int(out, i64::from(day), 0);
        }
        Std::ZeroDay => push_int(out, i64::from(day), 2),
        Std::UnderYearDay => {
            let yday = i64::from(t.day_of_year());
            out.push_str(if yday < 10 {
                "  "
            } else if yday < 100 {
                " "
            } else {
                ""
            });
            push_int(out, yday, 0);
        }
        Std::ZeroYearDay => push_int(out, i64::from(t.day_of_year()), 3),
        Std::Hour => push_int(out, hour, 2),
        Std::Hour12 => push_int(out, if hour % 12 == 0 { 12 } else { hour % 12 }, 0),
        Std::ZeroHour12 => push_int(out, if hour % 12 == 0 { 12 } else { hour % 12 }, 2),
        Std::Minute => push_int(out, i64::from(t.minute()), 0),
        Std::ZeroMinute => push_int(out, i64::from(t.minute()), 2),
        Std::Second => push_int(out, i64::from(t.second()), 0),
        Std::ZeroSecond => push_int(out, i64::from(t.second()), 2),
        Std::Pm { upper } => {
            let pm = if hour >= 12 { "PM" } else { "AM" };
            out.push_str(&if upper {
                pm.to_string()
            } else {
                pm.to_ascii_lowercase()
            });
        }
        Std::ZoneName => {
            let name = zone_name(t);
            if name.is_empty() {
                push_offset(
                    out,
                    t.offset().seconds(),
                    ZoneStyle {
                        iso: false,
                        colon: false,
                        short: false,
                        seconds: false,
                    },
                );
            } else {
                out.push_str(&name);
            }
        }
        Std::Zone(style) => push_offset(out, t.offset().seconds(), style),
        Std::Frac { digits, sep, trim } => {
            push_fraction(out, t.subsec_nanosecond(), digits, sep, trim)
        }
    }
}

/// Appends a numeric zone offset in `style`.
fn push_offset(out: &mut String, offset: i32, style: ZoneStyle) {
    if offset == 0 && style.iso {
        out.push('Z');
        return;
    }
    out.push(if offset < 0 { '-' } else { '+' });
    let abs = i64::from(offset.unsigned_abs());
    let minutes = abs / 60;
    push_int(out, minutes / 60, 2);
    if style.colon {
        out.push(':');
    }
    if !style.short {
        push_int(out, minutes % 60, 2);
    }
    if style.seconds {
        if style.colon {
            out.push(':');
        }
        push_int(out, abs % 60, 2);
    }
}

/// Appends fractional seconds (Go's `appendNano`).
fn push_fraction(out: &mut String, nanos: i32, digits: usize, sep: u8, trim: bool) {
    if trim && (digits == 0 || nanos == 0) {
        return;
    }
    let all = format!("{:09}", nanos.max(0));
    let mut frac = &all[..digits.min(9)];
    if trim {
        frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            return;
        }
    }
    out.push(char::from(sep));
    out.push_str(frac);
}

/// Go's `time` package quoting, used in its error messages: non-ASCII
/// and control bytes as `\xNN`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// What went wrong while parsing, before it becomes Go's message.
#[derive(Clone, Copy)]
enum Bad {
    /// The value did not match this layout element.
    Element,
    /// A value out of range, named.
    Range(&'static str),
}

/// The parse state: the fields read so far (Go's `parse` locals).
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    yday: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i64,
    pm: Option<bool>,
    utc: bool,
    offset: Option<i32>,
    zone: String,
}

/// Reads one or two digits (exactly two when `fixed`).
fn get_num(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let first = digit(0)?;
    match digit(1) {
        Some(second) => Some((first * 10 + second, &s[2..])),
        None if fixed => None,
        None => Some((first, &s[1..])),
    }
}

/// Reads one to three digits (exactly three when `fixed`).
fn get_num3(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let n = s.bytes().take(3).take_while(u8::is_ascii_digit).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// Go's `time.atoi`: an optional sign and decimal digits, nothing else.
fn time_atoi(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -n } else { n })
}

/// Matches one of `names` case-insensitively at the start of `s`.
fn lookup<'a>(names: impl Iterator<Item = &'a str>, s: &str) -> Option<(usize, usize)> {
    names.enumerate().find_map(|(i, name)| {
        s.get(..name.len())
            .filter(|head| head.eq_ignore_ascii_case(name))
            .map(|_| (i, name.len()))
    })
}

/// Reads fractional seconds from `value[..len]`, which starts with the
/// separator (Go's `parseNanoseconds`).
fn parse_nanos(value: &str, len: usize) -> Result<i64, Bad> {
    if !value.starts_with(['.', ',']) {
        return Err(Bad::Element);
    }
    let len = len.min(10);
    let digits = value.get(1..len).ok_or(Bad::Element)?;
    let ns = time_atoi(digits).ok_or(Bad::Element)?;
    if ns < 0 {
        return Err(Bad::Range("fractional second"));
    }
    Ok(ns * 10i64.pow((10 - len) as u32))
}

/// The length of a zone abbreviation at the start of `s` (Go's
/// `parseTimeZone`).
fn zone_name_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if s.starts_with("ChST") || s.starts_with("MeST") {
        return Some(4);
    }
    if let Some(rest) = s.strip_prefix("GMT") {
        return Some(3 + signed_offset_len(rest));
    }
    if s.starts_with(['+', '-']) {
        return Some(signed_offset_len(s)).filter(|&n| n > 0);
    }
    let upper = b
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        5 if b[4] == b'T' => Some(5),
        4 if b[3] == b'T' || s.starts_with("WITA") => Some(4),
        3 => Some(3),
        _ => None,
    }
}

/// The length of a signed hour offset such as `+3` or `-10` (Go's
/// `parseSignedOffset`), 0 if there is none.
fn signed_offset_len(s: &str) -> usize {
    if !s.starts_with(['+', '-']) {
        return 0;
    }
    let digits = s[1..].bytes().take_while(u8::is_ascii_digit).count();
    let value: i64 = s[1..1 + digits].parse().unwrap_or(i64::MAX);
    if digits == 0 || !(-23..=23).contains(&value) {
        0
    } else {
        1 + digits
    }
}

/// Skips the literal `prefix` in `value`; a space in the prefix matches any
/// run of spaces (Go's `skip`).
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Option<&'a str> {
    while let Some(c) = prefix.chars().next() {
        if c == ' ' {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        value = value.strip_prefix(c)?;
        prefix = &prefix[c.len_utf8()..];
    }
    Some(value)
}

/// Reads one layout element from the front of `value` into `f`.
fn parse_element<'a>(
    f: &mut Fields,
    std: Std,
    value: &'a str,
    rest_layout: &str,
) -> Result<&'a str, Bad> {
    let bad = Bad::Element;
    let num = |v: &'a str, fixed| get_num(v, fixed).ok_or(Bad::Element);
    match std {
        Std::Year => {
            let p = value.get(..2).ok_or(bad)?;
            let y = time_atoi(p)
                .filter(|_| p.bytes().all(|c| c.is_ascii_digit()))
                .ok_or(Bad::Element)?;
            f.year = if y >= 69 { y + 1900 } else { y + 2000 };
            Ok(&value[2..])
        }
        Std::LongYear => {
            let p = value
                .get(..4)
                .filter(|p| p.as_bytes()[0].is_ascii_digit())
                .ok_or(bad)?;
            f.year = time_atoi(p).ok_or(Bad::Element)?;
            Ok(&value[4..])
        }
        Std::Month | Std::LongMonth => {
            let names = MONTHS
                .iter()
                .map(|m| if std == Std::Month { &m[..3] } else { m });
            let (i, len) = lookup(names, value).ok_or(bad)?;
            f.month = i as i64 + 1;
            Ok(&value[len..])
        }
        Std::NumMonth | Std::ZeroMonth => {
            let (m, rest) = num(value, std == Std::ZeroMonth)?;
            f.month = m;
            if !(1..=12).contains(&m) {
                return Err(Bad::Range("month"));
            }
            Ok(rest)
        }
        Std::WeekDay | Std::LongWeekDay => {
            let names = DAYS
                .iter()
                .map(|d| if std == Std::WeekDay { &d[..3] } else { d });
            let (_, len) = lookup(names, value).ok_or(bad)?;
            Ok(&value[len..])
        }
        Std::Day | Std::UnderDay | Std::ZeroDay => {
            let v = if std == Std::UnderDay {
                value.strip_prefix(' ').unwrap_or(value)
            } else {
                value
            };
            let (d, rest) = num(v, std == Std::ZeroDay)?;
            f.day = d;
            Ok(rest)
        }
        Std::UnderYearDay | Std::ZeroYearDay => {
            let mut v = value;
            if std == Std::UnderYearDay {
                for _ in 0..2 {
                    v = v.strip_prefix(' ').unwrap_or(v);
                }
            }
            let (d, rest) = get_num3(v, std == Std::ZeroYearDay).ok_or(bad)?;
            f.yday = d;
            Ok(rest)
        }
        Std::Hour | Std::Hour12 | Std::ZeroHour12 => {
            let (h, rest) = num(value, std == Std::ZeroHour12)?;
            f.hour = h;
            let limit = if std == Std::Hour { 23 } else { 12 };
            if h > limit {
                return Err(Bad::Range("hour"));
            }
            Ok(rest)
        }
        Std::Minute | Std::ZeroMinute => {
            let (m, rest) = num(value, std == Std::ZeroMinute)?;
            f.minute = m;
            if m >= 60 {
                return Err(Bad::Range("minute"));
            }
            Ok(rest)
        }
        Std::Second | Std::ZeroSecond => {
            let (s, mut rest) = num(value, std == Std::ZeroSecond)?;
            f.second = s;
            if s >= 60 {
                return Err(Bad::Range("second"));
            }
            // A fraction the layout does not mention is still accepted.
            let b = rest.as_bytes();
            let next_is_frac = matches!(next_chunk(rest_layout).1, Some(Std::Frac { .. }));
            if b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit() && !next_is_frac
            {
                let n = 2 + b[2..].iter().take_while(|c| c.is_ascii_digit()).count();
                f.nanos = parse_nanos(rest, n)?;
                rest = &rest[n..];
            }
            Ok(rest)
        }
        Std::Pm { upper } => {
            let p = value.get(..2).ok_or(bad)?;
            f.pm = match (p, upper) {
                ("PM", true) | ("pm", false) => Some(true),
                ("AM", true) | ("am", false) => Some(false),
                _ => return Err(bad),
            };
            Ok(&value[2..])
        }
        Std::Zone(style) => parse_offset(f, style, value),
        Std::ZoneName => {
            if let Some(rest) = value.strip_prefix("UTC") {
                f.utc = true;
                return Ok(rest);
            }
            let n = zone_name_len(value).ok_or(bad)?;
            f.zone = value[..n].to_string();
            Ok(&value[n..])
        }
        Std::Frac {
            digits,
            trim: false,
            ..
        } => {
            let n = 1 + digits;
            if value.len() < n {
                return Err(bad);
            }
            f.nanos = parse_nanos(value, n)?;
            Ok(&value[n..])
        }
        Std::Frac { trim: true, .. } => {
            let b = value.as_bytes();
            if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                return Ok(value);
            }
            let n = b[1..]
                .iter()
                .take(9)
                .take_while(|c| c.is_ascii_digit())
                .count();
            f.nanos = parse_nanos(value, 1 + n)?;
            Ok(&value[1 + n..])
        }
    }
}

/// Reads a numeric zone offset in `style`.
fn parse_offset<'a>(f: &mut Fields, style: ZoneStyle, value: &'a str) -> Result<&'a str, Bad> {
    if style.iso && !style.seconds && value.starts_with('Z') {
        f.utc = true;
        return Ok(&value[1..]);
    }
    let b = value.as_bytes();
    let field = |r: std::ops::Range<usize>| value.get(r).ok_or(Bad::Element);
    let (hh, mm, ss, len) = if style.colon && style.seconds {
        if b.len() < 9 || b[3] != b':' || b[6] != b':' {
            return Err(Bad::Element);
        }
        (field(1..3)?, field(4..6)?, field(7..9)?, 9)
    } else if style.colon {
        if b.len() < 6 || b[3] != b':' {
            return Err(Bad::Element);
        }
        (field(1..3)?, field(4..6)?, "00", 6)
    } else if style.short {
        (field(1..3)?, "00", "00", 3)
    } else if style.seconds {
        (field(1..3)?, field(3..5)?, field(5..7)?, 7)
    } else {
        (field(1..3)?, field(3..5)?, "00", 5)
    };
    let parts = [hh, mm, ss].map(time_atoi);
    let [Some(h), Some(m), Some(s)] = parts else {
        return Err(Bad::Element);
    };
    let offset = (h * 60 + m) * 60 + s;
    let offset = match b[0] {
        b'+' => offset,
        b'-' => -offset,
        _ => return Err(Bad::Element),
    };
    f.offset = Some(i32::try_from(offset).map_err(|_| Bad::Element)?);
    Ok(&value[len..])
}

/// Go's `time.ParseInLocation(layout, value, local)`.
pub(crate) fn parse(layout: &str, value: &str, local: &TimeZone) -> Result<Zoned, String> {
    let (full_layout, full_value) = (layout, value);
    let mut f = Fields {
        year: 0,
        month: -1,
        day: -1,
        yday: -1,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        pm: None,
        utc: false,
        offset: None,
        zone: String::new(),
    };
    let error = |value: &str, layout_elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(full_value),
            quote(full_layout),
            quote(value),
            quote(layout_elem)
        )
    };
    let message = |msg: &str| format!("parsing time {}{msg}", quote(full_value));
    let (mut layout, mut value) = (layout, value);
    loop {
        let (prefix, std, suffix) = next_chunk(layout);
        let element = &layout[prefix.len()..layout.len() - suffix.len()];
        value = skip(value, prefix).ok_or_else(|| error(value, prefix))?;
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(message(&format!(": extra text: {}", quote(value))));
            }
            break;
        };
        layout = suffix;
        value = match parse_element(&mut f, std, value, layout) {
            Ok(rest) => rest,
            Err(Bad::Range(what)) => return Err(message(&format!(": {what} out of range"))),
            Err(Bad::Element) => return Err(error(value, element)),
        };
    }
    resolve(f, local).map_err(|msg| message(&msg))
}

/// Turns parsed fields into a time, as the end of Go's `parse` does.
fn resolve(mut f: Fields, local: &TimeZone) -> Result<Zoned, String> {
    match f.pm {
        Some(true) if f.hour < 12 => f.hour += 12,
        Some(false) if f.hour == 12 => f.hour = 0,
        _ => {}
    }
    let year = i16::try_from(f.year).map_err(|_| ": year out of range".to_string())?;
    let leap = jiff::civil::Date::new(year, 1, 1).is_ok_and(|d| d.in_leap_year());
    if f.yday >= 0 {
        let mut yday = f.yday;
        let mut from_yday = None;
        if leap {
            if yday == 31 + 29 {
                from_yday = Some((2, 29));
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(": day-of-year out of range".into());
        }
        let (m, d) = from_yday.unwrap_or_else(|| {
            const BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
            let m = (1..=12).find(|&m| BEFORE[m] >= yday).unwrap_or(12);
            (m as i64, yday - BEFORE[m - 1])
        });
        if f.month >= 0 && f.month != m {
            return Err(": day-of-year does not match month".into());
        }
        if f.day >= 0 && f.day != d {
            return Err(": day-of-year does not match day".into());
        }
        (f.month, f.day) = (m, d);
    } else {
        f.month = f.month.max(1);
        f.day = f.day.max(1);
    }
    let days_in = jiff::civil::Date::new(year, f.month as i8, 1).map_or(0, |d| d.days_in_month());
    if f.day < 1 || f.day > i64::from(days_in) {
        return Err(": day out of range".into());
    }
    let civil = DateTime::new(
        year,
        f.month as i8,
        f.day as i8,
        f.hour as i8,
        f.minute as i8,
        f.second as i8,
        f.nanos as i32,
    )
    .map_err(|e| format!(": {e}"))?;
    let in_zone = |tz: TimeZone| civil.to_zoned(tz).map_err(|e| format!(": {e}"));
    if f.utc {
        return in_zone(TimeZone::UTC);
    }
    if let Some(offset) = f.offset {
        let fixed = Offset::from_seconds(offset).map_err(|e| format!(": {e}"))?;
        let instant = civil
            .to_zoned(TimeZone::fixed(fixed))
            .map_err(|e| format!(": {e}"))?;
        let info = local.to_offset_info(instant.timestamp());
        if info.offset() == fixed && (f.zone.is_empty() || info.abbreviation() == f.zone) {
            return Ok(instant.with_time_zone(local.clone()));
        }
        return Ok(instant.with_time_zone(fixed_zone(&f.zone, offset)));
    }
    if !f.zone.is_empty() {
        let utc = in_zone(TimeZone::UTC)?;
        let info = local.to_offset_info(utc.timestamp());
        if info.abbreviation() == f.zone {
            return in_zone(local.clone());
        }
        // An unknown abbreviation keeps the clock reading as UTC.
        let offset = match f.zone.strip_prefix("GMT") {
            Some(hours) if !hours.is_empty() => time_atoi(hours).unwrap_or(0) as i32 * 3600,
            _ => 0,
        };
        return Ok(utc.with_time_zone(fixed_zone(&f.zone, offset)));
    }
    in_zone(local.clone())
}

/// Go's `time.FixedZone(name, offset)`: a named zone with one offset.
fn fixed_zone(name: &str, offset: i32) -> TimeZone {
    let fixed = TimeZone::fixed(Offset::from_seconds(offset).unwrap_or(Offset::UTC));
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-')
    {
        return fixed;
    }
    // POSIX TZ offsets count west of UTC.
    let west = -offset;
    let (sign, abs) = if west < 0 { ("-", -west) } else { ("", west) };
    let spec = format!(
        "<{name}>{sign}{}:{:02}:{:02}",
        abs / 3600,
        abs / 60 % 60,
        abs % 60
    );
    TimeZone::posix(&spec).unwrap_or(fixed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> Zoned {
        parse("2006-01-02T15:04:05.999999999Z07:00", s, &TimeZone::UTC).unwrap_or_default()
    }

    // Expected values below were produced by Go 1.19's time package.
    #[test]
    fn formats_like_go() {
        let t = at("2024-03-05T07:08:09.012300+01:30");
        let cases = [
            ("2006-01-02 15:04:05", "2024-03-05 07:08:09"),
            ("Mon Jan _2 3:4:5 PM MST 06", "Tue Mar  5 7:8:9 AM +0130 24"),
            ("Monday January 2 03 pm", "Tuesday March 5 07 am"),
            (
                "Z07:00 -0700 -07 Z070000 -07:00:00",
                "+01:30 +0130 +01 +013000 +01:30:00",
            ),
            (".000 .999 ,9 .000000000", ".012 .012  .012300000"),
            ("__2 002 Janx Mond", " 65 065 Janx Mond"),
        ];
        for (layout, want) in cases {
            assert_eq!(format(&t, layout), want, "layout {layout:?}");
        }
        assert_eq!(
            format(&at("2024-03-05T00:00:00Z"), "Z07:00 MST 3PM"),
            "Z UTC 12AM"
        );
    }

    #[test]
    fn parse_errors_read_like_go() {
        let p = |layout: &str, value: &str| {
            parse(layout, value, &TimeZone::UTC)
                .map(|t| format(&t, "2006-01-02 15:04:05.999 -0700 MST"))
        };
        assert_eq!(
            p("2006-01-02", "2024-03-05").as_deref(),
            Ok("2024-03-05 00:00:00 +0000 UTC")
        );
        assert_eq!(
            p("2006-01-02", "2024-3-05").unwrap_err(),
            r#"parsing time "2024-3-05" as "2006-01-02": cannot parse "3-05" as "01""#
        );
        assert_eq!(
            p("2006-01-02", "2024-03-05x").unwrap_err(),
            r#"parsing time "2024-03-05x": extra text: "x""#
        );
        assert_eq!(
            p("2006-01-02", "2024-13-05").unwrap_err(),
            r#"parsing time "2024-13-05": month out of range"#
        );
        assert_eq!(
            p("2006-01-02", "2023-02-29").unwrap_err(),
            r#"parsing time "2023-02-29": day out of range"#
        );
        assert_eq!(
            p("Jan 2 15:04:05.000 MST 2006", "feb 3 04:05:06.789 PST 2021").as_deref(),
            Ok("2021-02-03 04:05:06.789 +0000 PST")
        );
        assert_eq!(
            p("15:04:05 -07:00", "04:05:06.5 +05:30").as_deref(),
            Ok("0000-01-01 04:05:06.5 +0530 +0530")
        );
        assert_eq!(
            p("15:04 MST", "04:05 GMT+3").as_deref(),
            Ok("0000-01-01 07:05:00 +0300 GMT+3")
        );
        assert_eq!(
            p("15:04 MST", "04:05 CEST").as_deref(),
            Ok("0000-01-01 04:05:00 +0000 CEST")
        );
        assert_eq!(
            p("15:04 -0700", "04:05 +0000").as_deref(),
            Ok("0000-01-01 04:05:00 +0000 UTC")
        );
        assert_eq!(
            p("002 2006", "060 2024").as_deref(),
            Ok("2024-02-29 00:00:00 +0000 UTC")
        );
    }
}

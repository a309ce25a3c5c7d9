//! sprig's date functions, on `Value::Time` with Go's layouts and
//! `time.Duration` syntax. "Local" is the operator's system time zone.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use super::args::{arity, string, time};
use super::golayout::{self, quote};
use crate::value::Value;

/// Nanoseconds per second, minute and hour.
const SECOND: i64 = 1_000_000_000;

/// The time zone Go calls `time.Local`.
fn local() -> TimeZone {
    TimeZone::system()
}

/// Go's `time.LoadLocation`, falling back to UTC as sprig does when the
/// name is unknown. Names must match the zone database exactly.
fn location(name: &str) -> TimeZone {
    match name {
        "" | "UTC" => TimeZone::UTC,
        "Local" => local(),
        _ => TimeZone::get(name)
            .ok()
            .filter(|tz| tz.iana_name() == Some(name))
            .unwrap_or(TimeZone::UTC),
    }
}

/// Go's zero `time.Time`: January 1, year 1, 00:00:00 UTC.
fn zero_time() -> Zoned {
    jiff::civil::date(1, 1, 1)
        .at(0, 0, 0, 0)
        .to_zoned(TimeZone::UTC)
        .unwrap_or_default()
}

/// A Unix time in seconds, in the local zone.
fn from_unix(secs: i64) -> Zoned {
    Timestamp::from_second(secs)
        .unwrap_or_default()
        .to_zoned(local())
}

/// The time sprig's `date` family formats: a time as is, an integer as
/// Unix seconds, anything else now.
fn time_of(v: &Value) -> Zoned {
    match v {
        Value::Time(t) => t.clone(),
        Value::Int(secs) => from_unix(*secs),
        _ => Zoned::now(),
    }
}

/// `now`: the current local time.
pub(super) fn now(args: &[Value]) -> Result<Value, String> {
    arity("now", args, 0)?;
    Ok(Value::Time(Zoned::now()))
}

/// Formats `date` with `layout` in the zone named `zone`.
fn format_in(layout: &str, date: &Value, zone: &str) -> Value {
    let t = time_of(date).with_time_zone(location(zone));
    Value::from(golayout::format(&t, layout))
}

/// `date LAYOUT TIME`: TIME formatted in the local zone.
pub(super) fn date(args: &[Value]) -> Result<Value, String> {
    arity("date", args, 2)?;
    Ok(format_in(string(&args[0])?, &args[1], "Local"))
}

/// `dateInZone LAYOUT TIME ZONE` (also `date_in_zone`).
pub(super) fn date_in_zone(args: &[Value]) -> Result<Value, String> {
    arity("dateInZone", args, 3)?;
    let (layout, zone) = (string(&args[0])?, string(&args[2])?);
    Ok(format_in(layout, &args[1], zone))
}

/// `htmlDate TIME`: "2006-01-02" in the local zone.
pub(super) fn html_date(args: &[Value]) -> Result<Value, String> {
    arity("htmlDate", args, 1)?;
    Ok(format_in("2006-01-02", &args[0], "Local"))
}

/// `htmlDateInZone TIME ZONE`.
pub(super) fn html_date_in_zone(args: &[Value]) -> Result<Value, String> {
    arity("htmlDateInZone", args, 2)?;
    Ok(format_in("2006-01-02", &args[0], string(&args[1])?))
}

/// `toDate LAYOUT STR`: STR parsed in the local zone; the zero time when
/// it does not match.
pub(super) fn to_date(args: &[Value]) -> Result<Value, String> {
    arity("toDate", args, 2)?;
    let (layout, s) = (string(&args[0])?, string(&args[1])?);
    Ok(Value::Time(
        golayout::parse(layout, s, &local()).unwrap_or_else(|_| zero_time()),
    ))
}

/// `mustToDate LAYOUT STR`: as `toDate`, but a mismatch is an error.
pub(super) fn must_to_date(args: &[Value]) -> Result<Value, String> {
    arity("mustToDate", args, 2)?;
    let (layout, s) = (string(&args[0])?, string(&args[1])?);
    golayout::parse(layout, s, &local()).map(Value::Time)
}

/// Adds a Go duration to a time.
fn add(t: &Zoned, nanos: i64) -> Result<Zoned, String> {
    t.checked_add(SignedDuration::from_nanos(nanos))
        .map_err(|e| e.to_string())
}

/// `dateModify DURATION TIME` (also `date_modify`): TIME moved by a Go
/// duration such as "-1.5h"; TIME unchanged when DURATION is invalid.
pub(super) fn date_modify(args: &[Value]) -> Result<Value, String> {
    arity("dateModify", args, 2)?;
    let (spec, t) = (string(&args[0])?, time(&args[1])?);
    match parse_duration(spec) {
        Ok(d) => add(t, d).map(Value::Time),
        Err(_) => Ok(Value::Time(t.clone())),
    }
}

/// `mustDateModify DURATION TIME` (also `must_date_modify`).
pub(super) fn must_date_modify(args: &[Value]) -> Result<Value, String> {
    arity("mustDateModify", args, 2)?;
    let (spec, t) = (string(&args[0])?, time(&args[1])?);
    add(t, parse_duration(spec)?).map(Value::Time)
}

/// `unixEpoch TIME`: Unix seconds, as a string.
pub(super) fn unix_epoch(args: &[Value]) -> Result<Value, String> {
    arity("unixEpoch", args, 1)?;
    Ok(Value::from(
        time(&args[0])?.timestamp().as_second().to_string(),
    ))
}

/// Go's `time.Since(t)` in nanoseconds, saturating.
fn since(t: &Zoned) -> i64 {
    let d = Timestamp::now().as_nanosecond() - t.timestamp().as_nanosecond();
    d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `ago TIME`: the time since TIME, rounded to seconds, as a Go duration.
pub(super) fn ago(args: &[Value]) -> Result<Value, String> {
    arity("ago", args, 1)?;
    Ok(Value::from(duration_string(round_duration(
        since(&time_of(&args[0])),
        SECOND,
    ))))
}

/// `duration SECONDS`: a number of seconds (a string, or a 64-bit int) as
/// a Go duration; other values count as 0.
pub(super) fn duration(args: &[Value]) -> Result<Value, String> {
    arity("duration", args, 1)?;
    let secs = match &args[0] {
        Value::String(s) => s.parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    Ok(Value::from(duration_string(secs.wrapping_mul(SECOND))))
}

/// `durationRound DURATION`: a duration (a Go duration string, or the time
/// since a time) in its largest whole unit, e.g. "2h" or "3mo".
pub(super) fn duration_round(args: &[Value]) -> Result<Value, String> {
    arity("durationRound", args, 1)?;
    let d = match &args[0] {
        Value::String(s) => parse_duration(s).unwrap_or(0),
        Value::Time(t) => since(t),
        _ => 0,
    };
    const HOUR: u64 = 3600 * SECOND as u64;
    let units: [(u64, &str); 6] = [
        (HOUR * 24 * 365, "y"),
        (HOUR * 24 * 30, "mo"),
        (HOUR * 24, "d"),
        (HOUR, "h"),
        (60 * SECOND as u64, "m"),
        (SECOND as u64, "s"),
    ];
    let u = d.unsigned_abs();
    let text = units.iter().find(|(size, _)| u > *size).map_or_else(
        || "0s".to_string(),
        |(size, unit)| format!("{}{unit}", u / size),
    );
    Ok(Value::from(text))
}

/// Go's `Duration.Round(m)`: to the nearest multiple, halves away from zero.
fn round_duration(d: i64, m: i64) -> i64 {
    let r = (d % m).abs();
    let less_than_half = (r as u64) * 2 < m as u64;
    if d < 0 {
        if less_than_half {
            d + r
        } else {
            d.checked_sub(m - r).unwrap_or(i64::MIN)
        }
    } else if less_than_half {
        d - r
    } else {
        d.checked_add(m - r).unwrap_or(i64::MAX)
    }
}

/// Go's `Duration.String()`: "1h2m3.5s", "1.5ms", "0s".
pub(super) fn duration_string(d: i64) -> String {
    let u = d.unsigned_abs();
    let sign = if d < 0 { "-" } else { "" };
    if u == 0 {
        return "0s".into();
    }
    // Shows `v / 10^places`, without trailing zeros in the fraction.
    let decimal = |v: u64, places: u32| {
        let scale = 10u64.pow(places);
        let frac = format!("{:0width$}", v % scale, width = places as usize);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            (v / scale).to_string()
        } else {
            format!("{}.{frac}", v / scale)
        }
    };
    if u < SECOND as u64 {
        let (places, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        return format!("{sign}{}{unit}", decimal(u, places));
    }
    let secs = u / SECOND as u64;
    let seconds = decimal(u % (60 * SECOND as u64), 9);
    let (minutes, hours) = (secs / 60 % 60, secs / 3600);
    match (hours, secs / 60) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, _) => format!("{sign}{minutes}m{seconds}s"),
        _ => format!("{sign}{hours}h{minutes}m{seconds}s"),
    }
}

/// Go's `time.ParseDuration`: a signed sequence of decimal numbers with
/// units (ns, us, µs, ms, s, m, h), in nanoseconds.
pub(super) fn parse_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(s));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        if !rest.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let whole = leading_int(&rest[..int_len]).ok_or_else(invalid)?;
        rest = &rest[int_len..];
        let (mut frac, mut scale) = (0u64, 1f64);
        if let Some(after) = rest.strip_prefix('.') {
            let frac_len = after.bytes().take_while(u8::is_ascii_digit).count();
            (frac, scale) = leading_fraction(&after[..frac_len]);
            rest = &after[frac_len..];
            if int_len == 0 && frac_len == 0 {
                return Err(invalid());
            }
        } else if int_len == 0 {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", quote(s)));
        }
        let (unit, tail) = rest.split_at(unit_len);
        rest = tail;
        let per: u64 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => SECOND as u64,
            "m" => 60 * SECOND as u64,
            "h" => 3600 * SECOND as u64,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(s)
                ));
            }
        };
        if whole > (1u64 << 63) / per {
            return Err(invalid());
        }
        let mut v = whole * per;
        if frac > 0 {
            v += (frac as f64 * (per as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err(invalid());
            }
        }
        total = total
            .checked_add(v)
            .filter(|&t| t <= 1 << 63)
            .ok_or_else(invalid)?;
    }
    if neg {
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// Go's `leadingInt` on a run of digits: `None` past 2^63.
fn leading_int(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |x, c| {
        let x = x.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        (x <= 1 << 63).then_some(x)
    })
}

/// Go's `leadingFraction`: the digits as an integer and its scale, ignoring
/// digits once more would overflow.
fn leading_fraction(digits: &str) -> (u64, f64) {
    let (mut x, mut scale) = (0u64, 1f64);
    for c in digits.bytes() {
        match x
            .checked_mul(10)
            .and_then(|y| y.checked_add(u64::from(c - b'0')))
        {
            Some(y) if y <= 1 << 63 => {
                x = y;
                scale *= 10.0;
            }
            _ => break,
        }
    }
    (x, scale)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sprig::args::strval;

    fn s(x: &str) -> Value {
        Value::from(x)
    }

    fn show(r: Result<Value, String>) -> String {
        r.map(|v| strval(&v)).unwrap_or_else(|e| format!("ERR {e}"))
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn durations_match_go() {
        assert_eq!(show(duration(&[s("95")])), "1m35s");
        assert_eq!(show(duration(&[Value::Int(95)])), "0s");
        assert_eq!(show(duration(&[s("3600")])), "1h0m0s");
        assert_eq!(show(duration(&[s("-61")])), "-1m1s");
        for (d, want) in [
            (1_500_000, "1.5ms"),
            (1_000, "1µs"),
            (999, "999ns"),
            (1_500_000_000, "1.5s"),
        ] {
            assert_eq!(duration_string(d), want);
        }
        assert_eq!(parse_duration("1h30m"), Ok(5_400 * SECOND));
        assert_eq!(parse_duration("-1.5h"), Ok(-5_400 * SECOND));
        assert_eq!(parse_duration(".5s"), Ok(SECOND / 2));
        assert_eq!(parse_duration("1µs2ns"), Ok(1_002));
        assert_eq!(
            parse_duration("x").unwrap_err(),
            r#"time: invalid duration "x""#
        );
        assert_eq!(
            parse_duration("1").unwrap_err(),
            r#"time: missing unit in duration "1""#
        );
        assert_eq!(
            parse_duration("1d").unwrap_err(),
            r#"time: unknown unit "d" in duration "1d""#
        );
        assert_eq!(
            parse_duration("").unwrap_err(),
            r#"time: invalid duration """#
        );
        assert_eq!(show(duration_round(&[s("2h30m")])), "2h");
        assert_eq!(show(duration_round(&[s("-49h")])), "2d");
        assert_eq!(show(duration_round(&[s("800h")])), "1mo");
        assert_eq!(show(duration_round(&[s("1s")])), "0s");
        assert_eq!(show(duration_round(&[Value::Int(3600)])), "0s");
    }

    #[test]
    fn dates_match_go() {
        let t = to_date(&[s("2006-01-02 15:04"), s("2024-03-05 13:14")]).unwrap_or_default();
        assert_eq!(
            show(date_in_zone(&[
                s("2006-01-02 15:04 MST"),
                t.clone(),
                s("UTC")
            ])),
            "2024-03-05 13:14 UTC"
        );
        assert_eq!(
            show(date_in_zone(&[
                s("2006-01-02 15:04 MST"),
                t.clone(),
                s("Asia/Kolkata")
            ])),
            "2024-03-05 18:44 IST"
        );
        assert_eq!(
            show(date_in_zone(&[
                s("15:04 MST"),
                t.clone(),
                s("Nowhere/Land")
            ])),
            "13:14 UTC"
        );
        assert_eq!(
            show(date_in_zone(&[
                s("15:04 MST"),
                t.clone(),
                s("asia/kolkata")
            ])),
            "13:14 UTC"
        );
        assert_eq!(
            show(html_date_in_zone(&[Value::Int(0), s("UTC")])),
            "1970-01-01"
        );
        assert_eq!(show(unix_epoch(std::slice::from_ref(&t))), "1709644440");
        let moved = date_modify(&[s("-1.5h"), t.clone()]).unwrap_or_default();
        assert_eq!(show(date_in_zone(&[s("15:04"), moved, s("UTC")])), "11:44");
        let same = date_modify(&[s("bogus"), t.clone()]).unwrap_or_default();
        assert_eq!(show(unix_epoch(&[same])), "1709644440");
        assert_eq!(
            show(must_date_modify(&[s("bogus"), t])),
            r#"ERR time: invalid duration "bogus""#
        );
        let zero = to_date(&[s("2006"), s("nope")]).unwrap_or_default();
        assert_eq!(
            show(date_in_zone(&[
                s("2006-01-02 15:04:05 MST"),
                zero,
                s("UTC")
            ])),
            "0001-01-01 00:00:00 UTC"
        );
    }
}

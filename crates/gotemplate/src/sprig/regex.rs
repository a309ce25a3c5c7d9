//! sprig's regular expression functions: Go's RE2 syntax on the `regex`
//! crate, with Go's ASCII-only `\d`, `\w`, `\s`, `\b` and Go's own
//! iteration and `$name` expansion rules.

use std::cell::RefCell;
use std::rc::Rc;

use regex::Regex;

use super::args::{MAX_OUTPUT, arity, check_size, int, string, too_big};
use super::strings::string_list;
use crate::value::Value;

/// How a failed compile is reported: sprig's plain functions panic through
/// `regexp.MustCompile`, the must* ones return the error.
#[derive(Clone, Copy)]
enum Mode {
    /// `regexp.MustCompile`'s panic message.
    Panic,
    /// `regexp.Compile`'s error.
    Error,
}

/// How many compiled expressions each thread keeps: templates use a few
/// patterns over and over, and compiling costs far more than matching.
const CACHE_SIZE: usize = 32;

thread_local! {
    /// Recently compiled expressions, most recent last.
    static CACHE: RefCell<Vec<(String, Rc<Regex>)>> = const { RefCell::new(Vec::new()) };
}

/// Compiles a Go regular expression, or takes it from the cache. Shared,
/// not cloned: a cloned `Regex` starts with empty match caches.
fn compile(expr: &str, mode: Mode) -> Result<Rc<Regex>, String> {
    let cached = CACHE.with(|c| {
        let c = c.try_borrow().ok()?;
        c.iter()
            .rev()
            .find(|(e, _)| e == expr)
            .map(|(_, re)| Rc::clone(re))
    });
    if let Some(re) = cached {
        return Ok(re);
    }
    let re = Rc::new(compile_uncached(expr, mode)?);
    CACHE.with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            if c.len() >= CACHE_SIZE {
                c.remove(0);
            }
            c.push((expr.to_string(), Rc::clone(&re)));
        }
    });
    Ok(re)
}

fn compile_uncached(expr: &str, mode: Mode) -> Result<Regex, String> {
    Regex::new(&translate(expr)).map_err(|e| {
        let reason = e.to_string();
        let reason = reason
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid");
        let reason = reason.trim().trim_start_matches("error: ");
        let err = format!("error parsing regexp: {reason}: {}", backquote(expr));
        match mode {
            Mode::Panic => format!("regexp: Compile({}): {err}", backquote(expr)),
            Mode::Error => err,
        }
    })
}

/// Go's regexp `quote`: backquoted when possible, else `strconv.Quote`.
fn backquote(s: &str) -> String {
    let plain = s
        .chars()
        .all(|c| c == '\t' || !(c.is_control() || c == '`' || c == '\u{FEFF}'));
    if plain {
        format!("`{s}`")
    } else {
        crate::fmt::quote(s)
    }
}

/// Rewrites Go syntax the `regex` crate reads differently: Perl classes
/// and word boundaries become ASCII-only, and `\Q...\E` becomes escaped text.
fn translate(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len() + 16);
    let mut chars = expr.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                if e == 'Q' {
                    push_quoted(&mut out, &mut chars);
                } else {
                    out.push_str(&escape_for(e, in_class));
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // A named ASCII class such as [:alpha:].
                out.push('[');
                for n in chars.by_ref() {
                    out.push(n);
                    if n == ']' {
                        break;
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(']');
            }
            '[' => out.push_str("\\["),
            _ => out.push(c),
        }
    }
    out
}

/// The replacement for the escape `\e`, inside or outside a class.
fn escape_for(e: char, in_class: bool) -> String {
    let (set, negated) = match e {
        'd' => ("0-9", false),
        'D' => ("0-9", true),
        'w' => ("0-9A-Za-z_", false),
        'W' => ("0-9A-Za-z_", true),
        's' => ("\\t\\n\\f\\r ", false),
        'S' => ("\\t\\n\\f\\r ", true),
        'b' | 'B' if !in_class => return format!("(?-u:\\{e})"),
        _ => return format!("\\{e}"),
    };
    match (in_class, negated) {
        (true, false) => set.to_string(),
        (_, true) => format!("[^{set}]"),
        (false, false) => format!("[{set}]"),
    }
}

/// Copies the text up to `\E` (or the end) as escaped literals.
fn push_quoted(out: &mut String, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut text = String::new();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'E') {
            chars.next();
            break;
        }
        text.push(c);
    }
    out.push_str(&regex::escape(&text));
}

/// Go's `allMatches`: successive leftmost-first matches starting from
/// `start`, where an empty match right after the previous match is skipped.
fn match_spans(re: &Regex, s: &str, limit: i64) -> Vec<(usize, usize)> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut spans = Vec::new();
    let (mut pos, mut prev_end) = (0, None);
    while spans.len() < limit && pos <= s.len() {
        let Some(m) = re.find_at(s, pos) else { break };
        let accept = !(m.is_empty() && Some(m.start()) == prev_end);
        pos = if m.end() == pos {
            pos + next_width(s, pos)
        } else {
            m.end()
        };
        prev_end = Some(m.end());
        if accept {
            spans.push((m.start(), m.end()));
        }
    }
    spans
}

/// The width of the character at `pos`, or 1 at the end.
fn next_width(s: &str, pos: usize) -> usize {
    s[pos..].chars().next().map_or(1, char::len_utf8)
}

/// `regexMatch RE STR`: false when RE does not compile.
pub(super) fn regex_match(args: &[Value]) -> Result<Value, String> {
    match must_regex_match(args) {
        Ok(v) => Ok(v),
        Err(e) if e.starts_with("error parsing regexp") => Ok(Value::Bool(false)),
        Err(e) => Err(e),
    }
}

/// `mustRegexMatch RE STR`.
pub(super) fn must_regex_match(args: &[Value]) -> Result<Value, String> {
    arity("regexMatch", args, 2)?;
    let (expr, s) = (string(&args[0])?, string(&args[1])?);
    Ok(Value::Bool(compile(expr, Mode::Error)?.is_match(s)))
}

/// `regexFindAll RE STR N` and `mustRegexFindAll`.
fn find_all(args: &[Value], mode: Mode) -> Result<Value, String> {
    arity("regexFindAll", args, 3)?;
    let (expr, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    let re = compile(expr, mode)?;
    let limit = if n < 0 { i64::MAX } else { n };
    Ok(string_list(
        match_spans(&re, s, limit)
            .into_iter()
            .map(|(a, b)| &s[a..b]),
    ))
}

/// `regexFindAll RE STR N`: at most N matches (all when N < 0).
pub(super) fn regex_find_all(args: &[Value]) -> Result<Value, String> {
    find_all(args, Mode::Panic)
}

/// `mustRegexFindAll RE STR N`.
pub(super) fn must_regex_find_all(args: &[Value]) -> Result<Value, String> {
    find_all(args, Mode::Error)
}

/// `regexFind RE STR` and `mustRegexFind`.
fn find(args: &[Value], mode: Mode) -> Result<Value, String> {
    arity("regexFind", args, 2)?;
    let (expr, s) = (string(&args[0])?, string(&args[1])?);
    let re = compile(expr, mode)?;
    Ok(Value::from(re.find(s).map_or("", |m| m.as_str())))
}

/// `regexFind RE STR`: the first match, or "".
pub(super) fn regex_find(args: &[Value]) -> Result<Value, String> {
    find(args, Mode::Panic)
}

/// `mustRegexFind RE STR`.
pub(super) fn must_regex_find(args: &[Value]) -> Result<Value, String> {
    find(args, Mode::Error)
}

/// Go's `replaceAll`: copies `s`, replacing each match with what `repl`
/// appends, but not an empty match right after the previous one.
fn replace_all(
    re: &Regex,
    s: &str,
    mut repl: impl FnMut(&mut String, &regex::Captures<'_>),
) -> Result<String, String> {
    let mut out = String::new();
    let (mut last_end, mut search) = (0, 0);
    while search <= s.len() {
        let Some(caps) = re.captures_at(s, search) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        out.push_str(&s[last_end..m.start()]);
        if m.end() > last_end || m.start() == 0 {
            repl(&mut out, &caps);
        }
        check_size(out.len())?;
        last_end = m.end();
        let width = next_width(s, search);
        search = if search + width > m.end() {
            search + width
        } else {
            m.end()
        };
    }
    out.push_str(s.get(last_end..).unwrap_or_default());
    Ok(out)
}

/// Go's `Regexp.Expand` of a template: `$1`, `${1}`, `$name`, `${name}`
/// and `$$`; unknown groups expand to nothing.
fn expand(out: &mut String, template: &str, caps: &regex::Captures<'_>) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match group_ref(rest) {
            Some((name, after)) => {
                let group = match name.parse::<usize>() {
                    Ok(n) if !(name.starts_with('0') && name.len() > 1) && name.len() <= 8 => {
                        caps.get(n)
                    }
                    _ => caps.name(name),
                };
                out.push_str(group.map_or("", |m| m.as_str()));
                rest = after;
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
}

/// Go's regexp `extract`: the group name after a `$`, and the text after it.
fn group_ref(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let (name, after) = body.split_at(len);
    if braced {
        after.strip_prefix('}').map(|a| (name, a))
    } else {
        Some((name, after))
    }
}

/// The replace functions' shared body.
fn replace(args: &[Value], mode: Mode, literal: bool) -> Result<Value, String> {
    arity("regexReplaceAll", args, 3)?;
    let (expr, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = compile(expr, mode)?;
    let out = if literal {
        replace_all(&re, s, |out, _| out.push_str(repl))?
    } else {
        replace_all(&re, s, |out, caps| expand(out, repl, caps))?
    };
    Ok(Value::from(out))
}

/// `regexReplaceAll RE STR REPL`: REPL may refer to groups as `$1`/`${name}`.
pub(super) fn regex_replace_all(args: &[Value]) -> Result<Value, String> {
    replace(args, Mode::Panic, false)
}

/// `mustRegexReplaceAll RE STR REPL`.
pub(super) fn must_regex_replace_all(args: &[Value]) -> Result<Value, String> {
    replace(args, Mode::Error, false)
}

/// `regexReplaceAllLiteral RE STR REPL`: REPL inserted as is.
pub(super) fn regex_replace_all_literal(args: &[Value]) -> Result<Value, String> {
    replace(args, Mode::Panic, true)
}

/// `mustRegexReplaceAllLiteral RE STR REPL`.
pub(super) fn must_regex_replace_all_literal(args: &[Value]) -> Result<Value, String> {
    replace(args, Mode::Error, true)
}

/// `regexSplit RE STR N` and `mustRegexSplit`: Go's `Regexp.Split`.
fn split(args: &[Value], mode: Mode) -> Result<Value, String> {
    arity("regexSplit", args, 3)?;
    let (expr, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    let re = compile(expr, mode)?;
    if n == 0 {
        return Ok(Value::list(Vec::new()));
    }
    if !expr.is_empty() && s.is_empty() {
        return Ok(string_list([""]));
    }
    let mut parts: Vec<&str> = Vec::new();
    let (mut begin, mut end) = (0, 0);
    for (start, stop) in match_spans(&re, s, if n < 0 { i64::MAX } else { n }) {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = start;
        if stop != 0 {
            parts.push(&s[begin..end]);
        }
        begin = stop;
    }
    if end != s.len() {
        parts.push(&s[begin..]);
    }
    if parts.len() > MAX_OUTPUT {
        return Err(too_big());
    }
    Ok(string_list(parts))
}

/// `regexSplit RE STR N`: at most N pieces (all when N < 0).
pub(super) fn regex_split(args: &[Value]) -> Result<Value, String> {
    split(args, Mode::Panic)
}

/// `mustRegexSplit RE STR N`.
pub(super) fn must_regex_split(args: &[Value]) -> Result<Value, String> {
    split(args, Mode::Error)
}

/// `regexQuoteMeta STR`: Go's `regexp.QuoteMeta`.
pub(super) fn regex_quote_meta(args: &[Value]) -> Result<Value, String> {
    arity("regexQuoteMeta", args, 1)?;
    let s = string(&args[0])?;
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::from(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sprig::args::strval;

    fn run(f: fn(&[Value]) -> Result<Value, String>, args: &[&str]) -> String {
        let args: Vec<Value> = args
            .iter()
            .map(|a| {
                a.parse::<i64>()
                    .map(Value::Int)
                    .unwrap_or_else(|_| Value::from(*a))
            })
            .collect();
        f(&args)
            .map(|v| strval(&v))
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn find_and_split_match_go() {
        assert_eq!(
            run(regex_find_all, &["[a-z]+", "ab1cd2ef", "-1"]),
            "[ab cd ef]"
        );
        assert_eq!(run(regex_find_all, &["a*", "baaac", "-1"]), "[ aaa ]");
        assert_eq!(
            run(regex_find_all, &["\\w+", "héllo wörld", "-1"]),
            "[h llo w rld]"
        );
        assert_eq!(run(regex_find_all, &["[a-z]", "abc", "2"]), "[a b]");
        assert_eq!(run(regex_find, &["\\d+", "ab12c"]), "12");
        assert_eq!(run(regex_split, &["a*", "baaac", "-1"]), "[b c]");
        assert_eq!(run(regex_split, &[",", "a,b,c", "2"]), "[a b,c]");
        assert_eq!(run(regex_split, &[",", "", "-1"]), "[]");
        assert_eq!(run(regex_split, &["x*", "", "-1"]), "[]");
        assert_eq!(run(regex_match, &["[", "x"]), "false");
        assert_eq!(run(regex_match, &["^mongo", "mongo.db.svc"]), "true");
        assert_eq!(run(regex_match, &["\\Qa.b\\E$", "xa.b"]), "true");
    }

    #[test]
    fn replace_matches_go() {
        assert_eq!(
            run(regex_replace_all, &["[0-9]+", "port 27017", "N"]),
            "port N"
        );
        assert_eq!(
            run(regex_replace_all, &["a(x*)b", "-ab-axxb-", "${1}W"]),
            "-W-xxW-"
        );
        assert_eq!(
            run(regex_replace_all, &["a(x*)b", "-ab-axxb-", "$1W"]),
            "---"
        );
        assert_eq!(
            run(regex_replace_all, &["a(?P<n>x*)b", "-axb-", "[$n$$]"]),
            "-[x$]-"
        );
        assert_eq!(
            run(regex_replace_all_literal, &["a(x*)b", "-ab-axxb-", "$1"]),
            "-$1-$1-"
        );
        assert_eq!(run(regex_replace_all, &["x*", "abc", "-"]), "-a-b-c-");
        assert_eq!(run(regex_replace_all, &["a*", "baaac", "-"]), "-b-c-");
        assert_eq!(run(regex_quote_meta, &["1.5-2.0?"]), "1\\.5-2\\.0\\?");
    }
}

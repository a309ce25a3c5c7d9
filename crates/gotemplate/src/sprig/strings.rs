//! sprig's string functions (Go's `strings` package, goutils and xstrings).

use std::collections::BTreeMap;

use super::args::{
    arity, check_size, from_bytes, int, repeat as go_repeat, slice_str, string, strval,
};
use super::unicode as uni;
use crate::value::Value;

/// Checks a one-`string` signature and maps the string.
fn str1(name: &str, args: &[Value], f: impl FnOnce(&str) -> String) -> Result<Value, String> {
    arity(name, args, 1)?;
    Ok(Value::from(f(string(&args[0])?)))
}

/// Checks a two-`string` signature and applies `f`.
fn str2<T: Into<Value>>(
    name: &str,
    args: &[Value],
    f: impl FnOnce(&str, &str) -> T,
) -> Result<Value, String> {
    arity(name, args, 2)?;
    Ok(f(string(&args[0])?, string(&args[1])?).into())
}

/// `hello`: the string "Hello!".
pub(super) fn hello(args: &[Value]) -> Result<Value, String> {
    arity("hello", args, 0)?;
    Ok(Value::from("Hello!"))
}

/// `upper STR`: Go's `strings.ToUpper`.
pub(super) fn upper(args: &[Value]) -> Result<Value, String> {
    str1("upper", args, |s| s.chars().map(uni::to_upper).collect())
}

/// `lower STR`: Go's `strings.ToLower`.
pub(super) fn lower(args: &[Value]) -> Result<Value, String> {
    str1("lower", args, |s| s.chars().map(uni::to_lower).collect())
}

/// `title STR`: Go's `strings.Title`, titlecasing each word's first letter.
pub(super) fn title(args: &[Value]) -> Result<Value, String> {
    str1("title", args, |s| {
        let mut prev = ' ';
        s.chars()
            .map(|c| {
                let out = if is_title_separator(prev) {
                    uni::to_title(c)
                } else {
                    c
                };
                prev = c;
                out
            })
            .collect()
    })
}

/// Go's `strings.Title` word boundary test.
fn is_title_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if uni::is_letter(c) || c.is_numeric() {
        return false;
    }
    uni::is_space(c)
}

/// `untitle STR`: lowercases the first letter of each whitespace-separated word.
pub(super) fn untitle(args: &[Value]) -> Result<Value, String> {
    str1("untitle", args, |s| {
        let mut at_start = true;
        s.chars()
            .map(|c| {
                if uni::is_space(c) {
                    at_start = true;
                    c
                } else if std::mem::take(&mut at_start) {
                    uni::to_lower(c)
                } else {
                    c
                }
            })
            .collect()
    })
}

/// `swapcase STR`: goutils' word-aware case swap (upper and title become
/// lower, a lower letter starting a word becomes title, others upper).
pub(super) fn swapcase(args: &[Value]) -> Result<Value, String> {
    str1("swapcase", args, |s| {
        let mut after_space = true;
        s.chars()
            .map(|c| {
                if uni::is_upper(c) || uni::is_title(c) {
                    after_space = false;
                    uni::to_lower(c)
                } else if uni::is_lower(c) {
                    if std::mem::take(&mut after_space) {
                        uni::to_title(c)
                    } else {
                        uni::to_upper(c)
                    }
                } else {
                    after_space = uni::is_space(c);
                    c
                }
            })
            .collect()
    })
}

/// `trim STR`: Go's `strings.TrimSpace`.
pub(super) fn trim(args: &[Value]) -> Result<Value, String> {
    str1("trim", args, |s| s.trim_matches(uni::is_space).to_string())
}

/// `trimAll CUTSET STR` (also `trimall`): Go's `strings.Trim`.
pub(super) fn trim_all(args: &[Value]) -> Result<Value, String> {
    str2("trimAll", args, |cut, s| {
        s.trim_matches(|c| cut.contains(c)).to_string()
    })
}

/// `trimPrefix PREFIX STR`.
pub(super) fn trim_prefix(args: &[Value]) -> Result<Value, String> {
    str2("trimPrefix", args, |p, s| {
        s.strip_prefix(p).unwrap_or(s).to_string()
    })
}

/// `trimSuffix SUFFIX STR`.
pub(super) fn trim_suffix(args: &[Value]) -> Result<Value, String> {
    str2("trimSuffix", args, |p, s| {
        s.strip_suffix(p).unwrap_or(s).to_string()
    })
}

/// `contains SUBSTR STR`.
pub(super) fn contains(args: &[Value]) -> Result<Value, String> {
    str2("contains", args, |sub, s| s.contains(sub))
}

/// `hasPrefix PREFIX STR`.
pub(super) fn has_prefix(args: &[Value]) -> Result<Value, String> {
    str2("hasPrefix", args, |p, s| s.starts_with(p))
}

/// `hasSuffix SUFFIX STR`.
pub(super) fn has_suffix(args: &[Value]) -> Result<Value, String> {
    str2("hasSuffix", args, |p, s| s.ends_with(p))
}

/// `replace OLD NEW STR`: replaces every occurrence.
pub(super) fn replace(args: &[Value]) -> Result<Value, String> {
    arity("replace", args, 3)?;
    let (old, new, src) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let hits = if old.is_empty() {
        src.chars().count() + 1
    } else {
        src.matches(old).count()
    };
    check_size(src.len().saturating_add(hits.saturating_mul(new.len())))?;
    Ok(Value::from(src.replace(old, new)))
}

/// `repeat COUNT STR`.
pub(super) fn repeat(args: &[Value]) -> Result<Value, String> {
    arity("repeat", args, 2)?;
    let count = int(&args[0])?;
    Ok(Value::from(go_repeat(string(&args[1])?, count)?))
}

/// `substr START END STR`: byte offsets, with sprig's rules for negative and
/// overlong bounds and Go's panics for the rest.
pub(super) fn substr(args: &[Value]) -> Result<Value, String> {
    arity("substr", args, 3)?;
    let (start, end, s) = (int(&args[0])?, int(&args[1])?, string(&args[2])?);
    let out = if start < 0 {
        slice_str(s, None, Some(end))?
    } else if end < 0 || end > s.len() as i64 {
        slice_str(s, Some(start), None)?
    } else {
        slice_str(s, Some(start), Some(end))?
    };
    Ok(Value::from(out))
}

/// `trunc N STR`: the first N bytes, or the last -N bytes when N < 0.
pub(super) fn trunc(args: &[Value]) -> Result<Value, String> {
    arity("trunc", args, 2)?;
    let (c, s) = (int(&args[0])?, string(&args[1])?);
    let len = s.len() as i64;
    let out = if c < 0 && len + c > 0 {
        slice_str(s, Some(len + c), None)?
    } else if c >= 0 && len > c {
        slice_str(s, None, Some(c))?
    } else {
        s.to_string()
    };
    Ok(Value::from(out))
}

/// `abbrev WIDTH STR`: truncates with "..." to at most WIDTH bytes.
pub(super) fn abbrev(args: &[Value]) -> Result<Value, String> {
    arity("abbrev", args, 2)?;
    let (width, s) = (int(&args[0])?, string(&args[1])?);
    if width < 4 {
        return Ok(Value::from(s));
    }
    Ok(Value::from(abbreviate(s, 0, width).unwrap_or_default()))
}

/// `abbrevboth LEFT RIGHT STR`: abbreviates on both sides.
pub(super) fn abbrevboth(args: &[Value]) -> Result<Value, String> {
    arity("abbrevboth", args, 3)?;
    let (left, right, s) = (int(&args[0])?, int(&args[1])?, string(&args[2])?);
    if right < 4 || (left > 0 && right < 7) {
        return Ok(Value::from(s));
    }
    Ok(Value::from(abbreviate(s, left, right).unwrap_or_default()))
}

/// goutils' `AbbreviateFull` on bytes; `None` is its error (width too small).
fn abbreviate(s: &str, offset: i64, max_width: i64) -> Option<String> {
    let len = s.len() as i64;
    if s.is_empty() {
        return Some(String::new());
    }
    if max_width < 4 {
        return None;
    }
    if len <= max_width {
        return Some(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let bytes = s.as_bytes();
    let cut = |a: i64, b: i64| from_bytes(bytes[a as usize..b as usize].to_vec());
    if offset <= 4 {
        return Some(cut(0, max_width - 3) + "...");
    }
    if max_width < 7 {
        return None;
    }
    if offset + max_width - 3 < len {
        let rest = abbreviate(&cut(offset, len), 0, max_width - 3).unwrap_or_default();
        return Some(format!("...{rest}"));
    }
    Some(format!("...{}", cut(len - (max_width - 3), len)))
}

/// `nospace STR`: goutils' `DeleteWhiteSpace`, which works byte by byte
/// (each kept byte is re-encoded as the rune of the same value).
pub(super) fn nospace(args: &[Value]) -> Result<Value, String> {
    str1("nospace", args, |s| {
        if !s.bytes().any(uni::is_space_byte) {
            return s.to_string();
        }
        s.bytes()
            .filter(|&b| !uni::is_space_byte(b))
            .map(char::from)
            .collect()
    })
}

/// `initials STR`: goutils' `Initials`, the first byte of each
/// whitespace-separated word (as the rune of the same value).
pub(super) fn initials(args: &[Value]) -> Result<Value, String> {
    str1("initials", args, |s| {
        let mut gap = true;
        let mut out = String::new();
        for b in s.bytes() {
            if uni::is_space_byte(b) {
                gap = true;
            } else if std::mem::take(&mut gap) {
                out.push(char::from(b));
            }
        }
        out
    })
}

/// `shuffle STR`: the runes in random order.
pub(super) fn shuffle(args: &[Value]) -> Result<Value, String> {
    str1("shuffle", args, |s| {
        let mut runes: Vec<char> = s.chars().collect();
        for i in (1..runes.len()).rev() {
            runes.swap(i, rand::random_range(0..=i));
        }
        runes.into_iter().collect()
    })
}

/// `wrap WIDTH STR`: wraps at spaces, leaving long words whole.
pub(super) fn wrap(args: &[Value]) -> Result<Value, String> {
    arity("wrap", args, 2)?;
    let width = int(&args[0])?;
    Ok(Value::from(wrap_custom(
        string(&args[1])?,
        width,
        "\n",
        false,
    )?))
}

/// `wrapWith WIDTH SEP STR`: wraps with SEP, splitting long words too.
pub(super) fn wrap_with(args: &[Value]) -> Result<Value, String> {
    arity("wrapWith", args, 3)?;
    let width = int(&args[0])?;
    let (sep, s) = (string(&args[1])?, string(&args[2])?);
    Ok(Value::from(wrap_custom(s, width, sep, true)?))
}

/// goutils' `WrapCustom`, on bytes.
fn wrap_custom(s: &str, width: i64, newline: &str, wrap_long: bool) -> Result<String, String> {
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = usize::try_from(width.max(1)).unwrap_or(usize::MAX);
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut offset = 0;
    while b.len() - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let window = &b[offset..offset + width + 1];
        if let Some(space) = window.iter().rposition(|&c| c == b' ') {
            out.extend_from_slice(&b[offset..offset + space]);
            out.extend_from_slice(newline.as_bytes());
            offset += space + 1;
        } else if wrap_long {
            out.extend_from_slice(&b[offset..offset + width]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else if let Some(space) = b[offset + width..].iter().position(|&c| c == b' ') {
            let end = offset + width + space;
            out.extend_from_slice(&b[offset..end]);
            out.extend_from_slice(newline.as_bytes());
            offset = end + 1;
        } else {
            out.extend_from_slice(&b[offset..]);
            offset = b.len();
        }
        check_size(out.len())?;
    }
    out.extend_from_slice(&b[offset..]);
    Ok(from_bytes(out))
}

/// `indent N STR`: prefixes every line with N spaces.
pub(super) fn indent(args: &[Value]) -> Result<Value, String> {
    arity("indent", args, 2)?;
    Ok(Value::from(indent_by(int(&args[0])?, string(&args[1])?)?))
}

/// `nindent N STR`: a newline, then `indent N STR`.
pub(super) fn nindent(args: &[Value]) -> Result<Value, String> {
    arity("nindent", args, 2)?;
    Ok(Value::from(format!(
        "\n{}",
        indent_by(int(&args[0])?, string(&args[1])?)?
    )))
}

/// Indents every line of `s` by `spaces` spaces.
fn indent_by(spaces: i64, s: &str) -> Result<String, String> {
    let pad = go_repeat(" ", spaces)?;
    let lines = s.bytes().filter(|&b| b == b'\n').count() + 1;
    check_size(s.len().saturating_add(lines.saturating_mul(pad.len())))?;
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

/// `plural ONE MANY COUNT`.
pub(super) fn plural(args: &[Value]) -> Result<Value, String> {
    arity("plural", args, 3)?;
    let (one, many) = (string(&args[0])?, string(&args[1])?);
    Ok(Value::from(if int(&args[2])? == 1 { one } else { many }))
}

/// `quote ARGS...`: each non-nil argument Go-quoted, space separated.
pub(super) fn quote(args: &[Value]) -> Result<Value, String> {
    Ok(Value::from(join_non_nil(args, |v| {
        crate::fmt::quote(&strval(v))
    })))
}

/// `squote ARGS...`: each non-nil argument in single quotes.
pub(super) fn squote(args: &[Value]) -> Result<Value, String> {
    Ok(Value::from(join_non_nil(args, |v| {
        format!("'{}'", strval(v))
    })))
}

/// `cat ARGS...`: the non-nil arguments printed and space separated.
pub(super) fn cat(args: &[Value]) -> Result<Value, String> {
    Ok(Value::from(join_non_nil(args, strval)))
}

/// Formats each non-nil value and joins them with spaces.
fn join_non_nil(args: &[Value], f: impl Fn(&Value) -> String) -> String {
    args.iter()
        .filter(|v| !matches!(v, Value::Nil | Value::Missing))
        .map(f)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `toString VALUE`: sprig's `strval`.
pub(super) fn to_string(args: &[Value]) -> Result<Value, String> {
    arity("toString", args, 1)?;
    Ok(Value::from(strval(&args[0])))
}

/// `toStrings VALUE`: a list of strings (sprig's `strslice`).
pub(super) fn to_strings(args: &[Value]) -> Result<Value, String> {
    arity("toStrings", args, 1)?;
    Ok(string_list(strslice(&args[0])))
}

/// sprig's `strslice`: a list's non-nil items as strings, nil as no
/// items, anything else as one item.
pub(super) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(items) => items
            .iter()
            .filter(|i| !matches!(i, Value::Nil | Value::Missing))
            .map(strval)
            .collect(),
        Value::Nil | Value::Missing => Vec::new(),
        other => vec![strval(other)],
    }
}

/// A list value holding strings.
pub(super) fn string_list(items: impl IntoIterator<Item = impl Into<Value>>) -> Value {
    Value::list(items.into_iter().map(Into::into).collect())
}

/// `join SEP LIST`.
pub(super) fn join(args: &[Value]) -> Result<Value, String> {
    arity("join", args, 2)?;
    let sep = string(&args[0])?;
    let out = strslice(&args[1]).join(sep);
    check_size(out.len())?;
    Ok(Value::from(out))
}

/// `sortAlpha LIST`: the items as sorted strings.
pub(super) fn sort_alpha(args: &[Value]) -> Result<Value, String> {
    arity("sortAlpha", args, 1)?;
    let mut items = match &args[0] {
        list @ Value::List(_) => strslice(list),
        other => vec![strval(other)],
    };
    items.sort();
    Ok(string_list(items))
}

/// `splitList SEP STR`: Go's `strings.Split`.
pub(super) fn split_list(args: &[Value]) -> Result<Value, String> {
    str2("splitList", args, |sep, s| {
        string_list(go_split(s, sep, -1))
    })
}

/// `split SEP STR`: the parts in a map keyed `_0`, `_1`, ...
pub(super) fn split(args: &[Value]) -> Result<Value, String> {
    str2("split", args, |sep, s| indexed_map(go_split(s, sep, -1)))
}

/// `splitn SEP N STR`: at most N parts, in a map keyed `_0`, `_1`, ...
pub(super) fn splitn(args: &[Value]) -> Result<Value, String> {
    arity("splitn", args, 3)?;
    let (sep, n, s) = (string(&args[0])?, int(&args[1])?, string(&args[2])?);
    Ok(indexed_map(go_split(s, sep, n)))
}

/// The parts as a map from `_INDEX` to part.
fn indexed_map(parts: Vec<&str>) -> Value {
    Value::map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::from(p)))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// Go's `strings.SplitN`: n < 0 means all parts, 0 none; an empty
/// separator splits into runes.
pub(super) fn go_split<'a>(s: &'a str, sep: &str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    if sep.is_empty() {
        let mut parts: Vec<&str> = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if parts.len() + 1 == limit {
                break;
            }
            let (head, tail) = rest.split_at(c.len_utf8());
            parts.push(head);
            rest = tail;
        }
        if !rest.is_empty() {
            parts.push(rest);
        }
        return parts;
    }
    s.splitn(limit, sep).collect()
}

/// `snakecase STR`: xstrings' `ToSnakeCase`.
pub(super) fn snakecase(args: &[Value]) -> Result<Value, String> {
    str1("snakecase", args, |s| words_to_lower(s, '_'))
}

/// `kebabcase STR`: xstrings' `ToKebabCase`.
pub(super) fn kebabcase(args: &[Value]) -> Result<Value, String> {
    str1("kebabcase", args, |s| words_to_lower(s, '-'))
}

/// `camelcase STR`: xstrings' `ToCamelCase` ("hello_world" → "HelloWorld").
pub(super) fn camelcase(args: &[Value]) -> Result<Value, String> {
    str1("camelcase", args, |s| {
        let mut out = String::new();
        let mut chars = s.chars();
        // Leading connectors are kept; the first other rune is uppercased.
        let mut cur = None;
        for c in chars.by_ref() {
            if !is_connector(c) {
                cur = Some(uni::to_upper(c));
                break;
            }
            out.push(c);
            cur = Some(c);
        }
        let Some(mut r0) = cur else { return out };
        for next in chars {
            let r1 = r0;
            r0 = next;
            if is_connector(r0) && is_connector(r1) {
                out.push(r1);
            } else if is_connector(r1) {
                r0 = uni::to_upper(r0);
            } else {
                r0 = uni::to_lower(r0);
                out.push(r1);
            }
        }
        out.push(r0);
        out
    })
}

/// xstrings' word separators: `-`, `_` and whitespace.
fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || uni::is_space(c)
}

/// xstrings' "alphabet": a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    uni::is_letter(c)
        && !matches!(c, '\u{4E00}'..='\u{9FCC}' | '\u{3400}'..='\u{4D85}' | '\u{20000}'..='\u{2B81D}')
}

/// The kinds of word xstrings splits a string into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    /// Only invalid UTF-8 (U+FFFD), or nothing at all.
    Invalid,
    /// Digits.
    Number,
    /// Starts with an uppercase letter.
    Upper,
    /// Lowercase letters.
    Alpha,
    /// Separators.
    Connector,
    /// Punctuation.
    Punct,
    /// Anything else.
    Other,
}

/// The first rune of `s` that is not U+FFFD and the bytes up to and
/// including it, or `prev` and all of `s` when there is none.
fn next_valid(s: &str, prev: char) -> (char, usize) {
    let mut size = 0;
    for c in s.chars() {
        size += c.len_utf8();
        if c != '\u{FFFD}' {
            return (c, size);
        }
    }
    (prev, size)
}

/// xstrings' `nextWord`: the kind and text of the first word, and the rest.
fn next_word(s: &str) -> (Word, &str, &str) {
    if s.is_empty() {
        return (Word::Invalid, "", "");
    }
    let (mut r, size) = next_valid(s, '\u{FFFD}');
    let mut offset = size;
    if r == '\u{FFFD}' {
        return (Word::Invalid, &s[..offset], &s[offset..]);
    }
    let mut rest = &s[size..];
    // Extends the word while `keep` accepts the next rune.
    let take_while =
        |r: &mut char, offset: &mut usize, rest: &mut &str, keep: &dyn Fn(char) -> bool| {
            while !rest.is_empty() {
                let (c, sz) = next_valid(rest, *r);
                *r = c;
                if !keep(c) {
                    break;
                }
                *offset += sz;
                *rest = &rest[sz..];
            }
        };
    let lower_alpha = |c: char| is_alphabet(c) && !uni::is_upper(c);
    let kind = if is_connector(r) {
        take_while(&mut r, &mut offset, &mut rest, &is_connector);
        Word::Connector
    } else if uni::is_punct(r) {
        take_while(&mut r, &mut offset, &mut rest, &uni::is_punct);
        Word::Punct
    } else if uni::is_upper(r) {
        if !rest.is_empty() {
            let (c, sz) = next_valid(rest, r);
            r = c;
            if uni::is_upper(c) {
                offset += sz;
                rest = &rest[sz..];
                let mut last = sz;
                while !rest.is_empty() {
                    let (c, sz) = next_valid(rest, r);
                    r = c;
                    if !uni::is_upper(c) {
                        break;
                    }
                    last = sz;
                    offset += sz;
                    rest = &rest[sz..];
                }
                // "HTTPStatus" splits as "HTTP" + "Status".
                if !rest.is_empty() && is_alphabet(r) {
                    offset -= last;
                    rest = &s[offset..];
                }
            } else if is_alphabet(c) {
                offset += sz;
                rest = &rest[sz..];
                take_while(&mut r, &mut offset, &mut rest, &lower_alpha);
            }
        }
        Word::Upper
    } else if is_alphabet(r) {
        take_while(&mut r, &mut offset, &mut rest, &lower_alpha);
        Word::Alpha
    } else if uni::is_number(r) {
        take_while(&mut r, &mut offset, &mut rest, &uni::is_number);
        Word::Number
    } else {
        let other =
            |c: char| !(is_connector(c) || is_alphabet(c) || uni::is_number(c) || uni::is_punct(c));
        take_while(&mut r, &mut offset, &mut rest, &other);
        Word::Other
    };
    (kind, &s[..offset], rest)
}

/// xstrings' `toLower`: lowercases upper words and maps connectors.
fn push_lower(out: &mut String, kind: Word, word: &str, connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        out.push(if is_connector(c) {
            connector
        } else {
            uni::to_lower(c)
        });
    }
}

/// xstrings' `camelCaseToLowerCase`: the words of `s`, lowercased and
/// joined by `connector`, keeping a number with the word before it.
fn words_to_lower(s: &str, connector: char) -> String {
    let mut out = String::new();
    let (mut kind, mut word, mut rest) = next_word(s);
    let push = |out: &mut String, k: Word, w: &str| push_lower(out, k, w, connector);
    let joins = |k: Word| !matches!(k, Word::Invalid | Word::Connector | Word::Punct);
    while !rest.is_empty() {
        if kind != Word::Connector {
            push(&mut out, kind, word);
        }
        let (prev, last) = (kind, word);
        (kind, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while matches!(kind, Word::Alpha | Word::Number) {
                    push(&mut out, kind, word);
                    (kind, word, rest) = next_word(rest);
                }
                if joins(kind) {
                    out.push(connector);
                }
            }
            Word::Connector => push(&mut out, prev, last),
            Word::Punct => {}
            _ if kind != Word::Number => {
                if kind != Word::Connector && kind != Word::Punct {
                    out.push(connector);
                }
            }
            _ if rest.is_empty() => {}
            _ => {
                let number = word;
                (kind, word, rest) = next_word(rest);
                if kind != Word::Alpha {
                    // "Bld4Floor" → "bld4_floor".
                    push(&mut out, Word::Number, number);
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                } else {
                    // "HTTP2xx" → "http_2xx".
                    out.push(connector);
                    push(&mut out, Word::Number, number);
                    while matches!(kind, Word::Alpha | Word::Number) {
                        push(&mut out, kind, word);
                        (kind, word, rest) = next_word(rest);
                    }
                    if joins(kind) {
                        out.push(connector);
                    }
                }
            }
        }
    }
    push(&mut out, kind, word);
    out
}

/// The character sets of the `rand*` string functions.
const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Digits.
const DIGITS: &[u8] = b"0123456789";
/// Letters and digits.
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A random string of `count` characters from `set` (or printable ASCII
/// when `set` is empty); negative counts give "" as in sprig.
fn random_string(name: &str, args: &[Value], set: &[u8]) -> Result<Value, String> {
    arity(name, args, 1)?;
    let count = int(&args[0])?;
    let Ok(count) = usize::try_from(count) else {
        return Ok(Value::from(""));
    };
    check_size(count)?;
    let pick = |_| {
        if set.is_empty() {
            char::from(rand::random_range(b' '..=b'~'))
        } else {
            char::from(set[rand::random_range(0..set.len())])
        }
    };
    Ok(Value::from((0..count).map(pick).collect::<String>()))
}

/// `randAlphaNum N`.
pub(super) fn rand_alpha_num(args: &[Value]) -> Result<Value, String> {
    random_string("randAlphaNum", args, ALNUM)
}

/// `randAlpha N`.
pub(super) fn rand_alpha(args: &[Value]) -> Result<Value, String> {
    random_string("randAlpha", args, ALPHA)
}

/// `randNumeric N`.
pub(super) fn rand_numeric(args: &[Value]) -> Result<Value, String> {
    random_string("randNumeric", args, DIGITS)
}

/// `randAscii N`: printable ASCII.
pub(super) fn rand_ascii(args: &[Value]) -> Result<Value, String> {
    random_string("randAscii", args, &[])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn call(f: fn(&[Value]) -> Result<Value, String>, args: &[Value]) -> String {
        match f(args) {
            Ok(v) => strval(&v),
            Err(e) => format!("ERR {e}"),
        }
    }

    fn s(x: &str) -> Value {
        Value::from(x)
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn case_conversions_match_go() {
        let cases = [
            ("ABc", "a_bc"),
            ("HTTPServer", "http_server"),
            ("A1", "a1"),
            ("a-b c_d", "a_b_c_d"),
            ("ABC", "abc"),
            ("AB-c", "ab_c"),
            ("Bld4Floor", "bld4_floor"),
            ("HTTP2xx", "http_2xx"),
            ("a.b!c", "a.b!c"),
            ("x1y2", "x_1y2"),
            ("中文A", "中文_a"),
            ("HelloWorld", "hello_world"),
        ];
        for (input, want) in cases {
            assert_eq!(call(snakecase, &[s(input)]), want, "snakecase {input}");
        }
        assert_eq!(call(kebabcase, &[s("HTTP2XX")]), "http2-xx");
        assert_eq!(call(kebabcase, &[s("hello World--x")]), "hello-world--x");
        for (input, want) in [
            ("HTTPServer", "Httpserver"),
            ("__a__b_", "__A_B_"),
            ("a b-c", "ABC"),
            ("_", "__"),
            ("a", "A"),
            ("-", "--"),
        ] {
            assert_eq!(call(camelcase, &[s(input)]), want, "camelcase {input}");
        }
    }

    #[test]
    fn word_functions_match_go() {
        assert_eq!(call(swapcase, &[s("hello World ǆx")]), "HELLO wORLD ǅX");
        assert_eq!(
            call(title, &[s("hello_world o'neil ǆx")]),
            "Hello_world O'Neil ǅx"
        );
        assert_eq!(call(untitle, &[s("Hello World")]), "hello world");
        assert_eq!(call(upper, &[s("straße ǆ")]), "STRAßE Ǆ");
        assert_eq!(call(lower, &[s("İI")]), "ii");
        assert_eq!(call(initials, &[s("héllo wörld")]), "hw");
        assert_eq!(call(nospace, &[s("héllo à b")]), "h\u{c3}\u{a9}llo\u{c3}b");
        assert_eq!(call(nospace, &[s("àb")]), "\u{c3}b");
    }

    #[test]
    fn wrapping_and_abbreviation_match_go() {
        assert_eq!(
            call(wrap, &[Value::Int(5), s("hello world foo")]),
            "hello\nworld\nfoo"
        );
        assert_eq!(
            call(wrap, &[Value::Int(3), s("héllo wörld")]),
            "héllo\nwörld"
        );
        assert_eq!(
            call(wrap_with, &[Value::Int(3), s("\n"), s("abcdefgh ij")]),
            "abc\ndef\ngh\nij"
        );
        assert_eq!(call(wrap, &[Value::Int(0), s("a b")]), "a\nb");
        assert_eq!(
            call(
                abbrevboth,
                &[Value::Int(5), Value::Int(10), s("1234 5678 9123 4567")]
            ),
            "...5678..."
        );
        assert_eq!(call(abbrev, &[Value::Int(3), s("hello")]), "hello");
        assert_eq!(
            call(
                abbrevboth,
                &[Value::Int(0), Value::Int(3), s("hello world")]
            ),
            "hello world"
        );
        assert_eq!(call(abbrev, &[Value::Int(8), s("hello world")]), "hello...");
    }

    #[test]
    fn slicing_matches_go() {
        assert_eq!(call(trunc, &[Value::Int(-100), s("abc")]), "abc");
        assert_eq!(call(trunc, &[Value::Int(-3), s("mongo.db.svc")]), "svc");
        assert_eq!(
            call(substr, &[Value::Int(0), Value::Int(7), s("hello")]),
            "hello"
        );
        assert_eq!(
            call(substr, &[Value::Int(7), Value::Int(-1), s("hello")]),
            "ERR runtime error: slice bounds out of range [7:5]"
        );
        assert_eq!(
            call(substr, &[Value::Int(-1), Value::Int(-3), s("hello")]),
            "ERR runtime error: slice bounds out of range [:-3]"
        );
        assert_eq!(
            call(trunc, &[Value::Float(5.0), s("abc")]),
            "ERR wrong type for value; expected int; got float64"
        );
    }
}

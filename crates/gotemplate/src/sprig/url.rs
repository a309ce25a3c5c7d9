//! sprig's `urlParse` and `urlJoin`, on a port of the parts of Go's
//! `net/url` they use (`Parse`, `Hostname`, `Userinfo.String`, `URL.String`).

use std::collections::BTreeMap;

use super::args::{arity, map, read, string};
use crate::value::Value;

/// Which URL component a string is escaped for (Go's `encoding`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, part: Part) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(part, Part::Host | Part::Zone) && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match part {
            Part::Path => c == b'?',
            Part::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Part::Fragment => false,
            Part::Host | Part::Zone => true,
        },
        b'!' | b'(' | b')' | b'*' if part == Part::Fragment => false,
        _ => true,
    }
}

/// Go's `escape`: percent-encodes the bytes `part` does not allow.
fn escape(s: &str, part: Part) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if should_escape(b, part) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Go's `unescape`: decodes `%XX`, rejecting bad escapes (and, in hosts,
/// escapes of ASCII and characters not allowed there).
fn unescape(s: &str, part: Part) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |j: usize| b.get(j).and_then(|c| char::from(*c).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                    let bad = super::args::from_bytes(b[i..b.len().min(i + 3)].to_vec());
                    return Err(format!("invalid URL escape {}", crate::fmt::quote(&bad)));
                };
                if part == Part::Host && hi < 8 && &s[i..i + 3] != "%25" {
                    return Err(format!(
                        "invalid URL escape {}",
                        crate::fmt::quote(&s[i..i + 3])
                    ));
                }
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            c => {
                if matches!(part, Part::Host | Part::Zone) && c < 0x80 && should_escape(c, part) {
                    let bad = &s[i..i + 1];
                    return Err(format!(
                        "invalid character {} in host name",
                        crate::fmt::quote(bad)
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(super::args::from_bytes(out))
}

/// Go's `validOptionalPort`: empty, or a colon and digits.
fn valid_optional_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|c| c.is_ascii_digit()))
}

/// A parsed URL: the fields sprig's `urlParse` reports.
#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

impl Url {
    /// Go's `url.Parse`.
    fn parse(raw: &str) -> Result<Url, String> {
        let (rest, frag) = raw.split_once('#').unwrap_or((raw, ""));
        let wrap = |target: &str, e: String| format!("parse {}: {e}", crate::fmt::quote(target));
        let mut url = Url::parse_no_fragment(rest).map_err(|e| wrap(rest, e))?;
        url.fragment = unescape(frag, Part::Fragment).map_err(|e| wrap(raw, e))?;
        Ok(url)
    }

    /// Go's `parse(rawURL, false)`.
    fn parse_no_fragment(raw: &str) -> Result<Url, String> {
        if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
            return Err("net/url: invalid control character in URL".into());
        }
        let mut url = Url::default();
        if raw == "*" {
            url.path = "*".into();
            return Ok(url);
        }
        let (scheme, mut rest) = split_scheme(raw)?;
        url.scheme = scheme.to_ascii_lowercase();
        if rest.ends_with('?') && rest.matches('?').count() == 1 {
            rest = &rest[..rest.len() - 1];
        } else if let Some((before, query)) = rest.split_once('?') {
            url.raw_query = query.to_string();
            rest = before;
        }
        if !rest.starts_with('/') {
            if !url.scheme.is_empty() {
                url.opaque = rest.to_string();
                return Ok(url);
            }
            if rest.split('/').next().is_some_and(|seg| seg.contains(':')) {
                return Err("first path segment in URL cannot contain colon".into());
            }
        }
        if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
            let authority = &rest[2..];
            let (authority, path) = authority
                .find('/')
                .map_or((authority, ""), |i| authority.split_at(i));
            (url.user, url.host) = parse_authority(authority)?;
            rest = path;
        }
        url.path = unescape(rest, Part::Path)?;
        Ok(url)
    }

    /// Go's `URL.Hostname`: the host without port or IPv6 brackets.
    fn hostname(&self) -> &str {
        let mut host = self.host.as_str();
        if let Some(colon) = host.rfind(':')
            && valid_optional_port(&host[colon..])
        {
            host = &host[..colon];
        }
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// Go's `Userinfo.String`.
    fn userinfo(&self) -> String {
        match &self.user {
            None => String::new(),
            Some((name, None)) => escape(name, Part::UserPassword),
            Some((name, Some(pass))) => {
                format!(
                    "{}:{}",
                    escape(name, Part::UserPassword),
                    escape(pass, Part::UserPassword)
                )
            }
        }
    }

    /// Go's `URL.String`.
    fn to_go_string(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else {
            if !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some() {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.push_str("//");
                }
                if self.user.is_some() {
                    out.push_str(&self.userinfo());
                    out.push('@');
                }
                out.push_str(&escape(&self.host, Part::Host));
            }
            let path = if self.path == "*" {
                "*".to_string()
            } else {
                escape(&self.path, Part::Path)
            };
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            if out.is_empty() && path.split('/').next().is_some_and(|seg| seg.contains(':')) {
                out.push_str("./");
            }
            out.push_str(&path);
        }
        if !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&escape(&self.fragment, Part::Fragment));
        }
        out
    }
}

/// Go's `getScheme`: the scheme before the first `:`, if it is one.
fn split_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// The user and password of a URL, if it has them.
type User = Option<(String, Option<String>)>;

/// Go's `parseAuthority`: `[userinfo@]host`.
fn parse_authority(authority: &str) -> Result<(User, String), String> {
    let Some(at) = authority.rfind('@') else {
        return Ok((None, parse_host(authority)?));
    };
    let host = parse_host(&authority[at + 1..])?;
    let info = &authority[..at];
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c);
    if !info.chars().all(allowed) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match info.split_once(':') {
        None => (unescape(info, Part::UserPassword)?, None),
        Some((name, pass)) => (
            unescape(name, Part::UserPassword)?,
            Some(unescape(pass, Part::UserPassword)?),
        ),
    };
    Ok((Some(user), host))
}

/// Go's `parseHost`: checks the port and decodes escapes.
fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(close) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &host[close + 1..];
        if !valid_optional_port(port) {
            return Err(format!(
                "invalid port {} after host",
                crate::fmt::quote(port)
            ));
        }
        if let Some(zone) = host[..close].find("%25") {
            let head = unescape(&host[..zone], Part::Host)?;
            let zone_part = unescape(&host[zone..close], Part::Zone)?;
            let tail = unescape(&host[close..], Part::Host)?;
            return Ok(head + &zone_part + &tail);
        }
    } else if let Some(colon) = host.rfind(':') {
        let port = &host[colon..];
        if !valid_optional_port(port) {
            return Err(format!(
                "invalid port {} after host",
                crate::fmt::quote(port)
            ));
        }
    }
    unescape(host, Part::Host)
}

/// `urlParse URL`: a map of scheme, host, hostname, path, query, opaque,
/// fragment and userinfo.
pub(super) fn url_parse(args: &[Value]) -> Result<Value, String> {
    arity("urlParse", args, 1)?;
    let url = Url::parse(string(&args[0])?).map_err(|e| format!("unable to parse url: {e}"))?;
    let fields = [
        ("scheme", url.scheme.clone()),
        ("host", url.host.clone()),
        ("hostname", url.hostname().to_string()),
        ("path", url.path.clone()),
        ("query", url.raw_query.clone()),
        ("opaque", url.opaque.clone()),
        ("fragment", url.fragment.clone()),
        ("userinfo", url.userinfo()),
    ];
    Ok(Value::map(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect::<BTreeMap<_, _>>(),
    ))
}

/// `urlJoin MAP`: the URL a map like `urlParse`'s describes.
pub(super) fn url_join(args: &[Value]) -> Result<Value, String> {
    arity("urlJoin", args, 1)?;
    let entries = match map(&args[0])? {
        Some(m) => read(m)?.0.clone(),
        None => BTreeMap::new(),
    };
    let field = |key: &str| -> Result<String, String> {
        match entries.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.to_string()),
            Some(Value::Nil | Value::Missing) => Err(super::args::NIL_DEREF.into()),
            Some(other) => Err(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                other.kind_name()
            )),
        }
    };
    let mut url = Url {
        scheme: field("scheme")?,
        host: field("host")?,
        path: field("path")?,
        raw_query: field("query")?,
        opaque: field("opaque")?,
        fragment: field("fragment")?,
        user: None,
    };
    let userinfo = field("userinfo")?;
    if !userinfo.is_empty() {
        let probe = Url::parse(&format!("proto://{userinfo}@host"))
            .map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        url.user = probe.user;
    }
    Ok(Value::from(url.to_go_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sprig::args::strval;

    fn parsed(s: &str) -> String {
        url_parse(&[Value::from(s)])
            .map(|v| strval(&v))
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn parse_matches_go() {
        assert_eq!(
            parsed("https://u:p%40@host:8080/p%20a?q=1#f%20g"),
            "map[fragment:f g host:host:8080 hostname:host opaque: path:/p a query:q=1 scheme:https userinfo:u:p%40]"
        );
        assert_eq!(
            parsed("mailto:x@y.z"),
            "map[fragment: host: hostname: opaque:x@y.z path: query: scheme:mailto userinfo:]"
        );
        assert_eq!(
            parsed("HTTP://[::1]:80/"),
            "map[fragment: host:[::1]:80 hostname:::1 opaque: path:/ query: scheme:http userinfo:]"
        );
        assert_eq!(
            parsed("a:b/c:d"),
            "map[fragment: host: hostname: opaque:b/c:d path: query: scheme:a userinfo:]"
        );
        assert_eq!(
            parsed("%zz"),
            r#"ERR unable to parse url: parse "%zz": invalid URL escape "%zz""#
        );
        assert_eq!(
            parsed("x:y/:z"),
            "map[fragment: host: hostname: opaque:y/:z path: query: scheme:x userinfo:]"
        );
        assert_eq!(
            parsed("/a:b"),
            "map[fragment: host: hostname: opaque: path:/a:b query: scheme: userinfo:]"
        );
        assert_eq!(
            parsed("a:b:c/d"),
            "map[fragment: host: hostname: opaque:b:c/d path: query: scheme:a userinfo:]"
        );
        assert_eq!(
            parsed("1a:b"),
            r#"ERR unable to parse url: parse "1a:b": first path segment in URL cannot contain colon"#
        );
        assert_eq!(
            parsed("http://h:x/"),
            r#"ERR unable to parse url: parse "http://h:x/": invalid port ":x" after host"#
        );
    }

    #[test]
    fn join_matches_go() {
        let dict = |pairs: &[(&str, &str)]| {
            Value::map(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::from(*v)))
                    .collect(),
            )
        };
        let join = |v: Value| {
            url_join(&[v])
                .map(|v| strval(&v))
                .unwrap_or_else(|e| format!("ERR {e}"))
        };
        assert_eq!(
            join(dict(&[
                ("scheme", "https"),
                ("host", "h:1"),
                ("path", "/a b"),
                ("query", "x=1"),
                ("fragment", "f g"),
                ("userinfo", "u:p")
            ])),
            "https://u:p@h:1/a%20b?x=1#f%20g"
        );
        assert_eq!(join(dict(&[("path", "a:b")])), "./a:b");
        assert_eq!(join(dict(&[("host", "h"), ("path", "p")])), "//h/p");
        assert_eq!(
            join(dict(&[("scheme", "mailto"), ("opaque", "x@y")])),
            "mailto:x@y"
        );
        let bad = Value::map([("host".to_string(), Value::Int(1))].into_iter().collect());
        assert_eq!(
            join(bad),
            "ERR unable to parse host key, must be of type string, but int found"
        );
    }
}

//! Injection safety for string templates (docs/templates.md, "No
//! injection"; scenario A20 of docs/scenarios.md).
//!
//! A string template is owned by one side but reads values written by the
//! other side (its object, config and result), and is applied with the
//! owner's service account. Those values must only ever land as scalars.
//!
//! The scheme: every *risky* string of the other side (anything but plain
//! `[A-Za-z0-9._/:@+=-]` text) is replaced by a placeholder token, and the
//! template is rendered twice, with the real data and with the tokens. The
//! guarded render's structure depends only on the template and on plain
//! values, so it is the trusted shape. The real render is accepted only when
//! it has the same shape: the same documents, keys and list lengths, and
//! wherever a token landed verbatim, exactly the real value as one string.
//! Leaves without a token may differ (a value piped through `b64enc`,
//! `quote` or `toJson` is fine: it is still one scalar).
//!
//! This accepts every legitimate use (quoted, escaped, encoded, or plain
//! values) and rejects, naming the value, anything that would add keys,
//! documents or list items, or that YAML would silently cut short (`a #b`).
//! When the texts of both renders are equal, no risky value reached the
//! output and the check costs nothing but the second render.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::template::TemplateData;

const PREFIX: &str = "zzintegrationvalue";
const DIGITS: usize = 6;
const SUFFIX: &str = "zz";
/// How many values an error lists when none can be pinned down.
const MAX_NAMED: usize = 5;

/// Template data with the other side's risky strings replaced by tokens.
pub(crate) struct Guard {
    data: TemplateData<'static>,
    values: Vec<Masked>,
}

/// A replaced string and where it came from (e.g. `plugConfig.database`).
struct Masked {
    value: String,
    origin: String,
}

impl Guard {
    /// Masks the values under `keys` of `data`. `None` when nothing there is
    /// risky, so templates render once.
    pub(crate) fn new(data: &Value, keys: &[&str]) -> Option<Guard> {
        let mut guarded = data.clone();
        let mut values = Vec::new();
        if let Value::Object(map) = &mut guarded {
            for key in keys {
                if let Some(v) = map.get_mut(*key) {
                    mask(v, key, &mut values);
                }
            }
        }
        (!values.is_empty()).then_some(Guard {
            data: guarded.into(),
            values,
        })
    }

    /// The template data with tokens.
    pub(crate) fn data(&self) -> &TemplateData<'static> {
        &self.data
    }

    /// Whether the real documents have the structure of the guarded ones.
    pub(crate) fn same_structure(&self, real: &[Value], guarded: &[Value]) -> bool {
        real.len() == guarded.len() && real.iter().zip(guarded).all(|(r, g)| self.same(r, g))
    }

    fn same(&self, real: &Value, guarded: &Value) -> bool {
        match (real, guarded) {
            (_, Value::String(g)) => match self.substitute(g) {
                Some(expected) => real.as_str() == Some(expected.as_str()),
                None => is_scalar(real),
            },
            (Value::Object(r), Value::Object(g)) => self.same_object(r, g),
            (Value::Array(r), Value::Array(g)) => {
                r.len() == g.len() && r.iter().zip(g).all(|(r, g)| self.same(r, g))
            }
            (r, g) => is_scalar(r) && is_scalar(g),
        }
    }

    fn same_object(&self, real: &Map<String, Value>, guarded: &Map<String, Value>) -> bool {
        real.len() == guarded.len()
            && guarded.iter().all(|(gk, gv)| {
                let key = self.substitute(gk).unwrap_or_else(|| gk.clone());
                real.get(&key).is_some_and(|rv| self.same(rv, gv))
            })
    }

    /// The error for template `name`, naming the values whose tokens appear
    /// in the guarded text, or else every masked value (up to a few).
    pub(crate) fn violation(&self, name: &str, guarded_text: &str) -> Error {
        let mut values: Vec<String> = tokens_in(guarded_text)
            .filter_map(|i| self.values.get(i))
            .map(|m| m.origin.clone())
            .collect();
        if values.is_empty() {
            values = self
                .values
                .iter()
                .take(MAX_NAMED)
                .map(|m| m.origin.clone())
                .collect();
        }
        values.sort();
        values.dedup();
        Error::Injection {
            template: name.to_string(),
            values,
        }
    }

    /// `s` with every token replaced by its value; `None` when `s` holds no
    /// token.
    fn substitute(&self, s: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = s;
        let mut found = false;
        while let Some((before, index, after)) = next_token(rest) {
            let value = self.values.get(index)?;
            out.push_str(before);
            out.push_str(&value.value);
            rest = after;
            found = true;
        }
        found.then(|| out + rest)
    }
}

fn token(index: usize) -> String {
    format!("{PREFIX}{index:0DIGITS$}{SUFFIX}")
}

/// The text before the first token, the token's index, and the text after.
fn next_token(s: &str) -> Option<(&str, usize, &str)> {
    let start = s.find(PREFIX)?;
    let digits = s.get(start + PREFIX.len()..start + PREFIX.len() + DIGITS)?;
    let end = start + PREFIX.len() + DIGITS;
    let index = digits
        .parse()
        .ok()
        .filter(|_| s[end..].starts_with(SUFFIX))?;
    Some((&s[..start], index, &s[end + SUFFIX.len()..]))
}

fn tokens_in(mut s: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::from_fn(move || {
        let (_, index, after) = next_token(s)?;
        s = after;
        Some(index)
    })
}

/// Replaces risky strings and keys under `v` with tokens.
fn mask(v: &mut Value, origin: &str, out: &mut Vec<Masked>) {
    match v {
        Value::String(s) if !is_plain(s) => *s = masked(std::mem::take(s), origin, out),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                mask(item, &format!("{origin}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(key, mut value)| {
                    let path = format!("{origin}.{key}");
                    mask(&mut value, &path, out);
                    let key = if is_plain(&key) {
                        key
                    } else {
                        masked(key, &format!("key of {path}"), out)
                    };
                    (key, value)
                })
                .collect();
        }
        _ => {}
    }
}

fn masked(value: String, origin: &str, out: &mut Vec<Masked>) -> String {
    let t = token(out.len());
    out.push(Masked {
        value,
        origin: origin.to_string(),
    });
    t
}

/// Text that is the same scalar in every YAML context: no whitespace,
/// quotes, escapes, comments, flow or block indicators, and no trailing
/// `:`. Numbers, booleans, names, hosts and URLs qualify.
fn is_plain(s: &str) -> bool {
    !s.ends_with(':')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/:@+=-".contains(&b))
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn plain_values_are_not_masked() {
        let data = json!({"plugConfig": {"a": "orders", "b": "postgres://h:5432/x", "c": "5432"}});
        assert!(Guard::new(&data, &["plugConfig"]).is_none());
    }

    #[test]
    fn risky_values_and_keys_are_masked_and_substituted_back() {
        let data = json!({"plugConfig": {"a b": "x\ny"}, "own": "z z"});
        let guard = Guard::new(&data, &["plugConfig"]).unwrap();
        assert_eq!(guard.values.len(), 2);
        assert_eq!(guard.data().json()["own"], "z z");
        let masked = guard.data().json()["plugConfig"].as_object().unwrap();
        let (key, value) = masked.iter().next().unwrap();
        assert_eq!(guard.substitute(key).unwrap(), "a b");
        assert_eq!(
            guard
                .substitute(&format!("<{}>", value.as_str().unwrap()))
                .unwrap(),
            "<x\ny>"
        );
        assert_eq!(guard.substitute("no token"), None);
    }
}

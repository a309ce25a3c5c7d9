//! Compatibility warnings (docs/compatibility.md, "Warnings and strict
//! mode"): what the original let through and we keep accepting, but
//! report. A template that prints `<no value>`, and an empty value of a
//! required or defaulted interface key on the maps where the original
//! counted it as present. With the strict annotation on the owner, each is
//! an error instead.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::Stage;
use crate::side::Side;

/// One warning. Its `Display` text is what the Event and the `Warnings`
/// condition say; it never holds a config, result or Secret value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// A template action printed `<no value>`.
    NoValue {
        /// The template's name, e.g. `socket.resources[0].stringTemplate`.
        template: String,
        /// The action's pipeline as written, e.g. `.plugConfig.create`.
        action: String,
        /// 1-based line of the action in the template.
        line: usize,
        /// 1-based column of the action's pipeline.
        column: usize,
        /// Why the value is missing.
        why: String,
    },
    /// A required key is present with an empty value, and was accepted as
    /// the original accepted it (socket config, plug result).
    EmptyKept {
        /// The side whose map it is.
        side: Side,
        /// Config or result.
        stage: Stage,
        /// The key.
        key: String,
    },
}

impl Warning {
    /// The side whose object the warning is about: the template's owner,
    /// or the side whose map holds the key.
    pub fn side(&self) -> Option<Side> {
        match self {
            Warning::NoValue { template, .. } => match template.split('.').next() {
                Some("plug") => Some(Side::Plug),
                Some("socket") => Some(Side::Socket),
                _ => None,
            },
            Warning::EmptyKept { side, .. } => Some(*side),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NoValue {
                template,
                action,
                line,
                column,
                why,
            } => write!(
                f,
                "template {template}: {{% {action} %}} at line {line}, column {column} rendered <no value>: {why}"
            ),
            Warning::EmptyKept { side, stage, key } => write!(
                f,
                "{side} {stage} property '{key}' is empty; accepted, as the original operator did"
            ),
        }
    }
}

/// The warnings of one owner during a pass, shared by every render made
/// for it. Each distinct warning is kept once, in order of first report.
#[derive(Clone, Debug, Default)]
pub struct Warnings(Arc<Mutex<Vec<Warning>>>);

impl Warnings {
    /// Records `warning` unless it is already recorded.
    pub(crate) fn push(&self, warning: Warning) {
        if let Ok(mut list) = self.0.lock()
            && !list.contains(&warning)
        {
            list.push(warning);
        }
    }

    /// The warnings recorded so far.
    pub fn list(&self) -> Vec<Warning> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// What a render needs to report `<no value>`: where to record it, whether
/// it is an error instead, and which keys the interface dropped (to say
/// why a value is missing).
#[derive(Clone, Debug, Default)]
pub(crate) struct Notes {
    pub sink: Warnings,
    pub strict: bool,
    /// Per template data key (`plugConfig`, `socketResult`), the keys its
    /// side set but the interface does not declare.
    pub dropped: Arc<BTreeMap<&'static str, BTreeSet<String>>>,
}

/// Why `action` printed `<no value>` with `data`: the first field chain of
/// the action (`.plugConfig.create`, `$.socket.spec.x`) is followed
/// through the data to the first key that is absent or null.
pub(crate) fn why_missing(
    action: &str,
    data: &Value,
    dropped: &BTreeMap<&'static str, BTreeSet<String>>,
) -> String {
    let Some(chain) = field_chain(action) else {
        return "the value it prints is missing or null".to_string();
    };
    let mut node = data;
    for (i, key) in chain.iter().enumerate() {
        let path = chain[..=i].join(".");
        match node.get(key) {
            Some(Value::Null) => return format!("{path} is null"),
            Some(next) => node = next,
            None if i == 0 => return format!("{key} is not in this template's data"),
            None => return why_absent(&chain[0], key, &path, dropped),
        }
    }
    "the value it prints is missing or null".to_string()
}

fn why_absent(
    top: &str,
    key: &str,
    path: &str,
    dropped: &BTreeMap<&'static str, BTreeSet<String>>,
) -> String {
    let was_dropped = dropped.get(top).is_some_and(|keys| keys.contains(key));
    let side_stage = [Side::Plug, Side::Socket].into_iter().find_map(|side| {
        [
            (side.config_key(), Stage::Config),
            (side.result_key(), Stage::Result),
        ]
        .into_iter()
        .find(|(k, _)| *k == top)
        .map(|(_, stage)| (side, stage))
    });
    match side_stage {
        Some((side, stage)) if was_dropped => format!(
            "{key} was set by the {side} but is not declared in the socket's interface.{stage}.{side}, so it was dropped"
        ),
        _ => format!("{path} is not in the data"),
    }
}

/// The field names of the first field chain in `action`, without the
/// leading `$`: `.a.b` and `$.a.b` give `[a, b]`.
fn field_chain(action: &str) -> Option<Vec<String>> {
    let start = action
        .char_indices()
        .find(|&(i, c)| {
            c == '.'
                && action[i + 1..].starts_with(|n: char| n.is_alphabetic() || n == '_')
                && action[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|p| p == '$' || p == '(' || p.is_whitespace())
        })
        .map(|(i, _)| i)?;
    let chain: Vec<String> = action[start..]
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .next()?
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    (!chain.is_empty()).then_some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dropped() -> BTreeMap<&'static str, BTreeSet<String>> {
        [("plugConfig", BTreeSet::from(["create".to_string()]))].into()
    }

    #[test]
    fn explains_a_key_the_interface_dropped() {
        let data = json!({"plugConfig": {"name": "n"}});
        assert_eq!(
            why_missing(".plugConfig.create", &data, &dropped()),
            "create was set by the plug but is not declared in the socket's interface.config.plug, so it was dropped"
        );
    }

    #[test]
    fn explains_absent_and_null_values() {
        let data = json!({"plugConfig": {"name": "n"}, "socket": {"spec": {"x": null}}});
        assert_eq!(
            why_missing(".plugConfig.other | quote", &data, &dropped()),
            "plugConfig.other is not in the data"
        );
        assert_eq!(
            why_missing("$.socket.spec.x", &data, &dropped()),
            "socket.spec.x is null"
        );
        assert_eq!(
            why_missing(".plugResult.url", &data, &dropped()),
            "plugResult is not in this template's data"
        );
        assert_eq!(
            why_missing("index . \"k\"", &data, &dropped()),
            "the value it prints is missing or null"
        );
    }
}

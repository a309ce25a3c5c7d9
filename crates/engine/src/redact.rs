//! Keeping secret values out of status, Events and logs (docs/config.md,
//! "Secrets and redaction"). Engine errors never contain values, but text
//! the edge builds, or a template function's error message, might: pass
//! such text through a [`Redactor`] before writing it anywhere visible.

use crate::coupling::Coupling;
use crate::interface::Validated;
use crate::maps::{MapObject, named_maps};
use crate::side::Side;
use crate::sources::{ObjectKey, Sources};

/// What replaces a secret value.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not redacted: replacing every `a` or `42`
/// in a message would make it unreadable while protecting nothing.
const MIN_LEN: usize = 4;

/// Replaces known secret values in text.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for `values`.
    pub fn new<'v>(values: impl IntoIterator<Item = &'v str>) -> Self {
        let mut secrets: Vec<String> = values
            .into_iter()
            .filter(|v| v.len() >= MIN_LEN)
            .map(String::from)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret value replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), REDACTED))
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} values)", self.secrets.len())
    }
}

impl Coupling<'_> {
    /// A redactor for this coupling: every value of every Secret either side
    /// reads, and the values of `secret: true` properties in `validated`
    /// (configs and results of this pass).
    pub fn redactor<'v>(&self, sources: &'v Sources, validated: &[&'v Validated]) -> Redactor {
        let from_secrets = Side::BOTH.into_iter().flat_map(|side| {
            let owner = self.owner(side);
            named_maps(owner.spec())
                .filter(|(kind, _)| *kind == MapObject::Secret)
                .filter_map(move |(_, name)| {
                    sources.secret(&ObjectKey::new(owner.namespace(), name))
                })
        });
        let values = from_secrets
            .flat_map(|m| m.values().map(String::as_str))
            .chain(validated.iter().flat_map(|v| v.secret_values()));
        Redactor::new(values.collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_longest_first_and_skips_short_values() {
        let r = Redactor::new(["hunter2", "hunter22", "ab"]);
        assert_eq!(
            r.redact("pw hunter22 or hunter2, ab"),
            "pw [redacted] or [redacted], ab"
        );
    }
}

//! Interface validation (docs/config.md, "Interface validation"): the
//! socket's interface decides which config and result keys each side keeps,
//! which are required, their defaults, and which are secret.

use std::collections::{BTreeMap, BTreeSet};

use integration_api::{Interface, SchemaProperties};

use crate::error::{Error, Result, Stage};
use crate::side::{Pair, Side};

/// A validated config or result map of one side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validated {
    /// The values the side provides, defaults applied.
    pub values: BTreeMap<String, String>,
    /// Keys whose interface property is `secret: true` (docs/config.md,
    /// "Secrets and redaction"). Their values may be used in templates and
    /// apparatus calls but must never reach status, Events or logs.
    pub secret_keys: BTreeSet<String>,
}

impl Validated {
    /// The values that may be shown: secret keys left out. This is what
    /// `status.coupledResult` holds.
    pub fn without_secrets(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .filter(|(k, _)| !self.secret_keys.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The values of the secret keys.
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.secret_keys
            .iter()
            .filter_map(|k| self.values.get(k).map(String::as_str))
    }
}

/// The validated configs of both sides.
pub type Configs = Pair<Validated>;

/// The validated results of both sides.
pub type Results = Pair<Validated>;

/// Validates `values`, the merged `stage` map of `side`, against the
/// socket's interface.
///
/// * No interface, no `interface.<stage>`, or no map for this side: the
///   values pass unchanged. (The original dropped all config of a side
///   whose map was absent when the other side's was present:
///   docs/compatibility.md, "Bugs fixed".)
/// * Otherwise only the listed keys survive. A key that is absent or an
///   empty string is missing (one rule for all four maps): a required one is
///   an error, else a non-empty default applies, else the key stays out.
/// * Every missing required key is reported at once, sorted.
pub fn validate(
    interface: Option<&Interface>,
    side: Side,
    stage: Stage,
    values: BTreeMap<String, String>,
) -> Result<Validated> {
    match properties(interface, side, stage) {
        None => Ok(Validated {
            values,
            secret_keys: BTreeSet::new(),
        }),
        Some(props) => apply(props, side, stage, &values),
    }
}

fn properties(
    interface: Option<&Interface>,
    side: Side,
    stage: Stage,
) -> Option<&SchemaProperties> {
    let sides = match stage {
        Stage::Config => interface?.config.as_ref(),
        Stage::Result => interface?.result.as_ref(),
    }?;
    match side {
        Side::Plug => sides.plug.as_ref(),
        Side::Socket => sides.socket.as_ref(),
    }
}

fn apply(
    props: &SchemaProperties,
    side: Side,
    stage: Stage,
    values: &BTreeMap<String, String>,
) -> Result<Validated> {
    let mut out = Validated::default();
    let mut missing = Vec::new();
    for (key, prop) in props {
        let value = values
            .get(key)
            .filter(|v| !v.is_empty())
            .map(String::as_str)
            .or(prop.default_value().filter(|_| !prop.is_required()));
        match value {
            Some(v) => {
                out.values.insert(key.clone(), v.to_string());
                if prop.is_secret() {
                    out.secret_keys.insert(key.clone());
                }
            }
            None if prop.is_required() => missing.push(key.clone()),
            None => {}
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(Error::Required {
            side,
            stage,
            keys: missing,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use integration_api::{InterfaceSides, SchemaProperty};

    fn prop(required: bool, default: &str, secret: bool) -> SchemaProperty {
        SchemaProperty {
            required: Some(required),
            default: (!default.is_empty()).then(|| default.to_string()),
            secret: Some(secret),
            description: None,
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn config_iface(plug: Option<SchemaProperties>, socket: Option<SchemaProperties>) -> Interface {
        Interface {
            config: Some(InterfaceSides { plug, socket }),
            result: None,
        }
    }

    fn s0_plug_props() -> SchemaProperties {
        [
            ("database".to_string(), prop(true, "", false)),
            ("owner".to_string(), prop(false, "app-user", false)),
        ]
        .into()
    }

    #[test]
    fn no_interface_passes_everything() {
        let v = validate(None, Side::Plug, Stage::Config, map(&[("x", "")])).unwrap();
        assert_eq!(v.values, map(&[("x", "")]));
    }

    #[test]
    fn unknown_keys_dropped_and_defaults_applied() {
        let iface = config_iface(Some(s0_plug_props()), None);
        let v = validate(
            Some(&iface),
            Side::Plug,
            Stage::Config,
            map(&[("database", "orders"), ("unlisted", "x")]),
        )
        .unwrap();
        assert_eq!(
            v.values,
            map(&[("database", "orders"), ("owner", "app-user")])
        );
    }

    #[test]
    fn absent_side_map_passes_unchanged() {
        let iface = config_iface(Some(s0_plug_props()), None);
        let v = validate(
            Some(&iface),
            Side::Socket,
            Stage::Config,
            map(&[("host", "h")]),
        )
        .unwrap();
        assert_eq!(v.values, map(&[("host", "h")]));
    }

    #[test]
    fn empty_string_is_missing_on_every_map() {
        let props: SchemaProperties = [("port".to_string(), prop(false, "5432", false))].into();
        for side in Side::BOTH {
            for stage in [Stage::Config, Stage::Result] {
                let sides = InterfaceSides {
                    plug: Some(props.clone()),
                    socket: Some(props.clone()),
                };
                let iface = Interface {
                    config: Some(sides.clone()),
                    result: Some(sides),
                };
                let v = validate(Some(&iface), side, stage, map(&[("port", "")])).unwrap();
                assert_eq!(v.values, map(&[("port", "5432")]), "{side} {stage}");
            }
        }
    }

    #[test]
    fn every_missing_key_reported_sorted() {
        let props: SchemaProperties = [
            ("zeta".to_string(), prop(true, "", false)),
            ("alpha".to_string(), prop(true, "ignored", false)),
            ("mid".to_string(), prop(false, "", false)),
        ]
        .into();
        let iface = Interface {
            config: None,
            result: Some(InterfaceSides {
                plug: None,
                socket: Some(props),
            }),
        };
        let err = validate(
            Some(&iface),
            Side::Socket,
            Stage::Result,
            map(&[("zeta", "")]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "socket result property 'alpha' is required; socket result property 'zeta' is required"
        );
        assert!(err.is_missing_result());
    }

    #[test]
    fn secret_keys_are_flagged_and_left_out_of_shown_values() {
        let props: SchemaProperties = [
            ("user".to_string(), prop(false, "", false)),
            ("password".to_string(), prop(true, "", true)),
        ]
        .into();
        let iface = config_iface(Some(props), None);
        let v = validate(
            Some(&iface),
            Side::Plug,
            Stage::Config,
            map(&[("user", "u"), ("password", "hunter22")]),
        )
        .unwrap();
        assert_eq!(v.secret_keys, BTreeSet::from(["password".to_string()]));
        assert_eq!(v.without_secrets(), map(&[("user", "u")]));
        assert_eq!(v.secret_values().collect::<Vec<_>>(), ["hunter22"]);
    }
}

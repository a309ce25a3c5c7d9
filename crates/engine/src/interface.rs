//! Interface validation (docs/config.md, "Interface validation"): the
//! socket's interface decides which config and result keys each side keeps,
//! which are required, their defaults, and which are secret.

use std::collections::{BTreeMap, BTreeSet};

use integration_api::{Interface, SchemaProperties};

use crate::error::{Error, Result, Stage};
use crate::side::{Pair, Side};
use crate::warning::Warning;

/// A validated config or result map of one side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validated {
    /// The values the side provides, defaults applied.
    pub values: BTreeMap<String, String>,
    /// Keys whose interface property is `secret: true` (docs/config.md,
    /// "Secrets and redaction"). Their values may be used in templates and
    /// apparatus calls but must never reach status, Events or logs.
    pub secret_keys: BTreeSet<String>,
    /// Keys the side set that the interface does not declare, so they were
    /// dropped: named when a template reads one and prints `<no value>`.
    pub dropped: BTreeSet<String>,
    /// Required keys accepted with an empty value, as the original
    /// accepted them (docs/config.md, "Interface validation").
    pub warnings: Vec<Warning>,
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
/// * Otherwise only the listed keys survive. An absent key is missing: a
///   required one is an error, else a non-empty default applies, else the
///   key stays out.
/// * An empty value counts as missing (so a default applies), except for
///   a required key on socket config and plug result, where the original
///   counted it as present: it is accepted there, with a warning. `strict`
///   (the owner's strict annotation) makes it missing on all four maps.
/// * Every missing required key is reported at once, sorted; one present
///   but empty is reported as empty.
pub fn validate(
    interface: Option<&Interface>,
    side: Side,
    stage: Stage,
    values: BTreeMap<String, String>,
    strict: bool,
) -> Result<Validated> {
    match properties(interface, side, stage) {
        None => Ok(Validated {
            values,
            ..Validated::default()
        }),
        Some(props) => apply(props, side, stage, &values, strict),
    }
}

/// Whether the original counted an empty value as present on this map.
fn empty_is_present(side: Side, stage: Stage) -> bool {
    matches!(
        (side, stage),
        (Side::Socket, Stage::Config) | (Side::Plug, Stage::Result)
    )
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
    strict: bool,
) -> Result<Validated> {
    let keep_empty = empty_is_present(side, stage) && !strict;
    let mut out = Validated {
        dropped: values
            .keys()
            .filter(|k| !props.contains_key(*k))
            .cloned()
            .collect(),
        ..Validated::default()
    };
    let mut missing = Vec::new();
    for (key, prop) in props {
        let given = values.get(key).map(String::as_str);
        let accept_empty = keep_empty && prop.is_required();
        if given == Some("") && accept_empty {
            out.warnings.push(Warning::EmptyKept {
                side,
                stage,
                key: key.clone(),
            });
        }
        let value = given
            .filter(|v| accept_empty || !v.is_empty())
            .or(prop.default_value().filter(|_| !prop.is_required()));
        match value {
            Some(v) => {
                out.values.insert(key.clone(), v.to_string());
                if prop.is_secret() {
                    out.secret_keys.insert(key.clone());
                }
            }
            None if prop.is_required() => missing.push(Missing {
                key: key.clone(),
                empty: given.is_some(),
            }),
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

/// A required key that has no usable value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// The key.
    pub key: String,
    /// Present with an empty value (`is empty`), rather than absent (`is
    /// required`).
    pub empty: bool,
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
        let v = validate(None, Side::Plug, Stage::Config, map(&[("x", "")]), false).unwrap();
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
            false,
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
            false,
        )
        .unwrap();
        assert_eq!(v.values, map(&[("host", "h")]));
    }

    #[test]
    fn strict_empty_string_is_missing_on_every_map() {
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
                let v = validate(Some(&iface), side, stage, map(&[("port", "")]), true).unwrap();
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
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "socket result property 'alpha' is required; socket result property 'zeta' is empty"
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
            false,
        )
        .unwrap();
        assert_eq!(v.secret_keys, BTreeSet::from(["password".to_string()]));
        assert_eq!(v.without_secrets(), map(&[("user", "u")]));
        assert_eq!(v.secret_values().collect::<Vec<_>>(), ["hunter22"]);
    }

    fn both_maps(props: SchemaProperties) -> Interface {
        let sides = InterfaceSides {
            plug: Some(props.clone()),
            socket: Some(props),
        };
        Interface {
            config: Some(sides.clone()),
            result: Some(sides),
        }
    }

    #[test]
    fn empty_values_follow_the_original_per_map() {
        let props: SchemaProperties = [
            ("port".to_string(), prop(false, "5432", false)),
            ("db".to_string(), prop(true, "", false)),
        ]
        .into();
        let iface = both_maps(props);
        let given = map(&[("port", ""), ("db", "")]);
        // Socket config and plug result: a required key is present,
        // accepted with a warning; a defaulted one takes its default.
        for (side, stage) in [(Side::Socket, Stage::Config), (Side::Plug, Stage::Result)] {
            let v = validate(Some(&iface), side, stage, given.clone(), false).unwrap();
            assert_eq!(
                v.values,
                map(&[("port", "5432"), ("db", "")]),
                "{side} {stage}"
            );
            let shown: Vec<String> = v.warnings.iter().map(ToString::to_string).collect();
            assert_eq!(
                shown,
                [format!(
                    "{side} {stage} property 'db' is empty; accepted, as the original operator did"
                )]
            );
        }
        // Plug config and socket result: missing, and the message says empty.
        for (side, stage) in [(Side::Plug, Stage::Config), (Side::Socket, Stage::Result)] {
            let err = validate(Some(&iface), side, stage, given.clone(), false).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{side} {stage} property 'db' is empty")
            );
        }
        // Strict: one rule everywhere.
        for side in Side::BOTH {
            for stage in [Stage::Config, Stage::Result] {
                let err = validate(Some(&iface), side, stage, given.clone(), true).unwrap_err();
                assert_eq!(
                    err.to_string(),
                    format!("{side} {stage} property 'db' is empty")
                );
            }
        }
    }

    #[test]
    fn keys_the_interface_does_not_declare_are_named_as_dropped() {
        let iface = config_iface(Some(s0_plug_props()), None);
        let v = validate(
            Some(&iface),
            Side::Plug,
            Stage::Config,
            map(&[("database", "d"), ("create", "0")]),
            false,
        )
        .unwrap();
        assert_eq!(v.dropped, BTreeSet::from(["create".to_string()]));
        assert!(v.warnings.is_empty());
    }
}

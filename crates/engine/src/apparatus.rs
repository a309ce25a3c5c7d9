//! Apparatus request bodies and the `/config` response (docs/apparatus.md,
//! "Requests"). The edge does the HTTP; the engine builds what is sent and
//! reads what came back.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::coupling::Coupling;
use crate::error::{Error, Result};
use crate::interface::Configs;
use crate::owner::Owner;
use crate::side::Side;
use crate::sources::Sources;

impl Coupling<'_> {
    /// Body of `POST <base>/config` for `side`: `version` (the number 1),
    /// `plug`, `socket`, `plugData`, `socketData`, and the side's own `vars`
    /// when declared.
    pub fn apparatus_config_request(&self, side: Side, sources: &Sources) -> Result<Value> {
        Ok(self
            .config_data(side, sources)?
            .with("version", json!(1))
            .into_value())
    }

    /// Body of `POST <base>/<event>` for a coupling event, the same for both
    /// sides: `version` (the string "1"), `plug`, `socket`, `plugConfig`,
    /// `socketConfig`.
    /// The edge posts it to the path of the event.
    pub fn apparatus_event_request(&self, configs: &Configs) -> Value {
        let mut data = self.objects().with("version", json!("1"));
        for side in Side::BOTH {
            data = data.with_map(side.config_key(), &configs.get(side).values);
        }
        data.into_value()
    }
}

/// Body of `POST <base>/created` or `/deleted`: `version` (the string "1")
/// and the owner only.
pub fn apparatus_own_request(owner: &Owner<'_>) -> Value {
    json!({"version": "1", owner.side().as_str(): owner.json()})
}

/// The config values of a `/config` response: each top-level value as Go's
/// `%v` prints it (`5432`, `1e+06`, `true`, `map[k:v]`, `[1 2]`, `<nil>`).
pub(crate) fn config_values(side: Side, body: &Value) -> Result<BTreeMap<String, String>> {
    let object = body
        .as_object()
        .ok_or(Error::ApparatusResponseNotObject(side))?;
    Ok(object
        .iter()
        .map(|(k, v)| {
            let value = gotemplate::fmt::sprint(&[gotemplate::Value::from_json(v)]);
            (k.clone(), value)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn response_values_print_as_go_v() {
        let body = json!({"s": "x", "n": 5432, "big": 1000000, "b": true, "o": {"k": "v"}, "a": [1, 2], "z": null});
        let got = config_values(Side::Plug, &body).unwrap();
        let want: BTreeMap<String, String> = [
            ("s", "x"),
            ("n", "5432"),
            ("big", "1e+06"),
            ("b", "true"),
            ("o", "map[k:v]"),
            ("a", "[1 2]"),
            ("z", "<nil>"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn response_must_be_an_object() {
        let err = config_values(Side::Socket, &json!([1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "socket apparatus config response must be a JSON object"
        );
    }
}

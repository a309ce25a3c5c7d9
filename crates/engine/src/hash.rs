//! The inputs hash (docs/lifecycle.md, "Level-triggered updates"): a plug
//! runs `updated` only when the hash of its resolved inputs changes.
//!
//! Inputs are both objects' identity (namespace, name, uid) and spec, the
//! contents of every ConfigMap and Secret either side reads (`null` when
//! absent), and every var and resultVar value. Object metadata other than
//! identity, status, and apparatus `/config` answers are not inputs: they
//! change without the user changing anything.
//!
//! The hash is SHA-256 over canonical JSON (object keys sorted at every
//! level), as lowercase hex: equal inputs give equal hashes across runs and
//! machines. It covers Secret values, so only its equality may be relied on;
//! it reveals nothing else.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::coupling::Coupling;
use crate::error::Result;
use crate::owner::Owner;
use crate::plan::SidePlan;
use crate::side::Side;
use crate::sources::Sources;
use crate::vars::{self, VarRef};

impl Coupling<'_> {
    /// The hash of this coupling's inputs in `sources`.
    pub fn inputs_hash(&self, sources: &Sources) -> Result<String> {
        let plan = self.plan()?;
        let mut doc = Map::new();
        for side in Side::BOTH {
            doc.insert(
                side.as_str().into(),
                side_inputs(self.owner(side), plan.get(side), sources),
            );
        }
        Ok(sha256_hex(&canonical(&Value::Object(doc))))
    }
}

fn side_inputs(owner: &Owner<'_>, plan: &SidePlan, sources: &Sources) -> Value {
    let config_maps: BTreeMap<_, _> = plan
        .config_map_keys()
        .map(|k| (k.name.clone(), sources.config_map(&k)))
        .collect();
    let secrets: BTreeMap<_, _> = plan
        .secret_keys()
        .map(|k| (k.name.clone(), sources.secret(&k)))
        .collect();
    json!({
        "namespace": owner.namespace(),
        "name": owner.name(),
        "uid": owner.uid(),
        "spec": owner.json().get("spec"),
        "configMaps": config_maps,
        "secrets": secrets,
        "vars": var_values(plan.vars.as_deref(), sources),
        "resultVars": var_values(plan.result_vars.as_deref(), sources),
    })
}

/// Each var's value, `null` when its object is absent. A list of pairs, not
/// a map: a later var of the same name wins, so order matters.
fn var_values(refs: Option<&[VarRef]>, sources: &Sources) -> Value {
    let Some(refs) = refs else {
        return Value::Null;
    };
    refs.iter()
        .map(|r| {
            let value = sources
                .objects
                .get(&r.target)
                .map(|o| vars::read(o, &r.field_path));
            json!([r.name, value])
        })
        .collect()
}

/// Compact JSON with object keys sorted at every level, whatever the map
/// implementation's own order.
fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lowercase hex SHA-256 of `text`: the one digest format of the operator
/// (inputs hash, hook fingerprints, apparatus spec hashes).
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_keys_at_every_level() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"d":[{"y":1,"x":2}],"c":"s"}}"#)
            .unwrap_or_default();
        assert_eq!(
            canonical(&a),
            r#"{"a":{"c":"s","d":[{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn sha256_of_empty_text() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

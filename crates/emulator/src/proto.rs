//! Decoding of the protobuf request bodies kubectl sends for a few built-in kinds
//! (`kubectl create namespace|configmap|secret|serviceaccount|role|rolebinding|token`,
//! `kubectl auth can-i`). Only the fields those commands set are mapped; any other kind in
//! protobuf gets 415, and responses are always JSON (kubectl accepts both).

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};

/// How a protobuf field maps to JSON.
enum F {
    Str(&'static str),
    Bool(&'static str),
    Int(&'static str),
    RepStr(&'static str),
    MapSs(&'static str),
    /// map<string, bytes>, base64 in JSON.
    MapSb(&'static str),
    Msg(&'static str, &'static [(u64, F)]),
    RepMsg(&'static str, &'static [(u64, F)]),
}

const META: &[(u64, F)] = &[
    (1, F::Str("name")),
    (2, F::Str("generateName")),
    (3, F::Str("namespace")),
    (11, F::MapSs("labels")),
    (12, F::MapSs("annotations")),
    (14, F::RepStr("finalizers")),
];
const RULE: &[(u64, F)] = &[
    (1, F::RepStr("verbs")),
    (2, F::RepStr("apiGroups")),
    (3, F::RepStr("resources")),
    (4, F::RepStr("resourceNames")),
    (5, F::RepStr("nonResourceURLs")),
];
const SUBJECT: &[(u64, F)] = &[
    (1, F::Str("kind")),
    (2, F::Str("apiGroup")),
    (3, F::Str("name")),
    (4, F::Str("namespace")),
];
const ROLE_REF: &[(u64, F)] = &[
    (1, F::Str("apiGroup")),
    (2, F::Str("kind")),
    (3, F::Str("name")),
];
const RESOURCE_ATTRS: &[(u64, F)] = &[
    (1, F::Str("namespace")),
    (2, F::Str("verb")),
    (3, F::Str("group")),
    (4, F::Str("version")),
    (5, F::Str("resource")),
    (6, F::Str("subresource")),
    (7, F::Str("name")),
];
const NON_RESOURCE_ATTRS: &[(u64, F)] = &[(1, F::Str("path")), (2, F::Str("verb"))];
const SAR_SPEC: &[(u64, F)] = &[
    (1, F::Msg("resourceAttributes", RESOURCE_ATTRS)),
    (2, F::Msg("nonResourceAttributes", NON_RESOURCE_ATTRS)),
];

fn schema(kind: &str) -> Option<&'static [(u64, F)]> {
    const ONLY_META: &[(u64, F)] = &[(1, F::Msg("metadata", META))];
    const CONFIGMAP: &[(u64, F)] = &[
        (1, F::Msg("metadata", META)),
        (2, F::MapSs("data")),
        (3, F::MapSb("binaryData")),
        (4, F::Bool("immutable")),
    ];
    const SECRET: &[(u64, F)] = &[
        (1, F::Msg("metadata", META)),
        (2, F::MapSb("data")),
        (3, F::Str("type")),
        (4, F::MapSs("stringData")),
        (5, F::Bool("immutable")),
    ];
    const ROLE: &[(u64, F)] = &[(1, F::Msg("metadata", META)), (2, F::RepMsg("rules", RULE))];
    const BINDING: &[(u64, F)] = &[
        (1, F::Msg("metadata", META)),
        (2, F::RepMsg("subjects", SUBJECT)),
        (3, F::Msg("roleRef", ROLE_REF)),
    ];
    const TOKEN_SPEC: &[(u64, F)] = &[
        (1, F::RepStr("audiences")),
        (4, F::Int("expirationSeconds")),
    ];
    const TOKEN_REQUEST: &[(u64, F)] = &[
        (1, F::Msg("metadata", META)),
        (2, F::Msg("spec", TOKEN_SPEC)),
    ];
    const SSAR: &[(u64, F)] = &[(1, F::Msg("metadata", META)), (2, F::Msg("spec", SAR_SPEC))];
    Some(match kind {
        "Namespace" | "ServiceAccount" => ONLY_META,
        "ConfigMap" => CONFIGMAP,
        "Secret" => SECRET,
        "Role" | "ClusterRole" => ROLE,
        "RoleBinding" | "ClusterRoleBinding" => BINDING,
        "SelfSubjectAccessReview" => SSAR,
        "TokenRequest" => TOKEN_REQUEST,
        _ => return None,
    })
}

/// A protobuf wire field: number and payload (varint or length-delimited bytes).
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

fn fields(buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let (num, wt) = (tag >> 3, tag & 7);
        match wt {
            0 => out.push((num, Wire::Varint(varint(buf, &mut pos)?))),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len)?;
                out.push((num, Wire::Bytes(buf.get(pos..end)?)));
                pos = end;
            }
            1 => pos = pos.checked_add(8)?,
            5 => pos = pos.checked_add(4)?,
            _ => return None,
        }
    }
    Some(out)
}

fn text(b: &[u8]) -> Option<String> {
    String::from_utf8(b.to_vec()).ok()
}

fn map_entry(b: &[u8]) -> Option<(String, &[u8])> {
    let mut k = String::new();
    let mut v: &[u8] = &[];
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(x)) => k = text(x)?,
            (2, Wire::Bytes(x)) => v = x,
            _ => {}
        }
    }
    Some((k, v))
}

fn message(buf: &[u8], schema: &[(u64, F)]) -> Option<Value> {
    let mut out = Map::new();
    for (num, w) in fields(buf)? {
        let Some((_, f)) = schema.iter().find(|(n, _)| *n == num) else {
            continue;
        };
        match (f, w) {
            (F::Str(k), Wire::Bytes(b)) => {
                // Go's generated marshallers write empty strings too; JSON omits them.
                if !b.is_empty() {
                    out.insert((*k).into(), json!(text(b)?));
                }
            }
            (F::Bool(k), Wire::Varint(v)) => {
                out.insert((*k).into(), json!(v != 0));
            }
            (F::Int(k), Wire::Varint(v)) => {
                // int64 on the wire: two's complement in 64 bits.
                out.insert((*k).into(), json!(v as i64));
            }
            (F::RepStr(k), Wire::Bytes(b)) => {
                let e = out.entry(*k).or_insert_with(|| json!([]));
                if let Value::Array(a) = e {
                    a.push(json!(text(b)?));
                }
            }
            (F::MapSs(k), Wire::Bytes(b)) => {
                let (mk, mv) = map_entry(b)?;
                out.entry(*k).or_insert_with(|| json!({}))[mk] = json!(text(mv)?);
            }
            (F::MapSb(k), Wire::Bytes(b)) => {
                let (mk, mv) = map_entry(b)?;
                out.entry(*k).or_insert_with(|| json!({}))[mk] =
                    json!(base64::engine::general_purpose::STANDARD.encode(mv));
            }
            (F::Msg(k, s), Wire::Bytes(b)) => {
                out.insert((*k).into(), message(b, s)?);
            }
            (F::RepMsg(k, s), Wire::Bytes(b)) => {
                let m = message(b, s)?;
                if let Value::Array(a) = out.entry(*k).or_insert_with(|| json!([])) {
                    a.push(m);
                }
            }
            _ => return None,
        }
    }
    Some(Value::Object(out))
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into the JSON object.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let bad = || ApiError::bad_request("the body of the request could not be decoded as protobuf");
    let rest = body.strip_prefix(b"k8s\x00").ok_or_else(bad)?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, w) in fields(rest).ok_or_else(bad)? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (m, x) in fields(tm).ok_or_else(bad)? {
                    match (m, x) {
                        (1, Wire::Bytes(s)) => api_version = text(s).ok_or_else(bad)?,
                        (2, Wire::Bytes(s)) => kind = text(s).ok_or_else(bad)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    let s = schema(&kind)
        .ok_or_else(|| ApiError::unsupported_media_type("application/vnd.kubernetes.protobuf"))?;
    let mut obj = message(raw, s).ok_or_else(bad)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ld(num: u8, b: &[u8]) -> Vec<u8> {
        let mut v = vec![(num << 3) | 2, b.len() as u8];
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn namespace() {
        let meta = ld(1, b"foo");
        let raw = ld(1, &meta);
        let tm = [ld(1, b"v1"), ld(2, b"Namespace")].concat();
        let body = [b"k8s\x00".to_vec(), ld(1, &tm), ld(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foo"}})
        );
    }
}

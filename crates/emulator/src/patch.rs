//! PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch
//! for built-in kinds.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, Cause};
use crate::fields::{ListKind, item_key, list_kind};
use crate::resources::ResourceType;

/// The patch flavours, from the request's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchKind::Apply)
            }
            _ => None,
        }
    }
}

fn patch_invalid(rt: &ResourceType, name: &str, msg: String) -> ApiError {
    ApiError::invalid(
        &rt.group,
        &rt.kind,
        name,
        vec![Cause::new("FieldValueInvalid", "", msg)],
    )
}

/// Applies a JSON, merge or strategic patch to a copy of `target`.
pub fn apply_patch(
    rt: &ResourceType,
    kind: PatchKind,
    target: &Value,
    body: &[u8],
    name: &str,
) -> ApiResult<Value> {
    let mut out = target.clone();
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut out, &ops).map_err(|e| {
                patch_invalid(
                    rt,
                    name,
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
        }
        PatchKind::Merge => {
            let p: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !p.is_object() {
                return Err(ApiError::bad_request("merge patch must be a JSON object"));
            }
            json_patch::merge(&mut out, &p);
        }
        PatchKind::Strategic => {
            if !rt.builtin {
                return Err(ApiError::unsupported_media_type(
                    "application/strategic-merge-patch+json",
                ));
            }
            let p: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let Value::Object(p) = p else {
                return Err(ApiError::bad_request(
                    "strategic merge patch must be a JSON object",
                ));
            };
            strategic_map(rt, &mut out, &p, &mut Vec::new())?;
        }
        PatchKind::Apply => return Err(ApiError::internal("apply is not a plain patch")),
    }
    Ok(out)
}

/// Strategic merge of a patch map into `target` (which becomes a map if it is not one).
fn strategic_map(
    rt: &ResourceType,
    target: &mut Value,
    patch: &Map<String, Value>,
    names: &mut Vec<String>,
) -> ApiResult<()> {
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut p = patch.clone();
        p.remove("$patch");
        *target = Value::Object(p);
        return Ok(());
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else {
        return Ok(());
    };
    for (k, pv) in patch {
        if k == "$patch" || k.starts_with("$setElementOrder/") || k == "$retainKeys" {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(del)) = (t.get_mut(field), pv.as_array()) {
                items.retain(|i| !del.contains(i));
            }
            continue;
        }
        names.push(k.clone());
        match pv {
            Value::Null => {
                t.remove(k);
            }
            Value::Object(pm) => {
                if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
                    t.remove(k);
                } else {
                    let entry = t.entry(k.clone()).or_insert(Value::Null);
                    strategic_map(rt, entry, pm, names)?;
                }
            }
            Value::Array(pa) => {
                let entry = t.entry(k.clone()).or_insert(Value::Array(Vec::new()));
                strategic_list(rt, entry, pa, names)?;
            }
            other => {
                t.insert(k.clone(), other.clone());
            }
        }
        names.pop();
    }
    Ok(())
}

fn strategic_list(
    rt: &ResourceType,
    target: &mut Value,
    patch: &[Value],
    names: &mut Vec<String>,
) -> ApiResult<()> {
    let replace = patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    let kind = list_kind(rt, names);
    if !target.is_array() || replace || kind == ListKind::Atomic {
        *target = Value::Array(
            patch
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .cloned()
                .collect(),
        );
        return Ok(());
    }
    let Value::Array(t) = target else {
        return Ok(());
    };
    match kind {
        ListKind::Set => {
            for i in patch {
                if !t.contains(i) {
                    t.push(i.clone());
                }
            }
        }
        ListKind::Map(keys) => {
            // Strategic merge keys on the first key only (the Go struct's patchMergeKey).
            let merge_key = &keys[..1];
            for item in patch {
                let key = item_key(item, merge_key).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "map: {item} does not contain declared merge key: {}",
                        merge_key[0]
                    ))
                })?;
                let pos = t
                    .iter()
                    .position(|ti| item_key(ti, merge_key).as_ref() == Some(&key));
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (pos, delete) {
                    (Some(p), true) => {
                        t.remove(p);
                    }
                    (None, true) => {}
                    (Some(p), false) => {
                        if let Value::Object(pm) = item {
                            strategic_map(rt, &mut t[p], pm, names)?;
                        }
                    }
                    (None, false) => t.push(item.clone()),
                }
            }
        }
        ListKind::Atomic => {}
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    #[test]
    fn strategic_merges_containers_by_name() {
        let rt = Registry::with_builtins()
            .get("apps", "v1", "deployments")
            .unwrap();
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "b", "image": "2"}, {"name": "a", "$patch": "delete"}, {"name": "c", "image": "3"}]}}}});
        let out = apply_patch(
            &rt,
            PatchKind::Strategic,
            &live,
            patch.to_string().as_bytes(),
            "d",
        )
        .unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b", "image": "2"}, {"name": "c", "image": "3"}])
        );
    }

    #[test]
    fn strategic_is_415_on_custom_resources() {
        let mut rt = (*Registry::with_builtins()
            .get("", "v1", "configmaps")
            .unwrap())
        .clone();
        rt.builtin = false;
        let err = apply_patch(&rt, PatchKind::Strategic, &json!({}), b"{}", "x").unwrap_err();
        assert_eq!(err.code, 415);
    }
}

//! Structured `template`/`templates`: each string leaf, and each key, is a
//! template of its own, so a rendered value stays one JSON string and can
//! never add keys (docs/templates.md, "No injection"). Unlike the original,
//! which rendered the JSON text, `{% default "x" .a %}` works, and numbers
//! and booleans written in the template stay as they are.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::template::{self, TemplateData};

/// Renders the template tree `tree` named `name`.
pub(super) fn render(name: &str, tree: &Value, data: &TemplateData<'_>) -> Result<Value> {
    walk(name, "", tree, data)
}

fn walk(name: &str, path: &str, node: &Value, data: &TemplateData<'_>) -> Result<Value> {
    match node {
        Value::String(s) => Ok(Value::String(render_leaf(name, path, s, data)?)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| walk(name, &format!("{path}[{i}]"), item, data))
            .collect::<Result<_>>()
            .map(Value::Array),
        Value::Object(map) => walk_object(name, path, map, data),
        other => Ok(other.clone()),
    }
}

fn walk_object(
    name: &str,
    path: &str,
    map: &Map<String, Value>,
    data: &TemplateData<'_>,
) -> Result<Value> {
    let mut out = Map::new();
    for (key, value) in map {
        let key = render_leaf(name, path, key, data)?;
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let value = walk(name, &child, value, data)?;
        if out.insert(key, value).is_some() {
            return Err(Error::DuplicateKey {
                template: name.to_string(),
                key: child,
            });
        }
    }
    Ok(Value::Object(out))
}

/// One string of the tree. Its template name is the tree's name plus the
/// path, so parse errors point at the field.
fn render_leaf(name: &str, path: &str, src: &str, data: &TemplateData<'_>) -> Result<String> {
    if !src.contains("{%") {
        return Ok(src.to_string());
    }
    let leaf = if path.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{path}")
    };
    template::render(&leaf, src, data)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn values_never_add_keys() {
        let tree = json!({"data": {"database": "{% .plugConfig.database %}", "n": 3, "b": true}});
        let data = json!({"plugConfig": {"database": "x\"\n  injected: \"y"}});
        let out = render("t", &tree, &TemplateData::borrowed(&data)).unwrap();
        assert_eq!(
            out,
            json!({"data": {"database": "x\"\n  injected: \"y", "n": 3, "b": true}})
        );
    }

    #[test]
    fn double_quoted_literals_work() {
        let tree = json!({"a": "{% default \"x\" .missing %}"});
        assert_eq!(
            render("t", &tree, &TemplateData::from(json!({}))).unwrap(),
            json!({"a": "x"})
        );
    }

    #[test]
    fn keys_are_rendered_and_may_not_collide() {
        let data = json!({"k": "a"});
        let out = render(
            "t",
            &json!({"{% .k %}.conf": "v"}),
            &TemplateData::borrowed(&data),
        )
        .unwrap();
        assert_eq!(out, json!({"a.conf": "v"}));
        let err = render(
            "t",
            &json!({"m": {"{% .k %}": 1, "a": 2}}),
            &TemplateData::borrowed(&data),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "template t: key m.a appears twice after rendering"
        );
    }

    #[test]
    fn leaf_errors_name_the_field() {
        let err = render(
            "plug.resources[0].template",
            &json!({"data": {"x": "{% .a | nope %}"}}),
            &TemplateData::from(json!({})),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("template: plug.resources[0].template.data.x:1:"),
            "{err}"
        );
    }
}

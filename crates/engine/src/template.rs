//! Rendering one template string, and the template data each stage sees
//! (docs/config.md, "Template data").

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What Go's text/template prints for a missing key. The engine keeps Go's
/// behavior so `{% .x | default "y" %}` works, and rejects any output that
/// still contains it (docs/templates.md, "Missing values").
pub const NO_VALUE: &str = "<no value>";

/// Template data: the JSON, and its template values, converted on first
/// use and shared by every template that cannot change them. Converting is
/// the costly part of a render when the data holds a large object (a
/// socket's status lists all its plugs), and a pass renders many templates.
pub(crate) struct TemplateData<'d> {
    json: Cow<'d, Value>,
    shared: OnceCell<gotemplate::Value>,
}

impl<'d> TemplateData<'d> {
    /// Data that borrows `json`.
    pub(crate) fn borrowed(json: &'d Value) -> Self {
        TemplateData {
            json: Cow::Borrowed(json),
            shared: OnceCell::new(),
        }
    }

    /// The data as JSON.
    #[cfg(test)]
    pub(crate) fn json(&self) -> &Value {
        &self.json
    }

    /// The template values for `src`. sprig's `set`, `unset` and `merge`
    /// family change maps in place, and one template must not see another's
    /// edits: a template that may call them gets its own copy. The check is
    /// textual and errs on the side of a copy.
    fn values_for(&self, src: &str) -> gotemplate::Value {
        let may_mutate = src.contains("set") || src.contains("erge");
        if may_mutate {
            return gotemplate::Value::from_json(&self.json);
        }
        self.shared
            .get_or_init(|| gotemplate::Value::from_json(&self.json))
            .clone()
    }
}

impl From<Value> for TemplateData<'static> {
    fn from(json: Value) -> Self {
        TemplateData {
            json: Cow::Owned(json),
            shared: OnceCell::new(),
        }
    }
}

/// Renders `src` with `data`. Text without `{%` is returned as is, without
/// parsing.
pub(crate) fn render(name: &str, src: &str, data: &TemplateData<'_>) -> Result<String> {
    if !src.contains("{%") {
        return Ok(src.to_string());
    }
    let template = gotemplate::Template::parse(name, src)?;
    Ok(template.execute(&data.values_for(src))?)
}

/// Renders a template whose whole output is one value (a config or result
/// value, a var's name or namespace). `<no value>` in it is an error naming
/// the template and `key`.
pub(crate) fn render_value(
    name: &str,
    src: &str,
    data: &TemplateData<'_>,
    key: &str,
) -> Result<String> {
    let out = render(name, src, data)?;
    if out.contains(NO_VALUE) {
        return Err(Error::NoValue {
            template: name.to_string(),
            key: key.to_string(),
        });
    }
    Ok(out)
}

/// Template data under construction: a JSON object with the keys of
/// docs/config.md, "Template data".
#[derive(Clone, Debug, Default)]
pub(crate) struct Data(Map<String, Value>);

impl Data {
    /// Adds `key`.
    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        self.0.insert(key.to_string(), value);
        self
    }

    /// Adds a string map under `key`.
    pub(crate) fn with_map(self, key: &str, map: &BTreeMap<String, String>) -> Self {
        self.with(key, string_map(map))
    }

    /// Adds a string map under `key` only when there is one: the `vars` key
    /// is absent, not empty, when no vars are declared (docs/config.md,
    /// "Template data").
    pub(crate) fn with_optional_map(
        self,
        key: &str,
        map: Option<&BTreeMap<String, String>>,
    ) -> Self {
        match map {
            Some(map) => self.with_map(key, map),
            None => self,
        }
    }

    /// The finished data.
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// A string map as a JSON object.
pub(crate) fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn plain_text_is_not_parsed() {
        // An unbalanced "%}" alone is plain text for Go too.
        assert_eq!(
            render("t", "a %} b", &TemplateData::from(json!({}))).unwrap(),
            "a %} b"
        );
    }

    #[test]
    fn missing_key_in_a_value_names_template_and_key() {
        let err = render_value(
            "plug.configTemplate.user",
            "tpl-{% .nope %}",
            &TemplateData::from(json!({})),
            "user",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "template plug.configTemplate.user rendered <no value> at user: it reads a value that does not exist"
        );
    }

    #[test]
    fn templates_cannot_see_each_others_mutations() {
        let json = json!({"m": {}});
        let data = TemplateData::borrowed(&json);
        // A reader first, so the shared values exist before the writers run.
        assert_eq!(render("r", "{% .m.k %}", &data).unwrap(), NO_VALUE);
        render("a", r#"{% $_ := set .m "k" "v" %}"#, &data).unwrap();
        render("c", r#"{% $_ := merge .m (dict "k" "w") %}"#, &data).unwrap();
        render("d", r#"{% $_ := unset .m "x" %}{% .m.k %}"#, &data).unwrap();
        assert_eq!(render("b", "{% .m.k %}", &data).unwrap(), NO_VALUE);
    }

    #[test]
    fn numbers_print_as_go_prints_float64() {
        assert_eq!(
            render("t", "{% .n %}", &TemplateData::from(json!({"n": 5432}))).unwrap(),
            "5432"
        );
        assert_eq!(
            render("t", "{% .n %}", &TemplateData::from(json!({"n": 1000000}))).unwrap(),
            "1e+06"
        );
    }
}

//! Rendering one template string, and the template data each stage sees
//! (docs/config.md, "Template data").

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::warning::{Notes, Warning, why_missing};

/// What Go's text/template prints for a missing key. The engine keeps Go's
/// behavior, so `{% .x | default "y" %}` works and scripts that test for
/// it keep working; each time it is printed is a warning (an error for a
/// strict owner), and it is refused where it would break an object
/// (docs/templates.md, "Missing values").
pub const NO_VALUE: &str = "<no value>";

/// Template data: the JSON, and its template values, converted on first
/// use and shared by every template that cannot change them. Converting is
/// the costly part of a render when the data holds a large object (a
/// socket's status lists all its plugs), and a pass renders many templates.
pub(crate) struct TemplateData<'d> {
    json: Cow<'d, Value>,
    shared: OnceCell<gotemplate::Value>,
    /// Where `<no value>` is reported; none for a render that is only a
    /// check (the injection guard's second render).
    notes: Option<Notes>,
}

impl<'d> TemplateData<'d> {
    /// Data that borrows `json`.
    pub(crate) fn borrowed(json: &'d Value) -> Self {
        TemplateData {
            json: Cow::Borrowed(json),
            shared: OnceCell::new(),
            notes: None,
        }
    }

    /// The same data, reporting `<no value>` through `notes`.
    pub(crate) fn with_notes(mut self, notes: Notes) -> Self {
        self.notes = Some(notes);
        self
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
            notes: None,
        }
    }
}

/// Renders `src` with `data`. Text without `{%` is returned as is, without
/// parsing. Each action that printed `<no value>` is reported to the
/// data's notes: a warning, or an error when the owner is strict.
pub(crate) fn render(name: &str, src: &str, data: &TemplateData<'_>) -> Result<String> {
    if !src.contains("{%") {
        return Ok(src.to_string());
    }
    let template = gotemplate::Template::parse(name, src)?;
    let traced = template.execute_traced(&data.values_for(src))?;
    if let Some(notes) = &data.notes {
        for at in traced.no_values {
            let warning = Warning::NoValue {
                template: name.to_string(),
                why: why_missing(&at.action, &data.json, &notes.dropped),
                action: at.action,
                line: at.line,
                column: at.col,
            };
            if notes.strict {
                return Err(Error::Strict(warning));
            }
            notes.sink.push(warning);
        }
    }
    Ok(traced.text)
}

/// Renders a template whose output names an object (a var's name or
/// namespace). `<no value>` in it is an error naming the template and
/// `key`: the lookup could only fail.
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
    fn no_value_is_a_warning_or_a_strict_error() {
        let notes = Notes::default();
        let src = "x\n  {% .plugConfig.nope %}";
        let data = TemplateData::from(json!({"plugConfig": {}})).with_notes(notes.clone());
        assert_eq!(render("plug.t", src, &data).unwrap(), "x\n  <no value>");
        let listed: Vec<String> = notes.sink.list().iter().map(ToString::to_string).collect();
        assert_eq!(
            listed,
            [
                "template plug.t: {% .plugConfig.nope %} at line 2, column 6 rendered <no value>: plugConfig.nope is not in the data"
            ]
        );
        let strict = Notes {
            strict: true,
            ..Notes::default()
        };
        let data = TemplateData::from(json!({"plugConfig": {}})).with_notes(strict);
        assert_eq!(
            render("plug.t", src, &data).unwrap_err().to_string(),
            "template plug.t: {% .plugConfig.nope %} at line 2, column 6 rendered <no value>: \
             plugConfig.nope is not in the data; integration.rock8s.com/strict is \"true\", so this is an error"
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

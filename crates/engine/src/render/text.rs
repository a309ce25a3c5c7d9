//! `stringTemplate`/`stringTemplates`: rendered as text, then parsed as
//! YAML. Several documents are allowed; empty output and empty documents
//! are skipped (docs/templates.md, "Resource templates"), so a conditional
//! template that renders nothing is not an error.

use serde_json::Value;

use super::guard::Guard;
use crate::error::{Error, Result};
use crate::template::{self, NO_VALUE, TemplateData};

/// Renders `src` and returns its non-empty documents. With a `guard`, the
/// template is rendered a second time with the other side's risky values
/// replaced by placeholders, and both results must have the same structure
/// (see [`Guard`]).
pub(super) fn render(
    name: &str,
    src: &str,
    data: &TemplateData<'_>,
    guard: Option<&Guard>,
) -> Result<Vec<Value>> {
    let real = template::render(name, src, data)?;
    let Some(guard) = guard else {
        return parse(name, &real);
    };
    let Ok(guarded) = template::render(name, src, guard.data()) else {
        // The placeholders broke a function the real values pass: the
        // structure cannot be checked, so the values may not be used.
        return Err(guard.violation(name, ""));
    };
    if guarded == real {
        return parse(name, &real);
    }
    match (parse(name, &real), parse(name, &guarded)) {
        (Ok(docs), Ok(shape)) if guard.same_structure(&docs, &shape) => Ok(docs),
        (Err(e), Err(_)) => Err(e),
        _ => Err(guard.violation(name, &guarded)),
    }
}

/// Parses rendered text into its non-empty YAML documents. Parser messages
/// are not passed on: they can quote the text, and so a secret.
fn parse(name: &str, text: &str) -> Result<Vec<Value>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| {
        if text.contains(NO_VALUE) {
            return Error::NoValue {
                template: name.to_string(),
                key: "the rendered text".to_string(),
            };
        }
        let location = e.location();
        Error::Yaml {
            template: name.to_string(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn empty_and_whitespace_output_is_skipped() {
        let data = json!({"tls": "false"});
        let src = "{%- if eq .tls \"true\" %}\napiVersion: v1\nkind: ConfigMap\n{%- end %}\n";
        assert!(
            render("t", src, &TemplateData::borrowed(&data), None)
                .unwrap()
                .is_empty()
        );
        assert!(
            render("t", "", &TemplateData::borrowed(&data), None)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn several_documents_and_empty_ones() {
        let src = "---\na: 1\n---\n---\nb: two\n...\n";
        let docs = render("t", src, &TemplateData::from(json!({})), None).unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), json!({"b": "two"})]);
    }

    #[test]
    fn yaml_errors_do_not_quote_the_text() {
        let err = render(
            "t",
            "a: \"hunter2\n  b",
            &TemplateData::from(json!({})),
            None,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("template t: rendered text is not valid YAML"),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    fn guarded(value: &str, src: &str) -> Result<Vec<Value>> {
        let data = json!({"plugConfig": {"x": value}});
        let guard = Guard::new(&data, &["plugConfig"]);
        assert!(guard.is_some(), "{value:?} should be guarded");
        render("t", src, &TemplateData::borrowed(&data), guard.as_ref())
    }

    #[test]
    fn guarded_values_landing_exactly_are_accepted() {
        for src in [
            "k: \"{% .plugConfig.x %}\"\n",
            "k: {% .plugConfig.x | toJson %}\n",
            "k: {% .plugConfig.x | quote %}\n",
        ] {
            assert_eq!(
                guarded("a #b, c", src).unwrap(),
                vec![json!({"k": "a #b, c"})],
                "{src}"
            );
        }
        assert_eq!(
            guarded("p@ss word", "k: pre-{% .plugConfig.x %}\n").unwrap(),
            vec![json!({"k": "pre-p@ss word"})]
        );
    }

    #[test]
    fn guarded_values_changing_structure_or_value_are_rejected() {
        let cases = [
            ("a #b", "k: {% .plugConfig.x %}\n"), // cut short by a comment
            ("a, injected: y", "{k: {% .plugConfig.x %}}\n"), // flow mapping entry
            ("b: 1\ninjected: y", "k: {% .plugConfig.x | nindent 2 %}\n"), // a mapping
            ("x\n---\nkind: Secret", "k: {% .plugConfig.x %}\n"), // extra document
            ("[1, 2]", "k: {% .plugConfig.x %}\n"), // a list, not a string
        ];
        for (value, src) in cases {
            let err = guarded(value, src).unwrap_err();
            assert!(
                matches!(err, Error::Injection { .. }),
                "{value:?} in {src:?}: {err}"
            );
        }
    }

    #[test]
    fn duplicate_keys_are_errors() {
        assert!(render("t", "a: 1\na: 2\n", &TemplateData::from(json!({})), None).is_err());
    }
}

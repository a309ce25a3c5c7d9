//! Other delimiters, added functions and template sets (`Syntax`,
//! `parse_associated`, `execute_template`): what a host such as a Helm
//! chart renderer needs, with Go's behavior.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use gotemplate::{Syntax, Template, Value};
use serde_json::json;

fn braces() -> Syntax {
    Syntax::default().with_delims("{{", "}}").unwrap()
}

fn data(value: serde_json::Value) -> Value {
    Value::from_json(&value)
}

#[test]
fn braces_delimit_actions_and_leave_percent_actions_as_text() {
    let syntax = Arc::new(braces());
    let t = Template::parse_with(
        "t",
        "a: {{ .a | quote }}\n{{- /* gone */}}\nb: {% .b %}\n  {{- if .c }} c{{ end }}",
        &syntax,
    )
    .unwrap();
    let out = t.execute(&data(json!({"a": "x", "c": true}))).unwrap();
    assert_eq!(out, "a: \"x\"\nb: {% .b %} c");
}

#[test]
fn parse_errors_name_the_delimiters_in_use() {
    let syntax = Arc::new(braces());
    let err = Template::parse_with("t", "{{ if .a }}x", &syntax).unwrap_err();
    assert!(err.message.contains("{{ end }}"), "{err}");
    let err = Template::parse_with("t", "{{ .a ", &syntax).unwrap_err();
    assert_eq!(err.message, "unclosed action", "{err}");
    // The default is unchanged: `{{` is text there.
    let t = Template::parse("t", "{{ .a }}").unwrap();
    assert_eq!(t.execute(&data(json!({"a": 1}))).unwrap(), "{{ .a }}");
}

#[test]
fn delimiters_must_be_non_empty_without_space() {
    assert!(Syntax::default().with_delims("", "}}").is_err());
    assert!(Syntax::default().with_delims("{{", "} }").is_err());
}

#[test]
fn added_functions_take_arguments_and_pipes_and_win_over_sprig() {
    let syntax = Arc::new(
        braces()
            .with_func("shout", |args: &[Value]| match args {
                [Value::String(s)] => Ok(Value::str(s.to_uppercase())),
                _ => Err("shout takes one string".into()),
            })
            .with_func("upper", |_: &[Value]| Ok(Value::str("mine"))),
    );
    let t = Template::parse_with(
        "t",
        "{{ shout \"a\" }} {{ \"b\" | shout }} {{ upper \"c\" }}",
        &syntax,
    )
    .unwrap();
    assert_eq!(t.execute(&Value::Missing).unwrap(), "A B mine");
    let t = Template::parse_with("t", "{{ shout 1 }}", &syntax).unwrap();
    let err = t.execute(&Value::Missing).unwrap_err();
    assert!(
        err.message
            .contains("error calling shout: shout takes one string"),
        "{err}"
    );
    assert!(Template::parse_with("t", "{{ nosuch }}", &syntax).is_err());
}

#[test]
fn associated_templates_call_each_others_defines() {
    let syntax = Arc::new(braces());
    let helpers = Template::parse_with(
        "_helpers.tpl",
        "{{ define \"name\" }}op-{{ .n }}{{ end }}",
        &syntax,
    )
    .unwrap();
    let file = helpers
        .parse_associated("a.yaml", "name: {{ template \"name\" . }}")
        .unwrap();
    assert_eq!(file.execute(&data(json!({"n": 1}))).unwrap(), "name: op-1");
    assert_eq!(
        file.execute_template("name", &data(json!({"n": 2})))
            .unwrap(),
        "op-2"
    );
    let err = file.execute_template("other", &Value::Missing).unwrap_err();
    assert!(err.message.contains("no template \"other\""), "{err}");
}

/// An error inside a define points into the source that defined it, as Go
/// reports the parse name of the failing node.
#[test]
fn errors_inside_a_define_name_its_source_and_line() {
    let syntax = Arc::new(braces());
    let helpers = Template::parse_with(
        "_helpers.tpl",
        "\n\n{{ define \"bad\" }}{{ fail }}{{ end }}",
        &syntax
            .as_ref()
            .clone()
            .with_func("fail", |_: &[Value]| Err("boom".into()))
            .into(),
    )
    .unwrap();
    let file = helpers
        .parse_associated("a.yaml", "x\n{{ template \"bad\" }}")
        .unwrap();
    let err = file.execute(&Value::Missing).unwrap_err();
    assert_eq!((err.name.as_str(), err.line), ("_helpers.tpl", 3), "{err}");
    assert!(err.message.contains("boom"), "{err}");
}

/// Helm's `include`: a function that runs a template of the set it belongs
/// to, bound after the set is parsed.
#[test]
fn a_function_can_execute_templates_of_its_own_set() {
    let set: Arc<OnceLock<Template>> = Arc::default();
    let bound = set.clone();
    let syntax = Arc::new(braces().with_func("include", move |args: &[Value]| {
        let (Some(Value::String(name)), Some(dot)) = (args.first(), args.get(1)) else {
            return Err("include NAME DOT".into());
        };
        let set = bound.get().ok_or("no template set yet")?;
        set.execute_template(name, dot)
            .map(Value::str)
            .map_err(|e| e.to_string())
    }));
    let t = Template::parse_with(
        "t",
        "{{ define \"l\" }}k: {{ .v }}{{ end }}{{ include \"l\" . | upper }}",
        &syntax,
    )
    .unwrap();
    set.set(t.clone()).unwrap();
    assert_eq!(t.execute(&data(json!({"v": "x"}))).unwrap(), "K: X");
}

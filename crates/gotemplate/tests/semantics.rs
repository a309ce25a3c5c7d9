//! Go text/template behaviors beyond the golden corpus. Expected outputs
//! follow Go's documented semantics (and were checked with Go 1.19 through
//! tools/go-reference).

use gotemplate::{Template, Value};
use serde_json::json;

fn render(src: &str) -> Result<String, gotemplate::Error> {
    let data = json!({
        "s": "x",
        "n": 7,
        "m": {"b": 2, "a": 1},
        "list": ["p", "q", "r"],
        "empty": [],
        "nil": null,
    });
    Template::parse("t", src)?.execute(&Value::from_json(&data))
}

fn ok(src: &str) -> String {
    render(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn assignment_reaches_the_enclosing_scope() {
    assert_eq!(
        ok("{% $x := 1 %}{% if true %}{% $x = 2 %}{% end %}{% $x %}"),
        "2"
    );
}

#[test]
fn variables_do_not_escape_their_block() {
    assert!(render("{% if true %}{% $y := 1 %}{% end %}{% $y %}").is_err());
}

#[test]
fn range_over_a_map_walks_sorted_keys() {
    assert_eq!(
        ok("{% range $k, $v := .m %}{% $k %}={% $v %};{% end %}"),
        "a=1;b=2;"
    );
    assert_eq!(ok("{% range .m %}{% . %}{% end %}"), "12");
}

#[test]
fn range_else_runs_for_empty_and_missing_values() {
    assert_eq!(ok("{% range .empty %}x{% else %}none{% end %}"), "none");
    assert_eq!(ok("{% range .nope %}x{% else %}none{% end %}"), "none");
    assert!(render("{% range .s %}x{% end %}").is_err());
}

#[test]
fn break_and_continue_steer_range() {
    assert_eq!(
        ok("{% range .list %}{% if eq . \"q\" %}{% continue %}{% end %}{% . %}{% end %}"),
        "pr"
    );
    assert_eq!(
        ok("{% range .list %}{% if eq . \"q\" %}{% break %}{% end %}{% . %}{% end %}"),
        "p"
    );
}

#[test]
fn a_define_may_not_share_the_name_of_a_non_empty_template() {
    assert!(render("{% define \"t\" %}a{% end %}b").is_err());
    assert_eq!(ok("{% define \"t\" %}a{% end %}  "), "  ");
}

#[test]
fn define_and_template_call_with_a_new_dot() {
    assert_eq!(
        ok("{% define \"x\" %}[{% . %}]{% end %}{% template \"x\" .s %}"),
        "[x]"
    );
    assert_eq!(ok("{% block \"b\" .n %}<{% . %}>{% end %}"), "<7>");
    assert!(render("{% template \"nope\" %}").is_err());
}

#[test]
fn and_or_return_the_deciding_operand() {
    assert_eq!(
        ok("{% and 1 0 %}|{% and 1 2 %}|{% or 0 \"\" \"y\" %}|{% or 0 \"\" %}"),
        "0|2|y|"
    );
    // `or` stops at the first true operand: the failing call is never made.
    assert_eq!(ok("{% or .s (fail \"never\") %}"), "x");
}

#[test]
fn missing_keys_and_null_print_no_value() {
    assert_eq!(
        ok("{% .nope %}|{% .m.nope %}|{% .nope.deeper %}|{% .nil %}"),
        "<no value>|<no value>|<no value>|<no value>"
    );
}

#[test]
fn a_field_of_null_or_of_a_string_is_an_error() {
    assert!(render("{% .nil.x %}").is_err());
    assert!(render("{% .s.x %}").is_err());
}

#[test]
fn with_binds_dot_and_variables() {
    assert_eq!(ok("{% with $v := .s %}{% $v %}{% . %}{% end %}"), "xx");
    assert_eq!(ok("{% with .nope %}a{% else %}b{% end %}"), "b");
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(ok("a \n {%- .s -%} \n b"), "axb");
    assert_eq!(ok("a {%/* no output */%} b"), "a  b");
    assert_eq!(ok("{%- /* trimmed */ -%}"), "");
}

#[test]
fn escaping_builtins() {
    assert_eq!(
        ok("{% html \"<a href='x'>&\" %}"),
        "&lt;a href=&#39;x&#39;&gt;&amp;"
    );
    assert_eq!(ok("{% js \"a'b<\" %}"), "a\\'b\\u003C");
    assert_eq!(ok("{% urlquery \"a b&c\" %}"), "a+b%26c");
}

#[test]
fn comparisons_follow_go_kinds() {
    assert_eq!(
        ok("{% lt \"a\" \"b\" %} {% ge 2 2 %} {% eq .n 7.0 %} {% ne .s \"y\" %}"),
        "true true true true"
    );
    assert!(render("{% eq .n 7 %}").is_err());
    assert!(render("{% lt true false %}").is_err());
}

#[test]
fn index_reads_lists_maps_and_strings() {
    assert_eq!(
        ok("{% index .list 2 %} {% index .m \"a\" %} {% index .s 0 %}"),
        "r 1 120"
    );
    assert!(render("{% index .list 3 %}").is_err());
    assert!(render("{% index .list 1.0 %}").is_err());
}

#[test]
fn errors_name_the_template_and_the_position() {
    let err = render("line one\n  {% nosuch %}").expect_err("unknown function");
    assert_eq!((err.name.as_str(), err.line, err.col), ("t", 2, 6));
    assert!(
        err.message.contains("\"nosuch\" not defined"),
        "{}",
        err.message
    );

    let err = render("{% .s %}\n{% fail \"boom\" %}").expect_err("fail");
    assert_eq!(err.line, 2);
    assert!(err.to_string().starts_with("template: t:2:4: "), "{err}");
    assert!(err.message.contains("boom"), "{}", err.message);
}

#[test]
fn arguments_to_non_functions_are_rejected() {
    assert!(render("{% .s 1 %}").is_err());
    assert!(render("{% .s | .s %}").is_err());
    assert!(render("{% \"a\" | printf \"%s\" %}").is_ok());
    assert!(render("{% 1 | 2 %}").is_err());
}

#[test]
fn escapers_show_nil_as_no_value() {
    assert_eq!(ok("{% html .nope 1 \"x\" %}"), "&lt;no value&gt;1x");
    assert_eq!(ok("{% urlquery nil 2.5 %}"), "%3Cno+value%3E2.5");
}

#[test]
fn index_of_nil_is_an_error_even_without_indexes() {
    assert!(render("{% index .nil %}").is_err());
}

#[test]
fn deeply_nested_values_are_freed_without_overflowing_the_stack() {
    let maps = "{% $d := dict %}{% range until 200000 %}{% $d = dict \"a\" $d %}{% end %}ok";
    assert_eq!(ok(maps), "ok");
    let lists = "{% $l := list %}{% range until 200000 %}{% $l = list $l 1 %}{% end %}ok";
    assert_eq!(ok(lists), "ok");
}

#[test]
fn a_map_cannot_be_made_to_contain_itself() {
    assert!(render("{% $_ := set . \"self\" . %}").is_err());
    assert!(render("{% $_ := merge .m $ %}").is_err());
}

#[test]
fn traced_execution_reports_each_action_that_printed_no_value() {
    // A shell script as real sockets write it. Go 1.19 prints (checked
    // with tools/go-reference):
    //   if [ "<no value>" != "0" ]; then
    //     echo n <no value> <no value> <no value>
    //   fi
    let src = "if [ \"{% .plugConfig.create %}\" != \"0\" ]; then\n  echo {% .plugConfig.name | default \"x\" %} {% .socketConfig.host %} {%- /* c */ -%} {% .nope.deeper %} {% index .plugConfig \"create\" %}\nfi";
    let data = json!({"plugConfig": {"name": "n"}, "socketConfig": {"host": null}});
    let traced = Template::parse("script", src)
        .and_then(|t| t.execute_traced(&Value::from_json(&data)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        traced.text,
        "if [ \"<no value>\" != \"0\" ]; then\n  echo n <no value><no value> <no value>\nfi"
    );
    let found: Vec<(&str, usize, usize)> = traced
        .no_values
        .iter()
        .map(|n| (n.action.as_str(), n.line, n.col))
        .collect();
    assert_eq!(
        found,
        [
            (".plugConfig.create", 1, 10),
            (".socketConfig.host", 2, 48),
            (".nope.deeper", 2, 89),
            ("index .plugConfig \"create\"", 2, 108),
        ]
    );
}

//! The engine never panics: whatever the template and the data, parsing and
//! executing end in `Ok` or `Err`.

use std::path::PathBuf;

use gotemplate::{Template, Value};
use proptest::prelude::*;

/// Templates and data of the golden corpus, as seeds for mutation.
fn corpus() -> Vec<(String, serde_json::Value)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/gotemplate/cases.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|c| {
            (
                c["template"].as_str().unwrap_or_default().to_string(),
                c["data"].clone(),
            )
        })
        .collect()
}

/// Whatever happens, the call returns.
fn render(template: &str, data: &serde_json::Value) {
    if let Ok(t) = Template::parse("fuzz", template) {
        let _ = t.execute(&Value::from_json(data));
    }
}

/// Pieces that make up templates: syntax, keywords, operands, functions.
fn fragment() -> impl Strategy<Value = String> {
    let names: Vec<String> = gotemplate::funcs::names()
        .into_iter()
        .map(String::from)
        .collect();
    let syntax = prop::sample::select(vec![
        "{%",
        "%}",
        "{%- ",
        " -%}",
        " ",
        "|",
        "(",
        ")",
        "$",
        "$x",
        "$x := ",
        "$i, $v := ",
        " = ",
        ".",
        ".a",
        ".b.c",
        ".list",
        ".map",
        ".n",
        ".s",
        ".nil",
        "if ",
        "else ",
        "else if ",
        "end",
        "range ",
        "with ",
        "break",
        "continue",
        "define \"d\"",
        "template \"d\" .",
        "block \"b\" .",
        "nil",
        "true",
        "false",
        "0",
        "-1",
        "3",
        "1e6",
        "2.5",
        "0x1F",
        "9223372036854775807",
        "\"str\"",
        "\"\"",
        "`raw`",
        "'c'",
        "/* c */",
        "text\n",
        ",",
        ":=",
        "\"\\u00e9\"",
        "-1000000000",
    ]);
    prop_oneof![
        3 => syntax.prop_map(String::from),
        2 => prop::sample::select(names).prop_map(|n| format!("{n} ")),
        1 => "[ -~]{0,4}",
    ]
}

/// Template-shaped strings: actions assembled from fragments.
fn template() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..24).prop_map(|parts| parts.concat())
}

/// Well-formed actions around a random function call with random arguments.
fn call() -> impl Strategy<Value = String> {
    let names: Vec<String> = gotemplate::funcs::names()
        .into_iter()
        .map(String::from)
        .collect();
    let arg = prop::sample::select(vec![
        ".n",
        ".s",
        ".list",
        ".map",
        ".nil",
        ".missing",
        "0",
        "-1",
        "3",
        "2.5",
        "1e6",
        "\"a,b\"",
        "\"\"",
        "true",
        "nil",
        "(list 1 2)",
        "(dict \"k\" 1)",
        "-9223372036854775808",
        "\"2006-01-02\"",
        "\"[a-\"",
    ]);
    (
        prop::sample::select(names),
        prop::collection::vec(arg, 0..4),
    )
        .prop_map(|(name, args)| format!("{{% {name} {} %}}", args.join(" ")))
}

/// JSON data of any shape, with the keys templates above refer to.
fn data() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        any::<i64>().prop_map(serde_json::Value::from),
        "[ -~]{0,8}".prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-c]", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    (value.clone(), value.clone(), value.clone(), value).prop_map(|(n, s, list, map)| {
        serde_json::json!({"n": n, "s": s, "list": list, "map": map, "nil": null, "a": {"b": {"c": 1}}})
    })
}

/// A corpus template with random edits at random places.
fn mutated() -> impl Strategy<Value = (String, serde_json::Value)> {
    let seeds = corpus();
    let edits = prop::collection::vec(
        (any::<prop::sample::Index>(), "[ -~]{0,3}", 0usize..4),
        1..6,
    );
    (prop::sample::select(seeds), edits).prop_map(|((template, data), edits)| {
        let mut chars: Vec<char> = template.chars().collect();
        for (at, insert, delete) in edits {
            let at = at.index(chars.len() + 1);
            let end = (at + delete).min(chars.len());
            chars.splice(at..end, insert.chars());
        }
        (chars.into_iter().collect(), data)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_templates_never_panic(template in template(), data in data()) {
        render(&template, &data);
    }

    #[test]
    fn arbitrary_calls_never_panic(template in call(), data in data()) {
        render(&template, &data);
    }

    #[test]
    fn mutated_corpus_templates_never_panic((template, data) in mutated()) {
        render(&template, &data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(template in "\\PC{0,64}", data in data()) {
        render(&template, &data);
    }
}

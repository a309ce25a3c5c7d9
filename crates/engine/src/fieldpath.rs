//! `fieldref.fieldPath` lookups with gjson semantics (docs/config.md,
//! "Vars").
//!
//! The original serialized the object with Go's `encoding/json` (compact,
//! sorted keys, HTML-escaped) and read the path with Go gjson's
//! `Result.String()`. We serialize the same way (through the template
//! engine's Go-compatible JSON encoder) and use the Rust port of gjson, so
//! paths, escapes (`a\.b`), wildcards, queries (`#(k=="v")`) and modifiers
//! (`|#`) behave the same.

use gjson::Kind;
use serde_json::Value;

/// The result of a lookup: the value as a string, and whether the path
/// matched anything. A missing path reads as `("", false)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldValue {
    /// Strings as they are; other values as JSON text (`3`, `true`,
    /// `{"a":1}`); `null` and missing as `""`.
    pub value: String,
    /// Whether the path matched (a JSON `null` exists).
    pub exists: bool,
}

/// Reads `path` from `object`. An empty path matches nothing.
pub fn lookup(object: &Value, path: &str) -> FieldValue {
    let json = go_json(object);
    let found = gjson::get(&json, path);
    FieldValue {
        value: go_string(&found),
        exists: found.exists(),
    }
}

/// Go's `json.Marshal` of the object: what the original handed to gjson.
fn go_json(object: &Value) -> String {
    gotemplate::json::encode(&gotemplate::Value::from_json(object), true)
        // Only non-finite floats fail to encode, and JSON cannot hold them.
        .unwrap_or_default()
}

/// Go gjson's `Result.String()`: integral numbers keep their text, other
/// numbers print as Go's `FormatFloat(f, 'f', -1, 64)` (gjson's Rust port
/// returns the raw text instead).
fn go_string(v: &gjson::Value) -> String {
    match v.kind() {
        Kind::Number if !is_integer_text(v.json()) => {
            gotemplate::fmt::format_float(v.f64(), 'f', -1)
        }
        _ => v.str().to_string(),
    }
}

fn is_integer_text(raw: &str) -> bool {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    /// The golden corpus: results of the real Go gjson on the original's
    /// serialization.
    #[test]
    fn golden_cases() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/fieldpath/cases.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("golden fieldpath corpus");
        let mut failures = Vec::new();
        let mut count = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: Value = serde_json::from_str(line).unwrap();
            let got = lookup(&case["object"], case["path"].as_str().unwrap());
            let want = FieldValue {
                value: case["expected"].as_str().unwrap().to_string(),
                exists: case["exists"].as_bool().unwrap(),
            };
            if got != want {
                failures.push(format!("{}: got {got:?}, want {want:?}", case["name"]));
            }
            count += 1;
        }
        assert!(count > 20, "corpus too small: {count}");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn non_string_values_are_json_text() {
        let obj = json!({"a": {"n": 1.5, "big": 1e21, "t": true, "z": null, "o": {"k": "<v>"}}});
        let get = |p| lookup(&obj, p);
        assert_eq!(get("a.n").value, "1.5");
        assert_eq!(get("a.big").value, "1000000000000000000000");
        assert_eq!(get("a.t").value, "true");
        assert_eq!(
            get("a.z"),
            FieldValue {
                value: String::new(),
                exists: true
            }
        );
        // Go's encoder escapes HTML characters inside JSON text.
        assert_eq!(get("a.o").value, r#"{"k":"\u003cv\u003e"}"#);
    }

    #[test]
    fn hostile_paths_do_not_panic() {
        let obj = json!({"a": [1, {"b": "c"}], "d": "e"});
        for path in [
            "#",
            "a.#(",
            "a.#(b==",
            "@",
            "@@@",
            "a|",
            "..",
            "a.1.b.@reverse",
            "a.\\",
            "*",
            "a.[",
            "{",
            "[a,d]",
            "{a,d}",
            "a.#(b%\"*\")#",
        ] {
            let _ = lookup(&obj, path);
        }
    }
}

//! The golden corpus: every case's output must be byte-identical to what Go
//! text/template + sprig produced, or an error where Go failed.

use std::path::PathBuf;

use gotemplate::{Template, Value};

/// `../shared/testdata/gotemplate/cases.jsonl`, beside the repository.
fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/gotemplate/cases.jsonl")
}

#[test]
fn every_golden_case_matches_go() {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the golden corpus at {}: {e}", path.display()));
    let mut failures = Vec::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        let case: serde_json::Value = serde_json::from_str(line).expect("a case is JSON");
        let name = case["name"].as_str().expect("a case has a name");
        let template = case["template"].as_str().expect("a case has a template");
        let result = Template::parse(name, template)
            .and_then(|t| t.execute(&Value::from_json(&case["data"])));
        let wants_error = case.get("error").and_then(|e| e.as_bool()).unwrap_or(false);
        match (wants_error, &result, case["expected"].as_str()) {
            (true, Err(_), _) => {}
            (false, Ok(out), Some(expected)) if out == expected => {}
            _ => failures.push(format!(
                "{name}: got {result:?}, want {}",
                if wants_error {
                    "an error".to_string()
                } else {
                    format!("{:?}", case["expected"])
                }
            )),
        }
    }
    assert!(count > 0, "the corpus is empty");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ from Go:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

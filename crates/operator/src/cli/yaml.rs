//! Reading manifest files as kubectl reads them (docs/compatibility.md,
//! "Files the CLI reads"): a key given twice in one mapping keeps its last
//! value, and a field our kinds do not have is left out; both are named in
//! a warning on stderr, so a typo does not go unseen.

use std::path::Path;

use anyhow::Context;
use granit_parser::{Event, Parser};
use serde_json::Value;

/// Every non-empty YAML or JSON document of `path`. Warnings go to
/// stderr.
pub fn read_documents(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (documents, warnings) = parse(&path.display().to_string(), &text)?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    Ok(documents)
}

/// Parses `text` (from `file`): its non-empty documents, and the warnings
/// about duplicate keys and unknown fields.
pub fn parse(file: &str, text: &str) -> anyhow::Result<(Vec<Value>, Vec<String>)> {
    let mut options = serde_saphyr::options::Options::default();
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::LastWins;
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .with_context(|| format!("{file}: not valid YAML"))?;
    let mut warnings: Vec<String> = duplicate_keys(text)
        .into_iter()
        .map(|d| {
            format!(
                "{file}: line {}, column {}: key {} is given more than once; the last value is used, as kubectl does",
                d.line, d.column, d.path
            )
        })
        .collect();
    let documents: Vec<Value> = documents.into_iter().filter(|d| !d.is_null()).collect();
    for document in &documents {
        warnings.extend(
            unknown_fields(document)
                .into_iter()
                .map(|path| format!("{file}: {}: field {path} is not part of the {} API and is ignored (a cluster drops it; kubectl refuses it)", describe(document), document["kind"].as_str().unwrap_or_default())),
        );
    }
    Ok((documents, warnings))
}

fn describe(document: &Value) -> String {
    format!(
        "{} {}",
        document["kind"].as_str().unwrap_or_default(),
        document["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// A key given again in the same mapping.
#[derive(Debug, PartialEq, Eq)]
struct Duplicate {
    /// 1-based line of the repeated key.
    line: usize,
    /// 1-based column of the repeated key.
    column: usize,
    /// Dotted path of the key within its document, e.g. `spec.config.db`.
    path: String,
}

/// One open mapping or sequence while walking the events.
enum Open {
    Mapping {
        keys: Vec<String>,
        /// The key whose value comes next, `None` when a key comes next.
        key: Option<String>,
    },
    Sequence {
        index: usize,
    },
}

/// The repeated keys of every document, in order. Text the parser
/// rejects yields none: the real parse reports it.
fn duplicate_keys(text: &str) -> Vec<Duplicate> {
    let mut found = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else {
            return found;
        };
        match event {
            Event::Scalar(value, ..) => {
                if let Some(Open::Mapping {
                    keys,
                    key: key @ None,
                }) = stack.last_mut()
                {
                    let value = value.into_owned();
                    if keys.contains(&value) {
                        let mut full = path.clone();
                        full.push(value.clone());
                        found.push(Duplicate {
                            line: span.start.line(),
                            column: span.start.col() + 1,
                            path: dotted(&full),
                        });
                    } else {
                        keys.push(value.clone());
                    }
                    *key = Some(value);
                } else {
                    value_done(&mut stack);
                }
            }
            Event::Alias(_) => value_done(&mut stack),
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                path.push(segment(stack.last()));
                stack.push(match event {
                    Event::MappingStart(..) => Open::Mapping {
                        keys: Vec::new(),
                        key: None,
                    },
                    _ => Open::Sequence { index: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                path.pop();
                value_done(&mut stack);
            }
            Event::DocumentStart(..) => {
                stack.clear();
                path.clear();
            }
            _ => {}
        }
    }
    found
}

/// `spec`, `resources`, `[0]`, `when` as `spec.resources[0].when`.
fn dotted(segments: &[String]) -> String {
    let mut out = String::new();
    for segment in segments.iter().filter(|s| !s.is_empty()) {
        if !out.is_empty() && !segment.starts_with('[') {
            out.push('.');
        }
        out.push_str(segment);
    }
    out
}

/// The path segment of a container opening inside `parent`.
fn segment(parent: Option<&Open>) -> String {
    match parent {
        Some(Open::Mapping { key: Some(key), .. }) => key.clone(),
        Some(Open::Sequence { index }) => format!("[{index}]"),
        _ => String::new(),
    }
}

/// A value ended inside the innermost container.
fn value_done(stack: &mut [Open]) {
    match stack.last_mut() {
        Some(Open::Mapping { key, .. }) => *key = None,
        Some(Open::Sequence { index }) => *index += 1,
        None => {}
    }
}

/// The fields of a Plug, Socket or DeferredResource document that its
/// kind does not have (what a cluster would prune), as dotted paths.
/// Other kinds are left to the API server.
pub fn unknown_fields(document: &Value) -> Vec<String> {
    let ours = document["apiVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with("integration.rock8s.com/"));
    let known = match document["kind"].as_str() {
        Some("Plug") if ours => roundtrip::<integration_api::Plug>(document),
        Some("Socket") if ours => roundtrip::<integration_api::Socket>(document),
        Some("DeferredResource") if ours => {
            roundtrip::<integration_api::DeferredResource>(document)
        }
        _ => None,
    };
    let mut out = Vec::new();
    if let Some(known) = known {
        missing(document, &known, "", &mut out);
    }
    out
}

/// `document` through the typed API and back: what the kind keeps.
fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(document: &Value) -> Option<Value> {
    let mut document = document.clone();
    // Status is the operator's; `null` fields are absent to the server too.
    if let Some(map) = document.as_object_mut() {
        map.remove("status");
    }
    let typed: T = serde_json::from_value(document).ok()?;
    serde_json::to_value(typed).ok()
}

/// Pushes the paths of `given`'s non-null fields that `kept` lacks.
fn missing(given: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (given, kept) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                match kept.get(key) {
                    Some(k) => missing(value, k, &join(key), out),
                    None if !value.is_null() && key != "status" => out.push(join(key)),
                    None => {}
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (i, (g, k)) in given.iter().zip(kept).enumerate() {
                missing(g, k, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn duplicate_keys_keep_the_last_value_and_are_named_with_their_line() {
        let text = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
data:
  db: first
  other: x
  db: second
---
apiVersion: v1
kind: Secret
metadata: {name: s, name: t}
";
        let (docs, warnings) = parse("chart.yaml", text).unwrap();
        assert_eq!(docs[0]["data"]["db"], "second");
        assert_eq!(docs[1]["metadata"]["name"], "t");
        assert_eq!(
            warnings,
            [
                "chart.yaml: line 8, column 3: key data.db is given more than once; the last value is used, as kubectl does",
                "chart.yaml: line 12, column 21: key metadata.name is given more than once; the last value is used, as kubectl does",
            ]
        );
    }

    #[test]
    fn keys_in_sequences_are_counted_per_item() {
        let text = "items:\n  - {a: 1}\n  - {a: 2, b: 1, b: 2}\n";
        let found = duplicate_keys(text);
        assert_eq!(
            found,
            [Duplicate {
                line: 3,
                column: 18,
                path: "items[1].b".into()
            }]
        );
    }

    #[test]
    fn unknown_fields_of_our_kinds_are_named() {
        let text = "\
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata: {name: p, namespace: app}
spec:
  socket: {name: s}
  sokcet: {name: typo}
  resources:
    - when: [coupled]
      retainWhenDecoupled: true
      preserveWhenDecoupled: true
      stringTemplat: x
  config: {anything: goes}
";
        let (_, warnings) = parse("plug.yaml", text).unwrap();
        assert_eq!(
            warnings,
            [
                "plug.yaml: Plug p: field spec.resources[0].stringTemplat is not part of the Plug API and is ignored (a cluster drops it; kubectl refuses it)",
                "plug.yaml: Plug p: field spec.sokcet is not part of the Plug API and is ignored (a cluster drops it; kubectl refuses it)",
            ]
        );
    }
}

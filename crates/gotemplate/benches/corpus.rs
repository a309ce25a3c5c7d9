//! Renders the golden corpus: the figure the README's performance section
//! records, comparable with Go text/template + sprig on the same cases
//! (tools/go-reference).

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gotemplate::{Template, Value};

/// The corpus cases that render without error: (template source, data).
fn cases() -> Vec<(String, Value)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/gotemplate/cases.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|c| c.get("error").is_none())
        // bcrypt costs ~50 ms by design and would drown every other case;
        // tools/go-reference reports Go's figures without it too.
        .filter(|c| c["name"] != "sprig.htpasswd")
        .map(|c| {
            (
                c["template"].as_str().unwrap_or_default().to_string(),
                Value::from_json(&c["data"]),
            )
        })
        .filter(|(src, data)| {
            Template::parse("bench", src)
                .and_then(|t| t.execute(data))
                .is_ok()
        })
        .collect()
}

fn corpus(c: &mut Criterion) {
    let cases = cases();
    let parsed: Vec<(Template, &Value)> = cases
        .iter()
        .filter_map(|(src, data)| Template::parse("bench", src).ok().map(|t| (t, data)))
        .collect();
    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("parse+execute", |b| {
        b.iter(|| {
            for (src, data) in &cases {
                let out = Template::parse("bench", src).and_then(|t| t.execute(data));
                std::hint::black_box(out.ok());
            }
        })
    });
    group.bench_function("execute", |b| {
        b.iter(|| {
            for (template, data) in &parsed {
                std::hint::black_box(template.execute(data).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, corpus);
criterion_main!(benches);

//! Renders a Helm chart as `helm template` does, for tests, where no helm
//! binary can be installed: the chart's templates are parsed as one set with
//! our Go-template engine (`{{ }}` delimiters, sprig), with the objects and
//! functions Helm adds that a conventional chart uses: `.Values` (the chart's
//! values.yaml under the given files, merged as Helm merges them),
//! `.Release`, `.Chart`, `.Capabilities`, `.Template`, and `include`, `tpl`,
//! `toYaml`, `fromYaml`, `required`, `fail`. What Helm does and this does
//! not: `.Files`, `lookup` (always empty in `helm template` anyway),
//! subcharts, schema validation, and methods such as
//! `.Capabilities.APIVersions.Has` (the engine has no method values; our
//! chart does not use them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, bail};
use gotemplate::{Syntax, Template, Value};
use serde_json::{Map, Value as Json, json};

/// Where and as what a chart is installed.
pub struct Release<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
}

/// What `helm template` prints: each template file's manifests (files that
/// render only white space are left out), and NOTES.txt.
pub struct Rendered {
    pub manifests: BTreeMap<String, String>,
    pub notes: String,
}

impl Rendered {
    /// Every document of every manifest, parsed, in file order.
    pub fn objects(&self) -> anyhow::Result<Vec<Json>> {
        let mut objects = Vec::new();
        for (file, text) in &self.manifests {
            let docs: Vec<Json> = serde_saphyr::from_multiple(text)
                .with_context(|| format!("{file} is not YAML:\n{text}"))?;
            objects.extend(docs.into_iter().filter(|d| !d.is_null()));
        }
        Ok(objects)
    }

    /// All manifests as one multi-document YAML stream.
    pub fn stream(&self) -> String {
        self.manifests
            .iter()
            .map(|(file, text)| format!("---\n# Source: {file}\n{text}\n"))
            .collect()
    }
}

/// Renders the chart in `dir` for `release`, with values files layered on
/// the chart's values.yaml in order (later files win, as `helm -f a -f b`).
pub fn render(dir: &Path, release: &Release<'_>, values: &[Json]) -> anyhow::Result<Rendered> {
    let chart: Json = read_yaml(&dir.join("Chart.yaml"))?;
    let chart_name = chart["name"].as_str().context("Chart.yaml has no name")?;
    let mut merged: Json = read_yaml(&dir.join("values.yaml"))?;
    for layer in values {
        merged = coalesce(merged, layer.clone());
    }
    let files = template_files(&dir.join("templates"))?;
    let set = Arc::new(OnceLock::<Template>::new());
    let syntax = Arc::new(helm_syntax(&set));
    // Parse every file into one set, so each sees every `define`.
    let mut all = Template::parse_with("", "", &syntax).map_err(anyhow::Error::msg)?;
    let mut parsed = Vec::new();
    for (relative, src) in &files {
        let name = format!("{chart_name}/templates/{relative}");
        all = all
            .parse_associated(&name, src)
            .map_err(anyhow::Error::msg)?;
        parsed.push((relative.clone(), name));
    }
    let _ = set.set(all.clone());
    let top = json!({
        "Values": merged,
        "Release": {
            "Name": release.name,
            "Namespace": release.namespace,
            "Service": "Helm",
            "IsInstall": true,
            "IsUpgrade": false,
            "Revision": 1,
        },
        "Chart": chart_object(&chart),
        "Capabilities": {
            "KubeVersion": {"Version": "v1.32.0", "Major": "1", "Minor": "32"},
            "HelmVersion": {"Version": "v3.16.0"},
        },
    });
    let mut manifests = BTreeMap::new();
    let mut notes = String::new();
    for ((relative, name), (_, src)) in parsed.iter().zip(&files) {
        let file_name = relative.rsplit('/').next().unwrap_or(relative);
        if file_name.starts_with('_') {
            continue;
        }
        let mut data = top.clone();
        data["Template"] = json!({"Name": name, "BasePath": format!("{chart_name}/templates")});
        // Each file is executed as the root of its own template in the set.
        let template = all
            .parse_associated(name, src)
            .map_err(anyhow::Error::msg)?;
        let out = template
            .execute(&Value::from_json(&data))
            .map_err(anyhow::Error::msg)?
            // Helm renders with missingkey=zero and then blanks what is left.
            .replace("<no value>", "");
        if file_name == "NOTES.txt" {
            notes = out;
        } else if !out.trim().is_empty() {
            manifests.insert(name.clone(), out);
        }
    }
    Ok(Rendered { manifests, notes })
}

/// `.Chart`: Chart.yaml's fields under Helm's (Go) names.
fn chart_object(chart: &Json) -> Json {
    let mut object = Map::new();
    for (key, value) in chart.as_object().into_iter().flatten() {
        let mut name = key.clone();
        if let Some(first) = name.get(..1) {
            name = first.to_uppercase() + &name[1..];
        }
        object.insert(name, value.clone());
    }
    Json::Object(object)
}

/// Helm's merge of a values file onto the values so far: maps merge key by
/// key, anything else is replaced, and `null` removes a key.
fn coalesce(base: Json, layer: Json) -> Json {
    match (base, layer) {
        (Json::Object(mut base), Json::Object(layer)) => {
            for (key, value) in layer {
                if value.is_null() {
                    base.remove(&key);
                    continue;
                }
                let merged = match base.remove(&key) {
                    Some(old) => coalesce(old, value),
                    None => value,
                };
                base.insert(key, merged);
            }
            Json::Object(base)
        }
        (_, layer) => layer,
    }
}

fn read_yaml(path: &Path) -> anyhow::Result<Json> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_saphyr::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The files of templates/ (and its subfolders), by path relative to it,
/// in name order, as Helm loads them.
fn template_files(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).with_context(|| format!("{}", folder.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
            files.push((relative, std::fs::read_to_string(&path)?));
        }
    }
    files.sort();
    Ok(files)
}

/// `{{ }}`, and the functions Helm adds to sprig. `include` and `tpl` run
/// templates of `set`, which is filled once every file is parsed.
fn helm_syntax(set: &Arc<OnceLock<Template>>) -> Syntax {
    let (for_include, for_tpl) = (set.clone(), set.clone());
    let syntax = Syntax::default()
        .with_delims("{{", "}}")
        .expect("{{ }} are valid delimiters");
    syntax
        .with_func("include", move |args| {
            let [name, dot] = args else {
                return Err(format!(
                    "include takes a name and data, got {} args",
                    args.len()
                ));
            };
            let name = name.as_str().ok_or("include: the name must be a string")?;
            let set = for_include.get().ok_or("include: no template set yet")?;
            set.execute_template(name, dot)
                .map(Value::str)
                .map_err(|e| e.to_string())
        })
        .with_func("tpl", move |args| {
            let [text, dot] = args else {
                return Err(format!(
                    "tpl takes a template and data, got {} args",
                    args.len()
                ));
            };
            let text = text.as_str().ok_or("tpl: the template must be a string")?;
            let set = for_tpl.get().ok_or("tpl: no template set yet")?;
            set.parse_associated("tpl", text)
                .and_then(|t| t.execute(dot))
                .map(|out| Value::str(out.replace("<no value>", "")))
                .map_err(|e| e.to_string())
        })
        .with_func("toYaml", |args| {
            let [value] = args else {
                return Err("toYaml takes one argument".into());
            };
            let json = to_json(value)?;
            let yaml = serde_saphyr::to_string(&json).map_err(|e| e.to_string())?;
            Ok(Value::str(yaml.trim_end_matches('\n')))
        })
        .with_func("fromYaml", |args| {
            let [Value::String(text)] = args else {
                return Err("fromYaml takes one string".into());
            };
            let parsed: Json = match serde_saphyr::from_str(text) {
                Ok(Json::Null) => json!({}),
                Ok(parsed) => parsed,
                Err(e) => json!({"Error": e.to_string()}),
            };
            Ok(Value::from_json(&parsed))
        })
        .with_func("required", |args| match args {
            [message, Value::Nil | Value::Missing] => Err(message_of(message)),
            [message, Value::String(s)] if s.is_empty() => Err(message_of(message)),
            [_, value] => Ok(value.clone()),
            _ => Err("required takes a message and a value".into()),
        })
        .with_func("fail", |args| match args {
            [message] => Err(message_of(message)),
            _ => Err("fail takes one message".into()),
        })
}

fn message_of(value: &Value) -> String {
    value.as_str().unwrap_or("(not a string)").to_string()
}

fn to_json(value: &Value) -> Result<Json, String> {
    let text = gotemplate::json::encode(value, false)?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Fails unless `objects` has exactly one object of `kind` named `name`,
/// and returns it.
pub fn only<'o>(objects: &'o [Json], kind: &str, name: &str) -> anyhow::Result<&'o Json> {
    let found: Vec<&Json> = objects
        .iter()
        .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        _ => bail!("{} {kind} {name} in {objects:#?}", found.len()),
    }
}

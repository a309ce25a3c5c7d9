//! `template`: render one template with data from a file, to try templates
//! outside a cluster.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON or YAML file with the template data. Without it the data is
    /// empty.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Read the template from this file; the template is named after the
    /// file in errors.
    #[arg(long, value_name = "PATH", conflicts_with = "template")]
    file: Option<PathBuf>,
    /// The template text itself; `-` or absent reads it from stdin.
    #[arg(value_name = "TEMPLATE|-")]
    template: Option<String>,
}

/// Name of a template that does not come from a file.
const DEFAULT_NAME: &str = "template";

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (name, src) = read_template(&args)?;
    let data = match &args.data {
        Some(path) => read_data(path)?,
        None => serde_json::Value::Object(Default::default()),
    };
    let rendered = gotemplate::Template::parse(&name, &src)
        .and_then(|t| t.execute(&gotemplate::Value::from_json(&data)));
    match rendered {
        Ok(output) => {
            let mut out = std::io::stdout().lock();
            out.write_all(output.as_bytes())
                .and_then(|()| out.flush())
                .context("writing to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            // Already `template: NAME:LINE:COL: message`; print it as is.
            eprintln!("{err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The template's name and text, from `--file`, the argument, or stdin.
fn read_template(args: &Args) -> anyhow::Result<(String, String)> {
    if let Some(path) = &args.file {
        let src = std::fs::read_to_string(path)
            .with_context(|| format!("reading template file {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| DEFAULT_NAME.to_string());
        return Ok((name, src));
    }
    match args.template.as_deref() {
        Some(src) if src != "-" => Ok((DEFAULT_NAME.to_string(), src.to_string())),
        _ => {
            let mut src = String::new();
            std::io::stdin()
                .read_to_string(&mut src)
                .context("reading the template from stdin")?;
            Ok((DEFAULT_NAME.to_string(), src))
        }
    }
}

/// Reads template data: JSON first (exact numbers, fast), else YAML. An empty
/// file is no data.
fn read_data(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading data file {}", path.display()))?;
    parse_data(&text).with_context(|| format!("parsing data file {}", path.display()))
}

fn parse_data(text: &str) -> anyhow::Result<serde_json::Value> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    serde_saphyr::from_str(text).context("not valid JSON or YAML")
}

#[cfg(test)]
mod tests {
    use super::parse_data;
    use serde_json::json;

    #[test]
    fn parses_json_and_yaml() {
        assert_eq!(parse_data(r#"{"a": 1.5}"#).ok(), Some(json!({"a": 1.5})));
        assert_eq!(
            parse_data("a: 1\nb: [x, true]\n").ok(),
            Some(json!({"a": 1, "b": ["x", true]}))
        );
        assert_eq!(parse_data("  \n").ok(), Some(json!(null)));
        assert!(parse_data("a: [").is_err());
    }
}

//! Go `text/template` with `{%` `%}` delimiters and the sprig function
//! library, so that templates written for the original Go
//! integration-operator render byte for byte the same.
//!
//! Data is JSON-like: numbers are `float64` and print as Go prints them, and
//! a missing map key prints `<no value>`, as in Go.

mod builtins;
mod cost;
mod exec;
pub mod fmt;
pub mod funcs;
pub mod json;
mod lex;
mod parse;
mod sprig;
pub mod value;

use std::sync::Arc;

pub use funcs::Func;
pub use value::Value;

/// Where and why a template failed to parse or execute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {name}:{line}:{col}: {message}")]
pub struct Error {
    /// The template's name (a file name, or the field it came from).
    pub name: String,
    /// 1-based line of the failing action.
    pub line: usize,
    /// 1-based column (in characters) of the failing action.
    pub col: usize,
    /// What went wrong.
    pub message: String,
}

/// A parsed template, ready to execute any number of times. Cheap to
/// clone and safe to share between threads.
#[derive(Clone)]
pub struct Template {
    name: Arc<str>,
    src: Arc<str>,
    tree: Arc<parse::Tree>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// Parses `src` with `{%` `%}` delimiters. `name` appears in errors.
    pub fn parse(name: &str, src: &str) -> Result<Template, Error> {
        match parse::parse(src) {
            Ok(tree) if tree.defines.contains_key(name) && !tree.root_is_empty() => Err(Error::at(
                name,
                src,
                0,
                format!("template: multiple definition of template {name:?}"),
            )),
            Ok(tree) => Ok(Template {
                name: name.into(),
                src: src.into(),
                tree: Arc::new(tree),
            }),
            Err(e) => Err(Error::at(name, src, e.pos, e.message)),
        }
    }

    /// The name given at parse time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Executes the template against `data`, returning the output.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        self.execute_traced(data).map(|out| out.text)
    }

    /// Executes the template against `data`, returning the output and
    /// every action that printed `<no value>` (a missing key or a nil),
    /// in the order they printed.
    pub fn execute_traced(&self, data: &Value) -> Result<Traced, Error> {
        // Go treats nil data as "no value", not as a nil map.
        let data = match data {
            Value::Nil => &Value::Missing,
            data => data,
        };
        let out = exec::Exec::run(&self.tree.root, &self.tree.defines, data).map_err(|f| {
            let (pos, message) = match f.span {
                Some((start, end)) => {
                    let at = self.src.get(start..end).unwrap_or("").trim();
                    (
                        start,
                        format!("executing {:?} at <{at}>: {}", &*self.name, f.message),
                    )
                }
                None => (0, format!("executing {:?}: {}", &*self.name, f.message)),
            };
            Error::at(&self.name, &self.src, pos, message)
        })?;
        let no_values = out
            .no_values
            .into_iter()
            .map(|(start, end)| {
                let (line, col) = line_col(&self.src, start);
                NoValue {
                    action: self.src.get(start..end).unwrap_or("").trim().to_string(),
                    line,
                    col,
                }
            })
            .collect();
        Ok(Traced {
            text: out.text,
            no_values,
        })
    }
}

/// The output of [`Template::execute_traced`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// What the template printed.
    pub text: String,
    /// The actions that printed `<no value>`, in order.
    pub no_values: Vec<NoValue>,
}

/// An action that printed `<no value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoValue {
    /// The action's pipeline as written, e.g. `.plugConfig.create`.
    pub action: String,
    /// 1-based line of the action.
    pub line: usize,
    /// 1-based column (in characters) of the action's pipeline.
    pub col: usize,
}

/// 1-based line and column (in characters) of byte `pos` in `src`.
fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = src.get(..pos).unwrap_or(src);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

impl Error {
    fn at(name: &str, src: &str, pos: usize, message: String) -> Error {
        let (line, col) = line_col(src, pos);
        Error {
            name: name.to_string(),
            line,
            col,
            message,
        }
    }
}

/// Parses and executes `src` once against JSON data.
pub fn render(name: &str, src: &str, data: &serde_json::Value) -> Result<String, Error> {
    Template::parse(name, src)?.execute(&Value::from_json(data))
}

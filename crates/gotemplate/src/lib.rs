//! Go `text/template` with `{%` `%}` delimiters and the sprig function
//! library, so that templates written for the original Go
//! integration-operator render byte for byte the same. Other delimiters and
//! added functions are a [`Syntax`] away (a Helm chart's `{{ }}`, `include`).
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
mod syntax;
pub mod value;

use std::sync::Arc;

pub use funcs::Func;
pub use syntax::{DynFunc, Syntax};
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
    source: Arc<parse::Source>,
    tree: Arc<parse::Tree>,
    syntax: Arc<Syntax>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.source.name)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// Parses `src` with `{%` `%}` delimiters. `name` appears in errors.
    pub fn parse(name: &str, src: &str) -> Result<Template, Error> {
        Template::parse_with(name, src, &syntax::DEFAULT)
    }

    /// Parses `src` with the delimiters and added functions of `syntax`.
    pub fn parse_with(name: &str, src: &str, syntax: &Arc<Syntax>) -> Result<Template, Error> {
        Template::parse_in(name, src, syntax, None)
    }

    /// Parses `src` as another template of this one's set, as Go's
    /// `t.New(name).Parse(src)`: same syntax, and the result can call every
    /// template `define`d here as well as its own (which win on a name
    /// clash). `self` is unchanged.
    pub fn parse_associated(&self, name: &str, src: &str) -> Result<Template, Error> {
        Template::parse_in(name, src, &self.syntax, Some(&self.tree))
    }

    fn parse_in(
        name: &str,
        src: &str,
        syntax: &Arc<Syntax>,
        set: Option<&parse::Tree>,
    ) -> Result<Template, Error> {
        let source = Arc::new(parse::Source {
            name: name.into(),
            src: src.into(),
        });
        let mut tree = match parse::parse(&source, syntax) {
            Ok(tree) if tree.defines.contains_key(name) && !tree.root_is_empty() => {
                let message = format!("template: multiple definition of template {name:?}");
                return Err(Error::at(name, src, 0, message));
            }
            Ok(tree) => tree,
            Err(e) => return Err(Error::at(name, src, e.pos, e.message)),
        };
        for (define, defined) in set.iter().flat_map(|set| &set.defines) {
            tree.defines
                .entry(define.clone())
                .or_insert_with(|| defined.clone());
        }
        Ok(Template {
            source,
            tree: Arc::new(tree),
            syntax: syntax.clone(),
        })
    }

    /// The name given at parse time.
    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// Executes the template against `data`, returning the output.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        self.execute_traced(data).map(|out| out.text)
    }

    /// Executes the template against `data`, returning the output and
    /// every action that printed `<no value>` (a missing key or a nil),
    /// in the order they printed.
    pub fn execute_traced(&self, data: &Value) -> Result<Traced, Error> {
        self.run(&self.tree.root, &self.source, self.name(), data)
    }

    /// Executes the template `define`d as `name` in this set against
    /// `data`, as Go's `ExecuteTemplate`.
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, Error> {
        match self.tree.defines.get(name) {
            Some(defined) => self
                .run(&defined.list, &defined.source, name, data)
                .map(|out| out.text),
            None => Err(Error::at(
                self.name(),
                "",
                0,
                format!(
                    "no template {name:?} associated with template {:?}",
                    self.name()
                ),
            )),
        }
    }

    fn run(
        &self,
        root: &parse::List,
        source: &Arc<parse::Source>,
        executing: &str,
        data: &Value,
    ) -> Result<Traced, Error> {
        // Go treats nil data as "no value", not as a nil map.
        let data = match data {
            Value::Nil => &Value::Missing,
            data => data,
        };
        let out = exec::Exec::run(root, source, &self.tree.defines, data).map_err(|f| {
            let at = f.source.as_deref().unwrap_or(source);
            let (pos, message) = match f.span {
                Some((start, end)) => {
                    let text = at.src.get(start..end).unwrap_or("").trim();
                    let message = format!("executing {executing:?} at <{text}>: {}", f.message);
                    (start, message)
                }
                None => (0, format!("executing {executing:?}: {}", f.message)),
            };
            Error::at(&at.name, &at.src, pos, message)
        })?;
        // Positions are in the executed source: an action inside a
        // `define` from another source of a set is placed only roughly.
        let no_values = out
            .no_values
            .into_iter()
            .map(|(start, end)| {
                let (line, col) = line_col(&source.src, start);
                NoValue {
                    action: source.src.get(start..end).unwrap_or("").trim().to_string(),
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

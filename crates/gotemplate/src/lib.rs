//! Go `text/template` with `{%` `%}` delimiters and the sprig function
//! library, so that templates written for the original Go
//! integration-operator render byte for byte the same.
//!
//! Data is JSON-like: numbers are `float64` and print as Go prints them, and
//! a missing map key prints `<no value>`, as in Go.

pub mod builtins;
pub mod fmt;
pub mod funcs;
pub mod sprig;
pub mod value;

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

/// A parsed template, ready to execute any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
}

impl Template {
    /// Parses `src` with `{%` `%}` delimiters. `name` appears in errors.
    pub fn parse(name: &str, src: &str) -> Result<Template, Error> {
        let _ = src;
        Err(Error {
            name: name.to_string(),
            line: 1,
            col: 1,
            message: "the template engine is not ready yet".into(),
        })
    }

    /// The name given at parse time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Executes the template against `data`, returning the output.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        let _ = data;
        Err(Error {
            name: self.name.clone(),
            line: 1,
            col: 1,
            message: "the template engine is not ready yet".into(),
        })
    }
}

/// Parses and executes `src` once against JSON data.
pub fn render(name: &str, src: &str, data: &serde_json::Value) -> Result<String, Error> {
    Template::parse(name, src)?.execute(&Value::from_json(data))
}

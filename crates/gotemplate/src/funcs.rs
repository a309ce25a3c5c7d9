//! The function table templates can call: Go's builtins and sprig.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::value::Value;

/// A template function. It receives its evaluated arguments (the piped
/// value last) and returns a value or an error message.
pub type Func = fn(&[Value]) -> Result<Value, String>;

static TABLE: LazyLock<HashMap<&'static str, Func>> = LazyLock::new(|| {
    // As in Go, added functions (sprig) take precedence over builtins.
    crate::builtins::FUNCS
        .iter()
        .chain(crate::sprig::FUNCS)
        .copied()
        .collect()
});

/// The function a template name refers to, if any.
pub fn lookup(name: &str) -> Option<Func> {
    TABLE.get(name).copied()
}

/// The names of every function templates can call, sorted.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<_> = TABLE.keys().copied().chain(["and", "or"]).collect();
    names.sort_unstable();
    names
}

//! What a template is parsed with: its action delimiters and the functions
//! it may call besides Go's builtins and sprig. The operator's templates
//! use the default (`{%` `%}`, no extra functions); other hosts, such as a
//! renderer of Helm charts, set `{{` `}}` and add their own functions, as
//! Go's `Template.Delims` and `Template.Funcs` do.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use crate::lex::{DEFAULT_DELIMS, Delims};
use crate::parse::FuncRef;
use crate::value::Value;

/// A function a host adds: it receives the evaluated arguments (the piped
/// value last) and returns a value or an error message. Unlike [`crate::Func`]
/// it may hold state, such as the template set that Helm's `include` runs.
pub type DynFunc = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// Delimiters and added functions. Cheap to share: templates parsed with it
/// keep an `Arc` to it.
#[derive(Clone)]
pub struct Syntax {
    left: Box<str>,
    right: Box<str>,
    funcs: HashMap<Box<str>, DynFunc>,
}

/// The operator's syntax, shared by every [`crate::Template::parse`].
pub(crate) static DEFAULT: LazyLock<Arc<Syntax>> = LazyLock::new(|| Arc::new(Syntax::default()));

impl Default for Syntax {
    fn default() -> Self {
        Syntax {
            left: DEFAULT_DELIMS.left.into(),
            right: DEFAULT_DELIMS.right.into(),
            funcs: HashMap::new(),
        }
    }
}

impl std::fmt::Debug for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut funcs: Vec<&str> = self.funcs.keys().map(|k| &**k).collect();
        funcs.sort_unstable();
        f.debug_struct("Syntax")
            .field("left", &self.left)
            .field("right", &self.right)
            .field("funcs", &funcs)
            .finish()
    }
}

impl Syntax {
    /// Uses `left` and `right` as the action delimiters (Go's
    /// `Template.Delims`). Trim markers (`{{- ` and ` -}}`) and comments
    /// (`{{/* */}}`) work with any delimiters. Fails on an empty delimiter
    /// or one with white space, which would make trim markers ambiguous.
    pub fn with_delims(mut self, left: &str, right: &str) -> Result<Syntax, String> {
        for (side, delim) in [("left", left), ("right", right)] {
            if delim.is_empty() || delim.chars().any(char::is_whitespace) {
                return Err(format!(
                    "{side} delimiter {delim:?} must be non-empty and without white space"
                ));
            }
        }
        self.left = left.into();
        self.right = right.into();
        Ok(self)
    }

    /// Adds a function that templates may call by `name`; it takes
    /// precedence over a builtin or sprig function of the same name, as in
    /// Go.
    pub fn with_func(
        mut self,
        name: &str,
        func: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Syntax {
        self.funcs.insert(name.into(), Arc::new(func));
        self
    }

    pub(crate) fn delims(&self) -> Delims<'_> {
        Delims {
            left: &self.left,
            right: &self.right,
        }
    }

    /// An action as written with these delimiters, for error messages:
    /// `{% end %}`.
    pub(crate) fn action(&self, words: &str) -> String {
        format!("{} {words} {}", self.left, self.right)
    }

    /// The function `name` refers to: an added one, else `and`/`or`, a
    /// builtin or sprig.
    pub(crate) fn lookup(&self, name: &str) -> Option<FuncRef> {
        if let Some(func) = self.funcs.get(name) {
            return Some(FuncRef::Dyn(func.clone()));
        }
        match name {
            "and" => Some(FuncRef::And),
            "or" => Some(FuncRef::Or),
            name => crate::funcs::lookup(name).map(FuncRef::Call),
        }
    }
}

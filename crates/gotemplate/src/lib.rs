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

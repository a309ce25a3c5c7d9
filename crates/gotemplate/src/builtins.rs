//! Go's predefined template functions (`and`, `len`, `index`, `eq`, ...).

use crate::funcs::Func;

/// Every builtin, by template name. `and` and `or` are evaluated lazily by
/// the executor; their entries here only make the names known to the parser.
pub(crate) const FUNCS: &[(&str, Func)] = &[];

//! The sprig function library (v3), minus the functions that would let a
//! template read the operator's environment.

use crate::funcs::Func;

/// Every sprig function, by template name.
pub(crate) const FUNCS: &[(&str, Func)] = &[];

//! API types (in progress).

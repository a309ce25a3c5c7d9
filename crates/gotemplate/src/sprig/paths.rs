//! Go's `path` functions (and `path/filepath`, which is the same on Unix).

use super::args::{arity, string};
use crate::value::Value;

/// Checks a one-`string` signature and applies `f`.
fn path1<T: Into<Value>>(
    name: &str,
    args: &[Value],
    f: impl FnOnce(&str) -> T,
) -> Result<Value, String> {
    arity(name, args, 1)?;
    Ok(f(string(&args[0])?).into())
}

/// Go's `path.Clean`: the shortest equivalent path, resolving `.` and `..`
/// lexically.
pub(super) fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`: the last element, ignoring trailing slashes.
fn base_of(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `path.Dir`: everything before the last element, cleaned.
fn dir_of(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    clean_path(&path[..cut])
}

/// Go's `path.Ext`: the suffix from the last dot of the last element.
fn ext_of(path: &str) -> String {
    let last = &path[path.rfind('/').map_or(0, |i| i + 1)..];
    last.rfind('.')
        .map_or(String::new(), |i| last[i..].to_string())
}

/// `base PATH` (also `osBase`).
pub(super) fn base(args: &[Value]) -> Result<Value, String> {
    path1("base", args, base_of)
}

/// `dir PATH` (also `osDir`).
pub(super) fn dir(args: &[Value]) -> Result<Value, String> {
    path1("dir", args, dir_of)
}

/// `clean PATH` (also `osClean`).
pub(super) fn clean(args: &[Value]) -> Result<Value, String> {
    path1("clean", args, clean_path)
}

/// `ext PATH` (also `osExt`).
pub(super) fn ext(args: &[Value]) -> Result<Value, String> {
    path1("ext", args, ext_of)
}

/// `isAbs PATH` (also `osIsAbs`).
pub(super) fn is_abs(args: &[Value]) -> Result<Value, String> {
    path1("isAbs", args, |p| p.starts_with('/'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Expected values below were produced by Go 1.19's path package.
    #[test]
    fn paths_match_go() {
        for (input, want) in [
            ("", "."),
            ("/a/../b", "/b"),
            ("a/../..", ".."),
            ("/..", "/"),
            ("a//b/./c/", "a/b/c"),
            ("../../a/..", "../.."),
            ("./", "."),
        ] {
            assert_eq!(clean_path(input), want, "clean {input:?}");
        }
        assert_eq!(base_of("/a/b/c.txt"), "c.txt");
        assert_eq!(base_of("/a/b/"), "b");
        assert_eq!(base_of("///"), "/");
        assert_eq!(base_of(""), ".");
        assert_eq!(dir_of("/a/b/c.txt"), "/a/b");
        assert_eq!(dir_of("c.txt"), ".");
        assert_eq!(dir_of("/"), "/");
        assert_eq!(ext_of("c.txt"), ".txt");
        assert_eq!(ext_of("a.b/c"), "");
        assert_eq!(ext_of("a/b.tar.gz"), ".gz");
    }
}

//! sprig's `semver` and `semverCompare`, following Masterminds/semver v3:
//! its version syntax (an optional `v`, missing minor and patch allowed),
//! its ordering, and its constraint language (`>=1.2 <2`, `~1.2`, `^0.3`,
//! `1.x`, `1.2 - 1.4`, `||`).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::args::{arity, string};
use crate::value::Value;

/// A version component: digits, or an `x`/`X`/`*` wildcard (and, as in
/// the Go library, `|`).
const PART: &str = r"[0-9|xX*]+";
/// Prerelease and metadata identifiers.
const IDENTS: &str = r"[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*";
/// Go's `\s`.
const SPACE: &str = r"[\t\n\f\r ]";
/// The constraint operators, in the Go library's order (which matters:
/// the first alternative that lets the rest match wins).
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

/// A version pattern; `open` starts each group ("(" to capture the parts,
/// "(?:" not to).
fn version_pattern(part: &str, open: &str) -> String {
    format!(r"v?{open}{part}){open}\.{part})?{open}\.{part})?{open}-{IDENTS})?{open}\+{IDENTS})?")
}

/// A compiled pattern, or why it failed (which tests rule out).
type Pattern = LazyLock<Result<Regex, String>>;

/// Compiles one of this module's patterns.
fn compile(pattern: String) -> Result<Regex, String> {
    Regex::new(&pattern).map_err(|e| e.to_string())
}

/// The regex behind a pattern.
fn re(p: &'static Pattern) -> Result<&'static Regex, String> {
    p.as_ref().map_err(Clone::clone)
}

/// A whole version: major, minor, patch, prerelease and metadata captured.
static VERSION: Pattern =
    LazyLock::new(|| compile(format!("^{}$", version_pattern("[0-9]+", "("))));
/// One constraint: operator, version, then the version's parts captured.
static CONSTRAINT: Pattern = LazyLock::new(|| {
    compile(format!(
        r"^{SPACE}*({OPS}){SPACE}*({}){SPACE}*$",
        version_pattern(PART, "(")
    ))
});
/// Each constraint within an AND group.
static FIND: Pattern = LazyLock::new(|| {
    compile(format!(
        r"(?:{OPS}){SPACE}*{}",
        version_pattern(PART, "(?:")
    ))
});
/// A well-formed AND group.
static VALID: Pattern = LazyLock::new(|| {
    let one = format!(r"(?:{OPS}){SPACE}*{}{SPACE}*", version_pattern(PART, "(?:"));
    compile(format!(r"^{SPACE}*{one}(?:(?:{SPACE}+|,{SPACE}*){one})*$"))
});
/// A hyphen range, `A - B`, with both ends captured.
static RANGE: Pattern = LazyLock::new(|| {
    let cv = version_pattern(PART, "(?:");
    compile(format!(r"{SPACE}*({cv}){SPACE}+-{SPACE}+({cv}){SPACE}*"))
});

/// A parsed version.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
    original: String,
}

/// Go's `strconv.ParseUint` error, as the semver library wraps it.
fn segment(digits: &str) -> Result<u64, String> {
    digits.parse().map_err(|_| {
        format!(
            "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            crate::fmt::quote(digits)
        )
    })
}

impl Version {
    /// Masterminds' `NewVersion`.
    fn parse(s: &str) -> Result<Version, String> {
        let caps = re(&VERSION)?
            .captures(s)
            .ok_or("Invalid Semantic Version")?;
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let number = |i: usize| {
            let g = group(i).trim_start_matches('.');
            if g.is_empty() { Ok(0) } else { segment(g) }
        };
        let v = Version {
            major: segment(group(1))?,
            minor: number(2)?,
            patch: number(3)?,
            pre: group(4).trim_start_matches('-').to_string(),
            meta: group(5).trim_start_matches('+').to_string(),
            original: s.to_string(),
        };
        for part in v.pre.split('.').filter(|_| !v.pre.is_empty()) {
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
                return Err("Version segment starts with 0".into());
            }
        }
        Ok(v)
    }

    /// The canonical form, `MAJOR.MINOR.PATCH[-PRE][+META]`.
    fn canonical(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s = format!("{s}-{}", self.pre);
        }
        if !self.meta.is_empty() {
            s = format!("{s}+{}", self.meta);
        }
        s
    }

    /// Semantic version precedence (metadata ignored).
    fn compare(&self, o: &Version) -> Ordering {
        let numbers = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if numbers != Ordering::Equal {
            return numbers;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_prerelease(&self.pre, &o.pre),
        }
    }
}

/// Compares dot-separated prerelease identifiers: numbers numerically and
/// below words, a missing identifier below a present one.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = (
            pa.get(i).copied().unwrap_or(""),
            pb.get(i).copied().unwrap_or(""),
        );
        let order = match (x, y) {
            _ if x == y => Ordering::Equal,
            ("", _) => Ordering::Less,
            (_, "") => Ordering::Greater,
            _ => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(n), Ok(m)) => {
                    if n > m {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (Ok(_), Err(_)) => Ordering::Less,
                (Err(_), Ok(_)) => Ordering::Greater,
                (Err(_), Err(_)) => {
                    if x > y {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
            },
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// One constraint: an operator and a version with wildcards filled in.
struct Constraint {
    op: String,
    version: Version,
    /// The minor (and so the patch) was a wildcard or missing.
    minor_dirty: bool,
    /// The patch was a wildcard or missing.
    patch_dirty: bool,
    /// Any part was a wildcard or missing.
    dirty: bool,
}

/// Whether a version part is a wildcard.
fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    /// Masterminds' `parseConstraint`.
    fn parse(s: &str) -> Result<Constraint, String> {
        let caps = re(&CONSTRAINT)?
            .captures(s)
            .ok_or_else(|| format!("improper constraint: {s}"))?;
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
        let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
        let text = if is_x(major) || major.is_empty() {
            dirty = true;
            format!("0.0.0{pre}")
        } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
            (minor_dirty, dirty) = (true, true);
            format!("{major}.0.0{pre}")
        } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
            (patch_dirty, dirty) = (true, true);
            format!("{major}{minor}.0{pre}")
        } else {
            group(2).to_string()
        };
        let version = Version::parse(&text).map_err(|_| "constraint Parser Error".to_string())?;
        Ok(Constraint {
            op: group(1).to_string(),
            version,
            minor_dirty,
            patch_dirty,
            dirty,
        })
    }

    /// Whether `v` satisfies this constraint.
    fn check(&self, v: &Version) -> bool {
        let c = &self.version;
        // A prerelease only satisfies constraints that name a prerelease
        // (`!=` checks this only with wildcards).
        if !v.pre.is_empty() && c.pre.is_empty() && (self.op != "!=" || self.dirty) {
            return false;
        }
        let order = v.compare(c);
        match self.op.as_str() {
            "" | "=" if self.dirty => self.tilde(v),
            "" | "=" => order == Ordering::Equal,
            "!=" => self.not_equal(v),
            ">" => self.greater(v),
            "<" => order == Ordering::Less,
            ">=" | "=>" => order != Ordering::Less,
            "<=" | "=<" => self.less_equal(v),
            "~" | "~>" => self.tilde(v),
            "^" => self.caret(v),
            _ => false,
        }
    }

    /// `!=`: with wildcards, any version outside the wildcard's span.
    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.version;
        if self.dirty {
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                return (!v.pre.is_empty() || !c.pre.is_empty())
                    && compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
            }
        }
        v.compare(c) != Ordering::Equal
    }

    /// `>`: with wildcards, above the whole wildcard span.
    fn greater(&self, v: &Version) -> bool {
        let c = &self.version;
        if !self.dirty {
            return v.compare(c) == Ordering::Greater;
        }
        match v.major.cmp(&c.major) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal if self.minor_dirty => false,
            Ordering::Equal if self.patch_dirty => v.minor > c.minor,
            Ordering::Equal => v.compare(c) == Ordering::Greater,
        }
    }

    /// `<=`: with wildcards, anything up to the end of the wildcard span.
    fn less_equal(&self, v: &Version) -> bool {
        let c = &self.version;
        if !self.dirty {
            return v.compare(c) != Ordering::Greater;
        }
        !(v.major > c.major || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
    }

    /// `~`: the same major and minor (or just major for `~1`).
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if (c.major, c.minor, c.patch) == (0, 0, 0) && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }

    /// `^`: no change to the leftmost non-zero part.
    fn caret(&self, v: &Version) -> bool {
        let c = &self.version;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}

/// Masterminds' `rewriteRange`: `A - B` becomes `>= A, <= B`.
fn rewrite_ranges(s: &str) -> Result<String, String> {
    let mut out = s.to_string();
    for caps in re(&RANGE)?.captures_iter(s) {
        let (Some(whole), Some(lo), Some(hi)) = (caps.get(0), caps.get(1), caps.get(2)) else {
            continue;
        };
        out = out.replacen(
            whole.as_str(),
            &format!(">= {}, <= {}", lo.as_str(), hi.as_str()),
            1,
        );
    }
    Ok(out)
}

/// Masterminds' `NewConstraint`: OR groups of AND-ed constraints.
fn parse_constraints(s: &str) -> Result<Vec<Vec<Constraint>>, String> {
    let (valid, find) = (re(&VALID)?, re(&FIND)?);
    rewrite_ranges(s)?
        .split("||")
        .map(|group| {
            if !valid.is_match(group) {
                return Err(format!("improper constraint: {group}"));
            }
            find.find_iter(group)
                .map(|m| Constraint::parse(m.as_str()))
                .collect()
        })
        .collect()
}

/// `semverCompare CONSTRAINT VERSION`: whether VERSION satisfies CONSTRAINT.
pub(super) fn semver_compare(args: &[Value]) -> Result<Value, String> {
    arity("semverCompare", args, 2)?;
    let (constraint, version) = (string(&args[0])?, string(&args[1])?);
    let groups = parse_constraints(constraint)?;
    let v = Version::parse(version)?;
    Ok(Value::Bool(
        groups.iter().any(|and| and.iter().all(|c| c.check(&v))),
    ))
}

/// `semver VERSION`: the parsed version as a map with the Go type's
/// accessors: `Major`, `Minor`, `Patch`, `Prerelease`, `Metadata`,
/// `Original` and `String`.
pub(super) fn semver(args: &[Value]) -> Result<Value, String> {
    arity("semver", args, 1)?;
    let v = Version::parse(string(&args[0])?)?;
    let as_int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let fields = [
        ("Major", as_int(v.major)),
        ("Minor", as_int(v.minor)),
        ("Patch", as_int(v.patch)),
        ("Prerelease", Value::from(v.pre.as_str())),
        ("Metadata", Value::from(v.meta.as_str())),
        ("Original", Value::from(v.original.as_str())),
        ("String", Value::from(v.canonical())),
    ];
    Ok(Value::map(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cmp(c: &str, v: &str) -> String {
        match semver_compare(&[Value::from(c), Value::from(v)]) {
            Ok(Value::Bool(b)) => b.to_string(),
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("ERR {e}"),
        }
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn constraints_match_go() {
        let cases = [
            (">=1.19", "1.20.3", "true"),
            (">=1.19", "v1.18.9", "false"),
            ("^1.2.3", "1.9.0", "true"),
            ("^0.2.3", "0.3.0", "false"),
            ("~1.2", "1.2.9", "true"),
            ("~1.2", "1.3.0", "false"),
            ("1.x", "1.5.0", "true"),
            ("1.2 - 1.4", "1.4.5", "true"),
            ("1.2 - 1.4", "1.5.0", "false"),
            (">=1.0 <2.0 || >=3", "3.1.0", "true"),
            (">=1.0, <2.0", "2.0.0", "false"),
            (">=1.0", "1.5.0-beta.1", "false"),
            (">=1.0-0", "1.5.0-beta.1", "true"),
            ("!=1.2.x", "1.2.5", "false"),
            (">1.2.x", "1.3.0", "true"),
            ("<=1.2", "1.2.9", "true"),
            ("*", "0.0.1", "true"),
            ("=1.2.3+meta", "1.2.3", "true"),
            ("1.0.0-alpha < 1.0.0-alpha.1", "1.0.0", "false"),
            ("!=1.2.3", "1.2.3-rc1", "true"),
            (">=1|2", "1.0.0", "ERR constraint Parser Error"),
            ("", "1.0.0", "ERR improper constraint: "),
            ("<1.0.0-alpha.1", "1.0.0-alpha", "true"),
            ("<1.0.0-alpha.beta", "1.0.0-alpha.2", "true"),
            ("junk", "1.0.0", "ERR improper constraint: junk"),
            (">=1", "1.0.0.0", "ERR Invalid Semantic Version"),
            (">=1", "1.01.0", "true"),
            (">=1", "1.0.0-01", "ERR Version segment starts with 0"),
            (
                ">=1",
                "99999999999999999999.0.0",
                r#"ERR Error parsing version segment: strconv.ParseUint: parsing "99999999999999999999": value out of range"#,
            ),
        ];
        for (c, v, want) in cases {
            assert_eq!(cmp(c, v), want, "semverCompare {c:?} {v:?}");
        }
    }

    #[test]
    fn semver_exposes_the_parts() {
        let v = semver(&[Value::from("v1.2-rc.1+b5")]).unwrap_or_default();
        let mut out = String::new();
        crate::fmt::write_value(&mut out, &v);
        assert_eq!(
            out,
            "map[Major:1 Metadata:b5 Minor:2 Original:v1.2-rc.1+b5 Patch:0 Prerelease:rc.1 String:1.2.0-rc.1+b5]"
        );
    }
}

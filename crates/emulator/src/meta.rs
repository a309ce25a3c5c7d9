//! Object metadata rules: name formats, uids, timestamps, generateName.

use crate::error::Cause;
use crate::resources::NameRule;
use serde_json::Value;

/// RFC 3339 with second precision, as `metav1.Time` serializes.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A random version-4 UUID.
pub fn uid() -> String {
    let a = fastrand::u128(..);
    let b = (a & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The 5-character suffix the real server appends to `generateName`.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

fn is_label(s: &str, first_alpha: bool) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
        && (!first_alpha || bytes[0].is_ascii_lowercase())
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// Checks a name against its kind's rule; the error reads like the real one.
pub fn check_name(name: &str, rule: NameRule) -> Option<Cause> {
    let bad = |msg: &str| {
        Some(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: \"{name}\": {msg}"),
        ))
    };
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                return bad("must be no more than 253 characters");
            }
            if !name.split('.').all(|l| is_label(l, false)) {
                return bad(SUBDOMAIN_MSG);
            }
        }
        NameRule::Label => {
            if !is_label(name, false) {
                return bad(LABEL_MSG);
            }
        }
        NameRule::Label1035 => {
            if !is_label(name, true) {
                return bad(LABEL1035_MSG);
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                return bad("may not be '.' or '..'");
            }
            if name.contains('/') || name.contains('%') {
                return bad("may not contain '/' or '%'");
            }
        }
    }
    None
}

/// Label keys and values, checked loosely (prefix/name split, 63-char names).
pub fn check_labels(labels: &serde_json::Map<String, serde_json::Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    for (k, v) in labels {
        let name = k.rsplit('/').next().unwrap_or(k);
        let name_ok = !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !name_ok {
            out.push(Cause::new(
                "FieldValueInvalid",
                "metadata.labels",
                format!("Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
            ));
        }
        let val = v.as_str().unwrap_or("");
        let val_ok = val.len() <= 63
            && val
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && (val.is_empty()
                || (val.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && val.ends_with(|c: char| c.is_ascii_alphanumeric())));
        if !val_ok || !v.is_string() {
            out.push(Cause::new(
                "FieldValueInvalid",
                "metadata.labels",
                format!("Invalid value: \"{val}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
            ));
        }
    }
    out
}

/// The strings of a JSON array (other items and a missing array give none).
pub fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `apiVersion` of `PartialObjectMetadata` and its list.
pub const META_API_VERSION: &str = "meta.k8s.io/v1";

/// `obj` as a metadata-only request serves it: a `PartialObjectMetadata`
/// with the object's `metadata` and nothing else.
pub fn partial_metadata(obj: &Value) -> Value {
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": META_API_VERSION,
        "metadata": obj.get("metadata").cloned().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("a-b.c", NameRule::Subdomain).is_none());
        assert!(check_name("A", NameRule::Subdomain).is_some());
        assert!(check_name("a.b", NameRule::Label).is_some());
        assert!(check_name("1ab", NameRule::Label1035).is_some());
        assert!(check_name("system:view", NameRule::PathSegment).is_none());
        assert!(check_name("-a", NameRule::Subdomain).is_some());
    }

    #[test]
    fn uid_shape() {
        let u = uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}

//! The edge's error type. Its `Display` text becomes a user-facing
//! condition message, so it names the object (`ConfigMap app/x`) and the API
//! server's reason (`Forbidden`, `Conflict`, `Invalid`), and never repeats a
//! value the server echoed back (that value may come from a Secret).

use std::fmt;
use std::time::Duration;

use crate::object::ObjectRef;

/// What the edge was doing when a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create (apparatus Pods and Services).
    Create,
    /// Delete.
    Delete,
    /// Read.
    Get,
    /// Write an Event about the object.
    RecordEvent,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Apply => "apply",
            Operation::Create => "create",
            Operation::Delete => "delete",
            Operation::Get => "get",
            Operation::RecordEvent => "record an Event about",
        })
    }
}

/// Everything a call to the API server can end in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API server answered with an error `Status`.
    #[error("{operation} {object}: {reason}: {message}")]
    Api {
        /// What was attempted.
        operation: Operation,
        /// The object it was about (boxed to keep `Error` small).
        object: Box<ObjectRef>,
        /// `Forbidden`, `Conflict`, `Invalid`, … (the HTTP code when the
        /// server gave no reason).
        reason: String,
        /// HTTP status code.
        code: u16,
        /// The server's message, with echoed field values hidden.
        message: String,
    },

    /// The API server could not be reached, or its answer was not understood.
    #[error("{operation} {object}: {source}")]
    Transport {
        /// What was attempted.
        operation: Operation,
        /// The object it was about (boxed to keep `Error` small).
        object: Box<ObjectRef>,
        /// The client's error.
        #[source]
        source: kube::Error,
    },

    /// Discovery does not list the kind, even after a refresh.
    #[error("kind {kind} is not served in {api_version}")]
    UnknownKind {
        /// The object's `apiVersion`.
        api_version: String,
        /// The object's `kind`.
        kind: String,
    },

    /// Discovery itself failed.
    #[error("discovery of {api_version}: {source}")]
    Discovery {
        /// The group/version being looked up.
        api_version: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },

    /// A manifest lacks a field needed to address it.
    #[error("rendered object has no {field}")]
    Incomplete {
        /// `apiVersion`, `kind`, `metadata.name` or `metadata.namespace`.
        field: &'static str,
    },

    /// `recreate` deleted the object, but it was still there at the deadline
    /// (a finalizer holds it).
    #[error("delete {object}: still present after {timeout:?}")]
    DeletionTimeout {
        /// The object (boxed to keep `Error` small).
        object: Box<ObjectRef>,
        /// How long the edge waited.
        timeout: Duration,
    },

    /// A namespace or service account name cannot be sent as an
    /// `Impersonate-User` header.
    #[error("cannot impersonate service account {namespace}/{name}: invalid name")]
    ServiceAccountName {
        /// The namespace.
        namespace: String,
        /// The service account name.
        name: String,
    },
}

/// The edge's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error of `operation` on `object` from a kube client error.
    pub fn from_kube(operation: Operation, object: &ObjectRef, err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => Error::Api {
                operation,
                object: Box::new(object.clone()),
                reason: if status.reason.is_empty() {
                    format!("HTTP {}", status.code)
                } else {
                    status.reason.clone()
                },
                code: status.code,
                message: hide_values(&status.message),
            },
            source => Error::Transport {
                operation,
                object: Box::new(object.clone()),
                source,
            },
        }
    }

    /// The API server's reason, for errors that have one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Error::Api { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The HTTP code, for API errors.
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// 403: the identity lacks RBAC (retrying will not help until it gets it).
    pub fn is_forbidden(&self) -> bool {
        self.code() == Some(403)
    }

    /// 409: a field-manager conflict or a stale write.
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409)
    }

    /// 409 from server-side apply: another field manager owns a field the
    /// manifest sets. Unlike a stale write, retrying does not fix it.
    pub fn is_field_conflict(&self) -> bool {
        matches!(
            self,
            Error::Api {
                operation: Operation::Apply,
                code: 409,
                ..
            }
        )
    }

    /// 404.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }
}

/// Field errors (`spec.x: Invalid value: "hunter2": must be …`) quote the
/// offending value. Rendered values may come from Secrets, so the value is
/// replaced; the field path and the rule stay, which is what users act on.
fn hide_values(message: &str) -> String {
    const MARKERS: [&str; 3] = [
        "Invalid value: ",
        "Unsupported value: ",
        "Duplicate value: ",
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some((at, marker)) = MARKERS
        .iter()
        .filter_map(|m| rest.find(m).map(|at| (at, *m)))
        .min_by_key(|(at, _)| *at)
    {
        let value_start = at + marker.len();
        out.push_str(&rest[..value_start]);
        out.push_str("[hidden]");
        rest = &rest[value_start + value_len(&rest[value_start..])..];
    }
    out.push_str(rest);
    out
}

/// Length of the value at the start of `s`: a Go-quoted string, or
/// everything up to the next `: ` (numbers, `map[…]`, …) or the end.
fn value_len(s: &str) -> usize {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return i + 2,
                _ => {}
            }
        }
        return s.len();
    }
    s.find(": ").unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_quoted_and_bare_values() {
        let msg = r#"ConfigMap "x" is invalid: [metadata.labels: Invalid value: "s3cr\"et": must be no more than 63 characters, spec.port: Invalid value: 70000: must be between 1 and 65535]"#;
        assert_eq!(
            hide_values(msg),
            r#"ConfigMap "x" is invalid: [metadata.labels: Invalid value: [hidden]: must be no more than 63 characters, spec.port: Invalid value: [hidden]: must be between 1 and 65535]"#
        );
    }

    #[test]
    fn keeps_messages_without_values() {
        let msg = "Apply failed with 1 conflict: conflict with \"kubectl\": .data.url";
        assert_eq!(hide_values(msg), msg);
        assert_eq!(
            hide_values("x: Unsupported value: \"a"),
            "x: Unsupported value: [hidden]"
        );
    }

    #[test]
    fn api_errors_name_the_object_and_reason() {
        let status = kube::core::Status::failure("configmaps \"x\" is forbidden", "Forbidden")
            .with_code(403);
        let object = ObjectRef::new("v1", "ConfigMap", Some("app"), "x");
        let err = Error::from_kube(Operation::Apply, &object, kube::Error::Api(status.boxed()));
        assert_eq!(
            err.to_string(),
            "apply ConfigMap app/x: Forbidden: configmaps \"x\" is forbidden"
        );
        assert!(err.is_forbidden());
    }
}

//! The engine's error type. Its `Display` text is what the operator writes
//! into the `Failed` condition, so every message is phrased for the user who
//! wrote the Plug or Socket, and none ever contains a config, result or
//! Secret value.

use std::fmt;

use crate::interface::Missing;
use crate::side::Side;
use crate::sources::{ObjectKey, VarTarget};
use crate::warning::Warning;

/// Which key/value map of a side an interface check or a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The config map (`interface.config`).
    Config,
    /// The result map (`interface.result`).
    Result,
}

impl Stage {
    /// `config` or `result`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Config => "config",
            Stage::Result => "result",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can stop a resolution or a render.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Required interface properties are missing or empty. Every missing key
    /// is listed, sorted, as `plug config property 'database' is required`
    /// (absent) or `... is empty` (present, empty), joined with `; `.
    #[error("{}", required_message(*.side, *.stage, .keys))]
    Required {
        /// The side whose map is incomplete.
        side: Side,
        /// Config or result.
        stage: Stage,
        /// The missing keys, sorted.
        keys: Vec<Missing>,
    },

    /// A var points outside its owner's namespace (docs/config.md, "Vars").
    #[error("var objRef namespace {namespace} must be {owner_namespace}")]
    VarNamespace {
        /// The namespace the var asked for.
        namespace: String,
        /// The owner's namespace, the only one allowed.
        owner_namespace: String,
    },

    /// A var's objref lacks a field needed to find the object.
    #[error("{side} var '{var}': objref has no {field}")]
    VarIncomplete {
        /// The side declaring the var.
        side: Side,
        /// The var's name.
        var: String,
        /// `apiVersion`, `kind` or `name`.
        field: &'static str,
    },

    /// A var's target object was not among the fetched objects.
    #[error("{side} var '{var}': {target} not found")]
    VarTargetNotFound {
        /// The side declaring the var.
        side: Side,
        /// The var's name.
        var: String,
        /// The object it reads (boxed to keep `Error` small).
        target: Box<VarTarget>,
    },

    /// A ConfigMap named by a spec was not found.
    #[error("configmap {0} not found")]
    ConfigMapNotFound(ObjectKey),

    /// A Secret named by a spec was not found.
    #[error("secret {0} not found")]
    SecretNotFound(ObjectKey),

    /// The side has an apparatus but the caller passed no `/config` response.
    #[error("{0} apparatus config response is missing")]
    ApparatusResponseMissing(Side),

    /// The apparatus `/config` response is not a JSON object.
    #[error("{0} apparatus config response must be a JSON object")]
    ApparatusResponseNotObject(Side),

    /// A template failed to parse or execute (the text names the template,
    /// line and column).
    #[error(transparent)]
    Template(#[from] gotemplate::Error),

    /// A template read a key that does not exist, so Go printed
    /// `<no value>` (docs/templates.md, "Missing values").
    #[error(
        "template {template} rendered <no value> at {key}: it reads a value that does not exist"
    )]
    NoValue {
        /// The template's name, e.g. `plug.configTemplate.user`.
        template: String,
        /// Where the text landed: a config/result key or a path in the
        /// rendered resource.
        key: String,
    },

    /// A template printed `<no value>` and its owner has the strict
    /// annotation (docs/compatibility.md, "Warnings and strict mode").
    #[error("{0}; {STRICT_ANNOTATION} is \"true\", so this is an error", STRICT_ANNOTATION = integration_api::STRICT_ANNOTATION)]
    Strict(Warning),

    /// The rendered text of a stringTemplate is not YAML. Only the position
    /// is reported: the parser's message could quote a secret value.
    #[error("template {template}: rendered text is not valid YAML{}", position(*.line, *.column))]
    Yaml {
        /// The template's name.
        template: String,
        /// 1-based line in the rendered text, when known.
        line: Option<u64>,
        /// 1-based column in the rendered text, when known.
        column: Option<u64>,
    },

    /// A rendered document is a scalar or a list instead of an object.
    #[error("template {template}: rendered document {document} is not an object")]
    NotAnObject {
        /// The template's name.
        template: String,
        /// 0-based index of the document in the rendered text.
        document: usize,
    },

    /// A rendered resource lacks `apiVersion`, `kind` or `metadata.name`.
    #[error("template {template}: rendered resource has no {field}")]
    IncompleteResource {
        /// The template's name.
        template: String,
        /// The missing field.
        field: &'static str,
    },

    /// Two keys of a structured template render to the same text.
    #[error("template {template}: key {key} appears twice after rendering")]
    DuplicateKey {
        /// The template's name.
        template: String,
        /// Path of the duplicated key.
        key: String,
    },

    /// A value from the other side of the coupling would change the
    /// structure of a rendered stringTemplate instead of landing as one
    /// scalar (docs/templates.md, "No injection").
    #[error(
        "template {template}: the value of {} would change the structure of the rendered resource; \
         render it with `| quote` or `| toJson`, or use a structured template",
        .values.join(", ")
    )]
    Injection {
        /// The template's name.
        template: String,
        /// Where the offending values come from, e.g. `plugConfig.database`.
        values: Vec<String>,
    },

    /// A rendered resource is outside its owner's namespace
    /// (docs/templates.md, "Objects").
    #[error("resource namespace {namespace} must be {owner_namespace}")]
    ResourceNamespace {
        /// The namespace the resource asked for.
        namespace: String,
        /// The owner's namespace, the only one allowed.
        owner_namespace: String,
    },

    /// A Plug or Socket could not be turned into JSON template data.
    #[error("cannot serialize {side}: {source}")]
    Serialize {
        /// The side that failed.
        side: Side,
        /// The serializer's error.
        source: serde_json::Error,
    },
}

impl Error {
    /// Whether this is a missing required *result* key: the "delayed
    /// result" case (docs/lifecycle.md, "Result phase"), retried without
    /// running the coupled hooks again.
    pub fn is_missing_result(&self) -> bool {
        matches!(
            self,
            Error::Required {
                stage: Stage::Result,
                ..
            }
        )
    }

    /// The side whose template failed, for the errors a template makes:
    /// it does not parse or execute, reads a missing value, or renders
    /// something that is not a resource (not YAML, not an object, no
    /// `kind`, a duplicate key, an injected value). `None` for every other
    /// error. The engine names each template after its side
    /// (`plug.configTemplate.user`, `socket.resources[0]`), so the side is
    /// the name's first segment.
    pub fn template_side(&self) -> Option<Side> {
        let name = match self {
            Error::Template(e) => e.name.as_str(),
            Error::NoValue { template, .. }
            | Error::Yaml { template, .. }
            | Error::NotAnObject { template, .. }
            | Error::IncompleteResource { template, .. }
            | Error::DuplicateKey { template, .. }
            | Error::Injection { template, .. }
            | Error::Strict(Warning::NoValue { template, .. }) => template.as_str(),
            _ => return None,
        };
        match name.split('.').next() {
            Some("plug") => Some(Side::Plug),
            Some("socket") => Some(Side::Socket),
            _ => None,
        }
    }
}

fn required_message(side: Side, stage: Stage, keys: &[Missing]) -> String {
    keys.iter()
        .map(|m| {
            let what = if m.empty { "is empty" } else { "is required" };
            format!("{side} {stage} property '{}' {what}", m.key)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn position(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_errors_name_their_side() {
        let no_value = |template: &str| Error::NoValue {
            template: template.into(),
            key: "x".into(),
        };
        assert_eq!(
            no_value("plug.configTemplate.user").template_side(),
            Some(Side::Plug)
        );
        assert_eq!(
            no_value("socket.resources[0]").template_side(),
            Some(Side::Socket)
        );
        assert_eq!(no_value("other").template_side(), None);
        let parse = gotemplate::Template::parse("socket.resultTemplate.url", "{% if %}")
            .map(drop)
            .map_err(Error::from);
        assert_eq!(
            parse.err().and_then(|e| e.template_side()),
            Some(Side::Socket)
        );
        let required = Error::Required {
            side: Side::Plug,
            stage: Stage::Config,
            keys: vec![Missing {
                key: "k".into(),
                empty: false,
            }],
        };
        assert_eq!(required.template_side(), None);
    }
}

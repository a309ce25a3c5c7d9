//! One side's object as the engine sees it: identity, spec, and the JSON
//! form templates read (`.plug.metadata.name`).

use integration_api::{CommonSpec, Plug, Socket};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::side::Side;
use crate::warning::{Notes, Warnings};

/// A Plug or a Socket, with its JSON form computed once.
#[derive(Clone, Debug)]
pub struct Owner<'a> {
    side: Side,
    name: &'a str,
    namespace: &'a str,
    uid: &'a str,
    spec: &'a CommonSpec,
    json: Value,
    strict: bool,
    warnings: Warnings,
}

impl<'a> Owner<'a> {
    /// The plug side.
    pub fn plug(plug: &'a Plug) -> Result<Self> {
        Self::new(Side::Plug, &plug.metadata, &plug.spec.common, plug)
    }

    /// The socket side.
    pub fn socket(socket: &'a Socket) -> Result<Self> {
        Self::new(Side::Socket, &socket.metadata, &socket.spec.common, socket)
    }

    fn new(
        side: Side,
        meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
        spec: &'a CommonSpec,
        object: &impl serde::Serialize,
    ) -> Result<Self> {
        let json =
            serde_json::to_value(object).map_err(|source| Error::Serialize { side, source })?;
        Ok(Owner {
            side,
            name: meta.name.as_deref().unwrap_or_default(),
            namespace: meta.namespace.as_deref().unwrap_or_default(),
            uid: meta.uid.as_deref().unwrap_or_default(),
            spec,
            json,
            strict: meta
                .annotations
                .as_ref()
                .is_some_and(integration_api::strict),
            warnings: Warnings::default(),
        })
    }

    /// Which side this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// `metadata.name`.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// `metadata.namespace`: where its resources, vars and ConfigMaps live.
    pub fn namespace(&self) -> &'a str {
        self.namespace
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &'a str {
        self.uid
    }

    /// The fields Plug and Socket share.
    pub fn spec(&self) -> &'a CommonSpec {
        self.spec
    }

    /// The object as JSON template data.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Whether the object has the strict annotation: its compatibility
    /// warnings are errors.
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// The compatibility warnings of this object's templates and maps so
    /// far (docs/compatibility.md, "Warnings and strict mode"). Clones of
    /// the owner share them.
    pub fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    /// Notes for a render of this owner's templates, with no dropped keys
    /// to explain.
    pub(crate) fn notes(&self) -> Notes {
        Notes {
            sink: self.warnings.clone(),
            strict: self.strict,
            dropped: Default::default(),
        }
    }
}

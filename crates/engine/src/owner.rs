//! One side's object as the engine sees it: identity, spec, and the JSON
//! form templates read (`.plug.metadata.name`).

use integration_api::{CommonSpec, Plug, Socket};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::side::Side;

/// A Plug or a Socket, with its JSON form computed once.
#[derive(Clone, Debug)]
pub struct Owner<'a> {
    side: Side,
    name: &'a str,
    namespace: &'a str,
    uid: &'a str,
    spec: &'a CommonSpec,
    json: Value,
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
}

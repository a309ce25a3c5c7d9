//! A plug as the socket side reads it: its identity, the socket it names
//! and the one it is coupled to.
//!
//! Socket passes and their triggers read nothing else of a plug, yet hold
//! every plug in the cluster. Deserialized as a [`PlugLink`], a plug costs
//! a few hundred bytes instead of a full [`Plug`] (well over a kilobyte
//! before its templates, config and status): the rest of the JSON is
//! skipped while it is read.

use std::borrow::Cow;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::Deserialize;

use crate::common::{CoupledRef, NamespacedName};
use crate::plug::Plug;

/// What socket passes read of a plug, whether from a [`Plug`], a
/// [`PlugLink`] or the socket controller's own record of it.
pub trait Linked {
    /// The plug's uid.
    fn plug_uid(&self) -> Option<&str>;
    /// The socket's namespace and name, the namespace defaulting to the
    /// plug's own. `None` when `spec.socket` is unset.
    fn socket_key(&self) -> Option<(String, String)>;
    /// The socket recorded in `status.coupledSocket`.
    fn coupled_socket(&self) -> Option<&CoupledRef>;
}

/// A Plug read for its links only (the same API object as [`Plug`]).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct PlugLink {
    /// The plug's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `spec.socket` only.
    #[serde(default)]
    pub spec: PlugLinkSpec,
    /// `status.coupledSocket` only.
    #[serde(default)]
    pub status: Option<PlugLinkStatus>,
}

/// The part of a plug's spec a [`PlugLink`] keeps.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct PlugLinkSpec {
    /// The socket the plug couples to.
    #[serde(default)]
    pub socket: Option<NamespacedName>,
}

/// The part of a plug's status a [`PlugLink`] keeps.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlugLinkStatus {
    /// The socket the plug is coupled to.
    #[serde(default)]
    pub coupled_socket: Option<CoupledRef>,
}

impl Resource for PlugLink {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        Plug::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        Plug::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        Plug::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        Plug::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The socket key of a plug in `namespace` whose `spec.socket` is `socket`.
pub(crate) fn key(
    socket: Option<&NamespacedName>,
    namespace: Option<&str>,
) -> Option<(String, String)> {
    let socket = socket?;
    let own = namespace.unwrap_or_default();
    Some((socket.namespace_or(own).to_string(), socket.name.clone()))
}

impl Linked for PlugLink {
    fn plug_uid(&self) -> Option<&str> {
        self.metadata.uid.as_deref()
    }
    fn socket_key(&self) -> Option<(String, String)> {
        key(
            self.spec.socket.as_ref(),
            self.metadata.namespace.as_deref(),
        )
    }
    fn coupled_socket(&self) -> Option<&CoupledRef> {
        self.status.as_ref()?.coupled_socket.as_ref()
    }
}

impl Linked for Plug {
    fn plug_uid(&self) -> Option<&str> {
        self.metadata.uid.as_deref()
    }
    fn socket_key(&self) -> Option<(String, String)> {
        Plug::socket_key(self)
    }
    fn coupled_socket(&self) -> Option<&CoupledRef> {
        self.status.as_ref()?.coupled_socket.as_ref()
    }
}

impl From<&Plug> for PlugLink {
    fn from(plug: &Plug) -> Self {
        PlugLink {
            metadata: plug.metadata.clone(),
            spec: PlugLinkSpec {
                socket: plug.spec.socket.clone(),
            },
            status: plug.status.as_ref().map(|s| PlugLinkStatus {
                coupled_socket: s.coupled_socket.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plug_read_as_a_link_keeps_only_its_links() {
        let plug = json!({
            "apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
            "metadata": {"name": "p", "namespace": "app", "uid": "u1"},
            "spec": {"socket": {"name": "s"}, "config": {"a": "b"},
                "resources": [{"stringTemplate": "kind: ConfigMap"}]},
            "status": {"coupledSocket": {"apiVersion": "integration.rock8s.com/v1beta1",
                "kind": "Socket", "name": "s", "namespace": "app", "uid": "su"},
                "conditions": []}
        });
        let link: PlugLink = serde_json::from_value(plug.clone()).unwrap();
        let full: Plug = serde_json::from_value(plug).unwrap();
        assert_eq!(link.socket_key(), Some(("app".into(), "s".into())));
        assert_eq!(link.socket_key(), Linked::socket_key(&full));
        assert_eq!(link.coupled_socket().map(|c| c.uid.as_str()), Some("su"));
        assert_eq!(PlugLink::from(&full), link);
        assert_eq!(
            PlugLink::url_path(&(), Some("app")),
            Plug::url_path(&(), Some("app"))
        );
        assert!(std::mem::size_of::<PlugLink>() * 3 < std::mem::size_of::<Plug>() * 2);
    }
}

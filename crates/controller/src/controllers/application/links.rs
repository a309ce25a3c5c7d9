//! Links between applications, made of Sockets and Plugs so that consent
//! (the socket's namespace rules), limits, Events and `render` are those of
//! any coupling (docs/application.md, "Links across namespaces").
//!
//! A component's `provides` entry becomes a Socket offering its Service's
//! host and port; a `requires` entry becomes a Plug pointing at another
//! application's Socket and, once the Plug is coupled, an ExternalName
//! Service named after its alias and two variables. Until then the
//! consumer gets nothing but the Plug: a refused link creates nothing else
//! in the consumer's namespace.

use integration_api::{
    API_VERSION, LinkState, Plug, Provide, Require, Socket, condition::reason as plug_reason,
};
use serde_json::{Value, json};

use super::children::{Part, Place, env_name, labels, service_host};
use super::typed;
use crate::ObjectRef;
use crate::status::find;
use kube_declarative::Snapshot;

/// The label naming what a provided Socket speaks (`http`, `postgres`).
pub const INTERFACE: &str = "integration.rock8s.com/interface";

/// A link's states, as `status.links[].state` shows them.
pub mod state {
    /// The Plug is coupled: the Service and variables exist.
    pub const COUPLED: &str = "Coupled";
    /// Not coupled yet (no socket, a coupling in progress, an error).
    pub const PENDING: &str = "Pending";
    /// The socket's namespace rules refuse the consumer.
    pub const NOT_ALLOWED: &str = "NotAllowed";
}

/// The Socket a `provides` entry becomes.
pub fn socket(place: &Place<'_>, part: &Part<'_>, provide: &Provide) -> Value {
    let port = part
        .ports()
        .iter()
        .find(|p| p.name == provide.port)
        .map_or(0, |p| p.port);
    let mut socket_labels = labels(place, part);
    if let Some(interface) = &provide.interface {
        socket_labels.insert(INTERFACE.into(), interface.clone());
    }
    let mut validation = serde_json::Map::new();
    match &provide.access {
        None => {
            validation.insert(
                "namespaceWhitelist".into(),
                json!([format!("^{}$", regex_escape(place.namespace))]),
            );
        }
        Some(access) => {
            if let Some(namespaces) = &access.namespaces {
                validation.insert("namespaceWhitelist".into(), json!(namespaces));
            }
            if let Some(selector) = &access.namespace_selector {
                validation.insert("namespaceSelector".into(), json!(selector));
            }
        }
    }
    let mut socket = json!({
        "apiVersion": API_VERSION, "kind": "Socket",
        "metadata": {
            "name": link_name(place, part, &provide.name),
            "namespace": place.namespace,
            "labels": socket_labels,
        },
        "spec": {
            "interface": {"config": {"socket": {
                "host": {"required": true, "description": "The Service's DNS name"},
                "port": {"required": true, "description": "The Service port"},
            }}},
            "config": {"host": service_host(place, part.name), "port": port.to_string()},
            "validation": validation,
        },
    });
    if let Some(limit) = provide.limit {
        socket["spec"]["limit"] = json!(limit);
    }
    socket
}

/// The Plug a `requires` entry becomes.
pub fn plug(place: &Place<'_>, part: &Part<'_>, require: &Require) -> Value {
    json!({
        "apiVersion": API_VERSION, "kind": "Plug",
        "metadata": {
            "name": link_name(place, part, &require.name),
            "namespace": place.namespace,
            "labels": labels(place, part),
        },
        "spec": {"socket": {"name": require.socket.name, "namespace": socket_namespace(place, require)}},
    })
}

/// `<application>-<component>-<entry>`: the name of a link's Plug or Socket.
pub fn link_name(place: &Place<'_>, part: &Part<'_>, entry: &str) -> String {
    format!("{}-{}-{entry}", place.application, part.name)
}

/// The namespace of the Socket a `requires` entry names.
pub fn socket_namespace<'a>(place: &Place<'a>, require: &'a Require) -> &'a str {
    require.socket.namespace_or(place.namespace)
}

/// What a `requires` entry gives the component now: its state, and once
/// coupled the ExternalName Service and the variables.
pub struct Link {
    /// Its state, for `status.links`.
    pub state: LinkState,
    /// The children: the Plug, and the Service once coupled.
    pub children: Vec<Value>,
    /// `<ALIAS>_SERVICE_HOST` and `<ALIAS>_SERVICE_PORT` once coupled.
    pub env: Vec<(String, String)>,
}

/// The link of `require`, from the Plug's status and the Socket's config
/// as the snapshot holds them.
pub fn link<P>(
    snapshot: &Snapshot<P>,
    place: &Place<'_>,
    part: &Part<'_>,
    require: &Require,
) -> Link {
    let plug_object = plug(place, part, require);
    let plug_id = format!(
        "{}/{}",
        place.namespace,
        link_name(place, part, &require.name)
    );
    let socket_ns = socket_namespace(place, require);
    let to = format!("{socket_ns}/{}", require.socket.name);
    let live: Option<Plug> = ObjectRef::of(&plug_object)
        .ok()
        .and_then(|id| snapshot.child(&id))
        .and_then(typed);
    let socket: Option<Socket> = snapshot
        .related_of("Socket")
        .find(|s| {
            s.metadata.namespace.as_deref() == Some(socket_ns)
                && s.metadata.name.as_deref() == Some(require.socket.name.as_str())
        })
        .and_then(typed);
    let (state, message, target) = judge(live.as_ref(), socket.as_ref(), &plug_id, &to);
    let mut link = Link {
        state: LinkState {
            from: part.name.to_string(),
            to,
            plug: plug_id,
            state: state.into(),
            message,
        },
        children: vec![plug_object],
        env: Vec::new(),
    };
    if let Some((host, port)) = target {
        let alias = require.alias();
        link.children.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": alias, "namespace": place.namespace, "labels": labels(place, part)},
            "spec": {"type": "ExternalName", "externalName": host},
        }));
        let prefix = env_name(alias);
        link.env = vec![
            (format!("{prefix}_SERVICE_HOST"), host),
            (format!("{prefix}_SERVICE_PORT"), port),
        ];
    }
    link
}

/// A link's state and message, and what it reaches once coupled: the
/// socket's `host` and `port` config.
fn judge(
    plug: Option<&Plug>,
    socket: Option<&Socket>,
    plug_id: &str,
    to: &str,
) -> (&'static str, Option<String>, Option<(String, String)>) {
    let pending = |message: String| (state::PENDING, Some(message), None);
    let Some(plug) = plug else {
        return pending(format!("Plug {plug_id} is not created yet"));
    };
    let conditions = plug.status.as_ref().and_then(|s| s.conditions.as_ref());
    let condition = |type_: &str| find(conditions, type_);
    if let Some(refused) = condition(integration_api::condition::FAILED)
        .filter(|c| c.reason == plug_reason::NAMESPACE_NOT_ALLOWED)
    {
        return (
            state::NOT_ALLOWED,
            Some(format!(
                "Plug {plug_id} is not allowed by Socket {to}: {}",
                refused.message
            )),
            None,
        );
    }
    let coupled = condition(integration_api::condition::COUPLED).filter(|c| c.status == "True");
    if coupled.is_none() {
        let why = condition(integration_api::condition::FAILED)
            .or_else(|| condition(integration_api::condition::COUPLED))
            .map(|c| c.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "not coupled yet".into());
        return pending(format!("Plug {plug_id}: {why}"));
    }
    let config = socket.and_then(|s| s.spec.common.config.as_ref());
    let value = |key: &str| config.and_then(|c| c.get(key)).filter(|v| !v.is_empty());
    match (value("host"), value("port")) {
        (Some(host), Some(port)) => (state::COUPLED, None, Some((host.clone(), port.clone()))),
        _ => pending(format!(
            "Socket {to} gives no host and port in spec.config (a Socket made by an Application's provides does)"
        )),
    }
}

/// The namespaces of the plugs coupled to the Socket of `provide`, as the
/// Socket's status lists them: the consumers its policy admits.
pub fn consumers<P>(
    snapshot: &Snapshot<P>,
    place: &Place<'_>,
    part: &Part<'_>,
    provide: &Provide,
) -> Vec<String> {
    let id = ObjectRef::of(&socket(place, part, provide)).ok();
    let live: Option<Socket> = id.and_then(|id| snapshot.child(&id)).and_then(typed);
    let mut namespaces: Vec<String> = live
        .and_then(|s| s.status)
        .and_then(|s| s.coupled_plugs)
        .into_iter()
        .flatten()
        .map(|p| p.namespace)
        .collect();
    namespaces.sort();
    namespaces.dedup();
    namespaces
}

/// A regular expression matching `text` literally.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use integration_api::Workload;
    use jiff::Timestamp;
    use kube::api::DynamicObject;
    use std::sync::Arc;

    fn place(namespace: &'static str, application: &'static str) -> Place<'static> {
        Place {
            namespace,
            application,
            cluster_domain: "cluster.local",
            monitoring: false,
            network_policy: super::super::children::PolicyMode::Off,
            scrape_namespace: None,
        }
    }

    fn workload(v: Value) -> Workload {
        serde_json::from_value(v).unwrap()
    }

    fn dynamic(v: Value) -> Arc<DynamicObject> {
        Arc::new(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn provides_becomes_a_socket_with_host_port_and_consent() {
        let w = workload(
            json!({"image": "x", "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            "provides": [{"name": "api", "port": "http", "interface": "http", "access": {"namespaces": ["^shop$"]}, "limit": 2},
                         {"name": "own", "port": "http"}]}),
        );
        let part = Part {
            name: "api",
            workload: &w,
        };
        let provides = w.provides.as_ref().unwrap();
        let s = socket(&place("billing", "billing"), &part, &provides[0]);
        assert_eq!(s["metadata"]["name"], "billing-api-api");
        assert_eq!(s["metadata"]["labels"][INTERFACE], "http");
        assert_eq!(s["spec"]["limit"], 2);
        assert_eq!(
            s["spec"]["config"],
            json!({"host": "api.billing.svc.cluster.local", "port": "80"})
        );
        assert_eq!(
            s["spec"]["validation"],
            json!({"namespaceWhitelist": ["^shop$"]})
        );
        let own = socket(&place("a.b", "billing"), &part, &provides[1]);
        assert_eq!(
            own["spec"]["validation"],
            json!({"namespaceWhitelist": ["^a\\.b$"]}),
            "no access: the application's own namespace only"
        );
    }

    fn plug_with(conditions: Value) -> Arc<DynamicObject> {
        dynamic(json!({"apiVersion": API_VERSION, "kind": "Plug",
            "metadata": {"name": "shop-web-billing", "namespace": "shop", "uid": "p"},
            "spec": {"socket": {"name": "billing-api-api", "namespace": "billing"}},
            "status": {"conditions": conditions}}))
    }

    fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
               "lastTransitionTime": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn a_link_gives_its_service_and_variables_only_once_coupled() {
        let w = workload(json!({"image": "x",
            "requires": [{"name": "billing", "socket": {"name": "billing-api-api", "namespace": "billing"}}]}));
        let part = Part {
            name: "web",
            workload: &w,
        };
        let require = &w.requires.as_ref().unwrap()[0];
        let at = place("shop", "shop");
        let app = json!({"metadata": {"name": "shop", "namespace": "shop"}});
        let socket_object = dynamic(json!({"apiVersion": API_VERSION, "kind": "Socket",
            "metadata": {"name": "billing-api-api", "namespace": "billing"},
            "spec": {"config": {"host": "api.billing.svc.cluster.local", "port": "80"}}}));

        let mut snap = Snapshot::new(app, Timestamp::UNIX_EPOCH);
        let none = link(&snap, &at, &part, require);
        assert_eq!(none.state.state, state::PENDING);
        assert_eq!(none.children.len(), 1, "the plug alone");
        assert_eq!(none.children[0]["spec"]["socket"]["namespace"], "billing");
        assert!(none.env.is_empty());

        snap.related = vec![socket_object];
        snap.children = vec![plug_with(json!([
            condition("Coupled", "False", "Error", "coupling failed"),
            condition(
                "Failed",
                "True",
                plug_reason::NAMESPACE_NOT_ALLOWED,
                "namespace shop is not whitelisted"
            ),
        ]))];
        let refused = link(&snap, &at, &part, require);
        assert_eq!(refused.state.state, state::NOT_ALLOWED);
        assert_eq!(
            refused.state.message.as_deref(),
            Some(
                "Plug shop/shop-web-billing is not allowed by Socket billing/billing-api-api: namespace shop is not whitelisted"
            )
        );
        assert_eq!(refused.children.len(), 1, "nothing but the plug");

        snap.children = vec![plug_with(json!([condition(
            "Coupled",
            "True",
            "CouplingSucceeded",
            "coupling succeeded"
        )]))];
        let coupled = link(&snap, &at, &part, require);
        assert_eq!(coupled.state.state, state::COUPLED);
        assert_eq!(
            coupled.children[1]["spec"],
            json!({"type": "ExternalName", "externalName": "api.billing.svc.cluster.local"})
        );
        assert_eq!(coupled.children[1]["metadata"]["name"], "billing");
        assert_eq!(
            coupled.env,
            [
                (
                    "BILLING_SERVICE_HOST".to_string(),
                    "api.billing.svc.cluster.local".to_string()
                ),
                ("BILLING_SERVICE_PORT".to_string(), "80".to_string())
            ]
        );
    }
}

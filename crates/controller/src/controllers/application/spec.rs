//! Checking an Application's or Component's spec before anything is
//! applied: every error names the field (`spec.components[1].kind`), and
//! a spec with one is applied not at all (`Failed/InvalidSpec`).

use std::collections::{BTreeMap, BTreeSet};

use integration_api::{ApplicationSpec, Workload};

use super::children::{Part, Place, connection_env};

/// Why a spec cannot be applied: the field, and what is wrong with it.
pub type Invalid = String;

/// Checks the fields of one component at `path` (`spec.components[0]`,
/// or `spec` for a Component resource).
pub fn check_workload(path: &str, name: &str, w: &Workload) -> Result<(), Invalid> {
    let at = |field: &str| format!("{path}.{field}");
    if !is_dns_label(name, 63) {
        return Err(format!(
            "{}: {name:?} is not a DNS label (lower case letters, digits and '-', starting with a letter, at most 63 characters)",
            if path == "spec" {
                "metadata.name".to_string()
            } else {
                at("name")
            }
        ));
    }
    let kind = w.kind.as_deref().unwrap_or("Deployment");
    if !["Deployment", "StatefulSet"].contains(&kind) {
        return Err(format!(
            "{}: must be Deployment or StatefulSet, not {kind:?}",
            at("kind")
        ));
    }
    if w.image.trim().is_empty() {
        return Err(format!("{}: must not be empty", at("image")));
    }
    if kind != "StatefulSet" && w.volume_claim_templates.is_some() {
        return Err(format!(
            "{}: only a StatefulSet has volumeClaimTemplates (set kind: StatefulSet)",
            at("volumeClaimTemplates")
        ));
    }
    if let Some(mode) = w
        .on_immutable_change
        .as_deref()
        .filter(|m| !["Fail", "Recreate"].contains(m))
    {
        return Err(format!(
            "{}: must be Fail or Recreate, not {mode:?}",
            at("onImmutableChange")
        ));
    }
    if w.container.as_ref().is_some_and(|c| !c.is_object()) {
        return Err(format!(
            "{}: must be an object (core/v1 Container fields)",
            at("container")
        ));
    }
    check_ports(&at("ports"), w)?;
    if let Some(metrics) = &w.metrics
        && !w.ports.iter().flatten().any(|p| p.name == metrics.port)
    {
        return Err(format!(
            "{}: no port named {:?}",
            at("metrics.port"),
            metrics.port
        ));
    }
    check_wiring(path, w)
}

/// Checks `allowFrom`, `provides` and `requires`: names, ports, patterns.
fn check_wiring(path: &str, w: &Workload) -> Result<(), Invalid> {
    let has_port = |name: &str| w.ports.iter().flatten().any(|p| p.name == name);
    for (i, allow) in w.allow_from.iter().flatten().enumerate() {
        if let Some(port) = allow.port.as_deref().filter(|p| !has_port(p)) {
            return Err(format!(
                "{path}.allowFrom[{i}].port: no port named {port:?}"
            ));
        }
    }
    let mut names = BTreeSet::new();
    for (i, provide) in w.provides.iter().flatten().enumerate() {
        let at = format!("{path}.provides[{i}]");
        check_entry_name(&at, &provide.name, &mut names)?;
        if !has_port(&provide.port) {
            return Err(format!("{at}.port: no port named {:?}", provide.port));
        }
        if let Some(interface) = provide
            .interface
            .as_deref()
            .filter(|i| !is_dns_label(i, 63))
        {
            return Err(format!(
                "{at}.interface: {interface:?} is not a DNS label (it becomes a label value)"
            ));
        }
        let patterns = provide
            .access
            .iter()
            .flat_map(|a| a.namespaces.iter().flatten());
        for (j, pattern) in patterns.enumerate() {
            if let Err(e) = regex::Regex::new(pattern) {
                return Err(format!(
                    "{at}.access.namespaces[{j}]: {pattern:?} is not a regular expression: {e}"
                ));
            }
        }
    }
    let mut names = BTreeSet::new();
    let mut aliases = BTreeSet::new();
    for (i, require) in w.requires.iter().flatten().enumerate() {
        let at = format!("{path}.requires[{i}]");
        check_entry_name(&at, &require.name, &mut names)?;
        if require.socket.name.trim().is_empty() {
            return Err(format!("{at}.socket.name: must not be empty"));
        }
        let alias = require.alias();
        if !is_dns_label(alias, 63) {
            return Err(format!(
                "{at}.alias: {alias:?} is not a DNS label (it names a Service)"
            ));
        }
        if !aliases.insert(alias) {
            return Err(format!("{at}.alias: {alias:?} is used twice"));
        }
    }
    Ok(())
}

/// A `provides` or `requires` name: a DNS label, unique in its list.
fn check_entry_name<'a>(
    at: &str,
    name: &'a str,
    seen: &mut BTreeSet<&'a str>,
) -> Result<(), Invalid> {
    if !is_dns_label(name, 63) {
        return Err(format!("{at}.name: {name:?} is not a DNS label"));
    }
    if !seen.insert(name) {
        return Err(format!("{at}.name: {name:?} is used twice"));
    }
    Ok(())
}

/// Checks what needs the whole application: an alias (the name of an
/// ExternalName Service) must not be a component's name (its Service).
pub fn check_links(
    path: &str,
    part: &Part<'_>,
    parts: &BTreeMap<&str, Part<'_>>,
) -> Result<(), Invalid> {
    for (i, require) in part.workload.requires.iter().flatten().enumerate() {
        let alias = require.alias();
        if parts.contains_key(alias) {
            return Err(format!(
                "{path}.requires[{i}].alias: {alias:?} is a component of this application, whose Service has that name"
            ));
        }
    }
    Ok(())
}

fn check_ports(path: &str, w: &Workload) -> Result<(), Invalid> {
    let mut seen = BTreeSet::new();
    for (i, port) in w.ports.iter().flatten().enumerate() {
        if !is_dns_label(&port.name, 15) {
            return Err(format!(
                "{path}[{i}].name: {:?} is not a port name (a DNS label of at most 15 characters)",
                port.name
            ));
        }
        if !seen.insert(port.name.as_str()) {
            return Err(format!("{path}[{i}].name: {:?} is used twice", port.name));
        }
        for (field, value) in [("port", Some(port.port)), ("targetPort", port.target_port)] {
            if let Some(v) = value.filter(|v| !(1..=65535).contains(v)) {
                return Err(format!(
                    "{path}[{i}].{field}: {v} is not a port number (1-65535)"
                ));
            }
        }
    }
    Ok(())
}

/// Checks an Application's spec: each inline component, unique names, and
/// no component listed both inline and as a reference.
pub fn check_application(spec: &ApplicationSpec) -> Result<(), Invalid> {
    let mut names = BTreeSet::new();
    for (i, c) in spec.components.iter().flatten().enumerate() {
        check_workload(&format!("spec.components[{i}]"), &c.name, &c.workload)?;
        if !names.insert(c.name.as_str()) {
            return Err(format!(
                "spec.components[{i}].name: {:?} is used twice",
                c.name
            ));
        }
    }
    for (i, r) in spec.component_refs.iter().flatten().enumerate() {
        if !names.insert(r.name.as_str()) {
            return Err(format!(
                "spec.componentRefs[{i}].name: {:?} is already a component of this application",
                r.name
            ));
        }
    }
    match spec.network_policy.as_deref() {
        None | Some("true" | "false" | "audit") => Ok(()),
        Some(other) => Err(format!(
            "spec.networkPolicy: must be \"true\", \"audit\" or \"false\", not {other:?}"
        )),
    }
}

/// Environment variables, as (name, value).
pub type Env = Vec<(String, String)>;

/// The connection variables of the component at `path`, whose connectsTo
/// name components among `parts`, sorted so that the order of components
/// and of entries never matters; and the connections as `component:port`.
pub fn connections(
    path: &str,
    place: &Place<'_>,
    client: &Part<'_>,
    parts: &BTreeMap<&str, Part<'_>>,
) -> Result<(Env, Vec<String>), Invalid> {
    let mut wanted: Vec<(usize, &str, &str)> = client
        .workload
        .connects_to
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| (i, c.component.as_str(), c.port.as_str()))
        .collect();
    wanted.sort_by_key(|(_, component, port)| (*component, *port));
    wanted.dedup_by_key(|(_, component, port)| (*component, *port));
    let mut env = Vec::new();
    let mut listed = Vec::new();
    for (i, component, port) in wanted {
        let at = format!("{path}.connectsTo[{i}]");
        let target = parts.get(component).ok_or_else(|| {
            format!("{at}.component: no component named {component:?} in this application")
        })?;
        let found = target
            .ports()
            .iter()
            .find(|p| p.name == port)
            .ok_or_else(|| {
                format!("{at}.port: component {component:?} has no port named {port:?}")
            })?;
        env.extend(connection_env(place, target, found));
        listed.push(format!("{component}:{port}"));
    }
    Ok((env, listed))
}

/// Whether `name` is a DNS label of at most `max` characters, starting
/// with a letter.
fn is_dns_label(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes[0].is_ascii_lowercase()
        && bytes
            .last()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn app(v: serde_json::Value) -> ApplicationSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_invalid_spec_names_its_field() {
        let cases = [
            (
                json!({"components": [{"name": "Web", "image": "x"}]}),
                "spec.components[0].name: \"Web\" is not a DNS label (lower case letters, digits and '-', starting with a letter, at most 63 characters)",
            ),
            (
                json!({"components": [{"name": "web", "image": "x"}, {"name": "web", "image": "y"}]}),
                "spec.components[1].name: \"web\" is used twice",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "kind": "Job"}]}),
                "spec.components[0].kind: must be Deployment or StatefulSet, not \"Job\"",
            ),
            (
                json!({"components": [{"name": "web", "image": " "}]}),
                "spec.components[0].image: must not be empty",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "volumeClaimTemplates": [{}]}]}),
                "spec.components[0].volumeClaimTemplates: only a StatefulSet has volumeClaimTemplates (set kind: StatefulSet)",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "onImmutableChange": "Ignore"}]}),
                "spec.components[0].onImmutableChange: must be Fail or Recreate, not \"Ignore\"",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "container": "nginx"}]}),
                "spec.components[0].container: must be an object (core/v1 Container fields)",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]}]}),
                "spec.components[0].ports[1].name: \"http\" is used twice",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "ports": [{"name": "http", "port": 70000}]}]}),
                "spec.components[0].ports[0].port: 70000 is not a port number (1-65535)",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "metrics": {"port": "http"}}]}),
                "spec.components[0].metrics.port: no port named \"http\"",
            ),
            (
                json!({"components": [{"name": "web", "image": "x"}], "componentRefs": [{"name": "web"}]}),
                "spec.componentRefs[0].name: \"web\" is already a component of this application",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "allowFrom": [{"port": "http"}]}]}),
                "spec.components[0].allowFrom[0].port: no port named \"http\"",
            ),
            (
                json!({"components": [{"name": "api", "image": "x", "ports": [{"name": "http", "port": 80}],
                    "provides": [{"name": "api", "port": "grpc"}]}]}),
                "spec.components[0].provides[0].port: no port named \"grpc\"",
            ),
            (
                json!({"components": [{"name": "api", "image": "x", "ports": [{"name": "http", "port": 80}],
                    "provides": [{"name": "api", "port": "http", "access": {"namespaces": ["("]}}]}]}),
                "spec.components[0].provides[0].access.namespaces[0]: \"(\" is not a regular expression: regex parse error:\n    (\n    ^\nerror: unclosed group",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "requires": [
                    {"name": "billing", "socket": {"name": "s"}}, {"name": "pay", "socket": {"name": "t"}, "alias": "billing"}]}]}),
                "spec.components[0].requires[1].alias: \"billing\" is used twice",
            ),
            (
                json!({"components": [{"name": "web", "image": "x", "requires": [{"name": "Billing", "socket": {"name": "s"}}]}]}),
                "spec.components[0].requires[0].name: \"Billing\" is not a DNS label",
            ),
            (
                json!({"networkPolicy": "yes"}),
                "spec.networkPolicy: must be \"true\", \"audit\" or \"false\", not \"yes\"",
            ),
        ];
        for (spec, message) in cases {
            assert_eq!(
                check_application(&app(spec.clone())).unwrap_err(),
                message,
                "{spec}"
            );
        }
        let fine = json!({"components": [{"name": "web", "image": "x", "kind": "StatefulSet",
            "ports": [{"name": "http", "port": 80}], "metrics": {"port": "http"},
            "volumeClaimTemplates": [{}], "onImmutableChange": "Recreate"}], "componentRefs": [{"name": "worker"}]});
        assert_eq!(check_application(&app(fine)), Ok(()));
    }

    #[test]
    fn connections_are_order_free_and_name_a_missing_target_or_port() {
        let spec = app(json!({"components": [
            {"name": "web", "image": "x", "connectsTo": [{"component": "db", "port": "pg"}, {"component": "api", "port": "http"}]},
            {"name": "api", "image": "x", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
            {"name": "db", "image": "x", "ports": [{"name": "pg", "port": 5432}]}]}));
        let place = Place {
            namespace: "shop",
            application: "shop",
            cluster_domain: "cluster.local",
            monitoring: false,
            network_policy: super::super::children::PolicyMode::Off,
            scrape_namespace: None,
        };
        let parts = super::super::parts(spec.components.iter().flatten());
        let (env, listed) =
            connections("spec.components[0]", &place, &parts["web"], &parts).unwrap();
        assert_eq!(listed, ["api:http", "db:pg"]);
        assert_eq!(
            env[0],
            (
                "API_SERVICE_HOST".into(),
                "api.shop.svc.cluster.local".into()
            )
        );
        assert_eq!(env.len(), 6);

        let mut bad = spec.clone();
        bad.components.as_mut().unwrap()[0]
            .workload
            .connects_to
            .as_mut()
            .unwrap()[0]
            .port = "http".into();
        let parts = super::super::parts(bad.components.iter().flatten());
        assert_eq!(
            connections("spec.components[0]", &place, &parts["web"], &parts).unwrap_err(),
            "spec.components[0].connectsTo[0].port: component \"db\" has no port named \"http\""
        );
    }
}

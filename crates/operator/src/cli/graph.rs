//! `integration-operator graph`: the applications of a namespace or a
//! cluster and how they are wired, as Graphviz DOT or Mermaid, from
//! manifests or from the live objects.
//!
//! Nodes are components, grouped by application, and the Plugs and Sockets
//! no Application made. Edges are `connectsTo` flows (solid, labelled with
//! the port), `requires` links (dashed, labelled with the alias and, from
//! live objects, the link's state) and couplings of plain plugs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use integration_api::{API_VERSION, Application, Component, LinkState, Plug, Socket, Workload};
use kube::ResourceExt;
use serde_json::Value;

/// `graph`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifests to read (files or directories of .yaml, .yml and .json)
    /// instead of the live cluster (the current kubeconfig).
    #[arg(long = "file", short = 'f', value_name = "PATH")]
    files: Vec<PathBuf>,
    /// Only this namespace; all of them when absent.
    #[arg(long, short = 'n', value_name = "NS")]
    namespace: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let objects = if args.files.is_empty() {
        live(args.namespace.as_deref())?
    } else {
        from_files(&args.files)?
    };
    let graph = Graph::of(&objects, args.namespace.as_deref());
    print!("{}", graph.render(args.format));
    Ok(ExitCode::SUCCESS)
}

/// The Applications, Components, Plugs and Sockets of the manifests.
fn from_files(paths: &[PathBuf]) -> anyhow::Result<Vec<Value>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .with_context(|| format!("reading directory {}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_manifest(p))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut objects = Vec::new();
    for file in files {
        objects.extend(super::render::read_documents(&file)?);
    }
    Ok(objects)
}

fn is_manifest(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// The Applications, Components, Plugs and Sockets in the cluster.
fn live(namespace: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = kube::Client::try_default()
            .await
            .context("connecting to the cluster (kubeconfig or in-cluster config)")?;
        let mut objects = list::<Application>(&client, namespace).await?;
        objects.extend(list::<Component>(&client, namespace).await?);
        objects.extend(list::<Plug>(&client, namespace).await?);
        objects.extend(list::<Socket>(&client, namespace).await?);
        Ok(objects)
    })
}

async fn list<K>(client: &kube::Client, namespace: Option<&str>) -> anyhow::Result<Vec<Value>>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api: kube::Api<K> = match namespace {
        Some(ns) => kube::Api::namespaced(client.clone(), ns),
        None => kube::Api::all(client.clone()),
    };
    let items = api
        .list(&Default::default())
        .await
        .with_context(|| format!("listing {}", K::plural(&())))?;
    items
        .items
        .iter()
        .map(|o| {
            let mut value = serde_json::to_value(o).context("an object as JSON")?;
            value["apiVersion"] = API_VERSION.into();
            value["kind"] = K::kind(&()).as_ref().into();
            Ok(value)
        })
        .collect()
}

/// A component (or a plain Plug or Socket): `namespace/app/name`.
type NodeId = String;

/// What the picture shows.
#[derive(Debug, Default, PartialEq)]
pub struct Graph {
    /// Applications (`namespace/name`) and their nodes, as (id, label).
    groups: BTreeMap<String, Vec<(NodeId, String)>>,
    /// Plugs and Sockets no Application made.
    loose: Vec<(NodeId, String)>,
    /// (from, to, label, dashed).
    edges: Vec<(NodeId, NodeId, String, bool)>,
}

impl Graph {
    /// The graph of `objects` (other kinds are ignored), in `namespace` or
    /// everywhere; links to another namespace show their far end.
    pub fn of(objects: &[Value], namespace: Option<&str>) -> Graph {
        let ours = |o: &&Value| o["apiVersion"] == API_VERSION;
        let kind = |k: &'static str| move |o: &&Value| o["kind"] == k;
        let typed = |k: &'static str| objects.iter().filter(ours).filter(kind(k));
        let apps: Vec<Application> = typed("Application").filter_map(parse).collect();
        let components: Vec<Component> = typed("Component").filter_map(parse).collect();
        let plugs: Vec<Plug> = typed("Plug").filter_map(parse).collect();
        let sockets: Vec<Socket> = typed("Socket").filter_map(parse).collect();
        let here = |ns: &str| namespace.is_none_or(|n| n == ns);

        let mut graph = Graph::default();
        let mut parts: Vec<(String, String, String, &Workload)> = Vec::new();
        for app in &apps {
            let ns = app.namespace().unwrap_or_default();
            for c in app.spec.components.iter().flatten() {
                parts.push((ns.clone(), app.name_any(), c.name.clone(), &c.workload));
            }
        }
        for c in &components {
            let ns = c.namespace().unwrap_or_default();
            parts.push((
                ns,
                c.spec.application.clone(),
                c.name_any(),
                &c.spec.workload,
            ));
        }
        // Sockets made by `provides`, by namespace/name → component node.
        let mut provided: BTreeMap<String, NodeId> = BTreeMap::new();
        for (ns, app, name, w) in &parts {
            for p in w.provides.iter().flatten() {
                let socket = format!("{ns}/{app}-{name}-{}", p.name);
                provided.insert(socket, node(ns, app, name));
            }
        }
        let states = link_states(&apps, &components);
        for (ns, app, name, w) in &parts {
            if !here(ns) {
                continue;
            }
            let id = node(ns, app, name);
            let kind = w.kind.as_deref().unwrap_or("Deployment");
            graph
                .groups
                .entry(format!("{ns}/{app}"))
                .or_default()
                .push((id.clone(), format!("{name} ({kind})")));
            for c in w.connects_to.iter().flatten() {
                graph.edges.push((
                    id.clone(),
                    node(ns, app, &c.component),
                    c.port.clone(),
                    false,
                ));
            }
            for r in w.requires.iter().flatten() {
                let socket_ns = r.socket.namespace_or(ns);
                let socket = format!("{socket_ns}/{}", r.socket.name);
                let target = provided
                    .get(&socket)
                    .cloned()
                    .unwrap_or_else(|| format!("socket:{socket}"));
                let mut label = r.alias().to_string();
                if let Some(state) = states.get(&(format!("{ns}/{app}-{name}-{}", r.name))) {
                    let _ = write!(label, ": {state}");
                }
                graph.edges.push((id.clone(), target, label, true));
            }
        }
        // Plugs and Sockets that are not an Application's links.
        let made_by_app = |labels: &BTreeMap<String, String>| {
            labels.contains_key("app.kubernetes.io/part-of")
                && labels
                    .get("app.kubernetes.io/managed-by")
                    .map(String::as_str)
                    == Some(integration_api::FIELD_MANAGER)
        };
        for socket in sockets.iter().filter(|s| !made_by_app(s.labels())) {
            let ns = socket.namespace().unwrap_or_default();
            if here(&ns) {
                let id = format!("socket:{ns}/{}", socket.name_any());
                graph
                    .loose
                    .push((id, format!("Socket {ns}/{}", socket.name_any())));
            }
        }
        for plug in plugs.iter().filter(|p| !made_by_app(p.labels())) {
            let ns = plug.namespace().unwrap_or_default();
            let Some(socket) = &plug.spec.socket else {
                continue;
            };
            if !here(&ns) {
                continue;
            }
            let id = format!("plug:{ns}/{}", plug.name_any());
            graph
                .loose
                .push((id.clone(), format!("Plug {ns}/{}", plug.name_any())));
            let socket_ns = socket.namespace_or(&ns);
            let coupled = plug
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Coupled"))
                .map(|c| {
                    if c.status == "True" {
                        "Coupled"
                    } else {
                        "Pending"
                    }
                });
            graph.edges.push((
                id,
                format!("socket:{socket_ns}/{}", socket.name),
                coupled.unwrap_or_default().to_string(),
                true,
            ));
        }
        graph.add_far_ends();
        graph
    }

    /// Nodes for edge ends outside the picture (another namespace, a
    /// socket not among the objects).
    fn add_far_ends(&mut self) {
        let known: BTreeSet<&NodeId> = self
            .groups
            .values()
            .flatten()
            .chain(&self.loose)
            .map(|(id, _)| id)
            .collect();
        let missing: BTreeSet<NodeId> = self
            .edges
            .iter()
            .map(|(_, to, _, _)| to)
            .filter(|to| !known.contains(to))
            .cloned()
            .collect();
        for id in missing {
            let label = match id.strip_prefix("socket:") {
                Some(socket) => format!("Socket {socket}"),
                None => match id.rsplit_once('/') {
                    Some((app, name)) => format!("{name} (Application {app})"),
                    None => id.clone(),
                },
            };
            self.loose.push((id, label));
        }
    }

    /// The graph as text in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Mermaid => self.mermaid(),
            Format::Dot => self.dot(),
        }
    }

    fn mermaid(&self) -> String {
        let ids: BTreeMap<&str, String> = self
            .all_nodes()
            .enumerate()
            .map(|(i, (id, _))| (id.as_str(), format!("n{i}")))
            .collect();
        let mut out = String::from("flowchart LR\n");
        for (i, (app, nodes)) in self.groups.iter().enumerate() {
            let _ = writeln!(out, "  subgraph a{i}[\"Application {app}\"]");
            for (id, label) in nodes {
                let _ = writeln!(out, "    {}[\"{}\"]", ids[id.as_str()], quote(label));
            }
            out.push_str("  end\n");
        }
        for (id, label) in &self.loose {
            let _ = writeln!(out, "  {}[\"{}\"]", ids[id.as_str()], quote(label));
        }
        for (from, to, label, dashed) in &self.edges {
            let arrow = if *dashed { "-.->" } else { "-->" };
            let (from, to) = (&ids[from.as_str()], ids.get(to.as_str()));
            let Some(to) = to else { continue };
            match label.is_empty() {
                true => {
                    let _ = writeln!(out, "  {from} {arrow} {to}");
                }
                false => {
                    let _ = writeln!(out, "  {from} {arrow}|\"{}\"| {to}", quote(label));
                }
            }
        }
        out
    }

    fn dot(&self) -> String {
        let mut out = String::from("digraph integrations {\n  rankdir=LR;\n  node [shape=box];\n");
        for (app, nodes) in &self.groups {
            let _ = writeln!(out, "  subgraph \"cluster_{app}\" {{");
            let _ = writeln!(out, "    label=\"Application {app}\";");
            for (id, label) in nodes {
                let _ = writeln!(out, "    \"{id}\" [label=\"{label}\"];");
            }
            out.push_str("  }\n");
        }
        for (id, label) in &self.loose {
            let _ = writeln!(out, "  \"{id}\" [label=\"{label}\", shape=ellipse];");
        }
        for (from, to, label, dashed) in &self.edges {
            let style = if *dashed { ", style=dashed" } else { "" };
            let _ = writeln!(out, "  \"{from}\" -> \"{to}\" [label=\"{label}\"{style}];");
        }
        out.push_str("}\n");
        out
    }

    fn all_nodes(&self) -> impl Iterator<Item = &(NodeId, String)> {
        self.groups.values().flatten().chain(&self.loose)
    }
}

/// The node of component `name` of application `app` in `ns`.
fn node(ns: &str, app: &str, name: &str) -> NodeId {
    format!("{ns}/{app}/{name}")
}

/// The state of each link whose parent's status reports it, by its Plug
/// (`namespace/name`).
fn link_states(apps: &[Application], components: &[Component]) -> BTreeMap<String, String> {
    let statuses = apps
        .iter()
        .filter_map(|a| a.status.as_ref())
        .chain(components.iter().filter_map(|c| c.status.as_ref()));
    statuses
        .flat_map(|s| s.links.iter().flatten())
        .map(|l: &LinkState| (l.plug.clone(), l.state.clone()))
        .collect()
}

/// Text safe inside a Mermaid label.
fn quote(text: &str) -> String {
    text.replace('"', "#quot;")
}

fn parse<K: serde::de::DeserializeOwned>(value: &Value) -> Option<K> {
    serde_json::from_value(value.clone()).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn shop() -> Vec<Value> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop");
        from_files(&[PathBuf::from(dir)]).unwrap()
    }

    #[test]
    fn the_shop_and_billing_as_mermaid() {
        let text = Graph::of(&shop(), None).render(Format::Mermaid);
        assert_eq!(
            text,
            "flowchart LR
  subgraph a0[\"Application billing/billing\"]
    n0[\"api (Deployment)\"]
  end
  subgraph a1[\"Application shop/shop\"]
    n1[\"web (Deployment)\"]
    n2[\"api (StatefulSet)\"]
    n3[\"worker (Deployment)\"]
  end
  n1 -->|\"http\"| n2
  n1 -.->|\"billing\"| n0
"
        );
    }

    #[test]
    fn one_namespace_as_dot_shows_the_far_end_of_its_links() {
        let text = Graph::of(&shop(), Some("shop")).render(Format::Dot);
        assert!(!text.contains("cluster_billing"), "{text}");
        assert!(
            text.contains(
                "\"shop/shop/web\" -> \"billing/billing/api\" [label=\"billing\", style=dashed];"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\"billing/billing/api\" [label=\"api (Application billing/billing)\", shape=ellipse];"
            ),
            "{text}"
        );
        assert!(
            text.contains("\"shop/shop/web\" -> \"shop/shop/api\" [label=\"http\"];"),
            "{text}"
        );
    }

    #[test]
    fn plain_plugs_couple_to_their_sockets_with_the_live_state() {
        let objects: Vec<Value> = serde_saphyr::from_multiple(
            "apiVersion: integration.rock8s.com/v1beta1\nkind: Socket\nmetadata: {name: mongo, namespace: db}\nspec: {}\n---\n\
             apiVersion: integration.rock8s.com/v1beta1\nkind: Plug\nmetadata: {name: app, namespace: web}\n\
             spec: {socket: {name: mongo, namespace: db}}\n\
             status: {conditions: [{type: Coupled, status: \"True\", reason: CouplingSucceeded, message: ok, lastTransitionTime: \"2026-01-01T00:00:00Z\"}]}\n",
        )
        .unwrap();
        let text = Graph::of(&objects, None).render(Format::Mermaid);
        assert_eq!(
            text,
            "flowchart LR\n  n0[\"Socket db/mongo\"]\n  n1[\"Plug web/app\"]\n  n1 -.->|\"Coupled\"| n0\n"
        );
    }
}

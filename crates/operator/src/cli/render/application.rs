//! `render --application/--component`: what an Application and its
//! Components would make and how they would read, offline, through the
//! controllers' own pure functions ([`Declarative::sync`]) on a snapshot
//! built from files instead of a cluster.
//!
//! Each parent is synced twice, as the runtime does: once for its desired
//! children, then again with those children applied (live copies with a
//! uid, generation 1 and an ownerReference to the parent, and what the
//! cluster-facts file says about each workload merged on) for the status.
//! Components go first, because an Application's status reads theirs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use integration_api::{API_VERSION, Application, Component, WorkloadStatus};
use integration_controller::apparatus::DEFAULT_CLUSTER_DOMAIN;
use integration_controller::application::status::reason;
use integration_controller::application::{Applications, Components};
use jiff::Timestamp;
use kube::api::DynamicObject;
use kube::{Resource, ResourceExt};
use kube_declarative::{Child, Declarative, Desired, Facts, ObjectRef, Outcome, Snapshot};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{DEFAULT_NAMESPACE, read_documents};

/// The `kind` a cluster-facts file may carry: `dev --apply` skips
/// documents of this kind, so the file can sit beside the manifests.
pub const FACTS_KIND: &str = "ClusterFacts";

/// Kinds every cluster serves, before the facts file adds any.
const BUILT_IN: [(&str, &str); 6] = [
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("v1", "Pod"),
    (API_VERSION, "Application"),
    (API_VERSION, "Component"),
];

/// The files `render` was given for applications.
pub struct Inputs<'a> {
    /// An Application, optionally followed by Components.
    pub application: Option<&'a Path>,
    /// Files of Components.
    pub components: &'a [PathBuf],
    /// The cluster-facts file.
    pub facts: Option<&'a Path>,
}

/// Prints the children and predicted status of every parent; exit code 1
/// when a spec is invalid (its status says which field, stderr repeats it).
pub fn run(inputs: &Inputs<'_>) -> anyhow::Result<ExitCode> {
    let parents = Parents::read(inputs)?;
    let world = match inputs.facts {
        Some(path) => World::read(path)?,
        None => World::bare(),
    };
    let report = render(parents, &world)?;
    if let Some(path) = inputs.facts {
        note_unused_workloads(path, &world, &report);
    }
    print!(
        "{}",
        serde_saphyr::to_string(&report).context("writing YAML")?
    );
    let invalid: Vec<&Rendered> = report.all().filter(|r| r.is_invalid()).collect();
    for rendered in &invalid {
        eprintln!(
            "error: {}: invalid spec: {}",
            rendered.who,
            rendered.status.message.as_deref().unwrap_or_default()
        );
    }
    Ok(if invalid.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The parents read from the files, ready for a snapshot.
#[derive(Default)]
struct Parents {
    application: Option<Application>,
    components: Vec<Component>,
}

impl Parents {
    /// Reads `--application` (one Application, any Components) and the
    /// `--component` files (Components only); every error names the file
    /// and the document.
    fn read(inputs: &Inputs<'_>) -> anyhow::Result<Parents> {
        let mut parents = Parents::default();
        if let Some(path) = inputs.application {
            for (origin, doc) in documents(path)? {
                match kind_of(&doc) {
                    "Application" if parents.application.is_some() => {
                        bail!("{origin}: a second Application (render one at a time)")
                    }
                    "Application" => parents.application = Some(parent(&origin, doc)?),
                    "Component" => parents.components.push(parent(&origin, doc)?),
                    other => bail!(
                        "{origin}: expected an {API_VERSION} Application or Component, found {other}"
                    ),
                }
            }
            if parents.application.is_none() {
                bail!("{}: no {API_VERSION} Application", path.display());
            }
        }
        for path in inputs.components {
            for (origin, doc) in documents(path)? {
                match kind_of(&doc) {
                    "Component" => parents.components.push(parent(&origin, doc)?),
                    other => {
                        bail!("{origin}: expected an {API_VERSION} Component, found {other}")
                    }
                }
            }
        }
        Ok(parents)
    }
}

/// The documents of a file, each with where it came from (`FILE`, or
/// `FILE#N` when the file holds several), as `dev --apply` names them.
fn documents(path: &Path) -> anyhow::Result<Vec<(String, Value)>> {
    let docs = read_documents(path)?;
    let several = docs.len() > 1;
    Ok(docs
        .into_iter()
        .enumerate()
        .map(|(i, doc)| {
            let origin = if several {
                format!("{}#{}", path.display(), i + 1)
            } else {
                path.display().to_string()
            };
            (origin, doc)
        })
        .collect())
}

/// `Application` or `Component` for our API version, else a description
/// of what the document is, for the error.
fn kind_of(doc: &Value) -> &str {
    let kind = doc["kind"].as_str().unwrap_or_default();
    match doc["apiVersion"].as_str() {
        Some(API_VERSION) if matches!(kind, "Application" | "Component") => kind,
        _ if kind.is_empty() => "a document without kind",
        _ => kind,
    }
}

/// A parent as the API server would hand it over: in the default
/// namespace if it names none, with a uid and a generation (children
/// point at the uid, the status reports the generation), and no status
/// (a prediction starts from a fresh object).
fn parent<K>(origin: &str, mut doc: Value) -> anyhow::Result<K>
where
    K: Resource + DeserializeOwned,
{
    let kind = kind_of(&doc).to_string();
    if doc["metadata"]["namespace"].is_null() {
        doc["metadata"]["namespace"] = Value::from(DEFAULT_NAMESPACE);
    }
    if let Some(object) = doc.as_object_mut() {
        object.remove("status");
    }
    let mut parent: K =
        serde_json::from_value(doc).with_context(|| format!("{origin}: not a valid {kind}"))?;
    let name = parent.name_any();
    if name.is_empty() {
        bail!("{origin}: missing metadata.name");
    }
    let meta = parent.meta_mut();
    meta.uid.get_or_insert_with(|| format!("render-{name}"));
    meta.generation.get_or_insert(1);
    Ok(parent)
}

/// What the cluster is like, from the facts file (or a bare cluster).
struct World {
    now: Timestamp,
    cluster_domain: String,
    facts: Facts,
    /// Fields merged onto the live workload of each component.
    workloads: BTreeMap<String, Value>,
    /// Fields merged onto any other live child, by `Kind/name` (a link's
    /// Plug with its status, a provided Socket with its coupled plugs).
    children: BTreeMap<String, Value>,
    pods: Vec<Arc<DynamicObject>>,
    prometheuses: Vec<Arc<DynamicObject>>,
    /// The Sockets that links require, as they are in the cluster.
    sockets: Vec<Arc<DynamicObject>>,
    /// The namespace Prometheus scrapes from (the operator's
    /// `--scrape-namespace`).
    scrape_namespace: Option<String>,
}

/// The facts file as written; unknown fields are errors (a typo must not
/// silently predict something else).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FactsFile {
    /// [`FACTS_KIND`], optional.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    cluster_domain: Option<String>,
    /// Kinds served besides the built-in ones (the monitoring API).
    #[serde(default)]
    served: Vec<Served>,
    /// RFC 3339; the current time by default.
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    workloads: BTreeMap<String, Value>,
    #[serde(default)]
    children: BTreeMap<String, Value>,
    #[serde(default)]
    pods: Vec<Value>,
    #[serde(default)]
    prometheuses: Vec<Value>,
    #[serde(default)]
    sockets: Vec<Value>,
    #[serde(default)]
    scrape_namespace: Option<String>,
}

/// One served kind.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Served {
    api_version: String,
    kind: String,
}

impl World {
    /// A cluster serving only the built-in kinds, at the current time.
    fn bare() -> World {
        World {
            now: Timestamp::now(),
            cluster_domain: DEFAULT_CLUSTER_DOMAIN.into(),
            facts: served(std::iter::empty()),
            workloads: BTreeMap::new(),
            children: BTreeMap::new(),
            pods: Vec::new(),
            prometheuses: Vec::new(),
            sockets: Vec::new(),
            scrape_namespace: None,
        }
    }

    /// The cluster a facts file describes; errors name the file and field.
    fn read(path: &Path) -> anyhow::Result<World> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {origin}"))?;
        let file: FactsFile = serde_saphyr::from_str(&text)
            .with_context(|| format!("{origin}: not a valid cluster-facts file"))?;
        if let Some(kind) = file.kind.as_deref().filter(|k| *k != FACTS_KIND) {
            bail!("{origin}: kind: expected {FACTS_KIND}, found {kind}");
        }
        let now = match file.now.as_deref() {
            Some(now) => now
                .parse()
                .with_context(|| format!("{origin}: now: not an RFC 3339 time: {now:?}"))?,
            None => Timestamp::now(),
        };
        for (name, overlay) in &file.workloads {
            if !overlay.is_object() {
                bail!(
                    "{origin}: workloads.{name}: must be an object (fields of the live workload, such as status)"
                );
            }
        }
        for (id, overlay) in &file.children {
            if !overlay.is_object() || !id.contains('/') {
                bail!(
                    "{origin}: children.{id}: must be keyed Kind/name and be an object (fields of the live child, such as status)"
                );
            }
        }
        Ok(World {
            now,
            cluster_domain: file
                .cluster_domain
                .unwrap_or_else(|| DEFAULT_CLUSTER_DOMAIN.into()),
            facts: served(file.served.into_iter().map(|s| (s.api_version, s.kind))),
            workloads: file.workloads,
            children: file.children,
            scrape_namespace: file.scrape_namespace,
            sockets: objects(
                &origin,
                "sockets",
                file.sockets,
                (integration_api::API_VERSION, "Socket"),
            )?,
            pods: objects(&origin, "pods", file.pods, ("v1", "Pod"))?,
            prometheuses: objects(
                &origin,
                "prometheuses",
                file.prometheuses,
                ("monitoring.coreos.com/v1", "Prometheus"),
            )?,
        })
    }

    /// What a parent in `namespace` reads besides its children: its
    /// namespace's Pods, every Prometheus, and `others` (the Application
    /// of a Component, the Components of an Application).
    fn related(
        &self,
        namespace: &str,
        others: impl IntoIterator<Item = Arc<DynamicObject>>,
    ) -> Vec<Arc<DynamicObject>> {
        let here = |o: &Arc<DynamicObject>| {
            o.metadata
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == namespace)
        };
        self.pods
            .iter()
            .filter(|p| here(p))
            .cloned()
            .chain(self.prometheuses.iter().cloned())
            .chain(self.sockets.iter().cloned())
            .chain(others.into_iter().filter(here))
            .collect()
    }

    /// A desired child as it would be once applied: marked as the
    /// parent's, at generation 1, with the facts about its workload merged
    /// on (a `status` with no `observedGeneration` counts as observing
    /// generation 1: facts describe the workload as it is now).
    fn live(&self, object: &Value, owner: &Value) -> anyhow::Result<DynamicObject> {
        let mut live = object.clone();
        let id = ObjectRef::of(object).context("a desired child without identity")?;
        live["metadata"]["uid"] = json!(format!("render-{}-{}", id.kind.to_lowercase(), id.name));
        live["metadata"]["generation"] = json!(1);
        live["metadata"]["ownerReferences"] = json!([owner]);
        let workload = matches!(id.kind.as_str(), "Deployment" | "StatefulSet");
        let overlay = match workload {
            true => self.workloads.get(&id.name),
            false => self.children.get(&format!("{}/{}", id.kind, id.name)),
        };
        if let Some(overlay) = overlay {
            json_patch::merge(&mut live, overlay);
            if live["status"].is_object() && live["status"]["observedGeneration"].is_null() {
                live["status"]["observedGeneration"] = live["metadata"]["generation"].clone();
            }
        }
        serde_json::from_value(live).with_context(|| format!("{id}: not a valid object"))
    }
}

/// Facts serving the built-in kinds and `more`.
fn served(more: impl Iterator<Item = (String, String)>) -> Facts {
    let built_in = BUILT_IN.iter().map(|(v, k)| (v.to_string(), k.to_string()));
    Facts {
        served: built_in.chain(more).collect(),
    }
}

/// The objects of a facts list, `apiVersion` and `kind` filled in when
/// omitted (the runtime hands them over typed).
fn objects(
    origin: &str,
    field: &str,
    list: Vec<Value>,
    (api_version, kind): (&str, &str),
) -> anyhow::Result<Vec<Arc<DynamicObject>>> {
    list.into_iter()
        .enumerate()
        .map(|(i, mut object)| {
            let Some(fields) = object.as_object_mut() else {
                bail!("{origin}: {field}[{i}]: must be a {kind} object");
            };
            fields.entry("apiVersion").or_insert(json!(api_version));
            fields.entry("kind").or_insert(json!(kind));
            let object: DynamicObject = serde_json::from_value(object)
                .with_context(|| format!("{origin}: {field}[{i}]: not a valid {kind}"))?;
            Ok(Arc::new(object))
        })
        .collect()
}

/// What `render` prints for applications.
#[derive(Serialize)]
struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    application: Option<Rendered>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Rendered>,
}

impl Report {
    fn all(&self) -> impl Iterator<Item = &Rendered> {
        self.application.iter().chain(&self.components)
    }
}

/// One parent's prediction, in the order a reader wants it.
#[derive(Serialize)]
struct Rendered {
    /// `Application shop/shop`, for messages.
    #[serde(skip)]
    who: String,
    /// `namespace/name`.
    name: String,
    /// The manifests the controller applies.
    children: Vec<Value>,
    /// Existing children left as they are (say, while the spec is invalid).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    kept: Vec<String>,
    /// Children deleted (a workload recreated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deleted: Vec<String>,
    /// The Events of the pass, `Warning Reason: note`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    events: Vec<String>,
    status: WorkloadStatus,
}

impl Rendered {
    /// Whether the spec was refused (`Ready=False/InvalidSpec`).
    fn is_invalid(&self) -> bool {
        self.status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.reason == reason::INVALID_SPEC)
    }
}

/// Renders the Components (against the Application), then the
/// Application (against the Components with their predicted status).
fn render(parents: Parents, world: &World) -> anyhow::Result<Report> {
    let app = parents.application.as_ref().map(dynamic).transpose()?;
    let components = Components {
        cluster_domain: world.cluster_domain.clone(),
        scrape_namespace: world.scrape_namespace.clone(),
    };
    let mut reconciled = Vec::new();
    let mut rendered = Vec::new();
    for component in parents.components {
        let related = world.related(&component.namespace().unwrap_or_default(), app.clone());
        let prediction = predict(&components, component, related, world)?;
        reconciled.push(dynamic(&Components::with_status(
            &prediction.parent,
            prediction.rendered.status.clone(),
        ))?);
        rendered.push(prediction.rendered);
    }
    let applications = Applications {
        cluster_domain: world.cluster_domain.clone(),
        scrape_namespace: world.scrape_namespace.clone(),
    };
    let application = parents
        .application
        .map(|app| {
            let related = world.related(&app.namespace().unwrap_or_default(), reconciled);
            predict(&applications, app, related, world).map(|p| p.rendered)
        })
        .transpose()?;
    Ok(Report {
        application,
        components: rendered,
    })
}

/// A parent and what rendering it predicts.
struct Prediction<P> {
    parent: P,
    rendered: Rendered,
}

/// Syncs `parent` twice, as a pass does: for its children, then with
/// them applied and live, for its status.
fn predict<D>(
    controller: &D,
    parent: D::Parent,
    related: Vec<Arc<DynamicObject>>,
    world: &World,
) -> anyhow::Result<Prediction<D::Parent>>
where
    D: Declarative<Status = WorkloadStatus>,
{
    let mut snapshot = Snapshot::new(parent, world.now);
    snapshot.related = related;
    snapshot.facts = world.facts.clone();
    let first = controller.sync(&snapshot);
    let owner = snapshot
        .parent
        .controller_owner_ref(&())
        .and_then(|o| serde_json::to_value(o).ok())
        .unwrap_or_default();
    for child in &first.children {
        let Child::Apply(apply) = child else {
            continue;
        };
        let live = world.live(&apply.object, &owner)?;
        let id = ObjectRef::of(&apply.object).context("a desired child without identity")?;
        let uid = live.uid().unwrap_or_default();
        snapshot
            .applied
            .insert(id, Outcome::Applied { uid, drift: None });
        snapshot.children.push(Arc::new(live));
    }
    let desired = controller.sync(&snapshot);
    let parent = snapshot.parent;
    let name = format!(
        "{}/{}",
        parent.namespace().unwrap_or_default(),
        parent.name_any()
    );
    Ok(Prediction {
        rendered: rendered(format!("{} {name}", D::Parent::kind(&())), name, desired),
        parent,
    })
}

/// The report of one parent from what its second sync wants.
fn rendered(who: String, name: String, desired: Desired<WorkloadStatus>) -> Rendered {
    let mut out = Rendered {
        who,
        name,
        children: Vec::new(),
        kept: Vec::new(),
        deleted: Vec::new(),
        events: desired
            .events
            .iter()
            .map(|e| {
                let level = if e.warning { "Warning" } else { "Normal" };
                format!("{level} {}: {}", e.reason, e.note)
            })
            .collect(),
        status: desired.status,
    };
    for child in desired.children {
        match child {
            Child::Apply(apply) => out.children.push(apply.object),
            Child::Keep(object) => out.kept.push(object.to_string()),
            Child::Delete { object, .. } => out.deleted.push(object.to_string()),
        }
    }
    out
}

/// A typed object as the runtime's related objects are: dynamic, with
/// `apiVersion` and `kind`.
fn dynamic<K: Serialize>(object: &K) -> anyhow::Result<Arc<DynamicObject>> {
    let value = serde_json::to_value(object).context("serializing a parent")?;
    Ok(Arc::new(
        serde_json::from_value(value).context("a parent as a dynamic object")?,
    ))
}

/// Says on stderr which `workloads` of the facts file matched no rendered
/// workload: most likely a misspelt component name.
fn note_unused_workloads(path: &Path, world: &World, report: &Report) {
    let rendered: BTreeSet<&str> = report
        .all()
        .flat_map(|r| &r.children)
        .filter(|c| matches!(c["kind"].as_str(), Some("Deployment" | "StatefulSet")))
        .filter_map(|c| c["metadata"]["name"].as_str())
        .collect();
    for name in world.workloads.keys() {
        if !rendered.contains(name.as_str()) {
            eprintln!(
                "note: {}: workloads.{name}: no rendered workload has this name",
                path.display()
            );
        }
    }
}

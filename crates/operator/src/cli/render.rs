//! `render`: what a plug and its socket would do, offline. Prints both
//! configs, both results, and every resource each side would apply or
//! delete at each lifecycle event. ConfigMaps, Secrets and var targets come
//! from `--objects` files instead of a cluster. With `--application` or
//! `--component` it renders Applications and Components instead
//! ([`application`]).
//!
//! Apparatus: a side's `POST /config` is called when its endpoint is an
//! absolute URL or `--plug-apparatus`/`--socket-apparatus` gives one, and
//! treated as empty otherwise (or with `--no-apparatus`), which stderr
//! says. Event paths are never called: they have side effects.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use integration_api::{Plug, Socket};
use integration_controller::ApparatusOptions;
use integration_controller::apparatus::Caller;
use integration_engine::{
    Configs, Coupling, CouplingEvent, OwnEvent, Rendered, Results, Side, Sources, Validated,
    render_own_event,
};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::{Value, json};

pub(crate) mod application;

#[derive(Debug, clap::Args)]
#[command(override_usage = "\
integration-operator render --plug <FILE> --socket <FILE> [--objects <FILE>]... [OPTIONS]
       integration-operator render --application <FILE> [--component <FILE>]... [--facts <FILE>]
       integration-operator render --component <FILE>... [--facts <FILE>]")]
#[command(group(
    clap::ArgGroup::new("apps")
        .args(["application", "components"])
        .multiple(true)
        .conflicts_with_all([
            "plug",
            "socket",
            "objects",
            "event",
            "plug_apparatus",
            "socket_apparatus",
            "no_apparatus",
        ])
))]
pub struct Args {
    /// The Plug manifest (YAML or JSON).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["application", "components"]
    )]
    plug: Option<PathBuf>,
    /// The Socket manifest the plug couples to.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["application", "components"]
    )]
    socket: Option<PathBuf>,
    /// Files of other objects the integration reads (ConfigMaps, Secrets,
    /// var targets); several documents per file are fine.
    #[arg(long = "objects", value_name = "FILE")]
    objects: Vec<PathBuf>,
    /// Show one lifecycle event only.
    #[arg(long, value_enum)]
    event: Option<Event>,
    /// Call the plug's apparatus `/config` at this base URL (a local
    /// server), whatever its endpoint says.
    #[arg(long, value_name = "URL", conflicts_with = "no_apparatus")]
    plug_apparatus: Option<String>,
    /// Call the socket's apparatus `/config` at this base URL.
    #[arg(long, value_name = "URL", conflicts_with = "no_apparatus")]
    socket_apparatus: Option<String>,
    /// Call no apparatus: config from an apparatus is treated as empty.
    #[arg(long)]
    no_apparatus: bool,
    /// Render an Application instead of a plug and socket: its children
    /// and predicted status. The file may also hold its Component
    /// resources (several documents).
    #[arg(long, value_name = "FILE", help_heading = "Applications")]
    application: Option<PathBuf>,
    /// Component resources to render with it (or alone); several
    /// documents per file are fine.
    #[arg(long = "component", value_name = "FILE", help_heading = "Applications")]
    components: Vec<PathBuf>,
    /// Cluster facts (YAML): `served` kinds, `clusterDomain`, `now`, live
    /// `workloads` by component name (merged onto the desired workload:
    /// give a `status` to predict health), `pods` and `prometheuses`.
    /// Without it: a bare cluster (no monitoring API) right after the
    /// apply, so workloads read as not yet observed.
    #[arg(
        long,
        value_name = "FILE",
        requires = "apps",
        help_heading = "Applications"
    )]
    facts: Option<PathBuf>,
}

impl Args {
    /// Where each side's apparatus is called, `None` when none is.
    fn apparatus(&self) -> Option<ApparatusOptions> {
        (!self.no_apparatus).then(|| ApparatusOptions {
            plug_endpoint: self.plug_apparatus.clone(),
            socket_endpoint: self.socket_apparatus.clone(),
            ..ApparatusOptions::default()
        })
    }
}

/// The lifecycle events, in the order a coupling meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Event {
    Created,
    Coupled,
    Updated,
    Decoupled,
    Deleted,
}

impl Event {
    const ALL: [Event; 5] = [
        Event::Created,
        Event::Coupled,
        Event::Updated,
        Event::Decoupled,
        Event::Deleted,
    ];
}

/// Namespace given to manifests that name none, as kubectl would.
const DEFAULT_NAMESPACE: &str = "default";

/// Shown instead of values of interface properties marked `secret: true`.
const SECRET: &str = "(secret)";

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.application.is_some() || !args.components.is_empty() {
        return application::run(&application::Inputs {
            application: args.application.as_deref(),
            components: &args.components,
            facts: args.facts.as_deref(),
        });
    }
    // clap requires both unless rendering applications.
    let (Some(plug), Some(socket)) = (&args.plug, &args.socket) else {
        bail!("give --plug and --socket, or --application/--component");
    };
    // `helm template` output holds a plug with its Secrets and the like:
    // the other documents of the files count as --objects.
    let (plug, mut objects): (Plug, _) = read_manifest(plug, "Plug")?;
    let (socket, more): (Socket, _) = read_manifest(socket, "Socket")?;
    objects.extend(more);
    for path in &args.objects {
        objects.extend(read_documents(path)?);
    }
    let objects: Vec<Value> = objects.into_iter().map(fold_string_data).collect();
    warn_about_socket_mismatch(&plug, &socket);
    let coupling = Coupling::new(&plug, &socket)?;
    let rendered = render(&coupling, &objects, args.apparatus().as_ref(), args.event);
    for side in Side::BOTH {
        for warning in coupling.owner(side).warnings().list() {
            eprintln!("warning: {warning}");
        }
    }
    match rendered {
        Ok(report) => {
            print!(
                "{}",
                serde_saphyr::to_string(&report).context("writing YAML")?
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What `render` prints, in the order a reader wants it.
#[derive(serde::Serialize)]
struct Report {
    config: Value,
    result: Value,
    events: Events,
}

/// The events shown, in lifecycle order.
#[derive(Default, serde::Serialize)]
struct Events {
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<EventReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coupled: Option<EventReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<EventReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decoupled: Option<EventReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<EventReport>,
}

/// What each side does at one event, plug side first.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EventReport {
    plug: Value,
    socket: Value,
    /// After `coupled` and `updated`: the result phase, socket first.
    #[serde(skip_serializing_if = "Option::is_none")]
    result_resources: Option<Value>,
    /// At `decoupled`: what each side deletes automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    deletes: Option<Value>,
}

/// Computes the whole report.
fn render(
    coupling: &Coupling<'_>,
    objects: &[Value],
    apparatus: Option<&ApparatusOptions>,
    only: Option<Event>,
) -> anyhow::Result<Report> {
    let mut sources = sources(coupling, objects)?;
    apparatus_configs(coupling, &mut sources, apparatus)?;
    let configs = coupling.configs(&sources)?;
    let results = coupling.results(&sources, &configs)?;
    let mut events = Events::default();
    for event in Event::ALL
        .into_iter()
        .filter(|e| only.is_none_or(|o| o == *e))
    {
        let report = Some(event_report(coupling, event, &configs, &results)?);
        match event {
            Event::Created => events.created = report,
            Event::Coupled => events.coupled = report,
            Event::Updated => events.updated = report,
            Event::Decoupled => events.decoupled = report,
            Event::Deleted => events.deleted = report,
        }
    }
    Ok(Report {
        config: pair(&configs),
        result: pair(&results),
        events,
    })
}

/// What each side does at one event.
fn event_report(
    coupling: &Coupling<'_>,
    event: Event,
    configs: &Configs,
    results: &Results,
) -> anyhow::Result<EventReport> {
    let own = |event| -> anyhow::Result<EventReport> {
        Ok(EventReport {
            plug: listed(render_own_event(coupling.owner(Side::Plug), event)?),
            socket: listed(render_own_event(coupling.owner(Side::Socket), event)?),
            result_resources: None,
            deletes: None,
        })
    };
    let coupled = |event| -> anyhow::Result<EventReport> {
        let both = |render: &dyn Fn(Side) -> Result<Vec<Rendered>, integration_engine::Error>| {
            Ok::<_, anyhow::Error>(
                json!({"socket": listed(render(Side::Socket)?), "plug": listed(render(Side::Plug)?)}),
            )
        };
        let decoupling = event == CouplingEvent::Decoupled;
        Ok(EventReport {
            plug: listed(coupling.render_event(Side::Plug, event, configs)?),
            socket: listed(coupling.render_event(Side::Socket, event, configs)?),
            result_resources: if decoupling {
                None
            } else {
                Some(both(&|side| {
                    coupling.render_result_resources(side, configs, results)
                })?)
            },
            deletes: if decoupling {
                Some(both(&|side| {
                    coupling.render_decouple_deletes(side, configs, Some(results))
                })?)
            } else {
                None
            },
        })
    };
    match event {
        Event::Created => own(OwnEvent::Created),
        Event::Deleted => own(OwnEvent::Deleted),
        Event::Coupled => coupled(CouplingEvent::Coupled),
        Event::Updated => coupled(CouplingEvent::Updated),
        Event::Decoupled => coupled(CouplingEvent::Decoupled),
    }
}

/// Rendered objects as the report lists them.
fn listed(rendered: Vec<Rendered>) -> Value {
    rendered
        .into_iter()
        .map(|r| {
            let mut object = r.object;
            super::shown::hide_secret_values(&mut object);
            json!({
                "action": r.action.as_str(),
                "template": r.template,
                "object": object,
            })
        })
        .collect()
}

/// Both sides' validated values, secret ones hidden.
fn pair(validated: &integration_engine::Pair<Validated>) -> Value {
    let shown = |v: &Validated| -> Value {
        v.values
            .iter()
            .map(|(k, value)| {
                let value = if v.secret_keys.contains(k) {
                    SECRET
                } else {
                    value
                };
                (k.clone(), Value::from(value))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    json!({"plug": shown(&validated.plug), "socket": shown(&validated.socket)})
}

/// The objects the coupling reads, taken from the `--objects` files.
fn sources(
    coupling: &Coupling<'_>,
    objects: &[Value],
) -> Result<Sources, integration_engine::Error> {
    let plan = coupling.plan()?;
    let mut sources = Sources::default();
    for side in [&plan.plug, &plan.socket] {
        for key in side.config_map_keys() {
            if let Some(cm) =
                find::<ConfigMap>(objects, "v1", "ConfigMap", &key.namespace, &key.name)
            {
                sources.add_config_map(&cm);
            }
        }
        for key in side.secret_keys() {
            if let Some(secret) = find::<Secret>(objects, "v1", "Secret", &key.namespace, &key.name)
            {
                sources.add_secret(&secret);
            }
        }
        for var in side.var_refs() {
            let t = &var.target;
            if let Some(object) =
                find::<Value>(objects, &t.api_version, &t.kind, &t.namespace, &t.name)
            {
                sources.add_object(t.clone(), object);
            }
        }
    }
    Ok(sources)
}

/// The object with this identity, if one of the files holds it.
fn find<T: serde::de::DeserializeOwned>(
    objects: &[Value],
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Option<T> {
    objects
        .iter()
        .find(|o| {
            o["apiVersion"] == api_version
                && o["kind"] == kind
                && o["metadata"]["name"] == name
                && o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(DEFAULT_NAMESPACE)
                    == namespace
        })
        .and_then(|o| {
            let mut o = o.clone();
            o["metadata"]["namespace"] = Value::from(namespace);
            serde_json::from_value(o).ok()
        })
}

/// Puts each apparatus side's `/config` answer into `sources`: called
/// where `options` (`None`: `--no-apparatus`) or an absolute endpoint
/// gives a URL, else `{}`, said on stderr.
fn apparatus_configs(
    coupling: &Coupling<'_>,
    sources: &mut Sources,
    options: Option<&ApparatusOptions>,
) -> anyhow::Result<()> {
    let caller = options.map(|options| Caller::new(options.clone()));
    let mut runtime = None;
    for side in Side::BOTH {
        let owner = coupling.owner(side);
        let Some(spec) = &owner.spec().apparatus else {
            continue;
        };
        let who = format!("{} {}/{}", side.as_str(), owner.namespace(), owner.name());
        let flag = format!("--{}-apparatus", side.as_str());
        let answer = match &caller {
            None => {
                eprintln!(
                    "note: --no-apparatus: {who}'s apparatus is not called; its config is treated as empty"
                );
                json!({})
            }
            Some(caller) if caller.has_own_address(side, spec) => {
                let Some(call) = caller.config(coupling, side, sources)? else {
                    continue;
                };
                let runtime = match &runtime {
                    Some(r) => r,
                    None => runtime.insert(async_runtime()?),
                };
                eprintln!("note: calling {who}'s apparatus: POST {}", call.shown_url());
                runtime.block_on(caller.post(&call))?
            }
            Some(_) => {
                eprintln!(
                    "note: {who}'s apparatus runs in the cluster; its config is treated as empty (give a local server with {flag} URL)"
                );
                json!({})
            }
        };
        *sources.apparatus_config.get_mut(side) = Some(answer);
    }
    Ok(())
}

/// A runtime for apparatus calls.
fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Says on stderr when the plug does not name the socket.
fn warn_about_socket_mismatch(plug: &Plug, socket: &Socket) {
    let target = plug.spec.socket.as_ref();
    let (name, namespace) = (
        target.map(|s| s.name.as_str()),
        target
            .and_then(|s| s.namespace.as_deref())
            .or(plug.metadata.namespace.as_deref()),
    );
    if name != socket.metadata.name.as_deref() || namespace != socket.metadata.namespace.as_deref()
    {
        eprintln!(
            "note: the plug's spec.socket does not name this socket; rendering them together anyway"
        );
    }
}

/// The one `kind` document of a file, in the default namespace if it
/// names none, and the file's other documents.
fn read_manifest<T: serde::de::DeserializeOwned>(
    path: &Path,
    kind: &str,
) -> anyhow::Result<(T, Vec<Value>)> {
    let (mut found, others): (Vec<Value>, Vec<Value>) = read_documents(path)?
        .into_iter()
        .partition(|d| d["kind"] == kind);
    if found.len() != 1 {
        bail!(
            "{}: expected one {kind}, found {}",
            path.display(),
            found.len()
        );
    }
    let mut object = found.remove(0);
    if object["metadata"]["namespace"].is_null() {
        object["metadata"]["namespace"] = Value::from(DEFAULT_NAMESPACE);
    }
    let typed = serde_json::from_value(object)
        .with_context(|| format!("{}: not a valid {kind}", path.display()))?;
    Ok((typed, others))
}

/// A Secret's `stringData` folded into `data`, as the API server stores
/// it (a `stringData` key wins over the same `data` key); other objects
/// as they are.
fn fold_string_data(object: Value) -> Value {
    if object["kind"] != "Secret" || object["apiVersion"] != "v1" {
        return object;
    }
    let Ok(mut secret) = serde_json::from_value::<Secret>(object.clone()) else {
        return object;
    };
    let Some(strings) = secret.string_data.take() else {
        return object;
    };
    let data = secret.data.get_or_insert_with(Default::default);
    for (key, value) in strings {
        data.insert(key, k8s_openapi::ByteString(value.into_bytes()));
    }
    serde_json::to_value(secret).unwrap_or(object)
}

/// Every YAML or JSON document of a file, read as kubectl reads it
/// (duplicate keys and unknown fields are warnings).
pub(crate) fn read_documents(path: &Path) -> anyhow::Result<Vec<Value>> {
    super::yaml::read_documents(path)
}

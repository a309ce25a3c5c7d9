//! Waiting for the applied plugs to couple, and what `dev` prints about
//! each: its Coupled condition, its error, its status, and the objects its
//! coupling created (read back from the cluster, not guessed). The same
//! for Applications and Components is in [`application`].

pub mod application;

use std::collections::BTreeSet;
use std::time::Duration;

use integration_api::{Do, Plug, PlugStatus, Socket};
use integration_controller::{Cluster, MapReader, ObjectRef, fetch};
use integration_engine::{Coupling, CouplingEvent, Rendered, Side};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::Api;
use serde_json::Value;
use tokio::time::Instant;

/// How long a plug must keep a `Failed` condition before the wait gives
/// up on it: errors right after apply (a ConfigMap not applied yet, a
/// socket not reconciled yet) are retried by the controller and clear.
const FAILING_FOR: Duration = Duration::from_secs(5);

/// How often plugs are read while waiting.
const POLL: Duration = Duration::from_millis(200);

/// Where a plug stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Coupled,
    Failing(Instant),
    Pending,
}

/// Waits until every plug is `Coupled=True` or has been failing for
/// [`FAILING_FOR`], or `timeout` passes; returns the last state read.
pub async fn wait(
    client: &kube::Client,
    plugs: &[(String, String)],
    timeout: Duration,
) -> Vec<Option<Plug>> {
    let deadline = Instant::now() + timeout;
    let mut states = vec![State::Pending; plugs.len()];
    loop {
        let mut last = Vec::with_capacity(plugs.len());
        for ((ns, name), state) in plugs.iter().zip(states.iter_mut()) {
            let plug = Api::<Plug>::namespaced(client.clone(), ns)
                .get_opt(name)
                .await
                .ok()
                .flatten();
            *state = match plug.as_ref() {
                Some(p) if is_coupled(p) => State::Coupled,
                Some(p) if condition(p, "Failed").is_some_and(|c| c.status == "True") => {
                    match *state {
                        State::Failing(since) => State::Failing(since),
                        _ => State::Failing(Instant::now()),
                    }
                }
                _ => State::Pending,
            };
            last.push(plug);
        }
        let settled = states.iter().all(|s| match s {
            State::Coupled => true,
            State::Failing(since) => since.elapsed() >= FAILING_FOR,
            State::Pending => false,
        });
        if settled || Instant::now() >= deadline {
            return last;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the plug's `Coupled` condition is `True`.
pub fn is_coupled(plug: &Plug) -> bool {
    condition(plug, "Coupled").is_some_and(|c| c.status == "True")
}

fn condition<'p>(plug: &'p Plug, type_: &str) -> Option<&'p Condition> {
    plug.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// What `dev` prints about one plug, in the order a reader wants it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlugReport {
    /// `namespace/name`.
    plug: String,
    coupled: bool,
    /// The `Coupled` condition's reason and message.
    reason: String,
    message: String,
    /// The `Failed` condition's message, while it is `True`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<PlugStatus>,
    /// The live objects the coupling applied (coupled plugs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    objects: Option<Vec<Value>>,
    /// Why `objects` could not be listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    objects_error: Option<String>,
}

/// The report of one plug (`None`: it was not found at all).
pub async fn plug_report(
    cluster: &Cluster,
    key: &(String, String),
    plug: Option<&Plug>,
) -> PlugReport {
    let (ns, name) = key;
    let mut report = PlugReport {
        plug: format!("{ns}/{name}"),
        coupled: false,
        reason: "NotFound".into(),
        message: "the plug was not found".into(),
        error: None,
        status: None,
        objects: None,
        objects_error: None,
    };
    let Some(plug) = plug else {
        return report;
    };
    let coupled = condition(plug, "Coupled");
    report.coupled = is_coupled(plug);
    report.reason = coupled
        .map_or("NotReconciled", |c| c.reason.as_str())
        .into();
    report.message = coupled
        .map_or("the operator has not written a condition yet", |c| {
            c.message.as_str()
        })
        .into();
    report.error = condition(plug, "Failed")
        .filter(|c| c.status == "True")
        .map(|c| c.message.clone());
    report.status = plug.status.clone();
    if report.coupled {
        match created_objects(cluster, plug).await {
            Ok(objects) => report.objects = Some(objects),
            Err(e) => report.objects_error = Some(format!("{e:#}")),
        }
    }
    report
}

/// The live objects the plug's coupling applies: its coupled and updated
/// resources and both sides' result resources, rendered from the current
/// specs and inputs, then read back from the cluster (those that exist).
async fn created_objects(cluster: &Cluster, plug: &Plug) -> anyhow::Result<Vec<Value>> {
    let (ns, name) = match plug.status.as_ref().and_then(|s| s.coupled_socket.as_ref()) {
        Some(c) => (c.namespace.clone(), c.name.clone()),
        None => plug
            .socket_key()
            .ok_or_else(|| anyhow::anyhow!("the plug names no socket"))?,
    };
    let socket = Api::<Socket>::namespaced(cluster.client().clone(), &ns)
        .get(&name)
        .await?;
    let coupling = Coupling::new(plug, &socket)?;
    let sources = fetch(cluster, &coupling.plan()?, MapReader::Operator).await?;
    let configs = coupling.configs(&sources)?;
    let results = coupling.results(&sources, &configs)?;
    let mut rendered: Vec<Rendered> = Vec::new();
    for side in [Side::Plug, Side::Socket] {
        for event in [CouplingEvent::Coupled, CouplingEvent::Updated] {
            rendered.extend(coupling.render_event(side, event, &configs)?);
        }
        rendered.extend(coupling.render_result_resources(side, &configs, &results)?);
    }
    let refs: BTreeSet<ObjectRef> = rendered
        .iter()
        .filter(|r| r.action != Do::Delete)
        .filter_map(|r| ObjectRef::of(&r.object).ok())
        .collect();
    let objects = cluster.objects();
    let mut found = Vec::new();
    for r in &refs {
        if let Some(object) = objects.get(r).await? {
            let mut value = serde_json::to_value(object)?;
            if let Some(meta) = value["metadata"].as_object_mut() {
                meta.remove("managedFields");
            }
            crate::cli::shown::hide_secret_values(&mut value);
            found.push(value);
        }
    }
    Ok(found)
}

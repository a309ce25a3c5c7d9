//! Waiting for the applied Applications and Components to settle, and
//! what `dev` prints about each: phase, reason, message, READY, and the
//! children read back from the cluster.
//!
//! No workload controller runs under `dev`, so workloads never become
//! ready: the wait is for each parent to be reconciled (its status about
//! its current generation) and its status to stop changing, not for it to
//! be `Running`.

use std::time::Duration;

use integration_api::{Application, Component, FIELD_MANAGER, WorkloadStatus};
use integration_controller::RestMapper;
use integration_controller::application::children::MANAGED_BY;
use integration_controller::application::status::reason;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::ApiResource;
use tokio::time::Instant;

use super::{FAILING_FOR, POLL};

/// How long a reconciled status must stay the same to count as settled:
/// long enough for a Component and its Application to see each other, and
/// for the monitoring CRD to be noticed.
const STEADY: Duration = Duration::from_secs(2);

/// The kinds an Application or Component makes, as `(apiVersion, kind)`.
const CHILD_KINDS: [(&str, &str); 7] = [
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    (integration_api::API_VERSION, "Plug"),
    (integration_api::API_VERSION, "Socket"),
];

/// An applied Application or Component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// `Application` or `Component`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    /// Its API resource, `None` for other kinds.
    fn resource(&self) -> Option<ApiResource> {
        match self.kind.as_str() {
            "Application" => Some(ApiResource::erase::<Application>(&())),
            "Component" => Some(ApiResource::erase::<Component>(&())),
            _ => None,
        }
    }
}

/// The last status read of one parent and since when it reads so.
struct Seen {
    status: Option<serde_json::Value>,
    since: Instant,
}

/// Waits until every parent is reconciled and its status has not changed
/// for [`STEADY`] ([`FAILING_FOR`] while `Failed`, which the controller
/// may still retry), or `timeout` passes; returns the last objects read.
pub async fn wait(
    client: &kube::Client,
    keys: &[Key],
    timeout: Duration,
) -> Vec<Option<DynamicObject>> {
    let deadline = Instant::now() + timeout;
    let mut seen: Vec<Seen> = keys
        .iter()
        .map(|_| Seen {
            status: None,
            since: Instant::now(),
        })
        .collect();
    loop {
        let mut last = Vec::with_capacity(keys.len());
        for (key, seen) in keys.iter().zip(seen.iter_mut()) {
            let object = read(client, key).await;
            let status = object.as_ref().map(|o| o.data["status"].clone());
            if status != seen.status {
                *seen = Seen {
                    status,
                    since: Instant::now(),
                };
            }
            last.push(object);
        }
        let settled = last.iter().zip(&seen).all(|(object, seen)| {
            let Some(object) = object else {
                return false;
            };
            let steady = if phase(object) == "Failed" {
                FAILING_FOR
            } else {
                STEADY
            };
            is_reconciled(object) && !waits_for_peer(object, keys) && seen.since.elapsed() >= steady
        });
        if settled || Instant::now() >= deadline {
            return last;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether a component of the parent still reads as missing or not
/// reconciled though it was applied with it (a Component missing an
/// Application that was applied too): the controllers are still catching
/// up with each other, however steady the status looks on a slow machine.
fn waits_for_peer(object: &DynamicObject, keys: &[Key]) -> bool {
    let namespace = object.metadata.namespace.as_deref().unwrap_or_default();
    let applied = |kind: &str, name: &str| {
        keys.iter()
            .any(|k| k.kind == kind && k.namespace == namespace && k.name == name)
    };
    let application = object.data["spec"]["application"]
        .as_str()
        .unwrap_or_default();
    status(object)
        .components
        .iter()
        .flatten()
        .any(|c| match c.reason.as_deref() {
            Some(reason::COMPONENT_NOT_RECONCILED) => true,
            Some(reason::COMPONENT_NOT_FOUND) => applied("Component", &c.name),
            Some(reason::APPLICATION_NOT_FOUND) => applied("Application", application),
            _ => false,
        })
}

/// The parent as it is now, `None` when absent or unreadable.
async fn read(client: &kube::Client, key: &Key) -> Option<DynamicObject> {
    let resource = key.resource()?;
    Api::<DynamicObject>::namespaced_with(client.clone(), &key.namespace, &resource)
        .get_opt(&key.name)
        .await
        .ok()
        .flatten()
}

/// Its status, empty before the first write.
fn status(object: &DynamicObject) -> WorkloadStatus {
    serde_json::from_value(object.data["status"].clone()).unwrap_or_default()
}

fn phase(object: &DynamicObject) -> String {
    status(object).phase.unwrap_or_default()
}

/// Whether the status is about the current spec.
fn is_reconciled(object: &DynamicObject) -> bool {
    let observed = status(object).observed_generation;
    observed.is_some() && observed == object.metadata.generation
}

/// Whether `dev --once` counts the parent as fine: reconciled and not
/// `Failed` (its workloads never become ready under `dev`).
pub fn is_ok(object: &DynamicObject) -> bool {
    is_reconciled(object) && phase(object) != "Failed"
}

/// What `dev` prints about one Application or Component.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReport {
    /// `namespace/name`.
    name: String,
    /// Its status is about its current generation.
    reconciled: bool,
    phase: String,
    /// The `Ready` condition's reason.
    reason: String,
    message: String,
    /// Ready replicas over desired ones, as `kubectl get` shows.
    ready: String,
    /// Every condition, as `Type=Status/Reason`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    conditions: Vec<String>,
    /// Each component's state.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<integration_api::ComponentState>>,
    /// Each link to another application, as `from -> socket: State`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<String>,
    /// Its children in the cluster, as `Kind/name`.
    children: Vec<String>,
    /// Why `children` could not be listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    children_error: Option<String>,
}

/// The report of one parent (`None`: it was not found at all).
pub async fn parent_report(
    client: &kube::Client,
    key: &Key,
    object: Option<&DynamicObject>,
) -> ParentReport {
    let mut report = ParentReport {
        name: format!("{}/{}", key.namespace, key.name),
        reconciled: false,
        phase: String::new(),
        reason: "NotFound".into(),
        message: format!("the {} was not found", key.kind),
        ready: String::new(),
        conditions: Vec::new(),
        components: None,
        links: Vec::new(),
        children: Vec::new(),
        children_error: None,
    };
    let Some(object) = object else {
        return report;
    };
    let status = status(object);
    let ready = condition(&status, "Ready");
    report.reconciled = is_reconciled(object);
    report.phase = status.phase.clone().unwrap_or_default();
    report.reason = ready.map_or("NotReconciled", |c| c.reason.as_str()).into();
    report.message = status
        .message
        .clone()
        .or_else(|| ready.map(|c| c.message.clone()))
        .unwrap_or_default();
    report.ready = status.ready.clone().unwrap_or_default();
    report.conditions = status
        .conditions
        .iter()
        .flatten()
        .map(|c| format!("{}={}/{}", c.type_, c.status, c.reason))
        .collect();
    report.links = status
        .links
        .iter()
        .flatten()
        .map(|l| format!("{} -> {}: {}", l.from, l.to, l.state))
        .collect();
    report.components = status.components;
    match children(client, &key.namespace, object).await {
        Ok(children) => report.children = children,
        Err(e) => report.children_error = Some(format!("{e:#}")),
    }
    report
}

fn condition<'s>(status: &'s WorkloadStatus, type_: &str) -> Option<&'s Condition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// The objects of the child kinds that the operator manages and that the
/// parent owns, as `Kind/name`; kinds the cluster does not serve (the
/// monitoring API without its CRD) are skipped.
async fn children(
    client: &kube::Client,
    namespace: &str,
    parent: &DynamicObject,
) -> anyhow::Result<Vec<String>> {
    let uid = parent.metadata.uid.as_deref().unwrap_or_default();
    let mapper = RestMapper::new(client.clone());
    let managed = ListParams::default().labels(&format!("{MANAGED_BY}={FIELD_MANAGER}"));
    let mut found = Vec::new();
    for (api_version, kind) in CHILD_KINDS {
        let Ok(mapping) = mapper.mapping(api_version, kind).await else {
            continue;
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &mapping.resource);
        let list = api.list(&managed).await?;
        found.extend(
            list.items
                .iter()
                .filter(|o| {
                    o.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|r| r.uid == uid)
                })
                .map(|o| format!("{kind}/{}", o.metadata.name.as_deref().unwrap_or_default())),
        );
    }
    Ok(found)
}

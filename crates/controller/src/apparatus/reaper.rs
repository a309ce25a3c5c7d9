//! The idle reaper (docs/apparatus.md, "Idle reaper"): every period, lists the
//! apparatus Pods in scope (label `apparatus`) and deletes those unused for
//! longer than their idle timeout ([`workload::is_idle`]). Services stay. Its
//! only state is the Pods' annotations, so it survives operator restarts, and
//! each delete carries the listed resourceVersion, so a concurrent last-used
//! refresh wins over the delete.

use std::future::Future;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Preconditions};
use kube::{Client, ResourceExt};
use tokio::time::MissedTickBehavior;

use super::workload::{self, APPARATUS_LABEL};

/// Reaps every `period` (the first time at once) until `shutdown`.
pub async fn run(
    client: Client,
    namespace: Option<String>,
    period: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticks.tick() => {
                reap_once(&client, namespace.as_deref()).await;
            }
        }
    }
}

/// One sweep over `namespace` (all when `None`): deletes the idle
/// apparatus Pods and returns how many it deleted.
pub async fn reap_once(client: &Client, namespace: Option<&str>) -> usize {
    let pods: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let listed = match pods
        .list(&ListParams::default().labels(APPARATUS_LABEL))
        .await
    {
        Ok(list) => list.items,
        Err(e) => {
            tracing::warn!(error = %e, "listing apparatus Pods failed");
            return 0;
        }
    };
    let now = Timestamp::now();
    let mut reaped = 0;
    for pod in listed.iter().filter(|p| workload::is_idle(p, now)) {
        if delete_unchanged(client, pod).await {
            reaped += 1;
        }
    }
    reaped
}

/// Deletes `pod` unless it changed since it was listed (409) or is gone.
async fn delete_unchanged(client: &Client, pod: &Pod) -> bool {
    let namespace = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
        }),
        ..DeleteParams::default()
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    match api.delete(&name, &params).await {
        Ok(_) => {
            tracing::info!(pod = %format!("{namespace}/{name}"), "reaped idle apparatus Pod");
            true
        }
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => false,
        Err(e) => {
            tracing::warn!(pod = %format!("{namespace}/{name}"), error = %e, "reaping an apparatus Pod failed");
            false
        }
    }
}

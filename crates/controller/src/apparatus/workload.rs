//! The apparatus Pod and Service of an owner (docs/apparatus.md, "Lazy
//! start"), and
//! the idle rule the reaper applies: pure.
//!
//! Both are named `<owner>-apparatus`, carry the label
//! `apparatus: <owner>-apparatus` and a controller owner reference to the
//! owner (so they go with it). The Pod records in annotations what the
//! operator needs later, so no state lives in memory:
//! [`LAST_USED`], [`IDLE_TIMEOUT`] and [`SPEC_HASH`].

use std::collections::BTreeMap;

use integration_api::{API_VERSION, DEFAULT_IDLE_TIMEOUT_SECONDS, GROUP, SpecApparatus};
use integration_engine::{Owner, sha256_hex};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodSpec, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Label on the apparatus Pod (and Service selector): `<owner>-apparatus`.
pub const APPARATUS_LABEL: &str = "apparatus";
/// Pod annotation: when the apparatus was last called (RFC 3339).
pub const LAST_USED: &str = "integration.rock8s.com/last-used";
/// Pod annotation: seconds without calls after which the Pod is reaped.
pub const IDLE_TIMEOUT: &str = "integration.rock8s.com/idle-timeout";
/// Pod annotation: hash of the Pod spec it was created from; a Pod whose
/// hash differs from the owner's current `spec.apparatus` is replaced.
pub const SPEC_HASH: &str = "integration.rock8s.com/spec-hash";
/// Keeps an Istio sidecar out of the apparatus Pod.
const ISTIO_INJECT: &str = "sidecar.istio.io/inject";
/// The container port the Service targets, by name.
const CONTAINER_PORT: &str = "container";

/// `<owner>-apparatus`: the name of the Pod and the Service.
pub fn apparatus_name(owner: &str) -> String {
    format!("{owner}-apparatus")
}

/// A controller owner reference to the Plug or Socket.
fn owner_reference(owner: &Owner<'_>) -> OwnerReference {
    OwnerReference {
        api_version: API_VERSION.to_string(),
        kind: owner.side().kind().to_string(),
        name: owner.name().to_string(),
        uid: owner.uid().to_string(),
        controller: Some(true),
        block_owner_deletion: None,
    }
}

/// Name, namespace, the `apparatus` label and the owner reference.
fn metadata(owner: &Owner<'_>) -> ObjectMeta {
    let name = apparatus_name(owner.name());
    ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(owner.namespace().to_string()),
        labels: Some(BTreeMap::from([(APPARATUS_LABEL.to_string(), name)])),
        owner_references: Some(vec![owner_reference(owner)]),
        ..ObjectMeta::default()
    }
}

/// The Service: ClusterIP, port `http` 80/TCP to the named container port
/// `container`, selecting the Pod.
pub fn desired_service(owner: &Owner<'_>) -> Service {
    let meta = metadata(owner);
    let selector = meta.labels.clone();
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            ports: Some(vec![ServicePort {
                name: Some("http".to_string()),
                port: 80,
                protocol: Some("TCP".to_string()),
                target_port: Some(IntOrString::String(CONTAINER_PORT.to_string())),
                ..ServicePort::default()
            }]),
            selector,
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The Pod: the owner's service account (token mounted), the apparatus
/// containers verbatim, its affinity (no architecture is pinned), and the
/// annotations that say when it was last used (`now`) and from which spec
/// it was built.
pub fn desired_pod(owner: &Owner<'_>, apparatus: &SpecApparatus, now: Timestamp) -> Pod {
    let spec = PodSpec {
        service_account_name: Some(owner.spec().service_account_name().to_string()),
        automount_service_account_token: Some(true),
        affinity: apparatus.affinity.clone(),
        containers: apparatus.containers.clone(),
        ..PodSpec::default()
    };
    let mut meta = metadata(owner);
    meta.annotations = Some(BTreeMap::from([
        (ISTIO_INJECT.to_string(), "false".to_string()),
        (SPEC_HASH.to_string(), spec_hash(&spec)),
        (LAST_USED.to_string(), now.to_string()),
        (
            IDLE_TIMEOUT.to_string(),
            idle_timeout(apparatus).to_string(),
        ),
    ]));
    Pod {
        metadata: meta,
        spec: Some(spec),
        status: None,
    }
}

/// The idle timeout in whole seconds, never negative.
pub fn idle_timeout(apparatus: &SpecApparatus) -> u64 {
    u64::try_from(apparatus.idle_timeout_seconds()).unwrap_or(0)
}

/// Hex SHA-256 of the Pod spec's JSON.
fn spec_hash(spec: &PodSpec) -> String {
    sha256_hex(&serde_json::to_string(spec).unwrap_or_default())
}

fn annotation<'p>(pod: &'p Pod, key: &str) -> Option<&'p str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// Whether `existing` was built from another spec than `desired` (an
/// apparatus change), or has stopped for good (phase `Succeeded` or
/// `Failed`, which the reference counted as running forever).
pub fn needs_replacing(existing: &Pod, desired: &Pod) -> bool {
    let stopped = existing
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|phase| phase == "Succeeded" || phase == "Failed");
    stopped || annotation(existing, SPEC_HASH) != annotation(desired, SPEC_HASH)
}

/// Whether `pod` is an apparatus Pod of a Plug or Socket: labelled with
/// its own name and controlled by one of our kinds.
pub fn is_apparatus_pod(pod: &Pod) -> bool {
    let labelled = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(APPARATUS_LABEL))
        .is_some_and(|v| Some(v) == pod.metadata.name.as_ref());
    let owned = pod.metadata.owner_references.iter().flatten().any(|r| {
        r.api_version.split('/').next() == Some(GROUP) && (r.kind == "Plug" || r.kind == "Socket")
    });
    labelled && owned
}

/// When `pod` was last used: its [`LAST_USED`] annotation, else its
/// creation time.
pub fn last_used(pod: &Pod) -> Option<Timestamp> {
    annotation(pod, LAST_USED)
        .and_then(|t| t.parse().ok())
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// Whether the reaper deletes `pod` at `now`: an apparatus Pod, not being
/// deleted, unused for longer than its [`IDLE_TIMEOUT`] (default 60 s).
pub fn is_idle(pod: &Pod, now: Timestamp) -> bool {
    if !is_apparatus_pod(pod) || pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let timeout = annotation(pod, IDLE_TIMEOUT)
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(DEFAULT_IDLE_TIMEOUT_SECONDS);
    last_used(pod).is_some_and(|used| now.as_second() - used.as_second() > timeout)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use integration_api::Plug;
    use k8s_openapi::api::core::v1::PodStatus;
    use serde_json::json;

    fn plug() -> Plug {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Plug",
            "metadata": {"name": "orders-db", "namespace": "app", "uid": "u1", "generation": 1},
            "spec": {
                "serviceAccountName": "integrator",
                "apparatus": {
                    "endpoint": "/plug", "idleTimeout": 30,
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [
                            {"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}},
                    "containers": [{"name": "apparatus", "image": "rec:1",
                        "ports": [{"name": "container", "containerPort": 8080}]}]
                }
            }
        }))
        .unwrap()
    }

    fn pod_of(plug: &Plug, now: Timestamp) -> Pod {
        let owner = Owner::plug(plug).unwrap();
        desired_pod(&owner, plug.spec.common.apparatus.as_ref().unwrap(), now)
    }

    #[test]
    fn service_matches_the_reference_shape() {
        let plug = plug();
        let svc = serde_json::to_value(desired_service(&Owner::plug(&plug).unwrap())).unwrap();
        assert_eq!(
            svc,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {
                    "name": "orders-db-apparatus", "namespace": "app",
                    "labels": {"apparatus": "orders-db-apparatus"},
                    "ownerReferences": [{"apiVersion": API_VERSION, "kind": "Plug",
                        "name": "orders-db", "uid": "u1", "controller": true}]
                },
                "spec": {
                    "type": "ClusterIP",
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "container"}],
                    "selector": {"apparatus": "orders-db-apparatus"}
                }
            })
        );
    }

    #[test]
    fn pod_has_the_owner_sa_containers_affinity_and_no_arch_pin() {
        let plug = plug();
        let now: Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        let pod = serde_json::to_value(pod_of(&plug, now)).unwrap();
        let meta = &pod["metadata"];
        assert_eq!(meta["labels"], json!({"apparatus": "orders-db-apparatus"}));
        assert_eq!(meta["annotations"]["sidecar.istio.io/inject"], "false");
        assert_eq!(meta["annotations"][LAST_USED], "2024-05-01T10:00:00Z");
        assert_eq!(meta["annotations"][IDLE_TIMEOUT], "30");
        assert_eq!(meta["annotations"][SPEC_HASH].as_str().unwrap().len(), 64);
        assert_eq!(meta["ownerReferences"][0]["kind"], "Plug");
        let spec = &pod["spec"];
        assert_eq!(spec["serviceAccountName"], "integrator");
        assert_eq!(spec["automountServiceAccountToken"], true);
        assert_eq!(
            spec["containers"],
            serde_json::to_value(&plug.spec.common.apparatus.as_ref().unwrap().containers).unwrap()
        );
        assert_eq!(
            spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                [0]["matchExpressions"][0]["key"],
            "disk"
        );
        assert!(!pod.to_string().contains("kubernetes.io/arch"));
        assert!(spec.get("restartPolicy").is_none());
    }

    #[test]
    fn default_service_account_and_no_affinity() {
        let mut plug = plug();
        plug.spec.common.service_account_name = None;
        plug.spec.common.apparatus.as_mut().unwrap().affinity = None;
        let pod = pod_of(&plug, Timestamp::UNIX_EPOCH);
        let spec = pod.spec.unwrap();
        assert_eq!(spec.service_account_name.as_deref(), Some("default"));
        assert!(spec.affinity.is_none());
    }

    #[test]
    fn a_changed_spec_or_a_stopped_pod_is_replaced() {
        let plug1 = plug();
        let old = pod_of(&plug1, Timestamp::UNIX_EPOCH);
        // Only the spec counts, not the time.
        assert!(!needs_replacing(&old, &pod_of(&plug1, Timestamp::now())));
        let mut plug2 = plug();
        plug2.spec.common.apparatus.as_mut().unwrap().containers[0].image = Some("rec:2".into());
        assert!(needs_replacing(
            &old,
            &pod_of(&plug2, Timestamp::UNIX_EPOCH)
        ));
        let mut failed = old.clone();
        failed.status = Some(PodStatus {
            phase: Some("Failed".into()),
            ..PodStatus::default()
        });
        assert!(needs_replacing(&failed, &old));
    }

    #[test]
    fn pods_are_idle_after_their_timeout() {
        let plug = plug();
        let used: Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        let pod = pod_of(&plug, used);
        let at = |secs: i64| Timestamp::from_second(used.as_second() + secs).unwrap();
        assert!(!is_idle(&pod, at(30)));
        assert!(is_idle(&pod, at(31)));
        let mut foreign = pod.clone();
        foreign.metadata.owner_references = None;
        assert!(!is_idle(&foreign, at(1000)));
        let mut mislabelled = pod.clone();
        mislabelled.metadata.name = Some("orders-db".into());
        assert!(!is_idle(&mislabelled, at(1000)));
    }

    #[test]
    fn unannotated_pods_use_creation_time_and_the_default_timeout() {
        let plug = plug();
        let created: Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        let mut pod = pod_of(&plug, created);
        pod.metadata.annotations = None;
        pod.metadata.creation_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(created),
        );
        let at = |secs: i64| Timestamp::from_second(created.as_second() + secs).unwrap();
        assert!(!is_idle(&pod, at(60)));
        assert!(is_idle(&pod, at(61)));
    }
}

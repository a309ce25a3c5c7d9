//! Applications and Components end to end (scenarios AP1–AP4, AP6, AP8
//! and AP9 of the Application spec, summarised in docs/application.md).
//! The tests play the workload controllers by writing the status of
//! Deployments, StatefulSets and Pods, and count the Application
//! controller's passes so that a hot loop fails.

use integration_api::{Application, Component};
use integration_controller::metrics::ControllerName;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use integration_controller::RunOptions;

use crate::harness::{Op, condition, eventually, sample, scrape};

/// Baseline B0: web (a Deployment of 2) connects to api (a StatefulSet
/// with storage and metrics).
pub(crate) const B0: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Application
metadata: {name: shop, namespace: NS}
spec:
  components:
    - name: web
      image: shop/web:1.4
      replicas: 2
      ports: [{name: http, port: 80, targetPort: 3000}]
      connectsTo: [{component: api, port: http}]
    - name: api
      kind: StatefulSet
      image: shop/api:2.0
      ports: [{name: http, port: 80, targetPort: 8080}]
      metrics: {port: http, path: /metrics, interval: 30s}
      volumeClaimTemplates:
        - metadata: {name: data}
          spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"#;

pub(crate) const WORKER: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Component
metadata: {name: worker, namespace: NS}
spec:
  application: shop
  image: shop/worker:1.0
"#;

/// `text` with its namespace.
pub(crate) fn at(text: &str, ns: &str) -> String {
    text.replace("NS", ns)
}

/// B0 with `componentRefs: [{name: worker}]`.
pub(crate) fn b0_with_worker(ns: &str) -> String {
    at(B0, ns).replace(
        "spec:\n  components:",
        "spec:\n  componentRefs: [{name: worker}]\n  components:",
    )
}

pub(crate) async fn namespace(op: &Op, ns: &str) {
    op.admin_apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
    ))
    .await;
}

pub(crate) fn apps(op: &Op, ns: &str) -> Api<Application> {
    Api::namespaced(op.client.clone(), ns)
}

pub(crate) async fn app(op: &Op, ns: &str) -> Application {
    apps(op, ns).get("shop").await.unwrap()
}

/// Waits until Application shop in `ns` is in `phase` with `reason`
/// (any reason when empty) for its generation.
pub(crate) async fn app_is(op: &Op, ns: &str, phase: &str, reason: &str) -> Application {
    let what = format!("Application {ns}/shop {phase} {reason}");
    eventually(&what, || async {
        let app = apps(op, ns).get_opt("shop").await.unwrap()?;
        let status = app.status.as_ref()?;
        let ready = condition(status.conditions.as_ref(), "Ready")?;
        let current = status.observed_generation == app.meta().generation;
        (current
            && status.phase.as_deref() == Some(phase)
            && (reason.is_empty()
                || ready.reason == reason
                || component_reason(&app) == Some(reason)))
        .then_some(app)
    })
    .await
}

pub(crate) fn component_reason(app: &Application) -> Option<&str> {
    app.status
        .as_ref()?
        .components
        .as_ref()?
        .iter()
        .find_map(|c| c.reason.as_deref())
}

pub(crate) async fn component_is(
    op: &Op,
    ns: &str,
    name: &str,
    phase: &str,
    reason: &str,
) -> Component {
    let api: Api<Component> = Api::namespaced(op.client.clone(), ns);
    let what = format!("Component {ns}/{name} {phase} {reason}");
    eventually(&what, || async {
        let c = api.get_opt(name).await.unwrap()?;
        let status = c.status.as_ref()?;
        let state = status.components.as_ref()?.first()?;
        (status.phase.as_deref() == Some(phase)
            && state.reason.as_deref().unwrap_or_default() == reason)
            .then_some(c)
    })
    .await
}

pub(crate) fn deployments(op: &Op, ns: &str) -> Api<Deployment> {
    Api::namespaced(op.client.clone(), ns)
}

pub(crate) fn stateful_sets(op: &Op, ns: &str) -> Api<StatefulSet> {
    Api::namespaced(op.client.clone(), ns)
}

pub(crate) fn services(op: &Op, ns: &str) -> Api<Service> {
    Api::namespaced(op.client.clone(), ns)
}

/// Whether `name` does not exist (now).
pub(crate) async fn absent<K>(api: &Api<K>, name: &str) -> bool
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name).await.unwrap().is_none()
}

/// Waits for Deployment `name` and returns it.
pub(crate) async fn deployment(op: &Op, ns: &str, name: &str) -> Deployment {
    eventually(&format!("Deployment {ns}/{name}"), || async {
        deployments(op, ns).get_opt(name).await.unwrap()
    })
    .await
}

pub(crate) async fn stateful_set(op: &Op, ns: &str, name: &str) -> StatefulSet {
    eventually(&format!("StatefulSet {ns}/{name}"), || async {
        stateful_sets(op, ns).get_opt(name).await.unwrap()
    })
    .await
}

/// Writes a workload's status as its controller would.
pub(crate) async fn set_status<K>(api: &Api<K>, name: &str, status: Value)
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .unwrap();
}

/// "Make web ready": replicas of the current generation, all ready.
pub(crate) async fn deployment_ready(op: &Op, ns: &str, name: &str) {
    let d = deployment(op, ns, name).await;
    let replicas = d.spec.replicas.unwrap_or(1);
    set_status(
        &deployments(op, ns),
        name,
        json!({
            "observedGeneration": d.meta().generation, "replicas": replicas,
            "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]
        }),
    )
    .await;
}

/// "Make api ready".
pub(crate) async fn stateful_set_ready(op: &Op, ns: &str, name: &str) {
    let s = stateful_set(op, ns, name).await;
    set_status(
        &stateful_sets(op, ns),
        name,
        json!({
            "observedGeneration": s.meta().generation, "replicas": 1, "readyReplicas": 1,
            "currentReplicas": 1, "updatedReplicas": 1,
            "currentRevision": format!("{name}-1"), "updateRevision": format!("{name}-1")
        }),
    )
    .await;
}

pub(crate) async fn b0_ready(op: &Op, ns: &str) -> Application {
    op.apply(&at(B0, ns)).await;
    deployment_ready(op, ns, "web").await;
    stateful_set_ready(op, ns, "api").await;
    app_is(op, ns, "Running", "AllComponentsReady").await
}

/// Deletes Application shop in `ns` and waits until it is gone.
pub(crate) async fn delete_app(op: &Op, ns: &str) {
    apps(op, ns)
        .delete("shop", &DeleteParams::default())
        .await
        .unwrap();
    eventually("Application gone", || async {
        let gone = apps(op, ns).get_opt("shop").await.unwrap().is_none();
        gone.then_some(())
    })
    .await;
}

/// Waits until Application shop in namespace shop has an Event `reason`.
pub(crate) async fn event_recorded(op: &Op, reason: &str) {
    eventually(reason, || async {
        let events = op.events("shop", "shop").await;
        events.iter().any(|r| r == reason).then_some(())
    })
    .await;
}

pub(crate) fn passes(op: &Op) -> u64 {
    op.metrics.passes.of(ControllerName::Application)
}

/// Waits until the Application controller has been idle for a moment
/// and returns its pass count (a hot loop never settles: it fails here).
pub(crate) async fn settled(op: &Op) -> u64 {
    crate::harness::within(30, "application passes settle", async {
        loop {
            let before = passes(op);
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            if passes(op) == before {
                return before;
            }
        }
    })
    .await
}

pub(crate) fn ready_condition(app: &Application) -> (String, String) {
    let c = condition(app.status.as_ref().unwrap().conditions.as_ref(), "Ready").unwrap();
    (c.status.clone(), c.reason.clone())
}

#[tokio::test]
async fn ap1_apply_order_does_not_matter() {
    let mut op = Op::without_operator(RunOptions::default()).await;
    namespace(&op, "shop").await;
    op.apply(&at(WORKER, "shop")).await;
    let components: Api<Component> = Api::namespaced(op.client.clone(), "shop");
    let fresh = components.get("worker").await.unwrap();
    assert_eq!(
        fresh.status.unwrap().observed_generation,
        Some(-1),
        "never reconciled"
    );
    op.start_operator();
    component_is(&op, "shop", "worker", "Pending", "ApplicationNotFound").await;
    assert!(absent(&deployments(&op, "shop"), "worker").await);

    op.apply(&b0_with_worker("shop")).await;
    let worker = deployment(&op, "shop", "worker").await;
    let owners = worker.owner_references();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].kind, "Component", "owned by the Component only");
    deployment_ready(&op, "shop", "web").await;
    deployment_ready(&op, "shop", "worker").await;
    stateful_set_ready(&op, "shop", "api").await;
    let running = app_is(&op, "shop", "Running", "AllComponentsReady").await;
    assert_eq!(running.status.unwrap().ready.as_deref(), Some("3/3"));

    // Deleting the Application leaves the Component and its Deployment.
    delete_app(&op, "shop").await;
    component_is(&op, "shop", "worker", "Pending", "ApplicationNotFound").await;
    assert_eq!(deployment(&op, "shop", "worker").await.uid(), worker.uid());
    op.apply(&b0_with_worker("shop")).await;
    deployment_ready(&op, "shop", "web").await;
    stateful_set_ready(&op, "shop", "api").await;
    app_is(&op, "shop", "Running", "AllComponentsReady").await;
    assert_eq!(deployment(&op, "shop", "worker").await.uid(), worker.uid());

    // The other order, in a fresh namespace: identical children.
    namespace(&op, "shop2").await;
    op.apply(&b0_with_worker("shop2")).await;
    op.apply(&at(WORKER, "shop2")).await;
    for name in ["web", "worker"] {
        let a = deployment(&op, "shop", name).await.spec;
        let b = deployment(&op, "shop2", name).await.spec;
        let strip = |mut s: k8s_openapi::api::apps::v1::DeploymentSpec| {
            s.selector.match_labels = None;
            s.template.metadata = None;
            let mut c = s.template.spec.take().unwrap().containers;
            c.iter_mut().for_each(|c| c.env = None);
            c
        };
        assert_eq!(strip(a), strip(b), "{name}");
    }

    // A Component its Application does not list.
    op.apply(&at(WORKER, "shop").replace("name: worker", "name: stray"))
        .await;
    component_is(&op, "shop", "stray", "Pending", "NotReferenced").await;
    assert!(absent(&deployments(&op, "shop"), "stray").await);
}

#[tokio::test]
async fn ap2_never_running_early() {
    let op = Op::start().await;
    namespace(&op, "shop").await;
    let running = b0_ready(&op, "shop").await;
    assert_eq!(
        ready_condition(&running),
        ("True".into(), "AllComponentsReady".into())
    );
    // Wiring: web gets api's Service host and port.
    let web = deployment(&op, "shop", "web").await;
    let env = web.spec.template.spec.unwrap().containers[0]
        .env
        .clone()
        .unwrap();
    let var = |n: &str| {
        env.iter()
            .find(|e| e.name == n)
            .and_then(|e| e.value.clone())
    };
    assert_eq!(
        var("API_SERVICE_HOST").as_deref(),
        Some("api.shop.svc.cluster.local")
    );
    assert_eq!(var("API_SERVICE_PORT").as_deref(), Some("80"));
    assert_eq!(var("API_SERVICE_PORT_HTTP").as_deref(), Some("80"));

    // A new image: not Running before the Deployment controller looked.
    op.apply(&at(B0, "shop").replace("shop/web:1.4", "shop/web:1.5"))
        .await;
    let pending = app_is(&op, "shop", "Pending", "LatestGenerationNotObserved").await;
    let reconciling = condition(
        pending.status.as_ref().unwrap().conditions.as_ref(),
        "Reconciling",
    )
    .unwrap();
    assert_eq!(reconciling.status, "True");
    assert_eq!(ready_condition(&pending).0, "False");

    let generation = deployment(&op, "shop", "web").await.meta().generation;
    let rollout = |updated: i32, replicas: i32, ready: i32| {
        json!({
        "observedGeneration": generation, "replicas": replicas, "updatedReplicas": updated,
        "readyReplicas": ready, "availableReplicas": ready,
        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                       {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]})
    };
    set_status(&deployments(&op, "shop"), "web", rollout(1, 3, 2)).await;
    app_is(&op, "shop", "Pending", "LessUpdated").await;
    set_status(&deployments(&op, "shop"), "web", rollout(2, 3, 2)).await;
    app_is(&op, "shop", "Pending", "ExtraPods").await;
    deployment_ready(&op, "shop", "web").await;
    let done = app_is(&op, "shop", "Running", "AllComponentsReady").await;
    assert_eq!(done.status.unwrap().message, None);

    // The metrics: one Application, Running (once the cache has the
    // status), timed once.
    let text = eventually("the gauge follows the cache", || async {
        let text = scrape(&op.metrics);
        let running = sample(
            &text,
            r#"integration_operator_applications{phase="Running"}"#,
        );
        (running == Some(1.0)).then_some(text)
    })
    .await;
    assert_eq!(
        sample(
            &text,
            r#"integration_operator_applications{phase="Pending"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "integration_operator_application_time_to_running_seconds_count"
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn ap3_a_crash_after_the_rollout_is_degraded() {
    let op = Op::start().await;
    namespace(&op, "shop").await;
    b0_ready(&op, "shop").await;
    let generation = deployment(&op, "shop", "web").await.meta().generation;
    set_status(&deployments(&op, "shop"), "web", json!({
        "observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
        "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                       {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}))
    .await;
    let pods: Api<Pod> = Api::namespaced(op.client.clone(), "shop");
    let pod: Pod = serde_json::from_value(
        json!({"metadata": {"name": "web-7d4b9-x2x9z", "namespace": "shop",
        "labels": {"app.kubernetes.io/part-of": "shop", "app.kubernetes.io/name": "web",
                   "app.kubernetes.io/managed-by": "integration-operator"}},
        "spec": {"containers": [{"name": "web", "image": "shop/web:1.4"}]}}),
    )
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    set_status(
        &pods,
        "web-7d4b9-x2x9z",
        json!({"phase": "Running", "containerStatuses": [
        {"name": "web", "ready": false, "restartCount": 4, "image": "shop/web:1.4", "imageID": "",
         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
    )
    .await;
    let degraded = eventually("Degraded naming the pod", || async {
        let app = app_is(&op, "shop", "Degraded", "").await;
        let message = app.status.as_ref()?.message.clone()?;
        message.contains("CrashLoopBackOff").then_some(app)
    })
    .await;
    let status = degraded.status.as_ref().unwrap();
    assert!(
        status
            .message
            .as_deref()
            .unwrap()
            .contains("web-7d4b9-x2x9z")
    );
    assert_eq!(
        ready_condition(&degraded),
        ("False".into(), "ComponentsDegraded".into())
    );
    assert!(condition(status.conditions.as_ref(), "Stalled").is_none());
    assert_eq!(status.ready.as_deref(), Some("1/2"));
    assert!(
        op.events("shop", "shop")
            .await
            .contains(&"Degraded".to_string())
    );

    deployment_ready(&op, "shop", "web").await;
    let back = app_is(&op, "shop", "Running", "AllComponentsReady").await;
    assert_eq!(back.status.unwrap().message, None, "message cleared");
}

#[tokio::test]
async fn ap4_stalls_become_failed() {
    let op = Op::start().await;
    namespace(&op, "shop").await;
    op.apply(&at(B0, "shop").replace(
        "kind: StatefulSet",
        "kind: StatefulSet\n      progressDeadlineSeconds: 3",
    ))
    .await;
    deployment_ready(&op, "shop", "web").await;
    let api = stateful_set(&op, "shop", "api").await;
    let before = passes(&op);
    set_status(&stateful_sets(&op, "shop"), "api", json!({
        "observedGeneration": api.meta().generation, "replicas": 1, "readyReplicas": 0,
        "currentReplicas": 1, "updatedReplicas": 1, "currentRevision": "api-1", "updateRevision": "api-1"}))
    .await;
    let failed = app_is(&op, "shop", "Failed", "ProgressDeadlineExceeded").await;
    let status = failed.status.as_ref().unwrap();
    assert_eq!(
        status.message.as_deref(),
        Some("StatefulSet shop/api: 0/1 ready for 3s")
    );
    let stalled = condition(status.conditions.as_ref(), "Stalled").unwrap();
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "ProgressDeadlineExceeded")
    );
    let used = settled(&op).await - before;
    assert!(used < 5, "{used} passes for a stall");
    stateful_set_ready(&op, "shop", "api").await;
    app_is(&op, "shop", "Running", "AllComponentsReady").await;

    // A Deployment past its deadline, and a ReplicaFailure at once.
    let generation = deployment(&op, "shop", "web").await.meta().generation;
    set_status(&deployments(&op, "shop"), "web", json!({"observedGeneration": generation,
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                        "message": "ReplicaSet \"web-1\" has timed out progressing."}]}))
    .await;
    app_is(&op, "shop", "Failed", "ProgressDeadlineExceeded").await;
    let lua = include_str!("../../../../deploy/argocd/health.lua");
    assert!(lua.contains("Degraded"), "the Argo CD check is shipped");
    deployment_ready(&op, "shop", "web").await;
    app_is(&op, "shop", "Running", "").await;
    set_status(
        &deployments(&op, "shop"),
        "web",
        json!({"conditions": [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
         "message": "pods \"web-x\" is forbidden: exceeded quota"}]}),
    )
    .await;
    let quota = app_is(&op, "shop", "Failed", "ReplicaFailure").await;
    assert!(
        quota
            .status
            .unwrap()
            .message
            .unwrap()
            .contains("exceeded quota")
    );
}

/// A CRD served in `monitoring.coreos.com/v1` that keeps any fields.
fn monitoring_crd(kind: &str, plural: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.monitoring.coreos.com")},
        "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))
    .unwrap()
}

fn metrics_condition(app: &Application, type_: &str) -> Option<(String, String, String)> {
    let c = condition(app.status.as_ref()?.conditions.as_ref(), type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

#[tokio::test]
async fn ap6_service_monitors_follow_the_cluster() {
    let op = Op::start().await;
    namespace(&op, "shop").await;
    namespace(&op, "monitoring").await;
    let running = b0_ready(&op, "shop").await;
    let (status, reason, _) = metrics_condition(&running, "MetricsAvailable").unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "ServiceMonitorAPINotFound")
    );
    settled(&op).await;
    let warnings = op.events("shop", "shop").await;
    assert_eq!(
        warnings
            .iter()
            .filter(|r| *r == "ServiceMonitorAPINotFound")
            .count(),
        1
    );
    let web_uid = deployment(&op, "shop", "web").await.uid();

    let crds: Api<CustomResourceDefinition> = Api::all(op.client.clone());
    crds.create(
        &PostParams::default(),
        &monitoring_crd("ServiceMonitor", "servicemonitors"),
    )
    .await
    .unwrap();
    let monitors: Api<kube::api::DynamicObject> = Api::namespaced_with(
        op.client.clone(),
        "shop",
        &kube::discovery::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            "monitoring.coreos.com",
            "v1",
            "ServiceMonitor",
        )),
    );
    let monitor = eventually("ServiceMonitor shop/api", || async {
        monitors.get_opt("api").await.ok().flatten()
    })
    .await;
    assert_eq!(
        monitor.data["spec"]["endpoints"],
        json!([{"port": "http", "path": "/metrics", "interval": "30s"}])
    );
    assert_eq!(
        monitor.data["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
        "api"
    );
    assert_eq!(monitor.owner_references()[0].kind, "Application");
    eventually("MetricsAvailable=True", || async {
        let app = app(&op, "shop").await;
        (metrics_condition(&app, "MetricsAvailable")?.0 == "True").then_some(())
    })
    .await;

    crds.create(
        &PostParams::default(),
        &monitoring_crd("Prometheus", "prometheuses"),
    )
    .await
    .unwrap();
    op.admin_apply("apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: kps, namespace: monitoring}\nspec:\n  serviceMonitorSelector: {matchLabels: {release: kps}}\n  serviceMonitorNamespaceSelector: {}\n").await;
    let message = eventually("MetricsSelected=False", || async {
        let (status, _, message) = metrics_condition(&app(&op, "shop").await, "MetricsSelected")?;
        (status == "False").then_some(message)
    })
    .await;
    assert!(message.contains("release=kps"), "{message}");
    op.apply(&at(B0, "shop").replace("interval: 30s}", "interval: 30s, labels: {release: kps}}"))
        .await;
    eventually("MetricsSelected=True", || async {
        (metrics_condition(&app(&op, "shop").await, "MetricsSelected")?.0 == "True").then_some(())
    })
    .await;

    crds.delete(
        "servicemonitors.monitoring.coreos.com",
        &DeleteParams::default(),
    )
    .await
    .unwrap();
    eventually("MetricsAvailable=False again", || async {
        (metrics_condition(&app(&op, "shop").await, "MetricsAvailable")?.0 == "False").then_some(())
    })
    .await;
    assert_eq!(
        deployment(&op, "shop", "web").await.uid(),
        web_uid,
        "nothing else touched"
    );
}

#[tokio::test]
async fn ap8_ownership_drift_and_pruning() {
    let op = Op::start().await;
    namespace(&op, "shop").await;
    op.admin_apply("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 8080}]}\n").await;
    op.apply(&at(B0, "shop")).await;
    let conflict = app_is(&op, "shop", "Failed", "ChildConflict").await;
    let web_state = conflict
        .status
        .as_ref()
        .unwrap()
        .components
        .as_ref()
        .unwrap()[0]
        .clone();
    assert_eq!(
        web_state.message.as_deref(),
        Some("Service shop/web exists and is not managed by Application shop")
    );
    deployment(&op, "shop", "web").await;
    stateful_set(&op, "shop", "api").await;
    eventually("Service api", || async {
        services(&op, "shop").get_opt("api").await.unwrap()
    })
    .await;
    let theirs = services(&op, "shop").get("web").await.unwrap();
    assert!(theirs.owner_references().is_empty());
    assert_eq!(
        theirs.spec.unwrap().ports.unwrap()[0].port,
        8080,
        "untouched"
    );
    delete_app(&op, "shop").await;
    assert!(
        services(&op, "shop")
            .get_opt("web")
            .await
            .unwrap()
            .is_some(),
        "deleting the app leaves it"
    );
    services(&op, "shop")
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();

    // Drift on a field we own: set back, with an Event; others' fields stay.
    b0_ready(&op, "shop").await;
    let someone = PatchParams {
        field_manager: Some("someone".into()),
        ..PatchParams::default()
    };
    let edit = json!({"metadata": {"annotations": {"team": "a"}}, "spec": {"replicas": 5}});
    deployments(&op, "shop")
        .patch("web", &someone, &Patch::Merge(&edit))
        .await
        .unwrap();
    eventually("replicas back to 2", || async {
        let d = deployments(&op, "shop").get("web").await.unwrap();
        (d.spec.replicas == Some(2)).then_some(())
    })
    .await;
    let d = deployments(&op, "shop").get("web").await.unwrap();
    assert_eq!(d.annotations().get("team").map(String::as_str), Some("a"));
    event_recorded(&op, "DriftCorrected").await;

    // replicas set, then removed: handed over at its live value, not 1.
    op.apply(&at(B0, "shop").replace("      replicas: 2\n", ""))
        .await;
    event_recorded(&op, "ReplicasHandedOver").await;
    settled(&op).await;
    let web = deployments(&op, "shop").get("web").await.unwrap();
    assert_eq!(web.spec.replicas, Some(2), "kept, not scaled to 1");
    assert!(
        !web.annotations()
            .contains_key("integration.rock8s.com/replicas-set")
    );
    op.apply(&at(B0, "shop")).await;

    // replicas omitted: not ours, and another manager's value survives.
    let api = stateful_set(&op, "shop", "api").await;
    let ours = api
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.manager.as_deref() == Some("integration-operator"));
    for entry in ours {
        let fields = serde_json::to_string(&entry.fields_v1).unwrap();
        assert!(!fields.contains("f:replicas"), "{fields}");
    }
    stateful_sets(&op, "shop")
        .patch(
            "api",
            &someone,
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    op.apply(&at(B0, "shop").replace("shop/api:2.0", "shop/api:2.1"))
        .await;
    eventually("new image applied", || async {
        let s = stateful_sets(&op, "shop").get("api").await.unwrap();
        let image = s.spec.template.spec.as_ref()?.containers[0].image.clone()?;
        (image == "shop/api:2.1").then_some(())
    })
    .await;
    assert_eq!(
        stateful_sets(&op, "shop")
            .get("api")
            .await
            .unwrap()
            .spec
            .replicas,
        Some(3)
    );

    // Remove and re-add a component quickly: converges, others keep UIDs.
    let web_uid = deployment(&op, "shop", "web").await.uid();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(op.client.clone(), "shop");
    op.admin_apply("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data-api-0, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n").await;
    let without_api = at(B0, "shop")
        .split("    - name: api")
        .next()
        .unwrap()
        .to_string()
        .replace("      connectsTo: [{component: api, port: http}]\n", "");
    op.apply(&without_api).await;
    op.apply(&at(B0, "shop")).await;
    op.apply(&without_api).await;
    eventually("api removed", || async {
        let gone = stateful_sets(&op, "shop")
            .get_opt("api")
            .await
            .unwrap()
            .is_none()
            && services(&op, "shop")
                .get_opt("api")
                .await
                .unwrap()
                .is_none();
        gone.then_some(())
    })
    .await;
    settled(&op).await;
    assert!(
        stateful_sets(&op, "shop")
            .get_opt("api")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(deployment(&op, "shop", "web").await.uid(), web_uid);
    assert!(
        pvcs.get_opt("data-api-0").await.unwrap().is_some(),
        "claims are never deleted"
    );
}

#[tokio::test]
async fn ap9_an_immutable_change_fails_without_a_loop_or_recreates() {
    let op = Op::start().await;
    namespace(&op, "shop").await;
    b0_ready(&op, "shop").await;
    let web_uid = deployment(&op, "shop", "web").await.uid();
    let api_uid = stateful_set(&op, "shop", "api").await.uid();
    op.admin_apply("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data-api-0, namespace: shop}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n").await;
    let bigger = at(B0, "shop").replace("storage: 1Gi", "storage: 2Gi");
    op.apply(&bigger).await;
    let failed = app_is(&op, "shop", "Failed", "ImmutableFieldChanged").await;
    let message = failed.status.unwrap().message.unwrap();
    assert!(
        message.contains("spec.volumeClaimTemplates")
            && message.contains("onImmutableChange: Recreate"),
        "{message}"
    );
    let before = passes(&op);
    let after = settled(&op).await;
    assert!(
        after - before <= 2,
        "{} passes after the failure",
        after - before
    );
    assert_eq!(
        deployment(&op, "shop", "web").await.uid(),
        web_uid,
        "web untouched"
    );

    op.apply(&bigger.replace(
        "kind: StatefulSet",
        "kind: StatefulSet\n      onImmutableChange: Recreate",
    ))
    .await;
    let recreated = eventually("api recreated", || async {
        let s = stateful_sets(&op, "shop").get_opt("api").await.unwrap()?;
        (s.uid() != api_uid).then_some(s)
    })
    .await;
    let claims = recreated.spec.volume_claim_templates.unwrap();
    let storage = claims[0]
        .spec
        .as_ref()
        .unwrap()
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap()["storage"]
        .0
        .clone();
    assert_eq!(storage, "2Gi");
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(op.client.clone(), "shop");
    assert!(pvcs.get_opt("data-api-0").await.unwrap().is_some());
    stateful_set_ready(&op, "shop", "api").await;
    app_is(&op, "shop", "Running", "AllComponentsReady").await;
}

#[tokio::test]
async fn invalid_specs_fail_naming_the_field_and_apply_nothing() {
    let op = Op::start().await;
    namespace(&op, "shop").await;
    let bad = at(B0, "shop").replace(
        "connectsTo: [{component: api, port: http}]",
        "connectsTo: [{component: db, port: http}]",
    );
    op.apply(&bad).await;
    let failed = app_is(&op, "shop", "Failed", "InvalidSpec").await;
    assert_eq!(
        failed.status.unwrap().message.as_deref(),
        Some(
            "spec.components[0].connectsTo[0].component: no component named \"db\" in this application"
        )
    );
    settled(&op).await;
    assert!(
        deployments(&op, "shop")
            .get_opt("web")
            .await
            .unwrap()
            .is_none(),
        "nothing applied"
    );
    assert!(
        stateful_sets(&op, "shop")
            .get_opt("api")
            .await
            .unwrap()
            .is_none()
    );
    // Fixed: applied and on its way.
    op.apply(&at(B0, "shop")).await;
    deployment(&op, "shop", "web").await;
    app_is(&op, "shop", "Pending", "").await;
}

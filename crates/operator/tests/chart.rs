//! The Helm chart (charts/integration-operator), checked without a helm
//! binary: rendered by `chart/helm.rs` (our Go-template engine plus Helm's
//! built-ins), compared with the kustomize base `deploy/`, and applied with
//! `kubectl apply --dry-run=server` against the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

#[path = "chart/helm.rs"]
mod helm;

use std::path::{Path, PathBuf};
use std::process::Command;

use helm::{Release, Rendered, only};
use serde_json::{Value, json};

const KUBECTL: &str = "/usr/bin/kubectl";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chart_dir() -> PathBuf {
    repo().join("charts/integration-operator")
}

/// The release the README installs: its objects are named as in deploy/.
const RELEASE: Release<'static> = Release {
    name: "integration-operator",
    namespace: "integration-system",
};

fn render(values: &[Value]) -> Rendered {
    helm::render(&chart_dir(), &RELEASE, values).unwrap()
}

fn render_err(values: &[Value]) -> String {
    match helm::render(&chart_dir(), &RELEASE, values) {
        Ok(r) => panic!("rendered:\n{}", r.stream()),
        Err(e) => format!("{e:#}"),
    }
}

fn values_file(name: &str) -> Value {
    let text = std::fs::read_to_string(chart_dir().join("ci").join(name)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// The labels Helm charts add that the kustomize base does not have: the
/// chart, the release and its manager, the version. Allowed difference 1.
const HELM_LABELS: [&str; 4] = [
    "helm.sh/chart",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
];

/// The chart's objects with the labels of [`HELM_LABELS`] removed
/// wherever labels are (objects, selectors, Pod templates); an emptied
/// `labels` goes too.
fn without_helm_labels(mut object: Value) -> Value {
    fn strip(labels: &mut Value) {
        if let Some(map) = labels.as_object_mut() {
            for label in HELM_LABELS {
                map.remove(label);
            }
        }
    }
    for pointer in [
        "/metadata/labels",
        "/spec/selector/matchLabels",
        "/spec/selector",
        "/spec/template/metadata/labels",
    ] {
        if let Some(labels) = object.pointer_mut(pointer) {
            strip(labels);
        }
    }
    if object["metadata"]["labels"]
        .as_object()
        .is_some_and(|m| m.is_empty())
    {
        object["metadata"].as_object_mut().unwrap().remove("labels");
    }
    object
}

fn key(object: &Value) -> String {
    format!(
        "{}/{}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// `kubectl kustomize deploy/`, offline.
fn kustomize_base() -> Vec<Value> {
    let output = Command::new(KUBECTL)
        .arg("kustomize")
        .arg(repo().join("deploy"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_saphyr::from_multiple(&String::from_utf8(output.stdout).unwrap()).unwrap()
}

fn kubectl_installed() -> bool {
    if Path::new(KUBECTL).exists() {
        return true;
    }
    println!("skipped: {KUBECTL} not found");
    false
}

/// With default values the chart makes the objects of deploy/. The
/// differences allowed:
/// 1. Helm's labels (`HELM_LABELS`) on every object, selector and Pod;
/// 2. no Namespace object: Helm installs into `--namespace`
///    (`--create-namespace`);
/// 3. the CRDs are not templates but the chart's crds/ folder (the same
///    bytes as deploy/crds.yaml: `the_crds_are_in_the_crds_folder_and_not_templates`).
#[test]
fn default_values_make_the_objects_of_the_kustomize_base() {
    if !kubectl_installed() {
        return;
    }
    let rendered = render(&[]);
    let mut chart: Vec<(String, Value)> = rendered
        .objects()
        .unwrap()
        .into_iter()
        .map(|o| (key(&o), without_helm_labels(o)))
        .collect();
    let mut base: Vec<(String, Value)> = kustomize_base()
        .into_iter()
        .filter(|o| o["kind"] != "Namespace" && o["kind"] != "CustomResourceDefinition")
        .map(|o| (key(&o), o))
        .collect();
    chart.sort_by(|a, b| a.0.cmp(&b.0));
    base.sort_by(|a, b| a.0.cmp(&b.0));
    let keys =
        |objects: &[(String, Value)]| objects.iter().map(|o| o.0.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&chart), keys(&base), "the same objects");
    for ((name, chart), (_, base)) in chart.iter().zip(&base) {
        assert_eq!(chart, base, "{name} differs from deploy/");
    }
    // Every object carries Helm's labels, and selects on the release too.
    for object in rendered.objects().unwrap() {
        let labels = &object["metadata"]["labels"];
        assert_eq!(
            labels["app.kubernetes.io/instance"], "integration-operator",
            "{object:#}"
        );
        assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm", "{object:#}");
    }
    let deployment = only(
        &rendered.objects().unwrap(),
        "Deployment",
        "integration-operator",
    )
    .unwrap()
    .clone();
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "integration-operator", "app.kubernetes.io/instance": "integration-operator"})
    );
}

/// The CRDs ship in crds/: Helm installs them before the templates and
/// never deletes them, so `helm uninstall` keeps every Plug and Socket.
/// They are the operator's own (`integration-operator crds`, which
/// tests/cli.rs compares with deploy/crds.yaml).
#[test]
fn the_crds_are_in_the_crds_folder_and_not_templates() {
    let chart = std::fs::read_to_string(chart_dir().join("crds/crds.yaml")).unwrap();
    let deploy = std::fs::read_to_string(repo().join("deploy/crds.yaml")).unwrap();
    assert!(
        chart == deploy,
        "charts/integration-operator/crds/crds.yaml is out of date; regenerate it from the \
         repository root with:\n\n    cargo run -p integration-operator -- crds > charts/integration-operator/crds/crds.yaml\n"
    );
    let rendered = render(&[json!({"metrics": {"serviceMonitor": {"enabled": true}}})]);
    for object in rendered.objects().unwrap() {
        assert_ne!(object["kind"], "CustomResourceDefinition", "{object:#}");
    }
}

/// The ClusterRole is deploy/cluster-role.yaml's, rule for rule, in order.
#[test]
fn the_cluster_role_has_the_rules_of_deploy() {
    let text = std::fs::read_to_string(repo().join("deploy/cluster-role.yaml")).unwrap();
    let deploy: Value = serde_saphyr::from_str(&text).unwrap();
    let objects = render(&[]).objects().unwrap();
    let role = only(&objects, "ClusterRole", "integration-operator").unwrap();
    assert_eq!(role["rules"], deploy["rules"]);
}

/// A values file in the original chart's names (rock8s/integration-operator
/// 1.2.0, its defaults: ci/original-values.yaml) keeps working: the names
/// that mean the same thing here take effect, the original's image is
/// ignored with a warning (it is another program), nothing is pinned to
/// amd64.
#[test]
fn the_original_charts_values_keep_working() {
    let rendered = render(&[values_file("original-values.yaml")]);
    let objects = rendered.objects().unwrap();
    let deployment = only(&objects, "Deployment", "integration-operator").unwrap();
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 1, "config.replicas");
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate"}),
        "config.updateStrategy"
    );
    let pod = &spec["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["imagePullPolicy"], "Always",
        "config.imagePullPolicy"
    );
    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "100m", "memory": "50Mi"}, "limits": {"cpu": "200m", "memory": "100Mi"}}),
        "config.resourceBindingOperator.resources"
    );
    let args = container_args(deployment);
    assert!(
        args.contains(&"--concurrency=3".to_string()),
        "config.maxConcurrentReconciles: {args:?}"
    );
    assert!(
        args.contains(&"--log-format=json".to_string()),
        "config.debug false: {args:?}"
    );
    assert_eq!(
        container["image"],
        "ghcr.io/example/integration-operator:0.1.0"
    );
    assert!(
        rendered.notes.contains("images.resourceBindingOperator"),
        "{}",
        rendered.notes
    );
    assert!(
        pod.get("affinity").is_none() && pod.get("nodeSelector").is_none(),
        "{pod:#}"
    );

    // config.debug is the original's development logging; resources
    // "false" renders none; nameOverride names every object.
    let debug = json!({
        "nameOverride": "integrations",
        "config": {"debug": true, "resourceBindingOperator": {"resources": {"enabled": "false"}}},
    });
    let objects = render(&[values_file("original-values.yaml"), debug])
        .objects()
        .unwrap();
    let deployment = only(&objects, "Deployment", "integration-operator-integrations").unwrap();
    let args = container_args(deployment);
    assert!(args.contains(&"--log-level=debug".to_string()), "{args:?}");
    assert!(args.contains(&"--log-format=text".to_string()), "{args:?}");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert!(container.get("resources").is_none(), "{container:#}");
    only(&objects, "ClusterRole", "integration-operator-integrations").unwrap();
}

fn container_args(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// A value for every documented value of the chart that changes the
/// Deployment.
fn every_value() -> Value {
    json!({
        "image": {"repository": "registry.example/io", "tag": "1.2.3", "pullPolicy": "IfNotPresent"},
        "imagePullSecrets": [{"name": "regcred"}],
        "replicas": 3,
        "concurrency": 16,
        "watchNamespace": "apps",
        "logging": {"level": "integration_controller=debug,kube=info", "format": "text"},
        "clusterDomain": "corp.local",
        "scrapeNamespace": "monitoring",
        "extraArgs": ["--leader-election-namespace={{ .Release.Namespace }}"],
        "extraEnv": [{"name": "DEBUG_PLUG_ENDPOINT", "value": "http://plug"}],
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "integration-operator"}}}}]}},
        "podSecurityContext": {"runAsNonRoot": true, "runAsUser": 1000},
        "podAnnotations": {"example.com/a": "b"},
        "podLabels": {"team": "platform"},
        "priorityClassName": "system-cluster-critical",
        "updateStrategy": {"type": "Recreate"},
        "health": {"port": 9091},
        "metrics": {"port": 9090},
    })
}

/// The binary accepts the arguments each rendering gives it (clap checks
/// every flag and value before `--help` prints and exits 0).
#[test]
fn the_binary_accepts_every_rendered_argument() {
    let mut renderings = renderings();
    renderings.push(("every value", vec![every_value()]));
    for (name, values) in renderings {
        let objects = render(&values).objects().unwrap();
        let deployment = only(&objects, "Deployment", "integration-operator").unwrap();
        let args = container_args(deployment);
        assert_eq!(args[0], "run", "{name}");
        let output = Command::new(env!("CARGO_BIN_EXE_integration-operator"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {args:?}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Every documented value reaches the Deployment.
#[test]
fn values_reach_the_deployment() {
    let values = every_value();
    let objects = render(std::slice::from_ref(&values)).objects().unwrap();
    let deployment = only(&objects, "Deployment", "integration-operator").unwrap();
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 3);
    assert_eq!(spec["strategy"], values["updateStrategy"]);
    let pod = &spec["template"]["spec"];
    assert_eq!(spec["template"]["metadata"]["labels"]["team"], "platform");
    assert_eq!(
        spec["template"]["metadata"]["annotations"],
        values["podAnnotations"]
    );
    for (field, value) in [
        ("nodeSelector", "nodeSelector"),
        ("tolerations", "tolerations"),
        ("affinity", "affinity"),
        ("imagePullSecrets", "imagePullSecrets"),
        ("priorityClassName", "priorityClassName"),
    ] {
        assert_eq!(pod[field], values[value], "{field}");
    }
    // Helm merges a map value into the default: the other fields stay.
    assert_eq!(
        pod["securityContext"],
        json!({"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 65532,
               "seccompProfile": {"type": "RuntimeDefault"}})
    );
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "registry.example/io:1.2.3");
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(container["resources"], values["resources"]);
    assert_eq!(container["env"][2], values["extraEnv"][0]);
    assert_eq!(
        container["ports"],
        json!([
            {"name": "metrics", "containerPort": 9090},
            {"name": "health", "containerPort": 9091},
        ])
    );
    assert_eq!(
        container_args(deployment),
        [
            "run",
            "--leader-elect",
            "--health-probe-bind-address=:9091",
            "--metrics-bind-address=:9090",
            "--log-level=integration_controller=debug,kube=info",
            "--log-format=text",
            "--concurrency=16",
            "--namespace=apps",
            "--cluster-domain=corp.local",
            "--scrape-namespace=monitoring",
            "--leader-election-namespace=integration-system",
        ]
    );
    let service = only(&objects, "Service", "integration-operator-metrics").unwrap();
    assert_eq!(service["spec"]["ports"][0]["port"], 9090);
}

/// Values that would make a broken install fail the render, naming the
/// value.
#[test]
fn contradictory_values_fail_naming_the_value() {
    let error = render_err(&[json!({"replicas": 2, "leaderElection": {"enabled": false}})]);
    assert!(error.contains("leaderElection.enabled"), "{error}");
    let error = render_err(&[json!({"serviceAccount": {"create": false}})]);
    assert!(error.contains("serviceAccount.name is required"), "{error}");
    let error = render_err(&[
        json!({"metrics": {"service": {"enabled": false}, "serviceMonitor": {"enabled": true}}}),
    ]);
    assert!(error.contains("metrics.service.enabled"), "{error}");
    // One replica needs no election.
    let objects = render(&[json!({"replicas": 1, "leaderElection": {"enabled": false}})])
        .objects()
        .unwrap();
    let deployment = only(&objects, "Deployment", "integration-operator").unwrap();
    assert!(!container_args(deployment).contains(&"--leader-elect".to_string()));
}

/// With watchNamespace the operator's namespaced rules are a Role in that
/// namespace, the Lease's a Role in the release namespace, and the
/// ClusterRole keeps only the cluster-scoped reads; together they are
/// deploy's rules.
#[test]
fn namespace_scope_grants_the_rules_in_that_namespace_only() {
    let objects = render(&[json!({"watchNamespace": "apps"})])
        .objects()
        .unwrap();
    let cluster = only(&objects, "ClusterRole", "integration-operator").unwrap();
    let resources = |role: &Value| -> Vec<String> {
        role["rules"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["resources"].as_array().unwrap().clone())
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        resources(cluster),
        ["namespaces", "customresourcedefinitions"]
    );
    let roles: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Role").collect();
    let namespaces: Vec<&Value> = roles.iter().map(|r| &r["metadata"]["namespace"]).collect();
    assert_eq!(namespaces, [&json!("apps"), &json!("integration-system")]);
    assert_eq!(resources(roles[1]), ["leases"]);
    let text = std::fs::read_to_string(repo().join("deploy/cluster-role.yaml")).unwrap();
    let deploy: Value = serde_saphyr::from_str(&text).unwrap();
    let mut together = roles[0]["rules"].as_array().unwrap().clone();
    together.extend(cluster["rules"].as_array().unwrap().iter().cloned());
    assert_eq!(Value::Array(together), deploy["rules"]);
    let bindings: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "RoleBinding")
        .collect();
    assert_eq!(bindings.len(), 2);
    for binding in bindings {
        assert_eq!(binding["subjects"][0]["namespace"], "integration-system");
    }
    // Watching the release namespace: one Role has it all.
    let objects = render(&[json!({"watchNamespace": "integration-system"})])
        .objects()
        .unwrap();
    assert_eq!(objects.iter().filter(|o| o["kind"] == "Role").count(), 1);
}

/// The ServiceMonitor is off by default and, on, selects the metrics
/// Service's port by name with the labels a Prometheus selects.
#[test]
fn the_service_monitor_scrapes_the_metrics_service() {
    let objects = render(&[]).objects().unwrap();
    assert!(objects.iter().all(|o| o["kind"] != "ServiceMonitor"));
    let values = json!({"metrics": {"serviceMonitor": {
        "enabled": true, "labels": {"release": "kps"}, "interval": "30s"}}});
    let objects = render(&[values]).objects().unwrap();
    let monitor = only(&objects, "ServiceMonitor", "integration-operator").unwrap();
    let service = only(&objects, "Service", "integration-operator-metrics").unwrap();
    assert_eq!(monitor["metadata"]["labels"]["release"], "kps");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"]
    );
    for (label, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(
            &service["metadata"]["labels"][label], value,
            "the Service carries {label}"
        );
    }
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );
    assert_eq!(monitor["spec"]["endpoints"][0]["interval"], "30s");
    assert_eq!(
        monitor["spec"]["namespaceSelector"]["matchNames"],
        json!(["integration-system"])
    );
}

/// The values the API server checks: defaults, the original's names,
/// namespace scope with a ServiceMonitor, and scheduling settings.
fn renderings() -> Vec<(&'static str, Vec<Value>)> {
    vec![
        ("defaults", vec![]),
        ("original", vec![values_file("original-values.yaml")]),
        (
            "namespaced",
            vec![
                json!({"watchNamespace": "apps", "metrics": {"serviceMonitor": {"enabled": true}}}),
            ],
        ),
        (
            "scheduling",
            vec![json!({
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}},
                "extraEnv": [{"name": "CLUSTER_DOMAIN", "value": "corp.local"}],
                "imagePullSecrets": [{"name": "regcred"}],
            })],
        ),
    ]
}

/// Kubernetes knows every field of every built-in object the chart makes
/// (the emulator checks the schema of custom resources only): an object
/// read into its k8s-openapi type and written back is unchanged, so a
/// misspelt or misplaced field, which the type would drop, fails here.
#[test]
fn every_field_is_known_to_kubernetes() {
    use k8s_openapi::api::{apps::v1 as apps, core::v1 as core, rbac::v1 as rbac};
    fn round_trip<K: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) -> Value {
        let typed: K =
            serde_json::from_value(object.clone()).unwrap_or_else(|e| panic!("{e}: {object:#}"));
        serde_json::to_value(typed).unwrap()
    }
    for (name, values) in renderings() {
        for object in render(&values).objects().unwrap() {
            let written = match object["kind"].as_str().unwrap() {
                "Deployment" => round_trip::<apps::Deployment>(&object),
                "Service" => round_trip::<core::Service>(&object),
                "ServiceAccount" => round_trip::<core::ServiceAccount>(&object),
                "ClusterRole" => round_trip::<rbac::ClusterRole>(&object),
                "ClusterRoleBinding" => round_trip::<rbac::ClusterRoleBinding>(&object),
                "Role" => round_trip::<rbac::Role>(&object),
                "RoleBinding" => round_trip::<rbac::RoleBinding>(&object),
                "ServiceMonitor" => continue,
                other => panic!("{name}: a kind this test does not know: {other}"),
            };
            assert_eq!(written, object, "{name}: {}", key(&object));
        }
    }
}

/// A minimal ServiceMonitor CRD, as the prometheus-operator installs it.
const SERVICE_MONITOR_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// What `helm install` sends, checked by the API server without being
/// stored: the chart's CRDs installed, then every rendering of the tests
/// above applied with `kubectl apply --dry-run=server` (strict field
/// validation) against the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_server_accepts_every_rendering() {
    if !kubectl_installed() {
        return;
    }
    let renderings = renderings();
    let emu = kube_emulator::Emulator::start().await.unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chart-dry-run");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, emu.kubeconfig_yaml()).unwrap();
    std::fs::write(dir.join("servicemonitor-crd.yaml"), SERVICE_MONITOR_CRD).unwrap();
    for (name, values) in &renderings {
        std::fs::write(dir.join(format!("{name}.yaml")), render(values).stream()).unwrap();
    }
    let crds = chart_dir().join("crds");
    let names: Vec<String> = renderings.iter().map(|(n, _)| n.to_string()).collect();
    let run = tokio::task::spawn_blocking(move || {
        let kubectl = |args: &[&str]| {
            let output = Command::new(KUBECTL)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .arg("--request-timeout=30s")
                .args(args)
                .output()
                .unwrap();
            let text = format!(
                "kubectl {args:?}\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(output.status.success(), "{text}");
            text
        };
        // What Helm does first: the crds/ folder, then wait for them.
        kubectl(&["apply", "--server-side", "-f", crds.to_str().unwrap()]);
        kubectl(&[
            "apply",
            "--server-side",
            "-f",
            dir.join("servicemonitor-crd.yaml").to_str().unwrap(),
        ]);
        kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
            "--timeout=30s",
        ]);
        // `helm install --create-namespace`, and the watched namespace.
        kubectl(&["create", "namespace", "integration-system"]);
        kubectl(&["create", "namespace", "apps"]);
        for name in names {
            let file = dir.join(format!("{name}.yaml"));
            let out = kubectl(&[
                "apply",
                "--dry-run=server",
                "--validate=strict",
                "-f",
                file.to_str().unwrap(),
            ]);
            assert!(
                out.contains("deployment.apps/integration-operator created (server dry run)"),
                "{name}: {out}"
            );
        }
    });
    tokio::time::timeout(std::time::Duration::from_secs(240), run)
        .await
        .expect("kubectl finished in time")
        .unwrap();
}

/// Kills the operator process when the test ends, passed or not.
struct Operator(std::process::Child);

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// examples/results (a socket that hands its plug a result, which the plug
/// turns into a ConfigMap) with the plug, the socket and their service
/// account in one namespace.
fn results_example_in(namespace: &str) -> String {
    let example = repo().join("examples/results");
    let read = |file: &str| std::fs::read_to_string(example.join(file)).unwrap();
    let access = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: integrator, namespace: {namespace}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: integrator, namespace: {namespace}}}\n\
         rules: [{{apiGroups: [\"\"], resources: [configmaps, secrets], verbs: [get, list, watch, create, update, patch, delete]}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: integrator, namespace: {namespace}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: integrator}}\n\
         subjects: [{{kind: ServiceAccount, name: integrator, namespace: {namespace}}}]\n"
    );
    let moved = |text: String| {
        text.replace("namespace: db}", &format!("namespace: {namespace}}}"))
            .replace("  namespace: db\n", &format!("  namespace: {namespace}\n"))
            .replace("  namespace: app\n", &format!("  namespace: {namespace}\n"))
    };
    format!(
        "{access}---\n{}\n---\n{}",
        moved(read("socket.yaml")),
        moved(read("plug.yaml"))
    )
}

/// With watchNamespace, the operator runs with nothing but the chart's
/// RBAC: as the chart's ServiceAccount, with the chart's arguments
/// (leader election included, its Lease in the release namespace), it
/// couples a plug in the watched namespace and no request is forbidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_works_with_the_namespace_scoped_rbac_alone() {
    if !kubectl_installed() {
        return;
    }
    let rendered = render(&[json!({"watchNamespace": "apps"})]);
    let objects = rendered.objects().unwrap();
    let deployment = only(&objects, "Deployment", "integration-operator").unwrap();
    let args: Vec<String> = container_args(deployment)
        .into_iter()
        .filter(|a| !a.contains("-bind-address="))
        .chain([
            "--health-probe-bind-address=0".into(),
            "--metrics-bind-address=0".into(),
        ])
        .collect();
    assert!(args.contains(&"--namespace=apps".to_string()), "{args:?}");
    let emu = kube_emulator::Emulator::start().await.unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chart-namespaced");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let admin = dir.join("admin.kubeconfig");
    std::fs::write(&admin, emu.kubeconfig_yaml()).unwrap();
    std::fs::write(dir.join("chart.yaml"), rendered.stream()).unwrap();
    std::fs::write(dir.join("example.yaml"), results_example_in("apps")).unwrap();
    let crds = chart_dir().join("crds");
    let run = tokio::task::spawn_blocking(move || {
        let kubectl = |kubeconfig: &Path, args: &[&str]| {
            let output = Command::new(KUBECTL)
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .arg("--request-timeout=30s")
                .args(args)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success(),
                "kubectl {args:?}\n{stdout}{stderr}"
            );
            stdout
        };
        kubectl(
            &admin,
            &["apply", "--server-side", "-f", crds.to_str().unwrap()],
        );
        kubectl(
            &admin,
            &[
                "wait",
                "--for=condition=Established",
                "crd",
                "--all",
                "--timeout=30s",
            ],
        );
        kubectl(&admin, &["create", "namespace", "integration-system"]);
        kubectl(&admin, &["create", "namespace", "apps"]);
        kubectl(
            &admin,
            &["apply", "-f", dir.join("chart.yaml").to_str().unwrap()],
        );
        // The Pod's credentials: a token of the chart's ServiceAccount.
        let token = kubectl(
            &admin,
            &[
                "create",
                "token",
                "integration-operator",
                "-n",
                "integration-system",
            ],
        );
        let operator = dir.join("operator.kubeconfig");
        std::fs::copy(&admin, &operator).unwrap();
        kubectl(
            &operator,
            &[
                "config",
                "set-credentials",
                "operator",
                &format!("--token={}", token.trim()),
            ],
        );
        kubectl(
            &operator,
            &["config", "set-context", "--current", "--user=operator"],
        );
        let log = std::fs::File::create(dir.join("operator.log")).unwrap();
        let _operator = Operator(
            Command::new(env!("CARGO_BIN_EXE_integration-operator"))
                .args(&args)
                .env("KUBECONFIG", &operator)
                .env("POD_NAMESPACE", "integration-system")
                .env("POD_NAME", "integration-operator-0")
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        kubectl(
            &admin,
            &["apply", "-f", dir.join("example.yaml").to_str().unwrap()],
        );
        kubectl(
            &admin,
            &[
                "wait",
                "--for=condition=Coupled",
                "plug/orders-db",
                "-n",
                "apps",
                "--timeout=60s",
            ],
        );
        let result = kubectl(
            &admin,
            &[
                "get",
                "configmap",
                "orders-db-result",
                "-n",
                "apps",
                "-o",
                "jsonpath={.data.ack}",
            ],
        );
        assert_eq!(result, "yes");
        let lease = kubectl(
            &admin,
            &[
                "get",
                "lease",
                "integration-operator",
                "-n",
                "integration-system",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
        );
        assert!(lease.starts_with("integration-operator-0_"), "{lease}");
        let log = std::fs::read_to_string(dir.join("operator.log")).unwrap();
        assert!(!log.to_lowercase().contains("forbidden"), "{log}");
    });
    tokio::time::timeout(std::time::Duration::from_secs(240), run)
        .await
        .expect("finished in time")
        .unwrap();
}

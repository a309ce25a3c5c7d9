//! No secret value reaches the logs of `integration-operator run`, at any
//! log level and in both formats (docs/config.md, "Secrets and
//! redaction"): a socket template fails with a `secret: true` value read
//! from a Secret, and every line the operator prints is searched for it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use integration_api::Plug;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube_emulator::Emulator;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_integration-operator");

/// The secret value: long and unlike anything else in a log.
const PASSWORD: &str = "s3cr3t-Pa55w0rd-do-not-log";

const LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];
const FORMATS: [&str; 2] = ["text", "json"];

/// The socket reads `password` (`secret: true`) from a Secret, and its
/// coupled template fails with it as the message.
fn socket() -> Value {
    json!({"apiVersion": "integration.rock8s.com/v1beta1", "kind": "Socket",
    "metadata": {"name": "vault", "namespace": "default"},
    "spec": {
        "interface": {"config": {"socket": {"password": {"required": true, "secret": true}}}},
        "configSecretName": "vault-credentials",
        "resources": [{"when": ["coupled"], "stringTemplate": "{% fail .socketConfig.password %}"}]
    }})
}

fn secret() -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "vault-credentials", "namespace": "default"},
        "stringData": {"password": PASSWORD}})
}

fn plug(name: &str) -> Value {
    json!({"apiVersion": "integration.rock8s.com/v1beta1", "kind": "Plug",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"socket": {"name": "vault"}}})
}

async fn apply(client: &kube::Client, doc: &Value) {
    let (kind, name) = (
        doc["kind"].as_str().unwrap(),
        doc["metadata"]["name"].as_str().unwrap(),
    );
    let params = PatchParams::apply("secrets-test").force();
    let patch = Patch::Apply(doc);
    match kind {
        "Secret" => drop(
            Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), "default")
                .patch(name, &params, &patch)
                .await
                .unwrap(),
        ),
        "Socket" => drop(
            Api::<integration_api::Socket>::namespaced(client.clone(), "default")
                .patch(name, &params, &patch)
                .await
                .unwrap(),
        ),
        _ => drop(
            Api::<Plug>::namespaced(client.clone(), "default")
                .patch(name, &params, &patch)
                .await
                .unwrap(),
        ),
    }
}

async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in integration_api::crds() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    // Served once the emulator lists the kinds.
    wait("CRDs served", || async {
        Api::<Plug>::all(client.clone())
            .list(&Default::default())
            .await
            .ok()
    })
    .await;
}

/// Polls `check` every 50 ms until it yields, failing after 60 s.
async fn wait<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    poll(check)
        .await
        .unwrap_or_else(|| panic!("{what}: not within 60s"))
}

/// Polls `check` every 50 ms until it yields; `None` after 60 s.
async fn poll<T, F, Fut>(mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let polled = async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), polled)
        .await
        .ok()
}

/// The `Failed` message of the plug, once it has one.
async fn failed_message(client: &kube::Client, name: &str) -> Option<String> {
    let plug = Api::<Plug>::namespaced(client.clone(), "default")
        .get_opt(name)
        .await
        .ok()??;
    let conditions = plug.status?.conditions?;
    conditions
        .into_iter()
        .find(|c| c.type_ == "Failed" && c.status == "True")
        .map(|c| c.message)
}

/// A running `integration-operator run`, its output read as it comes (a
/// full pipe would block it).
struct Running {
    child: Child,
    readers: Vec<std::thread::JoinHandle<String>>,
}

fn start_operator(kubeconfig: &PathBuf, level: &str, format: &str) -> Running {
    let mut child = Command::new(BIN)
        .args(["run", "--log-level", level, "--log-format", format])
        .args([
            "--health-probe-bind-address",
            "0",
            "--metrics-bind-address",
            "0",
        ])
        .env("KUBECONFIG", kubeconfig)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
    let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
    let readers = [stdout, stderr]
        .into_iter()
        .map(|mut pipe| {
            std::thread::spawn(move || {
                let mut out = String::new();
                pipe.read_to_string(&mut out).unwrap();
                out
            })
        })
        .collect();
    Running { child, readers }
}

/// Stops the operator as Kubernetes would (SIGTERM: passes in flight
/// finish, every line is written) and returns all it printed.
fn stop(mut running: Running) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    running.child.wait().unwrap();
    running
        .readers
        .into_iter()
        .map(|r| r.join().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_in_logs_at_any_level_or_format() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client();
    install_crds(&client).await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("secrets-in-logs");
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, emu.kubeconfig_yaml()).unwrap();
    apply(&client, &secret()).await;
    apply(&client, &socket()).await;

    for level in LEVELS {
        for format in FORMATS {
            let name = format!("{level}-{format}");
            let child = start_operator(&kubeconfig, level, format);
            apply(&client, &plug(&name)).await;
            let message = poll(|| failed_message(&client, &name)).await;
            let logs = stop(child);
            let message = message.unwrap_or_else(|| {
                panic!("{name}: the plug did not fail within 60s; the operator printed:\n{logs}")
            });
            assert!(message.contains("[redacted]"), "{name}: {message}");
            assert!(
                !logs.contains(PASSWORD),
                "{name}: the password is in the logs:\n{}",
                logs.lines()
                    .filter(|l| l.contains(PASSWORD))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            // The failure was logged (so the search above saw it), redacted.
            if level != "error" {
                assert!(
                    logs.contains("[redacted]"),
                    "{name}: failure not logged:\n{logs}"
                );
            }
            if format == "json" {
                assert!(
                    logs.lines()
                        .all(|l| serde_json::from_str::<Value>(l).is_ok()),
                    "{name}: a line is not JSON"
                );
            }
        }
    }
}

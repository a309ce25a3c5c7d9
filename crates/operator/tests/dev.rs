//! `integration-operator dev`: the emulator and the operator in one
//! process, run as a user would, on the example directories.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_integration-operator");
const KUBECTL: &str = "/usr/bin/kubectl";

fn example(name: &str) -> String {
    format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn dev_once(dir: &str) -> Output {
    Command::new(BIN)
        .args(["dev", "--once", "--timeout", "60", "--apply", dir])
        .stdin(Stdio::null())
        .output()
        .expect("binary starts")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The one plug of a `dev --once` report.
fn only_plug(output: &Output) -> Value {
    let report: Value = serde_saphyr::from_str(&stdout(output)).unwrap();
    let plugs = report["plugs"].as_array().unwrap();
    assert_eq!(plugs.len(), 1, "{report:#}");
    plugs[0].clone()
}

/// The reported object of `kind` named `name`.
fn object<'r>(plug: &'r Value, kind: &str, name: &str) -> &'r Value {
    plug["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {plug:#}"))
}

/// The README's first command.
#[test]
fn once_couples_the_express_mongodb_example() {
    let output = dev_once(&example("express-mongodb"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plug = only_plug(&output);
    assert_eq!(plug["plug"], "app/express");
    assert_eq!(plug["coupled"], true);
    assert_eq!(plug["reason"], "CouplingSucceeded");
    assert_eq!(plug["status"]["coupledSocket"]["name"], "mongo");
    let secret = object(&plug, "Secret", "express-mongo");
    assert_eq!(secret["metadata"]["namespace"], "app");
    // The report names the Secret's keys but never shows their values
    // (`render` shows what the URL renders to). The API server folded the
    // template's stringData into data.
    assert_eq!(secret["data"]["MONGO_URL"], "(hidden)");
    assert!(secret.get("stringData").is_none(), "{secret:?}");
    assert!(
        !stdout(&output).contains("mongodb://"),
        "a Secret value leaked"
    );
    let user = object(&plug, "ConfigMap", "mongo-user-app-express");
    assert_eq!(user["metadata"]["namespace"], "db");
    assert_eq!(user["data"]["username"], "express");
}

#[test]
fn once_couples_the_results_example() {
    let output = dev_once(&example("results"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plug = only_plug(&output);
    assert_eq!(plug["plug"], "app/orders-db");
    assert_eq!(plug["coupled"], true);
    let cm = object(&plug, "ConfigMap", "orders-db-result");
    assert_eq!(
        cm["data"]["connection"],
        "postgres://orders@postgres.db.svc:5432/orders"
    );
    assert_eq!(cm["data"]["ack"], "yes");
}

#[test]
fn once_rejects_a_bad_directory_or_manifest_with_a_clear_message() {
    let missing = scratch("dev-missing").join("nothing-here");
    let empty = scratch("dev-empty");
    let unnamed = scratch("dev-unnamed");
    std::fs::write(unnamed.join("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    let broken = scratch("dev-broken");
    std::fs::write(broken.join("x.yaml"), "a: [\n").unwrap();
    let unknown = scratch("dev-unknown-kind");
    std::fs::write(
        unknown.join("x.yaml"),
        "apiVersion: v1\nkind: Gadget\nmetadata: {name: g}\n",
    )
    .unwrap();
    let invalid = scratch("dev-invalid-plug");
    std::fs::write(
        invalid.join("plug.yaml"),
        "apiVersion: integration.rock8s.com/v1beta1\nkind: Plug\n\
         metadata: {name: p}\nspec: {socket: 3}\n",
    )
    .unwrap();
    for (dir, expected) in [
        (&missing, "reading directory"),
        (&empty, "no .yaml, .yml or .json manifests"),
        (&unnamed, "cm.yaml: missing metadata.name"),
        (&broken, "x.yaml: not valid YAML"),
        (&unknown, "kind Gadget is not served in v1"),
        (
            &invalid,
            "applying Plug default/p: Plug.integration.rock8s.com \"p\" is invalid",
        ),
    ] {
        let output = dev_once(dir.to_str().unwrap());
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(expected),
            "{expected}: {}",
            stderr(&output)
        );
        assert_eq!(
            stdout(&output),
            "",
            "nothing reported for {}",
            dir.display()
        );
    }
}

#[test]
fn once_reports_a_plug_that_fails_and_exits_1() {
    let dir = scratch("dev-failing-plug");
    for file in ["00-namespaces.yaml", "socket.yaml"] {
        std::fs::copy(Path::new(&example("results")).join(file), dir.join(file)).unwrap();
    }
    let plug = std::fs::read_to_string(Path::new(&example("results")).join("plug.yaml")).unwrap();
    std::fs::write(
        dir.join("plug.yaml"),
        plug.replace("database: orders", "db: orders"),
    )
    .unwrap();
    let output = dev_once(dir.to_str().unwrap());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let plug = only_plug(&output);
    assert_eq!(plug["coupled"], false);
    assert_eq!(
        plug["error"], "plug config property 'database' is required",
        "{plug:#}"
    );
    assert!(
        stderr(&output).contains("not every plug coupled"),
        "{}",
        stderr(&output)
    );
}

/// Kills the server when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serves_a_kubeconfig_kubectl_can_use_until_sigterm() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("skipped: {KUBECTL} not found");
        return;
    }
    let dir = scratch("dev-serve");
    let kubeconfig = dir.join("kubeconfig");
    let mut server = Server(
        Command::new(BIN)
            .args(["dev", "--kubeconfig", kubeconfig.to_str().unwrap()])
            .args(["--apply", &example("express-mongodb")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let kubectl = |args: &[&str]| {
        Command::new(KUBECTL)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .unwrap()
    };
    // The kubeconfig appears once the CRDs are served; the plug once
    // --apply ran. Poll both, bounded.
    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("dev exited early: {status}");
        }
        if kubeconfig.exists() {
            let output = kubectl(&["get", "plugs", "-A"]);
            if output.status.success() && stdout(&output).contains("express") {
                break stdout(&output);
            }
        }
        assert!(Instant::now() < deadline, "kubectl never listed the plug");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(listed.contains("app"), "{listed}");
    let secret = kubectl(&["get", "secret", "express-mongo", "-n", "app", "-o", "name"]);
    assert!(secret.status.success(), "{}", stderr(&secret));
    // SIGTERM by pid: a clean stop, exit 0.
    let pid = server.0.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "dev did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

/// examples/shop: an Application with a Deployment, a StatefulSet with
/// storage and a ServiceMonitor (its CRD is in the example), and a
/// Component. No workload controller runs, so they stay Pending but
/// reconciled, which `--once` counts as fine.
#[test]
fn once_reports_the_shop_application_and_its_component() {
    let output = dev_once(&example("shop"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    assert!(report.get("plugs").is_none(), "{report:#}");
    let apps = report["applications"].as_array().unwrap();
    let app = apps.iter().find(|a| a["name"] == "shop/shop").unwrap();
    let billing = apps.iter().find(|a| a["name"] == "billing/billing");
    let billing = billing.unwrap_or_else(|| panic!("the second app: {report:#}"));
    assert_eq!(billing["reconciled"], true, "{billing:#}");
    assert!(
        billing["children"]
            .as_array()
            .unwrap()
            .contains(&Value::from("Socket/billing-api-api")),
        "{billing:#}"
    );
    assert_eq!(app["reconciled"], true);
    assert_eq!(app["phase"], "Pending", "{app:#}");
    assert_eq!(app["reason"], "LatestGenerationNotObserved");
    assert_eq!(app["ready"], "0/3");
    let children: Vec<&str> = app["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for child in [
        "Deployment/web",
        "Service/web",
        "StatefulSet/api",
        "Service/api",
        "ServiceMonitor/api",
        "Plug/shop-web-billing",
    ] {
        assert!(children.contains(&child), "{child}: {app:#}");
    }
    assert_eq!(
        app["links"],
        serde_json::json!(["web -> billing/billing-api-api: Coupled"]),
        "{app:#}"
    );
    assert!(
        !children.contains(&"Deployment/worker"),
        "the Component owns its Deployment: {app:#}"
    );
    let conditions = app["conditions"].as_array().unwrap();
    assert!(
        conditions.contains(&Value::from("MetricsAvailable=True/ServiceMonitorAPIFound")),
        "{app:#}"
    );
    let worker = &report["components"][0];
    assert_eq!(worker["name"], "shop/worker");
    assert_eq!(worker["reconciled"], true);
    assert_eq!(
        worker["children"],
        serde_json::json!(["Deployment/worker"]),
        "{worker:#}"
    );
}

/// `graph` from the live objects: examples/shop under `dev`, with its link
/// to billing coupled.
#[test]
fn graph_draws_the_live_shop_with_its_coupled_link() {
    let dir = scratch("dev-graph");
    let kubeconfig = dir.join("kubeconfig");
    let _server = Server(
        Command::new(BIN)
            .args(["dev", "--kubeconfig", kubeconfig.to_str().unwrap()])
            .args(["--apply", &example("shop")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let drawn = loop {
        if kubeconfig.exists() {
            let output = Command::new(BIN)
                .args(["graph", "--namespace", "shop"])
                .env("KUBECONFIG", &kubeconfig)
                .output()
                .unwrap();
            if output.status.success() && stdout(&output).contains("billing: Coupled") {
                break stdout(&output);
            }
        }
        assert!(
            Instant::now() < deadline,
            "graph never showed the coupled link"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(drawn.starts_with("flowchart LR\n"), "{drawn}");
    assert!(drawn.contains("Application shop/shop"), "{drawn}");
    // Only namespace shop is read: the far end is billing's Socket.
    assert!(drawn.contains("Socket billing/billing-api-api"), "{drawn}");
}

/// `GET path` on `addr`: the status code and body, or `None` while
/// nothing listens there yet.
fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: dev\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.get(9..12)?.parse().ok()?;
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Some((code, body))
}

/// A loopback address no one listens on now.
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Given `run`'s endpoint flags, `dev` serves its probes and `/metrics`,
/// which count what the operator did there.
#[test]
fn serves_the_probes_and_metrics_of_run_when_asked() {
    let dir = scratch("dev-endpoints");
    let (health, metrics) = (free_addr(), free_addr());
    let mut server = Server(
        Command::new(BIN)
            .args([
                "dev",
                "--kubeconfig",
                dir.join("kubeconfig").to_str().unwrap(),
            ])
            .args(["--apply", &example("express-mongodb")])
            .args(["--health-probe-bind-address", &health])
            .args(["--metrics-bind-address", &metrics])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let coupled = r#"integration_operator_couplings{reason="CouplingSucceeded"} 1"#;
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("dev exited early: {status}");
        }
        if let Some((200, body)) = http_get(&metrics, "/metrics")
            && body.contains(coupled)
        {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "the plug never showed as coupled on /metrics"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        body.contains(r#"controller_runtime_reconcile_total{controller="plug",result="success"}"#),
        "{body}"
    );
    assert_eq!(http_get(&health, "/healthz"), Some((200, "ok".into())));
    assert_eq!(http_get(&health, "/readyz"), Some((200, "ok".into())));
}

/// A local apparatus: answers `{}` with 200 to every request and records
/// the paths, on a loopback port, from a thread.
struct LocalApparatus {
    url: String,
    paths: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LocalApparatus {
    fn start() -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let paths = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = paths.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                seen.lock().unwrap().push(path);
                let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = reader.get_mut().write_all(answer.as_bytes());
            }
        });
        LocalApparatus { url, paths }
    }
}

/// The results example with an apparatus (a container) on the plug.
fn results_with_plug_apparatus(name: &str) -> PathBuf {
    let dir = scratch(name);
    for file in ["00-namespaces.yaml", "socket.yaml"] {
        std::fs::copy(Path::new(&example("results")).join(file), dir.join(file)).unwrap();
    }
    let plug = std::fs::read_to_string(Path::new(&example("results")).join("plug.yaml")).unwrap();
    let apparatus = "  apparatus:\n    containers:\n      - name: apparatus\n        image: registry.test/app:1\n        ports: [{name: container, containerPort: 8080}]\n";
    std::fs::write(
        dir.join("plug.yaml"),
        plug.replace("spec:\n", &format!("spec:\n{apparatus}")),
    )
    .unwrap();
    dir
}

fn dev_once_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(["dev", "--once", "--timeout", "60", "--apply"])
        .arg(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("binary starts")
}

#[test]
fn once_calls_a_local_apparatus_given_by_flag_or_environment() {
    for how in ["flag", "env"] {
        let apparatus = LocalApparatus::start();
        let dir = results_with_plug_apparatus(&format!("dev-local-apparatus-{how}"));
        let output = match how {
            "flag" => dev_once_with(&dir, &["--plug-endpoint", &apparatus.url], &[]),
            _ => dev_once_with(&dir, &[], &[("DEBUG_PLUG_ENDPOINT", &apparatus.url)]),
        };
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(only_plug(&output)["coupled"], true);
        let paths = apparatus.paths.lock().unwrap().clone();
        assert_eq!(
            paths.first().map(String::as_str),
            Some("/created"),
            "{paths:?}"
        );
        assert!(paths.iter().any(|p| p == "/coupled"), "{paths:?}");
    }
}

#[test]
fn with_a_local_apparatus_that_is_down_no_pod_is_started() {
    // A port nobody listens on: the call fails and says where it went,
    // instead of starting a Pod and waiting for it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = results_with_plug_apparatus("dev-local-apparatus-down");
    let output = dev_once_with(&dir, &["--plug-endpoint", &url], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let plug = only_plug(&output);
    let error = plug["error"].as_str().unwrap_or_default();
    assert!(error.contains(&url), "{plug:#}");
    assert!(!error.contains("waiting for apparatus"), "{plug:#}");
}

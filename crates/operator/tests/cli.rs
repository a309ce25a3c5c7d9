//! The binary's subcommands, run as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

const BIN: &str = env!("CARGO_BIN_EXE_integration-operator");

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn crds_output() -> String {
    let output = run(&["crds"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

#[test]
fn crds_prints_every_crd_as_yaml() {
    let yaml = crds_output();
    let docs: Vec<CustomResourceDefinition> =
        serde_saphyr::from_multiple(&yaml).expect("valid YAML");
    let names: Vec<_> = docs
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "plugs.integration.rock8s.com",
            "sockets.integration.rock8s.com",
            "deferredresources.integration.rock8s.com",
            "applications.integration.rock8s.com",
            "components.integration.rock8s.com",
        ]
    );
    assert_eq!(
        docs,
        integration_api::crds(),
        "the YAML carries the CRDs unchanged"
    );
}

/// The install kustomization's and the Helm chart's copies.
#[test]
fn committed_crds_are_up_to_date() {
    let output = crds_output();
    for file in [
        "deploy/crds.yaml",
        "charts/integration-operator/crds/crds.yaml",
    ] {
        let path = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == output,
            "{file} is out of date with the API types; regenerate it from the \
             repository root with:\n\n    cargo run -p integration-operator -- crds > {file}\n"
        );
    }
}

/// `kubectl apply -k deploy/` installs every manifest there.
#[test]
fn the_kustomization_lists_every_manifest() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");
    let text = std::fs::read_to_string(format!("{dir}/kustomization.yaml")).unwrap();
    let kustomization: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut listed: Vec<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    listed.sort();
    files.sort();
    assert_eq!(listed, files);
}

#[test]
fn template_error_exits_1_with_the_engine_message() {
    let output = run(&["template", "{% .x"], None);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.starts_with("template: template:1:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(output.stdout.is_empty());
}

#[test]
fn template_error_names_the_file() {
    let dir = scratch("template_error_names_the_file");
    let file = dir.join("broken.tpl");
    std::fs::write(&file, "{% .x").unwrap();
    let output = run(&["template", "--file", file.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.starts_with("template: broken.tpl:1:"), "{err}");
}

#[test]
fn template_with_unreadable_data_exits_1() {
    let output = run(&["template", "--data", "/nonexistent/data.yaml", "x"], None);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("reading data file /nonexistent/data.yaml"),
        "{err}"
    );

    let dir = scratch("template_with_unreadable_data_exits_1");
    let data = dir.join("bad.yaml");
    std::fs::write(&data, "a: [").unwrap();
    let output = run(&["template", "--data", data.to_str().unwrap(), "x"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("parsing data file"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn template_and_file_conflict() {
    let output = run(&["template", "--file", "a.tpl", "text"], None);
    assert_eq!(output.status.code(), Some(2), "a usage error");
}

#[test]
fn template_renders_with_json_data() {
    let dir = scratch("template_renders_with_json_data");
    let data = dir.join("data.json");
    std::fs::write(&data, r#"{"plug": {"name": "orders"}, "port": 5432}"#).unwrap();
    let output = run(
        &[
            "template",
            "--data",
            data.to_str().unwrap(),
            "{% .plug.name %}:{% .port %}",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "orders:5432",
        "no trailing newline is added"
    );
}

#[test]
fn template_renders_with_yaml_data_from_stdin_template() {
    let dir = scratch("template_renders_with_yaml_data_from_stdin_template");
    let data = dir.join("data.yaml");
    std::fs::write(&data, "items: [a, b]\nname: db\n").unwrap();
    for args in [
        vec!["template", "--data", data.to_str().unwrap(), "-"],
        vec!["template", "--data", data.to_str().unwrap()],
    ] {
        let output = run(
            &args,
            Some("{% range .items %}{% . %},{% end %}{% .name %}\n"),
        );
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output), "a,b,db\n");
    }
}

#[test]
fn template_renders_from_a_file() {
    let dir = scratch("template_renders_from_a_file");
    let file = dir.join("hello.tpl");
    std::fs::write(&file, "hello {% .who %}").unwrap();
    let data = dir.join("data.json");
    std::fs::write(&data, r#"{"who": "world"}"#).unwrap();
    let output = run(
        &[
            "template",
            "--data",
            data.to_str().unwrap(),
            "--file",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "hello world");
}

#[test]
fn run_rejects_a_bad_log_level() {
    let output = run(&["run", "--log-level", "info,=x=y"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid --log-level"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_readme_quick_start_renders_the_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/templates");
    let data = format!("{root}/data.yaml");
    let file = format!("{root}/mongo-connection.yaml");
    let output = run(&["template", "--data", &data, "--file", &file], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let secret: serde_json::Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    assert_eq!(secret["metadata"]["name"], "express-mongo");
    assert_eq!(
        secret["stringData"]["url"],
        "mongodb://mongo.db.svc:27017/shop"
    );
    assert_eq!(secret["stringData"]["username"], "express");
    assert!(secret["stringData"].get("replicaSet").is_none());
}

/// Runs `render` on an example directory with the given extra arguments.
fn render_example(example: &str, extra: &[&str]) -> Output {
    let dir = format!("{}/../../examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let (plug, socket) = (format!("{dir}/plug.yaml"), format!("{dir}/socket.yaml"));
    let mut args = vec!["render", "--plug", &plug, "--socket", &socket];
    args.extend(extra);
    run(&args, None)
}

#[test]
fn render_shows_what_each_side_applies_when_coupled() {
    let objects = format!(
        "{}/../../examples/express-mongodb/objects.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = render_example(
        "express-mongodb",
        &["--objects", &objects, "--event", "coupled"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["config"]["plug"]["database"], "shop");
    assert_eq!(report["config"]["socket"]["port"], "27017");
    let coupled = &report["events"]["coupled"];
    let secret = &coupled["plug"][0]["object"];
    assert_eq!(secret["metadata"]["namespace"], "app");
    // Secret values are shown hidden, as `dev` shows them.
    assert_eq!(secret["stringData"]["MONGO_URL"], "(hidden)");
    let user = &coupled["socket"][0]["object"];
    assert_eq!(user["metadata"]["name"], "mongo-user-app-express");
    assert_eq!(user["data"]["username"], "express");
    assert!(
        report["events"].get("created").is_none(),
        "only the chosen event"
    );
}

#[test]
fn render_shows_results_and_result_resources() {
    let output = render_example("results", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    let connection = "postgres://orders@postgres.db.svc:5432/orders";
    assert_eq!(report["result"]["socket"]["connection"], connection);
    assert_eq!(report["result"]["plug"]["ack"], "yes");
    for event in ["coupled", "updated"] {
        let cm = &report["events"][event]["resultResources"]["plug"][0]["object"];
        assert_eq!(cm["data"]["connection"], connection, "{event}");
    }
    let deleted = &report["events"]["decoupled"]["deletes"]["plug"][0];
    assert_eq!(deleted["action"], "delete");
    assert_eq!(deleted["object"]["metadata"]["name"], "orders-db-result");
}

#[test]
fn render_reports_missing_objects_and_validation_errors_and_exits_1() {
    let output = render_example("express-mongodb", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("configmap app/express-db not found"),
        "{}",
        stderr(&output)
    );

    let dir = scratch("render-invalid");
    let plug = dir.join("plug.yaml");
    let socket = format!(
        "{}/../../examples/results/socket.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let manifest = "apiVersion: integration.rock8s.com/v1beta1\nkind: Plug\n\
        metadata: {name: p, namespace: app}\nspec: {socket: {name: postgres, namespace: db}}\n";
    std::fs::write(&plug, manifest).unwrap();
    let output = run(
        &[
            "render",
            "--plug",
            plug.to_str().unwrap(),
            "--socket",
            &socket,
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("plug config property 'database' is required"),
        "{}",
        stderr(&output)
    );
}

/// The results example's plug with an apparatus at `endpoint` (its
/// containers make a path endpoint resolve inside the cluster).
fn plug_with_apparatus(dir: &std::path::Path, endpoint: &str) -> String {
    let base = format!(
        "{}/../../examples/results/plug.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut plug: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(base).unwrap()).unwrap();
    plug["spec"]["apparatus"] = serde_json::json!({
        "endpoint": endpoint, "timeout": 5,
        "containers": [{"name": "apparatus", "image": "registry.test/a:1"}]
    });
    let path = dir.join("plug.yaml");
    std::fs::write(&path, serde_json::to_string(&plug).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

fn results_socket() -> String {
    format!(
        "{}/../../examples/results/socket.yaml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A one-connection-at-a-time HTTP server on a loopback port that answers
/// every request with `answer` (JSON) and records `(request line, body)`.
struct LocalApparatus {
    url: String,
    seen: std::sync::mpsc::Receiver<(String, serde_json::Value)>,
}

impl LocalApparatus {
    fn start(answer: &'static str) -> Self {
        use std::io::{BufRead, BufReader, Read};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, seen) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let body = serde_json::from_slice(&body).unwrap_or_default();
                let _ = tx.send((request_line.trim().to_string(), body));
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                stream.write_all(response.as_bytes()).unwrap();
            }
        });
        LocalApparatus { url, seen }
    }

    fn requests(&self) -> Vec<(String, serde_json::Value)> {
        self.seen.try_iter().collect()
    }
}

#[test]
fn render_calls_a_local_apparatus_config_only() {
    let server = LocalApparatus::start(r#"{"database":"from-apparatus","port":5432}"#);
    let dir = scratch("render-local-apparatus");
    let plug = plug_with_apparatus(&dir, "/plug");
    let base = format!("{}/plug/", server.url);
    let output = run(
        &[
            "render",
            "--plug",
            &plug,
            "--socket",
            &results_socket(),
            "--plug-apparatus",
            &base,
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["config"]["plug"]["database"], "from-apparatus");
    assert!(report["config"]["plug"].get("port").is_none());
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        1,
        "event paths are never called: {requests:?}"
    );
    let (line, body) = &requests[0];
    assert_eq!(line, "POST /plug/config HTTP/1.1");
    assert_eq!(body["version"], 1);
    assert_eq!(body["plug"]["metadata"]["name"], "orders-db");
    assert!(
        stderr(&output).contains(&format!("POST {}/plug/config", server.url)),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_calls_an_absolute_endpoint_by_default() {
    let server = LocalApparatus::start(r#"{"database":"absolute"}"#);
    let dir = scratch("render-absolute-apparatus");
    let plug = plug_with_apparatus(&dir, &format!("{}/x", server.url));
    let output = run(
        &["render", "--plug", &plug, "--socket", &results_socket()],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["config"]["plug"]["database"], "absolute");
    assert_eq!(server.requests()[0].0, "POST /x/config HTTP/1.1");
}

#[test]
fn render_skips_apparatus_calls_and_says_so() {
    let dir = scratch("render-no-apparatus");
    // Nothing listens here: a call would fail.
    let plug = plug_with_apparatus(&dir, "http://127.0.0.1:9/x");
    let output = run(
        &[
            "render",
            "--plug",
            &plug,
            "--socket",
            &results_socket(),
            "--no-apparatus",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["config"]["plug"]["database"], "orders");
    assert!(
        stderr(&output).contains("--no-apparatus: plug app/orders-db's apparatus is not called"),
        "{}",
        stderr(&output)
    );

    // A path endpoint is inside the cluster: not called, and said so.
    let plug = plug_with_apparatus(&dir, "/plug");
    let output = run(
        &["render", "--plug", &plug, "--socket", &results_socket()],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("runs in the cluster; its config is treated as empty (give a local server with --plug-apparatus URL)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_reports_an_unreachable_apparatus_and_exits_1() {
    let dir = scratch("render-unreachable-apparatus");
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", probe.local_addr().unwrap());
    drop(probe);
    let plug = plug_with_apparatus(&dir, &url);
    let output = run(
        &["render", "--plug", &plug, "--socket", &results_socket()],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!(
            "apparatus config could not reach POST {url}/config: connection refused"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_help_says_event_paths_are_never_called() {
    let output = run(&["render", "--help"], None);
    assert!(output.status.success());
    let help = stdout(&output);
    for text in [
        "--plug-apparatus",
        "--socket-apparatus",
        "--no-apparatus",
        "never called",
    ] {
        assert!(help.contains(text), "{text}: {help}");
    }
}

/// Runs `render` on examples/shop's Application and Component, with
/// `extra` arguments (say, its facts file).
fn render_shop(extra: &[&str]) -> (Output, serde_json::Value) {
    let dir = format!("{}/../../examples/shop", env!("CARGO_MANIFEST_DIR"));
    let (app, component) = (
        format!("{dir}/20-application.yaml"),
        format!("{dir}/30-component.yaml"),
    );
    let mut args = vec!["render", "--application", &app, "--component", &component];
    let facts = extra
        .iter()
        .map(|f| format!("{dir}/{f}"))
        .collect::<Vec<_>>();
    for f in &facts {
        args.extend(["--facts", f.as_str()]);
    }
    let output = run(&args, None);
    let report = serde_saphyr::from_str(&stdout(&output)).unwrap_or_default();
    (output, report)
}

/// `Kind/name` of each rendered child.
fn child_names(rendered: &serde_json::Value) -> Vec<String> {
    rendered["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["kind"].as_str().unwrap(),
                c["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// The `status` of `type_` in a rendered status.
fn condition<'r>(rendered: &'r serde_json::Value, type_: &str) -> &'r serde_json::Value {
    rendered["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {rendered:#}"))
}

#[test]
fn render_predicts_the_shop_running_with_its_facts() {
    let (output, report) = render_shop(&["facts.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let app = &report["application"];
    assert_eq!(app["name"], "shop/shop");
    assert_eq!(
        child_names(app),
        [
            "Deployment/web",
            "Service/web",
            "Plug/shop-web-billing",
            "Service/billing",
            "StatefulSet/api",
            "Service/api",
            "ServiceMonitor/api",
        ]
    );
    // The link to billing, coupled in the facts: its ExternalName Service
    // and variables.
    let billing = &app["children"][3];
    assert_eq!(billing["spec"]["type"], "ExternalName");
    assert_eq!(
        billing["spec"]["externalName"],
        "api.billing.svc.cluster.local"
    );
    assert_eq!(app["status"]["links"][0]["state"], "Coupled", "{app:#}");
    assert_eq!(app["status"]["links"][0]["to"], "billing/billing-api-api");
    let api = &app["children"][4];
    assert_eq!(
        api["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
        "data"
    );
    let env = &app["children"][0]["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        env.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "API_SERVICE_HOST" && e["value"] == "api.shop.svc.cluster.local"),
        "{env:#}"
    );
    assert!(
        env.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "BILLING_SERVICE_PORT" && e["value"] == "80"),
        "{env:#}"
    );
    assert_eq!(app["status"]["phase"], "Running", "{app:#}");
    assert_eq!(app["status"]["ready"], "3/3");
    assert_eq!(condition(app, "Ready")["status"], "True");
    assert_eq!(condition(app, "MetricsAvailable")["status"], "True");
    let worker = &report["components"][0];
    assert_eq!(worker["name"], "shop/worker");
    assert_eq!(child_names(worker), ["Deployment/worker"]);
    assert_eq!(worker["status"]["phase"], "Running", "{worker:#}");
}

/// Without facts: a bare cluster right after the apply.
#[test]
fn render_predicts_the_shop_pending_without_facts() {
    let (output, report) = render_shop(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let app = &report["application"];
    assert_eq!(app["status"]["phase"], "Pending", "{app:#}");
    assert_eq!(app["status"]["ready"], "0/3");
    assert_eq!(
        condition(app, "Ready")["reason"],
        "LatestGenerationNotObserved"
    );
    // No monitoring API: no ServiceMonitor, and the status says why.
    let children = child_names(app);
    assert!(!children.contains(&"ServiceMonitor/api".to_string()));
    // The link is asked for (its Plug), nothing more until it couples.
    assert!(children.contains(&"Plug/shop-web-billing".to_string()));
    assert!(!children.contains(&"Service/billing".to_string()));
    assert_eq!(app["status"]["links"][0]["state"], "Pending", "{app:#}");
    let metrics = condition(app, "MetricsAvailable");
    assert_eq!(metrics["status"], "False");
    assert_eq!(metrics["reason"], "ServiceMonitorAPINotFound");
    assert_eq!(report["components"][0]["status"]["phase"], "Pending");
}

#[test]
fn render_refuses_an_invalid_application_naming_the_field_and_exits_1() {
    let dir = scratch("render_refuses_an_invalid_application");
    let file = dir.join("app.yaml");
    std::fs::write(
        &file,
        "apiVersion: integration.rock8s.com/v1beta1\nkind: Application\n\
         metadata: {name: shop, namespace: shop}\n\
         spec:\n  components:\n    - {name: web, image: nginx, connectsTo: [{component: db, port: sql}]}\n",
    )
    .unwrap();
    let output = run(&["render", "--application", file.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    let app = &report["application"];
    assert_eq!(app["status"]["phase"], "Failed");
    assert_eq!(condition(app, "Ready")["reason"], "InvalidSpec");
    assert!(child_names(app).is_empty(), "nothing is applied: {app:#}");
    let field = "spec.components[0].connectsTo[0].component";
    assert!(
        app["status"]["message"].as_str().unwrap().contains(field),
        "{app:#}"
    );
    let err = stderr(&output);
    assert!(
        err.contains("Application shop/shop: invalid spec") && err.contains(field),
        "{err}"
    );
}

#[test]
fn render_names_the_file_and_field_of_bad_facts() {
    let dir = scratch("render_names_the_file_and_field_of_bad_facts");
    let facts = dir.join("facts.yaml");
    std::fs::write(&facts, "kind: ClusterFacts\nworkloads:\n  web: ready\n").unwrap();
    let app = format!(
        "{}/../../examples/shop/20-application.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = run(
        &[
            "render",
            "--application",
            &app,
            "--facts",
            facts.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("facts.yaml: workloads.web: must be an object"),
        "{err}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn render_takes_applications_or_a_plug_and_socket_not_both() {
    let output = run(
        &["render", "--application", "a.yaml", "--plug", "p.yaml"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );
    let help = stdout(&run(&["render", "--help"], None));
    for text in ["--application", "--component", "--facts"] {
        assert!(help.contains(text), "{text}: {help}");
    }
}

/// The billing application of examples/shop: its Socket and its policy,
/// which admits no one until a plug couples.
#[test]
fn render_shows_a_provided_socket_and_the_policy() {
    let file = format!(
        "{}/../../examples/shop/40-billing.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = run(&["render", "--application", &file], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    let app = &report["application"];
    assert_eq!(
        child_names(app),
        [
            "Deployment/api",
            "Service/api",
            "Socket/billing-api-api",
            "NetworkPolicy/api"
        ]
    );
    let socket = &app["children"][2];
    assert_eq!(
        socket["spec"]["validation"]["namespaceWhitelist"][0],
        "^shop$"
    );
    assert_eq!(socket["spec"]["config"]["port"], "80");
    let policy = &app["children"][3];
    assert_eq!(policy["spec"]["policyTypes"][0], "Ingress");
    assert_eq!(policy["spec"]["ingress"], serde_json::json!([]));
    assert_eq!(
        app["status"]["networkPolicies"],
        serde_json::json!([{"component": "api", "ingress": []}])
    );
}

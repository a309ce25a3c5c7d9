//! `render` on manifests shaped like real charts' (`helm template`
//! output): several documents per file, a plug and its Secret in one file,
//! `stringData`, duplicate keys, an unknown field, and a socket script
//! reading a key its interface drops (docs/compatibility.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_integration-operator");

const SOCKET: &str = r#"---
# Source: keycloak/templates/socket.yaml
apiVersion: integration.rock8s.com/v1beta1
kind: Socket
metadata:
  name: keycloak
  namespace: db
spec:
  interface:
    config:
      plug:
        realm: {required: true}
        password: {required: true, secret: true}
  resources:
    - when: [coupled]
      stringTemplate: |
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: setup-{% .plug.metadata.name %}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
                - name: setup
                  image: busybox
                  command: [sh, -c, 'if [ "{% .plugConfig.create %}" != "0" ]; then echo {% .plugConfig.realm %}; fi']
    - when: [coupled]
      stringTemplate: |
        apiVersion: v1
        kind: Secret
        metadata:
          name: realm-{% .plug.metadata.name %}
        stringData:
          password: "{% .plugConfig.password %}"
"#;

const PLUG: &str = r#"---
# Source: shop/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: shop-realm
  namespace: app
stringData:
  password: s3cr3t-pass
---
# Source: shop/templates/plug.yaml
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata:
  name: shop
  namespace: app
spec:
  socket:
    name: keycloak
    namespace: db
  configSecretName: shop-realm
  config:
    realm: first
    create: "0"
    realm: shop
  sokcet: typo
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn render(dir: &std::path::Path) -> Output {
    Command::new(BIN)
        .arg("render")
        .arg("--plug")
        .arg(dir.join("plug.yaml"))
        .arg("--socket")
        .arg(dir.join("socket.yaml"))
        .args(["--event", "coupled"])
        .output()
        .expect("binary starts")
}

/// 1-based line of the `nth` (0-based) line equal to `text` once trimmed.
fn line_of(file: &str, text: &str, nth: usize) -> usize {
    file.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == text)
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap()
}

#[test]
fn render_reads_chart_output_as_kubectl_and_the_original_would() {
    let dir = scratch("render-chart-output");
    std::fs::write(dir.join("plug.yaml"), PLUG).unwrap();
    std::fs::write(dir.join("socket.yaml"), SOCKET).unwrap();
    let output = render(&dir);
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_saphyr::from_str(&String::from_utf8(output.stdout).unwrap()).unwrap();

    // The Plug was picked out of the file, the Secret beside it read as an
    // object with its stringData folded into data, and the last `realm`
    // won.
    assert_eq!(report["config"]["plug"]["realm"], "shop");
    assert_eq!(report["config"]["plug"]["password"], "(secret)");
    let socket = report["events"]["coupled"]["socket"].as_array().unwrap();
    let job = &socket[0]["object"];
    let script = &job["spec"]["template"]["spec"]["containers"][0]["command"][2];
    assert_eq!(script, "if [ \"<no value>\" != \"0\" ]; then echo shop; fi");
    // A rendered Secret is printed with its values hidden.
    let secret = &socket[1]["object"];
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["stringData"]["password"], "(hidden)");
    assert!(!format!("{report}").contains("s3cr3t-pass"));

    let plug_file = dir.join("plug.yaml").display().to_string();
    let realm_line = line_of(PLUG, "realm: shop", 0);
    let expected = [
        format!(
            "warning: {plug_file}: line {realm_line}, column 5: key spec.config.realm is given more than once; \
             the last value is used, as kubectl does"
        ),
        format!(
            "warning: {plug_file}: Plug shop: field spec.sokcet is not part of the Plug API and is ignored \
             (a cluster drops it; kubectl refuses it)"
        ),
        "warning: template socket.resources[0].stringTemplate: {% .plugConfig.create %} at line 12, column 39 \
         rendered <no value>: create was set by the plug but is not declared in the socket's \
         interface.config.plug, so it was dropped"
            .to_string(),
    ];
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings, expected, "{stderr}");
    assert!(!stderr.contains("s3cr3t-pass"));
}

#[test]
fn render_wants_exactly_one_plug_in_the_plug_file() {
    let dir = scratch("render-two-plugs");
    let two = PLUG.to_string()
        + "---\n"
        + &PLUG.replace(
            "name: shop\n  namespace: app\nspec",
            "name: other\n  namespace: app\nspec",
        );
    std::fs::write(dir.join("plug.yaml"), two).unwrap();
    std::fs::write(dir.join("socket.yaml"), SOCKET).unwrap();
    let output = render(&dir);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("expected one Plug, found 2"), "{stderr}");
}

/// The same chart output through `dev --apply`: it couples as the original
/// coupled it, the warnings of reading it are on stderr, and the plug's
/// `Warnings` condition names the dropped key.
#[cfg(feature = "dev")]
#[test]
fn dev_applies_chart_output_and_couples_with_warnings() {
    let dir = scratch("dev-chart-output");
    let namespaces = std::fs::read_to_string(format!(
        "{}/../../examples/results/00-namespaces.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(
        "    resources: [configmaps, secrets]\n",
        "    resources: [configmaps, secrets]\n    verbs: [get, list, watch, create, update, patch, delete]\n  - apiGroups: [batch]\n    resources: [jobs]\n",
    );
    std::fs::write(dir.join("00-namespaces.yaml"), namespaces).unwrap();
    let with_account = |text: &str| {
        text.replacen(
            "\nspec:\n",
            "\nspec:\n  serviceAccountName: integrator\n",
            1,
        )
    };
    std::fs::write(dir.join("plug.yaml"), with_account(PLUG)).unwrap();
    std::fs::write(dir.join("socket.yaml"), with_account(SOCKET)).unwrap();
    let output = Command::new(BIN)
        .args(["dev", "--once", "--timeout", "60", "--apply"])
        .arg(&dir)
        .output()
        .expect("binary starts");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("key spec.config.realm is given more than once"),
        "{stderr}"
    );
    assert!(
        stderr.contains("field spec.sokcet is not part of the Plug API"),
        "{stderr}"
    );
    let report: Value = serde_saphyr::from_str(&String::from_utf8(output.stdout).unwrap()).unwrap();
    let plug = &report["plugs"][0];
    assert_eq!(plug["coupled"], true, "{plug:#}");
    let conditions = plug["status"]["conditions"].as_array().unwrap();
    let warnings = conditions.iter().find(|c| c["type"] == "Warnings").unwrap();
    assert_eq!(
        warnings["message"],
        "template socket.resources[0].stringTemplate: {% .plugConfig.create %} at line 12, column 39 \
         rendered <no value>: create was set by the plug but is not declared in the socket's \
         interface.config.plug, so it was dropped"
    );
    assert!(!format!("{report}").contains("s3cr3t-pass"));
}

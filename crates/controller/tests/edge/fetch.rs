//! Fetching an engine plan into engine sources.

use integration_api::{Plug, Socket};
use integration_controller::{MapReader, fetch};
use integration_engine::{Coupling, ObjectKey, VarTarget};

use crate::common::{Env, yaml};

const SOCKET: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Socket
metadata: {name: postgres, namespace: db, uid: s-1}
spec:
  serviceAccountName: integrator
  config: {host: postgres.db.svc}
  vars:
    - {name: pgPort, objref: {apiVersion: v1, kind: Service, name: postgres}, fieldref: {fieldPath: spec.ports.0.port}}
    - {name: pgName, objref: {apiVersion: v1, kind: Service, name: postgres}, fieldref: {fieldPath: metadata.name}}
"#;

const PLUG: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata: {name: orders-db, namespace: app, uid: p-1}
spec:
  serviceAccountName: integrator
  socket: {name: postgres, namespace: db}
  configConfigMapName: orders-config
  configSecretName: orders-secret
  dataConfigMapName: not-there
"#;

const OBJECTS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: postgres, namespace: db}
spec:
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: orders-config, namespace: app}
data: {database: orders}
---
apiVersion: v1
kind: Secret
metadata: {name: orders-secret, namespace: app}
data: {password: aHVudGVyMjI=}
"#;

fn pair(plug_edits: impl FnOnce(&mut serde_json::Value)) -> (Plug, Socket) {
    let mut plug = yaml(PLUG);
    plug_edits(&mut plug);
    (
        serde_json::from_value(plug).unwrap(),
        serde_json::from_value(yaml(SOCKET)).unwrap(),
    )
}

#[tokio::test]
async fn fills_config_maps_secrets_and_var_targets() {
    let env = Env::f0().await;
    env.admin_apply(OBJECTS).await;
    let (plug, socket) = pair(|_| {});
    let plan = Coupling::new(&plug, &socket).unwrap().plan().unwrap();

    let sources = fetch(&env.cluster, &plan, MapReader::Operator)
        .await
        .unwrap();

    let key = |name: &str| ObjectKey::new("app", name);
    assert_eq!(
        sources.config_map(&key("orders-config")).unwrap()["database"],
        "orders"
    );
    assert_eq!(
        sources.secret(&key("orders-secret")).unwrap()["password"],
        "hunter22"
    );
    assert_eq!(sources.config_map(&key("not-there")), None);
    let service = VarTarget {
        api_version: "v1".into(),
        kind: "Service".into(),
        namespace: "db".into(),
        name: "postgres".into(),
    };
    assert_eq!(sources.objects.len(), 1, "one GET for two vars");
    assert_eq!(sources.objects[&service]["spec"]["ports"][0]["port"], 5432);
    assert!(!format!("{sources:?}").contains("hunter22"));
}

#[tokio::test]
async fn reads_maps_as_the_owner_when_asked() {
    let env = Env::f0().await;
    env.admin_apply(OBJECTS).await;
    // `default` may not read Secrets; the operator may.
    let (plug, socket) = pair(|p| p["spec"]["serviceAccountName"] = "default".into());
    let plan = Coupling::new(&plug, &socket).unwrap().plan().unwrap();

    let as_operator = fetch(&env.cluster, &plan, MapReader::Operator).await;
    assert!(as_operator.is_ok(), "{as_operator:?}");

    let err = fetch(&env.cluster, &plan, MapReader::ServiceAccount)
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
    let text = err.to_string();
    // Whichever read fails first names its object.
    let named = [
        "ConfigMap app/not-there",
        "ConfigMap app/orders-config",
        "Secret app/orders-secret",
    ]
    .iter()
    .any(|o| text.starts_with(&format!("get {o}: Forbidden: ")));
    assert!(named, "{text}");
}

#[tokio::test]
async fn var_targets_are_read_as_the_owner() {
    let env = Env::f0().await;
    env.admin_apply(OBJECTS).await;
    let (plug, mut socket) = pair(|_| {});
    socket.spec.common.service_account_name = Some("default".into());
    let plan = Coupling::new(&plug, &socket).unwrap().plan().unwrap();

    let err = fetch(&env.cluster, &plan, MapReader::Operator)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("get Service db/postgres: Forbidden: "),
        "{err}"
    );
}

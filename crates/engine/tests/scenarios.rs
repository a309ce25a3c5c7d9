//! Acceptance scenarios (docs/scenarios.md) at the engine level: every
//! expected value is the one the scenario names.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;

use integration_api::{Do, Plug, Socket};
use integration_engine::*;
use integration_fixtures::{A3_PLUG, CHART_PLUG, CHART_SOCKET, P0, S0, manifest};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::{Value, json};

// ---------------------------------------------------------------- fixtures

fn socket(edits: &[(&str, &str)]) -> Socket {
    serde_json::from_value(manifest(S0, edits)).unwrap()
}

fn plug(edits: &[(&str, &str)]) -> Plug {
    serde_json::from_value(manifest(P0, edits)).unwrap()
}

/// Sources holding the given objects: ConfigMaps and Secrets as such, and
/// every object as a var target too (the edge fetches both the same way).
fn sources(objects: &[&str]) -> Sources {
    let mut s = Sources::default();
    for yaml in objects {
        let object: Value = serde_saphyr::from_str(yaml).unwrap();
        match object["kind"].as_str().unwrap() {
            "ConfigMap" => {
                s.add_config_map(&serde_json::from_value::<ConfigMap>(object.clone()).unwrap())
            }
            "Secret" => s.add_secret(&serde_json::from_value::<Secret>(object.clone()).unwrap()),
            _ => {}
        }
        let text = |v: &Value| v.as_str().unwrap().to_string();
        let target = VarTarget {
            api_version: text(&object["apiVersion"]),
            kind: text(&object["kind"]),
            namespace: text(&object["metadata"]["namespace"]),
            name: text(&object["metadata"]["name"]),
        };
        s.add_object(target, object);
    }
    s
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The one rendered object named `name`.
fn named<'r>(rendered: &'r [Rendered], name: &str) -> &'r Rendered {
    let found: Vec<_> = rendered
        .iter()
        .filter(|r| r.identity()[3] == name)
        .collect();
    assert_eq!(found.len(), 1, "objects named {name} in {rendered:#?}");
    found[0]
}

/// What the coupled hooks render, plug side then socket side.
fn coupled(c: &Coupling<'_>, configs: &Configs) -> Vec<Rendered> {
    Side::BOTH
        .into_iter()
        .flat_map(|side| {
            c.render_event(side, CouplingEvent::Coupled, configs)
                .unwrap()
        })
        .collect()
}

// ---------------------------------------------------------------- A1

#[test]
fn a1_happy_path_coupling() {
    let (s, p) = (socket(&[]), plug(&[]));
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    assert_eq!(
        configs.plug.values,
        map(&[("database", "orders"), ("owner", "app-user")])
    );
    assert_eq!(
        configs.socket.values,
        map(&[("host", "postgres.db.svc"), ("port", "5432")])
    );

    let rendered = coupled(&c, &configs);
    assert_eq!(rendered.len(), 2);
    let grant = named(&rendered, "grant-app-orders-db");
    assert_eq!(
        grant.identity(),
        ["v1", "ConfigMap", "db", "grant-app-orders-db"]
    );
    assert_eq!(
        grant.object["data"],
        json!({"database": "orders", "owner": "app-user"})
    );
    assert_eq!(grant.action, Do::Apply);
    assert!(grant.object["metadata"].get("ownerReferences").is_none());

    let conn = named(&rendered, "orders-db-connection");
    assert_eq!(
        conn.identity(),
        ["v1", "ConfigMap", "app", "orders-db-connection"]
    );
    assert_eq!(
        conn.object["data"]["url"],
        "postgres://postgres.db.svc:5432/orders"
    );
    assert_eq!(conn.object["data"]["keys"], "database,owner,");
}

#[test]
fn a1_rendered_objects_carry_owner_labels() {
    let mut s = socket(&[]);
    s.metadata.uid = Some("socket-uid".into());
    let p = plug(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let grant = c
        .render_event(Side::Socket, CouplingEvent::Coupled, &configs)
        .unwrap();
    assert_eq!(
        grant[0].object["metadata"]["labels"],
        json!({
            LABEL_OWNER_KIND: "Socket",
            LABEL_OWNER_NAME: "postgres",
            LABEL_OWNER_NAMESPACE: "db",
            LABEL_OWNER_UID: "socket-uid",
        })
    );
}

// ---------------------------------------------------------------- A3

const A3_SECRET: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: orders-secret, namespace: app}
stringData: {database: from-secret, user: secret-user, password: secret-pass}
"#;

const A3_CM: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: orders-cm, namespace: app}
data: {database: from-configmap}
"#;

#[test]
fn a3_config_source_precedence() {
    let s = socket(&[(
        "spec.interface.config.plug",
        "{database: {}, user: {}, password: {}, owner: {default: app-user}}",
    )]);
    let p: Plug = serde_json::from_value(manifest(A3_PLUG, &[])).unwrap();
    let c = Coupling::new(&p, &s).unwrap();
    let plan = c.plan().unwrap();
    assert_eq!(
        plan.plug.config_maps.iter().collect::<Vec<_>>(),
        ["orders-cm"]
    );
    assert_eq!(
        plan.plug.secrets.iter().collect::<Vec<_>>(),
        ["orders-secret"]
    );

    let src = sources(&[A3_SECRET, A3_CM]);
    // plugData must not contain the keys of orders-cm (the reference read
    // configConfigMapName as the data ConfigMap).
    assert_eq!(
        c.data(Side::Plug, &src).unwrap(),
        map(&[("team", "payments")])
    );

    let configs = c.configs(&src).unwrap();
    let rendered = c
        .render_event(Side::Plug, CouplingEvent::Coupled, &configs)
        .unwrap();
    let effective = named(&rendered, "effective-config");
    assert_eq!(
        effective.object["data"],
        json!({"database": "from-configmap", "user": "tpl-payments", "password": "secret-pass"})
    );
}

#[test]
fn a3_missing_configmap_is_an_error_without_values() {
    let s = socket(&[]);
    let p: Plug = serde_json::from_value(manifest(A3_PLUG, &[])).unwrap();
    let c = Coupling::new(&p, &s).unwrap();
    let err = c.configs(&sources(&[A3_SECRET])).unwrap_err();
    assert_eq!(err.to_string(), "configmap app/orders-cm not found");
}

#[test]
fn a3_redactor_hides_secret_values() {
    let s = socket(&[]);
    let p: Plug = serde_json::from_value(manifest(A3_PLUG, &[])).unwrap();
    let c = Coupling::new(&p, &s).unwrap();
    let src = sources(&[A3_SECRET, A3_CM]);
    let r = c.redactor(&src, &[]);
    assert_eq!(
        r.redact("password=secret-pass"),
        format!("password={REDACTED}")
    );
}

// ---------------------------------------------------------------- A4, A5

#[test]
fn a4_required_plug_config_missing() {
    let (s, p) = (
        socket(&[]),
        plug(&[("spec.config", "{unlisted: dropped-by-interface}")]),
    );
    let c = Coupling::new(&p, &s).unwrap();
    let err = c.configs(&Sources::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plug config property 'database' is required"
    );
    assert!(!err.is_missing_result());
}

#[test]
fn a5_empty_strings_count_as_missing_and_take_defaults() {
    let s = socket(&[("spec.config", r#"{host: postgres.db.svc, port: ""}"#)]);
    let p = plug(&[("spec.config", r#"{database: orders, owner: ""}"#)]);
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let rendered = coupled(&c, &configs);
    assert_eq!(
        named(&rendered, "grant-app-orders-db").object["data"]["owner"],
        "app-user"
    );
    assert_eq!(
        named(&rendered, "orders-db-connection").object["data"]["url"],
        "postgres://postgres.db.svc:5432/orders"
    );
}

// ---------------------------------------------------------------- A7

#[test]
fn a7_resources_stay_in_their_owners_namespace() {
    let p = plug(&[(
        "spec.resources",
        r#"
- when: [coupled]
  do: apply
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: sneaky, namespace: db}
"#,
    )]);
    let s = socket(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let err = c
        .render_event(Side::Plug, CouplingEvent::Coupled, &configs)
        .unwrap_err();
    assert_eq!(err.to_string(), "resource namespace db must be app");
}

// ---------------------------------------------------------------- A10

#[test]
fn a10_decouple_runs_decoupled_resources_and_deletes_the_rest() {
    let p = plug(&[(
        "spec.resources",
        r#"
- when: [coupled]
  do: apply
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: a-temp}}"
- when: [coupled]
  retainWhenDecoupled: true
  do: apply
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: b-kept}}"
- when: [decoupled]
  do: apply
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c-tombstone}, data: {db: '{% .plugConfig.database %}'}}"
- when: [coupled]
  preserveWhenDecoupled: true
  do: apply
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: d-kept-by-alias}}"
"#,
    )]);
    let s = socket(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();

    let decoupled = c
        .render_event(Side::Plug, CouplingEvent::Decoupled, &configs)
        .unwrap();
    assert_eq!(decoupled.len(), 1);
    assert_eq!(
        named(&decoupled, "c-tombstone").object["data"],
        json!({"db": "orders"})
    );

    let plug_deletes = c
        .render_decouple_deletes(Side::Plug, &configs, None)
        .unwrap();
    let names: Vec<_> = plug_deletes.iter().map(|r| r.identity()[3]).collect();
    assert_eq!(names, ["a-temp"]);
    assert!(plug_deletes.iter().all(|r| r.action == Do::Delete));

    let socket_deletes = c
        .render_decouple_deletes(Side::Socket, &configs, None)
        .unwrap();
    assert_eq!(
        socket_deletes[0].identity(),
        ["v1", "ConfigMap", "db", "grant-app-orders-db"]
    );
    assert_eq!(socket_deletes[0].action, Do::Delete);
}

/// Drift repair (docs/lifecycle.md): only `reconcile: true` entries applied
/// while coupled are kept in their rendered state between events.
#[test]
fn drift_repair_renders_only_reconciled_applies_of_the_coupling() {
    let p = plug(&[(
        "spec.resources",
        r#"
- reconcile: true
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: a-kept}, data: {db: '{% .plugConfig.database %}'}}"
- stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: b-events-only}}"
- reconcile: true
  when: [updated]
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c-kept-after-update}}"
- reconcile: true
  do: delete
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: d-deleted}}"
- reconcile: true
  do: recreate
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: e-recreated}}"
- reconcile: true
  when: [created, decoupled]
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: f-not-while-coupled}}"
"#,
    )]);
    let s = socket(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let repairs = c.render_drift_repairs(Side::Plug, &configs).unwrap();
    let names: Vec<_> = repairs.iter().map(|r| r.identity()[3]).collect();
    assert_eq!(names, ["a-kept", "c-kept-after-update"]);
    assert!(repairs.iter().all(|r| r.action == Do::Apply));
    assert_eq!(
        named(&repairs, "a-kept").object["data"],
        json!({"db": "orders"})
    );
    assert!(
        c.render_drift_repairs(Side::Socket, &configs)
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------- A12

const A12_RESULT_RESOURCES: &str = r#"
- do: apply
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: orders-db-result}
    data:
      connection: "{% .socketResult.connection %}"
      ack: "{% .plugResult.ack %}"
"#;

#[test]
fn a12_results_and_result_resources() {
    let s = socket(&[
        (
            "spec.interface.result",
            "{socket: {connection: {required: true}}, plug: {ack: {}}}",
        ),
        (
            "spec.resultTemplate",
            r#"{connection: "postgres://{% .plug.spec.config.database %}@postgres.db.svc"}"#,
        ),
    ]);
    let p = plug(&[
        ("spec.result", r#"{ack: "yes", extra: "dropped"}"#),
        ("spec.resultResources", A12_RESULT_RESOURCES),
    ]);
    let c = Coupling::new(&p, &s).unwrap();
    let src = Sources::default();
    let configs = c.configs(&src).unwrap();
    let results = c.results(&src, &configs).unwrap();
    assert_eq!(results.plug.without_secrets(), map(&[("ack", "yes")]));
    assert_eq!(
        results.socket.without_secrets(),
        map(&[("connection", "postgres://orders@postgres.db.svc")])
    );

    assert!(
        c.render_result_resources(Side::Socket, &configs, &results)
            .unwrap()
            .is_empty()
    );
    let rendered = c
        .render_result_resources(Side::Plug, &configs, &results)
        .unwrap();
    let result_cm = named(&rendered, "orders-db-result");
    assert_eq!(result_cm.identity()[2], "app");
    assert_eq!(
        result_cm.object["data"],
        json!({"connection": "postgres://orders@postgres.db.svc", "ack": "yes"})
    );

    // After the plug is deleted, orders-db-result is deleted too
    // (docs/lifecycle.md, "Decoupling").
    let deletes = c
        .render_decouple_deletes(Side::Plug, &configs, Some(&results))
        .unwrap();
    let result_delete = named(&deletes, "orders-db-result");
    assert_eq!(result_delete.action, Do::Delete);
}

#[test]
fn result_templates_see_both_configs() {
    // plugConfig/socketConfig are available in resultTemplate
    // (docs/config.md, "Template data").
    let s = socket(&[(
        "spec.resultTemplate",
        r#"{url: "{% .socketConfig.host %}:{% .socketConfig.port %}/{% .plugConfig.database %}"}"#,
    )]);
    let p = plug(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let src = Sources::default();
    let configs = c.configs(&src).unwrap();
    let results = c.results(&src, &configs).unwrap();
    assert_eq!(
        results.socket.values,
        map(&[("url", "postgres.db.svc:5432/orders")])
    );
}

// ---------------------------------------------------------------- A13

fn a13_socket(template: &str) -> Socket {
    socket(&[
        (
            "spec.interface.result",
            "{socket: {ready: {required: true}}}",
        ),
        (
            "spec.resultVars",
            "[{name: ready, objref: {apiVersion: v1, kind: ConfigMap, name: provision-status}, fieldref: {fieldPath: data.ready}}]",
        ),
        ("spec.resultTemplate", template),
    ])
}

#[test]
fn a13_delayed_result_through_result_vars() {
    let s = a13_socket(r#"{ready: "{% .resultVars.ready %}"}"#);
    let p = plug(&[]);
    let c = Coupling::new(&p, &s).unwrap();

    let plan = c.plan().unwrap();
    let targets: Vec<_> = plan
        .socket
        .var_refs()
        .map(|r| r.target.to_string())
        .collect();
    assert_eq!(targets, ["v1 ConfigMap db/provision-status"]);

    let pending = sources(&[
        "{apiVersion: v1, kind: ConfigMap, metadata: {name: provision-status, namespace: db}, data: {}}",
    ]);
    let configs = c.configs(&pending).unwrap();
    let err = c.results(&pending, &configs).unwrap_err();
    // resultVars.ready reads a missing field as "": present but empty.
    assert_eq!(err.to_string(), "socket result property 'ready' is empty");
    assert!(err.is_missing_result());

    let ready = sources(&[
        r#"{apiVersion: v1, kind: ConfigMap, metadata: {name: provision-status, namespace: db}, data: {ready: "true"}}"#,
    ]);
    let results = c.results(&ready, &configs).unwrap();
    assert_eq!(results.socket.values, map(&[("ready", "true")]));
    // The change is visible to the level-triggered update check.
    assert_ne!(
        c.inputs_hash(&pending).unwrap(),
        c.inputs_hash(&ready).unwrap()
    );
}

#[test]
fn a13_socket_result_vars_keep_the_deprecated_vars_key() {
    let s = a13_socket(r#"{ready: "{% .vars.ready %}"}"#);
    let p = plug(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let ready = sources(&[
        r#"{apiVersion: v1, kind: ConfigMap, metadata: {name: provision-status, namespace: db}, data: {ready: "true"}}"#,
    ]);
    let configs = c.configs(&ready).unwrap();
    assert_eq!(
        c.results(&ready, &configs).unwrap().socket.values,
        map(&[("ready", "true")])
    );
}

// ---------------------------------------------------------------- A14

const A14_SERVICE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: postgres, namespace: db}
spec:
  ports: [{name: pg, port: 5432}]
"#;

#[test]
fn a14_vars_in_config_template() {
    let s = socket(&[
        ("spec.interface.config.socket.port", "{required: true}"),
        (
            "spec.vars",
            "[{name: pgPort, objref: {apiVersion: v1, kind: Service, name: postgres}, fieldref: {fieldPath: spec.ports.0.port}}]",
        ),
        ("spec.configTemplate", r#"{port: "{% .vars.pgPort %}"}"#),
    ]);
    let p = plug(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let plan = c.plan().unwrap();
    let refs: Vec<_> = plan.socket.var_refs().collect();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        refs[0].target,
        VarTarget {
            api_version: "v1".into(),
            kind: "Service".into(),
            namespace: "db".into(),
            name: "postgres".into(),
        }
    );
    assert_eq!(plan.socket.service_account, "integrator");

    let src = sources(&[A14_SERVICE]);
    let configs = c.configs(&src).unwrap();
    assert_eq!(configs.socket.values["port"], "5432");
    let rendered = c
        .render_event(Side::Plug, CouplingEvent::Coupled, &configs)
        .unwrap();
    assert_eq!(
        named(&rendered, "orders-db-connection").object["data"]["url"],
        "postgres://postgres.db.svc:5432/orders"
    );
}

#[test]
fn a14_vars_must_stay_in_the_owners_namespace() {
    let s = socket(&[]);
    let p = plug(&[
        (
            "spec.vars",
            "[{name: x, objref: {apiVersion: v1, kind: Service, name: postgres, namespace: db}, fieldref: {fieldPath: metadata.name}}]",
        ),
        ("spec.configTemplate", r#"{database: "{% .vars.x %}"}"#),
    ]);
    let c = Coupling::new(&p, &s).unwrap();
    let want = "var objRef namespace db must be app";
    assert_eq!(c.plan().unwrap_err().to_string(), want);
    assert_eq!(
        c.configs(&sources(&[A14_SERVICE])).unwrap_err().to_string(),
        want
    );
}

#[test]
fn var_template_name_and_namespace_are_rendered() {
    let s = socket(&[]);
    let p = plug(&[(
        "spec.vars",
        r#"[{name: x, objref: {apiVersion: v1, kind: Service, templateName: "{% .socket.metadata.name %}-svc", templateNamespace: "{% .plug.metadata.namespace %}"}, fieldref: {fieldPath: metadata.name}}]"#,
    )]);
    let c = Coupling::new(&p, &s).unwrap();
    let plan = c.plan().unwrap();
    let target = &plan.plug.vars.as_ref().unwrap()[0].target;
    assert_eq!(
        (target.namespace.as_str(), target.name.as_str()),
        ("app", "postgres-svc")
    );
}

// ---------------------------------------------------------------- A18

const A18_RESOURCES: &str = r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    {%- if eq .plugConfig.tls "true" %}
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: tls-settings}
    {%- end %}
"#;

#[test]
fn a18_conditional_templates_may_render_nothing() {
    let s = socket(&[("spec.interface.config.plug.tls", "{}")]);
    for (tls, expected) in [("false", 0), ("true", 1)] {
        let p = plug(&[
            (
                "spec.config",
                &format!(r#"{{database: orders, tls: "{tls}"}}"#),
            ),
            ("spec.resources", A18_RESOURCES),
        ]);
        let c = Coupling::new(&p, &s).unwrap();
        let configs = c.configs(&Sources::default()).unwrap();
        for event in [CouplingEvent::Coupled, CouplingEvent::Updated] {
            let rendered = c.render_event(Side::Plug, event, &configs).unwrap();
            assert_eq!(rendered.len(), expected, "tls={tls}");
            if expected == 1 {
                assert_eq!(
                    rendered[0].identity(),
                    ["v1", "ConfigMap", "app", "tls-settings"]
                );
            }
        }
    }
}

// ---------------------------------------------------------------- A20

const A20_VALUE: &str = "x\"\n  injected: \"y";

fn a20_plug() -> Plug {
    let mut p = plug(&[]);
    p.spec
        .common
        .config
        .get_or_insert_default()
        .insert("database".into(), A20_VALUE.into());
    p
}

fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m.contains_key(key) || m.values().any(|v| has_key(v, key)),
        Value::Array(items) => items.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

#[test]
fn a20_other_side_values_never_inject_keys() {
    let (s, p) = (socket(&[]), a20_plug());
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    assert_eq!(configs.plug.values["database"], A20_VALUE);
    // The scenario allows either exact landing or a clear error; S0's
    // `"{% .plugConfig.database %}"` breaks out of its quotes, so this
    // engine rejects it, naming the value.
    let err = c
        .render_event(Side::Socket, CouplingEvent::Coupled, &configs)
        .map(|rendered| rendered.iter().any(|r| has_key(&r.object, "injected")))
        .expect_err("an injected render must not be returned");
    assert_eq!(
        err.to_string(),
        "template socket.resources[0].stringTemplate: the value of plugConfig.database would change \
         the structure of the rendered resource; render it with `| quote` or `| toJson`, or use a \
         structured template"
    );
}

#[test]
fn a20_quoted_values_land_exactly() {
    let quoted = r#"
- when: [coupled, updated]
  do: apply
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: grant-{% .plug.metadata.namespace %}-{% .plug.metadata.name %}
    data:
      database: {% .plugConfig.database | quote %}
      encoded: {% .plugConfig.database | b64enc %}
"#;
    let s = socket(&[("spec.resources", quoted)]);
    let p = a20_plug();
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let rendered = c
        .render_event(Side::Socket, CouplingEvent::Coupled, &configs)
        .unwrap();
    let data = &rendered[0].object["data"];
    assert_eq!(data["database"], A20_VALUE);
    assert_eq!(data["encoded"], "eCIKICBpbmplY3RlZDogInk=");
    assert!(!has_key(&rendered[0].object, "injected"));
}

#[test]
fn a20_structured_templates_keep_values_as_one_string() {
    let structured = r#"
- when: [coupled]
  template:
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: "grant-{% .plug.metadata.name %}"}
    data: {database: "{% .plugConfig.database %}"}
"#;
    let s = socket(&[("spec.resources", structured)]);
    let p = a20_plug();
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let rendered = c
        .render_event(Side::Socket, CouplingEvent::Coupled, &configs)
        .unwrap();
    assert_eq!(rendered[0].object["data"], json!({"database": A20_VALUE}));
}

/// The warnings recorded on `side`, as text.
fn warnings(c: &Coupling<'_>, side: Side) -> Vec<String> {
    c.owner(side)
        .warnings()
        .list()
        .iter()
        .map(ToString::to_string)
        .collect()
}

const DROPPED_CREATE: &str = "template socket.resources[0].stringTemplate: {% .plugConfig.create %} at line 16, column 24 rendered <no value>: create was set by the plug but is not declared in the socket's interface.config.plug, so it was dropped";

#[test]
fn a_chart_script_reading_a_dropped_key_renders_no_value_and_warns() {
    let s: Socket = serde_json::from_value(manifest(CHART_SOCKET, &[])).unwrap();
    let p: Plug = serde_json::from_value(manifest(CHART_PLUG, &[])).unwrap();
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let rendered = c
        .render_event(Side::Socket, CouplingEvent::Coupled, &configs)
        .unwrap();
    let job = named(&rendered, "setup-shop");
    let script = job.object["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap();
    // As Go prints it (the test is true, so the realm is created).
    assert_eq!(
        script,
        "if [ \"<no value>\" != \"0\" ]; then\n  echo creating realm shop at http://keycloak.db.svc\nfi\n"
    );
    assert_eq!(warnings(&c, Side::Socket), [DROPPED_CREATE]);
    assert!(warnings(&c, Side::Plug).is_empty());
}

#[test]
fn a_strict_owner_makes_no_value_an_error() {
    let s: Socket = serde_json::from_value(manifest(
        CHART_SOCKET,
        &[(
            "metadata.annotations",
            r#"{integration.rock8s.com/strict: "true"}"#,
        )],
    ))
    .unwrap();
    let p: Plug = serde_json::from_value(manifest(CHART_PLUG, &[])).unwrap();
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let err = c
        .render_event(Side::Socket, CouplingEvent::Coupled, &configs)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{DROPPED_CREATE}; integration.rock8s.com/strict is \"true\", so this is an error")
    );
    assert_eq!(err.template_side(), Some(Side::Socket));
}

#[test]
fn no_value_in_an_object_identity_is_an_error() {
    for (field, yaml) in [
        (
            "apiVersion",
            "{apiVersion: '{% .plugConfig.v %}', kind: ConfigMap, metadata: {name: x}}",
        ),
        (
            "kind",
            "{apiVersion: v1, kind: '{% .plugConfig.k %}', metadata: {name: x}}",
        ),
        (
            "metadata.name",
            "{apiVersion: v1, kind: ConfigMap, metadata: {name: 'x-{% .plugConfig.n %}'}}",
        ),
        (
            "metadata.namespace",
            "{apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: '{% .plugConfig.ns %}'}}",
        ),
    ] {
        let resources = format!(
            "[{{when: [coupled], stringTemplate: \"{}\"}}]",
            yaml.replace('"', "\\\"")
        );
        let p = plug(&[("spec.resources", &resources)]);
        let s = socket(&[]);
        let c = Coupling::new(&p, &s).unwrap();
        let configs = c.configs(&Sources::default()).unwrap();
        let err = c
            .render_event(Side::Plug, CouplingEvent::Coupled, &configs)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "template plug.resources[0].stringTemplate rendered <no value> at {field}: it reads a value that does not exist"
            )
        );
    }
}

#[test]
fn no_value_elsewhere_in_a_resource_is_kept_with_a_warning() {
    let p = plug(&[(
        "spec.resources",
        r#"
- when: [coupled]
  stringTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: x}
    data: {v: "{% .plugConfig.doesNotExist %}"}
"#,
    )]);
    let s = socket(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    let rendered = c
        .render_event(Side::Plug, CouplingEvent::Coupled, &configs)
        .unwrap();
    assert_eq!(rendered[0].object["data"]["v"], "<no value>");
    assert_eq!(
        warnings(&c, Side::Plug),
        [
            "template plug.resources[0].stringTemplate: {% .plugConfig.doesNotExist %} at line 4, column 15 rendered <no value>: plugConfig.doesNotExist is not in the data"
        ]
    );
}

#[test]
fn config_templates_keep_no_value_with_a_warning() {
    let s = socket(&[("spec.configTemplate", r#"{host: "{% .plugConfig.host %}"}"#)]);
    let p = plug(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    assert_eq!(configs.socket.values["host"], "<no value>");
    // configTemplate data has no configs (that would be circular).
    assert_eq!(
        warnings(&c, Side::Socket),
        [
            "template socket.configTemplate.host: {% .plugConfig.host %} at line 1, column 4 rendered <no value>: plugConfig is not in this template's data"
        ]
    );
}

#[test]
fn empty_required_socket_config_is_accepted_with_a_warning() {
    let s = socket(&[("spec.config", r#"{host: ""}"#)]);
    let p = plug(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let configs = c.configs(&Sources::default()).unwrap();
    assert_eq!(configs.socket.values["host"], "");
    assert_eq!(
        warnings(&c, Side::Socket),
        ["socket config property 'host' is empty; accepted, as the original operator did"]
    );
    // Strict: one rule, and the message says empty.
    let s = socket(&[
        ("spec.config", r#"{host: ""}"#),
        (
            "metadata.annotations",
            r#"{integration.rock8s.com/strict: "true"}"#,
        ),
    ]);
    let c = Coupling::new(&p, &s).unwrap();
    let err = c.configs(&Sources::default()).unwrap_err();
    assert_eq!(err.to_string(), "socket config property 'host' is empty");
}

// ---------------------------------------------------------------- lifecycle

#[test]
fn own_events_see_only_their_object() {
    let p = plug(&[(
        "spec.resources",
        r#"
- when: [created]
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: 'made-by-{% .plug.metadata.name %}'}}"
- when: [deleted]
  stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: '{% .socket.metadata.name %}'}}"
"#,
    )]);
    let owner = Owner::plug(&p).unwrap();
    let created = render_own_event(&owner, OwnEvent::Created).unwrap();
    assert_eq!(
        created[0].identity(),
        ["v1", "ConfigMap", "app", "made-by-orders-db"]
    );
    let err = render_own_event(&owner, OwnEvent::Deleted).unwrap_err();
    assert!(matches!(err, Error::NoValue { .. }), "{err}");
}

#[test]
fn when_defaults_to_coupled_and_updated() {
    let p = plug(&[(
        "spec.resources",
        r#"[{stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: n}}"}]"#,
    )]);
    let spec = &p.spec.common;
    for (event, runs) in [
        (integration_api::When::Created, false),
        (integration_api::When::Coupled, true),
        (integration_api::When::Updated, true),
        (integration_api::When::Decoupled, false),
        (integration_api::When::Deleted, false),
    ] {
        assert_eq!(
            resources_on(spec, event).count(),
            usize::from(runs),
            "{event}"
        );
    }
    assert_eq!(auto_deleted(spec).count(), 1);
}

#[test]
fn apparatus_config_response_overrides_everything() {
    let p = plug(&[("spec.apparatus", "{endpoint: /plug, containers: []}")]);
    let s = socket(&[]);
    let c = Coupling::new(&p, &s).unwrap();
    let mut src = Sources::default();
    assert_eq!(
        c.configs(&src).unwrap_err().to_string(),
        "plug apparatus config response is missing"
    );
    let request = c.apparatus_config_request(Side::Plug, &src).unwrap();
    let keys: Vec<_> = request.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    for key in ["version", "plug", "socket", "plugData", "socketData"] {
        assert!(request.get(key).is_some(), "{key}");
    }
    assert_eq!(request["version"], json!(1));

    // A15: {"database":"from-apparatus","port":5432}; port is not in the
    // plug interface and is dropped.
    src.apparatus_config.plug = Some(json!({"database": "from-apparatus", "port": 5432}));
    let configs = c.configs(&src).unwrap();
    assert_eq!(
        configs.plug.values,
        map(&[("database", "from-apparatus"), ("owner", "app-user")])
    );
    let event = c.apparatus_event_request(&configs);
    assert_eq!(event["version"], json!("1"));
    assert_eq!(event["plugConfig"]["database"], "from-apparatus");
}

// ---------------------------------------------------------------- inputs hash

#[test]
fn inputs_hash_is_stable_and_sensitive() {
    let s = socket(&[]);
    let p: Plug = serde_json::from_value(manifest(A3_PLUG, &[])).unwrap();
    let c = Coupling::new(&p, &s).unwrap();
    let base = sources(&[A3_SECRET, A3_CM]);
    let hash = c.inputs_hash(&base).unwrap();
    assert_eq!(hash.len(), 64);

    // Insertion order and unrelated objects do not matter.
    let mut same = sources(&[A3_CM, A3_SECRET]);
    same.config_maps
        .insert(ObjectKey::new("app", "unrelated"), map(&[("k", "v")]));
    assert_eq!(c.inputs_hash(&same).unwrap(), hash);

    let mut cm_changed = base.clone();
    cm_changed.config_maps.insert(
        ObjectKey::new("app", "orders-cm"),
        map(&[("database", "other")]),
    );
    assert_ne!(c.inputs_hash(&cm_changed).unwrap(), hash);

    let mut secret_changed = base.clone();
    secret_changed
        .secrets
        .remove(&ObjectKey::new("app", "orders-secret"));
    assert_ne!(c.inputs_hash(&secret_changed).unwrap(), hash);

    let mut p2 = p.clone();
    p2.spec.common.epoch = Some("1".into());
    let c2 = Coupling::new(&p2, &s).unwrap();
    assert_ne!(c2.inputs_hash(&base).unwrap(), hash);

    let s2 = socket(&[("spec.config.host", "pg2.db.svc")]);
    let c3 = Coupling::new(&p, &s2).unwrap();
    assert_ne!(c3.inputs_hash(&base).unwrap(), hash);
}

//! Manifests from the acceptance scenarios (docs/scenarios.md) deserialize
//! into the expected fields, round-trip without change, and fit the CRD
//! schema (nothing the API server would prune or reject).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use integration_api::*;
use integration_fixtures::{A3_PLUG, P0, S0};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A10, with the README spelling on the second entry and a structured
/// `template`/`templates` pair on the last two.
const A10_PLUG: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata: {name: orders-db, namespace: app}
spec:
  socket: {name: postgres}
  resources:
    - when: [coupled]
      do: apply
      stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: a-temp}}"
    - when: [coupled]
      retainWhenDecoupled: true
      do: apply
      stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: b-kept}}"
    - when: [coupled]
      preserveWhenDecoupled: true
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: b-kept-too}
        data: {count: 1, nested: {deep: [1, "two", null, true]}}
    - when: [decoupled]
      do: apply
      templates:
        - {apiVersion: v1, kind: ConfigMap, metadata: {name: c-tombstone}, data: {db: '{% .plugConfig.database %}'}}
        - apiVersion: v1
          kind: Secret
          metadata: {name: c-secret}
"#;

/// A12 and A13: results, resultResources and resultVars.
const A12_SOCKET: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Socket
metadata: {name: postgres, namespace: db}
spec:
  interface:
    result:
      socket: {connection: {required: true}}
      plug: {ack: {}}
  resultVars:
    - name: ready
      objref: {apiVersion: v1, kind: ConfigMap, name: provision-status}
      fieldref: {fieldPath: data.ready}
  resultTemplate:
    connection: "postgres://{% .plug.spec.config.database %}@postgres.db.svc"
"#;

const A12_PLUG: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata: {name: orders-db, namespace: app}
spec:
  socket: {name: postgres, namespace: db}
  result: {ack: "yes", extra: "dropped"}
  resultResources:
    - do: apply
      stringTemplate: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: orders-db-result}
        data:
          connection: "{% .socketResult.connection %}"
"#;

/// A14: vars with objref/fieldref, A6 validation, A19 limit, and the
/// additive socket fields.
const A14_SOCKET: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Socket
metadata: {name: postgres, namespace: db}
spec:
  limit: 1
  validation:
    namespaceBlacklist: ["sandbox"]
    namespaceWhitelist: []
    namespaceSelector:
      matchLabels: {team: payments}
      matchExpressions:
        - {key: env, operator: In, values: [prod, staging]}
  interface:
    config:
      socket:
        port: {required: true}
        password: {required: true, secret: true, description: "database password"}
  vars:
    - name: pgPort
      objref: {apiVersion: v1, kind: Service, name: postgres}
      fieldref: {fieldPath: spec.ports.0.port}
    - name: x
      objref: {group: apps, version: v1, kind: Deployment, templateName: "{% .plug.metadata.name %}", templateNamespace: db}
  configTemplate:
    port: "{% .vars.pgPort %}"
"#;

/// A15: the apparatus, with the additive timeout and affinity.
const A15_PLUG: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata: {name: orders-db, namespace: app}
spec:
  socket: {name: postgres, namespace: db}
  apparatus:
    endpoint: /plug
    idleTimeout: 30
    timeout: 10
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions:
                - {key: kubernetes.io/arch, operator: In, values: [arm64]}
    containers:
      - name: apparatus
        image: recorder:latest
        ports: [{name: container, containerPort: 8080}]
"#;

/// A16.
const A16_DR: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: DeferredResource
metadata: {name: late-cm, namespace: app}
spec:
  serviceAccountName: integrator
  timeout: 5
  waitFor:
    - {apiVersion: v1, kind: Secret, name: db-credentials}
    - {group: apps, version: v1, kind: Deployment, name: web}
  resource:
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: late-cm, namespace: somewhere-else}
    data: {hello: world}
"#;

/// The DeferredResource additions: waitFor in another namespace and on a
/// condition, failAfter and mode.
const DR_ADDITIONS: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: DeferredResource
metadata: {name: after-migration, namespace: app}
spec:
  failAfter: 600
  mode: keepApplied
  waitFor:
    - {apiVersion: batch/v1, kind: Job, name: migrate, namespace: db, condition: {type: Complete}}
    - {apiVersion: apps/v1, kind: Deployment, name: web, condition: {type: Available, status: "False"}}
  resource:
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: migrated}
"#;

/// A17/A18: recreate, a `when`-less entry, and the epoch knob.
const A17_SOCKET: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Socket
metadata: {name: postgres, namespace: db}
spec:
  epoch: "1700000000"
  resources:
    - when: [coupled, updated]
      do: recreate
      reconcile: true
      stringTemplates:
        - |
          apiVersion: batch/v1
          kind: Job
          metadata: {name: grant-{% .plug.metadata.name %}}
    - stringTemplate: |
        {%- if eq .plugConfig.tls "true" %}
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: tls-settings}
        {%- end %}
"#;

/// Statuses as the operator writes them (A1, A12, A16).
const P0_STATUS: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata: {name: orders-db, namespace: app, generation: 1}
spec:
  socket: {name: postgres, namespace: db}
status:
  conditions:
    - {type: Coupled, status: "True", reason: CouplingSucceeded, message: coupling succeeded, observedGeneration: 1, lastTransitionTime: "2024-01-01T00:00:00Z"}
  coupledSocket: {apiVersion: integration.rock8s.com/v1beta1, kind: Socket, name: postgres, namespace: db, uid: 0b7c}
  coupledResult:
    plug: {ack: "yes"}
    socket: {connection: "postgres://orders@postgres.db.svc"}
    observedGeneration: 1
  inputsHash: sha256-abc
"#;

const S0_STATUS: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Socket
metadata: {name: postgres, namespace: db}
spec: {}
status:
  conditions:
    - {type: Coupled, status: "True", reason: SocketCoupled, message: 1 plug coupled, lastTransitionTime: "2024-01-01T00:00:00Z"}
  coupledPlugs:
    - {apiVersion: integration.rock8s.com/v1beta1, kind: Plug, name: orders-db, namespace: app, uid: 9f2e}
"#;

const A16_DR_STATUS: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: DeferredResource
metadata: {name: late-cm, namespace: app}
spec: {}
status:
  conditions:
    - {type: Resolved, status: "True", reason: Success, message: success, lastTransitionTime: "2024-01-01T00:00:00Z"}
  ownerReferences: {apiVersion: v1, kind: ConfigMap, name: late-cm, uid: 5d1a}
"#;

fn yaml_value(yaml: &str) -> Value {
    serde_saphyr::from_str(yaml).expect("test YAML parses")
}

fn parse<T: DeserializeOwned>(yaml: &str) -> T {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("does not deserialize: {e}\n{yaml}"))
}

/// Deserializing and serializing again gives exactly the manifest: nothing
/// added, nothing lost, and a second round trip is stable.
fn assert_round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(yaml: &str) {
    let typed: T = parse(yaml);
    let json = serde_json::to_value(&typed).unwrap();
    assert_eq!(json, yaml_value(yaml), "round trip changed the manifest");
    let again: T = serde_json::from_value(json).unwrap();
    assert_eq!(again, typed);
    let from_yaml_output: T = parse(&serde_saphyr::to_string(&typed).unwrap());
    assert_eq!(from_yaml_output, typed);
}

#[test]
fn s0_lands_in_the_expected_fields() {
    let socket: Socket = parse(S0);
    assert_eq!(socket.metadata.name.as_deref(), Some("postgres"));
    assert_eq!(socket.metadata.namespace.as_deref(), Some("db"));
    let spec = &socket.spec;
    assert_eq!(spec.common.service_account_name(), "integrator");
    let config = spec.interface.as_ref().unwrap().config.as_ref().unwrap();
    let socket_side = config.socket.as_ref().unwrap();
    assert!(socket_side["host"].is_required());
    assert!(!socket_side["port"].is_required());
    assert_eq!(socket_side["port"].default_value(), Some("5432"));
    let plug_side = config.plug.as_ref().unwrap();
    assert!(plug_side["database"].is_required());
    assert_eq!(plug_side["owner"].default.as_deref(), Some("app-user"));
    assert!(spec.interface.as_ref().unwrap().result.is_none());
    assert_eq!(
        spec.common.config.as_ref().unwrap()["host"],
        "postgres.db.svc"
    );
    let resources = spec.common.resources();
    assert_eq!(resources.len(), 1);
    assert_eq!(
        resources[0].effective_when(),
        [When::Coupled, When::Updated]
    );
    assert_eq!(resources[0].action.do_, Some(Do::Apply));
    let text = resources[0].action.string_template.as_deref().unwrap();
    assert!(text.starts_with("apiVersion: v1\nkind: ConfigMap\n"));
    assert!(
        text.contains("name: grant-{% .plug.metadata.namespace %}-{% .plug.metadata.name %}\n")
    );
    assert!(spec.limit.is_none() && spec.validation.is_none());
    assert!(socket.status.is_none());
}

#[test]
fn p0_lands_in_the_expected_fields() {
    let plug: Plug = parse(P0);
    let socket = plug.spec.socket.as_ref().unwrap();
    assert_eq!(socket.name, "postgres");
    assert_eq!(socket.namespace.as_deref(), Some("db"));
    assert_eq!(plug.socket_key(), Some(("db".into(), "postgres".into())));
    let config = plug.spec.common.config.as_ref().unwrap();
    assert_eq!(config.len(), 2);
    assert_eq!(config["unlisted"], "dropped-by-interface");
    let resource = &plug.spec.common.resources()[0];
    assert!(
        resource
            .action
            .string_template
            .as_deref()
            .unwrap()
            .contains(r#"keys: "{% range $k, $v := .plugConfig %}{% $k %},{% end %}""#)
    );
    assert!(!resource.retain_when_decoupled());
}

#[test]
fn a3_every_config_source() {
    let plug: Plug = parse(A3_PLUG);
    let c = &plug.spec.common;
    assert_eq!(c.data.as_ref().unwrap()["team"], "payments");
    assert_eq!(c.config_secret_name.as_deref(), Some("orders-secret"));
    assert_eq!(c.config_config_map_name.as_deref(), Some("orders-cm"));
    assert_eq!(c.config.as_ref().unwrap()["user"], "inline-user");
    assert_eq!(
        c.config_template.as_ref().unwrap()["user"],
        "tpl-{% .plugData.team %}"
    );
    assert!(c.data_config_map_name.is_none());
    assert_eq!(c.resources()[0].effective_when(), [When::Coupled]);
}

#[test]
fn a10_retain_and_its_deprecated_alias() {
    let plug: Plug = parse(A10_PLUG);
    let r = plug.spec.common.resources();
    assert_eq!(r.len(), 4);
    assert!(!r[0].retain_when_decoupled());
    assert_eq!(r[1].retain_when_decoupled, Some(true));
    assert!(r[1].retain_when_decoupled());
    assert_eq!(r[2].preserve_when_decoupled, Some(true));
    assert_eq!(r[2].retain_when_decoupled, None);
    assert!(
        r[2].retain_when_decoupled(),
        "preserveWhenDecoupled is an alias"
    );
    assert_eq!(r[2].effective_do(), Do::Apply, "do defaults to apply");
    let template = r[2].action.template.as_ref().unwrap();
    assert_eq!(
        template["data"]["nested"]["deep"],
        json!([1, "two", null, true])
    );
    assert_eq!(r[3].effective_when(), [When::Decoupled]);
    let templates = r[3].action.templates.as_ref().unwrap();
    assert_eq!(templates.len(), 2);
    assert_eq!(templates[0]["data"]["db"], "{% .plugConfig.database %}");
    assert_eq!(templates[1]["kind"], "Secret");
    // Namespace of the socket defaults to the plug's.
    assert_eq!(plug.socket_key(), Some(("app".into(), "postgres".into())));
}

#[test]
fn a12_results_and_result_resources() {
    let socket: Socket = parse(A12_SOCKET);
    let result = socket
        .spec
        .interface
        .as_ref()
        .unwrap()
        .result
        .as_ref()
        .unwrap();
    assert!(result.socket.as_ref().unwrap()["connection"].is_required());
    assert_eq!(
        result.plug.as_ref().unwrap()["ack"],
        SchemaProperty::default()
    );
    let var = &socket.spec.common.result_vars.as_ref().unwrap()[0];
    assert_eq!(var.name, "ready");
    assert_eq!(var.objref.kind.as_deref(), Some("ConfigMap"));
    assert_eq!(var.objref.effective_api_version(), "v1");
    assert_eq!(
        var.fieldref.as_ref().unwrap().field_path.as_deref(),
        Some("data.ready")
    );
    assert!(
        socket
            .spec
            .common
            .result_template
            .as_ref()
            .unwrap()
            .contains_key("connection")
    );

    let plug: Plug = parse(A12_PLUG);
    assert_eq!(plug.spec.common.result.as_ref().unwrap()["ack"], "yes");
    let rr = plug.spec.common.result_resources();
    assert_eq!(rr.len(), 1);
    assert_eq!(rr[0].effective_do(), Do::Apply);
}

#[test]
fn a14_vars_validation_limit_and_secret_properties() {
    let socket: Socket = parse(A14_SOCKET);
    assert_eq!(socket.spec.limit, Some(1));
    assert_eq!(socket.plug_limit(), Some(1));
    let validation = socket.spec.validation.as_ref().unwrap();
    assert_eq!(
        validation.namespace_blacklist.as_deref(),
        Some(&["sandbox".to_string()][..])
    );
    assert_eq!(
        validation.namespace_whitelist.as_deref(),
        Some(&[][..]),
        "an empty whitelist is kept"
    );
    let selector = validation.namespace_selector.as_ref().unwrap();
    assert_eq!(selector.match_labels.as_ref().unwrap()["team"], "payments");
    assert_eq!(
        selector.match_expressions.as_ref().unwrap()[0].operator,
        "In"
    );
    let socket_side = socket
        .spec
        .interface
        .as_ref()
        .unwrap()
        .config
        .as_ref()
        .unwrap()
        .socket
        .as_ref()
        .unwrap();
    assert!(socket_side["password"].is_secret());
    assert!(!socket_side["port"].is_secret());
    assert_eq!(
        socket_side["password"].description.as_deref(),
        Some("database password")
    );
    let vars = socket.spec.common.vars.as_ref().unwrap();
    assert_eq!(vars[0].objref.name.as_deref(), Some("postgres"));
    assert_eq!(
        vars[0].fieldref.as_ref().unwrap().field_path.as_deref(),
        Some("spec.ports.0.port")
    );
    assert_eq!(vars[1].objref.effective_api_version(), "apps/v1");
    assert_eq!(
        vars[1].objref.template_name.as_deref(),
        Some("{% .plug.metadata.name %}")
    );
    assert_eq!(vars[1].objref.template_namespace.as_deref(), Some("db"));
    assert!(vars[1].fieldref.is_none());
}

#[test]
fn a15_apparatus() {
    let plug: Plug = parse(A15_PLUG);
    let apparatus = plug.spec.common.apparatus.as_ref().unwrap();
    assert_eq!(apparatus.endpoint.as_deref(), Some("/plug"));
    assert_eq!(apparatus.idle_timeout, Some(30));
    assert_eq!(apparatus.idle_timeout_seconds(), 30);
    assert_eq!(apparatus.timeout_seconds(), 10);
    let container = &apparatus.containers[0];
    assert_eq!(container.name, "apparatus");
    let port = &container.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.container_port),
        (Some("container"), 8080)
    );
    let terms = &apparatus
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .unwrap()
        .node_selector_terms;
    assert_eq!(
        terms[0].match_expressions.as_ref().unwrap()[0]
            .values
            .as_ref()
            .unwrap()[0],
        "arm64"
    );
}

#[test]
fn a16_deferred_resource() {
    let dr: DeferredResource = parse(A16_DR);
    assert_eq!(dr.spec.timeout, Some(5));
    assert_eq!(dr.spec.service_account_name(), "integrator");
    let wait_for = dr.spec.wait_for.as_ref().unwrap();
    assert_eq!(wait_for[0].effective_api_version(), "v1");
    assert_eq!(wait_for[0].kind.as_deref(), Some("Secret"));
    assert_eq!(wait_for[0].name.as_deref(), Some("db-credentials"));
    assert_eq!(wait_for[1].effective_api_version(), "apps/v1");
    let resource = dr.spec.resource.as_ref().unwrap();
    assert_eq!(resource["metadata"]["namespace"], "somewhere-else");
    assert_eq!(resource["data"], json!({"hello": "world"}));
}

#[test]
fn deferred_resource_additions() {
    let dr: DeferredResource = parse(DR_ADDITIONS);
    assert_eq!(dr.spec.fail_after, Some(600));
    assert_eq!(dr.spec.mode(), Ok(DeferredMode::KeepApplied));
    let wait_for = dr.spec.wait_for.as_ref().unwrap();
    assert_eq!(wait_for[0].namespace.as_deref(), Some("db"));
    let complete = wait_for[0].condition.as_ref().unwrap();
    assert_eq!(
        (complete.type_.as_deref(), complete.status()),
        (Some("Complete"), "True"),
        "status defaults to True"
    );
    assert_eq!(wait_for[1].namespace, None);
    assert_eq!(wait_for[1].condition.as_ref().unwrap().status(), "False");

    let a16: DeferredResource = parse(A16_DR);
    assert_eq!(a16.spec.mode(), Ok(DeferredMode::CreateOnce), "the default");
    assert_eq!(a16.spec.fail_after, None);
    let mut spec = DeferredResourceSpec {
        mode: Some(String::new()),
        ..DeferredResourceSpec::default()
    };
    assert_eq!(spec.mode(), Ok(DeferredMode::CreateOnce), "empty is unset");
    spec.mode = Some(CREATE_ONCE.into());
    assert_eq!(spec.mode(), Ok(DeferredMode::CreateOnce));
    spec.mode = Some("KeepApplied".into());
    assert_eq!(spec.mode(), Err("KeepApplied"), "case matters");
}

#[test]
fn a17_recreate_reconcile_and_absent_when() {
    let socket: Socket = parse(A17_SOCKET);
    assert_eq!(socket.spec.common.epoch.as_deref(), Some("1700000000"));
    let r = socket.spec.common.resources();
    assert_eq!(r[0].effective_do(), Do::Recreate);
    assert!(r[0].reconcile());
    assert_eq!(r[0].action.string_templates.as_ref().unwrap().len(), 1);
    assert_eq!(r[1].when, None);
    assert_eq!(r[1].effective_when(), DEFAULT_WHEN);
    assert!(r[1].runs_on(When::Coupled) && r[1].runs_on(When::Updated));
    assert!(!r[1].runs_on(When::Created) && !r[1].runs_on(When::Decoupled));
    assert!(!r[1].reconcile());
    assert!(
        r[1].action
            .string_template
            .as_deref()
            .unwrap()
            .starts_with("{%- if eq")
    );
}

#[test]
fn statuses() {
    let plug: Plug = parse(P0_STATUS);
    let status = plug.status.as_ref().unwrap();
    let coupled = &status.conditions.as_ref().unwrap()[0];
    assert_eq!(coupled.type_, condition::COUPLED);
    assert_eq!(coupled.reason, condition::reason::COUPLING_SUCCEEDED);
    assert_eq!(coupled.message, condition::message::COUPLING_SUCCEEDED);
    assert_eq!(coupled.observed_generation, Some(1));
    assert_eq!(status.coupled_socket.as_ref().unwrap().uid, "0b7c");
    let result = status.coupled_result.as_ref().unwrap();
    assert_eq!(
        result.socket.as_ref().unwrap()["connection"],
        "postgres://orders@postgres.db.svc"
    );
    assert_eq!(result.observed_generation, Some(1));
    assert_eq!(status.inputs_hash.as_deref(), Some("sha256-abc"));

    let socket: Socket = parse(S0_STATUS);
    let status = socket.status.as_ref().unwrap();
    assert_eq!(
        status.conditions.as_ref().unwrap()[0].message,
        condition::plugs_coupled(1)
    );
    assert_eq!(status.coupled_plugs.as_ref().unwrap()[0].kind, "Plug");

    let dr: DeferredResource = parse(A16_DR_STATUS);
    let owner = dr
        .status
        .as_ref()
        .unwrap()
        .owner_references
        .as_ref()
        .unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
        ("ConfigMap", "late-cm", "5d1a")
    );
}

#[test]
fn round_trips_add_and_lose_nothing() {
    for yaml in [S0, S0_STATUS, A12_SOCKET, A14_SOCKET, A17_SOCKET] {
        assert_round_trip::<Socket>(yaml);
    }
    for yaml in [P0, P0_STATUS, A3_PLUG, A10_PLUG, A12_PLUG, A15_PLUG] {
        assert_round_trip::<Plug>(yaml);
    }
    for yaml in [A16_DR, A16_DR_STATUS, DR_ADDITIONS] {
        assert_round_trip::<DeferredResource>(yaml);
    }
}

#[test]
fn empty_specs_serialize_empty() {
    let plug = Plug::new("p", PlugSpec::default());
    let json = serde_json::to_value(&plug).unwrap();
    assert_eq!(json["spec"], json!({}));
    assert!(json.get("status").is_none());
    let socket = Socket::new("s", SocketSpec::default());
    assert_eq!(serde_json::to_value(&socket).unwrap()["spec"], json!({}));
    let dr = DeferredResource::new("d", DeferredResourceSpec::default());
    assert_eq!(serde_json::to_value(&dr).unwrap()["spec"], json!({}));
    assert_eq!(
        serde_json::to_value(Resource::default()).unwrap(),
        json!({}),
        "defaults are not written back"
    );
}

#[test]
fn unknown_enum_values_are_rejected() {
    for bad in [
        "when: [broken]",
        "when: [Coupled]",
        "when: coupled",
        "do: upsert",
        "do: Apply",
        "do: ''",
    ] {
        let result: Result<Resource, _> = serde_saphyr::from_str(bad);
        assert!(result.is_err(), "{bad} must be rejected");
    }
    for good in [
        "when: [created, coupled, updated, decoupled, deleted]",
        "do: delete",
        "{}",
    ] {
        let result: Result<Resource, _> = serde_saphyr::from_str(good);
        assert!(result.is_ok(), "{good}: {result:?}");
    }
    for event in When::ALL {
        assert_eq!(serde_json::to_value(event).unwrap(), json!(event.as_str()));
        assert_eq!(event.to_string(), event.as_str());
    }
    for action in [Do::Apply, Do::Delete, Do::Recreate] {
        assert_eq!(
            serde_json::to_value(action).unwrap(),
            json!(action.as_str())
        );
    }
}

#[test]
fn effective_defaults() {
    let mut r = Resource::default();
    assert_eq!(r.effective_do(), Do::Apply);
    assert_eq!(r.effective_when(), [When::Coupled, When::Updated]);
    r.when = Some(vec![]);
    assert_eq!(
        r.effective_when(),
        [When::Coupled, When::Updated],
        "empty means the default"
    );
    r.when = Some(vec![When::Deleted]);
    assert_eq!(r.effective_when(), [When::Deleted]);
    assert!(!r.retain_when_decoupled() && !r.reconcile());

    // retainWhenDecoupled wins over its alias when both are set.
    for (retain, preserve, expected) in [
        (None, None, false),
        (Some(true), None, true),
        (None, Some(true), true),
        (Some(false), Some(true), false),
        (Some(true), Some(false), true),
    ] {
        r.retain_when_decoupled = retain;
        r.preserve_when_decoupled = preserve;
        assert_eq!(
            r.retain_when_decoupled(),
            expected,
            "{retain:?} {preserve:?}"
        );
    }

    let apparatus = SpecApparatus::default();
    assert_eq!(
        apparatus.idle_timeout_seconds(),
        DEFAULT_IDLE_TIMEOUT_SECONDS
    );
    assert_eq!(apparatus.timeout_seconds(), 30);
    assert!(apparatus.affinity.is_none(), "no architecture pinning");
    assert_eq!(CommonSpec::default().service_account_name(), "default");
    let empty_sa = CommonSpec {
        service_account_name: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(empty_sa.service_account_name(), "default");
    assert_eq!(
        DeferredResourceSpec::default().service_account_name(),
        "default"
    );

    let name = NamespacedName {
        name: "s".into(),
        namespace: None,
    };
    assert_eq!(name.namespace_or("own"), "own");
    let name = NamespacedName {
        name: "s".into(),
        namespace: Some("db".into()),
    };
    assert_eq!(name.namespace_or("own"), "db");
    assert_eq!(Plug::new("p", PlugSpec::default()).socket_key(), None);

    let property = SchemaProperty {
        default: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(property.default_value(), None, "a default cannot be empty");
    assert!(!property.is_required() && !property.is_secret());

    let mut socket = Socket::new("s", SocketSpec::default());
    assert_eq!(socket.plug_limit(), None);
    socket.spec.limit = Some(0);
    assert_eq!(socket.plug_limit(), None, "zero means no limit");
    socket.spec.limit = Some(3);
    assert_eq!(socket.plug_limit(), Some(3));

    let wait_for = WaitFor {
        version: Some("v1".into()),
        ..Default::default()
    };
    assert_eq!(wait_for.effective_api_version(), "v1");
}

#[test]
fn constants() {
    assert_eq!(FINALIZER, "integration.rock8s.com/finalizer");
    assert_eq!(FIELD_MANAGER, "integration-operator");
    assert_eq!(API_VERSION, format!("{GROUP}/{VERSION}"));
    assert_eq!(
        condition::plugs_coupled(0),
        condition::message::SOCKET_EMPTY
    );
    assert_eq!(condition::plugs_coupled(1), "1 plug coupled");
    assert_eq!(condition::plugs_coupled(2), "2 plugs coupled");
    assert_eq!(
        condition::socket_limit_reached("db", "postgres", 1, 3),
        "socket db/postgres accepts at most 1 plugs; place in line: 3"
    );
    use kube::Resource as _;
    assert_eq!(Plug::api_version(&()), API_VERSION);
    assert_eq!(Socket::kind(&()), "Socket");
}

// ---- the manifests fit the CRD schema ----

/// Checks `value` against a structural schema as the API server would:
/// reports fields it would prune, wrong types, enum violations and missing
/// required fields.
fn check(value: &Value, schema: &Value, path: &str, problems: &mut Vec<String>) {
    if schema["x-kubernetes-preserve-unknown-fields"] == json!(true) && schema.get("type").is_none()
    {
        return;
    }
    if schema["x-kubernetes-int-or-string"] == json!(true) {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            problems.push(format!("{path}: not int-or-string"));
        }
        return;
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        other => {
            problems.push(format!("{path}: schema type {other:?}"));
            return;
        }
    };
    if !ok {
        problems.push(format!("{path}: {value} is not {}", schema["type"]));
        return;
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        problems.push(format!("{path}: {value} not in enum"));
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            check(item, &schema["items"], &format!("{path}[{i}]"), problems);
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(required.as_str().unwrap()) {
                problems.push(format!("{path}: missing required {required}"));
            }
        }
        for (key, child) in object {
            let child_path = format!("{path}.{key}");
            if let Some(child_schema) = schema["properties"].get(key) {
                check(child, child_schema, &child_path, problems);
            } else if schema["additionalProperties"].is_object() {
                check(
                    child,
                    &schema["additionalProperties"],
                    &child_path,
                    problems,
                );
            } else if schema["x-kubernetes-preserve-unknown-fields"] != json!(true) {
                problems.push(format!("{child_path}: would be pruned"));
            }
        }
    }
}

#[test]
fn manifests_fit_the_crd_schemas() {
    let crds = crds();
    let schema_of = |kind: &str| -> Value {
        let crd = crds.iter().find(|c| c.spec.names.kind == kind).unwrap();
        serde_json::to_value(
            crd.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap(),
        )
        .unwrap()
    };
    let all = [
        S0,
        S0_STATUS,
        A12_SOCKET,
        A14_SOCKET,
        A17_SOCKET,
        P0,
        P0_STATUS,
        A3_PLUG,
        A10_PLUG,
        A12_PLUG,
        A15_PLUG,
        A16_DR,
        A16_DR_STATUS,
        DR_ADDITIONS,
    ];
    for yaml in all {
        let mut manifest = yaml_value(yaml);
        let kind = manifest["kind"].as_str().unwrap().to_string();
        // apiVersion, kind and metadata are validated by the API server itself.
        let object = manifest.as_object_mut().unwrap();
        for key in ["apiVersion", "kind", "metadata"] {
            object.remove(key);
        }
        let mut problems = Vec::new();
        check(&manifest, &schema_of(&kind), &kind, &mut problems);
        assert!(problems.is_empty(), "{problems:#?}\n{yaml}");
    }

    // And the checker does catch what the API server would prune.
    let mut problems = Vec::new();
    let bad =
        json!({"spec": {"resources": [{"when": ["broken"], "preserveWhenDecoupledd": true}]}});
    check(&bad, &schema_of("Plug"), "Plug", &mut problems);
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

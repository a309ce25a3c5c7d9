//! The generated CRDs are structural, documented, and shaped as the
//! original's (docs/compatibility.md, "Wire compatibility").

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use integration_api::crds;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion,
};
use serde_json::{Value, json};

fn crd(kind: &str) -> CustomResourceDefinition {
    crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

fn version(crd: &CustomResourceDefinition) -> &CustomResourceDefinitionVersion {
    assert_eq!(crd.spec.versions.len(), 1);
    &crd.spec.versions[0]
}

fn schema(kind: &str) -> Value {
    let crd = crd(kind);
    let schema = version(&crd)
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("schema");
    serde_json::to_value(schema).unwrap()
}

/// Calls `f(path, node, is_property)` for every schema node.
fn walk(node: &Value, path: &str, is_property: bool, f: &mut dyn FnMut(&str, &Value, bool)) {
    f(path, node, is_property);
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            walk(child, &format!("{path}.{name}"), true, f);
        }
    }
    if let Some(items) = node.get("items") {
        walk(items, &format!("{path}[]"), false, f);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        walk(values, &format!("{path}{{}}"), false, f);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for (i, sub) in node
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            walk(sub, &format!("{path}<{key}{i}>"), false, f);
        }
    }
}

/// Looks up a node by property path, `[]` stepping into array items.
fn at<'a>(schema: &'a Value, path: &str) -> &'a Value {
    let mut node = schema;
    for step in path.split('.').filter(|s| !s.is_empty()) {
        let (name, items) = match step.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (step, false),
        };
        node = &node["properties"][name];
        assert!(!node.is_null(), "no property {name} in {path}");
        if items {
            node = &node["items"];
        }
    }
    node
}

const KINDS: [&str; 5] = [
    "Plug",
    "Socket",
    "DeferredResource",
    "Application",
    "Component",
];

/// The only defaults in the schemas: a new Application or Component reads
/// `observedGeneration: -1` (the status object must default to `{}` for
/// the server to default a field inside it).
const DEFAULTS: [&str; 4] = [
    "Application.status",
    "Application.status.observedGeneration",
    "Component.status",
    "Component.status.observedGeneration",
];

#[test]
fn every_property_has_a_description() {
    let mut missing = Vec::new();
    for kind in KINDS {
        let schema = schema(kind);
        assert!(
            schema["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        walk(&schema, kind, false, &mut |path, node, is_property| {
            let ok = node["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty());
            if is_property && !ok {
                missing.push(path.to_string());
            }
        });
    }
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:#?}"
    );
}

#[test]
fn schemas_are_structural() {
    let mut problems = Vec::new();
    for kind in KINDS {
        walk(&schema(kind), kind, false, &mut |path, node, _| {
            for key in [
                "$ref",
                "definitions",
                "$defs",
                "allOf",
                "anyOf",
                "oneOf",
                "not",
                "nullable",
                "const",
            ] {
                if node.get(key).is_some() {
                    problems.push(format!("{path}: has {key}"));
                }
            }
            if node.get("default").is_some() && !DEFAULTS.contains(&path) {
                problems.push(format!("{path}: has default"));
            }
            let preserve = node["x-kubernetes-preserve-unknown-fields"] == json!(true);
            let int_or_string = node["x-kubernetes-int-or-string"] == json!(true);
            let ty = node["type"].as_str();
            if ty.is_none() && !preserve && !int_or_string {
                problems.push(format!("{path}: no type"));
            }
            if node.get("properties").is_some() && ty != Some("object") {
                problems.push(format!("{path}: properties without type object"));
            }
            if node.get("additionalProperties").is_some() && node.get("properties").is_some() {
                problems.push(format!("{path}: both properties and additionalProperties"));
            }
            if ty == Some("array") && !node["items"].is_object() {
                problems.push(format!("{path}: array without items"));
            }
            if let Some(values) = node.get("enum") {
                let all_strings = values
                    .as_array()
                    .is_some_and(|v| v.iter().all(Value::is_string));
                if !all_strings || ty != Some("string") {
                    problems.push(format!("{path}: enum must be non-null strings"));
                }
            }
            if let Some(format) = node["format"].as_str()
                && !["int32", "int64", "date-time", "byte", "double", "float"].contains(&format)
            {
                problems.push(format!("{path}: unusual format {format}"));
            }
        });
    }
    assert!(problems.is_empty(), "non-structural schema: {problems:#?}");
}

#[test]
fn only_free_form_templates_preserve_unknown_fields() {
    let mut found = Vec::new();
    for kind in KINDS {
        walk(&schema(kind), kind, false, &mut |path, node, _| {
            if node.get("x-kubernetes-preserve-unknown-fields").is_some() {
                found.push(path.to_string());
            }
        });
    }
    let expected = [
        "Plug.spec.resources[].template",
        "Plug.spec.resources[].templates[]",
        "Plug.spec.resultResources[].template",
        "Plug.spec.resultResources[].templates[]",
        "Socket.spec.resources[].template",
        "Socket.spec.resources[].templates[]",
        "Socket.spec.resultResources[].template",
        "Socket.spec.resultResources[].templates[]",
        "DeferredResource.spec.resource",
        "Application.spec.components[].container",
        "Application.spec.components[].volumes[]",
        "Application.spec.components[].volumeClaimTemplates[]",
        "Component.spec.container",
        "Component.spec.volumes[]",
        "Component.spec.volumeClaimTemplates[]",
    ];
    found.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn do_and_when_are_enums() {
    for kind in ["Plug", "Socket"] {
        let schema = schema(kind);
        let when = json!(["created", "coupled", "updated", "decoupled", "deleted"]);
        let actions = json!(["apply", "delete", "recreate"]);
        assert_eq!(at(&schema, "spec.resources[].when[]")["enum"], when);
        assert_eq!(at(&schema, "spec.resources[].do")["enum"], actions);
        assert_eq!(at(&schema, "spec.resultResources[].do")["enum"], actions);
        // The field's own description survives the enum's hoisting.
        let doc = at(&schema, "spec.resources[].do")["description"]
            .as_str()
            .unwrap();
        assert!(doc.contains("default"), "{doc}");
    }
}

#[test]
fn names_scope_and_subresources() {
    for (kind, plural, singular) in [
        ("Plug", "plugs", "plug"),
        ("Socket", "sockets", "socket"),
        ("DeferredResource", "deferredresources", "deferredresource"),
        ("Application", "applications", "application"),
        ("Component", "components", "component"),
    ] {
        let crd = crd(kind);
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some(format!("{plural}.integration.rock8s.com").as_str())
        );
        assert_eq!(crd.spec.group, "integration.rock8s.com");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.names.plural, plural);
        assert_eq!(crd.spec.names.singular.as_deref(), Some(singular));
        let v = version(&crd);
        assert_eq!(v.name, "v1beta1");
        assert!(v.served && v.storage);
        let sub = v.subresources.as_ref().expect("subresources");
        assert!(sub.status.is_some(), "{kind} has a status subresource");
        assert!(sub.scale.is_none());
    }
}

fn columns(kind: &str) -> Vec<(String, String, String)> {
    version(&crd(kind))
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| (c.name.clone(), c.type_.clone(), c.json_path.clone()))
        .collect()
}

fn col(name: &str, ty: &str, path: &str) -> (String, String, String) {
    (name.into(), ty.into(), path.into())
}

#[test]
fn printer_columns() {
    assert_eq!(
        columns("Plug"),
        [
            col("SOCKET", "string", ".spec.socket.name"),
            col(
                "COUPLED",
                "string",
                r#".status.conditions[?(@.type=="Coupled")].status"#
            ),
            col(
                "REASON",
                "string",
                r#".status.conditions[?(@.type=="Coupled")].reason"#
            ),
            col("AGE", "date", ".metadata.creationTimestamp"),
        ]
    );
    assert_eq!(
        columns("Socket"),
        [
            col(
                "PLUGS",
                "string",
                r#".status.conditions[?(@.type=="Coupled")].message"#
            ),
            col(
                "COUPLED",
                "string",
                r#".status.conditions[?(@.type=="Coupled")].status"#
            ),
            col("AGE", "date", ".metadata.creationTimestamp"),
        ]
    );
    assert_eq!(
        columns("DeferredResource"),
        [
            col(
                "RESOLVED",
                "string",
                r#".status.conditions[?(@.type=="Resolved")].status"#
            ),
            col(
                "REASON",
                "string",
                r#".status.conditions[?(@.type=="Resolved")].reason"#
            ),
            col("AGE", "date", ".metadata.creationTimestamp"),
        ]
    );
}

#[test]
fn application_columns_and_validations() {
    let phase = col("PHASE", "string", ".status.phase");
    let ready = col("READY", "string", ".status.ready");
    let age = col("AGE", "date", ".metadata.creationTimestamp");
    let message = col("MESSAGE", "string", ".status.message");
    assert_eq!(
        columns("Application"),
        [phase.clone(), ready.clone(), age.clone(), message.clone()]
    );
    let application = col("APPLICATION", "string", ".spec.application");
    assert_eq!(
        columns("Component"),
        [application, phase, ready, age, message]
    );
    let priorities: Vec<_> = version(&crd("Application"))
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.priority.unwrap_or(0))
        .collect();
    assert_eq!(priorities, [0, 0, 0, 1], "MESSAGE only with -o wide");

    let component = schema("Component");
    let schema = schema("Application");
    let rules = |node: &Value| -> Vec<String> {
        node["x-kubernetes-validations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["rule"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(rules(at(&schema, "spec"))[0].contains("exists_one(d, d.name == c.name)"));
    assert!(rules(at(&schema, "spec.components[].name"))[0].contains("matches("));
    assert!(rules(at(&schema, "spec.components[]"))[0].contains("volumeClaimTemplates"));
    assert!(rules(at(&component, "spec"))[0].contains("volumeClaimTemplates"));
    assert_eq!(
        at(&schema, "status.observedGeneration")["default"],
        json!(-1)
    );
    assert_eq!(at(&schema, "status")["default"], json!({}));
}

#[test]
fn compatibility_and_additive_fields_are_in_the_schema() {
    for kind in ["Plug", "Socket"] {
        let schema = schema(kind);
        let resource = at(&schema, "spec.resources[]");
        for field in ["retainWhenDecoupled", "preserveWhenDecoupled", "reconcile"] {
            assert_eq!(
                resource["properties"][field]["type"], "boolean",
                "{kind} {field}"
            );
        }
        assert!(
            resource["properties"]["preserveWhenDecoupled"]["description"]
                .as_str()
                .unwrap()
                .contains("Deprecated")
        );
        // resultResources have no `when` and no retain flags.
        let result_resource = at(&schema, "spec.resultResources[]");
        assert!(result_resource["properties"].get("when").is_none());
        assert!(
            result_resource["properties"]
                .get("retainWhenDecoupled")
                .is_none()
        );
        let apparatus = at(&schema, "spec.apparatus");
        assert_eq!(apparatus["required"], json!(["containers"]));
        assert_eq!(apparatus["properties"]["timeout"]["type"], "integer");
        assert_eq!(apparatus["properties"]["affinity"]["type"], "object");
        assert_eq!(apparatus["properties"]["idleTimeout"]["type"], "integer");
        assert_eq!(
            at(&schema, "spec.vars[]")["required"],
            json!(["name", "objref"])
        );
        assert_eq!(
            at(&schema, "spec.vars[].fieldref.fieldPath")["type"],
            "string"
        );
        assert_eq!(
            at(&schema, "spec.config")["additionalProperties"]["type"],
            "string"
        );
        assert_eq!(
            at(&schema, "status.conditions[]")["required"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
    }
    let plug = schema("Plug");
    assert_eq!(at(&plug, "spec.socket")["required"], json!(["name"]));
    assert!(plug["properties"]["spec"].get("required").is_none());
    assert_eq!(at(&plug, "status.inputsHash")["type"], "string");
    assert_eq!(
        at(&plug, "status.coupledSocket")["required"],
        json!(["apiVersion", "kind", "name", "namespace", "uid"])
    );
    assert_eq!(
        at(&plug, "status.coupledResult.observedGeneration")["type"],
        "integer"
    );

    let socket = schema("Socket");
    let property = &at(&socket, "spec.interface.config.plug")["additionalProperties"];
    for field in ["default", "description", "required", "secret"] {
        assert!(
            property["properties"].get(field).is_some(),
            "SchemaProperty.{field}"
        );
    }
    assert_eq!(at(&socket, "spec.limit")["format"], "int32");
    assert_eq!(
        at(&socket, "spec.validation.namespaceSelector")["type"],
        "object"
    );
    assert_eq!(
        at(&socket, "spec.validation.namespaceWhitelist")["type"],
        "array"
    );
    assert_eq!(
        at(&socket, "status.coupledPlugs[]")["required"],
        json!(["apiVersion", "kind", "name", "namespace", "uid"])
    );
    assert!(
        socket["properties"]["spec"]["properties"]
            .get("socket")
            .is_none()
    );

    let dr = schema("DeferredResource");
    let owner = at(&dr, "status.ownerReferences");
    assert_eq!(
        owner["type"], "object",
        "ownerReferences is one object, not a list"
    );
    assert_eq!(
        owner["required"],
        json!(["apiVersion", "kind", "name", "uid"])
    );
    assert_eq!(at(&dr, "spec.timeout")["format"], "int64");
}

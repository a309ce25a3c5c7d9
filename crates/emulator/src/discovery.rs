//! Discovery documents (`/api`, `/apis`, resource lists) and the OpenAPI documents kubectl
//! reads to decide on server-side field validation and to `explain` kinds.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use serde_json::{Value, json};

use crate::resources::{Registry, ResourceType};

pub const MAJOR: &str = "1";
pub const MINOR: &str = "33";
pub const GIT_VERSION: &str = "v1.33.0";

pub fn version() -> Value {
    json!({
        "major": MAJOR, "minor": MINOR, "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
        "platform": "linux/amd64", "emulator": "kube-emulator"
    })
}

pub fn api_versions(host: &str) -> Value {
    json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]
    })
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

pub fn api_group_list(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .groups()
        .iter()
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(reg: &Registry, group: &str) -> Option<Value> {
    let (g, vs) = reg.groups().into_iter().find(|(g, _)| g == group)?;
    let mut doc = group_doc(&g, &vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn resource_entry(rt: &ResourceType) -> Value {
    let mut e = json!({
        "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
        "kind": rt.kind, "verbs": rt.verbs(),
    });
    if !rt.short_names.is_empty() {
        e["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        e["categories"] = json!(rt.categories);
    }
    e
}

pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for rt in reg.in_group_version(group, version) {
        resources.push(resource_entry(rt));
        if rt.status {
            resources.push(
                json!({"name": format!("{}/status", rt.plural), "singularName": "",
                "namespaced": rt.namespaced, "kind": rt.kind, "verbs": ["get", "patch", "update"]}),
            );
        }
        if rt.group.is_empty() && rt.plural == "serviceaccounts" {
            resources.push(json!({"name": "serviceaccounts/token", "singularName": "",
                "namespaced": true, "group": "authentication.k8s.io", "version": "v1",
                "kind": "TokenRequest", "verbs": ["create"]}));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// `com.example.v1.Widget` for group `example.com`; `io.k8s.api.core.v1.ConfigMap` for core.
fn schema_id(rt: &ResourceType) -> String {
    if rt.builtin {
        let g = if rt.group.is_empty() {
            "core".to_string()
        } else {
            rt.group.split('.').next().unwrap_or("").to_string()
        };
        return format!("io.k8s.api.{g}.{}.{}", rt.version, rt.kind);
    }
    let rev: Vec<&str> = rt.group.split('.').rev().collect();
    format!("{}.{}.{}", rev.join("."), rt.version, rt.kind)
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

fn object_meta_schema() -> Value {
    json!({
        "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Name must be unique within a namespace."},
            "namespace": {"type": "string", "description": "Namespace defines the space within which each name must be unique."},
            "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Map of string keys and values that can be used to organize and categorize objects."},
            "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Annotations is an unstructured key value map."},
            "finalizers": {"type": "array", "items": {"type": "string", "default": ""}, "description": "Must be empty before the object is deleted from the registry."},
            "uid": {"type": "string"}, "resourceVersion": {"type": "string"},
            "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": {"type": "string", "format": "date-time"}
        }
    })
}

fn gvk(rt: &ResourceType) -> Value {
    json!({"group": rt.group, "version": rt.version, "kind": rt.kind})
}

fn kind_schema(rt: &ResourceType) -> Value {
    let mut s = match &rt.schema {
        Some(s) => (**s).clone(),
        None => {
            json!({"type": "object", "description": format!("{} is a built-in kind.", rt.kind)})
        }
    };
    let props = s
        .as_object_mut()
        .map(|m| m.entry("properties").or_insert_with(|| json!({})));
    if let Some(Value::Object(p)) = props {
        p.insert("apiVersion".into(), json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
        p.insert("kind".into(), json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
        p.insert("metadata".into(), json!({"allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}], "default": {}, "description": "Standard object's metadata."}));
    }
    s["x-kubernetes-group-version-kind"] = json!([gvk(rt)]);
    s
}

fn operation(rt: &ResourceType, action: &str, write: bool) -> Value {
    let mut params = vec![
        json!({"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}}),
        json!({"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}}),
    ];
    if write {
        params.push(json!({"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}));
    }
    if action == "patch" {
        params.push(json!({"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}));
    }
    json!({
        "operationId": format!("{action}{}", rt.kind),
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", schema_id(rt))}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(rt),
    })
}

/// The OpenAPI v3 document of one group-version.
pub fn openapi_v3_gv(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    schemas.insert(OBJECT_META.into(), object_meta_schema());
    let mut any = false;
    for rt in reg.in_group_version(group, version) {
        if rt.virtual_only {
            continue;
        }
        any = true;
        let base = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let coll = if rt.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", rt.plural)
        } else {
            format!("{base}/{}", rt.plural)
        };
        paths.insert(
            coll.clone(),
            json!({
                "get": operation(rt, "list", false),
                "post": operation(rt, "post", true),
            }),
        );
        paths.insert(
            format!("{coll}/{{name}}"),
            json!({
                "get": operation(rt, "get", false),
                "put": operation(rt, "put", true),
                "patch": operation(rt, "patch", true),
                "delete": operation(rt, "delete", false),
            }),
        );
        if rt.status {
            paths.insert(
                format!("{coll}/{{name}}/status"),
                json!({
                    "get": operation(rt, "get", false),
                    "put": operation(rt, "put", true),
                    "patch": operation(rt, "patch", true),
                }),
            );
        }
        schemas.insert(schema_id(rt), kind_schema(rt));
    }
    any.then(|| {
        json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": GIT_VERSION},
            "paths": paths,
            "components": {"schemas": schemas},
        })
    })
}

/// The OpenAPI v3 index: one entry per group-version, with a hash that changes with content.
pub fn openapi_v3_root(reg: &Registry) -> Value {
    let mut paths = serde_json::Map::new();
    let mut gvs: Vec<(String, String)> = reg
        .all()
        .map(|t| (t.group.clone(), t.version.clone()))
        .collect();
    gvs.dedup();
    for (g, v) in gvs {
        let Some(doc) = openapi_v3_gv(reg, &g, &v) else {
            continue;
        };
        let mut h = DefaultHasher::new();
        doc.to_string().hash(&mut h);
        let key = if g.is_empty() {
            format!("api/{v}")
        } else {
            format!("apis/{g}/{v}")
        };
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={:016X}", h.finish())}),
        );
    }
    json!({"paths": paths})
}

//! Schema helpers and CRD generation.
//!
//! kube's derive already turns schemars output into Kubernetes-style
//! schemas (inlined subschemas, enums hoisted out of `oneOf`/`anyOf`).
//! [`crds`] finishes the job so that the API server accepts the schemas as
//! structural and they read well in `kubectl explain`:
//!
//! * `nullable: true` (added for every `Option`) is dropped, so an explicit
//!   `null` is pruned like an absent field, as with the original CRDs;
//! * soft-wrapped doc comments are joined into one line per paragraph.
//!
//! The tests in `tests/crds.rs` check the result: every property has a
//! description, no `$ref`/`anyOf`/`oneOf`/`allOf`/`not`/`default`, every node
//! has a type unless it preserves unknown fields, and
//! `x-kubernetes-preserve-unknown-fields` appears only on free-form templates.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;
use schemars::{Schema, SchemaGenerator, json_schema};

use crate::{Application, Component, DeferredResource, Plug, Socket};

/// Schema of a free-form manifest: any JSON, kept as written.
pub(crate) fn free_form(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema of a list of free-form manifests.
pub(crate) fn free_form_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// Removes a type's own description so that the description of the field
/// using it shows. kube hoists an optional enum's schema over its field's and
/// would otherwise replace the field's description with the type's.
pub(crate) fn drop_description(schema: &mut Schema) {
    schema.remove("description");
}

/// The CustomResourceDefinitions of Plug, Socket, DeferredResource,
/// Application and Component, in that order, ready to apply.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        finish(Plug::crd()),
        finish(Socket::crd()),
        finish(DeferredResource::crd()),
        finish(Application::crd()),
        finish(Component::crd()),
    ]
}

fn finish(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            tidy(schema);
        }
    }
    crd
}

/// Applies the rewrites described in the module docs to `schema` and every
/// schema below it.
fn tidy(schema: &mut JSONSchemaProps) {
    schema.nullable = None;
    if let Some(description) = schema.description.as_mut() {
        *description = unwrap_lines(description);
    }
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        tidy(child);
    }
    match schema.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => tidy(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(tidy),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(value)) = schema.additional_properties.as_mut() {
        tidy(value);
    }
    for list in [&mut schema.all_of, &mut schema.any_of, &mut schema.one_of] {
        list.iter_mut().flatten().for_each(tidy);
    }
    if let Some(not) = schema.not.as_mut() {
        tidy(not);
    }
}

/// Joins lines that a doc comment wrapped, keeping paragraph breaks and
/// indented or bulleted lines (as in the Kubernetes core descriptions).
fn unwrap_lines(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let soft_break = c == '\n'
            && i > 0
            && chars[i - 1] != '\n'
            && chars
                .get(i + 1)
                .is_some_and(|n| !n.is_whitespace() && *n != '-' && *n != '*');
        out.push(if soft_break { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unwrap_lines;

    #[test]
    fn joins_wrapped_lines_only() {
        assert_eq!(unwrap_lines("a\nb"), "a b");
        assert_eq!(unwrap_lines("a\n\nb"), "a\n\nb");
        assert_eq!(unwrap_lines("a:\n  - b\n- c"), "a:\n  - b\n- c");
    }
}

//! Vars and resultVars: values read from fields of other objects in the
//! owner's namespace (docs/config.md, "Vars").

use std::collections::BTreeMap;

use integration_api::Var;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fieldpath;
use crate::owner::Owner;
use crate::sources::{Sources, VarTarget};
use crate::template::TemplateData;

/// Which var list of a spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarList {
    /// `spec.vars`: for configTemplate and the apparatus `/config` call.
    Vars,
    /// `spec.resultVars`: for resultTemplate.
    ResultVars,
}

impl VarList {
    /// The spec field name, also the template data key on the plug side.
    pub fn field(self) -> &'static str {
        match self {
            VarList::Vars => "vars",
            VarList::ResultVars => "resultVars",
        }
    }

    /// The list in `owner`'s spec, `None` when undeclared.
    pub(crate) fn of<'a>(self, owner: &Owner<'a>) -> Option<&'a [Var]> {
        let spec = owner.spec();
        match self {
            VarList::Vars => spec.vars.as_deref(),
            VarList::ResultVars => spec.result_vars.as_deref(),
        }
    }
}

/// A var whose target is known: what to fetch and which field to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarRef {
    /// Key in the template data.
    pub name: String,
    /// The object to read.
    pub target: VarTarget,
    /// gjson path into the object; empty reads as `""`.
    pub field_path: String,
}

/// Resolves the targets of one var list of `owner`. `None` when the list is
/// not declared, so the template key can stay absent. `data` is what
/// `templateName`/`templateNamespace` see: `{plug, socket}`.
pub(crate) fn refs(owner: &Owner<'_>, list: VarList, data: &Value) -> Result<Option<Vec<VarRef>>> {
    let Some(vars) = list.of(owner) else {
        return Ok(None);
    };
    let data = TemplateData::borrowed(data);
    vars.iter()
        .enumerate()
        .map(|(i, var)| {
            var_ref(
                owner,
                &format!("{}.{}[{i}]", owner.side(), list.field()),
                var,
                &data,
            )
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn var_ref(owner: &Owner<'_>, site: &str, var: &Var, data: &TemplateData<'_>) -> Result<VarRef> {
    let objref = &var.objref;
    let rendered = |field: &str, src: &Option<String>| -> Result<Option<String>> {
        src.as_deref()
            .map(|src| {
                let name = format!("{site}.objref.{field}");
                crate::template::render_value(&name, src, data, field)
            })
            .transpose()
    };
    let namespace = rendered("templateNamespace", &objref.template_namespace)?
        .or_else(|| objref.namespace.clone())
        .unwrap_or_default();
    let name = rendered("templateName", &objref.template_name)?
        .or_else(|| objref.name.clone())
        .unwrap_or_default();
    let namespace = enforce_namespace(namespace, owner.namespace())?;
    let target = VarTarget {
        api_version: objref.effective_api_version(),
        kind: objref.kind.clone().unwrap_or_default(),
        namespace,
        name,
    };
    require_target(owner, var, &target)?;
    Ok(VarRef {
        name: var.name.clone(),
        target,
        field_path: var
            .fieldref
            .as_ref()
            .and_then(|f| f.field_path.clone())
            .unwrap_or_default(),
    })
}

/// Empty means the owner's namespace; anything else must equal it.
fn enforce_namespace(namespace: String, owner_namespace: &str) -> Result<String> {
    if namespace.is_empty() || namespace == owner_namespace {
        Ok(owner_namespace.to_string())
    } else {
        Err(Error::VarNamespace {
            namespace,
            owner_namespace: owner_namespace.to_string(),
        })
    }
}

fn require_target(owner: &Owner<'_>, var: &Var, target: &VarTarget) -> Result<()> {
    let missing = [
        ("apiVersion", &target.api_version),
        ("kind", &target.kind),
        ("name", &target.name),
    ]
    .into_iter()
    .find(|(_, v)| v.is_empty());
    match missing {
        Some((field, _)) => Err(Error::VarIncomplete {
            side: owner.side(),
            var: var.name.clone(),
            field,
        }),
        None => Ok(()),
    }
}

/// Reads every var from the fetched objects: `name → value`, later vars of
/// the same name winning. A missing path reads as `""`; a missing object is
/// an error.
pub(crate) fn values(
    owner: &Owner<'_>,
    refs: &[VarRef],
    sources: &Sources,
) -> Result<BTreeMap<String, String>> {
    refs.iter()
        .map(|r| {
            let object =
                sources
                    .objects
                    .get(&r.target)
                    .ok_or_else(|| Error::VarTargetNotFound {
                        side: owner.side(),
                        var: r.name.clone(),
                        target: Box::new(r.target.clone()),
                    })?;
            Ok((r.name.clone(), read(object, &r.field_path)))
        })
        .collect()
}

/// The value of one var: an empty path reads as `""`, as in the original.
pub(crate) fn read(object: &Value, field_path: &str) -> String {
    if field_path.is_empty() {
        return String::new();
    }
    fieldpath::lookup(object, field_path).value
}

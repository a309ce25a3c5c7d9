//! What the edge must fetch before the engine can resolve a coupling: the
//! ConfigMaps and Secrets each side reads, and the objects its vars read.

use std::collections::BTreeSet;

use crate::coupling::Coupling;
use crate::error::Result;
use crate::maps::{MapObject, named_maps};
use crate::side::{Pair, Side};
use crate::sources::ObjectKey;
use crate::vars::{self, VarList, VarRef};

/// What one side reads. Everything is in the side's namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SidePlan {
    /// The side's namespace.
    pub namespace: String,
    /// The service account to impersonate for var reads.
    pub service_account: String,
    /// ConfigMap names (data, config and result ConfigMaps).
    pub config_maps: BTreeSet<String>,
    /// Secret names (data, config and result Secrets). The original reads
    /// them with the operator's own identity.
    pub secrets: BTreeSet<String>,
    /// Targets of `spec.vars`; `None` when undeclared.
    pub vars: Option<Vec<VarRef>>,
    /// Targets of `spec.resultVars`; `None` when undeclared.
    pub result_vars: Option<Vec<VarRef>>,
}

impl SidePlan {
    /// The ConfigMaps to read, as keys.
    pub fn config_map_keys(&self) -> impl Iterator<Item = ObjectKey> + '_ {
        self.config_maps
            .iter()
            .map(|n| ObjectKey::new(&self.namespace, n))
    }

    /// The Secrets to read, as keys.
    pub fn secret_keys(&self) -> impl Iterator<Item = ObjectKey> + '_ {
        self.secrets
            .iter()
            .map(|n| ObjectKey::new(&self.namespace, n))
    }

    /// Every var of both lists, vars first.
    pub fn var_refs(&self) -> impl Iterator<Item = &VarRef> {
        self.vars.iter().chain(&self.result_vars).flatten()
    }

    /// The var list `list`, if declared.
    pub fn var_list(&self, list: VarList) -> Option<&[VarRef]> {
        match list {
            VarList::Vars => self.vars.as_deref(),
            VarList::ResultVars => self.result_vars.as_deref(),
        }
    }
}

/// The reads of both sides.
pub type FetchPlan = Pair<SidePlan>;

impl Coupling<'_> {
    /// Lists what must be fetched. Var `templateName`/`templateNamespace`
    /// are rendered here, and a var outside its owner's namespace fails with
    /// `var objRef namespace <x> must be <owner-ns>` before anything is read.
    pub fn plan(&self) -> Result<FetchPlan> {
        // Only var names are rendered here: build the objects' JSON (the
        // socket's lists every coupled plug) only when a side declares vars.
        let declares_vars = Side::BOTH.into_iter().any(|side| {
            [VarList::Vars, VarList::ResultVars]
                .into_iter()
                .any(|list| list.of(self.owner(side)).is_some())
        });
        let data = match declares_vars {
            true => self.objects_value(),
            false => serde_json::Value::Null,
        };
        Pair::try_build(|side| self.side_plan(side, &data))
    }

    fn side_plan(&self, side: Side, data: &serde_json::Value) -> Result<SidePlan> {
        let owner = self.owner(side);
        let spec = owner.spec();
        let names = |object: MapObject| {
            named_maps(spec)
                .filter(move |(kind, _)| *kind == object)
                .map(|(_, name)| name.to_string())
                .collect()
        };
        Ok(SidePlan {
            namespace: owner.namespace().to_string(),
            service_account: spec.service_account_name().to_string(),
            config_maps: names(MapObject::ConfigMap),
            secrets: names(MapObject::Secret),
            vars: vars::refs(owner, VarList::Vars, data)?,
            result_vars: vars::refs(owner, VarList::ResultVars, data)?,
        })
    }
}

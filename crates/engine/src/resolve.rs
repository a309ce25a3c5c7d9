//! Resolution of a side's data, vars, config and result from its spec and
//! the fetched sources, in the merge orders of docs/config.md, "Merge
//! order":
//!
//! * data:   Secret < inline < ConfigMap
//! * config: Secret < inline < configTemplate < ConfigMap < apparatus
//! * result: Secret < inline < resultTemplate < ConfigMap
//!
//! Each map reads its own ConfigMap/Secret fields (the original read the
//! wrong ones: docs/compatibility.md, "Bugs fixed").

use std::collections::BTreeMap;

use serde_json::Value;

use crate::apparatus;
use crate::coupling::Coupling;
use crate::error::{Error, Result, Stage};
use crate::interface::{Configs, Results, Validated, validate};
use crate::maps::{Layers, MapKind};
use crate::owner::Owner;
use crate::side::{Pair, Side};
use crate::sources::{ObjectKey, Sources};
use crate::template::{Data, TemplateData, render};
use crate::vars::{self, VarList};
use crate::warning::Notes;

impl Coupling<'_> {
    /// A side's data. Not validated by the interface.
    pub fn data(&self, side: Side, sources: &Sources) -> Result<BTreeMap<String, String>> {
        let owner = self.owner(side);
        merge(owner, MapKind::Data, owner.notes(), sources, || {
            Ok(Value::Null)
        })
    }

    /// A side's var values (`list` = vars or resultVars); `None` when the
    /// list is not declared.
    pub fn vars(
        &self,
        side: Side,
        list: VarList,
        sources: &Sources,
    ) -> Result<Option<BTreeMap<String, String>>> {
        let owner = self.owner(side);
        if list.of(owner).is_none() {
            return Ok(None);
        }
        vars::refs(owner, list, &self.objects_value())?
            .map(|refs| vars::values(owner, &refs, sources))
            .transpose()
    }

    /// A side's validated config.
    pub fn config(&self, side: Side, sources: &Sources) -> Result<Validated> {
        let owner = self.owner(side);
        let mut values = merge(owner, MapKind::Config, owner.notes(), sources, || {
            self.config_data(side, sources).map(Data::into_value)
        })?;
        if owner.spec().apparatus.is_some() {
            let body = sources
                .apparatus_config
                .get(side)
                .as_ref()
                .ok_or(Error::ApparatusResponseMissing(side))?;
            values.extend(apparatus::config_values(side, body)?);
        }
        self.validate(side, Stage::Config, values)
    }

    /// Validates a side's map, recording its warnings on that side.
    fn validate(
        &self,
        side: Side,
        stage: Stage,
        values: BTreeMap<String, String>,
    ) -> Result<Validated> {
        let owner = self.owner(side);
        let validated = validate(self.interface(), side, stage, values, owner.strict())?;
        for warning in &validated.warnings {
            owner.warnings().push(warning.clone());
        }
        Ok(validated)
    }

    /// Notes for a render of `side`'s templates whose data holds `maps`
    /// (validated configs or results): a `<no value>` from a key the
    /// interface dropped says so.
    pub(crate) fn notes(&self, side: Side, maps: &[(&'static str, &Validated)]) -> Notes {
        let dropped = maps
            .iter()
            .map(|(key, v)| (*key, v.dropped.clone()))
            .collect();
        Notes {
            dropped: std::sync::Arc::new(dropped),
            ..self.owner(side).notes()
        }
    }

    /// Both validated configs, plug first.
    pub fn configs(&self, sources: &Sources) -> Result<Configs> {
        Pair::try_build(|side| self.config(side, sources))
    }

    /// A side's validated result, given this pass's configs.
    pub fn result(&self, side: Side, sources: &Sources, configs: &Configs) -> Result<Validated> {
        let notes = self.notes(
            side,
            &[
                (Side::Plug.config_key(), &configs.plug),
                (Side::Socket.config_key(), &configs.socket),
            ],
        );
        let values = merge(self.owner(side), MapKind::Result, notes, sources, || {
            self.result_data(side, sources, configs)
        })?;
        self.validate(side, Stage::Result, values)
    }

    /// Both validated results, plug first.
    pub fn results(&self, sources: &Sources, configs: &Configs) -> Result<Results> {
        Pair::try_build(|side| self.result(side, sources, configs))
    }

    /// `{plug, socket, plugData, socketData}`: the base of configTemplate,
    /// resultTemplate and apparatus `/config` data.
    fn with_data(&self, sources: &Sources) -> Result<Data> {
        let mut data = self.objects();
        for side in Side::BOTH {
            data = data.with_map(side.data_key(), &self.data(side, sources)?);
        }
        Ok(data)
    }

    /// configTemplate data: `plug, socket, plugData, socketData`, and `vars`
    /// (the side's own, absent when undeclared). No configs: that would be
    /// circular.
    pub(crate) fn config_data(&self, side: Side, sources: &Sources) -> Result<Data> {
        let vars = self.vars(side, VarList::Vars, sources)?;
        Ok(self
            .with_data(sources)?
            .with_optional_map(VarList::Vars.field(), vars.as_ref()))
    }

    /// resultTemplate data (docs/config.md, "Template data"): the config
    /// data keys without `vars`, plus `plugConfig`, `socketConfig` and
    /// `resultVars`. The socket side also gets its resultVars as `vars`,
    /// the reference's (deprecated) key.
    fn result_data(&self, side: Side, sources: &Sources, configs: &Configs) -> Result<Value> {
        let result_vars = self.vars(side, VarList::ResultVars, sources)?;
        let mut data = self
            .with_data(sources)?
            .with_optional_map(VarList::ResultVars.field(), result_vars.as_ref());
        if side == Side::Socket {
            data = data.with_optional_map(VarList::Vars.field(), result_vars.as_ref());
        }
        for s in Side::BOTH {
            data = data.with_map(s.config_key(), &configs.get(s).values);
        }
        Ok(data.into_value())
    }
}

/// Merges one map of `owner` from its layers. `data` builds the template
/// data; it runs only when the map has templates.
fn merge(
    owner: &Owner<'_>,
    kind: MapKind,
    notes: Notes,
    sources: &Sources,
    data: impl FnOnce() -> Result<Value>,
) -> Result<BTreeMap<String, String>> {
    let layers = Layers::of(owner.spec(), kind);
    let key = |name: &str| ObjectKey::new(owner.namespace(), name);
    let mut out = BTreeMap::new();
    if let Some(name) = layers.secret {
        let secret = sources.secret(&key(name));
        out.extend(
            secret
                .ok_or_else(|| Error::SecretNotFound(key(name)))?
                .clone(),
        );
    }
    out.extend(layers.inline.cloned().unwrap_or_default());
    if let (Some(templates), Some(field)) = (layers.templates, kind.template_field()) {
        out.extend(render_templates(
            owner.side(),
            field,
            templates,
            notes,
            data,
        )?);
    }
    if let Some(name) = layers.config_map {
        let cm = sources.config_map(&key(name));
        out.extend(
            cm.ok_or_else(|| Error::ConfigMapNotFound(key(name)))?
                .clone(),
        );
    }
    Ok(out)
}

/// Renders each template of a configTemplate/resultTemplate on its own.
/// A value with `<no value>` is kept, as in the original, and reported.
fn render_templates(
    side: Side,
    field: &str,
    templates: &BTreeMap<String, String>,
    notes: Notes,
    data: impl FnOnce() -> Result<Value>,
) -> Result<BTreeMap<String, String>> {
    if templates.is_empty() {
        return Ok(BTreeMap::new());
    }
    let data = TemplateData::from(data()?).with_notes(notes);
    templates
        .iter()
        .map(|(key, src)| {
            let name = format!("{side}.{field}.{key}");
            Ok((key.clone(), render(&name, src, &data)?))
        })
        .collect()
}

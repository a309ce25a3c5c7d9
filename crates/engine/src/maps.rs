//! The three key/value maps of a side (data, config, result) and the fields
//! they are built from, in merge order (docs/config.md, "Merge order"; each
//! map reads its own ConfigMap field).
//!
//! This is also the one list of the ConfigMaps and Secrets a spec reads:
//! fetching ([`Coupling::plan`](crate::Coupling::plan)) and the watches
//! that wake a plug when one changes ([`reads_map`]) both start from
//! [`named_maps`], so a map field added here is fetched and watched alike.

use std::collections::BTreeMap;

use integration_api::{CommonSpec, Var};

/// One of a side's key/value maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// Free data, exchanged before config exists; never validated.
    Data,
    /// Config, validated against `interface.config`.
    Config,
    /// Result, validated against `interface.result`.
    Result,
}

impl MapKind {
    /// All maps, in the order a plan lists their sources.
    pub const ALL: [MapKind; 3] = [MapKind::Data, MapKind::Config, MapKind::Result];

    /// The spec field holding the templates of this map, if it has one.
    pub fn template_field(self) -> Option<&'static str> {
        match self {
            MapKind::Data => None,
            MapKind::Config => Some("configTemplate"),
            MapKind::Result => Some("resultTemplate"),
        }
    }
}

/// Where one map's values come from. Later layers win: Secret < inline <
/// templates < ConfigMap (and, for config only, the apparatus response,
/// which the resolver adds on top).
#[derive(Clone, Copy, Debug)]
pub struct Layers<'a> {
    /// Name of the Secret in the owner's namespace.
    pub secret: Option<&'a str>,
    /// Inline values.
    pub inline: Option<&'a BTreeMap<String, String>>,
    /// One template per key.
    pub templates: Option<&'a BTreeMap<String, String>>,
    /// Name of the ConfigMap in the owner's namespace.
    pub config_map: Option<&'a str>,
}

impl<'a> Layers<'a> {
    /// The layers of `kind` in `spec`. Empty names count as unset.
    pub fn of(spec: &'a CommonSpec, kind: MapKind) -> Self {
        let (secret, inline, templates, config_map) = match kind {
            MapKind::Data => (
                &spec.data_secret_name,
                &spec.data,
                &None,
                &spec.data_config_map_name,
            ),
            MapKind::Config => (
                &spec.config_secret_name,
                &spec.config,
                &spec.config_template,
                &spec.config_config_map_name,
            ),
            MapKind::Result => (
                &spec.result_secret_name,
                &spec.result,
                &spec.result_template,
                &spec.result_config_map_name,
            ),
        };
        Layers {
            secret: non_empty(secret),
            inline: inline.as_ref(),
            templates: templates.as_ref(),
            config_map: non_empty(config_map),
        }
    }
}

fn non_empty(name: &Option<String>) -> Option<&str> {
    name.as_deref().filter(|n| !n.is_empty())
}

/// The kind of object a map layer is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapObject {
    /// `dataConfigMapName`, `configConfigMapName`, `resultConfigMapName`.
    ConfigMap,
    /// `dataSecretName`, `configSecretName`, `resultSecretName`.
    Secret,
}

impl MapObject {
    /// The Kubernetes kind, as a var's `objref.kind` names it.
    pub fn kind(self) -> &'static str {
        match self {
            MapObject::ConfigMap => "ConfigMap",
            MapObject::Secret => "Secret",
        }
    }
}

/// Every ConfigMap and Secret `spec` names as a layer of its data, config
/// or result map, in the owner's namespace. Empty names count as unset.
pub fn named_maps(spec: &CommonSpec) -> impl Iterator<Item = (MapObject, &str)> {
    MapKind::ALL.into_iter().flat_map(|kind| {
        let layers = Layers::of(spec, kind);
        [
            layers.config_map.map(|name| (MapObject::ConfigMap, name)),
            layers.secret.map(|name| (MapObject::Secret, name)),
        ]
        .into_iter()
        .flatten()
    })
}

/// Every ConfigMap and Secret `spec` may read in its own namespace: each
/// map layer ([`named_maps`]) and each var's target, the name `None` for a
/// var whose name is a template, as its name is known only once the
/// coupling renders it (it may read any object of its kind). Everything a
/// [`FetchPlan`](crate::FetchPlan) lists of these kinds is included, so a
/// watch that wakes the readers of a changed map misses none.
pub fn maps_read(spec: &CommonSpec) -> impl Iterator<Item = (MapObject, Option<&str>)> {
    let vars = spec.vars.iter().chain(&spec.result_vars).flatten();
    let var_reads = vars.filter_map(|var: &Var| {
        let target = &var.objref;
        let object = [MapObject::ConfigMap, MapObject::Secret]
            .into_iter()
            .find(|o| target.kind.as_deref() == Some(o.kind()))?;
        match (&target.template_name, target.name.as_deref()) {
            (Some(_), _) => Some((object, None)),
            (None, Some(name)) => Some((object, Some(name))),
            (None, None) => None,
        }
    });
    named_maps(spec).map(|(o, n)| (o, Some(n))).chain(var_reads)
}

/// Whether `spec` may read the `object` named `name` in its own namespace
/// ([`maps_read`]).
pub fn reads_map(spec: &CommonSpec, object: MapObject, name: &str) -> bool {
    maps_read(spec).any(|(o, n)| o == object && n.is_none_or(|n| n == name))
}

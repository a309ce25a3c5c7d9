//! Which resources run on a lifecycle event, with what template data
//! (docs/lifecycle.md: "Events", "Resources", "Decoupling", "Result
//! phase").

use integration_api::{CommonSpec, Do, Resource, When};

use crate::coupling::Coupling;
use crate::error::Result;
use crate::interface::{Configs, Results, Validated};
use crate::owner::Owner;
use crate::render::{Rendered, Renderer};
use crate::side::Side;
use crate::template::Data;

/// An event of one coupling: its resources see both objects and configs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouplingEvent {
    /// The first successful couple.
    Coupled,
    /// An update of a coupled plug or its socket.
    Updated,
    /// A plug leaving its socket.
    Decoupled,
}

impl From<CouplingEvent> for When {
    fn from(e: CouplingEvent) -> When {
        match e {
            CouplingEvent::Coupled => When::Coupled,
            CouplingEvent::Updated => When::Updated,
            CouplingEvent::Decoupled => When::Decoupled,
        }
    }
}

/// An event of one object alone: its resources see only that object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnEvent {
    /// The object's first reconcile.
    Created,
    /// The object's finalizer.
    Deleted,
}

impl From<OwnEvent> for When {
    fn from(e: OwnEvent) -> When {
        match e {
            OwnEvent::Created => When::Created,
            OwnEvent::Deleted => When::Deleted,
        }
    }
}

/// The resources of `spec` that run on `event`, with their index. An absent
/// or empty `when` means `[coupled, updated]` (docs/lifecycle.md,
/// "Resources").
pub fn resources_on(spec: &CommonSpec, event: When) -> impl Iterator<Item = (usize, &Resource)> {
    spec.resources()
        .iter()
        .enumerate()
        .filter(move |(_, r)| r.runs_on(event))
}

/// The resources deleted automatically at decouple (docs/lifecycle.md,
/// "Decoupling"): those that are not a `delete`, do not run on `decoupled`,
/// and are not retained (`retainWhenDecoupled`, or its alias
/// `preserveWhenDecoupled`).
pub fn auto_deleted(spec: &CommonSpec) -> impl Iterator<Item = (usize, &Resource)> {
    spec.resources().iter().enumerate().filter(|(_, r)| {
        r.effective_do() != Do::Delete && !r.runs_on(When::Decoupled) && !r.retain_when_decoupled()
    })
}

/// The resources kept in their rendered state between events
/// (docs/lifecycle.md, "Drift repair"): those marked `reconcile: true` that
/// are applied while the coupling holds (`do: apply`, running on `coupled`
/// or `updated`). `delete` and `recreate` entries are one-shot by nature
/// and are left out.
pub fn drift_repaired(spec: &CommonSpec) -> impl Iterator<Item = (usize, &Resource)> {
    spec.resources().iter().enumerate().filter(|(_, r)| {
        r.reconcile()
            && r.effective_do() == Do::Apply
            && (r.runs_on(When::Coupled) || r.runs_on(When::Updated))
    })
}

/// Renders `owner`'s resources for `created` or `deleted`. The data holds
/// the owner alone, under `plug` or `socket`.
pub fn render_own_event(owner: &Owner<'_>, event: OwnEvent) -> Result<Vec<Rendered>> {
    let data = Data::default()
        .with(owner.side().as_str(), owner.json().clone())
        .into_value();
    let renderer = Renderer::new(owner, data, owner.notes());
    render_resources(
        &renderer,
        owner,
        resources_on(owner.spec(), event.into()),
        None,
    )
}

impl Coupling<'_> {
    /// Renders `side`'s resources for a coupling event. Data: `plug`,
    /// `socket`, `plugConfig`, `socketConfig`.
    pub fn render_event(
        &self,
        side: Side,
        event: CouplingEvent,
        configs: &Configs,
    ) -> Result<Vec<Rendered>> {
        let owner = self.owner(side);
        self.render_with_event_data(owner, configs, resources_on(owner.spec(), event.into()))
    }

    /// Renders `side`'s [`drift_repaired`] resources with the data of a
    /// coupling event, for re-applying them on a pass where no event is
    /// due.
    pub fn render_drift_repairs(&self, side: Side, configs: &Configs) -> Result<Vec<Rendered>> {
        let owner = self.owner(side);
        self.render_with_event_data(owner, configs, drift_repaired(owner.spec()))
    }

    /// Renders `resources` of `owner` with the data of a coupling event.
    fn render_with_event_data<'s>(
        &self,
        owner: &Owner<'_>,
        configs: &Configs,
        resources: impl Iterator<Item = (usize, &'s Resource)>,
    ) -> Result<Vec<Rendered>> {
        let mut resources = resources.peekable();
        // Nothing to render: spare building the data (it holds both objects).
        if resources.peek().is_none() {
            return Ok(Vec::new());
        }
        let notes = self.notes(owner.side(), &config_maps(configs));
        let renderer = Renderer::new(owner, self.event_data(configs).into_value(), notes);
        render_resources(&renderer, owner, resources, None)
    }

    /// Renders `side`'s resultResources for the result phase
    /// (docs/lifecycle.md, "Result phase"). Data: the event data plus
    /// `plugResult` and `socketResult`.
    pub fn render_result_resources(
        &self,
        side: Side,
        configs: &Configs,
        results: &Results,
    ) -> Result<Vec<Rendered>> {
        let owner = self.owner(side);
        if owner.spec().result_resources().is_empty() {
            return Ok(Vec::new());
        }
        let notes = self.notes(side, &result_maps(configs, results));
        let data = self.result_phase_data(configs, results);
        let renderer = Renderer::new(owner, data, notes);
        render_result_actions(&renderer, owner, Some)
    }

    /// Renders the objects `side` deletes automatically at decouple, each
    /// with action `delete`: the [`auto_deleted`] resources with the
    /// decouple data, and, when `results` is given, every resultResource
    /// that is not itself a `delete` (docs/lifecycle.md, "Decoupling"; the
    /// original never cleaned them up; the results are those stored at the
    /// last result phase).
    pub fn render_decouple_deletes(
        &self,
        side: Side,
        configs: &Configs,
        results: Option<&Results>,
    ) -> Result<Vec<Rendered>> {
        let owner = self.owner(side);
        let notes = self.notes(side, &config_maps(configs));
        let renderer = Renderer::new(owner, self.event_data(configs).into_value(), notes);
        let mut out = render_resources(
            &renderer,
            owner,
            auto_deleted(owner.spec()),
            Some(Do::Delete),
        )?;
        if let Some(results) = results {
            let notes = self.notes(side, &result_maps(configs, results));
            let data = self.result_phase_data(configs, results);
            let renderer = Renderer::new(owner, data, notes);
            let kept = render_result_actions(&renderer, owner, |d| {
                (d != Do::Delete).then_some(Do::Delete)
            });
            out.extend(kept?);
        }
        Ok(out)
    }

    /// `{plug, socket, plugConfig, socketConfig}`.
    fn event_data(&self, configs: &Configs) -> Data {
        Side::BOTH.into_iter().fold(self.objects(), |data, side| {
            data.with_map(side.config_key(), &configs.get(side).values)
        })
    }

    fn result_phase_data(&self, configs: &Configs, results: &Results) -> serde_json::Value {
        Side::BOTH
            .into_iter()
            .fold(self.event_data(configs), |data, side| {
                data.with_map(side.result_key(), &results.get(side).values)
            })
            .into_value()
    }
}

/// The configs under their template data keys.
fn config_maps(configs: &Configs) -> [(&'static str, &Validated); 2] {
    [
        (Side::Plug.config_key(), &configs.plug),
        (Side::Socket.config_key(), &configs.socket),
    ]
}

/// The configs and results under their template data keys.
fn result_maps<'v>(
    configs: &'v Configs,
    results: &'v Results,
) -> [(&'static str, &'v Validated); 4] {
    let [plug, socket] = config_maps(configs);
    [
        plug,
        socket,
        (Side::Plug.result_key(), &results.plug),
        (Side::Socket.result_key(), &results.socket),
    ]
}

/// Renders the given resources in order; `action` overrides their own `do`.
fn render_resources<'s>(
    renderer: &Renderer<'_>,
    owner: &Owner<'_>,
    resources: impl Iterator<Item = (usize, &'s Resource)>,
    action: Option<Do>,
) -> Result<Vec<Rendered>> {
    let mut out = Vec::new();
    for (i, resource) in resources {
        let site = format!("{}.resources[{i}]", owner.side());
        let action_do = action.unwrap_or_else(|| resource.effective_do());
        out.extend(renderer.render(&site, &resource.action, action_do)?);
    }
    Ok(out)
}

/// Renders the resultResources whose action `choose` maps to `Some`.
fn render_result_actions(
    renderer: &Renderer<'_>,
    owner: &Owner<'_>,
    choose: impl Fn(Do) -> Option<Do>,
) -> Result<Vec<Rendered>> {
    let mut out = Vec::new();
    for (i, action) in owner.spec().result_resources().iter().enumerate() {
        if let Some(action_do) = choose(action.effective_do()) {
            let site = format!("{}.resultResources[{i}]", owner.side());
            out.extend(renderer.render(&site, action, action_do)?);
        }
    }
    Ok(out)
}

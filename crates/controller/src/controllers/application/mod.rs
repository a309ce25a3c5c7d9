//! The Application and Component controllers, on the declarative runtime
//! (docs/application.md).
//!
//! Each is a pure function of a snapshot: an Application's inline
//! components become Deployments or StatefulSets, Services and
//! ServiceMonitors owned by it; a Component resource's become children
//! owned by the Component (never by its Application, whose deletion must
//! not take them). The status folds how each component is doing
//! ([`status`], rules from `workload-health`) into a phase, `READY`, a
//! message and the Ready/Reconciling/Stalled conditions.

pub mod children;
pub mod links;
pub mod metrics;
pub mod policy;
pub mod spec;
pub mod status;

use std::collections::BTreeMap;

use integration_api::{
    Application, Component, ComponentState, InlineComponent, LinkState, PolicyState, Workload,
    WorkloadStatus,
};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::DynamicObject;
use kube::{Resource, ResourceExt};
use kube_declarative::{Child, Declarative, Desired, Event, Outcome, Snapshot};
use workload_health::{Kind, Phase};

use crate::ObjectRef;
use children::{MONITORING_API, NAME, PART_OF, Part, Place, PolicyMode};
use status::{Seen, reason};

/// The Application controller.
pub struct Applications {
    /// The cluster's DNS domain, for connection variables.
    pub cluster_domain: String,
    /// The namespace Prometheus scrapes from, admitted on metrics ports
    /// by network policies (none by default).
    pub scrape_namespace: Option<String>,
}

/// The Component controller.
pub struct Components {
    /// The cluster's DNS domain, for connection variables.
    pub cluster_domain: String,
    /// The namespace Prometheus scrapes from, admitted on metrics ports
    /// by network policies (none by default).
    pub scrape_namespace: Option<String>,
}

/// The components a parent defines, for the watches that find which
/// parents require a Socket.
pub trait Wired {
    /// The workloads of its components.
    fn workloads(&self) -> Vec<&Workload>;
}

impl Wired for Application {
    fn workloads(&self) -> Vec<&Workload> {
        self.spec
            .components
            .iter()
            .flatten()
            .map(|c| &c.workload)
            .collect()
    }
}

impl Wired for Component {
    fn workloads(&self) -> Vec<&Workload> {
        vec![&self.spec.workload]
    }
}

/// Whether `parent`, in `namespace`, has a `requires` entry naming the
/// Socket `socket_namespace/socket_name`.
pub fn requires_socket(
    parent: &impl Wired,
    namespace: &str,
    (socket_namespace, socket_name): (&str, &str),
) -> bool {
    parent.workloads().iter().any(|w| {
        w.requires.iter().flatten().any(|r| {
            r.socket.name == socket_name && r.socket.namespace_or(namespace) == socket_namespace
        })
    })
}

impl Declarative for Applications {
    type Parent = Application;
    type Status = WorkloadStatus;

    fn status(app: &Application) -> Option<&WorkloadStatus> {
        app.status.as_ref()
    }

    fn with_status(app: &Application, status: WorkloadStatus) -> Application {
        Application {
            status: Some(status),
            ..app.clone()
        }
    }

    fn sync(&self, snapshot: &Snapshot<Application>) -> Desired<WorkloadStatus> {
        let app = &snapshot.parent;
        let name = app.name_any();
        let namespace = app.namespace().unwrap_or_default();
        let place = Place {
            namespace: &namespace,
            application: &name,
            cluster_domain: &self.cluster_domain,
            monitoring: snapshot.facts.serves(MONITORING_API, "ServiceMonitor"),
            network_policy: PolicyMode::of(app.spec.network_policy.as_deref()),
            scrape_namespace: self.scrape_namespace.as_deref(),
        };
        let inline: Vec<&InlineComponent> = app.spec.components.iter().flatten().collect();
        let referenced = listed_components(snapshot, app);
        let mut parts = parts(inline.iter().copied());
        parts.extend(
            referenced
                .iter()
                .map(|c| (c.metadata.name.as_deref().unwrap_or_default(), part_of(c))),
        );
        let owner = format!("Application {name}");
        let planned = spec::check_application(&app.spec).and_then(|()| {
            inline
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let part = Part {
                        name: &c.name,
                        workload: &c.workload,
                    };
                    plan(
                        snapshot,
                        &format!("spec.components[{i}]"),
                        &place,
                        &part,
                        &parts,
                    )
                })
                .collect::<Result<Vec<_>, _>>()
        });
        let plans = match planned {
            Ok(plans) => plans,
            Err(invalid) => {
                return invalid_spec(
                    snapshot,
                    app.status.as_ref(),
                    "Application",
                    &name,
                    &invalid,
                );
            }
        };
        let previous = app.status.as_ref();
        let mut desired = Desired::status(WorkloadStatus::default());
        let mut states = Vec::new();
        let mut wake = None;
        for (component, plan) in inline.iter().zip(&plans) {
            let (state, at) = observe(
                snapshot,
                &place,
                component.name.as_str(),
                &component.workload,
                plan,
                previous,
                &owner,
            );
            desired.children.extend(plan_children(
                snapshot,
                plan,
                previous,
                component.name.as_str(),
            ));
            states.push(state);
            wake = earliest(wake, at);
        }
        states.extend(referenced_states(snapshot, app));
        desired.wake_at = wake;
        finish(
            &mut desired,
            snapshot,
            previous,
            states,
            ("Application", &name),
            app.meta().generation,
            &plans,
        );
        let referenced_links = referenced.iter().flat_map(|c| {
            c.status
                .iter()
                .flat_map(|s| s.links.iter().flatten().cloned())
        });
        let status = &mut desired.status;
        status.links = non_empty(
            status
                .links
                .take()
                .into_iter()
                .flatten()
                .chain(referenced_links),
        );
        desired
    }
}

impl Declarative for Components {
    type Parent = Component;
    type Status = WorkloadStatus;

    fn status(component: &Component) -> Option<&WorkloadStatus> {
        component.status.as_ref()
    }

    fn with_status(component: &Component, status: WorkloadStatus) -> Component {
        Component {
            status: Some(status),
            ..component.clone()
        }
    }

    fn sync(&self, snapshot: &Snapshot<Component>) -> Desired<WorkloadStatus> {
        let component = &snapshot.parent;
        let name = component.name_any();
        let namespace = component.namespace().unwrap_or_default();
        let application = component.spec.application.as_str();
        let app = snapshot
            .related_of("Application")
            .find(|a| a.metadata.name.as_deref() == Some(application))
            .and_then(typed::<Application>);
        let place = Place {
            namespace: &namespace,
            application,
            cluster_domain: &self.cluster_domain,
            monitoring: snapshot.facts.serves(MONITORING_API, "ServiceMonitor"),
            network_policy: PolicyMode::of(
                app.as_ref().and_then(|a| a.spec.network_policy.as_deref()),
            ),
            scrape_namespace: self.scrape_namespace.as_deref(),
        };
        let inline: Vec<InlineComponent> = app
            .iter()
            .flat_map(|a| a.spec.components.iter().flatten().cloned())
            .collect();
        let siblings: Vec<Component> = match &app {
            Some(app) => listed_components(snapshot, app),
            None => Vec::new(),
        };
        let me = Part {
            name: &name,
            workload: &component.spec.workload,
        };
        let mut parts = parts(inline.iter());
        parts.extend(
            siblings
                .iter()
                .map(|c| (c.metadata.name.as_deref().unwrap_or_default(), part_of(c))),
        );
        parts.insert(&name, me);
        let planned = spec::check_workload("spec", &name, &component.spec.workload)
            .and_then(|()| plan(snapshot, "spec", &place, &me, &parts));
        let plan = match planned {
            Ok(plan) => plan,
            Err(invalid) => {
                return invalid_spec(
                    snapshot,
                    component.status.as_ref(),
                    "Component",
                    &name,
                    &invalid,
                );
            }
        };
        let previous = component.status.as_ref();
        let owner = format!("Component {name}");
        let (mut state, wake) = observe(
            snapshot,
            &place,
            &name,
            &component.spec.workload,
            &plan,
            previous,
            &owner,
        );
        let mut desired = Desired::status(WorkloadStatus::default());
        let listed = app.as_ref().map(|a| {
            a.spec
                .component_refs
                .iter()
                .flatten()
                .any(|r| r.name == name)
        });
        match listed {
            Some(true) => {
                desired.children = plan_children(snapshot, &plan, previous, &name);
                desired.wake_at = wake;
            }
            // Not ours to run (yet): keep what exists, create nothing.
            missing => {
                desired.children = snapshot.keep_children();
                let (why, message) = match missing {
                    None => (
                        reason::APPLICATION_NOT_FOUND,
                        format!("Application {namespace}/{application} not found"),
                    ),
                    Some(_) => (
                        reason::NOT_REFERENCED,
                        format!(
                            "Application {namespace}/{application} does not list it in componentRefs"
                        ),
                    ),
                };
                state.phase = Some(Phase::Pending.as_str().into());
                state.reason = Some(why.into());
                state.message = Some(message);
            }
        }
        finish(
            &mut desired,
            snapshot,
            previous,
            vec![state],
            ("Component", &name),
            component.meta().generation,
            std::slice::from_ref(&plan),
        );
        desired
    }
}

/// An application's inline components by name: the targets `connectsTo`
/// may name.
fn parts<'a>(components: impl Iterator<Item = &'a InlineComponent>) -> BTreeMap<&'a str, Part<'a>> {
    components
        .map(|c| {
            let part = Part {
                name: &c.name,
                workload: &c.workload,
            };
            (c.name.as_str(), part)
        })
        .collect()
}

/// The Component resources an Application lists that exist, as the
/// snapshot holds them.
fn listed_components<P>(snapshot: &Snapshot<P>, app: &Application) -> Vec<Component> {
    let listed = |c: &&DynamicObject| {
        app.spec
            .component_refs
            .iter()
            .flatten()
            .any(|r| c.metadata.name.as_deref() == Some(r.name.as_str()))
    };
    snapshot
        .related_of("Component")
        .filter(listed)
        .filter_map(typed::<Component>)
        .collect()
}

/// A Component resource as a part of its application.
fn part_of(component: &Component) -> Part<'_> {
    Part {
        name: component.metadata.name.as_deref().unwrap_or_default(),
        workload: &component.spec.workload,
    }
}

/// `Some(list)` unless it is empty.
fn non_empty<T>(items: impl IntoIterator<Item = T>) -> Option<Vec<T>> {
    let list: Vec<T> = items.into_iter().collect();
    (!list.is_empty()).then_some(list)
}

/// What one component wants: its children, its connections, its links and
/// its policy's rules.
pub struct Plan {
    name: String,
    metrics: bool,
    recreate: bool,
    children: Vec<serde_json::Value>,
    connections: Vec<String>,
    links: Vec<LinkState>,
    policy: Option<PolicyState>,
}

/// The components that export metrics.
fn states_with_metrics(plans: &[Plan]) -> Vec<String> {
    plans
        .iter()
        .filter(|p| p.metrics)
        .map(|p| p.name.clone())
        .collect()
}

/// `MetricsAvailable`: whether ServiceMonitors can be made.
const METRICS_AVAILABLE: &str = "MetricsAvailable";
/// `MetricsSelected`: whether a Prometheus picks every ServiceMonitor.
const METRICS_SELECTED: &str = "MetricsSelected";

/// The plan of one component, or what is wrong with its spec: its
/// workload, Service and ServiceMonitor, the Sockets it provides, the
/// Plugs it requires (with their Services once coupled), its policy.
fn plan<P>(
    snapshot: &Snapshot<P>,
    path: &str,
    place: &Place<'_>,
    part: &Part<'_>,
    parts: &BTreeMap<&str, Part<'_>>,
) -> Result<Plan, spec::Invalid> {
    spec::check_links(path, part, parts)?;
    let (mut env, connections) = spec::connections(path, place, part, parts)?;
    let required: Vec<links::Link> = part
        .workload
        .requires
        .iter()
        .flatten()
        .map(|r| links::link(snapshot, place, part, r))
        .collect();
    env.extend(required.iter().flat_map(|l| l.env.iter().cloned()));
    let provides = part.workload.provides.iter().flatten();
    let consumers = provides
        .clone()
        .map(|p| (p.name.clone(), links::consumers(snapshot, place, part, p)))
        .collect();
    let (policy_object, policy) = policy::policy(place, part, parts, &consumers);
    let mut children = children::children(place, part, &env);
    children.extend(provides.map(|p| links::socket(place, part, p)));
    let mut link_states = Vec::new();
    for link in required {
        children.extend(link.children);
        link_states.push(link.state);
    }
    children.extend(policy_object);
    Ok(Plan {
        name: part.name.to_string(),
        metrics: part.workload.metrics.is_some(),
        recreate: part.workload.on_immutable_change.as_deref() == Some("Recreate"),
        children,
        connections,
        links: link_states,
        policy,
    })
}

/// The children to ask for: each applied (forced: the parent owns what it
/// sets), except a workload to recreate after an immutable change, which
/// is deleted first, leaving its pods and claims.
fn plan_children<P>(
    snapshot: &Snapshot<P>,
    plan: &Plan,
    previous: Option<&WorkloadStatus>,
    name: &str,
) -> Vec<Child> {
    let recreate = plan.recreate
        && component_of(previous, name).and_then(|c| c.reason.as_deref())
            == Some(reason::IMMUTABLE_FIELD_CHANGED);
    plan.children
        .iter()
        .map(|object| child_for(snapshot, object, recreate))
        .collect()
}

/// How to ask for one child: applied (forced: the component owns what it
/// sets), its `spec.replicas` handed over first when the component
/// stopped setting it, or, for a workload to recreate, deleted leaving its
/// pods and claims (the next pass creates it again).
fn child_for<P>(snapshot: &Snapshot<P>, object: &serde_json::Value, recreate: bool) -> Child {
    let apply = Child::apply(object.clone()).forced();
    let Some((id, live)) = ObjectRef::of(object)
        .ok()
        .and_then(|id| snapshot.child(&id).map(|c| (id, c)))
    else {
        return apply;
    };
    if !matches!(id.kind.as_str(), "Deployment" | "StatefulSet") {
        return apply;
    }
    if recreate {
        return Child::Delete {
            uid: live.uid().unwrap_or_default(),
            object: id,
            orphan: true,
        };
    }
    if !handing_over(object, live) {
        return apply;
    }
    let fields = serde_json::json!({
        "apiVersion": id.api_version, "kind": id.kind,
        "metadata": {"name": id.name, "namespace": id.namespace},
        "spec": {"replicas": live.data["spec"]["replicas"]},
    });
    apply.handing_over(fields)
}

/// Whether `desired` no longer sets `spec.replicas` that the live
/// workload had from us: it is handed over, not dropped.
fn handing_over(desired: &serde_json::Value, live: &DynamicObject) -> bool {
    let set_before = live
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(children::REPLICAS_SET));
    set_before && desired["spec"].get("replicas").is_none()
}

/// The Events of handing `spec.replicas` over, one per workload.
fn handover_events(children: &[Child]) -> Vec<Event> {
    children
        .iter()
        .filter_map(|child| match child {
            Child::Apply(apply) if apply.handover.is_some() => {
                let id = ObjectRef::of(&apply.object).ok()?;
                Some(Event::normal(
                    "ReplicasHandedOver",
                    format!("{id}: spec.replicas is no longer set by the component; its live value is kept for other managers (an autoscaler, kubectl scale)"),
                ))
            }
            _ => None,
        })
        .collect()
}

/// How one component is doing, from the snapshot.
fn observe<P>(
    snapshot: &Snapshot<P>,
    place: &Place<'_>,
    name: &str,
    workload: &Workload,
    plan: &Plan,
    previous: Option<&WorkloadStatus>,
    owner: &str,
) -> (ComponentState, Option<Timestamp>) {
    let kind = if workload.kind.as_deref() == Some("StatefulSet") {
        Kind::StatefulSet
    } else {
        Kind::Deployment
    };
    let ids: Vec<ObjectRef> = plan
        .children
        .iter()
        .filter_map(|c| ObjectRef::of(c).ok())
        .collect();
    let live = ids.first().and_then(|id| snapshot.child(id));
    let pods = snapshot
        .related_of("Pod")
        .filter(|p| label(p, PART_OF) == Some(place.application) && label(p, NAME) == Some(name))
        .collect();
    let outcomes = ids
        .iter()
        .filter_map(|id| snapshot.outcome(id).map(|o| (id, o)))
        .collect();
    let seen = Seen {
        name,
        kind,
        workload: live,
        pods,
        outcomes,
        deadline: workload.progress_deadline_seconds,
        connections: plan.connections.clone(),
    };
    let (state, wake) = status::component(&seen, component_of(previous, name), owner, snapshot.now);
    (status::with_links(state, &plan.links), wake)
}

/// The states of an Application's Component resources, as their own
/// status says, or why there is none.
fn referenced_states(snapshot: &Snapshot<Application>, app: &Application) -> Vec<ComponentState> {
    let namespace = app.namespace().unwrap_or_default();
    app.spec
        .component_refs
        .iter()
        .flatten()
        .map(|r| {
            let found = snapshot
                .related_of("Component")
                .find(|c| c.metadata.name.as_deref() == Some(r.name.as_str()))
                .and_then(typed::<Component>);
            let pending = |why: &str, message: String| ComponentState {
                name: r.name.clone(),
                phase: Some(Phase::Pending.as_str().into()),
                reason: Some(why.into()),
                message: Some(message),
                ..ComponentState::default()
            };
            let Some(component) = found else {
                return pending(
                    reason::COMPONENT_NOT_FOUND,
                    format!("Component {namespace}/{} not found", r.name),
                );
            };
            let status = component.status.as_ref();
            let current = status.and_then(|s| s.observed_generation) == component.meta().generation;
            match status
                .and_then(|s| s.components.as_ref())
                .and_then(|c| c.first())
            {
                Some(state)
                    if current && state.reason.as_deref() != Some(reason::NOT_REFERENCED) =>
                {
                    state.clone()
                }
                _ => pending(
                    reason::COMPONENT_NOT_RECONCILED,
                    format!("Component {namespace}/{} is not reconciled yet", r.name),
                ),
            }
        })
        .collect()
}

/// The status of a spec that cannot be applied: `Failed/InvalidSpec`
/// naming the field, and every existing child kept as it is.
fn invalid_spec<P>(
    snapshot: &Snapshot<P>,
    previous: Option<&WorkloadStatus>,
    kind: &str,
    name: &str,
    invalid: &str,
) -> Desired<WorkloadStatus>
where
    P: Resource,
{
    let generation = snapshot.parent.meta().generation;
    let mut status = previous.cloned().unwrap_or_default();
    status.phase = Some(Phase::Failed.as_str().into());
    status.message = Some(invalid.to_string());
    status.observed_generation = generation;
    status.conditions = Some(status::conditions(
        previous.and_then(|s| s.conditions.as_ref()),
        Phase::Failed,
        reason::INVALID_SPEC,
        invalid,
        generation,
        snapshot.now,
    ));
    let mut desired = Desired::status(status);
    desired.children = snapshot.keep_children();
    let before = previous.and_then(|s| s.phase.as_deref());
    desired.events = status::events(kind, name, before, Phase::Failed, invalid, &[]);
    desired
}

/// Fills the status from the component states: phase, READY, message,
/// conditions (with the metrics ones), and the Events of the pass.
fn finish<P>(
    desired: &mut Desired<WorkloadStatus>,
    snapshot: &Snapshot<P>,
    previous: Option<&WorkloadStatus>,
    states: Vec<ComponentState>,
    (kind, name): (&str, &str),
    generation: Option<i64>,
    plans: &[Plan],
) {
    let status = &mut desired.status;
    let (phase, why, message) = status::summary(status, &states);
    let before = previous.and_then(|s| s.conditions.as_ref());
    let mut conditions =
        status::conditions(before, phase, &why, &message, generation, snapshot.now);
    let wanted: Vec<String> = states_with_metrics(plans);
    let monitors: Vec<&serde_json::Value> = plans
        .iter()
        .flat_map(|p| p.children.iter().filter(|c| c["kind"] == "ServiceMonitor"))
        .collect();
    conditions.extend(metrics_conditions(
        snapshot, before, &wanted, &monitors, generation,
    ));
    let metrics_warning = metrics_event(before, &conditions);
    status.conditions = Some(conditions);
    status.components = Some(states);
    status.links = non_empty(plans.iter().flat_map(|p| p.links.iter().cloned()));
    status.network_policies = non_empty(plans.iter().filter_map(|p| p.policy.clone()));
    status.observed_generation = generation;
    let outcomes: Vec<(&ObjectRef, &Outcome)> = snapshot.applied.iter().collect();
    let before_phase = previous.and_then(|s| s.phase.as_deref());
    desired.events = status::events(kind, name, before_phase, phase, &message, &outcomes);
    desired.events.extend(metrics_warning);
    desired.events.extend(handover_events(&desired.children));
    // An immutable change to recreate: look again at once (the next pass
    // deletes the workload, leaving its pods and claims).
    let recreating = plans.iter().filter(|p| p.recreate).any(|p| {
        p.children.iter().filter_map(|c| ObjectRef::of(c).ok()).any(|id| {
            matches!(snapshot.outcome(&id), Some(Outcome::Failed(f)) if status::is_immutable(&f.message))
        })
    });
    if recreating {
        desired.wake_at = Some(snapshot.now);
    }
}

/// `MetricsAvailable` when a component exports metrics (can
/// ServiceMonitors be made here?) and, when they can and a Prometheus
/// exists, `MetricsSelected` (does one pick them all?).
fn metrics_conditions<P>(
    snapshot: &Snapshot<P>,
    before: Option<&Vec<Condition>>,
    wanted: &[String],
    monitors: &[&serde_json::Value],
    generation: Option<i64>,
) -> Vec<Condition> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let now = snapshot.now;
    if !snapshot.facts.serves(MONITORING_API, "ServiceMonitor") {
        let message = format!(
            "{MONITORING_API} ServiceMonitor is not served: metrics of {} are not scraped",
            wanted.join(", ")
        );
        return vec![status::condition(
            before,
            METRICS_AVAILABLE,
            "False",
            reason::SERVICE_MONITOR_API_NOT_FOUND,
            &message,
            generation,
            now,
        )];
    }
    let mut out = vec![status::condition(
        before,
        METRICS_AVAILABLE,
        "True",
        "ServiceMonitorAPIFound",
        "",
        generation,
        now,
    )];
    let prometheuses: Vec<&DynamicObject> = snapshot.related_of("Prometheus").collect();
    if !prometheuses.is_empty() {
        let unselected = monitors
            .iter()
            .find_map(|m| metrics::unselected(m, &prometheuses));
        out.push(match unselected {
            None => status::condition(
                before,
                METRICS_SELECTED,
                "True",
                "SelectedByPrometheus",
                "",
                generation,
                now,
            ),
            Some(message) => status::condition(
                before,
                METRICS_SELECTED,
                "False",
                reason::NOT_SELECTED_BY_ANY_PROMETHEUS,
                &message,
                generation,
                now,
            ),
        });
    }
    out
}

/// The Warning of a pass where `MetricsAvailable` became False.
fn metrics_event(before: Option<&Vec<Condition>>, after: &[Condition]) -> Option<Event> {
    let unavailable = |list: &[Condition]| {
        list.iter()
            .find(|c| c.type_ == METRICS_AVAILABLE && c.status == "False")
            .map(|c| c.message.clone())
    };
    let was = before.and_then(|b| unavailable(b));
    match (was, unavailable(after)) {
        (None, Some(message)) => Some(Event::warning(
            reason::SERVICE_MONITOR_API_NOT_FOUND,
            message,
        )),
        _ => None,
    }
}

/// The recorded state of component `name`.
fn component_of<'s>(status: Option<&'s WorkloadStatus>, name: &str) -> Option<&'s ComponentState> {
    status?.components.as_ref()?.iter().find(|c| c.name == name)
}

/// A related object as its type (`None` when it does not fit, which the
/// API server's schema rules out).
fn typed<K: serde::de::DeserializeOwned>(object: &DynamicObject) -> Option<K> {
    serde_json::from_value(serde_json::to_value(object).ok()?).ok()
}

/// A label of an object.
fn label<'o>(object: &'o DynamicObject, key: &str) -> Option<&'o str> {
    object
        .metadata
        .labels
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The earlier of two wake-up times.
fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

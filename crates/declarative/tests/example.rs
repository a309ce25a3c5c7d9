//! "Adding a controller", as a test: a tiny parent kind, `Greeting`, whose
//! controller wants one ConfigMap holding its message (and a copy when
//! `spec.copy` is set), run by the runtime against the emulator. The tests
//! below hold the runtime to its promises: create, drift repair, prune,
//! conflicts with objects it does not manage, one status write per change,
//! restart safety, and a bounded number of passes.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use kube::runtime::wait::{await_condition, conditions};
use kube::{CustomResource, CustomResourceExt, Resource, ResourceExt};
use kube_declarative::{Child, Declarative, Desired, Event, Marks, Outcome, Runtime, Snapshot};
use kube_emulator::Emulator;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

// 1. The parent kind.

/// A greeting to keep in a ConfigMap.
#[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[kube(group = "example.com", version = "v1", kind = "Greeting", namespaced)]
#[kube(status = "GreetingStatus")]
pub struct GreetingSpec {
    /// What the ConfigMap says.
    pub message: String,
    /// Keep a second ConfigMap, `<name>-copy`.
    #[serde(default)]
    pub copy: bool,
}

/// How the greeting is doing.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct GreetingStatus {
    /// `Ready`, `Conflict` or `Failed`.
    pub phase: String,
    /// Why, when not `Ready`.
    #[serde(default)]
    pub message: String,
}

// 2. The controller: a pure function.

struct Greeter;

impl Greeter {
    fn config_map(greeting: &Greeting, name: String) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": greeting.namespace()},
               "data": {"message": greeting.spec.message}})
    }
}

impl Declarative for Greeter {
    type Parent = Greeting;
    type Status = GreetingStatus;

    fn status(greeting: &Greeting) -> Option<&GreetingStatus> {
        greeting.status.as_ref()
    }

    fn with_status(greeting: &Greeting, status: GreetingStatus) -> Greeting {
        Greeting {
            status: Some(status),
            ..greeting.clone()
        }
    }

    fn sync(&self, snapshot: &Snapshot<Greeting>) -> Desired<GreetingStatus> {
        let greeting = &snapshot.parent;
        let main = Greeter::config_map(greeting, greeting.name_any());
        let mut desired = Desired::status(GreetingStatus {
            phase: "Ready".into(),
            message: String::new(),
        });
        desired.children.push(Child::apply(main.clone()).forced());
        if greeting.spec.copy {
            let copy = Greeter::config_map(greeting, format!("{}-copy", greeting.name_any()));
            desired.children.push(Child::apply(copy).forced());
        }
        let id = kube_declarative::ObjectRef::of(&main).unwrap();
        match snapshot.outcome(&id) {
            Some(Outcome::Conflict { .. }) => {
                desired.status.phase = "Conflict".into();
                desired.status.message = format!("{id} exists and is not managed by this greeting");
            }
            Some(Outcome::Failed(failure)) => {
                desired.status.phase = "Failed".into();
                desired.status.message = failure.message.clone();
            }
            Some(Outcome::Applied {
                drift: Some(field), ..
            }) => desired.events.push(Event::normal(
                "DriftCorrected",
                format!("{id}: {field} set back"),
            )),
            _ => {}
        }
        desired
    }
}

// 3. The runtime, against the emulator.

const NS: &str = "shop";
const WAIT: Duration = Duration::from_secs(20);

struct World {
    emu: Emulator,
    client: kube::Client,
    passes: Arc<AtomicUsize>,
    stop: Option<(
        tokio::task::JoinHandle<()>,
        futures::channel::oneshot::Sender<()>,
    )>,
}

impl World {
    async fn start() -> World {
        let emu = Emulator::start().await.unwrap();
        let client = emu.client();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        crds.create(&PostParams::default(), &Greeting::crd())
            .await
            .unwrap();
        let name = Greeting::crd_name();
        within(
            "CRD established",
            await_condition(crds, name, conditions::is_crd_established()),
        )
        .await
        .unwrap();
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        let mut world = World {
            emu,
            client,
            passes: Arc::default(),
            stop: None,
        };
        world.run();
        world
    }

    /// Starts the runtime (a fresh one: its own caches and queue).
    fn run(&mut self) {
        let passes = self.passes.clone();
        let runtime = Runtime::new(
            self.client.clone(),
            Greeter,
            "greeting",
            Marks::new("greeter", "example.com"),
        )
        .owns(ApiResource::erase::<ConfigMap>(&()))
        .observe(Arc::new(move |_, _| {
            passes.fetch_add(1, Ordering::SeqCst);
        }));
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        let task = tokio::spawn(runtime.run_until(async move {
            let _ = stopped.await;
        }));
        self.stop = Some((task, stop));
    }

    async fn stop(&mut self) {
        let (task, stop) = self.stop.take().unwrap();
        let _ = stop.send(());
        within("runtime stops", task).await.unwrap();
    }

    fn greetings(&self) -> Api<Greeting> {
        Api::namespaced(self.client.clone(), NS)
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), NS)
    }

    async fn create(&self, name: &str, message: &str, copy: bool) {
        let greeting = Greeting::new(
            name,
            GreetingSpec {
                message: message.into(),
                copy,
            },
        );
        self.greetings()
            .create(&PostParams::default(), &greeting)
            .await
            .unwrap();
    }

    async fn edit(&self, name: &str, spec: serde_json::Value) {
        self.greetings()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": spec})),
            )
            .await
            .unwrap();
    }

    /// Waits until `check` holds for the greeting `name`.
    async fn until_greeting(&self, name: &str, what: &str, check: impl Fn(&Greeting) -> bool) {
        let api = self.greetings();
        within(what, async {
            loop {
                if let Some(g) = api.get_opt(name).await.unwrap()
                    && check(&g)
                {
                    return;
                }
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }

    async fn phase(&self, name: &str, phase: &str) {
        let what = format!("greeting {name} {phase}");
        self.until_greeting(name, &what, |g| {
            g.status.as_ref().is_some_and(|s| s.phase == phase)
        })
        .await;
    }

    /// Waits until the ConfigMap `name` satisfies `check` (`None`: absent).
    async fn until_config_map(
        &self,
        name: &str,
        check: impl Fn(Option<&ConfigMap>) -> bool,
    ) -> Option<ConfigMap> {
        let api = self.config_maps();
        within(&format!("ConfigMap {name}"), async {
            loop {
                let found = api.get_opt(name).await.unwrap();
                if check(found.as_ref()) {
                    return found;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    async fn message_is(&self, name: &str, message: &str) -> ConfigMap {
        self.until_config_map(name, |cm| {
            cm.and_then(|c| c.data.as_ref())
                .is_some_and(|d| d.get("message").map(String::as_str) == Some(message))
        })
        .await
        .unwrap()
    }

    fn passes(&self) -> usize {
        self.passes.load(Ordering::SeqCst)
    }

    /// Waits until no pass has run for a while (the queue is idle), and
    /// returns the pass count. Bounded: a hot loop fails here.
    async fn settled(&self) -> usize {
        within("passes settle", async {
            loop {
                let before = self.passes();
                tokio::time::sleep(Duration::from_millis(300)).await;
                if self.passes() == before {
                    return before;
                }
            }
        })
        .await
    }

    async fn events(&self, reason: &str) -> usize {
        let api: Api<k8s_openapi::api::events::v1::Event> =
            Api::namespaced(self.client.clone(), NS);
        let list = api.list(&Default::default()).await.unwrap();
        list.items
            .iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .count()
    }
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {WAIT:?}"))
}

#[tokio::test]
async fn creates_its_children_marked_and_owned_and_says_so_once() {
    let world = World::start().await;
    world.create("hello", "hi", false).await;
    world.phase("hello", "Ready").await;
    let cm = world.message_is("hello", "hi").await;
    let greeting = world.greetings().get("hello").await.unwrap();
    assert_eq!(cm.labels()["app.kubernetes.io/managed-by"], "greeter");
    let owner = &cm.owner_references()[0];
    assert_eq!(
        (owner.uid.as_str(), owner.controller),
        (greeting.uid().unwrap().as_str(), Some(true))
    );
    world.settled().await;
    let requests = world.emu.requests();
    assert_eq!(
        requests.get("update", "greetings/status"),
        1,
        "one status write"
    );
    assert_eq!(requests.get("patch", "configmaps"), 1, "one apply");

    // An edit: one apply, no status write (the status did not change).
    let before = world.emu.requests();
    world.edit("hello", json!({"message": "hey"})).await;
    world.message_is("hello", "hey").await;
    world.settled().await;
    let since = world.emu.requests().since(&before);
    assert_eq!(since.get("patch", "configmaps"), 1);
    assert_eq!(since.get("update", "greetings/status"), 0);
}

#[tokio::test]
async fn drift_is_repaired_and_a_deleted_child_comes_back() {
    let world = World::start().await;
    world.create("hello", "hi", false).await;
    let first = world.message_is("hello", "hi").await;
    world.settled().await;

    // Another manager changes our field: set back, with an Event, in a
    // bounded number of passes.
    let passes = world.passes();
    let edit = json!({"data": {"message": "hacked"}});
    let by_someone = PatchParams {
        field_manager: Some("someone".into()),
        ..PatchParams::default()
    };
    world
        .config_maps()
        .patch("hello", &by_someone, &Patch::Merge(&edit))
        .await
        .unwrap();
    world.message_is("hello", "hi").await;
    let after = world.settled().await;
    assert!(
        after - passes <= 3,
        "{} passes for one change",
        after - passes
    );
    assert_eq!(world.events("DriftCorrected").await, 1);

    // Deleted: created again, a new object.
    world
        .config_maps()
        .delete("hello", &DeleteParams::default())
        .await
        .unwrap();
    let again = world
        .until_config_map("hello", |cm| cm.is_some_and(|c| c.uid() != first.uid()))
        .await
        .unwrap();
    assert_eq!(again.data.unwrap()["message"], "hi");
}

#[tokio::test]
async fn children_no_longer_desired_are_pruned_and_the_others_kept() {
    let world = World::start().await;
    world.create("hello", "hi", true).await;
    let main = world.message_is("hello", "hi").await;
    world.message_is("hello-copy", "hi").await;
    world.edit("hello", json!({"copy": false})).await;
    world
        .until_config_map("hello-copy", |cm| cm.is_none())
        .await;
    let kept = world.config_maps().get("hello").await.unwrap();
    assert_eq!(kept.uid(), main.uid());
    // Add, remove and add again in quick succession: converges.
    world.edit("hello", json!({"copy": true})).await;
    world.edit("hello", json!({"copy": false})).await;
    world.edit("hello", json!({"copy": true})).await;
    world.message_is("hello-copy", "hi").await;
    world.settled().await;
    assert!(
        world
            .config_maps()
            .get_opt("hello-copy")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        world.config_maps().get("hello").await.unwrap().uid(),
        main.uid()
    );
}

#[tokio::test]
async fn an_object_it_does_not_manage_is_never_touched_unless_adopted() {
    let world = World::start().await;
    let theirs: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "hello", "namespace": NS}, "data": {"message": "mine"}}))
    .unwrap();
    world
        .config_maps()
        .create(&PostParams::default(), &theirs)
        .await
        .unwrap();
    world.create("hello", "hi", true).await;
    world.phase("hello", "Conflict").await;
    let status = world
        .greetings()
        .get("hello")
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(
        status.message,
        "ConfigMap shop/hello exists and is not managed by this greeting"
    );
    world.message_is("hello-copy", "hi").await; // the other child is created
    world.settled().await;
    let untouched = world.config_maps().get("hello").await.unwrap();
    assert_eq!(untouched.data.as_ref().unwrap()["message"], "mine");
    assert!(untouched.owner_references().is_empty());

    // Deleting the greeting leaves it alone too.
    let adopt = json!({"metadata": {"annotations": {"example.com/adopt": "true"}}});
    world
        .config_maps()
        .patch("hello", &PatchParams::default(), &Patch::Merge(&adopt))
        .await
        .unwrap();
    world.phase("hello", "Ready").await;
    world.message_is("hello", "hi").await;
}

#[tokio::test]
async fn a_restart_resumes_and_writes_nothing_when_nothing_changed() {
    let mut world = World::start().await;
    for i in 0..20 {
        world.create(&format!("g{i}"), "hi", i % 2 == 0).await;
    }
    for i in 0..20 {
        world.phase(&format!("g{i}"), "Ready").await;
    }
    world.settled().await;
    world.stop().await;

    // Nothing changed: a new runtime reads, and writes nothing.
    let before = world.emu.requests();
    world.run();
    for i in 0..20 {
        world.message_is(&format!("g{i}"), "hi").await;
    }
    world.settled().await;
    assert!(world.passes() > 0);
    let since = world.emu.requests().since(&before);
    assert_eq!(since.writes(), 0, "{since:?}");
    world.stop().await;

    // Changes while it was down: picked up after the restart.
    world
        .edit("g0", json!({"message": "back", "copy": false}))
        .await;
    world.run();
    world.message_is("g0", "back").await;
    world.until_config_map("g0-copy", |cm| cm.is_none()).await;
}

#[test]
fn the_function_is_pure_and_testable_with_plain_values() {
    let greeting = Greeting::new(
        "hello",
        GreetingSpec {
            message: "hi".into(),
            copy: false,
        },
    );
    let mut greeting = greeting;
    greeting.meta_mut().namespace = Some(NS.into());
    let mut snapshot = Snapshot::new(greeting, jiff::Timestamp::UNIX_EPOCH);
    let desired = Greeter.sync(&snapshot);
    assert_eq!(desired.children.len(), 1);
    assert_eq!(desired.status.phase, "Ready");
    let id = desired.children[0].identity().unwrap();
    snapshot
        .applied
        .insert(id, Outcome::Conflict { uid: "u".into() });
    assert_eq!(Greeter.sync(&snapshot).status.phase, "Conflict");
}

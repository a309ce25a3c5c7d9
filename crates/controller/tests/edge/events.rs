//! Events about Plugs and Sockets.

use integration_api::{FIELD_MANAGER, Plug};
use integration_controller::EventRecorder;
use integration_engine::Redactor;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};

use crate::common::{Env, yaml};

fn plug() -> Plug {
    serde_json::from_value(yaml(
        r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata: {name: orders-db, namespace: app, uid: 0b9e6a1c-plug}
spec:
  socket: {name: postgres, namespace: db}
"#,
    ))
    .unwrap()
}

async fn events_in(env: &Env, ns: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(env.cluster.client().clone(), ns);
    api.list(&ListParams::default()).await.unwrap().items
}

#[tokio::test]
async fn normal_events_regard_the_object() {
    let env = Env::f0().await;
    let recorder = EventRecorder::new(env.cluster.client().clone(), None);

    recorder
        .normal(&plug(), "PlugCoupled", "plug orders-db/app coupled")
        .await
        .unwrap();

    let events = events_in(&env, "app").await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.type_.as_deref(), Some("Normal"));
    assert_eq!(event.reason.as_deref(), Some("PlugCoupled"));
    assert_eq!(event.note.as_deref(), Some("plug orders-db/app coupled"));
    assert_eq!(event.reporting_controller.as_deref(), Some(FIELD_MANAGER));
    let regarding = event.regarding.as_ref().unwrap();
    assert_eq!(regarding.kind.as_deref(), Some("Plug"));
    assert_eq!(regarding.name.as_deref(), Some("orders-db"));
    assert_eq!(regarding.namespace.as_deref(), Some("app"));
    assert_eq!(regarding.uid.as_deref(), Some("0b9e6a1c-plug"));
}

/// A flood of one Normal Event about one object is cut after the spam
/// filter's burst of 25: the rest are not written at all.
#[tokio::test]
async fn repeats_past_the_burst_are_not_written() {
    let env = Env::f0().await;
    let recorder = EventRecorder::new(env.cluster.client().clone(), None);
    let before = env.emu.requests().writes();
    for _ in 0..40 {
        recorder
            .normal(&plug(), "PlugUpdated", "plug orders-db/app updated")
            .await
            .unwrap();
    }
    assert_eq!(env.emu.requests().writes() - before, 25);
    let events = events_in(&env, "app").await;
    let count: i32 = events
        .iter()
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum();
    assert_eq!(count, 25);
}

#[tokio::test]
async fn warnings_are_redacted() {
    let env = Env::f0().await;
    let recorder = EventRecorder::new(env.cluster.client().clone(), Some("pod-1".into()));
    let redactor = Redactor::new(["hunter22"]);

    recorder
        .warning(
            &plug(),
            "CouplingFailed",
            "password hunter22 rejected",
            &redactor,
        )
        .await
        .unwrap();

    let events = events_in(&env, "app").await;
    let event = &events[0];
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(event.note.as_deref(), Some("password [redacted] rejected"));
    assert_eq!(event.reporting_instance.as_deref(), Some("pod-1"));
}

#[tokio::test]
async fn a_repeat_is_counted_not_duplicated() {
    let env = Env::f0().await;
    let recorder = EventRecorder::new(env.cluster.client().clone(), None);
    for _ in 0..2 {
        recorder
            .normal(&plug(), "PlugUpdated", "plug orders-db/app updated")
            .await
            .unwrap();
    }
    let events = events_in(&env, "app").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].series.as_ref().map(|s| s.count), Some(2));
}

//! Acceptance scenarios A1, A2, A4, A8–A11, A19 and the idle check.

use integration_api::FINALIZER;
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

use crate::harness::*;

/// A1's final state for plug `orders-db` and socket `postgres`.
async fn assert_a1(op: &Op) {
    let grant = eventually("grant ConfigMap", || {
        op.config_map("db", "grant-app-orders-db")
    })
    .await;
    assert_eq!(
        data(&grant),
        json!({"database": "orders", "owner": "app-user"})
    );
    assert!(grant.metadata.owner_references.is_none());
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert_eq!(
        data(&conn),
        json!({"url": "postgres://postgres.db.svc:5432/orders", "keys": "database,owner,"})
    );
    let plug = op
        .plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let socket = eventually("socket coupled", || async {
        op.socket("db", "postgres").await.filter(|s| {
            coupled(s.status.as_ref().and_then(|s| s.conditions.as_ref()))
                .is_some_and(|c| c.reason == "SocketCoupled")
        })
    })
    .await;
    assert!(plug.finalizers().iter().any(|f| f == FINALIZER));
    assert!(socket.finalizers().iter().any(|f| f == FINALIZER));
    let status = plug.status.clone().unwrap();
    assert_eq!(
        summary(status.conditions.as_ref()),
        [cond(
            "Coupled",
            "True",
            "CouplingSucceeded",
            "coupling succeeded"
        )]
    );
    let generation = plug.metadata.generation;
    assert_eq!(
        coupled(status.conditions.as_ref())
            .unwrap()
            .observed_generation,
        generation
    );
    let cs = status.coupled_socket.unwrap();
    assert_eq!(
        (
            cs.api_version.as_str(),
            cs.kind.as_str(),
            cs.name.as_str(),
            cs.namespace.as_str()
        ),
        ("integration.rock8s.com/v1beta1", "Socket", "postgres", "db")
    );
    assert_eq!(Some(cs.uid), socket.uid());
    assert_eq!(
        status.coupled_result.unwrap().observed_generation,
        generation
    );
    assert!(status.progress.is_none());
    let sstatus = socket.status.clone().unwrap();
    assert_eq!(
        summary(sstatus.conditions.as_ref()),
        [cond("Coupled", "True", "SocketCoupled", "1 plug coupled")]
    );
    let plugs = sstatus.coupled_plugs.unwrap();
    assert_eq!(plugs.len(), 1);
    assert_eq!(
        (
            plugs[0].kind.as_str(),
            plugs[0].name.as_str(),
            plugs[0].namespace.as_str()
        ),
        ("Plug", "orders-db", "app")
    );
    assert_eq!(Some(plugs[0].uid.clone()), plug.uid());
}

#[tokio::test]
async fn a1_happy_path() {
    let op = Op::start().await;
    op.apply(S0).await;
    op.apply(P0).await;
    assert_a1(&op).await;
    let plug_events = eventually("plug events", || async {
        let e = op.events("app", "orders-db").await;
        (e.len() >= 2).then_some(e)
    })
    .await;
    assert_eq!(plug_events, ["PlugCreated", "PlugCoupled"]);
    let socket_events = eventually("socket events", || async {
        let e = op.events("db", "postgres").await;
        (e.len() >= 2).then_some(e)
    })
    .await;
    assert_eq!(socket_events, ["SocketCreated", "SocketCoupled"]);
    assert_eq!(
        op.event_notes("app", "orders-db", "PlugCoupled").await,
        ["plug orders-db/app coupled"]
    );
    assert_eq!(
        op.event_notes("db", "postgres", "SocketCoupled").await,
        ["socket postgres/db coupled"]
    );
}

#[tokio::test]
async fn a2_plug_before_socket() {
    let op = Op::start().await;
    op.apply(P0).await;
    let plug = op.plug_reason("app", "orders-db", "SocketNotCreated").await;
    let status = plug.status.unwrap();
    assert_eq!(
        summary(status.conditions.as_ref()),
        [cond(
            "Coupled",
            "False",
            "SocketNotCreated",
            "waiting for socket to be created"
        )]
    );
    assert!(status.coupled_socket.is_none());
    assert!(op.config_map("app", "orders-db-connection").await.is_none());
    op.apply(S0).await;
    assert_a1(&op).await;
}

#[tokio::test]
async fn a4_missing_required_config_then_fixed() {
    let op = Op::start().await;
    op.apply(S0).await;
    op.apply(&P0.replace("    database: orders\n", "")).await;
    let plug = op.plug_reason("app", "orders-db", "Error").await;
    assert_eq!(
        summary(plug.status.unwrap().conditions.as_ref()),
        [
            cond("Coupled", "False", "Error", "coupling failed"),
            cond(
                "Failed",
                "True",
                "Error",
                "plug config property 'database' is required"
            ),
        ]
    );
    let socket = eventually("socket empty", || async {
        op.socket("db", "postgres").await.filter(|s| {
            coupled(s.status.as_ref().and_then(|s| s.conditions.as_ref()))
                .is_some_and(|c| c.reason == "SocketEmpty")
        })
    })
    .await;
    let sstatus = socket.status.unwrap();
    assert_eq!(
        summary(sstatus.conditions.as_ref()),
        [cond("Coupled", "False", "SocketEmpty", "0 plugs coupled")]
    );
    assert!(sstatus.coupled_plugs.unwrap_or_default().is_empty());
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    assert!(op.config_map("app", "orders-db-connection").await.is_none());

    op.apply(P0).await;
    assert_a1(&op).await;
    let plug = op.plug("app", "orders-db").await.unwrap();
    assert_eq!(plug.metadata.generation, Some(2));
}

#[tokio::test]
async fn a8_update_cycle() {
    let op = Op::start().await;
    op.apply(S0).await;
    let p0 = format!(
        "{P0}    - when: [coupled]\n      do: apply\n      stringTemplate: \"{{apiVersion: v1, kind: ConfigMap, metadata: {{name: coupled-only}}}}\"\n"
    );
    op.apply(&p0).await;
    assert_a1(&op).await;
    assert!(op.config_map("app", "coupled-only").await.is_some());
    op.delete_config_map("app", "coupled-only").await;
    op.delete_config_map("db", "grant-app-orders-db").await;

    op.apply(&p0.replace("database: orders", "database: orders2"))
        .await;
    let grant = eventually("grant re-applied", || async {
        op.config_map("db", "grant-app-orders-db")
            .await
            .filter(|cm| data(cm)["database"] == "orders2")
    })
    .await;
    assert_eq!(data(&grant)["database"], "orders2");
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert!(data(&conn)["url"].as_str().unwrap().ends_with("/orders2"));
    let plug = eventually("plug updated", || async {
        op.plug("app", "orders-db").await.filter(|p| {
            let s = p.status.as_ref();
            s.and_then(|s| s.coupled_result.as_ref())
                .and_then(|r| r.observed_generation)
                == p.metadata.generation
                && coupled(s.and_then(|s| s.conditions.as_ref())).is_some_and(|c| {
                    c.reason == "CouplingSucceeded"
                        && c.observed_generation == p.metadata.generation
                })
        })
    })
    .await;
    assert_eq!(plug.metadata.generation, Some(2));
    assert!(op.config_map("app", "coupled-only").await.is_none());
    assert_eq!(
        op.events("app", "orders-db").await,
        ["PlugCreated", "PlugCoupled", "PlugUpdated"]
    );
    assert_eq!(
        op.events("db", "postgres").await,
        ["SocketCreated", "SocketCoupled", "SocketUpdated"]
    );
}

#[tokio::test]
async fn a9_socket_change_reaches_every_plug() {
    let op = Op::start().await;
    op.apply(S0).await;
    op.apply(P0).await;
    let billing = P0
        .replace("name: orders-db, namespace", "name: billing-db, namespace")
        .replace("database: orders", "database: billing")
        .replace("name: orders-db-connection", "name: billing-db-connection");
    assert_a1(&op).await;
    op.apply(&billing).await;
    op.plug_reason("app", "billing-db", "CouplingSucceeded")
        .await;
    let generations: Vec<_> = [
        op.plug("app", "orders-db").await,
        op.plug("app", "billing-db").await,
    ]
    .into_iter()
    .map(|p| p.unwrap().metadata.generation)
    .collect();

    op.apply(&S0.replace("host: postgres.db.svc", "host: pg2.db.svc"))
        .await;
    for cm in ["orders-db-connection", "billing-db-connection"] {
        eventually(cm, || async {
            op.config_map("app", cm).await.filter(|cm| {
                data(cm)["url"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("postgres://pg2.db.svc:5432/")
            })
        })
        .await;
    }
    for (name, generation) in ["orders-db", "billing-db"].into_iter().zip(generations) {
        let plug = op.plug_reason("app", name, "CouplingSucceeded").await;
        // The operator never writes a plug's spec (docs/lifecycle.md,
        // "Level-triggered updates").
        assert_eq!(plug.metadata.generation, generation);
        let updated = eventually("PlugUpdated", || async {
            let n = op
                .events("app", name)
                .await
                .iter()
                .filter(|r| *r == "PlugUpdated")
                .count();
            (n > 0).then_some(n)
        })
        .await;
        assert_eq!(updated, 1, "{name}");
    }
    let socket = op.socket("db", "postgres").await.unwrap();
    assert_eq!(
        summary(socket.status.unwrap().conditions.as_ref()),
        [cond("Coupled", "True", "SocketCoupled", "2 plugs coupled")]
    );
}

const A10_RESOURCES: &str = r#"  resources:
    - when: [coupled]
      do: apply
      stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: a-temp}}"
    - when: [coupled]
      retainWhenDecoupled: true
      do: apply
      stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: b-kept}}"
    - when: [decoupled]
      do: apply
      stringTemplate: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c-tombstone}, data: {db: '{% .plugConfig.database %}'}}"
"#;

#[tokio::test]
async fn a10_plug_deletion_decouples() {
    let op = Op::start().await;
    op.apply(S0).await;
    let (head, _) = P0.split_once("  resources:").unwrap();
    op.apply(&format!("{head}{A10_RESOURCES}")).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert!(op.config_map("app", "a-temp").await.is_some());
    assert!(op.config_map("app", "b-kept").await.is_some());
    assert!(op.config_map("app", "c-tombstone").await.is_none());
    assert!(op.config_map("db", "grant-app-orders-db").await.is_some());

    op.delete_plug("app", "orders-db").await;
    op.plug_gone("app", "orders-db").await;
    assert!(op.config_map("app", "a-temp").await.is_none());
    assert!(op.config_map("app", "b-kept").await.is_some());
    let tomb = op.config_map("app", "c-tombstone").await.unwrap();
    assert_eq!(data(&tomb), json!({"db": "orders"}));
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    let socket = eventually("socket empty", || async {
        op.socket("db", "postgres").await.filter(|s| {
            coupled(s.status.as_ref().and_then(|s| s.conditions.as_ref()))
                .is_some_and(|c| c.reason == "SocketEmpty")
        })
    })
    .await;
    let sstatus = socket.status.unwrap();
    assert!(sstatus.coupled_plugs.unwrap_or_default().is_empty());
    assert_eq!(
        summary(sstatus.conditions.as_ref()),
        [cond("Coupled", "False", "SocketEmpty", "0 plugs coupled")]
    );
    // Order across both objects: the Events' resourceVersions.
    let mut all: Vec<(u64, String)> = Vec::new();
    for (ns, name) in [("app", "orders-db"), ("db", "postgres")] {
        let api: kube::Api<k8s_openapi::api::events::v1::Event> =
            kube::Api::namespaced(op.client.clone(), ns);
        for e in api.list(&Default::default()).await.unwrap().items {
            if e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name) {
                let rv = e
                    .metadata
                    .resource_version
                    .as_deref()
                    .unwrap()
                    .parse()
                    .unwrap();
                all.push((rv, e.reason.unwrap_or_default()));
            }
        }
    }
    all.sort();
    let order: Vec<&str> = all
        .iter()
        .map(|(_, r)| r.as_str())
        .filter(|r| ["PlugDecoupled", "SocketDecoupled", "PlugDeleted"].contains(r))
        .collect();
    assert_eq!(order, ["PlugDecoupled", "SocketDecoupled", "PlugDeleted"]);
}

#[tokio::test]
async fn a11_socket_deletion_decouples_and_recouples() {
    let op = Op::start().await;
    op.apply(S0).await;
    op.apply(P0).await;
    assert_a1(&op).await;
    op.sockets("db")
        .delete("postgres", &DeleteParams::default())
        .await
        .unwrap();
    eventually("socket gone", || async {
        op.socket("db", "postgres").await.is_none().then_some(())
    })
    .await;
    assert!(op.config_map("db", "grant-app-orders-db").await.is_none());
    let plug = op.plug_reason("app", "orders-db", "SocketNotCreated").await;
    assert!(plug.status.unwrap().coupled_socket.is_none());
    assert!(plug.metadata.deletion_timestamp.is_none());
    let api: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(op.client.clone(), "db");
    let mut events: Vec<(u64, String)> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            (
                e.metadata.resource_version.unwrap().parse().unwrap(),
                e.reason.unwrap_or_default(),
            )
        })
        .collect();
    events.sort();
    let reasons: Vec<&str> = events.iter().map(|(_, r)| r.as_str()).collect();
    let decoupled = reasons
        .iter()
        .position(|r| *r == "SocketDecoupled")
        .expect("SocketDecoupled");
    let deleted = reasons
        .iter()
        .position(|r| *r == "SocketDeleted")
        .expect("SocketDeleted");
    assert!(decoupled < deleted, "{reasons:?}");

    op.apply(S0).await;
    assert_a1(&op).await;
    let coupled_events = op
        .events("app", "orders-db")
        .await
        .iter()
        .filter(|r| *r == "PlugCoupled")
        .count();
    assert!(coupled_events >= 1);
    assert!(
        op.events("app", "orders-db")
            .await
            .contains(&"PlugDecoupled".to_string())
    );
}

/// A plug whose spec names another socket decouples from the old one and
/// couples to the new one, without waiting for a resync.
#[tokio::test]
async fn a_plug_moved_to_another_socket_recouples() {
    let op = Op::start().await;
    op.apply(S0).await;
    let other = [
        ("metadata.name", "postgres-2"),
        ("spec.config.host", "postgres-2.db.svc"),
    ];
    op.apply_value(&manifest(S0, &other)).await;
    op.apply(P0).await;
    assert_a1(&op).await;

    op.apply_value(&manifest(P0, &[("spec.socket.name", "postgres-2")]))
        .await;
    eventually("coupled to postgres-2", || async {
        op.plug("app", "orders-db").await.filter(|p| {
            let status = p.status.as_ref();
            let socket = status.and_then(|s| s.coupled_socket.as_ref());
            let reason = coupled(status.and_then(|s| s.conditions.as_ref())).map(|c| &c.reason);
            socket.is_some_and(|s| s.name == "postgres-2")
                && reason.is_some_and(|r| r == "CouplingSucceeded")
        })
    })
    .await;
    let conn = op.config_map("app", "orders-db-connection").await.unwrap();
    assert_eq!(
        data(&conn)["url"],
        "postgres://postgres-2.db.svc:5432/orders"
    );
    eventually("postgres empty", || async {
        op.socket("db", "postgres").await.filter(|s| {
            let conditions = s.status.as_ref().and_then(|s| s.conditions.as_ref());
            coupled(conditions).is_some_and(|c| c.reason == "SocketEmpty")
        })
    })
    .await;
    let plug_events = op.events("app", "orders-db").await;
    for reason in ["PlugDecoupled", "PlugCoupled"] {
        assert!(plug_events.iter().any(|r| r == reason), "{plug_events:?}");
    }
    assert!(
        op.events("db", "postgres")
            .await
            .contains(&"SocketDecoupled".to_string())
    );
}

#[tokio::test]
async fn a19_socket_limit() {
    let op = Op::start().await;
    op.apply(&S0.replace(
        "  serviceAccountName: integrator\n",
        "  serviceAccountName: integrator\n  limit: 1\n",
    ))
    .await;
    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    let billing = P0
        .replace("name: orders-db, namespace", "name: billing-db, namespace")
        .replace("name: orders-db-connection", "name: billing-db-connection");
    op.apply(&billing).await;
    let waiting = op
        .plug_reason("app", "billing-db", "SocketLimitReached")
        .await;
    assert_eq!(
        summary(waiting.status.unwrap().conditions.as_ref()),
        [cond(
            "Coupled",
            "False",
            "SocketLimitReached",
            "socket db/postgres accepts at most 1 plugs; place in line: 1"
        )]
    );
    let socket = op.socket("db", "postgres").await.unwrap();
    assert_eq!(
        summary(socket.status.unwrap().conditions.as_ref()),
        [cond("Coupled", "True", "SocketCoupled", "1 plug coupled")]
    );
    op.delete_plug("app", "orders-db").await;
    op.plug_reason("app", "billing-db", "CouplingSucceeded")
        .await;
}

#[tokio::test]
async fn an_idle_coupled_pair_writes_nothing() {
    let op = Op::start().await;
    // The socket reads a data ConfigMap; touching it (a label, so its data
    // and with them the inputs stay the same) triggers a plug pass.
    let data_map = |i: usize| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "socket-data", "namespace": "db", "labels": {"touch": i.to_string()}},
            "data": {"region": "eu"}})
    };
    let maps = op.config_maps("db");
    let apply_data_map = |i: usize| {
        let maps = maps.clone();
        async move {
            maps.patch(
                "socket-data",
                &PatchParams::apply("e2e-user"),
                &Patch::Apply(&data_map(i)),
            )
            .await
            .unwrap();
        }
    };
    apply_data_map(0).await;
    op.apply_value(&manifest(S0, &[("spec.dataConfigMapName", "socket-data")]))
        .await;
    op.apply(P0).await;
    assert_a1(&op).await;
    let before = op.emu.resource_version();
    let touches = 3;
    for i in 1..=touches {
        let passes = op.metrics.passes.plugs();
        apply_data_map(i).await;
        eventually("a plug pass", || async {
            (op.metrics.passes.plugs() > passes).then_some(())
        })
        .await;
    }
    // Also a socket pass, through a socket label change (one write).
    let (passes, plug_passes) = (op.metrics.passes.sockets(), op.metrics.passes.plugs());
    op.sockets("db")
        .patch(
            "postgres",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
        )
        .await
        .unwrap();
    eventually("a socket pass", || async {
        (op.metrics.passes.sockets() > passes).then_some(())
    })
    .await;
    eventually("a plug pass", || async {
        (op.metrics.passes.plugs() > plug_passes).then_some(())
    })
    .await;
    assert_eq!(op.emu.resource_version(), before + touches as u64 + 1);
}

/// Shutdown before the caches' first list (a SIGTERM right after start):
/// kube-runtime alone would wait forever for caches whose watches stopped.
#[tokio::test]
async fn an_operator_stopped_right_after_start_stops() {
    let mut op = Op::start().await;
    op.stop_operator().await;
}

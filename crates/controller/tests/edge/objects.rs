//! Apply, delete and recreate, as the owner's service account.

use integration_api::{Do, FIELD_MANAGER};
use integration_controller::{Deletion, Error, ObjectRef};
use integration_engine::Rendered;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::json;

use crate::common::{Env, within, yaml};

const CONNECTION: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: orders-db-connection, namespace: app}
data:
  url: postgres://postgres.db.svc:5432/orders
  keys: database,owner,
"#;

const JOB: &str = r#"
apiVersion: batch/v1
kind: Job
metadata: {name: grant-orders-db, namespace: db}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
"#;

#[tokio::test]
async fn apply_creates_with_our_field_manager_and_prunes_dropped_fields() {
    let env = Env::f0().await;
    let objects = env.cluster.objects_as("app", "integrator").unwrap();

    let created = objects.apply(&yaml(CONNECTION)).await.unwrap();
    let managers: Vec<_> = created
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.as_deref())
        .collect();
    assert_eq!(managers, [FIELD_MANAGER]);
    assert_eq!(created.data["data"]["keys"], "database,owner,");

    let mut without_keys = yaml(CONNECTION);
    without_keys["data"].as_object_mut().unwrap().remove("keys");
    let updated = objects.apply(&without_keys).await.unwrap();
    assert_eq!(
        updated.data["data"],
        json!({"url": "postgres://postgres.db.svc:5432/orders"})
    );
}

#[tokio::test]
async fn apply_without_rbac_is_forbidden_and_names_the_object() {
    let env = Env::f0().await;
    // `default` has no Role in F0.
    let objects = env.cluster.objects_as("app", "default").unwrap();

    let err = objects.apply(&yaml(CONNECTION)).await.unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
    assert_eq!(err.reason(), Some("Forbidden"));
    let text = err.to_string();
    assert!(
        text.starts_with("apply ConfigMap app/orders-db-connection: Forbidden: "),
        "{text}"
    );
    assert!(text.contains("system:serviceaccount:app:default"), "{text}");
}

#[tokio::test]
async fn apply_does_not_force_past_another_manager() {
    let env = Env::f0().await;
    let api = env.api("v1", "ConfigMap", "app").await;
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "orders-db-connection"},
                       "data": {"url": "mine"}});
    api.patch(
        "orders-db-connection",
        &PatchParams::apply("someone-else"),
        &Patch::Apply(&other),
    )
    .await
    .unwrap();
    let objects = env.cluster.objects_as("app", "integrator").unwrap();

    let err = objects.apply(&yaml(CONNECTION)).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("apply ConfigMap app/orders-db-connection: Conflict: "),
        "{err}"
    );

    let forced = objects.apply_forced(&yaml(CONNECTION)).await.unwrap();
    assert_eq!(
        forced.data["data"]["url"],
        "postgres://postgres.db.svc:5432/orders"
    );
}

#[tokio::test]
async fn invalid_objects_report_the_reason_without_echoing_values() {
    let env = Env::f0().await;
    let objects = env.cluster.objects_as("app", "integrator").unwrap();
    let mut bad = yaml(CONNECTION);
    bad["metadata"]["labels"] = json!({"password": "s3cret-Value-that-is-not_a valid label!"});

    let err = objects.apply(&bad).await.unwrap_err();
    assert_eq!(err.reason(), Some("Invalid"), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("Invalid value: [hidden]"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[tokio::test]
async fn delete_ignores_missing_objects() {
    let env = Env::f0().await;
    let objects = env.cluster.objects_as("app", "integrator").unwrap();
    let target = ObjectRef::of(&yaml(CONNECTION)).unwrap();

    assert_eq!(objects.delete(&target).await.unwrap(), Deletion::Absent);
    let created = objects.apply(&yaml(CONNECTION)).await.unwrap();
    assert_eq!(
        objects.delete(&target).await.unwrap(),
        Deletion::Requested {
            uid: created.metadata.uid
        }
    );
    assert_eq!(objects.get(&target).await.unwrap(), None);
}

#[tokio::test]
async fn delete_exact_spares_another_object_with_the_name() {
    let env = Env::f0().await;
    let objects = env.cluster.objects_as("app", "integrator").unwrap();
    let target = ObjectRef::of(&yaml(CONNECTION)).unwrap();
    let first = objects.apply(&yaml(CONNECTION)).await.unwrap();
    let first_uid = first.metadata.uid.clone().unwrap();
    objects.delete(&target).await.unwrap();
    let second = objects.apply(&yaml(CONNECTION)).await.unwrap();

    // The first object is gone; the one now holding its name stays.
    assert_eq!(
        objects
            .delete_exact(&target, &first_uid, false)
            .await
            .unwrap(),
        Deletion::Absent
    );
    let kept = objects.get(&target).await.unwrap().unwrap();
    assert_eq!(kept.metadata.uid, second.metadata.uid);

    let second_uid = second.metadata.uid.clone().unwrap();
    assert_eq!(
        objects
            .delete_exact(&target, &second_uid, false)
            .await
            .unwrap(),
        Deletion::Requested {
            uid: Some(second_uid.clone())
        }
    );
    assert_eq!(objects.get(&target).await.unwrap(), None);
    assert_eq!(
        objects
            .delete_exact(&target, &second_uid, false)
            .await
            .unwrap(),
        Deletion::Absent
    );
}

#[tokio::test]
async fn recreate_replaces_a_job_with_a_new_uid() {
    let env = Env::f0().await;
    let objects = env.cluster.objects_as("db", "integrator").unwrap();
    let first = objects.apply(&yaml(JOB)).await.unwrap();

    let rendered = Rendered {
        action: Do::Recreate,
        object: yaml(JOB),
        template: "socket.resources[0].stringTemplate".into(),
        document: 0,
    };
    integration_controller::run_rendered(&objects, &rendered)
        .await
        .unwrap();

    let second = objects
        .get(&ObjectRef::of(&yaml(JOB)).unwrap())
        .await
        .unwrap()
        .expect("the job exists again");
    assert_ne!(first.metadata.uid, second.metadata.uid);
}

/// The old object is held by a finalizer: recreate waits for it to go, and
/// applies only then.
#[tokio::test]
async fn recreate_waits_for_finalizers() {
    let env = Env::f0().await;
    let mut held = yaml(CONNECTION);
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    env.admin_apply(&serde_json::to_string(&held).unwrap())
        .await;
    let api = env.api("v1", "ConfigMap", "app").await;
    let old_uid = api
        .get("orders-db-connection")
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap();

    // Plays the finalizer's controller: releases the object once it is
    // being deleted.
    let releaser = {
        let api = api.clone();
        tokio::spawn(async move {
            let terminating = |o: Option<&kube::api::DynamicObject>| {
                o.is_some_and(|o| o.metadata.deletion_timestamp.is_some())
            };
            await_condition(api.clone(), "orders-db-connection", terminating)
                .await
                .unwrap();
            let release = json!({"metadata": {"finalizers": null}});
            api.patch(
                "orders-db-connection",
                &PatchParams::default(),
                &Patch::Merge(&release),
            )
            .await
            .unwrap();
        })
    };

    let objects = env.cluster.objects_as("app", "integrator").unwrap();
    let new = within(20, "recreate", objects.recreate(&yaml(CONNECTION)))
        .await
        .unwrap();
    within(5, "releaser", releaser).await.unwrap();
    assert_ne!(new.metadata.uid.as_deref(), Some(old_uid.as_str()));
    assert_eq!(new.metadata.finalizers, None);
}

#[tokio::test]
async fn recreate_gives_up_at_its_deadline() {
    let env = Env::f0().await;
    let mut held = yaml(CONNECTION);
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    env.admin_apply(&serde_json::to_string(&held).unwrap())
        .await;

    let objects = env
        .cluster
        .objects_as("app", "integrator")
        .unwrap()
        .with_deletion_timeout(std::time::Duration::from_millis(300));
    let err = objects.recreate(&yaml(CONNECTION)).await.unwrap_err();
    assert!(matches!(err, Error::DeletionTimeout { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "delete ConfigMap app/orders-db-connection: still present after 300ms"
    );

    // Still terminating: nothing was applied over the dying object.
    let api = env.api("v1", "ConfigMap", "app").await;
    let dying = api.get("orders-db-connection").await.unwrap();
    assert!(dying.metadata.deletion_timestamp.is_some());
}

#[tokio::test]
async fn cluster_scoped_kinds_are_applied_without_a_namespace() {
    let env = Env::f0().await;
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "integration-test", "namespace": "app"},
        "rules": []
    });
    let applied = env.cluster.objects().apply(&role).await.unwrap();
    assert_eq!(applied.metadata.namespace, None);

    // The service account cannot: a Role cannot grant cluster-scoped kinds.
    let err = env
        .cluster
        .objects_as("app", "integrator")
        .unwrap()
        .apply(&role)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), Some("Forbidden"));
    assert!(
        err.to_string()
            .starts_with("apply ClusterRole integration-test: Forbidden"),
        "{err}"
    );
}

#[tokio::test]
async fn server_errors_keep_their_code_for_retry_decisions() {
    let env = Env::f0().await;
    env.emu.inject(
        kube_emulator::Fault::new(500)
            .verb("patch")
            .resource("configmaps")
            .times(1),
    );
    let objects = env.cluster.objects_as("app", "integrator").unwrap();

    let err = objects.apply(&yaml(CONNECTION)).await.unwrap_err();
    assert_eq!(err.code(), Some(500), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("apply ConfigMap app/orders-db-connection: "),
        "{err}"
    );
    objects.apply(&yaml(CONNECTION)).await.unwrap();
}

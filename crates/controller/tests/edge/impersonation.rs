//! Acting as the owner's service account.

use integration_controller::{Cluster, service_account_user};
use serde_json::json;

use crate::common::Env;

fn config_map(ns: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "probe", "namespace": ns}, "data": {"a": "b"}})
}

#[tokio::test]
async fn works_over_any_client_including_in_process_ones() {
    let env = Env::f0().await;
    let cluster = Cluster::new(env.emu.in_process_client());

    let allowed = cluster.objects_as("app", "integrator").unwrap();
    allowed.apply(&config_map("app")).await.unwrap();
    let denied = cluster.objects_as("app", "default").unwrap();
    let err = denied.apply(&config_map("app")).await.unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
}

#[tokio::test]
async fn an_operator_without_impersonate_rights_is_forbidden() {
    let env = Env::f0().await;
    let cluster = Cluster::new(env.emu.client_as("nobody", &[]));

    let objects = cluster.objects_as("app", "integrator").unwrap();
    let err = objects.apply(&config_map("app")).await.unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
    assert!(err.to_string().contains("cannot impersonate"), "{err}");
}

#[test]
fn service_account_usernames() {
    assert_eq!(
        service_account_user("db", "integrator"),
        "system:serviceaccount:db:integrator"
    );
}

//! REST mapping through discovery, including kinds that appear later.

use integration_controller::Error;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;

use crate::common::{Env, within};

#[tokio::test]
async fn maps_built_in_kinds_with_their_scope() {
    let env = Env::f0().await;
    let mapper = env.cluster.mapper();

    let cm = mapper.mapping("v1", "ConfigMap").await.unwrap();
    assert_eq!(cm.resource.plural, "configmaps");
    assert!(cm.namespaced);
    let job = mapper.mapping("batch/v1", "Job").await.unwrap();
    assert_eq!(
        (job.resource.plural.as_str(), job.namespaced),
        ("jobs", true)
    );
    let role = mapper
        .mapping("rbac.authorization.k8s.io/v1", "ClusterRole")
        .await
        .unwrap();
    assert!(!role.namespaced);

    let err = mapper.mapping("v1", "Nonsense").await.unwrap_err();
    assert_eq!(err.to_string(), "kind Nonsense is not served in v1");
    let err = mapper
        .mapping("nowhere.example.com/v1", "Thing")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownKind { .. }), "{err:?}");
}

#[tokio::test]
async fn a_crd_installed_later_is_found_on_its_first_use() {
    let env = Env::f0().await;
    let mapper = env.cluster.mapper();
    let api_version = integration_api::API_VERSION;
    assert!(mapper.mapping(api_version, "Plug").await.is_err());

    let crds: Api<CustomResourceDefinition> = Api::all(env.cluster.client().clone());
    for crd in integration_api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        crds.create(&PostParams::default(), &crd).await.unwrap();
        within(
            10,
            "CRD established",
            await_condition(crds.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .unwrap();
    }

    let plug = mapper.mapping(api_version, "Plug").await.unwrap();
    assert_eq!(plug.resource.plural, "plugs");
    assert!(plug.namespaced);
    let applied = env
        .cluster
        .objects()
        .apply(&json!({
            "apiVersion": api_version, "kind": "Plug",
            "metadata": {"name": "orders-db", "namespace": "app"},
            "spec": {"socket": {"name": "postgres", "namespace": "db"}}
        }))
        .await
        .unwrap();
    assert_eq!(applied.metadata.namespace.as_deref(), Some("app"));
}

//! The operator's own identity under `dev`: a ServiceAccount bound to the
//! ClusterRole of spec §7.2 and a TokenRequest token for it. Running as
//! that account instead of cluster-admin makes a missing permission fail
//! here, on a laptop, instead of in someone's cluster.

use anyhow::Context;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Namespace of the operator's ServiceAccount.
pub const NAMESPACE: &str = "integration-system";
/// Name of the ServiceAccount, ClusterRole and ClusterRoleBinding.
pub const NAME: &str = "integration-operator";

/// The username the operator's requests carry.
pub fn username() -> String {
    integration_controller::service_account_user(NAMESPACE, NAME)
}

/// Verbs §7.2 grants on the kinds the operator writes.
const WRITE: [&str; 7] = [
    "create", "delete", "get", "list", "patch", "update", "watch",
];

/// The ClusterRole rules of §7.2, plus `events.k8s.io` Events, which is
/// the API the controller's event recorder writes through, and reading
/// Namespaces, for sockets' `validation.namespaceSelector`.
fn rules() -> Value {
    json!([
        {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": WRITE},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": WRITE},
        {"apiGroups": [""], "resources": ["pods", "services"], "verbs": WRITE},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": WRITE},
        {"apiGroups": ["integration.rock8s.com"], "resources": ["plugs", "sockets", "deferredresources"], "verbs": WRITE},
        {"apiGroups": ["integration.rock8s.com"], "resources": ["*/status"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": ["integration.rock8s.com"], "resources": ["*/finalizers"], "verbs": ["update"]},
    ])
}

/// Creates the account, its role and binding (server-side apply as
/// `manager`), and returns a bearer token for the account.
pub async fn token(admin: &Client, manager: &str) -> anyhow::Result<String> {
    let params = PatchParams::apply(manager).force();
    apply::<Namespace>(
        &Api::all(admin.clone()),
        &params,
        json!({"metadata": {"name": NAMESPACE}}),
    )
    .await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), NAMESPACE);
    apply(&accounts, &params, json!({"metadata": {"name": NAME}})).await?;
    apply::<ClusterRole>(
        &Api::all(admin.clone()),
        &params,
        json!({"metadata": {"name": NAME}, "rules": rules()}),
    )
    .await?;
    apply::<ClusterRoleBinding>(
        &Api::all(admin.clone()),
        &params,
        json!({
            "metadata": {"name": NAME},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        }),
    )
    .await?;
    let request = TokenRequest {
        spec: Some(TokenRequestSpec::default()),
        ..TokenRequest::default()
    };
    let answer = accounts
        .create_token_request(NAME, &PostParams::default(), &request)
        .await
        .with_context(|| format!("requesting a token for {}", username()))?;
    answer
        .status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .with_context(|| format!("the TokenRequest for {} returned no token", username()))
}

/// Server-side applies one typed object given as JSON (kind and
/// apiVersion are filled in from `K`).
async fn apply<K>(api: &Api<K>, params: &PatchParams, mut object: Value) -> anyhow::Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    object["apiVersion"] = Value::from(K::api_version(&()).as_ref());
    object["kind"] = Value::from(K::kind(&()).as_ref());
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    api.patch(&name, params, &Patch::Apply(&object))
        .await
        .with_context(|| format!("applying {} {name}", K::kind(&())))?;
    Ok(())
}

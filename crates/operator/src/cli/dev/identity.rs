//! The operator's own identity under `dev`: a ServiceAccount bound to the
//! ClusterRole of `deploy/cluster-role.yaml` (docs/operations.md, "RBAC")
//! and a TokenRequest token for it. Running as that account instead of
//! cluster-admin makes a missing permission fail here, on a laptop, instead
//! of in someone's cluster.

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

/// The ClusterRole the install manifests grant (`deploy/cluster-role.yaml`,
/// docs/operations.md, "RBAC"): the same file, so `dev` fails where a real
/// install would.
pub const CLUSTER_ROLE: &str = include_str!("../../../../../deploy/cluster-role.yaml");

/// [`CLUSTER_ROLE`] as JSON.
fn cluster_role() -> anyhow::Result<Value> {
    serde_saphyr::from_str(CLUSTER_ROLE).context("parsing deploy/cluster-role.yaml")
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
    apply::<ClusterRole>(&Api::all(admin.clone()), &params, cluster_role()?).await?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The rules the operator cannot work without (docs/operations.md,
    /// "RBAC").
    #[test]
    fn the_installed_cluster_role_grants_what_the_operator_uses() {
        let role = cluster_role().unwrap();
        assert_eq!(role["kind"], "ClusterRole");
        assert_eq!(role["metadata"]["name"], NAME);
        let grants = |group: &str, resource: &str, verb: &str| {
            role["rules"].as_array().unwrap().iter().any(|rule| {
                let has =
                    |key: &str, want: &str| rule[key].as_array().unwrap().iter().any(|v| v == want);
                has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
            })
        };
        for (group, resource, verb) in [
            ("events.k8s.io", "events", "create"),
            ("events.k8s.io", "events", "patch"),
            ("", "namespaces", "get"),
            ("coordination.k8s.io", "leases", "update"),
            ("", "serviceaccounts", "impersonate"),
            ("integration.rock8s.com", "plugs", "watch"),
            ("integration.rock8s.com", "*/status", "patch"),
            ("integration.rock8s.com", "*/finalizers", "update"),
        ] {
            assert!(grants(group, resource, verb), "{verb} {group}/{resource}");
        }
    }
}

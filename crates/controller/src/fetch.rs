//! Reading what a coupling needs (an engine [`FetchPlan`]) into engine
//! [`Sources`].
//!
//! * Var targets are read as the owner's service account, through the REST
//!   mapper, so vars may name any kind the account may `get`
//!   (docs/config.md, "Vars").
//! * ConfigMaps and Secrets are read as the operator itself by default, as
//!   the original does (docs/config.md, "Inline values, ConfigMaps and
//!   Secrets"; docs/operations.md, "RBAC"): this needs cluster-wide read on
//!   both, and anyone who may create a Plug can have the operator read any
//!   map of its namespace, confined only by the engine keeping names to
//!   the owner's namespace (docs/operations.md, "Impersonation").
//!   [`MapReader::ServiceAccount`] reads them as the owner's service
//!   account instead, which must then be allowed to; `run` does not offer
//!   it.
//!
//! A missing object is left out of the sources: the engine reports it where
//! a resolution needs it. Any other failure (Forbidden, …) is an error
//! naming the object.

use std::collections::BTreeSet;
use std::fmt::Debug;

use futures::future::try_join_all;
use integration_engine::{FetchPlan, ObjectKey, Side, SidePlan, Sources, VarTarget};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ObjectRef;
use crate::Objects;
use crate::cluster::Cluster;
use crate::{Error, Operation, Result};

/// Whose identity reads the ConfigMaps and Secrets of a plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapReader {
    /// The operator's own identity, as the reference does.
    #[default]
    Operator,
    /// The owner's (impersonated) service account.
    ServiceAccount,
}

/// Fetches everything `plan` lists, plug side first.
pub async fn fetch(cluster: &Cluster, plan: &FetchPlan, maps: MapReader) -> Result<Sources> {
    let mut sources = Sources::default();
    for side in Side::BOTH {
        fetch_side(cluster, plan.get(side), maps, &mut sources).await?;
    }
    Ok(sources)
}

/// Fetches one side's objects, concurrently.
async fn fetch_side(
    cluster: &Cluster,
    plan: &SidePlan,
    maps: MapReader,
    sources: &mut Sources,
) -> Result<()> {
    let (ns, sa) = (plan.namespace.as_str(), plan.service_account.as_str());
    let maps_client = match maps {
        MapReader::Operator => cluster.client().clone(),
        MapReader::ServiceAccount => cluster.impersonate(ns, sa)?,
    };
    let objects = cluster.objects_as(ns, sa)?;
    // Several vars may read the same object: fetch it once.
    let targets: BTreeSet<&VarTarget> = plan.var_refs().map(|v| &v.target).collect();
    let (config_maps, secrets, vars) = tokio::try_join!(
        try_join_all(
            plan.config_map_keys()
                .map(|k| read::<ConfigMap>(&maps_client, k))
        ),
        try_join_all(plan.secret_keys().map(|k| read::<Secret>(&maps_client, k))),
        try_join_all(targets.into_iter().map(|t| read_var(&objects, t))),
    )?;
    for cm in config_maps.iter().flatten() {
        sources.add_config_map(cm);
    }
    for secret in secrets.iter().flatten() {
        sources.add_secret(secret);
    }
    for (target, object) in vars.into_iter().flatten() {
        sources.add_object(target, object);
    }
    Ok(())
}

/// GETs a ConfigMap or Secret; `None` when it does not exist.
async fn read<K>(client: &Client, key: ObjectKey) -> Result<Option<K>>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    K: Clone + Debug + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), &key.namespace);
    api.get_opt(&key.name).await.map_err(|e| {
        let object = ObjectRef::typed::<K>(&key.namespace, &key.name);
        Error::from_kube(Operation::Get, &object, e)
    })
}

/// GETs a var target as JSON; `None` when it does not exist.
async fn read_var(objects: &Objects, target: &VarTarget) -> Result<Option<(VarTarget, Value)>> {
    let object = ObjectRef::new(
        &target.api_version,
        &target.kind,
        Some(&target.namespace),
        &target.name,
    );
    let Some(found) = objects.get(&object).await? else {
        return Ok(None);
    };
    let json = serde_json::to_value(found)
        .map_err(|e| Error::from_kube(Operation::Get, &object, kube::Error::SerdeError(e)))?;
    Ok(Some((target.clone(), json)))
}

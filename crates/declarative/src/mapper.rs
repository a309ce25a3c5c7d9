//! REST mapping: from a manifest's `apiVersion` and `kind` to the resource
//! to call (`configmaps`, namespaced).
//!
//! Mappings are cached per group/version for the operator's lifetime. A
//! miss re-reads that one group/version's resource list (one request), so a
//! CRD installed after start works on its first use, and nothing is rebuilt
//! per call.
//! Discovery runs with the operator's own identity: which kinds exist is
//! not a secret, and service accounts need no discovery RBAC.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use kube::Client;
use kube::core::GroupVersion;
use kube::discovery::{ApiResource, Scope, pinned_group};

use crate::error::{Error, Result};

/// Where a kind is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Group, version, kind and plural: what a dynamic `Api` needs.
    pub resource: ApiResource,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
}

/// Kinds by `apiVersion`, then by `kind`.
type Cache = HashMap<String, HashMap<String, Mapping>>;

/// A discovery-backed REST mapper with a cache. Share one per operator
/// (behind an `Arc`).
pub struct RestMapper {
    client: Client,
    cache: RwLock<Cache>,
}

impl RestMapper {
    /// A mapper that discovers through `client`.
    pub fn new(client: Client) -> Self {
        RestMapper {
            client,
            cache: RwLock::default(),
        }
    }

    /// The mapping of `kind` in `api_version`, discovering it on a miss.
    pub async fn mapping(&self, api_version: &str, kind: &str) -> Result<Mapping> {
        if let Some(found) = self.cached(api_version, kind) {
            return Ok(found);
        }
        self.refresh(api_version).await?;
        self.cached(api_version, kind)
            .ok_or_else(|| unknown(api_version, kind))
    }

    /// Forgets what is known about `api_version`, so the next lookup asks
    /// the server again (after a CRD changed its scope or was removed).
    pub fn forget(&self, api_version: &str) {
        self.write().remove(api_version);
    }

    /// Forgets every cached mapping (after any CRD changed).
    pub fn forget_all(&self) {
        self.write().clear();
    }

    fn cached(&self, api_version: &str, kind: &str) -> Option<Mapping> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        cache.get(api_version)?.get(kind).cloned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the resource list of `api_version` and replaces its entry.
    async fn refresh(&self, api_version: &str) -> Result<()> {
        let gv: GroupVersion = api_version.parse().map_err(|_| unknown(api_version, "?"))?;
        let group = match pinned_group(&self.client, &gv).await {
            Ok(group) => group,
            // The whole group/version is not served (yet).
            Err(kube::Error::Api(status)) if status.is_not_found() => return Ok(()),
            Err(source) => {
                return Err(Error::Discovery {
                    api_version: api_version.to_string(),
                    source,
                });
            }
        };
        let kinds = group
            .versioned_resources(&gv.version)
            .into_iter()
            .map(|(resource, caps)| {
                let mapping = Mapping {
                    namespaced: caps.scope == Scope::Namespaced,
                    resource,
                };
                (mapping.resource.kind.clone(), mapping)
            })
            .collect();
        self.write().insert(api_version.to_string(), kinds);
        Ok(())
    }
}

fn unknown(api_version: &str, kind: &str) -> Error {
    Error::UnknownKind {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
    }
}

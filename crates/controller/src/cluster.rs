//! The operator's handle on the cluster: its own client, the shared REST
//! mapper, and the cache of impersonating clients. Build one at start and
//! clone it into every controller; clones share both caches.

use std::sync::Arc;

use integration_api::FIELD_MANAGER;
use kube::Client;

use crate::Impersonation;
use crate::Objects;
use crate::RestMapper;
use crate::Result;

/// Clients and caches shared by every reconcile.
#[derive(Clone)]
pub struct Cluster {
    impersonation: Impersonation,
    mapper: Arc<RestMapper>,
}

impl Cluster {
    /// A handle on the cluster `client` talks to, with the operator's
    /// identity (which needs `impersonate` on `serviceaccounts`).
    pub fn new(client: Client) -> Self {
        Cluster {
            mapper: Arc::new(RestMapper::new(client.clone())),
            impersonation: Impersonation::new(client),
        }
    }

    /// The operator's own client.
    pub fn client(&self) -> &Client {
        self.impersonation.base()
    }

    /// The impersonating clients (shared with the declarative runtime).
    pub fn impersonation(&self) -> &Impersonation {
        &self.impersonation
    }

    /// The shared REST mapper.
    pub fn mapper(&self) -> &Arc<RestMapper> {
        &self.mapper
    }

    /// A client acting as service account `name` of `namespace` (cached).
    pub fn impersonate(&self, namespace: &str, name: &str) -> Result<Client> {
        self.impersonation.client(namespace, name)
    }

    /// Objects of any kind, acting as service account `name` of
    /// `namespace`: how rendered resources and var targets are reached.
    pub fn objects_as(&self, namespace: &str, name: &str) -> Result<Objects> {
        Ok(Objects::new(
            self.impersonate(namespace, name)?,
            self.mapper.clone(),
            FIELD_MANAGER,
        ))
    }

    /// Objects of any kind with the operator's own identity (apparatus
    /// Pods and Services, which the operator itself owns).
    pub fn objects(&self) -> Objects {
        Objects::new(self.client().clone(), self.mapper.clone(), FIELD_MANAGER)
    }
}

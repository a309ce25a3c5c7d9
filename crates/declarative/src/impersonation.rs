//! Clients that act as a service account.
//!
//! What a parent asks for can be applied as
//! `system:serviceaccount:<namespace>:<name>`, so RBAC on that account, not
//! the operator's own power, decides what it may touch. The API server adds the account's groups itself, so only
//! `Impersonate-User` is sent and the operator needs `impersonate` on
//! `serviceaccounts` only.
//!
//! An impersonating client wraps the operator's own client and adds the
//! header per request: it shares the operator's connection pool, TLS setup
//! and credentials, works with any client (including in-process ones), and
//! is built once per account and cached (rather than rebuilt per call).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{HeaderValue, Request, Response};
use kube::Client;
use kube::client::Body;

use crate::error::{Error, Result};

const IMPERSONATE_USER: &str = "impersonate-user";
const IMPERSONATE_GROUP: &str = "impersonate-group";
const IMPERSONATE_UID: &str = "impersonate-uid";

/// The username of service account `name` in `namespace`.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Impersonating clients, one per (namespace, service account), built on
/// the operator's own client. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Impersonation {
    base: Client,
    cache: Arc<Mutex<HashMap<(String, String), Client>>>,
}

impl Impersonation {
    /// Impersonation through `base`, whose identity must be allowed to
    /// `impersonate` service accounts.
    pub fn new(base: Client) -> Self {
        Impersonation {
            base,
            cache: Arc::default(),
        }
    }

    /// The operator's own client.
    pub fn base(&self) -> &Client {
        &self.base
    }

    /// A client acting as service account `name` of `namespace`, from the
    /// cache when one was built before. The cache holds one entry per
    /// account ever used: a handful per namespace with couplings.
    pub fn client(&self, namespace: &str, name: &str) -> Result<Client> {
        let key = (namespace.to_string(), name.to_string());
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = cache.get(&key) {
            return Ok(client.clone());
        }
        let client = self.build(namespace, name)?;
        cache.insert(key, client.clone());
        Ok(client)
    }

    fn build(&self, namespace: &str, name: &str) -> Result<Client> {
        let invalid = || Error::ServiceAccountName {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        if namespace.is_empty() || name.is_empty() {
            return Err(invalid());
        }
        let user =
            HeaderValue::from_str(&service_account_user(namespace, name)).map_err(|_| invalid())?;
        let service = Impersonate {
            inner: self.base.clone(),
            user,
        };
        Ok(Client::new(service, namespace))
    }
}

/// Adds `Impersonate-User` to each request and sends it through the
/// operator's client. Impersonation headers a caller set are replaced, so
/// the account is exactly what the request acts as. (The operator's own
/// client must not impersonate anyone itself, e.g. through a kubeconfig
/// `as:`: its headers would be added on top of these.)
#[derive(Clone)]
struct Impersonate {
    inner: Client,
    user: HeaderValue,
}

impl tower::Service<Request<Body>> for Impersonate {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // `Client::send` waits for readiness itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let headers = request.headers_mut();
        headers.remove(IMPERSONATE_GROUP);
        headers.remove(IMPERSONATE_UID);
        headers.insert(IMPERSONATE_USER, self.user.clone());
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(request).await })
    }
}

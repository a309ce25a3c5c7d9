//! Applying, deleting and recreating objects of any kind.
//!
//! * `apply` is server-side apply with the field manager given at
//!   construction and no force: a field another manager owns is a `Conflict` error, and
//!   fields dropped from a template are pruned by the server.
//! * `delete` uses `propagationPolicy: Background`, so a Job's Pods go with
//!   it (the server default for Jobs orphans them); a missing object is fine.
//! * `recreate` deletes, waits until the old object (by uid) is gone, then
//!   applies: applying straight away could patch the dying
//!   object instead.

use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{Error, Operation, Result};
use crate::mapper::RestMapper;
use crate::object::ObjectRef;

/// How long `recreate` waits for the old object to go by default.
pub const DEFAULT_DELETION_TIMEOUT: Duration = Duration::from_secs(30);

/// Polling interval while waiting for a deletion: starts short (most
/// objects are gone at once) and backs off to this cap.
const MAX_POLL: Duration = Duration::from_secs(1);
const FIRST_POLL: Duration = Duration::from_millis(50);

/// What a delete found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// There was no such object.
    Absent,
    /// The object with this uid is deleted or being deleted (finalizers
    /// may still hold it).
    Requested {
        /// The deleted object's uid.
        uid: Option<String>,
    },
}

/// Objects of any kind, through one client (usually an impersonated
/// service account) and the shared REST mapper.
#[derive(Clone)]
pub struct Objects {
    client: Client,
    mapper: Arc<RestMapper>,
    field_manager: Arc<str>,
    deletion_timeout: Duration,
}

/// A resolved call target: the dynamic API and the object's identity as
/// the server scopes it (no namespace for cluster-scoped kinds).
struct Target {
    api: Api<DynamicObject>,
    object: ObjectRef,
}

impl Objects {
    /// Objects through `client`, mapped by `mapper`, applied as
    /// `field_manager`.
    pub fn new(client: Client, mapper: Arc<RestMapper>, field_manager: &str) -> Self {
        Objects {
            client,
            mapper,
            field_manager: field_manager.into(),
            deletion_timeout: DEFAULT_DELETION_TIMEOUT,
        }
    }

    /// The same objects, applied as another field manager.
    pub fn as_manager(&self, field_manager: &str) -> Self {
        Objects {
            field_manager: field_manager.into(),
            ..self.clone()
        }
    }

    /// How long [`recreate`](Self::recreate) waits for the old object.
    pub fn with_deletion_timeout(mut self, timeout: Duration) -> Self {
        self.deletion_timeout = timeout;
        self
    }

    /// The client calls go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Server-side apply without force; returns the object as stored.
    pub async fn apply(&self, object: &Value) -> Result<DynamicObject> {
        self.apply_with(object, &PatchParams::apply(&self.field_manager))
            .await
    }

    /// Server-side apply taking ownership of conflicting fields (`force`),
    /// for resources that opt into it.
    pub async fn apply_forced(&self, object: &Value) -> Result<DynamicObject> {
        self.apply_with(object, &PatchParams::apply(&self.field_manager).force())
            .await
    }

    async fn apply_with(&self, object: &Value, params: &PatchParams) -> Result<DynamicObject> {
        let target = self.target(&ObjectRef::of(object)?).await?;
        let body = scoped_body(object, &target.object);
        target
            .api
            .patch(&target.object.name, params, &Patch::Apply(&body))
            .await
            .map_err(|e| Error::from_kube(Operation::Apply, &target.object, e))
    }

    /// Deletes with background propagation; a missing object is
    /// [`Deletion::Absent`], not an error.
    pub async fn delete(&self, object: &ObjectRef) -> Result<Deletion> {
        let target = self.target(object).await?;
        self.delete_target(&target, None, DeleteParams::background())
            .await
    }

    /// Deletes the object only while it is the one with `uid` (a uid
    /// precondition), with background propagation, or leaving its
    /// dependents (`orphan`). A missing object, or another one that has
    /// taken the name since, is [`Deletion::Absent`].
    pub async fn delete_exact(
        &self,
        object: &ObjectRef,
        uid: &str,
        orphan: bool,
    ) -> Result<Deletion> {
        let target = self.target(object).await?;
        let params = if orphan {
            DeleteParams::orphan()
        } else {
            DeleteParams::background()
        };
        self.delete_target(&target, Some(uid), params).await
    }

    async fn delete_target(
        &self,
        target: &Target,
        uid: Option<&str>,
        params: DeleteParams,
    ) -> Result<Deletion> {
        let params = DeleteParams {
            preconditions: uid.map(|uid| Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..params
        };
        let deleted = target.api.delete(&target.object.name, &params).await;
        match deleted {
            // The server answers with the deleted object, or with a Status.
            Ok(answer) => Ok(Deletion::Requested {
                uid: answer.either(
                    |obj| obj.metadata.uid,
                    |status| status.details.map(|d| d.uid).filter(|uid| !uid.is_empty()),
                ),
            }),
            Err(kube::Error::Api(status)) if status.is_not_found() => Ok(Deletion::Absent),
            // Only the uid precondition can conflict on a delete.
            Err(kube::Error::Api(status)) if uid.is_some() && status.code == 409 => {
                Ok(Deletion::Absent)
            }
            Err(e) => Err(Error::from_kube(Operation::Delete, &target.object, e)),
        }
    }

    /// Deletes the object, waits (bounded) until it is gone, then applies
    /// `object`. Returns the new object.
    pub async fn recreate(&self, object: &Value) -> Result<DynamicObject> {
        let target = self.target(&ObjectRef::of(object)?).await?;
        if let Deletion::Requested { uid } = self
            .delete_target(&target, None, DeleteParams::background())
            .await?
        {
            self.wait_gone(&target, uid.as_deref()).await?;
        }
        self.apply(object).await
    }

    /// Polls until no object with `uid` (any object, when the uid is
    /// unknown) has the target's name, or the deletion timeout passes.
    /// Polling needs only `get`, which the account needs anyway; a watch
    /// would also need `watch` RBAC on the kind.
    async fn wait_gone(&self, target: &Target, uid: Option<&str>) -> Result<()> {
        let deadline = Instant::now() + self.deletion_timeout;
        let mut pause = FIRST_POLL;
        loop {
            let current = target
                .api
                .get_opt(&target.object.name)
                .await
                .map_err(|e| Error::from_kube(Operation::Get, &target.object, e))?;
            let gone = match (&current, uid) {
                (None, _) => true,
                (Some(obj), Some(uid)) => obj.metadata.uid.as_deref() != Some(uid),
                (Some(_), None) => false,
            };
            if gone {
                return Ok(());
            }
            if Instant::now() + pause > deadline {
                return Err(Error::DeletionTimeout {
                    object: Box::new(target.object.clone()),
                    timeout: self.deletion_timeout,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// Reads one object; `None` when it does not exist.
    pub async fn get(&self, object: &ObjectRef) -> Result<Option<DynamicObject>> {
        let target = self.target(object).await?;
        target
            .api
            .get_opt(&target.object.name)
            .await
            .map_err(|e| Error::from_kube(Operation::Get, &target.object, e))
    }

    /// Maps the object's kind and scopes the API to its namespace.
    async fn target(&self, object: &ObjectRef) -> Result<Target> {
        let mapping = self
            .mapper
            .mapping(&object.api_version, &object.kind)
            .await?;
        let client = self.client.clone();
        let (api, namespace) = if mapping.namespaced {
            let ns = object.namespace.as_deref().ok_or(Error::Incomplete {
                field: "metadata.namespace",
            })?;
            (
                Api::namespaced_with(client, ns, &mapping.resource),
                Some(ns),
            )
        } else {
            (Api::all_with(client, &mapping.resource), None)
        };
        let object = ObjectRef::new(&object.api_version, &object.kind, namespace, &object.name);
        Ok(Target { api, object })
    }
}

/// The body to apply: the server rejects a namespace on a cluster-scoped
/// object's URL, so it is dropped there.
fn scoped_body(object: &Value, target: &ObjectRef) -> Value {
    let mut body = object.clone();
    if target.namespace.is_none()
        && let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.remove("namespace");
    }
    body
}

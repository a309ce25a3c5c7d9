//! The DeferredResource controller, on the declarative runtime
//! (`kube-declarative`): [`decide`] is the pure part (what to do from the
//! DR, what it looked up and the time), this module registers it.
//!
//! The DR's one child is `spec.resource`. It is applied as the DR's
//! service account, unmarked (no label, no ownerReference: the object may
//! be of any kind, even cluster-scoped, and outlives nothing it should
//! not), and recognised by the uid the DR's status records. Its kind is
//! not watched: the DR looks it up, with its `waitFor` objects, on each
//! pass, and wakes itself on timers (the delay, the poll, `failAfter`).

pub mod decide;

use std::time::Duration;

use integration_api::{DeferredResource, DeferredResourceStatus};
use kube::ResourceExt;
use kube_declarative::{Declarative, Desired, ServiceAccount, Snapshot};

pub use decide::DEFAULT_POLL;

/// The DeferredResource controller.
pub struct Deferred {
    /// How often a DR waiting for objects looks again, and a `keepApplied`
    /// one applies again.
    pub poll: Duration,
}

impl Declarative for Deferred {
    type Parent = DeferredResource;
    type Status = DeferredResourceStatus;

    fn status(dr: &DeferredResource) -> Option<&DeferredResourceStatus> {
        dr.status.as_ref()
    }

    fn with_status(dr: &DeferredResource, status: DeferredResourceStatus) -> DeferredResource {
        let mut dr = dr.clone();
        dr.status = Some(status);
        dr
    }

    fn acts_as(&self, dr: &DeferredResource) -> Option<ServiceAccount> {
        Some(ServiceAccount {
            namespace: dr.namespace().unwrap_or_default(),
            name: dr.spec.service_account_name().to_string(),
        })
    }

    fn lookups(&self, dr: &DeferredResource) -> Vec<crate::ObjectRef> {
        decide::lookups(dr)
    }

    fn sync(&self, snapshot: &Snapshot<DeferredResource>) -> Desired<DeferredResourceStatus> {
        decide::sync(snapshot, self.poll)
    }
}

//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several
//! replicas only one runs the controllers.
//!
//! The algorithm is client-go's: a contender takes the Lease when nobody
//! holds it, or when the holder's record has not changed for the lease
//! duration *as this contender observed it* (its own monotonic clock, so
//! clock skew between nodes does not matter); the holder renews every retry
//! period and gives up when no renewal succeeded within the renew deadline.
//! Every write is an update with the Lease's `resourceVersion`, so two
//! contenders never both win. A holder that shuts down cleanly releases the
//! Lease, so a standby takes over within a retry period.
//!
//! No maintained crate fits: `kube-lease-manager` (kube 5) counts in whole
//! seconds and has no renew deadline, so tests could not shorten the
//! durations and a leader could not tell that it stopped renewing.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use futures::channel::oneshot;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::time::Instant;

/// Default name of the Lease.
pub const DEFAULT_LEASE_NAME: &str = "integration-operator";
/// How long a holder's record stays valid without renewal.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// How long a holder keeps leading while its renewals fail.
pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often contenders try to take the Lease and the holder renews it.
pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Which Lease to contend for, as whom, and how fast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// Namespace of the Lease (the operator's own).
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This contender's `holderIdentity`; unique per process.
    pub identity: String,
    /// See [`DEFAULT_LEASE_DURATION`].
    pub lease_duration: Duration,
    /// See [`DEFAULT_RENEW_DEADLINE`]; shorter than the lease duration.
    pub renew_deadline: Duration,
    /// See [`DEFAULT_RETRY_PERIOD`]; shorter than the renew deadline.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// The Lease [`DEFAULT_LEASE_NAME`] in `namespace` with the default
    /// durations.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaseConfig {
            namespace: namespace.into(),
            name: DEFAULT_LEASE_NAME.to_string(),
            identity: identity.into(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_deadline: DEFAULT_RENEW_DEADLINE,
            retry_period: DEFAULT_RETRY_PERIOD,
        }
    }

    /// Rejects durations that would let two leaders overlap or never renew.
    pub fn validate(&self) -> Result<(), LeaderError> {
        let ordered = self.retry_period < self.renew_deadline
            && self.renew_deadline < self.lease_duration
            && !self.retry_period.is_zero();
        if ordered && !self.identity.is_empty() && !self.name.is_empty() {
            return Ok(());
        }
        Err(LeaderError::Config(format!(
            "need 0 < retry period ({:?}) < renew deadline ({:?}) < lease duration ({:?}) \
             and a non-empty lease name and identity",
            self.retry_period, self.renew_deadline, self.lease_duration
        )))
    }

    fn lease(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Why leading ended other than by shutdown.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The durations or names make no sense.
    #[error("invalid leader election settings: {0}")]
    Config(String),
    /// Renewals kept failing until the renew deadline passed.
    #[error("lost the leader lease {lease}: not renewed within {deadline:?} ({last_error})")]
    NotRenewed {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The renew deadline.
        deadline: Duration,
        /// The last failure.
        last_error: String,
    },
    /// Someone else holds the Lease now.
    #[error("lost the leader lease {lease}: it is held by {holder:?} now")]
    TakenOver {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The new holder.
        holder: String,
    },
}

/// Completes when the work started by [`run_elected`] should stop
/// gracefully (the process is shutting down).
#[derive(Debug)]
pub struct Stop(oneshot::Receiver<()>);

impl Future for Stop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// Runs `lead` only while this process holds the Lease of `config`.
///
/// Waits until it takes the Lease (or `shutdown` completes: then it returns
/// `Ok` without leading), calls `on_change(true)`, and runs `lead(stop)`
/// while renewing. On `shutdown` it completes `stop`, waits for the work to
/// finish (still renewing), releases the Lease and returns `Ok`. If the
/// Lease is lost, the work is dropped at once and the error returned: the
/// caller should exit non-zero, as the standard pattern restarts the pod.
/// `on_change(false)` is called when leading ends either way.
pub async fn run_elected<W>(
    client: Client,
    config: LeaseConfig,
    shutdown: impl Future<Output = ()>,
    on_change: impl Fn(bool),
    lead: impl FnOnce(Stop) -> W,
) -> Result<(), LeaderError>
where
    W: Future<Output = ()>,
{
    config.validate()?;
    let mut elector = Elector::new(client, config);
    let mut shutdown = pin!(shutdown);
    tokio::select! {
        () = &mut shutdown => return Ok(()),
        () = elector.acquire() => {}
    }
    tracing::info!(lease = %elector.config.lease(), identity = %elector.config.identity, "became leader");
    on_change(true);
    let (stop_tx, stop_rx) = oneshot::channel();
    let work = lead(Stop(stop_rx));
    let stopping = async move {
        shutdown.await;
        let _ = stop_tx.send(());
        std::future::pending::<()>().await;
    };
    let outcome = tokio::select! {
        () = work => Ok(()),
        lost = elector.keep() => Err(lost),
        () = stopping => Ok(()),
    };
    on_change(false);
    match &outcome {
        Ok(()) => elector.release().await,
        Err(e) => tracing::error!(error = %e, "stopped leading"),
    }
    outcome
}

/// The last Lease record seen and when it was first seen.
#[derive(Debug)]
struct Observed {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    at: Instant,
}

/// One contender's view of the Lease.
struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
    observed: Option<Observed>,
}

/// What one attempt to take or renew the Lease found.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    /// We hold the Lease (taken or renewed).
    Held,
    /// Another contender holds it, validly.
    HeldBy(String),
    /// Someone wrote the Lease between our read and our write.
    Conflict,
}

impl Elector {
    fn new(client: Client, config: LeaseConfig) -> Self {
        Elector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
        }
    }

    /// Tries every retry period until this contender holds the Lease.
    async fn acquire(&mut self) {
        loop {
            match self.attempt().await {
                Ok(Attempt::Held) => return,
                Ok(Attempt::HeldBy(holder)) => {
                    tracing::debug!(lease = %self.config.lease(), %holder, "lease held by another contender");
                }
                Ok(Attempt::Conflict) => {}
                Err(e) => {
                    tracing::warn!(lease = %self.config.lease(), error = %e, "cannot take the lease")
                }
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews every retry period; returns why leading ended.
    async fn keep(&mut self) -> LeaderError {
        let mut renewed = Instant::now();
        let mut last_error = String::from("no attempt finished");
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            let left = self.config.renew_deadline.saturating_sub(renewed.elapsed());
            match tokio::time::timeout(left, self.attempt()).await {
                Ok(Ok(Attempt::Held)) => renewed = Instant::now(),
                Ok(Ok(Attempt::HeldBy(holder))) => {
                    return LeaderError::TakenOver {
                        lease: self.config.lease(),
                        holder,
                    };
                }
                Ok(Ok(Attempt::Conflict)) => last_error = "conflicting write".to_string(),
                Ok(Err(e)) => {
                    tracing::warn!(lease = %self.config.lease(), error = %e, "cannot renew the lease");
                    last_error = e.to_string();
                }
                Err(_) => last_error = "renewal timed out".to_string(),
            }
            if renewed.elapsed() >= self.config.renew_deadline {
                return LeaderError::NotRenewed {
                    lease: self.config.lease(),
                    deadline: self.config.renew_deadline,
                    last_error,
                };
            }
        }
    }

    /// One read and, when the Lease is ours to take or renew, one write.
    async fn attempt(&mut self) -> Result<Attempt, kube::Error> {
        let Some(lease) = self.api.get_opt(&self.config.name).await? else {
            return self.write(self.api.create(&PostParams::default(), &self.fresh()).await);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let now = Instant::now();
        self.observe(&spec, now);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        if let Some(holder) = holder.filter(|h| *h != self.config.identity)
            && !self.expired(now)
        {
            return Ok(Attempt::HeldBy(holder));
        }
        let updated = Lease {
            metadata: lease.metadata.clone(),
            spec: Some(self.claim(spec)),
        };
        let written = self
            .api
            .replace(&self.config.name, &PostParams::default(), &updated)
            .await;
        self.write(written)
    }

    /// The outcome of a create or replace; a conflict is not an error.
    fn write(&mut self, written: Result<Lease, kube::Error>) -> Result<Attempt, kube::Error> {
        match written {
            Ok(lease) => {
                self.observe(&lease.spec.unwrap_or_default(), Instant::now());
                Ok(Attempt::Held)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Conflict),
            Err(e) => Err(e),
        }
    }

    /// Notes the record's holder and renew time, restarting the expiry
    /// clock when they changed.
    fn observe(&mut self, spec: &LeaseSpec, now: Instant) {
        let same = self
            .observed
            .as_ref()
            .is_some_and(|o| o.holder == spec.holder_identity && o.renew_time == spec.renew_time);
        if !same {
            self.observed = Some(Observed {
                holder: spec.holder_identity.clone(),
                renew_time: spec.renew_time.clone(),
                at: now,
            });
        }
    }

    /// Whether the observed record went unrenewed for the lease duration.
    fn expired(&self, now: Instant) -> bool {
        self.observed
            .as_ref()
            .is_none_or(|o| now.duration_since(o.at) >= self.config.lease_duration)
    }

    /// The spec with this contender holding the Lease, renewed now.
    fn claim(&self, mut spec: LeaseSpec) -> LeaseSpec {
        let now = MicroTime(jiff::Timestamp::now());
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            spec.acquire_time = Some(now.clone());
            if spec
                .holder_identity
                .as_deref()
                .is_some_and(|h| !h.is_empty())
            {
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
        }
        spec.holder_identity = Some(self.config.identity.clone());
        spec.lease_duration_seconds = Some(whole_seconds(self.config.lease_duration));
        spec.renew_time = Some(now);
        spec
    }

    /// A new Lease held by this contender.
    fn fresh(&self) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(self.config.name.clone()),
                namespace: Some(self.config.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                lease_transitions: Some(0),
                ..self.claim(LeaseSpec::default())
            }),
        }
    }

    /// Gives the Lease up if this contender still holds it, so a standby
    /// takes over at its next try instead of after the lease duration.
    async fn release(&mut self) {
        let lease = match self.api.get_opt(&self.config.name).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(lease = %self.config.lease(), error = %e, "cannot release the lease");
                return;
            }
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
        let released = Lease {
            metadata: lease.metadata,
            spec: Some(spec),
        };
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &released)
            .await
        {
            Ok(_) => tracing::info!(lease = %self.config.lease(), "released the lease"),
            Err(e) => {
                tracing::warn!(lease = %self.config.lease(), error = %e, "cannot release the lease")
            }
        }
    }
}

/// `leaseDurationSeconds` for a duration: whole seconds, at least 1.
fn whole_seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_specified_ones_and_valid() {
        let c = LeaseConfig::new("integration-system", "pod-1_abc");
        assert_eq!(c.name, "integration-operator");
        assert_eq!(
            (c.lease_duration, c.renew_deadline, c.retry_period),
            (
                Duration::from_secs(15),
                Duration::from_secs(10),
                Duration::from_secs(2)
            )
        );
        assert!(c.validate().is_ok());
    }

    #[test]
    fn rejects_unordered_durations_and_empty_identity() {
        let mut c = LeaseConfig::new("ns", "me");
        c.renew_deadline = c.lease_duration;
        assert!(matches!(c.validate(), Err(LeaderError::Config(_))));
        let mut c = LeaseConfig::new("ns", "me");
        c.retry_period = Duration::ZERO;
        assert!(c.validate().is_err());
        assert!(LeaseConfig::new("ns", "").validate().is_err());
    }

    #[test]
    fn lease_seconds_round_up() {
        assert_eq!(whole_seconds(Duration::from_millis(300)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(15)), 15);
    }
}

//! How apparatus calls, starts and the reaper behave: the `run` flags
//! that concern apparatuses, with their defaults.

use std::time::Duration;

/// Default delay before a pass that started an apparatus runs again.
pub const DEFAULT_START_DELAY: Duration = Duration::from_secs(10);
/// Default time an apparatus Pod may stay unreachable after its creation
/// before calls to it count as failures.
pub const DEFAULT_START_GRACE: Duration = Duration::from_secs(120);
/// Default period of the idle reaper.
pub const DEFAULT_REAP_PERIOD: Duration = Duration::from_secs(10);
/// Default cluster DNS domain of apparatus Service URLs.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// How apparatus calls, starts and the reaper behave.
#[derive(Clone, Debug)]
pub struct ApparatusOptions {
    /// DNS domain of the cluster, for `<owner>-apparatus.<ns>.svc.<domain>`.
    pub cluster_domain: String,
    /// Base URL of every plug's apparatus (`DEBUG_PLUG_ENDPOINT`).
    pub plug_endpoint: Option<String>,
    /// Base URL of every socket's apparatus (`DEBUG_SOCKET_ENDPOINT`).
    pub socket_endpoint: Option<String>,
    /// Delay before a pass that started an apparatus runs again.
    pub start_delay: Duration,
    /// How long after its creation an unreachable apparatus Pod counts as
    /// starting (silent retries) rather than failing.
    pub start_grace: Duration,
    /// How often the reaper looks for idle apparatus Pods.
    pub reap_period: Duration,
    /// The endpoint overrides are servers run by hand (`dev`): no Pod or
    /// Service is created for a side that has one. `run` keeps starting
    /// them (the override only redirects the calls).
    pub overrides_are_local: bool,
}

impl Default for ApparatusOptions {
    fn default() -> Self {
        ApparatusOptions {
            cluster_domain: DEFAULT_CLUSTER_DOMAIN.to_string(),
            plug_endpoint: None,
            socket_endpoint: None,
            start_delay: DEFAULT_START_DELAY,
            start_grace: DEFAULT_START_GRACE,
            reap_period: DEFAULT_REAP_PERIOD,
            overrides_are_local: false,
        }
    }
}

//! Per-object exponential backoff after failed passes, and the key objects
//! are counted (and logged) under.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use kube::Resource;

/// First retry delay after a failure; doubles per consecutive failure.
const BASE: Duration = Duration::from_millis(500);
/// Longest retry delay.
const MAX: Duration = Duration::from_secs(300);

/// Consecutive failures per object key: 0.5 s after the first, doubling
/// to 5 minutes; a success starts over.
#[derive(Debug, Default)]
pub struct Backoff(Mutex<HashMap<String, u32>>);

impl Backoff {
    /// Records one more failure of `key`; the delay before its retry.
    pub fn failed(&self, key: &str) -> Duration {
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = failures.entry(key.to_string()).or_default();
        *n = n.saturating_add(1);
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
        BASE.saturating_mul(factor).min(MAX)
    }

    /// Forgets the failures of `key` after a success.
    pub fn succeeded(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// An object's key in logs and for counting its failures:
/// `Kind/namespace/name`.
pub fn object_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        object.meta().namespace.as_deref().unwrap_or_default(),
        object.meta().name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_failure_up_to_five_minutes_and_resets() {
        let backoff = Backoff::default();
        let delays: Vec<_> = (0..3).map(|_| backoff.failed("a")).collect();
        assert_eq!(delays, [BASE, BASE * 2, BASE * 4]);
        assert_eq!(backoff.failed("b"), BASE, "per key");
        for _ in 0..40 {
            backoff.failed("a");
        }
        assert_eq!(backoff.failed("a"), MAX);
        backoff.succeeded("a");
        assert_eq!(backoff.failed("a"), BASE);
    }
}

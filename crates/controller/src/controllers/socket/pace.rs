//! Spacing of the socket status writes that only change which plugs the
//! status lists.
//!
//! Every coupling changes its socket's `coupledPlugs` (and the count in
//! the `Coupled` message). When many plugs couple at once, a write for
//! each is a write and a watch event of an object that grows with every
//! plug: O(N²) bytes for N plugs, for the API server, the watchers and the
//! operator. Such a change waits until [`PACE`] has passed since the
//! socket's last status write, and the changes of that time fold into one
//! write. Any other change (the condition's status or reason, a failure,
//! the admission ledger, a deletion) is written at once; so is the first
//! change after a quiet time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The least time between two status writes of a socket when the second
/// only changes which plugs it lists.
pub const PACE: Duration = Duration::from_secs(1);

/// When each socket's status was last written, by socket uid. Only sockets
/// written within the last interval are remembered.
#[derive(Debug)]
pub struct Pace {
    interval: Duration,
    last: Mutex<HashMap<String, Instant>>,
}

impl Default for Pace {
    fn default() -> Self {
        Pace::new(PACE)
    }
}

impl Pace {
    /// Spaces writes by `interval`.
    pub fn new(interval: Duration) -> Self {
        Pace {
            interval,
            last: Mutex::default(),
        }
    }

    /// How long a write of the socket `uid` that only changes its plugs
    /// must still wait at `now`: none when its last write is an interval
    /// old or more.
    pub fn wait(&self, uid: &str, now: Instant) -> Option<Duration> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let due = *last.get(uid)? + self.interval;
        due.checked_duration_since(now).filter(|d| !d.is_zero())
    }

    /// Notes a status write of the socket `uid` at `now`, and forgets the
    /// sockets whose last write is an interval old.
    pub fn wrote(&self, uid: &str, now: Instant) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.retain(|_, at| now.saturating_duration_since(*at) < self.interval);
        last.insert(uid.to_string(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_waits_out_the_interval_since_the_last_one() {
        let pace = Pace::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(pace.wait("s1", t0), None, "never written: at once");
        pace.wrote("s1", t0);
        let later = t0 + Duration::from_millis(300);
        assert_eq!(pace.wait("s1", later), Some(Duration::from_millis(700)));
        assert_eq!(pace.wait("s2", later), None, "each socket has its own");
        assert_eq!(pace.wait("s1", t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn only_sockets_written_within_the_interval_are_remembered() {
        let pace = Pace::new(Duration::from_secs(1));
        let t0 = Instant::now();
        pace.wrote("s1", t0);
        pace.wrote("s2", t0 + Duration::from_secs(2));
        let last = pace.last.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(last.keys().collect::<Vec<_>>(), ["s2"]);
    }
}

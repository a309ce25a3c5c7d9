//! Whether a watch cache holds its first complete list, for any number of
//! readers and waiters.
//!
//! kube-runtime's own signal, [`Store::wait_until_ready`], keeps a single
//! waker: of several tasks waiting at once only the last to poll wakes, and
//! checking it with a no-op waker (as a metrics scrape would) takes the
//! place of the controller's own runner. Other tasks read this
//! flag instead, set from the same watch events the cache applies.
//!
//! [`Store::wait_until_ready`]: kube::runtime::reflector::Store::wait_until_ready

use kube::runtime::watcher;
use tokio::sync::watch;

/// Sets the flag: follows a cache's watch events.
#[derive(Debug)]
pub struct Lister(watch::Sender<bool>);

/// Reads the flag.
#[derive(Clone, Debug)]
pub struct Listed(watch::Receiver<bool>);

/// A new flag, not set.
pub fn listed() -> (Lister, Listed) {
    let (tx, rx) = watch::channel(false);
    (Lister(tx), Listed(rx))
}

impl Lister {
    /// Sets the flag at the end of a cache's first list.
    pub fn observe<K>(&self, event: &watcher::Event<K>) {
        if matches!(event, watcher::Event::InitDone) {
            self.0
                .send_if_modified(|done| !std::mem::replace(done, true));
        }
    }
}

impl Listed {
    /// Whether the first list is complete.
    pub fn now(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until the first list is complete; `false` if the watch ended
    /// before.
    pub async fn wait(&self) -> bool {
        let mut rx = self.0.clone();
        rx.wait_for(|done| *done).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_waiter_wakes_once_the_list_is_done() {
        let (lister, listed) = listed();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                tokio::spawn({
                    let listed = listed.clone();
                    async move { listed.wait().await }
                })
            })
            .collect();
        lister.observe::<()>(&watcher::Event::Init);
        assert!(!listed.now());
        lister.observe::<()>(&watcher::Event::InitDone);
        assert!(listed.now());
        for waiter in waiters {
            assert!(waiter.await.unwrap_or(false));
        }
        drop(lister);
        assert!(listed.wait().await, "still set once the watch ended");
    }
}

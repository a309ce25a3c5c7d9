//! Indexes kept from the events of a plug watch, through relists as a
//! watch cache is: the entries of a (re-)list are collected and swapped in
//! at once when it completes, so a lookup never sees half a list.

use std::collections::HashMap;

use kube::Resource;
use kube::runtime::watcher;

/// A plug, by namespace and name.
pub type PlugKey = (String, String);

/// What an index keeps of each plug, and how it takes a change.
pub trait PlugIndex {
    /// The watched object: a Plug, or what a watch keeps of one.
    type Object: Resource;
    /// What the index keeps of one plug.
    type Entry;
    /// What a change reports to the caller (say, the sockets it touches).
    type Touched: Default;

    /// What the index keeps of `object`; `None` when nothing.
    fn entry(object: &Self::Object) -> Option<Self::Entry>;

    /// Replaces what the index holds of the plug `key` (`None`: nothing,
    /// or the plug is gone).
    fn set(&mut self, key: PlugKey, entry: Option<Self::Entry>) -> Self::Touched;

    /// Replaces everything with a completed listing.
    fn replace(&mut self, listed: HashMap<PlugKey, Self::Entry>);
}

/// An index and the relist in progress.
pub struct Relisted<I: PlugIndex> {
    /// The index as of the last event.
    pub index: I,
    listing: Option<HashMap<PlugKey, I::Entry>>,
}

impl<I: PlugIndex + Default> Default for Relisted<I> {
    fn default() -> Self {
        Relisted {
            index: I::default(),
            listing: None,
        }
    }
}

impl<I: PlugIndex> Relisted<I> {
    /// Follows one event of the watch. A (re-)list reports nothing.
    pub fn observe(&mut self, event: &watcher::Event<I::Object>) -> I::Touched {
        match event {
            watcher::Event::Apply(plug) => return self.index.set(key(plug), I::entry(plug)),
            watcher::Event::Delete(plug) => return self.index.set(key(plug), None),
            watcher::Event::Init => self.listing = Some(HashMap::new()),
            watcher::Event::InitApply(plug) => {
                if let Some(entry) = I::entry(plug) {
                    let listing = self.listing.get_or_insert_default();
                    listing.insert(key(plug), entry);
                }
            }
            watcher::Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                self.index.replace(listed);
            }
        }
        I::Touched::default()
    }
}

/// The namespace and name of `plug`.
pub fn key(plug: &impl Resource) -> PlugKey {
    let meta = plug.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

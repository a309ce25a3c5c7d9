//! The socket controller's cache of plugs: for each plug only its links
//! (the socket it names, the one it is coupled to), and the plugs coupled
//! to each socket, kept from the events of the plug watch that triggers
//! socket passes.
//!
//! A socket pass lists the plugs coupled to its socket. Scanning every
//! cached plug for them cost O(plugs) per pass, and there is a pass for
//! nearly every coupling: quadratic at 10,000 plugs. Here the list is a
//! lookup, and a plug costs a few small strings instead of a cached object.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use integration_api::{API_VERSION, CoupledRef, Linked, PlugLink, Socket};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use kube_declarative::listed::{Listed, Lister, listed};

use crate::plug_index::{PlugIndex, PlugKey, Relisted};

/// What a socket pass reads of one plug.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    uid: String,
    socket: Option<(String, String)>,
    coupled: Option<CoupledRef>,
}

impl Link {
    /// The sockets a pass of which reads this link: the one it names and
    /// the one it is coupled to.
    fn sockets(&self) -> impl Iterator<Item = ObjectRef<Socket>> + '_ {
        let named = self.socket.iter().map(|(ns, name)| (ns, name));
        let coupled = self.coupled.iter().map(|c| (&c.namespace, &c.name));
        named
            .chain(coupled)
            .map(|(ns, name)| ObjectRef::new(name).within(ns))
    }
}

impl Linked for Link {
    fn plug_uid(&self) -> Option<&str> {
        Some(&self.uid)
    }
    fn socket_key(&self) -> Option<(String, String)> {
        self.socket.clone()
    }
    fn coupled_socket(&self) -> Option<&CoupledRef> {
        self.coupled.as_ref()
    }
}

/// The cache: see the module docs.
pub struct PlugLinks {
    links: Mutex<Relisted<Links>>,
    /// Whether the first list of plugs is complete.
    lister: Lister,
    listed: Listed,
}

#[derive(Default)]
struct Links {
    by_plug: HashMap<PlugKey, Link>,
    /// The plugs coupled to each socket, by the socket's uid.
    coupled: HashMap<String, BTreeSet<PlugKey>>,
}

impl Default for PlugLinks {
    fn default() -> Self {
        let (lister, listed) = listed();
        PlugLinks {
            links: Mutex::default(),
            lister,
            listed,
        }
    }
}

impl PlugLinks {
    /// Follows one event of the plug watch. Returns the sockets whose
    /// passes it may change: when the plug's links changed, the sockets it
    /// named or was coupled to, before and after. A (re-)list returns none:
    /// once complete it passes over every socket.
    pub fn observe(&self, event: &watcher::Event<PlugLink>) -> Vec<ObjectRef<Socket>> {
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let touched = links.observe(event);
        drop(links);
        self.lister.observe(event);
        touched
    }

    /// Waits until the first list of plugs is complete.
    pub async fn ready(&self) {
        // The flag's writer lives as long as `self`: it cannot end first.
        self.listed.wait().await;
    }

    /// The plugs coupled to the socket with `socket_uid`, as `coupledPlugs`
    /// lists them: sorted by namespace, then name.
    pub fn coupled_to(&self, socket_uid: &str) -> Vec<CoupledRef> {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let links = &links.index;
        let Some(keys) = links.coupled.get(socket_uid) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| Some(plug_ref(&k.0, &k.1, &links.by_plug.get(k)?.uid)))
            .collect()
    }

    /// How many plugs are coupled to the socket with `socket_uid`.
    pub fn count_coupled(&self, socket_uid: &str) -> usize {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links.index.coupled.get(socket_uid).map_or(0, BTreeSet::len)
    }

    /// The plug `namespace/name`, if the cache holds it.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Link> {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links
            .index
            .by_plug
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }
}

/// A `coupledPlugs` entry.
pub fn plug_ref(namespace: &str, name: &str, uid: &str) -> CoupledRef {
    CoupledRef {
        api_version: API_VERSION.to_string(),
        kind: "Plug".to_string(),
        name: name.to_string(),
        namespace: namespace.to_string(),
        uid: uid.to_string(),
    }
}

impl PlugIndex for Links {
    type Object = PlugLink;
    type Entry = Link;
    type Touched = Vec<ObjectRef<Socket>>;

    fn entry(plug: &PlugLink) -> Option<Link> {
        Some(Link {
            uid: plug.metadata.uid.clone().unwrap_or_default(),
            socket: plug.socket_key(),
            coupled: plug.coupled_socket().cloned(),
        })
    }

    /// Returns the sockets of the old and the new links when they differ.
    fn set(&mut self, key: PlugKey, link: Option<Link>) -> Vec<ObjectRef<Socket>> {
        let old = match &link {
            Some(link) => self.by_plug.insert(key.clone(), link.clone()),
            None => self.by_plug.remove(&key),
        };
        if old == link {
            return Vec::new();
        }
        let mut touched: Vec<ObjectRef<Socket>> =
            old.iter().chain(&link).flat_map(Link::sockets).collect();
        touched.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        touched.dedup();
        if let Some(socket) = old.and_then(|o| o.coupled) {
            self.uncouple(&socket.uid, &key);
        }
        if let Some(socket) = link.and_then(|l| l.coupled) {
            self.coupled.entry(socket.uid).or_default().insert(key);
        }
        touched
    }

    /// Replaces everything with a completed listing.
    fn replace(&mut self, listed: HashMap<PlugKey, Link>) {
        self.coupled.clear();
        for (key, link) in &listed {
            if let Some(socket) = &link.coupled {
                let keys = self.coupled.entry(socket.uid.clone()).or_default();
                keys.insert(key.clone());
            }
        }
        self.by_plug = listed;
    }
}

impl Links {
    fn uncouple(&mut self, socket_uid: &str, key: &PlugKey) {
        if let Some(keys) = self.coupled.get_mut(socket_uid) {
            keys.remove(key);
            if keys.is_empty() {
                self.coupled.remove(socket_uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn plug(name: &str, coupled: Option<&str>) -> PlugLink {
        plug_on(name, "s", coupled.map(|uid| ("s", uid)))
    }

    /// Plug `app/name` naming socket `db/socket`, coupled to `db/<name>`
    /// with that uid.
    fn plug_on(name: &str, socket: &str, coupled: Option<(&str, &str)>) -> PlugLink {
        let status = coupled.map(|(socket, uid)| {
            json!({"coupledSocket": {"apiVersion": API_VERSION, "kind": "Socket",
                "name": socket, "namespace": "db", "uid": uid}})
        });
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "app", "uid": format!("u-{name}")},
            "spec": {"socket": {"name": socket, "namespace": "db"}},
            "status": status
        }))
        .unwrap()
    }

    fn names(refs: Vec<CoupledRef>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    #[tokio::test]
    async fn coupled_plugs_follow_the_watch() {
        let links = PlugLinks::default();
        links.observe(&watcher::Event::Init);
        links.observe(&watcher::Event::InitApply(plug("b", Some("s1"))));
        assert!(
            links.coupled_to("s1").is_empty(),
            "not before the list is done"
        );
        links.observe(&watcher::Event::InitDone);
        links.ready().await;
        links.observe(&watcher::Event::Apply(plug("a", Some("s1"))));
        links.observe(&watcher::Event::Apply(plug("c", None)));
        assert_eq!(names(links.coupled_to("s1")), ["a", "b"]);
        assert_eq!(links.count_coupled("s1"), 2);
        assert_eq!(links.coupled_to("s1")[0], plug_ref("app", "a", "u-a"));
        // Re-coupled elsewhere, decoupled, deleted: gone from the list.
        links.observe(&watcher::Event::Apply(plug("a", Some("s2"))));
        assert_eq!(names(links.coupled_to("s1")), ["b"]);
        assert_eq!(names(links.coupled_to("s2")), ["a"]);
        links.observe(&watcher::Event::Apply(plug("a", None)));
        links.observe(&watcher::Event::Delete(plug("b", Some("s1"))));
        assert!(links.coupled_to("s1").is_empty());
        assert!(links.coupled_to("s2").is_empty());
        let c = links.get("app", "c").unwrap();
        assert_eq!(c.socket_key(), Some(("db".into(), "s".into())));
        assert!(links.get("app", "b").is_none());
        // A relist replaces what was there.
        links.observe(&watcher::Event::Init);
        links.observe(&watcher::Event::InitApply(plug("d", Some("s1"))));
        links.observe(&watcher::Event::InitDone);
        assert_eq!(names(links.coupled_to("s1")), ["d"]);
        assert!(links.get("app", "c").is_none());
    }

    #[test]
    fn a_change_of_links_touches_the_sockets_before_and_after() {
        let links = PlugLinks::default();
        let touched = |event: watcher::Event<PlugLink>| -> Vec<String> {
            let refs = links.observe(&event);
            refs.iter().map(|r| r.name.clone()).collect()
        };
        let apply = watcher::Event::Apply;
        assert_eq!(touched(apply(plug_on("a", "s1", None))), ["s1"]);
        assert!(
            touched(apply(plug_on("a", "s1", None))).is_empty(),
            "links unchanged: no socket pass"
        );
        assert_eq!(
            touched(apply(plug_on("a", "s1", Some(("s1", "u1"))))),
            ["s1"]
        );
        // Moved to s2 while still coupled to s1, then decoupled.
        let moved = plug_on("a", "s2", Some(("s1", "u1")));
        assert_eq!(touched(apply(moved)), ["s1", "s2"]);
        assert_eq!(touched(apply(plug_on("a", "s2", None))), ["s1", "s2"]);
        assert_eq!(
            touched(watcher::Event::Delete(plug_on("a", "s2", None))),
            ["s2"]
        );
        // A listing touches none: its end passes over every socket.
        assert!(touched(watcher::Event::Init).is_empty());
        assert!(touched(watcher::Event::InitApply(plug_on("b", "s3", None))).is_empty());
        assert!(touched(watcher::Event::InitDone).is_empty());
    }
}

//! The registry of served resource types: the built-in kinds the operator and its users touch,
//! plus whatever CustomResourceDefinitions register.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// Storage identity of a resource: (group, plural). All versions of a CRD share one storage.
pub type Gr = (String, String);

/// Which rule a kind's object names are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain (most kinds).
    Subdomain,
    /// DNS-1123 label (namespaces).
    Label,
    /// DNS-1035 label (services).
    Label1035,
    /// Any path segment (RBAC kinds, whose names hold colons).
    PathSegment,
}

/// A type whose objects live in another type's store, converted on the way in and out (see
/// [`crate::convert`]), as a real server keeps one internal version per resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredAs {
    /// `events.k8s.io/v1` Events are `core/v1` Events.
    CoreEvent,
}

impl StoredAs {
    /// The (group, version, plural) of the type the objects are stored as.
    pub fn storage(self) -> (&'static str, &'static str, &'static str) {
        match self {
            StoredAs::CoreEvent => ("", "v1", "events"),
        }
    }
}

/// One served (group, version, resource).
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Has a `/status` subresource: status is isolated from the main resource.
    pub status: bool,
    /// Bumps `metadata.generation` on spec changes.
    pub generation: bool,
    /// Built-in kinds accept strategic merge patch; custom resources do not.
    pub builtin: bool,
    pub name_rule: NameRule,
    /// Create-only virtual kinds (access reviews) that are never stored.
    pub virtual_only: bool,
    /// The CRD's `openAPIV3Schema` for this version.
    pub schema: Option<Arc<Value>>,
    /// Stored as another type's objects (`None`: as itself).
    pub stored_as: Option<StoredAs>,
    /// The CRD version's `additionalPrinterColumns` (for Table output).
    pub printer_columns: Vec<Value>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether `api_version` is this type's (`v1`, `apps/v1`), without building the string.
    pub fn is_api_version(&self, api_version: &str) -> bool {
        match api_version.split_once('/') {
            Some((group, version)) => group == self.group && version == self.version,
            None => self.group.is_empty() && api_version == self.version,
        }
    }

    /// Storage identity: where this type's objects live (shared by all versions, and by a
    /// type stored as another).
    pub fn gr(&self) -> Gr {
        match self.stored_as {
            Some(s) => {
                let (group, _, plural) = s.storage();
                (group.to_string(), plural.to_string())
            }
            None => (self.group.clone(), self.plural.clone()),
        }
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        if self.virtual_only {
            vec!["create"]
        } else {
            crate::auth::RW.to_vec()
        }
    }
}

/// Compact constructor table entry for built-ins.
struct B {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    status: bool,
    generation: bool,
    short: &'static [&'static str],
    rule: NameRule,
}

#[allow(clippy::too_many_arguments)] // A table row constructor.
const fn b(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    status: bool,
    generation: bool,
    short: &'static [&'static str],
) -> B {
    B {
        group,
        version,
        kind,
        plural,
        namespaced,
        status,
        generation,
        short,
        rule: NameRule::Subdomain,
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";

fn builtin_table() -> Vec<B> {
    let mut t = vec![
        b(
            "",
            "v1",
            "Namespace",
            "namespaces",
            false,
            true,
            false,
            &["ns"],
        ),
        b(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            false,
            false,
            &["cm"],
        ),
        b("", "v1", "Secret", "secrets", true, false, false, &[]),
        b(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            false,
            false,
            &["sa"],
        ),
        b("", "v1", "Service", "services", true, true, false, &["svc"]),
        b("", "v1", "Pod", "pods", true, true, true, &["po"]),
        b("", "v1", "Event", "events", true, false, false, &["ev"]),
        b(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
            true,
            false,
            &["pvc"],
        ),
        b(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            true,
            true,
            &["deploy"],
        ),
        b(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            true,
            true,
            true,
            &["sts"],
        ),
        b(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            true,
            true,
            true,
            &["ds"],
        ),
        b(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            true,
            true,
            true,
            &["rs"],
        ),
        b("batch", "v1", "Job", "jobs", true, true, true, &[]),
        b(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            true,
            true,
            true,
            &["cj"],
        ),
        b(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
            false,
            true,
            &["netpol"],
        ),
        b(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            true,
            true,
            true,
            &["ing"],
        ),
        b(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            false,
            false,
            &[],
        ),
        b(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            true,
            false,
            false,
            &["ev"],
        ),
        b(RBAC, "v1", "Role", "roles", true, false, false, &[]),
        b(
            RBAC,
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            false,
            false,
            &[],
        ),
        b(
            RBAC,
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            false,
            false,
            &[],
        ),
        b(
            RBAC,
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            false,
            false,
            &[],
        ),
        b(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            true,
            true,
            &["crd", "crds"],
        ),
        b(
            "authorization.k8s.io",
            "v1",
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            false,
            false,
            false,
            &[],
        ),
        b(
            "authorization.k8s.io",
            "v1",
            "SubjectAccessReview",
            "subjectaccessreviews",
            false,
            false,
            false,
            &[],
        ),
    ];
    for e in &mut t {
        e.rule = match e.plural {
            "namespaces" => NameRule::Label,
            "services" => NameRule::Label1035,
            _ if e.group == RBAC => NameRule::PathSegment,
            _ => NameRule::Subdomain,
        };
    }
    t
}

/// All served types, indexed for URL routing and discovery.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// (group, version, plural) → type.
    types: BTreeMap<(String, String, String), Arc<ResourceType>>,
}

impl Registry {
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        for e in builtin_table() {
            let virtual_only = e.group == "authorization.k8s.io";
            r.insert(ResourceType {
                group: e.group.into(),
                version: e.version.into(),
                kind: e.kind.into(),
                plural: e.plural.into(),
                singular: e.kind.to_lowercase(),
                namespaced: e.namespaced,
                short_names: e.short.iter().map(|s| s.to_string()).collect(),
                categories: if e.group == "apps" || e.plural == "pods" || e.plural == "services" {
                    vec!["all".into()]
                } else {
                    vec![]
                },
                status: e.status,
                generation: e.generation,
                builtin: true,
                name_rule: e.rule,
                virtual_only,
                schema: None,
                stored_as: (e.group == "events.k8s.io").then_some(StoredAs::CoreEvent),
                printer_columns: Vec::new(),
            });
        }
        r
    }

    pub fn insert(&mut self, rt: ResourceType) {
        self.types.insert(
            (rt.group.clone(), rt.version.clone(), rt.plural.clone()),
            Arc::new(rt),
        );
    }

    /// Removes every version of a custom resource.
    pub fn remove_gr(&mut self, group: &str, plural: &str) {
        self.types
            .retain(|(g, _, p), rt| rt.builtin || !(g == group && p == plural));
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Any version of a storage resource (for GC and namespace cleanup).
    pub fn any_version(&self, gr: &Gr) -> Option<Arc<ResourceType>> {
        self.types
            .values()
            .find(|t| t.group == gr.0 && t.plural == gr.1)
            .cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.types.values()
    }

    /// Groups in discovery order (built-in groups first, the way the real server lists them),
    /// each with its versions.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in self.types.values() {
            if t.group.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, vs)) => {
                    if !vs.contains(&t.version) {
                        vs.push(t.version.clone());
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        for (_, vs) in &mut out {
            vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ResourceType>> + 'a {
        self.types
            .values()
            .filter(move |t| t.group == group && t.version == version)
    }
}

/// Kubernetes version ordering: GA > beta > alpha, higher numbers first.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let rest = v.strip_prefix('v').unwrap_or(v);
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major: u32 = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        (3, major, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, major, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, major, n.parse().unwrap_or(0))
    } else {
        (0, major, 0)
    }
}

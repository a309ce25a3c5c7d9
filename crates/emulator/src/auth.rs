//! Authentication (bearer tokens), impersonation, and RBAC authorization evaluated from the
//! Role/ClusterRole/binding objects in the store.

use std::collections::HashMap;

use http::HeaderMap;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, qualified};
use crate::store::Store;

pub const MASTERS: &str = "system:masters";
pub const AUTHENTICATED: &str = "system:authenticated";

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// A user with the groups the real authenticators add (service accounts get theirs).
    pub fn new(name: &str, groups: &[&str]) -> Self {
        let mut g: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        if let Some((ns, _)) = sa_parts(name) {
            for x in [
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{ns}"),
            ] {
                if !g.contains(&x) {
                    g.push(x);
                }
            }
        }
        if name != "system:anonymous" && !g.iter().any(|x| x == AUTHENTICATED) {
            g.push(AUTHENTICATED.into());
        }
        UserInfo {
            name: name.to_string(),
            groups: g,
        }
    }

    pub fn anonymous() -> Self {
        UserInfo {
            name: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
        }
    }
}

/// `system:serviceaccount:<ns>:<name>` → (ns, name).
pub fn sa_parts(user: &str) -> Option<(&str, &str)> {
    user.strip_prefix("system:serviceaccount:")?.split_once(':')
}

/// What a request does, in RBAC terms.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// Set for non-resource requests (discovery, /version, /openapi).
    pub path: Option<String>,
}

/// Resolves the bearer token; no token means anonymous, an unknown one is 401.
pub fn authenticate(
    tokens: &HashMap<String, UserInfo>,
    headers: &HeaderMap,
) -> ApiResult<UserInfo> {
    let Some(h) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(UserInfo::anonymous());
    };
    let token = h
        .to_str()
        .ok()
        .and_then(|s| s.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::unauthorized)?;
    tokens
        .get(token)
        .cloned()
        .ok_or_else(ApiError::unauthorized)
}

/// Applies `Impersonate-User`/`Impersonate-Group`, each checked against the `impersonate` verb.
pub fn impersonate(store: &Store, user: UserInfo, headers: &HeaderMap) -> ApiResult<UserInfo> {
    let target = headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let Some(target) = target else {
        if groups.is_empty() {
            return Ok(user);
        }
        return Err(ApiError::new(
            500,
            "InternalError",
            "Internal error occurred: requested [{Group ...}] without impersonating a user",
        ));
    };
    let check = |resource: &str, name: &str, namespace: &str| -> ApiResult<()> {
        let attrs = Attributes {
            verb: "impersonate".into(),
            resource: resource.into(),
            name: name.into(),
            namespace: namespace.into(),
            ..Default::default()
        };
        if authorize(store, &user, &attrs) {
            Ok(())
        } else {
            Err(forbidden(&user, &attrs))
        }
    };
    match sa_parts(&target) {
        Some((ns, name)) => check("serviceaccounts", name, ns)?,
        None => check("users", &target, "")?,
    }
    for g in &groups {
        check("groups", g, "")?;
    }
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    Ok(UserInfo::new(&target, &refs))
}

/// The real server's Forbidden message for a denied request.
pub fn forbidden(user: &UserInfo, a: &Attributes) -> ApiError {
    if let Some(path) = &a.path {
        return ApiError::new(
            403,
            "Forbidden",
            format!(
                "forbidden: User \"{}\" cannot {} path \"{path}\"",
                user.name, a.verb
            ),
        );
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", a.namespace)
    };
    let why = format!(
        "User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
        user.name, a.verb, a.group
    );
    let mut e = ApiError::forbidden(&a.group, &a.resource, &a.name, &why);
    e.message = format!(
        "{} is forbidden: {why}",
        if a.name.is_empty() {
            qualified(&a.group, &resource)
        } else {
            format!("{} \"{}\"", qualified(&a.group, &resource), a.name)
        }
    );
    e
}

fn strs(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    let verbs = strs(rule.get("verbs"));
    if !verbs.iter().any(|v| *v == "*" || *v == a.verb) {
        return false;
    }
    if let Some(path) = &a.path {
        return strs(rule.get("nonResourceURLs")).iter().any(|u| {
            *u == "*" || *u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
        });
    }
    let groups = strs(rule.get("apiGroups"));
    if !groups.iter().any(|g| *g == "*" || *g == a.group) {
        return false;
    }
    let full = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let resources = strs(rule.get("resources"));
    let res_ok = resources.iter().any(|r| {
        *r == "*"
            || *r == full
            || (!a.subresource.is_empty() && *r == format!("*/{}", a.subresource))
    });
    if !res_ok {
        return false;
    }
    let names = strs(rule.get("resourceNames"));
    names.is_empty() || (!a.name.is_empty() && names.contains(&a.name.as_str()))
}

fn subject_matches(subject: &Value, user: &UserInfo, binding_ns: &str) -> bool {
    let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    match kind {
        "User" => name == user.name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let ns = subject
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(binding_ns);
            user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

fn rules_of<'a>(store: &'a Store, role_ref: &Value, binding_ns: &str) -> Vec<&'a Value> {
    let kind = role_ref.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or("");
    let rbac = "rbac.authorization.k8s.io".to_string();
    let role = match kind {
        "ClusterRole" => store.get(&(rbac, "clusterroles".into()), "", name),
        "Role" => store.get(&(rbac, "roles".into()), binding_ns, name),
        _ => None,
    };
    role.and_then(|r| r.get("rules"))
        .and_then(Value::as_array)
        .map(|rs| rs.iter().collect())
        .unwrap_or_default()
}

/// Whether `user` may do `a`, by RBAC plus the bootstrap rules every cluster has
/// (system:masters, discovery for authenticated users, self access reviews).
pub fn authorize(store: &Store, user: &UserInfo, a: &Attributes) -> bool {
    if user.groups.iter().any(|g| g == MASTERS) {
        return true;
    }
    let authenticated = user.groups.iter().any(|g| g == AUTHENTICATED);
    if let Some(path) = &a.path {
        let public = matches!(
            path.as_str(),
            "/version" | "/healthz" | "/readyz" | "/livez"
        );
        if public || (authenticated && a.verb == "get") {
            return true;
        }
    } else if authenticated
        && a.group == "authorization.k8s.io"
        && matches!(
            a.resource.as_str(),
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
        )
        && a.verb == "create"
    {
        return true;
    }
    let rbac = "rbac.authorization.k8s.io".to_string();
    let crbs = store.list(&(rbac.clone(), "clusterrolebindings".into()), None);
    for (_, b) in crbs {
        let subjects = b.get("subjects").and_then(Value::as_array);
        if subjects.is_some_and(|ss| ss.iter().any(|s| subject_matches(s, user, ""))) {
            let role_ref = b.get("roleRef").unwrap_or(&Value::Null);
            if rules_of(store, role_ref, "")
                .iter()
                .any(|r| rule_allows(r, a))
            {
                return true;
            }
        }
    }
    if a.namespace.is_empty() || a.path.is_some() {
        return false;
    }
    for (_, b) in store.list(&(rbac, "rolebindings".into()), Some(&a.namespace)) {
        let subjects = b.get("subjects").and_then(Value::as_array);
        if subjects.is_some_and(|ss| ss.iter().any(|s| subject_matches(s, user, &a.namespace))) {
            let role_ref = b.get("roleRef").unwrap_or(&Value::Null);
            if rules_of(store, role_ref, &a.namespace)
                .iter()
                .any(|r| rule_allows(r, a))
            {
                return true;
            }
        }
    }
    false
}

/// Every verb of an ordinary resource: what discovery lists and what the
/// default roles grant.
pub(crate) const RW: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const RO: [&str; 3] = ["get", "list", "watch"];

/// The default ClusterRoles of a fresh cluster, with their aggregated rules flattened, and the
/// binding of `cluster-admin` to `system:masters`.
pub fn bootstrap_rbac() -> Vec<(&'static str, Value)> {
    let workloads = json!([
        {"apiGroups": [""], "resources": ["pods", "pods/log", "pods/exec", "pods/attach", "pods/portforward", "services", "endpoints", "persistentvolumeclaims", "configmaps", "serviceaccounts", "events", "replicationcontrollers"], "verbs": RW},
        {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale", "statefulsets", "statefulsets/scale", "daemonsets", "replicasets", "replicasets/scale"], "verbs": RW},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": RW},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies", "ingresses"], "verbs": RW},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": RW},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": RO},
        {"apiGroups": ["", "apps", "batch", "networking.k8s.io"], "resources": ["*/status"], "verbs": RO},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": RO}
    ]);
    let mut edit = workloads.as_array().cloned().unwrap_or_default();
    edit.push(json!({"apiGroups": [""], "resources": ["secrets"], "verbs": RW}));
    edit.push(
        json!({"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}),
    );
    let mut admin = edit.clone();
    admin.push(json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": RW}));
    admin.push(json!({"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]}));
    let view: Vec<Value> = workloads
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut r| {
            r["verbs"] = json!(RO);
            r
        })
        .collect();
    let role = |name: &str, rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "rules": rules})
    };
    vec![
        (
            "clusterroles",
            role(
                "cluster-admin",
                json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            ),
        ),
        ("clusterroles", role("admin", Value::Array(admin))),
        ("clusterroles", role("edit", Value::Array(edit))),
        ("clusterroles", role("view", Value::Array(view))),
        (
            "clusterrolebindings",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": MASTERS}]}),
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn rule_matching() {
        let rule = json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["a"]});
        let mut a = Attributes {
            verb: "get".into(),
            resource: "configmaps".into(),
            name: "a".into(),
            ..Default::default()
        };
        assert!(rule_allows(&rule, &a));
        a.name = "b".into();
        assert!(!rule_allows(&rule, &a));
        a.name = String::new();
        assert!(!rule_allows(&rule, &a));
    }

    #[test]
    fn sa_user_groups() {
        let u = UserInfo::new("system:serviceaccount:ns:sa", &[]);
        assert!(u.groups.contains(&"system:serviceaccounts:ns".to_string()));
        assert!(u.groups.contains(&AUTHENTICATED.to_string()));
    }
}

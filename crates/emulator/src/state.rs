//! The emulator's state and the object lifecycle: create, update, patch, apply, delete, with
//! the metadata, resourceVersion, generation, status and finalizer rules of the real server.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::auth::{UserInfo, bootstrap_rbac};
use crate::convert;
use crate::crd;
use crate::error::{ApiError, ApiResult, Cause};
use crate::faults::Fault;
use crate::fields::{self, Scope, track_update};
use crate::meta;
use crate::patch::{PatchKind, apply_patch};
use crate::resources::{Gr, Registry, ResourceType};
use crate::schema;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Store, meta_str};
use crate::validation;

/// How unknown fields in a request are treated (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// Per-request write options.
#[derive(Debug, Clone)]
pub struct WriteCtx {
    pub manager: String,
    pub dry_run: bool,
    pub validation: FieldValidation,
    pub force: bool,
}

impl WriteCtx {
    pub fn system(manager: &str) -> Self {
        WriteCtx {
            manager: manager.to_string(),
            dry_run: false,
            validation: FieldValidation::Ignore,
            force: false,
        }
    }
}

/// The result of a write.
#[derive(Debug, Clone)]
pub struct Written {
    pub obj: Arc<Value>,
    pub created: bool,
    pub warnings: Vec<String>,
}

impl Written {
    /// The written object as served at `rt` (for a write made as the type it is stored as).
    fn served_at(self, rt: &ResourceType) -> Written {
        Written {
            obj: at_version(rt, &self.obj),
            ..self
        }
    }
}

/// Delete options from the query and the DeleteOptions body.
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub propagation: Option<String>,
    pub dry_run: bool,
}

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";
pub const CRD_CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

pub fn ns_gr() -> Gr {
    (String::new(), "namespaces".into())
}

pub fn crd_gr() -> Gr {
    (
        "apiextensions.k8s.io".into(),
        "customresourcedefinitions".into(),
    )
}

pub fn is_terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    crate::meta::string_list(obj.pointer("/metadata/finalizers"))
}

pub fn set_finalizers(obj: &mut Value, f: &[String]) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if f.is_empty() {
            m.remove("finalizers");
        } else {
            m.insert("finalizers".into(), json!(f));
        }
    }
}

fn meta_mut(obj: &mut Value) -> ApiResult<&mut Map<String, Value>> {
    let m = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the object must be a JSON object"))?;
    let meta = m
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if meta.is_null() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut()
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))
}

/// Checks `apiVersion`/`kind` against the URL and fills them in when absent.
fn normalize_type(rt: &ResourceType, obj: &mut Value) -> ApiResult<()> {
    let m = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the object must be a JSON object"))?;
    let av = rt.api_version();
    match m.get("apiVersion").and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v != av => {
            // Another served version of the same resource is fine (no conversion is modelled).
            let group = v.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
            if group != rt.group {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({v}) does not match the expected API version ({av})"
                )));
            }
        }
        _ => {
            m.insert("apiVersion".into(), json!(av));
        }
    }
    match m.get("kind").and_then(Value::as_str) {
        Some(k) if !k.is_empty() && k != rt.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
        _ => {
            m.insert("kind".into(), json!(rt.kind));
        }
    }
    m.insert("apiVersion".into(), json!(av));
    let meta = meta_mut(obj)?;
    for f in ["labels", "annotations"] {
        match meta.get(f) {
            None | Some(Value::Null) => {
                meta.remove(f);
            }
            Some(Value::Object(m)) if m.values().all(Value::is_string) => {}
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "metadata.{f} must be a map of strings to strings"
                )));
            }
        }
    }
    match meta.get("finalizers") {
        None | Some(Value::Null) => {
            meta.remove("finalizers");
        }
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "metadata.finalizers must be a list of strings",
            ));
        }
    }
    match meta.get("ownerReferences") {
        None | Some(Value::Null) => {
            meta.remove("ownerReferences");
        }
        Some(Value::Array(a))
            if a.iter().all(|r| {
                ["apiVersion", "kind", "name", "uid"].iter().all(|k| {
                    r.get(k)
                        .and_then(Value::as_str)
                        .is_some_and(|v| !v.is_empty())
                })
            }) => {}
        Some(_) => {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                "",
                vec![Cause::new(
                    "FieldValueRequired",
                    "metadata.ownerReferences",
                    "Required value: each owner reference needs apiVersion, kind, name and uid",
                )],
            ));
        }
    }
    Ok(())
}

/// The object as served at `rt`'s version: CRD versions share storage unconverted; a type
/// stored as another is converted (see [`convert`]).
pub fn at_version(rt: &ResourceType, obj: &Arc<Value>) -> Arc<Value> {
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(av) if rt.is_api_version(av) => obj.clone(),
        _ => Arc::new(convert::from_storage(rt, obj)),
    }
}

/// Whether anything outside metadata (and status, when it is a subresource) differs.
fn spec_changed(rt: &ResourceType, old: &Value, new: &Value) -> bool {
    let skip = |k: &str| k == "metadata" || (rt.status && k == "status");
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return old != new;
    };
    o.iter().any(|(k, v)| !skip(k) && n.get(k) != Some(v))
        || n.keys().any(|k| !skip(k) && !o.contains_key(k))
}

const SERVER_META: [&str; 6] = [
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

pub struct State {
    pub store: Store,
    pub registry: Registry,
    pub tokens: HashMap<String, UserInfo>,
    pub faults: Vec<Fault>,
    /// Random faults for one user, if set.
    pub chaos: Option<crate::faults::Chaos>,
    pub gc: Arc<Notify>,
    /// Requests answered so far, per verb and resource (see [`crate::requests`]).
    pub requests: crate::requests::RequestCounts,
}

impl State {
    /// A fresh cluster: the usual namespaces with their `default` ServiceAccounts, and the
    /// default ClusterRoles.
    pub fn new(gc: Arc<Notify>, log_cap: usize) -> Self {
        let mut st = State {
            store: Store::new(log_cap, 65_536),
            registry: Registry::with_builtins(),
            tokens: HashMap::new(),
            faults: Vec::new(),
            chaos: None,
            gc,
            requests: Default::default(),
        };
        let ctx = WriteCtx::system("kube-apiserver");
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let _ = st.create_as(
                "",
                "namespaces",
                "",
                json!({"metadata": {"name": ns}}),
                &ctx,
            );
        }
        for (plural, obj) in bootstrap_rbac() {
            let _ = st.create_as("rbac.authorization.k8s.io", plural, "", obj, &ctx);
        }
        st
    }

    fn create_as(
        &mut self,
        group: &str,
        plural: &str,
        ns: &str,
        obj: Value,
        ctx: &WriteCtx,
    ) -> ApiResult<Written> {
        let rt = self
            .registry
            .all()
            .find(|t| t.group == group && t.plural == plural)
            .cloned()
            .ok_or_else(|| ApiError::not_found(group, plural, ""))?;
        self.create(&rt, ns, obj, ctx, None)
    }

    /// The type `rt`'s objects are stored as, when that is another type (see
    /// [`crate::resources::StoredAs`]); writes at `rt` are made as that type.
    fn storage_type(&self, rt: &ResourceType) -> ApiResult<Option<Arc<ResourceType>>> {
        let Some(stored) = rt.stored_as else {
            return Ok(None);
        };
        let (group, version, plural) = stored.storage();
        self.registry
            .get(group, version, plural)
            .map(Some)
            .ok_or_else(|| ApiError::internal(format!("{plural} are not served")))
    }

    fn check_namespace(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<()> {
        if !rt.namespaced {
            return Ok(());
        }
        match self.store.get(&ns_gr(), "", ns) {
            None => Err(ApiError::not_found("", "namespaces", ns)),
            Some(n) if is_terminating(n) => Err(ApiError::forbidden(
                &rt.group,
                &rt.plural,
                name,
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Prunes, defaults and validates a custom resource against its structural schema.
    fn apply_schema(
        &self,
        rt: &ResourceType,
        obj: &mut Value,
        ctx: &WriteCtx,
        name: &str,
    ) -> ApiResult<Vec<String>> {
        let Some(s) = rt.schema.clone() else {
            return Ok(Vec::new());
        };
        let pruned = schema::prune(obj, &s);
        let unknown: Vec<String> = pruned
            .iter()
            .map(|p| format!("unknown field \"{p}\""))
            .collect();
        let warnings = match ctx.validation {
            FieldValidation::Strict if !unknown.is_empty() => {
                return Err(ApiError::bad_request(format!(
                    "strict decoding error: {}",
                    unknown.join(", ")
                )));
            }
            FieldValidation::Warn => unknown,
            _ => Vec::new(),
        };
        schema::apply_defaults(obj, &s);
        let mut causes = Vec::new();
        schema::validate(obj, &s, "", &mut causes);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt.group, &rt.kind, name, causes));
        }
        Ok(warnings)
    }

    /// Creates an object; `managed` carries managedFields computed by server-side apply.
    pub fn create(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        ctx: &WriteCtx,
        managed: Option<Value>,
    ) -> ApiResult<Written> {
        normalize_type(rt, &mut obj)?;
        if let Some(stored) = self.storage_type(rt)? {
            let obj = convert::to_storage(rt, &obj);
            return Ok(self.create(&stored, ns, obj, ctx, managed)?.served_at(rt));
        }
        convert::on_write(rt, &mut obj)?;
        let meta = meta_mut(&mut obj)?;
        if rt.namespaced {
            if let Some(body_ns) = meta.get("namespace").and_then(Value::as_str)
                && !body_ns.is_empty()
                && body_ns != ns
            {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        let name = match meta
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            Some(n) => n.to_string(),
            None => match meta
                .get("generateName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            {
                Some(prefix) => format!("{prefix}{}", meta::random_suffix()),
                None => {
                    return Err(ApiError::invalid(
                        &rt.group,
                        &rt.kind,
                        "",
                        vec![Cause::new(
                            "FieldValueRequired",
                            "metadata.name",
                            "Required value: name or generateName is required",
                        )],
                    ));
                }
            },
        };
        meta.insert("name".into(), json!(name));
        let mut causes: Vec<Cause> = meta::check_name(&name, rt.name_rule).into_iter().collect();
        if let Some(Value::Object(labels)) = meta.get("labels") {
            causes.extend(meta::check_labels(labels));
        }
        for f in SERVER_META
            .iter()
            .chain(["resourceVersion", "managedFields"].iter())
        {
            meta.remove(*f);
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt.group, &rt.kind, &name, causes));
        }
        self.check_namespace(rt, ns, &name)?;
        let gr = rt.gr();
        if self
            .store
            .get(&gr, if rt.namespaced { ns } else { "" }, &name)
            .is_some()
        {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
        }
        if rt.status
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        let now = meta::now();
        if gr == ns_gr() {
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        if gr == crd_gr() {
            let causes = crd::validate(&obj);
            if !causes.is_empty() {
                return Err(ApiError::invalid(&rt.group, &rt.kind, &name, causes));
            }
            obj["status"] = crd::status(&obj, &now);
            let mut f = finalizers(&obj);
            if !f.iter().any(|x| x == CRD_CLEANUP) {
                f.push(CRD_CLEANUP.into());
            }
            set_finalizers(&mut obj, &f);
        }
        let warnings = self.apply_schema(rt, &mut obj, ctx, &name)?;
        let meta = meta_mut(&mut obj)?;
        meta.insert("uid".into(), json!(meta::uid()));
        meta.insert("creationTimestamp".into(), json!(now));
        if rt.generation {
            meta.insert("generation".into(), json!(1));
        }
        let mf = match managed {
            Some(m) => m,
            None => track_update(rt, None, &obj, &ctx.manager, Scope::Main, &now),
        };
        set_managed(&mut obj, mf);
        if ctx.dry_run {
            return Ok(Written {
                obj: Arc::new(obj),
                created: true,
                warnings,
            });
        }
        let has_owners = obj.pointer("/metadata/ownerReferences").is_some();
        let stored = self.store.put(&gr, obj);
        if gr == ns_gr() {
            let sa = json!({"metadata": {"name": "default"}});
            let _ = self.create_as(
                "",
                "serviceaccounts",
                &name,
                sa,
                &WriteCtx::system("kube-controller-manager"),
            );
        }
        if gr == crd_gr() {
            for t in crd::types(&stored) {
                self.registry.insert(t);
            }
        }
        if has_owners {
            self.gc.notify_one();
        }
        Ok(Written {
            obj: stored,
            created: true,
            warnings,
        })
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Arc<Value>> {
        self.store
            .get(&rt.gr(), ns, name)
            .map(|o| at_version(rt, o))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    /// PUT of the main resource or of `/status`.
    pub fn update(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut body: Value,
        scope: Scope,
        ctx: &WriteCtx,
    ) -> ApiResult<Written> {
        normalize_type(rt, &mut body)?;
        let meta = meta_mut(&mut body)?;
        match meta.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            _ => {}
        }
        if let Some(body_ns) = meta.get("namespace").and_then(Value::as_str)
            && rt.namespaced
            && !body_ns.is_empty()
            && body_ns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let old = self
            .store
            .get(&rt.gr(), ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        self.commit_at(rt, old, body, scope, ctx)
    }

    /// [`State::commit`] of an object sent at `rt`, made as the type it is stored as.
    fn commit_at(
        &mut self,
        rt: &ResourceType,
        old: Arc<Value>,
        new: Value,
        scope: Scope,
        ctx: &WriteCtx,
    ) -> ApiResult<Written> {
        match self.storage_type(rt)? {
            Some(stored) => {
                let new = convert::to_storage(rt, &new);
                Ok(self
                    .commit(&stored, old, new, scope, ctx, None)?
                    .served_at(rt))
            }
            None => self.commit(rt, old, new, scope, ctx, None),
        }
    }

    /// PATCH in any of its flavours, including server-side apply.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        kind: PatchKind,
        body: &[u8],
        scope: Scope,
        ctx: &WriteCtx,
    ) -> ApiResult<Written> {
        let old = self.store.get(&rt.gr(), ns, name).cloned();
        if kind == PatchKind::Apply {
            return self.apply(rt, ns, name, old, body, scope, ctx);
        }
        let old = old.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        let patched = apply_patch(rt, kind, &at_version(rt, &old), body, name)?;
        if !patched.is_object() {
            return Err(ApiError::bad_request(
                "the patched object must be a JSON object",
            ));
        }
        self.commit_at(rt, old, patched, scope, ctx)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        old: Option<Arc<Value>>,
        body: &[u8],
        scope: Scope,
        ctx: &WriteCtx,
    ) -> ApiResult<Written> {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("apply body is not UTF-8"))?;
        let mut applied: Value = serde_saphyr::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        if ctx.manager.is_empty() {
            return Err(ApiError::bad_request(
                "PATCH /apply requires a non-empty fieldManager query parameter",
            ));
        }
        for f in ["apiVersion", "kind"] {
            if applied
                .get(f)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(ApiError::bad_request(format!("{f} must be set")));
            }
        }
        normalize_type(rt, &mut applied)?;
        let meta = meta_mut(&mut applied)?;
        match meta.get("name").and_then(Value::as_str) {
            Some(n) if n != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            _ => {
                meta.insert("name".into(), json!(name));
            }
        }
        if let Some(stored) = self.storage_type(rt)? {
            let applied = convert::to_storage(rt, &applied);
            return Ok(self
                .apply_config(&stored, ns, name, old, applied, scope, ctx)?
                .served_at(rt));
        }
        // A Secret's stringData is folded after the merge, as the real server does: the
        // manager owns `stringData` keys, so one it later omits stays in `data`.
        self.apply_config(rt, ns, name, old, applied, scope, ctx)
    }

    /// Server-side apply of a parsed configuration, at the type it is stored as.
    #[allow(clippy::too_many_arguments)]
    fn apply_config(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        old: Option<Arc<Value>>,
        applied: Value,
        scope: Scope,
        ctx: &WriteCtx,
    ) -> ApiResult<Written> {
        let now = meta::now();
        match old {
            None => {
                if scope == Scope::Status {
                    return Err(ApiError::not_found(&rt.group, &rt.plural, name));
                }
                let mut merged = fields::apply(
                    rt,
                    &json!({"metadata": {}}),
                    &applied,
                    &ctx.manager,
                    ctx.force,
                    scope,
                    &now,
                    name,
                )?;
                let mf = take_managed(&mut merged);
                self.create(rt, ns, applied, ctx, Some(mf))
            }
            Some(old) => {
                let mut merged = fields::apply(
                    rt,
                    &old,
                    &applied,
                    &ctx.manager,
                    ctx.force,
                    scope,
                    &now,
                    name,
                )?;
                let mf = take_managed(&mut merged);
                self.commit(rt, old, merged, scope, ctx, Some(mf))
            }
        }
    }

    /// Writes `new` over `old`, enforcing what a client may not change.
    fn commit(
        &mut self,
        rt: &ResourceType,
        old: Arc<Value>,
        mut new: Value,
        scope: Scope,
        ctx: &WriteCtx,
        managed: Option<Value>,
    ) -> ApiResult<Written> {
        convert::on_write(rt, &mut new)?;
        let name = meta_str(&old, "name").unwrap_or("").to_string();
        let ns = meta_str(&old, "namespace").unwrap_or("").to_string();
        let old_rv = meta_str(&old, "resourceVersion").unwrap_or("").to_string();
        if let Some(rv) = new
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && !rv.is_empty()
            && rv != old_rv
        {
            return Err(ApiError::stale(&rt.group, &rt.plural, &name));
        }
        match scope {
            Scope::Status => {
                let status = new.get("status").cloned();
                new = (*old).clone();
                match status {
                    Some(s) => new["status"] = s,
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            Scope::Main if rt.status => {
                if let Some(m) = new.as_object_mut() {
                    match old.get("status") {
                        Some(s) => {
                            m.insert("status".into(), s.clone());
                        }
                        None => {
                            m.remove("status");
                        }
                    }
                }
            }
            Scope::Main => {}
        }
        normalize_type(rt, &mut new)?;
        if rt.gr() == ns_gr() {
            new["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
        }
        let old_meta = old
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let meta = meta_mut(&mut new)?;
        for f in SERVER_META
            .iter()
            .chain(["name", "namespace", "generateName"].iter())
        {
            match old_meta.get(*f) {
                Some(v) => {
                    meta.insert(f.to_string(), v.clone());
                }
                None => {
                    meta.remove(*f);
                }
            }
        }
        let mut causes = Vec::new();
        if let Some(Value::Object(labels)) = meta.get("labels") {
            causes.extend(meta::check_labels(labels));
        }
        if is_terminating(&old) {
            let before = finalizers(&old);
            let added: Vec<String> = finalizers(&new)
                .into_iter()
                .filter(|f| !before.contains(f))
                .collect();
            if !added.is_empty() {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    format!("Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"),
                ));
            }
        }
        if scope == Scope::Main {
            causes.extend(validation::update(rt, &old, &new));
        }
        if rt.gr() == crd_gr() {
            causes.extend(crd::validate(&new));
            if crd::gr(&new) != crd::gr(&old) {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    "spec",
                    "Invalid value: field is immutable",
                ));
            }
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt.group, &rt.kind, &name, causes));
        }
        let warnings = self.apply_schema(rt, &mut new, ctx, &name)?;

        // A write that changes nothing is not a write.
        let meta = meta_mut(&mut new)?;
        meta.insert("resourceVersion".into(), json!(old_rv));
        match old_meta.get("managedFields") {
            Some(m) => meta.insert("managedFields".into(), m.clone()),
            None => meta.remove("managedFields"),
        };
        if managed.is_none() && new == *old {
            return Ok(Written {
                obj: at_version(rt, &old),
                created: false,
                warnings,
            });
        }
        if rt.generation && spec_changed(rt, &old, &new) {
            let g = old_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            new["metadata"]["generation"] = json!(g + 1);
        }
        let now = meta::now();
        let mf = match managed {
            Some(m) => m,
            None => track_update(rt, Some(&old), &new, &ctx.manager, scope, &now),
        };
        set_managed(&mut new, mf);
        if new == *old {
            return Ok(Written {
                obj: at_version(rt, &old),
                created: false,
                warnings,
            });
        }
        if ctx.dry_run {
            return Ok(Written {
                obj: Arc::new(new),
                created: false,
                warnings,
            });
        }
        let gr = rt.gr();
        if is_terminating(&new) && finalizers(&new).is_empty() && !namespace_pending(&new) {
            let last = self
                .remove_object(&gr, &ns, &name)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
            return Ok(Written {
                obj: at_version(rt, &last),
                created: false,
                warnings,
            });
        }
        let notify = new.pointer("/metadata/ownerReferences").is_some() || is_terminating(&new);
        let stored = self.store.put(&gr, new);
        if gr == crd_gr() {
            let (g, p) = crd::gr(&stored);
            self.registry.remove_gr(&g, &p);
            for t in crd::types(&stored) {
                self.registry.insert(t);
            }
        }
        if notify {
            self.gc.notify_one();
        }
        Ok(Written {
            obj: at_version(rt, &stored),
            created: false,
            warnings,
        })
    }

    /// DELETE: preconditions, propagation policy, and finalizers.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        opts: &DeleteOpts,
    ) -> ApiResult<Arc<Value>> {
        let gr = rt.gr();
        let obj = self
            .store
            .get(&gr, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        let uid = meta_str(&obj, "uid").unwrap_or("");
        if let Some(want) = &opts.uid
            && want != uid
        {
            return Err(ApiError::conflict(
                &rt.group,
                &rt.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"
                ),
            ));
        }
        let rv = meta_str(&obj, "resourceVersion").unwrap_or("");
        if let Some(want) = &opts.resource_version
            && want != rv
        {
            return Err(ApiError::conflict(
                &rt.group,
                &rt.plural,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {rv}"
                ),
            ));
        }
        if opts.dry_run {
            return Ok(at_version(rt, &obj));
        }
        let mut o = (*obj).clone();
        let mut f = finalizers(&o);
        match opts.propagation.as_deref() {
            None | Some("Background") => {}
            Some("Foreground") => {
                if !f.iter().any(|x| x == FOREGROUND) {
                    f.push(FOREGROUND.into());
                }
            }
            Some("Orphan") => {
                if !f.iter().any(|x| x == ORPHAN) {
                    f.push(ORPHAN.into());
                }
            }
            Some(other) => {
                return Err(ApiError::invalid(
                    &rt.group,
                    &rt.kind,
                    name,
                    vec![Cause::new(
                        "FieldValueNotSupported",
                        "propagationPolicy",
                        format!(
                            "Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                        ),
                    )],
                ));
            }
        }
        if f.is_empty() && !namespace_pending(&o) {
            return self
                .remove_object(&gr, ns, name)
                .map(|last| at_version(rt, &last))
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name));
        }
        if is_terminating(&o) && f == finalizers(&o) {
            return Ok(at_version(rt, &obj));
        }
        set_finalizers(&mut o, &f);
        if !is_terminating(&o) {
            o["metadata"]["deletionTimestamp"] = json!(meta::now());
            o["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if gr == ns_gr() {
                o["status"] = json!({"phase": "Terminating"});
            }
        }
        let stored = self.store.put(&gr, o);
        self.gc.notify_one();
        Ok(at_version(rt, &stored))
    }

    /// Takes an object out of storage for good, with what that implies for CRDs.
    pub fn remove_object(&mut self, gr: &Gr, ns: &str, name: &str) -> Option<Arc<Value>> {
        let last = self.store.remove(gr, ns, name)?;
        if *gr == crd_gr() {
            let cr = crd::gr(&last);
            self.registry.remove_gr(&cr.0, &cr.1);
            let keys: Vec<(String, String)> =
                self.store.list(&cr, None).map(|(k, _)| k.clone()).collect();
            for (n, m) in keys {
                self.store.remove(&cr, &n, &m);
            }
        }
        self.gc.notify_one();
        Some(last)
    }

    /// A list response body, paginated by `limit`/`continue`.
    #[allow(clippy::too_many_arguments)]
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        cont: Option<&str>,
        metadata_only: bool,
    ) -> ApiResult<String> {
        let start = match cont {
            Some(c) => Some(decode_continue(c, self.store.compacted_rv())?),
            None => None,
        };
        let rv = self.store.rv();
        let mut items: Vec<String> = Vec::new();
        let mut next: Option<String> = None;
        let mut remaining = 0usize;
        let mut last_included: Option<&(String, String)> = None;
        for (key, obj) in self.store.list(&rt.gr(), ns) {
            if let Some(s) = &start
                && key <= s
            {
                continue;
            }
            // Selectors see the object as served (an Event's `regarding` or `involvedObject`).
            let obj = at_version(rt, obj);
            if !labels.matches(&obj) || !fields.matches(&obj) {
                continue;
            }
            if let Some(l) = limit
                && items.len() >= l
            {
                if next.is_none() {
                    next = last_included.map(|k| encode_continue(rv, k));
                }
                remaining += 1;
                continue;
            }
            let text = if metadata_only {
                serde_json::to_string(&crate::meta::partial_metadata(&obj))
            } else {
                serde_json::to_string(&*obj)
            };
            items.push(text.map_err(|e| ApiError::internal(e.to_string()))?);
            last_included = Some(key);
        }
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if let Some(n) = next {
            meta["continue"] = json!(n);
            meta["remainingItemCount"] = json!(remaining);
        }
        let (kind, api_version) = if metadata_only {
            (
                "PartialObjectMetadata",
                crate::meta::META_API_VERSION.to_string(),
            )
        } else {
            (rt.kind.as_str(), rt.api_version())
        };
        Ok(format!(
            "{{\"kind\":\"{kind}List\",\"apiVersion\":\"{api_version}\",\"metadata\":{meta},\"items\":[{}]}}",
            items.join(",")
        ))
    }
}

/// A namespace still waiting for its contents to go (its `spec.finalizers`).
fn namespace_pending(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("Namespace")
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}

fn set_managed(obj: &mut Value, mf: Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if mf.as_array().is_some_and(|a| !a.is_empty()) {
            m.insert("managedFields".into(), mf);
        } else {
            m.remove("managedFields");
        }
    }
}

fn take_managed(obj: &mut Value) -> Value {
    obj.get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove("managedFields"))
        .unwrap_or(Value::Array(Vec::new()))
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn encode_continue(rv: u64, key: &(String, String)) -> String {
    format!("{rv}-{}-{}", hex(&key.0), hex(&key.1))
}

fn decode_continue(token: &str, compacted: u64) -> ApiResult<(String, String)> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let mut parts = token.splitn(3, '-');
    let rv: u64 = parts.next().and_then(|r| r.parse().ok()).ok_or_else(bad)?;
    let ns = parts.next().and_then(unhex).ok_or_else(bad)?;
    let name = parts.next().and_then(unhex).ok_or_else(bad)?;
    if rv < compacted {
        return Err(ApiError::expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        ));
    }
    Ok((ns, name))
}

//! The HTTP front: URL routing the way the real API server lays out paths, authentication,
//! impersonation, authorization, fault injection, then the store operations.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::{self, Attributes, UserInfo};
use crate::discovery;
use crate::error::{ApiError, ApiResult};
use crate::faults;
use crate::fields::Scope;
use crate::meta;
use crate::patch::PatchKind;
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::state::{DeleteOpts, FieldValidation, State, WriteCtx, Written, at_version};
use crate::table;
use crate::watch::{self, WatchParams};

const MAX_BODY: usize = 32 << 20;

/// The API server as an axum Router (a `tower::Service`).
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(AxState(sh): AxState<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                413,
                "RequestEntityTooLarge",
                "request body too large or unreadable",
            )
            .into_response();
        }
    };
    if let Some(delay) = chaos_delay(&sh, &parts) {
        tokio::time::sleep(delay).await;
    }
    match dispatch(&sh, &parts, bytes) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The delay [`crate::Chaos`] draws for this request, if any.
fn chaos_delay(sh: &Arc<Shared>, parts: &Parts) -> Option<std::time::Duration> {
    let mut st = sh.lock();
    let user = auth::authenticate(&st.tokens, &parts.headers).ok()?;
    st.chaos.as_mut()?.delay(&user.name)
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    let text = serde_json::to_vec(body).unwrap_or_default();
    raw_json(code, text)
}

fn raw_json(code: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = (code, body.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn query(parts: &Parts) -> HashMap<String, String> {
    parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// Whether the client asked for metadata only: an `Accept` of
/// `application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1`.
fn metadata_only(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|accept| accept.contains("as=PartialObjectMetadata"))
}

/// `Some(what each row carries)` when the client asked for a Table (server-side printing).
fn table_request(parts: &Parts, q: &HashMap<String, String>) -> Option<table::Include> {
    let accept = parts.headers.get(header::ACCEPT)?.to_str().ok()?;
    table::wanted(accept).then(|| table::Include::parse(q.get("includeObject").map(String::as_str)))
}

/// A list response body turned into a Table.
fn list_table(rt: &ResourceType, body: &str, include: table::Include) -> ApiResult<Value> {
    let list: Value = serde_json::from_str(body).map_err(|e| ApiError::internal(e.to_string()))?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    Ok(table::table(rt, &items, list["metadata"].clone(), include))
}

fn truthy(q: &HashMap<String, String>, k: &str) -> bool {
    q.get(k).is_some_and(|v| v == "true" || v == "1")
}

fn dispatch(sh: &Arc<Shared>, parts: &Parts, body: Bytes) -> ApiResult<Response> {
    let path = parts.uri.path().to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let q = query(parts);
    match segs.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => {
            resource(sh, parts, &q, "", "v1", rest, body)
        }
        ["apis", g, v, rest @ ..] if !rest.is_empty() => resource(sh, parts, &q, g, v, rest, body),
        _ => non_resource(sh, parts, &segs),
    }
}

fn non_resource(sh: &Arc<Shared>, parts: &Parts, segs: &[&str]) -> ApiResult<Response> {
    let mut st = sh.lock();
    let user = auth::authenticate(&st.tokens, &parts.headers)?;
    let user = auth::impersonate(&st.store, user, &parts.headers)?;
    st.requests.record("get", &format!("/{}", segs.join("/")));
    let attrs = Attributes {
        verb: if parts.method == Method::GET {
            "get".into()
        } else {
            parts.method.as_str().to_lowercase()
        },
        path: Some(format!("/{}", segs.join("/"))),
        ..Default::default()
    };
    if !auth::authorize(&st.store, &user, &attrs) {
        return Err(auth::forbidden(&user, &attrs));
    }
    if parts.method != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let doc = match segs {
        [] => {
            json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/readyz", "/version"]})
        }
        ["version"] => discovery::version(),
        ["healthz"] | ["livez"] | ["readyz"] => {
            return Ok((StatusCode::OK, "ok").into_response());
        }
        ["api"] => discovery::api_versions(&host),
        ["apis"] => discovery::api_group_list(&st.registry),
        ["apis", g] => discovery::api_group(&st.registry, g).ok_or_else(ApiError::no_route)?,
        ["api", "v1"] => {
            discovery::resource_list(&st.registry, "", "v1").ok_or_else(ApiError::no_route)?
        }
        ["apis", g, v] => {
            discovery::resource_list(&st.registry, g, v).ok_or_else(ApiError::no_route)?
        }
        ["openapi", "v2"] => {
            let accept = parts
                .headers
                .get(header::ACCEPT)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            if accept.contains("protobuf") {
                // An empty protobuf message is a valid, empty OpenAPI v2 document. The content
                // type is the one the real server answers (kubectl asks with the deprecated
                // `@v1.0` form, which Go's MIME parser rejects in a response).
                let mut r = (StatusCode::OK, Bytes::new()).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                    ),
                );
                return Ok(r);
            }
            json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": discovery::GIT_VERSION}, "paths": {}, "definitions": {}})
        }
        ["openapi", "v3"] => discovery::openapi_v3_root(&st.registry),
        ["openapi", "v3", "api", "v1"] => {
            discovery::openapi_v3_gv(&st.registry, "", "v1").ok_or_else(ApiError::no_route)?
        }
        ["openapi", "v3", "apis", g, v] => {
            discovery::openapi_v3_gv(&st.registry, g, v).ok_or_else(ApiError::no_route)?
        }
        _ => return Err(ApiError::no_route()),
    };
    Ok(json_response(StatusCode::OK, &doc))
}

/// A parsed resource URL.
struct Target {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_target(st: &State, group: &str, version: &str, rest: &[&str]) -> ApiResult<Target> {
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if st
                .registry
                .get(group, version, plural)
                .is_some_and(|t| t.namespaced) =>
        {
            let mut r = vec![*plural];
            r.extend_from_slice(tail);
            (Some(ns.to_string()), r)
        }
        _ => (None, rest.to_vec()),
    };
    let (plural, name, sub) = match rest.as_slice() {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(n.to_string()), None),
        [p, n, s] => (*p, Some(n.to_string()), Some(s.to_string())),
        _ => return Err(ApiError::no_route()),
    };
    let rt = st
        .registry
        .get(group, version, plural)
        .ok_or_else(ApiError::no_route)?;
    if !rt.namespaced && namespace.is_some() {
        return Err(ApiError::no_route());
    }
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::no_route());
    }
    Ok(Target {
        rt,
        namespace,
        name,
        sub,
    })
}

fn verb_of(method: &Method, t: &Target, q: &HashMap<String, String>) -> ApiResult<&'static str> {
    let watch = truthy(q, "watch");
    let v = match (t.name.is_some(), method.as_str()) {
        (false, "GET") if watch => "watch",
        (false, "GET") => "list",
        (false, "POST") => "create",
        (false, "DELETE") => "deletecollection",
        (true, "GET") if watch => "watch",
        (true, "GET") => "get",
        (true, "PUT") => "update",
        (true, "PATCH") => "patch",
        (true, "DELETE") => "delete",
        (true, "POST") if t.sub.is_some() => "create",
        _ => return Err(ApiError::method_not_allowed()),
    };
    if t.rt.virtual_only && v != "create" {
        return Err(ApiError::method_not_allowed());
    }
    Ok(v)
}

fn write_ctx(parts: &Parts, q: &HashMap<String, String>) -> ApiResult<WriteCtx> {
    let manager = match q.get("fieldManager") {
        Some(m) => m.clone(),
        None => parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    };
    let validation = match q.get("fieldValidation").map(String::as_str) {
        None | Some("Warn") | Some("") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
            )));
        }
    };
    let dry_run = match q.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unsupported dry run value: {other}"
            )));
        }
    };
    Ok(WriteCtx {
        manager,
        dry_run,
        validation,
        force: truthy(q, "force"),
    })
}

fn parse_body(parts: &Parts, body: &Bytes) -> ApiResult<Value> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/vnd.kubernetes.protobuf") {
        return crate::proto::decode(body);
    }
    if ct.contains("yaml") {
        let text =
            std::str::from_utf8(body).map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
        return serde_saphyr::from_str(text).map_err(|e| {
            ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))
        });
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))
    })
}

fn written(w: Written, created_code: bool) -> Response {
    let code = if w.created && created_code {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut r = raw_json(code, serde_json::to_vec(&*w.obj).unwrap_or_default());
    for warn in w.warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{}\"", warn.replace('"', "\\\""))) {
            r.headers_mut().append("warning", v);
        }
    }
    r
}

fn delete_opts(body: &Bytes, q: &HashMap<String, String>) -> ApiResult<DeleteOpts> {
    let mut o = DeleteOpts {
        propagation: q.get("propagationPolicy").cloned(),
        dry_run: q.get("dryRun").is_some_and(|v| v == "All"),
        ..Default::default()
    };
    if !body.is_empty() {
        let b: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
        let s = |p: &str| b.pointer(p).and_then(Value::as_str).map(str::to_string);
        o.uid = s("/preconditions/uid");
        o.resource_version = s("/preconditions/resourceVersion");
        if let Some(p) = s("/propagationPolicy") {
            o.propagation = Some(p);
        }
        if b.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
            o.propagation = Some("Orphan".into());
        }
        if b.get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"))
        {
            o.dry_run = true;
        }
    }
    Ok(o)
}

#[allow(clippy::too_many_arguments)]
fn resource(
    sh: &Arc<Shared>,
    parts: &Parts,
    q: &HashMap<String, String>,
    group: &str,
    version: &str,
    rest: &[&str],
    body: Bytes,
) -> ApiResult<Response> {
    let mut st = sh.lock();
    let user = auth::authenticate(&st.tokens, &parts.headers)?;
    let caller = user.name.clone();
    let user = auth::impersonate(&st.store, user, &parts.headers)?;
    let t = parse_target(&st, group, version, rest)?;
    let verb = verb_of(&parts.method, &t, q)?;
    let counted = match &t.sub {
        Some(sub) => format!("{}/{sub}", t.rt.plural),
        None => t.rt.plural.clone(),
    };
    st.requests.record(verb, &counted);
    let ns = t.namespace.clone().unwrap_or_default();
    let name = t.name.clone().unwrap_or_default();
    let attrs = Attributes {
        verb: verb.into(),
        group: t.rt.group.clone(),
        resource: t.rt.plural.clone(),
        subresource: t.sub.clone().unwrap_or_default(),
        namespace: ns.clone(),
        name: name.clone(),
        path: None,
    };
    if !auth::authorize(&st.store, &user, &attrs) {
        return Err(auth::forbidden(&user, &attrs));
    }
    let drawn = (st.chaos.as_mut()).and_then(|c| c.error(&caller, verb, &t.rt.plural, &name));
    if let Some(err) =
        drawn.or_else(|| faults::take(&mut st.faults, verb, &t.rt.plural, &ns, &name))
    {
        // A watch learns of expiry from an ERROR event in the stream, not an HTTP status.
        if verb == "watch" && err.code == 410 {
            return Ok(watch::error_stream(&err));
        }
        return Err(err);
    }
    let rt = t.rt.clone();
    let scope = match t.sub.as_deref() {
        None => Scope::Main,
        Some("status") if rt.status => Scope::Status,
        Some("token")
            if rt.group.is_empty() && rt.plural == "serviceaccounts" && verb == "create" =>
        {
            return token_request(&mut st, parts, &ns, &name, &body);
        }
        Some(_) => return Err(ApiError::no_route()),
    };
    if rt.virtual_only {
        return access_review(&st, parts, &rt, &user, &body);
    }
    match verb {
        "get" => {
            let obj = st.get(&rt, &ns, &name)?;
            if let Some(include) = table_request(parts, q) {
                let rv = obj.pointer("/metadata/resourceVersion").cloned();
                let meta = json!({"resourceVersion": rv});
                let t = table::table(&rt, std::slice::from_ref(&*obj), meta, include);
                return Ok(json_response(StatusCode::OK, &t));
            }
            if metadata_only(parts) {
                return Ok(json_response(StatusCode::OK, &meta::partial_metadata(&obj)));
            }
            Ok(json_response(StatusCode::OK, &obj))
        }
        "list" => {
            let labels =
                LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))?;
            let fields = FieldSelector::parse(
                q.get("fieldSelector").map(String::as_str).unwrap_or(""),
                &rt.kind,
            )?;
            let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
                None => None,
                Some(Ok(0)) => None,
                Some(Ok(l)) => Some(l),
                Some(Err(_)) => {
                    return Err(ApiError::bad_request(
                        "limit must be a non-negative integer",
                    ));
                }
            };
            let body = st.list(
                &rt,
                t.namespace.as_deref(),
                &labels,
                &fields,
                limit,
                q.get("continue")
                    .map(String::as_str)
                    .filter(|c| !c.is_empty()),
                metadata_only(parts),
            )?;
            if let Some(include) = table_request(parts, q) {
                return Ok(json_response(
                    StatusCode::OK,
                    &list_table(&rt, &body, include)?,
                ));
            }
            Ok(raw_json(StatusCode::OK, body))
        }
        "watch" => {
            let labels =
                LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))?;
            let mut fsel = q.get("fieldSelector").cloned().unwrap_or_default();
            if let Some(n) = &t.name {
                if !fsel.is_empty() {
                    fsel.push(',');
                }
                fsel.push_str(&format!("metadata.name={n}"));
            }
            let fields = FieldSelector::parse(&fsel, &rt.kind)?;
            let rv = match q.get("resourceVersion").map(String::as_str) {
                None | Some("") => None,
                Some(s) => Some(s.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "resourceVersion: Invalid value: \"{s}\": must be an integer"
                    ))
                })?),
            };
            let timeout = match q.get("timeoutSeconds").map(|s| s.parse::<u64>()) {
                None => Duration::from_secs(1800),
                Some(Ok(s)) => Duration::from_secs(s),
                Some(Err(_)) => {
                    return Err(ApiError::bad_request("timeoutSeconds must be an integer"));
                }
            };
            let p = WatchParams {
                resource_version: rv,
                timeout,
                bookmarks: truthy(q, "allowWatchBookmarks"),
                initial_events: truthy(q, "sendInitialEvents"),
                namespace: t.namespace.clone(),
                labels,
                fields,
                metadata_only: metadata_only(parts),
            };
            drop(st);
            Ok(watch::start(sh, rt, p))
        }
        "create" => {
            let ctx = write_ctx(parts, q)?;
            let obj = parse_body(parts, &body)?;
            if rt.namespaced && t.namespace.is_none() {
                return Err(ApiError::method_not_allowed());
            }
            Ok(written(st.create(&rt, &ns, obj, &ctx, None)?, true))
        }
        "update" => {
            let ctx = write_ctx(parts, q)?;
            let obj = parse_body(parts, &body)?;
            Ok(written(st.update(&rt, &ns, &name, obj, scope, &ctx)?, true))
        }
        "patch" => {
            let ctx = write_ctx(parts, q)?;
            let ct = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            let kind = PatchKind::from_content_type(ct)
                .ok_or_else(|| ApiError::unsupported_media_type(ct))?;
            if kind == PatchKind::Apply && q.get("fieldManager").is_none_or(|m| m.is_empty()) {
                return Err(ApiError::bad_request(
                    "fieldManager is required for apply requests",
                ));
            }
            if kind != PatchKind::Apply && ctx.force {
                return Err(ApiError::bad_request(
                    "force flag is only allowed for apply patches",
                ));
            }
            if body.is_empty() {
                return Err(ApiError::bad_request("the request body is empty"));
            }
            Ok(written(
                st.patch(&rt, &ns, &name, kind, &body, scope, &ctx)?,
                true,
            ))
        }
        "delete" => {
            let opts = delete_opts(&body, q)?;
            let obj = st.delete(&rt, &ns, &name, &opts)?;
            let still_there = st.store.get(&rt.gr(), &ns, &name).is_some();
            let code = if still_there && !opts.dry_run {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok(json_response(code, &obj))
        }
        "deletecollection" => {
            let opts = delete_opts(&body, q)?;
            let labels =
                LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))?;
            let fields = FieldSelector::parse(
                q.get("fieldSelector").map(String::as_str).unwrap_or(""),
                &rt.kind,
            )?;
            let keys: Vec<(String, String)> = st
                .store
                .list(&rt.gr(), t.namespace.as_deref())
                .filter(|(_, o)| {
                    let o = at_version(&rt, o);
                    labels.matches(&o) && fields.matches(&o)
                })
                .map(|(k, _)| k.clone())
                .collect();
            let mut items = Vec::new();
            for (n, m) in keys {
                match st.delete(&rt, &n, &m, &opts) {
                    Ok(o) => items.push((*o).clone()),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            let rv = st.store.rv().to_string();
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(),
                    "metadata": {"resourceVersion": rv}, "items": items,
                }),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `POST serviceaccounts/<name>/token`: mints a bearer token for the service account.
fn token_request(
    st: &mut State,
    parts: &Parts,
    ns: &str,
    name: &str,
    body: &Bytes,
) -> ApiResult<Response> {
    let sa_gr = (String::new(), "serviceaccounts".to_string());
    if st.store.get(&sa_gr, ns, name).is_none() {
        return Err(ApiError::not_found("", "serviceaccounts", name));
    }
    let req: Value = if body.is_empty() {
        json!({})
    } else {
        parse_body(parts, body)?
    };
    let token = format!("sa-{}", meta::uid());
    st.tokens.insert(
        token.clone(),
        UserInfo::new(&format!("system:serviceaccount:{ns}:{name}"), &[]),
    );
    let exp = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap_or(jiff::Timestamp::now())
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut spec = req
        .get("spec")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or(json!({}));
    if spec.get("audiences").is_none() {
        spec["audiences"] = json!(["https://kubernetes.default.svc"]);
    }
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": null},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": exp},
        }),
    ))
}

/// SelfSubjectAccessReview / SubjectAccessReview: evaluate RBAC, answer in `status`.
fn access_review(
    st: &State,
    parts: &Parts,
    rt: &ResourceType,
    user: &UserInfo,
    body: &Bytes,
) -> ApiResult<Response> {
    let mut review = parse_body(parts, body)?;
    if !review.is_object() {
        return Err(ApiError::bad_request(
            "the access review must be a JSON object",
        ));
    }
    let subject = if rt.plural == "subjectaccessreviews" {
        let name = review
            .pointer("/spec/user")
            .and_then(Value::as_str)
            .unwrap_or("");
        let groups: Vec<&str> = review
            .pointer("/spec/groups")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        UserInfo::new(name, &groups)
    } else {
        user.clone()
    };
    let s = |p: &str| {
        review
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let attrs = if review.pointer("/spec/nonResourceAttributes").is_some() {
        Attributes {
            verb: s("/spec/nonResourceAttributes/verb"),
            path: Some(s("/spec/nonResourceAttributes/path")),
            ..Default::default()
        }
    } else {
        Attributes {
            verb: s("/spec/resourceAttributes/verb"),
            group: s("/spec/resourceAttributes/group"),
            resource: s("/spec/resourceAttributes/resource"),
            subresource: s("/spec/resourceAttributes/subresource"),
            namespace: s("/spec/resourceAttributes/namespace"),
            name: s("/spec/resourceAttributes/name"),
            path: None,
        }
    };
    let allowed = auth::authorize(&st.store, &subject, &attrs);
    review["apiVersion"] = json!(rt.api_version());
    review["kind"] = json!(rt.kind);
    review["metadata"] = json!({"creationTimestamp": null});
    review["status"] = if allowed {
        json!({"allowed": true, "reason": "RBAC: allowed"})
    } else {
        json!({"allowed": false})
    };
    Ok(json_response(StatusCode::CREATED, &review))
}

//! Calling apparatuses without Kubernetes: what a call sends (the engine's
//! request bodies), where it goes, its `Idempotency-Key` and timeout, and
//! the HTTP call itself. The controller wraps it with starting and
//! touching the apparatus Pod ([`Apparatus`](super::Apparatus)); the CLI's
//! `render` uses it as it is, so both send the same requests.

use std::sync::Arc;
use std::time::Duration;

use integration_api::{SpecApparatus, When};
use integration_engine::{
    Configs, Coupling, CouplingEvent, OwnEvent, Owner, Side, Sources, apparatus_own_request,
    sha256_hex,
};
use serde_json::{Value, json};

use super::endpoint::{self, CallPath};
use super::http::{self, Answer, CallError, HttpClient, Post};
use super::options::ApparatusOptions;
use crate::metrics::Metrics;

/// One call to one side's apparatus, ready to post.
#[derive(Clone, Debug)]
pub struct Call<'a> {
    owner: &'a Owner<'a>,
    spec: &'a SpecApparatus,
    path: CallPath,
    url: String,
    body: Value,
    idempotency_key: String,
}

impl<'a> Call<'a> {
    /// The side whose apparatus is called.
    pub(super) fn owner(&self) -> &'a Owner<'a> {
        self.owner
    }

    /// That side's `spec.apparatus`.
    pub(super) fn spec(&self) -> &'a SpecApparatus {
        self.spec
    }

    /// The URL as notes and logs show it: without `user:password@`.
    pub fn shown_url(&self) -> String {
        endpoint::shown_url(&self.url)
    }
}

/// Builds and posts apparatus calls. Clones share one connection pool.
#[derive(Clone)]
pub struct Caller {
    http: HttpClient,
    options: ApparatusOptions,
}

impl Caller {
    /// Calls addressed as `options` say.
    pub fn new(options: ApparatusOptions) -> Self {
        Caller {
            http: HttpClient::new(),
            options,
        }
    }

    /// These calls, each counted in `metrics` by path and outcome.
    pub(crate) fn counting(self, metrics: Arc<Metrics>) -> Self {
        Caller {
            http: self.http.counting(metrics),
            ..self
        }
    }

    /// The options calls are addressed with.
    pub fn options(&self) -> &ApparatusOptions {
        &self.options
    }

    /// `POST <base>/config` of `side`, or `None` when it has no apparatus.
    /// Fails when the request body cannot be built (a var or data error).
    pub fn config<'a>(
        &self,
        coupling: &'a Coupling<'a>,
        side: Side,
        sources: &Sources,
    ) -> integration_engine::Result<Option<Call<'a>>> {
        let owner = coupling.owner(side);
        if owner.spec().apparatus.is_none() {
            return Ok(None);
        }
        let body = coupling.apparatus_config_request(side, sources)?;
        Ok(self.call(owner, CallPath::Config, body))
    }

    /// `POST <base>/<event>` of a coupling event to `side`, or `None`
    /// when it has no apparatus.
    pub fn coupling_event<'a>(
        &self,
        coupling: &'a Coupling<'a>,
        side: Side,
        event: CouplingEvent,
        configs: &Configs,
    ) -> Option<Call<'a>> {
        let owner = coupling.owner(side);
        owner.spec().apparatus.as_ref()?;
        let body = coupling.apparatus_event_request(configs);
        self.call(owner, CallPath::Event(When::from(event)), body)
    }

    /// `POST <base>/created` or `/deleted` of the owner's own event, or
    /// `None` when it has no apparatus.
    pub fn own_event<'a>(&self, owner: &'a Owner<'a>, event: OwnEvent) -> Option<Call<'a>> {
        owner.spec().apparatus.as_ref()?;
        let body = apparatus_own_request(owner);
        self.call(owner, CallPath::Event(When::from(event)), body)
    }

    fn call<'a>(&self, owner: &'a Owner<'a>, path: CallPath, body: Value) -> Option<Call<'a>> {
        let spec = owner.spec().apparatus.as_ref()?;
        let (name, namespace) = (owner.name(), owner.namespace());
        let base = endpoint::base_url(owner.side(), name, namespace, spec, &self.options);
        Some(Call {
            owner,
            spec,
            path,
            url: endpoint::call_url(&base, path),
            idempotency_key: idempotency_key(owner, path, &body),
            body,
        })
    }

    /// Whether `side`'s apparatus has an address of its own: one given in
    /// the options for its kind, or an absolute `http(s)://` endpoint.
    /// Other endpoints name the apparatus Service in the cluster, or
    /// `localhost` beside the operator, which only the operator reaches.
    pub fn has_own_address(&self, side: Side, spec: &SpecApparatus) -> bool {
        let given = match side {
            Side::Plug => &self.options.plug_endpoint,
            Side::Socket => &self.options.socket_endpoint,
        };
        given.is_some() || spec.endpoint.as_deref().is_some_and(endpoint::has_scheme)
    }

    /// Makes `call` and reads its answer: the `/config` JSON object (`{}`
    /// when the apparatus answers 404), `Null` for events. Starts nothing:
    /// a refused connection is an error ([`CallError::is_not_running`]).
    pub async fn post(&self, call: &Call<'_>) -> Result<Value, CallError> {
        tracing::debug!(url = %call.shown_url(), "calling apparatus");
        let post = Post {
            path: call.path,
            url: &call.url,
            body: &call.body,
            timeout: call_timeout(call.spec),
            idempotency_key: &call.idempotency_key,
        };
        match (self.http.post(&post).await?, call.path) {
            (Answer::NotImplemented, CallPath::Config) => Ok(json!({})),
            (Answer::Ok { body, .. }, CallPath::Config) => http::json_answer(&post, &body),
            _ => Ok(Value::Null),
        }
    }
}

/// The call timeout of `spec` (`timeout`, default 30 s).
fn call_timeout(spec: &SpecApparatus) -> Duration {
    Duration::from_secs(u64::try_from(spec.timeout_seconds()).unwrap_or(1))
}

/// The `Idempotency-Key` header: `<owner uid>-<path>-<generation>-<digest>`,
/// where the digest covers the body without the fields that change with
/// every status write (`status`, `resourceVersion`, `managedFields`). A
/// retry of the same call sends the same key; a call with other configs
/// (an update that changed no generation) sends another.
fn idempotency_key(owner: &Owner<'_>, path: CallPath, body: &Value) -> String {
    let generation = owner.json()["metadata"]["generation"]
        .as_i64()
        .unwrap_or_default();
    let mut stable = body.clone();
    for side in Side::BOTH {
        if let Some(object) = stable.get_mut(side.as_str()).and_then(Value::as_object_mut) {
            object.remove("status");
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
                meta.remove("managedFields");
            }
        }
    }
    let digest = sha256_hex(&stable.to_string());
    format!(
        "{}-{}-{generation}-{}",
        owner.uid(),
        path.segment(),
        &digest[..16]
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use integration_api::{API_VERSION, Plug};

    fn plug(generation: i64, rv: &str) -> Plug {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "Plug",
            "metadata": {"name": "p", "namespace": "app", "uid": "u1",
                "generation": generation, "resourceVersion": rv},
            "spec": {"apparatus": {"idleTimeout": 30, "containers": []}},
            "status": {"inputsHash": rv}
        }))
        .unwrap()
    }

    #[test]
    fn idempotency_keys_ignore_status_writes_only() {
        let (a, b, c) = (plug(1, "10"), plug(1, "11"), plug(2, "12"));
        let caller = Caller::new(ApparatusOptions::default());
        let key = |p: &Plug| {
            let owner = Owner::plug(p).unwrap();
            let call = caller.own_event(&owner, OwnEvent::Created).unwrap();
            call.idempotency_key
        };
        assert_eq!(key(&a), key(&b));
        assert!(key(&a).starts_with("u1-created-1-"));
        assert_ne!(key(&a), key(&c));
    }

    #[test]
    fn own_addresses_are_given_or_absolute() {
        let spec = |endpoint: &str| SpecApparatus {
            endpoint: Some(endpoint.into()),
            ..SpecApparatus::default()
        };
        let caller = Caller::new(ApparatusOptions::default());
        assert!(caller.has_own_address(Side::Plug, &spec("https://h/p")));
        assert!(!caller.has_own_address(Side::Plug, &spec("/p")));
        assert!(!caller.has_own_address(Side::Plug, &spec("svc:3000")));
        let given = Caller::new(ApparatusOptions {
            socket_endpoint: Some("http://127.0.0.1:1".into()),
            ..ApparatusOptions::default()
        });
        assert!(given.has_own_address(Side::Socket, &spec("/s")));
        assert!(!given.has_own_address(Side::Plug, &spec("/s")));
    }
}

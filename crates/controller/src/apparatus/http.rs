//! The apparatus HTTP client (docs/apparatus.md, "Requests" and "Answers,
//! timeouts and retries"): `POST` with a
//! minified JSON body and `Content-Type: application/json`, an
//! `Idempotency-Key` header, one deadline for the whole call (retries
//! included), and up to [`RETRIES`] retries with backoff
//! ([`FIRST_BACKOFF`] doubling to [`MAX_BACKOFF`]) on 5xx answers and on
//! transport errors after a connection was made. A refused connection or
//! an unresolvable name is [`Failure::NotRunning`] at once: the caller
//! starts the apparatus instead of retrying. `404` means "not
//! implemented" ([`Answer::NotImplemented`]). Errors name the call, the
//! URL and the status, never the response body (it may hold secrets).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::time::Instant;

use super::endpoint::{CallPath, shown_url};
use crate::metrics::Metrics;

/// Retries after the first attempt.
pub const RETRIES: u32 = 3;
/// Wait before the first retry.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Largest response body read (a `/config` answer).
const MAX_BODY: usize = 1024 * 1024;

/// The wait before retry `n` (0-based): 100 ms, 200 ms, 400 ms, … ≤ 2 s.
pub fn backoff(n: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(n.min(16)))
        .min(MAX_BACKOFF)
}

/// One POST to make.
#[derive(Clone, Copy, Debug)]
pub struct Post<'a> {
    /// `/config` or an event path.
    pub path: CallPath,
    /// The full URL.
    pub url: &'a str,
    /// The JSON body.
    pub body: &'a Value,
    /// Deadline of the whole call, retries included.
    pub timeout: Duration,
    /// The `Idempotency-Key` header.
    pub idempotency_key: &'a str,
}

/// A successful call's outcome.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A status below 400. The body is read for `/config` only.
    Ok {
        /// The HTTP status.
        status: u16,
        /// The body (empty for events).
        body: Bytes,
    },
    /// `404`: the apparatus does not implement this path.
    NotImplemented,
}

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Nothing listens (connection refused, name not resolved): the
    /// apparatus is not running (docs/apparatus.md, "Lazy start").
    NotRunning(String),
    /// The whole call took longer than its timeout.
    Timeout,
    /// An error status (after the retries, for 5xx).
    Status(u16),
    /// The connection broke after it was made (after the retries).
    Transport(String),
    /// A `/config` answer that is not JSON.
    InvalidJson,
    /// The URL cannot be called.
    InvalidUrl,
}

/// A failed call: what, where and why. `Display` is the user-facing
/// message, for example `apparatus event coupled failed with 500 status
/// from POST http://h/plug/coupled`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct CallError {
    /// The call.
    pub path: CallPath,
    /// The URL as shown (credentials removed).
    pub url: String,
    /// The call's timeout.
    pub timeout: Duration,
    /// What went wrong.
    pub failure: Failure,
}

impl CallError {
    fn new(call: &Post<'_>, failure: Failure) -> Self {
        CallError {
            path: call.path,
            url: shown_url(call.url),
            timeout: call.timeout,
            failure,
        }
    }

    /// Whether nothing answered at the address (docs/apparatus.md, "Lazy
    /// start").
    pub fn is_not_running(&self) -> bool {
        matches!(self.failure, Failure::NotRunning(_))
    }

    fn message(&self) -> String {
        let (call, url) = (self.path.describe(), &self.url);
        match &self.failure {
            Failure::NotRunning(why) => {
                format!("apparatus {call} could not reach POST {url}: {why}")
            }
            Failure::Timeout => format!(
                "apparatus {call} timed out after {} on POST {url}",
                seconds(self.timeout)
            ),
            Failure::Status(code) => {
                format!("apparatus {call} failed with {code} status from POST {url}")
            }
            Failure::Transport(why) => {
                format!("apparatus {call} got no answer from POST {url}: {why}")
            }
            Failure::InvalidJson => {
                format!("apparatus {call} returned invalid JSON from POST {url}")
            }
            Failure::InvalidUrl => format!("apparatus {call} has an invalid URL: {url}"),
        }
    }
}

/// `2s`, or `1.5s` for fractions.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// Calls apparatuses over HTTP or HTTPS (rustls, the platform's roots).
/// Clones share one connection pool (and the metrics, when counting).
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    metrics: Option<Arc<Metrics>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// A client with a connection pool.
    pub fn new() -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config())
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        HttpClient {
            client,
            metrics: None,
        }
    }

    /// This client, counting each call in `metrics` by path and outcome.
    pub fn counting(self, metrics: Arc<Metrics>) -> Self {
        HttpClient {
            metrics: Some(metrics),
            ..self
        }
    }

    /// Makes `call`, retrying 5xx answers and broken connections until
    /// its deadline, and counts it (once, with its final outcome).
    pub async fn post(&self, call: &Post<'_>) -> Result<Answer, CallError> {
        let outcome = self.retrying(call).await;
        if let Some(metrics) = &self.metrics {
            metrics.count_apparatus_call(call.path.segment(), status(&outcome));
        }
        outcome
    }

    async fn retrying(&self, call: &Post<'_>) -> Result<Answer, CallError> {
        let fail = |failure| CallError::new(call, failure);
        let uri: http::Uri = call.url.parse().map_err(|_| fail(Failure::InvalidUrl))?;
        let body = Bytes::from(call.body.to_string());
        let deadline = Instant::now() + call.timeout;
        let mut retry = 0;
        loop {
            let attempt = self.attempt(call, &uri, body.clone());
            let failure = match tokio::time::timeout_at(deadline, attempt).await {
                Err(_) => return Err(fail(Failure::Timeout)),
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(failure)) => failure,
            };
            let retryable = match &failure {
                Failure::Status(code) => *code >= 500,
                Failure::Transport(_) => true,
                _ => false,
            };
            let pause = backoff(retry);
            if !retryable || retry >= RETRIES || Instant::now() + pause >= deadline {
                return Err(fail(failure));
            }
            tracing::debug!(url = %shown_url(call.url), ?failure, retry, "apparatus call retried");
            tokio::time::sleep(pause).await;
            retry += 1;
        }
    }

    async fn attempt(
        &self,
        call: &Post<'_>,
        uri: &http::Uri,
        body: Bytes,
    ) -> Result<Answer, Failure> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", call.idempotency_key)
            .body(Full::new(body))
            .map_err(|_| Failure::InvalidUrl)?;
        let response = self.client.request(request).await.map_err(|e| {
            let why = reason(&e);
            if e.is_connect() && !is_tls(&e) {
                Failure::NotRunning(why)
            } else {
                Failure::Transport(why)
            }
        })?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(Answer::NotImplemented);
        }
        if status.as_u16() >= 400 {
            return Err(Failure::Status(status.as_u16()));
        }
        let status = status.as_u16();
        if call.path != CallPath::Config {
            let body = Bytes::new();
            return Ok(Answer::Ok { status, body });
        }
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| Failure::Transport(e.to_string()))?
            .to_bytes();
        Ok(Answer::Ok { status, body })
    }
}

/// The HTTP status a call ended with, if an answer came.
fn status(outcome: &Result<Answer, CallError>) -> Option<u16> {
    match outcome {
        Ok(Answer::Ok { status, .. }) => Some(*status),
        Ok(Answer::NotImplemented) => Some(StatusCode::NOT_FOUND.as_u16()),
        Err(CallError {
            failure: Failure::Status(code),
            ..
        }) => Some(*code),
        Err(_) => None,
    }
}

/// A `/config` answer as JSON; an empty or malformed body is an error.
pub fn json_answer(call: &Post<'_>, body: &[u8]) -> Result<Value, CallError> {
    serde_json::from_slice(body).map_err(|_| CallError::new(call, Failure::InvalidJson))
}

/// rustls with ring and the platform's root certificates (none when they
/// cannot be read: HTTPS calls then fail with a certificate error).
fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    #[allow(clippy::expect_used)] // a fixed configuration, not input
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring implements the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Every error in `err`'s chain, looking inside `io::Error`s too.
fn chain<'e>(
    err: &'e (dyn std::error::Error + 'static),
) -> Vec<&'e (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        out.push(e);
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    out
}

/// Whether the connection failed in the TLS handshake (a configuration
/// problem, not an apparatus that is not running).
fn is_tls(err: &hyper_util::client::legacy::Error) -> bool {
    chain(err).iter().any(|e| e.is::<rustls::Error>())
}

/// A short reason: `connection refused`, or the innermost error's text.
fn reason(err: &hyper_util::client::legacy::Error) -> String {
    let errors = chain(err);
    for e in &errors {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                _ => {}
            }
        }
    }
    errors
        .last()
        .map_or_else(|| err.to_string(), |e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use integration_api::When;

    #[test]
    fn backoff_doubles_to_two_seconds() {
        let waits: Vec<u128> = (0..7).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    fn error(path: CallPath, failure: Failure) -> String {
        CallError {
            path,
            url: shown_url("http://u:p@h/plug/x"),
            timeout: Duration::from_secs(2),
            failure,
        }
        .to_string()
    }

    #[test]
    fn calls_count_under_the_status_answered() {
        let failed = |failure| {
            Err(CallError {
                path: CallPath::Config,
                url: String::new(),
                timeout: Duration::from_secs(1),
                failure,
            })
        };
        let answered = Ok(Answer::Ok {
            status: 204,
            body: Bytes::new(),
        });
        assert_eq!(status(&answered), Some(204));
        assert_eq!(status(&Ok(Answer::NotImplemented)), Some(404));
        assert_eq!(status(&failed(Failure::Status(503))), Some(503));
        assert_eq!(status(&failed(Failure::Timeout)), None);
        let refused = Failure::NotRunning("connection refused".into());
        assert_eq!(status(&failed(refused)), None);
    }

    #[test]
    fn messages_name_the_call_url_and_status() {
        let coupled = CallPath::Event(When::Coupled);
        assert_eq!(
            error(coupled, Failure::Status(500)),
            "apparatus event coupled failed with 500 status from POST http://h/plug/x"
        );
        assert_eq!(
            error(CallPath::Config, Failure::Timeout),
            "apparatus config timed out after 2s on POST http://h/plug/x"
        );
        assert_eq!(
            error(CallPath::Config, Failure::InvalidJson),
            "apparatus config returned invalid JSON from POST http://h/plug/x"
        );
        assert_eq!(
            error(coupled, Failure::NotRunning("connection refused".into())),
            "apparatus event coupled could not reach POST http://h/plug/x: connection refused"
        );
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }
}

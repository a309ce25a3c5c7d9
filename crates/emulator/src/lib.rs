//! An in-process Kubernetes API server emulator for tests, held to the real server's behavior.
//!
//! The operator under test talks to it with an ordinary `kube::Client` over HTTP (or over the
//! axum Router as an in-process `tower::Service`); it cannot tell it from a cluster. State is
//! in memory. See `README.md` for what is modelled and what is not.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emu = kube_emulator::Emulator::start().await?;
//! let client = emu.client();            // cluster-admin, over HTTP
//! let alice = emu.client_as("alice", &[]); // RBAC applies
//! std::fs::write("/tmp/kubeconfig", emu.kubeconfig_yaml())?;
//! # Ok(()) }
//! ```

mod auth;
mod convert;
mod crd;
mod discovery;
mod error;
mod faults;
mod fields;
mod gc;
mod meta;
mod patch;
mod proto;
mod requests;
mod resources;
mod schema;
mod selectors;
mod server;
mod state;
mod store;
mod table;
mod tls;
mod validation;
mod watch;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use http::{HeaderValue, Request, header};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use auth::UserInfo;
use state::State;

pub use faults::{Chaos, Fault, Injected};
pub use requests::{RequestCounts, RequestKey, WRITE_VERBS};

/// State shared by the HTTP front, the watches and the garbage collector.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Bumped to end every open watch (the "drop watch connections" knob).
    epoch: tokio::sync::watch::Sender<u64>,
    bookmark_interval: Duration,
    gc_wake: Arc<Notify>,
}

impl Shared {
    /// The state lock. A panic while holding it cannot leave a half-written object (writes
    /// are single map inserts), so a poisoned lock is still usable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Tunables; the defaults suit tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often watches that asked for bookmarks get one.
    pub bookmark_interval: Duration,
    /// Events kept for watches to resume from; older ones are compacted (410 Expired).
    pub event_log_capacity: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bookmark_interval: Duration::from_secs(1),
            event_log_capacity: 100_000,
        }
    }
}

/// The bearer token of the built-in cluster-admin user.
const ADMIN_USER: &str = "admin";

/// A running emulator. Dropping it stops the server, its watches and its garbage collector.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: Option<SocketAddr>,
    admin_token: String,
    server: Option<JoinHandle<()>>,
    tls: Option<tls::Tls>,
}

impl Emulator {
    /// An emulator with no listener, for the in-process path. Needs a tokio runtime.
    pub fn new(opts: Options) -> Self {
        let gc_wake = Arc::new(Notify::new());
        let mut state = State::new(gc_wake.clone(), opts.event_log_capacity);
        let admin_token = format!("admin-{}", meta::uid());
        state.tokens.insert(
            admin_token.clone(),
            UserInfo::new(ADMIN_USER, &[auth::MASTERS]),
        );
        let (epoch, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            epoch,
            bookmark_interval: opts.bookmark_interval,
            gc_wake: gc_wake.clone(),
        });
        tokio::spawn(gc::run(Arc::downgrade(&shared), gc_wake));
        Emulator {
            shared,
            addr: None,
            admin_token,
            server: None,
            tls: None,
        }
    }

    /// Serves on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::serve_on(SocketAddr::from(([127, 0, 0, 1], 0)), Options::default()).await
    }

    /// Serves HTTPS on `addr` (port 0 picks a free one) with a fresh CA.
    pub async fn serve_on(addr: SocketAddr, opts: Options) -> std::io::Result<Self> {
        let mut emu = Self::new(opts);
        let tls = tls::Tls::generate().map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        emu.addr = Some(listener.local_addr()?);
        emu.server = Some(tokio::spawn(tls::serve(
            listener,
            tls.acceptor.clone(),
            emu.router(),
        )));
        emu.tls = Some(tls);
        Ok(emu)
    }

    /// The API server as a Router (a `tower::Service`).
    pub fn router(&self) -> Router {
        server::router(self.shared.clone())
    }

    /// `https://127.0.0.1:<port>`, or `http://in-process` when not listening.
    pub fn url(&self) -> String {
        match self.addr {
            Some(a) => format!("https://{a}"),
            None => "http://in-process".into(),
        }
    }

    /// PEM of the CA that signed the serving certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// A kube `Config` for `token` against the listener (`None` when not listening).
    pub fn config_for_token(&self, token: &str) -> Option<kube::Config> {
        let tls = self.tls.as_ref()?;
        let uri = self.url().parse().ok()?;
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".into();
        config.root_cert = Some(vec![tls.ca_der.clone()]);
        config.auth_info.token = Some(secrecy::SecretString::from(token.to_string()));
        Some(config)
    }

    /// A cluster-admin kube `Config` (`None` when not listening).
    pub fn config(&self) -> Option<kube::Config> {
        self.config_for_token(&self.admin_token)
    }

    /// The bearer token of the built-in cluster-admin user, for clients built by hand.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Registers a bearer token for `user` (service accounts get their groups added).
    pub fn issue_token(&self, user: &str, groups: &[&str]) -> String {
        let token = format!("tok-{}", meta::uid());
        self.shared
            .lock()
            .tokens
            .insert(token.clone(), UserInfo::new(user, groups));
        token
    }

    fn client_with_token(&self, token: &str) -> kube::Client {
        match self.config_for_token(token).map(kube::Client::try_from) {
            Some(Ok(c)) => c,
            // Not listening, or (never expected) no TLS client: go in-process.
            _ => self.in_process_client_with(token),
        }
    }

    /// A cluster-admin client (over HTTP when listening, in-process otherwise).
    pub fn client(&self) -> kube::Client {
        self.client_with_token(&self.admin_token)
    }

    /// A client authenticated as `user` with `groups`; RBAC applies to it.
    pub fn client_as(&self, user: &str, groups: &[&str]) -> kube::Client {
        let token = self.issue_token(user, groups);
        self.client_with_token(&token)
    }

    /// A cluster-admin client that calls the Router directly, without a socket.
    pub fn in_process_client(&self) -> kube::Client {
        self.in_process_client_with(&self.admin_token)
    }

    fn in_process_client_with(&self, token: &str) -> kube::Client {
        let auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        kube::Client::new(
            WithToken {
                inner: self.router(),
                auth,
            },
            "default",
        )
    }

    /// A kubeconfig for the admin user (context `kube-emulator`, namespace `default`).
    pub fn kubeconfig_yaml(&self) -> String {
        let ca = self
            .tls
            .as_ref()
            .map(|t| format!("\n    certificate-authority-data: {}", t.ca_data()))
            .unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-emulator\n  cluster:\n    server: {}{ca}\n\
             contexts:\n- name: kube-emulator\n  context:\n    cluster: kube-emulator\n    user: {ADMIN_USER}\n    namespace: default\n\
             current-context: kube-emulator\nusers:\n- name: {ADMIN_USER}\n  user:\n    token: {}\n",
            self.url(),
            self.admin_token
        )
    }

    /// Makes matching requests fail (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Injects random faults into the requests of one user from now on
    /// (`None`: no more).
    pub fn chaos(&self, chaos: Option<Chaos>) {
        self.shared.lock().chaos = chaos;
    }

    /// What the random faults injected so far.
    pub fn injected(&self) -> Injected {
        self.shared
            .lock()
            .chaos
            .as_ref()
            .map(|c| c.injected)
            .unwrap_or_default()
    }

    /// Removes every injected fault not yet used up.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Ends every open watch stream, as an apiserver restart or a load balancer would.
    pub fn drop_watches(&self) {
        self.shared.epoch.send_modify(|e| *e += 1);
    }

    /// Compacts the event log: watches from any earlier resourceVersion get 410 Expired.
    pub fn compact(&self) {
        self.shared.lock().store.compact();
    }

    /// A snapshot of the requests answered so far, per verb and resource (see
    /// [`RequestCounts`]): `emu.requests().since(&before).writes()`.
    pub fn requests(&self) -> RequestCounts {
        self.shared.lock().requests.clone()
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().store.rv()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
        self.drop_watches();
        self.shared.gc_wake.notify_one();
    }
}

/// The Router with a fixed `Authorization` header, for in-process clients.
#[derive(Clone)]
struct WithToken {
    inner: Router,
    auth: HeaderValue,
}

impl tower::Service<Request<kube::client::Body>> for WithToken {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = <Router as tower::Service<Request<kube::client::Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::<Request<kube::client::Body>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, mut req: Request<kube::client::Body>) -> Self::Future {
        req.headers_mut()
            .insert(header::AUTHORIZATION, self.auth.clone());
        self.inner.call(req)
    }
}

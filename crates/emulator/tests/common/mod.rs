//! Test environment: the emulator, or a real cluster when `KUBECONFIG` is set.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config};
use kube_emulator::Emulator;
use serde_json::json;

/// Where a check runs: a client, its config (for impersonation), and a fresh namespace.
pub struct Env {
    pub client: Client,
    pub config: Config,
    pub ns: String,
    /// Unique per check, for cluster-scoped names (CRDs) on shared clusters.
    pub suffix: String,
    /// `None` on a real cluster.
    pub emu: Option<Arc<Emulator>>,
}

fn suffix() -> String {
    (0..6)
        .map(|_| (b'a' + fastrand::u8(0..26)) as char)
        .collect()
}

impl Env {
    pub async fn emulator() -> Env {
        let emu = Arc::new(Emulator::start().await.expect("emulator starts"));
        let config = emu.config().expect("listening");
        Self::with(Client::try_from(config.clone()).unwrap(), config, Some(emu)).await
    }

    /// `None` unless `KUBECONFIG` is set.
    pub async fn real() -> Option<Env> {
        std::env::var_os("KUBECONFIG")?;
        let config = Config::infer().await.expect("KUBECONFIG is usable");
        Some(Self::with(Client::try_from(config.clone()).unwrap(), config, None).await)
    }

    async fn with(client: Client, config: Config, emu: Option<Arc<Emulator>>) -> Env {
        let suffix = suffix();
        let ns = format!("conf-{suffix}");
        let nss: Api<Namespace> = Api::all(client.clone());
        nss.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .expect("create test namespace");
        Env {
            client,
            config,
            ns,
            suffix,
            emu,
        }
    }

    /// A client that impersonates `user` (and `groups`) through the admin identity.
    pub fn impersonating(&self, user: &str, groups: &[&str]) -> Client {
        let mut c = self.config.clone();
        c.auth_info.impersonate = Some(user.to_string());
        if !groups.is_empty() {
            c.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
        }
        Client::try_from(c).unwrap()
    }

    pub async fn cleanup(&self) {
        let nss: Api<Namespace> = Api::all(self.client.clone());
        let _ = nss.delete(&self.ns, &DeleteParams::default()).await;
    }
}

/// Polls `cond` until it holds, failing the test after `secs` seconds.
pub async fn wait_until<F, Fut>(what: &str, secs: u64, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if cond().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates a CRD, waits for it to be Established and for its first version's kind to be
/// served (discovery can lag a moment on a real cluster), and returns that kind's resource.
pub async fn install_crd(env: &Env, crd: CustomResourceDefinition) -> ApiResource {
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    let made = crds.create(&PostParams::default(), &crd).await.unwrap();
    let name = made.metadata.name.clone().unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(crds, &name, conditions::is_crd_established()),
    )
    .await
    .expect("CRD established in time")
    .unwrap();
    let spec = &made.spec;
    let gvk = GroupVersionKind::gvk(&spec.group, &spec.versions[0].name, &spec.names.kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, &spec.names.plural);
    let api: Api<DynamicObject> = if spec.scope == "Namespaced" {
        Api::namespaced_with(env.client.clone(), &env.ns, &ar)
    } else {
        Api::all_with(env.client.clone(), &ar)
    };
    wait_until("CR kind served", 20, || {
        let api = api.clone();
        async move { api.list(&ListParams::default()).await.is_ok() }
    })
    .await;
    ar
}

/// The `reason` of a kube API error.
pub fn reason<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> (u16, String) {
    match r {
        Err(kube::Error::Api(s)) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// One `#[tokio::test]` per check against the emulator, and `real_cluster`, which runs them all
/// against the cluster `KUBECONFIG` points at (skipped with a message when it is unset). Invoke
/// it in a module beside the checks: `mod emulator { crate::conformance!(check_a, check_b); }`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let env = $crate::common::Env::emulator().await;
                super::$name(&env).await;
            }
        )*

        #[tokio::test]
        async fn real_cluster() {
            if std::env::var_os("KUBECONFIG").is_none() {
                println!("skipped: the real-cluster conformance run needs KUBECONFIG");
                return;
            }
            $(
                let env = $crate::common::Env::real().await.unwrap();
                println!("real cluster: {}", stringify!($name));
                super::$name(&env).await;
                env.cleanup().await;
            )*
        }
    };
}

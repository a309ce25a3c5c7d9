//! The emulator, the F0 fixture, and bounded waits.

use std::future::Future;
use std::time::Duration;

use integration_controller::Cluster;
use kube::api::{Api, DynamicObject};
use kube_emulator::Emulator;
use serde_json::Value;

pub use integration_fixtures::F0;

/// A running emulator with F0 applied, and the operator's handle on it
/// (cluster-admin, as the operator's own identity may be).
pub struct Env {
    pub emu: Emulator,
    pub cluster: Cluster,
}

impl Env {
    pub async fn f0() -> Env {
        let emu = Emulator::start().await.expect("emulator starts");
        let cluster = Cluster::new(emu.client());
        let env = Env { emu, cluster };
        env.admin_apply(F0).await;
        env
    }

    /// Applies every document of `yaml` as the operator itself.
    pub async fn admin_apply(&self, yaml: &str) {
        let objects = self.cluster.objects();
        for doc in yaml_docs(yaml) {
            objects.apply(&doc).await.expect("fixture applies");
        }
    }

    /// A dynamic API for `kind` in `ns`, as cluster-admin.
    pub async fn api(&self, api_version: &str, kind: &str, ns: &str) -> Api<DynamicObject> {
        let mapping = self
            .cluster
            .mapper()
            .mapping(api_version, kind)
            .await
            .unwrap();
        Api::namespaced_with(self.cluster.client().clone(), ns, &mapping.resource)
    }
}

pub fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

pub fn yaml_docs(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(text).unwrap()
}

/// Awaits `fut`, failing the test after `secs` seconds.
pub async fn within<T>(secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {secs}s"))
}

//! Resolving and rendering scenario A1 for one plug/socket pair: both
//! configs, both sides' coupled resources, and the inputs hash.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly

use criterion::{Criterion, criterion_group, criterion_main};
use integration_api::{Plug, Socket};
use integration_engine::{Coupling, CouplingEvent, Side, Sources};

const S0: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Socket
metadata: {name: postgres, namespace: db, uid: 3b0c4f3e-0000-4000-8000-000000000001}
spec:
  serviceAccountName: integrator
  interface:
    config:
      socket:
        host: {required: true}
        port: {default: "5432"}
      plug:
        database: {required: true}
        owner: {default: app-user}
  config:
    host: postgres.db.svc
  resources:
    - when: [coupled, updated]
      do: apply
      stringTemplate: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: grant-{% .plug.metadata.namespace %}-{% .plug.metadata.name %}
        data:
          database: "{% .plugConfig.database %}"
          owner: "{% .plugConfig.owner %}"
"#;

const P0: &str = r#"
apiVersion: integration.rock8s.com/v1beta1
kind: Plug
metadata: {name: orders-db, namespace: app, uid: 3b0c4f3e-0000-4000-8000-000000000002}
spec:
  serviceAccountName: integrator
  socket: {name: postgres, namespace: db}
  config:
    database: orders
    unlisted: dropped-by-interface
  resources:
    - when: [coupled, updated]
      do: apply
      stringTemplate: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: orders-db-connection
        data:
          url: "postgres://{% .socketConfig.host %}:{% .socketConfig.port %}/{% .plugConfig.database %}"
          keys: "{% range $k, $v := .plugConfig %}{% $k %},{% end %}"
"#;

fn a1(c: &mut Criterion) {
    let socket: Socket = serde_saphyr::from_str(S0).unwrap();
    let plug: Plug = serde_saphyr::from_str(P0).unwrap();
    let sources = Sources::default();
    c.bench_function("a1 couple (configs + coupled resources + hash)", |b| {
        b.iter(|| {
            let coupling = Coupling::new(&plug, &socket).unwrap();
            let configs = coupling.configs(&sources).unwrap();
            let rendered: usize = Side::BOTH
                .into_iter()
                .map(|side| {
                    coupling
                        .render_event(side, CouplingEvent::Coupled, &configs)
                        .unwrap()
                        .len()
                })
                .sum();
            assert_eq!(rendered, 2);
            coupling.inputs_hash(&sources).unwrap()
        })
    });
}

criterion_group!(benches, a1);
criterion_main!(benches);

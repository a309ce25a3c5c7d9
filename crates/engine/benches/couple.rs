//! Resolving and rendering scenario A1 for one plug/socket pair: both
//! configs, both sides' coupled resources, and the inputs hash.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly

use criterion::{Criterion, criterion_group, criterion_main};
use integration_api::{Plug, Socket};
use integration_engine::{Coupling, CouplingEvent, Side, Sources};
use integration_fixtures::{P0, S0, manifest};

fn a1(c: &mut Criterion) {
    let uid = |n: u8| format!("3b0c4f3e-0000-4000-8000-00000000000{n}");
    let socket: Socket =
        serde_json::from_value(manifest(S0, &[("metadata.uid", &uid(1))])).unwrap();
    let plug: Plug = serde_json::from_value(manifest(P0, &[("metadata.uid", &uid(2))])).unwrap();
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

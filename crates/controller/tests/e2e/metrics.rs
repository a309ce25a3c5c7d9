//! Issue 34: what `/metrics` shows of a coupling's life. The hook histogram
//! observes each side's hooks of each event, and the coupling gauges follow
//! the plugs in the controllers' caches.

use crate::harness::*;

/// How many times `side`'s hooks of `event` were observed.
fn hooks(text: &str, event: &str, side: &str) -> f64 {
    let series = format!(
        r#"integration_operator_hook_duration_seconds_count{{event="{event}",side="{side}"}}"#
    );
    sample(text, &series).unwrap_or(0.0)
}

/// Waits until the coupling gauges show `succeeded` plugs with
/// `CouplingSucceeded` and `coupled` plugs coupled.
async fn gauges_show(op: &Op, succeeded: f64, coupled: f64) -> String {
    eventually(
        &format!("{succeeded} CouplingSucceeded and {coupled} coupled in the gauges"),
        || async {
            let text = scrape(&op.metrics);
            let shown = (
                sample(
                    &text,
                    r#"integration_operator_couplings{reason="CouplingSucceeded"}"#,
                ),
                sample(&text, "integration_operator_coupled_plugs"),
            );
            (shown == (Some(succeeded), Some(coupled))).then_some(text)
        },
    )
    .await
}

#[tokio::test]
async fn a_coupling_shows_in_the_hook_histogram_and_the_gauges() {
    let op = Op::start().await;
    op.apply(S0).await;
    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;

    // The hooks are observed before the status write that shows the
    // coupling, so they are there now.
    let text = scrape(&op.metrics);
    for (event, side) in [
        ("created", "plug"),
        ("created", "socket"),
        ("coupled", "plug"),
        ("coupled", "socket"),
    ] {
        assert!(hooks(&text, event, side) >= 1.0, "{event} {side}:\n{text}");
    }
    assert_eq!(hooks(&text, "decoupled", "plug"), 0.0);

    let text = gauges_show(&op, 1.0, 1.0).await;
    for (series, value) in [
        (r#"integration_operator_couplings{reason="Error"}"#, 0.0),
        (r#"integration_operator_couplings{reason="Unknown"}"#, 0.0),
        ("integration_operator_sockets", 1.0),
        ("integration_operator_socket_plugs_max", 1.0),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series}:\n{text}");
    }
    assert!(
        !text.contains("integration_operator_template_errors_total{"),
        "{text}"
    );

    op.delete_plug("app", "orders-db").await;
    op.plug_gone("app", "orders-db").await;
    let text = scrape(&op.metrics);
    for (event, side) in [
        ("decoupled", "plug"),
        ("decoupled", "socket"),
        ("deleted", "plug"),
    ] {
        assert!(hooks(&text, event, side) >= 1.0, "{event} {side}:\n{text}");
    }
    gauges_show(&op, 0.0, 0.0).await;
}

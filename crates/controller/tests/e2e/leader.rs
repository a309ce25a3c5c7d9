//! Leader election against the emulator: of two contenders one leads; the
//! other takes over when the leader shuts down, crashes or loses the Lease;
//! only the leader runs the controllers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::channel::oneshot;
use integration_controller::leader::{LeaderError, LeaseConfig, Stop, run_elected};
use integration_controller::{Metrics, RunOptions};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;

use crate::harness::{EVENTUALLY, Op, P0, S0, eventually, scrape, within};

const NAMESPACE: &str = "default";

/// Durations short enough for tests, ordered as production's are.
fn fast(identity: &str) -> LeaseConfig {
    LeaseConfig {
        lease_duration: Duration::from_millis(1500),
        renew_deadline: Duration::from_millis(1000),
        retry_period: Duration::from_millis(100),
        ..LeaseConfig::new(NAMESPACE, identity)
    }
}

/// How many contenders run their work right now, and the most ever.
#[derive(Default)]
struct Leaders {
    now: AtomicUsize,
    most: AtomicUsize,
}

/// Counts one contender's work while it runs (dropped work counts too).
struct Leading(Arc<Leaders>);

impl Leading {
    fn enter(leaders: &Arc<Leaders>) -> Self {
        let now = leaders.now.fetch_add(1, Ordering::SeqCst) + 1;
        leaders.most.fetch_max(now, Ordering::SeqCst);
        Leading(leaders.clone())
    }
}

impl Drop for Leading {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Contender {
    identity: String,
    leading: Arc<AtomicBool>,
    task: JoinHandle<Result<(), LeaderError>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Contender {
    /// A contender whose work runs until it is asked to stop.
    fn start(client: &kube::Client, identity: &str, leaders: &Arc<Leaders>) -> Self {
        let leaders = leaders.clone();
        Self::with_work(client, identity, move |stop: Stop| async move {
            let _leading = Leading::enter(&leaders);
            stop.await;
        })
    }

    fn with_work<W>(
        client: &kube::Client,
        identity: &str,
        work: impl FnOnce(Stop) -> W + Send + 'static,
    ) -> Self
    where
        W: Future<Output = ()> + Send + 'static,
    {
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let leading = Arc::new(AtomicBool::new(false));
        let flag = leading.clone();
        let task = tokio::spawn(run_elected(
            client.clone(),
            fast(identity),
            shutdown_rx.map(|_| ()),
            move |now| flag.store(now, Ordering::SeqCst),
            work,
        ));
        Contender {
            identity: identity.to_string(),
            leading,
            task,
            shutdown: Some(shutdown),
        }
    }

    fn leads(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    async fn shut_down(&mut self) -> Result<(), LeaderError> {
        let _ = self.shutdown.take().unwrap().send(());
        within(EVENTUALLY, "contender returns", &mut self.task)
            .await
            .unwrap()
    }
}

fn leases(client: &kube::Client) -> Api<Lease> {
    Api::namespaced(client.clone(), NAMESPACE)
}

async fn holder(client: &kube::Client) -> Option<String> {
    leases(client)
        .get_opt("integration-operator")
        .await
        .unwrap()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}

/// Waits until exactly one of `contenders` leads and returns its index.
async fn one_leads(contenders: &[&Contender]) -> usize {
    eventually("one contender leads", || async {
        let leading: Vec<usize> = (0..contenders.len())
            .filter(|&i| contenders[i].leads())
            .collect();
        (leading.len() == 1).then(|| leading[0])
    })
    .await
}

async fn emulator() -> kube_emulator::Emulator {
    kube_emulator::Emulator::start().await.unwrap()
}

#[tokio::test]
async fn one_of_two_leads_and_the_other_takes_over_when_it_shuts_down() {
    let emu = emulator().await;
    let client = emu.client();
    let leaders = Arc::new(Leaders::default());
    let mut a = Contender::start(&client, "a", &leaders);
    let mut b = Contender::start(&client, "b", &leaders);
    let first = one_leads(&[&a, &b]).await;
    let (leader, standby) = if first == 0 {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert_eq!(
        holder(&client).await.as_deref(),
        Some(leader.identity.as_str())
    );

    leader.shut_down().await.unwrap();
    assert!(!leader.leads());
    // Released, so the standby takes over at its next try, long before
    // the lease would have expired.
    within(1, "standby takes over after the release", async {
        while !standby.leads() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        holder(&client).await.as_deref(),
        Some(standby.identity.as_str())
    );
    standby.shut_down().await.unwrap();
    assert_eq!(
        leaders.most.load(Ordering::SeqCst),
        1,
        "two leaders at once"
    );
    assert_eq!(leaders.now.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_crashed_leader_is_replaced_once_its_lease_expires() {
    let emu = emulator().await;
    let client = emu.client();
    let leaders = Arc::new(Leaders::default());
    let a = Contender::start(&client, "a", &leaders);
    one_leads(&[&a]).await;
    let mut b = Contender::start(&client, "b", &leaders);

    a.task.abort(); // no release: b must wait out the lease
    let _ = a.task.await;
    eventually("b leads", || async { b.leads().then_some(()) }).await;
    let lease = leases(&client).get("integration-operator").await.unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(spec.lease_transitions, Some(1));
    assert_eq!(spec.lease_duration_seconds, Some(2));
    b.shut_down().await.unwrap();
    assert_eq!(
        leaders.most.load(Ordering::SeqCst),
        1,
        "two leaders at once"
    );
}

#[tokio::test]
async fn a_leader_whose_lease_is_taken_stops_its_work_and_fails() {
    let emu = emulator().await;
    let client = emu.client();
    let leaders = Arc::new(Leaders::default());
    let mut a = Contender::start(&client, "a", &leaders);
    one_leads(&[&a]).await;

    let mut lease = leases(&client).get("integration-operator").await.unwrap();
    let spec = lease.spec.as_mut().unwrap();
    spec.holder_identity = Some("intruder".into());
    spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
    leases(&client)
        .replace("integration-operator", &PostParams::default(), &lease)
        .await
        .unwrap();

    let result = within(EVENTUALLY, "a notices", &mut a.task).await.unwrap();
    match result {
        Err(LeaderError::TakenOver { holder, .. }) => assert_eq!(holder, "intruder"),
        other => panic!("expected TakenOver, got {other:?}"),
    }
    assert!(!a.leads());
    assert_eq!(leaders.now.load(Ordering::SeqCst), 0, "work still running");
}

#[tokio::test]
async fn shutting_down_a_standby_returns_without_leading() {
    let emu = emulator().await;
    let client = emu.client();
    let leaders = Arc::new(Leaders::default());
    let mut a = Contender::start(&client, "a", &leaders);
    one_leads(&[&a]).await;
    let mut b = Contender::start(&client, "b", &leaders);
    b.shut_down().await.unwrap();
    assert!(a.leads());
    assert_eq!(holder(&client).await.as_deref(), Some("a"));
    a.shut_down().await.unwrap();
    assert_eq!(holder(&client).await, None, "released on shutdown");
}

/// Two operators, each running the controllers only while it leads: the
/// standby reconciles nothing until the leader shuts down.
#[tokio::test]
async fn only_the_leader_runs_the_controllers() {
    let op = Op::without_operator(RunOptions::default()).await;
    let operator = |identity: &str| {
        let metrics = Arc::new(Metrics::default());
        let options = RunOptions {
            metrics: metrics.clone(),
            ..RunOptions::default()
        };
        let synced = options.synced.clone();
        let client = op.client.clone();
        let contender = Contender::with_work(&op.client, identity, move |stop| {
            integration_controller::run_until(client, options, stop)
        });
        (contender, metrics, synced)
    };
    let (mut a, a_metrics, a_synced) = operator("a");
    one_leads(&[&a]).await;
    eventually("the leader's caches sync", || async {
        a_synced.load(Ordering::SeqCst).then_some(())
    })
    .await;
    let (mut b, b_metrics, b_synced) = operator("b");

    op.apply(S0).await;
    op.apply(P0).await;
    op.plug_reason("app", "orders-db", "CouplingSucceeded")
        .await;
    assert!(a_metrics.passes.plugs() > 0 && a_metrics.passes.sockets() > 0);
    assert_eq!(
        (b_metrics.passes.plugs(), b_metrics.passes.sockets()),
        (0, 0),
        "standby reconciled"
    );
    assert!(
        !b_synced.load(Ordering::SeqCst),
        "standby started its caches"
    );
    let gauges = "integration_operator_couplings{";
    assert!(scrape(&a_metrics).contains(gauges));
    assert!(
        !scrape(&b_metrics).contains(gauges),
        "a standby has no caches to count couplings from"
    );

    a.shut_down().await.unwrap();
    eventually("b reconciles once it leads", || async {
        (b.leads() && b_metrics.passes.plugs() > 0 && b_metrics.passes.sockets() > 0).then_some(())
    })
    .await;
    b.shut_down().await.unwrap();
}

//! `spec.timesOutAt`: a deadline already past, one that passes during the investigation, the
//! default deadline of an analysis without one, a retry backoff cut short by the deadline
//! (time moved, not waited for), and a restarted controller that resumes instead of
//! resubmitting.

use std::sync::LazyLock;
use std::time::Duration;

use apiserver::Match;
use controllers::aianalysis::{self, Metrics};
use controllers::api::AIAnalysisPhase::*;
use controllers::api::Time;
use controllers::clock::Clock;
use fixtures::{Suite, eventually};
use hapi_mock::Endpoint;
use manager::Backoff;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::env::{CRDS, FAMILY, RBAC, T, config, reason, session};
use crate::mock::hapi_url;

/// A single-test suite whose transient HolmesGPT-API errors are retried after 10 minutes:
/// longer than any test waits, so a test that finishes saw the deadline cut the wait short.
static SLOW_RETRY: LazyLock<Suite> = LazyLock::new(|| {
    let ten_minutes = Duration::from_secs(600);
    let backoff = Backoff::new(ten_minutes, 2.0, ten_minutes, 0.0);
    let why = "its retries back off for 10 minutes";
    FAMILY.variant("aianalysis-slow-retry", why, move |c, _| {
        c.retry_backoff = backoff
    })
});

/// The clock of [`MOVABLE_CLOCK`]'s controller, which its single test moves forward.
static CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite whose controller measures `timesOutAt` against [`CLOCK`].
static MOVABLE_CLOCK: LazyLock<Suite> = LazyLock::new(|| {
    let why = "its controller reads a clock the test moves";
    FAMILY.variant("aianalysis-movable-clock", why, |c, _| {
        c.clock = CLOCK.clone()
    })
});

/// The clock of [`DEFAULT_DEADLINE`]'s controller: a clock of its own, since [`CLOCK`]'s test
/// moves time by hours and, under plain `cargo test`, runs in the same process.
static DEFAULT_DEADLINE_CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite for analyses without `timesOutAt`, on [`DEFAULT_DEADLINE_CLOCK`].
static DEFAULT_DEADLINE: LazyLock<Suite> = LazyLock::new(|| {
    let why = "its controller reads a clock the test moves";
    let clock = || DEFAULT_DEADLINE_CLOCK.clone();
    FAMILY.variant("aianalysis-default-deadline", why, move |c, _| {
        c.clock = clock()
    })
});

/// A suite without the controller: its test runs controllers of its own (restarts).
static NO_CONTROLLER: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("aianalysis-restart")
        .crd_dir(CRDS)
        // The test's own controllers under their ServiceAccounts too (`Env::new_manager`).
        .rbac_dir(RBAC)
        .per_process_only("its test starts and stops controllers of its own")
        .build()
});

/// How long a controller gets to sync its watch.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopping controller may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_deadline_already_past_fails_before_calling_hapi() {
    let Some(t) = T::new("past").await else {
        return;
    };
    let mut aia = t.aia("past", "HighMemoryUsage");
    let an_hour_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    aia.spec.times_out_at = Some(Time(an_hour_ago));
    let failed = t.run(&aia, Failed).await;
    assert_eq!(reason(&failed), "Timeout");
    assert!(
        t.mock("past").await.calls.is_empty(),
        "HolmesGPT-API never called"
    );
}

#[tokio::test]
async fn a_deadline_passing_during_the_investigation_fails_it() {
    let Some(t) = T::on(&MOVABLE_CLOCK, "deadline").await else {
        return;
    };
    let mut aia = t.aia("slow", "mock-never-finishes");
    let in_an_hour = CLOCK.now() + jiff::SignedDuration::from_hours(1);
    aia.spec.times_out_at = Some(Time(in_an_hour));
    t.create(&aia).await;
    polled(&t, "slow").await;
    assert!(CLOCK.advance(Duration::from_secs(2 * 3600)));
    let failed = t.wait_phase("slow", Failed).await;
    assert_eq!(reason(&failed), "Timeout");
    assert!(
        failed
            .status
            .unwrap()
            .message
            .unwrap()
            .contains("timesOutAt passed")
    );
}

#[tokio::test]
async fn without_times_out_at_the_default_deadline_ends_a_stalled_investigation() {
    let Some(t) = T::on(&DEFAULT_DEADLINE, "nodeadline").await else {
        return;
    };
    let aia = t.aia("stalled", "mock-never-finishes");
    assert!(aia.spec.times_out_at.is_none());
    t.create(&aia).await;
    polled(&t, "stalled").await;
    // Past creation + the default timeout (10 minutes).
    assert!(DEFAULT_DEADLINE_CLOCK.advance(aianalysis::DEFAULT_TIMEOUT + Duration::from_secs(60)));
    let failed = t.wait_phase("stalled", Failed).await;
    assert_eq!(reason(&failed), "Timeout");
    let message = failed.status.unwrap().message.unwrap();
    assert!(
        message.contains("default deadline") && message.contains("timesOutAt is not set"),
        "{message}"
    );
}

#[tokio::test]
async fn a_retry_backoff_holds_between_calls_and_ends_at_the_deadline() {
    let Some(t) = T::on(&SLOW_RETRY, "retry").await else {
        return;
    };
    // Every analyze call fails with 500; the retry waits 10 minutes, but the deadline is much
    // sooner, so the analysis fails at the deadline, after exactly one call. A machine too busy
    // to make the first call before the deadline shows nothing: then the next attempt gets
    // twice the margin.
    for margin_s in [1, 2, 4, 8] {
        let name = format!("retry-{margin_s}s");
        let mut aia = t.aia(&name, "mock-always-500");
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(margin_s);
        aia.spec.times_out_at = Some(Time(soon));
        let failed = t.run(&aia, Failed).await;
        assert_eq!(reason(&failed), "Timeout");
        let calls = t.mock(&name).await.count(Endpoint::Analyze);
        if calls > 0 {
            // One call: the retry count written to the status did not wake the controller
            // early (that would spend the whole retry budget at once: MaxRetriesExceeded).
            assert_eq!(calls, 1);
            return;
        }
        eprintln!("{name}: the deadline passed before the first call; trying a longer margin");
    }
    panic!(
        "no analysis called HolmesGPT-API within 8 s of its creation: the backoff was never exercised"
    );
}

/// How long after the analysis's deadline its retry write is answered: the write is made after
/// the analysis is created, so it lands at least this long after the deadline however loaded the
/// machine is.
const HELD_PAST_DEADLINE: Duration = Duration::from_millis(500);

#[tokio::test]
async fn a_deadline_passing_during_the_retry_write_ends_the_analysis_at_once() {
    if fixtures::skip_in_cluster_mode(
        "it slows the embedded API server's answer to one status write (fault injection)",
    ) {
        return;
    }
    let Some(t) = T::on(&SLOW_RETRY, "slowwrite").await else {
        return;
    };
    let faults = t.env.server().expect("a per-process API server").faults();
    // The analyze call fails, and the status write recording retry 1 is answered only after
    // the deadline: the reconcile checked the deadline before the call, so its requeue is the
    // one chance to act on it. Capped at a deadline already past, it must come at once; the
    // 10-minute retry backoff would leave the analysis Investigating long after the deadline.
    for margin_s in [1, 2, 4, 8] {
        let name = format!("slow-{margin_s}s");
        let record = Match::verb("update")
            .resource("aianalyses")
            .subresource("status")
            .namespace(&t.ns)
            .name(&name);
        // Rules fire in the order added: the first status write (Pending → Investigating)
        // passes at once, the second (recording the retry) waits past the deadline.
        faults.delay(record.clone(), Duration::ZERO, 1);
        faults.delay(
            record.clone(),
            Duration::from_secs(margin_s) + HELD_PAST_DEADLINE,
            1,
        );
        let mut aia = t.aia(&name, "mock-always-500");
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(margin_s as i64);
        aia.spec.times_out_at = Some(Time(soon));
        let failed = t.run(&aia, Failed).await;
        assert_eq!(reason(&failed), "Timeout");
        let calls = t.mock(&name).await.count(Endpoint::Analyze);
        if calls > 0 {
            assert_eq!(calls, 1);
            assert_eq!(
                faults.pending_matching(&record),
                0,
                "the delayed write happened"
            );
            return;
        }
        // Too busy to call before the deadline: no retry write was made (this name's delay
        // stays unused).
        eprintln!("{name}: the deadline passed before the first call; trying a longer margin");
    }
    panic!("no analysis called HolmesGPT-API within 8 s of its creation: nothing was delayed");
}

/// Waits until the analysis `name` has a session that HolmesGPT-API was asked about at least
/// once: the investigation is under way.
async fn polled(t: &T, name: &str) {
    let api = t.api();
    eventually("an investigation being polled", || async {
        let aia = api.get(name).await.map_err(|e| e.to_string())?;
        let polls = t.mock(name).await.count(Endpoint::Status);
        if session(&aia).is_some() && polls >= 1 {
            Ok(())
        } else {
            Err(format!("session {:?}, {polls} polls", session(&aia)))
        }
    })
    .await;
}

#[tokio::test]
async fn a_restarted_controller_resumes_polling_the_recorded_session() {
    let Some(t) = T::on(&NO_CONTROLLER, "restart").await else {
        return;
    };
    let start = |registry: &mut Registry| {
        let mut manager = t.env.new_manager(CancellationToken::new());
        aianalysis::register(
            &mut manager,
            config(hapi_url()),
            Metrics::register(registry),
            t.env.audit().clone(),
        );
        manager.start()
    };
    let mut first_registry = Registry::default();
    let first = start(&mut first_registry);
    first.ready(READY_TIMEOUT).await.expect("controller ready");
    t.create(&t.aia("resume", "mock-never-finishes")).await;
    let api = t.api();
    let recorded = eventually("a recorded session", || async {
        let aia = api.get("resume").await.map_err(|e| e.to_string())?;
        session(&aia).ok_or_else(|| "no session yet".to_owned())
    })
    .await;
    first
        .shutdown(STOP_TIMEOUT)
        .await
        .expect("first controller stops");
    let polls_before = t.mock("resume").await.count(Endpoint::Status);

    let mut second_registry = Registry::default();
    let second = start(&mut second_registry);
    second.ready(READY_TIMEOUT).await.expect("controller ready");
    eventually("the second controller to poll", || async {
        let calls = t.mock("resume").await;
        if calls.count(Endpoint::Status) > polls_before {
            Ok(())
        } else {
            Err(format!("{calls:?}"))
        }
    })
    .await;
    second
        .shutdown(STOP_TIMEOUT)
        .await
        .expect("second controller stops");
    let calls = t.mock("resume").await;
    assert_eq!(
        calls.count(Endpoint::Analyze),
        1,
        "never resubmitted: {calls:?}"
    );
    assert!(
        calls
            .calls
            .iter()
            .filter(|c| c.endpoint == Endpoint::Status)
            .all(|c| c.session_id.as_deref() == Some(recorded.as_str())),
        "every poll is of the recorded session"
    );
    assert_eq!(api.get("resume").await.unwrap().phase(), Investigating);
}

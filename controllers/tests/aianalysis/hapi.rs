//! Investigating against an unreliable HolmesGPT-API: transient errors retried within the
//! budget (counted exactly at the mock), lost sessions recreated, failures that no retry can
//! fix, a HolmesGPT-API nobody listens on; and an API server that fails the write recording
//! what HolmesGPT-API answered.

use std::sync::LazyLock;

use apiserver::Match;
use controllers::api::AIAnalysis;
use controllers::api::AIAnalysisPhase::*;
use fixtures::{Suite, eventually};
use hapi_mock::Endpoint;

use crate::env::{FAMILY, T, reason, retries, session};
use crate::mock::release;

/// A suite whose HolmesGPT-API is a port nobody listens on: every call is a connection error.
/// Port 1 (tcpmux) is privileged and unused on loopback: connecting is refused. A port freed
/// by dropping a listener could be taken by another test process meanwhile.
static UNREACHABLE: LazyLock<Suite> = LazyLock::new(|| {
    let why = "its HolmesGPT-API is unreachable";
    FAMILY.variant("aianalysis-unreachable", why, |c, _| {
        c.hapi_url = "http://127.0.0.1:1".into()
    })
});

#[tokio::test]
async fn two_transient_errors_are_retried_and_the_third_submit_succeeds() {
    let Some(t) = T::new("transient").await else {
        return;
    };
    let done = t.run(&t.aia("t2", "mock-transient-2"), Completed).await;
    let calls = t.mock("t2").await;
    assert_eq!(calls.count(Endpoint::Analyze), 3);
    assert_eq!(calls.count_status(Endpoint::Analyze, 500), 2);
    assert_eq!(retries(&done), 2);
    assert_eq!(reason(&done), "WorkflowSelected");
}

#[tokio::test]
async fn a_hapi_that_always_fails_is_retried_five_times_then_the_analysis_fails() {
    let Some(t) = T::new("always-500").await else {
        return;
    };
    let failed = t.run(&t.aia("a500", "mock-always-500"), Failed).await;
    let calls = t.mock("a500").await;
    // The first call and five retries, then no more.
    assert_eq!(calls.count(Endpoint::Analyze), 6);
    assert_eq!(calls.count_status(Endpoint::Analyze, 500), 6);
    assert_eq!(reason(&failed), "MaxRetriesExceeded");
    assert_eq!(retries(&failed), 5);
    let message = failed.status.unwrap().message.unwrap();
    assert!(message.contains("after 5 retries"), "{message}");
    assert!(message.contains("answered 500"), "{message}");
    // Investigating, five retry counts, Failed: each a state change of its own.
    assert_eq!(t.status_writes_at_least::<AIAnalysis>("a500", 7).await, 7);
}

#[tokio::test]
async fn a_rejected_request_fails_at_once_without_retries() {
    let Some(t) = T::new("rejected").await else {
        return;
    };
    let failed = t.run(&t.aia("rej", "mock-rejected"), Failed).await;
    assert_eq!(t.mock("rej").await.count(Endpoint::Analyze), 1);
    assert_eq!(reason(&failed), "RequestRejected");
    assert_eq!(retries(&failed), 0);
    assert!(
        failed
            .status
            .unwrap()
            .message
            .unwrap()
            .contains("answered 400")
    );
}

#[tokio::test]
async fn a_lost_session_is_recreated_by_submitting_again() {
    let Some(t) = T::new("lost").await else {
        return;
    };
    let done = t.run(&t.aia("lost", "mock-session-lost"), Completed).await;
    let calls = t.mock("lost").await;
    let sessions: Vec<String> = calls
        .calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::Analyze)
        .filter_map(|c| c.session_id.clone())
        .collect();
    assert_eq!(sessions.len(), 2, "{calls:?}");
    assert_ne!(sessions[0], sessions[1]);
    assert_eq!(calls.count_status(Endpoint::Status, 404), 1);
    // The status names the session the result came from.
    assert_eq!(session(&done).as_ref(), Some(&sessions[1]));
    assert_eq!(
        retries(&done),
        1,
        "a lost session counts against the retry budget"
    );
}

#[tokio::test]
async fn transient_poll_errors_are_retried_too() {
    let Some(t) = T::new("poll-transient").await else {
        return;
    };
    let done = t
        .run(&t.aia("pt", "mock-poll-transient-2"), Completed)
        .await;
    let calls = t.mock("pt").await;
    assert_eq!(calls.count(Endpoint::Analyze), 1);
    assert_eq!(calls.count_status(Endpoint::Status, 503), 2);
    assert_eq!(retries(&done), 2);
}

#[tokio::test]
async fn a_failed_session_fails_the_analysis_with_hapis_error() {
    let Some(t) = T::new("session-failed").await else {
        return;
    };
    let failed = t.run(&t.aia("sf", "mock-session-failed"), Failed).await;
    assert_eq!(reason(&failed), "InvestigationFailed");
    let message = failed.status.clone().unwrap().message.unwrap();
    assert!(message.contains("LLM provider is unavailable"), "{message}");
    assert_eq!(t.mock("sf").await.count(Endpoint::Result), 0);
}

#[tokio::test]
async fn a_malformed_result_fails_the_analysis() {
    let Some(t) = T::new("malformed").await else {
        return;
    };
    let failed = t.run(&t.aia("bad", "mock-malformed-result"), Failed).await;
    assert_eq!(reason(&failed), "InvalidResponse");
    let message = failed.status.clone().unwrap().message.unwrap();
    assert!(
        message.contains("invalid HolmesGPT-API response"),
        "{message}"
    );
    assert!(failed.status.unwrap().rca_result.is_none());
    assert_eq!(
        t.mock("bad").await.count(Endpoint::Result),
        1,
        "no retry of a malformed answer"
    );
}

#[tokio::test]
async fn a_session_that_never_finishes_is_polled_without_resubmitting() {
    let Some(t) = T::new("stall").await else {
        return;
    };
    t.create(&t.aia("stall", "mock-never-finishes")).await;
    eventually("several polls of one session", || async {
        let calls = t.mock("stall").await;
        if calls.count(Endpoint::Status) >= 3 {
            Ok(calls)
        } else {
            Err(format!("{calls:?}"))
        }
    })
    .await;
    let aia = t.api::<AIAnalysis>().get("stall").await.unwrap();
    assert_eq!(aia.phase(), Investigating);
    assert_eq!(t.mock("stall").await.count(Endpoint::Analyze), 1);
    assert_eq!(retries(&aia), 0);
    // Pending → Investigating and the session: polls write nothing.
    assert_eq!(t.status_writes_at_least::<AIAnalysis>("stall", 2).await, 2);
}

#[tokio::test]
async fn an_unreachable_hapi_fails_after_five_retries() {
    let Some(t) = T::on(&UNREACHABLE, "unreachable").await else {
        return;
    };
    let failed = t.run(&t.aia("down", "HighMemoryUsage"), Failed).await;
    assert_eq!(reason(&failed), "MaxRetriesExceeded");
    assert_eq!(retries(&failed), 5);
    let message = failed.status.unwrap().message.unwrap();
    assert!(
        message.contains("transient HolmesGPT-API error"),
        "{message}"
    );
}

#[tokio::test]
async fn a_result_whose_record_fails_transiently_is_fetched_once() {
    if fixtures::skip_in_cluster_mode(
        "it makes the embedded API server fail a status write (fault injection)",
    ) {
        return;
    }
    let Some(t) = T::new("record").await else {
        return;
    };
    let Some(server) = t.env.server() else {
        eprintln!(
            "[fixtures] SKIPPED in the single-controller baseline: it injects faults into its own API server"
        );
        return;
    };
    // Held in Investigating (polls write nothing) until released: the next status write is
    // the one recording the result.
    t.create(&t.aia("rec", "mock-held")).await;
    let api = t.api();
    eventually("a session in status", || async {
        let aia = api.get("rec").await.map_err(|e| e.to_string())?;
        session(&aia).ok_or_else(|| "no session yet".to_owned())
    })
    .await;
    let record = Match::verb("update")
        .resource("aianalyses")
        .subresource("status")
        .namespace(&t.ns)
        .name("rec");
    let faults = server.faults();
    faults.fail(record.clone(), 500, 1).unwrap();
    release(&t.rr("rec")).await;
    t.wait_phase("rec", Completed).await;
    assert_eq!(faults.pending_matching(&record), 0, "the fault fired");
    // A record lost to a requeue would poll the session and fetch the result again.
    let calls = t.mock("rec").await;
    assert_eq!(calls.count(Endpoint::Result), 1, "{calls:?}");
}

//! Checks the atomic status write (DD-PERF-001) against the embedded API server, counting the
//! writes the server received.

use std::time::Duration;

use apiserver::{ApiServer, Match};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{CustomResource, CustomResourceExt};
use manager::status::{StatusError, StatusUpdate, WritePolicy, update_status, update_status_with};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "status.test",
    version = "v1",
    kind = "Gadget",
    namespaced,
    status = "GadgetStatus"
)]
struct GadgetSpec {
    size: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
struct GadgetStatus {
    seen: i32,
}

/// Bound for a blocking call made inside the mutate closure.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

async fn setup(name: &str) -> (ApiServer, Api<Gadget>) {
    let server = ApiServer::builder()
        .crd(Gadget::crd())
        .start()
        .await
        .expect("embedded API server starts");
    let api: Api<Gadget> = Api::namespaced(server.client().expect("client"), "default");
    api.create(
        &PostParams::default(),
        &Gadget::new(name, GadgetSpec { size: 1 }),
    )
    .await
    .expect("create gadget");
    server.clear_requests();
    (server, api)
}

/// (code) of every `/status` write the server received for `name`.
fn status_writes(server: &ApiServer, name: &str) -> Vec<u16> {
    server
        .requests()
        .into_iter()
        .filter(|r| {
            r.subresource == "status"
                && r.name == name
                && (r.method == "PUT" || r.method == "PATCH")
        })
        .map(|r| r.code)
        .collect()
}

/// Makes a concurrent change to `name` (a label), so a write with the older resourceVersion
/// conflicts. Called from inside the synchronous mutate closure, hence `block_in_place`.
fn concurrent_update(api: &Api<Gadget>, name: &str, value: &str) {
    let patch = serde_json::json!({"metadata": {"labels": {"touched": value}}});
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            tokio::time::timeout(
                CALL_TIMEOUT,
                api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)),
            )
            .await
            .expect("concurrent update in time")
            .expect("concurrent update succeeds")
        })
    });
}

fn set_seen(g: &mut Gadget, seen: i32) -> bool {
    let status = g.status.get_or_insert_with(Default::default);
    if status.seen == seen {
        return false;
    }
    status.seen = seen;
    true
}

#[tokio::test]
async fn one_write_when_something_changed() {
    let (server, api) = setup("g").await;
    let outcome = update_status(&api, "g", 5, |g| set_seen(g, 3))
        .await
        .expect("status written");
    assert!(
        matches!(&outcome, StatusUpdate::Written { attempts: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(outcome.object().status, Some(GadgetStatus { seen: 3 }));
    assert_eq!(status_writes(&server, "g"), [200]);
    assert_eq!(
        api.get("g").await.unwrap().status,
        Some(GadgetStatus { seen: 3 })
    );
}

#[tokio::test]
async fn no_write_when_nothing_changed() {
    let (server, api) = setup("g").await;
    update_status(&api, "g", 5, |g| set_seen(g, 3))
        .await
        .unwrap();
    server.clear_requests();
    let outcome = update_status(&api, "g", 5, |g| set_seen(g, 3))
        .await
        .unwrap();
    assert!(matches!(outcome, StatusUpdate::Unchanged(_)));
    assert!(!outcome.written());
    assert_eq!(
        status_writes(&server, "g"),
        Vec::<u16>::new(),
        "no status write may reach the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_exactly_once_after_a_conflict() {
    let (server, api) = setup("g").await;
    let mut calls = 0;
    let outcome = update_status(&api, "g", 5, |g| {
        calls += 1;
        if calls == 1 {
            // Another writer changes the object between our refetch and our write.
            concurrent_update(&api, "g", "once");
        }
        set_seen(g, 7)
    })
    .await
    .expect("written after one retry");
    assert_eq!(calls, 2, "mutate runs once per attempt");
    assert!(
        matches!(&outcome, StatusUpdate::Written { attempts: 2, .. }),
        "{outcome:?}"
    );
    assert_eq!(status_writes(&server, "g"), [409, 200]);
    let stored = api.get("g").await.unwrap();
    assert_eq!(stored.status, Some(GadgetStatus { seen: 7 }));
    assert_eq!(
        stored.metadata.labels.unwrap()["touched"],
        "once",
        "the concurrent change survives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_max_attempts_of_conflicts() {
    let (server, api) = setup("g").await;
    let mut calls = 0;
    let err = update_status(&api, "g", 3, |g| {
        calls += 1;
        concurrent_update(&api, "g", &calls.to_string());
        set_seen(g, 9)
    })
    .await
    .expect_err("every attempt conflicts");
    assert!(
        matches!(err, StatusError::Conflict { attempts: 3, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("Gadget g") && err.to_string().contains("409"),
        "{err}"
    );
    assert_eq!(status_writes(&server, "g"), [409, 409, 409]);
}

#[tokio::test]
async fn missing_object_is_not_found_without_a_write() {
    let (server, api) = setup("g").await;
    let err = update_status(&api, "absent", 5, |g| set_seen(g, 1))
        .await
        .expect_err("no such object");
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("Gadget absent"), "{err}");
    assert!(status_writes(&server, "absent").is_empty());
}

#[tokio::test]
async fn zero_max_attempts_still_writes_once() {
    let (server, api) = setup("g").await;
    let outcome = update_status(&api, "g", 0, |g| set_seen(g, 2))
        .await
        .unwrap();
    assert!(outcome.written());
    assert_eq!(status_writes(&server, "g"), [200]);
}

/// The status writes of `name`, for fault rules.
fn status_write_of(name: &str) -> Match {
    Match::verb("update").subresource("status").name(name)
}

/// Long enough for a few retries on a loaded machine, short enough for a test.
const TRANSIENT_DEADLINE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_recording_write_retries_transient_failures_until_it_lands() {
    let (server, api) = setup("g").await;
    server.faults().fail(status_write_of("g"), 500, 2).unwrap();
    server.faults().fail(status_write_of("g"), 429, 1).unwrap();
    let policy = WritePolicy::conflicts(5).retrying_transient(TRANSIENT_DEADLINE);
    let outcome = update_status_with(&api, "g", policy, |g| set_seen(g, 4))
        .await
        .expect("written after the transient failures");
    assert!(
        matches!(outcome, StatusUpdate::Written { attempts: 1, .. }),
        "transient retries are not conflict attempts: {outcome:?}"
    );
    assert_eq!(status_writes(&server, "g"), [500, 500, 429, 200]);
    assert_eq!(api.get("g").await.unwrap().status.unwrap().seen, 4);
}

#[tokio::test]
async fn without_the_policy_the_first_transient_failure_is_returned() {
    let (server, api) = setup("g").await;
    server.faults().fail(status_write_of("g"), 500, 1).unwrap();
    let err = update_status(&api, "g", 5, |g| set_seen(g, 4))
        .await
        .expect_err("the 500 is returned");
    assert!(matches!(err, StatusError::Write { .. }), "{err}");
    assert_eq!(status_writes(&server, "g"), [500]);
}

#[tokio::test]
async fn request_errors_are_never_retried_as_transient() {
    let (server, api) = setup("g").await;
    server.faults().fail(status_write_of("g"), 403, 1).unwrap();
    let policy = WritePolicy::conflicts(5).retrying_transient(TRANSIENT_DEADLINE);
    let err = update_status_with(&api, "g", policy, |g| set_seen(g, 4))
        .await
        .expect_err("a 403 is the request's own fault");
    assert!(matches!(err, StatusError::Write { .. }), "{err}");
    assert_eq!(status_writes(&server, "g"), [403]);
}

#[tokio::test]
async fn transient_retries_stop_at_the_deadline() {
    let (server, api) = setup("g").await;
    // 500, not 503: kube's client retries 429, 503 and 504 itself (its default RetryPolicy,
    // up to 15 times), which would hide this function's own deadline.
    server
        .faults()
        .fail(status_write_of("g"), 500, 1_000)
        .unwrap();
    let policy = WritePolicy::conflicts(5).retrying_transient(Duration::from_millis(300));
    let err = update_status_with(&api, "g", policy, |g| set_seen(g, 4))
        .await
        .expect_err("the server keeps failing past the deadline");
    assert!(matches!(err, StatusError::Write { .. }), "{err}");
    let writes = status_writes(&server, "g");
    // Waits of 50 and 100 ms fit in 300 ms, 200 more do not: at most three tries (fewer when
    // the machine is slow), all failed, and the call returned.
    assert!(
        (1..=3).contains(&writes.len()) && writes.iter().all(|c| *c == 500),
        "{writes:?}"
    );
}

#[tokio::test]
async fn reads_are_retried_too_when_the_server_is_unreachable() {
    let (server, api) = setup("g").await;
    // Reads of the object fail as a server losing its storage would; the write then lands.
    server
        .faults()
        .fail(Match::verb("get").resource("gadgets").name("g"), 500, 2)
        .unwrap();
    let policy = WritePolicy::conflicts(5).retrying_transient(TRANSIENT_DEADLINE);
    update_status_with(&api, "g", policy, |g| set_seen(g, 6))
        .await
        .expect("written after the failed reads");
    assert_eq!(status_writes(&server, "g"), [200]);
    assert_eq!(server.faults().pending(), 0);
}

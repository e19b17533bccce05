//! Tests that input PostgreSQL cannot store, or DataStorage cannot return as RFC 3339, is a 400
//! naming the field before anything is accepted: a NUL in any string of an event (at any depth
//! of `event_data`, named by its JSON path), in a batch (named by index, the whole batch
//! refused), in a query parameter, and timestamps outside the four-digit UTC years. Also that a
//! request retried with the same `Idempotency-Key` is stored once.

mod support;

use audit::EventOutcome;
use audit::api::{BATCH_PATH, EVENTS_PATH, IDEMPOTENCY_KEY, PROBLEM_CONTENT_TYPE};
use serde_json::{Value, json};
use support::{TestDs, event_json, unique};
use uuid::Uuid;

/// Asserts a 400 problem naming `field`, and returns its detail.
fn assert_400(status: u16, content_type: Option<String>, body: &Value, field: &str) -> String {
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        content_type.as_deref(),
        Some(PROBLEM_CONTENT_TYPE),
        "{body}"
    );
    assert_eq!(body["field"], json!(field), "{body}");
    body["detail"].as_str().expect("detail").to_owned()
}

async fn total(ds: &TestDs, corr: &str) -> Value {
    let (status, _, body) = ds.get(EVENTS_PATH, &[("correlation_id", corr)]).await;
    assert_eq!(status, 200, "{body}");
    body["pagination"]["total"].clone()
}

#[tokio::test]
async fn a_nul_anywhere_in_an_event_is_a_400_naming_its_json_path_and_nothing_is_stored() {
    let ds = TestDs::start().await;
    let corr = unique("nul");
    let with_data = |data: Value| {
        let mut e = event_json(&corr, "test.nul", EventOutcome::Success);
        e["event_data"] = data;
        e
    };
    for (event, field) in [
        (with_data(json!({"k": "a\u{0}b"})), "event_data.k"),
        (
            with_data(json!({"outer": {"list": [1, {"x": "\u{0}"}]}})),
            "event_data.outer.list[1].x",
        ),
        (
            with_data(json!({"a\u{0}b": 1})),
            "event_data[\"a\\u0000b\"]",
        ),
    ] {
        let (status, ct, body) = ds.post(EVENTS_PATH, &event).await;
        let detail = assert_400(status, ct, &body, field);
        assert!(detail.contains("NUL"), "{detail}");
    }
    for field in ["correlation_id", "actor_id", "error_message"] {
        let mut event = event_json(&corr, "test.nul", EventOutcome::Failure);
        event[field] = json!("a\u{0}b");
        let (status, ct, body) = ds.post(EVENTS_PATH, &event).await;
        assert_400(status, ct, &body, field);
    }
    // A batch is all or nothing (as documented): one unstorable event refuses the batch, named
    // by its index.
    let batch = json!([
        event_json(&corr, "test.nul.0", EventOutcome::Success),
        with_data(json!({"k": "a\u{0}b"})),
        event_json(&corr, "test.nul.2", EventOutcome::Success),
    ]);
    let (status, ct, body) = ds.post(BATCH_PATH, &batch).await;
    assert_400(status, ct, &body, "[1].event_data.k");
    assert_eq!(total(&ds, &corr).await, json!(0), "nothing was stored");
    // The same batch without the NUL is stored whole.
    let mut fixed = batch.clone();
    fixed[1]["event_data"] = json!({"k": "a b"});
    let (status, _, body) = ds.post(BATCH_PATH, &fixed).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(total(&ds, &corr).await, json!(3));
    ds.shutdown().await;
}

#[tokio::test]
async fn a_nul_in_a_query_parameter_is_a_400_naming_it() {
    let ds = TestDs::start().await;
    for key in ["correlation_id", "event_type", "actor_id"] {
        let (status, ct, body) = ds.get(EVENTS_PATH, &[(key, "a\u{0}b")]).await;
        assert_400(status, ct, &body, key);
    }
    ds.shutdown().await;
}

#[tokio::test]
async fn timestamps_outside_four_digit_utc_years_are_400s_and_the_bounds_round_trip() {
    let ds = TestDs::start().await;
    let corr = unique("ts");
    for bad in ["9999-12-31T23:59:59-14:00", "0000-01-01T00:00:00+00:01"] {
        let mut event = event_json(&corr, "test.ts.bad", EventOutcome::Success);
        event["event_timestamp"] = json!(bad);
        let (status, ct, body) = ds.post(EVENTS_PATH, &event).await;
        let detail = assert_400(status, ct, &body, "event_timestamp");
        assert!(
            detail.contains(audit::event::EVENT_TIMESTAMP_RANGE),
            "{detail}"
        );
    }
    for (i, (sent, returned)) in [
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ("9999-12-31T23:59:59+14:00", "9999-12-31T09:59:59Z"),
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let event_type = format!("test.ts.ok{i}");
        let mut event = event_json(&corr, &event_type, EventOutcome::Success);
        event["event_timestamp"] = json!(sent);
        let (status, _, body) = ds.post(EVENTS_PATH, &event).await;
        assert_eq!(status, 201, "{sent}: {body}");
        let (status, _, body) = ds
            .get(
                EVENTS_PATH,
                &[("correlation_id", &corr), ("event_type", &event_type)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"][0]["event_timestamp"],
            json!(returned),
            "{sent}"
        );
    }
    ds.shutdown().await;
}

fn ids(body: &Value) -> Vec<Uuid> {
    if let Some(id) = body.get("event_id") {
        return vec![serde_json::from_value(id.clone()).expect("event_id")];
    }
    serde_json::from_value(body["event_ids"].clone()).expect("event_ids")
}

#[tokio::test]
async fn a_request_resent_with_its_idempotency_key_is_stored_once() {
    let ds = TestDs::start().await;
    let corr = unique("idem");
    let post = |path: &'static str, body: Value, key: String| {
        let request = ds
            .http
            .post(ds.at(path))
            .bearer_auth(&ds.token)
            .header(IDEMPOTENCY_KEY, key)
            .json(&body);
        async move { support::read(request.send().await.expect("request")).await }
    };
    let batch = json!([
        event_json(&corr, "test.idem.0", EventOutcome::Success),
        event_json(&corr, "test.idem.1", EventOutcome::Success),
    ]);
    let key = Uuid::new_v4().to_string();
    let (status, _, first) = post(BATCH_PATH, batch.clone(), key.clone()).await;
    assert_eq!(status, 201, "{first}");
    let (status, _, again) = post(BATCH_PATH, batch.clone(), key.clone()).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(
        ids(&again),
        ids(&first),
        "the same ids for the same request"
    );
    assert_eq!(total(&ds, &corr).await, json!(2), "stored once");
    // Another key is another request.
    let (_, _, other) = post(BATCH_PATH, batch.clone(), Uuid::new_v4().to_string()).await;
    assert_ne!(ids(&other), ids(&first));
    assert_eq!(total(&ds, &corr).await, json!(4));
    // The single-event endpoint too.
    let single = event_json(&corr, "test.idem.single", EventOutcome::Success);
    let (_, _, a) = post(EVENTS_PATH, single.clone(), key.clone()).await;
    let (_, _, b) = post(EVENTS_PATH, single.clone(), key.clone()).await;
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(total(&ds, &corr).await, json!(5));
    // A malformed key is refused, naming the header.
    let (status, ct, body) = post(EVENTS_PATH, single, "has space".into()).await;
    assert_400(status, ct, &body, IDEMPOTENCY_KEY);
    ds.shutdown().await;
}

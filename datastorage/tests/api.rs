//! Tests DataStorage's HTTP contract against real PostgreSQL and Redis: each endpoint and
//! filter, pagination, authentication, every kind of bad input (400/413/415 problem+json naming
//! the field), all-or-nothing batches, metrics, start-up failures, and the audit buffered store
//! end to end.

mod support;

use std::time::Duration;

use audit::api::{BATCH_PATH, EVENTS_PATH, PROBLEM_CONTENT_TYPE};
use audit::{
    AuditEvent, AuditStore, EventOutcome, EventQuery, RetryPolicy, StoreConfig, StoreReport,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use support::{TestDs, backends, event_json, unique};

fn assert_problem(
    status: u16,
    content_type: &Option<String>,
    body: &Value,
    want_status: u16,
    want_field: &str,
) {
    assert_eq!(status, want_status, "body: {body}");
    assert_eq!(
        content_type.as_deref(),
        Some(PROBLEM_CONTENT_TYPE),
        "body: {body}"
    );
    assert_eq!(body["status"], json!(want_status), "body: {body}");
    assert!(
        body["type"].as_str().is_some_and(|t| !t.is_empty()),
        "body: {body}"
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "body: {body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "body: {body}"
    );
    assert_eq!(body["field"], json!(want_field), "body: {body}");
}

async fn list(ds: &TestDs, query: &[(&str, &str)]) -> Value {
    let (status, _, body) = ds.get(EVENTS_PATH, query).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn types_of(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["event_type"].as_str().expect("event_type").to_owned())
        .collect()
}

#[tokio::test]
async fn a_single_event_is_stored_and_read_back_whole() {
    let ds = TestDs::start().await;
    let corr = unique("single");
    let sent = AuditEvent::new(
        "test.single.stored",
        "test",
        "stored",
        EventOutcome::Failure,
        &corr,
    )
    .with_actor("service", "tester")
    .with_resource("WorkflowExecution", "we-1")
    .with_namespace("ns-1")
    .with_data("nested", json!({"a": [1, 2, 3]}))
    .with_duration_ms(42)
    .with_error("E42", "it broke");
    let (status, _, body) = ds
        .post(EVENTS_PATH, &serde_json::to_value(&sent).expect("json"))
        .await;
    assert_eq!(status, 201, "{body}");
    let id: uuid::Uuid =
        serde_json::from_value(body["event_id"].clone()).expect("event_id is a UUID");

    let body = list(&ds, &[("correlation_id", &corr)]).await;
    let data: Vec<AuditEvent> = serde_json::from_value(body["data"].clone()).expect("events");
    assert_eq!(data.len(), 1);
    let mut expected = sent.clone();
    expected.event_id = Some(id);
    // PostgreSQL keeps microseconds; compare the rest exactly.
    assert_eq!(
        data[0].event_timestamp.timestamp_micros(),
        sent.event_timestamp.timestamp_micros()
    );
    expected.event_timestamp = data[0].event_timestamp;
    assert_eq!(data[0], expected);
    assert_eq!(
        body["pagination"],
        json!({"limit": 50, "offset": 0, "total": 1, "has_more": false})
    );
    ds.shutdown().await;
}

#[tokio::test]
async fn a_batch_is_stored_with_ids_in_request_order() {
    let ds = TestDs::start().await;
    let corr = unique("batch");
    let base: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().expect("time");
    let events: Vec<Value> = (0..5)
        .map(|i| {
            let mut e = event_json(&corr, &format!("test.batch.e{i}"), EventOutcome::Success);
            e["event_timestamp"] = json!(base + chrono::Duration::seconds(i));
            e
        })
        .collect();
    let (status, _, body) = ds.post(BATCH_PATH, &Value::Array(events)).await;
    assert_eq!(status, 201, "{body}");
    let ids: Vec<uuid::Uuid> = serde_json::from_value(body["event_ids"].clone()).expect("ids");
    assert_eq!(ids.len(), 5);
    let listed = list(&ds, &[("correlation_id", &corr)]).await;
    let data: Vec<AuditEvent> = serde_json::from_value(listed["data"].clone()).expect("events");
    // Newest first, so the reverse of request order.
    let listed_ids: Vec<uuid::Uuid> = data.iter().map(|e| e.event_id.expect("id")).rev().collect();
    assert_eq!(listed_ids, ids);
    ds.shutdown().await;
}

#[tokio::test]
async fn the_audit_client_posts_batches_and_lists() {
    let ds = TestDs::start().await;
    let corr = unique("client");
    let client = ds.client();
    let events: Vec<AuditEvent> = (0..3)
        .map(|i| {
            AuditEvent::new(
                format!("test.client.e{i}"),
                "test",
                "c",
                EventOutcome::Pending,
                &corr,
            )
        })
        .collect();
    let accepted = client.post_batch(&events).await.expect("post");
    assert!(
        matches!(accepted, audit::Accepted::Stored(ref ids) if ids.len() == 3),
        "{accepted:?}"
    );
    let page = client
        .list(&EventQuery {
            limit: Some(2),
            ..EventQuery::correlation(&corr)
        })
        .await
        .expect("list");
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.pagination.total, 3);
    assert!(page.pagination.has_more);
    ds.shutdown().await;
}

#[tokio::test]
async fn pages_are_newest_first_with_exact_pagination() {
    let ds = TestDs::start().await;
    let corr = unique("pages");
    let base: DateTime<Utc> = "2026-02-01T00:00:00Z".parse().expect("time");
    // Sent oldest last, so ordering comes from event_timestamp and not insertion.
    let events: Vec<Value> = (0..7)
        .rev()
        .map(|i| {
            let mut e = event_json(&corr, &format!("test.page.e{i}"), EventOutcome::Success);
            e["event_timestamp"] = json!(base + chrono::Duration::minutes(i));
            e
        })
        .collect();
    assert_eq!(ds.post(BATCH_PATH, &Value::Array(events)).await.0, 201);

    let first = list(&ds, &[("correlation_id", &corr), ("limit", "3")]).await;
    assert_eq!(
        types_of(&first),
        ["test.page.e6", "test.page.e5", "test.page.e4"]
    );
    assert_eq!(
        first["pagination"],
        json!({"limit": 3, "offset": 0, "total": 7, "has_more": true})
    );
    let last = list(
        &ds,
        &[("correlation_id", &corr), ("limit", "3"), ("offset", "6")],
    )
    .await;
    assert_eq!(types_of(&last), ["test.page.e0"]);
    assert_eq!(
        last["pagination"],
        json!({"limit": 3, "offset": 6, "total": 7, "has_more": false})
    );
    let beyond = list(&ds, &[("correlation_id", &corr), ("offset", "100")]).await;
    assert_eq!(types_of(&beyond), Vec::<String>::new());
    assert_eq!(
        beyond["pagination"],
        json!({"limit": 50, "offset": 100, "total": 7, "has_more": false})
    );
    ds.shutdown().await;
}

#[tokio::test]
async fn the_default_page_is_fifty_and_the_largest_a_thousand() {
    let ds = TestDs::start().await;
    let corr = unique("default-limit");
    let events: Vec<Value> = (0..55)
        .map(|i| event_json(&corr, &format!("test.limit.e{i}"), EventOutcome::Success))
        .collect();
    assert_eq!(ds.post(BATCH_PATH, &Value::Array(events)).await.0, 201);
    let page = list(&ds, &[("correlation_id", &corr)]).await;
    assert_eq!(page["data"].as_array().expect("data").len(), 50);
    assert_eq!(
        page["pagination"],
        json!({"limit": 50, "offset": 0, "total": 55, "has_more": true})
    );
    let page = list(&ds, &[("correlation_id", &corr), ("limit", "1000")]).await;
    assert_eq!(page["data"].as_array().expect("data").len(), 55);
    ds.shutdown().await;
}

#[tokio::test]
async fn each_filter_selects_exactly_its_events() {
    let ds = TestDs::start().await;
    let corr = unique("filters");
    let now = Utc::now();
    let mut events = Vec::new();
    // Four events that differ in one attribute each from the first.
    let mut a = event_json(&corr, "test.filter.a", EventOutcome::Success);
    a["event_category"] = json!("alpha");
    a["actor_id"] = json!("actor-a");
    a["event_timestamp"] = json!(now - chrono::Duration::hours(3));
    events.push(a);
    let mut b = event_json(&corr, "test.filter.b", EventOutcome::Failure);
    b["event_category"] = json!("beta");
    b["actor_id"] = json!("actor-b");
    b["event_timestamp"] = json!(now - chrono::Duration::minutes(30));
    events.push(b);
    let mut c = event_json(&corr, "test.filter.c", EventOutcome::Pending);
    c["event_category"] = json!("beta");
    c["actor_id"] = json!("actor-a");
    c["event_timestamp"] = json!(now - chrono::Duration::minutes(5));
    events.push(c);
    assert_eq!(ds.post(BATCH_PATH, &Value::Array(events)).await.0, 201);
    let other_corr = unique("filters-other");
    assert_eq!(
        ds.post(
            EVENTS_PATH,
            &event_json(&other_corr, "test.filter.a", EventOutcome::Success)
        )
        .await
        .0,
        201
    );

    let one_hour_ago = (now - chrono::Duration::hours(1)).to_rfc3339();
    let ten_minutes_ago = (now - chrono::Duration::minutes(10)).to_rfc3339();
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            vec![],
            vec!["test.filter.c", "test.filter.b", "test.filter.a"],
        ),
        (vec![("event_type", "test.filter.b")], vec!["test.filter.b"]),
        (
            vec![("event_category", "beta")],
            vec!["test.filter.c", "test.filter.b"],
        ),
        (vec![("event_outcome", "failure")], vec!["test.filter.b"]),
        (vec![("event_outcome", "pending")], vec!["test.filter.c"]),
        (
            vec![("actor_id", "actor-a")],
            vec!["test.filter.c", "test.filter.a"],
        ),
        (
            vec![("since", "1h")],
            vec!["test.filter.c", "test.filter.b"],
        ),
        (vec![("since", "15m")], vec!["test.filter.c"]),
        (vec![("until", "1h")], vec!["test.filter.a"]),
        (
            vec![("since", &one_hour_ago), ("until", &ten_minutes_ago)],
            vec!["test.filter.b"],
        ),
        (
            vec![("event_category", "beta"), ("actor_id", "actor-a")],
            vec!["test.filter.c"],
        ),
        (vec![("event_type", "test.filter.none")], vec![]),
    ];
    for (filters, expected) in cases {
        let mut query = vec![("correlation_id", corr.as_str())];
        query.extend(filters.iter().copied());
        let body = list(&ds, &query).await;
        assert_eq!(types_of(&body), expected, "filters {filters:?}");
        assert_eq!(
            body["pagination"]["total"],
            json!(expected.len()),
            "filters {filters:?}"
        );
    }
    // correlation_id itself filters: the other correlation's event is not in the lists above.
    let body = list(&ds, &[("correlation_id", &other_corr)]).await;
    assert_eq!(types_of(&body), ["test.filter.a"]);
    ds.shutdown().await;
}

#[tokio::test]
async fn requests_without_or_with_a_wrong_token_get_401_problems() {
    let ds = TestDs::start().await;
    let corr = unique("auth");
    let body = event_json(&corr, "test.auth", EventOutcome::Success);
    let attempts = [
        ds.http.post(ds.at(EVENTS_PATH)).json(&body),
        ds.http
            .post(ds.at(EVENTS_PATH))
            .bearer_auth("wrong")
            .json(&body),
        ds.http.post(ds.at(BATCH_PATH)).json(&json!([body])),
        ds.http
            .post(ds.at(BATCH_PATH))
            .bearer_auth(format!("{}x", ds.token))
            .json(&json!([body])),
        ds.http.get(ds.at(EVENTS_PATH)),
        ds.http.get(ds.at(EVENTS_PATH)).bearer_auth("wrong"),
        ds.http
            .get(ds.at(EVENTS_PATH))
            .header("authorization", format!("Basic {}", ds.token)),
        ds.http.get(ds.at("/metrics")),
    ];
    for request in attempts {
        let response = request.send().await.expect("request");
        let www = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let (status, ct, problem) = support::read(response).await;
        assert_problem(status, &ct, &problem, 401, "Authorization");
        assert_eq!(www.as_deref(), Some("Bearer realm=\"datastorage\""));
    }
    // Nothing was stored by the refused requests.
    assert_eq!(
        list(&ds, &[("correlation_id", &corr)]).await["pagination"]["total"],
        json!(0)
    );
    // The scheme name is case-insensitive.
    let response = ds
        .http
        .get(ds.at(EVENTS_PATH))
        .header("authorization", format!("bearer {}", ds.token))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    // Probes need no token.
    for path in ["/healthz", "/readyz"] {
        let (status, _, body) =
            support::read(ds.http.get(ds.at(path)).send().await.expect("request")).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    ds.shutdown().await;
}

#[tokio::test]
async fn each_kind_of_bad_event_is_a_400_naming_the_field() {
    let ds = TestDs::start().await;
    let corr = unique("bad");
    let valid = event_json(&corr, "test.bad", EventOutcome::Success);
    let mut cases: Vec<(Value, &str)> = Vec::new();
    for field in [
        "event_type",
        "event_timestamp",
        "event_category",
        "event_action",
        "event_outcome",
        "correlation_id",
        "event_data",
        "version",
    ] {
        let mut v = valid.clone();
        v.as_object_mut().expect("object").remove(field);
        cases.push((v, field));
    }
    let bad_values = [
        ("event_outcome", json!("succeeded")),
        ("event_data", json!("not an object")),
        ("event_data", json!([1])),
        ("event_timestamp", json!("last tuesday")),
        ("version", json!("2.0")),
        ("duration_ms", json!(-5)),
        ("event_type", json!("")),
        ("actor_id", json!(7)),
        ("event_id", json!(uuid::Uuid::new_v4())),
        ("surprise", json!(true)),
    ];
    for (field, value) in bad_values {
        let mut v = valid.clone();
        v[field] = value;
        cases.push((v, field));
    }
    cases.push((json!(["an", "array"]), "event"));
    for (body, field) in cases {
        let (status, ct, problem) = ds.post(EVENTS_PATH, &body).await;
        assert_problem(status, &ct, &problem, 400, field);
        let (status, ct, problem) = ds.post(BATCH_PATH, &json!([valid.clone(), body])).await;
        assert_problem(status, &ct, &problem, 400, &format!("[1].{field}"));
    }
    // Nothing half-written: the valid first events of the refused batches are not stored.
    assert_eq!(
        list(&ds, &[("correlation_id", &corr)]).await["pagination"]["total"],
        json!(0)
    );
    ds.shutdown().await;
}

#[tokio::test]
async fn bad_batches_bodies_and_content_types_are_problems() {
    let ds = TestDs::start().await;
    let corr = unique("bad-batch");
    let valid = event_json(&corr, "test.bad.batch", EventOutcome::Success);

    let too_many = Value::Array(vec![valid.clone(); audit::MAX_BATCH_EVENTS + 1]);
    let (status, ct, problem) = ds.post(BATCH_PATH, &too_many).await;
    assert_problem(status, &ct, &problem, 400, "body");
    assert!(
        problem["detail"].as_str().expect("detail").contains("1000"),
        "{problem}"
    );
    let (status, ct, problem) = ds.post(BATCH_PATH, &json!([])).await;
    assert_problem(status, &ct, &problem, 400, "body");
    let (status, ct, problem) = ds.post(BATCH_PATH, &valid).await;
    assert_problem(status, &ct, &problem, 400, "body");

    // Malformed JSON.
    for path in [EVENTS_PATH, BATCH_PATH] {
        let response = ds
            .http
            .post(ds.at(path))
            .bearer_auth(&ds.token)
            .header("content-type", "application/json")
            .body("{\"event_type\": ")
            .send()
            .await
            .expect("request");
        let (status, ct, problem) = support::read(response).await;
        assert_problem(status, &ct, &problem, 400, "body");
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("malformed JSON"),
            "{problem}"
        );
    }
    // Wrong or missing content type.
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut request = ds
            .http
            .post(ds.at(EVENTS_PATH))
            .bearer_auth(&ds.token)
            .body(valid.to_string());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let (status, ct, problem) = support::read(request.send().await.expect("request")).await;
        assert_problem(status, &ct, &problem, 415, "Content-Type");
    }
    // A parameter on the media type is fine.
    let response = ds
        .http
        .post(ds.at(EVENTS_PATH))
        .bearer_auth(&ds.token)
        .header("content-type", "application/json; charset=utf-8")
        .body(valid.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 201);
    // Oversized body: refused before it is parsed.
    let huge = vec![b' '; datastorage::MAX_BODY_BYTES + 1];
    let response = ds
        .http
        .post(ds.at(BATCH_PATH))
        .bearer_auth(&ds.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("request");
    let (status, ct, problem) = support::read(response).await;
    assert_problem(status, &ct, &problem, 413, "body");
    assert_eq!(
        list(&ds, &[("correlation_id", &corr)]).await["pagination"]["total"],
        json!(1)
    );
    ds.shutdown().await;
}

#[tokio::test]
async fn bad_query_parameters_are_400s_naming_the_parameter() {
    let ds = TestDs::start().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("limit", "0")], "limit"),
        (&[("limit", "1001")], "limit"),
        (&[("limit", "ten")], "limit"),
        (&[("offset", "-3")], "offset"),
        (&[("event_outcome", "ok")], "event_outcome"),
        (&[("since", "yesterday")], "since"),
        (&[("until", "5 minutes")], "until"),
        (&[("since", "1h"), ("until", "2h")], "since"),
        (&[("colour", "red")], "colour"),
        (&[("event_type", "a"), ("event_type", "b")], "event_type"),
    ];
    for (query, field) in cases {
        let (status, ct, problem) = ds.get(EVENTS_PATH, query).await;
        assert_problem(status, &ct, &problem, 400, field);
    }
    ds.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let ds = TestDs::start().await;
    let response = ds
        .http
        .get(ds.at("/api/v1/nope"))
        .bearer_auth(&ds.token)
        .send()
        .await
        .expect("request");
    let (status, ct, _) = support::read(response).await;
    assert_eq!((status, ct.as_deref()), (404, Some(PROBLEM_CONTENT_TYPE)));
    let response = ds
        .http
        .delete(ds.at(EVENTS_PATH))
        .bearer_auth(&ds.token)
        .send()
        .await
        .expect("request");
    let (status, ct, _) = support::read(response).await;
    assert_eq!((status, ct.as_deref()), (405, Some(PROBLEM_CONTENT_TYPE)));
    ds.shutdown().await;
}

#[tokio::test]
async fn metrics_count_requests_and_writes() {
    let ds = TestDs::start().await;
    let corr = unique("metrics");
    assert_eq!(
        ds.post(
            BATCH_PATH,
            &Value::Array(vec![event_json(&corr, "test.m", EventOutcome::Success); 3])
        )
        .await
        .0,
        201
    );
    assert_eq!(ds.post(EVENTS_PATH, &json!({})).await.0, 400);
    let response = ds
        .http
        .get(ds.at("/metrics"))
        .bearer_auth(&ds.token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.expect("text");
    // Each instance has its own registry, so the figures are exact.
    assert!(
        text.contains("datastorage_audit_events_written_total{destination=\"postgres\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("datastorage_audit_events_rejected_total 1"),
        "{text}"
    );
    assert!(
        text.contains("datastorage_http_requests_total{method=\"POST\",route=\"/api/v1/audit/events/batch\",status=\"201\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("datastorage_http_request_duration_seconds_bucket"),
        "{text}"
    );
    ds.shutdown().await;
}

#[tokio::test]
async fn the_buffered_store_delivers_to_datastorage() {
    let ds = TestDs::start().await;
    let corr = unique("store");
    let mut registry = prometheus_client::registry::Registry::default();
    let config = StoreConfig {
        batch_size: 100,
        flush_interval: Duration::from_millis(50),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        ..StoreConfig::default()
    };
    let store = AuditStore::start(ds.client(), config, &mut registry);
    for i in 0..250 {
        store
            .record(
                AuditEvent::new("test.store.e", "test", "e", EventOutcome::Success, &corr)
                    .with_data("i", i),
            )
            .expect("record");
    }
    // wait_for sees the events as the background flushes deliver them.
    let page = ds
        .client()
        .wait_for(&EventQuery::correlation(&corr), 250, support::WAIT)
        .await
        .expect("all 250 events arrive");
    assert_eq!(page.pagination.total, 250);
    assert_eq!(
        store.close().await,
        StoreReport {
            sent: 250,
            dropped: 0
        }
    );
    assert_eq!(
        list(&ds, &[("correlation_id", &corr)]).await["pagination"]["total"],
        json!(250)
    );
    let err = ds
        .client()
        .wait_for(
            &EventQuery::correlation(unique("never")),
            1,
            Duration::from_millis(100),
        )
        .await
        .expect_err("nothing was recorded");
    assert!(
        matches!(
            err,
            audit::ClientError::WaitTimedOut {
                found: 0,
                wanted: 1,
                ..
            }
        ),
        "{err}"
    );
    ds.shutdown().await;
}

#[tokio::test]
async fn start_fails_clearly_on_bad_credentials_without_quoting_them() {
    let b = backends();
    let token = unique("t");
    let listen = "127.0.0.1:0".parse().expect("addr");
    let bad_pg = b
        .postgres_url
        .replacen("postgres://postgres:", "postgres://postgres:wrong", 1);
    let err = datastorage::start(datastorage::Config::new(
        listen,
        bad_pg.clone(),
        &b.redis_url,
        &token,
    ))
    .await
    .expect_err("wrong PostgreSQL password");
    assert!(
        matches!(err, datastorage::Error::Postgres { .. }),
        "{err:?}"
    );
    let bad_redis = b.redis_url.replacen("redis://:", "redis://:wrong", 1);
    let err = datastorage::start(datastorage::Config::new(
        listen,
        &b.postgres_url,
        bad_redis.clone(),
        &token,
    ))
    .await
    .expect_err("wrong Redis password");
    assert!(matches!(err, datastorage::Error::Redis { .. }), "{err:?}");
    let message = format!("{err}");
    assert!(
        !message.contains("wrong"),
        "the error must not quote the URL: {message}"
    );
    let err = datastorage::start(datastorage::Config::new(
        listen,
        &b.postgres_url,
        &b.redis_url,
        " ",
    ))
    .await
    .expect_err("empty token");
    assert!(
        matches!(err, datastorage::Error::InvalidConfig(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_taken_port_is_a_bind_error() {
    let ds = TestDs::start().await;
    let b = backends();
    let config = datastorage::Config::new(
        ds.running.as_ref().expect("running").local_addr(),
        &b.postgres_url,
        &b.redis_url,
        "t",
    );
    let err = datastorage::start(config).await.expect_err("port taken");
    assert!(matches!(err, datastorage::Error::Bind { .. }), "{err:?}");
    ds.shutdown().await;
}

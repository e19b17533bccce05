//! Property: under concurrent writers, replaying a watch from any resourceVersion on top of the list
//! at that resourceVersion yields exactly the final list, with resourceVersions strictly increasing.

mod common;

use std::collections::BTreeMap;

use common::{send, watch};
use proptest::prelude::*;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
/// Few names, so that writers collide (conflicts, deletes of missing objects, re-creates).
const NAMES: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Create(usize, u8),
    Patch(usize, u8),
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..NAMES, any::<u8>()).prop_map(|(n, v)| Op::Create(n, v)),
        (0..NAMES, any::<u8>()).prop_map(|(n, v)| Op::Patch(n, v)),
        (0..NAMES).prop_map(Op::Delete),
    ]
}

type State = BTreeMap<String, (u64, Value)>;

fn rv_of(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("numeric resourceVersion")
}

fn state_of(list: &Value) -> State {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| {
            (
                o["metadata"]["name"].as_str().expect("name").to_owned(),
                (rv_of(o), o["data"].clone()),
            )
        })
        .collect()
}

async fn apply_op(s: &apiserver::ApiServer, op: &Op) {
    // Failures (404, 409) are part of the workload: they must not change anything.
    match op {
        Op::Create(n, v) => {
            send(
                s,
                "POST",
                CMS,
                &json!({"metadata": {"name": format!("n{n}")}, "data": {"v": v.to_string()}}),
            )
            .await
        }
        Op::Patch(n, v) => {
            send(
                s,
                "PATCH",
                &format!("{CMS}/n{n}"),
                &json!({"data": {"v": v.to_string()}}),
            )
            .await
        }
        Op::Delete(n) => send(s, "DELETE", &format!("{CMS}/n{n}"), &Value::Null).await,
    };
}

/// Applies watch events to `state` until the event at `until`; checks that resourceVersions increase.
async fn replay(w: &mut common::WatchLines, state: &mut State, from: u64, until: u64) {
    let mut last = from;
    while last < until {
        let ev = w
            .next()
            .await
            .expect("the watch stays open until the last write");
        let obj = &ev["object"];
        let rv = rv_of(obj);
        assert!(rv > last, "resourceVersions increase: {last} then {rv}");
        last = rv;
        let name = obj["metadata"]["name"].as_str().expect("name").to_owned();
        match ev["type"].as_str() {
            Some("ADDED" | "MODIFIED") => {
                state.insert(name, (rv, obj["data"].clone()));
            }
            Some("DELETED") => {
                state.remove(&name);
            }
            other => panic!("unexpected event {other:?}: {ev}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn watch_replay_matches_list(
        writers in proptest::collection::vec(proptest::collection::vec(op(), 0..12), 1..4),
        start_fraction in 0.0f64..=1.0,
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let s = std::sync::Arc::new(apiserver::ApiServer::builder().start().await.expect("start"));
            // What the namespace held before the writes (its root CA ConfigMap).
            let initial = send(&s, "GET", CMS, &Value::Null).await.body;
            let rv0: u64 = initial["metadata"]["resourceVersion"].as_str().expect("rv").parse().expect("numeric");
            let mut live = watch(&s, &format!("{CMS}?watch=1&resourceVersion={rv0}")).await;
            let tasks: Vec<_> = writers
                .into_iter()
                .map(|ops| {
                    let s = s.clone();
                    tokio::spawn(async move {
                        for op in &ops {
                            apply_op(&s, op).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("writer");
            }
            let final_list = send(&s, "GET", CMS, &Value::Null).await.body;
            let final_rv: u64 = final_list["metadata"]["resourceVersion"].as_str().expect("rv").parse().expect("numeric");
            let want = state_of(&final_list);

            // The watch that ran during the writes.
            let mut state = state_of(&initial);
            replay(&mut live, &mut state, rv0, final_rv).await;
            assert_eq!(state, want, "live watch from {rv0}");

            // A watch started afterwards from an arbitrary point, on top of the list at that point.
            let from = rv0 + ((final_rv - rv0) as f64 * start_fraction) as u64;
            let at = send(&s, "GET", &format!("{CMS}?resourceVersion={from}&resourceVersionMatch=Exact"), &Value::Null).await;
            assert_eq!(at.code, 200, "{}", at.body);
            let mut state = state_of(&at.body);
            let mut w = watch(&s, &format!("{CMS}?watch=1&resourceVersion={from}")).await;
            replay(&mut w, &mut state, from, final_rv).await;
            assert_eq!(state, want, "replay from {from}");
        });
    }
}

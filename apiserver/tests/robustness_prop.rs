//! Property: arbitrary requests (methods, paths, content types, bodies) never get a 5xx, never crash
//! the server, and a rejected request never changes the store (its resourceVersion stays put).

mod common;

use common::raw;
use proptest::prelude::*;
use serde_json::json;

fn method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "api",
            "apis",
            "v1",
            "namespaces",
            "default",
            "nope",
            "configmaps",
            "pods",
            "status",
            "apps",
            "deployments",
            "example.com",
            "widgets",
            "cm",
            "Bad_Name",
            "openapi",
            "v3",
            "v2",
            "customresourcedefinitions",
            "apiextensions.k8s.io",
            "",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9._%-]{0,12}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(segment(), 0..7),
        prop::option::of("[a-zA-Z=&%0-9.,!()]{0,24}"),
    )
        .prop_map(|(segs, q)| {
            let mut p = format!("/{}", segs.join("/"));
            if let Some(q) = q {
                p.push('?');
                p.push_str(&q);
            }
            p
        })
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "application/json",
        "application/yaml",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
        "application/vnd.kubernetes.protobuf",
        "text/plain",
    ]))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let valid = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}).to_string();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        Just(valid.clone().into_bytes()),
        // A valid object with a byte range cut out or garbage spliced in.
        (0..valid.len(), 0..valid.len(), "[{}\\[\\]\":,a-z0-9 ]{0,8}").prop_map(
            move |(a, b, junk)| {
                let (lo, hi) = (a.min(b), a.max(b));
                let mut s = valid.as_bytes()[..lo].to_vec();
                s.extend_from_slice(junk.as_bytes());
                s.extend_from_slice(&valid.as_bytes()[hi..]);
                s
            }
        ),
        Just(br#"[{"op":"replace","path":"/data/k","value":"x"}]"#.to_vec()),
        Just(br#"[{"op":"remove","path":"/metadata"}]"#.to_vec()),
        Just(br#"{"metadata":{"name":null,"resourceVersion":"x"}}"#.to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_are_answered_without_5xx(
        requests in prop::collection::vec((method(), path(), content_type(), body()), 1..8),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let crd = serde_json::from_value(common::widget_crd()).expect("crd");
            let s = apiserver::ApiServer::builder().crd(crd).start().await.expect("start");
            // An object for PUT/PATCH/DELETE paths to hit.
            common::send(&s, "POST", "/api/v1/namespaces/default/configmaps", &json!({"metadata": {"name": "cm"}})).await;
            for (method, path, ct, body) in requests {
                let before = s.resource_version();
                let r = raw(&s, method, &path, ct, body).await;
                assert!(r.code < 500, "{method} {path} {ct:?} -> {} {}", r.code, r.body);
                if r.code >= 400 {
                    assert_eq!(s.resource_version(), before, "{method} {path} was rejected with {} but changed the store", r.code);
                    assert_eq!(r.body["kind"], "Status", "{method} {path}: {}", r.body);
                }
            }
            // Still healthy.
            assert_eq!(common::send(&s, "GET", "/api/v1/namespaces/default/configmaps", &serde_json::Value::Null).await.code, 200);
        });
    }
}

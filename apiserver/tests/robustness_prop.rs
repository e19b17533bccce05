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
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}});
    let proto = apiserver::protobuf::encode_object(&object).expect("a ConfigMap encodes");
    let valid = object.to_string();
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
        // Protobuf: a valid ConfigMap envelope, cut short or with bytes flipped, and garbage
        // after the `k8s\0` prefix.
        (0..proto.len(), any::<u8>(), any::<bool>()).prop_map(move |(at, byte, cut)| {
            let mut b = proto.clone();
            if cut {
                b.truncate(at);
            } else {
                b[at] ^= byte;
            }
            b
        }),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|tail| {
            let mut b = b"k8s\0".to_vec();
            b.extend(tail);
            b
        }),
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

/// Arbitrary JSON whose keys are field names of built-in types, so that decoding, unknown
/// fields and per-type validation all get exercised.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop::sample::select(vec![
        "name",
        "image",
        "containers",
        "ports",
        "containerPort",
        "protocol",
        "env",
        "resources",
        "limits",
        "requests",
        "cpu",
        "selector",
        "matchLabels",
        "matchExpressions",
        "operator",
        "template",
        "metadata",
        "labels",
        "annotations",
        "spec",
        "replicas",
        "data",
        "binaryData",
        "type",
        "schedule",
        "jobTemplate",
        "roleRef",
        "subjects",
        "kind",
        "volumes",
        "emptyDir",
        "restartPolicy",
        "targetPort",
        "nodePort",
        "finalizers",
        "ownerReferences",
        "foo",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1e6f64..1e6).prop_map(serde_json::Value::from),
        "[a-zA-Z0-9 ./=_%-]{0,10}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// (collection path, kind, apiVersion) of built-in types with rules of their own.
const BUILTINS: [(&str, &str, &str); 8] = [
    ("/api/v1/namespaces/default/configmaps", "ConfigMap", "v1"),
    ("/api/v1/namespaces/default/secrets", "Secret", "v1"),
    ("/api/v1/namespaces/default/pods", "Pod", "v1"),
    ("/api/v1/namespaces/default/services", "Service", "v1"),
    (
        "/apis/apps/v1/namespaces/default/deployments",
        "Deployment",
        "apps/v1",
    ),
    ("/apis/batch/v1/namespaces/default/jobs", "Job", "batch/v1"),
    (
        "/apis/batch/v1/namespaces/default/cronjobs",
        "CronJob",
        "batch/v1",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
        "RoleBinding",
        "rbac.authorization.k8s.io/v1",
    ),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random built-in bodies (random fields under a valid kind and name) through create,
    /// update, merge patch, strategic merge patch and apply: never a 5xx, rejections change nothing.
    #[test]
    fn random_builtin_bodies_are_answered_without_5xx(
        which in 0..BUILTINS.len(),
        fields in prop::collection::vec((prop::sample::select(vec!["spec", "data", "metadata", "type", "roleRef", "subjects", "binaryData", "foo"]), json_value()), 0..4),
        verbs in prop::collection::vec(0..5usize, 1..5),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let s = apiserver::ApiServer::builder().start().await.expect("start");
            let (base, kind, api_version) = BUILTINS[which];
            let mut body = json!({"apiVersion": api_version, "kind": kind});
            for (k, v) in fields {
                body[k] = v;
            }
            if !body["metadata"].is_object() {
                body["metadata"] = json!({});
            }
            body["metadata"]["name"] = json!("x");
            body["metadata"].as_object_mut().expect("metadata").remove("namespace");
            body["metadata"].as_object_mut().expect("metadata").remove("resourceVersion");
            for verb in verbs {
                let (method, path, ct) = match verb {
                    0 => ("POST", base.to_owned(), "application/json"),
                    1 => ("PUT", format!("{base}/x"), "application/json"),
                    2 => ("PATCH", format!("{base}/x"), "application/merge-patch+json"),
                    3 => ("PATCH", format!("{base}/x"), "application/strategic-merge-patch+json"),
                    _ => ("PATCH", format!("{base}/x?fieldManager=prop"), "application/apply-patch+yaml"),
                };
                let before = s.resource_version();
                let r = raw(&s, method, &path, Some(ct), body.to_string()).await;
                assert!(r.code < 500, "{method} {path} {body} -> {} {}", r.code, r.body);
                if r.code >= 400 {
                    assert_eq!(s.resource_version(), before, "{method} {path} was rejected with {} but changed the store", r.code);
                    assert_eq!(r.body["kind"], "Status", "{method} {path}: {}", r.body);
                }
            }
        });
    }
}

//! Property: arbitrary patches (merge, JSON and strategic merge) to stored objects, built-in
//! and custom, never get a 5xx, a rejected patch never changes the store, an accepted one never
//! changes an object's identity, and the store stays readable as a whole (the YAML dump parses).

mod common;

use common::{raw, send};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Keys that matter to the patch engines (merge keys, directives, metadata) plus noise.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "metadata",
            "name",
            "labels",
            "annotations",
            "uid",
            "resourceVersion",
            "namespace",
            "finalizers",
            "spec",
            "status",
            "replicas",
            "template",
            "containers",
            "image",
            "env",
            "value",
            "ports",
            "containerPort",
            "size",
            "color",
            "note",
            "phase",
            "$patch",
            "$setElementOrder/containers",
            "$deleteFromPrimitiveList/finalizers",
            "$retainKeys",
            "selector",
            "matchLabels",
            "kind",
            "apiVersion",
        ])
        .prop_map(str::to_owned),
        "[a-z$/]{1,6}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..20).prop_map(Value::from),
        prop::sample::select(vec![
            "web", "delete", "replace", "merge", "red", "nginx", "", "x-y"
        ])
        .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_patch_op() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "add", "remove", "replace", "move", "copy", "test", "bogus",
        ]),
        prop::collection::vec(key(), 0..4),
        json_value(),
    )
        .prop_map(|(op, path, value)| {
            let path: String = path.iter().map(|k| format!("/{k}")).collect();
            json!({"op": op, "path": path, "from": "/metadata/labels", "value": value})
        })
}

#[derive(Debug, Clone)]
enum PatchBody {
    Merge(Value),
    Strategic(Value),
    Json(Vec<Value>),
}

fn patch() -> impl Strategy<Value = PatchBody> {
    prop_oneof![
        json_value().prop_map(PatchBody::Merge),
        json_value().prop_map(PatchBody::Strategic),
        prop::collection::vec(json_patch_op(), 0..4).prop_map(PatchBody::Json),
    ]
}

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/default/deployments/web";
const WIDGET: &str = "/apis/example.com/v1/namespaces/default/widgets/w";

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_patches_keep_the_store_consistent(
        steps in prop::collection::vec((any::<bool>(), any::<bool>(), patch()), 1..6),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let crd = serde_json::from_value(common::widget_crd()).expect("crd");
            let s = apiserver::ApiServer::builder().crd(crd).start().await.expect("start");
            let deployment = json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}]}]}}}
            });
            let created = send(&s, "POST", "/apis/apps/v1/namespaces/default/deployments", &deployment).await;
            assert_eq!(created.code, 201, "{}", created.body);
            let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}});
            let created_w = send(&s, "POST", "/apis/example.com/v1/namespaces/default/widgets", &widget).await;
            assert_eq!(created_w.code, 201, "{}", created_w.body);

            for (on_widget, on_status, p) in steps {
                let base = if on_widget { WIDGET } else { DEPLOYMENT };
                let path = if on_status { format!("{base}/status") } else { base.to_owned() };
                let (ct, body) = match &p {
                    PatchBody::Merge(v) => ("application/merge-patch+json", v.to_string()),
                    PatchBody::Strategic(v) => ("application/strategic-merge-patch+json", v.to_string()),
                    PatchBody::Json(ops) => ("application/json-patch+json", Value::Array(ops.clone()).to_string()),
                };
                let before_rv = s.resource_version();
                let before = send(&s, "GET", base, &Value::Null).await.body;
                let r = raw(&s, "PATCH", &path, Some(ct), body.clone()).await;
                assert!(r.code < 500, "PATCH {path} {ct} {body} -> {} {}", r.code, r.body);
                let after = send(&s, "GET", base, &Value::Null).await;
                if r.code >= 400 {
                    assert_eq!(r.body["kind"], "Status", "{}", r.body);
                    assert_eq!(s.resource_version(), before_rv, "rejected PATCH {path} {body} changed the store");
                    assert_eq!(after.body, before, "rejected PATCH {path} {body} changed the object");
                } else {
                    assert_eq!(after.code, 200, "{}", after.body);
                    // Identity never changes through a patch.
                    for field in ["name", "namespace", "uid", "creationTimestamp"] {
                        assert_eq!(after.body["metadata"][field], before["metadata"][field], "PATCH {path} {body} changed metadata.{field}");
                    }
                    assert_eq!(after.body["kind"], before["kind"]);
                    assert_eq!(after.body["apiVersion"], before["apiVersion"]);
                    // What the patch answered is what is stored.
                    assert_eq!(r.body, after.body, "PATCH {path} answered one object and stored another");
                }
            }
            // The whole store still serialises and parses back.
            let dump = s.dump_yaml();
            let docs: Vec<Value> = serde_saphyr::from_multiple(&dump).expect("the dump parses");
            assert!(docs.iter().any(|d| d["kind"] == "Deployment"), "{dump}");
        });
    }
}

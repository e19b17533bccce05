//! Property: arbitrary patches (merge, JSON, strategic merge and server-side apply by several
//! field managers, with and without force) to stored objects, built-in and custom, never get a
//! 5xx, a rejected patch never changes the store, an accepted one never changes an object's
//! identity and leaves well-formed managedFields, and the store stays readable as a whole (the
//! YAML dump parses).

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
    /// An apply configuration; `typed` puts the target's apiVersion, kind and name around it.
    Apply {
        config: Value,
        typed: bool,
        manager: u8,
        force: bool,
    },
}

fn patch() -> impl Strategy<Value = PatchBody> {
    prop_oneof![
        json_value().prop_map(PatchBody::Merge),
        json_value().prop_map(PatchBody::Strategic),
        prop::collection::vec(json_patch_op(), 0..4).prop_map(PatchBody::Json),
        (json_value(), any::<bool>(), 0u8..3, any::<bool>()).prop_map(
            |(config, typed, manager, force)| PatchBody::Apply {
                config,
                typed,
                manager,
                force
            }
        ),
    ]
}

/// An apply configuration for the object at `base`: the random one, typed when asked.
fn apply_body(base: &str, config: &Value, typed: bool) -> Value {
    if !typed {
        return config.clone();
    }
    let (api_version, kind, name) = if base == WIDGET {
        ("example.com/v1", "Widget", "w")
    } else {
        ("apps/v1", "Deployment", "web")
    };
    let mut out = match config {
        Value::Object(m) => Value::Object(m.clone()),
        _ => json!({}),
    };
    out["apiVersion"] = api_version.into();
    out["kind"] = kind.into();
    if !out.get("metadata").is_some_and(Value::is_object) {
        out["metadata"] = json!({});
    }
    out["metadata"]["name"] = name.into();
    if let Some(m) = out["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    out
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
                    PatchBody::Apply { config, typed, .. } => {
                        ("application/apply-patch+yaml", apply_body(base, config, *typed).to_string())
                    }
                };
                let path = match &p {
                    PatchBody::Apply { manager, force, .. } => format!("{path}?fieldManager=m{manager}&force={force}"),
                    _ => path,
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
                    // managedFields stay well-formed: known operations, FieldsV1 objects.
                    for e in after.body["metadata"]["managedFields"].as_array().into_iter().flatten() {
                        assert!(matches!(e["operation"].as_str(), Some("Apply" | "Update")), "PATCH {path} {body}: {e}");
                        assert_eq!(e["fieldsType"], "FieldsV1", "PATCH {path} {body}: {e}");
                        assert!(e["fieldsV1"].is_object(), "PATCH {path} {body}: {e}");
                    }
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

//! Garbage collection and namespace deletion: ownerReferences with background, foreground and orphan
//! propagation, dependents of vanished owners, namespaces emptied before they go, and the
//! envtest-like mode with the collector switched off. Each case asserts the exact end state.

mod common;

use common::{raw, send, watch};
use serde_json::{Value, json};

use apiserver::ApiServer;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn server(gc: bool) -> ApiServer {
    ApiServer::builder()
        .garbage_collection(gc)
        .start()
        .await
        .expect("server starts")
}

/// Creates a ConfigMap in `ns` with ownerReferences to `owners` (uid, blockOwnerDeletion) and
/// finalizers; returns its uid.
async fn cm_in(
    s: &ApiServer,
    ns: &str,
    name: &str,
    owners: &[(&str, &str, bool)],
    finalizers: &[&str],
) -> String {
    let refs: Vec<Value> = owners
        .iter()
        .map(|(owner, uid, block)| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid,
                   "blockOwnerDeletion": block})
        })
        .collect();
    let mut meta = json!({"name": name});
    if !refs.is_empty() {
        meta["ownerReferences"] = refs.into();
    }
    if !finalizers.is_empty() {
        meta["finalizers"] = json!(finalizers);
    }
    let r = send(
        s,
        "POST",
        &format!("/api/v1/namespaces/{ns}/configmaps"),
        &json!({"metadata": meta}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    r.body["metadata"]["uid"].as_str().unwrap().to_owned()
}

async fn cm(s: &ApiServer, name: &str, owners: &[(&str, &str, bool)], fins: &[&str]) -> String {
    cm_in(s, "default", name, owners, fins).await
}

async fn get(s: &ApiServer, name: &str) -> Option<Value> {
    let r = send(s, "GET", &format!("{CMS}/{name}"), &Value::Null).await;
    match r.code {
        200 => Some(r.body),
        404 => None,
        other => panic!("GET {name}: {other} {}", r.body),
    }
}

async fn delete(s: &ApiServer, path: &str, options: Value) -> common::Raw {
    let r = send(s, "DELETE", path, &options).await;
    assert_eq!(r.code, 200, "{}", r.body);
    r
}

async fn delete_cm(s: &ApiServer, name: &str, policy: Option<&str>) -> Value {
    let options = match policy {
        Some(p) => json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": p}),
        None => Value::Null,
    };
    delete(s, &format!("{CMS}/{name}"), options).await.body
}

async fn drop_finalizers(s: &ApiServer, ns: &str, name: &str) {
    let r = send(
        s,
        "PATCH",
        &format!("/api/v1/namespaces/{ns}/configmaps/{name}"),
        &json!({"metadata": {"finalizers": null}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["uid"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f.as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Which of `names` still exist.
async fn existing(s: &ApiServer, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        if get(s, n).await.is_some() {
            out.push((*n).to_owned());
        }
    }
    out
}

#[tokio::test]
async fn propagation_table() {
    struct Case {
        name: &'static str,
        policy: Option<&'static str>,
        gc: bool,
        /// Objects left after the owner's deletion.
        left: &'static [&'static str],
        /// Finalizers on the owner afterwards (if it is left).
        owner_finalizers: &'static [&'static str],
        /// Dependents that lost their ownerReference to the owner.
        unlinked: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "default is background: dependents go after the owner",
            policy: None,
            gc: true,
            left: &["shared"],
            owner_finalizers: &[],
            unlinked: &["shared"],
        },
        Case {
            name: "explicit background",
            policy: Some("Background"),
            gc: true,
            left: &["shared"],
            owner_finalizers: &[],
            unlinked: &["shared"],
        },
        Case {
            name: "foreground without holding dependents completes at once",
            policy: Some("Foreground"),
            gc: true,
            left: &["shared"],
            owner_finalizers: &[],
            unlinked: &["shared"],
        },
        Case {
            name: "orphan keeps dependents and removes their references",
            policy: Some("Orphan"),
            gc: true,
            left: &["blocking", "plain", "shared"],
            owner_finalizers: &[],
            unlinked: &["blocking", "plain", "shared"],
        },
        Case {
            name: "collector off: background leaves dependents as they are (envtest)",
            policy: None,
            gc: false,
            left: &["blocking", "plain", "shared"],
            owner_finalizers: &[],
            unlinked: &[],
        },
        Case {
            name: "collector off: orphan finalizer stays on the owner (envtest)",
            policy: Some("Orphan"),
            gc: false,
            left: &["owner", "other", "blocking", "plain", "shared"],
            owner_finalizers: &["orphan"],
            unlinked: &[],
        },
        Case {
            name: "collector off: foreground finalizer stays on the owner (envtest)",
            policy: Some("Foreground"),
            gc: false,
            left: &["owner", "other", "blocking", "plain", "shared"],
            owner_finalizers: &["foregroundDeletion"],
            unlinked: &[],
        },
    ];
    for c in cases {
        let s = server(c.gc).await;
        let owner = cm(&s, "owner", &[], &[]).await;
        let other = cm(&s, "other", &[], &[]).await;
        cm(&s, "blocking", &[("owner", &owner, true)], &[]).await;
        cm(&s, "plain", &[("owner", &owner, false)], &[]).await;
        cm(
            &s,
            "shared",
            &[("owner", &owner, false), ("other", &other, false)],
            &[],
        )
        .await;
        let answer = delete_cm(&s, "owner", c.policy).await;
        // A removed owner is answered with a Status naming it; one left in place (its GC
        // finalizer pending) with the object.
        let named = if answer["kind"] == "Status" {
            &answer["details"]["name"]
        } else {
            &answer["metadata"]["name"]
        };
        assert_eq!(named, "owner", "{}: {answer}", c.name);
        let all = ["owner", "other", "blocking", "plain", "shared"];
        let mut want: Vec<String> = c.left.iter().map(|n| (*n).to_owned()).collect();
        // The second owner is never deleted.
        if !want.iter().any(|n| n == "other") {
            want.push("other".into());
        }
        want.sort();
        let mut got = existing(&s, &all).await;
        got.sort();
        assert_eq!(got, want, "{}", c.name);
        if let Some(o) = get(&s, "owner").await {
            assert_eq!(finalizers(&o), c.owner_finalizers, "{}", c.name);
            assert!(o["metadata"]["deletionTimestamp"].is_string(), "{}", c.name);
        }
        for n in ["blocking", "plain", "shared"] {
            if let Some(d) = get(&s, n).await {
                let linked = owner_uids(&d).contains(&owner);
                assert_eq!(
                    !linked,
                    c.unlinked.contains(&n),
                    "{}: ownerReference of {n}",
                    c.name
                );
            }
        }
        s.shutdown().await;
    }
}

#[tokio::test]
async fn background_deletes_the_owner_first_then_dependents() {
    let s = server(true).await;
    let owner = cm(&s, "owner", &[], &[]).await;
    cm(&s, "dep", &[("owner", &owner, true)], &[]).await;
    let rv = s.resource_version();
    let mut w = watch(&s, &format!("{CMS}?watch=1&resourceVersion={rv}")).await;
    delete_cm(&s, "owner", None).await;
    assert_eq!(
        w.next_named().await,
        Some(("DELETED".to_owned(), "owner".to_owned()))
    );
    assert_eq!(
        w.next_named().await,
        Some(("DELETED".to_owned(), "dep".to_owned()))
    );
}

#[tokio::test]
async fn foreground_waits_for_blocking_dependents_and_their_finalizers() {
    let s = server(true).await;
    let owner = cm(&s, "owner", &[], &[]).await;
    let mid = cm(&s, "mid", &[("owner", &owner, true)], &[]).await;
    cm(&s, "leaf", &[("mid", &mid, true)], &["example.com/hold"]).await;
    cm(&s, "loose", &[("owner", &owner, false)], &[]).await;
    let answer = delete_cm(&s, "owner", Some("Foreground")).await;
    assert_eq!(finalizers(&answer), ["foregroundDeletion"]);
    assert!(answer["metadata"]["deletionTimestamp"].is_string());
    // The non-blocking dependent is gone; the chain waits for the leaf's finalizer.
    assert_eq!(
        existing(&s, &["owner", "mid", "leaf", "loose"]).await,
        ["owner", "mid", "leaf"]
    );
    let mid_now = get(&s, "mid").await.unwrap();
    assert_eq!(finalizers(&mid_now), ["foregroundDeletion"]);
    let leaf = get(&s, "leaf").await.unwrap();
    assert!(leaf["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        finalizers(&get(&s, "owner").await.unwrap()),
        ["foregroundDeletion"]
    );
    // Releasing the leaf lets the whole chain finish, leaf first and owner last.
    let rv = s.resource_version();
    let mut w = watch(&s, &format!("{CMS}?watch=1&resourceVersion={rv}")).await;
    drop_finalizers(&s, "default", "leaf").await;
    let mut deleted = Vec::new();
    while deleted.len() < 3 {
        let (kind, name) = w.next_named().await.expect("event");
        if kind == "DELETED" {
            deleted.push(name);
        }
    }
    assert_eq!(deleted, ["leaf", "mid", "owner"]);
    assert!(existing(&s, &["owner", "mid", "leaf"]).await.is_empty());
}

#[tokio::test]
async fn dependents_of_absent_owners_are_collected() {
    let s = server(true).await;
    cm(
        &s,
        "orphaned",
        &[("ghost", "00000000-0000-0000-0000-000000000000", false)],
        &[],
    )
    .await;
    assert_eq!(get(&s, "orphaned").await, None);
    // An owner in another namespace cannot own: the reference dangles.
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "elsewhere"}}),
    )
    .await;
    assert_eq!(r.code, 201);
    let foreign = cm_in(&s, "elsewhere", "foreign-owner", &[], &[]).await;
    cm(&s, "cross", &[("foreign-owner", &foreign, false)], &[]).await;
    assert_eq!(get(&s, "cross").await, None);
    // With a live owner too, only the dangling reference goes.
    let owner = cm(&s, "owner", &[], &[]).await;
    let d = cm(
        &s,
        "half",
        &[
            ("ghost", "11111111-1111-1111-1111-111111111111", false),
            ("owner", &owner, false),
        ],
        &[],
    )
    .await;
    let half = get(&s, "half").await.unwrap();
    assert_eq!(owner_uids(&half), std::slice::from_ref(&owner));
    assert_eq!(half["metadata"]["uid"], d.as_str());
    // The collector off keeps whatever the references say.
    let off = server(false).await;
    cm(
        &off,
        "orphaned",
        &[("ghost", "00000000-0000-0000-0000-000000000000", false)],
        &[],
    )
    .await;
    assert!(get(&off, "orphaned").await.is_some());
}

#[tokio::test]
async fn orphan_and_foreground_finalizers_on_a_finalized_owner() {
    let s = server(true).await;
    let owner = cm(&s, "owner", &[], &["example.com/hold"]).await;
    cm(&s, "dep", &[("owner", &owner, false)], &[]).await;
    let answer = delete_cm(&s, "owner", Some("Orphan")).await;
    assert_eq!(finalizers(&answer), ["example.com/hold", "orphan"]);
    // The collector orphaned the dependent and dropped its own finalizer; the owner's stays.
    let dep = get(&s, "dep").await.unwrap();
    assert!(owner_uids(&dep).is_empty(), "{dep}");
    let o = get(&s, "owner").await.unwrap();
    assert_eq!(finalizers(&o), ["example.com/hold"]);
    drop_finalizers(&s, "default", "owner").await;
    assert_eq!(existing(&s, &["owner", "dep"]).await, ["dep"]);
}

#[tokio::test]
async fn delete_options_are_validated() {
    let s = server(true).await;
    cm(&s, "x", &[], &[]).await;
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}/x"),
        &json!({"propagationPolicy": "Sideways"}),
    )
    .await;
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
               "reason": "Invalid",
               "details": {"group": "meta.k8s.io", "kind": "DeleteOptions", "causes": [
                   {"reason": "FieldValueNotSupported",
                    "message": "Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
                    "field": "propagationPolicy"}]},
               "code": 422})
    );
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}/x"),
        &json!({"propagationPolicy": "Orphan", "orphanDependents": true}),
    )
    .await;
    assert_eq!(
        (r.code, r.body["details"]["causes"][0]["message"].as_str()),
        (
            422,
            Some(
                "Invalid value: \"Orphan\": orphanDependents and deletionPropagation cannot be both set"
            )
        )
    );
    let r = send(
        &s,
        "DELETE",
        &format!("{CMS}/x"),
        &json!({"propagationPolicy": 3}),
    )
    .await;
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    // Rejected options deleted nothing; the deprecated orphanDependents=true still means Orphan
    // (here with the collector off, so the finalizer stays visible).
    assert!(get(&s, "x").await.is_some());
    let off = server(false).await;
    cm(&off, "y", &[], &[]).await;
    let r = delete(&off, &format!("{CMS}/y"), json!({"orphanDependents": true})).await;
    assert_eq!(finalizers(&r.body), ["orphan"]);
    // orphanDependents=false on an object its finalizers keep: 202 Accepted, as kube-apiserver.
    cm(&off, "z", &[], &["example.com/hold"]).await;
    let r = send(
        &off,
        "DELETE",
        &format!("{CMS}/z"),
        &json!({"orphanDependents": false}),
    )
    .await;
    assert_eq!(
        (r.code, finalizers(&r.body)),
        (202, vec!["example.com/hold".to_owned()])
    );
    let r = raw(
        &off,
        "DELETE",
        &format!("{CMS}/y?propagationPolicy=Background"),
        None,
        "",
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert!(
        get(&off, "y").await.is_none(),
        "explicit Background drops the orphan finalizer"
    );
}

async fn namespace(s: &ApiServer, name: &str) -> Option<Value> {
    let r = send(
        s,
        "GET",
        &format!("/api/v1/namespaces/{name}"),
        &Value::Null,
    )
    .await;
    (r.code == 200).then_some(r.body)
}

fn conditions(ns: &Value) -> Vec<(String, String, String, String)> {
    ns["status"]["conditions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let f = |k: &str| c[k].as_str().unwrap_or("").to_owned();
                    (f("type"), f("status"), f("reason"), f("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn namespace_deletion_empties_the_namespace_then_removes_it() {
    let s = server(true).await;
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "team"}}),
    )
    .await;
    assert_eq!(r.code, 201);
    cm_in(&s, "team", "plain", &[], &[]).await;
    cm_in(&s, "team", "held", &[], &["example.com/hold"]).await;
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/team/secrets",
        &json!({"metadata": {"name": "s"}, "stringData": {"a": "b"}}),
    )
    .await;
    assert_eq!(r.code, 201);
    // Something outside the namespace is left alone.
    cm(&s, "outside", &[], &[]).await;
    let answer = delete(&s, "/api/v1/namespaces/team", Value::Null)
        .await
        .body;
    assert_eq!(answer["status"]["phase"], "Terminating");
    assert_eq!(answer["spec"]["finalizers"], json!(["kubernetes"]));
    let ns = namespace(&s, "team").await.expect("still terminating");
    assert_eq!(ns["status"]["phase"], "Terminating");
    let t = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into());
    assert_eq!(
        conditions(&ns),
        vec![
            t(
                "NamespaceDeletionDiscoveryFailure",
                "False",
                "ResourcesDiscovered",
                "All resources successfully discovered"
            ),
            t(
                "NamespaceDeletionGroupVersionParsingFailure",
                "False",
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed"
            ),
            t(
                "NamespaceDeletionContentFailure",
                "False",
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization"
            ),
            t(
                "NamespaceContentRemaining",
                "True",
                "SomeResourcesRemain",
                "Some resources are remaining: configmaps. has 1 resource instances"
            ),
            t(
                "NamespaceFinalizersRemaining",
                "True",
                "SomeFinalizersRemain",
                "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
            ),
        ]
    );
    let r = send(
        &s,
        "GET",
        "/api/v1/namespaces/team/configmaps",
        &Value::Null,
    )
    .await;
    let items: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["held"]);
    assert_eq!(
        send(&s, "GET", "/api/v1/namespaces/team/secrets/s", &Value::Null)
            .await
            .code,
        404
    );
    // A user update cannot drop the namespace controller's finalizer.
    let r = send(
        &s,
        "PATCH",
        "/api/v1/namespaces/team",
        &json!({"spec": {"finalizers": []}}),
    )
    .await;
    assert_eq!(
        r.body["spec"]["finalizers"],
        json!(["kubernetes"]),
        "{}",
        r.body
    );
    drop_finalizers(&s, "team", "held").await;
    assert_eq!(namespace(&s, "team").await, None);
    assert!(get(&s, "outside").await.is_some());
    // The name is free again.
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "team"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn namespace_with_its_own_finalizer_waits_for_it() {
    let s = server(true).await;
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "kept", "finalizers": ["example.com/ns"]}}),
    )
    .await;
    assert_eq!(r.code, 201);
    cm_in(&s, "kept", "a", &[], &[]).await;
    delete(&s, "/api/v1/namespaces/kept", Value::Null).await;
    let ns = namespace(&s, "kept").await.expect("held by its finalizer");
    assert_eq!(ns["spec"]["finalizers"], json!([]));
    assert_eq!(conditions(&ns)[3].1, "False");
    let r = send(
        &s,
        "PATCH",
        "/api/v1/namespaces/kept",
        &json!({"metadata": {"finalizers": null}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(namespace(&s, "kept").await, None);
}

#[tokio::test]
async fn without_the_collector_a_deleted_namespace_stays_terminating() {
    let s = server(false).await;
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "stuck"}}),
    )
    .await;
    assert_eq!(r.code, 201);
    cm_in(&s, "stuck", "a", &[], &[]).await;
    delete(&s, "/api/v1/namespaces/stuck", Value::Null).await;
    let ns = namespace(&s, "stuck")
        .await
        .expect("envtest never finishes namespace deletion");
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert!(ns["status"]["conditions"].is_null());
    let r = send(
        &s,
        "GET",
        "/api/v1/namespaces/stuck/configmaps/a",
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 200);
}

#[tokio::test]
async fn foreground_deletion_of_an_ownership_cycle_completes() {
    let s = server(true).await;
    let a = cm(&s, "a", &[], &[]).await;
    let b = cm(&s, "b", &[("a", &a, true)], &[]).await;
    // a now also depends on b, blocking: each would wait for the other.
    let r = send(
        &s,
        "PATCH",
        &format!("{CMS}/a"),
        &json!({"metadata": {"ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "b", "uid": b, "blockOwnerDeletion": true}]}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    delete_cm(&s, "a", Some("Foreground")).await;
    assert!(existing(&s, &["a", "b"]).await.is_empty());
}

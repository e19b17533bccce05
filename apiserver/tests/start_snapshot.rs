//! The start cache (`Builder::start_cache`): a server started from the snapshot another start
//! wrote stores what a full start stores (same objects, its own uids and timestamps), serves the
//! snapshot's CRDs and keeps the service allocations; a damaged snapshot or other inputs start the
//! full way.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::{send, widget_crd};
use serde_json::{Value, json};

/// A CRD directory holding the widget CRD (JSON is YAML).
fn crd_dir(root: &Path) -> PathBuf {
    let dir = root.join("crds");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("widgets.yaml"), widget_crd().to_string()).unwrap();
    dir
}

/// The snapshot files of `cache`.
fn snapshots(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
}

/// Every stored object by `apiVersion/kind/namespace/name`, without what differs between two
/// starts (uid, creationTimestamp, resourceVersion, managedFields times, condition times).
fn normalized(server: &apiserver::ApiServer) -> BTreeMap<String, Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(&server.dump_yaml()).unwrap();
    let mut out = BTreeMap::new();
    for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
        let meta = doc["metadata"].as_object_mut().unwrap();
        for k in ["uid", "creationTimestamp", "resourceVersion"] {
            meta.remove(k);
        }
        if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
            for e in entries {
                e.as_object_mut().unwrap().remove("time");
            }
        }
        if let Some(Value::Array(conditions)) = doc.pointer_mut("/status/conditions") {
            for c in conditions {
                c.as_object_mut().unwrap().remove("lastTransitionTime");
            }
        }
        let key = format!(
            "{}/{}/{}/{}",
            doc["apiVersion"].as_str().unwrap_or(""),
            doc["kind"].as_str().unwrap_or(""),
            doc["metadata"]["namespace"].as_str().unwrap_or(""),
            doc["metadata"]["name"].as_str().unwrap_or(""),
        );
        out.insert(key, doc);
    }
    out
}

/// uid of every stored object.
fn uids(server: &apiserver::ApiServer) -> Vec<String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(&server.dump_yaml()).unwrap();
    docs.iter()
        .filter_map(|d| d["metadata"]["uid"].as_str().map(str::to_owned))
        .collect()
}

async fn start(cache: &Path, crds: &Path) -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .plain_http()
        .start_cache(cache)
        .crd_dir(crds)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_start_from_the_snapshot_stores_what_a_full_start_stores() {
    let root = tempfile::tempdir().unwrap();
    let (cache, crds) = (root.path().join("cache"), crd_dir(root.path()));

    let full = start(&cache, &crds).await;
    let files = snapshots(&cache);
    assert_eq!(
        files.len(),
        1,
        "the first start writes one snapshot: {files:?}"
    );
    let inode = std::fs::metadata(&files[0]).unwrap().ino();

    let restored = start(&cache, &crds).await;
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().ino(),
        inode,
        "a start that restored the snapshot does not write it again"
    );
    let (a, b) = (normalized(&full), normalized(&restored));
    assert!(
        a.len() > 100,
        "bootstrap objects, namespaces' defaults, the CRD: {}",
        a.len()
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (key, obj) in &a {
        assert_eq!(
            obj, &b[key],
            "{key} differs between a full and a restored start"
        );
    }
    let (ua, ub) = (uids(&full), uids(&restored));
    assert_eq!(ua.len(), a.len(), "every object has a uid");
    assert!(
        ua.iter().all(|u| !ub.contains(u)),
        "a restored start gives its objects uids of their own"
    );
    let mut unique = ub.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ub.len());

    // A restored object is encoded when first read: what a GET answers is the stored object.
    let got = send(
        &restored,
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin",
        &Value::Null,
    )
    .await;
    assert_eq!(got.code, 200, "{}", got.body);
    let dumped: Vec<Value> = serde_saphyr::from_multiple(&restored.dump_yaml()).unwrap();
    let stored = dumped
        .iter()
        .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == "cluster-admin")
        .expect("cluster-admin is stored");
    assert_eq!(&got.body, stored);

    // The restored CRD is served, with its schema (defaulting, validation).
    let path = "/apis/example.com/v1/namespaces/default/widgets";
    let made = send(&restored, "POST", path, &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}})).await;
    assert_eq!(made.code, 201, "{}", made.body);
    assert_eq!(made.body["spec"]["color"], "red");
    let bad = send(&restored, "POST", path, &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}, "spec": {"size": 11}})).await;
    assert_eq!(bad.code, 422, "{}", bad.body);

    // The default/kubernetes Service's address stays allocated.
    let ip = b["v1/Service/default/kubernetes"]["spec"]["clusterIP"].clone();
    let taken = send(
        &restored,
        "POST",
        "/api/v1/namespaces/default/services",
        &json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"clusterIP": ip, "ports": [{"port": 80}]}
        }),
    )
    .await;
    assert_eq!(taken.code, 422, "{}", taken.body);
    assert!(
        taken.body["message"]
            .as_str()
            .unwrap()
            .contains("already allocated"),
        "{}",
        taken.body
    );

    // Namespaces created later still get their default objects.
    let ns = send(
        &restored,
        "POST",
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "later"}}),
    )
    .await;
    assert_eq!(ns.code, 201, "{}", ns.body);
    common::eventually("the default ServiceAccount of a new namespace", || async {
        let r = send(
            &restored,
            "GET",
            "/api/v1/namespaces/later/serviceaccounts/default",
            &Value::Null,
        )
        .await;
        (r.code == 200).then_some(())
    })
    .await;
    full.shutdown().await;
    restored.shutdown().await;
}

#[tokio::test]
async fn a_damaged_snapshot_is_replaced_by_a_full_start() {
    let root = tempfile::tempdir().unwrap();
    let (cache, crds) = (root.path().join("cache"), crd_dir(root.path()));
    let reference = start(&cache, &crds).await;
    let files = snapshots(&cache);
    assert_eq!(files.len(), 1);
    let good = std::fs::read(&files[0]).unwrap();

    // One entry a line, as the server writes them.
    let lines = |entries: &[&str]| format!("[\n{}\n]", entries.join(",\n")).into_bytes();
    for damaged in [
        b"not json".to_vec(),
        good[..good.len() / 2].to_vec(),
        // Well-formed JSON, but not one entry a line.
        br#"[["/namespaces", 40, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]]"#.to_vec(),
        lines(&[r#"["/namespaces",40,{"apiVersion": "v1", "kind": "Namespace"}]"#]),
        lines(&[r#"["/namespaces",40,{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}"#]),
        lines(&[r#"["example.com/widgets",100,{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}}]"#]),
        lines(&[r#"["/configmaps",80,{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-wide"}}]"#]),
        // A store key with an escape, an entry without its `,`.
        lines(&[r#"["/name\u0073paces",40,{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]"#]),
        format!("[\n{}\n{}\n]", r#"["/namespaces",40,{"metadata": {"name": "x"}}]"#, r#"["/namespaces",40,{"metadata": {"name": "y"}}]"#).into_bytes(),
        // The format before encoded lengths were recorded.
        lines(&[r#"["/namespaces",{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]"#]),
        // Encoded lengths that would overflow or void the watch history's byte bound.
        lines(&[r#"["/namespaces",18446744073709551615,{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]"#]),
        lines(&[r#"["/namespaces",0,{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]"#]),
    ] {
        std::fs::write(&files[0], &damaged).unwrap();
        let server = start(&cache, &crds).await;
        assert_eq!(
            normalized(&server),
            normalized(&reference),
            "a full start after a damaged snapshot"
        );
        let rewritten: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap())
            .expect("the full start wrote a whole snapshot again");
        assert_eq!(
            rewritten.as_array().map(Vec::len),
            serde_json::from_slice::<Value>(&good)
                .unwrap()
                .as_array()
                .map(Vec::len)
        );
        server.shutdown().await;
    }
    reference.shutdown().await;
}

#[tokio::test]
async fn other_inputs_have_snapshots_of_their_own() {
    let root = tempfile::tempdir().unwrap();
    let (cache, crds) = (root.path().join("cache"), crd_dir(root.path()));
    let a = start(&cache, &crds).await;
    // Namespace defaults off: no default ServiceAccounts or root CA ConfigMaps.
    let b = apiserver::ApiServer::builder()
        .plain_http()
        .start_cache(&cache)
        .crd_dir(&crds)
        .namespace_defaults(false)
        .start()
        .await
        .unwrap();
    assert!(!normalized(&b).contains_key("v1/ServiceAccount/default/default"));
    // Another CRD directory content.
    let mut crd = widget_crd();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"]
        ["maximum"] = json!(20);
    std::fs::write(crds.join("widgets.yaml"), crd.to_string()).unwrap();
    let c = start(&cache, &crds).await;
    assert_eq!(snapshots(&cache).len(), 3, "one snapshot per set of inputs");
    let big = send(&c, "POST", "/apis/example.com/v1/namespaces/default/widgets", &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 15}})).await;
    assert_eq!(
        big.code, 201,
        "the changed CRD is the one served: {}",
        big.body
    );
    // And with the CRD directory gone, the start fails as without a cache.
    std::fs::remove_dir_all(&crds).unwrap();
    let gone = apiserver::ApiServer::builder()
        .plain_http()
        .start_cache(&cache)
        .crd_dir(&crds)
        .start()
        .await;
    assert!(gone.is_err());
    for s in [a, b, c] {
        s.shutdown().await;
    }
}

/// A ServiceAccount and a ClusterRole bound to it, as a controller's RBAC manifest has them.
fn identity_objects(verbs: &[&str]) -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sys"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ctl", "namespace": "sys"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "ctl"},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ctl"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ctl"},
               "subjects": [{"kind": "ServiceAccount", "name": "ctl", "namespace": "sys"}]}),
        // Exists on every server: left as it is.
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
    ]
}

async fn start_with_objects(
    cache: &Path,
    crds: &Path,
    objects: Vec<Value>,
) -> apiserver::ApiServer {
    let mut builder = apiserver::ApiServer::builder()
        .plain_http()
        .start_cache(cache)
        .crd_dir(crds);
    for obj in objects {
        builder = builder.object(obj, "installer");
    }
    builder.start().await.unwrap()
}

/// The status code of a list of namespace `sys`'s ConfigMaps with `token`: what the server's
/// RBAC answers.
async fn may_list_configmaps(server: &apiserver::ApiServer, token: &str) -> u16 {
    let path = "/api/v1/namespaces/sys/configmaps";
    common::raw_with(server, Some(token), "GET", path, None, "")
        .await
        .code
}

#[tokio::test]
async fn objects_created_at_start_are_in_the_snapshot_and_in_its_key() {
    let root = tempfile::tempdir().unwrap();
    let (cache, crds) = (root.path().join("cache"), crd_dir(root.path()));
    let full = start_with_objects(&cache, &crds, identity_objects(&["list"])).await;
    let files = snapshots(&cache);
    assert_eq!(files.len(), 1, "{files:?}");
    let inode = std::fs::metadata(&files[0]).unwrap().ino();
    let restored = start_with_objects(&cache, &crds, identity_objects(&["list"])).await;
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().ino(),
        inode,
        "the same objects restore the snapshot"
    );
    let (a, b) = (normalized(&full), normalized(&restored));
    assert_eq!(a, b, "a restored start has what a full start created");
    let role = send(
        &restored,
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/ctl",
        &Value::Null,
    )
    .await;
    assert_eq!(role.code, 200, "{}", role.body);
    let entry = &role.body["metadata"]["managedFields"][0];
    assert_eq!(entry["manager"], "installer", "{}", role.body);
    assert_eq!(entry["operation"], "Update", "{}", role.body);
    assert!(
        b.contains_key("v1/ConfigMap/sys/kube-root-ca.crt"),
        "the namespace's defaults"
    );
    // The restored server's RBAC has the objects: the ServiceAccount's token may list.
    for server in [&full, &restored] {
        let token = server.service_account_token("sys", "ctl").unwrap();
        assert_eq!(may_list_configmaps(server, &token).await, 200);
    }

    // Other objects are other inputs: a snapshot of their own, and their rules.
    let other = start_with_objects(&cache, &crds, identity_objects(&["get"])).await;
    assert_eq!(
        snapshots(&cache).len(),
        2,
        "one snapshot per set of objects"
    );
    let token = other.service_account_token("sys", "ctl").unwrap();
    assert_eq!(may_list_configmaps(&other, &token).await, 403);
    for s in [full, restored, other] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn a_refused_start_object_fails_the_start_naming_it() {
    let mut objects = identity_objects(&["list"]);
    // A binding to a role of an unknown kind: kube's validation refuses it.
    objects[3]["roleRef"]["kind"] = json!("Rolle");
    let mut builder = apiserver::ApiServer::builder().plain_http();
    for obj in objects {
        builder = builder.object(obj, "installer");
    }
    let Err(err) = builder.start().await else {
        panic!("a refused start object fails the start");
    };
    let text = err.to_string();
    assert!(
        matches!(&err, apiserver::Error::StartObject { what, source } if what == "ClusterRoleBinding ctl" && source.code == 422),
        "{text}"
    );
    assert!(text.contains("roleRef.kind"), "{text}");
    // A kind the server does not serve is named too.
    let Err(err) = apiserver::ApiServer::builder()
        .plain_http()
        .object(
            json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}),
            "installer",
        )
        .start()
        .await
    else {
        panic!("an unserved kind fails the start");
    };
    assert!(err.to_string().contains("Gadget"), "{err}");
}

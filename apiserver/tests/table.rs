//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns of
//! kube's printers for built-in types, a CRD's additionalPrinterColumns, the default table,
//! `includeObject`, tables for get, list and watch; and `kubectl get` (which asks for Tables)
//! printing a real cluster's columns.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{WAIT, request, send, watch_with};
use serde_json::{Value, json};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const PODS: &str = "/api/v1/namespaces/default/pods";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

/// A CRD with printer columns of several types (one wide-only).
fn printed_crd() -> Value {
    let mut crd = common::widget_crd();
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = json!([
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "Color", "type": "string", "jsonPath": ".spec.color", "description": "the colour"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    ]);
    crd
}

async fn server() -> apiserver::ApiServer {
    let s = apiserver::ApiServer::builder()
        .crd(serde_json::from_value(printed_crd()).unwrap())
        .start()
        .await
        .expect("server starts");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0"},
        "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "nginx"}, {"name": "d", "image": "redis"}]}});
    assert_eq!(send(&s, "POST", PODS, &pod).await.code, 201);
    let status = json!({"status": {"phase": "Running", "podIPs": [{"ip": "10.1.2.3"}], "containerStatuses": [
        {"name": "c", "ready": true, "restartCount": 0, "image": "nginx", "imageID": "", "state": {"running": {}}},
        {"name": "d", "ready": true, "restartCount": 0, "image": "redis", "imageID": "", "state": {"running": {}}}]}});
    let r = send(&s, "PATCH", &format!("{PODS}/web-0/status"), &status).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3, "color": "blue"}});
    assert_eq!(send(&s, "POST", WIDGETS, &w).await.code, 201);
    s
}

fn column_names(t: &Value) -> Vec<&str> {
    t["columnDefinitions"]
        .as_array()
        .expect("column definitions")
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn pods_print_kubes_columns_with_wide_cells() {
    let s = server().await;
    let r = request(&s, "GET", PODS, &[("accept", TABLE)], "").await;
    assert_eq!(r.code, 200, "{}", r.text());
    let t = r.json();
    assert_eq!(
        (&t["kind"], &t["apiVersion"]),
        (&json!("Table"), &json!("meta.k8s.io/v1"))
    );
    assert_eq!(
        column_names(&t),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    let priorities: Vec<i64> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["priority"].as_i64().unwrap())
        .collect();
    assert_eq!(priorities, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
    let row = &t["rows"][0];
    let cells = row["cells"].as_array().unwrap();
    assert_eq!(
        cells[..4],
        [json!("web-0"), json!("2/2"), json!("Running"), json!("0")]
    );
    assert!(
        cells[4].as_str().unwrap().ends_with('s'),
        "age {}",
        cells[4]
    );
    assert_eq!(
        cells[5..],
        [
            json!("10.1.2.3"),
            json!("node-a"),
            json!("<none>"),
            json!("<none>")
        ]
    );
    // includeObject defaults to Metadata.
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["metadata"]["name"], "web-0");
    assert!(t["metadata"]["resourceVersion"].is_string());
}

#[tokio::test]
async fn include_object_none_object_and_a_bad_value() {
    let s = server().await;
    let t = request(
        &s,
        "GET",
        &format!("{PODS}/web-0?includeObject=None"),
        &[("accept", TABLE)],
        "",
    )
    .await
    .json();
    assert_eq!(t["rows"].as_array().unwrap().len(), 1);
    assert!(t["rows"][0]["object"].is_null(), "{t}");
    let t = request(
        &s,
        "GET",
        &format!("{PODS}/web-0?includeObject=Object"),
        &[("accept", TABLE)],
        "",
    )
    .await
    .json();
    assert_eq!(t["rows"][0]["object"]["kind"], "Pod");
    assert_eq!(t["rows"][0]["object"]["spec"]["nodeName"], "node-a");
    let r = request(
        &s,
        "GET",
        &format!("{PODS}?includeObject=All"),
        &[("accept", TABLE)],
        "",
    )
    .await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.json()["message"],
        "Unable to convert to Table as requested: includeObject: Unsupported value: \"All\": supported values: \"Metadata\", \"None\", \"Object\""
    );
}

#[tokio::test]
async fn crd_printer_columns_are_evaluated_and_typed() {
    let s = server().await;
    let t = request(&s, "GET", WIDGETS, &[("accept", TABLE)], "")
        .await
        .json();
    assert_eq!(column_names(&t), ["Name", "Size", "Color", "Phase", "Age"]);
    let defs = t["columnDefinitions"].as_array().unwrap();
    assert_eq!(defs[1]["type"], "integer");
    assert_eq!(
        defs[1]["description"],
        "Custom resource definition column (in JSONPath format): .spec.size"
    );
    assert_eq!(defs[2]["description"], "the colour");
    assert_eq!(defs[3]["priority"], 1);
    let cells = t["rows"][0]["cells"].as_array().unwrap();
    assert_eq!(
        cells[..4],
        [json!("w"), json!(3), json!("blue"), Value::Null]
    );
    assert!(cells[4].as_str().unwrap().ends_with('s'), "{}", cells[4]);
}

#[tokio::test]
async fn types_without_a_printer_get_the_default_table() {
    let s = server().await;
    let lr = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"}, "spec": {"limits": []}});
    let path = "/api/v1/namespaces/default/limitranges";
    assert_eq!(send(&s, "POST", path, &lr).await.code, 201);
    let t = request(&s, "GET", path, &[("accept", TABLE)], "")
        .await
        .json();
    assert_eq!(column_names(&t), ["Name", "Created At"]);
    let created = t["rows"][0]["cells"][1].as_str().unwrap();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");
}

#[tokio::test]
async fn watch_events_carry_tables_with_headers_once() {
    let s = server().await;
    let mut w = watch_with(
        &s,
        &format!("{PODS}?watch=1"),
        &[("accept", "application/json;as=Table;g=meta.k8s.io;v=v1")],
    )
    .await;
    let first = w.next().await.expect("initial event");
    assert_eq!(first["object"]["kind"], "Table", "{first}");
    assert_eq!(column_names(&first["object"]).len(), 9);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    assert_eq!(send(&s, "POST", PODS, &pod).await.code, 201);
    let second = w.next().await.expect("ADDED web-1");
    assert_eq!(second["object"]["rows"][0]["cells"][0], "web-1");
    assert!(second["object"]["columnDefinitions"].is_null(), "{second}");
}

fn find_kubectl() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/kubectl");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("kubectl"))
        .find(|p| p.is_file())
}

async fn kubectl(bin: &Path, dir: &Path, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new(bin)
            .args(args)
            .env("KUBECONFIG", dir.join("kubeconfig"))
            .env("HOME", dir)
            .env("KUBECACHEDIR", dir.join("cache"))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl finishes in time")
    .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The header line of each table kubectl printed, split into column names.
fn headers(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with("NAME"))
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn kubectl_get_prints_a_real_clusters_columns() {
    let Some(bin) = find_kubectl() else {
        eprintln!(
            "SKIPPED: no kubectl (set KUBECTL, run scripts/install-deps, or put kubectl on PATH)"
        );
        return;
    };
    let s = server().await;
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    assert_eq!(
        send(
            &s,
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            &deploy
        )
        .await
        .code,
        201
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}});
    assert_eq!(
        send(&s, "POST", "/api/v1/namespaces/default/configmaps", &cm)
            .await
            .code,
        201
    );
    let dir = tempfile::tempdir().unwrap();
    s.write_kubeconfig(dir.path().join("kubeconfig")).unwrap();

    let out = kubectl(&bin, dir.path(), &["get", "pods,deploy,svc,cm,widgets"]).await;
    assert_eq!(
        headers(&out),
        [
            vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            vec![
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE"
            ],
            vec!["NAME", "DATA", "AGE"],
            vec!["NAME", "SIZE", "COLOR", "AGE"],
        ],
        "{out}"
    );
    let row = |prefix: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no row {prefix} in\n{out}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("pod/web-0")[..4], ["pod/web-0", "2/2", "Running", "0"]);
    assert_eq!(
        row("deployment.apps/web")[..4],
        ["deployment.apps/web", "0/2", "0", "0"]
    );
    assert_eq!(row("configmap/cfg")[..2], ["configmap/cfg", "2"]);
    assert_eq!(
        row("widget.example.com/w")[..3],
        ["widget.example.com/w", "3", "blue"]
    );

    let wide = kubectl(&bin, dir.path(), &["get", "pods", "-o", "wide"]).await;
    assert_eq!(
        headers(&wide),
        [vec![
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ]],
        "{wide}"
    );
    let wide_widgets = kubectl(&bin, dir.path(), &["get", "widgets", "-o", "wide"]).await;
    assert_eq!(
        headers(&wide_widgets),
        [vec!["NAME", "SIZE", "COLOR", "PHASE", "AGE"]],
        "{wide_widgets}"
    );
}

//! How bodies are encoded, as kube-apiserver's serializers do it: compact JSON ends with a
//! newline (Go's json.Encoder), `?pretty=true` (and curl, Wget and browser User-Agents unless
//! `pretty` says otherwise) gives two-space indented JSON without one, and `Accept:
//! application/yaml` gives YAML. Built-in objects' keys come in their Go structs' order at every
//! depth, map keys sorted, as `encoding/json` writes them.

mod common;

use common::{request, send};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn server() -> apiserver::ApiServer {
    let s = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("server starts");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
    assert_eq!(send(&s, "POST", CMS, &cm).await.code, 201);
    s
}

#[tokio::test]
async fn compact_json_ends_with_a_newline() {
    let s = server().await;
    for path in [format!("{CMS}/c"), CMS.to_owned(), format!("{CMS}/missing")] {
        let r = request(&s, "GET", &path, &[], "").await;
        let text = r.text();
        assert!(text.ends_with("}\n"), "{path}: {text:?}");
        assert!(!text.contains("\n "), "compact: {text}");
    }
}

#[tokio::test]
async fn pretty_by_parameter_or_user_agent() {
    let s = server().await;
    let path = format!("{CMS}/c");
    let pretty = request(&s, "GET", &format!("{path}?pretty=true"), &[], "")
        .await
        .text();
    assert!(pretty.starts_with("{\n  \""), "{pretty}");
    assert!(
        pretty.ends_with('}'),
        "no trailing newline when pretty: {pretty:?}"
    );
    let value: Value = serde_json::from_str(&pretty).unwrap();
    assert_eq!(value["data"]["k"], "v");

    for ua in [
        "curl/8.5.0",
        "Wget/1.21.4",
        "Mozilla/5.0 (X11; Linux x86_64)",
    ] {
        let r = request(&s, "GET", &path, &[("user-agent", ua)], "")
            .await
            .text();
        assert!(r.starts_with("{\n  \""), "{ua}: {r}");
    }
    let r = request(
        &s,
        "GET",
        &format!("{path}?pretty=false"),
        &[("user-agent", "curl/8.5.0")],
        "",
    )
    .await
    .text();
    assert!(r.ends_with("}\n") && !r.contains("\n "), "{r}");
    let r = request(&s, "GET", &path, &[("user-agent", "kubectl/v1.37.1")], "")
        .await
        .text();
    assert!(!r.contains("\n "), "{r}");
}

#[tokio::test]
async fn yaml_when_asked() {
    let s = server().await;
    let r = request(
        &s,
        "GET",
        &format!("{CMS}/c"),
        &[("accept", "application/yaml")],
        "",
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(r.headers["content-type"], "application/yaml");
    let v: Value = serde_saphyr::from_str(&r.text()).expect("YAML");
    assert_eq!(v["data"]["k"], "v");
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn built_in_objects_keep_go_field_order_at_every_depth() {
    let s = server().await;
    // Written with every object's keys sorted (as k8s-openapi serializes): kube answers in the
    // Go structs' order, defaulted fields in their places.
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"labels": {"tier": "web", "app": "d"}, "name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"image": "nginx", "name": "c",
                    "ports": [{"containerPort": 80, "name": "http"}]}]}}}});
    let path = "/apis/apps/v1/namespaces/default/deployments";
    assert_eq!(send(&s, "POST", path, &deployment).await.code, 201);
    let r = request(&s, "GET", &format!("{path}/d"), &[], "").await;
    let v: Value = serde_json::from_str(&r.text()).expect("JSON");
    assert_eq!(
        keys(&v),
        ["kind", "apiVersion", "metadata", "spec", "status"]
    );
    assert_eq!(
        keys(&v["spec"]),
        [
            "replicas",
            "selector",
            "template",
            "strategy",
            "revisionHistoryLimit",
            "progressDeadlineSeconds"
        ]
    );
    assert_eq!(keys(&v["spec"]["strategy"]), ["type", "rollingUpdate"]);
    let pod = &v["spec"]["template"]["spec"];
    assert_eq!(
        keys(pod),
        [
            "containers",
            "restartPolicy",
            "terminationGracePeriodSeconds",
            "dnsPolicy",
            "securityContext",
            "schedulerName"
        ]
    );
    assert_eq!(
        keys(&pod["containers"][0]),
        [
            "name",
            "image",
            "ports",
            "resources",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "imagePullPolicy"
        ]
    );
    assert_eq!(
        keys(&pod["containers"][0]["ports"][0]),
        ["name", "containerPort", "protocol"]
    );
    assert_eq!(keys(&v["metadata"]["labels"]), ["app", "tier"]);
}

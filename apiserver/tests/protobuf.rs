//! Protobuf (`application/vnd.kubernetes.protobuf`) over HTTP: kubectl's imperative commands with
//! default flags (kubectl sends built-in objects as protobuf), negotiation as kube-apiserver does
//! it (custom resources JSON only), protobuf GET, LIST and WATCH framing, and malformed bodies.

mod common;

use bytes::Bytes;
use common::kubectl::Kubectl;
use common::{WAIT, request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_imperative_commands_send_protobuf_and_succeed() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(
        &server,
        "kubectl_imperative_commands_send_protobuf_and_succeed",
    ) else {
        return;
    };
    // Each of these sent protobuf and got 415 before the protobuf codec.
    k.ok(&["create", "namespace", "proto-ns"]).await;
    k.ok(&[
        "create",
        "configmap",
        "cm",
        "-n",
        "proto-ns",
        "--from-literal=a=b",
        "--from-literal=empty=",
    ])
    .await;
    k.ok(&[
        "create",
        "secret",
        "generic",
        "s",
        "-n",
        "proto-ns",
        "--from-literal=password=p4ss",
    ])
    .await;
    k.ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "proto-ns",
        "--image=nginx",
    ])
    .await;
    k.ok(&[
        "create",
        "deployment",
        "zero",
        "-n",
        "proto-ns",
        "--image=nginx",
        "--replicas=0",
    ])
    .await;
    k.ok(&[
        "create",
        "service",
        "clusterip",
        "svc",
        "-n",
        "proto-ns",
        "--tcp=80:8080",
    ])
    .await;
    k.ok(&["create", "job", "j", "-n", "proto-ns", "--image=busybox"])
        .await;
    k.ok(&[
        "create",
        "cronjob",
        "cj",
        "-n",
        "proto-ns",
        "--image=busybox",
        "--schedule=*/5 * * * *",
    ])
    .await;
    k.ok(&[
        "create",
        "configmap",
        "dry",
        "-n",
        "proto-ns",
        "--from-literal=x=y",
        "--dry-run=server",
    ])
    .await;
    let creates: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.verb == "create")
        .map(|r| (r.resource.clone(), r.code))
        .collect();
    assert!(creates.iter().all(|(_, code)| *code == 201), "{creates:?}");

    // What was stored is what the JSON form would have stored: kube's defaults, no empty
    // strings from Go's non-pointer fields, the pointer zero kept.
    let get = |path: String| {
        let server = &server;
        async move { common::send(server, "GET", &path, &Value::Null).await.body }
    };
    let cm = get("/api/v1/namespaces/proto-ns/configmaps/cm".into()).await;
    assert_eq!(cm["data"], json!({"a": "b", "empty": ""}));
    let s = get("/api/v1/namespaces/proto-ns/secrets/s".into()).await;
    assert_eq!(s["data"]["password"], "cDRzcw==");
    assert_eq!(s["type"], "Opaque");
    let web = get("/apis/apps/v1/namespaces/proto-ns/deployments/web".into()).await;
    assert_eq!(web["spec"]["replicas"], 1, "defaulted: {web}");
    let c = &web["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx");
    assert_eq!(
        c["imagePullPolicy"], "Always",
        "defaulted (latest tag): {c}"
    );
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(web["spec"]["strategy"]["type"], "RollingUpdate");
    let zero = get("/apis/apps/v1/namespaces/proto-ns/deployments/zero".into()).await;
    assert_eq!(zero["spec"]["replicas"], 0, "{zero}");
    let svc = get("/api/v1/namespaces/proto-ns/services/svc".into()).await;
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    let ns = get("/api/v1/namespaces/proto-ns".into()).await;
    assert_eq!(ns["status"]["phase"], "Active");
    let dry = common::send(
        &server,
        "GET",
        "/api/v1/namespaces/proto-ns/configmaps/dry",
        &Value::Null,
    )
    .await;
    assert_eq!(dry.code, 404, "dry run stored nothing");

    // kubectl reads them back, as JSON and in its default (protobuf-capable) form.
    let got: Value = serde_json::from_str(
        &k.ok(&["get", "deployment", "web", "-n", "proto-ns", "-o", "json"])
            .await,
    )
    .expect("json");
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["name"],
        "nginx"
    );
    let table = k.ok(&["get", "deployments", "-n", "proto-ns"]).await;
    assert!(
        table.starts_with("NAME") && table.contains("web") && table.contains("zero"),
        "{table}"
    );
    let names = k
        .ok(&[
            "get",
            "configmaps,secrets,services,jobs,cronjobs",
            "-n",
            "proto-ns",
            "-o",
            "name",
        ])
        .await;
    for n in [
        "configmap/cm",
        "secret/s",
        "service/svc",
        "job.batch/j",
        "cronjob.batch/cj",
    ] {
        assert!(names.contains(n), "{n} in {names}");
    }
    // Updates through kubectl (label, scale, set image) and a delete.
    k.ok(&["label", "configmap", "cm", "-n", "proto-ns", "x=y"])
        .await;
    k.ok(&[
        "scale",
        "deployment",
        "web",
        "-n",
        "proto-ns",
        "--replicas=3",
    ])
    .await;
    k.ok(&[
        "set",
        "image",
        "deployment/web",
        "-n",
        "proto-ns",
        "nginx=nginx:1.27",
    ])
    .await;
    let web = get("/apis/apps/v1/namespaces/proto-ns/deployments/web".into()).await;
    assert_eq!(web["spec"]["replicas"], 3);
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    k.ok(&["delete", "configmap", "cm", "-n", "proto-ns"]).await;
    server.shutdown().await;
}

/// GET, LIST and an error in protobuf, decoded with the crate's codec; the envelope names the kind.
#[tokio::test]
async fn protobuf_responses_for_built_in_types() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p", "namespace": "default"},
        "data": {"k": "v"}, "binaryData": {"b": "AAE="}});
    let created = common::send(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &cm,
    )
    .await;
    assert_eq!(created.code, 201);
    let accept = [("accept", "application/vnd.kubernetes.protobuf, */*")];
    let one = request(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/p",
        &accept,
        Bytes::new(),
    )
    .await;
    assert_eq!(one.code, 200);
    assert_eq!(one.headers["content-type"], PROTOBUF);
    let v = apiserver::protobuf::decode_object(&one.bytes).expect("protobuf body");
    assert_eq!(
        (v["kind"].as_str(), v["apiVersion"].as_str()),
        (Some("ConfigMap"), Some("v1"))
    );
    assert_eq!(v["data"], json!({"k": "v"}));
    assert_eq!(v["binaryData"], json!({"b": "AAE="}));
    assert_eq!(v["metadata"]["uid"], created.body["metadata"]["uid"]);
    assert_eq!(
        v["metadata"]["creationTimestamp"],
        created.body["metadata"]["creationTimestamp"]
    );

    let list = request(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps",
        &accept,
        Bytes::new(),
    )
    .await;
    assert_eq!(list.headers["content-type"], PROTOBUF);
    let l = apiserver::protobuf::decode_object(&list.bytes).expect("protobuf list");
    assert_eq!(l["kind"], "ConfigMapList");
    assert!(
        l["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["metadata"]["name"] == "p")
    );

    // A not-found answers a Status; here JSON-or-protobuf as negotiated, 404 either way.
    let missing = request(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/nope",
        &accept,
        Bytes::new(),
    )
    .await;
    assert_eq!(missing.code, 404);

    // Protobuf alone for a built-in type; 406 only when nothing acceptable is offered.
    let only = request(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/p",
        &[("accept", PROTOBUF)],
        Bytes::new(),
    )
    .await;
    assert_eq!(only.headers["content-type"], PROTOBUF);
    let none = request(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/p",
        &[("accept", "text/html")],
        Bytes::new(),
    )
    .await;
    assert_eq!(none.code, 406);
    assert_eq!(
        none.json()["message"],
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
    );

    // PartialObjectMetadataList in protobuf (client-go's metadata client asks for it first).
    let pom = request(&server, "GET", "/api/v1/namespaces/default/configmaps",
        &[("accept", "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json")],
        Bytes::new()).await;
    assert_eq!(pom.headers["content-type"], PROTOBUF);
    let p = apiserver::protobuf::decode_object(&pom.bytes).expect("protobuf");
    assert_eq!(p["kind"], "PartialObjectMetadataList");
    assert!(p["items"][0].get("data").is_none());

    // A protobuf body for create and update, then a protobuf answer to it.
    let body = apiserver::protobuf::encode_object(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "q"}, "data": {"x": "1"}}))
    .expect("encode");
    let made = request(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &[("content-type", PROTOBUF), ("accept", PROTOBUF)],
        body,
    )
    .await;
    assert_eq!(made.code, 201, "{}", made.text());
    let mut q = apiserver::protobuf::decode_object(&made.bytes).expect("protobuf");
    assert_eq!(q["metadata"]["namespace"], "default");
    q["data"]["x"] = json!("2");
    let updated = request(
        &server,
        "PUT",
        "/api/v1/namespaces/default/configmaps/q",
        &[("content-type", PROTOBUF)],
        apiserver::protobuf::encode_object(&q).expect("encode"),
    )
    .await;
    assert_eq!(updated.code, 200, "{}", updated.text());
    assert_eq!(updated.json()["data"]["x"], "2");
    server.shutdown().await;
}

/// Kinds and fields newer than k8s-pb 0.9 speak protobuf too (the table comes from the release's
/// generated.proto); a field the table lacks (`JSON_ONLY`) is answered in JSON, never dropped.
#[tokio::test]
async fn newer_kinds_speak_protobuf_and_unknown_fields_fall_back_to_json() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let svm =
        apiserver::protobuf::encode_object(&json!({"apiVersion": "storagemigration.k8s.io/v1",
        "kind": "StorageVersionMigration", "metadata": {"name": "m"},
        "spec": {"resource": {"group": "apps", "resource": "deployments"}}}))
        .expect("StorageVersionMigration has a message");
    let made = request(
        &server,
        "POST",
        "/apis/storagemigration.k8s.io/v1/storageversionmigrations",
        &[("content-type", PROTOBUF), ("accept", PROTOBUF)],
        svm,
    )
    .await;
    assert_eq!(made.code, 201, "{}", made.text());
    assert_eq!(made.headers["content-type"], PROTOBUF);
    let back = apiserver::protobuf::decode_object(&made.bytes).expect("protobuf");
    assert_eq!(
        back["spec"]["resource"],
        json!({"group": "apps", "resource": "deployments"})
    );

    // A Pod with fields added to PodSpec after k8s-pb 0.9, in and out as protobuf.
    let pod = apiserver::protobuf::encode_object(&json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i",
            "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
            "volumes": [{"name": "v", "configMap": {"name": "cm", "defaultUser": 1000}}]}}))
    .expect("encode");
    let made = request(
        &server,
        "POST",
        "/api/v1/namespaces/default/pods",
        &[("content-type", PROTOBUF), ("accept", PROTOBUF)],
        pod,
    )
    .await;
    assert_eq!(made.code, 201, "{}", made.text());
    let back = apiserver::protobuf::decode_object(&made.bytes).expect("protobuf");
    assert_eq!(back["spec"]["volumes"][0]["configMap"]["defaultUser"], 1000);

    // NodeSystemInfo.runningInUserNamespace is newer than the facts' generated.proto: JSON answers.
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "status": {"nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "k",
            "osImage": "o", "containerRuntimeVersion": "c", "kubeletVersion": "v1.37.0",
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64",
            "runningInUserNamespace": true}}});
    let created = common::send(&server, "POST", "/api/v1/nodes", &node).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let status = common::send(&server, "PUT", "/api/v1/nodes/n1/status", &{
        let mut n = created.body.clone();
        n["status"] = node["status"].clone();
        n
    })
    .await;
    assert_eq!(status.code, 200, "{}", status.body);
    let got = request(
        &server,
        "GET",
        "/api/v1/nodes/n1",
        &[(
            "accept",
            "application/vnd.kubernetes.protobuf, application/json",
        )],
        Bytes::new(),
    )
    .await;
    assert_eq!(got.code, 200);
    assert!(
        got.headers["content-type"]
            .as_bytes()
            .starts_with(b"application/json"),
        "{:?}",
        got.headers["content-type"]
    );
    assert_eq!(
        got.json()["status"]["nodeInfo"]["runningInUserNamespace"],
        true
    );
    server.shutdown().await;
}

#[tokio::test]
async fn protobuf_watch_frames_each_event() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let (mut sender, addr) = common::connect::<Full<Bytes>>(&server).await;
    let req = http::Request::builder()
        .uri("/api/v1/namespaces/default/configmaps?watch=true&labelSelector=t%3Dproto")
        .header("host", addr)
        .header("authorization", format!("Bearer {}", server.token()))
        .header(
            "accept",
            "application/vnd.kubernetes.protobuf;stream=watch, application/json",
        )
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .expect("in time")
        .expect("response");
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.kubernetes.protobuf;stream=watch"
    );
    let mut body = resp.into_body();
    for name in ["w1", "w2"] {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"t": "proto"}}});
        assert_eq!(
            common::send(
                &server,
                "POST",
                "/api/v1/namespaces/default/configmaps",
                &cm
            )
            .await
            .code,
            201
        );
    }
    assert_eq!(
        common::send(
            &server,
            "DELETE",
            "/api/v1/namespaces/default/configmaps/w1",
            &Value::Null
        )
        .await
        .code,
        200
    );
    let mut buf = Vec::new();
    let mut events = Vec::new();
    while events.len() < 3 {
        while let Some((kind, obj, used)) =
            apiserver::protobuf::read_watch_frame(&buf).expect("a well-formed frame")
        {
            events.push((
                kind,
                obj["metadata"]["name"].as_str().unwrap_or("").to_owned(),
            ));
            buf.drain(..used);
        }
        if events.len() >= 3 {
            break;
        }
        let frame = tokio::time::timeout(WAIT, body.frame())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    assert_eq!(
        events,
        [
            ("ADDED".into(), "w1".into()),
            ("ADDED".into(), "w2".into()),
            ("DELETED".into(), "w1".into())
        ]
    );
    server.shutdown().await;
}

/// Custom resources are JSON only: a protobuf Accept falls back along the Accept list, a protobuf
/// body is 415; a malformed protobuf body of a built-in type is a 400 naming the problem.
#[tokio::test]
async fn custom_resources_stay_json_and_bad_bodies_are_named() {
    let server = apiserver::ApiServer::builder()
        .crd(serde_json::from_value(common::widget_crd()).expect("crd"))
        .start()
        .await
        .expect("start");
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}});
    let path = "/apis/example.com/v1/namespaces/default/widgets";
    assert_eq!(common::send(&server, "POST", path, &w).await.code, 201);
    let got = request(
        &server,
        "GET",
        &format!("{path}/w"),
        &[("accept", "application/vnd.kubernetes.protobuf, */*")],
        Bytes::new(),
    )
    .await;
    assert_eq!(
        (got.code, got.headers["content-type"].to_str().ok()),
        (200, Some("application/json"))
    );
    assert_eq!(got.json()["metadata"]["name"], "w");
    let only = request(
        &server,
        "GET",
        &format!("{path}/w"),
        &[("accept", PROTOBUF)],
        Bytes::new(),
    )
    .await;
    assert_eq!(only.code, 406);
    assert_eq!(
        only.json()["message"],
        "only the following media types are accepted: application/json, application/yaml"
    );
    let body = apiserver::protobuf::encode_object(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    )
    .expect("encode");
    let refused = request(&server, "POST", path, &[("content-type", PROTOBUF)], body).await;
    assert_eq!(refused.code, 415, "{}", refused.text());
    assert_eq!(
        refused.json()["message"],
        "the body of the request was in an unknown format (application/vnd.kubernetes.protobuf) - accepted media types include: application/json, application/yaml"
    );

    let cms = "/api/v1/namespaces/default/configmaps";
    for (body, message) in [
        (
            &b""[..],
            "the body of the request could not be decoded as protobuf: empty data",
        ),
        (
            &b"{\"kind\":\"ConfigMap\"}"[..],
            "the body of the request could not be decoded as protobuf: provided data does not appear to be a protobuf message, expected prefix [107, 56, 115, 0]",
        ),
        (
            &b"k8s\0\x0a\x50"[..],
            "the body of the request could not be decoded as protobuf: runtime.Unknown: length 80 runs past the end of the message",
        ),
    ] {
        let r = request(
            &server,
            "POST",
            cms,
            &[("content-type", PROTOBUF)],
            Bytes::copy_from_slice(body),
        )
        .await;
        assert_eq!(r.code, 400, "{}", r.text());
        assert_eq!(r.json()["message"], message);
    }
    let before = server.resource_version();
    let mut wrong = apiserver::protobuf::encode_object(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    )
    .expect("encode");
    let n = wrong.len();
    wrong[n - 1] ^= 0xff; // breaks the last string of the envelope or the message
    wrong.truncate(n - 3);
    let r = request(&server, "POST", cms, &[("content-type", PROTOBUF)], wrong).await;
    assert_eq!(r.code, 400, "{}", r.text());
    assert_eq!(server.resource_version(), before, "nothing stored");
    server.shutdown().await;
}

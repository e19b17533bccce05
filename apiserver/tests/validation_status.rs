//! Validation over HTTP of `/status` writes of the built-in types whose status strategies have
//! rules of their own: Pod. For each, a bad status gets kube's 422 with its field errors and a
//! good one is written.

mod common;

use common::{
    DUPLICATE, FORBIDDEN, INVALID, assert_invalid, create, replace,
};
use serde_json::{Value, json};

const NS: &str = "/api/v1/namespaces/default";

/// Writes `status` to `path` (a `/status` subresource) over the stored object `stored`.
async fn write_status(
    s: &apiserver::ApiServer,
    path: &str,
    stored: &Value,
    status: Value,
) -> common::Raw {
    let mut obj = stored.clone();
    obj["status"] = status;
    replace(s, path, stored, obj).await
}

/// Writes `status`, asserting it is accepted, and returns the stored object.
async fn accepted(s: &apiserver::ApiServer, path: &str, stored: &Value, status: Value) -> Value {
    let r = write_status(s, path, stored, status).await;
    assert_eq!(r.code, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn pod_status_follows_kubes_pod_status_strategy() {
    let s = apiserver::ApiServer::builder().start().await.expect("start");
    let pods = format!("{NS}/pods");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}});
    let stored = create(&s, &pods, &pod).await;
    assert_eq!(stored["status"]["qosClass"], "BestEffort");
    let path = format!("{pods}/p/status");
    // What a kubelet writes, without the QoS class (older kubelets dropped it): kept.
    let done = accepted(
        &s,
        &path,
        &stored,
        json!({"phase": "Succeeded", "hostIP": "10.0.0.9",
            "hostIPs": [{"ip": "10.0.0.9"}], "podIP": "10.1.0.4",
            "podIPs": [{"ip": "10.1.0.4"}, {"ip": "fd00::4"}],
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "c", "image": "busybox", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}]}),
    )
    .await;
    assert_eq!(done["status"]["qosClass"], "BestEffort", "{done}");
    // A terminated container of a Never pod may not run again; the QoS class is fixed; IPs and
    // names are checked.
    let r = write_status(
        &s,
        &path,
        &done,
        json!({"phase": "Running", "qosClass": "Guaranteed", "nominatedNodeName": "Node_1",
            "hostIP": "10.0.0.9", "hostIPs": [{"ip": "10.0.0.8"}],
            "podIPs": [{"ip": "10.1.0.4"}, {"ip": "10.1.0.4"}],
            "conditions": [{"type": "example.com/ok", "status": "True"},
                {"type": "not ok", "status": "True"}],
            "containerStatuses": [{"name": "c", "image": "busybox", "imageID": "", "ready": true,
                "restartCount": 1, "state": {"running": {}}}]}),
    )
    .await;
    assert_invalid(
        &r,
        "Pod",
        "p",
        &[
            (
                INVALID,
                "metadata.conditions[1].Type",
                "Invalid value: \"not ok\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ),
            (
                INVALID,
                "status.nominatedNodeName",
                "Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
            (
                INVALID,
                "status.qosClass",
                "Invalid value: \"Guaranteed\": field is immutable",
            ),
            (
                FORBIDDEN,
                "status.containerStatuses[0].state",
                "Forbidden: may not be transitioned to non-terminated state",
            ),
            (
                INVALID,
                "status.podIPs",
                "Invalid value: [{\"IP\":\"10.1.0.4\"},{\"IP\":\"10.1.0.4\"}]: may specify no more than one IP for each IP family",
            ),
            (
                DUPLICATE,
                "status.podIPs[1]",
                "Duplicate value: {\"IP\":\"10.1.0.4\"}",
            ),
            (
                INVALID,
                "status.hostIPs[0].ip",
                "Invalid value: \"10.0.0.8\": must be equal to `hostIP`",
            ),
        ],
    );
}

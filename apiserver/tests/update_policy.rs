//! kube's `AllowCreateOnUpdate` and `AllowUnconditionalUpdate` (`registry::update_policy`): a PUT
//! of a missing Service, Lease or Role creates it (and needs the create verb), of a missing
//! ConfigMap is a 404; an update without resourceVersion of a Lease, a custom resource or a
//! PodDisruptionBudget is refused with kube's Invalid, of a ConfigMap overwrites.

mod common;

use apiserver::{ApiServer, UserInfo};
use common::{raw_with, send, widget_crd};
use serde_json::{Value, json};

const BOB: &str = "bob-token";

async fn server() -> ApiServer {
    ApiServer::builder()
        .plain_http()
        .user_token(BOB, UserInfo::new("bob", &["system:authenticated"]))
        .start()
        .await
        .expect("server starts")
}

#[tokio::test]
async fn a_put_of_a_missing_object_creates_it_where_kube_allows_it() {
    let s = server().await;
    let missing = send(
        &s,
        "PUT",
        "/api/v1/namespaces/default/configmaps/c",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
    )
    .await;
    assert_eq!(missing.code, 404, "{}", missing.body);
    assert_eq!(missing.body["message"], "configmaps \"c\" not found");

    // Services: created through the create path (defaulting, an allocated address), 201.
    let path = "/api/v1/namespaces/default/services/web";
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                     "spec": {"ports": [{"port": 80}]}});
    let made = send(&s, "PUT", path, &svc).await;
    assert_eq!(made.code, 201, "{}", made.body);
    assert!(
        made.body["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| !ip.is_empty())
    );
    assert_eq!(made.body["spec"]["type"], "ClusterIP");
    let mut again = made.body.clone();
    again["metadata"]["labels"] = json!({"a": "b"});
    let updated = send(&s, "PUT", path, &again).await;
    assert_eq!(
        updated.code, 200,
        "the second PUT updates: {}",
        updated.body
    );

    // A resourceVersion in the body of such a create is ignored; the name comes from the URL.
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                       "metadata": {"resourceVersion": "12345"}, "spec": {"holderIdentity": "me"}});
    let made = send(
        &s,
        "PUT",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases/l",
        &lease,
    )
    .await;
    assert_eq!(made.code, 201, "{}", made.body);
    assert_eq!(made.body["metadata"]["name"], "l");
    assert_ne!(made.body["metadata"]["resourceVersion"], "12345");

    // Another name in the body than on the URL is refused, as on an update.
    let other = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "x"}});
    let r = send(
        &s,
        "PUT",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/y",
        &other,
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    let get = send(
        &s,
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/y",
        &Value::Null,
    )
    .await;
    assert_eq!(get.code, 404, "nothing was created: {}", get.body);

    // Subresources never create.
    let mut none = svc.clone();
    none["metadata"]["name"] = json!("none");
    let status = send(
        &s,
        "PUT",
        "/api/v1/namespaces/default/services/none/status",
        &none,
    )
    .await;
    assert_eq!(status.code, 404, "{}", status.body);
    s.shutdown().await;
}

async fn put_as_bob(s: &ApiServer, path: &str, body: &Value) -> common::Raw {
    raw_with(
        s,
        Some(BOB),
        "PUT",
        path,
        Some("application/json"),
        body.to_string(),
    )
    .await
}

#[tokio::test]
async fn a_put_that_creates_needs_the_create_verb() {
    let s = server().await;
    let grant = |verbs: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "svc-writer"},
               "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": verbs},
                         {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "update"]}]})
    };
    let made = send(
        &s,
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        &grant(json!(["get", "update"])),
    )
    .await;
    assert_eq!(made.code, 201, "{}", made.body);
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "bob"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "svc-writer"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"}]});
    let bound = send(
        &s,
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        &binding,
    )
    .await;
    assert_eq!(bound.code, 201, "{}", bound.body);

    let path = "/api/v1/namespaces/default/services/by-bob";
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "by-bob"},
                     "spec": {"ports": [{"port": 80}]}});
    let denied = put_as_bob(&s, path, &svc).await;
    assert_eq!(
        denied.code, 403,
        "update alone does not create: {}",
        denied.body
    );
    assert_eq!(
        denied.body["message"],
        "services \"by-bob\" is forbidden: User \"bob\" cannot create resource \"services\" in API group \"\" in the namespace \"default\""
    );
    // The same through the events.k8s.io view of core Events.
    let event = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "ev"},
        "eventTime": "2026-12-07T00:00:00.000000Z", "reportingController": "example.com/c",
        "reportingInstance": "i", "action": "Act", "reason": "Because", "type": "Normal",
        "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}});
    let denied = put_as_bob(
        &s,
        "/apis/events.k8s.io/v1/namespaces/default/events/ev",
        &event,
    )
    .await;
    assert_eq!(denied.code, 403, "{}", denied.body);
    assert_eq!(
        denied.body["message"],
        "events.events.k8s.io \"ev\" is forbidden: User \"bob\" cannot create resource \"events\" in API group \"events.k8s.io\" in the namespace \"default\""
    );
    let mut role = grant(json!(["get", "update", "create"]));
    let current = send(
        &s,
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/svc-writer",
        &Value::Null,
    )
    .await;
    role["metadata"]["resourceVersion"] = current.body["metadata"]["resourceVersion"].clone();
    let r = send(
        &s,
        "PUT",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/svc-writer",
        &role,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    common::eventually("bob may create by PUT", || async {
        (put_as_bob(&s, path, &svc).await.code == 201).then_some(())
    })
    .await;
    s.shutdown().await;
}

#[tokio::test]
async fn an_update_without_resource_version_is_refused_where_kube_refuses_it() {
    let s = server().await;
    // Leases: kube's lease strategy answers false.
    let path = "/apis/coordination.k8s.io/v1/namespaces/default/leases/l";
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"},
                       "spec": {"holderIdentity": "a"}});
    assert_eq!(
        send(
            &s,
            "POST",
            "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            &lease
        )
        .await
        .code,
        201
    );
    let mut changed = lease.clone();
    changed["spec"]["holderIdentity"] = json!("b");
    let r = send(&s, "PUT", path, &changed).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "leases.coordination.k8s.io \"l\" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update"
    );
    assert_eq!(r.body["reason"], "Invalid");
    assert_eq!(
        r.body["details"]["kind"], "leases",
        "kube names the resource there"
    );
    assert_eq!(r.body["details"]["group"], "coordination.k8s.io");
    assert_eq!(
        r.body["details"]["causes"],
        json!([{"reason": "FieldValueInvalid", "message": "Invalid value: 0: must be specified for an update", "field": "metadata.resourceVersion"}])
    );
    // A merge patch that removes the resourceVersion is the same unconditional update.
    let removed = common::raw(
        &s,
        "PATCH",
        path,
        Some("application/merge-patch+json"),
        r#"{"metadata": {"resourceVersion": null}, "spec": {"holderIdentity": "c"}}"#,
    )
    .await;
    assert_eq!(removed.code, 422, "{}", removed.body);
    // An ordinary patch keeps the stored one.
    let patched = common::raw(
        &s,
        "PATCH",
        path,
        Some("application/merge-patch+json"),
        r#"{"spec": {"holderIdentity": "c"}}"#,
    )
    .await;
    assert_eq!(patched.code, 200, "{}", patched.body);

    // Custom resources too, and their status.
    let crd = send(
        &s,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &widget_crd(),
    )
    .await;
    assert_eq!(crd.code, 201, "{}", crd.body);
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}});
    // A CRD is served as soon as its create returns.
    let made = send(&s, "POST", widgets, &widget).await;
    assert_eq!(made.code, 201, "{}", made.body);
    let made = made.body;
    let mut w = widget.clone();
    w["spec"]["size"] = json!(2);
    let r = send(&s, "PUT", &format!("{widgets}/w"), &w).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "widgets.example.com \"w\" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update"
    );
    w["metadata"]["resourceVersion"] = made["metadata"]["resourceVersion"].clone();
    let r = send(&s, "PUT", &format!("{widgets}/w"), &w).await;
    assert_eq!(
        r.code, 200,
        "with the resourceVersion it updates: {}",
        r.body
    );

    // ConfigMaps allow it: the PUT overwrites.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    assert_eq!(
        send(&s, "POST", "/api/v1/namespaces/default/configmaps", &cm)
            .await
            .code,
        201
    );
    let mut cm2 = cm.clone();
    cm2["data"]["a"] = json!("2");
    let r = send(&s, "PUT", "/api/v1/namespaces/default/configmaps/c", &cm2).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["data"]["a"], "2");
    s.shutdown().await;
}

//! Authentication, impersonation, RBAC authorization, the escalation checks, ClusterRole
//! aggregation and the access reviews, over HTTP with the exact Status kube-apiserver answers.

mod common;

use bytes::Bytes;
use common::{Raw, WAIT, connect};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use apiserver::{ApiServer, UserInfo};

const ALICE: &str = "alice-token";
const ROBOT: &str = "robot-token";

/// A server with static tokens: `alice` (system:authenticated only) and `robot` (no groups).
async fn server() -> ApiServer {
    ApiServer::builder()
        .user_token(ALICE, UserInfo::new("alice", &["system:authenticated"]))
        .user_token(ROBOT, UserInfo::new("robot", &[]))
        .start()
        .await
        .expect("server starts")
}

/// One request with `token` (none: no Authorization header) and extra headers.
async fn call(
    server: &ApiServer,
    token: Option<&str>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Raw {
    let (mut sender, addr) = connect(server).await;
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let bytes = match &body {
        Some(b) => {
            let ct = if method == "PATCH" {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                req = req.header("content-type", ct);
            }
            Bytes::from(b.to_string())
        }
        None => Bytes::new(),
    };
    let req = req.body(Full::new(bytes)).expect("request");
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .expect("answer in time")
        .expect("response");
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Raw {
        code,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    }
}

async fn admin(server: &ApiServer, method: &str, path: &str, body: Value) -> Value {
    let r = call(server, Some(server.token()), method, path, &[], Some(body)).await;
    assert!(r.code < 300, "{method} {path}: {} {}", r.code, r.body);
    r.body
}

async fn namespace(server: &ApiServer, name: &str) {
    admin(
        server,
        "POST",
        "/api/v1/namespaces",
        json!({"metadata": {"name": name}}),
    )
    .await;
}

/// Creates a Role (or ClusterRole when `ns` is empty) `name` with `rules` and binds it to
/// `subject` (a full RBAC subject).
async fn grant(server: &ApiServer, ns: &str, name: &str, rules: Value, subject: Value) {
    let (roles, bindings, kind) = if ns.is_empty() {
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles".to_owned(),
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings".to_owned(),
            "ClusterRole",
        )
    } else {
        (
            format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles"),
            format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
            "Role",
        )
    };
    admin(
        server,
        "POST",
        &roles,
        json!({"metadata": {"name": name}, "rules": rules}),
    )
    .await;
    admin(
        server,
        "POST",
        &bindings,
        json!({"metadata": {"name": name},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
               "subjects": [subject]}),
    )
    .await;
}

fn user(name: &str) -> Value {
    json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name})
}

async fn whoami(server: &ApiServer, token: Option<&str>, headers: &[(&str, &str)]) -> Raw {
    call(
        server,
        token,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        headers,
        Some(json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})),
    )
    .await
}

fn assert_forbidden(r: &Raw, message: &str) {
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(r.body["reason"], "Forbidden", "{}", r.body);
    assert_eq!(r.body["message"], message, "{}", r.body);
}

#[tokio::test]
async fn every_token_kind_authenticates_as_its_identity() {
    let server = ApiServer::builder()
        .user_token(
            ALICE,
            UserInfo::new("alice", &["system:authenticated", "devs"]),
        )
        .anonymous(true)
        .start()
        .await
        .expect("server starts");
    let me = whoami(&server, Some(server.token()), &[]).await;
    assert_eq!(me.code, 201, "{}", me.body);
    assert_eq!(
        me.body["status"]["userInfo"],
        json!({"username": "admin", "groups": ["system:masters", "system:authenticated"]})
    );
    let me = whoami(&server, Some(ALICE), &[]).await;
    assert_eq!(
        me.body["status"]["userInfo"],
        json!({"username": "alice", "groups": ["system:authenticated", "devs"]})
    );
    namespace(&server, "auth-ids").await;
    let sa = admin(
        &server,
        "POST",
        "/api/v1/namespaces/auth-ids/serviceaccounts",
        json!({"metadata": {"name": "bot"}}),
    )
    .await;
    let token = server
        .service_account_token("auth-ids", "bot")
        .expect("token");
    let me = whoami(&server, Some(&token), &[]).await;
    assert_eq!(me.code, 201, "{}", me.body);
    let info = &me.body["status"]["userInfo"];
    assert_eq!(info["username"], "system:serviceaccount:auth-ids:bot");
    assert_eq!(info["uid"], sa["metadata"]["uid"]);
    assert_eq!(
        info["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:auth-ids",
            "system:authenticated"
        ])
    );
    // A TokenRequest's token works the same way.
    let tr = admin(
        &server,
        "POST",
        "/api/v1/namespaces/auth-ids/serviceaccounts/bot/token",
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}),
    )
    .await;
    let me = whoami(&server, tr["status"]["token"].as_str(), &[]).await;
    assert_eq!(
        me.body["status"]["userInfo"]["username"],
        "system:serviceaccount:auth-ids:bot"
    );
    // Without credentials, anonymous (enabled here), who may not even ask who it is, as in kube
    // (system:basic-user is bound to system:authenticated) until a binding says so.
    let me = whoami(&server, None, &[]).await;
    assert_forbidden(
        &me,
        r#"selfsubjectreviews.authentication.k8s.io is forbidden: User "system:anonymous" cannot create resource "selfsubjectreviews" in API group "authentication.k8s.io" at the cluster scope"#,
    );
    admin(
        &server,
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        json!({"metadata": {"name": "anonymous-basic"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:basic-user"},
               "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:unauthenticated"}]}),
    )
    .await;
    let me = whoami(&server, None, &[]).await;
    assert_eq!(me.code, 201, "{}", me.body);
    assert_eq!(
        me.body["status"]["userInfo"],
        json!({"username": "system:anonymous", "groups": ["system:unauthenticated"]})
    );
    // Anonymous gets what system:unauthenticated is bound to, and no more.
    let r = call(
        &server,
        None,
        "GET",
        "/api/v1/namespaces/default/pods",
        &[],
        None,
    )
    .await;
    assert_forbidden(
        &r,
        r#"pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default""#,
    );
}

#[tokio::test]
async fn bad_or_missing_credentials_are_401_without_saying_why() {
    let server = server().await;
    let unauthorized = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401});
    // No token and anonymous off (kube-apiserver's `--anonymous-auth=false`).
    let closed = ApiServer::builder()
        .anonymous(false)
        .start()
        .await
        .expect("server");
    let r = call(&closed, None, "GET", "/api/v1/namespaces", &[], None).await;
    assert_eq!((r.code, &r.body), (401, &unauthorized));
    for bad in ["nope", "a.b.c", &format!("{}x", server.token())] {
        let r = call(&server, Some(bad), "GET", "/api/v1/namespaces", &[], None).await;
        assert_eq!((r.code, &r.body), (401, &unauthorized), "token {bad}");
    }
    // A ServiceAccount token stops working when its ServiceAccount goes, and stays refused when
    // a ServiceAccount of the same name comes back (another uid). At once with the token cache
    // off; with kube's cache (next test) once the remembered success expires.
    let uncached = ApiServer::builder()
        .token_cache_ttl(std::time::Duration::ZERO)
        .start()
        .await
        .expect("server");
    namespace(&uncached, "auth-401").await;
    let sa = "/api/v1/namespaces/auth-401/serviceaccounts";
    admin(&uncached, "POST", sa, json!({"metadata": {"name": "bot"}})).await;
    let token = uncached
        .service_account_token("auth-401", "bot")
        .expect("token");
    assert_eq!(whoami(&uncached, Some(&token), &[]).await.code, 201);
    admin(&uncached, "DELETE", &format!("{sa}/bot"), json!({})).await;
    let r = whoami(&uncached, Some(&token), &[]).await;
    assert_eq!((r.code, &r.body), (401, &unauthorized));
    admin(&uncached, "POST", sa, json!({"metadata": {"name": "bot"}})).await;
    let r = whoami(&uncached, Some(&token), &[]).await;
    assert_eq!((r.code, &r.body), (401, &unauthorized));
    // A token of a missing ServiceAccount cannot be made.
    let err = server
        .service_account_token("auth-401", "ghost")
        .expect_err("no such ServiceAccount");
    assert!(
        err.to_string().contains("create the ServiceAccount first"),
        "{err}"
    );
    // With anonymous on, a bad token is still a 401 (not anonymous).
    let anon = ApiServer::builder()
        .anonymous(true)
        .start()
        .await
        .expect("server");
    let r = call(&anon, Some("nope"), "GET", "/api", &[], None).await;
    assert_eq!((r.code, &r.body), (401, &unauthorized));
    // Health and version are public (`system:public-info-viewer`), but a presented token is
    // checked there too: a bad one is a 401 (kr8s's `test_bad_auth` asks `/version/`).
    for path in ["/version", "/version/", "/healthz", "/livez", "/readyz"] {
        for s in [&server, &anon] {
            let r = call(s, Some("nope"), "GET", path, &[], None).await;
            assert_eq!(
                (r.code, &r.body),
                (401, &unauthorized),
                "bad token on {path}"
            );
            assert_eq!(
                call(s, None, "GET", path, &[], None).await.code,
                200,
                "{path}"
            );
            assert_eq!(
                call(s, Some(s.token()), "GET", path, &[], None).await.code,
                200,
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn a_revoked_token_keeps_working_while_its_success_is_remembered() {
    // kube-apiserver remembers a successful token authentication for 10 s (tokencache); an
    // hour here, so that no slowness of the machine lets the entry expire mid-test.
    let server = ApiServer::builder()
        .token_cache_ttl(std::time::Duration::from_secs(3600))
        .start()
        .await
        .expect("server");
    namespace(&server, "auth-cache").await;
    let sa = "/api/v1/namespaces/auth-cache/serviceaccounts";
    admin(&server, "POST", sa, json!({"metadata": {"name": "bot"}})).await;
    let token = server
        .service_account_token("auth-cache", "bot")
        .expect("token");
    let before = whoami(&server, Some(&token), &[]).await;
    assert_eq!(before.code, 201, "{}", before.body);
    admin(&server, "DELETE", &format!("{sa}/bot"), json!({})).await;
    let after = whoami(&server, Some(&token), &[]).await;
    assert_eq!(after.code, 201, "{}", after.body);
    assert_eq!(
        after.body["status"]["userInfo"], before.body["status"]["userInfo"],
        "the remembered identity, uid and groups included"
    );
    // Authorization is not remembered: the deleted ServiceAccount's permissions are what RBAC
    // says now (SelfSubjectReview needs none; reading namespaces needs a grant it never had).
    let r = call(
        &server,
        Some(&token),
        "GET",
        "/api/v1/namespaces",
        &[],
        None,
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
}

#[tokio::test]
async fn impersonation_needs_the_impersonate_verb() {
    let server = server().await;
    let as_bob = [("Impersonate-User", "bob")];
    let r = whoami(&server, Some(ALICE), &as_bob).await;
    assert_forbidden(
        &r,
        r#"users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope"#,
    );
    grant(
        &server,
        "",
        "impersonate-users",
        json!([{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"], "resourceNames": ["bob"]}]),
        user("alice"),
    )
    .await;
    let r = whoami(&server, Some(ALICE), &as_bob).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["status"]["userInfo"],
        json!({"username": "bob", "groups": ["system:authenticated"]})
    );
    // Only bob: resourceNames limit whom alice may be.
    let r = whoami(&server, Some(ALICE), &[("Impersonate-User", "carol")]).await;
    assert_eq!(r.code, 403, "{}", r.body);
    // Groups need their own permission.
    let r = whoami(
        &server,
        Some(ALICE),
        &[("Impersonate-User", "bob"), ("Impersonate-Group", "ops")],
    )
    .await;
    assert_forbidden(
        &r,
        r#"groups "ops" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope"#,
    );
    // A ServiceAccount user is checked as serviceaccounts in its namespace.
    let r = whoami(
        &server,
        Some(ALICE),
        &[("Impersonate-User", "system:serviceaccount:ns1:bot")],
    )
    .await;
    assert_forbidden(
        &r,
        r#"serviceaccounts "bot" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "ns1""#,
    );
    // The admin may impersonate anything: a ServiceAccount gets its fixed groups, uid and extra
    // are passed on.
    let r = whoami(
        &server,
        Some(server.token()),
        &[
            ("Impersonate-User", "system:serviceaccount:ns1:bot"),
            ("Impersonate-Uid", "u-1"),
            ("Impersonate-Extra-Scopes", "view"),
        ],
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["status"]["userInfo"],
        json!({"username": "system:serviceaccount:ns1:bot", "uid": "u-1",
               "groups": ["system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"],
               "extra": {"scopes": ["view"]}})
    );
    // The impersonated user's rights apply, not the requestor's.
    let r = call(
        &server,
        Some(server.token()),
        "GET",
        "/api/v1/namespaces/default/secrets",
        &[("Impersonate-User", "bob")],
        None,
    )
    .await;
    assert_forbidden(
        &r,
        r#"secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "default""#,
    );
    // Groups without a user are a 400.
    let r = whoami(
        &server,
        Some(server.token()),
        &[("Impersonate-Group", "ops")],
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "requested [{Group  ops    }] without impersonating a user"
    );
}

#[tokio::test]
async fn rbac_allows_what_roles_grant_and_nothing_else() {
    let server = server().await;
    namespace(&server, "rbac-a").await;
    namespace(&server, "rbac-b").await;
    let pods_a = "/api/v1/namespaces/rbac-a/pods";
    let r = call(&server, Some(ALICE), "GET", pods_a, &[], None).await;
    assert_forbidden(
        &r,
        r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "rbac-a""#,
    );
    assert_eq!(r.body["details"], json!({"kind": "pods"}));
    // A namespaced binding: list pods in rbac-a only.
    grant(
        &server,
        "rbac-a",
        "pod-reader",
        json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
        user("alice"),
    )
    .await;
    assert_eq!(
        call(&server, Some(ALICE), "GET", pods_a, &[], None)
            .await
            .code,
        200
    );
    let r = call(
        &server,
        Some(ALICE),
        "GET",
        "/api/v1/namespaces/rbac-b/pods",
        &[],
        None,
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    let r = call(&server, Some(ALICE), "GET", "/api/v1/pods", &[], None).await;
    assert_forbidden(
        &r,
        r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope"#,
    );
    // Verbs: get and list, not create.
    let r = call(&server, Some(ALICE), "POST", pods_a, &[],
        Some(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}))).await;
    assert_eq!(r.code, 403, "{}", r.body);
    // Subresources need their own rule.
    admin(
        &server,
        "POST",
        pods_a,
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    )
    .await;
    assert_eq!(
        call(
            &server,
            Some(ALICE),
            "GET",
            &format!("{pods_a}/p"),
            &[],
            None
        )
        .await
        .code,
        200
    );
    let r = call(
        &server,
        Some(ALICE),
        "GET",
        &format!("{pods_a}/p/status"),
        &[],
        None,
    )
    .await;
    assert_forbidden(
        &r,
        r#"pods "p" is forbidden: User "alice" cannot get resource "pods/status" in API group "" in the namespace "rbac-a""#,
    );
    grant(
        &server,
        "rbac-a",
        "pod-status",
        json!([{"apiGroups": [""], "resources": ["pods/status"], "verbs": ["get"]}]),
        user("alice"),
    )
    .await;
    assert_eq!(
        call(
            &server,
            Some(ALICE),
            "GET",
            &format!("{pods_a}/p/status"),
            &[],
            None
        )
        .await
        .code,
        200
    );
    // resourceNames: one ConfigMap, not the others, and no list.
    let cms = "/api/v1/namespaces/rbac-a/configmaps";
    for name in ["mine", "theirs"] {
        admin(&server, "POST", cms, json!({"metadata": {"name": name}})).await;
    }
    grant(&server, "rbac-a", "one-cm",
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"], "resourceNames": ["mine"]}]),
        user("alice")).await;
    assert_eq!(
        call(
            &server,
            Some(ALICE),
            "GET",
            &format!("{cms}/mine"),
            &[],
            None
        )
        .await
        .code,
        200
    );
    assert_eq!(
        call(
            &server,
            Some(ALICE),
            "GET",
            &format!("{cms}/theirs"),
            &[],
            None
        )
        .await
        .code,
        403
    );
    assert_eq!(
        call(&server, Some(ALICE), "GET", cms, &[], None).await.code,
        403
    );
    // A ClusterRoleBinding grants everywhere, a group binding every member.
    grant(&server, "", "secret-reader",
        json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
        json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:authenticated"})).await;
    for path in ["/api/v1/secrets", "/api/v1/namespaces/rbac-b/secrets"] {
        assert_eq!(
            call(&server, Some(ALICE), "GET", path, &[], None)
                .await
                .code,
            200,
            "{path}"
        );
    }
    // robot is not in system:authenticated: no discovery, no secrets.
    let r = call(&server, Some(ROBOT), "GET", "/api/v1/secrets", &[], None).await;
    assert_eq!(r.code, 403, "{}", r.body);
    // Non-resource URLs: discovery through system:discovery; others only when granted.
    assert_eq!(
        call(&server, Some(ALICE), "GET", "/apis", &[], None)
            .await
            .code,
        200
    );
    let r = call(&server, Some(ROBOT), "GET", "/apis", &[], None).await;
    assert_forbidden(&r, r#"forbidden: User "robot" cannot get path "/apis""#);
    let r = call(&server, Some(ALICE), "GET", "/debug/requests", &[], None).await;
    assert_forbidden(
        &r,
        r#"forbidden: User "alice" cannot get path "/debug/requests""#,
    );
    grant(
        &server,
        "",
        "debugger",
        json!([{"nonResourceURLs": ["/debug/*"], "verbs": ["get"]}]),
        user("alice"),
    )
    .await;
    assert_eq!(
        call(&server, Some(ALICE), "GET", "/debug/requests", &[], None)
            .await
            .code,
        200
    );
    // Removing the binding takes the right away again.
    admin(
        &server,
        "DELETE",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/debugger",
        json!({}),
    )
    .await;
    assert_eq!(
        call(&server, Some(ALICE), "GET", "/debug/requests", &[], None)
            .await
            .code,
        403
    );
}

#[tokio::test]
async fn aggregated_cluster_roles_collect_their_selected_rules() {
    let server = server().await;
    let roles = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
    admin(&server, "POST", roles, json!({"metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/agg": "true"}}]}})).await;
    admin(&server, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        json!({"metadata": {"name": "agg"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "agg"},
               "subjects": [user("alice")]})).await;
    assert_eq!(
        call(&server, Some(ALICE), "GET", "/api/v1/secrets", &[], None)
            .await
            .code,
        403
    );
    let rule = json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]});
    admin(
        &server,
        "POST",
        roles,
        json!({"metadata": {"name": "part", "labels": {"example.com/agg": "true"}},
        "rules": [rule]}),
    )
    .await;
    let agg = admin(&server, "GET", &format!("{roles}/agg"), Value::Null).await;
    assert_eq!(agg["rules"], json!([rule]), "{agg}");
    assert_eq!(
        call(&server, Some(ALICE), "GET", "/api/v1/secrets", &[], None)
            .await
            .code,
        200
    );
    // A role labelled for the bootstrap `view` role lands in view (and in edit and admin, which
    // aggregate view).
    let crd_rule =
        json!({"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]});
    admin(
        &server,
        "POST",
        roles,
        json!({"metadata": {"name": "widgets-view",
        "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}, "rules": [crd_rule]}),
    )
    .await;
    for role in ["view", "admin"] {
        let got = admin(&server, "GET", &format!("{roles}/{role}"), Value::Null).await;
        assert!(
            got["rules"].as_array().expect("rules").contains(&crd_rule),
            "{role}: {got}"
        );
    }
    // Taking the label off takes the rule out again.
    admin(
        &server,
        "PATCH",
        &format!("{roles}/part"),
        json!({"metadata": {"labels": {"example.com/agg": null}}}),
    )
    .await;
    let agg = admin(&server, "GET", &format!("{roles}/agg"), Value::Null).await;
    assert_eq!(agg["rules"], json!([]), "{agg}");
    assert_eq!(
        call(&server, Some(ALICE), "GET", "/api/v1/secrets", &[], None)
            .await
            .code,
        403
    );
}

#[tokio::test]
async fn role_writes_cannot_grant_more_than_the_writer_holds() {
    let server = server().await;
    namespace(&server, "esc").await;
    let roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/esc/roles";
    let bindings = "/apis/rbac.authorization.k8s.io/v1/namespaces/esc/rolebindings";
    grant(&server, "esc", "rbac-writer",
        json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": ["create", "update", "patch"]},
               {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
        user("alice")).await;
    let pods_role = json!({"metadata": {"name": "pods"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "delete"]}]});
    let r = call(
        &server,
        Some(ALICE),
        "POST",
        roles,
        &[],
        Some(pods_role.clone()),
    )
    .await;
    assert_forbidden(
        &r,
        "roles.rbac.authorization.k8s.io \"pods\" is forbidden: user \"alice\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"configmaps\"], Verbs:[\"delete\"]}\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\" \"delete\"]}",
    );
    // Rules the writer holds are fine.
    let r = call(
        &server,
        Some(ALICE),
        "POST",
        roles,
        &[],
        Some(json!({"metadata": {"name": "cm"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // A patch that adds a rule is checked on the patched object.
    let r = call(
        &server,
        Some(ALICE),
        "PATCH",
        &format!("{roles}/cm"),
        &[],
        Some(json!({
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]})),
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    // Binding a role whose rules alice lacks needs `bind`.
    let edit_binding = json!({"metadata": {"name": "edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [user("bob")]});
    let r = call(
        &server,
        Some(ALICE),
        "POST",
        bindings,
        &[],
        Some(edit_binding.clone()),
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    let msg = r.body["message"].as_str().unwrap_or("");
    assert!(
        msg.starts_with("rolebindings.rbac.authorization.k8s.io \"edit\" is forbidden: user \"alice\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n"),
        "{msg}"
    );
    // With `escalate` on roles and `bind` on the edit ClusterRole both succeed.
    grant(&server, "esc", "escalator",
        json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]},
               {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"], "resourceNames": ["edit"]}]),
        user("alice")).await;
    let r = call(&server, Some(ALICE), "POST", roles, &[], Some(pods_role)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = call(
        &server,
        Some(ALICE),
        "POST",
        bindings,
        &[],
        Some(edit_binding),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // Cluster roles with an aggregationRule need cluster-admin's privileges.
    grant(&server, "", "cr-writer",
        json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["create"]}]),
        user("alice")).await;
    let r = call(&server, Some(ALICE), "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", &[],
        Some(json!({"metadata": {"name": "sneaky"}, "aggregationRule": {"clusterRoleSelectors": [{}]}}))).await;
    assert_forbidden(
        &r,
        "clusterroles.rbac.authorization.k8s.io \"sneaky\" is forbidden: must have cluster-admin privileges to use the aggregationRule",
    );
}

#[tokio::test]
async fn access_reviews_answer_from_the_authorizer() {
    let server = server().await;
    namespace(&server, "rev").await;
    grant(
        &server,
        "rev",
        "cm-reader",
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
        user("alice"),
    )
    .await;
    let sar = |user: &str, verb: &str, ns: &str| {
        json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "resourceAttributes": {"namespace": ns, "verb": verb, "resource": "configmaps"}}})
    };
    let path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    let r = admin(&server, "POST", path, sar("alice", "get", "rev")).await;
    assert_eq!(
        r["status"],
        json!({"allowed": true,
        "reason": "RBAC: allowed by RoleBinding \"cm-reader/rev\" of Role \"cm-reader\" to User \"alice\""})
    );
    let r = admin(&server, "POST", path, sar("alice", "delete", "rev")).await;
    assert_eq!(r["status"], json!({"allowed": false}));
    let r = admin(&server, "POST", path, sar("alice", "get", "default")).await;
    assert_eq!(r["status"]["allowed"], false);
    // Bad specs are 422.
    let r = call(
        &server,
        Some(server.token()),
        "POST",
        path,
        &[],
        Some(json!({"spec": {"user": "x"}})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    let r = call(
        &server,
        Some(server.token()),
        "POST",
        path,
        &[],
        Some(json!({"spec": {"resourceAttributes": {"verb": "get"}}})),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    // A user may not ask about others without the right to create SubjectAccessReviews.
    let r = call(
        &server,
        Some(ALICE),
        "POST",
        path,
        &[],
        Some(sar("alice", "get", "rev")),
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    // Local: the namespace must be the URL's.
    let local = "/apis/authorization.k8s.io/v1/namespaces/rev/localsubjectaccessreviews";
    let mut lsar = sar("alice", "get", "rev");
    lsar["kind"] = "LocalSubjectAccessReview".into();
    let r = admin(&server, "POST", local, lsar.clone()).await;
    assert_eq!(r["status"]["allowed"], true, "{r}");
    assert_eq!(r["metadata"]["namespace"], "rev");
    lsar["spec"]["resourceAttributes"]["namespace"] = "default".into();
    let r = call(
        &server,
        Some(server.token()),
        "POST",
        local,
        &[],
        Some(lsar),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    // Self: every authenticated user may ask about themselves (system:basic-user).
    let ssar = |verb: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "rev", "verb": verb, "resource": "configmaps"}}})
    };
    let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let r = call(&server, Some(ALICE), "POST", path, &[], Some(ssar("get"))).await;
    assert_eq!(
        (r.code, &r.body["status"]["allowed"]),
        (201, &json!(true)),
        "{}",
        r.body
    );
    let r = call(&server, Some(ALICE), "POST", path, &[], Some(ssar("list"))).await;
    assert_eq!(r.body["status"]["allowed"], false, "{}", r.body);
    let r = call(
        &server,
        Some(ALICE),
        "POST",
        path,
        &[],
        Some(json!({"spec": {"nonResourceAttributes": {"verb": "get", "path": "/healthz"}}})),
    )
    .await;
    assert_eq!(r.body["status"]["allowed"], true, "{}", r.body);
    // Rules review: alice's rules in rev include the Role's and basic-user's.
    let path = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews";
    let r = call(
        &server,
        Some(ALICE),
        "POST",
        path,
        &[],
        Some(json!({"spec": {"namespace": "rev"}})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let rules = r.body["status"]["resourceRules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        rules.contains(&json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]})),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|r| r["resources"]
                == json!(["selfsubjectaccessreviews", "selfsubjectrulesreviews"])),
        "{rules:?}"
    );
    assert_eq!(r.body["status"]["incomplete"], false);
    let r = call(
        &server,
        Some(ALICE),
        "POST",
        path,
        &[],
        Some(json!({"spec": {}})),
    )
    .await;
    assert_eq!(
        (r.code, &r.body["message"]),
        (400, &json!("no namespace on request"))
    );
    // Discovery lists the reviews as create-only resources.
    let list = admin(&server, "GET", "/apis/authorization.k8s.io/v1", Value::Null).await;
    let mut names: Vec<(String, Value)> = list["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("").to_owned(),
                r["verbs"].clone(),
            )
        })
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        names,
        [
            ("localsubjectaccessreviews".to_owned(), json!(["create"])),
            ("selfsubjectaccessreviews".to_owned(), json!(["create"])),
            ("selfsubjectrulesreviews".to_owned(), json!(["create"])),
            ("subjectaccessreviews".to_owned(), json!(["create"])),
        ]
    );
}

const CSRS: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/// A CSR `name` whose body claims to come from someone else, as a forging client would send it.
fn forged_csr(name: &str) -> Value {
    json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": common::csr_request(name), "signerName": "example.com/signer",
                 "usages": ["client auth"], "username": "mallory", "uid": "forged",
                 "groups": ["system:masters"], "extra": {"forged": ["yes"]}}})
}

/// The requester fields of a CSR's spec, shaped as an `authentication.k8s.io/v1` UserInfo.
fn requester(csr: &Value) -> Value {
    let mut user = json!({});
    for field in ["username", "uid", "groups", "extra"] {
        if let Some(v) = csr["spec"].get(field) {
            user[field] = v.clone();
        }
    }
    user
}

/// kube's CSR `PrepareForCreate`: `spec.username`, `uid`, `groups` and `extra` are the
/// requesting user's — exactly who a SelfSubjectReview with the same credentials says it is —
/// whatever the client sent, for every kind of identity and for create and apply alike.
#[tokio::test]
async fn certificate_signing_requests_record_the_requesting_user() {
    let server = ApiServer::builder()
        .user_token(
            ALICE,
            UserInfo::new("alice", &["system:authenticated", "devs"]),
        )
        .start()
        .await
        .expect("server starts");
    namespace(&server, "csr-users").await;
    let sa = admin(
        &server,
        "POST",
        "/api/v1/namespaces/csr-users/serviceaccounts",
        json!({"metadata": {"name": "bot"}}),
    )
    .await;
    let bot = server
        .service_account_token("csr-users", "bot")
        .expect("token");
    let rules = json!([{"apiGroups": ["certificates.k8s.io"],
        "resources": ["certificatesigningrequests"], "verbs": ["create", "patch", "get"]}]);
    grant(&server, "", "csr-alice", rules.clone(), user("alice")).await;
    grant(
        &server,
        "",
        "csr-bot",
        rules.clone(),
        json!({"kind": "ServiceAccount", "name": "bot", "namespace": "csr-users"}),
    )
    .await;
    grant(
        &server,
        "",
        "csr-ops",
        rules,
        json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"}),
    )
    .await;

    let impersonating: &[(&str, &str)] = &[
        ("impersonate-user", "carol"),
        ("impersonate-group", "ops"),
        ("impersonate-extra-scopes", "view"),
    ];
    /// (CSR name, bearer token, extra headers).
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let cases: [Case<'_>; 4] = [
        ("by-admin", server.token(), &[]),
        ("by-alice", ALICE, &[]),
        ("by-bot", &bot, &[]),
        ("by-carol", server.token(), impersonating),
    ];
    for (name, token, headers) in cases {
        let created = call(
            &server,
            Some(token),
            "POST",
            CSRS,
            headers,
            Some(forged_csr(name)),
        )
        .await;
        assert_eq!(created.code, 201, "{name}: {}", created.body);
        let me = whoami(&server, Some(token), headers).await;
        assert_eq!(me.code, 201, "{name}: {}", me.body);
        assert_eq!(
            requester(&created.body),
            me.body["status"]["userInfo"],
            "{name}: {}",
            created.body
        );
        // What was stored is what was answered.
        let stored = admin(&server, "GET", &format!("{CSRS}/{name}"), Value::Null).await;
        assert_eq!(requester(&stored), requester(&created.body), "{name}");
    }
    // The identities differ as their credentials say.
    let stored = |name: &'static str| {
        let server = &server;
        async move { admin(server, "GET", &format!("{CSRS}/{name}"), Value::Null).await }
    };
    assert_eq!(
        requester(&stored("by-admin").await),
        json!({"username": "admin", "groups": ["system:masters", "system:authenticated"]})
    );
    assert_eq!(
        requester(&stored("by-alice").await),
        json!({"username": "alice", "groups": ["system:authenticated", "devs"]})
    );
    let by_bot = stored("by-bot").await;
    assert_eq!(
        by_bot["spec"]["username"],
        "system:serviceaccount:csr-users:bot"
    );
    assert_eq!(by_bot["spec"]["uid"], sa["metadata"]["uid"]);
    assert_eq!(
        requester(&stored("by-carol").await),
        json!({"username": "carol", "groups": ["ops", "system:authenticated"],
               "extra": {"scopes": ["view"]}})
    );

    // Server-side apply that creates the object goes through the same strategy.
    let applied = call(
        &server,
        Some(ALICE),
        "PATCH",
        &format!("{CSRS}/applied?fieldManager=alice"),
        &[("content-type", "application/apply-patch+yaml")],
        Some(forged_csr("applied")),
    )
    .await;
    assert_eq!(applied.code, 201, "{}", applied.body);
    assert_eq!(
        requester(&applied.body),
        json!({"username": "alice", "groups": ["system:authenticated", "devs"]})
    );
}

/// `ApiServer::create_as_admin` takes a POST's create path in process: what it creates is served
/// like any object (with its field manager), a duplicate is kube's 409, an invalid object the
/// POST's 422, a ClusterRoleBinding to a missing role is allowed as for the admin over HTTP, and
/// a kind the server does not serve or a namespaced object without a namespace is named.
#[tokio::test]
async fn an_in_process_admin_create_takes_the_create_path_of_a_post() {
    let server = server().await;
    let admin = Some(server.token().to_owned());
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "robot", "namespace": "default",
                                 "labels": {"app.kubernetes.io/component": "robot"}}});
    server
        .create_as_admin(sa.clone(), "installer")
        .expect("the ServiceAccount is created");
    let got = call(
        &server,
        admin.as_deref(),
        "GET",
        "/api/v1/namespaces/default/serviceaccounts/robot",
        &[],
        None,
    )
    .await;
    assert_eq!(got.code, 200, "{}", got.body);
    assert_eq!(
        got.body["metadata"]["managedFields"][0]["manager"], "installer",
        "{}",
        got.body
    );
    assert!(got.body["metadata"]["uid"].is_string(), "{}", got.body);

    let again = server.create_as_admin(sa, "installer").unwrap_err();
    assert_eq!((again.code, again.reason.as_ref()), (409, "AlreadyExists"));

    let invalid = json!({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "Not_A_Name", "namespace": "default"}});
    let refused = server.create_as_admin(invalid, "installer").unwrap_err();
    assert_eq!(refused.code, 422, "{}", refused.message);
    assert!(
        refused.message.contains("Not_A_Name"),
        "{}",
        refused.message
    );

    let unknown = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                         "metadata": {"name": "w", "namespace": "default"}});
    let refused = server.create_as_admin(unknown, "installer").unwrap_err();
    assert_eq!(refused.code, 400);
    assert!(
        refused.message.contains("\"Widget\"") && refused.message.contains("example.com/v1"),
        "{}",
        refused.message
    );

    let no_namespace = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let refused = server
        .create_as_admin(no_namespace, "installer")
        .unwrap_err();
    assert_eq!(refused.code, 400);
    assert!(
        refused.message.contains("metadata.namespace"),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn the_request_log_names_who_each_request_was_made_as() {
    let s = server().await;
    let ns = "/api/v1/namespaces/default/configmaps";
    assert_eq!(call(&s, Some(ALICE), "GET", ns, &[], None).await.code, 403);
    let admin = s.token().to_owned();
    let as_robot = call(
        &s,
        Some(&admin),
        "GET",
        ns,
        &[("Impersonate-User", "robot")],
        None,
    )
    .await;
    assert_eq!(as_robot.code, 403, "{}", as_robot.body);
    assert_eq!(
        call(&s, Some("wrong"), "GET", ns, &[], None).await.code,
        401
    );
    assert_eq!(call(&s, Some(&admin), "GET", ns, &[], None).await.code, 200);
    let users: Vec<(String, u16)> = s
        .requests_settled()
        .await
        .into_iter()
        .filter(|r| r.path == ns)
        .map(|r| (r.user, r.code))
        .collect();
    assert_eq!(
        users,
        [
            ("alice".to_owned(), 403),
            ("robot".to_owned(), 403),
            (String::new(), 401),
            ("admin".to_owned(), 200)
        ],
        "the impersonated user, not the impersonator; nobody before authentication"
    );
}

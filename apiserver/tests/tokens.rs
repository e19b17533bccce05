//! TokenRequest (`serviceaccounts/token`) and TokenReview: signed tokens with audiences,
//! expiration and bound objects; reviews that check the signature, audiences and that the
//! ServiceAccount (and bound Pod) still exist with the same uid; the server's own token as admin.

mod common;

use common::send;
use k8s_openapi::api::authentication::v1::{
    TokenRequest, TokenRequestSpec, TokenReview, TokenReviewSpec,
};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

const SA: &str = "/api/v1/namespaces/default/serviceaccounts";
/// The API's audience, which a TokenRequest without audiences gets (`--api-audiences`).
const DEFAULT_API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
const REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

/// A server that checks every token against the store: these tests revoke tokens and look at
/// once (kube-apiserver's 10 s cache of successful reviews has a test of its own below).
async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .token_cache_ttl(std::time::Duration::ZERO)
        .start()
        .await
        .expect("start")
}

async fn request(s: &apiserver::ApiServer, sa: &str, spec: Value) -> common::Raw {
    send(
        s,
        "POST",
        &format!("{SA}/{sa}/token"),
        &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}),
    )
    .await
}

async fn review(s: &apiserver::ApiServer, token: &str, audiences: Value) -> Value {
    let r = send(
        s,
        "POST",
        REVIEWS,
        &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": token, "audiences": audiences}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    r.body["status"].clone()
}

#[tokio::test]
async fn token_requests_issue_tokens_that_review_as_the_service_account() {
    let s = server().await;
    assert_eq!(
        send(&s, "POST", SA, &json!({"metadata": {"name": "robot"}}))
            .await
            .code,
        201
    );
    let issued = request(&s, "robot", json!({})).await;
    assert_eq!(issued.code, 201, "{}", issued.body);
    assert_eq!(issued.body["kind"], "TokenRequest");
    assert_eq!(issued.body["spec"]["expirationSeconds"], 3600);
    assert_eq!(
        issued.body["spec"]["audiences"],
        json!(["https://kubernetes.default.svc.cluster.local"])
    );
    assert!(issued.body["status"]["expirationTimestamp"].is_string());
    let token = issued.body["status"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT");

    let st = review(&s, &token, json!([])).await;
    assert_eq!(st["authenticated"], true, "{st}");
    assert_eq!(
        st["user"]["username"],
        "system:serviceaccount:default:robot"
    );
    assert_eq!(
        st["user"]["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ])
    );
    assert_eq!(
        st["audiences"],
        json!(["https://kubernetes.default.svc.cluster.local"])
    );

    // Wrong audience: not authenticated.
    let st = review(&s, &token, json!(["vault"])).await;
    assert!(st.get("authenticated").is_none(), "{st}");
    assert!(
        st["error"].as_str().unwrap_or("").contains("audiences"),
        "{st}"
    );
    // A token for a custom audience.
    let vault = request(
        &s,
        "robot",
        json!({"audiences": ["vault"], "expirationSeconds": 600}),
    )
    .await;
    let vt = vault.body["status"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        review(&s, &vt, json!(["vault"])).await["authenticated"],
        true
    );
    // Tampered: refused.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(
        review(&s, &tampered, json!([]))
            .await
            .get("authenticated")
            .is_none()
    );

    // The ServiceAccount deleted, then recreated with a new uid: the old token is invalid.
    assert_eq!(
        send(&s, "DELETE", &format!("{SA}/robot"), &Value::Null)
            .await
            .code,
        200
    );
    let st = review(&s, &token, json!([])).await;
    assert!(st.get("authenticated").is_none(), "{st}");
    assert_eq!(
        send(&s, "POST", SA, &json!({"metadata": {"name": "robot"}}))
            .await
            .code,
        201
    );
    let st = review(&s, &token, json!([])).await;
    assert!(
        st["error"]
            .as_str()
            .unwrap_or("")
            .contains("does not match claim"),
        "{st}"
    );

    // The server's own bearer token is the admin.
    let st = review(&s, s.token(), json!([])).await;
    assert_eq!(st["authenticated"], true);
    assert_eq!(st["user"]["username"], "admin");
    assert_eq!(st["user"]["groups"][0], "system:masters");
}

#[tokio::test]
async fn a_successful_review_is_remembered_for_the_cache_ttl_per_token_and_audiences() {
    // An hour, so that no slowness of the machine can make the entries expire mid-test.
    let s = apiserver::ApiServer::builder()
        .token_cache_ttl(std::time::Duration::from_secs(3600))
        .start()
        .await
        .expect("start");
    for name in ["robot", "other"] {
        let sa = send(&s, "POST", SA, &json!({"metadata": {"name": name}})).await;
        assert_eq!(sa.code, 201, "{}", sa.body);
    }
    let token_of = |issued: common::Raw| {
        assert_eq!(issued.code, 201, "{}", issued.body);
        issued.body["status"]["token"]
            .as_str()
            .expect("token")
            .to_owned()
    };
    let token = token_of(request(&s, "robot", json!({})).await);
    let unused = token_of(request(&s, "other", json!({})).await);
    let st = review(&s, &token, json!([])).await;
    assert_eq!(st["authenticated"], true, "{st}");
    for name in ["robot", "other"] {
        let gone = send(&s, "DELETE", &format!("{SA}/{name}"), &Value::Null).await;
        assert_eq!(gone.code, 200, "{}", gone.body);
    }
    // As on kube-apiserver (tokencache, 10 s there): the remembered review still answers for
    // the deleted ServiceAccount's token.
    let st = review(&s, &token, json!([])).await;
    assert_eq!(st["authenticated"], true, "{st}");
    assert_eq!(
        st["user"]["username"], "system:serviceaccount:default:robot",
        "{st}"
    );
    // The same token for other audiences was never reviewed: checked now, against the store.
    let other = review(&s, &token, json!([DEFAULT_API_AUDIENCE, "vault"])).await;
    assert!(other.get("authenticated").is_none(), "{other}");
    assert!(
        other["error"]
            .as_str()
            .unwrap_or("")
            .contains("invalidated"),
        "{other}"
    );
    // Nor was this token, reviewed for the first time after the deletion.
    let st = review(&s, &unused, json!([])).await;
    assert!(st.get("authenticated").is_none(), "{st}");
}

#[tokio::test]
async fn token_request_errors_are_kubes() {
    let s = server().await;
    let missing = request(&s, "ghost", json!({})).await;
    assert_eq!(missing.code, 404);
    assert_eq!(
        missing.body["message"],
        "serviceaccounts \"ghost\" not found"
    );
    let short = request(&s, "default", json!({"expirationSeconds": 10})).await;
    assert_eq!(short.code, 422, "{}", short.body);
    assert_eq!(
        short.body["message"],
        "TokenRequest.authentication.k8s.io \"default\" is invalid: spec.expirationSeconds: Invalid value: 10: may not specify a duration less than 10 minutes"
    );
    let bad_kind = request(
        &s,
        "default",
        json!({"boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1", "name": "x"}}),
    )
    .await;
    assert_eq!(bad_kind.code, 400, "{}", bad_kind.body);
    let no_pod = request(
        &s,
        "default",
        json!({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "nope"}}),
    )
    .await;
    assert_eq!(no_pod.code, 404);
    // TokenReview is create-only.
    assert_eq!(send(&s, "GET", REVIEWS, &Value::Null).await.code, 405);
    let empty = send(&s, "POST", REVIEWS, &json!({"spec": {}})).await;
    assert_eq!(empty.code, 400);
    assert_eq!(
        empty.body["message"],
        "token is required for TokenReview in authentication"
    );
}

#[tokio::test]
async fn tokens_bound_to_a_pod_die_with_the_pod() {
    let s = server().await;
    let pod = send(
        &s,
        "POST",
        "/api/v1/namespaces/default/pods",
        &json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(pod.code, 201);
    let uid = pod.body["metadata"]["uid"].as_str().expect("uid");
    let issued = request(
        &s,
        "default",
        json!({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": uid}}),
    )
    .await;
    assert_eq!(issued.code, 201, "{}", issued.body);
    let token = issued.body["status"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let st = review(&s, &token, json!([])).await;
    assert_eq!(st["authenticated"], true, "{st}");
    assert_eq!(
        st["user"]["extra"]["authentication.kubernetes.io/pod-name"],
        json!(["p"])
    );
    let wrong_uid = request(
        &s,
        "default",
        json!({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "other"}}),
    )
    .await;
    assert_eq!(wrong_uid.code, 409, "{}", wrong_uid.body);
    assert_eq!(
        send(
            &s,
            "DELETE",
            "/api/v1/namespaces/default/pods/p",
            &Value::Null
        )
        .await
        .code,
        200
    );
    assert!(
        review(&s, &token, json!([]))
            .await
            .get("authenticated")
            .is_none()
    );
}

#[tokio::test]
async fn kube_rs_token_request_and_review() {
    let s = server().await;
    let client = s.client().expect("client");
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let req = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: Some(vec!["api".into()]),
            expiration_seconds: Some(1200),
            ..Default::default()
        }),
        ..Default::default()
    };
    let issued = sas
        .create_token_request("default", &PostParams::default(), &req)
        .await
        .expect("token request");
    let token = issued
        .status
        .and_then(|s| s.token)
        .expect("a token in the status");
    let reviews: Api<TokenReview> = Api::all(client);
    let review = TokenReview {
        spec: TokenReviewSpec {
            token,
            audiences: Some(vec!["api".into()]),
        },
        ..Default::default()
    };
    let answer = reviews
        .create(&PostParams::default(), &review)
        .await
        .expect("review");
    let status = answer.status.expect("status");
    assert_eq!(status.authenticated, Some(true));
    assert_eq!(
        status.user.and_then(|u| u.username).as_deref(),
        Some("system:serviceaccount:default:default")
    );
}

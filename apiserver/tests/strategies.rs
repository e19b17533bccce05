//! The registry strategies over HTTP: Service cluster IP and node port allocation (and its
//! errors, worded as kube-apiserver's) on single-stack IPv4, IPv6-only and dual-stack servers,
//! the IP family fields of each `ipFamilyPolicy`, the service range flags kube refuses, the
//! Service strategy's warnings, graceful deletion of scheduled Pods, generation rules of
//! built-in types, and DeleteOptions.gracePeriodSeconds.

mod common;

use common::send;
use serde_json::{Value, json};

const SERVICES: &str = "/api/v1/namespaces/default/services";
const PODS: &str = "/api/v1/namespaces/default/pods";

async fn server() -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start")
}

fn service(name: &str, spec: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": spec})
}

/// kube's `NewInternalError(err)`: 500, reason InternalError, the error as the one cause.
fn assert_internal(r: &common::Raw, why: &str) {
    assert_eq!(
        (r.code, &r.body),
        (
            500,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("Internal error occurred: {why}"), "reason": "InternalError",
                "details": {"causes": [{"message": why}]}, "code": 500})
        )
    );
}

#[tokio::test]
async fn cluster_ips_are_unique_taken_ones_refused_and_freed_on_delete() {
    let s = apiserver::ApiServer::builder()
        .service_cidr("10.0.0.0/29")
        .start()
        .await
        .expect("start");
    // The kubernetes Service holds the first address of the configured range.
    let k = send(&s, "GET", &format!("{SERVICES}/kubernetes"), &Value::Null).await;
    assert_eq!(k.body["spec"]["clusterIP"], "10.0.0.1", "{}", k.body);
    // /29: six usable addresses, one of them the kubernetes Service's.
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..5 {
        let r = send(
            &s,
            "POST",
            SERVICES,
            &service(&format!("s{i}"), json!({"ports": [{"port": 80}]})),
        )
        .await;
        assert_eq!(r.code, 201, "{}", r.body);
        let ip = r.body["spec"]["clusterIP"].as_str().unwrap().to_owned();
        assert!(seen.insert(ip.clone()), "{ip} handed out twice");
        assert_ne!(ip, "10.0.0.1");
    }
    // The range is full now: kube's Service storage answers 500 InternalError (alloc.go's
    // allocIPs wraps the allocator's ErrFull with NewInternalError), and stores nothing.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service("full", json!({"ports": [{"port": 80}]})),
    )
    .await;
    assert_internal(&r, "failed to allocate a serviceIP: range is full");
    let r = send(&s, "GET", &format!("{SERVICES}/full"), &Value::Null).await;
    assert_eq!(r.code, 404, "{}", r.body);
    // So is an update that needs a new address (ExternalName to ClusterIP), which changes nothing.
    let ext = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "ext",
            json!({"type": "ExternalName", "externalName": "example.com"}),
        ),
    )
    .await;
    assert_eq!(ext.code, 201, "{}", ext.body);
    let mut put = service("ext", json!({"type": "ClusterIP", "ports": [{"port": 80}]}));
    put["metadata"]["resourceVersion"] = ext.body["metadata"]["resourceVersion"].clone();
    let r = send(&s, "PUT", &format!("{SERVICES}/ext"), &put).await;
    assert_internal(&r, "failed to allocate a serviceIP: range is full");
    let r = send(&s, "GET", &format!("{SERVICES}/ext"), &Value::Null).await;
    assert_eq!(r.body["spec"]["type"], "ExternalName", "{}", r.body);
    // Asking for a taken address.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "dup",
            json!({"clusterIP": "10.0.0.1", "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Service \"dup\" is invalid: spec.clusterIPs: Invalid value: [\"10.0.0.1\"]: failed to allocate IP 10.0.0.1: provided IP is already allocated"
    );
    assert_eq!(r.body["details"]["causes"][0]["field"], "spec.clusterIPs");
    // An address outside the range: kube 1.37's ServiceCIDR allocator finds no range for it.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "far",
            json!({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Service \"far\" is invalid: spec.clusterIPs: Invalid value: [\"10.96.0.10\"]: failed to allocate IP 10.96.0.10: the provided network does not match the current range"
    );
    // Deleting a Service frees its address for a Service that asks for it.
    let owner = "s0";
    let got = send(&s, "GET", &format!("{SERVICES}/{owner}"), &Value::Null).await;
    let owner_ip = got.body["spec"]["clusterIP"].as_str().unwrap().to_owned();
    let r = send(&s, "DELETE", &format!("{SERVICES}/{owner}"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "again",
            json!({"clusterIP": owner_ip, "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["clusterIPs"], json!([owner_ip]));
    // Headless Services get no address.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "headless",
            json!({"clusterIP": "None", "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["clusterIPs"], json!(["None"]));
}

#[tokio::test]
async fn updates_keep_the_allocated_addresses() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service("np", json!({"type": "NodePort", "ports": [{"port": 80}]})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let ip = r.body["spec"]["clusterIP"].clone();
    let node_port = r.body["spec"]["ports"][0]["nodePort"].clone();
    // A PUT of the manifest without the addresses keeps them (kube's patchAllocatedValues).
    let mut put = service(
        "np",
        json!({"type": "NodePort", "ports": [{"port": 80}], "selector": {"a": "b"}}),
    );
    put["metadata"]["resourceVersion"] = r.body["metadata"]["resourceVersion"].clone();
    let r = send(&s, "PUT", &format!("{SERVICES}/np"), &put).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["clusterIP"], ip);
    assert_eq!(r.body["spec"]["ports"][0]["nodePort"], node_port);
    // Another Service cannot take that node port, nor one outside the range.
    let taken = service(
        "np2",
        json!({"type": "NodePort", "ports": [{"port": 81, "nodePort": node_port}]}),
    );
    let r = send(&s, "POST", SERVICES, &taken).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        format!(
            "Service \"np2\" is invalid: spec.ports[0].nodePort: Invalid value: {node_port}: provided port is already allocated"
        )
    );
    let outside = service(
        "np3",
        json!({"type": "NodePort", "ports": [{"port": 81, "nodePort": 80}]}),
    );
    let r = send(&s, "POST", SERVICES, &outside).await;
    assert_eq!(
        r.body["message"],
        "Service \"np3\" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
    );
    // Nothing of a refused create is held: the same request with a free port succeeds.
    let ok = service(
        "np3",
        json!({"type": "NodePort", "ports": [{"port": 81, "nodePort": 30999}]}),
    );
    let r = send(&s, "POST", SERVICES, &ok).await;
    assert_eq!(r.code, 201, "{}", r.body);
}

/// kube's `initNodePorts` and `allocHealthCheckNodePort`: a node port range with nothing left
/// is a 500 InternalError, as is any health check node port that cannot be had; a requested
/// node port that cannot be had is a 422 naming only the first such port (alloc.go returns
/// at the first error); freed ports can be taken again.
#[tokio::test]
async fn exhausted_node_port_ranges_and_health_check_ports_are_internal_errors() {
    let s = apiserver::ApiServer::builder()
        .node_port_range("30000-30001")
        .start()
        .await
        .expect("start");
    let both = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "both",
            json!({"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}),
        ),
    )
    .await;
    assert_eq!(both.code, 201, "{}", both.body);
    let mut ports: Vec<i64> = both.body["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|p| p["nodePort"].as_i64())
        .collect();
    ports.sort_unstable();
    assert_eq!(ports, [30000, 30001]);
    let one = service("one", json!({"type": "NodePort", "ports": [{"port": 80}]}));
    assert_internal(
        &send(&s, "POST", SERVICES, &one).await,
        "failed to allocate a nodePort: range is full",
    );
    // LoadBalancers without node ports still need a health check port with the Local policy.
    let lb = |name: &str, hc: Option<i64>| {
        let mut spec = json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false,
            "externalTrafficPolicy": "Local", "ports": [{"port": 80}]});
        if let Some(p) = hc {
            spec["healthCheckNodePort"] = p.into();
        }
        service(name, spec)
    };
    assert_internal(
        &send(&s, "POST", SERVICES, &lb("lb", None)).await,
        "failed to allocate a HealthCheck NodePort 0: range is full",
    );
    assert_internal(
        &send(&s, "POST", SERVICES, &lb("lb", Some(30000))).await,
        "failed to allocate requested HealthCheck NodePort 30000: provided port is already allocated",
    );
    assert_internal(
        &send(&s, "POST", SERVICES, &lb("lb", Some(40000))).await,
        "failed to allocate requested HealthCheck NodePort 40000: provided port is not in the valid range. The range of valid ports is 30000-30001",
    );
    // Two refused node ports: only the first is named.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "two",
            json!({"type": "NodePort", "ports": [{"name": "a", "port": 80, "nodePort": 30000},
                {"name": "b", "port": 81, "nodePort": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Service \"two\" is invalid: spec.ports[0].nodePort: Invalid value: 30000: provided port is already allocated"
    );
    assert_eq!(
        r.body["details"]["causes"].as_array().map(Vec::len),
        Some(1)
    );
    // Nothing refused holds a port; deleting `both` frees its two.
    let r = send(&s, "DELETE", &format!("{SERVICES}/both"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = send(&s, "POST", SERVICES, &one).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "POST", SERVICES, &lb("lb", None)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(r.body["spec"]["healthCheckNodePort"].is_i64(), "{}", r.body);
}

#[tokio::test]
async fn malformed_service_ranges_are_refused_at_start() {
    let Err(err) = apiserver::ApiServer::builder()
        .service_cidr("10.0.0.0")
        .start()
        .await
    else {
        panic!("a malformed range must be refused");
    };
    assert!(
        err.to_string()
            .contains("invalid service CIDR \"10.0.0.0\""),
        "{err}"
    );
    let Err(err) = apiserver::ApiServer::builder()
        .node_port_range("9-1")
        .start()
        .await
    else {
        panic!("a malformed range must be refused");
    };
    assert!(
        err.to_string().contains("invalid node port range \"9-1\""),
        "{err}"
    );
}

fn pod(name: &str, node: Option<&str>) -> Value {
    let mut p = json!({"metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "x:1"}]}});
    if let Some(n) = node {
        p["spec"]["nodeName"] = n.into();
    }
    p
}

#[tokio::test]
async fn scheduled_pods_are_deleted_gracefully() {
    let s = server().await;
    assert_eq!(
        send(&s, "POST", PODS, &pod("on-node", Some("n1")))
            .await
            .code,
        201
    );
    let r = send(&s, "DELETE", &format!("{PODS}/on-node"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body["metadata"]["deletionGracePeriodSeconds"], 30,
        "{}",
        r.body
    );
    assert!(r.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        r.body["metadata"]["generation"], 2,
        "deletion bumps the generation"
    );
    // No kubelet: it stays.
    let r = send(&s, "GET", &format!("{PODS}/on-node"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    // A longer period changes nothing; a shorter one moves the deadline.
    let r = send(
        &s,
        "DELETE",
        &format!("{PODS}/on-node?gracePeriodSeconds=60"),
        &Value::Null,
    )
    .await;
    assert_eq!(
        r.body["metadata"]["deletionGracePeriodSeconds"], 30,
        "{}",
        r.body
    );
    let r = send(
        &s,
        "DELETE",
        &format!("{PODS}/on-node"),
        &json!({"gracePeriodSeconds": 5}),
    )
    .await;
    assert_eq!(
        r.body["metadata"]["deletionGracePeriodSeconds"], 5,
        "{}",
        r.body
    );
    // gracePeriodSeconds=0 removes it.
    let r = send(
        &s,
        "DELETE",
        &format!("{PODS}/on-node?gracePeriodSeconds=0"),
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = send(&s, "GET", &format!("{PODS}/on-node"), &Value::Null).await;
    assert_eq!(r.code, 404, "{}", r.body);

    // An unscheduled pod goes at once.
    send(&s, "POST", PODS, &pod("pending", None)).await;
    send(&s, "DELETE", &format!("{PODS}/pending"), &Value::Null).await;
    assert_eq!(
        send(&s, "GET", &format!("{PODS}/pending"), &Value::Null)
            .await
            .code,
        404
    );

    // The pod's own terminationGracePeriodSeconds is the default; a body value of 0 deletes at once.
    let mut short = pod("short", Some("n1"));
    short["spec"]["terminationGracePeriodSeconds"] = 7.into();
    send(&s, "POST", PODS, &short).await;
    let r = send(&s, "DELETE", &format!("{PODS}/short"), &Value::Null).await;
    assert_eq!(
        r.body["metadata"]["deletionGracePeriodSeconds"], 7,
        "{}",
        r.body
    );
    send(&s, "POST", PODS, &pod("now", Some("n1"))).await;
    send(
        &s,
        "DELETE",
        &format!("{PODS}/now"),
        &json!({"gracePeriodSeconds": 0}),
    )
    .await;
    assert_eq!(
        send(&s, "GET", &format!("{PODS}/now"), &Value::Null)
            .await
            .code,
        404
    );

    // A malformed gracePeriodSeconds is a 400 naming it.
    send(&s, "POST", PODS, &pod("bad", Some("n1"))).await;
    let r = send(
        &s,
        "DELETE",
        &format!("{PODS}/bad?gracePeriodSeconds=soon"),
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("gracePeriodSeconds"),
        "{}",
        r.body
    );
    let r = send(
        &s,
        "DELETE",
        &format!("{PODS}/bad"),
        &json!({"gracePeriodSeconds": "5"}),
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
}

#[tokio::test]
async fn generation_is_kept_only_by_types_whose_strategy_keeps_it() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &json!({"metadata": {"name": "c", "generation": 5}, "data": {"a": "1"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(r.body["metadata"].get("generation").is_none(), "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/c",
        &json!({"data": {"a": "2"}}),
    )
    .await;
    assert!(r.body["metadata"].get("generation").is_none(), "{}", r.body);
    // A Pod's generation follows its spec, not its metadata.
    send(&s, "POST", PODS, &pod("g", None)).await;
    let r = send(
        &s,
        "PATCH",
        &format!("{PODS}/g"),
        &json!({"metadata": {"labels": {"a": "b"}}}),
    )
    .await;
    assert_eq!(r.body["metadata"]["generation"], 1, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{PODS}/g"),
        &json!({"spec": {"activeDeadlineSeconds": 30}}),
    )
    .await;
    assert_eq!(r.body["metadata"]["generation"], 2, "{}", r.body);
}

#[tokio::test]
async fn secrets_and_namespaces_keep_their_rules_in_their_strategies() {
    let s = server().await;
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/default/secrets",
        &json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}, "immutable": true}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["data"], json!({"k": "dg=="}));
    assert_eq!(r.body["type"], "Opaque");
    let r = send(
        &s,
        "PATCH",
        "/api/v1/namespaces/default/secrets/s",
        &json!({"stringData": {"k": "w"}}),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(r.body["details"]["causes"][0]["field"], "data");
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "team"}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.body["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team"
    );
    assert_eq!(r.body["spec"], json!({"finalizers": ["kubernetes"]}));
    assert_eq!(r.body["status"], json!({"phase": "Active"}));
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
}

/// The Service's IP family fields as a single-stack (IPv4) kube-apiserver sets and checks them.
#[tokio::test]
async fn a_single_stack_cluster_refuses_dual_stack_and_infers_families() {
    let s = server().await;
    let selector = json!({"app": "web"});
    let create = |name: &str, spec: Value| {
        let body = service(name, spec);
        let s = &s;
        async move { send(s, "POST", SERVICES, &body).await }
    };
    // PreferDualStack is kept and served with the one family there is.
    let r = create(
        "prefer",
        json!({"selector": selector, "ipFamilyPolicy": "PreferDualStack", "ports": [{"port": 80}]}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["ipFamilyPolicy"], "PreferDualStack");
    assert_eq!(r.body["spec"]["ipFamilies"], json!(["IPv4"]));
    assert_eq!(
        r.body["spec"]["clusterIPs"].as_array().map(Vec::len),
        Some(1)
    );

    for (name, spec, message) in [
        (
            "require",
            json!({"selector": selector, "ipFamilyPolicy": "RequireDualStack", "ports": [{"port": 80}]}),
            "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services",
        ),
        (
            "v6",
            json!({"selector": selector, "ipFamilies": ["IPv6"], "ports": [{"port": 80}]}),
            "spec.ipFamilies[0]: Invalid value: \"IPv6\": not configured on this cluster",
        ),
        (
            "two-families",
            json!({"selector": selector, "ipFamilies": ["IPv4", "IPv6"], "ports": [{"port": 80}]}),
            "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
        ),
        (
            "v6-address",
            json!({"selector": selector, "clusterIP": "fd00::10", "ports": [{"port": 80}]}),
            "spec.clusterIPs[0]: Invalid value: [\"fd00::10\"]: IPv6 is not configured on this cluster",
        ),
    ] {
        let r = create(name, spec).await;
        assert_eq!(r.code, 422, "{name}: {}", r.body);
        assert_eq!(
            r.body["message"],
            format!("Service \"{name}\" is invalid: {message}"),
            "{name}"
        );
        // Nothing was stored.
        let got = send(&s, "GET", &format!("{SERVICES}/{name}"), &Value::Null).await;
        assert_eq!(got.code, 404, "{name}: {}", got.body);
    }

    // A headless Service without selector defaults to RequireDualStack with both families,
    // even on a single-stack cluster (kube's special case).
    let r = create(
        "peers",
        json!({"clusterIP": "None", "ports": [{"port": 80}]}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["ipFamilyPolicy"], "RequireDualStack");
    assert_eq!(r.body["spec"]["ipFamilies"], json!(["IPv4", "IPv6"]));
    // With a selector it is single-stack.
    let r = create(
        "peers-selected",
        json!({"clusterIP": "None", "selector": selector, "ports": [{"port": 80}]}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["ipFamilyPolicy"], "SingleStack");
    assert_eq!(r.body["spec"]["ipFamilies"], json!(["IPv4"]));

    // An update without a policy keeps the stored one; one that asks for RequireDualStack is
    // refused.
    let mut prefer = send(&s, "GET", &format!("{SERVICES}/prefer"), &Value::Null)
        .await
        .body;
    prefer["spec"]
        .as_object_mut()
        .unwrap()
        .remove("ipFamilyPolicy");
    let r = send(&s, "PUT", &format!("{SERVICES}/prefer"), &prefer).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["ipFamilyPolicy"], "PreferDualStack");
    let mut require = r.body.clone();
    require["spec"]["ipFamilyPolicy"] = "RequireDualStack".into();
    let r = send(&s, "PUT", &format!("{SERVICES}/prefer"), &require).await;
    assert_eq!(r.code, 422, "{}", r.body);
}

#[tokio::test]
async fn service_writes_warn_as_kube_does() {
    let s = server().await;
    let header = |w: &str| format!("299 - {}", serde_json::to_string(w).unwrap());
    // A headless Service with what it ignores and a non-standard external IP.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "headless",
            json!({"clusterIP": "None", "ports": [{"port": 80}],
                "externalIPs": ["192.012.2.2"], "sessionAffinity": "ClientIP",
                "externalName": "example.com"}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        common::warnings(&r),
        [
            "spec.externalIPs is ignored for headless services",
            "spec.SessionAffinity is ignored for headless services",
            "spec.externalIPs[0]: non-standard IP address \"192.012.2.2\" will be considered invalid in a future Kubernetes release: use \"192.12.2.2\"",
            "spec.externalName is ignored when spec.type is not \"ExternalName\"",
        ]
        .map(header)
    );
    // A load balancer with a non-standard address and source range, and a deprecated
    // traffic distribution.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "lb",
            json!({"type": "LoadBalancer", "ports": [{"port": 80}],
                "loadBalancerIP": "2001:db8:0:0::7", "loadBalancerSourceRanges": ["10.0.0.8/8"],
                "trafficDistribution": "PreferClose"}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        common::warnings(&r),
        [
            "spec.loadBalancerIP: IPv6 address \"2001:db8:0:0::7\" should be in RFC 5952 canonical format (\"2001:db8::7\")",
            "spec.loadBalancerSourceRanges[0]: CIDR value \"10.0.0.8/8\" is ambiguous in this context (should be \"10.0.0.0/8\" or \"10.0.0.8/32\"?)",
            "spec.trafficDistribution: \"PreferClose\" is deprecated; use \"PreferSameZone\"",
        ]
        .map(header)
    );
    // An ordinary Service with external IPs: the deprecation, on create and on update.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "web",
            json!({"ports": [{"port": 80}], "externalIPs": ["192.12.2.2"]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let deprecated = [header(
        "spec.externalIPs is deprecated and may no longer be implemented in some clusters",
    )];
    assert_eq!(common::warnings(&r), deprecated);
    let r = common::replace(&s, &format!("{SERVICES}/web"), &r.body, r.body.clone()).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(common::warnings(&r), deprecated);
    // A plain Service: none.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service("plain", json!({"ports": [{"port": 80}]})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(common::warnings(&r), Vec::<String>::new());
}

/// A server whose `--service-cluster-ip-range` is `cidrs`.
async fn server_with_ranges(cidrs: &str) -> apiserver::ApiServer {
    apiserver::ApiServer::builder()
        .service_cidr(cidrs)
        .start()
        .await
        .expect("start")
}

/// The `kubernetes` ServiceCIDR kube's default ServiceCIDR controller keeps: the configured
/// ranges, primary first, and its Ready condition.
async fn assert_default_service_cidr(s: &apiserver::ApiServer, cidrs: &[&str]) {
    let r = send(
        s,
        "GET",
        "/apis/networking.k8s.io/v1/servicecidrs/kubernetes",
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["cidrs"], json!(cidrs), "{}", r.body);
    let ready = &r.body["status"]["conditions"][0];
    assert_eq!(
        (&ready["type"], &ready["status"], &ready["message"]),
        (
            &json!("Ready"),
            &json!("True"),
            &json!("Kubernetes default Service CIDR is ready")
        ),
        "{}",
        r.body
    );
}

fn family_of(ip: &Value) -> &'static str {
    if ip.as_str().unwrap_or_default().contains(':') {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// An IPv6-only cluster: the kubernetes Service, defaulted families, kube's 422s for what the
/// cluster lacks and for IPv6 addresses taken, outside the range or the range's network address.
#[tokio::test]
async fn an_ipv6_cluster_hands_out_ipv6_addresses() {
    let s = server_with_ranges("fd00:10:96::/112").await;
    let k = send(&s, "GET", &format!("{SERVICES}/kubernetes"), &Value::Null).await;
    assert_eq!(k.body["spec"]["clusterIPs"], json!(["fd00:10:96::1"]));
    assert_eq!(k.body["spec"]["ipFamilies"], json!(["IPv6"]));
    assert_default_service_cidr(&s, &["fd00:10:96::/112"]).await;
    let selector = json!({"app": "web"});
    for (name, policy) in [("single", None), ("prefer", Some("PreferDualStack"))] {
        let mut spec = json!({"selector": selector, "ports": [{"port": 80}]});
        if let Some(p) = policy {
            spec["ipFamilyPolicy"] = p.into();
        }
        let r = send(&s, "POST", SERVICES, &service(name, spec)).await;
        assert_eq!(r.code, 201, "{}", r.body);
        assert_eq!(
            r.body["spec"]["ipFamilyPolicy"],
            policy.unwrap_or("SingleStack")
        );
        assert_eq!(r.body["spec"]["ipFamilies"], json!(["IPv6"]));
        let ip = r.body["spec"]["clusterIP"].as_str().unwrap().to_owned();
        assert!(
            ip.starts_with("fd00:10:96::") && ip != "fd00:10:96::1",
            "{ip}"
        );
        assert_eq!(r.body["spec"]["clusterIPs"], json!([ip]));
    }
    for (name, spec, message) in [
        (
            "require",
            json!({"ipFamilyPolicy": "RequireDualStack"}),
            "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services",
        ),
        (
            "v4",
            json!({"ipFamilies": ["IPv4"]}),
            "spec.ipFamilies[0]: Invalid value: \"IPv4\": not configured on this cluster",
        ),
        (
            "v4-address",
            json!({"clusterIP": "10.96.0.10"}),
            "spec.clusterIPs[0]: Invalid value: [\"10.96.0.10\"]: IPv4 is not configured on this cluster",
        ),
        (
            "taken",
            json!({"clusterIP": "fd00:10:96::1"}),
            "spec.clusterIPs: Invalid value: [\"fd00:10:96::1\"]: failed to allocate IP fd00:10:96::1: provided IP is already allocated",
        ),
        (
            "far",
            json!({"clusterIP": "fd00:99::1"}),
            "spec.clusterIPs: Invalid value: [\"fd00:99::1\"]: failed to allocate IP fd00:99::1: the provided network does not match the current range",
        ),
        (
            "network",
            json!({"clusterIP": "fd00:10:96::"}),
            "spec.clusterIPs: Invalid value: [\"fd00:10:96::\"]: failed to allocate IP fd00:10:96::: the provided IP (fd00:10:96::) is not in the valid range. The range of valid IPs is fd00:10:96::/112",
        ),
        (
            "mismatch",
            json!({"clusterIP": "fd00:10:96::20", "ipFamilies": ["IPv4"]}),
            "spec.clusterIPs[0]: Invalid value: \"fd00:10:96::20\": expected an IPv4 value as indicated by `ipFamilies[0]`",
        ),
    ] {
        let mut spec = spec;
        spec["selector"] = selector.clone();
        spec["ports"] = json!([{"port": 80}]);
        let r = send(&s, "POST", SERVICES, &service(name, spec)).await;
        assert_eq!(r.code, 422, "{name}: {}", r.body);
        assert_eq!(
            r.body["message"],
            format!("Service \"{name}\" is invalid: {message}"),
            "{name}"
        );
    }
    // The range's last address is usable: IPv6 has no broadcast address.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "last",
            json!({"clusterIP": "fd00:10:96::ffff", "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // A headless Service without selector asks for both families, the cluster's first.
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "peers",
            json!({"clusterIP": "None", "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["ipFamilyPolicy"], "RequireDualStack");
    assert_eq!(r.body["spec"]["ipFamilies"], json!(["IPv6", "IPv4"]));
    assert_eq!(r.body["spec"]["clusterIPs"], json!(["None"]));
}

/// A dual-stack cluster in both orders: each policy's families and addresses, explicit
/// addresses of both families, kube's 422s, upgrades that add a secondary address and
/// downgrades that release it.
#[tokio::test]
async fn a_dual_stack_cluster_serves_each_policy() {
    for (cidrs, primary, secondary) in [
        ("10.0.0.0/24,fd00::/120", "IPv4", "IPv6"),
        ("fd00::/120,10.0.0.0/24", "IPv6", "IPv4"),
    ] {
        let s = server_with_ranges(cidrs).await;
        let ranges: Vec<&str> = cidrs.split(',').collect();
        assert_default_service_cidr(&s, &ranges).await;
        let k = send(&s, "GET", &format!("{SERVICES}/kubernetes"), &Value::Null).await;
        let first = if primary == "IPv4" {
            "10.0.0.1"
        } else {
            "fd00::1"
        };
        assert_eq!(k.body["spec"]["clusterIPs"], json!([first]), "{cidrs}");
        assert_eq!(k.body["spec"]["ipFamilies"], json!([primary]), "{cidrs}");
        assert_eq!(k.body["spec"]["ipFamilyPolicy"], "SingleStack");

        // Fixed addresses come from the bottom 16 of each /24 and /120, the band kube's
        // allocator (and this one) leaves to Services that ask for an address: the random picks
        // of the Services without one cannot take them, so the test cannot collide with itself.
        let selector = json!({"app": "web"});
        let create = |name: &str, mut spec: Value| {
            spec["selector"] = selector.clone();
            spec["ports"] = json!([{"port": 80}]);
            let body = service(name, spec);
            let s = &s;
            async move { send(s, "POST", SERVICES, &body).await }
        };
        for (name, spec, policy, families) in [
            ("single", json!({}), "SingleStack", vec![primary]),
            (
                "single-secondary",
                json!({"ipFamilies": [secondary]}),
                "SingleStack",
                vec![secondary],
            ),
            (
                "prefer",
                json!({"ipFamilyPolicy": "PreferDualStack"}),
                "PreferDualStack",
                vec![primary, secondary],
            ),
            (
                "require",
                json!({"ipFamilyPolicy": "RequireDualStack"}),
                "RequireDualStack",
                vec![primary, secondary],
            ),
            (
                "require-secondary-first",
                json!({"ipFamilyPolicy": "RequireDualStack", "ipFamilies": [secondary]}),
                "RequireDualStack",
                vec![secondary, primary],
            ),
            (
                "explicit",
                json!({"ipFamilyPolicy": "RequireDualStack", "clusterIPs": ["fd00::3", "10.0.0.3"], "clusterIP": "fd00::3"}),
                "RequireDualStack",
                vec!["IPv6", "IPv4"],
            ),
        ] {
            let r = create(name, spec).await;
            assert_eq!(r.code, 201, "{cidrs} {name}: {}", r.body);
            let got = &r.body["spec"];
            assert_eq!(got["ipFamilyPolicy"], policy, "{cidrs} {name}");
            assert_eq!(got["ipFamilies"], json!(families), "{cidrs} {name}");
            let ips = got["clusterIPs"].as_array().unwrap();
            let ip_families: Vec<&str> = ips.iter().map(family_of).collect();
            assert_eq!(ip_families, families, "{cidrs} {name}: {got}");
            assert_eq!(got["clusterIP"], ips[0], "{cidrs} {name}");
        }
        let explicit = send(&s, "GET", &format!("{SERVICES}/explicit"), &Value::Null).await;
        assert_eq!(
            explicit.body["spec"]["clusterIPs"],
            json!(["fd00::3", "10.0.0.3"])
        );

        // A taken secondary address refuses the whole write, naming the list as it stood.
        let r = create(
            "taken",
            json!({"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"],
                   "clusterIP": "10.0.0.4", "clusterIPs": ["10.0.0.4", "fd00::3"]}),
        )
        .await;
        assert_eq!(r.code, 422, "{}", r.body);
        assert_eq!(
            r.body["message"],
            "Service \"taken\" is invalid: spec.clusterIPs: Invalid value: [\"10.0.0.4\",\"fd00::3\"]: failed to allocate IP fd00::3: provided IP is already allocated"
        );
        // ...and holds nothing: the primary it asked for is still free.
        let r = create("free", json!({"clusterIP": "10.0.0.4"})).await;
        assert_eq!(r.code, 201, "{}", r.body);
        let r = create(
            "same-family",
            json!({"ipFamilyPolicy": "RequireDualStack", "clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5", "10.0.0.6"]}),
        )
        .await;
        assert_eq!(r.code, 422, "{}", r.body);
        assert_eq!(
            r.body["message"],
            "Service \"same-family\" is invalid: spec.clusterIPs: Invalid value: [\"10.0.0.5\",\"10.0.0.6\"]: may specify no more than one IP for each IP family"
        );
        let r = create(
            "far",
            json!({"ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv6"], "clusterIP": "fd01::1"}),
        )
        .await;
        assert_eq!(r.code, 422, "{}", r.body);
        assert_eq!(
            r.body["message"],
            "Service \"far\" is invalid: spec.clusterIPs: Invalid value: [\"fd01::1\",\"\"]: failed to allocate IP fd01::1: the provided network does not match the current range"
        );

        // A headless Service without selector: both families, the primary first.
        let r = send(
            &s,
            "POST",
            SERVICES,
            &service(
                "peers",
                json!({"clusterIP": "None", "ports": [{"port": 80}]}),
            ),
        )
        .await;
        assert_eq!(r.code, 201, "{}", r.body);
        assert_eq!(r.body["spec"]["ipFamilies"], json!([primary, secondary]));

        // Upgrade: SingleStack to PreferDualStack adds a secondary address of the other family.
        let single = send(&s, "GET", &format!("{SERVICES}/single"), &Value::Null)
            .await
            .body;
        let mut up = single.clone();
        up["spec"]["ipFamilyPolicy"] = "PreferDualStack".into();
        let r = send(&s, "PUT", &format!("{SERVICES}/single"), &up).await;
        assert_eq!(r.code, 200, "{}", r.body);
        assert_eq!(r.body["spec"]["ipFamilies"], json!([primary, secondary]));
        let ips = r.body["spec"]["clusterIPs"].as_array().unwrap().clone();
        assert_eq!(ips.len(), 2, "{}", r.body);
        assert_eq!(ips[0], single["spec"]["clusterIP"]);
        assert_eq!(family_of(&ips[1]), secondary);
        // A PreferDualStack update that changes nothing keeps both.
        let r2 = send(&s, "PUT", &format!("{SERVICES}/single"), &r.body).await;
        assert_eq!(r2.code, 200, "{}", r2.body);
        assert_eq!(r2.body["spec"]["clusterIPs"], json!(ips));
        // Dropping the secondary address needs SingleStack.
        let mut bad = r2.body.clone();
        bad["spec"]["clusterIPs"] = json!([ips[0]]);
        bad["spec"]["ipFamilies"] = json!([primary]);
        let r = send(&s, "PUT", &format!("{SERVICES}/single"), &bad).await;
        assert_eq!(r.code, 422, "{}", r.body);
        assert_eq!(
            r.body["message"],
            "Service \"single\" is invalid: [spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be 'SingleStack' to release the secondary cluster IP, spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be 'SingleStack' to release the secondary IP family]"
        );
        // Downgrade: SingleStack with the same lists keeps the primary and releases the other.
        let mut down = r2.body.clone();
        down["spec"]["ipFamilyPolicy"] = "SingleStack".into();
        let r = send(&s, "PUT", &format!("{SERVICES}/single"), &down).await;
        assert_eq!(r.code, 200, "{}", r.body);
        assert_eq!(r.body["spec"]["clusterIPs"], json!([ips[0]]));
        assert_eq!(r.body["spec"]["ipFamilies"], json!([primary]));
        let mut again = json!({"ipFamilies": [secondary], "clusterIP": ips[1]});
        again["selector"] = selector.clone();
        again["ports"] = json!([{"port": 80}]);
        let r = send(&s, "POST", SERVICES, &service("reuse", again)).await;
        assert_eq!(
            r.code, 201,
            "the released secondary is free again: {}",
            r.body
        );

        // Deleting a dual-stack Service releases both of its addresses.
        let r = send(&s, "DELETE", &format!("{SERVICES}/explicit"), &Value::Null).await;
        assert_eq!(r.code, 200, "{}", r.body);
        let r = create(
            "explicit-again",
            json!({"ipFamilyPolicy": "RequireDualStack", "clusterIP": "10.0.0.3", "clusterIPs": ["10.0.0.3", "fd00::3"]}),
        )
        .await;
        assert_eq!(r.code, 201, "{}", r.body);
    }
}

/// PreferDualStack stays single-stack on a single-stack cluster and keeps its one address when
/// updated.
#[tokio::test]
async fn prefer_dual_stack_stays_single_on_a_single_stack_cluster() {
    let s = server_with_ranges("10.0.0.0/24").await;
    assert_default_service_cidr(&s, &["10.0.0.0/24"]).await;
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "p",
            json!({"ipFamilyPolicy": "PreferDualStack", "selector": {"a": "b"}, "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.body["spec"]["ipFamilies"], json!(["IPv4"]));
    let r2 = send(&s, "PUT", &format!("{SERVICES}/p"), &r.body).await;
    assert_eq!(r2.code, 200, "{}", r2.body);
    assert_eq!(r2.body["spec"]["clusterIPs"], r.body["spec"]["clusterIPs"]);
}

/// `--service-cluster-ip-range` values kube-apiserver refuses fail `start`, naming the value,
/// kube's reason and the fix.
#[tokio::test]
async fn bad_service_cluster_ip_ranges_fail_start() {
    for (cidrs, reason) in [
        (
            "10.0.0.0/24,fd00::/120,10.1.0.0/24",
            "--service-cluster-ip-range must not contain more than two entries",
        ),
        (
            "10.0.0.0/24,10.1.0.0/24",
            "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family",
        ),
        (
            "fd00::/120,fd01::/120",
            "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family",
        ),
        (
            "fd00::/48",
            "fd00::/48: shortest allowed prefix length for service CIDR is 64, got 48",
        ),
        (
            "10.0.0.0/24,fd00::/63",
            "fd00::/63: shortest allowed prefix length for service CIDR is 64, got 63",
        ),
        ("garbage", "service-cluster-ip-range[0] is not a valid cidr"),
        (
            "10.0.0.0/24,garbage",
            "service-cluster-ip-range[1] is not an ip net",
        ),
        (
            "10.0.0.0/30",
            "error determining service IP ranges for primary service cidr: the service cluster IP range must be at least 8 IP addresses",
        ),
    ] {
        let Err(err) = apiserver::ApiServer::builder()
            .service_cidr(cidrs)
            .start()
            .await
        else {
            panic!("{cidrs} must be refused");
        };
        assert!(
            matches!(err, apiserver::Error::ServiceRanges(_)),
            "{cidrs}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "invalid service CIDR {cidrs:?} (--service-cluster-ip-range): {reason}; give one CIDR"
            )),
            "{cidrs}: {text}"
        );
    }
}

#[tokio::test]
async fn every_cluster_ip_has_an_ip_address_object_and_a_clients_one_holds_its_address() {
    const ADDRESSES: &str = "/apis/networking.k8s.io/v1/ipaddresses";
    let s = server().await;
    // The `kubernetes` Service's address, from the start.
    let r = send(&s, "GET", &format!("{ADDRESSES}/10.96.0.1"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body["spec"],
        json!({"parentRef": {"resource": "services", "namespace": "default", "name": "kubernetes"}})
    );
    assert_eq!(
        r.body["metadata"]["labels"],
        json!({"ipaddress.kubernetes.io/ip-family": "IPv4",
               "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"})
    );

    let r = send(
        &s,
        "POST",
        SERVICES,
        &service("web", json!({"ports": [{"port": 80}]})),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let ip = r.body["spec"]["clusterIP"]
        .as_str()
        .expect("clusterIP")
        .to_owned();
    let r = send(&s, "GET", &format!("{ADDRESSES}/{ip}"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body["spec"]["parentRef"]["name"], "web");
    // A dry run allocates nothing.
    let r = send(
        &s,
        "POST",
        &format!("{SERVICES}?dryRun=All"),
        &service(
            "dry",
            json!({"clusterIP": "10.96.0.50", "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(&s, "GET", &format!("{ADDRESSES}/10.96.0.50"), &Value::Null).await;
    assert_eq!(r.code, 404, "{}", r.body);

    // An address a client reserved with an IPAddress of its own is taken.
    let r = send(
        &s,
        "POST",
        ADDRESSES,
        &json!({"metadata": {"name": "10.96.0.60"}, "spec": {"parentRef": {
            "group": "example.com", "resource": "gateways", "namespace": "default", "name": "gw"}}}),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "fixed",
            json!({"clusterIP": "10.96.0.60", "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Service \"fixed\" is invalid: spec.clusterIPs: Invalid value: [\"10.96.0.60\"]: failed to allocate IP 10.96.0.60: provided IP is already allocated"
    );
    // Once it is deleted, the address is free.
    let r = send(
        &s,
        "DELETE",
        &format!("{ADDRESSES}/10.96.0.60"),
        &Value::Null,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = send(
        &s,
        "POST",
        SERVICES,
        &service(
            "fixed",
            json!({"clusterIP": "10.96.0.60", "ports": [{"port": 80}]}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);

    // The Service's deletion, or its change to an ExternalName, lets its address go.
    let r = send(&s, "DELETE", &format!("{SERVICES}/web"), &Value::Null).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = send(&s, "GET", &format!("{ADDRESSES}/{ip}"), &Value::Null).await;
    assert_eq!(r.code, 404, "{}", r.body);
    let r = send(
        &s,
        "PATCH",
        &format!("{SERVICES}/fixed"),
        &json!({"spec": {"type": "ExternalName", "externalName": "example.com",
                         "clusterIP": null, "clusterIPs": null, "ports": null}}),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = send(&s, "GET", &format!("{ADDRESSES}/10.96.0.60"), &Value::Null).await;
    assert_eq!(r.code, 404, "{}", r.body);
    let list = send(&s, "GET", ADDRESSES, &Value::Null).await;
    let names: Vec<&Value> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["metadata"]["name"])
        .collect();
    assert_eq!(
        names,
        [&json!("10.96.0.1")],
        "only the kubernetes Service's is left"
    );
}

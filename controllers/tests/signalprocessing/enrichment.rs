//! Enrichment from the API server: namespace labels, the target and its owner chain, and the
//! degraded context recorded when something is missing.

use controllers::api::SignalProcessingPhase::Completed;
use controllers::api::{Environment, OwnerChainEntry, TargetResource, TargetType};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::{Api, PostParams};
use serde_json::json;

use fixtures::builtin::{deployment, pod, replicaset};
use fixtures::controller_ref;

use crate::env::T;

fn entry(kind: &str, name: &str, ns: Option<&str>) -> OwnerChainEntry {
    OwnerChainEntry {
        kind: kind.to_owned(),
        name: name.to_owned(),
        namespace: ns.map(str::to_owned),
    }
}

#[tokio::test]
async fn a_pod_target_is_followed_through_its_replicaset_to_its_deployment() {
    let Some(t) = T::new("chain").await else {
        return;
    };
    let web = t.create(&deployment("web", &[])).await;
    let rs = t.create(&replicaset("web-5d9f", &web)).await;
    t.create(&pod(
        "web-5d9f-x7k2",
        &[("app", "web"), ("tier", "frontend")],
        Some(controller_ref(&rs)),
    ))
    .await;
    let sp = t
        .sp("chain")
        .with_target(TargetResource::new("Pod", "web-5d9f-x7k2", &t.ns));
    let status = t.process(&sp).await.status.unwrap();
    let context = status.kubernetes_context.unwrap();
    let workload = context.workload.unwrap();
    assert_eq!(
        (workload.kind.as_str(), workload.name.as_str()),
        ("Pod", "web-5d9f-x7k2")
    );
    assert_eq!(
        workload.labels.get("tier").map(String::as_str),
        Some("frontend")
    );
    assert_eq!(
        context.owner_chain,
        vec![
            entry("ReplicaSet", "web-5d9f", Some(&t.ns)),
            entry("Deployment", "web", Some(&t.ns)),
        ]
    );
    let enrichment = status.enrichment.unwrap();
    assert!(
        enrichment.target_found && !enrichment.degraded,
        "{enrichment:?}"
    );
}

#[tokio::test]
async fn a_deployment_target_has_its_labels_and_no_owners() {
    let Some(t) = T::new("deploy").await else {
        return;
    };
    t.create(&deployment("api", &[("team", "core")])).await;
    let status = t.process(&t.sp("api")).await.status.unwrap();
    let context = status.kubernetes_context.unwrap();
    let workload = context.workload.unwrap();
    assert_eq!(workload.kind, "Deployment");
    assert_eq!(
        workload.labels.get("team").map(String::as_str),
        Some("core")
    );
    assert!(context.owner_chain.is_empty());
}

#[tokio::test]
async fn a_missing_target_is_recorded_as_degraded_and_processing_completes() {
    let Some(t) = T::new("missing").await else {
        return;
    };
    t.label_namespace(&t.ns, &[("kubernaut.ai/environment", "staging")])
        .await;
    let done = t.process(&t.sp("ghost")).await;
    let status = done.status.unwrap();
    let enrichment = status.enrichment.unwrap();
    assert!(enrichment.namespace_found);
    assert!(!enrichment.target_found && enrichment.degraded);
    let detail = enrichment.detail.unwrap();
    assert!(
        detail.contains("Deployment") && detail.contains("ghost") && detail.contains("not found"),
        "{detail}"
    );
    let context = status.kubernetes_context.unwrap();
    assert_eq!(context.workload, None);
    // The namespace was still read, and classification used it.
    assert_eq!(
        status.environment_classification.unwrap().environment,
        Environment::Staging
    );
    assert!(status.message.unwrap().contains("priority"));
}

#[tokio::test]
async fn a_missing_namespace_is_recorded_and_its_name_still_classifies() {
    let Some(t) = T::new("nons").await else {
        return;
    };
    // Unique per test and process, and never created; its name says "dev".
    let gone = format!("{}-dev-gone", t.ns);
    let sp = t
        .sp("nons")
        .with_target(TargetResource::new("Deployment", "api", &gone));
    let status = t.process(&sp).await.status.unwrap();
    let enrichment = status.enrichment.unwrap();
    assert!(!enrichment.namespace_found && !enrichment.target_found && enrichment.degraded);
    assert!(
        enrichment
            .detail
            .unwrap()
            .contains(&format!("namespace {gone} not found"))
    );
    let context = status.kubernetes_context.unwrap();
    assert_eq!(context.namespace.as_deref(), Some(gone.as_str()));
    assert!(context.namespace_labels.is_empty());
    let env = status.environment_classification.unwrap();
    assert_eq!(
        (env.environment, env.source.as_str()),
        (Environment::Development, "namespace-name")
    );
}

#[tokio::test]
async fn a_cluster_scoped_node_target_is_found_without_a_namespace() {
    let Some(t) = T::new("node").await else {
        return;
    };
    // Nodes are cluster-scoped: the name carries the test's namespace to stay unique.
    let name = format!("{}-node", t.ns);
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}},
    }))
    .unwrap();
    Api::<Node>::all(t.env.client())
        .create(&PostParams::default(), &node)
        .await
        .expect("create Node");
    let mut sp = t.sp("node");
    sp.spec.signal.target_resource.kind = "Node".into();
    sp.spec.signal.target_resource.name = name.clone();
    sp.spec.signal.target_resource.namespace = None;
    let status = t.process(&sp).await.status.unwrap();
    let context = status.kubernetes_context.unwrap();
    assert_eq!(context.namespace, None);
    let workload = context.workload.unwrap();
    assert_eq!(
        (workload.kind.as_str(), workload.name.as_str()),
        ("Node", name.as_str())
    );
    let enrichment = status.enrichment.unwrap();
    assert!(
        enrichment.target_found && !enrichment.degraded,
        "{enrichment:?}"
    );
    // No namespace to read: the environment falls to the default.
    assert_eq!(
        status.environment_classification.unwrap().environment,
        Environment::Unknown
    );
}

#[tokio::test]
async fn a_statefulset_pod_chain_and_an_owner_of_unknown_kind() {
    let Some(t) = T::new("sts").await else {
        return;
    };
    let sts: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "db", "labels": {"app": "db"}},
        "spec": {
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "db", "image": "registry.example/db:1"}]}},
        },
    }))
    .unwrap();
    let sts = Api::<StatefulSet>::namespaced(t.env.client(), &t.ns)
        .create(&PostParams::default(), &sts)
        .await
        .expect("create StatefulSet");
    t.create(&pod("db-0", &[("app", "db")], Some(controller_ref(&sts))))
        .await;
    let sp = t
        .sp("sts")
        .with_target(TargetResource::new("Pod", "db-0", &t.ns));
    let status = t.process(&sp).await.status.unwrap();
    assert_eq!(
        status.kubernetes_context.unwrap().owner_chain,
        vec![entry("StatefulSet", "db", Some(&t.ns))]
    );

    // A Pod controlled by a kind this controller does not read (a ConfigMap stands in for a
    // custom resource; it must exist, or the garbage collector removes the Pod): the chain
    // names the owner and ends there, without degrading the context.
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "canary"}})).unwrap();
    let cm = Api::<ConfigMap>::namespaced(t.env.client(), &t.ns)
        .create(&PostParams::default(), &cm)
        .await
        .expect("create ConfigMap");
    t.create(&pod("canary-1", &[], Some(controller_ref(&cm))))
        .await;
    let sp = t
        .sp("owned-by-other")
        .with_target(TargetResource::new("Pod", "canary-1", &t.ns));
    let status = t.process(&sp).await.status.unwrap();
    assert_eq!(
        status.kubernetes_context.unwrap().owner_chain,
        vec![entry("ConfigMap", "canary", Some(&t.ns))]
    );
    assert!(!status.enrichment.unwrap().degraded);
}

#[tokio::test]
async fn targets_outside_kubernetes_and_unknown_kinds_are_not_looked_up() {
    let Some(t) = T::new("elsewhere").await else {
        return;
    };
    let mut aws = t.sp("aws");
    aws.spec.signal.target_type = TargetType::Aws;
    let mut custom = t
        .sp("custom")
        .with_target(TargetResource::new("Rollout", "canary", &t.ns));
    custom
        .spec
        .signal
        .labels
        .insert("environment".into(), "qa".into());
    t.create(&aws).await;
    t.create(&custom).await;
    let aws = t.wait_phase("aws", Completed).await.status.unwrap();
    let enrichment = aws.enrichment.unwrap();
    assert!(enrichment.namespace_found && !enrichment.target_found && enrichment.degraded);
    assert!(enrichment.detail.unwrap().contains("targetType aws"));
    let custom = t.wait_phase("custom", Completed).await.status.unwrap();
    let detail = custom.enrichment.unwrap().detail.unwrap();
    assert!(detail.contains("kind Rollout is not looked up"), "{detail}");
    // The signal's own environment label classifies it.
    let env = custom.environment_classification.unwrap();
    assert_eq!(
        (env.environment, env.source.as_str()),
        (Environment::Test, "signal-label")
    );
}

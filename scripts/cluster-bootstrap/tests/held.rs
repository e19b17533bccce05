//! The test process that `kill_nextest.rs` runs inside a real `cargo nextest run --profile
//! integration-cluster` and then kills: it leaves on the cluster what a controller suite's test
//! leaves there mid-run — a namespace of its own (labelled with the run and the process) holding
//! a custom resource with the project's finalizer — and, with `FIXTURES_HOLD=all`, keeps its
//! environment up after its body until it is killed.
//!
//! It lives here rather than in a controller suite so that the inner run builds nothing the
//! outer build of this package has not built already (the reason the kill test never passed:
//! its inner run compiled the whole workspace until nextest's time limit killed it), and so that
//! it does not depend on a controller suite's test names.

use std::sync::LazyLock;

use fixtures::Suite;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};

/// The finalizer the project's controllers put on their custom resources
/// (`controllers::api::FINALIZER`): nothing but a controller of this run would ever remove it.
const PROJECT_FINALIZER: &str = "kubernaut.ai/finalizer";
/// The namespace prefix of the held test (`kill_nextest.rs` looks for it).
const HELD_PREFIX: &str = "held";
/// The custom resource the held test creates.
const HELD_OBJECT: &str = "held";

static SUITE: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("held")
        // The per-process mode's own server needs the CRD; in the cluster mode the setup script
        // has installed crds/ already.
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds"))
        .without_datastorage()
        .build()
});

/// The simplest of the project's kinds to create by hand (four required string fields).
fn notification_kind() -> ApiResource {
    ApiResource {
        group: "kubernaut.ai".into(),
        version: "v1alpha1".into(),
        api_version: "kubernaut.ai/v1alpha1".into(),
        kind: "NotificationRequest".into(),
        plural: "notificationrequests".into(),
    }
}

#[tokio::test]
#[ignore = "a helper of kill_nextest.rs, which runs it with FIXTURES_HOLD=all inside a nextest run of the integration-cluster profile and kills it: alone it only creates a namespace holding a finalized NotificationRequest"]
async fn holds_a_namespace_with_a_finalized_custom_resource() {
    let env = SUITE.env().await;
    let ns = env.namespace(HELD_PREFIX).await.unwrap();
    let kind = notification_kind();
    let object: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {"name": HELD_OBJECT, "finalizers": [PROJECT_FINALIZER]},
        "spec": {"type": "Simple", "priority": "Low", "subject": "held", "body": "held until killed"},
    }))
    .unwrap();
    let created = Api::<DynamicObject>::namespaced_with(env.client(), &ns, &kind)
        .create(&PostParams::default(), &object)
        .await
        .unwrap();
    assert_eq!(
        created.metadata.finalizers.as_deref(),
        Some(&[PROJECT_FINALIZER.to_owned()][..])
    );
}

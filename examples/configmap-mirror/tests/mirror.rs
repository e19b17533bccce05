//! The ConfigMapMirror controller on the embedded API server: one API server and one manager per
//! test process (per test under nextest), no other infrastructure.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use example_configmap_mirror::api::phase;
use example_configmap_mirror::controller::MIRROR_LABEL;
use example_configmap_mirror::{ConfigMapMirror, ConfigMapMirrorSpec, Metrics, register};
use fixtures::{Env, Suite, eventually};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::CustomResourceExt as _;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};

static SUITE: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("configmap-mirror")
        .crd(ConfigMapMirror::crd())
        .without_datastorage()
        .controllers(|setup| {
            register(setup.manager, Metrics::register(setup.registry));
            Ok(())
        })
        .build()
});

fn configmap(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

fn mirror(name: &str, source: &str, targets: &[&str]) -> ConfigMapMirror {
    ConfigMapMirror::new(
        name,
        ConfigMapMirrorSpec {
            source: source.into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        },
    )
}

/// Waits until the ConfigMap `name` holds `data` (`None`: until it is gone).
async fn wait_for_copy(env: &Env, ns: &str, name: &str, data: Option<&[(&str, &str)]>) {
    let api: Api<ConfigMap> = Api::namespaced(env.client(), ns);
    let want: Option<BTreeMap<String, String>> = data.map(|d| {
        d.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    });
    eventually(&format!("ConfigMap {name} = {want:?}"), || async {
        let got = api
            .get_opt(name)
            .await
            .map_err(|e| e.to_string())?
            .map(|cm| cm.data.unwrap_or_default());
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
}

async fn wait_for_phase(env: &Env, ns: &str, name: &str, want: &str) -> ConfigMapMirror {
    let api: Api<ConfigMapMirror> = Api::namespaced(env.client(), ns);
    eventually(&format!("mirror {name} in phase {want}"), || async {
        let m = api.get(name).await.map_err(|e| e.to_string())?;
        match m.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some(p) if p == want => Ok(m),
            _ => Err(format!("{:?}", m.status)),
        }
    })
    .await
}

#[tokio::test]
async fn copies_the_source_into_every_target_and_reports_synced() {
    let env = SUITE.env().await;
    let ns = env.namespace("copies").await.unwrap();
    let (cms, mirrors) = (
        Api::<ConfigMap>::namespaced(env.client(), &ns),
        Api::<ConfigMapMirror>::namespaced(env.client(), &ns),
    );
    let pp = PostParams::default();
    cms.create(&pp, &configmap("settings", &[("mode", "fast")]))
        .await
        .unwrap();
    mirrors
        .create(&pp, &mirror("m", "settings", &["copy-a", "copy-b"]))
        .await
        .unwrap();

    let m = wait_for_phase(&env, &ns, "m", phase::SYNCED).await;
    assert_eq!(m.status.unwrap().synced_targets, Some(2));
    for copy in ["copy-a", "copy-b"] {
        wait_for_copy(&env, &ns, copy, Some(&[("mode", "fast")])).await;
        let cm = cms.get(copy).await.unwrap();
        // Owned by the mirror (deleting it deletes the copies) and labelled with its name.
        let owner = &cm.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ConfigMapMirror", "m")
        );
        assert_eq!(cm.metadata.labels.unwrap()[MIRROR_LABEL], "m");
    }
    // Exact: the registry belongs to this process, and the namespace to this test.
    assert!(
        env.metric_or_zero(
            "configmap_mirror_reconciles_total",
            &[("outcome", "Synced")]
        )
        .await
            >= 1.0
    );
    assert_eq!(
        env.metric_or_zero("configmap_mirror_reconciles_total", &[("outcome", "error")])
            .await,
        0.0
    );
}

#[tokio::test]
async fn a_changed_source_is_copied_again_and_a_removed_target_deleted() {
    let env = SUITE.env().await;
    let ns = env.namespace("changes").await.unwrap();
    let (cms, mirrors) = (
        Api::<ConfigMap>::namespaced(env.client(), &ns),
        Api::<ConfigMapMirror>::namespaced(env.client(), &ns),
    );
    let pp = PostParams::default();
    cms.create(&pp, &configmap("src", &[("v", "1")]))
        .await
        .unwrap();
    mirrors
        .create(&pp, &mirror("m", "src", &["a", "b"]))
        .await
        .unwrap();
    wait_for_copy(&env, &ns, "b", Some(&[("v", "1")])).await;

    cms.patch(
        "src",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    wait_for_copy(&env, &ns, "a", Some(&[("v", "2")])).await;
    wait_for_copy(&env, &ns, "b", Some(&[("v", "2")])).await;

    mirrors
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"targets": ["a"]}})),
        )
        .await
        .unwrap();
    wait_for_copy(&env, &ns, "b", None).await;
    // A copy deleted by hand comes back.
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    wait_for_copy(&env, &ns, "a", Some(&[("v", "2")])).await;
}

#[tokio::test]
async fn a_missing_source_is_reported_then_copied_once_it_appears() {
    let env = SUITE.env().await;
    let ns = env.namespace("missing").await.unwrap();
    let mirrors = Api::<ConfigMapMirror>::namespaced(env.client(), &ns);
    mirrors
        .create(&PostParams::default(), &mirror("m", "later", &["copy"]))
        .await
        .unwrap();
    let m = wait_for_phase(&env, &ns, "m", phase::SOURCE_MISSING).await;
    let message = m.status.unwrap().message.unwrap();
    assert!(message.contains("\"later\" not found"), "{message}");

    Api::<ConfigMap>::namespaced(env.client(), &ns)
        .create(&PostParams::default(), &configmap("later", &[("k", "v")]))
        .await
        .unwrap();
    wait_for_copy(&env, &ns, "copy", Some(&[("k", "v")])).await;
    wait_for_phase(&env, &ns, "m", phase::SYNCED).await;
}

#[tokio::test]
async fn a_target_that_is_the_source_is_invalid_and_an_empty_source_is_refused() {
    let env = SUITE.env().await;
    let ns = env.namespace("invalid").await.unwrap();
    let mirrors = Api::<ConfigMapMirror>::namespaced(env.client(), &ns);
    mirrors
        .create(&PostParams::default(), &mirror("m", "same", &["same"]))
        .await
        .unwrap();
    let m = wait_for_phase(&env, &ns, "m", phase::INVALID).await;
    assert!(
        m.status
            .unwrap()
            .message
            .unwrap()
            .contains("remove it from spec.targets")
    );
    // The CRD's schema (minLength) is enforced by the API server, as a real one would.
    let err = mirrors
        .create(&PostParams::default(), &mirror("empty", "", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 422 && s.message.contains("spec.source")),
        "{err}"
    );
}

//! Checks that a cluster can host the suites (reachable, its version, the APIs they need, the
//! permissions to create namespaces and CRDs), installs the CRDs with server-side apply and
//! waits until each is Established.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};

/// Field manager of the CRD installation: re-applying from another run is a no-op, and a CRD
/// changed by hand is taken back (force).
pub const FIELD_MANAGER: &str = "kubernaut-cluster-bootstrap";
/// A CRD is Established within milliseconds on the standalone server and within seconds on a
/// real one; a minute covers a kind cluster still warming up.
pub const ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a CRD's Established condition is polled.
const ESTABLISHED_POLL: Duration = Duration::from_millis(50);
/// Every request of the checks gives up after this: an unreachable cluster must fail the run,
/// not hang it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A cluster given by a kubeconfig and a context.
pub struct Target {
    pub kubeconfig: PathBuf,
    /// `None`: the kubeconfig's current context.
    pub context: Option<String>,
}

impl Target {
    /// What to call the cluster in errors.
    pub fn describe(&self) -> String {
        format!(
            "the cluster of {} (context {})",
            self.kubeconfig.display(),
            self.context.as_deref().unwrap_or("<current>")
        )
    }

    /// A client of the cluster.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        let text = std::fs::read_to_string(&self.kubeconfig)
            .with_context(|| format!("reading the kubeconfig {}", self.kubeconfig.display()))?;
        let parsed = kube::config::Kubeconfig::from_yaml(&text)
            .with_context(|| format!("{} is not a kubeconfig", self.kubeconfig.display()))?;
        let options = kube::config::KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(parsed, &options)
            .await
            .with_context(|| format!("cannot use {}", self.describe()))?;
        config.connect_timeout = Some(REQUEST_TIMEOUT);
        config.read_timeout = Some(REQUEST_TIMEOUT);
        kube::Client::try_from(config).with_context(|| format!("cannot use {}", self.describe()))
    }
}

/// What the checks found.
#[derive(Debug)]
pub struct Report {
    /// `major.minor` and git version, e.g. `1.37 (v1.37.0)`.
    pub version: String,
}

/// Checks the cluster; an error names what is missing and what to do.
pub async fn check(target: &Target, client: &kube::Client) -> anyhow::Result<Report> {
    let who = target.describe();
    let info = tokio::time::timeout(REQUEST_TIMEOUT, client.apiserver_version())
        .await
        .map_err(|_| anyhow::anyhow!("{who} did not answer GET /version within {REQUEST_TIMEOUT:?}: is it running, and is the kubeconfig's server address reachable from here?"))?
        .with_context(|| format!("{who} is not reachable (GET /version failed): is it running, and is the kubeconfig's server address reachable from here?"))?;
    let version = format!("{}.{} ({})", info.major, info.minor, info.git_version);

    let core = client
        .list_core_api_resources("v1")
        .await
        .with_context(|| format!("discovery of {who} failed (GET /api/v1)"))?;
    if !core.resources.iter().any(|r| r.name == "namespaces") {
        bail!(
            "{who} serves no v1 namespaces (discovery of /api/v1): the suites need a Kubernetes API server"
        );
    }
    let ext = client
        .list_api_group_resources("apiextensions.k8s.io/v1")
        .await
        .with_context(|| format!("{who} serves no apiextensions.k8s.io/v1 (discovery failed): the suites' CRDs need CustomResourceDefinition support (Kubernetes 1.16 or later)"))?;
    if !ext
        .resources
        .iter()
        .any(|r| r.name == "customresourcedefinitions")
    {
        bail!("{who} serves no customresourcedefinitions in apiextensions.k8s.io/v1");
    }
    permissions(&who, client).await?;
    Ok(Report { version })
}

/// The permissions a run needs: SelfSubjectAccessReview where the server has it (every real
/// cluster); otherwise a server-side dry-run namespace creation.
async fn permissions(who: &str, client: &kube::Client) -> anyhow::Result<()> {
    let has_ssar = client
        .list_api_group_resources("authorization.k8s.io/v1")
        .await
        .map(|r| {
            r.resources
                .iter()
                .any(|r| r.name == "selfsubjectaccessreviews")
        })
        .unwrap_or(false);
    if !has_ssar {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some("kubernaut-cluster-bootstrap-check".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams { dry_run: true, ..Default::default() }, &ns)
            .await
            .with_context(|| format!("{who}: a dry-run creation of a namespace failed; the run needs permission to create, list, watch and delete namespaces"))?;
        return Ok(());
    }
    let needed: &[(&str, &str, &str)] = &[
        ("", "namespaces", "create"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
        ("", "namespaces", "delete"),
        (
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "create",
        ),
        ("apiextensions.k8s.io", "customresourcedefinitions", "patch"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "get"),
    ];
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut missing = Vec::new();
    for (group, resource, verb) in needed {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    group: Some((*group).into()),
                    resource: Some((*resource).into()),
                    verb: Some((*verb).into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .with_context(|| format!("{who}: asking whether we may {verb} {resource} failed"))?;
        if !answer.status.is_some_and(|s| s.allowed) {
            missing.push(format!("{verb} {resource}"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "{who}: the kubeconfig's user may not {}; grant it (e.g. a ClusterRole with those verbs, or cluster-admin on a throw-away cluster) — see README \"Cluster mode\"",
            missing.join(", ")
        );
    }
    Ok(())
}

/// Reads every CRD of the YAML files in `dir` (sorted by file name).
pub fn read_crds(dir: &Path) -> anyhow::Result<Vec<CustomResourceDefinition>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the CRD directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut crds = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let crd: CustomResourceDefinition = serde_saphyr::from_str(&text)
            .with_context(|| format!("{} is not a CustomResourceDefinition", file.display()))?;
        crds.push(crd);
    }
    if crds.is_empty() {
        bail!("{} holds no CRD YAML files", dir.display());
    }
    Ok(crds)
}

/// Installs `crds` with server-side apply.
pub async fn apply_crds(
    who: &str,
    client: &kube::Client,
    crds: &[CustomResourceDefinition],
) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for crd in crds {
        let name = crd.metadata.name.clone().context("a CRD without a name")?;
        let mut body = crd.clone();
        body.metadata.managed_fields = None;
        body.status = None;
        let mut value = serde_json::to_value(&body)?;
        value["apiVersion"] = "apiextensions.k8s.io/v1".into();
        value["kind"] = "CustomResourceDefinition".into();
        api.patch(&name, &params, &Patch::Apply(&value))
            .await
            .with_context(|| format!("{who}: server-side apply of CRD {name} failed"))?;
    }
    Ok(())
}

/// Waits until every CRD of `crds` is Established, at most `timeout`.
pub async fn wait_established(
    who: &str,
    client: &kube::Client,
    crds: &[CustomResourceDefinition],
    timeout: Duration,
) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = Instant::now() + timeout;
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        loop {
            let current = api
                .get(&name)
                .await
                .with_context(|| format!("{who}: reading CRD {name}"))?;
            let established = current
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{who}: CRD {name} was not Established after {timeout:?}; see `kubectl describe crd {name}`"
                );
            }
            tokio::time::sleep(ESTABLISHED_POLL).await;
        }
    }
    Ok(())
}

/// `cluster-bootstrap check`: the checks alone, printing what was found.
pub fn run_standalone(kubeconfig: &Path, context: Option<&str>) -> anyhow::Result<()> {
    let target = Target {
        kubeconfig: kubeconfig.to_owned(),
        context: context.map(str::to_owned),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("creating a tokio runtime")?;
    runtime.block_on(async {
        let client = target.client().await?;
        let report = check(&target, &client).await?;
        println!(
            "{}: Kubernetes {}, ready for integration-cluster",
            target.describe(),
            report.version
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn server() -> (apiserver::ApiServer, tempfile::TempDir, Target) {
        let server = apiserver::ApiServer::builder().start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let target = Target {
            kubeconfig,
            context: None,
        };
        (server, dir, target)
    }

    fn crd_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crds")
    }

    #[tokio::test]
    async fn the_checks_pass_on_the_standalone_server_and_name_its_version() {
        let (_server, _dir, target) = server().await;
        let client = target.client().await.unwrap();
        let report = check(&target, &client).await.unwrap();
        assert!(report.version.contains('.'), "{report:?}");
    }

    #[tokio::test]
    async fn an_unreachable_cluster_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        // Port 1 on loopback: nothing listens there (connection refused at once).
        std::fs::write(
            &kubeconfig,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n",
        )
        .unwrap();
        let target = Target {
            kubeconfig: kubeconfig.clone(),
            context: Some("x".into()),
        };
        let client = target.client().await.unwrap();
        let err = format!("{:#}", check(&target, &client).await.unwrap_err());
        assert!(
            err.contains(&format!(
                "the cluster of {} (context x) is not reachable",
                kubeconfig.display()
            )),
            "{err}"
        );
        assert!(err.contains("is it running"), "{err}");
    }

    #[tokio::test]
    async fn crds_are_applied_server_side_idempotently_and_established() {
        let (_server, _dir, target) = server().await;
        let client = target.client().await.unwrap();
        let crds = read_crds(&crd_dir()).unwrap();
        assert_eq!(crds.len(), 5, "crds/ holds the five kubernaut CRDs");
        apply_crds("test", &client, &crds).await.unwrap();
        wait_established("test", &client, &crds, ESTABLISHED_TIMEOUT)
            .await
            .unwrap();
        // A second run (or a concurrent one) applies the same again: no conflict, no error.
        apply_crds("test", &client, &crds).await.unwrap();
        let api: Api<CustomResourceDefinition> = Api::all(client);
        for crd in &crds {
            let name = crd.metadata.name.clone().unwrap();
            let got = api.get(&name).await.unwrap();
            let managers: Vec<String> = got
                .metadata
                .managed_fields
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.manager)
                .collect();
            assert!(
                managers.iter().any(|m| m == FIELD_MANAGER),
                "{name}: {managers:?}"
            );
        }
    }

    #[test]
    fn a_directory_without_crds_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_crds(dir.path()).unwrap_err().to_string();
        assert!(err.contains("holds no CRD YAML files"), "{err}");
        std::fs::write(dir.path().join("x.yaml"), "kind: [").unwrap();
        let err = format!("{:#}", read_crds(dir.path()).unwrap_err());
        assert!(
            err.contains("x.yaml is not a CustomResourceDefinition"),
            "{err}"
        );
    }
}

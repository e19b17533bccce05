//! TEMPORARY stand-ins for the SignalProcessing and AIAnalysis controllers until the real ones
//! land in main; they play the documented outcomes (classification from the signal's
//! `environment` label; analysis by the HolmesGPT-API mock's signal-name scenarios).

use std::sync::Arc;

use controllers::api::{AIAnalysis, SignalProcessing};
use futures::future::BoxFuture;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use manager::{ControllerContext, Manager};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
#[error("stand-in failed: {0}")]
pub struct E(#[from] kube::Error);

pub fn register(manager: &mut Manager, with_sp: bool) {
    if with_sp {
        manager.add("sp-standin", |ctx: ControllerContext| {
            let client = ctx.client();
            let c = ctx.controller(
                Api::<SignalProcessing>::all(client.clone()),
                watcher::Config::default(),
            );
            ctx.run(
                c,
                sp,
                |_, _: &E, _| Action::requeue(std::time::Duration::from_millis(50)),
                Arc::new(client),
            )
        });
    }
    manager.add("aia-standin", |ctx: ControllerContext| {
        let client = ctx.client();
        let c = ctx.controller(
            Api::<AIAnalysis>::all(client.clone()),
            watcher::Config::default(),
        );
        ctx.run(
            c,
            aia,
            |_, _: &E, _| Action::requeue(std::time::Duration::from_millis(50)),
            Arc::new(client),
        )
    });
}

fn sp(
    obj: Arc<SignalProcessing>,
    client: Arc<kube::Client>,
) -> BoxFuture<'static, Result<Action, E>> {
    Box::pin(async move {
        if obj.status.is_some() {
            return Ok(Action::await_change());
        }
        let env = match obj
            .spec
            .signal
            .labels
            .get("environment")
            .map(String::as_str)
        {
            Some("production") => "Production",
            _ => "Unknown",
        };
        let api: Api<SignalProcessing> =
            Api::namespaced((*client).clone(), &obj.namespace().unwrap());
        let patch = json!({"status": {"phase": "Completed",
            "environmentClassification": {"environment": env, "source": "signal-label"},
            "priorityAssignment": {"priority": "P1", "source": "rego-policy"}}});
        api.patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
        Ok(Action::await_change())
    })
}

fn aia(obj: Arc<AIAnalysis>, client: Arc<kube::Client>) -> BoxFuture<'static, Result<Action, E>> {
    Box::pin(async move {
        if obj.status.is_some() {
            return Ok(Action::await_change());
        }
        let ctx = &obj.spec.analysis_request.signal_context;
        let workflow = |confidence: f64| json!({"workflowId": "restart-deployment-v1", "actionType": "RestartDeployment", "confidence": confidence, "parameters": {"TARGET_NAME": ctx.target_resource.name}});
        let status = match ctx.signal_name.as_str() {
            "mock-no-workflow" => {
                json!({"phase": "Completed", "rcaResult": {"rootCause": "resolved itself"}})
            }
            "mock-rejected" => {
                json!({"phase": "Failed", "reason": "HolmesGPTRejected", "message": "HolmesGPT-API answered 400"})
            }
            "mock-never-finishes" => json!({"phase": "Investigating"}),
            "mock-low-confidence" => {
                json!({"phase": "Completed", "rcaResult": {"rootCause": "oom", "selectedWorkflow": workflow(0.6)},
                "approval": {"approvalRequired": ctx.environment == controllers::api::Environment::Production, "approvalReason": "ProductionLowConfidence"}})
            }
            _ => {
                json!({"phase": "Completed", "rcaResult": {"rootCause": "oom", "selectedWorkflow": workflow(0.9)}, "approval": {"approvalRequired": false}})
            }
        };
        let api: Api<AIAnalysis> = Api::namespaced((*client).clone(), &obj.namespace().unwrap());
        api.patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await?;
        Ok(Action::await_change())
    })
}

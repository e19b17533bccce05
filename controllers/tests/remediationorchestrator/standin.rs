//! TEMPORARY stand-in for the SignalProcessing controller until the real one lands in main:
//! it plays the documented outcome (classification from the signal's `environment` label).

use std::sync::Arc;

use controllers::api::SignalProcessing;
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

//! Prints how long a manager takes from `start()` to `ready()` (every watch synced) against
//! the embedded API server, and how long the server itself takes to start, as median and p95.
//!
//! Run: `cargo bench -p manager --bench ready`

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use kube::{CustomResource, CustomResourceExt};
use manager::Manager;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Samples per figure: enough for a stable p95 while the whole run stays around a second.
const ITERATIONS: usize = 100;
/// Objects present before each start, so the first list returns something.
const OBJECTS: usize = 20;
/// Bound for one start → ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.manager", version = "v1", kind = "Gizmo", namespaced)]
struct GizmoSpec {
    n: i32,
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name}: n={} median={:.2?} p95={:.2?} min={:.2?} max={:.2?}",
        samples.len(),
        pct(0.5),
        pct(0.95),
        samples[0],
        samples[samples.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let mut server_start = Vec::with_capacity(ITERATIONS);
    let mut manager_ready = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        let server = apiserver::ApiServer::builder()
            .crd(Gizmo::crd())
            .start()
            .await
            .expect("server starts");
        server_start.push(t.elapsed());
        let client = server.client().expect("client");
        let api: Api<Gizmo> = Api::default_namespaced(client.clone());
        for i in 0..OBJECTS {
            api.create(
                &PostParams::default(),
                &Gizmo::new(&format!("g{i}"), GizmoSpec { n: 1 }),
            )
            .await
            .expect("create");
        }
        let t = Instant::now();
        let mut mgr = Manager::new(client, CancellationToken::new());
        mgr.add("gizmos", |ctx| {
            let controller = ctx.controller(Api::<Gizmo>::all(ctx.client()), Default::default());
            let (controller, _cms) = ctx.owns(
                controller,
                Api::<ConfigMap>::all(ctx.client()),
                Default::default(),
            );
            ctx.run(
                controller,
                |_, _| async { Ok::<_, Never>(Action::await_change()) },
                |_, _: &Never, _| Action::await_change(),
                Arc::new(()),
            )
        });
        let running = mgr.start();
        running.ready(READY_TIMEOUT).await.expect("ready");
        manager_ready.push(t.elapsed());
        running.shutdown(READY_TIMEOUT).await.expect("shutdown");
        server.shutdown().await;
    }
    summary("embedded API server start (1 CRD)", server_start);
    summary(
        &format!("manager start -> ready (2 watches, {OBJECTS} objects)"),
        manager_ready,
    );
}

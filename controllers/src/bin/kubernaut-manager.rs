//! `kubernaut-manager`: runs every kubernaut controller of this crate in one process against
//! the API server of a kubeconfig, auditing to DataStorage and serving its metrics registry as
//! Prometheus text — the single shared controller of the measurement baseline (the seed's
//! Pattern B), started once per run by the `integration-single` nextest profile.
//!
//! `main` parses the flags and calls `run`; SIGTERM or SIGINT stop it gracefully (in-flight
//! reconciles finish, the audit buffer is flushed).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use audit::{AuditStore, StoreConfig};
use clap::Parser;
use controllers::{
    aianalysis, notification, remediationorchestrator, signalprocessing, workflowexecution,
};
use manager::{Backoff, Manager};
use prometheus_client::registry::Registry;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// How long the controllers' watches may take to sync before start-up fails. Syncing takes
/// milliseconds; the margin covers a 2-core machine busy building tests.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a graceful shutdown may take before the process gives up on in-flight reconciles.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Where the metrics server also flushes the audit store on request (see `flush_audit`); the
/// fixtures' shared mode calls it (`fixtures::Env::flush_audit`).
const AUDIT_FLUSH_PATH: &str = "/audit/flush";

/// Runs the kubernaut controllers until SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "kubernaut-manager", version)]
struct Args {
    /// Kubeconfig of the API server to run against.
    #[arg(long, value_name = "PATH")]
    kubeconfig: PathBuf,
    /// DataStorage's base URL, for audit events.
    #[arg(long, value_name = "URL")]
    datastorage_url: String,
    /// File holding DataStorage's bearer token (a file, so the token never shows in `ps`).
    #[arg(long, value_name = "PATH")]
    datastorage_token_file: PathBuf,
    /// Where to serve the metrics registry (`GET /metrics`); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    metrics_listen: SocketAddr,
    /// Write the metrics address actually bound (`host:port`) to this file once ready.
    #[arg(long, value_name = "PATH")]
    metrics_addr_file: Option<PathBuf>,
    /// Milliseconds between the audit store's background flushes.
    #[arg(long, default_value_t = 50)]
    audit_flush_ms: u64,
    /// Actor stamped on audit events that name none.
    #[arg(long, default_value = "kubernaut-manager")]
    audit_actor: String,
    #[command(flatten)]
    wfe: WfeArgs,
    #[command(flatten)]
    notification: NotificationArgs,
    #[command(flatten)]
    aia: AiaArgs,
    #[command(flatten)]
    sp: SpArgs,
    #[command(flatten)]
    ro: RoArgs,
}

/// RemediationOrchestrator settings. It runs only when asked: it acts on every
/// RemediationRequest of the cluster, and suites that bring their own per-process
/// orchestrator must not have a second one on the shared server.
#[derive(Debug, clap::Args)]
struct RoArgs {
    /// Runs the RemediationOrchestrator.
    #[arg(long = "remediationorchestrator")]
    ro_enabled: bool,
    /// Seconds from the start of processing to a terminal phase.
    #[arg(long = "ro-global-timeout-s")]
    ro_global_timeout_s: Option<u64>,
    /// Seconds in Processing.
    #[arg(long = "ro-processing-timeout-s")]
    ro_processing_timeout_s: Option<u64>,
    /// Seconds in Analyzing.
    #[arg(long = "ro-analyzing-timeout-s")]
    ro_analyzing_timeout_s: Option<u64>,
    /// Seconds in AwaitingApproval.
    #[arg(long = "ro-awaiting-approval-timeout-s")]
    ro_awaiting_approval_timeout_s: Option<u64>,
    /// Seconds in Executing.
    #[arg(long = "ro-executing-timeout-s")]
    ro_executing_timeout_s: Option<u64>,
    /// Seconds a target stays blocked after its consecutive failures.
    #[arg(long = "ro-blocking-cooldown-s")]
    ro_blocking_cooldown_s: Option<u64>,
    /// Consecutive failures on one target that block the next request (0 disables).
    #[arg(long = "ro-consecutive-failure-threshold")]
    ro_consecutive_failure_threshold: Option<u32>,
    /// Milliseconds before the requeue that follows a phase change.
    #[arg(long = "ro-phase-requeue-ms")]
    ro_phase_requeue_ms: Option<u64>,
}

impl RoArgs {
    /// `None` when the orchestrator is not to run.
    fn config(&self) -> Option<remediationorchestrator::Config> {
        if !self.ro_enabled {
            return None;
        }
        let mut config = remediationorchestrator::Config::default();
        let secs = |v: Option<u64>, d: &mut Duration| {
            if let Some(s) = v {
                *d = Duration::from_secs(s);
            }
        };
        secs(self.ro_global_timeout_s, &mut config.global_timeout);
        secs(self.ro_processing_timeout_s, &mut config.processing_timeout);
        secs(self.ro_analyzing_timeout_s, &mut config.analyzing_timeout);
        secs(
            self.ro_awaiting_approval_timeout_s,
            &mut config.awaiting_approval_timeout,
        );
        secs(self.ro_executing_timeout_s, &mut config.executing_timeout);
        secs(self.ro_blocking_cooldown_s, &mut config.blocking_cooldown);
        if let Some(n) = self.ro_consecutive_failure_threshold {
            config.consecutive_failure_threshold = n;
        }
        if let Some(ms) = self.ro_phase_requeue_ms {
            config.phase_requeue = Duration::from_millis(ms);
        }
        Some(config)
    }
}

/// SignalProcessing controller settings (defaults: the controller's own, with the policies
/// compiled in).
#[derive(Debug, clap::Args)]
struct SpArgs {
    /// Directory holding environment.rego, priority.rego and business.rego.
    #[arg(long = "sp-policy-dir", value_name = "DIR")]
    sp_policy_dir: Option<PathBuf>,
    /// Milliseconds before the requeue that follows a phase change.
    #[arg(long = "sp-phase-requeue-ms")]
    sp_phase_requeue_ms: Option<u64>,
    /// Error backoff: first delay in milliseconds (doubling, ±10 % jitter).
    #[arg(
        long = "sp-error-backoff-base-ms",
        requires = "sp_error_backoff_cap_ms"
    )]
    sp_error_backoff_base_ms: Option<u64>,
    /// Error backoff: longest delay in milliseconds.
    #[arg(
        long = "sp-error-backoff-cap-ms",
        requires = "sp_error_backoff_base_ms"
    )]
    sp_error_backoff_cap_ms: Option<u64>,
}

impl SpArgs {
    /// Fails naming the policy file that does not load.
    fn config(&self) -> anyhow::Result<signalprocessing::Config> {
        let mut config = match &self.sp_policy_dir {
            Some(dir) => signalprocessing::Config::with_policy_dir(dir)?,
            None => signalprocessing::Config::with_default_policies(),
        };
        if let Some(ms) = self.sp_phase_requeue_ms {
            config.phase_requeue = Duration::from_millis(ms);
        }
        if let (Some(base), Some(cap)) =
            (self.sp_error_backoff_base_ms, self.sp_error_backoff_cap_ms)
        {
            config.error_backoff = Backoff::new(
                Duration::from_millis(base),
                BACKOFF_FACTOR,
                Duration::from_millis(cap),
                BACKOFF_JITTER,
            );
        }
        Ok(config)
    }
}

/// AIAnalysis controller settings. It runs only when given HolmesGPT-API's URL: without one it
/// has nobody to ask.
#[derive(Debug, clap::Args)]
struct AiaArgs {
    /// HolmesGPT-API's base URL; runs the AIAnalysis controller.
    #[arg(long = "hapi-url", value_name = "URL")]
    aia_hapi_url: Option<String>,
    /// Rego approval policy file (default: the shipped policies/aianalysis/approval.rego).
    #[arg(long = "aianalysis-policy-file", value_name = "PATH")]
    aia_policy_file: Option<PathBuf>,
    /// Milliseconds between HolmesGPT-API session polls.
    #[arg(long = "aianalysis-poll-interval-ms")]
    aia_poll_interval_ms: Option<u64>,
    /// Milliseconds each HolmesGPT-API call may take.
    #[arg(long = "aianalysis-hapi-timeout-ms")]
    aia_hapi_timeout_ms: Option<u64>,
    /// Transient HolmesGPT-API errors tolerated before the analysis fails.
    #[arg(long = "aianalysis-max-retries")]
    aia_max_retries: Option<u32>,
    /// Retry backoff: first delay in milliseconds (doubling, ±10 % jitter).
    #[arg(
        long = "aianalysis-retry-backoff-base-ms",
        requires = "aia_retry_backoff_cap_ms"
    )]
    aia_retry_backoff_base_ms: Option<u64>,
    /// Retry backoff: longest delay in milliseconds.
    #[arg(
        long = "aianalysis-retry-backoff-cap-ms",
        requires = "aia_retry_backoff_base_ms"
    )]
    aia_retry_backoff_cap_ms: Option<u64>,
    /// Milliseconds before the requeue that follows a phase change.
    #[arg(long = "aianalysis-phase-requeue-ms")]
    aia_phase_requeue_ms: Option<u64>,
    /// Error backoff: first delay in milliseconds (doubling, ±10 % jitter).
    #[arg(
        long = "aianalysis-error-backoff-base-ms",
        requires = "aia_error_backoff_cap_ms"
    )]
    aia_error_backoff_base_ms: Option<u64>,
    /// Error backoff: longest delay in milliseconds.
    #[arg(
        long = "aianalysis-error-backoff-cap-ms",
        requires = "aia_error_backoff_base_ms"
    )]
    aia_error_backoff_cap_ms: Option<u64>,
    /// Seconds after creation at which an analysis without spec.timesOutAt fails.
    #[arg(long = "aianalysis-default-timeout-s")]
    aia_default_timeout_s: Option<u64>,
}

impl AiaArgs {
    /// `None` when the controller is not to run.
    fn config(&self) -> anyhow::Result<Option<aianalysis::Config>> {
        let Some(url) = &self.aia_hapi_url else {
            return Ok(None);
        };
        let mut config = aianalysis::Config::with_default_policy(url.clone());
        if let Some(path) = &self.aia_policy_file {
            config = config.with_policy_file(path)?;
        }
        if let Some(ms) = self.aia_poll_interval_ms {
            config.poll_interval = Duration::from_millis(ms);
        }
        if let Some(ms) = self.aia_hapi_timeout_ms {
            config.hapi_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = self.aia_max_retries {
            config.max_retries = n;
        }
        if let (Some(base), Some(cap)) = (
            self.aia_retry_backoff_base_ms,
            self.aia_retry_backoff_cap_ms,
        ) {
            config.retry_backoff = Backoff::new(
                Duration::from_millis(base),
                BACKOFF_FACTOR,
                Duration::from_millis(cap),
                BACKOFF_JITTER,
            );
        }
        if let Some(ms) = self.aia_phase_requeue_ms {
            config.phase_requeue = Duration::from_millis(ms);
        }
        if let Some(s) = self.aia_default_timeout_s {
            config.default_timeout = Duration::from_secs(s);
        }
        if let (Some(base), Some(cap)) = (
            self.aia_error_backoff_base_ms,
            self.aia_error_backoff_cap_ms,
        ) {
            config.error_backoff = Backoff::new(
                Duration::from_millis(base),
                BACKOFF_FACTOR,
                Duration::from_millis(cap),
                BACKOFF_JITTER,
            );
        }
        Ok(Some(config))
    }
}

/// NotificationRequest controller settings. It runs only when given a routing file: without
/// one it has nowhere to deliver, and a run whose notification tests bring their own
/// per-process controllers must not have a second one reconciling on the shared server.
#[derive(Debug, clap::Args)]
struct NotificationArgs {
    /// Routing configuration (channels and routes, YAML); runs the Notification controller.
    #[arg(long = "notification-routing", value_name = "PATH")]
    nr_routing: Option<PathBuf>,
    /// Milliseconds one "second" of a spec's retry policy lasts (tests use 1).
    #[arg(long = "notification-backoff-unit-ms")]
    nr_backoff_unit_ms: Option<u64>,
    /// Consecutive failures that open a channel's circuit breaker; 0 disables it.
    #[arg(long = "notification-breaker-threshold")]
    nr_breaker_threshold: Option<u32>,
    /// Milliseconds before the requeue that follows a phase change.
    #[arg(long = "notification-phase-requeue-ms")]
    nr_phase_requeue_ms: Option<u64>,
}

impl NotificationArgs {
    /// `None` when the controller is not to run.
    fn config(&self) -> anyhow::Result<Option<notification::Config>> {
        let Some(path) = &self.nr_routing else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the notification routing {}", path.display()))?;
        let mut config = notification::Config {
            routing: notification::RoutingConfig::from_yaml(&text)
                .with_context(|| format!("parsing the notification routing {}", path.display()))?,
            ..notification::Config::default()
        };
        if let Some(ms) = self.nr_backoff_unit_ms {
            config.backoff_unit = Duration::from_millis(ms);
        }
        if let Some(n) = self.nr_breaker_threshold {
            config.breaker.failure_threshold = n;
        }
        if let Some(ms) = self.nr_phase_requeue_ms {
            config.phase_requeue = Duration::from_millis(ms);
        }
        Ok(Some(config))
    }
}

/// WorkflowExecution controller settings (defaults: the controller's own).
#[derive(Debug, clap::Args)]
struct WfeArgs {
    /// Namespace of the execution Jobs.
    #[arg(long = "wfe-execution-namespace")]
    execution_namespace: Option<String>,
    /// Milliseconds a finished Job is kept before deletion.
    #[arg(long = "wfe-cooldown-ms")]
    cooldown_ms: Option<u64>,
    /// Milliseconds before the requeue that follows a phase change.
    #[arg(long = "wfe-phase-requeue-ms")]
    phase_requeue_ms: Option<u64>,
    /// Error backoff: first delay in milliseconds (doubling, ±10 % jitter).
    #[arg(long = "wfe-error-backoff-base-ms", requires = "error_backoff_cap_ms")]
    error_backoff_base_ms: Option<u64>,
    /// Error backoff: longest delay in milliseconds.
    #[arg(long = "wfe-error-backoff-cap-ms", requires = "error_backoff_base_ms")]
    error_backoff_cap_ms: Option<u64>,
}

/// The growth factor and jitter of the error backoff: the controller default's shape.
const BACKOFF_FACTOR: f64 = 2.0;
const BACKOFF_JITTER: f64 = 0.1;

impl WfeArgs {
    fn config(&self) -> workflowexecution::Config {
        let mut config = workflowexecution::Config::default();
        if let Some(ns) = &self.execution_namespace {
            config.execution_namespace = ns.clone();
        }
        if let Some(ms) = self.cooldown_ms {
            config.cooldown = Duration::from_millis(ms);
        }
        if let Some(ms) = self.phase_requeue_ms {
            config.phase_requeue = Duration::from_millis(ms);
        }
        if let (Some(base), Some(cap)) = (self.error_backoff_base_ms, self.error_backoff_cap_ms) {
            config.error_backoff = Backoff::new(
                Duration::from_millis(base),
                BACKOFF_FACTOR,
                Duration::from_millis(cap),
                BACKOFF_JITTER,
            );
        }
        config
    }
}

/// Adds one controller to the manager and its metrics to the registry; `Ok(false)` when its
/// flags say it is not to run.
type Register = fn(&Args, &mut Manager, &mut Registry, &AuditStore) -> anyhow::Result<bool>;

/// Every controller this crate has. Adding one is one entry here (and its flags above).
const CONTROLLERS: &[(&str, Register)] = &[
    (
        workflowexecution::CONTROLLER_NAME,
        |args, manager, registry, audit| {
            workflowexecution::register(
                manager,
                args.wfe.config(),
                workflowexecution::Metrics::register(registry),
                audit.clone(),
            );
            Ok(true)
        },
    ),
    (
        notification::CONTROLLER_NAME,
        |args, manager, registry, audit| {
            let Some(config) = args.notification.config()? else {
                return Ok(false);
            };
            notification::register(
                manager,
                config,
                notification::Metrics::register(registry),
                audit.clone(),
            )?;
            Ok(true)
        },
    ),
    (
        aianalysis::CONTROLLER_NAME,
        |args, manager, registry, audit| {
            let Some(config) = args.aia.config()? else {
                return Ok(false);
            };
            aianalysis::register(
                manager,
                config,
                aianalysis::Metrics::register(registry),
                audit.clone(),
            );
            Ok(true)
        },
    ),
    (
        signalprocessing::CONTROLLER_NAME,
        |args, manager, registry, audit| {
            signalprocessing::register(
                manager,
                args.sp.config()?,
                signalprocessing::Metrics::register(registry),
                audit.clone(),
            );
            Ok(true)
        },
    ),
    (
        remediationorchestrator::CONTROLLER_NAME,
        |args, manager, registry, audit| {
            let Some(config) = args.ro.config() else {
                return Ok(false);
            };
            remediationorchestrator::register(
                manager,
                config,
                remediationorchestrator::Metrics::register(registry),
                audit.clone(),
            );
            Ok(true)
        },
    ),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    run(Args::parse()).await
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;

    let kubeconfig = kube::config::Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading the kubeconfig {}", args.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .with_context(|| format!("loading the kubeconfig {}", args.kubeconfig.display()))?;
    let client = kube::Client::try_from(config).context("building the Kubernetes client")?;

    let token = std::fs::read_to_string(&args.datastorage_token_file).with_context(|| {
        format!(
            "reading the DataStorage token file {}",
            args.datastorage_token_file.display()
        )
    })?;
    let audit_client = audit::Client::new(
        &args.datastorage_url,
        token.trim(),
        audit::client::DEFAULT_REQUEST_TIMEOUT,
    )
    .with_context(|| format!("connecting to DataStorage at {}", args.datastorage_url))?;
    let mut registry = Registry::default();
    let audit_config = StoreConfig {
        flush_interval: Duration::from_millis(args.audit_flush_ms),
        default_actor: Some(("service".to_owned(), args.audit_actor.clone())),
        ..StoreConfig::default()
    };
    let audit = AuditStore::start(audit_client, audit_config, &mut registry);

    let shutdown = CancellationToken::new();
    let mut manager = Manager::new(client, shutdown.clone());
    let mut running_names = Vec::new();
    for (name, register) in CONTROLLERS {
        if register(&args, &mut manager, &mut registry, &audit)
            .with_context(|| format!("registering the {name} controller"))?
        {
            running_names.push(*name);
        }
    }
    let running = manager.start();
    running
        .ready(READY_TIMEOUT)
        .await
        .context("waiting for the controllers' watches to sync")?;

    let registry = Arc::new(registry);
    let listener = tokio::net::TcpListener::bind(args.metrics_listen)
        .await
        .with_context(|| format!("binding the metrics address {}", args.metrics_listen))?;
    let metrics_addr = listener
        .local_addr()
        .context("reading the metrics address")?;
    let flushed = audit.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || metrics(registry.clone())),
        )
        .route(
            AUDIT_FLUSH_PATH,
            axum::routing::post(move || flush_audit(flushed.clone())),
        );
    let server_stop = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { server_stop.cancelled().await })
            .await
    });
    if let Some(path) = &args.metrics_addr_file {
        // Written last, atomically: its presence means "ready".
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, metrics_addr.to_string())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "kubernaut-manager: controllers {running_names:?} ready; metrics on http://{metrics_addr}/metrics"
    );

    tokio::select! {
        _ = sigterm.recv() => {}
        _ = sigint.recv() => {}
    }
    eprintln!("kubernaut-manager: stopping");
    shutdown.cancel();
    let stopped = running.shutdown(SHUTDOWN_TIMEOUT).await;
    let report = audit.close().await;
    eprintln!(
        "kubernaut-manager: audit events sent {}, dropped {}",
        report.sent, report.dropped
    );
    let _ = server.await;
    stopped.context("stopping the controllers")
}

/// `POST /audit/flush`: sends every audit event buffered so far and answers once DataStorage
/// took them (or they were dropped), with the store's totals as JSON (`{"sent": n, "dropped": n}`).
/// Tests of the single-controller baseline call it before reading the audit counters, so that
/// earlier tests' events are counted instead of arriving in the middle of a test's delta.
async fn flush_audit(audit: AuditStore) -> axum::Json<serde_json::Value> {
    let report = audit.flush().await;
    axum::Json(serde_json::json!({"sent": report.sent, "dropped": report.dropped}))
}

/// `GET /metrics`: the registry in the text exposition format.
async fn metrics(
    registry: Arc<Registry>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), axum::http::StatusCode> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    ))
}

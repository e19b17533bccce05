//! Finds the mock a test process should use: the run's shared one (`HAPI_URL`, exported by
//! the nextest setup script), or, under plain `cargo test`, one this process starts on a
//! thread and runtime of its own (each `#[tokio::test]` has its own runtime, and a server
//! spawned on one dies with it).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;

use crate::server::{MockError, serve};

/// The variable holding the shared mock's base URL.
pub const HAPI_URL_VAR: &str = "HAPI_URL";

/// The process's own mock (plain `cargo test` only): the one per-process fixture of this
/// crate, started on first use and never stopped (the process exit ends it).
static PROCESS_MOCK: OnceLock<Result<String, String>> = OnceLock::new();

/// The base URL of the mock this test process should talk to: `HAPI_URL` when set; under
/// nextest without it, an error saying how to run; otherwise a mock of this process's own.
pub fn url_for_tests() -> Result<String, MockError> {
    if let Some(url) = std::env::var(HAPI_URL_VAR).ok().filter(|u| !u.is_empty()) {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    if std::env::var_os("NEXTEST_RUN_ID").is_some() {
        return Err(MockError::MissingUnderNextest { var: HAPI_URL_VAR });
    }
    PROCESS_MOCK
        .get_or_init(start_on_own_thread)
        .clone()
        .map_err(MockError::Spawn)
}

fn start_on_own_thread() -> Result<String, String> {
    // Bind here, synchronously, so the address is known before the thread runs.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let listener = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build its runtime: {e}"))?;
    std::thread::Builder::new()
        .name("hapi-mock".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "the in-process HolmesGPT-API mock cannot listen");
                        return;
                    }
                };
                match serve(listener) {
                    Ok(running) => {
                        if let Err(e) = running.wait().await {
                            tracing::error!(error = %e, "the in-process HolmesGPT-API mock stopped");
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the in-process HolmesGPT-API mock cannot serve")
                    }
                }
            });
        })
        .map_err(|e| format!("cannot spawn its thread: {e}"))?;
    eprintln!("[hapi-mock] no {HAPI_URL_VAR}: started this process's own mock at http://{bound}");
    Ok(format!("http://{bound}"))
}

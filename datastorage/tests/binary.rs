//! Tests the `datastorage` binary: it starts from 0600 secret files, warns when Redis would not
//! keep the dead-letter queue across a restart, serves, and exits cleanly on SIGTERM; it refuses
//! a secret file other users can read, saying how to fix it.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{WAIT, backends, unique};

fn secret(dir: &Path, name: &str, value: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value).expect("write secret");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.to_string_lossy().into_owned()
}

fn command(dir: &Path, token_mode: u32) -> Command {
    let b = backends();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_datastorage"));
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--dlq-stream",
        &unique("bin-dlq"),
    ])
    .args([
        "--postgres-url-file",
        &secret(dir, "pg", &b.postgres_url, 0o600),
    ])
    .args([
        "--redis-url-file",
        &secret(dir, "redis", &b.redis_url, 0o600),
    ])
    .args([
        "--token-file",
        &secret(dir, "token", "bin-token\n", token_mode),
    ])
    .env("RUST_LOG", "info")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

/// Waits for the child with a deadline, killing it if it overruns.
fn wait_with_deadline(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("datastorage did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = command(dir.path(), 0o600)
        .spawn()
        .expect("spawn datastorage");
    // The log line "DataStorage listening addr=127.0.0.1:PORT" gives the port chosen.
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.lock().expect("lock").push(line.clone());
            if let Some(rest) = line.split("addr=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let addr = match rx.recv_timeout(WAIT) {
        Ok(addr) => addr,
        Err(_) => {
            let _ = child.kill();
            panic!("datastorage did not report its address within {WAIT:?}");
        }
    };
    // The test infrastructure's Redis keeps no append-only file (unless DS_INFRA=external
    // points at one that does), so the queue is not durable, and DataStorage says so at
    // start-up (logged before it listens).
    let client = redis::Client::open(backends().redis_url.as_str()).expect("redis client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    let log = lines.lock().expect("lock").join("\n");
    let warned = log.contains("WARN") && log.contains("without its append-only file");
    assert_eq!(warned, info.contains("aof_enabled:0"), "{info}\n{log}");
    let http = reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("client");
    let health = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let list = http
        .get(format!("http://{addr}/api/v1/audit/events"))
        .bearer_auth("bin-token")
        .query(&[("correlation_id", unique("bin").as_str())])
        .send()
        .await
        .expect("list");
    assert_eq!(
        list.status().as_u16(),
        200,
        "the token comes from the file, trimmed"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::task::block_in_place(|| wait_with_deadline(&mut child));
    assert!(
        status.success(),
        "SIGTERM must end in a clean exit, got {status}"
    );
}

#[test]
fn the_binary_refuses_a_readable_secret_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = command(dir.path(), 0o644)
        .spawn()
        .expect("spawn datastorage");
    let status = wait_with_deadline(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(!status.success());
    assert!(stderr.contains("chmod 600"), "stderr: {stderr}");
    assert!(stderr.contains("bearer token"), "stderr: {stderr}");
}

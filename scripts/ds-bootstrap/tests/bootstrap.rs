//! The setup script end to end, with the real binaries: what it exports works, concurrent runs
//! stay apart, `kill -9` of the nextest process leaves nothing behind, and failures say what
//! to do.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{Boot, Watched, alive, bootstrap, eventually, run_processes};
use sqlx::Connection;

async fn usable(boot: &Boot) {
    let infra = testinfra::SharedInfra::from_vars(|k| boot.env.get(k).cloned())
        .expect("exported variables are complete");
    let http = reqwest::Client::new();
    let events = format!("{}/api/v1/audit/events", infra.datastorage_url());
    let ok = http
        .get(&events)
        .bearer_auth(infra.token())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());
    let anon = http.get(&events).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let ready = http
        .get(format!("{}/readyz", infra.datastorage_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let mut pg = sqlx::PgConnection::connect(infra.postgres_url().unwrap())
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_stat_activity")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert!(n > 0);
    let redis = redis::Client::open(infra.redis_url().unwrap()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn exported_variables_are_present_usable_and_secret_free() {
    let watched = Watched::new();
    let (_dir, boot) = bootstrap("exports", &watched);
    assert!(boot.success, "{}", boot.stderr);

    let keys: Vec<&str> = boot.env.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "DS_POSTGRES_URL_FILE",
            "DS_REDIS_URL_FILE",
            "DS_RUN_DIR",
            "DS_TOKEN_FILE",
            "DS_URL",
            "HAPI_URL",
            "TEST_CA_CERT_FILE",
            "TEST_CA_KEY_FILE",
            "TMPDIR"
        ]
    );
    // The tests' temporary files go with the run (the supervisor removes the directory).
    assert_eq!(
        std::path::Path::new(boot.var("TMPDIR")),
        boot.run_dir().join("tmp")
    );
    assert!(boot.run_dir().join("tmp").is_dir());
    // nextest rejects blank lines and copies values into its JUnit XML.
    assert!(
        boot.env_text
            .lines()
            .all(|l| !l.trim().is_empty() && !l.contains('"')),
        "{:?}",
        boot.env_text
    );
    for key in [
        "DS_TOKEN_FILE",
        "DS_POSTGRES_URL_FILE",
        "DS_REDIS_URL_FILE",
        "TEST_CA_KEY_FILE",
    ] {
        let path = boot.var(key);
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{key}");
        let secret = std::fs::read_to_string(path).unwrap();
        assert!(
            !boot.env_text.contains(secret.trim()),
            "{key}'s secret leaked into the exported values"
        );
    }
    assert!(boot.run_dir().join("logs/datastorage.log").exists());
    assert!(
        boot.stderr.contains("DataStorage ready at"),
        "{}",
        boot.stderr
    );
    usable(&boot).await;
    // The same daemon serves the HolmesGPT-API mock: its inspection endpoint answers.
    let hapi = boot.var("HAPI_URL");
    let answer = reqwest::get(format!(
        "{hapi}/mock/requests?remediation_id=bootstrap-probe"
    ))
    .await
    .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
}

#[tokio::test]
async fn two_concurrent_runs_do_not_collide() {
    let (w1, w2) = (Watched::new(), Watched::new());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| bootstrap("concurrent-a", &w1));
        let b = s.spawn(|| bootstrap("concurrent-b", &w2));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (_da, a) = a;
    let (_db, b) = b;
    assert!(a.success, "{}", a.stderr);
    assert!(b.success, "{}", b.stderr);
    for key in ["DS_URL", "DS_RUN_DIR", "DS_TOKEN_FILE", "HAPI_URL"] {
        assert_ne!(a.var(key), b.var(key), "{key}");
    }
    usable(&a).await;
    usable(&b).await;
    // Ending one run leaves the other working.
    drop(w1);
    let a_procs = run_processes(&a.run_dir());
    assert!(eventually(common::GONE_DEADLINE, || alive(&a_procs) == 0));
    usable(&b).await;
}

#[test]
fn kill_9_of_the_watched_process_leaves_nothing_of_the_run() {
    let mut watched = Watched::new();
    let (_dir, boot) = bootstrap("kill9", &watched);
    assert!(boot.success, "{}", boot.stderr);
    let procs = run_processes(&boot.run_dir());
    // postgres (+ its helper processes), redis, datastorage, supervisor
    assert!(procs.len() >= 5, "{procs:?}");
    assert_eq!(alive(&procs), procs.len());

    watched.kill9();
    let gone = eventually(common::GONE_DEADLINE, || alive(&procs) == 0);
    let log =
        std::fs::read_to_string(boot.run_dir().join("logs/supervisor.log")).unwrap_or_default();
    assert!(
        gone,
        "{} of {} processes left; supervisor log:\n{log}",
        alive(&procs),
        procs.len()
    );
    assert!(!boot.run_dir().join("data").exists());
    assert!(!boot.run_dir().join("secrets").exists());
    assert!(
        !boot.run_dir().join("tmp").exists(),
        "the tests' TMPDIR outlived the run"
    );
}

/// No override: the script must find the nextest process by walking up its ancestors. The
/// stand-in is a shell copied under the name `cargo-nextest` (what nextest's process is called)
/// that runs the script, then waits.
#[test]
fn the_nextest_process_is_found_among_the_ancestors() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("cargo-nextest");
    std::fs::copy("/bin/sh", &fake).unwrap();
    let env_file = dir.path().join("nextest-env");
    std::fs::write(&env_file, "").unwrap();
    let done = dir.path().join("done");
    let script =
        r#""$BIN" 2>"$DONE.err"; echo $? > "$DONE.tmp"; mv "$DONE.tmp" "$DONE"; exec sleep 600"#;
    let mut cmd = Command::new(&fake);
    cmd.args(["-c", script, "cargo-nextest", "nextest", "run"])
        .env("DONE", &done)
        .env("BIN", common::BIN);
    common::configure(&mut cmd, &common::run_id("ancestor"), None, &env_file);
    let mut watched = Watched::spawn(&mut cmd);
    assert!(
        eventually(std::time::Duration::from_secs(60), || done.exists()),
        "the script did not finish"
    );
    let status = std::fs::read_to_string(&done).unwrap();
    let stderr = std::fs::read_to_string(dir.path().join("done.err")).unwrap_or_default();
    assert_eq!(status.trim(), "0", "{stderr}");
    let env = std::fs::read_to_string(&env_file).unwrap();
    let run_dir = env
        .lines()
        .find_map(|l| l.strip_prefix("DS_RUN_DIR="))
        .unwrap()
        .to_string();
    let supervisor_log = std::fs::read_to_string(format!("{run_dir}/logs/supervisor.log")).unwrap();
    assert!(
        supervisor_log.contains(&format!("watching pid {}", watched.id.pid)),
        "{supervisor_log}"
    );

    let procs = run_processes(std::path::Path::new(&run_dir));
    watched.kill9();
    assert!(eventually(common::GONE_DEADLINE, || alive(&procs) == 0));
}

#[test]
fn missing_binaries_say_to_run_install_deps() {
    let watched = Watched::new();
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");

    // No PostgreSQL anywhere: an empty PATH and an empty versioned-install root.
    let mut cmd = common::command(&common::run_id("nopg"), Some(&watched), &env_file);
    cmd.env("PATH", dir.path())
        .env("TESTINFRA_POSTGRES_ROOT", dir.path());
    let boot = common::run(cmd, &env_file);
    assert!(!boot.success);
    assert!(
        boot.stderr
            .contains("PostgreSQL server binaries not found: run scripts/install-deps"),
        "{}",
        boot.stderr
    );
    assert!(boot.env_text.is_empty(), "nothing exported on failure");

    // PostgreSQL from its versioned directory, but no redis-server on PATH.
    if std::path::Path::new("/usr/lib/postgresql").is_dir() {
        let mut cmd = common::command(&common::run_id("noredis"), Some(&watched), &env_file);
        cmd.env("PATH", dir.path());
        let boot = common::run(cmd, &env_file);
        assert!(!boot.success);
        assert!(
            boot.stderr
                .contains("Redis server binaries not found: run scripts/install-deps"),
            "{}",
            boot.stderr
        );
    }
}

#[test]
fn outside_nextest_it_says_how_it_is_meant_to_be_run() {
    let out = Command::new(common::BIN)
        .env_remove("NEXTEST_ENV")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("NEXTEST_ENV is not set"), "{stderr}");
    assert!(
        stderr.contains("cargo nextest run --profile integration"),
        "{stderr}"
    );
}

#[test]
fn leftovers_of_a_dead_run_are_removed_first() {
    // A dead run: supervisor gone (a pid that never ran at this start time), daemon alive.
    let root = testinfra::infra_root().unwrap();
    let dead = root.join(common::run_id("dead"));
    std::fs::create_dir_all(dead.join("data")).unwrap();
    let mut daemon = Command::new("sleep")
        .arg("600")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let id = testinfra::ProcId::of(daemon.id() as i32).unwrap();
    std::fs::write(dead.join("pids"), format!("{} TERM sleep\n", id.to_line())).unwrap();
    std::fs::write(dead.join("supervisor"), format!("{} 1", id.pid)).unwrap();

    let watched = Watched::new();
    let (_dir, boot) = bootstrap("after-dead", &watched);
    assert!(boot.success, "{}", boot.stderr);
    daemon.wait().unwrap();
    assert!(!id.is_alive());
    assert!(!dead.join("data").exists());
}

#[test]
fn ds_reuse_hands_a_warm_set_to_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let key = common::run_id("reuse");
    let boot = |name: &str| {
        let env_file = dir.path().join(name);
        let mut cmd = common::command(&common::run_id(name), None, &env_file);
        cmd.env("DS_REUSE", "1")
            .env("DS_REUSE_KEY", &key)
            .env("DS_REUSE_TTL", "600");
        common::run(cmd, &env_file)
    };
    let cold = boot("cold");
    assert!(cold.success, "{}", cold.stderr);
    let warm = boot("warm");
    assert!(warm.success, "{}", warm.stderr);
    assert!(
        warm.stderr.contains("reusing warm infrastructure"),
        "{}",
        warm.stderr
    );
    assert_eq!(cold.env, warm.env, "the same infrastructure is handed out");

    // `stop-warm` ends the lease and waits: everything of the warm set is gone.
    let run_dir = cold.run_dir();
    let procs = run_processes(&run_dir);
    assert!(procs.len() >= 5, "{procs:?}");
    let out = Command::new(common::BIN)
        .arg("stop-warm")
        .env("DS_REUSE_KEY", &key)
        .env_remove("DS_INFRA")
        .env_remove("DS_POSTGRES_URL")
        .env_remove("DS_REDIS_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("stopped the warm infrastructure"),
        "{stderr}"
    );
    assert!(eventually(common::GONE_DEADLINE, || alive(&procs) == 0));
    let out = Command::new(common::BIN)
        .arg("stop-warm")
        .env("DS_REUSE_KEY", &key)
        .env_remove("DS_INFRA")
        .env_remove("DS_POSTGRES_URL")
        .env_remove("DS_REDIS_URL")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no warm infrastructure"),
        "stopping twice is harmless"
    );

    // With the set gone, the next run starts a fresh one.
    let again = boot("again");
    assert!(again.success, "{}", again.stderr);
    assert!(!again.stderr.contains("reusing"), "{}", again.stderr);
    testinfra::extend_lease(&again.run_dir(), std::time::Duration::ZERO).unwrap();
}

#[test]
fn a_bad_ds_reuse_value_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    let mut cmd = common::command(&common::run_id("badreuse"), None, &env_file);
    cmd.env("DS_REUSE", "yes");
    let boot = common::run(cmd, &env_file);
    assert!(!boot.success);
    assert!(
        boot.stderr.contains("DS_REUSE=\"yes\" is not valid"),
        "{}",
        boot.stderr
    );
}

#[test]
fn nextest_dying_during_set_up_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    let run_id = common::run_id("dies-during-setup");
    let run_dir = testinfra::infra_root().unwrap().join(&run_id);
    // The stand-in dies as soon as Redis starts logging: after the supervisor started, before
    // DataStorage is up.
    let mut watched = Watched::spawn(
        Command::new("sh")
            .arg("-c")
            .arg("i=0; while [ ! -e \"$1/logs/redis.log\" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done")
            .arg("sh")
            .arg(&run_dir),
    );
    let boot = common::run(
        common::command(&run_id, Some(&watched), &env_file),
        &env_file,
    );
    watched.kill9();
    assert!(!boot.success, "{}", boot.stderr);
    assert!(
        boot.stderr.contains("exited during set-up"),
        "{}",
        boot.stderr
    );
    assert!(boot.env_text.is_empty());
    let procs = run_processes(&run_dir);
    assert!(!procs.is_empty());
    assert!(
        eventually(common::GONE_DEADLINE, || alive(&procs) == 0),
        "{procs:?}"
    );
}

/// The real thing: a real `cargo nextest run` (of a one-test scratch workspace whose setup
/// script is this ds-bootstrap binary) is killed with `kill -9` while its test runs; within
/// seconds nothing of the run is left: PostgreSQL with its helpers, Redis, DataStorage and the
/// supervisor, and nothing of it in a temporary directory: neither PostgreSQL's data (outside
/// the run directory when its account cannot reach that, as in a clone under `/root`) nor what
/// the killed test made in its `TMPDIR`, which the setup script points into the run directory.
#[test]
fn kill_9_of_a_real_nextest_run_leaves_nothing() {
    real_nextest_run_ended_by(nix::sys::signal::Signal::SIGKILL);
}

/// Ctrl-C in a terminal sends SIGINT to nextest (and its test processes): nextest cancels the
/// run and exits; the supervisor then stops the infrastructure.
#[test]
fn ctrl_c_of_a_real_nextest_run_leaves_nothing() {
    real_nextest_run_ended_by(nix::sys::signal::Signal::SIGINT);
}

fn real_nextest_run_ended_by(signal: nix::sys::signal::Signal) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    // Private, as a clone under /root: the postgres account cannot reach the run directory, so
    // PostgreSQL's data goes to a temporary directory outside it, which the run must not leave.
    std::fs::set_permissions(ws, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::create_dir_all(ws.join("tests")).unwrap();
    std::fs::create_dir_all(ws.join(".config")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/lib.rs"), "").unwrap();
    // The test reports its pid and DS_RUN_DIR, then waits to be killed (bounded).
    std::fs::write(
        ws.join("tests/hold.rs"),
        r#"#[test]
fn hold() {
    let marker = std::env::var("HOLD_MARKER").unwrap();
    let scratch = std::env::temp_dir().join("hold-scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let line = format!("{}\n{}\n{}", std::process::id(), std::env::var("DS_RUN_DIR").unwrap_or_default(), scratch.display());
    std::fs::write(format!("{marker}.tmp"), line).unwrap();
    std::fs::rename(format!("{marker}.tmp"), &marker).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(300));
}
"#,
    )
    .unwrap();
    std::fs::write(
        ws.join(".config/nextest.toml"),
        format!(
            "experimental = [\"setup-scripts\"]\n[scripts.setup.ds]\ncommand = \"{}\"\n[[profile.default.scripts]]\nfilter = \"all()\"\nsetup = [\"ds\"]\n",
            common::BIN
        ),
    )
    .unwrap();
    let marker = ws.join("marker");
    let mut cmd = Command::new("cargo");
    cmd.args(["nextest", "run", "--no-fail-fast"])
        .current_dir(ws);
    // A clean environment for the inner cargo: nothing of the outer cargo or nextest run.
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if (k.starts_with("CARGO") && k != "CARGO_HOME")
            || k.starts_with("NEXTEST")
            || k.starts_with("DS_")
            || k.starts_with("RUST") && k != "RUSTUP_HOME"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env("HOLD_MARKER", &marker)
        .env("CARGO_TARGET_DIR", ws.join("target"));
    let log = std::fs::File::create(ws.join("nextest.log")).unwrap();
    let mut outer = cmd
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("cargo nextest");

    // Compiling the scratch test takes a few seconds; a loaded machine more.
    let ready = eventually(std::time::Duration::from_secs(240), || {
        marker.exists() || matches!(outer.try_wait(), Ok(Some(_)))
    });
    let nextest_log = || std::fs::read_to_string(ws.join("nextest.log")).unwrap_or_default();
    assert!(
        ready && marker.exists(),
        "the scratch run never reached its test:\n{}",
        nextest_log()
    );
    let text = std::fs::read_to_string(&marker).unwrap();
    let mut lines = text.lines();
    let (test_pid, run_dir, scratch) = (
        lines.next().unwrap_or_default(),
        std::path::PathBuf::from(lines.next().unwrap_or_default()),
        std::path::PathBuf::from(lines.next().unwrap_or_default()),
    );
    // What the test made in its temporary directory lives in the run directory, not in /tmp.
    assert!(
        scratch.starts_with(&run_dir) && scratch.is_dir(),
        "the test's temporary directory {} is not in the run directory {}",
        scratch.display(),
        run_dir.display()
    );
    assert!(
        run_dir.is_dir(),
        "DS_RUN_DIR not exported to the test: {text:?}\n{}",
        nextest_log()
    );

    let procs = run_processes(&run_dir);
    assert!(procs.len() >= 5, "{procs:?}");
    let in_tmp = run_entries_in_tmp(&run_dir);
    if nix::unistd::Uid::effective().is_root() {
        // The scratch workspace is a private tempdir, which the postgres account cannot reach.
        assert!(
            !in_tmp.is_empty(),
            "PostgreSQL's data of a run under a private directory is expected outside it: run dir {}",
            run_dir.display()
        );
    }
    let supervisor_log = std::fs::read_to_string(run_dir.join("logs/supervisor.log")).unwrap();
    let watched: i32 = supervisor_log
        .split("watching pid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("supervisor names the watched pid");
    let stat = testinfra::process::stat(watched).expect("the watched process runs");
    assert_eq!(
        stat.comm, "cargo-nextest",
        "the supervisor watches nextest itself"
    );

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(watched), signal).unwrap();
    let gone = eventually(common::GONE_DEADLINE, || alive(&procs) == 0);
    // The orphaned test process and cargo are not part of the infrastructure; stop them too.
    if let Ok(pid) = test_pid.parse::<i32>() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = outer.kill();
    let _ = outer.wait();
    assert!(
        gone,
        "{} of {} processes left after {signal} to nextest; supervisor log:\n{}",
        alive(&procs),
        procs.len(),
        std::fs::read_to_string(run_dir.join("logs/supervisor.log")).unwrap_or_default()
    );
    let left = || {
        let mut left = run_entries_in_tmp(&run_dir);
        left.extend(in_tmp.iter().filter(|p| p.exists()).cloned());
        left.extend(scratch.exists().then(|| scratch.clone()));
        left.sort();
        left.dedup();
        left
    };
    assert!(
        eventually(common::GONE_DEADLINE, || left().is_empty()),
        "left outside the run directory after {signal} to nextest: {:?}",
        left()
    );
}

/// What the run owns outside its run directory: every entry of the temporary directories (this
/// process's `TMPDIR` and `/tmp`, where PostgreSQL's data goes when its account cannot reach
/// `TMPDIR`) named after the run's key (the name of its run directory), and every directory it
/// registered for the supervisor to remove outside the run directory.
fn run_entries_in_tmp(run_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let key = run_dir
        .file_name()
        .expect("a run directory has a name")
        .to_string_lossy()
        .into_owned();
    let mut found: Vec<std::path::PathBuf> = [std::env::temp_dir(), "/tmp".into()]
        .iter()
        .flat_map(|tmp| std::fs::read_dir(tmp).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(&key))
        })
        .collect();
    let registered = std::fs::read_to_string(run_dir.join("cleanup")).unwrap_or_default();
    found.extend(
        registered
            .lines()
            .map(std::path::PathBuf::from)
            .filter(|p| !p.starts_with(run_dir) && p.exists()),
    );
    found.sort();
    found.dedup();
    found
}

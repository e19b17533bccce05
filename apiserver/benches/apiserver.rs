//! Prints the API server's figures: start→ready with 5 CRDs, idle RSS of the standalone binary,
//! the CA's per-process cost, new-connection cost (the TLS handshake), steady-state GET latency,
//! GET and create throughput on loopback with the server on one core (a
//! current_thread runtime on its own thread), and watch latency from write to event; each over
//! HTTPS (the default) and plain HTTP, so the cost of TLS reads off directly, and last what TLS
//! adds to one test process against the environment start-up the newest integration run
//! recorded (`target/fixtures/ready/`), and create throughput with and without bound
//! ValidatingAdmissionPolicies. Run:
//! `cargo bench -p apiserver`. Figures only; nothing is asserted (timing depends on the machine
//! and its load).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Start→ready samples (each a full server start and shutdown).
const START_SAMPLES: usize = 200;
/// How long each throughput phase runs.
const LOAD_DURATION: Duration = Duration::from_secs(3);
/// Concurrent keep-alive client connections in the throughput phases.
const CONNECTIONS: usize = 8;
/// New connections (each with one GET) timed per transport.
const CONNECT_SAMPLES: usize = 500;
/// Write→event samples for the watch latency.
const WATCH_SAMPLES: usize = 2000;
/// Sequential GETs timed on one kept-alive connection.
const GET_SAMPLES: usize = 2000;
/// CA generations and PEM reads timed.
const CA_SAMPLES: usize = 50;
/// Connections a test process's environment opens before it is ready: the fixture's client and
/// the controllers' client (kube-rs pools connections per client; each opens one at start-up,
/// more under concurrent requests), so at least two handshakes.
const ENV_CONNECTIONS: u32 = 2;

fn crd(i: usize) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("things{i}.bench{i}.example.com")},
        "spec": {
            "group": format!("bench{i}.example.com"),
            "names": {"plural": format!("things{i}"), "kind": format!("Thing{i}")},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}],
                        "properties": {"size": {"type": "integer", "minimum": 0}, "name": {"type": "string", "maxLength": 63}}},
                    "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}}]
        }
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// How a bench client reaches a server: its address, token and (for HTTPS) the CA to trust.
#[derive(Clone)]
struct Target {
    addr: std::net::SocketAddr,
    token: String,
    ca: Option<Arc<apiserver::Ca>>,
}

fn transport(plain: bool) -> &'static str {
    if plain { "plain HTTP" } else { "HTTPS" }
}

fn builder(plain: bool) -> apiserver::Builder {
    let b = apiserver::ApiServer::builder();
    if plain { b.plain_http() } else { b }
}

async fn connect(target: &Target) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(target.addr)
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    match &target.ca {
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            sender
        }
        Some(ca) => {
            let connector =
                tokio_rustls::TlsConnector::from(ca.client_config().expect("client config"));
            let name = rustls::pki_types::ServerName::IpAddress(target.addr.ip().into());
            let tls = connector
                .connect(name, stream)
                .await
                .expect("TLS handshake");
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            sender
        }
    }
}

async fn request(
    sender: &mut SendRequest<Full<Bytes>>,
    token: &str,
    method: &str,
    path: &str,
    body: Option<String>,
) -> u16 {
    sender.ready().await.expect("connection ready");
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(body.map(Bytes::from).unwrap_or_default()))
        .expect("request");
    let resp = sender.send_request(req).await.expect("response");
    let code = resp.status().as_u16();
    resp.into_body().collect().await.expect("body");
    code
}

fn bench_start(plain: bool) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let crds: Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        (0..5).map(|i| serde_json::from_value(crd(i)).expect("crd")).collect();
    let mut samples = Vec::with_capacity(START_SAMPLES);
    rt.block_on(async {
        for _ in 0..START_SAMPLES {
            let t = Instant::now();
            let mut b = builder(plain);
            for c in &crds {
                b = b.crd(c.clone());
            }
            let server = b.start().await.expect("start");
            samples.push(t.elapsed());
            server.shutdown().await;
        }
    });
    samples.sort();
    println!(
        "{}: start→ready with 5 CRDs: median {}, p90 {}, max {} ({START_SAMPLES} starts)",
        transport(plain),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.9)),
        ms(*samples.last().expect("samples"))
    );
    percentile(&samples, 0.5)
}

fn bench_idle_rss() {
    let bin = env!("CARGO_BIN_EXE_apiserver");
    let mut child = std::process::Command::new(bin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the apiserver binary");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("url");
    // Let it settle after start; it is idle from here on.
    std::thread::sleep(Duration::from_millis(500));
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: unknown")
        .to_owned();
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "idle RSS of the apiserver binary (one server, no CRDs): {}",
        rss.trim_start_matches("VmRSS:").trim()
    );
}

/// Runs the server on a current_thread runtime on its own thread (one core) and returns how to reach it.
fn server_on_one_core(
    plain: bool,
) -> (
    Target,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (info_tx, info_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let server = builder(plain).start().await.expect("start");
            info_tx
                .send(Target {
                    addr: server.addr(),
                    token: server.token().to_owned(),
                    ca: server.ca().cloned(),
                })
                .expect("send info");
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            server.shutdown().await;
        });
    });
    let target = info_rx.recv().expect("server info");
    (target, stop_tx, handle)
}

/// What a client pays for a new connection: connect (+ TLS handshake) and one GET.
fn bench_connect(plain: bool) -> Duration {
    let (target, stop, handle) = server_on_one_core(plain);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut samples = Vec::with_capacity(CONNECT_SAMPLES);
    rt.block_on(async {
        for _ in 0..CONNECT_SAMPLES {
            let t = Instant::now();
            let mut s = connect(&target).await;
            let code = request(
                &mut s,
                &target.token,
                "GET",
                "/api/v1/namespaces/default",
                None,
            )
            .await;
            assert_eq!(code, 200);
            samples.push(t.elapsed());
        }
    });
    samples.sort();
    println!(
        "{}: new connection + first GET: median {}, p90 {} ({CONNECT_SAMPLES} connections)",
        transport(plain),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.9)),
    );
    stop.send(()).expect("stop");
    handle.join().expect("server thread");
    percentile(&samples, 0.5)
}

/// Steady-state latency: sequential GETs on one kept-alive connection (the handshake is paid
/// once, before the samples), so only the per-request cost of TLS records shows.
fn bench_get_latency(plain: bool) {
    let (target, stop, handle) = server_on_one_core(plain);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut samples = Vec::with_capacity(GET_SAMPLES);
    rt.block_on(async {
        let mut s = connect(&target).await;
        for _ in 0..GET_SAMPLES {
            let t = Instant::now();
            let code = request(
                &mut s,
                &target.token,
                "GET",
                "/api/v1/namespaces/default",
                None,
            )
            .await;
            assert_eq!(code, 200);
            samples.push(t.elapsed());
        }
    });
    samples.sort();
    println!(
        "{}: steady-state GET on a kept-alive connection: p50 {}, p99 {} ({GET_SAMPLES} GETs)",
        transport(plain),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
    );
    stop.send(()).expect("stop");
    handle.join().expect("server thread");
}

/// The CA's per-process cost: made once per process under plain `cargo test`, read from the
/// setup script's files once per process under nextest. Returns the read's median (the nextest
/// case) and the generation's.
fn bench_ca() -> (Duration, Duration) {
    let made = apiserver::Ca::generate().expect("CA");
    let mut generate = Vec::with_capacity(CA_SAMPLES);
    let mut read = Vec::with_capacity(CA_SAMPLES);
    for _ in 0..CA_SAMPLES {
        let t = Instant::now();
        let ca = apiserver::Ca::generate().expect("CA");
        generate.push(t.elapsed());
        std::hint::black_box(ca);
        let t = Instant::now();
        let ca = apiserver::Ca::from_pem(made.cert_pem(), made.key_pem()).expect("CA from PEM");
        read.push(t.elapsed());
        std::hint::black_box(ca);
    }
    generate.sort();
    read.sort();
    println!(
        "CA per process: generate (plain cargo test) median {}, read from PEM (nextest, the run's CA) median {} ({CA_SAMPLES} each)",
        ms(percentile(&generate, 0.5)),
        ms(percentile(&read, 0.5)),
    );
    (percentile(&read, 0.5), percentile(&generate, 0.5))
}

/// The median "first touch → environment ready" of the newest run recorded under
/// `target/fixtures/ready/` (each test process of an integration run writes one), with the run's
/// id and the number of processes; None when no run has been recorded.
fn recorded_environment_ready() -> Option<(String, usize, Duration)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fixtures/ready");
    let newest = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())?;
    let mut ready: Vec<Duration> = std::fs::read_dir(newest.path())
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|text| serde_json::from_str::<Value>(&text).ok())
        .filter_map(|v| v["ready_ms"].as_f64())
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect();
    if ready.is_empty() {
        return None;
    }
    ready.sort();
    Some((
        newest.file_name().to_string_lossy().into_owned(),
        ready.len(),
        percentile(&ready, 0.5),
    ))
}

fn bench_throughput(plain: bool) {
    let (target, stop, handle) = server_on_one_core(plain);
    let token = target.token.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    rt.block_on(async {
        let mut s = connect(&target).await;
        let code = request(&mut s, &token, "POST", "/api/v1/namespaces/default/configmaps", Some(json!({"metadata": {"name": "target"}, "data": {"k": "v"}}).to_string())).await;
        assert_eq!(code, 201);
        for (what, method) in [("GET", "GET"), ("create", "POST")] {
            let deadline = Instant::now() + LOAD_DURATION;
            let mut tasks = Vec::new();
            for c in 0..CONNECTIONS {
                let (target, token) = (target.clone(), token.clone());
                tasks.push(tokio::spawn(async move {
                    let mut s = connect(&target).await;
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let code = if method == "GET" {
                            request(&mut s, &token, "GET", "/api/v1/namespaces/default/configmaps/target", None).await
                        } else {
                            let body = json!({"metadata": {"name": format!("c{c}-{n}")}, "data": {"k": "v"}}).to_string();
                            request(&mut s, &token, "POST", "/api/v1/namespaces/default/configmaps", Some(body)).await
                        };
                        assert!(code < 300, "{code}");
                        n += 1;
                    }
                    n
                }));
            }
            let start = Instant::now();
            let mut total = 0;
            for t in tasks {
                total += t.await.expect("client");
            }
            let secs = start.elapsed().as_secs_f64();
            println!("{}: {what} throughput, server on one core, {CONNECTIONS} loopback connections: {:.0} requests/s ({total} in {secs:.2} s)", transport(plain), total as f64 / secs);
        }
    });
    stop.send(()).expect("stop");
    handle.join().expect("server thread");
}

fn bench_watch_latency(plain: bool) {
    let (target, stop, handle) = server_on_one_core(plain);
    let token = target.token.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    rt.block_on(async {
        let mut w = connect(&target).await;
        // Start from "now": ask for the current resourceVersion first.
        let mut s = connect(&target).await;
        let rv = {
            s.ready().await.expect("ready");
            let req = http::Request::builder()
                .uri("/api/v1/namespaces/default/configmaps")
                .header("host", "127.0.0.1")
                .header("authorization", format!("Bearer {token}"))
                .body(Full::new(Bytes::new()))
                .expect("request");
            let body = s.send_request(req).await.expect("list").into_body().collect().await.expect("body").to_bytes();
            let v: Value = serde_json::from_slice(&body).expect("json");
            v["metadata"]["resourceVersion"].as_str().expect("rv").to_owned()
        };
        let req = http::Request::builder()
            .uri(format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"))
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let mut body = w.send_request(req).await.expect("watch").into_body();
        let mut samples = Vec::with_capacity(WATCH_SAMPLES);
        let mut buf = Vec::new();
        for i in 0..WATCH_SAMPLES {
            let t = Instant::now();
            let payload = json!({"metadata": {"name": format!("w{i}")}}).to_string();
            let (code, _) = tokio::join!(request(&mut s, &token, "POST", "/api/v1/namespaces/default/configmaps", Some(payload)), async {
                loop {
                    if let Some(p) = buf.iter().position(|b| *b == b'\n') {
                        buf.drain(..=p);
                        samples.push(t.elapsed());
                        return;
                    }
                    let frame = body.frame().await.expect("watch open").expect("frame");
                    if let Ok(d) = frame.into_data() {
                        buf.extend_from_slice(&d);
                    }
                }
            });
            assert_eq!(code, 201);
        }
        samples.sort();
        println!(
            "{}: watch latency write→event (from sending the create to receiving its event): p50 {}, p99 {}, max {} ({WATCH_SAMPLES} writes)",
            transport(plain),
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.99)),
            ms(*samples.last().expect("samples"))
        );
    });
    stop.send(()).expect("stop");
    handle.join().expect("server thread");
}

/// ValidatingAdmissionPolicies bound in the admission phase: enough to show the per-policy cost
/// on a write (each matches and evaluates one validation on every configmap create).
const BOUND_POLICIES: usize = 5;

/// Create throughput with no admission policy and with `BOUND_POLICIES` bound policies, over
/// plain HTTP (so TLS does not hide the difference). `cargo bench -p apiserver -- admission`
/// runs only this phase.
fn bench_admission() {
    let (target, stop, handle) = server_on_one_core(true);
    let token = target.token.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    rt.block_on(async {
        let mut s = connect(&target).await;
        for policies in [0, BOUND_POLICIES] {
            for i in 0..policies {
                let policy = json!({
                    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                    "metadata": {"name": format!("p{i}")},
                    "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                "operations": ["CREATE"], "resources": ["configmaps"]}]},
                             "validations": [{"expression": "object.data.k == 'v'"}]}
                });
                let binding = json!({
                    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                    "metadata": {"name": format!("p{i}")},
                    "spec": {"policyName": format!("p{i}"), "validationActions": ["Deny"]}
                });
                let base = "/apis/admissionregistration.k8s.io/v1";
                let code = request(&mut s, &token, "POST", &format!("{base}/validatingadmissionpolicies"), Some(policy.to_string())).await;
                assert_eq!(code, 201);
                let code = request(&mut s, &token, "POST", &format!("{base}/validatingadmissionpolicybindings"), Some(binding.to_string())).await;
                assert_eq!(code, 201);
            }
            let deadline = Instant::now() + LOAD_DURATION;
            let mut tasks = Vec::new();
            for c in 0..CONNECTIONS {
                let (target, token) = (target.clone(), token.clone());
                tasks.push(tokio::spawn(async move {
                    let mut s = connect(&target).await;
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let body = json!({"metadata": {"name": format!("a{policies}-{c}-{n}")}, "data": {"k": "v"}}).to_string();
                        let code = request(&mut s, &token, "POST", "/api/v1/namespaces/default/configmaps", Some(body)).await;
                        assert!(code < 300, "{code}");
                        n += 1;
                    }
                    n
                }));
            }
            let start = Instant::now();
            let mut total = 0;
            for t in tasks {
                total += t.await.expect("client");
            }
            let secs = start.elapsed().as_secs_f64();
            println!("http: create throughput with {policies} bound ValidatingAdmissionPolicies, server on one core, {CONNECTIONS} loopback connections: {:.0} requests/s ({total} in {secs:.2} s)", total as f64 / secs);
        }
    });
    stop.send(()).expect("stop");
    handle.join().expect("server thread");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this binary without it: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if std::env::args().any(|a| a == "admission") {
        bench_admission();
        return;
    }
    bench_idle_rss();
    let (ca_read, _) = bench_ca();
    let mut start = [Duration::ZERO; 2];
    let mut first_request = [Duration::ZERO; 2];
    for plain in [false, true] {
        start[usize::from(plain)] = bench_start(plain);
        first_request[usize::from(plain)] = bench_connect(plain);
        bench_get_latency(plain);
        bench_throughput(plain);
        bench_watch_latency(plain);
    }
    bench_admission();
    // What TLS adds to one test process's environment: the run's CA read once, the server's
    // leaf key and TLS set-up (start→ready, HTTPS − HTTP), and a handshake on each connection
    // the environment opens before it is ready.
    let handshake = first_request[0].saturating_sub(first_request[1]);
    let tls = ca_read + start[0].saturating_sub(start[1]) + handshake * ENV_CONNECTIONS;
    println!(
        "TLS cost per test process: {} (CA read {} + start→ready difference {} + {ENV_CONNECTIONS} handshakes × {})",
        ms(tls),
        ms(ca_read),
        ms(start[0].saturating_sub(start[1])),
        ms(handshake),
    );
    match recorded_environment_ready() {
        Some((run, processes, ready)) => println!(
            "environment start-up (fixtures, first touch → ready), median of run {run} ({processes} processes): {}; TLS is {:.1}% of it (target: under 10%)",
            ms(ready),
            100.0 * tls.as_secs_f64() / ready.as_secs_f64(),
        ),
        None => println!(
            "environment start-up: no run recorded under target/fixtures/ready/ (run the integration profile, or `cargo bench -p fixtures --bench ready`, first)"
        ),
    }
}

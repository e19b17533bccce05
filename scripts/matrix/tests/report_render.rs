//! The HTML report renders in a real browser: headless Chromium takes a screenshot of a report
//! made from fixed sample data, and the picture must show tables and timelines, not a blank
//! page. Skipped, with a message, where Chromium is not installed (scripts/install-deps
//! installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use matrix::events::{Outcome, TestTiming};
use matrix::model::{MachineCpu, MatrixData, ReadyTime, RunData};

/// A cold Chromium start on a loaded 2-core machine takes a few seconds; a minute means hung.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the test looks whether Chromium has exited.
const POLL: Duration = Duration::from_millis(50);
/// The window the screenshot shows (wide enough for the 1200 px timelines).
const WINDOW: (u32, u32) = (1400, 1000);

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// A matrix of two modes with 12 tests from two suites, one failure and one flaky test.
fn sample() -> MatrixData {
    let suites = ["controllers::workflowexecution", "fixtures::fixture"];
    let run = |mode: &str, jobs: u32, wall_s: f64| {
        let mut tests = Vec::new();
        let mut ready = Vec::new();
        let mut slot_free = vec![0.8_f64; jobs as usize];
        for i in 0..12u32 {
            // Lowest free slot, as nextest does; durations vary so the picture has gaps.
            let (slot, start) = slot_free
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            let dur = 1.0 + f64::from(i % 4) * 0.7;
            let name = format!("case_{i:02}");
            let outcome = match i {
                5 => Outcome::Failed,
                9 => Outcome::Flaky,
                _ => Outcome::Passed,
            };
            tests.push(TestTiming {
                suite: suites[(i % 2) as usize].into(),
                name: name.clone(),
                start_s: start,
                end_s: start + dur,
                outcome,
                attempts: 1,
                slowest_attempt_s: dur,
            });
            ready.push(ReadyTime {
                suite: "workflowexecution".into(),
                test: Some(name),
                pid: 1000 + i,
                slot: Some(slot as u32),
                ready_ms: 150.0 + f64::from(i) * 10.0,
                ready_at_s: start + 0.2,
                server_url: "http://127.0.0.1:1".into(),
                server_pid: 1000 + i,
            });
            slot_free[slot] = start + dur + if mode == "integration" { 0.05 } else { 0.6 };
        }
        RunData {
            mode: mode.into(),
            jobs,
            repeat: 1,
            run_id: Some(format!("{mode}-{jobs}")),
            wall_s,
            exit_code: Some(100),
            tests,
            ready,
            peak_rss_bytes: u64::from(jobs) * (120 << 20),
            peak_processes: jobs as usize,
            samples: 100,
            cpu: Some(MachineCpu {
                busy: 0.9,
                cores: 2,
            }),
            log: String::new(),
            privilege: None,
            phases: Vec::new(),
            cpu_series: Vec::new(),
            cores_allowed: Some(2),
        }
    };
    MatrixData {
        started_at_unix_ms: 1_764_000_000_000,
        baseline: Some("integration-single".into()),
        common_args: vec![
            "-E".into(),
            "package(fixtures) | binary(workflowexecution)".into(),
        ],
        runs: vec![
            run("integration", 1, 26.5),
            run("integration", 4, 8.7),
            run("integration-single", 4, 10.2),
        ],
    }
}

/// Runs Chromium on `page`, writing `png`; `Err` with its output when it fails or hangs.
fn screenshot(chromium: &Path, page: &Path, png: &Path, profile: &Path) -> Result<(), String> {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", chromium.display()))?;
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("chromium exited with {status}:\n{err}"))
                };
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "chromium did not finish within {CHROMIUM_TIMEOUT:?}"
                ));
            }
            Err(e) => return Err(format!("waiting for chromium: {e}")),
        }
    }
}

/// Width, height, distinct colours and the share of pixels that are not white.
fn png_stats(path: &Path) -> (u32, u32, usize, f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("open screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sane image size")];
    let info = reader.next_frame(&mut buf).expect("PNG pixel data");
    let channels = info.color_type.samples();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "unexpected bit depth");
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut non_white = 0usize;
    let mut total = 0usize;
    for px in pixels.chunks_exact(channels) {
        // Grey (1–2 channels) or RGB(A) (3–4).
        let rgb = if channels >= 3 {
            [px[0], px[1], px[2]]
        } else {
            [px[0]; 3]
        };
        colours.insert(rgb);
        total += 1;
        if rgb.iter().any(|c| *c < 240) {
            non_white += 1;
        }
    }
    (
        info.width,
        info.height,
        colours.len(),
        non_white as f64 / total.max(1) as f64,
    )
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED: chromium is not installed (scripts/install-deps installs it); the HTML report was not rendered"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let written = matrix::report::write_all(&sample(), &dir.path().join("matrix")).unwrap();
    let png = dir.path().join("report.png");
    let profile = dir.path().join("chromium-profile");
    screenshot(&chromium, &written.html, &png, &profile).unwrap();
    // Keep a copy where a human can look at it.
    let keep = std::env::var_os("MATRIX_SCREENSHOT").map(PathBuf::from);
    if let Some(keep) = &keep {
        std::fs::copy(&png, keep).unwrap();
    }
    let (w, h, colours, inked) = png_stats(&png);
    assert_eq!((w, h), WINDOW, "screenshot size");
    // Tables, text, suite colours, hatching and grey lanes: many colours, a good share of ink.
    assert!(
        colours >= 20,
        "only {colours} distinct colours: the page looks blank"
    );
    assert!(
        inked > 0.05,
        "only {:.1}% of the pixels are not white: the page looks blank",
        inked * 100.0
    );
}

#[test]
fn a_blank_page_fails_the_checks() {
    let Some(chromium) = chromium() else {
        eprintln!("SKIPPED: chromium is not installed (scripts/install-deps installs it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("blank.html");
    std::fs::write(&page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let png = dir.path().join("blank.png");
    screenshot(&chromium, &page, &png, &dir.path().join("profile")).unwrap();
    let (_, _, colours, inked) = png_stats(&png);
    assert!(
        colours < 20 && inked <= 0.05,
        "a blank page passed the checks: {colours} colours, {inked}"
    );
}

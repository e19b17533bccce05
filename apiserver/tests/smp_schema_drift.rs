//! Fails when `src/smp/schema.rs` (the strategic-merge-patch merge keys of the built-in types) no
//! longer matches what `scripts/gen_smp_schema.py` generates from the k8s-openapi sources this
//! workspace builds with, e.g. after a k8s-openapi upgrade or a hand edit.
//!
//! Offline and deterministic: the k8s-openapi sources are the ones cargo already downloaded (found
//! with `cargo metadata --offline`), and the API version module is the `v1_*` feature cargo resolved.
//! Needs `python3` (scripts/install-deps installs it). Where the sources were never downloaded (a
//! test binary run from a nextest archive on a machine that never built the workspace, as CI's
//! shards do), cargo says it cannot fetch them offline and the test says it is skipped and why;
//! every other failure to find them fails the test.

mod k8s_sources;

use std::process::Command;

use k8s_sources::{
    Unavailable, k8s_openapi_version_module, manifest_dir, only_not_downloaded, run,
};

#[test]
fn generated_merge_key_table_matches_k8s_openapi() {
    let source = match k8s_openapi_version_module() {
        Ok(source) => source,
        Err(Unavailable::NotDownloaded(why)) => {
            eprintln!(
                "SKIPPED generated_merge_key_table_matches_k8s_openapi: the k8s-openapi sources were never downloaded to this machine ({why})"
            );
            return;
        }
        Err(Unavailable::Broken(why)) => {
            panic!("cannot find the k8s-openapi sources to regenerate the merge-key table: {why}")
        }
    };
    assert!(
        source.is_dir(),
        "k8s-openapi sources not found at {}",
        source.display()
    );
    let script = manifest_dir().join("scripts/gen_smp_schema.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script).arg(&source);
    let out = run(cmd, "python3").unwrap_or_else(|e| {
        panic!("cannot run python3 (install it, e.g. with scripts/install-deps): {e}")
    });
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).expect("UTF-8 output");
    let checked_in = std::fs::read_to_string(manifest_dir().join("src/smp/schema.rs"))
        .expect("read src/smp/schema.rs");
    // The table is large: name the first difference rather than dumping both.
    let first_difference = generated
        .lines()
        .zip(checked_in.lines())
        .enumerate()
        .find(|(_, (g, c))| g != c)
        .map(|(i, (g, c))| format!("line {}: generated `{g}`, checked in `{c}`", i + 1));
    assert!(
        generated == checked_in,
        "apiserver/src/smp/schema.rs is out of date ({}; {} generated lines, {} checked in). Regenerate it:\n  python3 apiserver/scripts/gen_smp_schema.py {} > apiserver/src/smp/schema.rs",
        first_difference.unwrap_or_else(|| "one is a prefix of the other".into()),
        generated.lines().count(),
        checked_in.lines().count(),
        source.display()
    );
    // A generator that silently found nothing would "match" an empty table.
    assert!(generated.contains("name: \"containers\""));
    assert!(generated.contains(
        "Field { ty: \"api::core::v1::PodSpec\", name: \"containers\", child: \"api::core::v1::Container\", strategy: Strategy::MapList, key: \"name\" }"
    ));
}

#[test]
fn only_a_missing_download_is_a_reason_to_skip() {
    assert!(only_not_downloaded(
        "error: failed to download `k8s-openapi v0.29.0`\n\nCaused by:\n  attempting to make an HTTP request, but --offline was specified"
    ));
    // What cargo 1.95 says with an empty CARGO_HOME.
    assert!(only_not_downloaded(
        "error: no matching package named `base64` found\nlocation searched: crates.io index\nrequired by package `apiserver v0.1.0 (/w/apiserver)`\nAs a reminder, you're using offline mode (--offline) which can sometimes cause surprising resolution failures"
    ));
    assert!(!only_not_downloaded(
        "error: failed to parse manifest at `/x/Cargo.toml`"
    ));
    assert!(!only_not_downloaded(
        "error: could not find `Cargo.toml` in `/x` or any parent directory"
    ));
}

//! Fails when `src/protobuf/schema.rs` (the protobuf messages of the built-in types, their JSON
//! names and Go presence rules) no longer matches what `scripts/gen_proto_schema.py table`
//! generates from the k8s-pb prost definitions and `src/protobuf/go_fields.tsv` (the Go struct
//! tags), e.g. after a k8s-pb or k8s-openapi upgrade or a hand edit.
//!
//! Offline, like `smp_schema_drift.rs`: the sources are the crates cargo already downloaded. Skipped,
//! saying why, only where they were never downloaded.

mod k8s_sources;

use std::process::Command;

use k8s_sources::{Unavailable, k8s_openapi_version_module, k8s_pb_sources, manifest_dir, run};

#[test]
fn generated_protobuf_table_matches_k8s_pb() {
    let sources = k8s_pb_sources().and_then(|pb| Ok((pb, k8s_openapi_version_module()?)));
    let (pb, openapi) = match sources {
        Ok(s) => s,
        Err(Unavailable::NotDownloaded(why)) => {
            eprintln!(
                "SKIPPED generated_protobuf_table_matches_k8s_pb: the k8s-pb or k8s-openapi sources were never downloaded to this machine ({why})"
            );
            return;
        }
        Err(Unavailable::Broken(why)) => {
            panic!(
                "cannot find the k8s-pb and k8s-openapi sources to regenerate the protobuf table: {why}"
            )
        }
    };
    let script = manifest_dir().join("scripts/gen_proto_schema.py");
    let facts = manifest_dir().join("src/protobuf/go_fields.tsv");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg("table")
        .arg(&pb)
        .arg(&facts)
        .arg(&openapi);
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
    let checked_in = std::fs::read_to_string(manifest_dir().join("src/protobuf/schema.rs"))
        .expect("read src/protobuf/schema.rs");
    let first_difference = generated
        .lines()
        .zip(checked_in.lines())
        .enumerate()
        .find(|(_, (g, c))| g != c)
        .map(|(i, (g, c))| format!("line {}: generated `{g}`, checked in `{c}`", i + 1));
    assert!(
        generated == checked_in,
        "apiserver/src/protobuf/schema.rs is out of date ({}). Regenerate it:\n  python3 apiserver/scripts/gen_proto_schema.py table {} {} {} > apiserver/src/protobuf/schema.rs",
        first_difference.unwrap_or_else(|| "one is a prefix of the other".into()),
        pb.display(),
        facts.display(),
        openapi.display()
    );
    // A generator that silently found nothing would "match" an empty table.
    assert!(generated.contains(
        "F { tag: 1, json: \"replicas\", kind: K::I32, card: C::One, presence: P::Pointer, inline: false }"
    ));
    assert!(generated.contains("(\"apps/v1\", \"Deployment\","));
}

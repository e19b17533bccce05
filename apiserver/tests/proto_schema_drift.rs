//! Fails when `src/protobuf/schema.rs` (the protobuf messages of the built-in types, their JSON
//! names and Go presence rules) no longer matches what `scripts/gen_proto_schema.py table`
//! generates from `src/protobuf/proto_fields.tsv` (the release's generated.proto),
//! `src/protobuf/go_fields.tsv` (the Go struct tags) and k8s-openapi's types, e.g. after a
//! k8s-openapi upgrade, new facts or a hand edit.
//!
//! Offline, like `smp_schema_drift.rs`: k8s-openapi's sources are the crate cargo already
//! downloaded. Skipped, saying why, only where it was never downloaded.

mod k8s_sources;

use std::process::Command;

use k8s_sources::{Unavailable, k8s_openapi_version_module, manifest_dir, run};

#[test]
fn generated_protobuf_table_matches_the_facts() {
    let openapi = match k8s_openapi_version_module() {
        Ok(s) => s,
        Err(Unavailable::NotDownloaded(why)) => {
            eprintln!(
                "SKIPPED generated_protobuf_table_matches_the_facts: the k8s-openapi sources were never downloaded to this machine ({why})"
            );
            return;
        }
        Err(Unavailable::Broken(why)) => {
            panic!("cannot find the k8s-openapi sources to regenerate the protobuf table: {why}")
        }
    };
    let script = manifest_dir().join("scripts/gen_proto_schema.py");
    let protos = manifest_dir().join("src/protobuf/proto_fields.tsv");
    let facts = manifest_dir().join("src/protobuf/go_fields.tsv");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg("table")
        .arg(&protos)
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
        protos.display(),
        facts.display(),
        openapi.display()
    );
    // A generator that silently found nothing would "match" an empty table.
    assert!(generated.contains(
        "F { tag: 1, json: \"replicas\", kind: K::I32, card: C::One, presence: P::Pointer, inline: false }"
    ));
    assert!(generated.contains("(\"apps/v1\", \"Deployment\","));
    // Kinds newer than k8s-pb 0.9 (the table's former source) have their messages.
    assert!(
        generated.contains("(\"admissionregistration.k8s.io/v1\", \"MutatingAdmissionPolicy\",")
    );
}

//! Fails when the Kubernetes API documentation and our defaulting disagree: every field of a
//! built-in type whose documentation (k8s-openapi 0.29's `v1_37` sources, i.e. the OpenAPI
//! descriptions of kube 1.37) says it defaults must be either defaulted by a table of
//! `apiserver::defaults` or listed in `defaults::NOT_DEFAULTED` with the reason; and neither list
//! may name a field the documentation no longer calls defaulted.
//!
//! Offline; skipped (saying so) only when cargo says the sources were never downloaded, as in
//! `smp_schema_drift.rs`.

mod k8s_sources;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use k8s_sources::{Unavailable, k8s_openapi_version_module};

/// Words that mark a documented default.
const MARKERS: &[&str] = &[
    "defaults to",
    "default to",
    "default is",
    "default value is",
    "defaulted",
    "by default",
];

/// (type, JSON field) -> the sentence of its documentation that names the default.
fn documented(root: &Path) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a k8s-openapi source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs")
                || path.file_name().is_some_and(|n| n == "mod.rs")
            {
                continue;
            }
            let src = std::fs::read_to_string(&path).expect("read a k8s-openapi source file");
            let rel = path.strip_prefix(root).expect("under the root");
            let module: Vec<String> = rel
                .parent()
                .into_iter()
                .flat_map(|p| p.iter())
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            out.extend(struct_defaults(&src, &module));
        }
    }
    out
}

/// The documented defaults of the one struct a k8s-openapi file defines.
fn struct_defaults(src: &str, module: &[String]) -> Vec<((String, String), String)> {
    let Some(start) = src.find("pub struct ") else {
        return Vec::new();
    };
    let rest = &src[start + "pub struct ".len()..];
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let body = &rest[..rest.find("\n}").unwrap_or(rest.len())];
    let ty = format!("{}::{name}", module.join("::"));
    // The JSON name of each Rust field, from the generated deserializer.
    let mut json_names = BTreeMap::new();
    for line in src.lines() {
        let line = line.trim();
        if let Some((json, rust)) = line
            .strip_prefix('"')
            .and_then(|l| l.split_once("\" => Field::Key_"))
        {
            json_names.insert(rust.trim_end_matches(',').to_owned(), json.to_owned());
        }
    }
    let mut out = Vec::new();
    let mut doc = String::new();
    for line in body.lines() {
        let line = line.trim();
        if let Some(d) = line.strip_prefix("///") {
            doc.push(' ');
            doc.push_str(d.trim());
            continue;
        }
        if let Some(field) = line.strip_prefix("pub ").and_then(|l| l.split_once(':')) {
            let lower = doc.to_lowercase();
            if let Some(at) = MARKERS.iter().filter_map(|m| lower.find(m)).min() {
                let rust = field.0.trim();
                let json = json_names
                    .get(rust)
                    .cloned()
                    .unwrap_or_else(|| rust.to_owned());
                let from = doc[..at].rfind(". ").map_or(0, |i| i + 2);
                let to = doc[at..].find(". ").map_or(doc.len(), |i| at + i + 1);
                out.push(((ty.clone(), json), doc[from..to].trim().to_owned()));
            }
        }
        if !line.is_empty() {
            doc.clear();
        }
    }
    out
}

#[test]
fn every_documented_default_is_applied_or_listed_with_a_reason() {
    let source = match k8s_openapi_version_module() {
        Ok(source) => source,
        Err(Unavailable::NotDownloaded(why)) => {
            eprintln!(
                "SKIPPED every_documented_default_is_applied_or_listed_with_a_reason: the k8s-openapi sources were never downloaded to this machine ({why})"
            );
            return;
        }
        Err(Unavailable::Broken(why)) => {
            panic!("cannot find the k8s-openapi sources to read the documented defaults: {why}")
        }
    };
    let served = apiserver::defaults::served_types();
    let docs: BTreeMap<_, _> = documented(&source)
        .into_iter()
        .filter(|((ty, _), _)| served.contains(ty.as_str()))
        .collect();
    // A parser that found nothing would pass vacuously.
    assert!(
        docs.len() > 100,
        "only {} documented defaults found under {}: has the k8s-openapi layout changed?",
        docs.len(),
        source.display()
    );
    let declared: BTreeSet<(String, String)> = apiserver::defaults::declared()
        .into_iter()
        .map(|(t, f)| (t.to_owned(), f.to_owned()))
        .collect();
    let mut exempt = BTreeSet::new();
    for (ty, field, reason) in apiserver::defaults::NOT_DEFAULTED {
        assert!(
            !reason.trim().is_empty(),
            "NOT_DEFAULTED lists {ty}.{field} without a reason"
        );
        assert!(
            exempt.insert((ty.to_string(), field.to_string())),
            "NOT_DEFAULTED lists {ty}.{field} twice"
        );
    }
    let contradictions: Vec<_> = declared.intersection(&exempt).collect();
    assert!(
        contradictions.is_empty(),
        "defaulted by a table AND listed in NOT_DEFAULTED: {contradictions:?}"
    );
    let missing: Vec<String> = docs
        .iter()
        .filter(|(k, _)| !declared.contains(*k) && !exempt.contains(*k))
        .map(|((t, f), doc)| format!("  {t}.{f}: {doc}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} documented defaults are neither defaulted (apiserver/src/defaults/) nor listed with a reason in defaults::NOT_DEFAULTED:\n{}",
        missing.len(),
        missing.join("\n")
    );
    let stale: Vec<_> = exempt.iter().filter(|k| !docs.contains_key(*k)).collect();
    assert!(
        stale.is_empty(),
        "NOT_DEFAULTED lists fields the 1.37 documentation does not call defaulted (remove them): {stale:?}"
    );
}

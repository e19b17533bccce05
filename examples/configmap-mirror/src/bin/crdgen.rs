//! Writes the ConfigMapMirror CRD to `crd/configmapmirrors.example.dev.yaml` (or the file given
//! as the only argument): the Rust type is the one source of truth.

use std::path::PathBuf;

use anyhow::Context as _;

const DEFAULT_OUT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crd/configmapmirrors.example.dev.yaml"
);

fn main() -> anyhow::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
    let yaml = example_configmap_mirror::api::crd_yaml().context("failed to render the CRD")?;
    std::fs::write(&out, yaml).with_context(|| format!("failed to write {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}

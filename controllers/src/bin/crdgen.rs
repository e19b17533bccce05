//! Writes the kubernaut CRD manifests to `crds/` (or the directory given as the only argument),
//! one `<plural>.kubernaut.ai.yaml` per CRD, removing stale `*.kubernaut.ai.yaml` files.

use std::path::PathBuf;

use anyhow::Context as _;

/// Default output directory: `crds/` at the workspace root.
const DEFAULT_OUT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds");

fn main() -> anyhow::Result<()> {
    let out_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    run(&out_dir)
}

fn run(out_dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("failed to create {}", out_dir.display()))?;
    let files = controllers::api::crds::rendered()?;
    // Remove files of CRDs that no longer exist, so the directory mirrors the code exactly.
    for entry in std::fs::read_dir(out_dir)
        .with_context(|| format!("failed to list {}", out_dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with(".kubernaut.ai.yaml") && !files.iter().any(|(f, _)| *f == name) {
            std::fs::remove_file(&path)
                .with_context(|| format!("failed to remove stale {}", path.display()))?;
        }
    }
    for (name, yaml) in &files {
        let path = out_dir.join(name);
        std::fs::write(&path, yaml)
            .with_context(|| format!("failed to write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

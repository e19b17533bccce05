//! Writes each controller's RBAC manifests (ServiceAccount, ClusterRole, ClusterRoleBinding) to
//! `controllers/rbac/` (or the directory given as the only argument), one `<controller>.yaml`
//! per controller, removing the files of controllers that no longer declare any.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Default output directory: `controllers/rbac/`.
const DEFAULT_OUT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rbac");

fn main() -> anyhow::Result<()> {
    let out_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    run(&out_dir)
}

fn run(out_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("failed to create {}", out_dir.display()))?;
    let files = controllers::rbac::rendered()?;
    // The directory holds only generated files: remove those of controllers that are gone, so
    // it mirrors the declarations exactly.
    for entry in std::fs::read_dir(out_dir)
        .with_context(|| format!("failed to list {}", out_dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with(".yaml") && !files.iter().any(|(f, _)| *f == name) {
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

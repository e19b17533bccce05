//! Writes a generated manifest directory (`crds/`, `controllers/rbac/`): the files rendered from
//! the Rust declarations, after removing the generator's files whose declaration is gone, so the
//! directory mirrors the code exactly. Shared by `crdgen` and `rbacgen`.

use std::path::Path;

use anyhow::Context as _;

/// Writes `files` (file name, text) to `out_dir`, first removing each file of `out_dir` that
/// `owned` says the generator writes and that `files` no longer names.
pub fn write_dir(
    out_dir: &Path,
    files: &[(String, String)],
    owned: impl Fn(&str) -> bool,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("failed to create {}", out_dir.display()))?;
    for entry in std::fs::read_dir(out_dir)
        .with_context(|| format!("failed to list {}", out_dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if owned(&name) && !files.iter().any(|(f, _)| *f == name) {
            std::fs::remove_file(&path)
                .with_context(|| format!("failed to remove stale {}", path.display()))?;
        }
    }
    for (name, text) in files {
        let path = out_dir.join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("failed to write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

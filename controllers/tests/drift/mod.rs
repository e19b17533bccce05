//! The drift check shared by the generated manifest directories (`crds/`, `controllers/rbac/`):
//! every file the generator would write is on disk with exactly that text, and no file the
//! generator owns is left over from a declaration that is gone.

use std::path::Path;

/// Compares `dir` with `expected` (file name, text). `owned` says which files of `dir` the
/// generator writes; `source` names what the files are generated from; `regenerate` is the
/// command that rewrites them, quoted in every failure.
pub fn check_generated_dir(
    dir: &Path,
    expected: &[(String, String)],
    owned: impl Fn(&str) -> bool,
    source: &str,
    regenerate: &str,
) {
    for (name, text) in expected {
        let path = dir.join(name);
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}; {regenerate}", path.display()));
        assert!(
            on_disk == *text,
            "{} is out of date with {source}; {regenerate}",
            path.display()
        );
    }
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}; {regenerate}", dir.display()));
    for entry in entries {
        let name = entry
            .expect("directory entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            !owned(&name) || expected.iter().any(|(f, _)| *f == name),
            "{}/{name} has no declaration in {source} any more; {regenerate} (it removes stale files)",
            dir.display()
        );
    }
}

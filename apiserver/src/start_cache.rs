//! Owns the start cache: a directory of start snapshots ([`crate::store::Store::snapshot`]),
//! one per set of start inputs, so that the next server started with the same inputs — the
//! next test process of a run — restores what the first one built instead of building it again.
//! [`StartCache::derived`] names the files of what a build derives without any input, the
//! built-in types' decoding trees (`crate::keep_decoding_trees_in`) and the syntax trees of CRD
//! validation rules ([`keep_cel_trees_in`]), with the same build key.
//!
//! The key covers everything the snapshot depends on: this build of the server (the running
//! executable's path, size and modification time, and the crate version), the options that
//! change what is stored at start (namespace defaults, the service ranges), the CRDs (each
//! CRD directory's YAML files, by name and content, and the CRDs given as values) and the
//! objects created at start (`Builder::object`, with their field managers). A miss, an
//! unreadable or undecodable snapshot, or a directory that cannot be written costs only the
//! saving: the server then starts the full way, and says why in a `debug` log line.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use xxhash_rust::xxh3::Xxh3;

/// Bumped whenever the snapshot's format or what `restore` expects of it changes.
const FORMAT: &str = "apiserver-start-snapshot/3";

/// The snapshot file of one set of start inputs.
pub(crate) struct StartCache {
    path: PathBuf,
}

/// The inputs of a start that decide what is stored before the first request.
pub(crate) struct Inputs<'a> {
    pub namespace_defaults: bool,
    /// `--allow-privileged`: it decides which start objects are accepted.
    pub allow_privileged: bool,
    pub service_cidr: &'a str,
    pub node_port_range: &'a str,
    pub crd_dirs: &'a [PathBuf],
    pub crds: &'a [(String, Value)],
    /// `Builder::object`'s objects, with their field managers.
    pub objects: &'a [(String, Value)],
}

impl StartCache {
    /// The snapshot file for `inputs` in `dir`; `None` when this build cannot be identified
    /// (no executable path), which disables the cache rather than risk a stale snapshot.
    /// A CRD directory that cannot be read is the start's own error.
    pub(crate) fn new(dir: &Path, inputs: &Inputs<'_>) -> Result<Option<Self>, crate::Error> {
        let Some(build) = build_identity() else {
            return Ok(None);
        };
        // xxh3, not a cryptographic digest: the key guards against stale snapshots, not against
        // an adversary, and hashing the CRD files with SHA-256 was 2.6 M instructions of every
        // test process (callgrind).
        let mut hash = Xxh3::new();
        let mut field = |bytes: &[u8]| {
            // Length-prefixed, so that no two different inputs hash the same bytes.
            hash.update(&(bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        field(FORMAT.as_bytes());
        field(env!("CARGO_PKG_VERSION").as_bytes());
        field(build.as_bytes());
        field(&[u8::from(inputs.namespace_defaults)]);
        field(&[u8::from(inputs.allow_privileged)]);
        field(inputs.service_cidr.as_bytes());
        field(inputs.node_port_range.as_bytes());
        for dir in inputs.crd_dirs {
            for path in crate::server::crd_files(dir)? {
                let bytes = std::fs::read(&path).map_err(|source| crate::Error::ReadCrds {
                    path: path.clone(),
                    source,
                })?;
                field(path.file_name().unwrap_or_default().as_encoded_bytes());
                field(&bytes);
            }
        }
        for (origin, crd) in inputs.crds {
            field(origin.as_bytes());
            field(&serde_json::to_vec(crd).unwrap_or_default());
        }
        for (manager, obj) in inputs.objects {
            field(manager.as_bytes());
            field(&serde_json::to_vec(obj).unwrap_or_default());
        }
        Ok(Some(Self {
            path: dir.join(format!("start-{:032x}.json", hash.digest128())),
        }))
    }

    /// The cache file of something derived from this build alone, not from a start's inputs
    /// (a built-in type's decoding tree), named by `what`, in `dir`: `<prefix>-<hash>.json`.
    /// `None` when this build cannot be identified.
    pub(crate) fn derived(dir: &Path, prefix: &str, what: &str) -> Option<Self> {
        let build = build_identity()?;
        let mut hash = Xxh3::new();
        for bytes in [
            FORMAT.as_bytes(),
            env!("CARGO_PKG_VERSION").as_bytes(),
            build.as_bytes(),
            prefix.as_bytes(),
            what.as_bytes(),
        ] {
            hash.update(&(bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        }
        Some(Self {
            path: dir.join(format!("{prefix}-{:032x}.json", hash.digest128())),
        })
    }

    /// The snapshot, if an earlier start wrote one.
    pub(crate) fn read(&self) -> Option<Vec<u8>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::debug!(path = %self.path.display(), error = %e, "start snapshot unreadable; starting the full way");
                None
            }
        }
    }

    /// Writes `snapshot` for the next start: to a file of this process's, renamed into place, so
    /// that processes starting at the same moment never read a partial file.
    pub(crate) fn write(&self, snapshot: &[u8]) {
        let Some(dir) = self.path.parent() else {
            return;
        };
        let tmp = dir.join(format!(
            ".{}.{}.{:x}.tmp",
            self.path.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id(),
            rand::random::<u32>()
        ));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::File::create(&tmp))
            .and_then(|mut f| f.write_all(snapshot))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::debug!(path = %self.path.display(), error = %e, "start snapshot not written; the next start builds its own");
        }
    }

    /// The file this cache reads and writes.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// This build of the server: the running executable's path, size and modification time.
fn build_identity() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&exe).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!(
        "{}\0{}\0{}",
        exe.display(),
        meta.len(),
        modified.as_nanos()
    ))
}

/// The syntax trees of CRD validation rules, one file per rule text (`cel-<key>.json`, keyed by
/// this build and the text) in a start cache directory.
struct CelTrees(PathBuf);

impl crd_schema::ExpressionCache for CelTrees {
    fn load(&self, source: &str) -> Option<Vec<u8>> {
        StartCache::derived(&self.0, "cel", source)?.read()
    }

    fn store(&self, source: &str, encoded: &[u8]) {
        if let Some(file) = StartCache::derived(&self.0, "cel", source) {
            file.write(encoded);
        }
    }
}

/// Makes every CRD schema compiled in this process keep the syntax trees of its CEL rules in
/// `dir`, and read them from there instead of parsing when an earlier process of the same build
/// wrote them: for the processes of one test run, e.g. in their start cache directory. The first
/// parse of a rule in a process costs about 4 M instructions (cel's parser starts each process
/// with empty prediction tables), reading its tree back a few thousand. Process-wide: the first
/// call wins and answers `true`. A file that cannot be read or written only costs the saving.
pub fn keep_cel_trees_in(dir: impl Into<PathBuf>) -> bool {
    crd_schema::keep_expressions_in(Box::new(CelTrees(dir.into())))
}

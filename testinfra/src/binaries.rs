//! Finds the PostgreSQL and Redis server binaries: PATH first, then Debian's versioned
//! `/usr/lib/postgresql/<major>/bin` (where the server binaries live, off PATH), newest first.

use std::env;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where Debian and Ubuntu install one directory per PostgreSQL major version.
const DEBIAN_PG_ROOT: &str = "/usr/lib/postgresql";

/// Overrides `/usr/lib/postgresql` (another layout, or a test that needs PostgreSQL absent).
pub const PG_ROOT_VAR: &str = "TESTINFRA_POSTGRES_ROOT";

/// The PostgreSQL programs we run.
#[derive(Debug, Clone)]
pub struct PostgresBinaries {
    /// `initdb`, creates a cluster.
    pub initdb: PathBuf,
    /// `postgres`, the server.
    pub postgres: PathBuf,
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds `initdb` and `postgres` (from the same directory, so their versions match).
pub fn postgres() -> Result<PostgresBinaries> {
    let root = env::var_os(PG_ROOT_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEBIAN_PG_ROOT));
    postgres_in(
        env::var_os("PATH")
            .as_deref()
            .map(env::split_paths)
            .into_iter()
            .flatten(),
        &root,
    )
}

fn postgres_in(
    path_dirs: impl Iterator<Item = PathBuf>,
    debian_root: &Path,
) -> Result<PostgresBinaries> {
    let pair = |dir: &Path| {
        let initdb = dir.join("initdb");
        let postgres = dir.join("postgres");
        (is_executable(&initdb) && is_executable(&postgres))
            .then_some(PostgresBinaries { initdb, postgres })
    };
    for dir in path_dirs {
        // PATH may hold symlinks into a versioned directory (Debian's /usr/local/bin links);
        // resolve them so both programs come from the same installation.
        if let Some(found) = pair(&dir) {
            let initdb = found.initdb.canonicalize().unwrap_or(found.initdb);
            let postgres = found.postgres.canonicalize().unwrap_or(found.postgres);
            return Ok(PostgresBinaries { initdb, postgres });
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(debian_root)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    versions
        .iter()
        .find_map(|(_, dir)| pair(dir))
        .ok_or(Error::BinaryNotFound {
            component: "PostgreSQL",
            binary: "initdb",
            extra: " and in /usr/lib/postgresql/*/bin",
        })
}

/// Finds `redis-server`.
pub fn redis() -> Result<PathBuf> {
    on_path("redis-server").ok_or(Error::BinaryNotFound {
        component: "Redis",
        binary: "redis-server",
        extra: "",
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn touch_exe(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn newest_debian_version_wins_when_not_on_path() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9", "15", "16"] {
            touch_exe(&root.path().join(v).join("bin/initdb"));
            touch_exe(&root.path().join(v).join("bin/postgres"));
        }
        // 17 has no server: must be skipped.
        touch_exe(&root.path().join("17/bin/initdb"));
        let found = postgres_in(std::iter::empty(), root.path()).unwrap();
        assert_eq!(found.postgres, root.path().join("16/bin/postgres"));
    }

    #[test]
    fn missing_binaries_name_the_fix() {
        let root = tempfile::tempdir().unwrap();
        let err = postgres_in(std::iter::empty(), root.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("PostgreSQL server binaries not found: run scripts/install-deps"),
            "{err}"
        );
    }
}

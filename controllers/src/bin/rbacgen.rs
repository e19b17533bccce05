//! Writes each controller's RBAC manifests (ServiceAccount, ClusterRole, ClusterRoleBinding) to
//! `controllers/rbac/` (or the directory given as the only argument), one `<controller>.yaml`
//! per controller, removing the files of controllers that no longer declare any.

use std::path::PathBuf;

mod generated;

/// Default output directory: `controllers/rbac/`.
const DEFAULT_OUT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rbac");

fn main() -> anyhow::Result<()> {
    let out_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    run(&out_dir)
}

fn run(out_dir: &std::path::Path) -> anyhow::Result<()> {
    generated::write_dir(out_dir, &controllers::rbac::rendered()?, |name| {
        name.ends_with(".yaml")
    })
}

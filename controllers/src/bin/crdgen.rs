//! Writes the kubernaut CRD manifests to `crds/` (or the directory given as the only argument),
//! one `<plural>.kubernaut.ai.yaml` per CRD, removing stale `*.kubernaut.ai.yaml` files.

use std::path::PathBuf;

mod generated;

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
    generated::write_dir(out_dir, &controllers::api::crds::rendered()?, |name| {
        name.ends_with(".kubernaut.ai.yaml")
    })
}

//! Makes every build of the workspace compile each dependency with the same features.
//!
//! Cargo resolves features per command: `cargo build -p apiserver` enables only what apiserver
//! needs, `cargo nextest run --workspace` the union of every member and its dev-dependencies, so
//! each command compiled its own variant of serde, tokio, kube and the rest, and alternating
//! between them rebuilt most of the tree (issue 15: minutes per switch on 2 cores). Every member
//! depends on this crate, and its `Cargo.toml` lists the union of the features the workspace
//! uses (written by `cargo hakari generate`, from `.config/hakari.toml`), so every command
//! resolves the same set and they share one build.
//!
//! There is no code here. When a dependency or a feature changes, regenerate:
//!
//! ```sh
//! cargo hakari generate && cargo hakari manage-deps
//! ```
//!
//! `scripts/hakari-check` (run by `scripts/test-all`) fails when the list is stale.

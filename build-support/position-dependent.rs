//! The build script of every workspace package (`build = "../build-support/position-dependent.rs"`
//! in its `Cargo.toml`): links the package's executables (its test binaries above all) as
//! position-dependent executables, `-no-pie`.
//!
//! Why: nextest starts a fresh process for every test, and a position-independent debug test
//! binary (about 125 MB for a controller suite) carries about 186,000 relative relocations that
//! the dynamic loader applies at every start: it reads 4.4 MB of relocation records and writes to
//! every page of `.data.rel.ro` and the GOT (3.2 MB), copying each. `perf record -e page-faults`
//! put a quarter of a WorkflowExecution test process's page faults in `_dl_relocate_object`. In a
//! position-dependent executable the linker fixes those addresses once. Measured on the
//! controllers' suites at -j 1 (README, "Measured figures"): 29% fewer page faults, 5 MB less
//! peak RSS and 7% less CPU per test process.
//!
//! `cargo::rustc-link-arg` reaches every linked target of the package: its library's unit-test
//! harness, integration tests, benches, examples and binaries, never its rlib. None of these
//! packages is a proc-macro or cdylib, which `-no-pie` would break (a shared object's link must
//! stay position-independent): that is why this is a per-package link argument and not a
//! workspace-wide rustflag, which would also reach the proc-macros of dependencies. What the
//! executables lose is address-space layout randomisation of their own code: they are test
//! processes and loopback test servers, and a downstream user of these crates as libraries links
//! their own executables as they choose.
fn main() {
    println!("cargo::rustc-link-arg=-no-pie");
}

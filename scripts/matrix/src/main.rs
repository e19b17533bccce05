//! `matrix`: runs the integration profile at several `-j` levels and writes
//! `target/matrix/report.{md,html,json}`. See `matrix --help`.

use clap::Parser as _;

fn main() -> anyhow::Result<()> {
    let args = matrix::Args::parse();
    matrix::run(&args)?;
    Ok(())
}

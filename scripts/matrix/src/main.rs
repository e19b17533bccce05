//! `matrix`: runs the integration profile at several `-j` levels and writes
//! `target/matrix/report.{md,html,json}`; `matrix soak` runs one profile N times under CPU stress
//! and writes `target/soak/soak.{md,json}`. See `matrix --help` and `matrix soak --help`.

use clap::Parser as _;

fn main() -> anyhow::Result<()> {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "soak") {
        argv.remove(1);
        matrix::soak::run(&matrix::soak::SoakArgs::parse_from(argv))?;
        return Ok(());
    }
    let args = matrix::Args::parse_from(argv);
    matrix::run(&args)?;
    Ok(())
}

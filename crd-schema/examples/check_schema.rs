//! Compiles each `openAPIV3Schema` JSON file given on the command line and prints the result:
//! a quick way to see whether a CRD schema is accepted, and why not.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{path}: cannot read: {e}");
                failed = true;
                continue;
            }
        };
        let schema: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{path}: not JSON: {e}");
                failed = true;
                continue;
            }
        };
        match crd_schema::Schema::compile(&schema) {
            Ok(_) => println!("{path}: ok"),
            Err(e) => {
                failed = true;
                println!("{path}: rejected");
                for c in e.causes() {
                    println!("  {c}");
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

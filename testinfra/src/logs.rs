//! Log files for daemons: every daemon's stdio goes to a file, never to the caller's pipes (a
//! daemon holding nextest's pipe open marks the setup script leaky and can break the run).

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::process::Stdio;

use crate::error::{Error, Result};

/// How many trailing log lines an error message quotes.
const TAIL_LINES: usize = 8;

/// Opens `path` for appending (restarts of a daemon add to the same log) as stdout + stderr.
pub fn stdio(component: &'static str, path: &Path) -> Result<(Stdio, Stdio)> {
    let file = open_append(component, path)?;
    let err = file
        .try_clone()
        .map_err(Error::io(component, "duplicate log file handle", path))?;
    Ok((Stdio::from(file), Stdio::from(err)))
}

fn open_append(component: &'static str, path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(Error::io(component, "open log file", path))
}

/// The last lines of a log file, for error messages; empty when unreadable.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// Whether the log says a bind failed because the address is in use (PostgreSQL and Redis
/// both print the OS message).
pub fn says_address_in_use(path: &Path) -> bool {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).contains("Address already in use"))
        .unwrap_or(false)
}

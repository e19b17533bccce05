//! Picks free loopback ports.
//!
//! The kernel hands out a free port for a bind to port 0; we release it and give the number to
//! a daemon. Another process may grab it in between: daemons report that as
//! [`crate::Error::PortTaken`] and the starters retry with a fresh port.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

use crate::error::{Error, Result};

/// A port grabbed by someone else between our choice and the server's bind is retried with a
/// fresh port this many times.
const PORT_ATTEMPTS: usize = 3;

/// Runs `launch_on(port)` on `fixed` once, or on up to [`PORT_ATTEMPTS`] fresh free ports while
/// it fails with [`Error::PortTaken`]; any other error ends the attempts at once. `log` is
/// quoted if no attempt was made.
pub(crate) fn launch_with_retry(
    component: &'static str,
    fixed: Option<u16>,
    log: &Path,
    mut launch_on: impl FnMut(u16) -> Result<()>,
) -> Result<()> {
    let attempts = if fixed.is_some() { 1 } else { PORT_ATTEMPTS };
    let mut last = None;
    for _ in 0..attempts {
        let port = match fixed {
            Some(p) => p,
            None => free_port(component)?,
        };
        match launch_on(port) {
            Ok(()) => return Ok(()),
            Err(e @ Error::PortTaken { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(Error::PortTaken {
        component,
        port: 0,
        log: log.to_path_buf(),
    }))
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port(component: &'static str) -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(Error::io(
        component,
        "bind a free port on",
        "127.0.0.1:0",
    ))?;
    let port = listener
        .local_addr()
        .map_err(Error::io(component, "read the address of", "127.0.0.1:0"))?
        .port();
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_retried_and_other_errors_are_not() {
        let taken = |port| Error::PortTaken {
            component: "test",
            port,
            log: "log".into(),
        };
        let log = Path::new("log");
        let mut tried = Vec::new();
        let out = launch_with_retry("test", None, log, |port| {
            tried.push(port);
            if tried.len() < 3 {
                Err(taken(port))
            } else {
                Ok(())
            }
        });
        assert!(out.is_ok());
        assert_eq!(tried.len(), 3, "two taken ports, then one that works");

        let mut calls = 0;
        let out = launch_with_retry("test", None, log, |port| {
            calls += 1;
            Err(taken(port))
        });
        assert!(matches!(out, Err(Error::PortTaken { .. })));
        assert_eq!(calls, PORT_ATTEMPTS, "gives up after the attempts");

        let mut calls = 0;
        let out = launch_with_retry("test", Some(4242), log, |port| {
            calls += 1;
            assert_eq!(port, 4242);
            Err(taken(port))
        });
        assert!(out.is_err());
        assert_eq!(calls, 1, "a fixed port is tried once");

        let mut calls = 0;
        let out = launch_with_retry("test", None, log, |_| {
            calls += 1;
            Err(Error::MissingEnv {
                var: "X",
                hint: "set it",
            })
        });
        assert!(out.is_err());
        assert_eq!(calls, 1, "other errors are not retried");
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port("test").unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}

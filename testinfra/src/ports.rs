//! Picks free loopback ports.
//!
//! The kernel hands out a free port for a bind to port 0; we release it and give the number to
//! a daemon. Another process may grab it in between: daemons report that as
//! [`crate::Error::PortTaken`] and the starters retry with a fresh port.

use std::net::{Ipv4Addr, TcpListener};

use crate::error::{Error, Result};

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
    fn free_port_is_bindable() {
        let port = free_port("test").unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}

//! Owns the end of a TLS connection: it always ends with the server's `close_notify`, as Go's
//! `tls.Conn.Close` ends every connection kube-apiserver closes.
//!
//! hyper shuts a connection's IO down (which sends `close_notify`) only when the connection ends
//! cleanly. One that ends in an error is dropped as it is, and the commonest such end is a client
//! closing TLS in the middle of a response, e.g. a watch it stops: hyper notices the end of input
//! at once and ends the watch, but the client then sees TCP close without the server's
//! `close_notify`, which strict TLS clients report as an unexpected EOF. `ClosingTls` sends it
//! on drop when nobody shut the stream down.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// How long the `close_notify` of a dropped connection may take to write (Go's `Close` gives it
/// 5 seconds; a loopback peer takes microseconds or is gone).
const CLOSE_NOTIFY_DEADLINE: Duration = Duration::from_secs(5);

/// A server-side TLS stream that sends `close_notify` when dropped without a shutdown.
pub(crate) struct ClosingTls {
    stream: Option<TlsStream<TcpStream>>,
    shut_down: bool,
}

impl ClosingTls {
    pub(crate) fn new(stream: TlsStream<TcpStream>) -> Self {
        ClosingTls {
            stream: Some(stream),
            shut_down: false,
        }
    }

    fn stream(&mut self) -> Pin<&mut TlsStream<TcpStream>> {
        Pin::new(
            self.stream
                .as_mut()
                .expect("the stream is only taken on drop"),
        )
    }
}

impl AsyncRead for ClosingTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for ClosingTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().stream().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let done = this.stream().poll_shutdown(cx);
        if done.is_ready() {
            this.shut_down = true;
        }
        done
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(AsyncWrite::is_write_vectored)
    }
}

impl Drop for ClosingTls {
    fn drop(&mut self) {
        let Some(mut stream) = self.stream.take() else {
            return;
        };
        if self.shut_down {
            return;
        }
        // Writing is async: a task of its own does it, if a runtime is still there to run it
        // (a runtime being shut down drops the task, and the socket closes as before).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(CLOSE_NOTIFY_DEADLINE, stream.shutdown()).await;
            });
        }
    }
}

//! Serving one accepted connection: HTTP/1.1 with keep-alive, the
//! service's router, and two timeouts hyper does not give as such.
//!
//! hyper's `header_read_timeout` starts when a connection begins waiting
//! for a request head (on connect and after every response) and ends when
//! the head is complete, so it bounds idle time and header time together.
//! It serves as the idle timeout (`Config::idle_timeout`, long, so that
//! quiet keep-alive clients are not cut off); the header timeout proper
//! (`Config::header_read_timeout`, short) runs from the first byte of a
//! head to its end, enforced by [`HeadDeadline`] around the socket.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The connection timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the first byte of a request head to its end.
    pub header_read: Duration,
    /// Without a request: after connecting or after the last response.
    pub idle: Duration,
}

/// The HTTP/1.1 settings every connection is served with.
pub fn http1_builder(timeouts: Timeouts) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        // see the module comment: hyper's header timer is our idle timer
        .header_read_timeout(timeouts.idle);
    builder
}

/// Serving `stream`: completes when the client closes it, a timeout
/// closes it, or a graceful shutdown (watched by `watcher`) has let its
/// request in flight finish and closed it.
pub fn serve(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    http: &http1::Builder,
    timeouts: Timeouts,
    watcher: Watcher,
) -> impl Future<Output = ()> + Send + 'static {
    // Responses are small and written whole: Nagle's algorithm would only
    // hold them back waiting for the client's delayed ACK.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
    let phase = Arc::new(Phase::default());
    let io = HeadDeadline {
        inner: stream,
        phase: Arc::clone(&phase),
        timeout: timeouts.header_read,
        deadline: None,
    };
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        phase.set(HANDLING);
        req.extensions_mut().insert(ConnectInfo(remote));
        let phase = Arc::clone(&phase);
        let response = router.clone().oneshot(req);
        async move {
            let response = response.await;
            phase.set(WAITING);
            response
        }
    });
    let conn = watcher.watch(http.serve_connection(TokioIo::new(io), service));
    async move {
        if let Err(e) = conn.await {
            // timeouts, resets, malformed requests: the client's business
            tracing::debug!(error = %e, %remote, "connection closed with an error");
        }
    }
}

/// No byte of the next request yet.
const WAITING: u8 = 0;
/// Reading a request head: the header deadline runs.
const HEAD: u8 = 1;
/// The head is complete: its body and handler, no header deadline.
const HANDLING: u8 = 2;

/// Where a connection is in its request cycle, shared by the socket
/// wrapper (which sees bytes arrive) and the service (which sees heads
/// complete and responses ready).
#[derive(Debug, Default)]
struct Phase(AtomicU8);

impl Phase {
    fn set(&self, phase: u8) {
        self.0.store(phase, Ordering::Relaxed);
    }

    fn get(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }

    /// `WAITING` becomes `HEAD`; whether it did.
    fn head_started(&self) -> bool {
        self.0
            .compare_exchange(WAITING, HEAD, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

/// A socket whose reads fail with `TimedOut` once a request head has
/// taken longer than the timeout since its first byte. The deadline is
/// polled only while a read waits, which is when hyper waits for the rest
/// of a head; its timer wakes the connection's task.
#[derive(Debug)]
struct HeadDeadline {
    inner: TcpStream,
    phase: Arc<Phase>,
    timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl AsyncRead for HeadDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        match read {
            Poll::Ready(Ok(())) if buf.filled().len() > before && this.phase.head_started() => {
                let at = Instant::now() + this.timeout;
                match &mut this.deadline {
                    Some(deadline) => deadline.as_mut().reset(at),
                    None => this.deadline = Some(Box::pin(tokio::time::sleep_until(at))),
                }
                read
            }
            Poll::Pending if this.phase.get() == HEAD => {
                let expired = this
                    .deadline
                    .as_mut()
                    .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request head not complete within the header read timeout",
                    )))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for HeadDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

//! The HTTP/1.1 server loop around the poem routes: a cap on open
//! connections, a deadline for a request's headers (which also closes idle
//! kept-alive connections), and a graceful stop that lets in-flight requests
//! finish within a grace period.
//!
//! poem's own `Server` has no header-read deadline and no connection cap, so
//! a client holding connections open without sending a full request could
//! exhaust the process's file descriptors. hyper has both pieces; this file
//! joins them to the poem endpoint.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt, IntoEndpoint, Request};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The connection-level limits (`MAILROOM_MAX_CONNECTIONS`,
/// `MAILROOM_HEADER_TIMEOUT_S`, `MAILROOM_SHUTDOWN_GRACE_S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; one more is closed as soon as it is
    /// accepted, so the process keeps descriptors for the database and Gmail.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from when the
    /// connection opens or the previous response was sent.
    pub header_timeout: Duration,
    /// How long a stop waits for in-flight requests before closing them.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(25),
        }
    }
}

/// Binds the listening socket, so a taken address fails before anything
/// says "listening".
///
/// # Errors
/// The address is in use, not local, or not permitted.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("MAILROOM_BIND: cannot listen on {addr}"))
}

/// Serves `ep` on `listener` until `shutdown` resolves, then stops accepting
/// and waits up to the grace period for open requests to finish.
///
/// # Errors
/// Only when the listener's own address cannot be read; a failed accept is
/// logged and retried.
pub async fn serve<E>(
    listener: TcpListener,
    ep: E,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let ep = Arc::new(ep.into_endpoint().map_to_response());
    let local = listener
        .local_addr()
        .context("failed to read the listening address")?;
    let local_addr = LocalAddr(Addr::SocketAddr(local));
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);

    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors, most likely: pause rather than spin.
                    tracing::warn!(error = %e, "failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "connection closed: MAILROOM_MAX_CONNECTIONS reached");
            drop(stream);
            continue;
        };
        let ep = ep.clone();
        let local_addr = local_addr.clone();
        let remote_addr = RemoteAddr(Addr::SocketAddr(remote));
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let ep = ep.clone();
            let req = Request::from((req, local_addr.clone(), remote_addr.clone(), Scheme::HTTP));
            async move {
                let resp: hyper::Response<_> = ep.get_response(req).await.into();
                Ok::<_, Infallible>(resp)
            }
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }

    drop(listener);
    tracing::info!(
        grace_s = limits.shutdown_grace.as_secs(),
        "stopped accepting connections; finishing in-flight requests"
    );
    match tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await {
        Ok(()) => tracing::info!("every connection is closed"),
        Err(_) => tracing::warn!("the grace period ended with requests still open; they are cut"),
    }
    Ok(())
}

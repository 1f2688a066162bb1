//! Building and running the service: `App::build` binds (port 0 in tests),
//! `App::run_until_stopped` serves until SIGTERM/SIGINT and then lets
//! in-flight requests finish within the configured grace period. Each
//! connection is served by [`crate::connection`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use hyper_util::server::graceful::GracefulShutdown;
use showtree_db::pool::Db;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::jwt::Jwt;
use crate::auth::password::Passwords;
use crate::auth::ratelimit::LoginLimiter;
use crate::config::{Config, MIN_SECRET_LEN};
use crate::connection::{self, Timeouts};
use crate::error::ApiError;
use crate::middleware;
use crate::state::{AppState, Shared};

/// The request id header, set when absent and echoed in every response.
pub const REQUEST_ID: &str = "x-request-id";

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// The address could not be bound.
    #[error("binding {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The connection pool could not be built.
    #[error("database pool: {0}")]
    Db(#[from] showtree_db::DbError),
    /// Something else failed while starting.
    #[error("starting: {0}")]
    Other(#[from] ApiError),
}

/// A bound, ready-to-run service.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    shutdown_grace: Duration,
    timeouts: Timeouts,
    db: Db,
    rollup_fold_interval: Option<Duration>,
}

impl App {
    /// Checks the configuration, builds the pool (connections open on
    /// first use, so a database that is down does not stop the service
    /// from starting: `/readyz` says so) and binds the address.
    pub async fn build(config: Config) -> Result<App, StartupError> {
        if config.jwt_secret.expose().len() < MIN_SECRET_LEN {
            return Err(StartupError::Config(format!(
                "the JWT secret must be at least {MIN_SECRET_LEN} bytes"
            )));
        }
        if config.header_read_timeout.is_zero() || config.idle_timeout.is_zero() {
            return Err(StartupError::Config(
                "the header read and idle timeouts must be longer than zero".into(),
            ));
        }
        let db = Db::new(&config.app_database_url, config.pool_size)?;
        let state = AppState::new(Shared {
            db: db.clone(),
            jwt: Jwt::new(&config.jwt_secret, config.access_token_ttl),
            passwords: Passwords::new(hashing_concurrency()).await?,
            limiter: LoginLimiter::new(config.login_limits),
            public_signup: config.public_signup,
        });
        let router = app_router(state, &config);
        let listener = listen(config.bind).map_err(|error| StartupError::Bind {
            addr: config.bind,
            error,
        })?;
        let addr = listener.local_addr().map_err(|error| StartupError::Bind {
            addr: config.bind,
            error,
        })?;
        Ok(App {
            listener,
            router,
            addr,
            shutdown_grace: config.shutdown_grace,
            timeouts: Timeouts {
                header_read: config.header_read_timeout,
                idle: config.idle_timeout,
            },
            db,
            rollup_fold_interval: config.rollup_fold_interval,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port (the one picked, when configured with port 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until SIGTERM or SIGINT.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes; then stops accepting, lets in-flight
    /// requests finish for up to the grace period (idle connections close
    /// at once), and returns (dropping the pool closes its connections).
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (folder_stop, folder_stopped) = tokio::sync::watch::channel(false);
        if let Some(interval) = self.rollup_fold_interval {
            tokio::spawn(fold_rollups(self.db.clone(), interval, folder_stopped));
        }
        let http = connection::http1_builder(self.timeouts);
        let graceful = GracefulShutdown::new();
        tokio::pin!(stop);
        loop {
            let (stream, remote) = tokio::select! {
                accepted = accept(&self.listener) => accepted,
                () = &mut stop => break,
            };
            tokio::spawn(connection::serve(
                stream,
                remote,
                self.router.clone(),
                &http,
                self.timeouts,
                graceful.watcher(),
            ));
        }
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = folder_stop.send(true);
        drop(self.listener);
        if tokio::time::timeout(self.shutdown_grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                grace = ?self.shutdown_grace,
                "in-flight requests did not finish in time; stopping anyway"
            );
        }
        Ok(())
    }
}

/// The next connection. Errors that concern one connection (reset before
/// it was accepted) are skipped; others, such as running out of file
/// descriptors, are logged and retried a second later, as hyper 0.14's
/// server and axum's do, instead of spinning.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Connections waiting to be accepted: tokio's default (128) overflows when
/// thousands of clients connect at once, and their connects then wait on
/// SYN retransmits (1 s, 3 s, ...). The kernel caps it at
/// `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` with the backlog above (and `SO_REUSEADDR`, as
/// `TcpListener::bind` sets it, so a restart can rebind at once).
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Most roll-up deltas one fold transaction takes.
const FOLD_BATCH: i32 = 20_000;

/// The background folder: moves committed roll-up deltas into the totals
/// (`private.rollup_fold_all`), so readers sum few pending deltas. Back to
/// back while there is a backlog, every `interval` once caught up; errors
/// (the database away) are logged and retried. Folds never block writers
/// (see migration 0006), so running beside the API costs only the work.
async fn fold_rollups(db: Db, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let folded = db
            .run_maintenance(async |tx| showtree_db::rollups::fold_all(tx, FOLD_BATCH).await)
            .await;
        let pause = match folded {
            Ok(n) if n >= FOLD_BATCH => Duration::ZERO,
            Ok(_) => interval,
            Err(e) => {
                tracing::warn!(error = %e, "folding roll-up deltas");
                interval.max(Duration::from_secs(1))
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Hashing is CPU work: at most one per core at once.
fn hashing_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The router with every layer: request ids, tracing, problem+json for
/// every error, conditional GET, the timeout, panics as 500s, and the body
/// limit.
pub fn app_router(state: AppState, config: &Config) -> Router {
    let (router, doc) = crate::openapi::split();
    let doc = Arc::new(doc);
    let request_id = HeaderName::from_static(REQUEST_ID);
    router
        .route(
            "/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("");
                            // the path only: queries may carry what logs should not
                            tracing::info_span!(
                                "request",
                                method = %req.method(),
                                path = %req.uri().path(),
                                request_id = %id,
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO))
                        // `middleware::problems` logs every 5xx once, with
                        // its cause; tower-http's own failure log would
                        // repeat it without one
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(axum::middleware::from_fn(middleware::problems))
                .layer(axum::middleware::from_fn(middleware::cache_policy))
                .layer(axum::middleware::from_fn(middleware::not_modified))
                .layer(axum::middleware::from_fn_with_state(
                    config.request_timeout,
                    middleware::timeout,
                ))
                .layer(CatchPanicLayer::custom(
                    |panic: Box<dyn std::any::Any + Send>| {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "panic".to_owned());
                        ApiError::Internal(format!("handler panicked: {message}")).into_response()
                    },
                ))
                .layer(RequestBodyLimitLayer::new(config.body_limit))
                .layer(DefaultBodyLimit::max(config.body_limit)),
        )
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

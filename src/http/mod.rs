//! The daemon's HTTP server (axum on hyper's HTTP/1 connections): `/metrics`, `/healthz`,
//! `/readyz`, `/status` and `POST /hooks/git`. It reads shared state and sends triggers; it
//! never reconciles itself.
//!
//! It faces whatever can reach the listen address, so every connection is bounded: headers
//! must arrive within [`HEADER_READ_TIMEOUT`] (also the idle time allowed between requests),
//! a request is answered within [`REQUEST_TIMEOUT`], and at most [`MAX_CONNECTIONS`] are open
//! at once. `/status` and `/metrics` may require a bearer token; `/healthz` and `/readyz`
//! stay open for probes. With a certificate ([`tls::ServerTls`]) the listener speaks only
//! HTTPS, and the TLS handshake must finish within the header-read time too.

pub mod tls;
pub mod webhook;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

use crate::secret::Secret;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::status::DaemonStatus;

/// Largest webhook body accepted (GitHub push events are far smaller).
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;
/// A client must send a request's headers within this time after connecting or after the
/// previous response; otherwise the connection is closed (slow or idle clients).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A request (its body included) must be answered within this time, else 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections open at once (and never more than half the process's descriptor limit, so
/// git, providers and the journal always have descriptors left). Further clients wait in
/// the listen backlog until one closes.
pub const MAX_CONNECTIONS: usize = 1024;
/// Source addresses whose webhook rate-limit state is kept before idle ones are dropped.
const MAX_TRACKED_SOURCES: usize = 10_000;

/// What the server shares with the controller.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub status: Arc<RwLock<DaemonStatus>>,
    /// Notified by a valid webhook call: the controller fetches now.
    pub fetch_now: Arc<Notify>,
    pub webhook_secret: Option<Secret>,
    /// Bearer token required by `/status` and `/metrics`, when set.
    pub status_token: Option<Secret>,
    /// Valid webhook calls per source address.
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl Shared {
    pub fn new(
        metrics: Arc<Metrics>,
        status: Arc<RwLock<DaemonStatus>>,
        fetch_now: Arc<Notify>,
        webhook_secret: Option<Secret>,
    ) -> Shared {
        // 2 calls per second, bursts of 10, per source: plenty for CI, bounded for a flood.
        let quota = Quota::per_second(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN));
        Shared {
            metrics,
            status,
            fetch_now,
            webhook_secret,
            status_token: None,
            limiter: RateLimiter::keyed(quota),
        }
    }

    /// These settings with `/status` and `/metrics` requiring `Authorization: Bearer <token>`.
    pub fn with_status_token(mut self, token: Option<Secret>) -> Shared {
        self.status_token = token;
        self
    }
}

/// Serves `app` on `listener` until the task is dropped, with the limits above; over TLS
/// when `tls` is set (then plain HTTP gets no HTTP answer). Each request carries the
/// client's address as [`ConnectInfo<SocketAddr>`].
pub async fn serve(listener: TcpListener, app: Router, tls: Option<tls::ServerTls>) {
    let acceptor = tls.map(|t| t.acceptor());
    let cap = connection_cap(std::fs::read_to_string("/proc/self/limits").ok().as_deref());
    let slots = Arc::new(Semaphore::new(cap));
    loop {
        // At the cap, stop accepting: new clients wait in the backlog, and the idle ones
        // holding slots are closed within HEADER_READ_TIMEOUT.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors (EMFILE) and the like: back off instead of spinning.
                tracing::warn!(error = %e, "HTTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let app = app.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    let app = app.clone();
                    async move {
                        let req = req.map(Body::new);
                        Ok::<_, std::convert::Infallible>(
                            match tokio::time::timeout(REQUEST_TIMEOUT, app.oneshot(req)).await {
                                Ok(Ok(resp)) => resp,
                                Ok(Err(never)) => match never {},
                                Err(_) => (StatusCode::REQUEST_TIMEOUT, "request timed out\n")
                                    .into_response(),
                            },
                        )
                    }
                });
            let mut conn = hyper::server::conn::http1::Builder::new();
            conn.timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let served = match acceptor {
                None => conn.serve_connection(TokioIo::new(stream), service).await,
                // The handshake gets the header-read time: a client that never finishes its
                // ClientHello gives its slot back then, like one that never sends headers.
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            conn.serve_connection(TokioIo::new(stream), service).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "HTTP connection closed");
            }
            drop(slot);
        });
    }
}

/// [`MAX_CONNECTIONS`], or half the soft descriptor limit if that is lower (at least 16),
/// from the text of `/proc/self/limits` (Linux; elsewhere the constant).
fn connection_cap(limits: Option<&str>) -> usize {
    let soft = limits.and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("Max open files"))?;
        line["Max open files".len()..]
            .split_whitespace()
            .next()?
            .parse::<usize>()
            .ok()
    });
    soft.map_or(MAX_CONNECTIONS, |n| (n / 2).clamp(16, MAX_CONNECTIONS))
}

/// The routes. `/status` and `/metrics` check the bearer token (when one is set).
pub fn router(shared: Arc<Shared>) -> Router {
    let guarded = Router::new()
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route_layer(middleware::from_fn_with_state(shared.clone(), bearer));
    Router::new()
        .merge(guarded)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route(
            "/hooks/git",
            post(hook).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES)),
        )
        .with_state(shared)
}

/// Lets a request through only with `Authorization: Bearer <status_token>` (if one is set).
async fn bearer(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.status_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            // The scheme is case-insensitive (RFC 9110).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        let ok =
            given.is_some_and(|g| webhook::same_secret(g.as_bytes(), token.expose().as_bytes()));
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    let ready = s.status.read().map(|st| st.ready).unwrap_or(false);
    if ready {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the first full reconcile has not finished\n",
        )
            .into_response()
    }
}

async fn status(State(s): State<Arc<Shared>>) -> Response {
    let body = match s.status.read() {
        Ok(st) => serde_json::to_string_pretty(&*st).unwrap_or_default(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn hook(
    State(s): State<Arc<Shared>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The signature first (an HMAC is cheap): calls without the secret must not use up the
    // rate limit of those with it.
    let secret = s.webhook_secret.as_ref().map(|k| k.expose().as_bytes());
    if let Err(why) = webhook::verify(secret, &headers, &body) {
        tracing::warn!(reason = %why, "webhook call refused");
        return (StatusCode::UNAUTHORIZED, "invalid or missing signature\n").into_response();
    }
    let source = peer.map_or(IpAddr::from([0, 0, 0, 0]), |Extension(ConnectInfo(a))| {
        a.ip()
    });
    if s.limiter.len() > MAX_TRACKED_SOURCES {
        s.limiter.retain_recent();
    }
    if s.limiter.check_key(&source).is_err() {
        return (StatusCode::TOO_MANY_REQUESTS, "slow down\n").into_response();
    }
    tracing::info!("webhook: fetching now");
    s.fetch_now.notify_one();
    (StatusCode::ACCEPTED, "fetch scheduled\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_half_the_descriptors() {
        let limits = |soft: &str| {
            format!("Limit                     Soft Limit           Hard Limit           Units     \nMax open files            {soft}                 4096                 files     \n")
        };
        assert_eq!(connection_cap(Some(&limits("256"))), 128);
        assert_eq!(connection_cap(Some(&limits("65536"))), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(&limits("unlimited"))), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(&limits("10"))), 16);
        assert_eq!(connection_cap(None), MAX_CONNECTIONS);
    }
}

//! The daemon's HTTP server (axum): `/metrics`, `/healthz`, `/readyz`, `/status` and
//! `POST /hooks/git`. It reads shared state and sends triggers; it never reconciles itself.

pub mod webhook;

use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;

use crate::secret::Secret;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::status::DaemonStatus;

/// Largest webhook body accepted (GitHub push events are far smaller).
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

/// What the server shares with the controller.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub status: Arc<RwLock<DaemonStatus>>,
    /// Notified by a valid webhook call: the controller fetches now.
    pub fetch_now: Arc<Notify>,
    pub webhook_secret: Option<Secret>,
    limiter: DefaultDirectRateLimiter,
}

impl Shared {
    pub fn new(
        metrics: Arc<Metrics>,
        status: Arc<RwLock<DaemonStatus>>,
        fetch_now: Arc<Notify>,
        webhook_secret: Option<Secret>,
    ) -> Shared {
        // 2 calls per second, bursts of 10: plenty for CI, bounded for a flood.
        let quota = Quota::per_second(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN));
        Shared {
            metrics,
            status,
            fetch_now,
            webhook_secret,
            limiter: RateLimiter::direct(quota),
        }
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route(
            "/hooks/git",
            post(hook).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES)),
        )
        .with_state(shared)
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

async fn hook(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if s.limiter.check().is_err() {
        return (StatusCode::TOO_MANY_REQUESTS, "slow down\n").into_response();
    }
    let secret = s.webhook_secret.as_ref().map(|k| k.expose().as_bytes());
    match webhook::verify(secret, &headers, &body) {
        Ok(()) => {
            tracing::info!("webhook: fetching now");
            s.fetch_now.notify_one();
            (StatusCode::ACCEPTED, "fetch scheduled\n").into_response()
        }
        Err(why) => {
            tracing::warn!(reason = %why, "webhook call refused");
            (StatusCode::UNAUTHORIZED, "invalid or missing signature\n").into_response()
        }
    }
}

//! Shared HTTP plumbing for API providers (PowerDNS, Cloudflare, GoDaddy, ...): one
//! configured `reqwest` client per provider, an optional token-bucket rate limit, a request
//! counter, and the one mapping from HTTP outcomes to [`ErrorKind`].
//!
//! Owns transport only. Providers build requests and read bodies; they never retry (retries
//! live in `apply`, which reads the kinds and `retry_after` produced here).

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{ErrorKind, ProviderError};
use crate::input::HumanDuration;

/// `rate_limit: {requests: N, per: 5m}`: at most N requests per period, in bursts of up to N.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Requests allowed per period (at least 1).
    pub requests: u32,
    /// The period, e.g. `1s`, `5m` (the duration grammar of every setting).
    pub per: HumanDuration,
}

impl RateLimitSettings {
    /// The token bucket this describes, or why it is invalid (checked when config loads).
    pub fn quota(&self) -> Result<Quota, String> {
        let burst =
            NonZeroU32::new(self.requests).ok_or("rate_limit.requests must be at least 1")?;
        Quota::with_period(self.per.get() / self.requests)
            .map(|q| q.allow_burst(burst))
            .ok_or_else(|| format!("rate_limit.per {} is too short", self.per))
    }
}

/// How to build a provider's client.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Whole-request timeout (a 100k-RRset PowerDNS PATCH takes about 5 s).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Sent with every request; mark secrets with [`reqwest::header::HeaderValue::set_sensitive`].
    pub headers: HeaderMap,
    pub rate_limit: Option<Quota>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            headers: HeaderMap::new(),
            rate_limit: None,
        }
    }
}

/// A provider's HTTP client. Cloning shares the connection pool, limiter and counter.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    requests: Arc<AtomicUsize>,
}

/// A response read to the end.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The body as text, for error messages (lossy, trimmed, at most 1,000 characters).
    pub fn text(&self) -> String {
        let t = String::from_utf8_lossy(&self.body);
        let t = t.trim();
        match t.char_indices().nth(1000) {
            Some((i, _)) => format!("{}...", &t[..i]),
            None => t.to_string(),
        }
    }

    /// This (unsuccessful) response as a provider error carrying `message`.
    pub fn error(&self, message: impl Into<String>) -> ProviderError {
        let retry_after = self
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        error_for_status(self.status, retry_after, message)
    }
}

impl HttpClient {
    /// Builds the client; `provider` goes into the User-Agent.
    pub fn new(provider: &str, opts: HttpOptions) -> Result<HttpClient, ProviderError> {
        let client = reqwest::Client::builder()
            .user_agent(format!(
                "zonekeeper/{} ({provider})",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(opts.timeout)
            .connect_timeout(opts.connect_timeout)
            .default_headers(opts.headers)
            .build()
            .map_err(|e| {
                ProviderError::new(
                    ErrorKind::Unsupported,
                    format!("cannot set up the HTTP client: {e}"),
                )
            })?;
        Ok(HttpClient {
            client,
            limiter: opts.rate_limit.map(|q| Arc::new(RateLimiter::direct(q))),
            requests: Arc::default(),
        })
    }

    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends a request (after the rate limiter allows it) and reads the whole body. Transport
    /// failures are errors; every HTTP status, success or not, is an `Ok` response.
    pub async fn send(&self, req: RequestBuilder) -> Result<HttpResponse, ProviderError> {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(transport_error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Requests sent so far (tests count them; retries count again).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

/// A failure below HTTP (connect, timeout, reset): always worth retrying. The URL is left
/// out of the message: some APIs put credentials in query strings.
fn transport_error(e: reqwest::Error) -> ProviderError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    let mut msg = format!("HTTP request {what}");
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    // reqwest's own Display names the URL; its sources say what actually went wrong.
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ProviderError::new(ErrorKind::Transient, msg)
}

/// The one status -> kind mapping every HTTP provider shares.
pub fn kind_for_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        429 => ErrorKind::RateLimited,
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        409 | 412 => ErrorKind::Conflict,
        // 408 is the server giving up on a slow request: the same as a timeout.
        408 => ErrorKind::Transient,
        s if s >= 500 => ErrorKind::Transient,
        _ => ErrorKind::Rejected,
    }
}

/// A provider error for an HTTP status.
pub fn error_for_status(
    status: StatusCode,
    retry_after: Option<Duration>,
    message: impl Into<String>,
) -> ProviderError {
    ProviderError {
        kind: kind_for_status(status),
        message: format!("HTTP {}: {}", status.as_u16(), message.into()),
        retry_after,
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110); a date in the past is zero.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let k = |s: u16| kind_for_status(StatusCode::from_u16(s).unwrap());
        assert_eq!(k(500), ErrorKind::Transient);
        assert_eq!(k(503), ErrorKind::Transient);
        assert_eq!(k(429), ErrorKind::RateLimited);
        assert_eq!(k(401), ErrorKind::Auth);
        assert_eq!(k(403), ErrorKind::Auth);
        assert_eq!(k(404), ErrorKind::NotFound);
        assert_eq!(k(422), ErrorKind::Rejected);
        assert_eq!(k(400), ErrorKind::Rejected);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn quotas() {
        let q = RateLimitSettings {
            requests: 1200,
            per: HumanDuration::from_secs(300),
        }
        .quota()
        .unwrap();
        assert_eq!(q.burst_size().get(), 1200);
        assert_eq!(q.replenish_interval(), Duration::from_millis(250));
        assert!(RateLimitSettings {
            requests: 0,
            per: HumanDuration::from_secs(1)
        }
        .quota()
        .is_err());
    }

    #[tokio::test]
    async fn limiter_spaces_requests_and_counter_counts() {
        // A listener that answers every connection with 429 + Retry-After, on loopback.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\ncontent-length: 4\r\nconnection: close\r\n\r\nslow")
                        .await;
                });
            }
        });
        let quota = RateLimitSettings {
            requests: 1,
            per: Duration::from_millis(200).into(),
        }
        .quota()
        .unwrap();
        let c = HttpClient::new(
            "test",
            HttpOptions {
                rate_limit: Some(quota),
                ..HttpOptions::default()
            },
        )
        .unwrap();
        let url = format!("http://{addr}/");
        let start = std::time::Instant::now();
        for _ in 0..3 {
            let r = c.send(c.request(Method::GET, &url)).await.unwrap();
            let e = r.error(r.text());
            assert_eq!(e.kind, ErrorKind::RateLimited);
            assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
            assert!(e.message.contains("slow"), "{}", e.message);
        }
        // One immediately, then one per 200 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(380),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(c.requests(), 3);
        // Nothing listens on a closed port: a transient transport error.
        drop(c);
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let c = HttpClient::new("test", HttpOptions::default()).unwrap();
        let e = c
            .send(c.request(Method::GET, &format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
    }
}

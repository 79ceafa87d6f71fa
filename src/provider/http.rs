//! Shared HTTP plumbing for API providers (PowerDNS, Cloudflare, GoDaddy, ...): one
//! configured `reqwest` client per provider, optional token-bucket rate limits (one for the
//! whole client, one per endpoint key), per-request retries of idempotent requests under the
//! one [`RetryPolicy`], a report of every request and retry to the [`CallObserver`], and the
//! mapping from HTTP answers to [`ErrorKind`] (a provider's own classifier first, then the
//! shared status table).
//!
//! Owns transport only. Providers build requests and read bodies. A request that is safe to
//! send twice (GET, PUT/PATCH of whole RRsets, DELETE, a create whose "already exists" answer
//! the provider accepts) goes through [`HttpClient::send_idempotent`] and is retried here,
//! where it failed; anything else goes through [`HttpClient::send`] once, and `apply` decides
//! about the whole write.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{BuildContext, CallObserver, ErrorKind, ProviderError};
use crate::input::HumanDuration;
use crate::retry::{self, RetryPolicy};

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

/// A provider's own reading of an answer, consulted before the shared status table
/// ([`kind_for_status`]): `Some(kind)` makes the answer an error of that kind (Route 53's
/// HTTP 400 with `<Code>Throttling</Code>` is [`ErrorKind::RateLimited`]; an API that answers
/// 200 with an error body can say so), `None` leaves it to the status.
pub type Classifier = fn(&HttpResponse) -> Option<ErrorKind>;

/// Whether an answer says the server is overloaded (and fewer requests at once would help):
/// a provider's own test, consulted besides 429 and 503 (PowerDNS on sqlite: 500
/// "database is locked").
pub type OverloadTest = fn(&HttpResponse) -> bool;

/// Default [`HttpOptions::max_in_flight`]: above any controller concurrency in use (4 zones,
/// each with at most 4 reads at once), so it only binds once overload has lowered it.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// How to build a provider's client.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Whole-request timeout (a 100k-RRset PowerDNS PATCH takes about 5 s).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Sent with every request; mark secrets with [`reqwest::header::HeaderValue::set_sensitive`].
    pub headers: HeaderMap,
    /// One token bucket for every request of this client. A client is built per configured
    /// provider, that is per account: this is the account's limit.
    pub rate_limit: Option<Quota>,
    /// One token bucket per endpoint key (the label given to [`HttpClient::send`]), for APIs
    /// that limit each endpoint on its own (GoDaddy: 60 requests a minute per endpoint).
    /// Applies together with `rate_limit`.
    pub endpoint_rate_limit: Option<Quota>,
    /// The provider's classifier, if its API signals errors beyond the status code.
    pub classify: Option<Classifier>,
    /// The provider's own overload signal besides 429 and 503 ([`InFlightLimit`]).
    pub overloaded: Option<OverloadTest>,
    /// The most requests this client has in flight at once; overload answers lower the
    /// limit (halved, down to 1), successes raise it again (by 1 per limit's worth of
    /// successes) up to this.
    pub max_in_flight: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            headers: HeaderMap::new(),
            rate_limit: None,
            endpoint_rate_limit: None,
            classify: None,
            overloaded: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// An additive-increase/multiplicative-decrease limit on the requests one client has in
/// flight: the provider's back-pressure. An overload answer (429, 503, or the provider's
/// [`OverloadTest`]) halves the limit (at least 1); every `limit` successes in a row raise
/// it by one, up to the maximum. A lowered limit takes effect as requests in flight finish.
/// Each change is reported to the [`CallObserver`] (`in_flight_limit`).
pub struct InFlightLimit {
    sem: tokio::sync::Semaphore,
    max: usize,
    state: std::sync::Mutex<LimitState>,
}

struct LimitState {
    limit: usize,
    /// Permits to retire as requests finish (the limit was cut below what is in flight).
    debt: usize,
    /// Successes since the last change of the limit.
    successes: usize,
}

impl InFlightLimit {
    /// A limit of `max` (at least 1), starting at `max`.
    pub fn new(max: usize) -> InFlightLimit {
        let max = max.max(1);
        InFlightLimit {
            sem: tokio::sync::Semaphore::new(max),
            max,
            state: std::sync::Mutex::new(LimitState {
                limit: max,
                debt: 0,
                successes: 0,
            }),
        }
    }

    /// The limit now.
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimitState> {
        // The state is a few counters, consistent after every statement: a panic elsewhere
        // while it was held leaves nothing half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn acquire(&self) -> tokio::sync::SemaphorePermit<'_> {
        // The semaphore is never closed.
        self.sem
            .acquire()
            .await
            .expect("the in-flight semaphore is never closed")
    }

    /// Gives a permit back, or retires it while the limit is being lowered.
    fn release(&self, permit: tokio::sync::SemaphorePermit<'_>) {
        let mut s = self.lock();
        if s.debt > 0 {
            s.debt -= 1;
            permit.forget();
        }
    }

    /// An overload answer: halves the limit. Returns the new limit when it changed.
    fn overload(&self) -> Option<usize> {
        let mut s = self.lock();
        s.successes = 0;
        let new = (s.limit / 2).max(1);
        if new == s.limit {
            return None;
        }
        // Free permits go now; those in flight as their requests finish.
        let cut = s.limit - new;
        let freed = self.sem.forget_permits(cut);
        s.debt += cut - freed;
        s.limit = new;
        Some(new)
    }

    /// A success: one more in flight after `limit` of them in a row. Returns the new limit
    /// when it changed.
    fn success(&self) -> Option<usize> {
        let mut s = self.lock();
        if s.limit >= self.max {
            return None;
        }
        s.successes += 1;
        if s.successes < s.limit {
            return None;
        }
        s.successes = 0;
        s.limit += 1;
        if s.debt > 0 {
            s.debt -= 1;
        } else {
            self.sem.add_permits(1);
        }
        Some(s.limit)
    }
}

/// A provider's HTTP client. Cloning shares the connection pool, limiters and counter.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// The configured provider name: the `provider` the observer is told.
    name: String,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    endpoint_limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    classify: Option<Classifier>,
    overloaded: Option<OverloadTest>,
    in_flight: Arc<InFlightLimit>,
    retry: RetryPolicy,
    observer: Arc<dyn CallObserver>,
    requests: Arc<AtomicUsize>,
}

/// A response read to the end.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `None` for a successful answer; else the error kind it carries (the provider's
    /// classifier first, then [`kind_for_status`]).
    pub kind: Option<ErrorKind>,
}

impl HttpResponse {
    /// A response, classified by `classify` when given, else by its status.
    pub fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        classify: Option<Classifier>,
    ) -> HttpResponse {
        let mut r = HttpResponse {
            status,
            headers,
            body,
            kind: None,
        };
        r.kind = classify
            .and_then(|c| c(&r))
            .or_else(|| (!status.is_success()).then(|| kind_for_status(status)));
        r
    }

    /// True when the answer is not an error (a 2xx the provider's classifier accepted).
    pub fn is_success(&self) -> bool {
        self.kind.is_none()
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

    /// This (unsuccessful) response as a provider error carrying `message`, with the
    /// server's `Retry-After` when it sent one.
    pub fn error(&self, message: impl Into<String>) -> ProviderError {
        let retry_after = self
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        ProviderError {
            kind: self.kind.unwrap_or_else(|| kind_for_status(self.status)),
            message: format!("HTTP {}: {}", self.status.as_u16(), message.into()),
            retry_after,
        }
    }
}

/// A failed try of an idempotent request: the error `retry` reads, and the answer itself
/// when there was one (handed to the caller when no try is left, so it words the error).
struct Failure {
    error: ProviderError,
    response: Option<HttpResponse>,
}

impl HttpClient {
    /// Builds the client of the provider configured as `name`, of type `kind` (which goes
    /// into the User-Agent), with the retry policy and observer of `ctx`.
    ///
    /// # Errors
    /// `Unsupported` when reqwest cannot set up a client (no TLS backend, bad header).
    pub fn new(
        kind: &str,
        name: &str,
        opts: HttpOptions,
        ctx: &BuildContext,
    ) -> Result<HttpClient, ProviderError> {
        let client = reqwest::Client::builder()
            .user_agent(format!("zonekeeper/{} ({kind})", env!("CARGO_PKG_VERSION")))
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
            name: name.to_string(),
            limiter: opts.rate_limit.map(|q| Arc::new(RateLimiter::direct(q))),
            endpoint_limiter: opts
                .endpoint_rate_limit
                .map(|q| Arc::new(RateLimiter::keyed(q))),
            classify: opts.classify,
            overloaded: opts.overloaded,
            in_flight: Arc::new(InFlightLimit::new(opts.max_in_flight)),
            retry: ctx.retry.clone(),
            observer: ctx.observer.clone(),
            requests: Arc::default(),
        })
    }

    /// A request to `url` on this client (its headers, timeouts and User-Agent); send it
    /// with [`HttpClient::send`] or build it inside [`HttpClient::send_idempotent`].
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends a request once (after the rate limiters allow it) and reads the whole body:
    /// for requests that must not be repeated blindly. `endpoint` is a short, bounded label
    /// (`POST /zones`, never a real zone or id): the observer's `endpoint`, and the key of
    /// the per-endpoint limiter. Transport failures are `Transient` errors; every HTTP
    /// answer, success or not, is an `Ok` response (see [`HttpResponse::kind`]).
    pub async fn send(
        &self,
        endpoint: &str,
        req: RequestBuilder,
    ) -> Result<HttpResponse, ProviderError> {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
        if let Some(l) = &self.endpoint_limiter {
            l.until_key_ready(&endpoint.to_string()).await;
        }
        let permit = self.in_flight.acquire().await;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = tokio::time::Instant::now();
        let result: Result<HttpResponse, ProviderError> = async {
            let resp = req.send().await.map_err(transport_error)?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.map_err(transport_error)?;
            Ok(HttpResponse::new(status, headers, body, self.classify))
        }
        .await;
        self.in_flight.release(permit);
        let changed = match &result {
            Ok(r) if self.is_overload(r) => self.in_flight.overload(),
            Ok(r) if r.is_success() => self.in_flight.success(),
            _ => None,
        };
        if let Some(limit) = changed {
            if matches!(&result, Ok(r) if !r.is_success()) {
                tracing::info!(provider = %self.name, limit, "provider overloaded: fewer requests at once");
            }
            self.observer.in_flight_limit(&self.name, limit);
        }
        let outcome = match &result {
            Ok(r) => r.kind.map_or("ok", ErrorKind::as_str),
            Err(e) => e.kind.as_str(),
        };
        self.observer
            .request(&self.name, endpoint, outcome, started.elapsed());
        result
    }

    /// Sends a request that is safe to repeat, trying again where it failed: a transport
    /// failure or a `Transient` answer (5xx, 408) spends one of the policy's `retries`; a
    /// `RateLimited` answer (429, or what the classifier calls so) waits its `Retry-After`
    /// and spends nothing; no wait runs past the policy's `deadline` (see [`retry::retry`]).
    /// `build` makes the request afresh for each try. Each retry is reported to the observer.
    ///
    /// Returns the first answer that is not worth another try, or, when no try is left, the
    /// last answer (so the caller words the error as for any other failed answer).
    ///
    /// # Errors
    /// The last transport failure, when no try is left and no answer ever came.
    pub async fn send_idempotent(
        &self,
        endpoint: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<HttpResponse, ProviderError> {
        let build = &build;
        let result = retry::retry(
            &self.retry,
            self.retry.deadline_from_now(),
            |f: &Failure| &f.error,
            |e, wait| {
                tracing::debug!(provider = %self.name, endpoint, error = %e, ?wait, "HTTP request will be retried");
                self.observer.retry(&self.name, e.kind, wait);
            },
            || async move {
                let resp = self.send(endpoint, build()).await.map_err(|error| Failure {
                    error,
                    response: None,
                })?;
                match resp.kind {
                    Some(k) if k.is_retryable() => Err(Failure {
                        error: resp.error(resp.text()),
                        response: Some(resp),
                    }),
                    _ => Ok(resp),
                }
            },
        )
        .await;
        match result {
            Ok(resp)
            | Err(Failure {
                response: Some(resp),
                ..
            }) => Ok(resp),
            Err(Failure { error, .. }) => Err(error),
        }
    }

    /// True when an answer says the server is overloaded: 429, 503, a `RateLimited`
    /// classification, or the provider's [`OverloadTest`].
    fn is_overload(&self, r: &HttpResponse) -> bool {
        matches!(r.status.as_u16(), 429 | 503)
            || r.kind == Some(ErrorKind::RateLimited)
            || self.overloaded.is_some_and(|t| t(r))
    }

    /// The in-flight limit now ([`InFlightLimit`]).
    pub fn in_flight_limit(&self) -> usize {
        self.in_flight.limit()
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
/// Longer waits are cut to this: a server's `Retry-After` is advice, and a day-long (or
/// `u64::MAX`) value must neither overflow a clock nor stall a zone; the retry deadline
/// decides whether even this much is waited.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = httpdate::parse_http_date(v).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What a client told its observer: `(endpoint, outcome)` per request, kinds retried.
    #[derive(Default)]
    struct Seen {
        requests: Mutex<Vec<(String, String)>>,
        retries: Mutex<Vec<ErrorKind>>,
    }

    impl CallObserver for Seen {
        fn request(&self, provider: &str, endpoint: &str, outcome: &str, _d: Duration) {
            assert_eq!(provider, "t");
            let mut r = self.requests.lock().unwrap();
            r.push((endpoint.to_string(), outcome.to_string()));
        }
        fn retry(&self, _provider: &str, kind: ErrorKind, _wait: Duration) {
            self.retries.lock().unwrap().push(kind);
        }
    }

    fn ctx(retry: RetryPolicy) -> BuildContext {
        BuildContext {
            retry,
            ..BuildContext::new(crate::secret::SecretPolicy::default())
        }
    }

    /// Short waits, so tests on real sockets stay fast.
    fn no_wait() -> RetryPolicy {
        RetryPolicy {
            retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            deadline: Duration::from_secs(20),
        }
    }

    /// A raw answer: status line, extra header lines (each ending in CRLF), body.
    fn answer(status: &str, headers: &str, body: &str) -> Option<String> {
        Some(format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    /// A loopback server that answers each connection with the next of `script` (`None`:
    /// close without answering), then 200.
    async fn scripted(script: Vec<Option<String>>) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let i = count.fetch_add(1, Ordering::SeqCst);
                let reply = script
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| answer("200 OK", "", "ok"));
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    if let Some(a) = reply {
                        let _ = s.write_all(a.as_bytes()).await;
                    }
                });
            }
        });
        (format!("http://{addr}/"), served)
    }

    /// Route 53 signals throttling with HTTP 400 and an error code in its XML body.
    fn route53_like(r: &HttpResponse) -> Option<ErrorKind> {
        (r.status == StatusCode::BAD_REQUEST
            && String::from_utf8_lossy(&r.body).contains("<Code>Throttling</Code>"))
        .then_some(ErrorKind::RateLimited)
    }

    const THROTTLED: &str = "<?xml version=\"1.0\"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>";

    #[test]
    fn a_provider_classifier_comes_before_the_status() {
        let body = Bytes::from_static(THROTTLED.as_bytes());
        let bad = StatusCode::BAD_REQUEST;
        let r = HttpResponse::new(bad, HeaderMap::new(), body.clone(), Some(route53_like));
        assert_eq!(r.kind, Some(ErrorKind::RateLimited));
        assert!(!r.is_success());
        assert_eq!(r.error("x").kind, ErrorKind::RateLimited);
        // Without the provider's classifier the same answer is a refusal, as is a 400 with
        // another code with it.
        let plain = HttpResponse::new(bad, HeaderMap::new(), body, None);
        assert_eq!(plain.kind, Some(ErrorKind::Rejected));
        let other = Bytes::from_static(b"<Code>InvalidInput</Code>");
        let r = HttpResponse::new(bad, HeaderMap::new(), other, Some(route53_like));
        assert_eq!(r.kind, Some(ErrorKind::Rejected));
        // A classifier can also fail a 200 (APIs that answer errors with 200).
        let r = HttpResponse::new(
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::new(),
            Some(|_| Some(ErrorKind::Auth)),
        );
        assert!(!r.is_success());
        let r = HttpResponse::new(StatusCode::OK, HeaderMap::new(), Bytes::new(), None);
        assert!(r.is_success() && r.kind.is_none());
    }

    #[tokio::test]
    async fn idempotent_requests_are_retried_where_they_fail() {
        // 429, 503, a dropped connection, then Route 53's throttling 400 (the body is the
        // classifier's cue), then 200.
        let (url, served) = scripted(vec![
            answer("429 Too Many Requests", "retry-after: 0\r\n", ""),
            answer("503 Service Unavailable", "", ""),
            None,
            answer("400 Bad Request", "", THROTTLED),
        ])
        .await;
        let seen = Arc::new(Seen::default());
        let mut cx = ctx(no_wait());
        cx.observer = seen.clone();
        let opts = HttpOptions {
            classify: Some(route53_like),
            ..HttpOptions::default()
        };
        let c = HttpClient::new("test", "t", opts, &cx).unwrap();
        let r = c
            .send_idempotent("GET /zones/{zone}", || c.request(Method::GET, &url))
            .await
            .unwrap();
        assert!(r.is_success(), "{r:?}");
        assert_eq!(served.load(Ordering::SeqCst), 5);
        let outcomes: Vec<String> = seen
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.1.clone())
            .collect();
        assert_eq!(
            outcomes,
            [
                "rate-limited",
                "transient",
                "transient",
                "rate-limited",
                "ok"
            ]
        );
        assert!(seen
            .requests
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.0 == "GET /zones/{zone}"));
        assert_eq!(
            *seen.retries.lock().unwrap(),
            [
                ErrorKind::RateLimited,
                ErrorKind::Transient,
                ErrorKind::Transient,
                ErrorKind::RateLimited
            ]
        );
    }

    #[tokio::test]
    async fn retries_run_out_and_plain_sends_are_not_retried() {
        let unavailable = answer("503 Service Unavailable", "", "down");
        // Two retries allowed, three 503s: the last answer is handed back as it came.
        let (url, served) = scripted(vec![unavailable.clone(); 3]).await;
        let policy = RetryPolicy {
            retries: 2,
            ..no_wait()
        };
        let seen = Arc::new(Seen::default());
        let mut cx = ctx(policy);
        cx.observer = seen.clone();
        let c = HttpClient::new("test", "t", HttpOptions::default(), &cx).unwrap();
        let r = c
            .send_idempotent("GET /", || c.request(Method::GET, &url))
            .await
            .unwrap();
        assert_eq!(r.status.as_u16(), 503);
        assert_eq!(r.error(r.text()).kind, ErrorKind::Transient);
        assert_eq!(served.load(Ordering::SeqCst), 3);
        assert_eq!(seen.retries.lock().unwrap().len(), 2);

        // A plain send is tried once.
        let (url, served) = scripted(vec![unavailable]).await;
        let r = c
            .send("POST /", c.request(Method::POST, &url))
            .await
            .unwrap();
        assert_eq!(r.kind, Some(ErrorKind::Transient));
        assert_eq!(served.load(Ordering::SeqCst), 1);

        // Only dropped connections, no answer at all: the transport error comes back.
        let (url, served) = scripted(vec![None; 3]).await;
        let e = c
            .send_idempotent("GET /", || c.request(Method::GET, &url))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(served.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn endpoint_limits_are_kept_per_endpoint() {
        let (url, _) = scripted(vec![]).await;
        let quota = RateLimitSettings {
            requests: 1,
            per: Duration::from_millis(300).into(),
        }
        .quota()
        .unwrap();
        let opts = HttpOptions {
            endpoint_rate_limit: Some(quota),
            ..HttpOptions::default()
        };
        let c = HttpClient::new("test", "t", opts, &ctx(no_wait())).unwrap();
        let start = std::time::Instant::now();
        for endpoint in ["GET /a", "GET /b", "GET /c"] {
            c.send(endpoint, c.request(Method::GET, &url))
                .await
                .unwrap();
        }
        // Three endpoints, one request each: no waiting.
        assert!(
            start.elapsed() < Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
        c.send("GET /a", c.request(Method::GET, &url))
            .await
            .unwrap();
        // A second request to the same endpoint waits for its bucket.
        assert!(
            start.elapsed() >= Duration::from_millis(280),
            "{:?}",
            start.elapsed()
        );
    }

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
        // Absurd values are cut, never overflow a clock.
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            Some(MAX_RETRY_AFTER)
        );
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
            "t",
            HttpOptions {
                rate_limit: Some(quota),
                ..HttpOptions::default()
            },
            &ctx(RetryPolicy::default()),
        )
        .unwrap();
        let url = format!("http://{addr}/");
        let start = std::time::Instant::now();
        for _ in 0..3 {
            let r = c.send("GET /", c.request(Method::GET, &url)).await.unwrap();
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
        let c = HttpClient::new("test", "t", HttpOptions::default(), &ctx(no_wait())).unwrap();
        let e = c
            .send(
                "GET /",
                c.request(Method::GET, &format!("http://127.0.0.1:{port}/")),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
    }

    #[tokio::test]
    async fn in_flight_limit_halves_on_overload_and_grows_back_one_per_limit_successes() {
        let l = InFlightLimit::new(8);
        // Four in flight when the overloads come: the cut takes effect as they finish.
        let held: Vec<_> = futures_lite_acquire(&l, 4).await;
        assert_eq!(l.overload(), Some(4));
        assert_eq!(l.overload(), Some(2));
        assert_eq!(l.overload(), Some(1));
        assert_eq!(l.overload(), None, "never below 1");
        for p in held {
            l.release(p);
        }
        // 7 permits retired, 1 left: a second request waits.
        let one = l.acquire().await;
        assert!(l.sem.try_acquire().is_err(), "the limit is 1");
        l.release(one);
        // One success at limit 1 raises it to 2; then two more to 3.
        assert_eq!(l.success(), Some(2));
        assert_eq!(l.success(), None);
        assert_eq!(l.success(), Some(3));
        let three = futures_lite_acquire(&l, 3).await;
        assert!(l.sem.try_acquire().is_err(), "the limit is 3");
        for p in three {
            l.release(p);
        }
        for _ in 0..100 {
            l.success();
        }
        assert_eq!(l.limit(), 8, "back to the maximum, not past it");
        assert_eq!(l.sem.available_permits(), 8);
    }

    async fn futures_lite_acquire(
        l: &InFlightLimit,
        n: usize,
    ) -> Vec<tokio::sync::SemaphorePermit<'_>> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(l.acquire().await);
        }
        out
    }
}

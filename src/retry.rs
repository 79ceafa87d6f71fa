//! The one retry policy for every provider call: a read, a whole-batch write, a single
//! idempotent HTTP request. The CLI and the daemon use the same [`RetryPolicy`].
//!
//! Rules (issue 9, "retries that survive real APIs"):
//! - only [`ErrorKind::is_retryable`] failures are tried again;
//! - a transient failure (timeout, dropped connection, 5xx) spends one of `retries` and
//!   waits a jittered exponential backoff (backon's builder), or the server's
//!   `Retry-After` when that is longer;
//! - a rate-limit answer (429, Route 53's `Throttling`) is a wait, not a failure: it never
//!   spends `retries`; it waits `Retry-After` (or the backoff when none was given);
//! - nothing waits past the operation's deadline: when the next wait would end after it,
//!   the last error is returned with the reason. An operation run [`within`] a deadline
//!   (a zone's write, a zone's read) lends it to every retry inside it, down to the
//!   transport's per-request retries, so the earlier deadline always wins and the whole
//!   operation is bounded, however many requests it makes.
//!
//! Times come from `tokio::time`, so tests run on paused time.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use crate::provider::{ErrorKind, ProviderError};

/// How provider calls are retried. Durations are wall time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Transient failures tolerated per operation, after the first try.
    pub retries: usize,
    /// First backoff delay (doubles per transient failure, jittered).
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// The most one operation (a zone read, a zone write) may take, waits included. This,
    /// not `retries`, bounds rate-limit waits.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            deadline: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The instant an operation starting now must end by.
    pub fn deadline_from_now(&self) -> Instant {
        Instant::now() + self.deadline
    }

    /// The policy for a layer above a transport that retries by itself: no transient
    /// failure is tried again (the transport did that); rate-limit waits and the deadline
    /// stay.
    pub fn above(&self, transport_retries: bool) -> RetryPolicy {
        if transport_retries {
            RetryPolicy {
                retries: 0,
                ..self.clone()
            }
        } else {
            self.clone()
        }
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .without_max_times()
            .build()
    }
}

tokio::task_local! {
    /// The deadline of the operation this task is running (see [`within`]).
    static DEADLINE: Instant;
}

/// Runs `fut` with `deadline` as the bound of every [`retry`] inside it (the earlier of it
/// and an enclosing one).
pub async fn within<F: Future>(deadline: Instant, fut: F) -> F::Output {
    DEADLINE.scope(effective(deadline), fut).await
}

/// `deadline`, or the enclosing operation's deadline when that is earlier.
pub fn effective(deadline: Instant) -> Instant {
    DEADLINE
        .try_with(|outer| (*outer).min(deadline))
        .unwrap_or(deadline)
}

/// Runs `op` until it succeeds, fails for good, runs out of `policy.retries` transient
/// failures, or would wait past `deadline`. `error` picks the provider error out of `op`'s
/// error type (apply keeps per-change outcomes beside it); `on_retry` is called with the
/// error and the wait before each new try (logs, metrics).
///
/// # Errors
/// The last error of `op`, unchanged, when no further try is allowed.
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    deadline: Instant,
    error: impl Fn(&E) -> &ProviderError,
    mut on_retry: impl FnMut(&ProviderError, Duration),
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = effective(deadline);
    let mut backoff = policy.backoff();
    let mut transient = 0usize;
    loop {
        let failure = match op().await {
            Ok(v) => return Ok(v),
            Err(f) => f,
        };
        let e = error(&failure);
        if !e.kind.is_retryable() {
            return Err(failure);
        }
        let computed = backoff.next().unwrap_or(policy.max_delay);
        let wait = match e.kind {
            // `Retry-After: 0` (or a past date) must not turn into a busy loop.
            ErrorKind::RateLimited => e
                .retry_after
                .map_or(computed, |ra| ra.max(policy.min_delay)),
            _ => {
                transient += 1;
                if transient > policy.retries {
                    return Err(failure);
                }
                e.retry_after.map_or(computed, |ra| ra.max(computed))
            }
        };
        // `checked_add`: a wait no clock can represent is past any deadline.
        if Instant::now()
            .checked_add(wait)
            .is_none_or(|end| end > deadline)
        {
            return Err(failure);
        }
        on_retry(e, wait);
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn err(kind: ErrorKind, after: Option<u64>) -> ProviderError {
        let mut e = ProviderError::new(kind, "x");
        e.retry_after = after.map(Duration::from_secs);
        e
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_wait_without_spending_retries() {
        let policy = RetryPolicy {
            retries: 1,
            ..RetryPolicy::default()
        };
        let calls = AtomicUsize::new(0);
        let start = Instant::now();
        let r: Result<u32, ProviderError> = retry(
            &policy,
            policy.deadline_from_now(),
            |e| e,
            |_, _| {},
            || async {
                // Ten 429s asking for 2 s each, then success: more than `retries` allows
                // for failures, but waits are not failures.
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0..=9 => Err(err(ErrorKind::RateLimited, Some(2))),
                    _ => Ok(7),
                }
            },
        )
        .await;
        assert_eq!(r, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 11);
        assert!(start.elapsed() >= Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn an_enclosing_deadline_bounds_the_retries_inside_it() {
        let policy = RetryPolicy::default();
        let start = Instant::now();
        let inner = || {
            retry(
                &policy,
                policy.deadline_from_now(), // 300 s of its own
                |e: &ProviderError| e,
                |_, _| {},
                || async { Err::<(), _>(err(ErrorKind::RateLimited, Some(2))) },
            )
        };
        // Three requests in a row, each allowed 300 s alone: 30 s in all.
        let r = within(Instant::now() + Duration::from_secs(30), async {
            for _ in 0..3 {
                let _ = inner().await;
            }
        })
        .await;
        assert_eq!(r, ());
        assert!(
            start.elapsed() <= Duration::from_secs(30),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_or_huge_retry_after_neither_spins_nor_overflows() {
        let policy = RetryPolicy::default();
        let calls = AtomicUsize::new(0);
        let start = Instant::now();
        let r: Result<(), ProviderError> = retry(
            &policy,
            Instant::now() + Duration::from_secs(10),
            |e| e,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err(ErrorKind::RateLimited, Some(0)))
            },
        )
        .await;
        assert!(r.is_err());
        // At most one try per `min_delay` (200 ms) over the 10 s deadline.
        assert!(calls.load(Ordering::SeqCst) <= 51, "{calls:?}");
        assert!(start.elapsed() <= Duration::from_secs(10));
        let r: Result<(), ProviderError> = retry(
            &policy,
            policy.deadline_from_now(),
            |e| e,
            |_, _| {},
            || async { Err(err(ErrorKind::RateLimited, Some(u64::MAX))) },
        )
        .await;
        assert!(r.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_spend_retries_and_deadline_bounds_waits() {
        let policy = RetryPolicy {
            retries: 2,
            ..RetryPolicy::default()
        };
        let calls = AtomicUsize::new(0);
        let r: Result<(), ProviderError> = retry(
            &policy,
            policy.deadline_from_now(),
            |e| e,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err(ErrorKind::Transient, None))
            },
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        // A Retry-After past the deadline is not waited for.
        let calls = AtomicUsize::new(0);
        let start = Instant::now();
        let r: Result<(), ProviderError> = retry(
            &policy,
            Instant::now() + Duration::from_secs(10),
            |e| e,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err(ErrorKind::RateLimited, Some(60)))
            },
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(start.elapsed() < Duration::from_secs(1));

        // Permanent errors are returned at once.
        let calls = AtomicUsize::new(0);
        let r: Result<(), ProviderError> = retry(
            &policy,
            policy.deadline_from_now(),
            |e| e,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err(ErrorKind::Rejected, None))
            },
        )
        .await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::Rejected);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

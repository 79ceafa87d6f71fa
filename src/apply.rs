//! Applies a zone plan through a provider: batches sized to its capabilities, transient
//! failures retried with jittered exponential backoff (honouring `Retry-After`), and atomic
//! batches the server refused bisected so one bad record does not block the rest.
//!
//! Knows providers and plans only: no git, manifests, metrics or journal. The caller turns
//! the [`ApplyReport`] into those.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::plan::{Change, ZonePlan};
use crate::provider::{ChangeOutcome, ErrorKind, Observed, Provider, ProviderError};

/// Retry settings for provider writes.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Attempts after the first for a batch that failed transiently.
    pub retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            retries: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// What happened to each change of a plan.
#[derive(Clone, Debug)]
pub struct ApplyReport {
    pub results: Vec<(Change, ChangeOutcome)>,
    /// Provider write calls made (retries and bisection included).
    pub calls: usize,
}

impl ApplyReport {
    pub fn failed(&self) -> impl Iterator<Item = &(Change, ChangeOutcome)> {
        self.results.iter().filter(|(_, o)| o.is_err())
    }

    pub fn ok_count(&self) -> usize {
        self.results.iter().filter(|(_, o)| o.is_ok()).count()
    }

    pub fn all_ok(&self) -> bool {
        self.results.iter().all(|(_, o)| o.is_ok())
    }
}

/// Applies every change of `plan` (the caller has already decided it may be applied).
pub async fn apply_zone_plan(
    provider: &dyn Provider,
    plan: &ZonePlan,
    observed: &Observed,
    opts: &ApplyOptions,
) -> ApplyReport {
    apply_zone_plan_observed(provider, plan, observed, opts, &mut |_| {}).await
}

/// Called with each finished batch's results.
pub type BatchObserver<'a> = dyn FnMut(&[(Change, ChangeOutcome)]) + Send + 'a;

/// As [`apply_zone_plan`], calling `after_batch` with each batch's results as soon as the
/// batch is done (the daemon journals them there, so a crash loses at most one batch's
/// record).
pub async fn apply_zone_plan_observed(
    provider: &dyn Provider,
    plan: &ZonePlan,
    observed: &Observed,
    opts: &ApplyOptions,
    after_batch: &mut BatchObserver<'_>,
) -> ApplyReport {
    let mut report = ApplyReport {
        results: Vec::with_capacity(plan.changes.len()),
        calls: 0,
    };
    if !observed.exists && !plan.changes.is_empty() {
        if let Err(e) = create_zone(provider, plan, opts).await {
            report.results = plan
                .changes
                .iter()
                .map(|c| (c.clone(), Err(e.clone())))
                .collect();
            after_batch(&report.results);
            return report;
        }
    }
    let max = provider
        .capabilities()
        .batch
        .max_changes
        .unwrap_or(usize::MAX)
        .max(1);
    for batch in plan.changes.chunks(max) {
        let mut done = run_batch(
            provider,
            plan,
            observed,
            batch.to_vec(),
            opts,
            &mut report.calls,
        )
        .await;
        after_batch(&done);
        report.results.append(&mut done);
    }
    report
}

/// Creates the zone the read did not find, as its own step before any write, retried under
/// the one policy (`create_zone` is idempotent). A provider that cannot create zones fails
/// with `NotFound`.
async fn create_zone(
    provider: &dyn Provider,
    plan: &ZonePlan,
    opts: &ApplyOptions,
) -> Result<(), ProviderError> {
    if !provider.capabilities().creates_zones {
        return Err(ProviderError::new(
            ErrorKind::NotFound,
            format!(
                "zone {} does not exist and the {} provider cannot create it",
                plan.zone,
                provider.kind()
            ),
        ));
    }
    let policy = crate::retry::RetryPolicy {
        retries: opts.retries,
        min_delay: opts.min_delay,
        max_delay: opts.max_delay,
        ..crate::retry::RetryPolicy::default()
    };
    crate::retry::retry(
        &policy,
        policy.deadline_from_now(),
        |e| e,
        |e, wait| tracing::warn!(zone = %plan.zone, target = %plan.target, error = %e, retry_in = ?wait, "creating the zone failed, retrying"),
        || provider.create_zone(&plan.zone),
    )
    .await
}

/// A batch whose every change failed transiently, as one retryable error.
fn whole_batch_error(outcomes: &[ChangeOutcome]) -> Option<ProviderError> {
    let first = outcomes.first()?.as_ref().err()?;
    let all_retryable = outcomes
        .iter()
        .all(|o| o.as_ref().err().is_some_and(|e| e.kind.is_retryable()));
    all_retryable.then(|| first.clone())
}

async fn call_with_retry(
    provider: &dyn Provider,
    plan: &ZonePlan,
    observed: &Observed,
    batch: &[Change],
    opts: &ApplyOptions,
    calls: &mut usize,
) -> Vec<ChangeOutcome> {
    let backoff = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(opts.min_delay)
        .with_max_delay(opts.max_delay)
        .with_max_times(opts.retries);
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let attempt = || async {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let outcomes = provider.apply(&plan.zone, observed, batch).await;
        match whole_batch_error(&outcomes) {
            Some(e) => Err((e, outcomes)),
            None => Ok(outcomes),
        }
    };
    let result = attempt
        .retry(backoff)
        .when(|(e, _)| e.kind.is_retryable())
        // A server's Retry-After wins over our own schedule when it asks for longer.
        .adjust(|(e, _), dur| match (e.retry_after, dur) {
            (Some(ra), Some(d)) => Some(ra.max(d)),
            (_, d) => d,
        })
        .notify(|(e, _), dur| {
            tracing::warn!(zone = %plan.zone, target = %plan.target, error = %e, retry_in = ?dur, "write failed, retrying");
        })
        .await;
    *calls += counter.load(std::sync::atomic::Ordering::Relaxed);
    match result {
        Ok(o) | Err((_, o)) => o,
    }
}

/// A boxed future (the batch runner recurses when it bisects).
type BatchFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Vec<(Change, ChangeOutcome)>> + Send + 'a>>;

fn run_batch<'a>(
    provider: &'a dyn Provider,
    plan: &'a ZonePlan,
    observed: &'a Observed,
    batch: Vec<Change>,
    opts: &'a ApplyOptions,
    calls: &'a mut usize,
) -> BatchFuture<'a> {
    Box::pin(async move {
        let outcomes = call_with_retry(provider, plan, observed, &batch, opts, calls).await;
        let refused = outcomes
            .iter()
            .any(|o| matches!(o, Err(e) if e.kind == ErrorKind::Rejected));
        if refused && batch.len() > 1 && provider.capabilities().atomic_batches {
            // The server refused the batch as a whole: find the bad change(s) by halving,
            // so every good change still gets applied and each bad one gets its own error.
            let right = batch[batch.len() / 2..].to_vec();
            let left = batch[..batch.len() / 2].to_vec();
            let mut out = run_batch(provider, plan, observed, left, opts, calls).await;
            out.append(&mut run_batch(provider, plan, observed, right, opts, calls).await);
            return out;
        }
        batch.into_iter().zip(outcomes).collect()
    })
}

//! Applies a zone plan through a provider, honouring what the provider declared:
//!
//! - **zone creation is its own step**: a zone the read said is missing is created first
//!   with [`Provider::create_zone`] (retried like any call) when the provider
//!   [creates zones](crate::plan::Capabilities::creates_zones); otherwise every change fails
//!   with `NotFound` (the planner normally skips such a target before it gets here);
//! - **batches in the API's units**: changes are split, in apply order, so no call passes
//!   [`BatchLimit`] in changes, records or bytes as [`Provider::cost`] counts them (a single
//!   change over a limit is sent alone and the server decides);
//! - **whole-zone writers** ([`Granularity::Zone`]) get one call with every change of the
//!   plan, never split and never bisected;
//! - **retries under one policy** ([`crate::retry`]): a call that failed as a whole with a
//!   retryable error is sent again; a 429 is a wait that spends no retry; the whole write
//!   (zone creation included) is bounded by [`RetryPolicy::deadline`];
//! - **atomic batches refused** (`Rejected`) are bisected so one bad change does not block
//!   the rest and each bad change gets its own error;
//! - **a provider that returns fewer or more outcomes than changes** is a loud error
//!   ([`ErrorKind::ProviderBug`] on every change of that call), never a shortened report.
//!
//! The batch, retry and bisect engine ([`write_all`]) is generic over a [`Writer`], so other
//! write paths can reuse it; [`apply_zone_plan`] is the DNS one. Registrar writes
//! (`controller::domains`) still have their own small loop (one call per change set, only
//! failed retryable changes re-sent); moving them onto `write_all`, with the
//! transport-retries rule, is due before the first HTTP registrar lands.
//!
//! Knows providers and plans only: no git, manifests, metrics registry or journal. Retries
//! are reported to a [`CallObserver`]; a [`BatchJournal`] hears of every batch before its
//! first write call (the caller journals an intent there) and gets its results after; the
//! caller turns the [`ApplyReport`] into the rest.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tracing::Instrument;

use crate::model::Fqdn;
use crate::plan::{BatchLimit, Change, Granularity, ZonePlan};
use crate::provider::{
    outcome, BatchCost, CallObserver, ChangeOutcome, ErrorKind, NoObserver, Observed, Provider,
    ProviderError,
};
use crate::retry::{self, RetryPolicy};

/// How a write runs: the one retry policy (its `deadline` bounds the whole write, zone
/// creation included) and who hears about retries.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Retries, backoff and the deadline of one zone's write.
    pub retry: RetryPolicy,
    /// Told about every retry and rate-limit wait (metrics); [`NoObserver`] by default.
    pub observer: Arc<dyn CallObserver>,
}

impl ApplyOptions {
    /// `retry`, reported to no one.
    pub fn new(retry: RetryPolicy) -> ApplyOptions {
        ApplyOptions {
            retry,
            observer: Arc::new(NoObserver),
        }
    }

    /// Reports retries to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> ApplyOptions {
        self.observer = observer;
        self
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions::new(RetryPolicy::default())
    }
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// What happened to each change of a plan, and what it took.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// Every change of the plan with its outcome, in apply order (always one per change).
    pub results: Vec<(Change, ChangeOutcome)>,
    /// Provider write calls made (retries and bisection included; zone creation not).
    pub calls: usize,
    /// The zone did not exist and was created before the first write.
    pub created_zone: bool,
    /// Calls sent again after a transient failure (zone creation included).
    pub retries: usize,
    /// Waits asked for by the provider (429, `Retry-After`); these spend no retry.
    pub rate_limit_waits: usize,
    /// The policy's deadline ended the write: some changes were not sent, or a failing call
    /// was not tried again (their outcomes say which).
    pub deadline_passed: bool,
}

impl ApplyReport {
    /// The changes that failed, with their errors.
    pub fn failed(&self) -> impl Iterator<Item = &(Change, ChangeOutcome)> {
        self.results.iter().filter(|(_, o)| o.is_err())
    }

    /// How many changes were applied.
    pub fn ok_count(&self) -> usize {
        self.results.iter().filter(|(_, o)| o.is_ok()).count()
    }

    /// True when every change was applied.
    pub fn all_ok(&self) -> bool {
        self.results.iter().all(|(_, o)| o.is_ok())
    }
}

/// Called with each finished batch's results, in apply order, as soon as the batch is done.
pub type BatchObserver<'a, C = Change> = dyn FnMut(&[(C, ChangeOutcome)]) + Send + 'a;

/// Hears of each batch [`write_all`] sends, around its write call(s): the audit journal's
/// hook (an intent before, the outcomes after).
pub trait BatchJournal<C = Change>: Send {
    /// Called with a batch's changes before its first write call (retries and bisection of
    /// the batch are calls of the same batch). An error means the batch must not be sent:
    /// every change of it then fails with that error, and [`BatchJournal::after`] is still
    /// called.
    fn before(&mut self, batch: &[C]) -> Result<(), ProviderError>;

    /// Called with the batch's results, in order, as soon as the batch is done. Also called
    /// without a `before` for changes never handed to a write call (a failed zone creation).
    fn after(&mut self, results: &[(C, ChangeOutcome)]);
}

/// A [`BatchObserver`] as a [`BatchJournal`] that hears only the results.
struct AfterOnly<'a, 'b, C>(&'a mut BatchObserver<'b, C>);

impl<C> BatchJournal<C> for AfterOnly<'_, '_, C> {
    fn before(&mut self, _batch: &[C]) -> Result<(), ProviderError> {
        Ok(())
    }

    fn after(&mut self, results: &[(C, ChangeOutcome)]) {
        (self.0)(results)
    }
}

/// Applies every change of `plan` (the caller has already decided it may be applied).
/// `observed` is the read the plan was made from; it is handed to every write call.
pub async fn apply_zone_plan(
    provider: &dyn Provider,
    plan: &ZonePlan,
    observed: &Observed,
    opts: &ApplyOptions,
) -> ApplyReport {
    apply_zone_plan_observed(provider, plan, observed, opts, &mut |_| {}).await
}

/// As [`apply_zone_plan`], calling `after_batch` with each batch's results as soon as the
/// batch is done. A failed zone creation is reported as one batch holding every change.
pub async fn apply_zone_plan_observed(
    provider: &dyn Provider,
    plan: &ZonePlan,
    observed: &Observed,
    opts: &ApplyOptions,
    after_batch: &mut BatchObserver<'_>,
) -> ApplyReport {
    apply_zone_plan_journaled(provider, plan, observed, opts, &mut AfterOnly(after_batch)).await
}

/// As [`apply_zone_plan`], telling `journal` about each batch before it is sent and after
/// (the reconcile path journals an intent and then the outcomes there, so a crash during a
/// call leaves intents that are reconciled at the next start). A failed zone creation is
/// reported to [`BatchJournal::after`] as one batch holding every change, with no `before`.
pub async fn apply_zone_plan_journaled(
    provider: &dyn Provider,
    plan: &ZonePlan,
    observed: &Observed,
    opts: &ApplyOptions,
    journal: &mut dyn BatchJournal,
) -> ApplyReport {
    let span = tracing::info_span!("apply", zone = %plan.zone, target = %plan.target);
    // The whole write, transport retries included, ends by the policy's deadline.
    let deadline = opts.retry.deadline_from_now();
    retry::within(
        deadline,
        apply_inner(provider, plan, observed, opts, journal),
    )
    .instrument(span)
    .await
}

async fn apply_inner(
    provider: &dyn Provider,
    plan: &ZonePlan,
    observed: &Observed,
    opts: &ApplyOptions,
    journal: &mut dyn BatchJournal,
) -> ApplyReport {
    let mut report = ApplyReport::default();
    if plan.changes.is_empty() {
        return report;
    }
    let deadline = retry::effective(opts.retry.deadline_from_now());
    let policy = opts.retry.above(provider.capabilities().transport_retries);
    let created;
    let observed = if observed.exists {
        observed
    } else {
        match create_zone(provider, &plan.zone, opts, &policy, deadline, &mut report).await {
            Ok(()) => {
                report.created_zone = true;
                // Later writes see the zone as it now is: existing, still empty.
                created = Observed {
                    exists: true,
                    ..observed.clone()
                };
                &created
            }
            Err(e) => {
                report.results = plan
                    .changes
                    .iter()
                    .map(|c| (c.clone(), Err(e.clone())))
                    .collect();
                journal.after(&report.results);
                return report;
            }
        }
    };
    let writer = ZoneWriter {
        provider,
        zone: &plan.zone,
        observed,
    };
    let written = write_all(
        &writer,
        &plan.changes,
        &policy,
        deadline,
        opts.observer.as_ref(),
        journal,
    )
    .await;
    report.results = written.results;
    report.calls = written.calls;
    report.retries += written.retries;
    report.rate_limit_waits += written.rate_limit_waits;
    report.deadline_passed |= written.deadline_passed;
    report
}

/// Creates the missing zone under the retry policy, or says why it cannot be.
async fn create_zone(
    provider: &dyn Provider,
    zone: &Fqdn,
    opts: &ApplyOptions,
    policy: &RetryPolicy,
    deadline: Instant,
    report: &mut ApplyReport,
) -> Result<(), ProviderError> {
    if !provider.capabilities().creates_zones {
        return Err(ProviderError::new(
            ErrorKind::NotFound,
            format!(
                "zone {zone} does not exist on {} ({}), which cannot create zones: create it there first",
                provider.name(),
                provider.kind()
            ),
        ));
    }
    let mut counts = Counts::default();
    let r = retry::retry(
        policy,
        deadline,
        |e: &ProviderError| e,
        |e, wait| counts.note(opts.observer.as_ref(), provider.name(), e, wait),
        || provider.create_zone(zone),
    )
    .await;
    report.retries += counts.retries;
    report.rate_limit_waits += counts.rate_limit_waits;
    match r {
        Ok(()) => {
            tracing::info!(%zone, provider = provider.name(), "created zone");
            Ok(())
        }
        Err(mut e) => {
            if counts.stopped_by_deadline(policy, &e) {
                report.deadline_passed = true;
            }
            e.message = format!("creating zone {zone} failed: {}", e.message);
            Err(e)
        }
    }
}

/// One zone on one provider, as a [`Writer`] of DNS changes.
struct ZoneWriter<'a> {
    provider: &'a dyn Provider,
    zone: &'a Fqdn,
    observed: &'a Observed,
}

#[async_trait]
impl Writer<Change> for ZoneWriter<'_> {
    fn name(&self) -> &str {
        self.provider.name()
    }

    fn limit(&self) -> BatchLimit {
        self.provider.capabilities().batch
    }

    fn cost(&self, change: &Change) -> BatchCost {
        self.provider.cost(change)
    }

    fn whole(&self) -> bool {
        self.provider.capabilities().granularity == Granularity::Zone
    }

    fn atomic(&self) -> bool {
        self.provider.capabilities().atomic_batches
    }

    async fn write(&self, batch: &[Change]) -> Vec<ChangeOutcome> {
        self.provider.apply(self.zone, self.observed, batch).await
    }
}

// ---- the generic engine ---------------------------------------------------------------

/// A target that takes changes of type `C` in write calls: one zone on a DNS provider, one
/// domain on a registrar. [`write_all`] batches, retries and bisects for it.
#[async_trait]
pub trait Writer<C: Sync>: Send + Sync {
    /// The provider's configured name (log fields, [`CallObserver`] labels, messages).
    fn name(&self) -> &str;

    /// The most one call may carry ([`BatchLimit::UNLIMITED`]: everything in one call).
    fn limit(&self) -> BatchLimit;

    /// What one change costs against [`Writer::limit`].
    fn cost(&self, change: &C) -> BatchCost;

    /// Every change goes in one call that is never split or bisected (whole-zone writers:
    /// per-change outcomes are whatever that call returned).
    fn whole(&self) -> bool;

    /// A call is all-or-nothing, so a refused call is bisected to find the bad changes.
    fn atomic(&self) -> bool;

    /// Sends `batch` (never empty) and returns exactly one outcome per change, in order.
    async fn write(&self, batch: &[C]) -> Vec<ChangeOutcome>;
}

/// What [`write_all`] did.
#[derive(Clone, Debug)]
pub struct WriteReport<C> {
    /// Every change with its outcome, in the order given.
    pub results: Vec<(C, ChangeOutcome)>,
    /// Write calls made (retries and bisection included).
    pub calls: usize,
    /// Calls sent again after a transient failure.
    pub retries: usize,
    /// Waits the writer asked for (rate limits); these spend no retry.
    pub rate_limit_waits: usize,
    /// The deadline ended the write (see [`ApplyReport::deadline_passed`]).
    pub deadline_passed: bool,
}

/// Writes `changes` through `w`, in order: split by its limit (or one call for a whole
/// writer), each call retried under `policy` until `deadline`, refused atomic calls bisected.
/// `journal` hears of each top-level batch before its first call (a refusal there fails the
/// batch unsent) and gets its results when that batch is done.
///
/// Changes not sent because `deadline` had passed get a `Transient` error ("not sent: the
/// write deadline passed"): retryable, so the daemon tries the zone again later, and true
/// (nothing was sent). A call in flight when the deadline passes is not cancelled (its
/// transport has its own timeout): cancelling a write half way would leave its outcome
/// unknown.
pub async fn write_all<C: Clone + Send + Sync>(
    w: &dyn Writer<C>,
    changes: &[C],
    policy: &RetryPolicy,
    deadline: Instant,
    observer: &dyn CallObserver,
    journal: &mut dyn BatchJournal<C>,
) -> WriteReport<C> {
    let mut run = Run {
        w,
        policy,
        deadline,
        observer,
        calls: 0,
        counts: Counts::default(),
        deadline_passed: false,
    };
    if changes.is_empty() {
        return WriteReport {
            results: Vec::new(),
            calls: 0,
            retries: 0,
            rate_limit_waits: 0,
            deadline_passed: false,
        };
    }
    let batches: Vec<Range<usize>> = if w.whole() {
        std::iter::once(0..changes.len()).collect()
    } else {
        split_batches(changes, &w.limit(), |c| w.cost(c))
    };
    if batches.len() > 1 {
        tracing::debug!(
            provider = w.name(),
            batches = batches.len(),
            changes = changes.len(),
            "split into batches"
        );
    }
    let mut results = Vec::with_capacity(changes.len());
    for range in batches {
        let batch = &changes[range];
        let mut done = match journal.before(batch) {
            Ok(()) => run.batch(batch.to_vec()).await,
            Err(e) => batch.iter().map(|c| (c.clone(), Err(e.clone()))).collect(),
        };
        journal.after(&done);
        results.append(&mut done);
    }
    WriteReport {
        results,
        calls: run.calls,
        retries: run.counts.retries,
        rate_limit_waits: run.counts.rate_limit_waits,
        deadline_passed: run.deadline_passed,
    }
}

/// Splits `changes` into consecutive ranges, in order, so no range's summed cost passes a
/// limit of `limit`; a change that alone passes a limit gets a range of its own. Empty input
/// gives no ranges.
pub fn split_batches<C>(
    changes: &[C],
    limit: &BatchLimit,
    cost: impl Fn(&C) -> BatchCost,
) -> Vec<Range<usize>> {
    let over = |max: Option<usize>, v: usize| max.is_some_and(|m| v > m);
    let mut out = Vec::new();
    let mut start = 0;
    let mut acc = BatchCost::default();
    for (i, c) in changes.iter().enumerate() {
        let c = cost(c);
        let next = BatchCost {
            changes: acc.changes + c.changes,
            records: acc.records + c.records,
            bytes: acc.bytes + c.bytes,
        };
        let full = over(limit.max_changes, next.changes)
            || over(limit.max_records, next.records)
            || over(limit.max_bytes, next.bytes);
        if full && i > start {
            out.push(start..i);
            start = i;
            acc = c;
        } else {
            acc = next;
        }
    }
    if start < changes.len() {
        out.push(start..changes.len());
    }
    out
}

/// Retry and wait counts of one operation.
#[derive(Default)]
struct Counts {
    retries: usize,
    rate_limit_waits: usize,
    /// Transient failures retried for the current call (for telling why retrying stopped).
    transient_this_call: usize,
}

impl Counts {
    fn note(&mut self, observer: &dyn CallObserver, name: &str, e: &ProviderError, wait: Duration) {
        if e.kind == ErrorKind::RateLimited {
            self.rate_limit_waits += 1;
        } else {
            self.retries += 1;
            self.transient_this_call += 1;
        }
        observer.retry(name, e.kind, wait);
        tracing::warn!(provider = name, error = %e, retry_in = ?wait, "call failed, trying again");
    }

    /// `retry::retry` gave up with `last`: was it the deadline (not the retry budget, not a
    /// permanent error)? Rate limits never spend the budget, so only the deadline stops them.
    fn stopped_by_deadline(&self, policy: &RetryPolicy, last: &ProviderError) -> bool {
        match last.kind {
            ErrorKind::RateLimited => true,
            ErrorKind::Transient => self.transient_this_call < policy.retries,
            _ => false,
        }
    }
}

struct Run<'a, C> {
    w: &'a dyn Writer<C>,
    policy: &'a RetryPolicy,
    deadline: Instant,
    observer: &'a dyn CallObserver,
    calls: usize,
    counts: Counts,
    deadline_passed: bool,
}

/// A boxed future (the batch runner recurses when it bisects).
type BatchFuture<'a, C> = Pin<Box<dyn Future<Output = Vec<(C, ChangeOutcome)>> + Send + 'a>>;

impl<C: Clone + Send + Sync> Run<'_, C> {
    /// Sends one batch (retried), bisecting it when an atomic writer refused it.
    fn batch(&mut self, batch: Vec<C>) -> BatchFuture<'_, C> {
        Box::pin(async move {
            let outcomes = self.call(&batch).await;
            let refused = outcomes
                .iter()
                .any(|o| matches!(o, Err(e) if e.kind == ErrorKind::Rejected));
            if refused && batch.len() > 1 && self.w.atomic() && !self.w.whole() {
                // The server refused the batch as a whole: find the bad change(s) by halving,
                // so every good change still gets applied and each bad one its own error.
                let mut left = batch;
                let right = left.split_off(left.len() / 2);
                let mut out = self.batch(left).await;
                out.append(&mut self.batch(right).await);
                return out;
            }
            batch.into_iter().zip(outcomes).collect()
        })
    }

    /// One call under the retry policy; always exactly one outcome per change.
    async fn call(&mut self, batch: &[C]) -> Vec<ChangeOutcome> {
        if Instant::now() >= self.deadline {
            self.deadline_passed = true;
            return outcome::all(
                &ProviderError::new(
                    ErrorKind::Transient,
                    format!(
                        "not sent: the write deadline ({:?}) passed",
                        self.policy.deadline
                    ),
                ),
                batch.len(),
            );
        }
        let w = self.w;
        let calls = AtomicUsize::new(0);
        let observer = self.observer;
        self.counts.transient_this_call = 0;
        let counts = &mut self.counts;
        let r = retry::retry(
            self.policy,
            self.deadline,
            |(e, _): &(ProviderError, Vec<ChangeOutcome>)| e,
            |e, wait| counts.note(observer, w.name(), e, wait),
            || async {
                calls.fetch_add(1, Ordering::Relaxed);
                let outcomes = w.write(batch).await;
                if outcomes.len() != batch.len() {
                    // Never zip-truncate: a shortened report would hide changes whose fate
                    // is unknown. Not retried: the same code would answer the same way.
                    tracing::error!(
                        provider = w.name(),
                        changes = batch.len(),
                        outcomes = outcomes.len(),
                        "provider bug: wrong number of outcomes"
                    );
                    let e = ProviderError::new(
                        ErrorKind::ProviderBug,
                        format!(
                            "provider {} returned {} outcome(s) for {} change(s); what it applied is unknown",
                            w.name(),
                            outcomes.len(),
                            batch.len()
                        ),
                    );
                    return Ok(outcome::all(&e, batch.len()));
                }
                match whole_batch_error(&outcomes) {
                    Some(e) => Err((e, outcomes)),
                    None => Ok(outcomes),
                }
            },
        )
        .await;
        self.calls += calls.into_inner();
        match r {
            Ok(o) => o,
            Err((last, mut o)) => {
                if self.counts.stopped_by_deadline(self.policy, &last) {
                    self.deadline_passed = true;
                    let note = format!(
                        "; not tried again: the write deadline ({:?}) would pass",
                        self.policy.deadline
                    );
                    for e in o.iter_mut().filter_map(|o| o.as_mut().err()) {
                        e.message.push_str(&note);
                    }
                }
                o
            }
        }
    }
}

/// A call whose every change failed retryably, as one retryable error (the first).
fn whole_batch_error(outcomes: &[ChangeOutcome]) -> Option<ProviderError> {
    let first = outcomes.first()?.as_ref().err()?;
    let all_retryable = outcomes
        .iter()
        .all(|o| o.as_ref().err().is_some_and(|e| e.kind.is_retryable()));
    all_retryable.then(|| first.clone())
}

#[cfg(test)]
mod tests;

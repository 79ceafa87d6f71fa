//! The daemon's work queue, as plain state (no tasks, no IO), so its rules are unit-tested
//! on paused time:
//! - a key (a zone, later a registrar domain) is queued at most once;
//! - a key is never run twice at once: asked for while running, it is marked dirty and
//!   queued again when the run finishes;
//! - at most `concurrency` keys run together;
//! - a key whose inputs changed goes before those queued by a drift sweep
//!   ([`Scheduler::enqueue_first`]), so an edit is not held behind a sweep of every zone;
//! - a key that failed transiently is retried after a jittered exponential backoff that
//!   grows with its failure streak and resets on success (the kube-runtime lesson: a
//!   streak must reset, or a zone that failed once waits the maximum forever).
//!
//! Times are `tokio::time::Instant`, so `tokio::time::pause` drives the tests.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use crate::model::Fqdn;

/// One unit of the daemon's work.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Work {
    /// Reconcile a zone on each of its targets.
    Zone(Fqdn),
    /// Reconcile a domain's registrar settings.
    Domain(Fqdn),
}

impl std::fmt::Display for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Work::Zone(z) => write!(f, "zone {z}"),
            Work::Domain(d) => write!(f, "domain {d}"),
        }
    }
}

/// How a run ended, as far as scheduling cares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RunResult {
    /// Converged (or nothing to retry: unsafe, drift under `warn`).
    Done,
    /// Failed in a way worth retrying soon.
    Transient,
    /// Failed in a way a retry will not fix (bad credentials, refused values): waits for
    /// the next change or drift sweep.
    Permanent,
}

/// Backoff settings for keys that fail transiently.
#[derive(Clone, Copy, Debug)]
pub struct RetryTimes {
    pub min: Duration,
    pub max: Duration,
}

/// The queue, the running set, dirty marks, failure streaks and retry timers.
pub struct Scheduler<K> {
    concurrency: usize,
    retry: RetryTimes,
    queue: VecDeque<K>,
    queued: BTreeSet<K>,
    running: BTreeSet<K>,
    dirty: BTreeSet<K>,
    streak: HashMap<K, u32>,
    retry_at: BTreeMap<Instant, Vec<K>>,
    /// Forgotten while running: the run's end schedules nothing.
    gone: BTreeSet<K>,
}

impl<K: Clone + Ord + std::hash::Hash> Scheduler<K> {
    /// `concurrency` of 0 is taken as 1.
    pub fn new(concurrency: usize, retry: RetryTimes) -> Scheduler<K> {
        Scheduler {
            concurrency: concurrency.max(1),
            retry,
            queue: VecDeque::new(),
            queued: BTreeSet::new(),
            running: BTreeSet::new(),
            dirty: BTreeSet::new(),
            streak: HashMap::new(),
            retry_at: BTreeMap::new(),
            gone: BTreeSet::new(),
        }
    }

    /// Asks for a run of `key`: queued once, or marked dirty while it runs.
    pub fn enqueue(&mut self, key: K) {
        self.gone.remove(&key);
        if self.running.contains(&key) {
            self.dirty.insert(key);
        } else if self.queued.insert(key.clone()) {
            self.queue.push_back(key);
        }
    }

    /// [`Scheduler::enqueue`], but ahead of every queued key (also when already queued:
    /// its later place is then skipped): for work whose inputs changed.
    pub fn enqueue_first(&mut self, key: K) {
        self.gone.remove(&key);
        if self.running.contains(&key) {
            self.dirty.insert(key);
            return;
        }
        self.queued.insert(key.clone());
        self.queue.push_front(key);
    }

    /// The next key to start, if one is queued and a slot is free; it is then running.
    pub fn start_next(&mut self) -> Option<K> {
        if self.running.len() >= self.concurrency {
            return None;
        }
        // A key started from an earlier place in the queue is no longer `queued`.
        let key = loop {
            let key = self.queue.pop_front()?;
            if self.queued.remove(&key) {
                break key;
            }
        };
        self.running.insert(key.clone());
        Some(key)
    }

    /// Records the end of `key`'s run. Returns the retry delay when one was scheduled.
    pub fn finished(&mut self, key: &K, result: RunResult) -> Option<Duration> {
        self.running.remove(key);
        if self.gone.remove(key) {
            // Removed from the configuration while it ran: no retry, no re-run.
            return None;
        }
        let delay = match result {
            RunResult::Done => {
                self.streak.remove(key);
                None
            }
            RunResult::Permanent => None,
            RunResult::Transient => {
                let n = self.streak.entry(key.clone()).or_insert(0);
                *n += 1;
                let delay = ExponentialBuilder::default()
                    .with_min_delay(self.retry.min)
                    .with_max_delay(self.retry.max)
                    .without_max_times()
                    .build()
                    .nth((*n - 1) as usize)
                    .unwrap_or(self.retry.max);
                let delay = jitter(delay);
                self.retry_at
                    .entry(Instant::now() + delay)
                    .or_default()
                    .push(key.clone());
                Some(delay)
            }
        };
        if self.dirty.remove(key) {
            self.enqueue(key.clone());
        }
        delay
    }

    /// The earliest retry timer, if any.
    pub fn next_retry(&self) -> Option<Instant> {
        self.retry_at.keys().next().copied()
    }

    /// Queues every key whose retry time has come.
    pub fn fire_due(&mut self, now: Instant) {
        let later = self.retry_at.split_off(&(now + Duration::from_nanos(1)));
        let due = std::mem::replace(&mut self.retry_at, later);
        for key in due.into_values().flatten() {
            self.enqueue(key);
        }
    }

    /// Drops every trace of `key` (a zone removed from the configuration). A run in
    /// progress finishes but is not re-queued.
    pub fn forget(&mut self, key: &K) {
        if self.running.contains(key) {
            self.gone.insert(key.clone());
        }
        self.queue.retain(|k| k != key);
        self.queued.remove(key);
        self.dirty.remove(key);
        self.streak.remove(key);
        for keys in self.retry_at.values_mut() {
            keys.retain(|k| k != key);
        }
        self.retry_at.retain(|_, keys| !keys.is_empty());
    }

    /// Keys running now.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Keys waiting for a slot.
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// The current failure streak of `key` (0 after a success).
    pub fn streak(&self, key: &K) -> u32 {
        self.streak.get(key).copied().unwrap_or(0)
    }
}

/// +-10% jitter so many daemons (or zones) do not move in lockstep.
pub fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.9 + fastrand::f64() * 0.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(concurrency: usize) -> Scheduler<&'static str> {
        Scheduler::new(
            concurrency,
            RetryTimes {
                min: Duration::from_secs(5),
                max: Duration::from_secs(300),
            },
        )
    }

    #[test]
    fn dedupes_caps_concurrency_and_reruns_dirty_keys() {
        let mut s = sched(2);
        for k in ["a", "b", "a", "c", "b"] {
            s.enqueue(k);
        }
        assert_eq!(s.queued(), 3);
        assert_eq!(s.start_next(), Some("a"));
        assert_eq!(s.start_next(), Some("b"));
        // The cap holds.
        assert_eq!(s.start_next(), None);
        // Asked for while running: not queued twice, not run twice at once.
        s.enqueue("a");
        assert_eq!(s.queued(), 1);
        assert_eq!(s.finished(&"a", RunResult::Done), None);
        // ... but run again once it is done.
        assert_eq!(s.start_next(), Some("c"));
        assert_eq!(s.start_next(), None);
        s.finished(&"b", RunResult::Done);
        assert_eq!(s.start_next(), Some("a"));
        assert_eq!(s.running(), 2);
    }

    #[test]
    fn changed_work_goes_before_a_sweep() {
        let mut s = sched(1);
        for k in ["a", "b", "c"] {
            s.enqueue(k);
        }
        s.enqueue_first("c");
        s.enqueue_first("d");
        assert_eq!(s.queued(), 4);
        let order: Vec<_> = std::iter::from_fn(|| {
            let k = s.start_next()?;
            s.finished(&k, RunResult::Done);
            Some(k)
        })
        .collect();
        assert_eq!(order, ["d", "c", "a", "b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_back_off_and_success_resets_the_streak() {
        let mut s = sched(4);
        s.enqueue("z");
        let mut delays = Vec::new();
        for _ in 0..4 {
            assert_eq!(s.start_next(), Some("z"));
            let d = s.finished(&"z", RunResult::Transient).expect("a retry");
            delays.push(d);
            // Nothing runs before the timer.
            assert_eq!(s.start_next(), None);
            let at = s.next_retry().expect("a timer");
            tokio::time::advance(d / 2).await;
            s.fire_due(Instant::now());
            assert_eq!(s.start_next(), None, "fired early");
            tokio::time::sleep_until(at).await;
            s.fire_due(Instant::now());
        }
        // 5 s, 10 s, 20 s, 40 s, each +-10%.
        for (d, base) in delays.iter().zip([5u64, 10, 20, 40]) {
            let base = Duration::from_secs(base);
            assert!(
                *d >= base.mul_f64(0.89) && *d <= base.mul_f64(1.11),
                "{d:?} vs {base:?}"
            );
        }
        assert_eq!(s.streak(&"z"), 4);
        assert_eq!(s.start_next(), Some("z"));
        assert_eq!(s.finished(&"z", RunResult::Done), None);
        assert_eq!(s.streak(&"z"), 0);
        // The next failure starts from the minimum again.
        s.enqueue("z");
        s.start_next();
        let d = s.finished(&"z", RunResult::Transient).expect("a retry");
        assert!(d <= Duration::from_secs(6), "{d:?}");
        // Permanent failures are not retried by timer.
        s.fire_due(Instant::now() + Duration::from_secs(10));
        s.start_next();
        assert_eq!(s.finished(&"z", RunResult::Permanent), None);
        assert_eq!(s.next_retry(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_backoff_stops_at_its_maximum_and_forget_clears_timers() {
        let mut s = sched(1);
        s.enqueue("z");
        let mut last = Duration::ZERO;
        for _ in 0..12 {
            s.fire_due(Instant::now() + Duration::from_secs(3600));
            assert_eq!(s.start_next(), Some("z"));
            last = s.finished(&"z", RunResult::Transient).expect("a retry");
        }
        assert!(last <= Duration::from_secs(330), "{last:?}");
        assert!(last >= Duration::from_secs(270), "{last:?}");
        s.forget(&"z");
        assert_eq!(s.next_retry(), None);
        assert_eq!(s.streak(&"z"), 0);
        s.fire_due(Instant::now() + Duration::from_secs(3600));
        assert_eq!(s.start_next(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn work_forgotten_while_running_is_not_retried_or_rerun() {
        let mut s = sched(2);
        s.enqueue("z");
        assert_eq!(s.start_next(), Some("z"));
        s.enqueue("z"); // dirty
        s.forget(&"z");
        assert_eq!(s.finished(&"z", RunResult::Transient), None);
        assert_eq!(s.next_retry(), None);
        assert_eq!(s.start_next(), None, "not re-run either");
        // Added back later: scheduled as usual.
        s.enqueue("z");
        assert_eq!(s.start_next(), Some("z"));
        assert!(s.finished(&"z", RunResult::Transient).is_some());
    }
}

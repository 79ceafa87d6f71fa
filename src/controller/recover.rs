//! Writes interrupted by a crash, concluded after the restart: the one function
//! [`recover_interrupted`], called by `zonekeeper apply` and the daemon before they write.
//!
//! An intent line with no outcome line (same batch, zone, target, name, type) is a write
//! call the process did not live to report (kill -9, power loss). For each (zone, target)
//! holding such intents the zone is read from the provider once, and each interrupted change
//! is concluded by comparing the live RRset with the intent's `after` (applied) and `before`
//! (not applied); anything else is `recovered-unknown` (changed since). Recovery only reads:
//! the next plan puts the zone right. A provider that cannot be read now leaves its intents
//! open, to be tried at the next start.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::reconcile::{read_with_retry, rrset_json};
use super::Providers;
use crate::model::Fqdn;
use crate::retry::RetryPolicy;
use crate::telemetry::journal::{
    self, now_rfc3339, Entry, Journal, RECOVERED_APPLIED, RECOVERED_NOT_APPLIED, RECOVERED_UNKNOWN,
};

/// What [`recover_interrupted`] concluded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Interrupted changes found applied (live = `after`).
    pub applied: usize,
    /// Interrupted changes found not applied (live = `before`).
    pub not_applied: usize,
    /// Interrupted changes concluded `recovered-unknown` (changed since, or zone or provider
    /// no longer configured).
    pub unknown: usize,
    /// Intents left open because their provider could not be read now.
    pub left_open: usize,
    /// Another process has the journal open (a running daemon, a concurrent `apply`), so
    /// its intents may be in flight: nothing was concluded.
    pub journal_shared: bool,
}

impl Recovery {
    /// Intents concluded by this run.
    pub fn concluded(&self) -> usize {
        self.applied + self.not_applied + self.unknown
    }

    /// True when there was nothing to do.
    pub fn is_empty(&self) -> bool {
        self.concluded() == 0 && self.left_open == 0 && !self.journal_shared
    }
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.journal_shared {
            return f.write_str("not looked at: another process has the audit journal open");
        }
        write!(
            f,
            "{} interrupted write(s) concluded: {} applied, {} not applied, {} unknown",
            self.concluded(),
            self.applied,
            self.not_applied,
            self.unknown
        )?;
        if self.left_open > 0 {
            write!(
                f,
                "; {} left open (provider not readable now; tried again at the next start)",
                self.left_open
            )?;
        }
        Ok(())
    }
}

/// Why recovery could not look at the journal.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("reading or writing the audit journal {path}")]
    Journal {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the audit journal lock is poisoned")]
    Poisoned,
}

/// Concludes every interrupted write in `journal`: one `recovered-*` line per open intent
/// (same batch id), so each intent ends with exactly one conclusion. `configured` are the
/// zones of the configuration in force (an intent of another zone is concluded
/// `recovered-unknown` without a read); `providers` are read with `retry` (reads only, never
/// a write). Lines are appended (one fsync) per (zone, target).
///
/// Nothing is concluded while another process has the journal open (its intents may be in
/// flight): [`Recovery::journal_shared`] says so.
///
/// # Errors
/// The journal cannot be read, locked or appended to.
pub async fn recover_interrupted<'a>(
    journal: &Mutex<Journal>,
    configured: impl IntoIterator<Item = &'a Fqdn>,
    providers: &Providers,
    retry: &RetryPolicy,
) -> Result<Recovery, RecoverError> {
    let mut out = Recovery::default();
    let path = {
        let j = journal.lock().map_err(|_| RecoverError::Poisoned)?;
        let path = j.path().to_path_buf();
        let io = |source| RecoverError::Journal {
            path: path.clone(),
            source,
        };
        if !j.try_exclusive().map_err(io)? {
            out.journal_shared = true;
            tracing::warn!(journal = %path.display(), "another process has the audit journal open: interrupted writes are concluded when this one starts alone");
            return Ok(out);
        }
        path
    };
    let r = conclude(journal, &path, configured, providers, retry, &mut out).await;
    let shared = journal
        .lock()
        .map_err(|_| RecoverError::Poisoned)?
        .share()
        .map_err(|source| RecoverError::Journal {
            path: path.clone(),
            source,
        });
    r.and(shared).map(|()| out)
}

async fn conclude<'a>(
    journal: &Mutex<Journal>,
    path: &std::path::Path,
    configured: impl IntoIterator<Item = &'a Fqdn>,
    providers: &Providers,
    retry: &RetryPolicy,
    out: &mut Recovery,
) -> Result<(), RecoverError> {
    let io = |source| RecoverError::Journal {
        path: path.to_path_buf(),
        source,
    };
    let open = journal::open_intents(path).map_err(io)?;
    if open.is_empty() {
        return Ok(());
    }
    let configured: BTreeMap<String, &Fqdn> =
        configured.into_iter().map(|z| (z.to_string(), z)).collect();
    let mut groups: BTreeMap<(String, String), Vec<Entry>> = BTreeMap::new();
    for e in open {
        groups
            .entry((e.zone.clone(), e.target.clone()))
            .or_default()
            .push(e);
    }
    tracing::warn!(
        intents = groups.values().map(Vec::len).sum::<usize>(),
        targets = groups.len(),
        "the audit journal holds writes interrupted before their outcome was journaled; reading the zones to conclude them"
    );
    for ((zone, target), intents) in groups {
        let conclusions: Vec<Entry> = match (configured.get(&zone), providers.get(&target)) {
            (None, _) => {
                let why =
                    format!("zone {zone} is no longer configured: its live state was not read");
                intents
                    .iter()
                    .map(|e| conclusion(e, RECOVERED_UNKNOWN, Some(why.clone())))
                    .collect()
            }
            (Some(_), None) => {
                let why =
                    format!("provider {target:?} is no longer configured: the zone was not read");
                intents
                    .iter()
                    .map(|e| conclusion(e, RECOVERED_UNKNOWN, Some(why.clone())))
                    .collect()
            }
            (Some(fqdn), Some(p)) => match read_with_retry(p.as_ref(), fqdn, retry).await {
                Err(e) => {
                    tracing::warn!(%zone, provider = %target, intents = intents.len(), error = %e, "cannot read the zone to conclude interrupted writes; they stay open until the next start");
                    out.left_open += intents.len();
                    continue;
                }
                Ok(observed) => {
                    let wanted: BTreeSet<(&str, &str)> = intents
                        .iter()
                        .map(|e| (e.name.as_str(), e.rtype.as_str()))
                        .collect();
                    let live: BTreeMap<(String, String), serde_json::Value> = observed
                        .zone
                        .rrsets
                        .iter()
                        .map(|(k, s)| ((k.name.to_string(), k.rtype.to_string()), s))
                        .filter(|((n, t), _)| wanted.contains(&(n.as_str(), t.as_str())))
                        .map(|(k, s)| (k, rrset_json(s)))
                        .collect();
                    intents
                        .iter()
                        .map(|e| {
                            let now = live.get(&(e.name.clone(), e.rtype.clone()));
                            if now == e.after.as_ref() {
                                conclusion(e, RECOVERED_APPLIED, None)
                            } else if now == e.before.as_ref() {
                                conclusion(e, RECOVERED_NOT_APPLIED, None)
                            } else {
                                conclusion(
                                    e,
                                    RECOVERED_UNKNOWN,
                                    Some("the live RRset is neither the intent's before nor its after: changed since".into()),
                                )
                            }
                        })
                        .collect()
                }
            },
        };
        for c in &conclusions {
            match c.outcome.as_str() {
                RECOVERED_APPLIED => out.applied += 1,
                RECOVERED_NOT_APPLIED => out.not_applied += 1,
                _ => out.unknown += 1,
            }
        }
        journal
            .lock()
            .map_err(|_| RecoverError::Poisoned)?
            .append(&conclusions)
            .map_err(io)?;
        tracing::info!(%zone, provider = %target, concluded = conclusions.len(), "interrupted writes concluded");
    }
    Ok(())
}

/// The conclusion line of one intent: the intent with a new time and outcome.
fn conclusion(intent: &Entry, outcome: &str, error: Option<String>) -> Entry {
    Entry {
        time: now_rfc3339(),
        outcome: outcome.to_string(),
        error,
        ..intent.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::model::{RData, RecordType, RrKey, RrSet, Zone};
    use crate::plan::{Capabilities, Change};
    use crate::provider::memory::MemoryProvider;
    use crate::provider::{ChangeOutcome, ErrorKind, Observed, Provider, ProviderError};
    use crate::telemetry::journal::{open_intents, INTENT};

    fn fq(s: &str) -> Fqdn {
        Fqdn::parse(s).unwrap()
    }

    fn set(last: u8) -> RrSet {
        RrSet::new(300, vec![RData::A(Ipv4Addr::new(192, 0, 2, last))])
    }

    fn live_zone(hosts: &[(&str, u8)]) -> Zone {
        let mut z = Zone::new(fq("example.test."));
        for (h, last) in hosts {
            z.put(
                RrKey::new(fq(&format!("{h}.example.test.")), RecordType::A),
                set(*last),
            );
        }
        z
    }

    /// An intent line: `host` of `zone` on `target`, from `before` to `after` (last
    /// octets; `None` absent).
    fn intent(
        zone: &str,
        target: &str,
        host: &str,
        before: Option<u8>,
        after: Option<u8>,
    ) -> Entry {
        Entry {
            time: now_rfc3339(),
            zone: zone.into(),
            target: target.into(),
            op: match (before, after) {
                (None, _) => "create",
                (_, None) => "delete",
                _ => "update",
            }
            .into(),
            name: format!("{host}.{zone}"),
            rtype: "A".into(),
            before: before.map(|b| rrset_json(&set(b))),
            after: after.map(|a| rrset_json(&set(a))),
            commit: "c1".into(),
            outcome: INTENT.into(),
            error: None,
            batch: Some("b1".into()),
        }
    }

    fn retry() -> RetryPolicy {
        RetryPolicy {
            retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// A memory provider whose reads fail (as a provider down) while `down` is set.
    struct Flaky {
        inner: MemoryProvider,
        down: Arc<AtomicBool>,
    }

    #[async_trait]
    impl Provider for Flaky {
        fn name(&self) -> &str {
            self.inner.name()
        }
        fn kind(&self) -> &'static str {
            self.inner.kind()
        }
        fn capabilities(&self) -> &Capabilities {
            self.inner.capabilities()
        }
        async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
            self.inner.list_zones().await
        }
        async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(ProviderError::new(ErrorKind::Auth, "401 token expired"));
            }
            self.inner.read_zone(zone).await
        }
        async fn apply(&self, _: &Fqdn, _: &Observed, _: &[Change]) -> Vec<ChangeOutcome> {
            panic!("recovery never writes");
        }
    }

    fn setup(
        lines: &[Entry],
        hosts: &[(&str, u8)],
    ) -> (
        tempfile::TempDir,
        Mutex<Journal>,
        Providers,
        Arc<AtomicBool>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("journal.jsonl")).unwrap();
        j.append(lines).unwrap();
        let inner = MemoryProvider::new("mem");
        inner.seed(live_zone(hosts));
        let down = Arc::new(AtomicBool::new(false));
        let mut providers = Providers::new();
        providers.insert(
            "mem".into(),
            Arc::new(Flaky {
                inner,
                down: down.clone(),
            }),
        );
        (dir, Mutex::new(j), providers, down)
    }

    fn journal_lines(j: &Mutex<Journal>) -> Vec<Entry> {
        Journal::read_all(j.lock().unwrap().path()).unwrap()
    }

    #[tokio::test]
    async fn each_interrupted_change_is_concluded_once_from_the_live_zone() {
        let z = "example.test.";
        let mut concluded = intent(z, "mem", "f", None, Some(2));
        concluded.outcome = "ok".into();
        let lines = [
            intent(z, "mem", "a", Some(1), Some(2)), // live 2: applied
            intent(z, "mem", "b", None, Some(5)),    // absent: not applied
            intent(z, "mem", "c", Some(1), None),    // absent: applied (a delete)
            intent(z, "mem", "d", Some(1), Some(2)), // live 3: changed since
            intent(z, "mem", "e", Some(1), Some(2)), // live 1: not applied
            intent(z, "mem", "f", None, Some(2)),    // has its outcome below
            concluded,
            intent("gone.test.", "mem", "x", None, Some(1)),
            intent(z, "old-provider", "y", None, Some(1)),
        ];
        let (_dir, j, providers, _) = setup(&lines, &[("a", 2), ("d", 3), ("e", 1), ("f", 2)]);
        let r = recover_interrupted(&j, [&fq(z)], &providers, &retry())
            .await
            .unwrap();
        assert_eq!(
            r,
            Recovery {
                applied: 2,
                not_applied: 2,
                unknown: 3,
                ..Recovery::default()
            }
        );
        let all = journal_lines(&j);
        let new = &all[lines.len()..];
        let got: Vec<(&str, &str, &str)> = new
            .iter()
            .map(|e| {
                (
                    e.name.as_str(),
                    e.outcome.as_str(),
                    e.batch.as_deref().unwrap(),
                )
            })
            .collect();
        // Grouped by (zone, target), in journal order within a group.
        assert_eq!(
            got,
            [
                ("a.example.test.", RECOVERED_APPLIED, "b1"),
                ("b.example.test.", RECOVERED_NOT_APPLIED, "b1"),
                ("c.example.test.", RECOVERED_APPLIED, "b1"),
                ("d.example.test.", RECOVERED_UNKNOWN, "b1"),
                ("e.example.test.", RECOVERED_NOT_APPLIED, "b1"),
                ("y.example.test.", RECOVERED_UNKNOWN, "b1"),
                ("x.gone.test.", RECOVERED_UNKNOWN, "b1"),
            ]
        );
        let error = |n: &str| {
            new.iter()
                .find(|e| e.name == n)
                .unwrap()
                .error
                .clone()
                .unwrap_or_default()
        };
        assert!(error("d.example.test.").contains("changed since"));
        assert!(error("x.gone.test.").contains("zone gone.test. is no longer configured"));
        assert!(
            error("y.example.test.").contains("provider \"old-provider\" is no longer configured")
        );
        assert!(error("a.example.test.").is_empty());
        // Conclusions keep the intent's change.
        assert!(new.iter().all(|c| lines.iter().any(|i| i.name == c.name
            && i.before == c.before
            && i.after == c.after
            && i.commit == c.commit)));
        assert!(open_intents(j.lock().unwrap().path()).unwrap().is_empty());
        // Concluded once: a second start finds nothing.
        let again = recover_interrupted(&j, [&fq(z)], &providers, &retry())
            .await
            .unwrap();
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(journal_lines(&j).len(), all.len());
    }

    #[tokio::test]
    async fn intents_stay_open_while_their_provider_cannot_be_read() {
        let z = "example.test.";
        let lines = [intent(z, "mem", "a", Some(1), Some(2))];
        let (_dir, j, providers, down) = setup(&lines, &[("a", 2)]);
        down.store(true, Ordering::SeqCst);
        let r = recover_interrupted(&j, [&fq(z)], &providers, &retry())
            .await
            .unwrap();
        assert_eq!(r.left_open, 1);
        assert_eq!(r.concluded(), 0);
        assert!(r.to_string().contains("1 left open"), "{r}");
        assert_eq!(journal_lines(&j).len(), 1, "nothing concluded");
        // The next start, with the provider back.
        down.store(false, Ordering::SeqCst);
        let r = recover_interrupted(&j, [&fq(z)], &providers, &retry())
            .await
            .unwrap();
        assert_eq!((r.applied, r.left_open), (1, 0));
        assert_eq!(journal_lines(&j)[1].outcome, RECOVERED_APPLIED);
    }

    #[tokio::test]
    async fn nothing_is_concluded_while_another_process_has_the_journal_open() {
        let z = "example.test.";
        let lines = [intent(z, "mem", "a", Some(1), Some(2))];
        let (_dir, j, providers, _) = setup(&lines, &[("a", 2)]);
        // Another writer (a daemon, a concurrent apply) may have this intent in flight.
        let other = Journal::open(j.lock().unwrap().path()).unwrap();
        let r = recover_interrupted(&j, [&fq(z)], &providers, &retry())
            .await
            .unwrap();
        assert!(r.journal_shared);
        assert_eq!(r.concluded(), 0);
        assert_eq!(journal_lines(&j).len(), 1);
        drop(other);
        let r = recover_interrupted(&j, [&fq(z)], &providers, &retry())
            .await
            .unwrap();
        assert_eq!(r.applied, 1);
        // The shared lock is back: another handle opens the journal without waiting.
        drop(Journal::open(j.lock().unwrap().path()).unwrap());
    }
}

//! The revision record: an opt-in TXT RRset `_zonekeeper.<zone>` holding
//! `"zonekeeper revision=<commit id> time=<commit time, Unix seconds>"`, the revision that
//! last wrote the zone (like external-dns's TXT ownership records). It lives in the zone
//! itself, so a fresh replica on an empty disk still knows not to write an older revision.
//!
//! Owns the record's name and text, adding it to a plan that writes anyway
//! ([`add_record`]), and the check before a write ([`check`]), made whenever the live zone
//! has a record, also for a revision that does not enable it (one that predates it or turns
//! it off must not go backwards over it either). The record is written only
//! together with a zone's other changes (never a plan of its own, so a commit does not
//! rewrite every zone), is never part of a plan otherwise (the planner treats it as
//! unmanaged: not deleted, not counted by the thresholds) and `import` leaves it out.
//! Only the daemon writes and checks it; `zonekeeper plan`/`apply` leave it as it is.

use std::sync::Arc;

use crate::model::{Fqdn, RData, RecordType, RrKey, RrSet, Zone};
use crate::plan::{sort_for_apply, Change, ZonePlan};
use crate::provider::Provider;
use crate::source::Source;

/// The record's label under the zone apex.
pub const LABEL: &str = "_zonekeeper";

/// The record's TTL (seconds), clamped into the target's range.
pub const TTL: u32 = 300;

/// The revision a daemon run writes with a zone's changes, and how it compares with the
/// revision the live record names.
#[derive(Clone)]
pub struct RevisionStamp {
    /// The candidate revision (commit id, or a directory source's `dir:` hash).
    pub commit: String,
    /// Its commit time, Unix seconds.
    pub time: i64,
    /// Asked whether `commit` descends from the live record's commit.
    pub ancestry: Arc<dyn Source>,
    /// `--allow-rewind`: write over a newer or unrelated revision (with a warning).
    pub allow_rewind: bool,
}

/// The revision a live record names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRecord {
    pub commit: String,
    /// Unix seconds.
    pub time: i64,
}

/// A write refused because the zone was last written by a newer or unrelated revision.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the zone was last written by {live_commit} at {live_time}, newer than or unrelated to this revision {revision}; restart with --allow-rewind to accept it")]
pub struct NewerRevision {
    pub live_commit: String,
    /// RFC 3339 UTC.
    pub live_time: String,
    pub revision: String,
}

/// `_zonekeeper.<zone>` TXT.
pub fn key(zone: &Fqdn) -> RrKey {
    let name = Fqdn::parse_relative(LABEL, zone).unwrap_or_else(|_| zone.clone());
    RrKey::new(name, RecordType::TXT)
}

/// The record's text for `commit` at `time` (Unix seconds).
pub fn text(commit: &str, time: i64) -> String {
    format!("zonekeeper revision={commit} time={time}")
}

/// Parses a live record: the first value of the form [`text`] writes. `None` when there is
/// none (a hand-written value is not trusted as a revision).
pub fn parse(set: &RrSet) -> Option<LiveRecord> {
    set.values().iter().find_map(|v| {
        let RData::Txt(t) = v else { return None };
        let s = std::str::from_utf8(&t.0).ok()?;
        let mut words = s.split(' ');
        if words.next()? != "zonekeeper" {
            return None;
        }
        let (mut commit, mut time) = (None, None);
        for w in words {
            if let Some(c) = w.strip_prefix("revision=") {
                commit = Some(c.to_string()).filter(|c| !c.is_empty() && c.len() <= 80);
            } else if let Some(t) = w.strip_prefix("time=") {
                time = t.parse::<i64>().ok();
            }
        }
        Some(LiveRecord {
            commit: commit?,
            time: time?,
        })
    })
}

/// The revision the live zone's record names, if it has one.
pub fn read(zone: &Fqdn, live: &Zone) -> Option<LiveRecord> {
    live.get(&key(zone)).and_then(parse)
}

/// Adds the revision record to `plan` when the plan has other changes and the target can
/// store TXT; leaves it unchanged otherwise. The record is added after the plan's rules
/// ran, so it never counts against the thresholds.
pub fn add_record(
    plan: &mut ZonePlan,
    live: &Zone,
    provider: &dyn Provider,
    stamp: &RevisionStamp,
) {
    let caps = provider.capabilities();
    if plan.changes.is_empty() || !caps.types.contains(&RecordType::TXT) {
        return;
    }
    let key = key(&plan.zone);
    let new = RrSet::new(
        TTL.clamp(caps.ttl_min, caps.ttl_max),
        vec![RData::Txt(crate::model::rdata::Txt(
            text(&stamp.commit, stamp.time).into_bytes(),
        ))],
    );
    let change = match live.get(&key) {
        Some(old) if *old == new => return,
        Some(old) => Change::Update {
            key,
            old: old.clone(),
            new,
        },
        None => Change::Create { key, new },
    };
    plan.changes.push(change);
    sort_for_apply(&mut plan.changes);
}

/// Checks the live record against the candidate revision before a write: the same
/// revision or an ancestor of it passes; a revision the source says is not an ancestor
/// (or does not know) is refused; where the source cannot tell, a record with a newer
/// commit time is refused. No record (or one not written by zonekeeper) passes.
///
/// # Errors
/// [`NewerRevision`], unless `stamp.allow_rewind` (then a warning is logged).
pub async fn check(stamp: &RevisionStamp, zone: &Fqdn, live: &Zone) -> Result<(), NewerRevision> {
    let Some(rec) = read(zone, live) else {
        return Ok(());
    };
    if rec.commit == stamp.commit {
        return Ok(());
    }
    let source = stamp.ancestry.clone();
    let (revision, ancestor) = (stamp.commit.clone(), rec.commit.clone());
    // A git source opens its repository: keep that off the async workers.
    let descends = tokio::task::spawn_blocking(move || source.descends_from(&revision, &ancestor))
        .await
        .unwrap_or(None);
    let newer = match descends {
        Some(d) => !d,
        None => rec.time > stamp.time,
    };
    if !newer {
        return Ok(());
    }
    let err = NewerRevision {
        live_time: unix_rfc3339(rec.time),
        live_commit: rec.commit,
        revision: stamp.commit.clone(),
    };
    if stamp.allow_rewind {
        tracing::warn!(%zone, error = %err, "writing over the revision record (--allow-rewind)");
        return Ok(());
    }
    Err(err)
}

fn unix_rfc3339(secs: i64) -> String {
    let d = std::time::Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 {
        std::time::UNIX_EPOCH.checked_add(d)
    } else {
        std::time::UNIX_EPOCH.checked_sub(d)
    };
    t.map_or_else(
        || format!("{secs} (Unix time)"),
        |t| humantime::format_rfc3339_seconds(t).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_foreign_values_are_not_revisions() {
        let zone = Fqdn::parse("example.com").unwrap();
        assert_eq!(key(&zone).name.as_str(), "_zonekeeper.example.com.");
        let txt = |s: &str| RData::Txt(crate::model::rdata::Txt(s.as_bytes().to_vec()));
        let set = RrSet::new(300, vec![txt("other"), txt(&text("abc123", 1_700_000_000))]);
        assert_eq!(
            parse(&set),
            Some(LiveRecord {
                commit: "abc123".into(),
                time: 1_700_000_000
            })
        );
        for bad in [
            "zonekeeper revision= time=1",
            "zonekeeper revision=abc",
            "zonekeeper time=1",
            "heritage=external-dns",
        ] {
            assert_eq!(parse(&RrSet::new(300, vec![txt(bad)])), None, "{bad}");
        }
        assert_eq!(unix_rfc3339(0), "1970-01-01T00:00:00Z");
    }

    /// A source that answers ancestry questions with a fixed answer.
    struct Fixed(Option<bool>);

    #[async_trait::async_trait]
    impl Source for Fixed {
        async fn fetch(&self) -> Result<crate::source::Snapshot, crate::source::SourceError> {
            unreachable!("not fetched in these tests")
        }
        async fn changed(&self) {}
        fn descends_from(&self, _: &str, _: &str) -> Option<bool> {
            self.0
        }
        fn describe(&self) -> String {
            "fixed".into()
        }
    }

    #[tokio::test]
    async fn check_asks_the_source_then_compares_times() {
        let zone = Fqdn::parse("example.com").unwrap();
        let live = |commit: &str, time: i64| {
            let mut z = Zone::new(zone.clone());
            z.put(
                key(&zone),
                RrSet::new(
                    300,
                    vec![RData::Txt(crate::model::rdata::Txt(
                        text(commit, time).into_bytes(),
                    ))],
                ),
            );
            z
        };
        let stamp = |answer: Option<bool>, allow_rewind: bool| RevisionStamp {
            commit: "cand".into(),
            time: 1_000,
            ancestry: Arc::new(Fixed(answer)),
            allow_rewind,
        };
        // No record, or the candidate's own: nothing to ask.
        assert!(
            check(&stamp(Some(false), false), &zone, &Zone::new(zone.clone()))
                .await
                .is_ok()
        );
        assert!(
            check(&stamp(Some(false), false), &zone, &live("cand", 5_000))
                .await
                .is_ok()
        );
        // The source knows: its answer decides, whatever the times say.
        assert!(check(&stamp(Some(true), false), &zone, &live("old", 5_000))
            .await
            .is_ok());
        let e = check(&stamp(Some(false), false), &zone, &live("other", 10))
            .await
            .unwrap_err();
        assert_eq!(e.live_commit, "other");
        assert!(
            e.to_string()
                .contains("last written by other at 1970-01-01T00:00:10Z"),
            "{e}"
        );
        // It cannot tell (a directory): only a newer record blocks.
        assert!(check(&stamp(None, false), &zone, &live("older", 999))
            .await
            .is_ok());
        assert!(check(&stamp(None, false), &zone, &live("newer", 1_001))
            .await
            .is_err());
        // The operator's override.
        assert!(check(&stamp(None, true), &zone, &live("newer", 1_001))
            .await
            .is_ok());
    }
}

//! The audit journal: append-only JSON lines (time, zone, target, op, name, type, before,
//! after, commit, outcome, error, batch). A torn last line (a crash mid-write) is cut off when
//! the journal is opened again; every complete line stays.
//!
//! [`LastApplies`] reads it back: the most recent apply of each (zone, target), for the
//! planner's undo check ([`crate::plan::LastApply`]).
//!
//! Line kinds, by `outcome`:
//! - `intent`: written (and fsynced, one `fsync` for the whole call) **before** a provider
//!   write call, one line per change in that call, all with the call's new `batch` id. An
//!   intent says a write was about to be sent, never that it was applied.
//! - `ok`, or an error kind (`transient`, `rejected`, `not-attempted`, ...): the change's
//!   outcome, written (one `fsync`) after the call, with the same `batch` id. **Only `ok`
//!   means applied.**
//! - `recovered-applied`, `recovered-not-applied`, `recovered-unknown`: written after a
//!   restart for an intent that has no outcome line (the process died during the call): the
//!   live RRset, read from the provider, equals the intent's `after`, its `before`, or
//!   neither (changed since, or it could not be told: `error` says why). Same `batch` id.
//!
//! Every intent gets exactly one conclusion (an outcome or a `recovered-*` line) with the
//! same `batch`, `zone`, `target`, `name` and `type`; [`open_intents`] finds those that have
//! none yet. Lines written before intents existed have no `batch` and still parse. Domain
//! (registrar) changes are journaled with outcomes only.
//!
//! The file is held with a shared lock (`flock`) while open, so recovery can tell that no
//! other process writes it ([`Journal::try_exclusive`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{CanonicalSet, Fqdn, RecordType, RrKey};
use crate::plan::LastApply;

/// One journal line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// RFC 3339 UTC.
    pub time: String,
    pub zone: String,
    pub target: String,
    pub op: String,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    /// The RRset before (`null` for a create), as `{ttl, values}`.
    pub before: Option<serde_json::Value>,
    /// The RRset after (`null` for a delete).
    pub after: Option<serde_json::Value>,
    pub commit: String,
    /// [`INTENT`], `ok`, the error kind, or one of the `recovered-*` conclusions (see the
    /// module docs). Only `ok` means applied.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The write call the line belongs to (16 hex digits, new per call): shared by a call's
    /// intent lines and their conclusions. Absent in lines written before intents existed
    /// and in lines of changes never handed to a write call (a failed zone creation,
    /// registrar changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

/// `outcome` of a line written before a write call: about to be sent, not applied.
pub const INTENT: &str = "intent";
/// `outcome` of a change that was applied.
pub const OK: &str = "ok";
/// `outcome` after a restart: the interrupted write was applied (live = `after`).
pub const RECOVERED_APPLIED: &str = "recovered-applied";
/// `outcome` after a restart: the interrupted write was not applied (live = `before`).
pub const RECOVERED_NOT_APPLIED: &str = "recovered-not-applied";
/// `outcome` after a restart: live is neither `before` nor `after`, or could not be read
/// for good (zone or provider no longer configured); `error` says which.
pub const RECOVERED_UNKNOWN: &str = "recovered-unknown";

/// A new batch id: 16 random hex digits.
pub fn new_batch_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// The open journal file.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal, cutting off a torn last line. Holds a shared lock
    /// on the file while open (waiting while another process recovers intents from it).
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        file.lock_shared()?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            tracing::warn!(path = %path.display(), dropped_bytes = text.len() - keep, "journal ends in a torn line (crash while writing); cutting it off");
            file.set_len(keep as u64)?;
            file.seek(SeekFrom::End(0))?;
            file.sync_all()?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock on the file exclusively when no other process has the journal open
    /// (true), else keeps the shared lock (false). [`Journal::share`] gives it back.
    pub fn try_exclusive(&self) -> std::io::Result<bool> {
        match self.file.try_lock() {
            Ok(()) => Ok(true),
            Err(TryLockError::WouldBlock) => {
                // A refused conversion can drop the shared lock (flock(2)): take it again.
                self.file.lock_shared()?;
                Ok(false)
            }
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    /// Turns an exclusive lock back into a shared one.
    pub fn share(&self) -> std::io::Result<()> {
        self.file.lock_shared()
    }

    /// Appends a batch of entries and makes them durable.
    pub fn append(&mut self, entries: &[Entry]) -> std::io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(entries.len() * 256);
        for e in entries {
            serde_json::to_writer(&mut buf, e).map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }

    /// Reads every complete entry (for tests and tooling).
    pub fn read_all(path: &Path) -> std::io::Result<Vec<Entry>> {
        let text = std::fs::read_to_string(path)?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

/// The commit of the newest line that records an applied change (`outcome == "ok"`) and
/// whose commit `accept` takes: the last revision known to have written anything, for a
/// controller whose other records were lost. Lines are read tolerantly: other outcomes
/// (failures, intents), unknown fields and lines that are not JSON are skipped, so a
/// journal written by another version still answers. `Ok(None)` when the file is missing
/// or holds no such line. Reads the file once, line by line (memory does not grow with it).
///
/// # Errors
/// The file exists but cannot be read.
pub fn last_applied_commit(
    path: &Path,
    accept: impl Fn(&str) -> bool,
) -> std::io::Result<Option<String>> {
    use std::io::BufRead;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut newest = None;
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
            continue;
        };
        if v.get("outcome").and_then(serde_json::Value::as_str) != Some("ok") {
            continue;
        }
        if let Some(commit) = v.get("commit").and_then(serde_json::Value::as_str) {
            if accept(commit) {
                newest = Some(commit.to_string());
            }
        }
    }
    Ok(newest)
}

/// The most recent apply of every (zone, target) the journal records, read by streaming
/// the file line by line (only each pair's latest apply is kept) and then, on each
/// [`LastApplies::refresh`], only the bytes appended since: cheap on a journal of any size,
/// and it sees applies other processes (`zonekeeper apply` beside the daemon) journaled.
///
/// An apply is the run of `ok` lines of one (zone, target) with one `commit`; a line with
/// another commit starts the next one, and so does a line for an RRset the run already
/// changed (one apply changes an RRset once, and the CLI journals every run as `local`).
/// Lines whose `outcome` is not `ok` (failures, intents) are ignored, as is anything that
/// does not parse as a zone change (domain lines, torn or foreign lines): a record that
/// cannot be read only means fewer changes count as undos.
#[derive(Debug)]
pub struct LastApplies {
    path: PathBuf,
    /// Bytes of complete lines read so far.
    offset: u64,
    applies: HashMap<(Fqdn, String), Arc<LastApply>>,
}

/// The fields of a journal line [`LastApplies`] needs; every other field is ignored.
#[derive(Deserialize)]
struct ChangeLine<'a> {
    #[serde(borrow)]
    zone: Cow<'a, str>,
    #[serde(borrow)]
    target: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    rtype: Cow<'a, str>,
    /// Required: `null` is "did not exist", absent is a line not to trust.
    before: serde_json::Value,
    #[serde(borrow)]
    commit: Cow<'a, str>,
    #[serde(borrow)]
    outcome: Cow<'a, str>,
}

impl LastApplies {
    /// Nothing read yet from the journal at `path` ([`LastApplies::refresh`] reads it).
    pub fn new(path: &Path) -> LastApplies {
        LastApplies {
            path: path.to_path_buf(),
            offset: 0,
            applies: HashMap::new(),
        }
    }

    /// Reads the journal at `path` from its start.
    ///
    /// # Errors
    /// Reading the file failed (a missing file is an empty journal, not an error).
    pub fn read(path: &Path) -> std::io::Result<LastApplies> {
        let mut l = LastApplies::new(path);
        l.refresh()?;
        Ok(l)
    }

    /// Reads the complete lines appended since the last call (a line still being written
    /// is left for the next one). A file shorter than what was read was replaced: it is
    /// read again from its start.
    ///
    /// # Errors
    /// Opening or reading the file failed (a missing file is an empty journal).
    pub fn refresh(&mut self) -> std::io::Result<()> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if file.metadata()?.len() < self.offset {
            self.offset = 0;
            self.applies.clear();
        }
        let mut r = BufReader::with_capacity(1 << 16, file);
        r.seek(SeekFrom::Start(self.offset))?;
        let mut line = Vec::with_capacity(512);
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line)?;
            if n == 0 || line.last() != Some(&b'\n') {
                return Ok(());
            }
            self.offset += n as u64;
            self.observe(&line);
        }
    }

    /// Takes one journal line into account.
    fn observe(&mut self, line: &[u8]) {
        let Ok(l) = serde_json::from_slice::<ChangeLine>(line) else {
            return;
        };
        if l.outcome != "ok" {
            return;
        }
        let before = match l.before {
            serde_json::Value::Null => None,
            v => match CanonicalSet::from_json(v) {
                Some(set) => Some(set),
                None => return,
            },
        };
        let (Ok(zone), Ok(name), Ok(rtype)) = (
            Fqdn::parse(&l.zone),
            Fqdn::parse(&l.name),
            l.rtype.parse::<RecordType>(),
        ) else {
            return;
        };
        self.record(zone, &l.target, &l.commit, RrKey::new(name, rtype), before);
    }

    /// Records that `revision`'s apply of `zone` on `target` changed `key`, which was
    /// `before` until then.
    fn record(
        &mut self,
        zone: Fqdn,
        target: &str,
        revision: &str,
        key: RrKey,
        before: Option<CanonicalSet>,
    ) {
        let last = self.applies.entry((zone, target.to_string())).or_default();
        if last.revision != revision || last.before.contains_key(&key) {
            *last = Arc::new(LastApply {
                revision: revision.to_string(),
                before: Default::default(),
            });
        }
        Arc::make_mut(last).before.insert(key, before);
    }

    /// The most recent apply of `zone` on `target`, if the journal has one.
    pub fn get(&self, zone: &Fqdn, target: &str) -> Option<Arc<LastApply>> {
        self.applies
            .get(&(zone.clone(), target.to_string()))
            .cloned()
    }
}

/// The identity of the change a line is about within its write call.
type LineKey = (String, String, String, String, String);

fn line_key(e: &Entry, batch: &str) -> LineKey {
    (
        batch.to_string(),
        e.zone.clone(),
        e.target.clone(),
        e.name.clone(),
        e.rtype.clone(),
    )
}

/// The intent lines of the journal at `path` that no line concludes (no other line with
/// the same batch, zone, target, name and type), in journal order: writes interrupted
/// before their outcome was journaled. A missing file has none. Streams the file: memory is
/// bounded by the intents open at any point, not by the journal's size.
pub fn open_intents(path: &Path) -> std::io::Result<Vec<Entry>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut open: HashMap<LineKey, (usize, Entry)> = HashMap::new();
    let mut line = Vec::with_capacity(512);
    let mut n = 0usize;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        n += 1;
        // Lines without a batch (older journals, registrar changes) never conclude an
        // intent: skip them before parsing.
        if !line.windows(8).any(|w| w == b"\"batch\":") {
            continue;
        }
        let Ok(e) = serde_json::from_slice::<Entry>(&line) else {
            continue;
        };
        let Some(batch) = e.batch.as_deref() else {
            continue;
        };
        let key = line_key(&e, batch);
        if e.outcome == INTENT {
            open.insert(key, (n, e));
        } else {
            open.remove(&key);
        }
    }
    let mut out: Vec<(usize, Entry)> = open.into_values().collect();
    out.sort_by_key(|(n, _)| *n);
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

/// Current time as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: &str) -> Entry {
        Entry {
            time: now_rfc3339(),
            zone: "example.com.".into(),
            target: "t".into(),
            op: "create".into(),
            name: n.into(),
            rtype: "A".into(),
            before: None,
            after: Some(serde_json::json!({"ttl": 60, "values": ["192.0.2.1"]})),
            commit: "abc".into(),
            outcome: "ok".into(),
            error: None,
            batch: None,
        }
    }

    /// A line of `commit`'s apply changing `name` A of example.com. on target `t`.
    fn change(commit: &str, name: &str, before: Option<u8>, after: Option<u8>) -> Entry {
        let set = |last: Option<u8>| {
            last.map(|b| {
                let s = crate::model::RrSet::new(
                    60,
                    vec![crate::model::RData::A([192, 0, 2, b].into())],
                );
                CanonicalSet::of(&s).into_json()
            })
        };
        Entry {
            before: set(before),
            after: set(after),
            commit: commit.into(),
            ..entry(name)
        }
    }

    fn before_of(l: &LastApplies, name: &str) -> Option<Option<CanonicalSet>> {
        let last = l.get(&Fqdn::parse("example.com.").unwrap(), "t")?;
        last.before
            .get(&RrKey::new(Fqdn::parse(name).unwrap(), RecordType::A))
            .cloned()
    }

    #[test]
    fn last_applies_keep_each_zones_latest_apply_and_skip_what_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        assert!(
            LastApplies::read(&p)
                .unwrap()
                .get(&Fqdn::parse("example.com").unwrap(), "t")
                .is_none(),
            "a missing journal is empty"
        );
        let mut j = Journal::open(&p).unwrap();
        j.append(&[
            change("a", "x.example.com.", None, Some(1)),
            change("a", "y.example.com.", None, Some(2)),
        ])
        .unwrap();
        j.append(&[change("b", "x.example.com.", Some(1), None)])
            .unwrap();
        // Not `ok`: a failure and an intent line (with a field this reader does not know).
        let mut failed = change("b", "y.example.com.", Some(2), None);
        failed.outcome = "transient".into();
        j.append(&[failed]).unwrap();
        let mut raw = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        let mut intent =
            serde_json::to_value(change("b", "z.example.com.", None, Some(3))).unwrap();
        intent["outcome"] = "intent".into();
        intent["batch"] = 7.into();
        // A domain's line (its `type` happens to parse as DS), a foreign line, a torn one.
        let domain = serde_json::json!({"time": "t", "zone": "example.com.", "target": "t", "op": "update", "name": "example.com.", "type": "ds", "before": "(none)", "after": "1 13 2 AB", "commit": "c", "outcome": "ok"});
        writeln!(
            raw,
            "{intent}\n{domain}\nnot json\n{{\"zone\": \"example.com.\", \"outco"
        )
        .unwrap();
        drop(raw);
        let mut l = LastApplies::read(&p).unwrap();
        let last = l.get(&Fqdn::parse("example.com").unwrap(), "t").unwrap();
        assert_eq!(last.revision, "b");
        assert_eq!(last.before.len(), 1, "{last:?}");
        assert_eq!(
            before_of(&l, "x.example.com."),
            Some(Some(
                CanonicalSet::from_json(change("a", "x.", None, Some(1)).after.unwrap()).unwrap()
            ))
        );
        assert!(l
            .get(&Fqdn::parse("example.com").unwrap(), "other")
            .is_none());
        // The torn line is left for later; what follows it once completed is read then.
        let mut raw = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        writeln!(raw, "me\": \"ok\"}}").unwrap();
        let mut local = change("local", "y.example.com.", Some(2), Some(4));
        raw.write_all(serde_json::to_string(&local).unwrap().as_bytes())
            .unwrap();
        raw.write_all(b"\n").unwrap();
        l.refresh().unwrap();
        assert_eq!(
            l.get(&Fqdn::parse("example.com").unwrap(), "t")
                .unwrap()
                .revision,
            "local"
        );
        // Two CLI runs are both `local`: an RRset changed again starts the next apply.
        local.before = local.after.clone();
        local.after = None;
        let other = change("local", "w.example.com.", None, Some(5));
        writeln!(
            raw,
            "{}\n{}",
            serde_json::to_string(&local).unwrap(),
            serde_json::to_string(&other).unwrap()
        )
        .unwrap();
        l.refresh().unwrap();
        let last = l.get(&Fqdn::parse("example.com").unwrap(), "t").unwrap();
        assert_eq!(last.before.len(), 2, "{last:?}");
        assert_eq!(
            before_of(&l, "y.example.com.")
                .unwrap()
                .unwrap()
                .into_json()["values"][0],
            "192.0.2.4"
        );
        assert_eq!(before_of(&l, "w.example.com."), Some(None));
        // A journal replaced by a shorter one is read again from its start.
        drop(raw);
        std::fs::write(
            &p,
            serde_json::to_string(&change("fresh", "v.example.com.", None, Some(6))).unwrap()
                + "\n",
        )
        .unwrap();
        l.refresh().unwrap();
        assert_eq!(
            l.get(&Fqdn::parse("example.com").unwrap(), "t")
                .unwrap()
                .revision,
            "fresh"
        );
    }

    #[test]
    fn last_applied_commit_trusts_only_ok_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        assert_eq!(last_applied_commit(&p, |_| true).unwrap(), None);
        let mut j = Journal::open(&p).unwrap();
        let mut a = entry("a.");
        a.commit = "aaaa".into();
        let mut failed = entry("b.");
        failed.commit = "bbbb".into();
        failed.outcome = "transient".into();
        let mut local = entry("c.");
        local.commit = "local".into();
        j.append(&[a, failed, local]).unwrap();
        drop(j);
        // Lines another version writes: an intent with extra fields, and garbage.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"commit\":\"cccc\",\"outcome\":\"intent\",\"batch\":3}\nnot json\n")
            .unwrap();
        drop(f);
        assert_eq!(
            last_applied_commit(&p, |c| c != "local")
                .unwrap()
                .as_deref(),
            Some("aaaa")
        );
        assert_eq!(
            last_applied_commit(&p, |_| true).unwrap().as_deref(),
            Some("local")
        );
    }

    #[test]
    fn lines_without_a_batch_parse_and_batch_is_not_written_when_absent() {
        // A line as journals held it before intents existed.
        let old = r#"{"time":"2026-01-02T03:04:05Z","zone":"example.com.","target":"pdns","op":"create","name":"www.example.com.","type":"A","before":null,"after":{"ttl":300,"values":["192.0.2.1"]},"commit":"abc","outcome":"ok"}"#;
        let e: Entry = serde_json::from_str(old).unwrap();
        assert_eq!(e.batch, None);
        assert_eq!(e.outcome, "ok");
        assert_eq!(e.name, "www.example.com.");
        let again = serde_json::to_string(&e).unwrap();
        assert!(!again.contains("batch"), "{again}");
        let mut with = e.clone();
        with.batch = Some("00ff".into());
        let text = serde_json::to_string(&with).unwrap();
        assert!(text.contains(r#""batch":"00ff""#), "{text}");
        assert_eq!(serde_json::from_str::<Entry>(&text).unwrap(), with);
    }

    #[test]
    fn open_intents_are_those_without_a_line_for_the_same_batch_and_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let line = |name: &str, batch: Option<&str>, outcome: &str| Entry {
            batch: batch.map(str::to_string),
            outcome: outcome.into(),
            ..entry(name)
        };
        let mut j = Journal::open(&p).unwrap();
        j.append(&[
            line("old.", None, "ok"),
            line("a.", Some("b1"), INTENT),
            line("b.", Some("b1"), INTENT),
            line("a.", Some("b1"), "ok"),
            line("b.", Some("b1"), "transient"),
            line("a.", Some("b2"), INTENT),
            line("c.", Some("b2"), INTENT),
            // A line of another batch, or without one, concludes nothing.
            line("a.", None, "ok"),
            line("c.", Some("b1"), "ok"),
            line("d.", Some("b3"), INTENT),
            line("d.", Some("b3"), RECOVERED_UNKNOWN),
        ])
        .unwrap();
        let open = open_intents(&p).unwrap();
        let got: Vec<(&str, Option<&str>)> = open
            .iter()
            .map(|e| (e.name.as_str(), e.batch.as_deref()))
            .collect();
        assert_eq!(got, [("a.", Some("b2")), ("c.", Some("b2"))]);
        assert!(open_intents(&dir.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn the_journal_is_exclusive_only_while_no_other_handle_has_it_open() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let a = Journal::open(&p).unwrap();
        assert!(a.try_exclusive().unwrap());
        a.share().unwrap();
        // Another handle (another process, as far as flock goes) has it open.
        let b = Journal::open(&p).unwrap();
        assert!(!a.try_exclusive().unwrap());
        drop(b);
        assert!(a.try_exclusive().unwrap());
    }

    #[test]
    fn torn_last_line_is_cut_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j/journal.jsonl");
        let mut j = Journal::open(&p).unwrap();
        j.append(&[entry("a."), entry("b.")]).unwrap();
        drop(j);
        // Simulate a crash in the middle of a line.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"time\":\"2026-").unwrap();
        drop(f);
        let mut j = Journal::open(&p).unwrap();
        j.append(&[entry("c.")]).unwrap();
        let all = Journal::read_all(&p).unwrap();
        assert_eq!(
            all.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["a.", "b.", "c."]
        );
        assert!(std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .all(|l| serde_json::from_str::<Entry>(l).is_ok()));
    }
}

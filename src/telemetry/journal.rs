//! The audit journal: append-only JSON lines, one per applied change (time, zone, target,
//! op, before, after, commit, outcome). Flushed and fsynced per batch, so what was applied is
//! on disk before the next batch starts. A torn last line (a crash mid-write) is cut off when
//! the journal is opened again; every complete line stays.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
    /// `ok`, or the error kind.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The open journal file.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal, cutting off a torn last line.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
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
        }
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

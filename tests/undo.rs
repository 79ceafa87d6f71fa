//! Issue 10's story end to end: revision A (50 records) is applied; a bad revision B that
//! deletes most of them (and adds others) is applied by a human (`--force`, or thresholds
//! loosened one commit ahead); the revert to A's content must then plan as ready and be
//! applied without `--force`, because it only undoes the last apply (read from the audit
//! journal). Once by `zonekeeper apply`, once by the daemon following a git repository.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Zone A: the apex and h0..h49.
fn zone_a() -> String {
    let mut s = String::from("'':\n  type: A\n  value: 192.0.2.1\n");
    for i in 0..50 {
        s.push_str(&format!("h{i}:\n  type: A\n  value: 198.51.100.{i}\n"));
    }
    s
}

/// Zone B: the apex and h0..h4 of A, and x0..x44 instead of h5..h49 (the content of
/// another zone, as when two zones pointed at one file).
fn zone_b() -> String {
    let mut s = String::from("'':\n  type: A\n  value: 192.0.2.1\n");
    for i in 0..5 {
        s.push_str(&format!("h{i}:\n  type: A\n  value: 198.51.100.{i}\n"));
    }
    for i in 0..45 {
        s.push_str(&format!("x{i}:\n  type: A\n  value: 203.0.113.{i}\n"));
    }
    s
}

fn config(live: &Path, thresholds: &str) -> String {
    format!(
        "providers:\n  live:\n    type: zonefile\n    directory: {}\n{thresholds}zones:\n  example.com.:\n    targets: [live]\n",
        live.display()
    )
}

fn zonekeeper(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .arg("--config")
        .arg(dir.join("zonekeeper.yaml"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn live_zone(live: &Path) -> String {
    std::fs::read_to_string(live.join("example.com.zone")).unwrap_or_default()
}

#[test]
fn apply_reverting_a_forced_bad_apply_is_ready_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let live = tmp.path().join("live");
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::write(dir.join("zonekeeper.yaml"), config(&live, "")).unwrap();
    let zone_file = dir.join("zones/example.com.yaml");
    std::fs::write(&zone_file, zone_a()).unwrap();
    let a = zonekeeper(&dir, &["apply"]);
    assert!(a.status.success(), "{}", stdout(&a));
    assert!(live_zone(&live).contains("198.51.100.49"));

    // B deletes 45 of 51 RRsets: unsafe, applied only by a human.
    std::fs::write(&zone_file, zone_b()).unwrap();
    let b = zonekeeper(&dir, &["apply"]);
    assert_eq!(b.status.code(), Some(3), "{}", stdout(&b));
    let b = zonekeeper(&dir, &["apply", "--force"]);
    assert!(b.status.success(), "{}", stdout(&b));
    assert!(!live_zone(&live).contains("198.51.100.49"));

    // The revert deletes 45 of 51 too, but each change restores what B's apply replaced.
    std::fs::write(&zone_file, zone_a()).unwrap();
    let plan = zonekeeper(&dir, &["plan"]);
    let text = stdout(&plan);
    assert!(plan.status.success(), "{text}");
    assert!(
        text.contains("45 create, 0 update, 45 delete [ready]"),
        "the revert plans as ready: {text}"
    );
    assert!(
        text.contains(
            "90 change(s) undo the last apply of local, not counted toward the thresholds"
        ),
        "{text}"
    );
    let hash = text.rsplit("plan hash ").next().unwrap().trim().to_string();
    // The reviewed plan, undo decision included, is the one applied.
    let revert = zonekeeper(&dir, &["apply", "--plan-hash", &hash]);
    assert!(
        revert.status.success(),
        "{}\n{}",
        stdout(&revert),
        String::from_utf8_lossy(&revert.stderr)
    );
    let now = live_zone(&live);
    assert!(
        now.contains("198.51.100.49") && !now.contains("203.0.113."),
        "{now}"
    );

    // A plan that deletes as much but restores nothing the last apply replaced still
    // waits for a human: C keeps only h0..h4.
    let mut c = String::from("'':\n  type: A\n  value: 192.0.2.1\n");
    for i in 0..5 {
        c.push_str(&format!("h{i}:\n  type: A\n  value: 198.51.100.{i}\n"));
    }
    std::fs::write(&zone_file, c).unwrap();
    let o = zonekeeper(&dir, &["apply"]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("too many deletes: 45 of 51"),
        "{}",
        stdout(&o)
    );
}

fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

struct Daemon {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Daemon {
    fn status(&self) -> serde_json::Value {
        support::http(self.port, "GET", "/status", &[], b"")
            .and_then(|(_, body)| serde_json::from_str(&body).ok())
            .unwrap_or_default()
    }

    /// The zone's last run, once it was of `revision`.
    fn zone_run_of(&self, revision: &str) -> Option<serde_json::Value> {
        let st = self.status();
        let last = st["zones"]["example.com."]["runs"]
            .as_array()?
            .last()?
            .clone();
        (last["revision"] == revision).then_some(last)
    }

    /// True once `revision` is in force.
    fn in_force(&self, revision: &str) -> bool {
        self.status()["revision"] == revision
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_daemon_applies_the_revert_of_a_bad_revision_without_a_human() {
    if Command::new("git").arg("--version").output().is_err() {
        support::missing("git", "undo::the_daemon_applies_the_revert");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    let live = tmp.path().join("live");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(work.join("zones")).unwrap();
    git(&work, &home, &["init", "-q", "-b", "main"]);
    let commit = |msg: &str, config_text: Option<String>, zone: Option<String>| -> String {
        if let Some(c) = config_text {
            std::fs::write(work.join("zonekeeper.yaml"), c).unwrap();
        }
        if let Some(z) = zone {
            std::fs::write(work.join("zones/example.com.yaml"), z).unwrap();
        }
        git(&work, &home, &["add", "-A"]);
        git(&work, &home, &["commit", "-qm", msg]);
        git(&work, &home, &["rev-parse", "HEAD"])
    };
    let rev_a = commit("A", Some(config(&live, "")), Some(zone_a()));

    let port = support::free_port();
    let log = tmp.path().join("daemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(["run", "--repo", &format!("file://{}", work.display())])
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--interval", "1s"])
        .env("HOME", &home)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let d = Daemon { child, port, log };
    let wait_applied = |rev: &str, what: &str| {
        wait_until(what, Duration::from_secs(30), || {
            d.zone_run_of(rev).is_some()
        });
        let run = d.zone_run_of(rev).unwrap_or_default();
        if run["outcome"] != "success" {
            let log = std::fs::read_to_string(&d.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            panic!(
                "{what}: {run}\n/status: {}\nlog (newest first):\n{}",
                d.status(),
                tail.join("\n")
            );
        }
    };
    wait_applied(&rev_a, "revision A applied");
    assert!(live_zone(&live).contains("198.51.100.49"));

    // A committer loosens the thresholds (in force from the next commit), then B.
    let loose = "defaults:\n  thresholds: {delete_pct: 100, update_pct: 100}\n";
    let rev = commit("loosen", Some(config(&live, loose)), None);
    wait_until(
        "loosened thresholds in force",
        Duration::from_secs(30),
        || d.in_force(&rev),
    );
    let rev_b = commit("B", None, Some(zone_b()));
    wait_applied(&rev_b, "revision B applied");
    assert!(!live_zone(&live).contains("198.51.100.49"));

    // The thresholds are restored first (that commit changes no record), then the revert
    // of the zone file, judged by the default 30%: 45 of 51 RRsets deleted.
    let rev = commit("restore thresholds", Some(config(&live, "")), None);
    wait_until(
        "default thresholds in force",
        Duration::from_secs(30),
        || d.in_force(&rev),
    );
    let rev_revert = commit("Revert B", None, Some(zone_a()));
    wait_applied(&rev_revert, "the revert applied without --force");
    let now = live_zone(&live);
    assert!(
        now.contains("198.51.100.49") && !now.contains("203.0.113."),
        "{now}"
    );
}

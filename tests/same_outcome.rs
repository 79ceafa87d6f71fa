//! `zonekeeper apply` and the daemon take one reconcile path: for the same zone in the same
//! state they reach the same outcome and write the same journal lines (time and commit
//! aside). Each case is set up once, copied twice, and run through both: the binary's
//! `apply` (exit status) and `zonekeeper run --dir` (the zone's outcome in `/status`).

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const ZONE: &str = "'':\n  - type: NS\n    values: [ns1.example.net., ns2.example.net.]\n  - type: A\n    value: 192.0.2.1\nwww:\n  type: A\n  value: 192.0.2.10\nmail:\n  type: A\n  value: 192.0.2.20\nftp:\n  type: A\n  value: 192.0.2.30\n";
const SMALLER: &str = "'':\n  - type: NS\n    values: [ns1.example.net., ns2.example.net.]\nwww:\n  type: A\n  value: 192.0.2.10\n";
const CHANGED: &str = "'':\n  - type: NS\n    values: [ns1.example.net., ns2.example.net.]\n  - type: A\n    value: 192.0.2.1\nwww:\n  type: A\n  value: 192.0.2.11\nmail:\n  type: A\n  value: 192.0.2.20\nftp:\n  type: A\n  value: 192.0.2.30\n";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zonekeeper"));
    // The unreachable provider's key: any value (nothing listens there).
    c.env("DOWN_KEY", "k")
        .env_remove("ZONEKEEPER_ALLOWED_SECRETS");
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A repository directory: config, zone file, and a live directory for the zonefile target.
fn write_repo(dir: &Path, targets: &str, policy: &str, zone: &str, down_port: u16) {
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::create_dir_all(dir.join("live")).unwrap();
    std::fs::write(
        dir.join("zonekeeper.yaml"),
        format!(
            "providers:\n  local:\n    type: zonefile\n    directory: {live}\n  down:\n    type: powerdns\n    url: http://127.0.0.1:{down_port}\n    api_key: env:DOWN_KEY\nzones:\n  example.com.:\n    targets: [{targets}]\n    policy: {policy}\n    thresholds: {{min_records: 1}}\n",
            live = dir.join("live").display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("zones/example.com.yaml"), zone).unwrap();
}

fn apply(dir: &Path, journal: &Path) -> Output {
    bin()
        .arg("--config")
        .arg(dir.join("zonekeeper.yaml"))
        .arg("apply")
        .arg("--journal")
        .arg(journal)
        .output()
        .unwrap()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    support::http(port, "GET", path, &[], &[]).map(|(_, body)| body)
}

/// Runs the daemon on `dir` until the zone's first outcome shows in `/status`.
fn daemon_outcome(dir: &Path, journal: &Path) -> String {
    daemon_status(dir, journal, "/zones/example.com./last_outcome")
}

/// Runs the daemon on `dir` until `/status` has a string at `pointer` (a JSON pointer), then
/// stops it and returns that string.
fn daemon_status(dir: &Path, journal: &Path, pointer: &str) -> String {
    let port = free_port();
    let mut child = bin()
        .args(["run", "--dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--journal")
        .arg(journal)
        .args(["--interval", "1h", "--resync-interval", "1h"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let found = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the daemon reported nothing at {pointer} in 60 s"
        );
        let value = http_get(port, "/status")
            .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| {
                v.pointer(pointer)
                    .and_then(|o| o.as_str())
                    .map(String::from)
            });
        if let Some(v) = value {
            break v;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    found
}

/// Journal lines without the fields that differ by design (time, commit, the random batch
/// id).
fn journal_lines(path: &Path) -> Vec<serde_json::Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("time");
            o.remove("commit");
            o.remove("batch");
            v
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    support::copy_dir_except(from, to, &[]);
}

struct Case {
    name: &'static str,
    targets: &'static str,
    policy: &'static str,
    /// Applied first (to the local target) to give the live state, if any.
    seed: Option<&'static str>,
    zone: &'static str,
    exit: i32,
    outcome: &'static str,
    journal_lines: usize,
}

#[test]
fn apply_and_the_daemon_agree() {
    let down = free_port(); // nothing listens there
    let cases = [
        Case {
            name: "in sync",
            targets: "local",
            policy: "sync",
            seed: Some(ZONE),
            zone: ZONE,
            exit: 0,
            outcome: "success",
            journal_lines: 0,
        },
        Case {
            name: "changes",
            targets: "local",
            policy: "sync",
            seed: Some(ZONE),
            zone: CHANGED,
            exit: 0,
            outcome: "success",
            journal_lines: 2, // the change's intent, then its outcome
        },
        Case {
            name: "drift under policy warn",
            targets: "local",
            policy: "warn",
            seed: Some(ZONE),
            zone: CHANGED,
            exit: 0,
            outcome: "drift",
            journal_lines: 0,
        },
        Case {
            name: "unsafe",
            targets: "local",
            policy: "sync",
            seed: Some(ZONE),
            zone: SMALLER,
            exit: 3,
            outcome: "unsafe",
            journal_lines: 0,
        },
        Case {
            name: "provider down",
            targets: "down",
            policy: "sync",
            seed: None,
            zone: ZONE,
            exit: 1,
            outcome: "failed",
            journal_lines: 0,
        },
        Case {
            name: "partial failure",
            targets: "local, down",
            policy: "sync",
            seed: None,
            zone: ZONE,
            exit: 1,
            outcome: "failed",
            journal_lines: 10,
        },
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (i, c) in cases.iter().enumerate() {
        let base = tmp.path().join(format!("case{i}"));
        let seed_dir = base.join("seed");
        if let Some(seed) = c.seed {
            write_repo(&seed_dir, "local", "sync", seed, down);
            let o = apply(&seed_dir, &base.join("seed.jsonl"));
            assert!(o.status.success(), "{}: seeding failed: {o:?}", c.name);
        }
        write_repo(&seed_dir, c.targets, c.policy, c.zone, down);
        let (a, d) = (base.join("a"), base.join("d"));
        copy_dir(&seed_dir, &a);
        copy_dir(&seed_dir, &d);
        // The copies' configs point their zonefile target at their own live directory.
        write_repo(&a, c.targets, c.policy, c.zone, down);
        write_repo(&d, c.targets, c.policy, c.zone, down);

        let (ja, jd) = (base.join("apply.jsonl"), base.join("daemon.jsonl"));
        let o = apply(&a, &ja);
        let out = format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            o.status.code(),
            Some(c.exit),
            "{}: apply said:\n{out}",
            c.name
        );
        let outcome = daemon_outcome(&d, &jd);
        assert_eq!(
            outcome, c.outcome,
            "{}: daemon outcome (apply said:\n{out})",
            c.name
        );

        let (la, ld) = (journal_lines(&ja), journal_lines(&jd));
        assert_eq!(la.len(), c.journal_lines, "{}: {la:#?}", c.name);
        assert_eq!(la, ld, "{}: the journals differ", c.name);
        // Same live state after both (the SOA serial is the write time: left out).
        let live = |dir: &PathBuf| {
            std::fs::read_to_string(dir.join("live/example.com.zone"))
                .ok()
                .map(|t| {
                    t.lines()
                        .filter(|l| !l.contains(" SOA "))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
        };
        assert_eq!(live(&a), live(&d), "{}: live zones differ", c.name);
    }
}

#[test]
fn domains_take_the_same_path_in_apply_and_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-example");
    for (change, exit, outcome, lines) in [
        // The example registrar holds what the manifests say: nothing to do.
        (None, 0, "success", 0),
        // Unlock: one change, applied and verified.
        (Some(("lock: true", "lock: false")), 0, "success", 1),
        // Every nameserver replaced: waits for --force in both.
        (
            Some((
                "nameservers: [ns1.example.net., ns2.example.net.]",
                "nameservers: [ns1.elsewhere.example., ns2.elsewhere.example.]",
            )),
            3,
            "unsafe",
            0,
        ),
    ] {
        let (a, d) = (tmp.path().join("a"), tmp.path().join("d"));
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&d);
        for dir in [&a, &d] {
            copy_dir(&example, dir);
            let _ = std::fs::remove_dir_all(dir.join("live"));
            if let Some((from, to)) = change {
                let f = dir.join("domains/example.com.yaml");
                let text = std::fs::read_to_string(&f).unwrap();
                assert!(text.contains(from));
                std::fs::write(&f, text.replace(from, to)).unwrap();
            }
        }
        let (ja, jd) = (tmp.path().join("a.jsonl"), tmp.path().join("d.jsonl"));
        let _ = std::fs::remove_file(&ja);
        let _ = std::fs::remove_file(&jd);
        let o = apply(&a, &ja);
        assert_eq!(o.status.code(), Some(exit), "{change:?}: {o:?}");
        assert_eq!(
            daemon_status(&d, &jd, "/domains/example.com./last_outcome"),
            outcome,
            "{change:?}"
        );
        let only_domain = |path: &Path| -> Vec<serde_json::Value> {
            journal_lines(path)
                .into_iter()
                .filter(|v| v["target"] == "registry")
                .collect()
        };
        let (la, ld) = (only_domain(&ja), only_domain(&jd));
        assert_eq!(la.len(), lines, "{change:?}: {la:#?}");
        assert_eq!(la, ld, "{change:?}: the journals differ");
    }
}

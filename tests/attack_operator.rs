//! The operator/repository split (docs/security.md): with an operator's configuration the
//! repository names providers and nothing else about them. A committer who adds a
//! `providers:` section (to send the credentials elsewhere, or write files elsewhere) or a
//! `guard_rails:` section gets the revision refused, nothing is sent or written, and the
//! operator's guard-rail limits hold a zone that declares looser ones. The same rules hold
//! for `plan`/`validate` in CI with `--operator-config`.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Writes `text` whole (temp file and rename): the watcher never sees half a file.
fn put(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// `n` A records `h0..`, at `192.0.2.1..`.
fn zone(n: usize) -> String {
    (0..n)
        .map(|i| format!("h{i}:\n  type: A\n  value: 192.0.2.{}\n", i + 1))
        .collect()
}

/// A repository directory (`repo/`) and the operator's directory (`ops/`, with
/// `operator.yaml`: a zonefile provider `live` writing to `ops/live`).
struct Setup {
    tmp: tempfile::TempDir,
}

impl Setup {
    fn new(operator_extra: &str) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("repo/zones")).unwrap();
        std::fs::create_dir_all(tmp.path().join("ops")).unwrap();
        let s = Setup { tmp };
        put(
            &s.ops().join("operator.yaml"),
            &format!(
                "providers:\n  live:\n    type: zonefile\n    directory: live\n{operator_extra}"
            ),
        );
        put(&s.repo().join("zones/a.test.yaml"), &zone(12));
        put(
            &s.repo().join("zonekeeper.yaml"),
            "zones:\n  a.test:\n    targets: [live]\n",
        );
        s
    }
    fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }
    fn ops(&self) -> PathBuf {
        self.tmp.path().join("ops")
    }
    fn live_zone(&self) -> String {
        std::fs::read_to_string(self.ops().join("live/a.test.zone")).unwrap_or_default()
    }

    /// `zonekeeper <args> --config repo/zonekeeper.yaml --operator-config ops/operator.yaml`.
    fn cli(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .current_dir(self.tmp.path())
            .args(args)
            .arg("--config")
            .arg(self.repo().join("zonekeeper.yaml"))
            .arg("--operator-config")
            .arg(self.ops().join("operator.yaml"))
            .env_remove("ZONEKEEPER_CONFIG")
            .env_remove("ZONEKEEPER_OPERATOR_CONFIG")
            .output()
            .unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }

    /// `zonekeeper run --dir repo --config ops/operator.yaml` on a free port.
    fn daemon(&self) -> (Child, u16) {
        let port = support::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .current_dir(self.tmp.path())
            .arg("run")
            .arg("--dir")
            .arg(self.repo())
            .arg("--config")
            .arg(self.ops().join("operator.yaml"))
            .arg("--state-dir")
            .arg(self.tmp.path().join("state"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env_remove("ZONEKEEPER_CONFIG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.tmp.path().join("daemon.log")).unwrap())
            .spawn()
            .unwrap();
        (child, port)
    }

    /// Runs `f`, then stops the daemon; prints its log when `f` panicked.
    fn with_daemon(&self, f: impl FnOnce(u16)) {
        let (mut child, port) = self.daemon();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(port)));
        let _ = child.kill();
        let _ = child.wait();
        if let Err(e) = result {
            let log =
                std::fs::read_to_string(self.tmp.path().join("daemon.log")).unwrap_or_default();
            eprintln!("daemon log:\n{log}");
            std::panic::resume_unwind(e);
        }
    }
}

fn status(port: u16) -> String {
    support::http(port, "GET", "/status", &[], b"").map_or(String::new(), |r| r.1)
}

/// A listener that records whether anyone connected (a committer's "API server").
fn trap() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn a_repository_cannot_define_providers_when_the_operator_does() {
    let s = Setup::new("");
    let (trap, trap_port) = trap();
    let evil = s.tmp.path().join("evil");
    s.with_daemon(|port| {
        wait_for("the zone written where the operator said", || {
            s.live_zone().contains("192.0.2.12")
        });
        // A commit that redefines `live` (files elsewhere) and adds a provider that would
        // carry the operator's key to the committer's server.
        put(
            &s.repo().join("zonekeeper.yaml"),
            &format!(
                "providers:\n  live:\n    type: zonefile\n    directory: {}\n  pdns:\n    type: powerdns\n    url: http://127.0.0.1:{trap_port}\n    api_key: env:PDNS_API_KEY\nzones:\n  a.test:\n    targets: [live, pdns]\n",
                evil.display()
            ),
        );
        put(&s.repo().join("zones/a.test.yaml"), &zone(13));
        wait_for("the refusal in /status", || {
            status(port).contains("providers are defined by the operator's configuration")
        });
        let st = status(port);
        assert!(st.contains("zonekeeper.yaml:3:5: providers:"), "{st}");
        let v: serde_json::Value = serde_json::from_str(&st).unwrap();
        let reasons = v["refused_revision"]["reasons"].to_string();
        let host = s.tmp.path().display().to_string();
        assert!(!reasons.contains(&host), "host layout: {reasons}");
        std::thread::sleep(Duration::from_millis(500));
        assert!(!s.live_zone().contains("192.0.2.13"), "refused: nothing applied");
        assert!(!evil.exists(), "nothing written where the committer said");
        assert!(trap.accept().is_err(), "nothing sent to the committer's server");
        // A guard_rails section in the repository is the operator's too.
        put(
            &s.repo().join("zonekeeper.yaml"),
            "guard_rails:\n  thresholds: {delete_pct: 100}\nzones:\n  a.test:\n    targets: [live]\n",
        );
        wait_for("the guard_rails refusal", || {
            status(port).contains("guard rail limits belong to the operator's configuration")
        });
        // Back to names only: applied.
        put(
            &s.repo().join("zonekeeper.yaml"),
            "zones:\n  a.test:\n    targets: [live]\n",
        );
        wait_for("the fixed revision applied", || {
            s.live_zone().contains("192.0.2.13")
        });
    });
    // Relative to the operator's file, never to the repository or the working directory.
    assert!(!s.repo().join("live").exists());
    assert!(!s.tmp.path().join("live").exists());
}

#[test]
fn the_operators_limits_hold_a_zone_that_declares_looser_ones() {
    let s = Setup::new("guard_rails:\n  thresholds: {delete_pct: 20}\n");
    s.with_daemon(|port| {
        wait_for("the first revision live", || {
            s.live_zone().contains("192.0.2.12")
        });
        // The repository allows any deletes, in a commit of its own...
        put(
            &s.repo().join("zonekeeper.yaml"),
            "zones:\n  a.test:\n    targets: [live]\n    thresholds: {delete_pct: 100}\n",
        );
        std::thread::sleep(Duration::from_secs(1));
        // ...and then deletes 10 of 12: held to the operator's 20%.
        put(&s.repo().join("zones/a.test.yaml"), &zone(2));
        wait_for("the unsafe plan in /status", || {
            let st = status(port);
            st.contains("too many deletes: 10 of 12") && st.contains("> 20%")
        });
        std::thread::sleep(Duration::from_millis(500));
        assert!(s.live_zone().contains("192.0.2.12"), "nothing deleted");
    });
    // The CLI holds the zone the same way, and says so.
    let (code, out) = s.cli(&["plan"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("> 20%"), "{out}");
}

#[test]
fn ci_plans_with_the_operators_providers_only() {
    let s = Setup::new("");
    let (code, out) = s.cli(&["validate"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = s.cli(&["plan"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("h11"), "{out}");
    // A pull request that brings its own providers is refused before anything is read.
    let (trap, trap_port) = trap();
    put(
        &s.repo().join("zonekeeper.yaml"),
        &format!(
            "providers:\n  live:\n    type: powerdns\n    url: http://127.0.0.1:{trap_port}\n    api_key: env:PDNS_API_KEY\nzones:\n  a.test:\n    targets: [live]\n"
        ),
    );
    for cmd in [&["validate"][..], &["plan"][..], &["apply"][..]] {
        let (code, out) = s.cli(cmd);
        assert_eq!(code, 1, "{cmd:?}: {out}");
        assert!(
            out.contains("zonekeeper.yaml:3:5: providers: providers are defined by the operator's configuration"),
            "{cmd:?}: {out}"
        );
    }
    assert!(
        trap.accept().is_err(),
        "nothing sent to the committer's server"
    );
    assert!(!s.ops().join("live").exists(), "nothing applied");
    // The operator's file may not carry zones: they would be ignored.
    put(
        &s.ops().join("operator.yaml"),
        "providers:\n  live: {type: zonefile, directory: live}\nzones:\n  b.test: {targets: [live]}\n",
    );
    let (code, out) = s.cli(&["validate"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("operator.yaml:4:"), "{out}");
    assert!(out.contains("belong to the repository"), "{out}");
}

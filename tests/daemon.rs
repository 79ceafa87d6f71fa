//! `zonekeeper run` as a real process against a real `git daemon`, on loopback:
//! webhook and poll triggers, fail-closed on broken or emptied manifests, forged webhooks,
//! metrics that promtool accepts, kill -9 in the middle of an apply, clean SIGTERM.

mod support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn require(bin: &str) -> bool {
    let ok = Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        support::missing(
            bin,
            &format!("daemon::{}", std::thread::current().name().unwrap_or("?")),
        );
    }
    ok
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.0 client: (status, body).
fn http(
    method: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    support::http(port, method, path, headers, body)
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

fn git(dir: &Path, home: &Path, args: &[&str]) {
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
}

const ZONE_V1: &str = "'':\n  - type: NS\n    values: [ns1.example.net., ns2.example.net.]\n  - type: A\n    value: 192.0.2.1\nwww:\n  type: A\n  value: 192.0.2.10\n";

struct Fixture {
    tmp: tempfile::TempDir,
    work: PathBuf,
    live: PathBuf,
    git_daemon: Child,
    git_port: u16,
}

impl Fixture {
    /// A bare repository served by `git daemon`, and a working clone that pushes to it.
    fn new() -> Option<Fixture> {
        if !require("git") {
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let served = root.join("served");
        std::fs::create_dir_all(&served).unwrap();
        git(
            &served,
            &home,
            &["init", "-q", "--bare", "-b", "main", "repo.git"],
        );
        let work = root.join("work");
        std::fs::create_dir_all(work.join("zones")).unwrap();
        git(&work, &home, &["init", "-q", "-b", "main"]);
        let live = root.join("live");
        std::fs::write(
            work.join("zonekeeper.yaml"),
            format!(
                "providers:\n  live:\n    type: zonefile\n    directory: {}\nzones:\n  example.com.:\n    targets: [live]\n",
                live.display()
            ),
        )
        .unwrap();
        std::fs::write(work.join("zones/example.com.yaml"), ZONE_V1).unwrap();
        git(&work, &home, &["add", "-A"]);
        git(&work, &home, &["commit", "-qm", "v1"]);
        git(
            &work,
            &home,
            &[
                "push",
                "-q",
                served.join("repo.git").to_str().unwrap(),
                "main",
            ],
        );
        let git_port = free_port();
        let git_daemon = Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={git_port}"),
                &format!("--base-path={}", served.display()),
                "--export-all",
                served.to_str().unwrap(),
            ])
            .env("HOME", &home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let f = Fixture {
            tmp,
            work,
            live,
            git_daemon,
            git_port,
        };
        wait_until("git daemon", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", f.git_port)).is_ok()
        });
        Some(f)
    }

    fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }

    fn commit(&self, msg: &str, edit: impl FnOnce(&Path)) {
        self.commit_with(msg, &[], edit);
    }

    /// Commits with extra `git` options before `commit` (e.g. `-c user.signingkey=...`).
    fn commit_with(&self, msg: &str, git_opts: &[&str], edit: impl FnOnce(&Path)) {
        edit(&self.work);
        git(&self.work, &self.home(), &["add", "-A"]);
        let mut args: Vec<&str> = git_opts.to_vec();
        args.extend(["commit", "-qm", msg, "--allow-empty"]);
        git(&self.work, &self.home(), &args);
        let bare = self.tmp.path().join("served/repo.git");
        git(
            &self.work,
            &self.home(),
            &["push", "-q", bare.to_str().unwrap(), "main"],
        );
    }

    fn live_zone(&self) -> String {
        std::fs::read_to_string(self.live.join("example.com.zone")).unwrap_or_default()
    }

    fn start(&self, extra: &[&str]) -> Daemon {
        let d = self.spawn(extra);
        wait_until("/readyz", Duration::from_secs(30), || {
            d.get("/readyz").is_some_and(|(s, _)| s == 200)
        });
        d
    }

    /// Moves `main` back to `rev` in the served repository (a force-push).
    fn force_push_to(&self, rev: &str) {
        git(&self.work, &self.home(), &["reset", "-q", "--hard", rev]);
        let bare = self.tmp.path().join("served/repo.git");
        git(
            &self.work,
            &self.home(),
            &["push", "-qf", bare.to_str().unwrap(), "main"],
        );
    }

    /// Every daemon log of this fixture, for failure messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(self.tmp.path()).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("daemon-") {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        out
    }

    fn head(&self) -> String {
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&self.work)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Starts the daemon and waits for `/healthz` only (it may never be ready).
    fn spawn(&self, extra: &[&str]) -> Daemon {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .args([
                "run",
                "--repo",
                &format!("git://127.0.0.1:{}/repo.git", self.git_port),
            ])
            .arg("--state-dir")
            .arg(self.tmp.path().join("state"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--webhook-secret",
                "env:ZK_TEST_HOOK_SECRET",
            ])
            .args(extra)
            .env("ZK_TEST_HOOK_SECRET", "hook-s3cret")
            .env("HOME", self.home())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.tmp.path().join(format!("daemon-{port}.log"))).unwrap(),
            )
            .spawn()
            .unwrap();
        let d = Daemon { child, port };
        wait_until("/healthz", Duration::from_secs(30), || {
            d.get("/healthz").is_some_and(|(s, _)| s == 200)
        });
        d
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.git_daemon.kill();
        let _ = self.git_daemon.wait();
    }
}

struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn get(&self, path: &str) -> Option<(u16, String)> {
        http("GET", self.port, path, &[], b"")
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.get("/status").unwrap().1).unwrap()
    }

    fn metric(&self, name_and_labels: &str) -> Option<f64> {
        let (_, body) = self.get("/metrics")?;
        body.lines()
            .find(|l| l.starts_with(name_and_labels))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    fn hook(&self, headers: &[(&str, &str)], body: &[u8]) -> u16 {
        http("POST", self.port, "/hooks/git", headers, body).map_or(0, |r| r.0)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn webhook_and_poll_bring_commits_live_and_forgeries_are_refused() {
    let Some(fx) = Fixture::new() else { return };
    let d = fx.start(&["--interval", "2s"]);
    assert!(fx.live_zone().contains("192.0.2.10"), "{}", fx.live_zone());

    // Webhook: a signed call makes the next commit live within 2 s.
    fx.commit("v2", |w| {
        std::fs::write(
            w.join("zones/example.com.yaml"),
            ZONE_V1.replace("192.0.2.10", "192.0.2.20"),
        )
        .unwrap()
    });
    let body = br#"{"ref":"refs/heads/main"}"#;
    let sig = zonekeeper::http::webhook::sign(b"hook-s3cret", body);
    let t = Instant::now();
    assert_eq!(d.hook(&[("X-Hub-Signature-256", &sig)], body), 202);
    wait_until("webhook commit live", Duration::from_secs(2), || {
        fx.live_zone().contains("192.0.2.20")
    });
    eprintln!("webhook -> live in {:?}", t.elapsed());

    // Forged calls: wrong secret, no signature, the same body signed with another secret.
    let forged = zonekeeper::http::webhook::sign(b"wrong", body);
    assert_eq!(d.hook(&[("X-Hub-Signature-256", &forged)], body), 401);
    assert_eq!(d.hook(&[], body), 401);
    assert_eq!(
        d.hook(
            &[("X-Signature", &forged)],
            b"{\"ref\":\"refs/heads/other\"}"
        ),
        401
    );
    assert_eq!(d.hook(&[("X-Gitlab-Token", "nope")], body), 401);

    // No webhook: the poll (2 s +-10%) picks the next commit up.
    fx.commit("v3", |w| {
        std::fs::write(
            w.join("zones/example.com.yaml"),
            ZONE_V1.replace("192.0.2.10", "192.0.2.30"),
        )
        .unwrap()
    });
    let t = Instant::now();
    wait_until("polled commit live", Duration::from_secs(6), || {
        fx.live_zone().contains("192.0.2.30")
    });
    eprintln!("poll -> live in {:?}", t.elapsed());

    // The file is written before the run is recorded: wait for the record.
    wait_until("three runs in /status", Duration::from_secs(5), || {
        d.status()["zones"]["example.com."]["runs"]
            .as_array()
            .map_or(0, Vec::len)
            >= 3
    });
    let st = d.status();
    assert_eq!(st["zones"]["example.com."]["last_outcome"], "success");
    assert!(d.metric("zonekeeper_changes_applied_total{").unwrap_or(0.0) >= 1.0);
    assert!(
        d.metric("zonekeeper_git_fetch_total{result=\"success\"}")
            .unwrap_or(0.0)
            >= 2.0
    );
}

#[test]
fn broken_or_emptied_manifests_change_nothing() {
    let Some(fx) = Fixture::new() else { return };
    let d = fx.start(&["--interval", "1s"]);
    let good = fx.live_zone();
    assert!(good.contains("192.0.2.10"));
    let hook = |d: &Daemon| {
        let sig = zonekeeper::http::webhook::sign(b"hook-s3cret", b"{}");
        assert_eq!(d.hook(&[("X-Signature", &sig)], b"{}"), 202);
    };

    // A broken manifest: refused, reported, nothing live changes.
    fx.commit("broken", |w| {
        std::fs::write(
            w.join("zones/example.com.yaml"),
            "'':\n  type: A\n  value: [oops\n",
        )
        .unwrap()
    });
    hook(&d);
    wait_until(
        "refused revision in /status",
        Duration::from_secs(5),
        || !d.status()["refused_revision"].is_null(),
    );
    assert!(d.metric("zonekeeper_manifest_errors").unwrap_or(0.0) >= 1.0);
    assert_eq!(fx.live_zone(), good);

    // Every zone file deleted: refused (missing file), nothing deleted.
    fx.commit("rm zones", |w| {
        std::fs::remove_dir_all(w.join("zones")).unwrap()
    });
    hook(&d);
    wait_until(
        "refusal of the emptied repo",
        Duration::from_secs(5),
        || {
            d.status()["refused_revision"]["reasons"]
                .to_string()
                .contains("file not found")
        },
    );
    // The whole repository emptied.
    fx.commit("rm all", |w| {
        std::fs::remove_file(w.join("zonekeeper.yaml")).unwrap()
    });
    hook(&d);
    wait_until("refusal of the empty repo", Duration::from_secs(5), || {
        d.status()["refused_revision"]["reasons"]
            .to_string()
            .contains("zonekeeper.yaml")
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(fx.live_zone(), good, "no record may be deleted");
    assert!(
        d.get("/healthz").is_some_and(|(s, _)| s == 200),
        "the daemon keeps running"
    );

    // The next good commit applies.
    fx.commit("fixed", |w| {
        std::fs::create_dir_all(w.join("zones")).unwrap();
        std::fs::write(w.join("zones/example.com.yaml"), ZONE_V1.replace("192.0.2.10", "192.0.2.40")).unwrap();
        std::fs::write(
            w.join("zonekeeper.yaml"),
            format!("providers:\n  live:\n    type: zonefile\n    directory: {}\nzones:\n  example.com.:\n    targets: [live]\n", fx.live.display()),
        )
        .unwrap();
    });
    hook(&d);
    wait_until("fixed commit live", Duration::from_secs(5), || {
        fx.live_zone().contains("192.0.2.40")
    });
    assert_eq!(d.metric("zonekeeper_manifest_errors"), Some(0.0));
}

#[test]
fn metrics_pass_promtool_and_sigterm_exits_cleanly() {
    let Some(fx) = Fixture::new() else { return };
    let mut d = fx.start(&[]);
    let (_, metrics) = d.get("/metrics").unwrap();
    for name in [
        "zonekeeper_reconcile_total",
        "zonekeeper_reconcile_duration_seconds",
        "zonekeeper_zone_drift_records",
        "zonekeeper_changes_applied_total",
        "zonekeeper_last_successful_reconcile_timestamp_seconds",
        "zonekeeper_provider_requests_total",
        "zonekeeper_provider_request_duration_seconds",
        "zonekeeper_git_fetch_total",
        "zonekeeper_source_revision_info",
        "zonekeeper_manifest_errors",
        "zonekeeper_unsafe_plans",
        "zonekeeper_build_info",
    ] {
        assert!(
            metrics.contains(name),
            "{name} missing from /metrics:\n{metrics}"
        );
    }
    if require("promtool") {
        let mut p = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        p.stdin
            .take()
            .unwrap()
            .write_all(metrics.as_bytes())
            .unwrap();
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pid = d.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    loop {
        if let Some(st) = d.child.try_wait().unwrap() {
            assert!(st.success(), "SIGTERM must exit 0, got {st:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_9_in_the_middle_of_a_large_apply_then_restart_converges() {
    let Some(fx) = Fixture::new() else { return };
    // A record outside the plan: ignored by the config, seeded live before the daemon runs.
    fx.commit("ignore rule", |w| {
        std::fs::write(
            w.join("zonekeeper.yaml"),
            format!(
                "providers:\n  live:\n    type: zonefile\n    directory: {}\ndefaults:\n  ignore: [{{name: \"keep-*\"}}]\nzones:\n  example.com.:\n    targets: [live]\n",
                fx.live.display()
            ),
        )
        .unwrap();
    });
    std::fs::create_dir_all(&fx.live).unwrap();
    std::fs::write(
        fx.live.join("example.com.zone"),
        "$ORIGIN example.com.\n@ 3600 IN SOA ns1.example.net. hostmaster.example.com. 1 3600 600 604800 3600\nkeep-me 300 IN A 198.51.100.7\n",
    )
    .unwrap();
    let d = fx.start(&[]);
    let journal = fx.tmp.path().join("state/journal.jsonl");

    // A 30,000-record change, then kill -9 while it is being applied.
    let mut big = String::from(ZONE_V1);
    for i in 0..30_000 {
        big.push_str(&format!(
            "host{i}:\n  type: A\n  value: 10.{}.{}.{}\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    fx.commit("big", |w| {
        std::fs::write(w.join("zones/example.com.yaml"), &big).unwrap()
    });
    let sig = zonekeeper::http::webhook::sign(b"hook-s3cret", b"{}");
    assert_eq!(d.hook(&[("X-Signature", &sig)], b"{}"), 202);
    std::thread::sleep(Duration::from_millis(
        150 + u64::from(std::process::id() % 300),
    ));
    let mut d = d;
    d.child.kill().unwrap(); // SIGKILL
    d.child.wait().unwrap();
    drop(d);

    // Restart: it converges, the journal reads, the record outside the plan is untouched.
    let d2 = fx.start(&[]);
    wait_until("convergence after restart", Duration::from_secs(60), || {
        fx.live_zone().contains("host29999 ")
    });
    let plan = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(["--config"])
        .arg(fx.work.join("zonekeeper.yaml"))
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plan.stdout)
    );
    assert!(
        fx.live_zone().contains("keep-me 300 IN A 198.51.100.7"),
        "{}",
        &fx.live_zone()[..300]
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    let parsed = zonekeeper::telemetry::journal::Journal::read_all(&journal).unwrap();
    assert_eq!(
        parsed.len(),
        text.lines().count(),
        "every journal line parses"
    );
    assert!(
        parsed.iter().any(|e| e.name == "host29999.example.com."),
        "the applied changes are journaled"
    );
    assert!(parsed.iter().all(|e| !e.name.starts_with("keep-")));
    assert_eq!(
        d2.status()["zones"]["example.com."]["last_outcome"],
        "success"
    );
}

#[test]
fn only_commits_signed_by_an_allowed_key_are_applied() {
    if !require("ssh-keygen") {
        return;
    }
    let Some(fx) = Fixture::new() else { return };
    let keys = fx.tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for k in ["good", "other"] {
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", k, "-f"])
            .arg(keys.join(k))
            .status()
            .unwrap();
        assert!(st.success());
    }
    let pubkey = std::fs::read_to_string(keys.join("good.pub")).unwrap();
    let signers = keys.join("allowed_signers");
    std::fs::write(&signers, format!("t@example.com {pubkey}")).unwrap();
    let sign_with = |k: &str| -> Vec<String> {
        vec![
            "-c".into(),
            "gpg.format=ssh".into(),
            "-c".into(),
            format!("user.signingkey={}", keys.join(k).display()),
            "-c".into(),
            "commit.gpgsign=true".into(),
        ]
    };
    let good: Vec<String> = sign_with("good");
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let other: Vec<String> = sign_with("other");
    let other: Vec<&str> = other.iter().map(String::as_str).collect();

    fx.commit_with("signed v1", &good, |_| {});
    let d = fx.start(&["--allowed-signers", signers.to_str().unwrap()]);
    assert!(fx.live_zone().contains("192.0.2.10"));
    let hook = || {
        let sig = zonekeeper::http::webhook::sign(b"hook-s3cret", b"{}");
        assert_eq!(d.hook(&[("X-Signature", &sig)], b"{}"), 202);
    };

    fx.commit("unsigned", |w| {
        std::fs::write(
            w.join("zones/example.com.yaml"),
            ZONE_V1.replace("192.0.2.10", "192.0.2.66"),
        )
        .unwrap()
    });
    hook();
    wait_until("unsigned head refused", Duration::from_secs(5), || {
        d.status()["source_error"].to_string().contains("refused")
    });
    assert!(
        d.metric("zonekeeper_git_fetch_total{result=\"unverified\"}")
            .unwrap_or(0.0)
            >= 1.0
    );

    fx.commit_with("signed by a stranger", &other, |_| {});
    hook();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        d.status()["source_error"].to_string().contains("refused"),
        "{}",
        d.status()
    );
    assert!(
        !fx.live_zone().contains("192.0.2.66"),
        "nothing from an unverified head may be applied"
    );

    fx.commit_with("signed v2", &good, |_| {});
    hook();
    wait_until("signed head applied", Duration::from_secs(5), || {
        fx.live_zone().contains("192.0.2.66")
    });
    assert!(d.status()["source_error"].is_null());
}

#[test]
fn manifests_cannot_borrow_the_controllers_credentials_or_repo_files() {
    let Some(fx) = Fixture::new() else { return };
    let d = fx.start(&[]);
    let good = fx.live_zone();
    let hook = || {
        let sig = zonekeeper::http::webhook::sign(b"hook-s3cret", b"{}");
        assert_eq!(d.hook(&[("X-Signature", &sig)], b"{}"), 202);
    };
    // A committer points a provider at their own server with the daemon's webhook secret.
    let with_provider = |key: &str| {
        format!(
            "providers:\n  live:\n    type: zonefile\n    directory: {}\n  exfil:\n    type: powerdns\n    url: http://127.0.0.1:1\n    api_key: {key}\nzones:\n  example.com.:\n    targets: [live]\n",
            fx.live.display()
        )
    };
    fx.commit("exfiltrate", |w| {
        std::fs::write(
            w.join("zonekeeper.yaml"),
            with_provider("env:ZK_TEST_HOOK_SECRET"),
        )
        .unwrap();
        std::fs::write(
            w.join("zones/example.com.yaml"),
            ZONE_V1.replace("192.0.2.10", "192.0.2.77"),
        )
        .unwrap();
    });
    hook();
    wait_until("refusal", Duration::from_secs(5), || {
        d.status()["refused_revision"]["reasons"]
            .to_string()
            .contains("controller's own credentials")
    });
    // A secret committed to the repository is never read: a relative `file:` of the
    // repository's providers resolves outside the snapshot (never inside it), and the
    // snapshot holds no such file anyway.
    fx.commit("secret in git", |w| {
        std::fs::write(w.join("key.txt"), "committed-secret\n").unwrap();
        std::fs::write(w.join("zonekeeper.yaml"), with_provider("file:key.txt")).unwrap();
    });
    hook();
    wait_until(
        "refusal of a file in the repository",
        Duration::from_secs(5),
        || {
            let r = d.status()["refused_revision"]["reasons"].to_string();
            r.contains("provider \\\"exfil\\\"") && r.contains("key.txt")
        },
    );
    let st = d.status().to_string();
    assert!(
        !st.contains("hook-s3cret") && !st.contains("committed-secret"),
        "{st}"
    );
    assert_eq!(
        fx.live_zone(),
        good,
        "nothing from a refused revision is applied"
    );
}

/// Every file below `dir` whose name is `name` (recursively).
fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_named(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
    out
}

#[test]
fn relative_provider_paths_resolve_against_the_operator_never_a_snapshot() {
    let Some(fx) = Fixture::new() else { return };
    // The README's example through --repo: a relative zonefile directory, still in the
    // repository's own providers (no operator providers yet).
    fx.commit("relative directory", |w| {
        std::fs::write(
            w.join("zonekeeper.yaml"),
            "providers:\n  live:\n    type: zonefile\n    directory: live\nzones:\n  example.com.:\n    targets: [live]\n",
        )
        .unwrap()
    });
    let ops = fx.tmp.path().join("ops");
    std::fs::create_dir_all(&ops).unwrap();
    std::fs::write(ops.join("operator.yaml"), "controller:\n  concurrency: 2\n").unwrap();
    let d = fx.start(&[
        "--interval",
        "1s",
        "--config",
        ops.join("operator.yaml").to_str().unwrap(),
    ]);
    let written = ops.join("live/example.com.zone");
    wait_until(
        "the zone beside the operator's file",
        Duration::from_secs(30),
        || written.exists(),
    );
    fx.commit("next", |w| {
        std::fs::write(
            w.join("zones/example.com.yaml"),
            ZONE_V1.replace("192.0.2.10", "192.0.2.11"),
        )
        .unwrap()
    });
    wait_until("the next commit applied", Duration::from_secs(30), || {
        std::fs::read_to_string(&written).is_ok_and(|z| z.contains("192.0.2.11"))
    });
    drop(d);
    let stray = files_named(&fx.tmp.path().join("state"), "example.com.zone");
    assert!(
        stray.is_empty(),
        "zone files inside the state directory: {stray:?}"
    );
}

/// Issue 10: the git cache is lost (an `emptyDir`), the journal is kept; a force-pushed old
/// commit must still not be applied.
#[test]
fn force_push_with_an_emptied_git_cache_is_refused() {
    let Some(fx) = Fixture::new() else { return };
    let v1 = fx.head();
    let d = fx.start(&["--interval", "1s"]);
    fx.commit("v2", |w| {
        std::fs::write(
            w.join("zones/example.com.yaml"),
            ZONE_V1.replace("192.0.2.10", "192.0.2.20"),
        )
        .unwrap()
    });
    wait_until("v2 live", Duration::from_secs(10), || {
        fx.live_zone().contains("192.0.2.20")
    });
    drop(d);
    fx.force_push_to(&v1);
    std::fs::remove_dir_all(fx.tmp.path().join("state/git")).unwrap();
    let d = fx.spawn(&["--interval", "1s"]);
    wait_until("the rewind refused", Duration::from_secs(10), || {
        d.status()["source_error"]
            .as_str()
            .is_some_and(|e| e.contains("does not descend from"))
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        fx.live_zone().contains("192.0.2.20"),
        "the old commit must not be applied: {}",
        fx.live_zone()
    );
    assert_eq!(d.status()["revision"], serde_json::Value::Null);
}

/// Issue 10: a restart must not forget the guard rails the revision in force declared. A
/// commit that sets `delete_pct: 100` and empties most of the zone right after a restart
/// is judged by the stored, stricter thresholds.
#[test]
fn a_restart_does_not_let_a_commit_loosen_its_own_guard_rails() {
    let Some(fx) = Fixture::new() else { return };
    let config = |extra: &str| {
        format!(
            "providers:\n  live:\n    type: zonefile\n    directory: {}\nzones:\n  example.com.:\n    targets: [live]\n{extra}",
            fx.live.display()
        )
    };
    let mut zone = String::from(ZONE_V1);
    for i in 0..12 {
        zone.push_str(&format!("h{i}:\n  type: A\n  value: 198.51.100.{i}\n"));
    }
    fx.commit("twelve hosts", |w| {
        std::fs::write(w.join("zones/example.com.yaml"), &zone).unwrap()
    });
    let d = fx.start(&[]);
    assert!(
        fx.live_zone().contains("198.51.100.11"),
        "{}",
        fx.live_zone()
    );
    drop(d);

    fx.commit("loosen and empty", |w| {
        std::fs::write(
            w.join("zonekeeper.yaml"),
            config("    thresholds: {delete_pct: 100, update_pct: 100}\n"),
        )
        .unwrap();
        std::fs::write(w.join("zones/example.com.yaml"), ZONE_V1).unwrap();
    });
    let d = fx.start(&[]);
    assert_eq!(
        d.status()["zones"]["example.com."]["last_outcome"],
        "unsafe",
        "{}\n{}",
        d.status(),
        fx.logs()
    );
    assert!(
        fx.live_zone().contains("198.51.100.11"),
        "nothing deleted: {}",
        fx.live_zone()
    );
    assert!(fx.tmp.path().join("state/guard-rails.json").is_file());
}

/// Issue 10: a fresh replica (empty state directory, no journal) on a zone with
/// `revision_record: true` whose live zone names a newer revision refuses a force-pushed
/// older commit: blocked, nothing deleted.
#[test]
fn the_revision_record_stops_a_fresh_replica_from_going_backwards() {
    let Some(fx) = Fixture::new() else { return };
    let config = format!(
        "providers:\n  live:\n    type: zonefile\n    directory: {}\ndefaults:\n  revision_record: true\nzones:\n  example.com.:\n    targets: [live]\n",
        fx.live.display()
    );
    let before_record = fx.head();
    fx.commit("revision record on", |w| {
        std::fs::write(w.join("zonekeeper.yaml"), &config).unwrap()
    });
    let old = fx.head();
    fx.commit("newer", |w| {
        std::fs::write(
            w.join("zones/example.com.yaml"),
            format!("{ZONE_V1}newer:\n  type: A\n  value: 192.0.2.99\n"),
        )
        .unwrap()
    });
    let newer = fx.head();
    let d = fx.start(&[]);
    let written = fx.live_zone();
    assert!(written.contains("192.0.2.99"), "{written}");
    assert!(
        written.contains("_zonekeeper") && written.contains(&format!("revision={newer}")),
        "the revision record is written with the zone's changes: {written}"
    );
    drop(d);

    // The branch goes back; the replica starts on an empty disk with no journal.
    fx.force_push_to(&old);
    std::fs::remove_dir_all(fx.tmp.path().join("state")).unwrap();
    let d = fx.start(&[]);
    let st = d.status();
    let zone = &st["zones"]["example.com."];
    assert_eq!(zone["last_outcome"], "blocked", "{st}\n{}", fx.logs());
    let error = zone["last_error"].as_str().unwrap_or("");
    assert!(
        error.contains(&format!("last written by {newer}")) && error.contains("--allow-rewind"),
        "{error}"
    );
    assert_eq!(fx.live_zone(), written, "nothing written or deleted");

    // A revision from before the record was turned on is held to it too.
    drop(d);
    fx.force_push_to(&before_record);
    std::fs::remove_dir_all(fx.tmp.path().join("state")).unwrap();
    let d = fx.start(&[]);
    assert_eq!(
        d.status()["zones"]["example.com."]["last_outcome"],
        "blocked",
        "{}",
        d.status()
    );
    assert_eq!(fx.live_zone(), written, "nothing written or deleted");

    // The operator's override applies the old commit, and the record then names it.
    drop(d);
    fx.force_push_to(&old);
    let d = fx.start(&["--allow-rewind"]);
    assert_eq!(
        d.status()["zones"]["example.com."]["last_outcome"],
        "success"
    );
    let now = fx.live_zone();
    assert!(!now.contains("192.0.2.99"), "{now}");
    assert!(now.contains(&format!("revision={old}")), "{now}");
}

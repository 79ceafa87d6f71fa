//! The daemon's HTTP server as an outsider meets it: `zonekeeper run` as a real process on
//! loopback, attacked with unsigned webhook floods, hundreds of half-sent and silent
//! connections, and calls to `/status` and `/metrics` without the bearer token.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WEBHOOK_SECRET: &str = "attack-webhook-secret";
const STATUS_TOKEN: &str = "attack-status-token";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Copies manifests-example (without its `live/` output).
fn copy_dir(from: &Path, to: &Path) {
    support::copy_dir_except(from, to, &["live"]);
}

/// `zonekeeper run --dir` on a copy of `manifests-example/`, killed when dropped.
struct Daemon {
    child: Child,
    port: u16,
    _tmp: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(extra: &[&str]) -> Daemon {
        let tmp = tempfile::tempdir().unwrap();
        let dir: PathBuf = tmp.path().join("repo");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-example"),
            &dir,
        );
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .arg("run")
            .arg("--dir")
            .arg(&dir)
            .arg("--state-dir")
            .arg(tmp.path().join("state"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--webhook-secret", "env:ZK_ATTACK_WEBHOOK"])
            .args(extra)
            .env("ZK_ATTACK_WEBHOOK", WEBHOOK_SECRET)
            .env("ZK_ATTACK_STATUS", STATUS_TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Daemon {
            child,
            port,
            _tmp: tmp,
        };
        let start = Instant::now();
        while http(&d, "GET", "/healthz", &[], b"").map(|r| r.0) != Some(200) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the daemon did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }
}

fn http(
    d: &Daemon,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    support::http(d.port, method, path, headers, body)
}

fn status_of(d: &Daemon, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    http(d, method, path, headers, body)
        .map(|r| r.0)
        .unwrap_or_else(|| panic!("{method} {path}: no answer"))
}

#[test]
fn unsigned_webhook_floods_do_not_use_up_the_rate_limit_of_signed_calls() {
    let d = Daemon::start(&[]);
    let body = br#"{"ref":"refs/heads/main"}"#;
    // Far more than the burst of 10, none of them signed (or signed wrongly).
    for i in 0..40 {
        let headers: &[(&str, &str)] = if i % 2 == 0 {
            &[]
        } else {
            &[("X-Signature", "sha256=00")]
        };
        assert_eq!(status_of(&d, "POST", "/hooks/git", headers, body), 401);
    }
    let sig = zonekeeper::http::webhook::sign(WEBHOOK_SECRET.as_bytes(), body);
    assert_eq!(
        status_of(
            &d,
            "POST",
            "/hooks/git",
            &[("X-Hub-Signature-256", &sig)],
            body
        ),
        202,
        "a signed call after a flood of unsigned ones"
    );
    // Signed calls are still limited (per source): a burst of them ends in 429.
    let codes: Vec<u16> = (0..20)
        .map(|_| {
            status_of(
                &d,
                "POST",
                "/hooks/git",
                &[("X-Hub-Signature-256", &sig)],
                body,
            )
        })
        .collect();
    assert!(codes.contains(&429), "{codes:?}");
    assert!(codes.iter().all(|c| *c == 202 || *c == 429), "{codes:?}");
}

#[test]
fn half_sent_and_silent_connections_neither_block_healthz_nor_stay_open() {
    let d = Daemon::start(&[]);
    // 300 clients that start a request and never finish its headers.
    let mut slow: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
            let partial = format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: {i}\r\n");
            s.write_all(partial.as_bytes()).unwrap();
            s
        })
        .collect();
    // One that connects and sends nothing at all.
    let mut silent = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    // One that makes a keep-alive request and then stays idle.
    let mut idle = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let t = Instant::now();
    assert_eq!(status_of(&d, "GET", "/healthz", &[], b""), 200);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "/healthz took {:?} beside 300 half-sent requests",
        t.elapsed()
    );

    // The silent connection is closed by the server after the header-read timeout (EOF),
    // not kept open until the client gives up.
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 512];
    let n = silent.read(&mut buf).unwrap_or(0);
    let waited = t.elapsed();
    assert!(
        waited < Duration::from_secs(15),
        "a silent connection stayed open for {waited:?}"
    );
    // hyper may answer 408 before closing; either way the socket ends.
    let _ = n;
    assert_eq!(silent.read(&mut buf).unwrap_or(0), 0, "not closed");
    // So is the idle keep-alive one (its answer first, then EOF).
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    assert!(
        idle.read_to_end(&mut answer).is_ok(),
        "an idle keep-alive connection is still open"
    );
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    // So are the half-sent ones.
    for s in slow.iter_mut().take(20) {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        assert!(
            s.read_to_end(&mut rest).is_ok(),
            "a half-sent connection is still open"
        );
    }
    assert_eq!(status_of(&d, "GET", "/healthz", &[], b""), 200);
}

#[test]
fn status_and_metrics_need_the_bearer_token_probes_do_not() {
    let d = Daemon::start(&["--status-token", "env:ZK_ATTACK_STATUS"]);
    let good = format!("Bearer {STATUS_TOKEN}");
    let wrong = format!("Bearer {STATUS_TOKEN}x");
    for path in ["/status", "/metrics"] {
        assert_eq!(status_of(&d, "GET", path, &[], b""), 401, "{path}");
        assert_eq!(
            status_of(&d, "GET", path, &[("Authorization", &wrong)], b""),
            401,
            "{path}"
        );
        assert_eq!(
            status_of(&d, "GET", path, &[("Authorization", STATUS_TOKEN)], b""),
            401,
            "{path} without the Bearer scheme"
        );
        let (code, body) = http(&d, "GET", path, &[("Authorization", &good)], b"").unwrap();
        assert_eq!(code, 200, "{path}");
        assert!(!body.is_empty());
        let lower = format!("bearer {STATUS_TOKEN}");
        assert_eq!(
            status_of(&d, "GET", path, &[("Authorization", &lower)], b""),
            200,
            "{path}: the scheme is case-insensitive"
        );
    }
    // Probes stay open.
    assert_eq!(status_of(&d, "GET", "/healthz", &[], b""), 200);
    assert_ne!(status_of(&d, "GET", "/readyz", &[], b""), 401);
    // Without a token configured, /status is open (the default).
    let open = Daemon::start(&[]);
    assert_eq!(status_of(&open, "GET", "/status", &[], b""), 200);
}

//! Attacks through the paths a committer writes in the repository: zone files named
//! outside the manifest root (absolute, `..`, a symlink, `/proc/self/cwd/...`), special
//! files, and two zones on one file. Nothing outside the root is read, and a secret file
//! named as a zone file never appears in any output (`validate`, `plan`, the daemon's
//! `/status` and log).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A one-line "secret" a committer would like to see in CI output.
const SECRET: &str = "AKIAIOSFODNN7EXAMPLE-wJalrXUtnFEMI-K7MDENG-bPxRfiCY";

const ZONE: &str = "'':\n  type: A\n  value: 192.0.2.1\n";

/// `tmp/secret` beside `tmp/deep/er/repo` holding `zonekeeper.yaml` whose zone `a.test`
/// names `file` (none: the default file).
fn repo(tmp: &Path, file: Option<&str>) -> PathBuf {
    std::fs::write(tmp.join("secret"), format!("{SECRET}\n")).unwrap();
    let root = tmp.join("deep/er/repo");
    std::fs::create_dir_all(root.join("zones")).unwrap();
    let file = file.map_or(String::new(), |f| format!("    file: {f:?}\n"));
    std::fs::write(
        root.join("zonekeeper.yaml"),
        format!(
            "providers:\n  live:\n    type: zonefile\n    directory: {}\nzones:\n  a.test:\n    targets: [live]\n{file}",
            tmp.join("live").display()
        ),
    )
    .unwrap();
    root
}

/// Runs the binary in `cwd`; (exit code, stdout + stderr).
fn zk(cwd: &Path, root: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .current_dir(cwd)
        .arg("--config")
        .arg(root.join("zonekeeper.yaml"))
        .args(args)
        .env_remove("ZONEKEEPER_CONFIG")
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The ways of naming `tmp/secret` (or a device) from the repository.
fn escapes(tmp: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("absolute", tmp.join("secret").display().to_string()),
        ("dot-dot", "../../../secret".to_string()),
        ("dot-dot inside", "zones/../../../../secret".to_string()),
        // The binary runs with `tmp` as its working directory.
        ("/proc/self/cwd", "/proc/self/cwd/secret".to_string()),
        ("device", "/dev/zero".to_string()),
    ]
}

#[test]
fn zone_files_outside_the_root_are_never_read_and_never_echoed() {
    let cases = escapes(Path::new("/placeholder")).len();
    for i in 0..cases {
        let tmp = tempfile::tempdir().unwrap();
        let (what, file) = escapes(tmp.path()).swap_remove(i);
        let root = repo(tmp.path(), Some(&file));
        for cmd in [&["validate"][..], &["plan"][..], &["apply"][..]] {
            let (code, out) = zk(tmp.path(), &root, cmd);
            assert_eq!(code, 1, "{what} {cmd:?}: {out}");
            assert!(
                out.contains("is outside the directory holding zonekeeper.yaml"),
                "{what} {cmd:?}: {out}"
            );
            assert!(
                out.contains("zonekeeper.yaml:8:11"),
                "{what} {cmd:?}: {out}"
            );
            assert!(
                !out.contains(&SECRET[..12]),
                "{what} {cmd:?} leaked the secret: {out}"
            );
        }
        assert!(
            !tmp.path().join("live").exists(),
            "{what}: nothing is written"
        );
    }
}

#[test]
fn a_committed_symlink_out_of_the_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), None);
    std::os::unix::fs::symlink(tmp.path().join("secret"), root.join("zones/a.test.yaml")).unwrap();
    let (code, out) = zk(tmp.path(), &root, &["validate"]);
    refused_without_secret(code, &out, "is outside");
    // A symlinked zones directory as well.
    std::fs::remove_dir_all(root.join("zones")).unwrap();
    std::os::unix::fs::symlink(tmp.path(), root.join("zones")).unwrap();
    std::fs::write(tmp.path().join("a.test.yaml"), SECRET).unwrap();
    let (code, out) = zk(tmp.path(), &root, &["plan"]);
    refused_without_secret(code, &out, "is outside");
}

/// The command failed (exit 1), said why (`why`), and quoted nothing of the secret.
fn refused_without_secret(code: i32, out: &str, why: &str) {
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(why), "{out}");
    assert!(!out.contains(&SECRET[..12]), "{out}");
}

#[test]
fn a_domain_manifest_symlinked_out_of_the_root_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), None);
    std::fs::write(root.join("zones/a.test.yaml"), ZONE).unwrap();
    std::fs::create_dir(root.join("domains")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret"), root.join("domains/a.test.yaml"))
        .unwrap();
    let (code, out) = zk(tmp.path(), &root, &["validate"]);
    refused_without_secret(code, &out, "domains/a.test.yaml: is outside");
}

#[test]
fn a_secret_inside_the_root_is_quoted_only_in_part() {
    // A long one-line file read as a zone (it is inside the root): the error names it and
    // quotes at most an excerpt.
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), None);
    let long = SECRET.repeat(10);
    std::fs::write(root.join("zones/a.test.yaml"), &long).unwrap();
    let (code, out) = zk(tmp.path(), &root, &["validate"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a.test.yaml"), "{out}");
    assert!(!out.contains(&long[..100]), "{out}");
}

#[test]
fn two_zones_on_one_file_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), None);
    std::fs::write(root.join("zones/a.test.yaml"), ZONE).unwrap();
    let text = std::fs::read_to_string(root.join("zonekeeper.yaml")).unwrap()
        + "  b.test:\n    targets: [live]\n    file: zones/a.test.yaml\n";
    std::fs::write(root.join("zonekeeper.yaml"), text).unwrap();
    let (code, out) = zk(tmp.path(), &root, &["validate"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("zonekeeper.yaml:10:11: zone \"b.test\": uses the same zone file as zone a.test. (line 7)"),
        "{out}"
    );
}

/// `zonekeeper run --dir root` (and `extra` flags) on a free port, working directory and
/// state directory in `tmp`, its log in `tmp/daemon.log` (debug level): (child, port).
fn run_dir(tmp: &Path, root: &Path, extra: &[&str]) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .current_dir(tmp)
        .arg("run")
        .arg("--dir")
        .arg(root)
        .arg("--state-dir")
        .arg(tmp.join("state"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .env_remove("ZONEKEEPER_CONFIG")
        .env_remove("ZONEKEEPER_ALLOWED_SECRETS")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(tmp.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    (child, port)
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

#[test]
fn the_daemon_refuses_the_revision_and_shows_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(
        tmp.path(),
        Some(&tmp.path().join("secret").display().to_string()),
    );
    let (mut child, port) = run_dir(tmp.path(), &root, &[]);
    let start = Instant::now();
    let mut status = String::new();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(s) = get(port, "/status") {
            if s.contains("is outside") {
                status = s;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        status.contains("is outside"),
        "no refusal in /status: {status}"
    );
    assert!(!status.contains(&SECRET[..12]), "{status}");
    // The reasons name the repository's paths, not the host's layout.
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let reasons = v["refused_revision"]["reasons"].to_string();
    assert!(
        !reasons.contains(&root.display().to_string()),
        "the host layout shows in /status: {reasons}"
    );
    assert!(reasons.contains("zonekeeper.yaml:"), "{reasons}");
    let log = std::fs::read_to_string(tmp.path().join("daemon.log")).unwrap();
    assert!(!log.contains(&SECRET[..12]), "{log}");
    assert!(!tmp.path().join("live").exists(), "nothing is written");
}

/// Writes `text` to `path` whole (temp file and rename), as the daemon's watcher must
/// never see half a file.
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

#[test]
fn a_commit_cannot_loosen_the_thresholds_that_judge_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let live = tmp.path().join("live");
    std::fs::create_dir_all(root.join("zones")).unwrap();
    let config = |extra: &str| {
        format!(
            "providers:\n  live:\n    type: zonefile\n    directory: {}\nzones:\n  a.test:\n    targets: [live]\n{extra}",
            live.display()
        )
    };
    let zone = |n: usize| -> String {
        (0..n)
            .map(|i| format!("h{i}:\n  type: A\n  value: 192.0.2.{}\n", i + 1))
            .collect()
    };
    put(&root.join("zones/a.test.yaml"), &zone(12));
    put(&root.join("zonekeeper.yaml"), &config(""));
    let (mut child, port) = run_dir(tmp.path(), &root, &[]);
    let live_zone = || std::fs::read_to_string(live.join("a.test.zone")).unwrap_or_default();
    let status = || get(port, "/status").unwrap_or_default();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the first revision live", || {
            live_zone().contains("192.0.2.12")
        });
        // One commit: delete_pct 100 and 10 of 12 records gone. Judged by the old 30%.
        put(&root.join("zones/a.test.yaml"), &zone(2));
        put(
            &root.join("zonekeeper.yaml"),
            &config("    thresholds: {delete_pct: 100}\n"),
        );
        wait_for("the unsafe plan in /status", || {
            let s = status();
            s.contains("too many deletes: 10 of 12") && s.contains("> 30%")
        });
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            live_zone().contains("192.0.2.12"),
            "nothing may be deleted yet"
        );
        // The next commit changes nothing else: now the declared 100% applies.
        put(&root.join("notes.yaml"), "# notes\n");
        wait_for("the deletes applied", || {
            !live_zone().contains("192.0.2.12")
        });
        assert!(live_zone().contains("192.0.2.2"));
    }));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        let log = std::fs::read_to_string(tmp.path().join("daemon.log")).unwrap_or_default();
        eprintln!("daemon log:\n{log}");
        std::panic::resume_unwind(e);
    }
}

#[test]
fn the_daemon_never_reads_a_secret_from_the_repository_however_it_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(root.join("zones")).unwrap();
    std::fs::create_dir_all(root.join("secrets")).unwrap();
    std::fs::write(root.join("secrets/key"), format!("{SECRET}\n")).unwrap();
    std::fs::write(root.join("zones/a.test.yaml"), ZONE).unwrap();
    std::os::unix::fs::symlink(root.join("secrets/key"), tmp.path().join("link")).unwrap();
    // Each provider names the committed key another way (the daemon's cwd is `tmp`).
    let tricks = [
        "../repo/secrets/key".to_string(),
        "/proc/self/cwd/repo/secrets/key".to_string(),
        tmp.path().join("link").display().to_string(),
    ];
    let mut config = String::from("providers:\n");
    for (i, t) in tricks.iter().enumerate() {
        config.push_str(&format!(
            "  p{i}:\n    type: powerdns\n    url: http://127.0.0.1:9\n    api_key: \"file:{t}\"\n"
        ));
    }
    config.push_str("zones:\n  a.test:\n    targets: [p0, p1, p2]\n");
    std::fs::write(root.join("zonekeeper.yaml"), config).unwrap();
    let (mut child, port) = run_dir(tmp.path(), &root, &[]);
    let mut status = String::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        status = get(port, "/status").unwrap_or_default();
        if status.contains("may not be read from the repository") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    for i in 0..tricks.len() {
        assert!(
            status.contains(&format!("provider \\\"p{i}\\\"")),
            "p{i} not refused: {status}"
        );
    }
    assert_eq!(
        status
            .matches("secrets may not be read from the repository")
            .count(),
        tricks.len(),
        "{status}"
    );
    assert!(!status.contains(&SECRET[..12]), "{status}");
}

/// The operator's per-file cap (`--max-file-size`, `controller.max_file_size`) reaches the
/// daemon's manifest reader: a zone file over it refuses the revision before it is read,
/// and nothing is written.
#[test]
fn the_operators_file_size_cap_refuses_an_oversized_zone_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), None);
    std::fs::write(
        root.join("zones/a.test.yaml"),
        format!("# {}\n{ZONE}", "x".repeat(4096)),
    )
    .unwrap();
    let (mut child, port) = run_dir(tmp.path(), &root, &["--max-file-size", "2KiB"]);
    let mut status = String::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(s) = get(port, "/status") {
            if s.contains("refused_revision") && s.contains("are not read") {
                status = s;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        status.contains("is 4 KiB; input files over 2 KiB are not read"),
        "no refusal in /status: {status}\n{}",
        std::fs::read_to_string(tmp.path().join("daemon.log")).unwrap_or_default()
    );
    assert!(!tmp.path().join("live").exists(), "nothing is written");
}

//! Helpers for tests that run real servers on loopback: free ports, throw-away directories,
//! and the rule that a missing server binary skips a test only when
//! `ZONEKEEPER_REQUIRE_SERVERS` is not `1` (CI sets it, so nothing passes silently there).

#![allow(dead_code)]

pub mod bind;
pub mod faultproxy;
pub mod pdns;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// True when the environment demands real servers (scripts/test.sh sets it).
pub fn servers_required() -> bool {
    std::env::var("ZONEKEEPER_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// A missing server: panics when servers are required, else records a skip (which
/// `tests/zz_skipped.rs` sums up on one line at the end of `cargo test`).
pub fn missing(what: &str, test: &str) {
    if servers_required() {
        panic!("{what} is required (ZONEKEEPER_REQUIRE_SERVERS=1) but not available");
    }
    println!("SKIPPED {test}: {what} is not installed");
    eprintln!("SKIPPED {test}: {what} is not installed");
    record_skip(what, test);
}

/// Where skips are recorded: one file per skipped test, named after the process that ran
/// the test binaries (`cargo test`, nextest), so one run never counts another's.
pub fn skip_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests")
}

/// Records a skip without the `ZONEKEEPER_REQUIRE_SERVERS` check (optional tools).
pub fn record_skip(what: &str, test: &str) {
    let dir = skip_dir();
    let _ = std::fs::create_dir_all(&dir);
    let runner = std::os::unix::process::parent_id();
    let file = dir.join(format!("{runner}-{}", test.replace(['/', ' '], "_")));
    let _ = std::fs::write(file, what);
}

/// A port free for both TCP and UDP on 127.0.0.1 right now (the OS picks it).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port found");
}

/// Finds an executable in PATH or the sbin directories (Debian puts daemons there).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Copies a directory tree, leaving out entries named in `skip` (at any depth).
pub fn copy_dir_except(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).expect("create the copy's directory");
    for e in std::fs::read_dir(from).expect("read the directory to copy") {
        let e = e.expect("directory entry");
        if skip.iter().any(|s| e.file_name() == *s) {
            continue;
        }
        let dest = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir_except(&e.path(), &dest, skip);
        } else {
            std::fs::copy(e.path(), dest).expect("copy a file");
        }
    }
}

/// One HTTP/1.0 request to 127.0.0.1:`port`: (status, body), or `None` when the connection
/// or the answer failed.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split(' ').nth(1)?.parse().ok()?;
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

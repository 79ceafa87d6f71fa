//! The bad-input corpus (`tests/corpus/bad/<case>/`): every case must fail `validate`,
//! `plan` and `apply` with exit code 1 and an error naming the file and line, and must not
//! write anything to the target.
//!
//! Each case holds a `zonekeeper.yaml`, its `zones/`, and `expect.txt`: substrings that must
//! all appear in stderr. A first line `# validate: ok` marks cases only a run can detect
//! (missing secrets: `validate` checks files, it does not need the secrets, so CI can run it
//! on pull requests without them).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    support::copy_dir_except(from, to, &[]);
}

/// A valid live zone the failing runs must leave byte-for-byte alone.
const LIVE: &str = "$ORIGIN example.com.\n$TTL 3600\n@ 3600 IN SOA ns1.example.net. hostmaster.example.com. 1 3600 600 604800 3600\n@ 3600 IN NS ns1.example.net.\nold 3600 IN A 192.0.2.99\n";

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .arg("--config")
        .arg(dir.join("zonekeeper.yaml"))
        .args(args)
        .env_remove("ZONEKEEPER_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn live_snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("live"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_bad_input_fails_clearly_and_writes_nothing() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/bad");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus lost cases: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(case, tmp.path());
        std::fs::create_dir_all(tmp.path().join("live")).unwrap();
        std::fs::write(tmp.path().join("live/example.com.zone"), LIVE).unwrap();
        let before = live_snapshot(tmp.path());
        let expect = std::fs::read_to_string(tmp.path().join("expect.txt")).unwrap();
        let validate_ok = expect.starts_with("# validate: ok");
        let wanted: Vec<&str> = expect
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        for cmd in [
            &["validate"][..],
            &["plan"],
            &["apply"],
            &["apply", "--force"],
        ] {
            let (code, stderr) = run(tmp.path(), cmd);
            if cmd == ["validate"] && validate_ok {
                if code != 0 {
                    failures.push(format!(
                        "{name}: validate should pass, got {code}: {stderr}"
                    ));
                }
                continue;
            }
            if code != 1 {
                failures.push(format!(
                    "{name}: {cmd:?} exited {code}, expected 1; stderr: {stderr}"
                ));
            }
            for w in &wanted {
                if !stderr.contains(w) {
                    failures.push(format!(
                        "{name}: {cmd:?} stderr lacks {w:?}; stderr was:\n{stderr}"
                    ));
                }
            }
            if stderr.contains("hunter2") {
                failures.push(format!("{name}: a secret value leaked into the error"));
            }
        }
        if live_snapshot(tmp.path()) != before {
            failures.push(format!("{name}: the live zone directory changed"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

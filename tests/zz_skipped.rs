//! Runs last (`cargo test` runs integration tests in name order) and prints, on one line,
//! how many server-backed tests of this run skipped and why: a plain `cargo test` on a
//! machine without PowerDNS, BIND or promtool passes, and says what it did not check.
//! `harness = false` in Cargo.toml, so the line is never captured.

use std::collections::BTreeMap;

fn main() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests");
    let runner = std::os::unix::process::parent_id();
    let prefix = format!("{runner}-");
    let mut why: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(test) = name.strip_prefix(&prefix) else {
            // Another run's record, finished long ago: clean up.
            if entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600)
            {
                let _ = std::fs::remove_file(entry.path());
            }
            continue;
        };
        let reason = std::fs::read_to_string(entry.path()).unwrap_or_default();
        why.entry(reason).or_default().push(test.to_string());
        let _ = std::fs::remove_file(entry.path());
    }
    let n: usize = why.values().map(Vec::len).sum();
    if n == 0 {
        println!("zonekeeper: no server-backed test was skipped");
    } else {
        let reasons: Vec<String> = why
            .iter()
            .map(|(r, tests)| format!("{r} missing: {}", tests.len()))
            .collect();
        println!(
            "zonekeeper: SKIPPED {n} server-backed test(s) ({}); ./scripts/test.sh installs the servers and runs them",
            reasons.join(", ")
        );
    }
}

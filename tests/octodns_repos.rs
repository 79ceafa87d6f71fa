//! Repositories laid out as public octoDNS repositories are (made-up names and addresses,
//! `tests/corpus/octodns-repos/<layout>/`), each with its octoDNS configuration file read
//! by zonekeeper unchanged (`octodns: {config: ...}` in zonekeeper.yaml):
//!
//! - `agency`: YamlProvider `default_ttl: 300`, a second source with a shared file of mail
//!   records (`shared_filename`, its own `default_ttl: 600`) merged into two zones;
//! - `project`: a split zone (`split_extension: .`, one directory of files), an override
//!   source (`populate_should_replace: true`), two targets mapped to two providers;
//! - `community`: the `"*"` zone list, an explicit zone with another target, an `alias` zone.
//!
//! `octodns-out/<target>/<zone>.zone` in each layout is what octoDNS 1.22 wrote for it
//! (octodns-bind's ZoneFileProvider standing in for each target), committed. zonekeeper
//! must write exactly those records to the provider each target maps to, and plan nothing
//! more on a second run. When ZONEKEEPER_OCTODNS_SYNC names `octodns-sync`, a fresh octoDNS
//! run on the same files is compared too.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use zonekeeper::model::{Fqdn, Zone};
use zonekeeper::provider::zonefile::parse_text;

/// octoDNS target -> the directory of the zonekeeper zonefile provider it maps to.
type Targets = &'static [(&'static str, &'static str)];

/// (layout, its octoDNS config file, its targets)
const LAYOUTS: &[(&str, &str, Targets)] = &[
    ("agency", "config/production.yaml", &[("route53", "live")]),
    (
        "project",
        "config/octodns.yaml",
        &[("ns1", "live-primary"), ("cloudflare", "live-secondary")],
    ),
    (
        "community",
        "config/main.yaml",
        &[("desec", "live"), ("hetzner", "live-hetzner")],
    ),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/octodns-repos")
}

fn zonekeeper(repo: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .arg("--config")
        .arg(repo.join("zonekeeper.yaml"))
        .args(args)
        .output()
        .unwrap()
}

/// The layout as octoDNS alone has it: its zonekeeper.yaml moved out of the repository to
/// `operator.yaml` beside it (the operator's file: the providers, with absolute
/// directories, and `octodns:` naming the configuration relative to the repository).
/// `keep_octodns`: whether the operator's file keeps the `octodns:` section.
fn octodns_only(repo: &Path, keep_octodns: bool) -> PathBuf {
    let zk = repo.join("zonekeeper.yaml");
    let mut text = std::fs::read_to_string(&zk)
        .unwrap()
        .replace("directory: ./", &format!("directory: {}/", repo.display()));
    if !keep_octodns {
        text.truncate(text.find("octodns:").unwrap());
    }
    std::fs::remove_file(&zk).unwrap();
    let operator = repo.parent().unwrap().join("operator.yaml");
    std::fs::write(&operator, text).unwrap();
    operator
}

/// A copy of the layout without octoDNS's output.
fn copy(layout: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join(layout);
    support::copy_dir_except(&corpus().join(layout), &repo, &["octodns-out"]);
    (tmp, repo)
}

/// Every `<target>/<zone>.zone` under `out`: (target, zone, records).
fn zone_files(out: &Path) -> Vec<(String, Fqdn, Zone)> {
    let mut found = Vec::new();
    for t in std::fs::read_dir(out).unwrap() {
        let t = t.unwrap();
        for f in std::fs::read_dir(t.path()).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let zone = Fqdn::parse(name.trim_end_matches(".zone")).unwrap();
            let text = std::fs::read_to_string(&f).unwrap();
            let records = parse_text(&text, &zone).unwrap();
            found.push((t.file_name().to_string_lossy().into_owned(), zone, records));
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    found
}

fn assert_same(ours: &Zone, theirs: &Zone, what: &str) {
    for (k, s) in &theirs.rrsets {
        assert_eq!(ours.get(k), Some(s), "{what}: {k} differs");
    }
    for k in ours.rrsets.keys() {
        assert!(theirs.get(k).is_some(), "{what}: {k} is zonekeeper's only");
    }
}

/// zonekeeper applies the layout, writes octoDNS's records to each mapped provider, and a
/// second plan is empty.
fn check_layout(layout: &str, targets: &[(&str, &str)], expected: &[(String, Fqdn, Zone)]) {
    let (_tmp, repo) = copy(layout);
    check_copy(layout, &repo, &[], targets, expected);
}

/// As [`check_layout`], on a copy at `repo`, with `flags` before each command.
fn check_copy(
    layout: &str,
    repo: &Path,
    flags: &[&str],
    targets: &[(&str, &str)],
    expected: &[(String, Fqdn, Zone)],
) {
    let repo = repo.to_path_buf();
    let zonekeeper = |repo: &Path, args: &[&str]| {
        let all: Vec<&str> = flags.iter().chain(args).copied().collect();
        zonekeeper(repo, &all)
    };
    let o = zonekeeper(&repo, &["apply", "--force"]);
    assert!(
        o.status.success(),
        "{layout}: apply failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = zonekeeper(&repo, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{layout}: the second plan is not empty:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut written = 0;
    for (target, dir) in targets {
        let files = std::fs::read_dir(repo.join(dir)).map_or(0, |d| d.count());
        let theirs: Vec<_> = expected.iter().filter(|e| e.0 == *target).collect();
        assert_eq!(files, theirs.len(), "{layout}: zones on {target} ({dir})");
        for (_, zone, records) in theirs {
            let path = repo.join(dir).join(format!("{}.zone", zone.without_dot()));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{layout}: {}: {e}", path.display()));
            let ours = parse_text(&text, zone).unwrap();
            assert_same(&ours, records, &format!("{layout}: {zone} on {target}"));
            written += 1;
        }
    }
    assert_eq!(written, expected.len(), "{layout}: zones octoDNS wrote");
}

#[test]
fn octodns_repositories_give_octodns_records_and_replan_empty() {
    let mut zones = 0;
    for (layout, _, targets) in LAYOUTS {
        let expected = zone_files(&corpus().join(layout).join("octodns-out"));
        assert!(
            expected.len() >= 2,
            "{layout}: the expected output is missing"
        );
        check_layout(layout, targets, &expected);
        zones += expected.len();
    }
    assert_eq!(zones, 8);
}

/// A repository with no file of it changed: no zonekeeper.yaml, the octoDNS
/// configuration named by the operator's file (`octodns:`) or by `--octodns-config`, the
/// octoDNS targets mapped to the operator's providers. The octoDNS file's providers (with
/// their `env/...` credentials) are never used.
#[test]
fn octodns_repositories_without_zonekeeper_yaml_run_under_the_operators_file() {
    for (i, (layout, config, targets)) in LAYOUTS.iter().enumerate() {
        let expected = zone_files(&corpus().join(layout).join("octodns-out"));
        let (_tmp, repo) = copy(layout);
        // The flag on one layout whose targets are the providers' names.
        let flag = *layout == "community";
        let operator = octodns_only(&repo, !flag);
        let op = operator.to_str().unwrap();
        let mut flags = vec!["--operator-config", op];
        if flag {
            flags.extend(["--octodns-config", config]);
        }
        let o = zonekeeper(&repo, &[&flags[..], &["validate"]].concat());
        assert!(
            o.status.success(),
            "{layout}: validate: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        check_copy(layout, &repo, &flags, targets, &expected);
        if i == 0 {
            // A repository that has its own zonekeeper.yaml too is refused: one place says.
            std::fs::write(repo.join("zonekeeper.yaml"), "zones: {}\n").unwrap();
            let o = zonekeeper(&repo, &[&flags[..], &["plan"]].concat());
            let e = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success());
            assert!(
                e.contains("the repository has its own zonekeeper.yaml"),
                "{e}"
            );
        }
    }
    // Without the operator's file there are no providers to map the targets to.
    let (_tmp, repo) = copy("community");
    std::fs::remove_file(repo.join("zonekeeper.yaml")).unwrap();
    let o = zonekeeper(&repo, &["--octodns-config", "config/main.yaml", "plan"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--octodns-config needs --operator-config"),
        "{e}"
    );
}

/// The committed outputs are what a fresh octoDNS writes for the same files.
#[test]
fn octodns_repositories_equal_a_fresh_octodns_run() {
    let Some(sync) = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC") else {
        eprintln!("SKIP: ZONEKEEPER_OCTODNS_SYNC is not set (scripts/test.sh installs octoDNS)");
        support::record_skip(
            "octoDNS (ZONEKEEPER_OCTODNS_SYNC)",
            "octodns_repos::octodns_repositories_equal_a_fresh_octodns_run",
        );
        return;
    };
    for (layout, config, _) in LAYOUTS {
        let (_tmp, repo) = copy(layout);
        // The same configuration with each non-YAML provider replaced by a zone file
        // writer (octodns-bind), written as JSON (which octoDNS's YAML reader reads).
        let text = std::fs::read_to_string(repo.join(config)).unwrap();
        let mut cfg: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        for (name, p) in cfg["providers"].as_object_mut().unwrap() {
            let yaml = p["class"]
                .as_str()
                .is_some_and(|c| c.starts_with("octodns.provider.yaml."));
            if !yaml {
                *p = serde_json::json!({
                    "class": "octodns_bind.ZoneFileProvider",
                    "directory": format!("./octodns-out/{name}"),
                    "file_extension": ".zone",
                });
            }
        }
        std::fs::write(repo.join("octodns-run.json"), cfg.to_string()).unwrap();
        let out = Command::new(&sync)
            .args(["--config-file", "octodns-run.json", "--doit"])
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{layout}: octodns-sync failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fresh = zone_files(&repo.join("octodns-out"));
        let committed = zone_files(&corpus().join(layout).join("octodns-out"));
        assert_eq!(fresh.len(), committed.len(), "{layout}");
        for (f, c) in fresh.iter().zip(&committed) {
            assert_eq!((&f.0, &f.1), (&c.0, &c.1), "{layout}");
            assert_same(&f.2, &c.2, &format!("{layout}: {} on {}", f.1, f.0));
        }
    }
}

/// The daemon follows an octoDNS repository whose zonekeeper.yaml holds only the `octodns:`
/// section, with the providers in the operator's file: it writes octoDNS's records.
#[test]
fn the_daemon_follows_an_octodns_repository_under_the_operators_providers() {
    let (tmp, repo) = copy("project");
    std::fs::write(
        repo.join("zonekeeper.yaml"),
        "octodns:\n  config: config/octodns.yaml\n  targets: {ns1: primary, cloudflare: secondary}\n",
    )
    .unwrap();
    let live = tmp.path().join("live");
    let operator = tmp.path().join("operator.yaml");
    std::fs::write(
        &operator,
        format!(
            "providers:\n  primary: {{type: zonefile, directory: {:?}}}\n  secondary: {{type: zonefile, directory: {:?}}}\n",
            live.join("primary"),
            live.join("secondary")
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .arg("--config")
        .arg(&operator)
        .args(["run", "--dir"])
        .arg(&repo)
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let zone = Fqdn::parse("project.example.").unwrap();
    let expected = zone_files(&corpus().join("project/octodns-out"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut done = false;
    while !done && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
        done = ["primary", "secondary"]
            .iter()
            .all(|t| live.join(t).join("project.example.zone").is_file());
    }
    // (The zonefile provider writes by rename: a file that exists is complete.)
    child.kill().ok();
    child.wait().ok();
    assert!(done, "the daemon wrote no zone files in 30 s");
    for (target, dir) in [("ns1", "primary"), ("cloudflare", "secondary")] {
        let text = std::fs::read_to_string(live.join(dir).join("project.example.zone")).unwrap();
        let theirs = expected.iter().find(|e| e.0 == target).unwrap();
        assert_same(
            &parse_text(&text, &zone).unwrap(),
            &theirs.2,
            &format!("daemon: {target}"),
        );
    }
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

/// The daemon follows a git repository made for octoDNS alone (no zonekeeper.yaml): the
/// operator's file holds the providers and `octodns:`; the octoDNS file's Route 53
/// provider and its `env/...` credentials are never used. It writes octoDNS's records,
/// then a commit that changes a zone file.
#[test]
fn the_daemon_follows_a_git_repository_with_no_zonekeeper_yaml() {
    if support::find_binary("git").is_none() {
        support::missing(
            "git",
            "octodns_repos::the_daemon_follows_a_git_repository_with_no_zonekeeper_yaml",
        );
        return;
    }
    let (tmp, repo) = copy("agency");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let operator = octodns_only(&repo, true);
    // The providers' directory outside the repository.
    let live = tmp.path().join("live");
    let text = std::fs::read_to_string(&operator)
        .unwrap()
        .replace(&format!("{}/live", repo.display()), live.to_str().unwrap());
    std::fs::write(&operator, text).unwrap();
    git(&repo, &home, &["init", "-q", "-b", "main"]);
    git(&repo, &home, &["add", "-A"]);
    git(&repo, &home, &["commit", "-qm", "octoDNS only"]);
    let port = support::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .arg("--config")
        .arg(&operator)
        .args(["run", "--repo", &format!("file://{}", repo.display())])
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--interval", "1s"])
        .env("HOME", &home)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(tmp.path().join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let zone = Fqdn::parse("agency.example.").unwrap();
    let path = live.join("agency.example.zone");
    let wait = |what: &str, f: &dyn Fn(&str) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if std::fs::read_to_string(&path).is_ok_and(|t| f(&t)) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        eprintln!("{what}: not in 30 s");
        false
    };
    let first = wait("the first revision", &|_| true);
    let mut changed = false;
    if first {
        let expected = zone_files(&corpus().join("agency/octodns-out"));
        let text = std::fs::read_to_string(&path).unwrap();
        let theirs = expected.iter().find(|e| e.1 == zone).unwrap();
        assert_same(&parse_text(&text, &zone).unwrap(), &theirs.2, "daemon");
        let f = repo.join("zones/agency.example.yaml");
        let zone_text = std::fs::read_to_string(&f).unwrap();
        std::fs::write(
            &f,
            format!("{zone_text}zz-new:\n  type: A\n  value: 192.0.2.77\n"),
        )
        .unwrap();
        git(&repo, &home, &["commit", "-qam", "a record"]);
        changed = wait("the second revision", &|t| t.contains("192.0.2.77"));
    }
    child.kill().ok();
    child.wait().ok();
    let log = std::fs::read_to_string(tmp.path().join("daemon.log")).unwrap_or_default();
    assert!(first && changed, "daemon log:\n{log}");
    assert!(!log.contains("AWS_"), "{log}");
    let ours = parse_text(&std::fs::read_to_string(&path).unwrap(), &zone).unwrap();
    let key = zonekeeper::model::RrKey::new(
        Fqdn::parse("zz-new.agency.example.").unwrap(),
        zonekeeper::model::RecordType::A,
    );
    assert_eq!(ours.get(&key).unwrap().ttl, 300, "the source's default_ttl");
}

//! The command line as a new user meets it, on a copy of `manifests-example/`: the README's
//! tour, validate, plan, apply, plan again (empty), zone files BIND accepts, import round
//! trip, plan-hash pinning, safety thresholds, and the three plan formats.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Copies manifests-example (without its `live/` output).
fn copy_dir(from: &Path, to: &Path) {
    support::copy_dir_except(from, to, &["live"]);
}

struct Example {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Example {
    fn new() -> Example {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-example"),
            &dir,
        );
        Example { _tmp: tmp, dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .arg("--config")
            .arg(self.dir.join("zonekeeper.yaml"))
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed ({:?}):\n{}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs a command that must end by itself within 20 s (a daemon that starts instead is
    /// killed): its exit code and stderr.
    fn run_briefly(&self, args: &[&str]) -> (Option<i32>, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .arg("--config")
            .arg(self.dir.join("zonekeeper.yaml"))
            .args(args)
            .current_dir(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > std::time::Duration::from_secs(20) {
                child.kill().unwrap();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let o = child.wait_with_output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn code(&self, args: &[&str]) -> i32 {
        self.run(args).status.code().unwrap_or(-1)
    }

    fn live(&self, zone: &str) -> PathBuf {
        self.dir.join("live").join(format!("{zone}.zone"))
    }
}

/// `named-checkzone` is required where the test script installed it.
fn named_checkzone() -> Option<&'static str> {
    let found = Command::new("named-checkzone").arg("-v").output().is_ok();
    if !found {
        support::missing(
            "named-checkzone (bind9-utils)",
            "cli::validate_plan_apply_converges_and_bind_loads_the_files",
        );
        return None;
    }
    Some("named-checkzone")
}

#[test]
fn validate_plan_apply_converges_and_bind_loads_the_files() {
    let ex = Example::new();
    assert!(ex.ok(&["validate"]).starts_with("ok: 3 zone(s)"));
    assert_eq!(ex.code(&["plan", "--detailed-exitcode"]), 2);
    let out = ex.ok(&["apply"]);
    assert!(out.contains("verified in sync"), "{out}");
    assert_eq!(
        ex.code(&["plan", "--detailed-exitcode"]),
        0,
        "apply then plan must be empty"
    );
    // Applying again changes nothing, not even the SOA serial.
    let before = std::fs::read(ex.live("example.com")).unwrap();
    ex.ok(&["apply"]);
    assert_eq!(std::fs::read(ex.live("example.com")).unwrap(), before);

    if let Some(bin) = named_checkzone() {
        for zone in ["example.com", "example.org", "2.0.192.in-addr.arpa"] {
            let o = Command::new(bin)
                .arg(zone)
                .arg(ex.live(zone))
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "named-checkzone refused {zone}:\n{}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
}

#[test]
fn import_then_plan_shows_no_changes() {
    let ex = Example::new();
    ex.ok(&["apply"]);
    for zone in ["example.com", "example.org", "2.0.192.in-addr.arpa"] {
        let yaml = ex.ok(&["import", "--provider", "local", "--zone", zone]);
        // example.org carries an ignored record and an excluded one; import writes only
        // what is live, which must plan to nothing as well.
        std::fs::write(ex.dir.join("zones").join(format!("{zone}.yaml")), yaml).unwrap();
    }
    let plan = ex.ok(&["plan"]);
    assert!(
        plan.starts_with(
            "zone 2.0.192.in-addr.arpa. -> local (sync): 0 create, 0 update, 0 delete"
        ),
        "{plan}"
    );
    assert_eq!(ex.code(&["plan", "--detailed-exitcode"]), 0, "{plan}");
    // Refuses to overwrite without --force.
    let o = ex.run(&[
        "import",
        "-p",
        "local",
        "-z",
        "example.com",
        "-o",
        ex.dir.join("zones/example.com.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

/// The daemon's revision record (`_zonekeeper.<zone>` TXT) is the daemon's alone: `plan`
/// and `apply` neither delete nor write it (also with `revision_record: true`), and
/// `import` leaves it out.
#[test]
fn the_revision_record_is_left_alone_by_plan_apply_and_import() {
    let ex = Example::new();
    let config = ex.dir.join("zonekeeper.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("defaults:\n", "defaults:\n  revision_record: true\n"),
    )
    .unwrap();
    ex.ok(&["apply"]);
    let record = "_zonekeeper 300 IN TXT \"zonekeeper revision=0123abcd time=1700000000\"\n";
    let mut live = std::fs::read_to_string(ex.live("example.com")).unwrap();
    live.push_str(record);
    std::fs::write(ex.live("example.com"), &live).unwrap();
    assert_eq!(ex.code(&["plan", "--detailed-exitcode"]), 0);
    // A change elsewhere in the zone: applied, the record kept as it was.
    let zone = ex.dir.join("zones/example.com.yaml");
    let mut z = std::fs::read_to_string(&zone).unwrap();
    z.push_str("added:\n  type: A\n  value: 192.0.2.200\n");
    std::fs::write(&zone, z).unwrap();
    ex.ok(&["apply"]);
    let after = std::fs::read_to_string(ex.live("example.com")).unwrap();
    assert!(after.contains("192.0.2.200"), "{after}");
    assert!(
        after.contains("revision=0123abcd time=1700000000"),
        "{after}"
    );
    assert!(!after.contains("revision=local"), "{after}");
    let yaml = ex.ok(&["import", "--provider", "local", "--zone", "example.com"]);
    assert!(!yaml.contains("_zonekeeper"), "{yaml}");
}

#[test]
fn apply_refuses_a_plan_whose_hash_changed() {
    let ex = Example::new();
    let json: serde_json::Value =
        serde_json::from_str(&ex.ok(&["plan", "--format", "json"])).unwrap();
    let hash = json["hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);
    // Someone edits a zone after review: the reviewed hash no longer matches.
    let f = ex.dir.join("zones/example.org.yaml");
    let text = std::fs::read_to_string(&f)
        .unwrap()
        .replace("198.51.100.10", "198.51.100.11");
    std::fs::write(&f, text).unwrap();
    let o = ex.run(&["apply", "--plan-hash", &hash]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the plan changed since it was reviewed"));
    assert!(!ex.dir.join("live").exists(), "nothing may be written");
    // The current hash applies.
    let json: serde_json::Value =
        serde_json::from_str(&ex.ok(&["plan", "--format", "json"])).unwrap();
    ex.ok(&["apply", "--plan-hash", json["hash"].as_str().unwrap()]);
}

#[test]
fn plan_hash_prefixes_incomplete_hashes_and_plans_already_applied() {
    let ex = Example::new();
    let json: serde_json::Value =
        serde_json::from_str(&ex.ok(&["plan", "--format", "json"])).unwrap();
    let hash = json["hash"].as_str().unwrap().to_string();
    // Shortened as a reviewer copies it: too short is "incomplete", not "the plan changed".
    for short in [&hash[..4], &hash[..11]] {
        let o = ex.run(&["apply", "--plan-hash", short]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("the hash is incomplete: give at least 12 hex digits"),
            "{err}"
        );
        assert!(!err.contains("the plan changed"), "{err}");
    }
    assert!(!ex.dir.join("live").exists(), "nothing may be written");
    // 12 digits (upper case too) are enough.
    let out = ex.ok(&["apply", "--plan-hash", &hash[..12].to_ascii_uppercase()]);
    assert!(out.contains("verified in sync"), "{out}");
    // Running the same apply again: the plan is empty now.
    let o = ex.run(&["apply", "--plan-hash", &hash[..12]]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("nothing to apply: the plan is empty now; was it already applied?"),
        "{err}"
    );
    let o = ex.run(&["apply", "--plan-hash", "zzzzzzzzzzzzzzzz"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a plan hash"));
}

#[test]
fn usage_errors_exit_1_never_2_and_help_exits_0() {
    let ex = Example::new();
    // 2 means "changes present" to `plan --detailed-exitcode`: a typo must not read so.
    for args in [
        &["plan", "--detailed-exitcode", "--formt", "json"][..],
        &["plan", "--format", "yaml"],
        &["aply"],
        &[],
    ] {
        let o = ex.run(args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!o.stderr.is_empty(), "{args:?} says nothing");
    }
    for args in [&["--help"][..], &["--version"], &["plan", "--help"]] {
        let o = ex.run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(!o.stdout.is_empty());
    }
    assert!(ex.ok(&["--help"]).contains("Exit codes"));
}

#[test]
fn run_refuses_intervals_under_their_minimum() {
    let ex = Example::new();
    let dir = ex.dir.to_str().unwrap().to_string();
    for (flag, value, msg) in [
        (
            "--interval",
            "0s",
            "--interval (controller.interval) is 0s; it must be at least 1s",
        ),
        (
            "--resync-interval",
            "0s",
            "--resync-interval (controller.resync_interval) is 0s; it must be at least 10s",
        ),
    ] {
        let (code, err) =
            ex.run_briefly(&["run", "--dir", &dir, "--listen", "127.0.0.1:0", flag, value]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains(msg), "{err}");
    }
}

#[test]
fn a_second_run_on_the_same_state_directory_is_refused() {
    let ex = Example::new();
    let dir = ex.dir.to_str().unwrap().to_string();
    let state = ex.dir.join("state");
    let state_arg = state.to_str().unwrap().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut first = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args([
            "run",
            "--dir",
            &dir,
            "--state-dir",
            &state_arg,
            "--listen",
            &listen,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the first run did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Another listen address, so only the lock can stop it.
    let (code, err) = ex.run_briefly(&[
        "run",
        "--dir",
        &dir,
        "--state-dir",
        &state_arg,
        "--listen",
        "127.0.0.1:0",
    ]);
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "another zonekeeper run uses the state directory {}",
            state.display()
        )) && err.contains(&format!("(pid {})", first.id())),
        "{err}"
    );
    // Once the first is gone (even killed), the directory is free again.
    zonekeeper::controller::lock::StateLock::acquire(&state).unwrap();
}

#[test]
fn unsafe_plans_need_force_and_root_ns_changes_too() {
    let ex = Example::new();
    ex.ok(&["apply"]);
    let before = std::fs::read(ex.live("example.com")).unwrap();
    // Delete most of example.com: far over the 30% delete threshold.
    std::fs::write(
        ex.dir.join("zones/example.com.yaml"),
        "'':\n  type: NS\n  values: [ns1.example.net., ns2.example.net.]\nwww:\n  type: A\n  value: 192.0.2.1\n",
    )
    .unwrap();
    let o = ex.run(&["apply"]);
    // 3: a target waits for a human; the unsafe target is named with its reasons.
    assert_eq!(o.status.code(), Some(3));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("example.com. on ") && out.contains("is unsafe"),
        "{out}"
    );
    assert!(out.contains("too many deletes"), "{out}");
    assert_eq!(
        std::fs::read(ex.live("example.com")).unwrap(),
        before,
        "refused plans write nothing"
    );
    let plan = ex.ok(&["plan", "--zone", "example.com"]);
    assert!(plan.contains("UNSAFE"), "{plan}");
    ex.ok(&["apply", "--force"]);
    assert_eq!(ex.code(&["plan", "--detailed-exitcode"]), 0);

    // Changing the apex NS of an existing zone is refused too.
    let f = ex.dir.join("zones/2.0.192.in-addr.arpa.yaml");
    let text = std::fs::read_to_string(&f)
        .unwrap()
        .replace("ns2.example.net.", "ns3.example.net.");
    std::fs::write(&f, text).unwrap();
    let o = ex.run(&["apply"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stdout).contains("apex NS"));
}

#[test]
fn plan_formats() {
    let ex = Example::new();
    let text = ex.ok(&["plan"]);
    assert!(
        text.contains("+ www.example.com. 3600 IN CNAME example.com."),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );

    let md = ex.ok(&["plan", "--format", "markdown"]);
    assert!(
        md.starts_with("<!-- zonekeeper-plan -->"),
        "sticky-comment marker first: {md}"
    );
    assert!(
        md.contains("| `example.com.` | `local` | sync | 25 | 0 | 0 |"),
        "{md}"
    );
    assert!(md.contains("<details>") && md.contains("```diff"));
    assert!(md.contains("Plan hash: `"));
    let small = ex.ok(&["plan", "--format", "markdown", "--max-bytes", "1500"]);
    assert!(small.len() <= 1500, "{}", small.len());
    assert!(small.contains("too long for one comment"));

    let json: serde_json::Value =
        serde_json::from_str(&ex.ok(&["plan", "--format", "json"])).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["change_count"], 35);
    let z = &json["zones"][1];
    assert_eq!(z["zone"], "example.com.");
    assert_eq!(z["counts"]["create"], 25);
    let www = z["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "www.example.com.")
        .unwrap();
    assert_eq!(www["op"], "create");
    assert_eq!(www["type"], "CNAME");
    assert_eq!(www["new"]["values"][0], "example.com.");
    assert!(www["old"].is_null());
}

#[test]
fn schemas_are_json() {
    let ex = Example::new();
    for which in ["config", "zone", "domain"] {
        let v: serde_json::Value = serde_json::from_str(&ex.ok(&["schema", which])).unwrap();
        assert!(v.is_object());
    }
    let cfg: serde_json::Value = serde_json::from_str(&ex.ok(&["schema", "config"])).unwrap();
    assert!(cfg.to_string().contains("targets"));
}

#[test]
fn records_excluded_from_a_target_are_neither_created_nor_deleted_there() {
    let ex = Example::new();
    // Add a second target, `staging`, which example.org's `blog` record excludes, and give
    // staging a hand-made `blog` record of its own.
    let cfg = std::fs::read_to_string(ex.dir.join("zonekeeper.yaml"))
        .unwrap()
        .replace(
            "  local:\n",
            "  staging:\n    type: zonefile\n    directory: ./staging\n  local:\n",
        )
        .replace(
            "  example.org:\n    targets: [local]",
            "  example.org:\n    targets: [local, staging]",
        );
    std::fs::write(ex.dir.join("zonekeeper.yaml"), cfg).unwrap();
    std::fs::create_dir_all(ex.dir.join("staging")).unwrap();
    std::fs::write(
        ex.dir.join("staging/example.org.zone"),
        "$ORIGIN example.org.\n@ 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 3600 600 604800 3600\n@ 3600 IN NS ns1.example.net.\n@ 3600 IN NS ns2.example.net.\nblog 300 IN A 203.0.113.5\n",
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ex.ok(&["plan", "--format", "json", "--zone", "example.org"]))
            .unwrap();
    let staging = json["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["target"] == "staging")
        .unwrap();
    let touched: Vec<&serde_json::Value> = staging["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "blog.example.org.")
        .collect();
    assert!(
        touched.is_empty(),
        "blog must be left alone on staging: {touched:?}"
    );
    let local = json["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["target"] == "local")
        .unwrap();
    assert!(local["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "blog.example.org."));
    ex.ok(&["apply"]);
    let staged = std::fs::read_to_string(ex.dir.join("staging/example.org.zone")).unwrap();
    assert!(staged.contains("blog 300 IN A 203.0.113.5"), "{staged}");
}

#[test]
fn domain_manifests_are_validated_and_planned() {
    let ex = Example::new();
    let out = ex.ok(&["validate"]);
    assert!(out.trim_end().ends_with(", 2 domain(s)"), "{out}");

    // The example registrar holds the domains as the manifests say, except privacy,
    // which it cannot change: reported, not a change.
    let text = ex.ok(&["plan"]);
    assert!(
        text.contains("domain example.com. -> registry: 0 change(s) [in sync]"),
        "{text}"
    );
    assert!(
        text.contains("  unsupported privacy: registrar \"registry\" cannot change privacy (is false, the manifest wants true)"),
        "{text}"
    );
    let md = ex.ok(&["plan", "--format", "markdown"]);
    assert!(
        md.contains("| `example.org.` | `registry` | 0 | 1 | 1 field(s) unsupported |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ex.ok(&["plan", "--format", "json"])).unwrap();
    assert_eq!(json["domains"][1]["unsupported"][0]["field"], "privacy");
    // `--zone` plans that zone only.
    let json: serde_json::Value =
        serde_json::from_str(&ex.ok(&["plan", "--format", "json", "--zone", "example.org"]))
            .unwrap();
    assert_eq!(json["domains"], serde_json::json!([]));

    // A change is a change: in the plan, its hash and the detailed exit code.
    let before = ex.ok(&["plan", "--format", "json"]);
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    let f = ex.dir.join("domains/example.com.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replace("lock: true", "lock: false")).unwrap();
    let plan = ex.ok(&["plan"]);
    assert!(
        plan.contains(
            "domain example.com. -> registry: 1 change(s) [ready]\n- lock: true\n+ lock: false\n"
        ),
        "{plan}"
    );
    let after: serde_json::Value =
        serde_json::from_str(&ex.ok(&["plan", "--format", "json"])).unwrap();
    assert_ne!(before["hash"], after["hash"]);
    assert_eq!(after["change_count"], 36);

    // Moving every nameserver is unsafe.
    std::fs::write(
        &f,
        "nameservers: [ns1.elsewhere.example., ns2.elsewhere.example.]\n",
    )
    .unwrap();
    assert!(ex
        .ok(&["plan"])
        .contains("[UNSAFE (needs --force): every current nameserver is replaced"));

    // Problems in domain manifests are reported with file and line, with zone problems.
    std::fs::write(
        &f,
        "nameservers: [ns1.example.net., localhost]\nlocked: true\n",
    )
    .unwrap();
    std::fs::write(
        ex.dir.join("domains/example.org.yaml"),
        "registrar: local\n",
    )
    .unwrap();
    let o = ex.run(&["validate"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("domains/example.com.yaml:2:1: ") && err.contains("unknown field `locked`"),
        "{err}"
    );
    assert!(
        err.contains(
            "domains/example.org.yaml:1:12: registrar: provider \"local\" is not a registrar"
        ),
        "{err}"
    );
}

#[test]
fn provider_settings_for_a_target_that_stores_none_are_noted_and_plan_empty() {
    let ex = Example::new();
    let path = ex.dir.join("zones/example.com.yaml");
    let mut yaml = std::fs::read_to_string(&path).unwrap();
    yaml.push_str(
        "settings-test:\n  type: A\n  value: 192.0.2.77\n  octodns:\n    zonefile: {proxied: true}\n    cloudflare: {proxied: true}\n",
    );
    std::fs::write(&path, &yaml).unwrap();
    let plan = ex.ok(&["plan", "--zone", "example.com"]);
    assert!(
        plan.contains(
            "adjusted settings-test.example.com. A: zonefile stores no per-record settings: octodns.zonefile ignored"
        ),
        "{plan}"
    );
    // The block is not shown as a setting of the record: the target does not store it.
    assert!(!plan.contains("proxied=true"), "{plan}");
    // A block for a provider type zonekeeper does not have (here: Cloudflare, not yet
    // built) is a warning, not an error: octoDNS ignores it too.
    let o = ex.run(&["validate"]);
    assert!(o.status.success(), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("zonekeeper has no provider type \"cloudflare\"")
            && err.contains("first: settings-test.example.com. A"),
        "{err}"
    );
    ex.ok(&["apply"]);
    assert_eq!(ex.code(&["plan", "--detailed-exitcode"]), 0);

    // A provider block that is not a mapping is refused with its line.
    std::fs::write(
        &path,
        yaml.replace("    zonefile: {proxied: true}\n", "    zonefile: yes\n"),
    )
    .unwrap();
    let o = ex.run(&["validate"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    let line = yaml
        .lines()
        .position(|l| l.starts_with("    zonefile:"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("example.com.yaml:{line}:"))
            && err.contains("octodns.zonefile must be a mapping"),
        "{err}"
    );
}

#[test]
fn domain_changes_are_applied_journaled_and_verified_like_zones() {
    let ex = Example::new();
    let journal = ex.dir.join("journal.jsonl");
    let journal_arg = journal.to_string_lossy().into_owned();
    let f = ex.dir.join("domains/example.com.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replace("lock: true", "lock: false")).unwrap();
    let out = ex.ok(&["apply", "--journal", &journal_arg]);
    assert!(
        out.contains("applied 1 change(s) to domain example.com. at registry; verified in sync"),
        "{out}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["type"] == "lock")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["zone"], "example.com.");
    assert_eq!(lines[0]["target"], "registry");
    assert_eq!(lines[0]["before"], "true");
    assert_eq!(lines[0]["after"], "false");
    assert_eq!(lines[0]["outcome"], "ok");

    // Moving every nameserver waits for --force (exit 3), and is applied with it.
    std::fs::write(
        &f,
        "nameservers: [ns1.elsewhere.example., ns2.elsewhere.example.]\n",
    )
    .unwrap();
    let o = ex.run(&["apply", "--journal", &journal_arg]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("not applied: domain example.com. at registry is unsafe"));
    let out = ex.ok(&["apply", "--force", "--journal", &journal_arg]);
    assert!(
        out.contains("applied 1 change(s) to domain example.com."),
        "{out}"
    );
}

#[test]
fn a_domain_the_registrar_cannot_read_does_not_stop_the_zones() {
    let ex = Example::new();
    // The example registrar does not hold example.net: reading it fails (not found).
    std::fs::write(ex.dir.join("domains/example.net.yaml"), "lock: true\n").unwrap();
    let o = ex.run(&["plan"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let o = ex.run(&["apply"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("FAILED: domains:"), "{out}");
    // ... but every zone was applied and verified.
    assert!(out.contains("verified in sync"), "{out}");
    assert!(ex.live("example.com").exists());
}

/// The README's first command and its "A tour" block, run in order on a fresh copy of
/// `manifests-example/` as a new user would, so the README cannot drift from the tool. The
/// commands are read from README.md; each must exit 0 and print its key phrase.
#[test]
fn the_readme_tour_works_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let block = |from: &str| -> Vec<String> {
        let rest = &readme[readme.find(from).expect("README section")..];
        let rest = &rest[rest.find("```sh\n").expect("sh block") + 6..];
        rest[..rest.find("```").expect("block end")]
            .lines()
            .map(|l| l.split(" #").next().unwrap_or("").trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let first = block("# zonekeeper\n")[0].clone();
    assert_eq!(
        first, "cargo run --release -- run --dir manifests-example",
        "the README's first command changed; update this test"
    );
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-example"),
        &tmp.path().join("manifests-example"),
    );

    // The first command is the daemon: run it until every zone is in sync, then stop it.
    let port = support::free_port();
    let log = tmp.path().join("run.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .current_dir(tmp.path())
        .args(["run", "--dir", "manifests-example"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env_remove("ZONEKEEPER_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let mut synced = 0;
    while start.elapsed() < std::time::Duration::from_secs(60) && synced < 3 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        synced = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("zone in sync")
            .count();
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        synced,
        3,
        "run --dir did not bring the 3 zones in sync:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let mut cwd = tmp.path().to_path_buf();
    let tour = block("## A tour");
    assert!(tour.len() >= 9, "{tour:?}");
    for line in &tour {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words[0] == "cd" {
            cwd = cwd.join(words[1]);
            continue;
        }
        assert_eq!(words[0], "zonekeeper", "{line}");
        let mut args: Vec<&str> = words[1..].to_vec();
        // The key phrase each command's output must hold.
        let phrase = match args.as_slice() {
            ["validate"] => "ok: 3 zone(s)",
            ["plan"] => "zone example.com. -> local (sync): 0 create, 0 update, 0 delete [in sync]",
            ["plan", "--format", "markdown"] => "### zonekeeper plan",
            ["plan", "--format", "json"] => "\"change_count\": 0",
            ["apply", "--plan-hash", _] => "in sync: example.com. on local",
            ["import", ..] => "",
            ["schema", "config"] => "\"$defs\"",
            ["bench"] => {
                // The sizes only: the full default takes minutes.
                args.extend(["--sizes", "100"]);
                "| 102 |"
            }
            _ => panic!("a tour command this test does not know: {line}; add its key phrase"),
        };
        let o = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .current_dir(&cwd)
            .args(&args)
            .env_remove("ZONEKEEPER_CONFIG")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && out.contains(phrase),
            "{line} ({:?}) did not print {phrase:?}:\n{out}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        if args[0] == "import" {
            let out = args[args.iter().position(|a| *a == "-o").unwrap() + 1];
            let yaml = std::fs::read_to_string(cwd.join(out)).unwrap();
            assert!(yaml.contains("type: MX"), "{yaml}");
        }
    }
}

#[test]
fn a_tsig_secret_that_is_not_base64_is_refused_at_start_naming_the_provider() {
    let e = Example::new();
    // A listener that would see any request: nothing may reach it.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let port = trap.local_addr().unwrap().port();
    std::fs::write(e.dir.join("tsig.secret"), "not base64 at all!\n").unwrap();
    std::fs::write(
        e.dir.join("zonekeeper.yaml"),
        format!(
            "providers:\n  bind:\n    type: rfc2136\n    server: 127.0.0.1:{port}\n    tsig:\n      name: zonekeeper\n      secret: file:tsig.secret\nzones:\n  example.com:\n    targets: [bind]\n"
        ),
    )
    .unwrap();
    for cmd in ["plan", "apply"] {
        let out = e.run(&[cmd]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {stderr}");
        assert!(stderr.contains("provider \"bind\""), "{cmd}: {stderr}");
        assert!(
            stderr.contains("secret file:") && stderr.contains("is not valid base64"),
            "{cmd}: {stderr}"
        );
        assert!(
            !stderr.contains("not base64 at all"),
            "secret quoted: {stderr}"
        );
    }
    assert!(
        trap.accept().is_err(),
        "a request was sent with an unusable key"
    );
}

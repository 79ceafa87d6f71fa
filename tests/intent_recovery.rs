//! A write interrupted by kill -9 is concluded after the restart (issue 10): a real PowerDNS
//! behind a counting loopback proxy, a `zonekeeper apply` of 3,000 changes (updates,
//! deletes, creates) split into hundreds of PATCHes by a small `max_body_bytes`, killed
//! with SIGKILL after its first PATCHes.
//!
//! - After the kill the journal holds the run's intent lines (one batch, one line per
//!   change) and no outcome for them, while PowerDNS holds some of the changes: the audit
//!   trail already names every write that may have happened.
//! - The next `zonekeeper apply` (first test) or daemon start (second test) concludes every
//!   one of those intents exactly once before writing: `recovered-applied` exactly for the
//!   changes PowerDNS held after the kill, `recovered-not-applied` exactly for the others.
//!   Every intent line of the journal then has exactly one conclusion, and the zone
//!   converges.
//!
//! The journal is read as plain JSON here, as an auditor's tool would. Skips (printed)
//! without PowerDNS, unless ZONEKEEPER_REQUIRE_SERVERS=1.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::faultproxy::{FaultProxy, Faults};
use support::pdns::Pdns;
use support::{free_port, http};
use zonekeeper::model::Fqdn;
use zonekeeper::provider::Provider;

const SEED_HOSTS: usize = 300;
const UPDATED: usize = 200; // hosts 0..200 change value; 200..300 are deleted
const HOSTS: usize = 3000; // hosts 300..3000 are created
/// Creates, updates and deletes of the big apply.
const CHANGES: usize = (HOSTS - SEED_HOSTS) + UPDATED + (SEED_HOSTS - UPDATED);

/// A proxy that only counts (no faults).
const NO_FAULTS: Faults = Faults::NONE;

/// The binary under test: `ZONEKEEPER_TEST_BIN` when set (a copy that a concurrent build
/// in a shared target directory cannot replace mid-test), else cargo's.
fn zonekeeper_bin() -> PathBuf {
    std::env::var_os("ZONEKEEPER_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_zonekeeper")))
}

fn zone() -> Fqdn {
    Fqdn::parse("kill.test.").expect("zone name")
}

fn seed_yaml() -> String {
    let mut y = String::from(
        "'':\n  type: NS\n  values: [ns1.kill.test.]\nns1:\n  type: A\n  value: 192.0.2.53\n",
    );
    for i in 0..SEED_HOSTS {
        y.push_str(&format!(
            "h{i:04}:\n  ttl: 300\n  type: A\n  value: 192.0.2.1\n"
        ));
    }
    y
}

fn big_yaml() -> String {
    let mut y = String::from(
        "'':\n  type: NS\n  values: [ns1.kill.test.]\nns1:\n  type: A\n  value: 192.0.2.53\n",
    );
    for i in (0..UPDATED).chain(SEED_HOSTS..HOSTS) {
        y.push_str(&format!(
            "h{i:04}:\n  ttl: 300\n  type: A\n  value: 198.51.100.{}\n",
            i % 250
        ));
    }
    y
}

struct Repo {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    config: PathBuf,
    journal: PathBuf,
}

impl Repo {
    /// A repository whose one provider is PowerDNS behind `url`, with PATCH bodies capped
    /// at 1 KiB so 3,000 changes take hundreds of requests.
    fn new(pdns: &Pdns, url: &str) -> Repo {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("repo");
        std::fs::create_dir_all(dir.join("zones")).expect("zones dir");
        let key = tmp.path().join("api-key");
        std::fs::write(&key, &pdns.api_key).expect("key file");
        let journal = tmp.path().join("state/journal.jsonl");
        let config = dir.join("zonekeeper.yaml");
        std::fs::write(
            &config,
            format!(
                "providers:\n  pdns:\n    type: powerdns\n    url: {url}\n    api_key: file:{}\n    create_zones: true\n    max_body_bytes: 1024\n\
                 zones:\n  kill.test.:\n    targets: [pdns]\n    thresholds: {{update_pct: 100, delete_pct: 100}}\n",
                key.display()
            ),
        )
        .expect("config");
        Repo {
            tmp,
            dir,
            config,
            journal,
        }
    }

    fn write_zone(&self, yaml: &str) {
        std::fs::write(self.dir.join("zones/kill.test.yaml"), yaml).expect("zone file");
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(zonekeeper_bin());
        c.arg("--config").arg(&self.config).args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run zonekeeper")
    }

    fn apply_args(&self) -> Vec<String> {
        vec![
            "apply".into(),
            "--force".into(),
            "--journal".into(),
            self.journal.display().to_string(),
        ]
    }

    fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.journal)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every journal line is JSON"))
            .collect()
    }
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout (tail):\n{}\nstderr:\n{}",
        o.status.code(),
        tail(&String::from_utf8_lossy(&o.stdout)),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tail(s: &str) -> String {
    let l: Vec<&str> = s.lines().collect();
    l[l.len().saturating_sub(15)..].join("\n")
}

fn upstream(pdns: &Pdns) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], pdns.api_port))
}

/// A journal line's change: (batch, zone, target, name, type).
type Key = (String, String, String, String, String);

fn key(l: &Value) -> Key {
    let s = |f: &str| l[f].as_str().unwrap_or_default().to_string();
    (s("batch"), s("zone"), s("target"), s("name"), s("type"))
}

/// (name, type) -> `{ttl, values}` as the journal writes RRsets, read from PowerDNS
/// directly (not through the proxy).
fn live(pdns: &Pdns) -> BTreeMap<(String, String), Value> {
    let direct = pdns.provider("direct", pdns.settings(false));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let observed = rt
        .block_on(direct.read_zone(&zone()))
        .expect("read PowerDNS directly");
    observed
        .zone
        .rrsets
        .iter()
        .map(|(k, s)| {
            (
                (k.name.to_string(), k.rtype.to_string()),
                json!({"ttl": s.ttl, "values": s.values().iter().map(ToString::to_string).collect::<Vec<_>>()}),
            )
        })
        .collect()
}

/// Seeds the zone, then starts the 3,000-change apply and kills it with SIGKILL once 20 of
/// its PATCHes went through. Returns the killed run's intent lines and PowerDNS's content
/// right after the kill.
fn killed_apply(
    pdns: &Pdns,
    proxy: &FaultProxy,
    repo: &Repo,
) -> (Vec<Value>, BTreeMap<(String, String), Value>) {
    repo.write_zone(&seed_yaml());
    let args = repo.apply_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let seed = repo.run(&args);
    assert!(seed.status.success(), "seed apply:\n{}", show(&seed));
    let seeded = repo.lines().len();

    repo.write_zone(&big_yaml());
    let before = proxy.counts().writes;
    let mut child = repo
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start zonekeeper apply");
    let started = Instant::now();
    loop {
        if proxy.counts().writes >= before + 20 {
            break;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("the apply ended ({status}) before it could be killed");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no PATCH went through in 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL the apply");
    child.wait().expect("reap the apply");
    let patches = proxy.counts().writes - before;
    // The PATCH in flight at the kill still reaches PowerDNS through the proxy: wait until
    // the zone stops changing.
    let mut after_kill = live(pdns);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let again = live(pdns);
        if again == after_kill {
            break;
        }
        after_kill = again;
    }

    let lines = repo.lines();
    let new = &lines[seeded..];
    let intents: Vec<Value> = new
        .iter()
        .filter(|l| l["outcome"] == "intent")
        .cloned()
        .collect();
    assert_eq!(
        intents.len(),
        CHANGES,
        "the killed run journaled one intent per change before its write call ({} new line(s), {patches} PATCHes sent)",
        new.len()
    );
    let batches: BTreeSet<&str> = intents.iter().filter_map(|l| l["batch"].as_str()).collect();
    assert_eq!(
        batches.len(),
        1,
        "one write call, one batch id: {batches:?}"
    );
    assert!(
        new.iter().all(|l| l["outcome"] == "intent"),
        "the killed run journaled no outcome"
    );
    assert!(
        intents
            .iter()
            .all(|l| l["commit"] == "local" && l["target"] == "pdns"),
        "{:?}",
        intents[0]
    );
    // The kill really came mid-write: PowerDNS holds some of the changes, not all.
    let applied = intents
        .iter()
        .filter(|l| held_at_kill(l, &after_kill) == Some(true))
        .count();
    assert!(
        applied > 0 && applied < CHANGES,
        "{applied} of {CHANGES} applied at the kill ({patches} PATCHes sent)"
    );
    println!("killed after {patches} PATCHes: {applied} of {CHANGES} changes were on PowerDNS");
    (intents, after_kill)
}

fn name_type(l: &Value) -> (String, String) {
    (
        l["name"].as_str().unwrap_or_default().to_string(),
        l["type"].as_str().unwrap_or_default().to_string(),
    )
}

/// What the server held at the kill, per change: `Some(true)` its after, `Some(false)` its
/// before, `None` neither.
fn held_at_kill(l: &Value, at_kill: &BTreeMap<(String, String), Value>) -> Option<bool> {
    let now = at_kill.get(&name_type(l)).cloned().unwrap_or(Value::Null);
    if now == l["after"] {
        Some(true)
    } else if now == l["before"] {
        Some(false)
    } else {
        None
    }
}

/// Every intent line of the journal has exactly one conclusion, and the killed run's
/// intents are concluded as what PowerDNS held right after the kill.
fn check_conclusions(repo: &Repo, killed: &[Value], at_kill: &BTreeMap<(String, String), Value>) {
    let lines = repo.lines();
    let mut conclusions: BTreeMap<Key, Vec<&Value>> = BTreeMap::new();
    for l in lines
        .iter()
        .filter(|l| l["batch"].is_string() && l["outcome"] != "intent")
    {
        conclusions.entry(key(l)).or_default().push(l);
    }
    let intents: Vec<&Value> = lines.iter().filter(|l| l["outcome"] == "intent").collect();
    assert!(
        intents.len() > CHANGES,
        "the recovering run wrote its own intents too"
    );
    for i in &intents {
        let c = conclusions.get(&key(i)).map(Vec::len).unwrap_or(0);
        assert_eq!(c, 1, "intent {i} has {c} conclusion(s)");
    }
    let (mut applied, mut not_applied) = (0, 0);
    for i in killed {
        let c = conclusions[&key(i)][0];
        let expected = match held_at_kill(i, at_kill) {
            Some(true) => "recovered-applied",
            Some(false) => "recovered-not-applied",
            None => "recovered-unknown",
        };
        assert_eq!(c["outcome"], expected, "conclusion {c} of intent {i}");
        assert_eq!((&c["before"], &c["after"]), (&i["before"], &i["after"]));
        match expected {
            "recovered-applied" => applied += 1,
            "recovered-not-applied" => not_applied += 1,
            _ => {}
        }
    }
    assert_eq!(applied + not_applied, CHANGES, "no change was left unknown");
    println!("concluded: {applied} recovered-applied, {not_applied} recovered-not-applied");
}

fn converged(pdns: &Pdns, context: &str) {
    let now = live(pdns);
    let hosts = now.keys().filter(|(n, _)| n.starts_with('h')).count();
    assert_eq!(
        hosts,
        UPDATED + HOSTS - SEED_HOSTS,
        "host RRsets on PowerDNS\n{context}"
    );
    assert_eq!(
        now[&("h0000.kill.test.".to_string(), "A".to_string())]["values"],
        json!(["198.51.100.0"])
    );
    assert!(!now.contains_key(&("h0250.kill.test.".to_string(), "A".to_string())));
}

#[test]
fn an_apply_killed_mid_write_is_concluded_by_the_next_apply() {
    let Some(pdns) = Pdns::start("an_apply_killed_mid_write_is_concluded_by_the_next_apply") else {
        return;
    };
    let proxy = FaultProxy::start(upstream(&pdns), NO_FAULTS);
    let repo = Repo::new(&pdns, &proxy.url());
    let (killed, at_kill) = killed_apply(&pdns, &proxy, &repo);

    let args = repo.apply_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = repo.run(&args);
    assert!(
        out.status.success(),
        "apply after the kill:\n{}",
        show(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "audit journal: {CHANGES} interrupted write(s) concluded"
        )),
        "{}",
        show(&out)
    );
    check_conclusions(&repo, &killed, &at_kill);
    converged(&pdns, "");
    // Concluded once: a further apply finds nothing to conclude and nothing to change.
    let again = repo.run(&args);
    assert!(again.status.success(), "{}", show(&again));
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("interrupted"),
        "{}",
        show(&again)
    );
}

#[test]
fn an_apply_killed_mid_write_is_concluded_when_the_daemon_starts() {
    let Some(pdns) = Pdns::start("an_apply_killed_mid_write_is_concluded_when_the_daemon_starts")
    else {
        return;
    };
    let proxy = FaultProxy::start(upstream(&pdns), NO_FAULTS);
    let repo = Repo::new(&pdns, &proxy.url());
    let (killed, at_kill) = killed_apply(&pdns, &proxy, &repo);

    let port = free_port();
    let log = repo.tmp.path().join("daemon.log");
    let mut daemon = Command::new(zonekeeper_bin())
        .arg("run")
        .arg("--dir")
        .arg(&repo.dir)
        .arg("--state-dir")
        .arg(repo.tmp.path().join("state"))
        .arg("--journal")
        .arg(&repo.journal)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start the daemon");
    let started = Instant::now();
    let ready = loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http(port, "GET", "/readyz", &[], b"").is_some_and(|(s, _)| s == 200)
        {
            break true;
        }
        if started.elapsed() > Duration::from_secs(120)
            || daemon.try_wait().ok().flatten().is_some()
        {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = daemon.kill();
    let _ = daemon.wait();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(ready, "the daemon never got ready:\n{}", tail(&log_text));
    assert!(
        log_text.contains("interrupted writes of an earlier run"),
        "{}",
        tail(&log_text)
    );
    check_conclusions(&repo, &killed, &at_kill);
    converged(&pdns, &tail(&log_text));
}

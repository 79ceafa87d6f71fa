//! The git source against real git: repositories made with the `git` CLI, served by a real
//! `git daemon` on 127.0.0.1 (and through file://), commits signed with real `ssh-keygen`
//! keys. A missing `git`/`ssh-keygen` skips, unless ZONEKEEPER_REQUIRE_SERVERS=1.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zonekeeper::config::SecretRef;
use zonekeeper::source::git::{GitSettings, GitSource};
use zonekeeper::source::{Source, SourceError};

/// Debian's git, picked explicitly (the image has a second one in /usr/local/bin).
fn git_binary() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/git");
    if p.is_file() {
        Some(p)
    } else {
        support::find_binary("git")
    }
}

/// A throw-away HOME, a working repository `work` on branch `main`, and git commands
/// that cannot see the developer's configuration.
struct Lab {
    tmp: tempfile::TempDir,
    git: PathBuf,
}

impl Lab {
    fn new(test: &str) -> Option<Lab> {
        let Some(git) = git_binary() else {
            support::missing("git", test);
            return None;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(tmp.path().join("home")).expect("home");
        let lab = Lab { tmp, git };
        lab.run(&["init", "-q", "-b", "main", "work"], lab.tmp.path());
        Some(lab)
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    fn work(&self) -> PathBuf {
        self.path().join("work")
    }

    fn cmd(&self, dir: &Path) -> Command {
        let mut c = Command::new(&self.git);
        c.current_dir(dir)
            .env("HOME", self.path().join("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Alice")
            .env("GIT_AUTHOR_EMAIL", "alice@example.com")
            .env("GIT_COMMITTER_NAME", "Alice")
            .env("GIT_COMMITTER_EMAIL", "alice@example.com");
        c
    }

    fn run(&self, args: &[&str], dir: &Path) -> String {
        let out = self.cmd(dir).args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.work().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// Commits everything in `work`; `extra` goes before `commit` (e.g. `-c` options).
    fn commit(&self, msg: &str, extra: &[&str], sign: bool) -> String {
        self.run(&["add", "-A"], &self.work());
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["commit", "-q", "-m", msg]);
        if sign {
            args.push("-S");
        }
        self.run(&args, &self.work());
        self.run(&["rev-parse", "HEAD"], &self.work())
    }

    fn file_url(&self) -> String {
        format!("file://{}", self.work().display())
    }

    fn settings(&self, url: String, cache: &str) -> GitSettings {
        GitSettings::new(url, self.path().join(cache))
    }
}

/// A `git daemon` serving the lab's directory; killed on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn start(lab: &Lab) -> Daemon {
        let port = support::free_port();
        let base = lab.path().display().to_string();
        let child = lab
            .cmd(lab.path())
            .args([
                "daemon",
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={base}"),
                "--export-all",
                &base,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start git daemon");
        let d = Daemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ok = lab
                .cmd(lab.path())
                .args(["ls-remote", &d.url("work")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return d;
            }
            assert!(Instant::now() < deadline, "git daemon did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn manifests(lab: &Lab, prefix: &str, a_value: &str) {
    lab.write(
        &format!("{prefix}zonekeeper.yaml"),
        "providers:\n  m:\n    type: memory\nzones:\n  example.com:\n    targets: [m]\n",
    );
    lab.write(
        &format!("{prefix}zones/example.com.yaml"),
        &format!("'':\n  type: A\n  value: {a_value}\n"),
    );
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn snapshot_ids(cache: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(cache.join("snapshots"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
async fn follows_a_branch_through_git_daemon() {
    let Some(lab) = Lab::new("follows_a_branch_through_git_daemon") else {
        return;
    };
    manifests(&lab, "", "192.0.2.1");
    lab.write("README", "not a manifest\n");
    let c1 = lab.commit("first", &[], false);
    let daemon = Daemon::start(&lab);

    let src = GitSource::new(lab.settings(daemon.url("work"), "cache")).expect("new");
    assert!(
        src.describe().contains(&daemon.url("work")),
        "{}",
        src.describe()
    );
    let s1 = src.fetch().await.expect("fetch");
    assert_eq!(s1.revision, c1);
    assert_eq!(s1.root, lab.path().join("cache/snapshots").join(&c1));
    assert!(read(&s1.root, "zones/example.com.yaml").contains("192.0.2.1"));
    assert!(read(&s1.root, "zonekeeper.yaml").contains("example.com"));
    assert!(
        !s1.root.join("README").exists(),
        "a file manifests cannot need was written"
    );
    let commit_time: u64 = lab
        .run(&["show", "-s", "--format=%ct", "HEAD"], &lab.work())
        .parse()
        .expect("commit time");
    assert_eq!(
        s1.committed_at,
        Some(std::time::UNIX_EPOCH + Duration::from_secs(commit_time))
    );
    // No working copy anywhere: only the bare cache and the snapshots.
    assert!(lab.path().join("cache/repo.git/HEAD").is_file());

    // Unchanged remote: the same snapshot.
    let again = src.fetch().await.expect("fetch again");
    assert_eq!(again, s1);

    // A new commit: new revision, new content, the deleted file gone; the old snapshot is
    // untouched (snapshots never change once returned).
    manifests(&lab, "", "192.0.2.2");
    std::fs::remove_file(lab.work().join("README")).expect("rm");
    let c2 = lab.commit("second", &[], false);
    let s2 = src.fetch().await.expect("fetch 2");
    assert_eq!(s2.revision, c2);
    assert_ne!(s2.root, s1.root);
    assert!(read(&s2.root, "zones/example.com.yaml").contains("192.0.2.2"));
    assert!(!s2.root.join("README").exists());
    assert!(read(&s1.root, "zones/example.com.yaml").contains("192.0.2.1"));
    assert_eq!(snapshot_ids(&lab.path().join("cache")), {
        let mut v = vec![c1.clone(), c2.clone()];
        v.sort();
        v
    });

    // A force-push back to the first commit is refused (old manifests would delete newer
    // records)...
    lab.run(&["reset", "-q", "--hard", &c1], &lab.work());
    match src.fetch().await {
        Err(SourceError::Rewound { revision, previous }) => {
            assert_eq!((revision, previous), (c1.clone(), c2.clone()));
        }
        other => panic!("a rewound head must be refused, got {other:?}"),
    }
    // ...also after a restart (the last revision is kept in the cache)...
    let restarted = GitSource::new(lab.settings(daemon.url("work"), "cache")).expect("new");
    assert!(matches!(
        restarted.fetch().await,
        Err(SourceError::Rewound { .. })
    ));
    // ...unless the operator allows it; then it reuses the first commit's snapshot.
    let mut allow = lab.settings(daemon.url("work"), "cache");
    allow.allow_rewind = true;
    let s3 = GitSource::new(allow)
        .expect("new")
        .fetch()
        .await
        .expect("fetch 3");
    assert_eq!(s3.revision, c1);
    assert_eq!(s3.root, s1.root);

    // A fresh cache (a restart on another disk) gives the same snapshot contents.
    let other = GitSource::new(lab.settings(daemon.url("work"), "cache2")).expect("new");
    let s4 = other.fetch().await.expect("fetch");
    assert_eq!(s4.revision, c1);
    assert_eq!(
        read(&s4.root, "zones/example.com.yaml"),
        read(&s1.root, "zones/example.com.yaml")
    );
}

/// Issue 10: the cache (an `emptyDir`, "safe to delete") is lost, the journal is not. The
/// newest commit the journal shows applied still refuses a force-pushed older head, also
/// when that commit is gone from the fetched repository.
#[tokio::test]
async fn force_push_with_an_empty_cache_is_refused_by_the_last_applied_revision() {
    let Some(lab) =
        Lab::new("force_push_with_an_empty_cache_is_refused_by_the_last_applied_revision")
    else {
        return;
    };
    manifests(&lab, "", "192.0.2.1");
    let c1 = lab.commit("first", &[], false);
    manifests(&lab, "", "192.0.2.2");
    let c2 = lab.commit("second", &[], false);
    let daemon = Daemon::start(&lab);
    let s2 = GitSource::new(lab.settings(daemon.url("work"), "cache"))
        .expect("new")
        .fetch()
        .await
        .expect("fetch");
    assert_eq!(s2.revision, c2);

    // Force-push back to c1 and lose the cache; the journal says c2 was applied.
    lab.run(&["reset", "-q", "--hard", &c1], &lab.work());
    lab.run(&["reflog", "expire", "--expire=now", "--all"], &lab.work());
    lab.run(&["gc", "-q", "--prune=now"], &lab.work());
    std::fs::remove_dir_all(lab.path().join("cache")).expect("rm cache");
    let mut s = lab.settings(daemon.url("work"), "cache");
    s.last_applied = Some(c2.clone());
    let fresh = GitSource::new(s).expect("new");
    match fresh.fetch().await {
        Err(SourceError::Rewound { revision, previous }) => {
            assert_eq!((revision, previous), (c1.clone(), c2.clone()));
        }
        other => panic!("a rewound head must be refused with an empty cache, got {other:?}"),
    }
    assert!(
        snapshot_ids(&lab.path().join("cache")).is_empty(),
        "nothing materialised from the refused head"
    );
    // The fetched repository does not hold c2 at all: not an ancestor either.
    assert_eq!(fresh.descends_from(&c1, &c2), Some(false));
    assert_eq!(fresh.descends_from(&c1, &c1), Some(true));
    assert_eq!(fresh.descends_from(&c1, "local"), None);

    // The operator's escape is the same as before.
    let mut s = lab.settings(daemon.url("work"), "cache-allow");
    s.last_applied = Some(c2.clone());
    s.allow_rewind = true;
    let s1 = GitSource::new(s)
        .expect("new")
        .fetch()
        .await
        .expect("fetch");
    assert_eq!(s1.revision, c1);

    // A head that descends from the journal's revision is taken.
    manifests(&lab, "", "192.0.2.3");
    let c3 = lab.commit("third", &[], false);
    let mut s = lab.settings(daemon.url("work"), "cache-forward");
    s.last_applied = Some(c1.clone());
    let src = GitSource::new(s).expect("new");
    assert_eq!(src.fetch().await.expect("fetch").revision, c3);
    assert_eq!(src.descends_from(&c3, &c1), Some(true));
    assert_eq!(src.descends_from(&c1, &c3), Some(false));
}

#[tokio::test]
async fn file_url_and_subdirectory_path() {
    let Some(lab) = Lab::new("file_url_and_subdirectory_path") else {
        return;
    };
    manifests(&lab, "dns/", "192.0.2.7");
    lab.write("app/other.txt", "unrelated\n");
    let c1 = lab.commit("first", &[], false);

    let mut s = lab.settings(lab.file_url(), "cache");
    s.path = Some(PathBuf::from("dns/"));
    let src = GitSource::new(s).expect("new");
    assert!(src.describe().contains("path dns"), "{}", src.describe());
    let snap = src.fetch().await.expect("fetch");
    assert_eq!(snap.revision, c1);
    assert!(read(&snap.root, "zones/example.com.yaml").contains("192.0.2.7"));
    assert!(snap.root.join("zonekeeper.yaml").is_file());
    assert!(
        !snap.root.join("app").exists(),
        "only the subtree is materialised"
    );
    assert!(!snap.root.join("dns").exists());

    // A path that is not in the commit is an error, not an empty snapshot.
    let mut s = lab.settings(lab.file_url(), "cache-b");
    s.path = Some(PathBuf::from("nope"));
    match GitSource::new(s).expect("new").fetch().await {
        Err(SourceError::Fetch { message, .. }) => assert!(message.contains("nope"), "{message}"),
        other => panic!("expected a fetch error, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_branch_is_a_fetch_error() {
    let Some(lab) = Lab::new("missing_branch_is_a_fetch_error") else {
        return;
    };
    manifests(&lab, "", "192.0.2.1");
    lab.commit("first", &[], false);
    let daemon = Daemon::start(&lab);
    for url in [daemon.url("work"), lab.file_url()] {
        let mut s = lab.settings(url.clone(), "cache");
        s.branch = "release".into();
        match GitSource::new(s).expect("new").fetch().await {
            Err(SourceError::Fetch { message, .. }) => {
                assert!(message.contains("release"), "{url}: {message}")
            }
            other => panic!("{url}: expected a fetch error, got {other:?}"),
        }
    }

    // A branch deleted upstream after a good fetch is an error too, never the stale commit.
    lab.run(&["branch", "-q", "gone"], &lab.work());
    let mut s = lab.settings(daemon.url("work"), "cache-gone");
    s.branch = "gone".into();
    let src = GitSource::new(s).expect("new");
    src.fetch().await.expect("first fetch");
    lab.run(&["branch", "-q", "-D", "gone"], &lab.work());
    assert!(matches!(src.fetch().await, Err(SourceError::Fetch { .. })));

    // Nothing listening: a fetch error, not a hang or a panic.
    let dead = format!("git://127.0.0.1:{}/work", support::free_port());
    let src = GitSource::new(lab.settings(dead, "cache-dead")).expect("new");
    assert!(matches!(src.fetch().await, Err(SourceError::Fetch { .. })));
}

#[tokio::test]
async fn credentials_never_show() {
    let Some(lab) = Lab::new("credentials_never_show") else {
        return;
    };
    std::fs::write(lab.path().join("token"), "tok-SECRET-123\n").expect("token");
    let token = SecretRef::File(lab.path().join("token"))
        .resolve()
        .expect("resolve");
    // Nothing listens on this port: the fetch fails, and neither the token nor the
    // password written in the URL may appear anywhere.
    let port = support::free_port();
    let url = format!("https://bob:pw-SECRET-456@127.0.0.1:{port}/acme/dns.git");
    let mut s = lab.settings(url, "cache");
    s.token = Some(token);
    let src = GitSource::new(s).expect("new");
    let d = src.describe();
    assert!(!d.contains("SECRET") && !d.contains("bob"), "{d}");
    let e = src.fetch().await.expect_err("nothing listens");
    let text = format!("{e} {e:?}");
    assert!(matches!(e, SourceError::Fetch { .. }), "{text}");
    assert!(!text.contains("SECRET"), "{text}");

    // A token is never offered over a cleartext transport.
    let mut s = lab.settings(format!("git://127.0.0.1:{port}/x"), "cache");
    s.token = Some(
        SecretRef::File(lab.path().join("token"))
            .resolve()
            .expect("resolve"),
    );
    let e = GitSource::new(s).err().expect("refused");
    assert!(!e.to_string().contains("SECRET"));
}

/// Keys and an allowed signers file for the signature tests.
struct Keys {
    alice: PathBuf,
    mallory: PathBuf,
    allowed: PathBuf,
}

fn keys(lab: &Lab, test: &str) -> Option<Keys> {
    let Some(keygen) = support::find_binary("ssh-keygen") else {
        support::missing("ssh-keygen", test);
        return None;
    };
    let gen = |name: &str| {
        let p = lab.path().join(name);
        let ok = Command::new(&keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&p)
            .status()
            .expect("ssh-keygen")
            .success();
        assert!(ok, "ssh-keygen failed");
        p
    };
    let alice = gen("alice");
    let mallory = gen("mallory");
    let pubkey = std::fs::read_to_string(alice.with_extension("pub")).expect("pub");
    let allowed = lab.path().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("# who may change DNS\nalice@example.com namespaces=\"git\" {pubkey}"),
    )
    .expect("allowed");
    Some(Keys {
        alice,
        mallory,
        allowed,
    })
}

fn signing(key: &Path) -> [String; 4] {
    [
        "-c".into(),
        "gpg.format=ssh".into(),
        "-c".into(),
        format!("user.signingkey={}", key.display()),
    ]
}

async fn expect_refused(src: &GitSource, revision: &str, cache: &Path, why: &str) {
    match src.fetch().await {
        Err(SourceError::Unverified {
            revision: r,
            reason,
        }) => {
            assert_eq!(r, revision);
            assert!(reason.contains(why), "{reason}");
        }
        other => panic!("expected the commit to be refused ({why}), got {other:?}"),
    }
    assert!(
        !snapshot_ids(cache).iter().any(|s| s.contains(revision)),
        "a snapshot of a refused commit was written"
    );
}

#[tokio::test]
async fn only_commits_signed_by_allowed_signers_apply() {
    let test = "only_commits_signed_by_allowed_signers_apply";
    let Some(lab) = Lab::new(test) else {
        return;
    };
    let Some(k) = keys(&lab, test) else {
        return;
    };
    let daemon = Daemon::start(&lab);
    let cache = lab.path().join("cache");
    let mut s = lab.settings(daemon.url("work"), "cache");
    s.allowed_signers = Some(k.allowed.clone());

    // Signed by alice: applies.
    manifests(&lab, "", "192.0.2.1");
    let alice = signing(&k.alice);
    let alice: Vec<&str> = alice.iter().map(String::as_str).collect();
    let good = lab.commit("signed", &alice, true);
    let src = GitSource::new(s).expect("new");
    let snap = src.fetch().await.expect("a signed commit applies");
    assert_eq!(snap.revision, good);
    assert!(read(&snap.root, "zones/example.com.yaml").contains("192.0.2.1"));

    // Unsigned head: refused, nothing written.
    manifests(&lab, "", "192.0.2.66");
    let unsigned = lab.commit("unsigned", &[], false);
    expect_refused(&src, &unsigned, &cache, "not signed").await;

    // Signed by a key that is not allowed: refused.
    let mallory = signing(&k.mallory);
    let mallory: Vec<&str> = mallory.iter().map(String::as_str).collect();
    lab.write(
        "zones/example.com.yaml",
        "'':\n  type: A\n  value: 192.0.2.67\n",
    );
    let wrong = lab.commit("mallory", &mallory, true);
    expect_refused(&src, &wrong, &cache, "not an allowed signer").await;

    // Alice's real signature on altered content (the message changed after signing):
    // the key is allowed but the signature does not cover this commit.
    lab.write(
        "zones/example.com.yaml",
        "'':\n  type: A\n  value: 192.0.2.3\n",
    );
    let signed = lab.commit("alice again", &alice, true);
    let raw = lab.run(&["cat-file", "commit", &signed], &lab.work());
    let forged_text = raw.replace("alice again", "alice again, honest") + "\n";
    let mut child = lab
        .cmd(&lab.work())
        .args(["hash-object", "-t", "commit", "-w", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("hash-object");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(forged_text.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("hash-object");
    let forged = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success() && forged.len() == 40, "{forged}");
    assert_ne!(forged, signed);
    lab.run(&["update-ref", "refs/heads/main", &forged], &lab.work());
    expect_refused(&src, &forged, &cache, "does not verify").await;

    // Back to a good signed head: applies again.
    lab.run(&["update-ref", "refs/heads/main", &signed], &lab.work());
    let snap = src.fetch().await.expect("signed again");
    assert_eq!(snap.revision, signed);
    assert!(read(&snap.root, "zones/example.com.yaml").contains("192.0.2.3"));

    // Without `verify`, the same unsigned commit would have applied: the refusal above
    // is the check's doing.
    let plain = GitSource::new(lab.settings(daemon.url("work"), "cache-plain")).expect("new");
    lab.run(&["update-ref", "refs/heads/main", &unsigned], &lab.work());
    assert_eq!(plain.fetch().await.expect("no verify").revision, unsigned);
}

#[tokio::test]
async fn signer_limited_to_other_namespaces_is_refused() {
    let test = "signer_limited_to_other_namespaces_is_refused";
    let Some(lab) = Lab::new(test) else {
        return;
    };
    let Some(k) = keys(&lab, test) else {
        return;
    };
    let pubkey = std::fs::read_to_string(k.alice.with_extension("pub")).expect("pub");
    std::fs::write(
        &k.allowed,
        format!("alice@example.com namespaces=\"file\" {pubkey}"),
    )
    .expect("write");
    manifests(&lab, "", "192.0.2.1");
    let alice = signing(&k.alice);
    let alice: Vec<&str> = alice.iter().map(String::as_str).collect();
    let c = lab.commit("signed", &alice, true);
    let mut s = lab.settings(lab.file_url(), "cache");
    s.allowed_signers = Some(k.allowed.clone());
    let src = GitSource::new(s).expect("new");
    expect_refused(&src, &c, &lab.path().join("cache"), "not an allowed signer").await;

    // A missing allowed signers file fails closed at start.
    let mut s = lab.settings(lab.file_url(), "cache");
    s.allowed_signers = Some(lab.path().join("absent"));
    assert!(matches!(GitSource::new(s), Err(SourceError::Io { .. })));
}

#[tokio::test]
async fn old_snapshots_are_pruned_and_current_kept() {
    let Some(lab) = Lab::new("old_snapshots_are_pruned_and_current_kept") else {
        return;
    };
    let src = GitSource::new(lab.settings(lab.file_url(), "cache")).expect("new");
    let cache = lab.path().join("cache");
    // A crash left a half-written snapshot long ago.
    let stale = cache.join("snapshots/.tmp-0000-1");
    std::fs::create_dir_all(&stale).expect("mkdir");
    std::fs::File::open(&stale)
        .and_then(|f| f.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600)))
        .expect("age it");
    let mut last = String::new();
    for i in 1..=8 {
        manifests(&lab, "", &format!("192.0.2.{i}"));
        last = lab.commit(&format!("c{i}"), &[], false);
        let snap = src.fetch().await.expect("fetch");
        assert_eq!(snap.revision, last);
        assert!(read(&snap.root, "zones/example.com.yaml").contains(&format!("192.0.2.{i}")));
    }
    // Pruning runs in the background after a fetch: give it a few seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut ids = snapshot_ids(&cache);
    while (ids.len() != 5 || stale.exists()) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        ids = snapshot_ids(&cache);
    }
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(ids.contains(&last), "{ids:?}");
    assert!(!stale.exists(), "a stale temporary directory was kept");
}

#[tokio::test]
async fn only_manifest_files_within_the_caps_are_written_and_oversized_revisions_are_refused() {
    let test =
        "only_manifest_files_within_the_caps_are_written_and_oversized_revisions_are_refused";
    let Some(lab) = Lab::new(test) else {
        return;
    };
    manifests(&lab, "", "192.0.2.7");
    // 300 KB of zeros: 2 KB in git, never written (not a manifest), never counted.
    lab.write("big.bin", &"\0".repeat(300_000));
    lab.write("docs/notes.txt", "not a manifest\n");
    lab.write("secrets/pdns.age", "age-encryption.org/v1 (a stand-in)\n");
    lab.write("zones/extra.yml", "'':\n  type: TXT\n  value: yml\n");
    // A YAML file over the per-file cap: left out, so the manifest naming it finds it
    // missing (and the revision is refused by the loader, the one in force stays).
    lab.write("zones/huge.yaml", &format!("# {}\n", "x".repeat(150_000)));
    let c1 = lab.commit("first", &[], false);

    let mut s = lab.settings(lab.file_url(), "cache");
    s.max_file_bytes = 100_000;
    s.max_revision_bytes = 200_000;
    let src = GitSource::new(s).expect("new");
    let snap = src.fetch().await.expect("fetch");
    assert_eq!(snap.revision, c1);
    assert!(snap.root.join("zonekeeper.yaml").is_file());
    assert!(snap.root.join("zones/example.com.yaml").is_file());
    assert!(snap.root.join("zones/extra.yml").is_file());
    assert!(snap.root.join("secrets/pdns.age").is_file());
    for absent in ["big.bin", "docs/notes.txt", "zones/huge.yaml"] {
        assert!(
            !snap.root.join(absent).exists(),
            "{absent} was written into the snapshot"
        );
    }
    assert!(
        !snap.root.join("docs").exists(),
        "a directory with nothing to write was created"
    );

    // YAML files each under the per-file cap, together over the per-revision cap: the
    // revision is refused whole, nothing of it is left, and the previous one stays.
    for z in ["a", "b", "c"] {
        lab.write(
            &format!("zones/{z}.yaml"),
            &format!("# {}\n", "y".repeat(80_000)),
        );
    }
    let c2 = lab.commit("too big", &[], false);
    match src.fetch().await {
        Err(e @ SourceError::TooLarge { .. }) => {
            assert_eq!(e.kind(), "too-large");
            assert!(e.to_string().contains(&c2), "{e}");
        }
        other => panic!("expected too-large, got {other:?}"),
    }
    assert_eq!(snapshot_ids(&lab.path().join("cache")), vec![c1.clone()]);
    assert!(snap.root.join("zones/example.com.yaml").is_file());

    // Fixed by the next commit: taken as usual.
    lab.run(&["rm", "-q", "zones/b.yaml", "zones/c.yaml"], &lab.work());
    let c3 = lab.commit("smaller", &[], false);
    let snap3 = src.fetch().await.expect("fetch after the fix");
    assert_eq!(snap3.revision, c3);
    assert!(snap3.root.join("zones/a.yaml").is_file());
}

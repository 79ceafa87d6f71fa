//! `age:` secret references against the real `age` tool (Debian's `age`): files encrypted
//! with `age -r` (binary and `-a` armored) to an identity made by `age-keygen` are
//! decrypted in memory; a wrong or missing identity, a file that is not age, a truncated
//! one, a path leaving the configuration's directory, an `allowed_secrets` list and the
//! identity named as a secret are refused with messages that name the file and quote
//! nothing of it. End to end, a PowerDNS API key committed as `age:` is used by the daemon
//! following a real git repository, and its clear text is in no file it writes nor in its log.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zonekeeper::config::{SecretError, SecretPolicy, SecretRef};

/// The clear text of the test secrets: long enough never to appear by accident.
const CLEAR: &str = "pdns-key-7d1f0c9e4b2a-never-in-clear";

/// A directory with an identity (`id.txt`), its recipient, and a repository directory
/// `repo/` beside a file `outside.age` encrypted to the same identity.
struct Lab {
    tmp: tempfile::TempDir,
    age: PathBuf,
    recipient: String,
}

impl Lab {
    fn new(test: &str) -> Option<Lab> {
        let (Some(age), Some(keygen)) = (
            support::find_binary("age"),
            support::find_binary("age-keygen"),
        ) else {
            support::missing("age (Debian package `age`)", test);
            return None;
        };
        let tmp = tempfile::tempdir().unwrap();
        let id = tmp.path().join("id.txt");
        run(Command::new(&keygen).arg("-o").arg(&id));
        let recipient = run(Command::new(&keygen).arg("-y").arg(&id))
            .trim()
            .to_string();
        assert!(recipient.starts_with("age1"), "{recipient}");
        std::fs::create_dir_all(tmp.path().join("repo/secrets")).unwrap();
        let lab = Lab {
            tmp,
            age,
            recipient,
        };
        lab.encrypt(CLEAR, &lab.path().join("outside.age"), false);
        Some(lab)
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    fn repo(&self) -> PathBuf {
        self.path().join("repo")
    }

    fn identity(&self) -> PathBuf {
        self.path().join("id.txt")
    }

    /// `age -r <recipient> [-a] -o out`, the text on stdin (with a newline, as `echo`).
    fn encrypt(&self, text: &str, out: &Path, armored: bool) {
        let mut c = Command::new(&self.age);
        c.arg("-r").arg(&self.recipient);
        if armored {
            c.arg("-a");
        }
        c.arg("-o").arg(out);
        let mut child = c.stdin(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{text}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "age failed");
    }

    fn policy(&self) -> SecretPolicy {
        SecretPolicy::default().with_age_identity(self.identity())
    }

    /// `age:<written>` as the configuration loader makes it (relative to `repo/`).
    fn age_ref(&self, written: &str) -> SecretRef {
        SecretRef::parse(&format!("age:{written}"), Path::new(""))
            .unwrap()
            .relative_to(&self.repo())
    }
}

/// Runs a command; its stdout, or a panic with its stderr.
fn run(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The error's text, checked to quote no secret.
fn refused(r: Result<zonekeeper::config::Secret, SecretError>) -> String {
    let e = r.expect_err("resolved, expected a refusal");
    let msg = e.to_string();
    assert!(!msg.contains(CLEAR), "{msg}");
    // The identity's key (`AGE-SECRET-KEY-1` and its Bech32 characters) is never quoted.
    for (i, _) in msg.match_indices("AGE-SECRET-KEY-1") {
        let next = msg[i + 16..].chars().next();
        assert!(!next.is_some_and(|c| c.is_ascii_alphanumeric()), "{msg}");
    }
    msg
}

#[test]
fn binary_and_armored_files_decrypt_with_the_operators_identity() {
    let Some(lab) =
        Lab::new("secret_age::binary_and_armored_files_decrypt_with_the_operators_identity")
    else {
        return;
    };
    lab.encrypt(CLEAR, &lab.repo().join("secrets/pdns.age"), false);
    lab.encrypt(CLEAR, &lab.repo().join("secrets/armored.age"), true);
    let armored = std::fs::read_to_string(lab.repo().join("secrets/armored.age")).unwrap();
    assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    for f in [
        "secrets/pdns.age",
        "secrets/armored.age",
        "secrets/../secrets/pdns.age",
    ] {
        let s = lab.policy().resolve(&lab.age_ref(f)).expect(f);
        assert_eq!(s.expose(), CLEAR, "{f}");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
    }
    // A symlink inside the directory to a file inside it is fine.
    std::os::unix::fs::symlink("pdns.age", lab.repo().join("secrets/alias.age")).unwrap();
    assert_eq!(
        lab.policy()
            .resolve(&lab.age_ref("secrets/alias.age"))
            .unwrap()
            .expose(),
        CLEAR
    );
}

#[test]
fn wrong_or_missing_identity_and_damaged_files_are_named_not_quoted() {
    let Some(lab) =
        Lab::new("secret_age::wrong_or_missing_identity_and_damaged_files_are_named_not_quoted")
    else {
        return;
    };
    let file = lab.repo().join("secrets/pdns.age");
    lab.encrypt(CLEAR, &file, false);
    let r = lab.age_ref("secrets/pdns.age");

    // No identity: says how to give one.
    let msg = refused(SecretPolicy::default().resolve(&r));
    assert!(msg.contains("age:secrets/pdns.age"), "{msg}");
    assert!(msg.contains("ZONEKEEPER_AGE_IDENTITY"), "{msg}");
    assert!(msg.contains("--age-identity"), "{msg}");
    let msg = refused(r.resolve());
    assert!(msg.contains("ZONEKEEPER_AGE_IDENTITY"), "{msg}");

    // Another identity.
    let other = lab.path().join("other.txt");
    run(Command::new(support::find_binary("age-keygen").unwrap())
        .arg("-o")
        .arg(&other));
    let msg = refused(SecretPolicy::default().with_age_identity(other).resolve(&r));
    assert!(msg.contains("age:secrets/pdns.age"), "{msg}");
    assert!(
        msg.contains("was not encrypted to the operator's age identity"),
        "{msg}"
    );

    // An identity file that is no identity file, or is missing.
    let bogus = lab.path().join("bogus.txt");
    std::fs::write(&bogus, format!("{CLEAR}\n")).unwrap();
    let msg = refused(SecretPolicy::default().with_age_identity(bogus).resolve(&r));
    assert!(msg.contains("is not an age identity file"), "{msg}");
    let msg = refused(
        SecretPolicy::default()
            .with_age_identity(lab.path().join("absent.txt"))
            .resolve(&r),
    );
    assert!(msg.contains("absent.txt: cannot read"), "{msg}");

    // A plain file named .age, a truncated file, an empty file, a damaged armor.
    std::fs::write(lab.repo().join("secrets/plain.age"), format!("{CLEAR}\n")).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(
        lab.repo().join("secrets/cut.age"),
        &bytes[..bytes.len() - 10],
    )
    .unwrap();
    std::fs::write(lab.repo().join("secrets/header.age"), &bytes[..40]).unwrap();
    std::fs::write(lab.repo().join("secrets/empty.age"), b"").unwrap();
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    std::fs::write(lab.repo().join("secrets/flipped.age"), &flipped).unwrap();
    for (f, want) in [
        ("secrets/plain.age", "is not an age-encrypted file"),
        ("secrets/cut.age", "is truncated or damaged"),
        ("secrets/header.age", "is truncated or damaged"),
        ("secrets/empty.age", "truncated"),
        ("secrets/flipped.age", "is truncated or damaged"),
        ("secrets/missing.age", "file not found"),
    ] {
        let msg = refused(lab.policy().resolve(&lab.age_ref(f)));
        assert!(msg.contains(&format!("age:{f}")), "{f}: {msg}");
        assert!(msg.contains(want), "{f}: {msg}");
    }
}

#[test]
fn age_paths_stay_inside_the_configurations_directory() {
    let Some(lab) = Lab::new("secret_age::age_paths_stay_inside_the_configurations_directory")
    else {
        return;
    };
    std::os::unix::fs::symlink(
        lab.path().join("outside.age"),
        lab.repo().join("secrets/link.age"),
    )
    .unwrap();
    let fifo = lab.repo().join("secrets/fifo.age");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::create_dir(lab.repo().join("secrets/dir.age")).unwrap();
    let absolute = lab.path().join("outside.age").display().to_string();
    for (f, want) in [
        (
            "../outside.age",
            "is outside the directory holding zonekeeper.yaml",
        ),
        ("secrets/../../outside.age", "is outside the directory"),
        (&*absolute, "is outside the directory"),
        ("secrets/link.age", "is outside the directory"),
        ("/proc/self/cwd/../outside.age", "is outside the directory"),
        ("secrets/fifo.age", "is not a regular file"),
        ("secrets/dir.age", "is a directory"),
    ] {
        let msg = refused(lab.policy().resolve(&lab.age_ref(f)));
        assert!(msg.contains(want), "{f}: {msg}");
    }
    // Not denied as a `file:` in the repository would be: that is where age files live.
    lab.encrypt(CLEAR, &lab.repo().join("secrets/pdns.age"), false);
    let p = lab.policy().deny_files_under(lab.repo());
    assert_eq!(
        p.resolve(&lab.age_ref("secrets/pdns.age"))
            .unwrap()
            .expose(),
        CLEAR
    );
    let msg = refused(p.resolve(&SecretRef::File(lab.repo().join("secrets/pdns.age"))));
    assert!(msg.contains("may not be read from the repository"), "{msg}");
}

#[test]
fn allowed_secrets_globs_cover_age_references_as_written() {
    let Some(lab) = Lab::new("secret_age::allowed_secrets_globs_cover_age_references_as_written")
    else {
        return;
    };
    std::fs::create_dir_all(lab.repo().join("secrets/sub")).unwrap();
    std::fs::create_dir_all(lab.repo().join("other")).unwrap();
    for f in ["secrets/pdns.age", "secrets/sub/deep.age", "other/x.age"] {
        lab.encrypt(CLEAR, &lab.repo().join(f), false);
    }
    let p = SecretPolicy::allowing(&["age:secrets/*".into()])
        .unwrap()
        .with_age_identity(lab.identity());
    assert_eq!(
        p.resolve(&lab.age_ref("secrets/pdns.age"))
            .unwrap()
            .expose(),
        CLEAR
    );
    for f in [
        "other/x.age",
        "secrets/sub/deep.age",
        "secrets/../other/x.age",
    ] {
        let msg = refused(p.resolve(&lab.age_ref(f)));
        assert!(
            msg.contains("not in the allowed secrets list"),
            "{f}: {msg}"
        );
    }
    // An `env:`-only list refuses every age reference.
    let p = SecretPolicy::allowing(&["env:PDNS_*".into()])
        .unwrap()
        .with_age_identity(lab.identity());
    let msg = refused(p.resolve(&lab.age_ref("secrets/pdns.age")));
    assert!(msg.contains("not in the allowed secrets list"), "{msg}");
}

#[test]
fn the_identity_is_never_a_manifests_secret() {
    let Some(lab) = Lab::new("secret_age::the_identity_is_never_a_manifests_secret") else {
        return;
    };
    let id = lab.identity();
    std::os::unix::fs::symlink(&id, lab.path().join("link-to-id")).unwrap();
    let dir_name = lab
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for r in [
        SecretRef::File(id.clone()),
        SecretRef::File(lab.path().join(format!("../{dir_name}/id.txt"))),
        SecretRef::File(lab.path().join("link-to-id")),
    ] {
        let msg = refused(lab.policy().resolve(&r));
        assert!(msg.contains("controller's own credentials"), "{r}: {msg}");
    }
    // An identity kept beside the manifests is not reachable through `age:` either.
    let inside = lab.repo().join("id.txt");
    std::fs::copy(&id, &inside).unwrap();
    let p = SecretPolicy::default().with_age_identity(inside);
    let msg = refused(p.resolve(&lab.age_ref("id.txt")));
    assert!(msg.contains("controller's own credentials"), "{msg}");

    // The same through the operator's configuration (`controller.age_identity`).
    let op = lab.path().join("operator.yaml");
    std::fs::write(&op, "controller:\n  dir: repo\n  age_identity: id.txt\n").unwrap();
    let c = zonekeeper::config::controller::ControllerConfig::load(&op)
        .unwrap()
        .resolve()
        .unwrap();
    assert_eq!(c.age_identity.as_deref(), Some(&*id));
    let p = c.secret_policy().unwrap();
    let msg = refused(p.resolve(&SecretRef::File(id.clone())));
    assert!(msg.contains("controller's own credentials"), "{msg}");
    lab.encrypt(CLEAR, &lab.repo().join("secrets/pdns.age"), false);
    assert_eq!(
        p.resolve(&lab.age_ref("secrets/pdns.age"))
            .unwrap()
            .expose(),
        CLEAR
    );
}

/// Every file under `dir` (recursively) that contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            found.extend(files_containing(&p, needle));
        } else if ft.is_file() {
            let bytes = std::fs::read(&p).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(p);
            }
        }
    }
    found
}

/// A PowerDNS API key committed encrypted: `plan` without an identity says how to give one;
/// the daemon following the repository with `--age-identity` applies the zone through the
/// real server (so the key decrypted right), and the key is in no file under the state
/// directory (git cache, snapshots, journal) and not in its log.
#[test]
fn a_powerdns_key_committed_as_age_reaches_the_server_and_nothing_else() {
    let test = "secret_age::a_powerdns_key_committed_as_age_reaches_the_server_and_nothing_else";
    let Some(lab) = Lab::new(test) else { return };
    let Some(git) = support::find_binary("git") else {
        support::missing("git", test);
        return;
    };
    let Some(pdns) = support::pdns::Pdns::start(test) else {
        return;
    };
    let key = pdns.api_key.clone();
    let repo = lab.repo();
    lab.encrypt(&key, &repo.join("secrets/pdns.age"), true);
    std::fs::create_dir_all(repo.join("zones")).unwrap();
    std::fs::write(
        repo.join("zonekeeper.yaml"),
        format!(
            "providers:\n  pdns:\n    type: powerdns\n    url: {}\n    api_key: age:secrets/pdns.age\n    create_zones: true\nzones:\n  age.test.:\n    targets: [pdns]\n",
            pdns.api_url()
        ),
    )
    .unwrap();
    std::fs::write(
        repo.join("zones/age.test.yaml"),
        "'':\n  - type: NS\n    value: ns1.age.test.\n  - type: A\n    value: 192.0.2.44\n",
    )
    .unwrap();
    let home = lab.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let g = |args: &[&str]| {
        run(Command::new(&git)
            .current_dir(&repo)
            .env("HOME", &home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .args(args));
    };
    g(&["init", "-q", "-b", "main"]);
    g(&["add", "-A"]);
    g(&["commit", "-q", "-m", "zone with an encrypted key"]);

    let zk = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zonekeeper"));
        c.current_dir(lab.path())
            .env_remove("ZONEKEEPER_CONFIG")
            .env_remove("ZONEKEEPER_AGE_IDENTITY")
            .env_remove("ZONEKEEPER_ALLOWED_SECRETS");
        c
    };
    // One-shot commands: no identity -> an error that says how to give one.
    let out = zk()
        .arg("--config")
        .arg(repo.join("zonekeeper.yaml"))
        .arg("plan")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ZONEKEEPER_AGE_IDENTITY"), "{text}");
    // With it, plan decrypts the key and reads the server.
    let out = zk()
        .arg("--config")
        .arg(repo.join("zonekeeper.yaml"))
        .arg("plan")
        .env("ZONEKEEPER_AGE_IDENTITY", lab.identity())
        .output()
        .unwrap();
    let plan_err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{plan_err}");
    assert!(!plan_err.contains(&key), "{plan_err}");

    // The daemon, following the repository, with only the settings allowing that key.
    let state = lab.path().join("state");
    let log = lab.path().join("daemon.log");
    let port = support::free_port();
    let mut child = zk()
        .args(["-vv", "run", "--repo"])
        .arg(format!("file://{}", repo.display()))
        .arg("--state-dir")
        .arg(&state)
        .arg("--age-identity")
        .arg(lab.identity())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("ZONEKEEPER_ALLOWED_SECRETS", "age:secrets/*")
        .env("HOME", &home)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let served = loop {
        let zone = support::http(
            pdns.api_port,
            "GET",
            "/api/v1/servers/localhost/zones/age.test.",
            &[("X-API-Key", &key)],
            b"",
        );
        if zone.is_some_and(|(s, body)| s == 200 && body.contains("192.0.2.44")) {
            break true;
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(served, "the daemon did not apply the zone:\n{log_text}");
    // The encrypted file reached the snapshot; its clear text reached nothing.
    assert!(
        !files_containing(&state, "BEGIN AGE ENCRYPTED FILE").is_empty(),
        "the age file was not materialised"
    );
    assert!(state.join("journal.jsonl").is_file());
    assert_eq!(files_containing(&state, &key), Vec::<PathBuf>::new());
    assert!(!log_text.contains(&key), "{log_text}");
}

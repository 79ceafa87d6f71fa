//! Incremental revisions: a sequence of changes followed through the real directory and git
//! sources, each snapshot loaded twice, reusing the revision before
//! (`load_snapshot(.., Some(previous))`) and from scratch; both must give the same zones,
//! manifests, input hashes, providers and errors, and the incremental one must share the
//! unchanged zones' manifests with the revision before.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use zonekeeper::controller::revision::{load_snapshot, OperatorSide, Revision};
use zonekeeper::provider::BuildContext;
use zonekeeper::secret::SecretPolicy;
use zonekeeper::source::dir::DirSource;
use zonekeeper::source::git::{GitSettings, GitSource};
use zonekeeper::source::{Snapshot, Source};
use zonekeeper::telemetry::metrics::Metrics;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn config(extra_zone: bool, ttl: u32) -> String {
    let mut s = format!(
        "providers:\n  live:\n    type: zonefile\n    directory: live\n    default_ttl: {ttl}\n  other:\n    type: zonefile\n    directory: other\nzones:\n  a.test:\n    targets: [live]\n  b.test:\n    targets: [live, other]\n  sub.a.test:\n    targets: [other]\n  inc.test:\n    targets: [live]\n"
    );
    if extra_zone {
        s.push_str("  c.test:\n    targets: [live]\n");
    }
    s
}

fn zone(value: &str) -> String {
    format!("'':\n  type: A\n  value: {value}\nwww:\n  type: TXT\n  value: v=spf1 include:_spf.example.net -all\n")
}

/// One change to the followed files and whether a revision with it must load.
type Step = (&'static str, fn(&Path), bool);

fn steps() -> Vec<Step> {
    vec![
        (
            "initial",
            |d| {
                write(d, "zonekeeper.yaml", &config(false, 3600));
                write(d, "zones/a.test.yaml", &zone("192.0.2.1"));
                write(d, "zones/b.test.yaml", &zone("192.0.2.2"));
                write(d, "zones/sub.a.test.yaml", &zone("192.0.2.3"));
                write(
                    d,
                    "zones/inc.test.yaml",
                    "'':\n  type: A\n  value: !include ../shared/inc.yaml\n",
                );
                write(d, "shared/inc.yaml", "192.0.2.4\n");
            },
            true,
        ),
        (
            "edit one zone",
            |d| write(d, "zones/a.test.yaml", &zone("192.0.2.11")),
            true,
        ),
        (
            "add a zone",
            |d| {
                write(d, "zones/c.test.yaml", &zone("192.0.2.5"));
                write(d, "zonekeeper.yaml", &config(true, 3600));
            },
            true,
        ),
        (
            "change an included file",
            |d| write(d, "shared/inc.yaml", "192.0.2.44\n"),
            true,
        ),
        (
            "change a provider setting",
            |d| write(d, "zonekeeper.yaml", &config(true, 600)),
            true,
        ),
        (
            "a record in a managed sub-zone",
            |d| {
                write(
                    d,
                    "zones/a.test.yaml",
                    &format!(
                        "{}x.sub:\n  type: A\n  value: 192.0.2.9\n",
                        zone("192.0.2.11")
                    ),
                );
            },
            false,
        ),
        (
            "fixed",
            |d| write(d, "zones/a.test.yaml", &zone("192.0.2.12")),
            true,
        ),
        (
            "an invalid file",
            |d| write(d, "zones/b.test.yaml", "'':\n  type: A\n  value: nope\n"),
            false,
        ),
        (
            "still invalid, another zone edited",
            |d| write(d, "zones/c.test.yaml", &zone("192.0.2.55")),
            false,
        ),
        (
            "fixed again",
            |d| write(d, "zones/b.test.yaml", &zone("192.0.2.22")),
            true,
        ),
        (
            "remove a zone",
            |d| {
                std::fs::remove_file(d.join("zones/c.test.yaml")).expect("rm");
                write(d, "zonekeeper.yaml", &config(false, 600));
            },
            true,
        ),
        (
            "zonekeeper.yaml reordered",
            |d| {
                let c = config(false, 600).replace("  a.test:\n    targets: [live]\n", "")
                    + "  a.test:\n    targets: [live]\n";
                write(d, "zonekeeper.yaml", &c);
            },
            true,
        ),
    ]
}

fn load(
    snap: &Snapshot,
    base: &Path,
    previous: Option<&Revision>,
) -> Result<Revision, Vec<String>> {
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let operator = OperatorSide {
        config: None,
        provider_base: Some(base.to_path_buf()),
        ..Default::default()
    };
    let ctx = BuildContext::new(SecretPolicy::default());
    load_snapshot(
        snap,
        &metrics,
        &ctx,
        &operator,
        previous.and_then(|p| p.reusable.as_deref()),
    )
}

/// Everything a revision holds that a reconcile uses, as text (the snapshot root left out,
/// positions sorted).
fn describe(r: &Revision, root: &Path) -> String {
    let mut out = String::new();
    for (z, e) in &r.zones {
        let (zc, m) = &**e;
        let mut positions: Vec<_> = m
            .positions
            .iter()
            .map(|(k, p)| format!("{k}@{p:?}"))
            .collect();
        positions.sort();
        out.push_str(&format!(
            "{z}: {zc:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{positions:?}\n{}\n",
            m.zone, m.ignored, m.filters, m.settings, m.content_sha256
        ));
    }
    out.push_str(&format!(
        "{:?}\n{:?}\n",
        r.inputs,
        r.providers.keys().collect::<Vec<_>>()
    ));
    out.replace(&root.display().to_string(), "<root>")
}

async fn follow(src: &dyn Source, work: &Path, apply: &dyn Fn(&Path)) {
    let base = work.parent().expect("parent").to_path_buf();
    let mut previous: Option<Revision> = None;
    for (what, step, valid) in steps() {
        step(work);
        apply(work);
        let snap = src.fetch().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(snap.files.is_some(), "{what}: the source indexes its files");
        let inc = load(&snap, &base, previous.as_ref());
        let scratch = load(&snap, &base, None);
        match (&inc, &scratch) {
            (Ok(i), Ok(s)) => {
                assert!(valid, "{what}: loaded, but must be refused");
                assert_eq!(describe(i, &snap.root), describe(s, &snap.root), "{what}");
                if let Some(p) = &previous {
                    // b.test never changes between these steps but for its own edits.
                    let shared = |z: &str| {
                        let z = zonekeeper::model::Fqdn::parse(z).expect("name");
                        Arc::ptr_eq(&i.zones[&z].1, &p.zones[&z].1)
                    };
                    if what == "edit one zone" {
                        assert!(shared("b.test"), "{what}: an unchanged zone is shared");
                        assert!(!shared("a.test"), "{what}: the edited zone is parsed again");
                    }
                    if what == "change an included file" {
                        assert!(
                            !shared("inc.test"),
                            "{what}: a zone that includes is parsed again"
                        );
                        assert!(shared("a.test"), "{what}");
                        // ... and reconciled: its input hash follows the included file.
                        let w = zonekeeper::controller::scheduler::Work::Zone(
                            zonekeeper::model::Fqdn::parse("inc.test").expect("name"),
                        );
                        assert_ne!(i.inputs[&w], p.inputs[&w], "{what}");
                    }
                }
            }
            (Err(i), Err(s)) => {
                assert!(!valid, "{what}: refused: {i:?}");
                let strip = |v: &Vec<String>| {
                    v.iter()
                        .map(|l| l.replace(&snap.root.display().to_string(), "<root>"))
                        .collect::<Vec<_>>()
                };
                assert_eq!(strip(i), strip(s), "{what}");
            }
            (i, s) => panic!(
                "{what}: incremental {:?} but from scratch {:?}",
                i.as_ref().err(),
                s.as_ref().err()
            ),
        }
        if let Ok(i) = inc {
            previous = Some(i);
        }
    }
}

#[tokio::test]
async fn a_directory_followed_incrementally_loads_as_from_scratch() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    steps()[0].1(&work);
    let src = DirSource::new(&work, tmp.path().join("snaps")).expect("dir source");
    follow(&src, &work, &|_| ()).await;
}

fn git(dir: &Path, home: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=A", "-c", "user.email=a@example.com"])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_repository_followed_incrementally_loads_as_from_scratch() {
    if support::find_binary("git").is_none() {
        support::missing(
            "git",
            "a_repository_followed_incrementally_loads_as_from_scratch",
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let home: PathBuf = tmp.path().join("home");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&work).expect("work");
    git(&work, &home, &["init", "-q", "-b", "main"]);
    steps()[0].1(&work);
    git(&work, &home, &["add", "-A"]);
    git(&work, &home, &["commit", "-q", "-m", "init"]);
    let src = GitSource::new(GitSettings::new(
        format!("file://{}", work.display()),
        tmp.path().join("cache"),
    ))
    .expect("git source");
    let commit = |d: &Path| {
        let home = d.parent().expect("parent").join("home");
        git(d, &home, &["add", "-A"]);
        git(d, &home, &["commit", "-q", "--allow-empty", "-m", "step"]);
    };
    follow(&src, &work, &commit).await;
    // Unchanged files of a new snapshot are hard links to the one before.
    let snaps: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("cache/snapshots"))
        .expect("snapshots")
        .map(|e| e.expect("entry").path())
        .collect();
    let linked = snaps.iter().any(|s| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(s.join("zones/sub.a.test.yaml")).is_ok_and(|m| m.nlink() > 1)
    });
    assert!(linked, "an unchanged file is shared between snapshots");
}

/// The directory source reads again only what changed, and finds a change the watcher has
/// not reported yet (status compared on every fetch).
#[tokio::test]
async fn the_directory_source_finds_changes_by_status() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    steps()[0].1(&work);
    let src = DirSource::new(&work, tmp.path().join("snaps")).expect("dir source");
    let a = src.fetch().await.expect("first");
    assert_eq!(src.fetch().await.expect("again"), a);
    // Immediately after the write: no time for the watcher.
    write(&work, "zones/b.test.yaml", &zone("192.0.2.99"));
    let b = src.fetch().await.expect("second");
    assert_ne!(a.revision, b.revision);
    let files = b.files.as_ref().expect("index");
    let before = a.files.as_ref().expect("index");
    let changed: Vec<_> = files
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.display().to_string())
        .collect();
    assert_eq!(changed, ["zones/b.test.yaml"]);
    let text = std::fs::read_to_string(b.root.join("zones/b.test.yaml")).expect("copy");
    assert!(text.contains("192.0.2.99"));
}

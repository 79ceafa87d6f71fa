//! The directory source on a real directory with the real file system watcher.

use std::path::Path;
use std::time::Duration;

use zonekeeper::source::dir::DirSource;
use zonekeeper::source::{Source, SourceError};

/// Generous: a broken watcher fails the test instead of hanging it, a slow machine passes.
const WAIT: Duration = Duration::from_secs(10);

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn manifests(dir: &Path) {
    write(
        dir,
        "zonekeeper.yaml",
        "providers:\n  m:\n    type: memory\nzones:\n  example.com:\n    targets: [m]\n",
    );
    write(
        dir,
        "zones/example.com.yaml",
        "'':\n  type: A\n  value: 192.0.2.1\n",
    );
}

#[tokio::test]
async fn revision_follows_content() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snaps = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    manifests(dir);
    let src = DirSource::new(dir, snaps.path()).expect("new");
    let root = std::fs::canonicalize(dir).expect("canonicalize");
    assert!(src.describe().contains(&root.display().to_string()));

    let a = src.fetch().await.expect("fetch");
    assert!(
        a.revision.starts_with("dir:") && a.revision.len() == 4 + 64,
        "{}",
        a.revision
    );
    // The snapshot is a copy under the snapshots directory, named by the hash.
    assert_eq!(a.root, snaps.path().join(&a.revision[4..]));
    assert!(a.committed_at.is_some());
    assert_eq!(src.fetch().await.expect("again").revision, a.revision);

    // Hidden files (a .git directory, editor swap files) do not count.
    write(dir, ".git/HEAD", "ref: refs/heads/main\n");
    write(dir, "zones/.example.com.yaml.swp", "junk");
    assert_eq!(src.fetch().await.expect("hidden").revision, a.revision);

    // A content change, a new file and a rename each make a new revision.
    write(
        dir,
        "zones/example.com.yaml",
        "'':\n  type: A\n  value: 192.0.2.2\n",
    );
    let b = src.fetch().await.expect("changed");
    assert_ne!(b.revision, a.revision);
    write(
        dir,
        "zones/example.net.yaml",
        "'':\n  type: A\n  value: 192.0.2.3\n",
    );
    let c = src.fetch().await.expect("added");
    assert_ne!(c.revision, b.revision);
    std::fs::rename(
        dir.join("zones/example.net.yaml"),
        dir.join("zones/example.org.yaml"),
    )
    .expect("rename");
    let d = src.fetch().await.expect("renamed");
    assert_ne!(d.revision, c.revision);

    // Same content, same revision: the hash depends on nothing but the files.
    write(
        dir,
        "zones/example.com.yaml",
        "'':\n  type: A\n  value: 192.0.2.1\n",
    );
    std::fs::remove_file(dir.join("zones/example.org.yaml")).expect("rm");
    assert_eq!(src.fetch().await.expect("restored").revision, a.revision);
}

#[tokio::test]
async fn missing_directory_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        DirSource::new(tmp.path().join("absent"), tmp.path().join("s")),
        Err(SourceError::Io { .. })
    ));
    write(tmp.path(), "file", "x");
    assert!(matches!(
        DirSource::new(tmp.path().join("file"), tmp.path().join("s")),
        Err(SourceError::Io { .. })
    ));
}

#[tokio::test]
async fn changed_wakes_on_writes_not_on_reads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snaps = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    manifests(dir);
    let src = DirSource::new(dir, snaps.path()).expect("new");
    let before = src.fetch().await.expect("fetch");

    // Our own fetch reads every file: that must not count as a change, or the
    // controller would fetch forever.
    src.fetch().await.expect("fetch");
    assert!(
        tokio::time::timeout(Duration::from_secs(1), src.changed())
            .await
            .is_err(),
        "changed() resolved although nothing was written"
    );

    // A write in a subdirectory wakes it, once writes have stopped.
    let writer = {
        let dir = dir.to_path_buf();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            write(
                &dir,
                "zones/example.com.yaml",
                "'':\n  type: A\n  value: 192.0.2.9\n",
            );
        })
    };
    tokio::time::timeout(WAIT, src.changed())
        .await
        .expect("changed() did not resolve after a write");
    writer.await.expect("writer");
    let after = src.fetch().await.expect("fetch");
    assert_ne!(after.revision, before.revision);

    // A file in a directory created after the watch started is seen too.
    let dir2 = dir.to_path_buf();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        std::fs::create_dir_all(dir2.join("zones/sub")).expect("mkdir");
        tokio::time::sleep(Duration::from_millis(500)).await;
        write(&dir2, "zones/sub/x.yaml", "a: 1\n");
    });
    tokio::time::timeout(WAIT, src.changed())
        .await
        .expect("changed() did not resolve after mkdir");
    writer.await.expect("writer");
    // The mkdir and the write may be one debounced change or two; the file is seen.
    let _ = tokio::time::timeout(Duration::from_secs(2), src.changed()).await;
    assert_ne!(src.fetch().await.expect("fetch").revision, after.revision);
}

#[tokio::test]
async fn a_snapshot_is_an_immutable_copy_of_exactly_the_hashed_manifests() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snaps = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    manifests(dir);
    let src = DirSource::new(dir, snaps.path()).expect("new");
    let a = src.fetch().await.expect("fetch");
    let zone = "zones/example.com.yaml";
    let copied = std::fs::read_to_string(a.root.join(zone)).expect("copied");
    assert_eq!(
        copied,
        std::fs::read_to_string(dir.join(zone)).expect("original")
    );
    // A rewrite after the scan (say, mid-load) never reaches the snapshot being loaded.
    write(dir, zone, "'':\n  type: A\n  value: 192.0.2.77\n");
    assert_eq!(
        std::fs::read_to_string(a.root.join(zone)).expect("copy"),
        copied
    );
    // Files no manifest needs are neither hashed nor copied: a zonefile provider writing
    // its output inside the directory makes no new revision.
    write(dir, zone, &copied);
    write(dir, "live/example.com.zone", "; output\n");
    write(dir, "notes.txt", "hello");
    let b = src.fetch().await.expect("fetch");
    assert_eq!(b.revision, a.revision);
    assert!(!b.root.join("live").exists());
    assert!(!b.root.join("notes.txt").exists());
    // Old copies are pruned: a few kept, never the current one.
    for i in 0..6 {
        write(
            dir,
            zone,
            &format!("'':\n  type: A\n  value: 192.0.2.{i}\n"),
        );
        let s = src.fetch().await.expect("fetch");
        assert!(s.root.is_dir());
    }
    // Pruning runs in the background after a fetch: give it a few seconds.
    let count = || std::fs::read_dir(snaps.path()).expect("read").count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut kept = count();
    while kept > 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        kept = count();
    }
    assert!(kept <= 3, "{kept} snapshot copies kept");
}

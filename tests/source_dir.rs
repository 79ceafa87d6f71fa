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
    let dir = tmp.path();
    manifests(dir);
    let src = DirSource::new(dir).expect("new");
    let root = std::fs::canonicalize(dir).expect("canonicalize");
    assert!(src.describe().contains(&root.display().to_string()));

    let a = src.fetch().await.expect("fetch");
    assert!(
        a.revision.starts_with("dir:") && a.revision.len() == 4 + 64,
        "{}",
        a.revision
    );
    assert_eq!(a.root, root);
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
        DirSource::new(tmp.path().join("absent")),
        Err(SourceError::Io { .. })
    ));
    write(tmp.path(), "file", "x");
    assert!(matches!(
        DirSource::new(tmp.path().join("file")),
        Err(SourceError::Io { .. })
    ));
}

#[tokio::test]
async fn changed_wakes_on_writes_not_on_reads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    manifests(dir);
    let src = DirSource::new(dir).expect("new");
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

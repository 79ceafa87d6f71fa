//! The conformance suite against the `zonefile` provider, in a throw-away directory.

mod conformance;

use std::collections::BTreeSet;

use zonekeeper::provider::zonefile::{ZonefileProvider, ZonefileSettings};

#[tokio::test]
async fn zonefile_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = ZonefileProvider::new(
        "files",
        ZonefileSettings {
            directory: dir.path().to_path_buf(),
            file_extension: ".zone".into(),
            hostmaster: None,
            default_ttl: 3600,
        },
    );
    let report = conformance::run_suite(&p, "conformance.test.").await;
    // A master file cannot hold ALIAS (a provider pseudo-type): that step, and only it.
    let expected: BTreeSet<String> = ["g16: ALIAS at the apex".to_string()].into();
    assert_eq!(report.skipped_steps(), expected);
    assert!(
        report.skipped[0].reason.contains("ALIAS"),
        "{:?}",
        report.skipped
    );
    // Every zone file left behind reloads cleanly, one per group.
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let origin = name.strip_suffix(".zone").expect("a .zone file");
        let text = std::fs::read_to_string(&path).expect("read zone file");
        let origin = zonekeeper::model::Fqdn::parse(origin).expect("zone name");
        zonekeeper::provider::zonefile::parse_text(&text, &origin)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        files += 1;
    }
    let groups =
        conformance::groups(&zonekeeper::model::Fqdn::parse("conformance.test.").expect("base"));
    assert_eq!(files, groups.len());
}

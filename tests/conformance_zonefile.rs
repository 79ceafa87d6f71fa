//! The conformance suite against the `zonefile` provider, in a throw-away directory.

mod conformance;
mod support;

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

/// Every step of the edge-value groups as a zone file, loaded by BIND's own parser
/// (`named-checkzone -D`, which prints the zone in its presentation form): BIND must load
/// each file and read back exactly the values written, not only zonekeeper's reader.
#[test]
fn bind_loads_the_edge_value_files_as_written() {
    use std::process::Command;
    use zonekeeper::model::presentation::parse;
    use zonekeeper::model::{Fqdn, RecordType, RrKey};

    let test = "bind_loads_the_edge_value_files_as_written";
    if Command::new("named-checkzone").arg("-v").output().is_err() {
        support::missing("named-checkzone (bind9-utils)", test);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let base = Fqdn::parse("edges.test.").expect("base");
    let mut checked = 0;
    for g in conformance::edge_groups(&base) {
        for step in &g.steps {
            let mut desired = step.desired.clone();
            // named-checkzone wants an apex NS.
            let apex_ns = RrKey::new(desired.origin.clone(), RecordType::NS);
            if desired.get(&apex_ns).is_none() {
                desired = conformance::Z(desired)
                    .rr("@", 3600, vec![conformance::ns("ns1.example.net.")])
                    .0;
            }
            let file = dir.path().join("z.zone");
            std::fs::write(&file, zonekeeper::provider::zonefile::render_text(&desired))
                .expect("write");
            let o = Command::new("named-checkzone")
                .args(["-D", "-o", "-", desired.origin.as_str()])
                .arg(&file)
                .output()
                .expect("named-checkzone");
            let dump = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success(),
                "{} {}: BIND refused the file:\n{dump}",
                g.id,
                step.title
            );
            let mut loaded = zonekeeper::model::Zone::new(desired.origin.clone());
            let mut values: std::collections::BTreeMap<RrKey, (u32, Vec<_>)> = Default::default();
            for line in dump.lines().filter(|l| !l.starts_with(';')) {
                // owner TTL class type rdata (rdata verbatim: quoted spaces matter)
                let mut rest = line;
                let mut w = Vec::new();
                for _ in 0..4 {
                    rest = rest.trim_start();
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    w.push(&rest[..end]);
                    rest = &rest[end..];
                }
                let Ok(rtype) = w[3].parse::<RecordType>() else {
                    continue; // SOA
                };
                let key = RrKey::new(Fqdn::parse(w[0]).expect("owner"), rtype);
                let v = parse(rtype, rest.trim()).unwrap_or_else(|e| panic!("{line}: {e}"));
                let e = values
                    .entry(key)
                    .or_insert((w[1].parse().expect("ttl"), Vec::new()));
                e.1.push(v);
            }
            for (k, (ttl, vals)) in values {
                loaded.put(k, zonekeeper::model::RrSet::new(ttl, vals));
            }
            assert_eq!(loaded, desired, "{} {}: as BIND loads it", g.id, step.title);
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked}");
}

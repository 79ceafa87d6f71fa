//! zonekeeper reads octoDNS zones exactly as octoDNS does: the RRsets our zonefile provider
//! writes for `tests/corpus/octodns/zones/example.com.yaml` equal the RRsets octoDNS's BIND
//! provider (octodns-bind) writes for the same file.
//!
//! `golden/example.com.zone` is octodns-bind 1.1.0's output (octoDNS 1.22.0), hand-checked
//! and committed. When octoDNS is installed (scripts/test.sh puts it in a venv and sets
//! ZONEKEEPER_OCTODNS_SYNC), the comparison is also made against a fresh octoDNS run.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use zonekeeper::manifest::octodns::parse_zone;
use zonekeeper::model::{Fqdn, Zone};
use zonekeeper::provider::zonefile::{parse_text, render_text};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/octodns")
}

fn origin() -> Fqdn {
    Fqdn::parse("example.com.").unwrap()
}

/// What zonekeeper's zonefile provider writes for the YAML, read back.
fn ours() -> Zone {
    let file = corpus().join("zones/example.com.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let m = parse_zone(&yaml, &file, &origin()).unwrap_or_else(|d| panic!("{d:?}"));
    parse_text(&render_text(&m.zone), &origin()).unwrap()
}

fn assert_same(ours: &Zone, theirs: &Zone, what: &str) {
    for (k, s) in &theirs.rrsets {
        assert_eq!(ours.get(k), Some(s), "{what}: {k} differs");
    }
    for k in ours.rrsets.keys() {
        assert!(theirs.get(k).is_some(), "{what}: {k} is ours only");
    }
    assert_eq!(ours, theirs);
}

#[test]
fn zonefile_output_equals_octodns_golden() {
    let golden = std::fs::read_to_string(corpus().join("golden/example.com.zone")).unwrap();
    let theirs = parse_text(&golden, &origin()).unwrap();
    assert_eq!(theirs.len(), 23, "the golden file lost records");
    assert_same(&ours(), &theirs, "golden");
}

#[test]
fn zonefile_output_equals_a_fresh_octodns_run() {
    let Some(sync) = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC") else {
        // scripts/test.sh installs octoDNS from PyPI and says loudly when it could not.
        eprintln!("SKIP: ZONEKEEPER_OCTODNS_SYNC is not set (scripts/test.sh installs octoDNS)");
        support::record_skip(
            "octoDNS (ZONEKEEPER_OCTODNS_SYNC)",
            "octodns_compat::zonefile_output_equals_a_fresh_octodns_run",
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("zones")).unwrap();
    std::fs::copy(
        corpus().join("zones/example.com.yaml"),
        tmp.path().join("zones/example.com.yaml"),
    )
    .unwrap();
    std::fs::copy(
        corpus().join("octodns-config.yaml"),
        tmp.path().join("config.yaml"),
    )
    .unwrap();
    let written = octodns_sync(&sync, tmp.path());
    assert_same(
        &ours(),
        &parse_text(&written, &origin()).unwrap(),
        "octodns-sync",
    );
}

/// The zone file zonekeeper writes for the corpus (HTTPS/SVCB in RFC 3597 form among
/// them) loads in BIND, and BIND reads the same HTTPS/SVCB octets from it as from
/// octoDNS's presentation form.
#[test]
fn bind_loads_our_zone_file_with_the_octodns_values() {
    let test = "octodns_compat::bind_loads_our_zone_file_with_the_octodns_values";
    let Some(bin) = support::find_binary("named-checkzone") else {
        support::missing("named-checkzone (bind9-utils)", test);
        return;
    };
    let file = corpus().join("zones/example.com.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let m = parse_zone(&yaml, &file, &origin()).unwrap_or_else(|d| panic!("{d:?}"));
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours.zone");
    std::fs::write(&ours, render_text(&m.zone)).unwrap();
    // BIND's own reading, printed in its canonical presentation form (-D).
    let canon = |path: &Path| {
        let out = Command::new(&bin)
            .args(["-q", "-D", "-o", "-", "example.com"])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "named-checkzone refused {}: {out:?}",
            path.display()
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.contains(" IN HTTPS") || l.contains(" IN SVCB"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let golden = corpus().join("golden/example.com.zone");
    let (a, b) = (canon(&ours), canon(&golden));
    assert_eq!(a.len(), 4, "{a:?}");
    assert_eq!(a, b);
}

/// The YAML 1.1 corpus: unquoted scalars YAML 1.2 reads otherwise (`12345678e9`,
/// `606e970852`, `08`), `!include` (nested, relative to the including file) and a list
/// under `value:`. `golden/` is octoDNS 1.22 + octodns-bind 1.1.0's output for it.
fn yaml11_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/octodns-yaml11")
}

fn yaml11_ours() -> Zone {
    let root = yaml11_corpus();
    let file = root.join("zones/example.com.yaml");
    let m = zonekeeper::manifest::load_zone(&root, &file, &origin(), 3600)
        .unwrap_or_else(|d| panic!("{d:?}"));
    parse_text(&render_text(&m.zone), &origin()).unwrap()
}

#[test]
fn yaml11_scalars_and_includes_equal_octodns_golden() {
    let golden = std::fs::read_to_string(yaml11_corpus().join("golden/example.com.zone")).unwrap();
    let theirs = parse_text(&golden, &origin()).unwrap();
    assert_eq!(theirs.len(), 12, "the golden file lost records");
    assert_same(&yaml11_ours(), &theirs, "yaml11 golden");
}

#[test]
fn yaml11_scalars_and_includes_equal_a_fresh_octodns_run() {
    let Some(sync) = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC") else {
        eprintln!("SKIP: ZONEKEEPER_OCTODNS_SYNC is not set (scripts/test.sh installs octoDNS)");
        support::record_skip(
            "octoDNS (ZONEKEEPER_OCTODNS_SYNC)",
            "octodns_compat::yaml11_scalars_and_includes_equal_a_fresh_octodns_run",
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let copy = Command::new("cp")
        .arg("-r")
        .arg(yaml11_corpus().join("zones"))
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(copy.success());
    std::fs::copy(
        yaml11_corpus().join("octodns-config.yaml"),
        tmp.path().join("config.yaml"),
    )
    .unwrap();
    let written = octodns_sync(&sync, tmp.path());
    assert_same(
        &yaml11_ours(),
        &parse_text(&written, &origin()).unwrap(),
        "yaml11 octodns-sync",
    );
}

/// Runs `octodns-sync --config-file config.yaml --doit` in `dir` and returns the zone file
/// it wrote (`out/example.com.zone`).
fn octodns_sync(sync: &std::ffi::OsStr, dir: &Path) -> String {
    let out = Command::new(sync)
        .args(["--config-file", "config.yaml", "--doit"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "octodns-sync failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("out/example.com.zone")).unwrap()
}

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

/// Runs zonekeeper with `args` on the repository `dir` (its zonekeeper.yaml).
fn zk_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .arg("--config")
        .arg(dir.join("zonekeeper.yaml"))
        .args(args)
        .output()
        .unwrap()
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

/// `enforce_order` as octoDNS 1.22's YamlProvider applies it (`octodns/yaml.py`): by
/// default (natural order) a mapping with keys out of order refuses the file, the first
/// mapping to end reported first, at its first line; `order_mode: simple` sorts by code
/// point; `enforce_order: false` accepts any order. Each case: (source settings, zone
/// file, octoDNS 1.22's error or `None` when it accepts the file).
#[test]
fn key_order_is_enforced_as_octodns_enforces_it() {
    let inner = "'':\n  type: A\n  value: 192.0.2.1\nwww10:\n  type: A\n  value: 192.0.2.10\nwww2:\n  value: 192.0.2.2\n  type: A\n";
    let root = inner.replace(
        "  value: 192.0.2.2\n  type: A\n",
        "  type: A\n  value: 192.0.2.2\n",
    );
    let cases: [(&str, &str, Option<&str>); 5] = [
        ("", inner, Some("keys out of order: expected type got value at ./zones/example.com.yaml, line 8, column 3")),
        ("", &root, Some("keys out of order: expected www2 got www10 at ./zones/example.com.yaml, line 1, column 1")),
        ("    order_mode: simple\n", &root, None),
        ("    enforce_order: false\n", inner, None),
        ("    order_mode: bogus\n", &root, Some("Invalid order_mode, \"bogus\", options are \"natural\", \"simple\"")),
    ];
    let sync = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC");
    for (settings, zone, octodns) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("zones")).unwrap();
        std::fs::write(dir.join("zones/example.com.yaml"), zone).unwrap();
        std::fs::write(
            dir.join("config.yaml"),
            format!("providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n{settings}  out:\n    class: octodns_bind.ZoneFileProvider\n    directory: ./out\n    file_extension: .zone\nzones:\n  example.com.:\n    sources: [config]\n    targets: [out]\n"),
        )
        .unwrap();
        if let Some(sync) = &sync {
            let out = Command::new(sync)
                .args(["--config-file", "config.yaml"])
                .current_dir(dir)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            match octodns {
                Some(want) => assert!(err.contains(want), "octoDNS changed: {err}"),
                None => assert!(out.status.success(), "octoDNS refused: {err}"),
            }
        }
        std::fs::write(
            dir.join("zonekeeper.yaml"),
            "providers:\n  out: {type: zonefile, directory: live}\noctodns:\n  config: config.yaml\n",
        )
        .unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .arg("--config")
            .arg(dir.join("zonekeeper.yaml"))
            .arg("validate")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        match octodns {
            None => assert!(o.status.success(), "{settings}: {err}"),
            Some(want) => {
                assert!(!o.status.success(), "{settings}: accepted");
                // octoDNS's wording, with its position as file:line:column.
                let (what, at) = want.split_once(" at ").unwrap_or((want, ""));
                assert!(err.contains(what), "{settings}: {err}");
                if let Some((_, lc)) = at.split_once(", line ") {
                    let (line, col) = lc.split_once(", column ").unwrap();
                    let file = format!("zones/example.com.yaml:{line}:{col}: {what}");
                    assert!(err.contains(&file), "{settings}: want {file:?} in {err}");
                }
            }
        }
        // A zone file named in zonekeeper.yaml keeps any order (documented difference).
        std::fs::write(
            dir.join("zonekeeper.yaml"),
            "providers:\n  out: {type: zonefile, directory: live}\nzones:\n  example.com: {targets: [out]}\n",
        )
        .unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .arg("--config")
            .arg(dir.join("zonekeeper.yaml"))
            .arg("validate")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// An IDN zone's file is found by its UTF-8 name as octoDNS 1.22 finds it
/// (`YamlProvider._zone_sources`: the UTF-8 name first, then IDNA; both is an error),
/// and zonekeeper writes what octoDNS writes.
#[test]
fn idn_zone_files_are_found_as_octodns_finds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::write(
        dir.join("zones/bücher.example.yaml"),
        "'':\n  type: A\n  value: 192.0.2.1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        "providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n  out:\n    class: octodns_bind.ZoneFileProvider\n    directory: ./out\n    file_extension: .zone\nzones:\n  xn--bcher-kva.example.:\n    sources: [config]\n    targets: [out]\n",
    )
    .unwrap();
    let zone = Fqdn::parse("xn--bcher-kva.example.").unwrap();
    // octoDNS 1.22's output (checked by a fresh run when octoDNS is installed).
    let mut theirs = "$ORIGIN xn--bcher-kva.example.\n@ 3600 IN A 192.0.2.1\n".to_string();
    let sync = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC");
    if let Some(sync) = &sync {
        let out = Command::new(sync)
            .args(["--config-file", "config.yaml", "--doit"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        theirs = std::fs::read_to_string(dir.join("out/xn--bcher-kva.example.zone")).unwrap();
    }
    std::fs::write(
        dir.join("zonekeeper.yaml"),
        "providers:\n  out: {type: zonefile, directory: live}\noctodns:\n  config: config.yaml\n",
    )
    .unwrap();
    let zk = |cmd: &str| {
        Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .arg("--config")
            .arg(dir.join("zonekeeper.yaml"))
            .args(
                [cmd, "--force"]
                    .iter()
                    .take(if cmd == "apply" { 2 } else { 1 }),
            )
            .output()
            .unwrap()
    };
    let o = zk("apply");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = std::fs::read_to_string(dir.join("live/xn--bcher-kva.example.zone")).unwrap();
    let ours = parse_text(&ours, &zone).unwrap();
    let theirs = parse_text(&theirs, &zone).unwrap();
    for (k, s) in &theirs.rrsets {
        assert_eq!(ours.get(k), Some(s), "{k}");
    }
    // Both names present: octoDNS's ProviderException, by zonekeeper too.
    std::fs::write(
        dir.join("zones/xn--bcher-kva.example.yaml"),
        "'':\n  type: A\n  value: 192.0.2.9\n",
    )
    .unwrap();
    if let Some(sync) = &sync {
        let out = Command::new(sync)
            .args(["--config-file", "config.yaml"])
            .current_dir(dir)
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains("Both UTF-8 \"./zones/bücher.example.yaml\" and IDNA \"./zones/xn--bcher-kva.example.yaml\" exist for bücher.example."), "{e}");
    }
    let o = zk("validate");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        e.contains("Both UTF-8 \"") && e.contains("bücher.example.yaml\" and IDNA \""),
        "{e}"
    );
    assert!(e.contains("exist for bücher.example."), "{e}");
}

/// Owner names with characters a zone file must escape (issue 16): octoDNS 1.22 accepts
/// every character but blanks and tabs in a record name; zonekeeper holds the same names,
/// writes them escaped (RFC 1035 section 5.1) so the file reads back to the same names, and
/// a second plan is empty. octoDNS's own YAML output gives the expected names (its BIND
/// provider writes them unescaped, a file no parser reads back).
#[test]
fn owner_names_needing_escapes_are_held_as_octodns_holds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    let zone_yaml = "'\"legacy': {type: A, value: 192.0.2.1}\n'#legacy': {type: A, value: 192.0.2.2}\n$dollar: {type: A, value: 192.0.2.3}\n'(x)': {type: A, value: 192.0.2.4}\n'a;b': {type: A, value: 192.0.2.5}\nat@sign: {type: A, value: 192.0.2.6}\n\"back\\\\slash\": {type: A, value: 192.0.2.7}\n\"bell\\a\": {type: A, value: 192.0.2.8}\n\"nl\\nx\": {type: TXT, value: x}\n";
    std::fs::write(dir.join("zones/example.com.yaml"), zone_yaml).unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        "providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n    enforce_order: false\n  out:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./yout\nzones:\n  example.com.:\n    sources: [config]\n    targets: [out]\n",
    )
    .unwrap();
    // octoDNS 1.22's names (checked by a fresh run when octoDNS is installed).
    let mut theirs: std::collections::BTreeSet<String> = [
        "\"legacy",
        "#legacy",
        "$dollar",
        "(x)",
        "a;b",
        "at@sign",
        "back\\slash",
        "bell\u{7}",
        "nl\nx",
    ]
    .map(String::from)
    .into();
    if let Some(sync) = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC") {
        let out = Command::new(&sync)
            .args(["--config-file", "config.yaml", "--doit"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let written = std::fs::read_to_string(dir.join("yout/example.com.yaml")).unwrap();
        let names: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
            serde_saphyr::from_str(&written).unwrap();
        let fresh: std::collections::BTreeSet<String> = names.into_keys().collect();
        assert_eq!(fresh, theirs, "octoDNS changed");
        theirs = fresh;
    }
    std::fs::write(
        dir.join("zonekeeper.yaml"),
        "providers:\n  out: {type: zonefile, directory: live}\noctodns:\n  config: config.yaml\n",
    )
    .unwrap();
    let zk = |args: &[&str]| zk_in(dir, args);
    let o = zk(&["apply", "--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = zk(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "second plan not empty: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let text = std::fs::read_to_string(dir.join("live/example.com.zone")).unwrap();
    for escaped in [
        "\\\"legacy",
        "\\$dollar",
        "\\(x\\)",
        "a\\;b",
        "at\\@sign",
        "back\\\\slash",
        "bell\\007",
        "nl\\010x",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{escaped} "))),
            "{escaped} not in\n{text}"
        );
    }
    let ours: std::collections::BTreeSet<String> = parse_text(&text, &origin())
        .unwrap()
        .rrsets
        .keys()
        .filter(|k| k.name != origin())
        .map(|k| zonekeeper::model::name::literal_text(k.name.relative_to(&origin()).unwrap()))
        .collect();
    assert_eq!(ours, theirs);
    // A blank is the one character octoDNS refuses: "invalid record, whitespace is not allowed".
    std::fs::write(
        dir.join("zones/example.com.yaml"),
        "'a b': {type: A, value: 192.0.2.1}\n",
    )
    .unwrap();
    let o = zk(&["validate"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(e.contains("whitespace is not allowed"), "{e}");
}

/// Dynamic zone lists (`'*…'` keys) as octoDNS 1.22's `Manager._preprocess_zones` expands
/// them: the source's zones not listed before, filtered by `glob:` (fnmatch; it wins when
/// both are given) or `regex:` (Python `re.search`: unanchored). A pattern only Python's
/// `re` runs (look-around, backreferences) is refused with a message saying so.
#[test]
fn regex_and_glob_zone_lists_pick_the_zones_octodns_picks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    let zones = [
        "alpha.test.",
        "beta.test.",
        "gamma.example.",
        "delta.example.",
        "x1.lab.",
        "x22.lab.",
        "y.lab.",
    ];
    for (i, z) in zones.iter().enumerate() {
        std::fs::write(
            dir.join(format!("zones/{z}yaml")),
            format!("'': {{type: A, value: 192.0.2.{}}}\n", i + 1),
        )
        .unwrap();
    }
    let config = |lists: &str| {
        format!("providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n  out:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./yout\nzones:\n{lists}")
    };
    // Unanchored search (`a.t` matches alpha.test. and beta.test.), an anchored one with a
    // class and repetition, glob winning over regex, and the catch-all for the rest.
    let lists = "  '*search':\n    sources: [config]\n    targets: [out]\n    regex: 'a\\.t'\n  '*lab':\n    sources: [config]\n    targets: [out]\n    regex: '^x\\d{1,2}\\.lab\\.$'\n  '*both':\n    sources: [config]\n    targets: [out]\n    glob: 'gamma.*'\n    regex: 'delta'\n";
    std::fs::write(dir.join("config.yaml"), config(lists)).unwrap();
    // octoDNS 1.22's choice (checked by a fresh run when octoDNS is installed).
    let mut theirs: Vec<String> = [
        "alpha.test.",
        "beta.test.",
        "gamma.example.",
        "x1.lab.",
        "x22.lab.",
    ]
    .map(String::from)
    .into();
    let sync = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC");
    if let Some(sync) = &sync {
        let out = Command::new(sync)
            .args(["--config-file", "config.yaml", "--doit"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut fresh: Vec<String> = std::fs::read_dir(dir.join("yout"))
            .unwrap()
            .map(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                n.strip_suffix("yaml").unwrap().to_string()
            })
            .collect();
        fresh.sort();
        assert_eq!(fresh, theirs, "octoDNS changed");
        theirs = fresh;
    }
    std::fs::write(
        dir.join("zonekeeper.yaml"),
        "providers:\n  out: {type: zonefile, directory: live}\noctodns:\n  config: config.yaml\n",
    )
    .unwrap();
    let zk = |args: &[&str]| zk_in(dir, args);
    let o = zk(&["apply", "--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut ours: Vec<String> = std::fs::read_dir(dir.join("live"))
        .unwrap()
        .map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix("zone").unwrap().to_string()
        })
        .collect();
    ours.sort();
    assert_eq!(ours, theirs);
    // Python-only syntax: octoDNS runs it, zonekeeper refuses it by name; a pattern
    // neither compiles is refused by both.
    for (re, octodns_ok, want) in [
        ("(?<!x)a", true, "uses Python-only syntax"),
        ("^(a)\\1", true, "uses Python-only syntax"),
        ("a(", false, "invalid regex \"a(\""),
    ] {
        let lists =
            format!("  '*x':\n    sources: [config]\n    targets: [out]\n    regex: '{re}'\n");
        std::fs::write(dir.join("config.yaml"), config(&lists)).unwrap();
        if let Some(sync) = &sync {
            let out = Command::new(sync)
                .args(["--config-file", "config.yaml"])
                .current_dir(dir)
                .output()
                .unwrap();
            assert_eq!(
                out.status.success(),
                octodns_ok,
                "{re}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let o = zk(&["validate"]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{re}: accepted");
        assert!(
            e.contains("config.yaml:10:5: zone \"*x\"") && e.contains(want),
            "{re}: {e}"
        );
    }
}

/// A record written in an `!include`d file is reported at that file's line, and included
/// files keep the source's key order, as octoDNS 1.22 (its loader reads included files with
/// the including file's loader and reports a record at its own mapping).
#[test]
fn errors_inside_included_files_are_reported_there() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("zones/sub")).unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        "providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n  out:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./yout\nzones:\n  example.com.:\n    sources: [config]\n    targets: [out]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("zonekeeper.yaml"),
        "providers:\n  out: {type: zonefile, directory: live}\noctodns:\n  config: config.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("zones/example.com.yaml"),
        "api: !include sub/api.yaml\none: !include sub/one.yaml\n",
    )
    .unwrap();
    // (api.yaml, one.yaml, octoDNS 1.22's message and place, zonekeeper's place)
    let cases = [
        (
            "- type: A\n  value: 192.0.2.1\n- type: AAAA\n  value: not-an-ip\n",
            "type: A\nvalue: 192.0.2.2\n",
            "Invalid record \"api.example.com.\", ./zones/sub/api.yaml, line 3, column 3",
            "zones/sub/api.yaml:3:3: api.example.com. AAAA: invalid IPv6 address \"not-an-ip\"",
        ),
        (
            "- type: A\n  value: 192.0.2.1\n",
            "type: A\nvalue: 300.1.1.1\n",
            "Invalid record \"one.example.com.\", ./zones/sub/one.yaml, line 1, column 1",
            "zones/sub/one.yaml:1:1: one.example.com. A: invalid IPv4 address \"300.1.1.1\"",
        ),
        (
            "- type: A\n  value: 192.0.2.1\n",
            "value: 192.0.2.2\ntype: A\n",
            "keys out of order: expected type got value at ./zones/sub/one.yaml, line 1, column 1",
            "zones/sub/one.yaml:1:1: keys out of order: expected type got value",
        ),
    ];
    let sync = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC");
    for (api, one, octodns, ours) in cases {
        std::fs::write(dir.join("zones/sub/api.yaml"), api).unwrap();
        std::fs::write(dir.join("zones/sub/one.yaml"), one).unwrap();
        if let Some(sync) = &sync {
            let out = Command::new(sync)
                .args(["--config-file", "config.yaml"])
                .current_dir(dir)
                .output()
                .unwrap();
            let e = String::from_utf8_lossy(&out.stderr);
            assert!(e.contains(octodns), "octoDNS changed: {e}");
        }
        let o = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .arg("--config")
            .arg(dir.join("zonekeeper.yaml"))
            .arg("validate")
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{one}: accepted");
        assert!(e.contains(ours), "want {ours:?} in {e}");
    }
}

/// octoDNS 1.22's processors against a target holding records already: each case's
/// zone as octoDNS writes it to a YamlProvider target is the zone zonekeeper writes to its
/// zonefile provider from the same repository, and a second plan is empty. Each case:
/// (processors and zone list, source zone, records live before, live records the target
/// side filters out). octoDNS's YamlProvider rewrites its file from the *filtered* live
/// zone, so those are absent from its file; zonekeeper, like octoDNS on a provider that
/// writes changes only, leaves them as they were.
#[test]
fn processors_give_the_zone_octodns_gives() {
    let Some(sync) = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC") else {
        eprintln!("SKIP: ZONEKEEPER_OCTODNS_SYNC is not set (scripts/test.sh installs octoDNS)");
        support::record_skip(
            "octoDNS (ZONEKEEPER_OCTODNS_SYNC)",
            "octodns_compat::processors_give_the_zone_octodns_gives",
        );
        return;
    };
    let owner =
        "processors:\n  owner:\n    class: octodns.processor.ownership.OwnershipProcessor\n";
    let source = "'':\n- type: A\n  value: 192.0.2.1\n- type: NS\n  values: [ns1.example.net., ns2.example.net.]\n'*':\n  type: A\n  value: 192.0.2.5\nmail:\n  type: MX\n  value: {exchange: mx.example.net., preference: 10}\nold:\n  type: A\n  value: 192.0.2.9\nwww:\n  type: CNAME\n  value: example.com.\n";
    // Owned (`old` A and its marker, `gone` A and its marker), unowned (`legacy`, the apex
    // TXT), and an owned record whose value changes.
    let live = "'':\n  type: TXT\n  value: v=spf1 -all\n_owner.a.gone:\n  ttl: 60\n  type: TXT\n  value: '*octodns*'\n_owner.a.old:\n  ttl: 60\n  type: TXT\n  value: '*octodns*'\ngone:\n  type: A\n  value: 192.0.2.7\nlegacy:\n  type: A\n  value: 192.0.2.8\nold:\n  type: A\n  value: 192.0.2.10\n";
    let filters = "processors:\n  no-txt:\n    class: octodns.processor.filter.TypeRejectlistFilter\n    rejectlist: [TXT]\n  names:\n    class: octodns.processor.filter.NameRejectlistFilter\n    rejectlist: [legacy, '/^ol/']\n  root-ns:\n    class: octodns.processor.filter.IgnoreRootNsFilter\n";
    let allow = "processors:\n  only:\n    class: octodns.processor.filter.TypeAllowlistFilter\n    allowlist: [A, MX]\n  names:\n    class: octodns.processor.filter.NameAllowlistFilter\n    allowlist: ['', '/^(g|m|o)/', '*']\n    include_target: false\n";
    let cases: [(&str, &str, &[&str]); 4] = [
        (owner, "[owner]", &[]),
        (
            &owner.replace(
                "OwnershipProcessor\n",
                "OwnershipProcessor\n    txt_name: _zk\n    txt_value: mine\n    txt_ttl: 300\n",
            ),
            "[owner]",
            &[],
        ),
        (
            filters,
            "[no-txt, names, root-ns]",
            &[
                "example.com. TXT",
                "legacy.example.com. A",
                "old.example.com. A",
                "_owner.a.gone.example.com. TXT",
                "_owner.a.old.example.com. TXT",
            ],
        ),
        (
            allow,
            "[only, names]",
            &[
                "example.com. TXT",
                "_owner.a.gone.example.com. TXT",
                "_owner.a.old.example.com. TXT",
            ],
        ),
    ];
    for (processors, list, filtered) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for d in ["zones", "yout", "live"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("zones/example.com.yaml"), source).unwrap();
        std::fs::write(dir.join("yout/example.com.yaml"), live).unwrap();
        let before = parse_zone(live, Path::new("live.yaml"), &origin()).unwrap();
        std::fs::write(dir.join("live/example.com.zone"), render_text(&before.zone)).unwrap();
        std::fs::write(
            dir.join("config.yaml"),
            format!("providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n  out:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./yout\n{processors}zones:\n  example.com.:\n    sources: [config]\n    targets: [out]\n    processors: {list}\n"),
        )
        .unwrap();
        let out = Command::new(&sync)
            .args(["--config-file", "config.yaml", "--doit", "--force"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{list}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let written = std::fs::read_to_string(dir.join("yout/example.com.yaml")).unwrap();
        let mut theirs = parse_zone(&written, Path::new("yout.yaml"), &origin())
            .unwrap_or_else(|d| panic!("{d:?}"))
            .zone;
        for k in filtered {
            let key = before
                .zone
                .rrsets
                .keys()
                .find(|b| b.to_string() == *k)
                .unwrap_or_else(|| panic!("{k}"));
            theirs.put(key.clone(), before.zone.get(key).unwrap().clone());
        }
        std::fs::write(
            dir.join("zonekeeper.yaml"),
            "providers:\n  out: {type: zonefile, directory: live}\noctodns:\n  config: config.yaml\n",
        )
        .unwrap();
        let zk = |args: &[&str]| zk_in(dir, args);
        let o = zk(&["apply", "--force"]);
        assert!(
            o.status.success(),
            "{list}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = std::fs::read_to_string(dir.join("live/example.com.zone")).unwrap();
        let ours = parse_text(&text, &origin()).unwrap();
        assert_same(&ours, &theirs, list);
        let o = zk(&["plan"]);
        let plan = String::from_utf8_lossy(&o.stdout);
        assert!(
            plan.contains("0 change(s) in"),
            "{list}: re-plan not empty:\n{plan}"
        );
    }
}

/// Someone else's ownership marker on a record this zone would take over: octoDNS 1.22
/// raises OwnershipException and writes nothing; zonekeeper blocks the target with the
/// same reason and writes nothing. The plan also says how many unowned changes it left
/// out. `allow_takeover: true` takes it over.
#[test]
fn a_foreign_ownership_marker_refuses_the_takeover() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for d in ["zones", "yout", "live"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::write(
        dir.join("zones/example.com.yaml"),
        "www:\n  type: A\n  value: 192.0.2.1\n",
    )
    .unwrap();
    let live = "_owner.a.www:\n  type: TXT\n  value: someone-else\nlegacy:\n  type: A\n  value: 192.0.2.8\nwww:\n  type: A\n  value: 192.0.2.2\n";
    std::fs::write(dir.join("yout/example.com.yaml"), live).unwrap();
    let before = parse_zone(live, Path::new("live.yaml"), &origin()).unwrap();
    let zone_text = render_text(&before.zone);
    std::fs::write(dir.join("live/example.com.zone"), &zone_text).unwrap();
    let config = |extra: &str| {
        format!("providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n  out:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./yout\nprocessors:\n  owner:\n    class: octodns.processor.ownership.OwnershipProcessor\n{extra}zones:\n  example.com.:\n    sources: [config]\n    targets: [out]\n    processors: [owner]\n")
    };
    std::fs::write(dir.join("config.yaml"), config("")).unwrap();
    let sync = std::env::var_os("ZONEKEEPER_OCTODNS_SYNC");
    if let Some(sync) = &sync {
        let out = Command::new(sync)
            .args(["--config-file", "config.yaml", "--doit", "--force"])
            .current_dir(dir)
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && e.contains("refusing to take over _owner.a.www.example.com. A"),
            "{e}"
        );
    }
    std::fs::write(
        dir.join("zonekeeper.yaml"),
        "providers:\n  out: {type: zonefile, directory: live}\noctodns:\n  config: config.yaml\n",
    )
    .unwrap();
    let zk = |args: &[&str]| zk_in(dir, args);
    let o = zk(&["apply", "--force"]);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("processor \"owner\": refusing to take over _owner.a.www.example.com. A, owned by ['someone-else'], not ['*octodns*']; set allow_takeover=true to override"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.join("live/example.com.zone")).unwrap(),
        zone_text
    );
    // Taken over: `www` and its marker written, `legacy` (unowned) left and counted.
    std::fs::write(
        dir.join("config.yaml"),
        config("    allow_takeover: true\n"),
    )
    .unwrap();
    let o = zk(&["plan"]);
    let plan = String::from_utf8_lossy(&o.stdout);
    assert!(
        plan.contains("1 change(s) to records this zone does not own left out"),
        "{plan}"
    );
    let o = zk(&["apply", "--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = parse_text(
        &std::fs::read_to_string(dir.join("live/example.com.zone")).unwrap(),
        &origin(),
    )
    .unwrap();
    if let Some(sync) = &sync {
        let out = Command::new(sync)
            .args(["--config-file", "config.yaml", "--doit", "--force"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let written = std::fs::read_to_string(dir.join("yout/example.com.yaml")).unwrap();
        let theirs = parse_zone(&written, Path::new("yout.yaml"), &origin())
            .unwrap()
            .zone;
        assert_same(&ours, &theirs, "takeover");
    }
    assert_eq!(ours.len(), 3, "{ours:?}");
}

//! Differential test of the zone-file parse: its shortcuts (a big file cut into pieces parsed
//! on all cores, the common zone file read straight from YAML events by `manifest::fast`
//! instead of serde-saphyr, integers judged from their source text without copying it) must give
//! byte-identical results and diagnostics to the general path (`with_general_path`: one
//! piece, every scalar's source read back), over the test corpus, the octoDNS compatibility
//! inputs and generated zones big enough to be cut, valid and invalid.

use std::path::{Path, PathBuf};

use zonekeeper::input::Diagnostic;
use zonekeeper::manifest::octodns::{parse_zone_with, ZoneManifest};
use zonekeeper::manifest::raw::{with_general_path, Includes};
use zonekeeper::model::Fqdn;

/// Everything a parse returns, as text: the manifest's parts (positions sorted) or each
/// diagnostic as printed and as data.
fn canonical(r: &Result<ZoneManifest, Vec<Diagnostic>>) -> String {
    match r {
        Ok(m) => {
            let mut pos: Vec<_> = m.positions.iter().collect();
            pos.sort_by(|a, b| a.0.cmp(b.0));
            format!(
                "ok\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}\n{}",
                m.zone,
                m.ignored,
                m.filters,
                m.settings,
                pos,
                m.content_sha256,
                m.file.display()
            )
            .replace("), (", "),\n(")
        }
        Err(d) => d.iter().map(|d| format!("{d}\n{d:?}\n")).collect(),
    }
}

/// Parses `text` both ways and fails at the first line where they differ.
fn same_both_ways(text: &str, file: &Path, root: &Path, origin: &Fqdn) -> bool {
    let parse = || parse_zone_with(text, file, origin, Some(Includes::of(root, file)), 3600);
    let fast = canonical(&parse());
    let general = canonical(&with_general_path(parse));
    if let Some((i, (f, g))) = fast
        .lines()
        .zip(general.lines())
        .enumerate()
        .find(|(_, (f, g))| f != g)
    {
        panic!(
            "{}: line {} of the results differs\n  shortcut: {f}\n  general:  {g}",
            file.display(),
            i + 1
        );
    }
    assert_eq!(
        fast.lines().count(),
        general.lines().count(),
        "{}",
        file.display()
    );
    general.starts_with("ok")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_and_octodns_inputs_parse_the_same_both_ways() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 50, "corpus not found: {}", root.display());
    let origin = Fqdn::parse("example.com.").unwrap();
    let (mut ok, mut refused) = (0, 0);
    for f in &files {
        // Files that are not UTF-8 are refused before any parse.
        let Ok(text) = String::from_utf8(std::fs::read(f).unwrap()) else {
            continue;
        };
        if same_both_ways(&text, f, &root, &origin) {
            ok += 1;
        } else {
            refused += 1;
        }
    }
    // Both kinds are compared, not only one.
    assert!(ok > 5 && refused > 5, "{ok} parsed, {refused} refused");
}

/// A zone of `n` names of mixed types (MX, SRV and CAA as field mappings), as octoDNS YAML;
/// with `bad`, about one name in 150 is spoilt in one of many ways octoDNS or zonekeeper
/// refuses (or reads otherwise).
fn generated(n: usize, bad: bool) -> String {
    let mut s = String::from(
        "---\n'':\n  - type: NS\n    values:\n    - ns1.example.net.\n    - ns2.example.net.\n",
    );
    let spoil = [
        "  ttl: 0300\n",
        "  ttl: 1_000\n",
        "  ttl: -5\n",
        "  ttl: 3e2\n",
        "  ttl: 4294967296\n",
        "  ttl: '300'\n",
        "  ttl: 1:30\n",
        "  valeu: x\n",
        "  ttl: 00\n",
        "  ttl: 0\n",
    ];
    for i in 0..n {
        let spoilt = bad && i % 150 == 149;
        let (name, body) = match i % 10 {
            0..=3 => (
                format!("host{i}"),
                format!("  type: A\n  ttl: 300\n  value: 10.0.{}.{}\n", i / 250 % 256, i % 250),
            ),
            4 => (
                format!("v6-{i}"),
                format!("  type: AAAA\n  value: 2001:db8::{i:x}\n"),
            ),
            5 => (
                format!("alias{i}"),
                format!("  type: CNAME\n  ttl: 3600\n  value: host{}.example.com.\n", i - 5),
            ),
            6 => (
                format!("txt{i}"),
                format!("  type: TXT\n  value: v=spf1 ip4:10.0.{}.0/24 -all\\; id={i}\n", i % 250),
            ),
            7 => (
                format!("mx{i}"),
                format!(
                    "  type: MX\n  values:\n  - preference: {}\n    exchange: mail.example.net.\n  - priority: 20\n    value: mail2.example.net.\n",
                    if spoilt { "010".to_string() } else { (i % 50).to_string() }
                ),
            ),
            8 => (
                format!("_sip._tcp.svc{i}"),
                format!(
                    "  type: SRV\n  ttl: 600\n  value:\n    priority: 10\n    weight: {}\n    port: {}\n    target: sip.example.net.\n",
                    i % 100,
                    if spoilt { 65536 } else { 5060 }
                ),
            ),
            _ => (
                format!("caa{i}"),
                format!(
                    "  type: CAA\n  value:\n    flags: {}\n    tag: issue\n    value: letsencrypt.org\n",
                    if spoilt { "0x80" } else { "0" }
                ),
            ),
        };
        s.push_str(&name);
        s.push_str(":\n");
        s.push_str(&body);
        if spoilt {
            s.push_str(spoil[i / 150 % spoil.len()]);
        }
    }
    if bad {
        s.push_str("No:\n  type: A\n  value: 192.0.2.2\nbad-ip:\n  type: A\n  value: 10.0.0.999\n");
    }
    s
}

#[test]
fn generated_zones_parse_the_same_both_ways() {
    let root = tempfile::tempdir().unwrap();
    let origin = Fqdn::parse("example.com.").unwrap();
    for (n, bad) in [(300, false), (300, true), (12_000, false), (12_000, true)] {
        let text = generated(n, bad);
        let file = root.path().join(format!("n{n}-{bad}.yaml"));
        if n > 10_000 {
            // Big enough to be cut into pieces (octodns::PARALLEL_MIN_BYTES).
            assert!(text.len() >= 512 * 1024, "{} bytes", text.len());
        }
        assert_eq!(
            same_both_ways(&text, &file, root.path(), &origin),
            !bad,
            "{}",
            file.display()
        );
        // A file whose pieces do not parse alone (a block scalar cut in two) and one that
        // is not YAML at all near its end.
        if n > 10_000 && !bad {
            let folded =
                text.replacen("host4000:\n  type: A\n", "host4000:\n  type: >\n    A\n", 1);
            same_both_ways(&folded, &file, root.path(), &origin);
            let broken = format!("{text}tail: [\n");
            assert!(!same_both_ways(&broken, &file, root.path(), &origin));
            // A name of the first piece given again in the last: one duplicate-key error.
            let again = format!("{text}host0:\n  type: A\n  value: 192.0.2.1\n");
            assert!(!same_both_ways(&again, &file, root.path(), &origin));
        }
    }
}

/// Small zone files of the scalar and layout forms a fast reader can get wrong (escapes,
/// folding, quoting, YAML 1.1 readings, markers, comments, line ends, odd keys): each is
/// parsed both ways and must give the same result or the same diagnostics.
#[test]
fn tricky_forms_parse_the_same_both_ways() {
    let cases: &[&str] = &[
        "\u{feff}'': {type: A, value: 192.0.2.1}\n",
        "www:\r\n  type: A\r\n  value: 192.0.2.1\r\n",
        "txt: {type: TXT, value: \"a\\x41\\u00e9\\tb\\\\c\"}\n",
        "txt:\n  type: TXT\n  value: \"first\n    second\"\n",
        "txt:\n  type: TXT\n  value: \"first \\\n    second\"\n",
        "txt: {type: TXT, value: 'it''s'}\n",
        "txt:\n  type: TXT\n  value: 'a\n    b'\n",
        "txt:\n  type: TXT\n  value: a\n    b\n",
        "txt:\n  type: TXT\n  value: a # comment\n",
        "txt:\n  type: TXT\n  value: a#b\n",
        "www: {type: A, value: 192.0.2.1} # trailing\n",
        "www: {type: A, ttl: 0x10, value: 192.0.2.1}\n",
        "www: {type: A, ttl: 010, value: 192.0.2.1}\n",
        "www: {type: A, ttl: 1_000, value: 192.0.2.1}\n",
        "www: {type: A, ttl: +5, value: 192.0.2.1}\n",
        "www: {type: A, ttl: 1e3, value: 192.0.2.1}\n",
        "www: {type: A, ttl: -1, value: 192.0.2.1}\n",
        "www: {type: A, ttl: 99999999999999999999, value: 192.0.2.1}\n",
        "www: {type: A, ttl: 1:00, value: 192.0.2.1}\n",
        "www: {type: A, ttl: '300', value: 192.0.2.1}\n",
        "txt: {type: TXT, value: 1.5}\n",
        "txt: {type: TXT, value: yes}\n",
        "txt: {type: TXT, value: ~}\n",
        "txt: {type: TXT, value: null}\n",
        "txt: {type: TXT, value: 12:30}\n",
        "txt: {type: TXT, value: 0o17}\n",
        "txt: {type: TXT, value: .inf}\n",
        "txt: {type: TXT, value: 123456789012345678901234}\n",
        "txt: {type: TXT, values: [1, '2', \"3\", 4.0]}\n",
        "\"WWW\": {type: A, value: 192.0.2.1}\n",
        "www : {type: A, value: 192.0.2.1}\n",
        "? www\n: {type: A, value: 192.0.2.1}\n",
        "www: &a {type: A, value: 192.0.2.1}\nw2: *a\n",
        "---\nwww: {type: A, value: 192.0.2.1}\n...\n",
        "www: {type: A, value: 192.0.2.1}\n---\nx: {type: A, value: 192.0.2.2}\n",
        "www:\n\ttype: A\n",
        "www: {type: A, type: AAAA, value: 192.0.2.1}\n",
        "www: {type: A, value: 192.0.2.1}\nwww: {type: A, value: 192.0.2.2}\n",
        "www: {type: A, value:}\n",
        "www: {type: A, values: []}\n",
        "www: {type: a, value: 192.0.2.1}\n",
        "www: {type: \"A\", value: \"192.0.2.1\"}\n",
        "bücher: {type: A, value: 192.0.2.1}\n",
        "www:\n- type: A\n  value: 192.0.2.1\n- type: AAAA\n  value: 2001:db8::1\n",
        "www:\n  - {type: A, values: [192.0.2.1, 192.0.2.2]}\n  - type: TXT\n    values:\n      - a\n      - 'b'\n",
        "mx: {type: MX, value: {preference: 10, exchange: mx.example.}}\n",
        "",
        "{}\n",
        "~\n",
        "[]\n",
        "www:\n",
        "www: {type: A, value: 192.0.2.1, bogus: 1}\n",
        "www: {type: CNAME, value: target}\n",
        "www: {type: TXT, value: \"v=spf1 include:a.example ~all\"}\n",
        "txt: {type: TXT, value: |\n    block\n    text\n  }\n",
        "txt:\n  type: TXT\n  value: >-\n    folded\n    text\n",
        "txt: {type: TXT, value: 'single ''quoted'' \\n no escape'}\n",
        "%YAML 1.1\n---\nwww: {type: A, value: 192.0.2.1}\n",
        "www: !!str {type: A, value: 192.0.2.1}\n",
        "txt: {type: TXT, value: !!str 0x10}\n",
        "www: {type: A, value: 192.0.2.1}  \n\n\n",
        "  www: {type: A, value: 192.0.2.1}\n",
        "www: {type: A, \"value\": 192.0.2.1}\n",
        "www: {type: A, ttl: 300 , value: 192.0.2.1 }\n",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = Fqdn::parse("example.com.").expect("origin");
    for (i, text) in cases.iter().enumerate() {
        let file = dir.path().join(format!("case{i}.yaml"));
        std::fs::write(&file, text).expect("write");
        same_both_ways(text, &file, dir.path(), &origin);
    }
}

//! Issue 11's three inputs, as a new user meets them: octoDNS YAML manifests, the
//! `zonekeeper` binary, and what each server then SERVES, read with `dig` (BIND's own
//! presentation code) and as RFC 3597 octets (`+unknownformat`), never through zonekeeper's
//! reading. Targets: a zone file (loaded by `named-checkzone -D`), a real PowerDNS (its DNS
//! port) and a real BIND written over RFC 2136.
//!
//! - The NAPTR whose regexp is `'!^(.*)$!sip:\\1@example.com!'` in YAML is served with ONE
//!   backslash (octoDNS reads YAML strings as presentation text).
//! - The LOC with whole minutes and seconds (which PowerDNS 4.x's API refuses unless spelled
//!   `49 17 60.000 N`) is served as RFC 1876's octets for 49°18'0"N 10°35'0"E, 409 m.
//! - The DS with a 6-octet SHA-256 digest is refused by `validate`, with file:line.
//!
//! Then `plan` is empty. Skips (printed) when a server is not installed, unless
//! ZONEKEEPER_REQUIRE_SERVERS=1.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::bind::{Bind, BindZone, KEY_NAME};
use support::pdns::Pdns;

const ZONE: &str = "fidelity.test.";

/// The issue's NAPTR and LOC, as octoDNS YAML (the apex NS matches the BIND zone's).
const MANIFEST: &str = r#"'':
  - {type: NS, values: [ns1.example.net., ns2.example.net.]}
sip:
  type: NAPTR
  value: {order: 100, preference: 10, flags: U, service: E2U+sip,
          regexp: '!^(.*)$!sip:\\1@example.com!', replacement: .}
hq:
  type: LOC
  value: {lat_degrees: 49, lat_minutes: 18, lat_seconds: 0, lat_direction: N,
          long_degrees: 10, long_minutes: 35, long_seconds: 0, long_direction: E,
          altitude: 409, size: 1, precision_horz: 10000, precision_vert: 10}
"#;

/// The issue's DS: digest type 2 (SHA-256, 32 octets) with a 6-octet digest.
const BAD_DS: &str = r#"sub:
  - {type: NS, values: [ns1.example.org.]}
  - type: DS
    value: {key_tag: 39556, algorithm: 13, digest_type: 2, digest: aabbccddeeff}
"#;

/// RFC 3403 §4.1 NAPTR RDATA for the manifest's value: order, preference, three
/// character-strings, the root name. The regexp holds exactly one backslash (0x5c).
fn naptr_octets() -> Vec<u8> {
    let mut w = Vec::new();
    w.extend_from_slice(&100u16.to_be_bytes());
    w.extend_from_slice(&10u16.to_be_bytes());
    for s in [&b"U"[..], b"E2U+sip", b"!^(.*)$!sip:\\1@example.com!"] {
        w.push(s.len() as u8);
        w.extend_from_slice(s);
    }
    w.push(0);
    w
}

/// RFC 1876 §2 LOC RDATA for 49 18 0 N 10 35 0 E 409m 1m 10000m 10m.
fn loc_octets() -> Vec<u8> {
    let equator: u64 = 1 << 31;
    let lat = equator + (49 * 3600 + 18 * 60) * 1000;
    let long = equator + (10 * 3600 + 35 * 60) * 1000;
    let alt: u64 = 100_000 * 100 + 409 * 100;
    // Version 0; size 1 m = 1e2 cm, 10000 m = 1e6 cm, 10 m = 1e3 cm (digit, exponent).
    let mut w = vec![0, 0x12, 0x16, 0x13];
    for v in [lat, long, alt] {
        w.extend_from_slice(&(v as u32).to_be_bytes());
    }
    w
}

/// `\# <len> <hex>` as dig prints it with `+unknownformat`, as octets.
fn generic_octets(rdata: &str) -> Vec<u8> {
    let mut words = rdata.split_whitespace();
    assert_eq!(words.next(), Some("\\#"), "{rdata}");
    let len: usize = words.next().and_then(|l| l.parse().ok()).expect("length");
    let bytes = hex::decode(words.collect::<String>()).expect("hex");
    assert_eq!(bytes.len(), len, "{rdata}");
    bytes
}

/// The rdata of the one answer `dig` gets for `name`/`rtype` at 127.0.0.1:`port`.
fn dig(port: u16, name: &str, rtype: &str, generic: bool) -> String {
    let mut cmd = Command::new("dig");
    cmd.args(["+noall", "+answer", "+norecurse", "+time=2", "+tries=2"]);
    if generic {
        cmd.arg("+unknownformat");
    }
    let out = cmd
        .args(["@127.0.0.1", "-p", &port.to_string(), name, rtype])
        .output()
        .expect("run dig");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "dig {name} {rtype} on port {port}:\n{text}");
    rdata_of(lines[0])
}

/// The rdata of a `name ttl class type rdata` line.
fn rdata_of(line: &str) -> String {
    line.split_whitespace()
        .skip(4)
        .collect::<Vec<_>>()
        .join(" ")
}

fn zonekeeper(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run zonekeeper")
}

fn ok(config: &Path, args: &[&str]) -> String {
    let o = zonekeeper(config, args);
    assert!(
        o.status.success(),
        "zonekeeper {args:?} failed ({:?}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_short_ds_digest_is_refused_by_validate_with_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("zones")).expect("mkdir");
    std::fs::write(dir.path().join("zones/ds.test.yaml"), BAD_DS).expect("write");
    let live = dir.path().join("live");
    let config = dir.path().join("zonekeeper.yaml");
    std::fs::write(
        &config,
        format!(
            "providers:\n  files:\n    type: zonefile\n    directory: {}\nzones:\n  ds.test.:\n    targets: [files]\n",
            live.display()
        ),
    )
    .expect("write config");
    let o = zonekeeper(&config, &["validate"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "validate accepted the DS:\n{err}");
    // The DS item starts on line 3 of the manifest.
    assert!(err.contains("ds.test.yaml:3:"), "no file:line in:\n{err}");
    assert!(
        err.contains("digest is 6 octets") && err.contains("RFC 4509 §2.2"),
        "{err}"
    );
    // And `apply` writes nothing.
    assert!(!zonekeeper(&config, &["apply"]).status.success());
    assert!(!live.join("ds.test.zone").exists());
}

#[test]
fn served_octets_are_the_manifests_on_zonefile_powerdns_and_bind() {
    let test = "served_octets_are_the_manifests_on_zonefile_powerdns_and_bind";
    let Some(pdns) = Pdns::start(test) else {
        return;
    };
    let Some(bind) = Bind::start(test, &[BindZone::strict(ZONE)]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("zones")).expect("mkdir");
    std::fs::write(d.join(format!("zones/{ZONE}yaml")), MANIFEST).expect("write manifest");
    std::fs::write(d.join("tsig.secret"), &bind.secret).expect("write secret");
    // Writes the API key file the settings point at.
    let pdns_key = pdns.dir.path().join("api-key");
    let _ = pdns.settings(true);
    let config = d.join("zonekeeper.yaml");
    std::fs::write(
        &config,
        format!(
            "providers:
  files:
    type: zonefile
    directory: {live}
  pdns:
    type: powerdns
    url: {url}
    api_key: file:{key}
    create_zones: true
  bind:
    type: rfc2136
    server: {server}
    tsig:
      name: {KEY_NAME}
      secret: file:{secret}
    zones: [{ZONE}]
zones:
  {ZONE}:
    targets: [files, pdns, bind]
",
            live = d.join("live").display(),
            url = pdns.api_url(),
            key = pdns_key.display(),
            server = bind.server(),
            secret = d.join("tsig.secret").display(),
        ),
    )
    .expect("write config");

    ok(&config, &["validate"]);
    let out = ok(&config, &["apply"]);
    assert!(out.contains("verified in sync"), "{out}");
    let o = zonekeeper(&config, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "plan after apply is not empty:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    let sip = format!("sip.{ZONE}");
    let hq = format!("hq.{ZONE}");
    // Served octets, as RFC 3597 generic data: exactly the RFC's encoding.
    let mut presentation = Vec::new();
    for (server, port) in [("PowerDNS", pdns.dns_port), ("BIND", bind.port)] {
        let naptr = generic_octets(&dig(port, &sip, "NAPTR", true));
        assert_eq!(
            naptr,
            naptr_octets(),
            "{server} serves the NAPTR as {:?}",
            String::from_utf8_lossy(&naptr)
        );
        assert_eq!(
            naptr.iter().filter(|&&b| b == b'\\').count(),
            1,
            "{server}: one backslash"
        );
        assert_eq!(
            generic_octets(&dig(port, &hq, "LOC", true)),
            loc_octets(),
            "{server} serves another LOC"
        );
        presentation.push((
            server,
            dig(port, &sip, "NAPTR", false),
            dig(port, &hq, "LOC", false),
        ));
    }
    // BIND's presentation of those octets (a backslash shown as `\\`).
    assert_eq!(
        presentation[0].1,
        r#"100 10 "U" "E2U+sip" "!^(.*)$!sip:\\1@example.com!" ."#
    );
    assert_eq!(
        presentation[0].2,
        "49 18 0.000 N 10 35 0.000 E 409.00m 1m 10000m 10m"
    );
    assert_eq!(
        (&presentation[0].1, &presentation[0].2),
        (&presentation[1].1, &presentation[1].2),
        "PowerDNS and BIND serve the same"
    );

    // The zone file, as BIND loads it, holds the same records.
    let file = d
        .join("live")
        .join(format!("{}.zone", ZONE.trim_end_matches('.')));
    let o = Command::new("named-checkzone")
        .args(["-D", "-o", "-", ZONE])
        .arg(&file)
        .output();
    let Ok(o) = o else {
        support::missing("named-checkzone (bind9-utils)", test);
        return;
    };
    let dump = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "named-checkzone refused the file:\n{dump}"
    );
    let rdata = |owner: &str, rtype: &str| {
        let lines: Vec<String> = dump
            .lines()
            .filter(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.first() == Some(&owner) && w.get(3) == Some(&rtype)
            })
            .map(rdata_of)
            .collect();
        assert_eq!(lines.len(), 1, "{owner} {rtype} in:\n{dump}");
        lines[0].clone()
    };
    assert_eq!(rdata(&sip, "NAPTR"), presentation[0].1, "zone file NAPTR");
    assert_eq!(rdata(&hq, "LOC"), presentation[0].2, "zone file LOC");
}

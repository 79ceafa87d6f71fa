//! `zonekeeper bench`: generates zones of mixed records, times `validate` and `plan` in child
//! processes (so each run's peak memory is its own) and writes a Markdown table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};

use zonekeeper::manifest::render::zone_to_yaml;
use zonekeeper::model::rdata::{Caa, Mx, Srv, Txt};
use zonekeeper::model::{Fqdn, RData, RecordType, RrKey, RrSet, Zone};
use zonekeeper::provider::zonefile;

/// Environment variable that makes a zonekeeper process print its peak RSS on exit.
pub const PEAK_ENV: &str = "ZONEKEEPER_REPORT_PEAK_RSS";

/// Prints `peak_rss_kb=N` to stderr when [`PEAK_ENV`] is set (Linux only).
pub fn report_peak_rss() {
    if std::env::var_os(PEAK_ENV).is_none() {
        return;
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
            let kb: String = line.chars().filter(char::is_ascii_digit).collect();
            eprintln!("peak_rss_kb={kb}");
        }
    }
}

/// A deterministic zone of about `records` records of mixed types.
pub fn generate(origin: &Fqdn, records: usize) -> Zone {
    let mut z = Zone::new(origin.clone());
    let name = |i: usize, p: &str| {
        Fqdn::parse(&format!("{p}{i}.{origin}")).expect("generated names are valid")
    };
    let mut count = 0;
    let mut i = 0;
    z.put(
        RrKey::new(origin.clone(), RecordType::NS),
        RrSet::new(
            3600,
            vec![
                RData::Ns(Fqdn::parse("ns1.example.net.").expect("valid")),
                RData::Ns(Fqdn::parse("ns2.example.net.").expect("valid")),
            ],
        ),
    );
    while count < records {
        let ip = |k: usize| std::net::Ipv4Addr::from(0x0a00_0000u32 + k as u32);
        let (key, set) = match i % 20 {
            0..=7 => (
                RrKey::new(name(i, "host"), RecordType::A),
                RrSet::new(300, vec![RData::A(ip(i))]),
            ),
            8..=10 => (
                RrKey::new(name(i, "v6-"), RecordType::AAAA),
                RrSet::new(
                    300,
                    vec![RData::Aaaa(std::net::Ipv6Addr::from(
                        0x2001_0db8_u128 << 96 | i as u128,
                    ))],
                ),
            ),
            11..=13 => (
                RrKey::new(name(i, "alias"), RecordType::CNAME),
                RrSet::new(3600, vec![RData::Cname(name(i - 11, "host"))]),
            ),
            14..=16 => (
                RrKey::new(name(i, "txt"), RecordType::TXT),
                RrSet::new(
                    3600,
                    vec![RData::Txt(Txt(format!(
                        "v=spf1 ip4:10.0.{}.0/24 -all; id={i}",
                        i % 250
                    )
                    .into_bytes()))],
                ),
            ),
            17 => (
                RrKey::new(name(i, "mx"), RecordType::MX),
                RrSet::new(
                    3600,
                    vec![RData::Mx(Mx {
                        preference: 10,
                        exchange: name(0, "host"),
                    })],
                ),
            ),
            18 => (
                RrKey::new(
                    Fqdn::parse(&format!("_sip._tcp.svc{i}.{origin}")).expect("valid"),
                    RecordType::SRV,
                ),
                RrSet::new(
                    3600,
                    vec![RData::Srv(Srv {
                        priority: 10,
                        weight: 5,
                        port: 5060,
                        target: name(0, "host"),
                    })],
                ),
            ),
            _ => (
                RrKey::new(name(i, "caa"), RecordType::CAA),
                RrSet::new(
                    3600,
                    vec![RData::Caa(Caa {
                        flags: 0,
                        tag: "issue".into(),
                        value: b"letsencrypt.org".to_vec(),
                    })],
                ),
            ),
        };
        count += set.len();
        z.put(key, set);
        i += 1;
    }
    z
}

/// The same zone with about `pct` percent of its RRsets changed (TTL bumped).
pub fn perturb(zone: &Zone, pct: usize) -> Zone {
    let mut z = zone.clone();
    let step = (100 / pct.max(1)).max(1);
    for (i, (k, s)) in zone.rrsets.iter().enumerate() {
        if i % step == 0 && k.name != zone.origin {
            z.put(k.clone(), RrSet::new(s.ttl + 1, s.values().to_vec()));
        }
    }
    z
}

struct Measured {
    seconds: f64,
    peak_mb: f64,
}

fn measure(exe: &Path, config: &Path, args: &[&str]) -> anyhow::Result<Measured> {
    let start = Instant::now();
    let out = Command::new(exe)
        .arg("--config")
        .arg(config)
        .args(args)
        .env(PEAK_ENV, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("cannot run zonekeeper")?;
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && out.status.code() != Some(2) {
        bail!("{args:?} failed: {stderr}");
    }
    let kb: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    Ok(Measured {
        seconds,
        peak_mb: kb / 1024.0,
    })
}

/// Writes the case of `n` records under `dir/n<n>`: `zones/bench.example.yaml` (octoDNS
/// YAML), `zonekeeper.yaml` with a `zonefile` target in `live/` (left empty), and an
/// octoDNS config `octodns.yaml` planning the same file against an empty YamlProvider
/// target (`scripts/bench-compare-octodns.sh`). Returns the case directory and the zone.
pub fn write_case(dir: &Path, origin: &Fqdn, n: usize) -> anyhow::Result<(PathBuf, Zone)> {
    let case = dir.join(format!("n{n}"));
    std::fs::create_dir_all(case.join("zones"))?;
    std::fs::create_dir_all(case.join("live"))?;
    std::fs::create_dir_all(case.join("octodns-target"))?;
    let zone = generate(origin, n);
    std::fs::write(
        case.join("zones/bench.example.yaml"),
        zone_to_yaml(&zone, "zonefile"),
    )?;
    std::fs::write(
        case.join("zonekeeper.yaml"),
        "providers:\n  live:\n    type: zonefile\n    directory: live\nzones:\n  bench.example.:\n    targets: [live]\n",
    )?;
    std::fs::write(
        case.join("octodns.yaml"),
        "providers:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./zones\n    enforce_order: false\n  target:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./octodns-target\nzones:\n  bench.example.:\n    sources: [config]\n    targets: [target]\n",
    )?;
    Ok((case, zone))
}

/// Runs the benchmark and returns the Markdown table (empty with `generate_only`: the
/// cases are only written, into `workdir`).
pub fn run(
    sizes: &[usize],
    workdir: Option<PathBuf>,
    generate_only: bool,
) -> anyhow::Result<String> {
    if generate_only && workdir.is_none() {
        bail!("--generate-only needs --workdir");
    }
    let exe = std::env::current_exe()?;
    let tmp;
    let dir = match workdir {
        Some(d) => d,
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };

    let origin = Fqdn::parse("bench.example.")?;
    let mut table = String::from(
        "| records | RRsets | job | wall s (median of 3) | peak RSS MB |\n|---:|---:|---|---:|---:|\n",
    );
    for &n in sizes {
        if generate_only {
            let (case, zone) = write_case(&dir, &origin, n)?;
            eprintln!("{}: {} records", case.display(), zone.record_count());
            continue;
        }
        let (case, zone) = write_case(&dir, &origin, n)?;
        let live = case.join("live");
        let config = case.join("zonekeeper.yaml");
        let jobs: [(&str, Option<Zone>, &[&str]); 4] = [
            ("validate", None, &["validate"]),
            ("plan, empty target", None, &["plan", "--format", "json"]),
            (
                "plan, no change",
                Some(zone.clone()),
                &["plan", "--format", "json"],
            ),
            (
                "plan, 1% changed",
                Some(perturb(&zone, 1)),
                &["plan", "--format", "json"],
            ),
        ];
        for (label, live_zone, args) in jobs {
            let file = live.join("bench.example.zone");
            match live_zone {
                Some(z) => std::fs::write(&file, zonefile::render_text(&z))?,
                None => {
                    let _ = std::fs::remove_file(&file);
                }
            }
            let mut runs: Vec<Measured> = (0..3)
                .map(|_| measure(&exe, &config, args))
                .collect::<anyhow::Result<_>>()?;
            runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
            let m = &runs[1];
            let _ = writeln!(
                table,
                "| {} | {} | {label} | {:.3} | {:.0} |",
                zone.record_count(),
                zone.len(),
                m.seconds,
                m.peak_mb
            );
            eprintln!("{n} {label}: {:.3} s, {:.0} MB", m.seconds, m.peak_mb);
        }
    }
    Ok(if generate_only { String::new() } else { table })
}

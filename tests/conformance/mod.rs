//! Provider conformance suite: one harness, run against every provider.
//!
//! Each group gets its own zone (`gNN.<base>`), starts from an empty zone and steps through
//! desired states. After every apply the harness re-reads the live zone and requires that
//! (a) it equals the expected state and (b) a fresh plan is empty. A step whose records the
//! provider declares (in its capabilities) it cannot store is skipped, printed and returned
//! in the report, never silently passed.
//!
//! Use: `let report = conformance::run_suite(&provider, "conformance.test.").await;` then
//! assert on `report.skipped` so the skip list is part of the test.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use zonekeeper::apply::{apply_zone_plan, ApplyOptions};
use zonekeeper::model::rdata::{Caa, Ds, Loc, Mx, Naptr, Srv, Sshfp, Svcb, Tlsa, Txt, Uri};
use zonekeeper::model::{ExtValue, Fqdn, RData, RecordExt, RecordType, RrKey, RrSet, Zone};
use zonekeeper::plan::{
    plan_zone, Capabilities, Change, IgnoreRule, IgnoreSet, PlanInput, Policy, Thresholds, ZonePlan,
};
use zonekeeper::provider::{ChangeOutcome, Observed, Provider, ProviderError};
use zonekeeper::retry::RetryPolicy;

/// One desired state of a group's zone.
pub struct Step {
    pub title: String,
    pub desired: Zone,
    pub policy: Policy,
    pub ignore: Vec<IgnoreRule>,
    /// What the live zone must hold afterwards (default: `desired`).
    pub expect: Option<Zone>,
    /// The step must not call the provider's write method at all.
    pub expect_no_write: bool,
    /// The step's plan must hold exactly this many changes.
    pub expect_changes: Option<usize>,
}

/// Steps run in order against one zone.
pub struct Group {
    pub id: String,
    pub title: String,
    pub steps: Vec<Step>,
}

/// A step that was not run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub group: String,
    pub step: String,
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct SuiteReport {
    pub provider: String,
    pub groups: usize,
    pub steps_run: usize,
    pub changes_applied: usize,
    pub write_calls: usize,
    /// Steps whose touched RRsets were also read back with `read_rrsets` and compared.
    pub partial_reads: usize,
    pub skipped: Vec<Skipped>,
}

impl SuiteReport {
    /// The skipped steps as `"gNN: step title"`, for assertions.
    pub fn skipped_steps(&self) -> BTreeSet<String> {
        self.skipped
            .iter()
            .map(|s| format!("{}: {}", s.group, s.step))
            .collect()
    }
}

/// Runs every group of [`groups`] under `base` and panics with every failure found.
pub async fn run_suite(provider: &dyn Provider, base: &str) -> SuiteReport {
    let base = Fqdn::parse(base).expect("suite base zone name");
    let mut all = groups(&base);
    // Per-record provider settings only where the provider declares it stores some.
    match settings_group(&base, provider.capabilities()) {
        Some(g) => all.push(g),
        None => println!(
            "conformance [{}]: no per-record settings declared, settings group not run",
            provider.name()
        ),
    }
    run_groups(provider, all).await
}

/// Runs the given groups; a failing step ends its group, the other groups still run, and
/// the harness panics at the end listing every failure.
pub async fn run_groups(provider: &dyn Provider, groups: Vec<Group>) -> SuiteReport {
    let counting = Counting {
        inner: provider,
        writes: AtomicUsize::new(0),
    };
    let mut report = SuiteReport {
        provider: format!("{} ({})", provider.name(), provider.kind()),
        ..SuiteReport::default()
    };
    let mut failures = Vec::new();
    for g in &groups {
        report.groups += 1;
        if let Err(msg) = run_group(&counting, g, &mut report).await {
            failures.push(msg);
        }
    }
    report.write_calls = counting.writes.load(Ordering::SeqCst);
    println!(
        "conformance [{}]: {} groups, {} steps run, {} changes applied in {} write calls, {} skipped",
        report.provider,
        report.groups,
        report.steps_run,
        report.changes_applied,
        report.write_calls,
        report.skipped.len()
    );
    for s in &report.skipped {
        println!("  SKIPPED {}: {} -- {}", s.group, s.step, s.reason);
    }
    if !failures.is_empty() {
        panic!(
            "conformance [{}]: {} group(s) failed:\n\n{}",
            report.provider,
            failures.len(),
            failures.join("\n\n")
        );
    }
    report
}

/// Why the provider cannot be asked to hold `desired`, from its declared capabilities.
fn unsupported(desired: &Zone, caps: &Capabilities) -> Option<String> {
    let mut why = BTreeSet::new();
    for key in desired.rrsets.keys() {
        if !caps.types.contains(&key.rtype) {
            why.insert(format!(
                "the provider declares it cannot store {} records",
                key.rtype
            ));
        } else if let Some(gap) = desired
            .get(key)
            .and_then(|set| caps.value_gap(key.rtype, set))
        {
            why.insert(format!("the provider declares: {}", gap.reason));
        } else if let Some(gap) = caps.name_gap(&key.name) {
            why.insert(format!("the provider declares: {}", gap.reason));
        } else if key.rtype == RecordType::NS && key.name == desired.origin && !caps.root_ns {
            why.insert("the provider declares it manages the apex NS itself".into());
        }
    }
    (!why.is_empty()).then(|| why.into_iter().collect::<Vec<_>>().join("; "))
}

/// `z` as the provider stores it: every RRset through its `normalize`.
fn normalized(p: &dyn Provider, z: &Zone) -> Zone {
    let mut out = z.clone();
    for (k, s) in out.rrsets.iter_mut() {
        p.normalize(k, s);
    }
    out
}

/// One line per RRset's settings, for failure messages.
fn settings_of(s: &RrSet) -> String {
    s.ext().map(|e| format!(" {{{e}}}")).unwrap_or_default()
}

fn describe(z: &Zone) -> String {
    if z.rrsets.is_empty() {
        return "    (empty)".into();
    }
    z.rrsets
        .iter()
        .map(|(k, s)| {
            let vals: Vec<String> = s.values().iter().map(ToString::to_string).collect();
            format!(
                "    {k} ttl {} [{}]{}",
                s.ttl,
                vals.join(" | "),
                settings_of(s)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines naming every RRset that differs between `want` and `got`.
fn zone_diff(want: &Zone, got: &Zone) -> Vec<String> {
    let keys: BTreeSet<&RrKey> = want.rrsets.keys().chain(got.rrsets.keys()).collect();
    let show = |s: Option<&RrSet>| match s {
        None => "absent".to_string(),
        Some(s) => {
            let vals: Vec<String> = s.values().iter().map(|v| format!("{v}")).collect();
            format!("ttl {} [{}]{}", s.ttl, vals.join(" | "), settings_of(s))
        }
    };
    keys.into_iter()
        .filter(|k| want.get(k) != got.get(k))
        .map(|k| {
            format!(
                "    {k}: want {}\n    {:width$}   got  {}",
                show(want.get(k)),
                "",
                show(got.get(k)),
                width = k.to_string().len()
            )
        })
        .collect()
}

fn plan_for(
    provider: &dyn Provider,
    step: &Step,
    live: &Observed,
    baseline: &BTreeSet<RrKey>,
) -> ZonePlan {
    let ignore = IgnoreSet::new(&step.ignore).expect("suite ignore rules are valid globs");
    let origin = step.desired.origin.clone();
    let unmanaged = |k: &RrKey| baseline.contains(k) || ignore.matches(&origin, k);
    plan_zone(&PlanInput {
        processors: &Default::default(),
        target: provider.name(),
        desired: &step.desired,
        live: &live.zone,
        live_exists: live.exists,
        unmanaged: &unmanaged,
        caps: provider.capabilities(),
        normalize: &|k, s| provider.normalize(k, s),
        policy: step.policy,
        // The suite deletes and rewrites whole zones on purpose.
        thresholds: Thresholds {
            update_pct: 100.0,
            delete_pct: 100.0,
            min_records: usize::MAX,
        },
        last_apply: None,
    })
}

async fn run_group(p: &Counting<'_>, g: &Group, report: &mut SuiteReport) -> Result<(), String> {
    let origin = g
        .steps
        .first()
        .map(|s| s.desired.origin.clone())
        .ok_or_else(|| format!("{}: group has no steps", g.id))?;
    let fail = |step: usize, title: &str, msg: String| {
        format!(
            "[{} {}] step {} ({}) on zone {origin}:\n{msg}",
            g.id, g.title, step, title
        )
    };
    let read = |step: usize, title: &str| {
        let title = title.to_string();
        let (origin, fail) = (&origin, &fail);
        async move {
            p.read_zone(origin)
                .await
                .map_err(|e| fail(step, &title, format!("  reading the zone failed: {e}")))
        }
    };
    // Whatever a fresh zone already holds (e.g. the apex NS of a BIND zone) belongs to the
    // server: left alone and left out of the comparison.
    let start = read(0, "initial read").await?;
    let baseline: BTreeSet<RrKey> = start.zone.rrsets.keys().cloned().collect();
    if !baseline.is_empty() {
        println!(
            "  {}: the fresh zone already holds {} RRset(s), left alone: {:?}",
            g.id,
            baseline.len(),
            baseline.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
    }
    let opts = ApplyOptions::new(RetryPolicy {
        retries: 2,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        ..RetryPolicy::default()
    });
    for (i, step) in g.steps.iter().enumerate() {
        let n = i + 1;
        let problems = step.desired.check();
        assert!(
            problems.is_empty(),
            "suite bug: {} step {n} desired zone is invalid: {problems:?}",
            g.id
        );
        // Only values the RFCs allow (what `validate` lets through) are asked of a provider.
        for (key, set) in &step.desired.rrsets {
            for v in set.values() {
                let wrong = zonekeeper::model::check::problems(v);
                assert!(
                    wrong.is_empty(),
                    "suite bug: {} step {n} {key} {v}: {wrong:?}",
                    g.id
                );
            }
        }
        if let Some(reason) = unsupported(&step.desired, p.capabilities()) {
            report.skipped.push(Skipped {
                group: g.id.clone(),
                step: step.title.clone(),
                reason,
            });
            continue;
        }
        let live = read(n, &step.title).await?;
        let plan = plan_for(p, step, &live, &baseline);
        if let Some(want) = step.expect_changes {
            if plan.changes.len() != want {
                let lines: Vec<String> = plan
                    .changes
                    .iter()
                    .map(|c| format!("    {} {}", c.op().as_str(), c.key()))
                    .collect();
                return Err(fail(
                    n,
                    &step.title,
                    format!(
                        "  expected a plan of {want} change(s), got {}:\n{}",
                        lines.len(),
                        lines.join("\n")
                    ),
                ));
            }
        }
        let writes_before = p.writes.load(Ordering::SeqCst);
        let applied = apply_zone_plan(p, &plan, &live, &opts).await;
        let failed: Vec<String> = applied
            .failed()
            .map(|(c, o)| {
                format!(
                    "    {} {}: {}",
                    c.op().as_str(),
                    c.key(),
                    o.as_ref()
                        .err()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            })
            .collect();
        if !failed.is_empty() {
            return Err(fail(
                n,
                &step.title,
                format!(
                    "  {} change(s) failed:\n{}",
                    failed.len(),
                    failed.join("\n")
                ),
            ));
        }
        let writes = p.writes.load(Ordering::SeqCst) - writes_before;
        if step.expect_no_write && writes > 0 {
            return Err(fail(
                n,
                &step.title,
                format!("  expected no write at all, the provider was called {writes} time(s)"),
            ));
        }
        report.steps_run += 1;
        report.changes_applied += applied.results.len();

        let after = read(n, &step.title).await?;
        let mut got = after.zone.clone();
        got.rrsets.retain(|k, _| !baseline.contains(k));
        // Compared in the form the provider stores (its `normalize`), as the plan does.
        let want = normalized(p, step.expect.as_ref().unwrap_or(&step.desired));
        let diff = zone_diff(&want, &got);
        if !diff.is_empty() {
            return Err(fail(
                n,
                &step.title,
                format!(
                    "  the live zone differs from the expected state after apply:\n{}\n  live zone:\n{}",
                    diff.join("\n"),
                    describe(&got)
                ),
            ));
        }
        // Contract: where the provider says it can, reading back just the touched RRsets
        // (the write's verification) reports them as the whole read does; here any size of
        // zone counts as large enough. Asked again with 70 absent names added, so a provider
        // that reads many names another way (PowerDNS: the zone export) is checked too.
        let keys: Vec<RrKey> = plan.changes.iter().map(|c| c.key().clone()).collect();
        if !keys.is_empty() && p.reads_rrsets(&plan.changes, usize::MAX) {
            let padded: Vec<RrKey> = keys
                .iter()
                .cloned()
                .chain((0..70).map(|i| {
                    let name = Fqdn::parse(&format!("absent-{i}.{origin}")).expect("suite name");
                    RrKey::new(name, RecordType::A)
                }))
                .collect();
            for ks in [&keys, &padded] {
                let part = p.read_rrsets(&origin, ks).await.map_err(|e| {
                    fail(
                        n,
                        &step.title,
                        format!("  reading back the touched RRsets failed: {e}"),
                    )
                })?;
                let mut whole = Zone::new(origin.clone());
                for k in ks {
                    if let Some(s) = after.zone.get(k) {
                        whole.put(k.clone(), s.clone());
                    }
                }
                let diff = zone_diff(&whole, &part.zone);
                if !diff.is_empty() || !part.exists {
                    return Err(fail(
                        n,
                        &step.title,
                        format!(
                            "  read_rrsets of {} key(s) differs from read_zone (exists: {}):\n{}",
                            ks.len(),
                            part.exists,
                            diff.join("\n")
                        ),
                    ));
                }
            }
            report.partial_reads += 1;
        }
        let again = plan_for(p, step, &after, &baseline);
        if !again.is_empty() {
            let lines: Vec<String> = again
                .changes
                .iter()
                .map(|c| format!("    {} {}", c.op().as_str(), c.key()))
                .collect();
            return Err(fail(
                n,
                &step.title,
                format!(
                    "  a fresh plan after apply is not empty ({} change(s)):\n{}",
                    lines.len(),
                    lines.join("\n")
                ),
            ));
        }
    }
    Ok(())
}

/// Wraps the provider under test to count write calls.
struct Counting<'a> {
    inner: &'a dyn Provider,
    writes: AtomicUsize,
}

#[async_trait]
impl Provider for Counting<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
        self.inner.list_zones().await
    }
    async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
        self.inner.read_zone(zone).await
    }
    fn cost(&self, change: &Change) -> zonekeeper::provider::BatchCost {
        self.inner.cost(change)
    }
    fn reads_rrsets(&self, changes: &[Change], live_rrsets: usize) -> bool {
        self.inner.reads_rrsets(changes, live_rrsets)
    }
    async fn read_rrsets(&self, zone: &Fqdn, keys: &[RrKey]) -> Result<Observed, ProviderError> {
        self.inner.read_rrsets(zone, keys).await
    }
    fn normalize(&self, key: &RrKey, set: &mut RrSet) -> Option<String> {
        self.inner.normalize(key, set)
    }
    async fn create_zone(&self, zone: &Fqdn) -> Result<(), ProviderError> {
        self.inner.create_zone(zone).await
    }
    async fn apply(
        &self,
        zone: &Fqdn,
        observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.apply(zone, observed, changes).await
    }
}

// ---- building zones -------------------------------------------------------------------

/// A zone under construction: `Z::new(origin).rr("www", 3600, vec![a("192.0.2.1")])`.
#[derive(Clone)]
pub struct Z(pub Zone);

impl Z {
    pub fn new(origin: &Fqdn) -> Z {
        Z(Zone::new(origin.clone()))
    }

    /// Adds an RRset at `rel` (`"@"` is the apex; names may be upper case or Unicode).
    pub fn rr(mut self, rel: &str, ttl: u32, values: Vec<RData>) -> Z {
        let name = Fqdn::parse_relative(rel, &self.0.origin).expect("suite owner name");
        let rtype = values.first().expect("at least one value").rtype();
        self.0.put(RrKey::new(name, rtype), RrSet::new(ttl, values));
        self
    }

    /// Adds an RRset that carries provider settings (`octodns: {<kind>: {...}}`).
    pub fn rr_with(
        mut self,
        rel: &str,
        ttl: u32,
        values: Vec<RData>,
        settings: &[(&str, ExtValue)],
    ) -> Z {
        let name = Fqdn::parse_relative(rel, &self.0.origin).expect("suite owner name");
        let rtype = values.first().expect("at least one value").rtype();
        let ext: RecordExt = settings
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        let set = RrSet::new(ttl, values).with_ext(Some(std::sync::Arc::new(ext)));
        self.0.put(RrKey::new(name, rtype), set);
        self
    }

    /// A step that makes the zone exactly this.
    pub fn step(self, title: &str) -> Step {
        Step {
            title: title.into(),
            desired: self.0,
            policy: Policy::Sync,
            ignore: Vec::new(),
            expect: None,
            expect_no_write: false,
            expect_changes: None,
        }
    }
}

impl Step {
    pub fn expect(mut self, z: Z) -> Step {
        self.expect = Some(z.0);
        self
    }
    pub fn policy(mut self, p: Policy) -> Step {
        self.policy = p;
        self
    }
    pub fn ignore(mut self, names: &[&str]) -> Step {
        self.ignore = names
            .iter()
            .map(|n| IgnoreRule {
                name: (*n).into(),
                rtype: None,
            })
            .collect();
        self
    }
    pub fn no_write(mut self) -> Step {
        self.expect_no_write = true;
        self
    }
    pub fn changes(mut self, n: usize) -> Step {
        self.expect_changes = Some(n);
        self
    }
}

pub fn n(s: &str) -> Fqdn {
    Fqdn::parse(s).expect("suite name")
}
pub fn a(s: &str) -> RData {
    RData::A(s.parse::<Ipv4Addr>().expect("suite IPv4"))
}
pub fn aaaa(s: &str) -> RData {
    RData::Aaaa(s.parse::<Ipv6Addr>().expect("suite IPv6"))
}
pub fn cname(t: &str) -> RData {
    RData::Cname(n(t))
}
pub fn ns(t: &str) -> RData {
    RData::Ns(n(t))
}
pub fn ptr(t: &str) -> RData {
    RData::Ptr(n(t))
}
pub fn mx(preference: u16, exchange: &str) -> RData {
    RData::Mx(Mx {
        preference,
        exchange: n(exchange),
    })
}
pub fn txt(bytes: &[u8]) -> RData {
    RData::Txt(Txt(bytes.to_vec()))
}
pub fn srv(priority: u16, weight: u16, port: u16, target: &str) -> RData {
    RData::Srv(Srv {
        priority,
        weight,
        port,
        target: n(target),
    })
}
pub fn caa(flags: u8, tag: &str, value: &str) -> RData {
    RData::Caa(Caa {
        flags,
        tag: tag.into(),
        value: value.as_bytes().to_vec(),
    })
}
pub fn ds(key_tag: u16, algorithm: u8, digest_type: u8, digest: &str) -> RData {
    RData::Ds(Ds {
        key_tag,
        algorithm,
        digest_type,
        digest: digest.into(),
    })
}
pub fn sshfp(algorithm: u8, fingerprint_type: u8, fp: &str) -> RData {
    RData::Sshfp(Sshfp {
        algorithm,
        fingerprint_type,
        fingerprint: fp.into(),
    })
}
pub fn tlsa(usage: u8, selector: u8, matching: u8, data: &str) -> RData {
    RData::Tlsa(Tlsa {
        certificate_usage: usage,
        selector,
        matching_type: matching,
        certificate_association_data: data.into(),
    })
}
pub fn naptr(order: u16, pref: u16, flags: &str, service: &str, regexp: &str, repl: &str) -> RData {
    RData::Naptr(Box::new(Naptr {
        order,
        preference: pref,
        flags: flags.as_bytes().to_vec(),
        service: service.as_bytes().to_vec(),
        regexp: regexp.as_bytes().to_vec(),
        replacement: n(repl),
    }))
}
pub fn uri(priority: u16, weight: u16, target: &str) -> RData {
    RData::Uri(Uri {
        priority,
        weight,
        target: target.as_bytes().to_vec(),
    })
}
/// A LOC with sizes every wire encoding represents exactly (1 m, 10 km, 10 m).
pub fn loc(lat: (u8, u8, u32, char), long: (u8, u8, u32, char), altitude_cm: i64) -> RData {
    RData::Loc(Box::new(Loc {
        lat_degrees: lat.0,
        lat_minutes: lat.1,
        lat_millis: lat.2,
        lat_direction: lat.3,
        long_degrees: long.0,
        long_minutes: long.1,
        long_millis: long.2,
        long_direction: long.3,
        altitude_cm,
        size_cm: 100,
        precision_horz_cm: 1_000_000,
        precision_vert_cm: 1_000,
    }))
}

const SHA1: &str = "2bb183af5f22588179a53b0a98631fad1a292118";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SHA256_B: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

// ---- the groups -------------------------------------------------------------------------

/// Every group, each in its own zone `gNN.<base>`.
/// g17: a per-record provider setting (`octodns: {<kind>: {<key>: ...}}`) created, toggled,
/// changed with the values, and removed; each toggle is exactly one update. `None` when the
/// provider declares it stores no settings. The key is one the provider declares (`proxied`
/// for a provider that stores any).
pub fn settings_group(base: &Fqdn, caps: &Capabilities) -> Option<Group> {
    let key = if caps.stores_setting("proxied") {
        "proxied"
    } else {
        caps.record_settings.iter().next()?
    };
    let o = n(&format!("g17.{base}"));
    // PowerDNS's `disabled` lists the RRset's disabled values; other settings are flags.
    let (on, off) = if key == "disabled" {
        (
            [(key, ExtValue::List(vec![ExtValue::Str("192.0.2.1".into())]))],
            [(key, ExtValue::List(vec![]))],
        )
    } else {
        (
            [(key, ExtValue::Bool(true))],
            [(key, ExtValue::Bool(false))],
        )
    };
    let plain = |z: Z| z.rr("plain", 3600, vec![a("192.0.2.9")]);
    Some(Group {
        id: "g17".into(),
        title: format!("per-record provider setting `{key}`"),
        steps: vec![
            plain(Z::new(&o).rr_with("www", 300, vec![a("192.0.2.1")], &on))
                .step("create with the setting on")
                .changes(2),
            plain(Z::new(&o).rr_with("www", 300, vec![a("192.0.2.1")], &off))
                .step("turn the setting off")
                .changes(1),
            plain(Z::new(&o).rr_with("www", 300, vec![a("192.0.2.1")], &on))
                .step("turn it on again")
                .changes(1),
            plain(Z::new(&o).rr_with("www", 300, vec![a("192.0.2.1"), a("192.0.2.2")], &on))
                .step("add a value, keep the setting")
                .changes(1),
            plain(Z::new(&o).rr("www", 300, vec![a("192.0.2.1"), a("192.0.2.2")]))
                .step("remove the setting"),
            Z::new(&o).step("delete everything"),
        ],
    })
}

pub fn groups(base: &Fqdn) -> Vec<Group> {
    let zone = |id: &str| n(&format!("{id}.{base}"));
    let group = |id: &str, title: &str, steps: Vec<Step>| Group {
        id: id.into(),
        title: title.into(),
        steps,
    };
    let mut out = Vec::new();

    // g01: the everyday types, at a label and at the apex: create, change, remove.
    let o = zone("g01");
    out.push(group(
        "g01",
        "A, AAAA, CNAME, MX, TXT at a label and the apex",
        vec![
            Z::new(&o)
                .rr("@", 3600, vec![a("192.0.2.1")])
                .rr("@", 3600, vec![aaaa("2001:db8::1")])
                .rr("@", 3600, vec![mx(10, "mx1.example.net.")])
                .rr("@", 3600, vec![txt(b"v=spf1 -all")])
                .rr("www", 3600, vec![a("192.0.2.2")])
                .rr("www", 3600, vec![aaaa("2001:db8::2")])
                .rr("mail", 3600, vec![mx(5, "mx2.example.net.")])
                .rr("text", 3600, vec![txt(b"hello world")])
                .rr("alias", 3600, vec![cname("www.example.net.")])
                .step("create"),
            Z::new(&o)
                .rr("@", 3600, vec![a("192.0.2.11")])
                .rr("@", 3600, vec![aaaa("2001:db8::11")])
                .rr("@", 3600, vec![mx(20, "mx3.example.net.")])
                .rr("@", 3600, vec![txt(b"v=spf1 mx -all")])
                .rr("www", 3600, vec![a("192.0.2.12")])
                .rr("www", 3600, vec![aaaa("2001:db8::12")])
                .rr("mail", 3600, vec![mx(5, "mx4.example.net.")])
                .rr("text", 3600, vec![txt(b"hello again")])
                .rr("alias", 3600, vec![cname("other.example.net.")])
                .step("change every value"),
            Z::new(&o).step("delete everything"),
        ],
    ));

    // g02: wildcards.
    let o = zone("g02");
    out.push(group(
        "g02",
        "wildcard",
        vec![
            Z::new(&o)
                .rr("*", 3600, vec![a("192.0.2.1")])
                .rr("*.sub", 3600, vec![cname("target.example.net.")])
                .rr("*", 3600, vec![txt(b"wild")])
                .step("create"),
            Z::new(&o)
                .rr("*", 3600, vec![a("192.0.2.2"), a("192.0.2.3")])
                .rr("*.sub", 3600, vec![cname("target2.example.net.")])
                .step("change and delete one"),
        ],
    ));

    // g03: several values at one name, rebuilt one value at a time.
    let o = zone("g03");
    let sets: [&[&str]; 7] = [
        &["192.0.2.1"],
        &["192.0.2.1", "192.0.2.2"],
        &["192.0.2.1", "192.0.2.2", "192.0.2.3"],
        &["192.0.2.2", "192.0.2.3", "192.0.2.4"],
        &["192.0.2.3", "192.0.2.4", "192.0.2.5"],
        &["192.0.2.4", "192.0.2.5"],
        &["192.0.2.5"],
    ];
    let mut steps = Vec::new();
    for (i, s) in sets.iter().enumerate() {
        let mxs: Vec<RData> = s
            .iter()
            .enumerate()
            .map(|(j, ip)| {
                mx(
                    10 * (j as u16 + 1),
                    &format!("mx-{}.example.net.", ip.replace('.', "-")),
                )
            })
            .collect();
        steps.push(
            Z::new(&o)
                .rr("multi", 3600, s.iter().map(|ip| a(ip)).collect())
                .rr("@", 3600, mxs)
                .step(&format!("values {}", i + 1)),
        );
    }
    out.push(group("g03", "several values at one name", steps));

    // g04: TTL-only changes.
    let o = zone("g04");
    out.push(group(
        "g04",
        "TTL-only change",
        vec![
            Z::new(&o)
                .rr("t", 3600, vec![a("192.0.2.1"), a("192.0.2.2")])
                .rr("t", 3600, vec![txt(b"ttl")])
                .step("create at 3600"),
            Z::new(&o)
                .rr("t", 7200, vec![a("192.0.2.1"), a("192.0.2.2")])
                .rr("t", 600, vec![txt(b"ttl")])
                .step("TTL only"),
        ],
    ));

    // g05: type changes at one name; the deletes must go before the creates.
    let o = zone("g05");
    out.push(group(
        "g05",
        "type changes A -> MX -> A and CNAME -> A -> CNAME",
        vec![
            Z::new(&o)
                .rr("x", 3600, vec![a("192.0.2.1")])
                .rr("y", 3600, vec![cname("target.example.net.")])
                .step("A at x, CNAME at y"),
            Z::new(&o)
                .rr("x", 3600, vec![mx(10, "mx.example.net.")])
                .rr("y", 3600, vec![a("192.0.2.2")])
                .step("MX at x, A at y"),
            Z::new(&o)
                .rr("x", 3600, vec![a("192.0.2.3")])
                .rr("y", 3600, vec![cname("target2.example.net.")])
                .step("A at x, CNAME at y again"),
        ],
    ));

    // g06: null MX (RFC 7505) and SRV "no service" (target ".").
    let o = zone("g06");
    out.push(group(
        "g06",
        "null MX and null SRV target",
        vec![
            Z::new(&o)
                .rr("@", 3600, vec![mx(0, ".")])
                .rr("_sip._tcp", 3600, vec![srv(0, 0, 0, ".")])
                .step("create"),
            Z::new(&o)
                .rr("@", 3600, vec![mx(10, "mx.example.net.")])
                .rr(
                    "_sip._tcp",
                    3600,
                    vec![srv(10, 5, 5060, "sip.example.net.")],
                )
                .step("to real targets"),
            Z::new(&o)
                .rr("@", 3600, vec![mx(0, ".")])
                .rr("_sip._tcp", 3600, vec![srv(0, 0, 0, ".")])
                .step("back to null"),
        ],
    ));

    // g07: delegation of a child, with DS (NS must come first, DS go first).
    let o = zone("g07");
    let deleg = |ds_digest: &str, with_ds: bool| {
        let z = Z::new(&o).rr(
            "child",
            3600,
            vec![ns("ns1.example.net."), ns("ns2.example.net.")],
        );
        if with_ds {
            z.rr("child", 3600, vec![ds(60485, 13, 2, ds_digest)])
        } else {
            z
        }
    };
    out.push(group(
        "g07",
        "NS delegation of a child plus DS",
        vec![
            deleg(SHA256, true).step("NS and DS together"),
            deleg(SHA256_B, true).step("change DS"),
            deleg(SHA256_B, false).step("remove DS, keep NS"),
            deleg(SHA256, true).step("add DS back"),
            Z::new(&o).step("remove NS and DS together"),
        ],
    ));

    // g08: CAA.
    let o = zone("g08");
    out.push(group(
        "g08",
        "CAA",
        vec![
            Z::new(&o)
                .rr(
                    "@",
                    3600,
                    vec![
                        caa(0, "issue", "letsencrypt.org"),
                        caa(0, "issuewild", ";"),
                        caa(128, "iodef", "mailto:security@example.net"),
                    ],
                )
                .step("issue, issuewild ;, iodef critical"),
            Z::new(&o)
                .rr(
                    "@",
                    3600,
                    vec![
                        caa(128, "issue", ";"),
                        caa(0, "iodef", "https://example.net/caa"),
                    ],
                )
                .step("change flags and values"),
        ],
    ));

    // g09: the other types, one step each (so one unsupported type skips only its steps).
    let o = zone("g09");
    let mut steps = Vec::new();
    let types: Vec<(&str, &str, Vec<RData>, Vec<RData>)> = vec![
        (
            "SRV",
            "_xmpp._tcp",
            vec![
                srv(10, 60, 5269, "xmpp1.example.net."),
                srv(20, 0, 5269, "xmpp2.example.net."),
            ],
            vec![srv(10, 60, 5270, "xmpp1.example.net.")],
        ),
        (
            "PTR",
            "1",
            vec![ptr("host.example.net.")],
            vec![ptr("other.example.net.")],
        ),
        (
            "SSHFP",
            "host",
            vec![sshfp(1, 1, SHA1), sshfp(4, 2, SHA256)],
            vec![sshfp(4, 2, SHA256_B)],
        ),
        (
            "TLSA",
            "_443._tcp.www",
            vec![tlsa(3, 1, 1, SHA256)],
            vec![tlsa(2, 0, 1, SHA256_B), tlsa(3, 1, 1, SHA256)],
        ),
        (
            "NAPTR",
            "sip",
            vec![naptr(100, 10, "S", "SIP+D2U", "", "_sip._udp.example.net.")],
            vec![naptr(
                100,
                10,
                "U",
                "E2U+sip",
                "!^.*$!sip:info@example.net!",
                ".",
            )],
        ),
        (
            "DS (with its delegation)",
            "sec",
            vec![ds(60485, 13, 2, SHA256)],
            vec![ds(60485, 8, 1, SHA1)],
        ),
        (
            "LOC",
            "where",
            vec![loc((52, 22, 23_000, 'N'), (4, 53, 32_000, 'E'), -200)],
            vec![loc((42, 21, 54_500, 'S'), (71, 6, 18_000, 'W'), 2_450)],
        ),
        (
            "URI",
            "_ftp._tcp",
            vec![uri(10, 1, "ftp://ftp1.example.net/public")],
            vec![
                uri(10, 1, "ftp://ftp2.example.net/public"),
                uri(20, 1, "ftp://x.example.net/"),
            ],
        ),
    ];
    for (label, owner, create, change) in types {
        let with = |vals: Vec<RData>| {
            let z = Z::new(&o).rr(owner, 3600, vals);
            if label.starts_with("DS") {
                z.rr(owner, 3600, vec![ns("ns1.example.net.")])
            } else {
                z
            }
        };
        steps.push(with(create).step(&format!("create {label}")));
        steps.push(with(change).step(&format!("change {label}")));
    }
    steps.push(Z::new(&o).step("delete everything"));
    out.push(group(
        "g09",
        "SRV, PTR, SSHFP, TLSA, NAPTR, DS, LOC, URI",
        steps,
    ));

    // g10: TXT sizes around the 255-byte character-string limit, and awkward characters.
    let o = zone("g10");
    let lens = [0usize, 1, 254, 255, 256, 509, 510, 511, 766];
    let sized = |fill: u8| {
        lens.iter().fold(Z::new(&o), |z, &len| {
            let v: Vec<u8> = (0..len)
                .map(|i| if i % 7 == 6 { b'-' } else { fill })
                .collect();
            z.rr(&format!("len{len}"), 3600, vec![txt(&v)])
        })
    };
    let awkward: [(&str, &[u8]); 7] = [
        ("quotes", b"say \"hello\" and \"\"bye\"\""),
        ("backslash", b"back\\slash \\\\ double \\"),
        ("semicolon", b"v=DKIM1; k=rsa; p=MIGf"),
        ("backtick", b"`cmd` and `more`"),
        ("spaces", b"  leading and trailing  "),
        ("mixed", b"\"; \\ ` ' ( ) $ @ {}"),
        ("utf8", "caf\u{e9} \u{1f600}".as_bytes()),
    ];
    let with_awkward = |z: Z| {
        awkward
            .iter()
            .fold(z, |z, (name, v)| z.rr(name, 3600, vec![txt(v)]))
    };
    out.push(group(
        "g10",
        "TXT lengths and characters",
        vec![
            with_awkward(sized(b'a')).step("create"),
            sized(b'b').step("change every length, drop the awkward ones"),
            with_awkward(Z::new(&o))
                .rr(
                    "multi",
                    3600,
                    vec![txt(b"one"), txt(b"two \"2\""), txt(&[b'x'; 300])],
                )
                .step("several TXT values at one name"),
        ],
    ));

    // g11: upper case in names and targets must not cause diffs.
    let o = zone("g11");
    out.push(group(
        "g11",
        "upper-case names and targets",
        vec![
            Z::new(&o)
                .rr("WWW", 3600, vec![a("192.0.2.1")])
                .rr("MiXeD.Sub", 3600, vec![cname("Target.EXAMPLE.Net.")])
                .rr("@", 3600, vec![mx(10, "MX.Example.NET.")])
                .rr("_SIP._TCP", 3600, vec![srv(1, 1, 5060, "SIP.Example.Net.")])
                .step("create"),
            Z::new(&o)
                .rr("www", 3600, vec![a("192.0.2.1")])
                .rr("mixed.sub", 3600, vec![cname("target.example.net.")])
                .rr("@", 3600, vec![mx(10, "mx.example.net.")])
                .rr("_sip._tcp", 3600, vec![srv(1, 1, 5060, "sip.example.net.")])
                .step("same in lower case: no change")
                .no_write(),
        ],
    ));

    // g12: internationalised names.
    let o = zone("g12");
    out.push(group(
        "g12",
        "IDN names and IDN CNAME targets",
        vec![
            Z::new(&o)
                .rr("bücher", 3600, vec![a("192.0.2.1")])
                .rr("straße", 3600, vec![cname("münchen.example.net.")])
                .rr("日本", 3600, vec![txt("ユニコード".as_bytes())])
                .step("create"),
            Z::new(&o)
                .rr("bücher", 3600, vec![a("192.0.2.2")])
                .rr("straße", 3600, vec![cname("zürich.example.net.")])
                .step("change"),
        ],
    ));

    // g13: sizes around common page sizes, and a big one.
    let o = zone("g13");
    let many = |count: usize| {
        (0..count).fold(Z::new(&o), |z, i| {
            let ip = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
            z.rr(&format!("host{i:04}"), 3600, vec![a(&ip)])
        })
    };
    out.push(group(
        "g13",
        "99 / 100 / 101 / 1,200 records",
        vec![
            many(99).step("99"),
            many(100).step("100"),
            many(101).step("101"),
            many(1200).step("1,200"),
            many(100).step("back to 100"),
        ],
    ));

    // g14: ignore rules: ignored records survive every step; an all-ignored zone writes nothing.
    let o = zone("g14");
    let ignored = |z: Z| {
        z.rr("_acme-challenge", 3600, vec![txt(b"token-1")])
            .rr("_acme-challenge.www", 3600, vec![txt(b"token-2")])
            .rr("keep", 3600, vec![a("192.0.2.9")])
    };
    let rules = ["_acme-challenge*", "keep"];
    out.push(group(
        "g14",
        "ignore rules",
        vec![
            ignored(Z::new(&o).rr("www", 3600, vec![a("192.0.2.1")])).step("create all, no rules"),
            Z::new(&o)
                .rr("www", 3600, vec![a("192.0.2.2")])
                .rr("keep", 3600, vec![a("192.0.2.99")])
                .step("change with rules: ignored records untouched")
                .ignore(&rules)
                .expect(ignored(Z::new(&o).rr("www", 3600, vec![a("192.0.2.2")]))),
            Z::new(&o)
                .step("desired empty: only ignored records remain")
                .ignore(&rules)
                .expect(ignored(Z::new(&o))),
            Z::new(&o)
                .step("all-ignored zone: no write at all")
                .ignore(&rules)
                .expect(ignored(Z::new(&o)))
                .no_write(),
        ],
    ));

    // g15: upsert-only never deletes.
    let o = zone("g15");
    let base_set = || {
        Z::new(&o)
            .rr("a", 3600, vec![a("192.0.2.1")])
            .rr("b", 3600, vec![a("192.0.2.2")])
    };
    out.push(group(
        "g15",
        "upsert-only never deletes",
        vec![
            base_set().step("create a and b"),
            Z::new(&o)
                .rr("a", 3600, vec![a("192.0.2.11")])
                .rr("c", 3600, vec![a("192.0.2.3")])
                .step("upsert-only: change a, add c, b stays")
                .policy(Policy::UpsertOnly)
                .expect(
                    Z::new(&o)
                        .rr("a", 3600, vec![a("192.0.2.11")])
                        .rr("b", 3600, vec![a("192.0.2.2")])
                        .rr("c", 3600, vec![a("192.0.2.3")]),
                ),
            Z::new(&o)
                .step("upsert-only with nothing desired: no write")
                .policy(Policy::UpsertOnly)
                .expect(
                    Z::new(&o)
                        .rr("a", 3600, vec![a("192.0.2.11")])
                        .rr("b", 3600, vec![a("192.0.2.2")])
                        .rr("c", 3600, vec![a("192.0.2.3")]),
                )
                .no_write(),
        ],
    ));

    // g16: types some targets cannot hold; each in its own step so skips stay narrow.
    let o = zone("g16");
    out.push(group(
        "g16",
        "SPF, DNAME, ALIAS",
        vec![
            Z::new(&o)
                .rr("@", 3600, vec![RData::Spf(Txt(b"v=spf1 -all".to_vec()))])
                .step("SPF at the apex"),
            Z::new(&o)
                .rr("old", 3600, vec![RData::Dname(n("new.example.net."))])
                .step("DNAME"),
            Z::new(&o)
                .rr("@", 3600, vec![RData::Alias(n("lb.example.net."))])
                .step("ALIAS at the apex"),
            Z::new(&o).step("delete everything"),
        ],
    ));

    out.extend(edge_groups(base));
    out.extend(svcb_groups(base));
    out
}

/// A LOC with every field given: `(deg, min, millis, dir)` per angle, centimetres for the rest.
pub fn loc_full(
    lat: (u8, u8, u32, char),
    long: (u8, u8, u32, char),
    altitude_cm: i64,
    sizes_cm: (u64, u64, u64),
) -> RData {
    RData::Loc(Box::new(Loc {
        lat_degrees: lat.0,
        lat_minutes: lat.1,
        lat_millis: lat.2,
        lat_direction: lat.3,
        long_degrees: long.0,
        long_minutes: long.1,
        long_millis: long.2,
        long_direction: long.3,
        altitude_cm,
        size_cm: sizes_cm.0,
        precision_horz_cm: sizes_cm.1,
        precision_vert_cm: sizes_cm.2,
    }))
}

/// A CAA value given as bytes.
pub fn caa_bytes(flags: u8, tag: &str, value: &[u8]) -> RData {
    RData::Caa(Caa {
        flags,
        tag: tag.into(),
        value: value.to_vec(),
    })
}

/// A NAPTR whose character-strings are given as bytes.
pub fn naptr_bytes(
    order: u16,
    pref: u16,
    flags: &[u8],
    service: &[u8],
    regexp: &[u8],
    repl: &str,
) -> RData {
    RData::Naptr(Box::new(Naptr {
        order,
        preference: pref,
        flags: flags.to_vec(),
        service: service.to_vec(),
        regexp: regexp.to_vec(),
        replacement: n(repl),
    }))
}

/// A URI whose target is given as bytes.
pub fn uri_bytes(priority: u16, weight: u16, target: &[u8]) -> RData {
    RData::Uri(Uri {
        priority,
        weight,
        target: target.to_vec(),
    })
}

/// One step per record type of `z` (a DS with the NS at its name), titled `<title>: <TYPE>`,
/// so a provider that declares it cannot store one type skips only that type's step.
fn by_type(z: Z, title: &str) -> Vec<Step> {
    let types: BTreeSet<RecordType> = z.0.rrsets.keys().map(|k| k.rtype).collect();
    let ds_names: BTreeSet<&Fqdn> =
        z.0.rrsets
            .keys()
            .filter(|k| k.rtype == RecordType::DS)
            .map(|k| &k.name)
            .collect();
    types
        .into_iter()
        .filter(|t| *t != RecordType::NS || ds_names.is_empty())
        .map(|t| {
            let mut step = Z::new(&z.0.origin);
            for (k, set) in &z.0.rrsets {
                let with_ds =
                    t == RecordType::DS && k.rtype == RecordType::NS && ds_names.contains(&k.name);
                if k.rtype == t || with_ds {
                    step.0.put(k.clone(), set.clone());
                }
            }
            step.step(&format!("{title}: {t}"))
        })
        .collect()
}

/// `len` octets of printable text with a `-` every 7th (so chunk edges are visible).
fn filler(len: usize, fill: u8) -> Vec<u8> {
    (0..len)
        .map(|i| if i % 7 == 6 { b'-' } else { fill })
        .collect()
}

/// Value-level edge cases, one group per kind (issue 11): escapes in every character-string
/// field, the longest and shortest values, numbers at their bounds, LOC corners. Every value
/// is one `model::check::problems` accepts, so every provider that declares the type must
/// store it and read it back equal.
pub fn edge_groups(base: &Fqdn) -> Vec<Group> {
    let zone = |id: &str| n(&format!("{id}.{base}"));
    let group = |id: &str, title: &str, steps: Vec<Step>| Group {
        id: id.into(),
        title: title.into(),
        steps,
    };
    let mut out = Vec::new();

    // g18: escapes in every character-string field: backslash, double quote, `;`, spaces,
    // the bytes 0 and 255, and the NAPTR back-reference of issue 11 part 1.
    let o = zone("g18");
    let awkward: &[u8] = b"a\\b \"q\" ; c";
    let bytes: &[u8] = b"\x00nul \xff end\x00";
    out.push(group(
        "g18",
        "escapes in TXT, CAA, NAPTR and URI",
        by_type(
            Z::new(&o)
                // Two RRsets of four: record-limited batch APIs (6 here) take each whole.
                .rr(
                    "txt",
                    3600,
                    vec![txt(awkward), txt(bytes), txt(b"\x00"), txt(b"\xff")],
                )
                .rr(
                    "txt2",
                    3600,
                    vec![txt(b"\\"), txt(b"\""), txt(b" "), txt(b";")],
                )
                .rr(
                    "@",
                    3600,
                    vec![
                        caa_bytes(0, "issue", b"ca.example.net; account=\"a\\b\""),
                        caa_bytes(0, "tbs", bytes),
                        caa_bytes(0, "issuewild", b""),
                        caa_bytes(0, "iodef", b"mailto:a b@example.net"),
                    ],
                )
                .rr(
                    "sip",
                    3600,
                    vec![
                        naptr(100, 10, "U", "E2U+sip", "!^(.*)$!sip:\\1@example.com!", "."),
                        naptr_bytes(101, 10, b"U", b"E2U+a\"b\\c; d", b"!x!\"y\"; \\z!", "."),
                        naptr_bytes(102, 10, b"U", bytes, b"!\xff(\x01)!\\1\xfe!i", "."),
                    ],
                )
                .rr(
                    "_u._tcp",
                    3600,
                    vec![
                        uri(1, 1, "https://example.net/a\\b\"c;d e"),
                        uri_bytes(2, 1, bytes),
                    ],
                ),
            "create",
        )
        .into_iter()
        .chain(vec![
            Z::new(&o)
                .rr("txt", 3600, vec![txt(b"\\\\"), txt(b"\"\"")])
                .rr(
                    "sip",
                    3600,
                    vec![naptr(
                        100,
                        10,
                        "U",
                        "E2U+sip",
                        "!^\\+(.*)$!sip:\\1\\\\@example.com!",
                        ".",
                    )],
                )
                .step("change every value"),
            Z::new(&o).step("delete everything"),
        ])
        .collect(),
    ));

    // g19: the longest and shortest values: 255-octet character-strings in every field
    // that has them, a TXT over 255 octets and one of 65,000, empty TXT and NAPTR fields,
    // a one-octet URI.
    let o = zone("g19");
    let s255 = filler(255, b's');
    // `!<126 octets>!<126 octets>!`: a substitution expression of 255 octets (RFC 3402 §3.2).
    let r255 = [
        &b"!"[..],
        &filler(126, b'r'),
        b"!",
        &filler(126, b'p'),
        b"!",
    ]
    .concat();
    out.push(group(
        "g19",
        "longest and shortest values",
        by_type(
            Z::new(&o)
                .rr("txt255", 3600, vec![txt(&filler(255, b't'))])
                .rr("txt256", 3600, vec![txt(&filler(256, b't'))])
                .rr("empty", 3600, vec![txt(b"")])
                .rr("emptyandnot", 3600, vec![txt(b""), txt(b"x")])
                .rr(
                    "naptr",
                    3600,
                    vec![
                        naptr_bytes(1, 1, b"", b"", b"", "replacement.example.net."),
                        naptr_bytes(2, 1, b"S", &s255, b"", "_sip._udp.example.net."),
                        naptr_bytes(3, 1, b"U", b"E2U+sip", &r255, "."),
                    ],
                )
                .rr("@", 3600, vec![caa_bytes(0, "issue", &filler(1000, b'c'))])
                .rr(
                    "_u._tcp",
                    3600,
                    vec![uri(0, 0, "x"), uri_bytes(1, 1, &filler(1000, b'u'))],
                ),
            "create",
        )
        .into_iter()
        .chain(vec![
            Z::new(&o)
                .rr("big", 3600, vec![txt(&filler(65_000, b'b'))])
                .step("a TXT of 65,000 octets alone"),
            Z::new(&o).step("delete everything"),
        ])
        .collect(),
    ));

    // g20: numbers at their bounds, hash and full-data lengths.
    let o = zone("g20");
    let sha384 = "ab".repeat(48);
    let sha512 = "cd".repeat(64);
    let full = "30".repeat(300);
    out.push(group(
        "g20",
        "zero and boundary numbers",
        by_type(
            Z::new(&o)
                .rr(
                    "@",
                    3600,
                    vec![mx(0, "mx0.example.net."), mx(65535, "mx1.example.net.")],
                )
                .rr(
                    "@",
                    3600,
                    vec![
                        caa(0, "issue", "a.example"),
                        caa(128, "issue", "b.example"),
                        caa(255, "issue", "c.example"),
                    ],
                )
                .rr(
                    "_s._tcp",
                    3600,
                    vec![
                        srv(0, 0, 0, "s0.example.net."),
                        srv(65535, 65535, 65535, "s1.example.net."),
                    ],
                )
                .rr(
                    "_u._tcp",
                    3600,
                    vec![
                        uri(0, 0, "https://0.example/"),
                        uri(65535, 65535, "https://1.example/"),
                    ],
                )
                .rr(
                    "naptr",
                    3600,
                    vec![
                        naptr(0, 0, "S", "SIP+D2U", "", "_sip._udp.example.net."),
                        naptr(65535, 65535, "S", "SIP+D2T", "", "_sip._tcp.example.net."),
                    ],
                )
                .rr(
                    "_443._tcp",
                    3600,
                    vec![
                        tlsa(0, 0, 0, &full),
                        tlsa(1, 1, 1, SHA256),
                        tlsa(2, 0, 2, &sha512),
                        tlsa(3, 1, 0, "00"),
                        tlsa(255, 255, 255, "ff"),
                    ],
                )
                .rr(
                    "host",
                    3600,
                    vec![
                        sshfp(1, 1, SHA1),
                        sshfp(2, 2, SHA256),
                        sshfp(4, 2, SHA256_B),
                        sshfp(255, 255, "00ff"),
                    ],
                )
                .rr("child", 3600, vec![ns("ns1.example.net.")])
                .rr(
                    "child",
                    3600,
                    vec![
                        ds(0, 8, 1, SHA1),
                        ds(65535, 13, 2, SHA256),
                        ds(1, 14, 4, &sha384),
                        ds(2, 253, 2, SHA256_B),
                    ],
                ),
            "create",
        )
        .into_iter()
        .chain(vec![Z::new(&o).step("delete everything")])
        .collect(),
    ));

    // g21: LOC: whole minutes and seconds (issue 11 part 3), negative altitude, the poles,
    // the antimeridian, the equator and prime meridian, the last thousandth of a second,
    // sizes and precisions 0 and 90000000 m.
    let o = zone("g21");
    let dflt = (100, 1_000_000, 1_000);
    let locs: Vec<(&str, RData)> = vec![
        (
            "whole",
            loc_full((49, 18, 0, 'N'), (10, 35, 0, 'E'), 40_900, dflt),
        ),
        (
            "deep",
            loc_full(
                (52, 22, 23_000, 'N'),
                (4, 53, 32_000, 'E'),
                -10_000_000,
                dflt,
            ),
        ),
        (
            "below",
            loc_full((1, 0, 0, 'S'), (1, 0, 0, 'W'), -1, (0, 0, 0)),
        ),
        (
            "north",
            loc_full((90, 0, 0, 'N'), (180, 0, 0, 'E'), 0, dflt),
        ),
        (
            "south",
            loc_full((90, 0, 0, 'S'), (180, 0, 0, 'W'), 0, dflt),
        ),
        ("zero", loc_full((0, 0, 0, 'N'), (0, 0, 0, 'E'), 0, dflt)),
        (
            "last",
            loc_full(
                (89, 59, 59_999, 'S'),
                (179, 59, 59_999, 'W'),
                4_284_967_295,
                (4_000_000_000, 9, 90),
            ),
        ),
        (
            "thousandth",
            loc_full((0, 0, 1, 'N'), (0, 0, 1, 'W'), 99, (1, 10, 5_000)),
        ),
        (
            "minutes",
            loc_full((12, 59, 0, 'S'), (100, 1, 0, 'E'), 12_345_678, dflt),
        ),
    ];
    let create = locs
        .iter()
        .fold(Z::new(&o), |z, (name, v)| z.rr(name, 3600, vec![v.clone()]));
    out.push(group(
        "g21",
        "LOC corners",
        vec![
            create.step("create"),
            Z::new(&o)
                .rr(
                    "huge",
                    3600,
                    vec![loc_full(
                        (1, 2, 3, 'N'),
                        (4, 5, 6, 'E'),
                        1,
                        (9_000_000_000, 9_000_000_000, 9_000_000_000),
                    )],
                )
                .step("size and precisions 90000000 m, the rest deleted"),
            Z::new(&o)
                .rr(
                    "whole",
                    3600,
                    vec![loc_full((49, 17, 0, 'N'), (10, 36, 0, 'E'), 41_000, dflt)],
                )
                .step("another one"),
            Z::new(&o).step("delete everything"),
        ],
    ));

    // g22: owner names with octets a zone file must escape (RFC 1035 section 5.1), as
    // octoDNS 1.22 accepts them in a record name (issue 16): `"`, `;`, `(`, `)`, `\`, `$`,
    // `@` inside a label, a control character, a blank and a `.` inside a label (both only
    // from a zone file or the wire; octoDNS refuses blanks and splits at dots), `#`.
    let o = zone("g22");
    let names = [
        "\\\"legacy",
        "a\\;b",
        "\\(x\\)",
        "back\\\\slash",
        "\\$dollar",
        "at\\@sign",
        "bell\\007",
        "sp\\032ace",
        "a\\046b",
        "#legacy",
        "\\$x.\\@",
    ];
    let create = names.iter().fold(Z::new(&o), |z, name| {
        z.rr(name, 3600, vec![a("192.0.2.22")])
    });
    out.push(group(
        "g22",
        "owner names with zone-file escapes",
        vec![
            create
                .rr("\\\"legacy", 3600, vec![txt(b"x")])
                .step("create"),
            Z::new(&o)
                .rr("\\\"legacy", 3600, vec![a("192.0.2.23")])
                .rr("cname\\;", 3600, vec![cname("legacy.example.net.")])
                .step("change one, the rest deleted"),
            Z::new(&o).step("delete everything"),
        ],
    ));

    out
}

/// An HTTPS value from its RFC 9460 presentation text.
pub fn https(text: &str) -> RData {
    RData::Https(Box::new(
        Svcb::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")),
    ))
}

/// An SVCB value from its RFC 9460 presentation text.
pub fn svcb(text: &str) -> RData {
    RData::Svcb(Box::new(
        Svcb::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")),
    ))
}

/// HTTPS and SVCB (RFC 9460): AliasMode, ServiceMode with each key, unknown keys, `alpn`
/// with escaped commas and backslashes (Appendix A.1), hints with several addresses.
pub fn svcb_groups(base: &Fqdn) -> Vec<Group> {
    let o = n(&format!("svc1.{base}"));
    let ech = "AEn+DQBFKwAgACABWIHUGj4u+PIggYXcR5JF0gYk3dCRioBW8uJq9H4mKAAIAAEAAQABAANAEnB1YmxpYy50bHMtZWNoLmRldgAA";
    let every_key = format!(
        "1 svc.example.net. mandatory=alpn,port alpn=h2,h3 no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech=\"{ech}\" ipv6hint=2001:db8::1,2001:db8::53:1"
    );
    let s1 = vec![
        Z::new(&o)
            .rr("@", 3600, vec![https("0 svc.example.net.")])
            .rr("alias", 3600, vec![svcb("0 .")])
            .rr("_8443._foo.api", 3600, vec![svcb("0 svc4.example.net.")])
            .step("AliasMode"),
        Z::new(&o)
            .rr(
                "@",
                3600,
                vec![https(&every_key), https("2 . alpn=h2"), https("3 svc3.example.net.")],
            )
            .rr("_dns", 600, vec![svcb("1 dns.example.net. alpn=dot port=853")])
            .rr("alias", 3600, vec![svcb("0 .")])
            .step("ServiceMode with each key"),
        Z::new(&o)
            .rr(
                "@",
                3600,
                vec![
                    // Appendix A.1: one ALPN id `f\oo,bar`, then h2; an id with a space.
                    https(r#"1 . alpn="f\\\\oo\\,bar,h2""#),
                    https(r"2 . alpn=a\032b,h3"),
                ],
            )
            .rr(
                "_dns",
                600,
                vec![svcb(
                    r#"1 dns.example.net. key65000="he llo\210" key65001="" key7="/dns-query{?dns}""#,
                )],
            )
            .rr(
                "hints",
                300,
                vec![svcb(
                    "1 . ipv4hint=192.0.2.1,192.0.2.2,198.51.100.7 ipv6hint=2001:db8::1,2001:db8:0:0:1::2,::ffff:192.0.2.9",
                )],
            )
            .step("escaped alpn, unknown keys, several hints"),
        Z::new(&o)
            .rr("@", 3600, vec![https("1 . alpn=h3 port=443")])
            .step("change and delete"),
        Z::new(&o).step("delete everything"),
    ];
    vec![Group {
        id: "svc1".into(),
        title: "HTTPS and SVCB (RFC 9460)".into(),
        steps: s1,
    }]
}

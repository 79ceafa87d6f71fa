//! Plan output: text (a coloured diff on a terminal), Markdown (a PR comment) and JSON.
//!
//! Record lines use zone-file syntax (`www.example.com. 300 IN A 192.0.2.1`); the diff between
//! the old and new lines of each zone is computed with `similar`. Domain plans (registrar
//! settings) follow the zones in a section of their own in every format: one `-`/`+` line
//! pair per changed field, and every unsupported field with its reason.

use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use super::domain::{DomainChange, DomainPlan, FieldValue};
use super::{Change, Op, Plan, ZonePlan};
use crate::model::{RrKey, RrSet};

/// The lines of an RRset in zone-file syntax, one per value. Provider settings follow each
/// value as a zone-file comment (`... IN A 192.0.2.1 ; proxied=true`), so a change of
/// settings alone shows as its old and new lines.
pub fn rrset_lines(key: &RrKey, set: &RrSet) -> Vec<String> {
    let settings = set.ext().map(|e| format!(" ; {e}")).unwrap_or_default();
    set.values()
        .iter()
        .map(|v| format!("{} {} IN {} {}{settings}", key.name, set.ttl, key.rtype, v))
        .collect()
}

/// One change as one canonical line (the input of the plan hash).
pub fn canonical_change(c: &Change) -> String {
    let mut line = String::new();
    canonical_change_into(&mut line, c);
    line
}

/// [`canonical_change`] appended to `out`: the plan hash reuses one buffer for every change
/// (100,000 changes made half a million short-lived strings).
pub fn canonical_change_into(out: &mut String, c: &Change) {
    use std::fmt::Write;
    let fmt_set = |out: &mut String, s: Option<&RrSet>| match s {
        None => out.push('-'),
        Some(s) => {
            // Writing to a String cannot fail.
            let _ = write!(out, "{} [", s.ttl);
            for (i, v) in s.values().iter().enumerate() {
                if i > 0 {
                    out.push_str(" | ");
                }
                let _ = write!(out, "{v}");
            }
            out.push(']');
            // Settings only when present, so hashes of plans without any stay as they were;
            // as JSON (keys sorted), which is unambiguous whatever the keys hold.
            if let Some(e) = s.ext() {
                let _ = write!(out, " {}", e.to_json());
            }
        }
    };
    let _ = write!(
        out,
        "{} {} {} ",
        c.op().as_str(),
        c.key().name,
        c.key().rtype
    );
    fmt_set(out, c.old());
    out.push_str(" => ");
    fmt_set(out, c.new_set());
}

pub fn undo_note(z: &ZonePlan) -> Option<String> {
    z.undo.as_ref().map(|u| {
        format!(
            "{} change(s) undo the last apply of {}, not counted toward the thresholds",
            u.keys.len(),
            u.revision
        )
    })
}

/// The one line saying how many changes an ownership processor left out.
fn unowned_note(z: &ZonePlan) -> Option<String> {
    (z.unowned > 0).then(|| {
        format!(
            "{} change(s) to records this zone does not own left out (octoDNS ownership processor: no ownership TXT marks them)",
            z.unowned
        )
    })
}

fn summary(z: &ZonePlan) -> String {
    format!(
        "{} create, {} update, {} delete",
        z.count(Op::Create),
        z.count(Op::Update),
        z.count(Op::Delete)
    )
}

/// The diff lines of a zone plan, each with its tag.
fn diff_lines(z: &ZonePlan) -> Vec<(ChangeTag, String)> {
    let mut old = String::new();
    let mut new = String::new();
    // Changes are in apply order; the diff reads best in DNS order (apex first, then each
    // name under its parent).
    let mut sorted: Vec<&Change> = z.changes.iter().collect();
    sorted.sort_by_cached_key(|c| {
        let labels: Vec<String> = c
            .key()
            .name
            .without_dot()
            .rsplit('.')
            .map(str::to_string)
            .collect();
        (labels, c.key().rtype)
    });
    for c in sorted {
        if let Some(s) = c.old() {
            for l in rrset_lines(c.key(), s) {
                old.push_str(&l);
                old.push('\n');
            }
        }
        if let Some(s) = c.new_set() {
            for l in rrset_lines(c.key(), s) {
                new.push_str(&l);
                new.push('\n');
            }
        }
    }
    let diff = TextDiff::from_lines(&old, &new);
    diff.iter_all_changes()
        .map(|ch| (ch.tag(), ch.value().trim_end_matches('\n').to_string()))
        .collect()
}

/// Items shown one after another, `a; b`.
fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn status(z: &ZonePlan) -> String {
    if let Some(b) = &z.blocked {
        format!("SKIPPED (target not written): {b}")
    } else if !z.unsafe_reasons.is_empty() {
        format!("UNSAFE (needs --force): {}", join(&z.unsafe_reasons))
    } else if z.policy == super::Policy::Warn && !z.changes.is_empty() {
        "drift (policy warn: not applied)".into()
    } else if z.changes.is_empty() {
        "in sync".into()
    } else {
        "ready".into()
    }
}

/// Human-readable text; `color` adds ANSI colours.
pub fn text(plan: &Plan, color: bool) -> String {
    let (red, green, bold, reset) = if color {
        ("\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut out = String::new();
    for z in &plan.zones {
        let _ = writeln!(
            out,
            "{bold}zone {} -> {} ({}){reset}: {} [{}]",
            z.zone,
            z.target,
            z.policy.as_str(),
            summary(z),
            status(z)
        );
        if !z.live_exists && z.blocked.is_none() {
            let _ = writeln!(out, "  (zone does not exist on the target yet)");
        }
        if let Some(note) = undo_note(z) {
            let _ = writeln!(out, "  {note}");
        }
        if let Some(note) = unowned_note(z) {
            let _ = writeln!(out, "  {note}");
        }
        for (tag, line) in diff_lines(z) {
            match tag {
                ChangeTag::Delete => {
                    let _ = writeln!(out, "{red}- {line}{reset}");
                }
                ChangeTag::Insert => {
                    let _ = writeln!(out, "{green}+ {line}{reset}");
                }
                ChangeTag::Equal => {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
        for s in &z.skipped {
            let _ = writeln!(out, "  skipped {}: {}", s.key, s.reason);
        }
        for a in &z.adjustments {
            let _ = writeln!(out, "  adjusted {a}");
        }
    }
    for d in &plan.domains {
        let _ = writeln!(
            out,
            "{bold}domain {} -> {}{reset}: {} change(s){} [{}]",
            d.domain,
            d.registrar,
            d.changes.len(),
            expires(d).map_or(String::new(), |e| format!(", expires {e}")),
            domain_status(d)
        );
        for c in &d.changes {
            let _ = writeln!(out, "{red}- {}: {}{reset}", c.field(), c.old());
            let _ = writeln!(out, "{green}+ {}: {}{reset}", c.field(), c.new_value());
        }
        for u in &d.unsupported {
            let _ = writeln!(out, "  unsupported {}: {}", u.field, u.reason);
        }
    }
    let domains = if plan.domains.is_empty() {
        String::new()
    } else {
        format!(" and {} domain plan(s)", plan.domains.len())
    };
    let _ = writeln!(
        out,
        "{} change(s) in {} zone plan(s){domains}; plan hash {}",
        plan.change_count(),
        plan.zones.len(),
        plan.hash()
    );
    out
}

fn domain_status(d: &DomainPlan) -> String {
    if !d.unsafe_reasons.is_empty() {
        format!("UNSAFE (needs --force): {}", d.unsafe_reasons.join("; "))
    } else if d.changes.is_empty() && d.unsupported.is_empty() {
        "in sync".into()
    } else if d.changes.is_empty() {
        format!("{} field(s) unsupported", d.unsupported.len())
    } else {
        "ready".into()
    }
}

/// The registration's end in RFC 3339 (UTC, seconds).
fn expires(d: &DomainPlan) -> Option<String> {
    d.expires
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
}

/// Markdown for a pull-request comment. Output longer than `max_bytes` has its diffs cut:
/// each keeps its first lines and a note of how many more there are; the summary table and
/// hash are always kept.
pub fn markdown(plan: &Plan, max_bytes: usize) -> String {
    let mut head = String::from("<!-- zonekeeper-plan -->\n### zonekeeper plan\n\n");
    head.push_str("| zone | target | policy | create | update | delete | skipped | status |\n");
    head.push_str("|---|---|---|---:|---:|---:|---:|---|\n");
    for z in &plan.zones {
        let _ = writeln!(
            head,
            "| `{}` | `{}` | {} | {} | {} | {} | {} | {} |",
            z.zone,
            z.target,
            z.policy.as_str(),
            z.count(Op::Create),
            z.count(Op::Update),
            z.count(Op::Delete),
            z.skipped.len(),
            status(z).replace('|', "\\|")
        );
    }
    if !plan.domains.is_empty() {
        head.push_str("\n| domain | registrar | changes | unsupported | status |\n");
        head.push_str("|---|---|---:|---:|---|\n");
        for d in &plan.domains {
            let _ = writeln!(
                head,
                "| `{}` | `{}` | {} | {} | {} |",
                d.domain,
                d.registrar,
                d.changes.len(),
                d.unsupported.len(),
                domain_status(d).replace('|', "\\|")
            );
        }
    }
    let foot = format!(
        "\n{} change(s). Plan hash: `{}` (apply exactly this plan with `zonekeeper apply --plan-hash {}`)\n",
        plan.change_count(),
        plan.hash(),
        plan.hash()
    );
    // Every zone's and domain's diff block, each a head and its lines; cut to fit below.
    let mut blocks: Vec<DiffBlock> = Vec::new();
    for z in plan
        .zones
        .iter()
        .filter(|z| !z.changes.is_empty() || !z.skipped.is_empty() || z.blocked.is_some())
    {
        let head = format!(
            "\n<details><summary><code>{}</code> → <code>{}</code>: {}</summary>\n\n```diff\n",
            z.zone,
            z.target,
            summary(z)
        );
        let mut lines = Vec::new();
        if let Some(note) = undo_note(z) {
            lines.push(format!("# {}\n", note.replace("```", "`\u{200b}``")));
        }
        for (tag, line) in diff_lines(z) {
            let sign = match tag {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            };
            lines.push(format!("{sign} {}\n", line.replace("```", "`\u{200b}``")));
        }
        if let Some(b) = &z.blocked {
            lines.push(format!("# target skipped ({}): {b}\n", b.as_str()));
        }
        if let Some(note) = unowned_note(z) {
            lines.push(format!("# {note}\n"));
        }
        for s in &z.skipped {
            lines.push(format!("# skipped {}: {}\n", s.key, s.reason));
        }
        blocks.push(DiffBlock { head, lines });
    }
    for d in plan
        .domains
        .iter()
        .filter(|d| !d.changes.is_empty() || !d.unsupported.is_empty())
    {
        let head = format!(
            "\n<details><summary>domain <code>{}</code> → <code>{}</code>: {} change(s)</summary>\n\n```diff\n",
            d.domain,
            d.registrar,
            d.changes.len()
        );
        let mut lines = Vec::new();
        for c in &d.changes {
            lines.push(format!("- {}: {}\n", c.field(), c.old()));
            lines.push(format!("+ {}: {}\n", c.field(), c.new_value()));
        }
        for u in &d.unsupported {
            lines.push(format!(
                "# unsupported {}: {}\n",
                u.field,
                u.reason.replace("```", "`\u{200b}``")
            ));
        }
        blocks.push(DiffBlock { head, lines });
    }
    let budget = max_bytes.saturating_sub(head.len() + foot.len() + 200);
    head + &fit_blocks(&blocks, budget) + &foot
}

/// The end of every diff block.
const BLOCK_END: &str = "```\n</details>\n";

/// One `<details>` diff block of the markdown plan: its opening and its lines (each ending
/// in a newline).
struct DiffBlock {
    head: String,
    lines: Vec<String>,
}

impl DiffBlock {
    fn full_len(&self) -> usize {
        self.head.len() + self.lines.iter().map(String::len).sum::<usize>() + BLOCK_END.len()
    }
}

/// The line that says how many of a block's lines were cut.
fn cut_note(n: usize) -> String {
    // Digits grouped by thousands so a big cut reads at a glance.
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let s = if n == 1 { "" } else { "s" };
    format!("# … {grouped} more line{s}; run `zonekeeper plan` for all\n")
}

/// The diff blocks within `budget` bytes. When they do not all fit, every block keeps its
/// first lines (the room shared out evenly, small blocks whole) and a note of how many were
/// cut, so a large zone never hides the others or disappears itself. Only when even the
/// blocks' openings do not fit are whole blocks left out, with a note.
fn fit_blocks(blocks: &[DiffBlock], budget: usize) -> String {
    let mut body = String::new();
    if blocks.iter().map(DiffBlock::full_len).sum::<usize>() <= budget {
        for b in blocks {
            body.push_str(&b.head);
            b.lines.iter().for_each(|l| body.push_str(l));
            body.push_str(BLOCK_END);
        }
        return body;
    }
    // What every block needs besides its lines: opening, end and (at most) its cut note.
    let fixed: usize = blocks
        .iter()
        .map(|b| b.head.len() + BLOCK_END.len() + cut_note(b.lines.len()).len())
        .sum();
    if fixed > budget {
        let mut left_out = false;
        for b in blocks {
            if body.len() + b.full_len() > budget {
                left_out = true;
                continue;
            }
            body.push_str(&b.head);
            b.lines.iter().for_each(|l| body.push_str(l));
            body.push_str(BLOCK_END);
        }
        if left_out {
            body.push_str("\n> **Note:** the plan is too long for one comment; some diffs are left out. The full plan is in the CI job's artifacts (`zonekeeper plan --format text`).\n");
        }
        return body;
    }
    // Share the room for lines: smallest blocks first, each taking at most an even share
    // of what is left, so what a small block does not use goes to the larger ones.
    let mut room = budget - fixed;
    let mut share = vec![0; blocks.len()];
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|&i| blocks[i].full_len());
    for (k, &i) in order.iter().enumerate() {
        let want: usize = blocks[i].lines.iter().map(String::len).sum();
        let give = want.min(room / (blocks.len() - k));
        share[i] = give;
        room -= give;
    }
    for (b, &share) in blocks.iter().zip(&share) {
        body.push_str(&b.head);
        let mut used = 0;
        let mut shown = 0;
        for l in &b.lines {
            if used + l.len() > share {
                break;
            }
            body.push_str(l);
            used += l.len();
            shown += 1;
        }
        if shown < b.lines.len() {
            body.push_str(&cut_note(b.lines.len() - shown));
        }
        body.push_str(BLOCK_END);
    }
    body
}

#[derive(serde::Serialize)]
struct JsonSet<'a> {
    ttl: u32,
    values: JsonValues<'a>,
    /// Provider settings (`octodns: {<kind>: {...}}` for the target's kind), when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<&'a crate::model::RecordExt>,
}

impl JsonSet<'_> {
    fn of(s: Option<&RrSet>) -> Option<JsonSet<'_>> {
        s.map(|s| JsonSet {
            ttl: s.ttl,
            values: JsonValues(s.values()),
            settings: s.ext(),
        })
    }
}

/// An RRset's values as a list of their presentation texts, written straight into the
/// output (the same bytes as serialising each `to_string()`, without the strings).
struct JsonValues<'a>(&'a [crate::model::RData]);

impl serde::Serialize for JsonValues<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        struct Text<'b>(&'b crate::model::RData);
        impl serde::Serialize for Text<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self.0)
            }
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(&Text(v))?;
        }
        seq.end()
    }
}

#[derive(serde::Serialize)]
struct JsonChange<'a> {
    op: Op,
    name: &'a crate::model::Fqdn,
    #[serde(rename = "type")]
    rtype: crate::model::RecordType,
    old: Option<JsonSet<'a>>,
    new: Option<JsonSet<'a>>,
    /// Present (true) when the change undoes the zone's last apply.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    undo: bool,
}

#[derive(serde::Serialize)]
struct JsonCounts {
    create: usize,
    update: usize,
    delete: usize,
}

/// Streams changes without building them all in memory first.
struct JsonChanges<'a>(&'a ZonePlan);

impl serde::Serialize for JsonChanges<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let undone: std::collections::HashSet<&RrKey> =
            self.0.undo.iter().flat_map(|u| &u.keys).collect();
        s.collect_seq(self.0.changes.iter().map(|c| JsonChange {
            op: c.op(),
            name: &c.key().name,
            rtype: c.key().rtype,
            old: JsonSet::of(c.old()),
            new: JsonSet::of(c.new_set()),
            undo: undone.contains(c.key()),
        }))
    }
}

/// The changes that undo the zone's last apply, in the JSON plan.
#[derive(serde::Serialize)]
struct JsonUndo<'a> {
    /// The revision whose apply they undo.
    revision: &'a str,
    /// How many changes (each marked `"undo": true`); not counted toward the thresholds.
    changes: usize,
}

/// Why a target is skipped, in the JSON plan: `{"reason": "zone-missing", "message": ".."}`.
#[derive(serde::Serialize)]
struct JsonBlocked {
    reason: &'static str,
    message: String,
}

#[derive(serde::Serialize)]
struct JsonZone<'a> {
    zone: &'a crate::model::Fqdn,
    target: &'a str,
    policy: super::Policy,
    zone_exists: bool,
    existing_rrsets: usize,
    counts: JsonCounts,
    #[serde(rename = "unsafe")]
    unsafe_reasons: &'a [super::UnsafeReason],
    skipped: &'a [super::Skip],
    adjustments: &'a [String],
    /// Changes left out because an ownership processor does not own their records.
    unowned: usize,
    /// `null` unless the whole target is skipped.
    blocked: Option<JsonBlocked>,
    /// `null` unless some changes undo the zone's last apply.
    undo: Option<JsonUndo<'a>>,
    changes: JsonChanges<'a>,
}

#[derive(serde::Serialize)]
struct JsonPlan<'a> {
    version: u32,
    hash: String,
    change_count: usize,
    zones: Vec<JsonZone<'a>>,
    domains: Vec<JsonDomain<'a>>,
}

#[derive(serde::Serialize)]
struct JsonDomain<'a> {
    domain: &'a crate::model::Fqdn,
    registrar: &'a str,
    /// RFC 3339, or null when the registrar did not say.
    expires: Option<String>,
    #[serde(rename = "unsafe")]
    unsafe_reasons: &'a [String],
    unsupported: &'a [super::domain::Unsupported],
    changes: Vec<JsonDomainChange>,
}

#[derive(serde::Serialize)]
struct JsonDomainChange {
    field: crate::model::DomainField,
    old: serde_json::Value,
    new: serde_json::Value,
}

/// A field value as JSON: a boolean, a list of names, or a list of DS objects
/// (`key_tag`, `algorithm`, `digest_type`, `digest`: the manifest's shape).
fn json_value(v: FieldValue<'_>) -> serde_json::Value {
    match v {
        FieldValue::Flag(b) => serde_json::Value::Bool(b),
        FieldValue::Names(n) => n.iter().map(|n| serde_json::json!(n.as_str())).collect(),
        FieldValue::Ds(d) => d
            .iter()
            .map(|d| {
                serde_json::json!({
                    "key_tag": d.key_tag,
                    "algorithm": d.algorithm,
                    "digest_type": d.digest_type,
                    "digest": d.digest.to_ascii_uppercase(),
                })
            })
            .collect(),
    }
}

fn json_domain(d: &DomainPlan) -> JsonDomain<'_> {
    JsonDomain {
        domain: &d.domain,
        registrar: &d.registrar,
        expires: expires(d),
        unsafe_reasons: &d.unsafe_reasons,
        unsupported: &d.unsupported,
        changes: d
            .changes
            .iter()
            .map(|c: &DomainChange| JsonDomainChange {
                field: c.field(),
                old: json_value(c.old()),
                new: json_value(c.new_value()),
            })
            .collect(),
    }
}

/// Writes the JSON document described in the README (`version` 1).
pub fn json<W: std::io::Write>(plan: &Plan, out: W) -> serde_json::Result<()> {
    let doc = JsonPlan {
        version: 1,
        hash: plan.hash(),
        change_count: plan.change_count(),
        zones: plan
            .zones
            .iter()
            .map(|z| JsonZone {
                zone: &z.zone,
                target: &z.target,
                policy: z.policy,
                zone_exists: z.live_exists,
                existing_rrsets: z.existing,
                counts: JsonCounts {
                    create: z.count(Op::Create),
                    update: z.count(Op::Update),
                    delete: z.count(Op::Delete),
                },
                unsafe_reasons: &z.unsafe_reasons,
                skipped: &z.skipped,
                adjustments: &z.adjustments,
                unowned: z.unowned,
                blocked: z.blocked.as_ref().map(|b| JsonBlocked {
                    reason: b.as_str(),
                    message: b.message(),
                }),
                undo: z.undo.as_ref().map(|u| JsonUndo {
                    revision: &u.revision,
                    changes: u.keys.len(),
                }),
                changes: JsonChanges(z),
            })
            .collect(),
        domains: plan.domains.iter().map(json_domain).collect(),
    };
    serde_json::to_writer_pretty(out, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rdata::Ds;
    use crate::model::{DomainSettings, Fqdn};
    use crate::plan::domain::{plan_domain, FieldAccess, RegistrarCaps};

    fn n(s: &str) -> Fqdn {
        Fqdn::parse(s).unwrap()
    }

    /// One domain with a nameserver move, a DS added and privacy the registrar cannot set.
    fn domain_plan() -> Plan {
        let live = DomainSettings {
            nameservers: Some(vec![n("ns1.old.net")]),
            lock: Some(false),
            privacy: Some(false),
            auto_renew: Some(true),
            ds: Some(vec![]),
        };
        let want = DomainSettings {
            nameservers: Some(vec![n("ns1.new.net"), n("ns2.new.net")]),
            privacy: Some(true),
            ds: Some(vec![Ds {
                key_tag: 2371,
                algorithm: 13,
                digest_type: 2,
                digest: "ab".repeat(32),
            }]),
            ..DomainSettings::default()
        };
        let caps = RegistrarCaps {
            privacy: FieldAccess::ReadOnly,
            ..RegistrarCaps::EVERYTHING
        };
        let mut d = plan_domain(&n("example.com"), "registry", &want, &live, &caps);
        d.expires = Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000));
        let in_sync = plan_domain(
            &n("example.org"),
            "registry",
            &DomainSettings::default(),
            &live,
            &caps,
        );
        Plan {
            zones: vec![],
            domains: vec![d, in_sync],
        }
    }

    #[test]
    fn text_has_a_domain_section() {
        let plan = domain_plan();
        let t = text(&plan, false);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with("domain example.com. -> registry: 2 change(s), expires 2027-01-15T08:00:00Z [UNSAFE (needs --force): every current nameserver"),
            "{t}"
        );
        assert_eq!(lines[1], "- nameservers: ns1.old.net.");
        assert_eq!(lines[2], "+ nameservers: ns1.new.net., ns2.new.net.");
        assert_eq!(lines[3], "- ds: (none)");
        assert_eq!(lines[4], format!("+ ds: 2371 13 2 {}", "AB".repeat(32)));
        assert!(lines[5].starts_with("  unsupported privacy: registrar \"registry\" cannot change privacy (is false, the manifest wants true)"), "{t}");
        assert_eq!(
            lines[6],
            "domain example.org. -> registry: 0 change(s) [in sync]"
        );
        assert!(
            lines[7].starts_with("2 change(s) in 0 zone plan(s) and 2 domain plan(s); plan hash ")
        );
    }

    #[test]
    fn markdown_has_a_domain_table_and_diff() {
        let md = markdown(&domain_plan(), 60_000);
        assert!(
            md.contains("| domain | registrar | changes | unsupported | status |"),
            "{md}"
        );
        assert!(
            md.contains("| `example.com.` | `registry` | 2 | 1 | UNSAFE (needs --force): "),
            "{md}"
        );
        assert!(
            md.contains("| `example.org.` | `registry` | 0 | 0 | in sync |"),
            "{md}"
        );
        assert!(
            md.contains("domain <code>example.com.</code> → <code>registry</code>: 2 change(s)"),
            "{md}"
        );
        assert!(
            md.contains(
                "\n- nameservers: ns1.old.net.\n+ nameservers: ns1.new.net., ns2.new.net.\n"
            ),
            "{md}"
        );
        assert!(md.contains("# unsupported privacy: "), "{md}");
        assert!(
            !md.contains("domain <code>example.org.</code>"),
            "in-sync domains get no diff block: {md}"
        );
    }

    #[test]
    fn json_lists_domains() {
        let mut out = Vec::new();
        json(&domain_plan(), &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["change_count"], 2);
        let d = &v["domains"][0];
        assert_eq!(d["domain"], "example.com.");
        assert_eq!(d["registrar"], "registry");
        assert_eq!(d["expires"], "2027-01-15T08:00:00Z");
        assert_eq!(d["changes"][0]["field"], "nameservers");
        assert_eq!(d["changes"][0]["old"], serde_json::json!(["ns1.old.net."]));
        assert_eq!(d["changes"][1]["field"], "ds");
        assert_eq!(d["changes"][1]["old"], serde_json::json!([]));
        assert_eq!(d["changes"][1]["new"][0]["key_tag"], 2371);
        assert_eq!(d["unsupported"][0]["field"], "privacy");
        assert_eq!(d["unsafe"].as_array().unwrap().len(), 2);
        assert_eq!(v["domains"][1]["changes"], serde_json::json!([]));
        assert!(v["domains"][1]["expires"].is_null());
    }
}

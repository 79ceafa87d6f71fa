//! Plan output: text (a coloured diff on a terminal), Markdown (a PR comment) and JSON.
//!
//! Record lines use zone-file syntax (`www.example.com. 300 IN A 192.0.2.1`); the diff between
//! the old and new lines of each zone is computed with `similar`.

use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

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
    let fmt_set = |s: Option<&RrSet>| match s {
        None => "-".to_string(),
        Some(s) => {
            let vals: Vec<String> = s.values().iter().map(ToString::to_string).collect();
            // Settings only when present, so hashes of plans without any stay as they were;
            // as JSON (keys sorted), which is unambiguous whatever the keys hold.
            match s.ext() {
                None => format!("{} [{}]", s.ttl, vals.join(" | ")),
                Some(e) => format!("{} [{}] {}", s.ttl, vals.join(" | "), e.to_json()),
            }
        }
    };
    format!(
        "{} {} {} {} => {}",
        c.op().as_str(),
        c.key().name,
        c.key().rtype,
        fmt_set(c.old()),
        fmt_set(c.new_set())
    )
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

fn status(z: &ZonePlan) -> String {
    if !z.unsafe_reasons.is_empty() {
        format!("UNSAFE (needs --force): {}", z.unsafe_reasons.join("; "))
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
        if !z.live_exists {
            let _ = writeln!(out, "  (zone does not exist on the target yet)");
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
    let _ = writeln!(
        out,
        "{} change(s) in {} zone plan(s); plan hash {}",
        plan.change_count(),
        plan.zones.len(),
        plan.hash()
    );
    out
}

/// Markdown for a pull-request comment. Output longer than `max_bytes` has its diffs cut,
/// with a note; the summary table and hash are always kept.
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
    let foot = format!(
        "\n{} change(s). Plan hash: `{}` (apply exactly this plan with `zonekeeper apply --plan-hash {}`)\n",
        plan.change_count(),
        plan.hash(),
        plan.hash()
    );
    let mut body = String::new();
    let mut truncated = false;
    let budget = max_bytes.saturating_sub(head.len() + foot.len() + 200);
    for z in plan
        .zones
        .iter()
        .filter(|z| !z.changes.is_empty() || !z.skipped.is_empty())
    {
        let mut block = format!(
            "\n<details><summary><code>{}</code> → <code>{}</code>: {}</summary>\n\n```diff\n",
            z.zone,
            z.target,
            summary(z)
        );
        for (tag, line) in diff_lines(z) {
            let sign = match tag {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            };
            let _ = writeln!(block, "{sign} {}", line.replace("```", "`\u{200b}``"));
        }
        for s in &z.skipped {
            let _ = writeln!(block, "# skipped {}: {}", s.key, s.reason);
        }
        block.push_str("```\n</details>\n");
        if body.len() + block.len() > budget {
            truncated = true;
            continue;
        }
        body.push_str(&block);
    }
    if truncated {
        body.push_str("\n> **Note:** the plan is too long for one comment; some zones' diffs are left out. The full plan is in the CI job's artifacts (`zonekeeper plan --format text`).\n");
    }
    head + &body + &foot
}

#[derive(serde::Serialize)]
struct JsonSet<'a> {
    ttl: u32,
    values: Vec<String>,
    /// Provider settings (`octodns: {<kind>: {...}}` for the target's kind), when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<&'a crate::model::RecordExt>,
}

impl JsonSet<'_> {
    fn of(s: Option<&RrSet>) -> Option<JsonSet<'_>> {
        s.map(|s| JsonSet {
            ttl: s.ttl,
            values: s.values().iter().map(ToString::to_string).collect(),
            settings: s.ext(),
        })
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
}

#[derive(serde::Serialize)]
struct JsonCounts {
    create: usize,
    update: usize,
    delete: usize,
}

/// Streams changes without building them all in memory first.
struct JsonChanges<'a>(&'a [Change]);

impl serde::Serialize for JsonChanges<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| JsonChange {
            op: c.op(),
            name: &c.key().name,
            rtype: c.key().rtype,
            old: JsonSet::of(c.old()),
            new: JsonSet::of(c.new_set()),
        }))
    }
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
    unsafe_reasons: &'a [String],
    skipped: &'a [super::Skip],
    adjustments: &'a [String],
    changes: JsonChanges<'a>,
}

#[derive(serde::Serialize)]
struct JsonPlan<'a> {
    version: u32,
    hash: String,
    change_count: usize,
    zones: Vec<JsonZone<'a>>,
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
                changes: JsonChanges(&z.changes),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(out, &doc)
}

//! The layering you can see: a lower layer never names a higher one. Reads the source files
//! (comments left out) and fails with every offending line.
//!
//! Layers, low to high: `input`, `secret` (leaves; `secret` reads `age:` files through
//! `input`) < `model` < `plan` < `provider`/`retry`
//! < `manifest`, `source`, `registrar`, `http` < `config` < `controller` < `cli`. The rules
//! below are what issue 9 asks for; `docs/ARCHITECTURE.md` has the table.

use std::path::{Path, PathBuf};

/// What one part of `src/` may not name.
struct Rule {
    /// A directory (`model/`) or a file (`secret.rs`) under `src/`.
    scope: &'static str,
    /// Words (`tokio`) and paths (`std::fs`, `crate::config`) that must not appear in code.
    forbidden: &'static [&'static str],
    /// When set, the only `crate::` paths allowed (`crate::provider::ErrorKind`); every
    /// other `crate::` path is a violation. An entry ending in `::` allows a whole module.
    only_crate: Option<&'static [&'static str]>,
}

const RULES: &[Rule] = &[
    Rule {
        scope: "model/",
        forbidden: PURE,
        only_crate: None,
    },
    Rule {
        scope: "plan/",
        forbidden: PURE,
        only_crate: None,
    },
    Rule {
        scope: "provider/",
        forbidden: BELOW_CONFIG,
        only_crate: None,
    },
    Rule {
        scope: "manifest/",
        forbidden: BELOW_CONFIG,
        only_crate: None,
    },
    Rule {
        scope: "source/",
        forbidden: BELOW_CONFIG,
        only_crate: None,
    },
    Rule {
        scope: "http/",
        forbidden: BELOW_CONFIG,
        only_crate: None,
    },
    Rule {
        scope: "registrar/",
        forbidden: BELOW_CONFIG,
        only_crate: None,
    },
    Rule {
        scope: "secret.rs",
        forbidden: &[],
        // `age:` files are read as inputs are (confined, regular, capped).
        only_crate: Some(&["crate::input::"]),
    },
    Rule {
        scope: "retry.rs",
        forbidden: &[],
        only_crate: Some(&[
            "crate::provider::ErrorKind",
            "crate::provider::ProviderError",
        ]),
    },
    Rule {
        scope: "input/",
        forbidden: &[],
        only_crate: Some(&["crate::input::", "crate::model::"]),
    },
];

/// `model` and `plan` are pure: no IO, no async runtime, no HTTP, no metrics, no stage above.
const PURE: &[&str] = &[
    "tokio",
    "reqwest",
    "std::fs",
    "prometheus",
    "crate::provider",
    "crate::telemetry",
    "crate::controller",
    "crate::config",
];

/// Stages below the configuration know neither it nor the controller.
const BELOW_CONFIG: &[&str] = &["crate::config", "crate::controller"];

/// The source with comments blanked out (strings and line numbers kept).
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let (mut i, mut depth, mut in_str) = (0, 0usize, false);
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if depth == 0 && !in_str && c == b'/' && next == Some(b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if !in_str && c == b'/' && next == Some(b'*') {
            depth += 1;
            i += 2;
            continue;
        }
        if depth > 0 {
            if c == b'*' && next == Some(b'/') {
                depth -= 1;
                i += 2;
            } else {
                if c == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            continue;
        }
        if c == b'"' && (i == 0 || b[i - 1] != b'\\') && !(i > 0 && b[i - 1] == b'\'') {
            in_str = !in_str;
        }
        out.push(c as char);
        i += 1;
    }
    out
}

/// Every path a piece of code names from `root` (`crate`, `std`), with `use` groups expanded:
/// `use crate::{config, plan::{Change}}` names `crate::config` and `crate::plan::Change`.
fn paths_from(code: &str, root: &str) -> Vec<String> {
    let mut out = Vec::new();
    let needle = format!("{root}::");
    let mut start = 0;
    while let Some(at) = code[start..].find(&needle) {
        let pos = start + at;
        start = pos + needle.len();
        // `foo_crate::x` or `mycrate::x` is not `crate::x`.
        if code[..pos]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        expand(&code[start..], root, &mut out);
    }
    out
}

/// Expands the path tail after `prefix::` into full paths.
fn expand(tail: &str, prefix: &str, out: &mut Vec<String>) {
    let tail = tail.trim_start();
    if let Some(group) = tail.strip_prefix('{') {
        let mut depth = 0;
        let mut item = String::new();
        let mut items = Vec::new();
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut item));
                    continue;
                }
                _ => {}
            }
            item.push(c);
        }
        items.push(item);
        for it in items {
            let it = it.trim();
            if !it.is_empty() {
                expand(it, prefix, out);
            }
        }
        return;
    }
    let seg: String = tail
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if seg.is_empty() {
        out.push(prefix.to_string());
        return;
    }
    let path = format!("{prefix}::{seg}");
    match tail[seg.len()..].trim_start().strip_prefix("::") {
        Some(rest) => expand(rest, &path, out),
        None => out.push(path),
    }
}

/// True when `word` appears in `code` as a whole identifier.
fn has_word(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// The violations of `rule` in one file's source, as `line: what`.
fn check(rule: &Rule, src: &str) -> Vec<String> {
    let code = strip_comments(src);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let n = n + 1;
        let mut named: Vec<String> = paths_from(line, "crate");
        named.extend(paths_from(line, "std"));
        for f in rule.forbidden {
            let hit = if f.contains("::") {
                named
                    .iter()
                    .any(|p| p == f || p.starts_with(&format!("{f}::")))
            } else {
                has_word(line, f)
            };
            if hit {
                found.push(format!("{n}: names `{f}`: {}", line.trim()));
            }
        }
        if let Some(allowed) = rule.only_crate {
            for p in named.iter().filter(|p| p.starts_with("crate")) {
                let ok = allowed.iter().any(|a| {
                    if a.ends_with("::") {
                        p.starts_with(a) || p == a.trim_end_matches("::")
                    } else {
                        p == a
                    }
                });
                if !ok {
                    found.push(format!("{n}: names `{p}`: {}", line.trim()));
                }
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src/") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for rule in RULES {
        let scoped: Vec<&PathBuf> = files
            .iter()
            .filter(|f| {
                let rel = f
                    .strip_prefix(&src)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                rel == rule.scope || (rule.scope.ends_with('/') && rel.starts_with(rule.scope))
            })
            .collect();
        // A renamed module must not turn its rule into one that checks nothing.
        assert!(
            !scoped.is_empty(),
            "no source files for rule scope {}",
            rule.scope
        );
        for f in scoped {
            let text = std::fs::read_to_string(f).unwrap();
            for v in check(rule, &text) {
                problems.push(format!(
                    "src/{}:{v}",
                    f.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} layering violation(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// `super::super::x` reaches a module the rules above cannot see by name; every path
/// across modules is written from `crate::`, so the rules catch it.
#[test]
fn no_module_reaches_two_levels_up() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let offending: Vec<String> = files
        .iter()
        .filter(|f| has_super_super(&std::fs::read_to_string(f).unwrap()))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offending.is_empty(),
        "write these paths from `crate::`: {offending:?}"
    );
    // The control: the check sees it in code, not in comments.
    assert!(has_super_super("use super::super::config::Config;"));
    assert!(!has_super_super("// see super::super::config"));
}

fn has_super_super(src: &str) -> bool {
    strip_comments(src).contains("super::super")
}

/// Negative controls: the checker flags what it must, and only that.
#[test]
fn the_checker_flags_offending_lines() {
    let model = &RULES[0];
    let provider = &RULES[2];
    let retry = RULES.iter().find(|r| r.scope == "retry.rs").unwrap();
    let input = RULES.iter().find(|r| r.scope == "input/").unwrap();
    let secret = RULES.iter().find(|r| r.scope == "secret.rs").unwrap();

    // Plain, grouped, nested and inline forms.
    let bad = "use crate::config::Config;\n";
    assert_eq!(check(provider, bad).len(), 1, "{:?}", check(provider, bad));
    assert!(check(provider, "use crate::{model::Fqdn, config};\n")[0]
        .starts_with("1: names `crate::config`"));
    assert_eq!(
        check(provider, "fn f(c: &crate::controller::RunError) {}\n").len(),
        1
    );
    assert_eq!(
        check(
            provider,
            "use crate::{plan::{Change, Op}, config::{Config, ZoneConfig}};\n"
        )
        .len(),
        1
    );
    assert_eq!(
        check(model, "let t = tokio::time::Instant::now();\n").len(),
        1
    );
    assert_eq!(
        check(model, "use std::{collections::BTreeMap, fs};\n").len(),
        1
    );
    assert_eq!(
        check(model, "let s = std::fs::read_to_string(p);\n").len(),
        1
    );
    assert_eq!(check(model, "use prometheus::Registry;\n").len(), 1);
    // The line number is the offending line's.
    let v = check(
        model,
        "use crate::model::Fqdn;\n\n\nuse crate::telemetry::metrics::Metrics;\n",
    );
    assert_eq!(v.len(), 1);
    assert!(v[0].starts_with("4: names `crate::telemetry`"), "{v:?}");

    // Allow-lists.
    assert!(check(retry, "use crate::provider::{ErrorKind, ProviderError};\n").is_empty());
    assert_eq!(
        check(retry, "use crate::provider::{ErrorKind, Provider};\n").len(),
        1
    );
    assert_eq!(
        check(retry, "use crate::telemetry::metrics::Metrics;\n").len(),
        1
    );
    assert!(check(input, "use crate::model::Fqdn;\nuse crate::input::Pos;\n").is_empty());
    assert_eq!(check(input, "use crate::manifest::octodns;\n").len(), 1);
    assert_eq!(check(secret, "use crate::model::Fqdn;\n").len(), 1);

    // Not violations: comments, longer identifiers, `std::fs` lookalikes.
    assert!(check(
        provider,
        "// knows nothing of crate::config\n/// [`crate::config`]\n"
    )
    .is_empty());
    assert!(check(provider, "/* crate::controller */ let x = 1;\n").is_empty());
    assert!(check(model, "let tokio_free = 1; // tokio\n").is_empty());
    assert!(check(model, "use std::fmt;\nuse std::fs_extra;\n").is_empty());
    assert!(check(provider, "use somecrate::config::X;\n").is_empty());
}

//! Diagnostics: one problem in one input file (configuration or zone file), with where it
//! is and which record it concerns.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in an input file (1-based line and column; 0 when unknown).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Serialize)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    pub fn from_saphyr(loc: &serde_saphyr::Location) -> Pos {
        Pos {
            line: loc.line(),
            column: loc.column(),
        }
    }
}

/// One problem found while reading configuration or zone files.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    #[serde(flatten)]
    pub pos: Pos,
    /// The record concerned, as `name TYPE` (`www.example.com. A`), when there is one.
    pub record: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: &Path, pos: Pos, record: Option<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            pos,
            record,
            message: shorten_quotes(&message.into(), EXCERPT_CHARS),
        }
    }

    /// A problem with the file as a whole (unreadable, not a file, ...).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic::new(file, Pos::default(), None, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.pos.line > 0 {
            write!(f, ":{}:{}", self.pos.line, self.pos.column)?;
        }
        if let Some(r) = &self.record {
            write!(f, ": {r}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The most characters of a file's content a message quotes: enough to find the value,
/// too few for a secret file read by mistake to leak whole into logs or `/status`.
pub const EXCERPT_CHARS: usize = 80;

/// `msg` with every quoted part (`"..."` or `` `...` ``, as parsers quote input) cut to
/// `max` characters, and the whole cut to a few lines' worth.
pub fn shorten_quotes(msg: &str, max: usize) -> String {
    let mut out = String::with_capacity(msg.len().min(4 * max));
    let mut quote: Option<char> = None;
    let mut inside = 0usize;
    let mut escaped = false;
    for c in msg.chars() {
        match quote {
            None => {
                if c == '"' || c == '`' {
                    quote = Some(c);
                    inside = 0;
                }
                out.push(c);
            }
            Some(q) => {
                let closes = c == q && !escaped;
                escaped = c == '\\' && !escaped;
                if closes {
                    quote = None;
                    out.push(c);
                } else {
                    inside += 1;
                    if inside <= max {
                        out.push(c);
                    } else if inside == max + 1 {
                        out.push('…');
                    }
                }
            }
        }
    }
    // Unquoted input can be echoed too (a parser's own wording): bound the whole.
    let limit = 4 * max;
    if out.chars().count() > limit {
        out = out.chars().take(limit).collect();
        out.push('…');
    }
    out
}

/// Every problem found in a set of inputs; reading never stops at the first one.
#[derive(Debug, Clone, Default, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Converts a YAML parse error into a diagnostic carrying its position.
pub fn from_yaml_error(file: &Path, err: &serde_saphyr::Error) -> Diagnostic {
    let pos = err
        .location()
        .map(|l| Pos::from_saphyr(&l))
        .unwrap_or_default();
    // The crate's Display includes a source snippet; the first line is the message.
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    Diagnostic::new(file, pos, None, user_message(first))
}

/// The YAML library's message as a user can act on it: without the position it repeats
/// (the diagnostic carries it) and without hints that name the library's functions.
fn user_message(msg: &str) -> String {
    let mut m = msg.strip_prefix("error: ").unwrap_or(msg);
    // "line 6 column 1: ..." repeats the diagnostic's own position.
    if let Some(rest) = m.strip_prefix("line ") {
        if let Some((_, after)) = rest.split_once(": ") {
            if rest
                .split(':')
                .next()
                .is_some_and(|p| p.contains(" column "))
            {
                m = after;
            }
        }
    }
    if m.contains("multiple YAML documents") {
        return "a second YAML document starts here (`---`): a zonekeeper or octoDNS file holds exactly one (PyYAML's safe_load refuses more too); remove the `---` or split the file".into();
    }
    m.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_hints_become_messages_a_user_can_act_on() {
        let text = "---\na: 1\n---\nb: 2\n";
        let e = serde_saphyr::from_str::<serde_json::Value>(text).unwrap_err();
        let d = from_yaml_error(Path::new("z.yaml"), &e);
        assert!(
            d.message.starts_with("a second YAML document starts here"),
            "{d}"
        );
        assert!(!d.message.contains("from_str"), "{d}");
        assert_eq!(
            user_message("error: line 3 column 2: did not find expected key"),
            "did not find expected key"
        );
    }

    #[test]
    fn messages_quote_only_an_excerpt_of_input() {
        let long = "s".repeat(500);
        let d = Diagnostic::file(
            Path::new("z.yaml"),
            format!("invalid type: string \"{long}\", expected a map; key `{long}`"),
        );
        assert!(!d.message.contains(&"s".repeat(EXCERPT_CHARS + 1)), "{d}");
        assert!(
            d.message
                .contains(&format!("\"{}…\"", "s".repeat(EXCERPT_CHARS))),
            "{d}"
        );
        assert!(d.message.ends_with("`"), "{d}");
        assert_eq!(shorten_quotes("a \"b\\\"c\" d", 80), "a \"b\\\"c\" d");
        let unquoted = "x".repeat(1000);
        assert!(shorten_quotes(&unquoted, 80).chars().count() <= 4 * 80 + 1);
    }
}

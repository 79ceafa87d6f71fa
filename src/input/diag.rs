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
            message: message.into(),
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
    let msg = text
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string();
    Diagnostic::new(file, pos, None, msg)
}

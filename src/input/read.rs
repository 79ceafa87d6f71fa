//! Reading an input file into text, and the YAML parser options every input is parsed with.

use std::path::Path;

use super::diag::Diagnostic;

/// Reads an input file, turning "missing", "a directory", "unreadable" and "not UTF-8" into
/// a [`Diagnostic`] naming the file.
pub fn read_input(path: &Path) -> Result<String, Diagnostic> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(Diagnostic::file(
                path,
                "is a directory, expected a YAML file",
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Diagnostic::file(path, "file not found"));
        }
        Err(e) => return Err(Diagnostic::file(path, format!("cannot read: {e}"))),
    }
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => Diagnostic::file(path, "is not UTF-8 text"),
        _ => Diagnostic::file(path, format!("cannot read: {e}")),
    })
}

/// Options for parsing `len` bytes of YAML, with a node budget scaled to the size: large
/// zones parse, hostile input (alias bombs, deep nesting) is still bounded.
pub fn yaml_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(len / 2);
    budget.max_events = budget.max_events.max(len);
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(len);
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    // Only `true`/`false` are booleans: `N` (a LOC direction), `no`, `on` stay strings,
    // as octoDNS's loader reads them.
    opts.strict_booleans = true;
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_directory_and_non_utf8_are_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_input(&dir.path().join("nope.yaml")).unwrap_err();
        assert_eq!(e.message, "file not found");
        let e = read_input(dir.path()).unwrap_err();
        assert!(e.message.contains("is a directory"), "{e}");
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, [0xff, 0xfe, b'\n']).unwrap();
        assert_eq!(read_input(&bad).unwrap_err().message, "is not UTF-8 text");
        let ok = dir.path().join("ok.yaml");
        std::fs::write(&ok, "a: 1\n").unwrap();
        assert_eq!(read_input(&ok).unwrap(), "a: 1\n");
    }
}

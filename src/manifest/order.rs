//! octoDNS's YamlProvider `enforce_order` (on by default): every mapping of a zone file
//! must have its keys sorted, or octoDNS refuses the file (`octodns/yaml.py`,
//! `SortEnforcingLoader`). `order_mode: natural` (the default) sorts as Python's
//! `natsort` does (runs of digits compare as numbers: `a2` before `a10`); `simple` by code
//! point. Only zone files read through an octoDNS configuration are checked, as octoDNS
//! checks them; files named in zonekeeper.yaml may keep any order.

use std::cmp::Ordering;
use std::path::Path;

use granit_parser::{Event, Parser};

use crate::input::{Diagnostic, Pos};

/// How keys must be sorted (YamlProvider `order_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOrder {
    /// `natural`: Python `natsort`'s default key (digit runs as unsigned integers).
    Natural,
    /// `simple`: plain string order.
    Simple,
}

impl KeyOrder {
    /// `order_mode` as octoDNS names it; `None` for a name octoDNS refuses.
    pub fn from_mode(mode: &str) -> Option<KeyOrder> {
        match mode {
            "natural" => Some(KeyOrder::Natural),
            "simple" => Some(KeyOrder::Simple),
            _ => None,
        }
    }

    fn cmp(self, a: &str, b: &str) -> Ordering {
        match self {
            KeyOrder::Simple => a.cmp(b),
            KeyOrder::Natural => natural_key(a).cmp(&natural_key(b)),
        }
    }
}

/// One piece of natsort's key: text, or a run of digits as a number (compared by length
/// without leading zeros, then digits, so any length works).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Piece<'a> {
    Text(&'a str),
    Number(usize, &'a str),
}

/// natsort's key: alternating text and numbers, always starting with text (`''` when the
/// string starts with a digit), so text is only ever compared with text.
fn natural_key(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut want_text = true;
    while !rest.is_empty() || want_text {
        let split = rest
            .find(|c: char| c.is_ascii_digit() == want_text)
            .unwrap_or(rest.len());
        let (head, tail) = rest.split_at(split);
        if want_text {
            out.push(Piece::Text(head));
        } else {
            let digits = head.trim_start_matches('0');
            out.push(Piece::Number(digits.len(), digits));
        }
        rest = tail;
        want_text = !want_text;
        if rest.is_empty() {
            break;
        }
    }
    out
}

/// The first mapping of `text` (read from `path`) whose keys are not in `order`, as
/// octoDNS reports it: `keys out of order: expected <key> got <key>`, at the mapping's
/// first line. Keys are compared as written (scalars; a key that is a collection ends the
/// check of its mapping). A file that does not parse is left to the zone file reader.
pub fn check(text: &str, path: &Path, order: KeyOrder) -> Option<Diagnostic> {
    /// A collection being read: for a mapping, its start, its keys, and whether the next
    /// node is a key.
    enum Frame {
        Seq,
        Map {
            pos: Pos,
            keys: Vec<String>,
            at_key: bool,
            checkable: bool,
        },
    }
    let mut stack: Vec<Frame> = Vec::new();
    // A node was read: in a mapping, the next node flips between key and value.
    fn node_done(stack: &mut [Frame]) {
        if let Some(Frame::Map { at_key, .. }) = stack.last_mut() {
            *at_key = !*at_key;
        }
    }
    for ev in Parser::new_from_str(text) {
        let Ok((ev, span)) = ev else { return None };
        let pos = Pos {
            line: span.start.line() as u64,
            column: span.start.col() as u64 + 1,
        };
        match ev {
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map {
                    keys, at_key: true, ..
                }) = stack.last_mut()
                {
                    keys.push(value.into_owned());
                }
                node_done(&mut stack);
            }
            Event::Alias(_) => {
                if let Some(Frame::Map {
                    at_key: true,
                    checkable,
                    ..
                }) = stack.last_mut()
                {
                    *checkable = false;
                }
                node_done(&mut stack);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if let Some(Frame::Map {
                    at_key: true,
                    checkable,
                    ..
                }) = stack.last_mut()
                {
                    *checkable = false;
                }
                stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Frame::Seq
                } else {
                    Frame::Map {
                        pos,
                        keys: Vec::new(),
                        at_key: true,
                        checkable: true,
                    }
                });
            }
            Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack);
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    pos,
                    keys,
                    checkable: true,
                    ..
                }) = stack.pop()
                {
                    let mut sorted: Vec<&String> = keys.iter().collect();
                    // Stable, as Python's `sorted`.
                    sorted.sort_by(|a, b| order.cmp(a, b));
                    if let Some((got, expected)) = keys.iter().zip(sorted).find(|(k, e)| k != e) {
                        return Some(Diagnostic::new(
                            path,
                            pos,
                            None,
                            format!(
                                "keys out of order: expected {expected} got {got} (octoDNS's YamlProvider refuses keys out of {} order unless the source sets `enforce_order: false`)",
                                match order {
                                    KeyOrder::Natural => "natural",
                                    KeyOrder::Simple => "simple",
                                }
                            ),
                        ));
                    }
                }
                node_done(&mut stack);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_is_natsorts() {
        let mut keys = vec!["a10", "a2", "", "b", "10", "9", "_dmarc", "A", "a02b"];
        keys.sort_by(|a, b| KeyOrder::Natural.cmp(a, b));
        // natsort.natsorted(['a10','a2','','b','10','9','_dmarc','A','a02b'])
        assert_eq!(
            keys,
            ["", "9", "10", "A", "_dmarc", "a2", "a02b", "a10", "b"]
        );
    }

    #[test]
    fn the_first_mapping_out_of_order_is_reported_at_its_line() {
        let p = Path::new("z.yaml");
        let ok = "'':\n  - {type: A, value: 1.2.3.4}\nwww2:\n  type: A\n  value: 1.2.3.4\nwww10: {ttl: 60, type: A, value: 1.2.3.4}\n";
        assert!(check(ok, p, KeyOrder::Natural).is_none());
        let d = check(ok, p, KeyOrder::Simple).unwrap();
        assert_eq!((d.pos.line, d.pos.column), (1, 1));
        assert!(
            d.message
                .starts_with("keys out of order: expected www10 got www2"),
            "{}",
            d.message
        );
        let inner = "www:\n  value: 1.2.3.4\n  type: A\n";
        let d = check(inner, p, KeyOrder::Natural).unwrap();
        assert_eq!(d.pos.line, 2);
        assert!(
            d.message
                .starts_with("keys out of order: expected type got value"),
            "{}",
            d.message
        );
    }
}

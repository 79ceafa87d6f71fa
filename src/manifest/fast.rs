//! The fast path of the zone-file parse: the common octoDNS zone file (a mapping of names to
//! a record mapping or a list of them, with `type`/`ttl`/`value`/`values` keys, values that
//! are plain or quoted scalars, mappings of fields or lists of them) read straight from the
//! YAML events of `granit-parser` (the parser serde-saphyr is built on) into the same
//! [`RawZoneFile`] the general path ([`super::raw::parse_zone_file`]) builds.
//!
//! It answers `None` ("not handled") on anything it is not certain to read exactly as the
//! general path does: anchors, aliases, tags (`!include`), directives, merge keys, block and
//! multi-line plain scalars, any plain scalar octoDNS's YAML 1.1 loader reads as anything but
//! text or a plain decimal integer, other record keys (`octodns:`, typos), nested lists,
//! repeated keys, anything over serde-saphyr's budget, any error. The general path runs then,
//! so results and errors stay those of the general path (tests/parse_paths.rs holds them to
//! it). serde-saphyr's own work (spans, budget, duplicate-key sets, its visitors) was about
//! 60% of the CPU of a 100k-record plan; the bare event pass is under half of it.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle, Span};

use super::raw::{FieldName, RawName, RawRecord, RawValue, RawZoneFile, Scalar};
use super::yaml11::{self, Reading};
use crate::input::Pos;

/// serde-saphyr's budget as [`crate::input::yaml_options`] sets it for a text of `len`
/// bytes: a file over it is left to the general path (which reports it).
struct Budget {
    events: usize,
    nodes: usize,
    scalar_bytes: usize,
}

/// The longest key the fast path reads (serde-saphyr's scanner looks 1024 bytes ahead for a
/// key's `:`; longer keys are its business).
const MAX_KEY_BYTES: usize = 512;

struct Reader<'a, I> {
    events: I,
    budget: Budget,
    _text: std::marker::PhantomData<&'a str>,
}

type Ev<'a> = (Event<'a>, Span);

impl<'a, I: Iterator<Item = Result<Ev<'a>, granit_parser::ScanError>>> Reader<'a, I> {
    /// The next event, or `None` (not handled) on an error, an anchor, an alias, a tag or
    /// the budget running out.
    fn next(&mut self) -> Option<Ev<'a>> {
        let (ev, span) = self.events.next()?.ok()?;
        self.budget.events = self.budget.events.checked_sub(1)?;
        match &ev {
            Event::Scalar(v, _, 0, None) => {
                self.budget.nodes = self.budget.nodes.checked_sub(1)?;
                self.budget.scalar_bytes = self.budget.scalar_bytes.checked_sub(v.len())?;
            }
            Event::MappingStart(_, 0, None) | Event::SequenceStart(_, 0, None) => {
                self.budget.nodes = self.budget.nodes.checked_sub(1)?;
            }
            Event::MappingEnd
            | Event::SequenceEnd
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_, None)
            | Event::DocumentEnd => {}
            _ => return None,
        }
        Some((ev, span))
    }

    /// The records under one name (at `pos`), the name's value event already read.
    fn records(&mut self, ev: Event<'a>, pos: Pos) -> Option<Vec<RawRecord>> {
        match ev {
            Event::MappingStart(..) => Some(vec![self.record(pos)?]),
            Event::SequenceStart(..) => {
                let mut out = Vec::with_capacity(2);
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => return Some(out),
                        (Event::MappingStart(..), span) => out.push(self.record(pos_of(&span))?),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// One record mapping (its start read), at `pos`.
    fn record(&mut self, pos: Pos) -> Option<RawRecord> {
        let mut r = RawRecord {
            pos,
            ..RawRecord::default()
        };
        loop {
            let (key, span) = match self.next()? {
                (Event::MappingEnd, _) => return Some(r),
                (Event::Scalar(k, style, ..), span) => (key_text(k, style, &span)?, span),
                _ => return None,
            };
            let _ = span;
            let (ev, span) = self.next()?;
            match &*key {
                "type" if r.rtype.is_none() => match ev {
                    Event::Scalar(v, style, ..) => r.rtype = Some(type_scalar(v, style, &span)?),
                    _ => return None,
                },
                "ttl" if r.ttl.is_none() => match ev {
                    Event::Scalar(v, style, ..) => {
                        r.ttl = Some(value_scalar(v, style, &span)?);
                        r.ttl_pos = Some(pos_of(&span));
                    }
                    _ => return None,
                },
                "value" if r.value.is_none() => r.value = Some(self.value(ev, &span, true)?),
                "values" if r.values.is_none() => {
                    r.values = Some(self.value(ev, &span, true)?.into_values());
                }
                _ => return None,
            }
        }
    }

    /// A record value whose first event is `ev`: a scalar, a mapping of fields, or (when
    /// `list`) a list of those.
    fn value(&mut self, ev: Event<'a>, span: &Span, list: bool) -> Option<RawValue> {
        match ev {
            Event::Scalar(v, style, ..) => Some(RawValue::Scalar(value_scalar(v, style, span)?)),
            Event::MappingStart(..) => {
                let mut fields: Vec<(FieldName, Scalar)> = Vec::with_capacity(4);
                loop {
                    let key = match self.next()? {
                        (Event::MappingEnd, _) => return Some(RawValue::Map(fields)),
                        (Event::Scalar(k, style, ..), span) => field_key(k, style, &span)?,
                        _ => return None,
                    };
                    if fields.iter().any(|(k, _)| *k == key) {
                        return None;
                    }
                    let value = match self.next()? {
                        (Event::Scalar(v, style, ..), span) => value_scalar(v, style, &span)?,
                        _ => return None,
                    };
                    fields.push((key, value));
                }
            }
            Event::SequenceStart(..) if list => {
                let mut items = Vec::with_capacity(2);
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => return Some(RawValue::List(items)),
                        (ev, span) => items.push(self.value(ev, &span, false)?),
                    }
                }
            }
            _ => None,
        }
    }
}

/// Where a node starts, as serde-saphyr reports it (line 1-based, column 1-based).
fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line() as u64,
        column: span.start.col() as u64 + 1,
    }
}

/// A scalar on one line, plain or quoted; its text.
fn one_line<'a>(v: Cow<'a, str>, style: ScalarStyle, span: &Span) -> Option<(Cow<'a, str>, bool)> {
    match style {
        ScalarStyle::Plain if span.start.line() == span.end.line() && !v.is_empty() => {
            Some((v, true))
        }
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Some((v, false)),
        _ => None,
    }
}

/// Words YAML 1.2 or serde-saphyr may read as something but text (booleans, null, the
/// special floats Rust's float parser accepts): left to the general path wherever they are.
fn special(t: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "false", "null", "nan", "inf", "infinity", "y", "n", "yes", "no", "on", "off",
    ];
    WORDS.iter().any(|w| t.eq_ignore_ascii_case(w))
}

/// A key of a record mapping (`type`, `ttl`, ...), as written.
fn key_text<'a>(k: Cow<'a, str>, style: ScalarStyle, span: &Span) -> Option<Cow<'a, str>> {
    let (k, _) = one_line(k, style, span)?;
    (k.len() <= MAX_KEY_BYTES).then_some(k)
}

/// A field name of a structured value (`exchange`): letters, digits, `_` and `-`.
fn field_key(k: Cow<'_, str>, style: ScalarStyle, span: &Span) -> Option<FieldName> {
    let (k, _) = one_line(k, style, span)?;
    let ok = k.len() <= MAX_KEY_BYTES
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !special(&k);
    ok.then(|| super::raw::field_name_of(&k))
}

/// A record type as written (`A`, `CNAME`): not resolved by the general path either, so only
/// quoted text and plain upper-case words are taken.
fn type_scalar(v: Cow<'_, str>, style: ScalarStyle, span: &Span) -> Option<Scalar> {
    let (t, plain) = one_line(v, style, span)?;
    if plain
        && !(t.starts_with(|c: char| c.is_ascii_uppercase())
            && t.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && !special(&t)
            && yaml11::plain(&t).is_none())
    {
        return None;
    }
    Some(Scalar::Str(t.into_owned()))
}

/// A value scalar as the general path resolves it ([`super::raw::resolve`]): quoted text
/// as it is; a plain scalar PyYAML reads as text is that text, one written as a plain
/// decimal integer that integer; anything else is not handled.
fn value_scalar(v: Cow<'_, str>, style: ScalarStyle, span: &Span) -> Option<Scalar> {
    let (t, plain) = one_line(v, style, span)?;
    if !plain {
        return Some(Scalar::Str(t.into_owned()));
    }
    if special(&t) || t == "~" || t == "<<" {
        return None;
    }
    match yaml11::plain(&t) {
        None => Some(Scalar::Str(t.into_owned())),
        Some(Reading::Int(Some(i)))
            if t.len() <= 18
                && t.bytes().all(|b| b.is_ascii_digit())
                && (t.len() == 1 || !t.starts_with('0')) =>
        {
            Some(Scalar::Int(i))
        }
        Some(_) => None,
    }
}

/// A record name: quoted text, or a plain scalar PyYAML reads as text.
fn name_text<'a>(k: Cow<'a, str>, style: ScalarStyle, span: &Span) -> Option<Cow<'a, str>> {
    let (t, plain) = one_line(k, style, span)?;
    if t.len() > MAX_KEY_BYTES {
        return None;
    }
    if plain && (special(&t) || t == "~" || t == "<<" || yaml11::plain(&t).is_some()) {
        return None;
    }
    Some(t)
}

/// `text` read by the fast path, or `None`: not handled (the general path reads it).
pub(crate) fn parse(text: &str) -> Option<RawZoneFile> {
    if text.starts_with('%') || text.contains("\n%") {
        return None; // directives
    }
    let mut r = Reader {
        events: Parser::new_from_str(text),
        budget: Budget {
            events: 1_000_000usize.max(text.len()),
            nodes: 250_000usize.max(text.len() / 2),
            scalar_bytes: (64usize << 20).max(text.len()),
        },
        _text: std::marker::PhantomData,
    };
    matches!(r.next()?.0, Event::StreamStart).then_some(())?;
    matches!(r.next()?.0, Event::DocumentStart(..)).then_some(())?;
    matches!(r.next()?.0, Event::MappingStart(..)).then_some(())?;
    let mut names = Vec::with_capacity(text.len() / 64);
    let mut seen: foldhash::HashSet<Cow<'_, str>> =
        foldhash::HashSet::with_capacity_and_hasher(text.len() / 64, Default::default());
    loop {
        let (name, pos) = match r.next()? {
            (Event::MappingEnd, _) => break,
            (Event::Scalar(k, style, ..), span) => (name_text(k, style, &span)?, pos_of(&span)),
            _ => return None,
        };
        let (ev, _) = r.next()?;
        let records = r.records(ev, pos)?;
        let owned = name.to_string();
        if !seen.insert(name) {
            return None;
        }
        names.push(RawName {
            name: owned,
            pos,
            records,
            problem: None,
        });
    }
    matches!(r.next()?.0, Event::DocumentEnd).then_some(())?;
    matches!(r.next()?.0, Event::StreamEnd).then_some(())?;
    r.events.next().is_none().then_some(RawZoneFile { names })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::raw::{parse_zone_file, with_general_path};

    const COMMON: &str = "---\n'':\n  ttl: 3600\n  type: NS\n  values:\n  - ns1.example.net.\n  - ns2.example.net.\n_sip._tcp:\n  type: SRV\n  value:\n    port: 5060\n    priority: 10\n    target: host0.example.\n    weight: 5\n\"mail\":\n- type: MX\n  values:\n  - exchange: mx1.example.\n    preference: 10\n- type: TXT\n  value: \"v=spf1 -all\"\n  ttl: 300\nwww: {type: A, value: 192.0.2.1}\n";

    #[test]
    fn the_common_zone_file_is_read_as_the_general_path_reads_it() {
        let fast = parse(COMMON).expect("the common shape is handled");
        let general = with_general_path(|| parse_zone_file(COMMON, None)).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{general:?}"));
        assert_eq!(fast.names.len(), 4);
    }

    #[test]
    fn anything_unusual_is_left_to_the_general_path() {
        for text in [
            "a: &x {type: A, value: 192.0.2.1}\nb: *x\n",
            "a: !include a.yaml\n",
            "a: {type: A, value: 192.0.2.1, octodns: {ignored: true}}\n",
            "a: {type: TXT, value: yes}\n",
            "a: {type: A, ttl: 0300, value: 192.0.2.1}\n",
            "a: {type: A, value: 192.0.2.1}\na: {type: A, value: 192.0.2.2}\n",
            "a: {type: A, type: A, value: 192.0.2.1}\n",
            "no: {type: A, value: 192.0.2.1}\n",
            "a: {type: TXT, value: |\n  text\n}\n",
            "a: {type: A, value: 192.0.2.1}\n---\nb: {type: A, value: 192.0.2.1}\n",
            "%YAML 1.1\n---\na: {type: A, value: 192.0.2.1}\n",
            "a: {type: A, value: [192.0.2.1\n",
            "",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }
}

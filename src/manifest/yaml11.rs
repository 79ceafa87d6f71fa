//! octoDNS reads zone files with PyYAML, which resolves plain scalars by YAML 1.1 rules;
//! zonekeeper's parser (serde-saphyr) uses YAML 1.2's. Wherever the two disagree, or PyYAML
//! reads a plain scalar as something other than its text, the source text decides: what
//! PyYAML would have made of it is worked out here from the text itself
//! (`yaml/resolver.py` and `yaml/constructor.py` of PyYAML 6, `SafeLoader`).

use std::cell::RefCell;

use serde_saphyr::Location;

/// What PyYAML's `SafeLoader` makes of a plain (unquoted) scalar that is not a string.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// `~`, `null`, `Null`, `NULL` or nothing: Python `None`.
    Null,
    /// `yes`/`no`/`on`/`off`/`true`/`false` in lower, title or upper case.
    Bool(bool),
    /// An integer: decimal, `0`-prefixed octal, `0b`, `0x`, sexagesimal `1:30`, with `_`
    /// and a sign allowed. `None` when it does not fit 64 bits.
    Int(Option<i64>),
    /// A float: it has a dot (`1.5`, `1.`, `.5`, `1e5` is *not* one), `.inf`, `.nan`.
    Float(f64),
    /// A date or timestamp (`2001-12-14`).
    Date,
}

impl Reading {
    /// The value as Python would show it (`True`, `29626`, `None`).
    pub fn describe(&self) -> String {
        match self {
            Reading::Null => "null (Python None)".into(),
            Reading::Bool(true) => "the boolean True".into(),
            Reading::Bool(false) => "the boolean False".into(),
            Reading::Int(Some(i)) => format!("the integer {i}"),
            Reading::Int(None) => "an integer too large for 64 bits".into(),
            Reading::Float(f) if f.is_nan() => "the float nan".into(),
            Reading::Float(f) if f.is_infinite() => {
                format!("the float {}inf", if *f < 0.0 { "-" } else { "" })
            }
            Reading::Float(f) => format!("the float {f:?}"),
            Reading::Date => "a date".into(),
        }
    }

    /// The record name octoDNS makes of a key read this way (`str(key).lower()`), when
    /// Python prints it as Rust would (`None` for dates and large or odd floats).
    pub fn octodns_name(&self) -> Option<String> {
        match self {
            Reading::Null => Some("none".into()),
            Reading::Bool(b) => Some(b.to_string()),
            Reading::Int(Some(i)) => Some(i.to_string()),
            Reading::Float(f) if f.is_nan() => Some("nan".into()),
            Reading::Float(f) if f.is_infinite() => {
                Some(if *f < 0.0 { "-inf" } else { "inf" }.into())
            }
            Reading::Float(f) if f.abs() < 1e16 && f.abs() >= 1e-4 => Some(format!("{f:?}")),
            _ => None,
        }
    }
}

/// How PyYAML 6 (`SafeLoader`, YAML 1.1) reads the plain scalar `t`: `None` when it is a
/// string. Mirrors the implicit resolvers (bool, float, int, null, timestamp) and the
/// constructors' value rules (`_` ignored, `0` prefix octal, base 60 with `:`).
pub fn plain(t: &str) -> Option<Reading> {
    let b = t.as_bytes();
    let Some(&first) = b.first() else {
        return Some(Reading::Null);
    };
    match first {
        b'~' if t == "~" => Some(Reading::Null),
        b'n' | b'N' => match t {
            "null" | "Null" | "NULL" => Some(Reading::Null),
            "no" | "No" | "NO" => Some(Reading::Bool(false)),
            _ => None,
        },
        b'y' | b'Y' => matches!(t, "yes" | "Yes" | "YES").then_some(Reading::Bool(true)),
        b't' | b'T' => matches!(t, "true" | "True" | "TRUE").then_some(Reading::Bool(true)),
        b'f' | b'F' => matches!(t, "false" | "False" | "FALSE").then_some(Reading::Bool(false)),
        b'o' | b'O' => match t {
            "on" | "On" | "ON" => Some(Reading::Bool(true)),
            "off" | "Off" | "OFF" => Some(Reading::Bool(false)),
            _ => None,
        },
        b'-' | b'+' | b'.' | b'0'..=b'9' => {
            if let Some(f) = float(t) {
                return Some(Reading::Float(f));
            }
            if let Some(i) = int(t) {
                return Some(Reading::Int(i));
            }
            timestamp(b).then_some(Reading::Date)
        }
        _ => None,
    }
}

fn is_digit_(c: &u8) -> bool {
    c.is_ascii_digit() || *c == b'_'
}

/// `t` without a leading sign, and whether it was negative.
fn unsign(t: &str) -> (bool, &str) {
    match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    }
}

/// `(?::[0-5]?[0-9])+` as the whole of `s`: the base-60 parts after the first.
fn sexagesimal_tail(s: &str) -> Option<Vec<u32>> {
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(r) = rest.strip_prefix(':') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count().min(2);
        let (digits, tail) = r.split_at(n);
        let ok = match digits.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return None;
        }
        parts.push(digits.parse().ok()?);
        rest = tail;
    }
    (rest.is_empty() && !parts.is_empty()).then_some(parts)
}

/// PyYAML's float resolver and `construct_yaml_float`.
fn float(t: &str) -> Option<f64> {
    let (neg, s) = unsign(t);
    let sign = if neg { -1.0 } else { 1.0 };
    if matches!(s, ".inf" | ".Inf" | ".INF") {
        return Some(sign * f64::INFINITY);
    }
    if matches!(t, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    let b = s.as_bytes();
    // `\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` takes no sign.
    if b.first() == Some(&b'.') {
        if s.len() != t.len() || !b.get(1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        return mantissa_exponent(&s[1..]).then(|| sign * parse_f(&format!("0{s}")));
    }
    let int_len = b.iter().take_while(|c| is_digit_(c)).count();
    if int_len == 0 || !b[0].is_ascii_digit() {
        return None;
    }
    let rest = &s[int_len..];
    if let Some(frac) = rest.strip_prefix('.') {
        // `[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?`
        return mantissa_exponent(frac).then(|| sign * parse_f(s));
    }
    // `[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*`
    let dot = rest.find('.')?;
    let (sexa, frac) = rest.split_at(dot);
    if !frac[1..].bytes().all(|c| is_digit_(&c)) {
        return None;
    }
    let parts = sexagesimal_tail(sexa)?;
    let mut v = parse_f(&s[..int_len]);
    let last = parts.len() - 1;
    for (i, p) in parts.iter().enumerate() {
        let p = if i == last {
            parse_f(&format!("{p}{frac}"))
        } else {
            f64::from(*p)
        };
        v = v * 60.0 + p;
    }
    Some(sign * v)
}

/// `[0-9_]*(?:[eE][-+][0-9]+)?` as the whole of `s`.
fn mantissa_exponent(s: &str) -> bool {
    let n = s.bytes().take_while(is_digit_).count();
    let e = &s[n..];
    if e.is_empty() {
        return true;
    }
    let e = e.as_bytes();
    matches!(e[0], b'e' | b'E')
        && matches!(e.get(1), Some(b'-' | b'+'))
        && e.len() > 2
        && e[2..].iter().all(u8::is_ascii_digit)
}

fn parse_f(s: &str) -> f64 {
    s.replace('_', "").parse().unwrap_or(f64::NAN)
}

/// PyYAML's int resolver and `construct_yaml_int`: `Some(None)` when it is an integer that
/// does not fit 64 bits.
fn int(t: &str) -> Option<Option<i64>> {
    let (neg, s) = unsign(t);
    let b = s.as_bytes();
    let digits = |body: &str, radix: u32| -> Option<Option<i64>> {
        let clean: String = body.chars().filter(|c| *c != '_').collect();
        Some(
            i64::from_str_radix(&clean, radix)
                .ok()
                .map(|v| if neg { -v } else { v }),
        )
    };
    if let Some(body) = s.strip_prefix("0b") {
        return (!body.is_empty() && body.bytes().all(|c| matches!(c, b'0' | b'1' | b'_')))
            .then(|| digits(body, 2).flatten());
    }
    if let Some(body) = s.strip_prefix("0x") {
        return (!body.is_empty() && body.bytes().all(|c| c.is_ascii_hexdigit() || c == b'_'))
            .then(|| digits(body, 16).flatten());
    }
    if s == "0" {
        return Some(Some(0));
    }
    if b.first() == Some(&b'0') {
        return (b.len() > 1 && b[1..].iter().all(|c| matches!(c, b'0'..=b'7' | b'_'))).then(
            || {
                let body = &s[1..];
                if body.bytes().all(|c| c == b'_') {
                    Some(0)
                } else {
                    digits(body, 8).flatten()
                }
            },
        );
    }
    if !b.first().is_some_and(|c| (b'1'..=b'9').contains(c)) {
        return None;
    }
    let n = b.iter().take_while(|c| is_digit_(c)).count();
    if n == b.len() {
        return digits(s, 10);
    }
    let parts = sexagesimal_tail(&s[n..])?;
    let head = digits(&s[..n], 10)?;
    let mut v = head.map(i64::abs);
    for p in parts {
        v = v.and_then(|v| v.checked_mul(60)?.checked_add(i64::from(p)));
    }
    Some(v.map(|v| if neg { -v } else { v }))
}

/// PyYAML's timestamp resolver: `YYYY-MM-DD`, or `YYYY-M-D` followed by a time.
fn timestamp(b: &[u8]) -> bool {
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    if !(d(0) && d(1) && d(2) && d(3) && b.get(4) == Some(&b'-')) {
        return false;
    }
    if b.len() == 10 && d(5) && d(6) && b[7] == b'-' && d(8) && d(9) {
        return true;
    }
    // The long form: a date with one- or two-digit month and day, then `T` or blanks and
    // a time `H:MM:SS`. Recognised loosely (a time after the date), as dates are refused.
    let mut i = 5;
    for part in 0..2 {
        let start = i;
        while d(i) && i - start < 2 {
            i += 1;
        }
        if i == start {
            return false;
        }
        if part == 0 {
            if b.get(i) != Some(&b'-') {
                return false;
            }
            i += 1;
        }
    }
    match b.get(i) {
        Some(b'T' | b't' | b' ' | b'\t') => b[i..].contains(&b':'),
        _ => false,
    }
}

thread_local! {
    /// The YAML text being parsed on this thread, so a scalar's source can be read back
    /// from its span (see [`with_source`]).
    static SOURCE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` (a parse of `text`) with `text` available to [`source_of`] on this thread; the
/// text of an enclosing parse (an `!include`ing file) is restored after.
pub fn with_source<T>(text: &str, f: impl FnOnce() -> T) -> T {
    let outer = SOURCE.with(|s| s.replace(text.to_string()));
    let out = f();
    SOURCE.with(|s| *s.borrow_mut() = outer);
    out
}

/// The length in bytes of the text given to [`with_source`] on this thread.
pub fn source_len() -> usize {
    SOURCE.with(|s| s.borrow().len())
}

/// How a scalar is written in the source: plain (with its text) or not (quoted, a block
/// scalar, tagged, an alias); `None` when the source is not known.
pub enum Written {
    Plain(String),
    Other,
}

/// How the scalar at `loc` is written, read from the text given to [`with_source`].
pub fn source_of(loc: &Location) -> Option<Written> {
    let span = loc.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    SOURCE.with(|s| {
        let s = s.borrow();
        let text = s.get(start..start.checked_add(len)?)?;
        Some(match text.as_bytes().first() {
            Some(b'"' | b'\'' | b'|' | b'>' | b'!' | b'&' | b'*') => Written::Other,
            _ => Written::Plain(text.trim_end().to_string()),
        })
    })
}

/// Whether the scalar at `loc` is written as the plain decimal `i` (`300`: digits, no sign,
/// no leading zero), which PyYAML reads as the same integer. The common case of
/// [`source_of`] + [`plain`] for integers, answered without copying the text.
pub fn written_as_decimal(loc: &Location, i: i64) -> bool {
    let span = loc.span();
    let (Some(start), Some(len)) = (span.byte_offset(), span.byte_len()) else {
        return false;
    };
    let (Ok(start), Ok(len)) = (usize::try_from(start), usize::try_from(len)) else {
        return false;
    };
    SOURCE.with(|s| {
        let s = s.borrow();
        let Some(text) = start
            .checked_add(len)
            .and_then(|end| s.get(start..end))
            .map(str::trim_end)
        else {
            return false;
        };
        let b = text.as_bytes();
        !b.is_empty()
            && b.len() <= 18
            && b.iter().all(u8::is_ascii_digit)
            && (b[0] != b'0' || b.len() == 1)
            && text.parse::<i64>() == Ok(i)
    })
}

/// The tag written on the node at `loc` (`!include`), read from the source: the token
/// the node starts with, or the one just before it.
pub fn tag_of(loc: &Location) -> Option<String> {
    let start = usize::try_from(loc.span().byte_offset()?).ok()?;
    SOURCE.with(|s| {
        let s = s.borrow();
        if let Some(at) = s.get(start..).filter(|t| t.starts_with('!')) {
            return Some(first_token(at).to_string());
        }
        let before = s.get(..start)?.trim_end_matches([' ', '\t']);
        let from = before
            .rfind(|c: char| c.is_whitespace() || matches!(c, '[' | '{' | ','))
            .map_or(0, |i| i + 1);
        let token = &before[from..];
        token.starts_with('!').then(|| token.to_string())
    })
}

/// The tag written on the value of the mapping key at `key` (`name: !include x.yaml`).
pub fn tag_after_key(key: &Location) -> Option<String> {
    let span = key.span();
    let end = usize::try_from(span.byte_offset()? + span.byte_len()?).ok()?;
    SOURCE.with(|s| {
        let s = s.borrow();
        let rest = s.get(end..)?.trim_start_matches(['"', '\'', ' ', '\t']);
        let rest = rest.strip_prefix(':')?.trim_start();
        rest.starts_with('!').then(|| first_token(rest).to_string())
    })
}

fn first_token(t: &str) -> &str {
    t.split(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
        .next()
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from PyYAML 6.0 `yaml.safe_load('k: <text>')` (octoDNS 1.22's venv).
    #[test]
    fn plain_scalars_read_as_pyyaml_reads_them() {
        let cases: &[(&str, Option<Reading>)] = &[
            ("12345678e9", None),                          // '12345678e9'
            ("606e970852", None),                          // '606e970852'
            ("1e5", None),                                 // '1e5'
            ("00071672", Some(Reading::Int(Some(29626)))), // 29626
            ("010", Some(Reading::Int(Some(8)))),          // 8
            ("08", None),                                  // '08'
            ("0o17", None),                                // '0o17'
            ("0", Some(Reading::Int(Some(0)))),
            ("-0", Some(Reading::Int(Some(0)))),
            ("+12", Some(Reading::Int(Some(12)))),
            ("-012", Some(Reading::Int(Some(-10)))),
            ("0x1F", Some(Reading::Int(Some(31)))),
            ("0b101", Some(Reading::Int(Some(5)))),
            ("1_000", Some(Reading::Int(Some(1000)))),
            ("1:30", Some(Reading::Int(Some(90)))),
            ("190:20:30", Some(Reading::Int(Some(685230)))),
            ("1.5", Some(Reading::Float(1.5))),
            ("1.0e+3", Some(Reading::Float(1000.0))),
            ("09.5", Some(Reading::Float(9.5))),
            (".5", Some(Reading::Float(0.5))),
            ("1:30.5", Some(Reading::Float(90.5))),
            (".inf", Some(Reading::Float(f64::INFINITY))),
            ("-.inf", Some(Reading::Float(f64::NEG_INFINITY))),
            ("1.2.3.4", None),
            ("10.0.0.1", None),
            ("2001:db8::1", None),
            ("no", Some(Reading::Bool(false))),
            ("No", Some(Reading::Bool(false))),
            ("on", Some(Reading::Bool(true))),
            ("OFF", Some(Reading::Bool(false))),
            ("TRUE", Some(Reading::Bool(true))),
            ("y", None),
            ("n", None),
            ("N", None),
            ("nO", None),
            ("null", Some(Reading::Null)),
            ("~", Some(Reading::Null)),
            ("", Some(Reading::Null)),
            ("2001-12-14", Some(Reading::Date)),
            ("2001-12-14t21:59:43.10-05:00", Some(Reading::Date)),
            ("2001-12-1", None),
            ("v=spf1", None),
            ("-all", None),
            ("1-2", None),
        ];
        for (text, want) in cases {
            assert_eq!(&plain(text), want, "{text:?}");
        }
        assert!(matches!(plain(".nan"), Some(Reading::Float(f)) if f.is_nan()));
    }
}

//! The octoDNS zone file as written, before any DNS meaning is given to it.
//!
//! Deserialised with hand-written visitors rather than `#[serde(untagged)]` enums: untagged
//! enums buffer every value (the hot path for 100k-record zones) and lose positions. Each name
//! and each record keeps its line, so later errors can point at it.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::yaml11::{self, Reading, Written};
use crate::input::{from_yaml_error, read_input_inside, yaml_options, Pos};
use crate::model::ExtValue;

/// A YAML scalar as octoDNS's loader would see it.
///
/// Record values, value fields and names are resolved against their source text
/// ([`resolve`]): a plain scalar octoDNS (PyYAML, YAML 1.1) reads as text is a `Str` of its
/// text as written, whatever YAML 1.2 makes of it (`12345678e9`), and one PyYAML reads as
/// anything but text and that is not a plain decimal integer is a [`Scalar::Yaml11`].
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// A list or mapping where a field's value is structured (SVCB/HTTPS `svcparams`).
    Tree(ExtValue),
    /// An unquoted scalar octoDNS reads as something other than its text (`00071672` the
    /// integer 29626, `no` False, `1:30` 90, `1.50` a float): refused where text or a
    /// number is expected, so a value converted by one reader is never deployed.
    /// (`read` is boxed: rare, and it keeps every other scalar small.)
    Yaml11 {
        text: String,
        read: Box<Reading>,
    },
}

impl Scalar {
    /// The scalar as text, for string fields: a string, or a plain decimal integer as
    /// written. `None` for anything octoDNS would not read as that text.
    pub fn as_text(&self) -> Option<String> {
        self.text().map(Cow::into_owned)
    }

    /// [`Scalar::as_text`] without copying a string.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Scalar::Str(s) => Some(Cow::Borrowed(s)),
            Scalar::Int(i) => Some(Cow::Owned(i.to_string())),
            Scalar::Float(_)
            | Scalar::Bool(_)
            | Scalar::Null
            | Scalar::Tree(_)
            | Scalar::Yaml11 { .. } => None,
        }
    }

    /// The scalar as the text of a number (a LOC decimal field): as [`Scalar::as_text`],
    /// and an unquoted float as written (octoDNS reads `10.5` as the float 10.5).
    pub fn as_number_text(&self) -> Option<String> {
        match self {
            Scalar::Yaml11 { text, read } if matches!(**read, Reading::Float(f) if f.is_finite()) => {
                Some(text.clone())
            }
            Scalar::Float(f) if f.is_finite() => Some(f.to_string()),
            other => other.as_text(),
        }
    }

    /// Why the scalar is not text as octoDNS reads it, with the way to quote it; `None` for
    /// text and for kinds whose own message is clearer (null, lists, mappings).
    pub fn not_text(&self) -> Option<String> {
        match self {
            Scalar::Yaml11 { text, read } => Some(format!(
                "octoDNS (YAML 1.1) reads the unquoted `{text}` as {}, not as the text {text:?}; quote it ('{text}') for the text",
                read.describe()
            )),
            Scalar::Bool(b) => Some(format!(
                "octoDNS reads the unquoted `{b}` as a boolean, not as text; quote it ('{b}') for the text"
            )),
            Scalar::Float(f) => Some(format!(
                "octoDNS reads the unquoted {f} as a float, not as text; quote it for the text"
            )),
            _ => None,
        }
    }

    /// The scalar as a settings value; an unquoted scalar octoDNS reads otherwise than
    /// YAML 1.2 as octoDNS reads it (dates, and integers over 64 bits, as their text).
    pub fn to_ext(&self) -> ExtValue {
        match self {
            Scalar::Str(s) => ExtValue::Str(s.clone()),
            Scalar::Int(i) => ExtValue::Int(*i),
            Scalar::Float(f) => ExtValue::from_f64(*f).unwrap_or(ExtValue::Str(f.to_string())),
            Scalar::Bool(b) => ExtValue::Bool(*b),
            Scalar::Null => ExtValue::Null,
            Scalar::Tree(t) => t.clone(),
            Scalar::Yaml11 { text, read } => match **read {
                Reading::Null => ExtValue::Null,
                Reading::Bool(b) => ExtValue::Bool(b),
                Reading::Int(Some(i)) => ExtValue::Int(i),
                Reading::Float(f) => {
                    ExtValue::from_f64(f).unwrap_or_else(|| ExtValue::Str(text.clone()))
                }
                Reading::Int(None) | Reading::Date => ExtValue::Str(text.clone()),
            },
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Scalar::Str(s) => format!("{s:?}"),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Null => "null".into(),
            Scalar::Tree(ExtValue::List(_)) => "a list".into(),
            Scalar::Tree(_) => "a mapping".into(),
            Scalar::Yaml11 { text, read } => {
                format!("`{text}` (octoDNS, YAML 1.1: {})", read.describe())
            }
        }
    }
}

/// `s` as octoDNS's YAML 1.1 loader reads the scalar at `loc` (see [`Scalar`]): only plain
/// scalars change; quoted and block scalars are strings under both rules.
pub fn resolve(s: Scalar, loc: &Location) -> Scalar {
    match &s {
        Scalar::Tree(_) | Scalar::Null | Scalar::Yaml11 { .. } => s,
        // Most strings are strings for PyYAML too: no need to look at the source.
        Scalar::Str(t) => match yaml11::plain(t) {
            None => s,
            Some(read) => match yaml11::source_of(loc) {
                Some(Written::Plain(_)) => classify(t.clone(), Some(read)),
                _ => s,
            },
        },
        // `300` is 300 for PyYAML too (most integers: TTLs, ports, preferences).
        Scalar::Int(i) if !general_path() && yaml11::written_as_decimal(loc, *i) => s,
        Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_) => match yaml11::source_of(loc) {
            Some(Written::Plain(text)) => {
                let read = yaml11::plain(&text);
                classify(text, read)
            }
            _ => s,
        },
    }
}

/// A plain scalar of source `text` that PyYAML reads as `read` (`None`: a string).
fn classify(text: String, read: Option<Reading>) -> Scalar {
    match read {
        None => Scalar::Str(text),
        Some(Reading::Null) => Scalar::Null,
        Some(Reading::Int(Some(i))) if text == i.to_string() => Scalar::Int(i),
        Some(read) => Scalar::Yaml11 {
            text,
            read: Box::new(read),
        },
    }
}

/// A [`Scalar`] resolved against its source ([`resolve`]).
struct SourceScalar(Scalar);

impl<'de> Deserialize<'de> for SourceScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Scalar>::deserialize(d)?;
        if let Some(spec) = included(&s.value, &s.defined).map_err(de::Error::custom)? {
            return include(&spec, parse_yaml::<SourceScalar>).map_err(de::Error::custom);
        }
        Ok(SourceScalar(resolve(s.value, &s.defined)))
    }
}

/// A mapping key read as `String` is (same errors), but borrowed from the source text when
/// the parser can (no escapes): record and value keys are read 300,000 times in a big zone.
struct Key<'de>(Cow<'de, str>);

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // `String`'s own words, so an error reads as before.
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_string(KeyVisitor)
    }
}

/// The name of a field of a structured value (`exchange`), as written.
pub type FieldName = Cow<'static, str>;

/// `k` as a [`FieldName`]: the field names of MX, SRV and CAA (most structured values)
/// without an allocation.
fn field_name(k: Key<'_>) -> FieldName {
    match COMMON_FIELDS.iter().find(|n| **n == k.0) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(k.0.into_owned()),
    }
}

/// The field names of MX, SRV and CAA, held without an allocation.
const COMMON_FIELDS: &[&str] = &[
    "preference",
    "exchange",
    "priority",
    "weight",
    "port",
    "target",
    "flags",
    "tag",
    "value",
];

/// [`field_name`] of a borrowed name (the fast path's).
pub(crate) fn field_name_of(k: &str) -> FieldName {
    match COMMON_FIELDS.iter().find(|n| **n == k) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(k.to_owned()),
    }
}

/// Where `!include` paths of the file being parsed are read from.
#[derive(Clone, Debug)]
pub struct Includes {
    /// The manifest root (the directory holding zonekeeper.yaml): nothing outside it is read.
    pub root: PathBuf,
    /// The directory of the file being parsed: paths are relative to it, as in octoDNS.
    pub dir: PathBuf,
    /// How many includes deep this file is.
    pub depth: u8,
    /// The key order included files must keep (octoDNS loads them with the including
    /// file's loader, so its `enforce_order` applies); `None`: any order.
    pub order: Option<super::order::KeyOrder>,
}

impl Includes {
    /// Includes of the zone file `file`, confined to `root`.
    pub fn of(root: &Path, file: &Path) -> Includes {
        Includes {
            root: root.to_path_buf(),
            dir: file.parent().unwrap_or(Path::new("")).to_path_buf(),
            depth: 0,
            order: None,
        }
    }

    /// The same, with included files held to `order` as octoDNS holds them.
    pub fn with_order(mut self, order: Option<super::order::KeyOrder>) -> Includes {
        self.order = order;
        self
    }
}

/// The deepest chain of `!include`s followed (octoDNS has no limit and loops forever).
const MAX_INCLUDE_DEPTH: u8 = 8;

thread_local! {
    /// The include settings of the file being parsed on this thread (`None`: no includes).
    static INCLUDES: RefCell<Option<Includes>> = const { RefCell::new(None) };
    /// Set while a file that uses `!include` is parsed: tags are then read from the source
    /// where values are (the parser is told to let them through).
    static TAGS_FROM_SOURCE: Cell<bool> = const { Cell::new(false) };
    /// Set when the records under the name being read are `!include`d.
    static RECORDS_INCLUDED: Cell<bool> = const { Cell::new(false) };
    /// Set by [`with_general_path`]: the shortcuts are off.
    static GENERAL_PATH: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (a parse on this thread) with every shortcut of the parse turned off: a big
/// file is parsed as one piece, by serde-saphyr (not the event-driven fast path of
/// `manifest::fast`), and every integer's source text is read back. For the
/// differential test that holds the shortcuts to the general path's results and errors.
#[doc(hidden)]
pub fn with_general_path<T>(f: impl FnOnce() -> T) -> T {
    let outer = GENERAL_PATH.with(|g| g.replace(true));
    let out = f();
    GENERAL_PATH.with(|g| g.set(outer));
    out
}

/// Whether [`with_general_path`] is in force on this thread.
pub(crate) fn general_path() -> bool {
    GENERAL_PATH.with(Cell::get)
}

/// The options every zone file is parsed with: [`yaml_options`], non-finite floats passed to
/// the visitors (`606e970852` is text to octoDNS: the source decides, see [`resolve`]),
/// and every tag refused unless `tags_from_source` (then [`included`] reads them).
fn zone_options(len: usize, tags_from_source: bool) -> serde_saphyr::Options {
    let mut options = yaml_options(len);
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    options.reject_unsupported_tags = !tags_from_source;
    options
}

/// Parses `text` as a zone file (or a part of one an `!include` names). Every tag is
/// refused by the parser, except in a file that uses `!include` (the parser stops at it):
/// that file is parsed again with tags let through, and read from the source where values,
/// fields and record lists are ([`included`]). Files without includes pay nothing for it.
fn parse_yaml<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, serde_saphyr::Error> {
    let parse = |tags_from_source: bool| {
        let outer = TAGS_FROM_SOURCE.with(|t| t.replace(tags_from_source));
        let out = yaml11::with_source(text, || {
            serde_saphyr::from_str_with_options(text, zone_options(text.len(), tags_from_source))
        });
        TAGS_FROM_SOURCE.with(|t| t.set(outer));
        out
    };
    match parse(false) {
        Err(e) if e.to_string().contains("unsupported tag `!include`") => parse(true),
        other => other,
    }
}

/// The path an `!include` on the node at `loc` (with value `value`) names; an error for
/// any other tag. Only in a file parsed with tags let through.
fn included(value: &Scalar, loc: &Location) -> Result<Option<String>, String> {
    if !TAGS_FROM_SOURCE.with(Cell::get) {
        return Ok(None);
    }
    match yaml11::tag_of(loc) {
        None => Ok(None),
        Some(tag) if tag == "!include" => match value {
            Scalar::Str(spec) => Ok(Some(spec.clone())),
            other => Err(format!("`!include` names a file, not {}", other.describe())),
        },
        Some(tag) => Err(format!("unsupported tag `{tag}`")),
    }
}

/// Reads the file an `!include` names, as octoDNS does: relative to the including file,
/// its whole content replacing the node; confined to the manifest root. Errors name the
/// included file and line.
fn include<T>(
    spec: &str,
    parse: impl FnOnce(&str) -> Result<T, serde_saphyr::Error>,
) -> Result<T, String> {
    let Some(ctx) = INCLUDES.with(|c| c.borrow().clone()) else {
        return Err(format!(
            "`!include {spec}`: includes are read only from zone files of a repository"
        ));
    };
    if ctx.depth >= MAX_INCLUDE_DEPTH {
        return Err(format!(
            "`!include {spec}`: more than {MAX_INCLUDE_DEPTH} nested includes"
        ));
    }
    let path = ctx.dir.join(spec);
    let text =
        read_input_inside(&ctx.root, &path).map_err(|d| format!("`!include {spec}`: {d}"))?;
    if let Some(d) = ctx.order.and_then(|o| super::order::check(&text, &path, o)) {
        return Err(format!("`!include {spec}`: {d}"));
    }
    let inner = Includes {
        root: ctx.root.clone(),
        dir: path.parent().unwrap_or(Path::new("")).to_path_buf(),
        depth: ctx.depth + 1,
        order: ctx.order,
    };
    let outer = INCLUDES.with(|c| c.replace(Some(inner)));
    let out = parse(&text);
    INCLUDES.with(|c| *c.borrow_mut() = outer);
    out.map_err(|e| format!("`!include {spec}`: {}", from_yaml_error(&path, &e)))
}

/// Parses an octoDNS zone file, with every value and name resolved as octoDNS's YAML 1.1
/// loader reads it (see [`Scalar`]) and `!include`s read from `includes` (refused when
/// `None`).
///
/// # Errors
/// The YAML error, with its position.
pub fn parse_zone_file(
    text: &str,
    includes: Option<Includes>,
) -> Result<RawZoneFile, serde_saphyr::Error> {
    if !general_path() {
        if let Some(raw) = super::fast::parse(text) {
            return Ok(raw);
        }
    }
    let outer = INCLUDES.with(|c| c.replace(includes));
    let out = parse_yaml(text);
    INCLUDES.with(|c| *c.borrow_mut() = outer);
    out
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar (string or number)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        i64::try_from(v)
            .map(Scalar::Int)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        ExtValueVisitor.visit_seq(seq).map(|v| Scalar::Tree(v.0))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        ExtValueVisitor.visit_map(map).map(|v| Scalar::Tree(v.0))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// A record value: a plain scalar (`1.2.3.4`) or a mapping of fields (`{exchange: ..}`);
/// a list where `value:` holds one (octoDNS reads it as `values:`).
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue {
    Scalar(Scalar),
    Map(Vec<(FieldName, Scalar)>),
    List(Vec<RawValue>),
}

impl RawValue {
    /// The value as written, as a settings value (a type zonekeeper keeps but never
    /// interprets: [`crate::model::RecordType::NOT_DNS`]).
    pub fn to_ext(&self) -> ExtValue {
        match self {
            RawValue::Scalar(s) => s.to_ext(),
            RawValue::Map(fields) => ExtValue::Map(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_ext()))
                    .collect(),
            ),
            RawValue::List(items) => ExtValue::List(items.iter().map(RawValue::to_ext).collect()),
        }
    }

    /// The values this stands for: the items of a list, else itself.
    pub fn into_values(self) -> Vec<RawValue> {
        match self {
            RawValue::List(v) => v,
            other => vec![other],
        }
    }
}

struct RawValueVisitor;

impl<'de> Visitor<'de> for RawValueVisitor {
    type Value = RawValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record value (a string or a mapping of fields)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Scalar(Scalar::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Scalar(Scalar::Str(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Scalar(Scalar::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        ScalarVisitor.visit_u64(v).map(RawValue::Scalar)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Scalar(Scalar::Float(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Scalar(Scalar::Bool(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Scalar(Scalar::Null))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(k) = map.next_key::<Key>()? {
            fields.push((field_name(k), map.next_value::<SourceScalar>()?.0));
        }
        Ok(RawValue::Map(fields))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(2));
        while let Some(item) = seq.next_element::<RawValue>()? {
            v.push(item);
        }
        Ok(RawValue::List(v))
    }
}

/// A [`RawValue`] before its scalar is resolved against the source.
struct UnresolvedValue(RawValue);

impl<'de> Deserialize<'de> for UnresolvedValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawValueVisitor).map(UnresolvedValue)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Spanned::<UnresolvedValue>::deserialize(d)?;
        if let RawValue::Scalar(s) = &v.value.0 {
            if let Some(spec) = included(s, &v.defined).map_err(de::Error::custom)? {
                return include(&spec, parse_yaml::<RawValue>).map_err(de::Error::custom);
            }
        }
        Ok(match v.value.0 {
            RawValue::Scalar(s) => RawValue::Scalar(resolve(s, &v.defined)),
            other => other,
        })
    }
}

/// octoDNS's own keys in a record's `octodns:` block; every other key there is a provider
/// settings block keyed by provider type (`cloudflare`, `route53`, ...). From octoDNS 1.x
/// `octodns/record/base.py` (`ignored`, `excluded`, `included`, `healthcheck`, `lenient`).
pub const OCTODNS_OWN_KEYS: &[&str] =
    &["ignored", "included", "excluded", "healthcheck", "lenient"];

/// One provider settings block as written: `<kind>: {...}` under a record's `octodns:`.
#[derive(Clone, Debug, PartialEq)]
pub struct RawProviderBlock {
    /// The provider type it is for (`cloudflare`, `memory`, ...).
    pub kind: String,
    /// Where the block's value starts.
    pub pos: Pos,
    /// Its value; anything but a mapping is refused when the record is converted.
    pub value: ExtValue,
}

/// octoDNS's per-record `octodns:` block. octoDNS's own keys are typed (`healthcheck` is
/// accepted and ignored, as zonekeeper runs no health checks); every other key is a provider
/// settings block (`cloudflare: {proxied: true}`), kept for the target of that kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawMeta {
    /// The record is not managed: never created, changed or deleted.
    pub ignored: bool,
    /// Only these targets receive the record.
    pub included: Vec<String>,
    /// These targets do not receive the record.
    pub excluded: Vec<String>,
    /// octoDNS: downgrade validation errors to warnings. zonekeeper still refuses values it
    /// cannot represent exactly; accepted for compatibility.
    pub lenient: bool,
    /// Provider settings blocks, in file order.
    pub providers: Vec<RawProviderBlock>,
}

struct RawMetaVisitor;

impl<'de> Visitor<'de> for RawMetaVisitor {
    type Value = RawMeta;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of octoDNS record options and provider settings blocks")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMeta, A::Error> {
        let mut m = RawMeta::default();
        while let Some(k) = map.next_key::<Key>()? {
            match &*k.0 {
                "ignored" => m.ignored = map.next_value()?,
                "included" => m.included = map.next_value()?,
                "excluded" => m.excluded = map.next_value()?,
                "lenient" => m.lenient = map.next_value()?,
                "healthcheck" => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                _ => {
                    let v = map.next_value::<Spanned<RawExtValue>>()?;
                    m.providers.push(RawProviderBlock {
                        kind: k.0.into_owned(),
                        pos: Pos::from_saphyr(&v.referenced),
                        value: v.value.0,
                    });
                }
            }
        }
        Ok(m)
    }
}

impl<'de> Deserialize<'de> for RawMeta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RawMetaVisitor)
    }
}

/// A settings value read from YAML into its canonical [`ExtValue`].
pub struct RawExtValue(pub ExtValue);

struct ExtValueVisitor;

impl<'de> Visitor<'de> for ExtValueVisitor {
    type Value = RawExtValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a setting value (scalar, list or mapping)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawExtValue, E> {
        Ok(RawExtValue(ExtValue::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<RawExtValue, E> {
        Ok(RawExtValue(ExtValue::Str(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawExtValue, E> {
        Ok(RawExtValue(ExtValue::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawExtValue, E> {
        i64::try_from(v)
            .map(|i| RawExtValue(ExtValue::Int(i)))
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawExtValue, E> {
        ExtValue::from_f64(v)
            .map(RawExtValue)
            .ok_or_else(|| E::custom(format!("invalid setting value {v}: not a finite number")))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawExtValue, E> {
        Ok(RawExtValue(ExtValue::Bool(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawExtValue, E> {
        Ok(RawExtValue(ExtValue::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<RawExtValue, E> {
        Ok(RawExtValue(ExtValue::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawExtValue, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(2));
        while let Some(item) = seq.next_element::<RawExtValue>()? {
            v.push(item.0);
        }
        Ok(RawExtValue(ExtValue::List(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawExtValue, A::Error> {
        let mut m = std::collections::BTreeMap::new();
        while let Some(k) = map.next_key::<Scalar>()? {
            let key = k.as_text().ok_or_else(|| {
                de::Error::custom(format!(
                    "invalid setting name {}: expected a string",
                    k.describe()
                ))
            })?;
            let v = map.next_value::<RawExtValue>()?;
            if m.insert(key.clone(), v.0).is_some() {
                return Err(de::Error::custom(format!("setting {key:?} given twice")));
            }
        }
        Ok(RawExtValue(ExtValue::Map(m)))
    }
}

impl<'de> Deserialize<'de> for RawExtValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ExtValueVisitor)
    }
}

/// One record as written under a name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawRecord {
    pub pos: Pos,
    pub rtype: Option<Scalar>,
    pub ttl: Option<Scalar>,
    /// Where the `ttl` value is, so a bad TTL is reported there rather than at the record.
    pub ttl_pos: Option<Pos>,
    pub value: Option<RawValue>,
    pub values: Option<Vec<RawValue>>,
    pub octodns: Option<RawMeta>,
    /// Keys octoDNS does not define (typos) or that zonekeeper refuses (`dynamic`, `geo`).
    pub unknown_keys: Vec<String>,
    /// The `!include`d file the record was written in and its place there, where its
    /// problems are reported (`pos` is then the including name's); `None`: the zone file.
    pub file: Option<(PathBuf, Pos)>,
}

struct RawRecordVisitor;

impl<'de> Visitor<'de> for RawRecordVisitor {
    type Value = RawRecord;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record mapping with at least `type` and `value` or `values`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRecord, A::Error> {
        let mut r = RawRecord::default();
        while let Some(k) = map.next_key::<Key>()? {
            match &*k.0 {
                "type" => r.rtype = Some(map.next_value()?),
                "ttl" => {
                    let v = map.next_value::<Spanned<Scalar>>()?;
                    r.ttl_pos = Some(Pos::from_saphyr(&v.referenced));
                    r.ttl = Some(resolve(v.value, &v.defined));
                }
                "value" => r.value = Some(map.next_value()?),
                "values" => r.values = Some(map.next_value::<RawValue>()?.into_values()),
                "octodns" => r.octodns = Some(map.next_value()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                    r.unknown_keys.push(k.0.into_owned());
                }
            }
        }
        Ok(r)
    }
}

impl<'de> Deserialize<'de> for RawRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RawRecordVisitor)
    }
}

/// The records under one name: a single mapping, or a list of them, each list item with its
/// position in `pos` (a record without one has line 0 there and takes its name's).
struct RecordList(Vec<RawRecord>);

struct RecordListVisitor;

impl<'de> Visitor<'de> for RecordListVisitor {
    type Value = RecordList;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record mapping or a list of record mappings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RecordList, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(2));
        while let Some(item) = seq.next_element::<Spanned<RawRecord>>()? {
            let mut r = item.value;
            r.pos = Pos::from_saphyr(&item.referenced);
            v.push(r);
        }
        Ok(RecordList(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RecordList, A::Error> {
        let r = RawRecordVisitor.visit_map(map)?;
        Ok(RecordList(vec![r]))
    }
    /// `name: !include records.yaml`: the included records take the name's position, and
    /// keep their file and place there for reports (a record that is the file's one mapping
    /// is at its line 1), as octoDNS reports them.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RecordList, E> {
        if !RECORDS_INCLUDED.with(|r| r.replace(false)) {
            return Err(E::invalid_type(de::Unexpected::Str(v), &self));
        }
        let path = INCLUDES.with(|c| c.borrow().as_ref().map(|i| i.dir.join(v)));
        let list = include(v, parse_yaml::<RecordList>).map_err(E::custom)?;
        let top = Pos { line: 1, column: 1 };
        Ok(RecordList(
            list.0
                .into_iter()
                .map(|mut r| {
                    if r.file.is_none() {
                        // A record that is the file's one mapping has no place of its own.
                        let place = if r.pos.line == 0 { top } else { r.pos };
                        r.file = path.clone().map(|p| (p, place));
                    }
                    RawRecord {
                        pos: Pos::default(),
                        ..r
                    }
                })
                .collect(),
        ))
    }
}

impl<'de> Deserialize<'de> for RecordList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RecordListVisitor)
    }
}

/// All records written under one name.
#[derive(Debug)]
pub struct RawName {
    pub name: String,
    pub pos: Pos,
    pub records: Vec<RawRecord>,
    /// Why the name as written is refused (octoDNS would read another name).
    pub problem: Option<String>,
}

/// A record name key as octoDNS reads it (`str(key).lower()` of PyYAML's value), or why it
/// is refused: an unquoted key PyYAML reads as anything but its own text names another
/// record in octoDNS (`null` -> `none`, `no` -> `false`, `010` -> `8`).
fn name_of(key: Scalar) -> Result<String, String> {
    match key {
        Scalar::Str(s) => Ok(s),
        Scalar::Int(i) => Ok(i.to_string()),
        Scalar::Null => Err(
            "octoDNS (YAML 1.1) reads this unquoted key as null and names the record `none`; write '' for the zone apex, or quote the name".into(),
        ),
        Scalar::Yaml11 { text, read } => Err(match read.octodns_name() {
            Some(n) => format!(
                "octoDNS (YAML 1.1) reads the unquoted name `{text}` as {} and names the record `{n}`; quote it ('{text}') for the name {text:?}",
                read.describe()
            ),
            None => format!(
                "octoDNS (YAML 1.1) reads the unquoted name `{text}` as {}; quote it ('{text}') for the name {text:?}",
                read.describe()
            ),
        }),
        other => Err(format!(
            "a record name must be a string, not {}",
            other.describe()
        )),
    }
}

/// A whole octoDNS zone file: names in file order.
#[derive(Debug, Default)]
pub struct RawZoneFile {
    pub names: Vec<RawName>,
}

struct ZoneFileVisitor;

impl<'de> Visitor<'de> for ZoneFileVisitor {
    type Value = RawZoneFile;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of record names ('' for the apex) to records")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawZoneFile, A::Error> {
        // Room for a name per 64 bytes of the file (a name takes 40 or more): growing a
        // 50,000-name vector by copies touched fresh memory again and again.
        let mut names = Vec::with_capacity(yaml11::source_len() / 64);
        while let Some(key) = map.next_key::<Spanned<Scalar>>()? {
            let key_value = resolve(key.value, &key.defined);
            let text = match &key_value {
                Scalar::Yaml11 { text, .. } => Some(text.clone()),
                Scalar::Null => match yaml11::source_of(&key.defined) {
                    Some(Written::Plain(t)) => Some(t),
                    _ => None,
                },
                other => other.as_text(),
            };
            let (name, problem) = match name_of(key_value) {
                Ok(n) => (n, None),
                Err(e) => (text.unwrap_or_default(), Some(e)),
            };
            if TAGS_FROM_SOURCE.with(Cell::get) {
                match yaml11::tag_after_key(&key.defined) {
                    None => {}
                    Some(tag) if tag == "!include" => RECORDS_INCLUDED.with(|r| r.set(true)),
                    Some(tag) => return Err(de::Error::custom(format!("unsupported tag `{tag}`"))),
                }
            }
            // A single record takes the position of its name (one span per name is cheaper
            // than two, and points at the same place); list items carry their own.
            let recs = map.next_value::<RecordList>();
            RECORDS_INCLUDED.with(|r| r.set(false));
            let recs = recs?;
            let list_pos = Pos::from_saphyr(&key.referenced);
            let mut records = recs.0;
            for r in records.iter_mut().filter(|r| r.pos.line == 0) {
                r.pos = list_pos;
            }
            names.push(RawName {
                name,
                pos: Pos::from_saphyr(&key.referenced),
                records,
                problem,
            });
        }
        Ok(RawZoneFile { names })
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawZoneFile, E> {
        Ok(RawZoneFile::default())
    }
}

impl<'de> Deserialize<'de> for RawZoneFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ZoneFileVisitor)
    }
}

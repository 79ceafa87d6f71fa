//! `rfc2136`: a primary server that takes RFC 2136 dynamic UPDATEs and serves AXFR (BIND 9,
//! Knot, PowerDNS with dnsupdate), both over TCP and signed with TSIG (RFC 8945).
//!
//! Owns: the settings, TSIG key set-up, reading a zone by AXFR (every message's TSIG is
//! verified; the SOA and types zonekeeper does not manage are left out), turning a batch of
//! changes into **one** UPDATE message, and mapping the server's rcode to change outcomes.
//! NLnet Labs `domain` builds, signs, sends and parses every message; nothing here touches
//! the wire format. Retries and bisection of refused batches live in `apply`.
//!
//! Batching: one `apply` call is one UPDATE message, so `atomic_batches` is true and a
//! refused message fails exactly the changes it carried. `caps.batch` caps a call at
//! [`MAX_CHANGES`]; a batch whose message would still exceed 64 KiB is refused before
//! anything is sent (kind `Rejected`), which makes `apply` halve it until it fits.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use domain::base::iana::{Class, Opcode, Rcode, Rtype};
use domain::base::name::Name;
use domain::base::{Message, MessageBuilder, ParsedName, StreamTarget, UnknownRecordData};
use domain::net::client::request::{
    self, ComposeRequest, RequestMessage, RequestMessageMulti, SendRequest, SendRequestMulti,
};
use domain::net::client::{stream, tsig as tsig_client};
use domain::rdata::ZoneRecordData;
use domain::tsig::{Algorithm, Key, KeyName};
use schemars::JsonSchema;
use serde::Deserialize;

use super::dnswire::{self, WireData};
use super::{
    BuildContext, CallObserver, ChangeOutcome, ErrorKind, NoObserver, Observed, Provider,
    ProviderError,
};
use crate::input::HumanDuration;
use crate::model::{Fqdn, RData, RecordType, RrKey, RrSet, Zone};
use crate::plan::{Capabilities, Change, Granularity};
use crate::secret::{Secret, SecretError, SecretRef};

/// Most changes one `apply` call (one UPDATE message) carries. About what fits in 64 KiB for
/// single-value updates of short names; bigger batches are halved by `apply` (see module docs).
pub const MAX_CHANGES: usize = 1000;

/// DNS messages over TCP carry a 16-bit length.
const MESSAGE_LIMIT: usize = 65_535;

/// Room left for what is added after the size check, besides the key's name: the TSIG RR
/// (RFC 8945 §4.2: owner, 10 octets of type/class/TTL/length, the algorithm name of at
/// most 13 octets, 16 octets of fixed fields and a MAC of up to 64) and the transport's
/// EDNS OPT record (11 octets, RFC 6891 §6.1.2), with some slack. A fixed 512 refused a
/// 65,000-octet TXT that fits.
const SIGNATURE_ROOM: usize = 10 + 13 + 16 + 64 + 11 + 32;

/// The `type:` of this backend's config entries.
pub const KIND: &str = "rfc2136";

/// This backend's settings, under the name the registry looks for.
pub type Settings = Rfc2136Settings;

/// The secret references of these settings: the TSIG secret.
pub fn secrets_mut(settings: &mut Settings) -> Vec<&mut SecretRef> {
    vec![&mut settings.tsig.secret]
}

/// Makes a relative `file:` TSIG secret relative to the config file; refuses a zero timeout.
pub fn check(settings: &mut Settings, base_dir: &Path) -> Result<(), String> {
    settings.tsig.secret = settings.tsig.secret.clone().relative_to(base_dir);
    if settings.timeout.get().is_zero() {
        return Err("timeout must be longer than 0s".into());
    }
    Ok(())
}

/// Resolves the TSIG secret and makes the provider.
pub fn build(
    name: &str,
    settings: &Settings,
    ctx: &BuildContext,
) -> Result<Box<dyn Provider>, SecretError> {
    let secret = ctx.secrets.resolve(&settings.tsig.secret)?;
    Ok(Box::new(
        Rfc2136Provider::new(name, settings, &secret)?.with_observer(ctx.observer.clone()),
    ))
}

/// `rfc2136`: a primary server written by TSIG-signed UPDATE, read by AXFR (BIND).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rfc2136Settings {
    /// The primary server, `host:port` (`[::1]:53` for IPv6); port 53 when left out.
    pub server: String,
    /// The TSIG key that signs every UPDATE and AXFR.
    pub tsig: TsigSettings,
    /// Zones on this server zonekeeper may manage (what `list_zones` reports). Empty: any
    /// zone the key is allowed to transfer and update.
    #[serde(default, deserialize_with = "zone_names")]
    #[schemars(with = "Vec<String>")]
    pub zones: Vec<Fqdn>,
    /// Add prerequisites to every update so it fails (as a conflict) when the RRset changed
    /// since it was read: no concurrent edit is overwritten unseen.
    #[serde(default)]
    pub guard: bool,
    /// How long to wait for a connection or a response, e.g. `30s` (the default); a bare
    /// number is seconds, as older configs wrote it.
    #[serde(
        default = "default_timeout",
        deserialize_with = "crate::input::duration::seconds_or_text"
    )]
    #[schemars(schema_with = "crate::input::duration::seconds_or_text_schema")]
    pub timeout: HumanDuration,
}

fn default_timeout() -> HumanDuration {
    HumanDuration::from_secs(30)
}

/// `zones: [example.com, ...]`, each a valid name.
fn zone_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Fqdn>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|z| {
            Fqdn::parse(z)
                .map_err(|e| serde::de::Error::custom(format!("invalid zone name {z:?}: {e}")))
        })
        .collect()
}

/// A TSIG key: its name, algorithm and a reference to its base64 secret.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TsigSettings {
    /// The key name, as in the server's `key "<name>" { ... }` block.
    pub name: String,
    #[serde(default)]
    pub algorithm: TsigAlgorithm,
    /// `env:NAME` or `file:PATH` holding the base64 secret (the `secret` of the key block).
    pub secret: SecretRef,
}

/// TSIG algorithms `domain` implements (HMAC-MD5 is not one of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum TsigAlgorithm {
    #[serde(rename = "hmac-sha1")]
    HmacSha1,
    #[default]
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    #[serde(rename = "hmac-sha384")]
    HmacSha384,
    #[serde(rename = "hmac-sha512")]
    HmacSha512,
}

impl TsigAlgorithm {
    fn to_domain(self) -> Algorithm {
        match self {
            TsigAlgorithm::HmacSha1 => Algorithm::Sha1,
            TsigAlgorithm::HmacSha256 => Algorithm::Sha256,
            TsigAlgorithm::HmacSha384 => Algorithm::Sha384,
            TsigAlgorithm::HmacSha512 => Algorithm::Sha512,
        }
    }
}

type TsigKey = Arc<Key>;
type Conn = tsig_client::Connection<
    stream::Connection<
        tsig_client::RequestMessage<RequestMessage<Vec<u8>>, TsigKey>,
        tsig_client::RequestMessage<RequestMessageMulti<Vec<u8>>, TsigKey>,
    >,
    TsigKey,
>;

/// Builds the TSIG key; the error names the key and the secret's reference, never the
/// secret.
fn make_key(t: &TsigSettings, secret: &Secret) -> Result<TsigKey, SecretError> {
    let unusable = |why: String| SecretError::Unusable {
        reference: t.secret.to_string(),
        why,
    };
    let bytes = domain::utils::base64::decode::<Vec<u8>>(secret.expose().trim()).map_err(|_| {
        unusable(format!(
            "the secret of TSIG key {:?} is not valid base64 (as `tsig-keygen` prints it)",
            t.name
        ))
    })?;
    let name = KeyName::from_str(&t.name)
        .map_err(|e| unusable(format!("invalid TSIG key name {:?}: {e}", t.name)))?;
    Key::new(t.algorithm.to_domain(), &bytes, name, None, None)
        .map(Arc::new)
        .map_err(|e| unusable(format!("TSIG key {:?} cannot be used: {e}", t.name)))
}

pub struct Rfc2136Provider {
    name: String,
    server: String,
    key: TsigKey,
    key_name: String,
    zones: Vec<Fqdn>,
    guard: bool,
    timeout: Duration,
    caps: Capabilities,
    messages: AtomicUsize,
    /// Told of every AXFR and UPDATE exchange (no retries here: `apply` retries writes).
    observer: Arc<dyn CallObserver>,
}

impl Rfc2136Provider {
    /// A provider for `settings`, with the TSIG secret already resolved.
    ///
    /// # Errors
    /// The key cannot be used (the secret is not base64, the key name is invalid): said
    /// at start, not at the first request.
    pub fn new(
        name: &str,
        settings: &Rfc2136Settings,
        secret: &Secret,
    ) -> Result<Rfc2136Provider, SecretError> {
        let mut caps = Capabilities::everything();
        // ALIAS is a provider pseudo-type: no DNS server holds it.
        caps.types.remove(&RecordType::ALIAS);
        caps.granularity = Granularity::RrSet;
        caps.batch = crate::plan::BatchLimit::changes(MAX_CHANGES);
        caps.atomic_batches = true;
        // Zones are declared in the server's configuration; UPDATE cannot create one.
        caps.creates_zones = false;
        // DNS UPDATE carries only records: no per-record settings.
        caps.record_settings.clear();
        let server = if settings.server.parse::<std::net::SocketAddr>().is_ok()
            || settings
                .server
                .rsplit_once(':')
                .is_some_and(|(h, _)| !h.contains(':'))
        {
            settings.server.clone()
        } else {
            format!("{}:53", settings.server)
        };
        Ok(Rfc2136Provider {
            name: name.to_string(),
            server,
            key: make_key(&settings.tsig, secret)?,
            key_name: settings.tsig.name.clone(),
            zones: settings.zones.clone(),
            guard: settings.guard,
            timeout: settings.timeout.get(),
            caps,
            messages: AtomicUsize::new(0),
            observer: Arc::new(NoObserver),
        })
    }

    /// Reports every exchange to `observer` (from the [`super::BuildContext`]).
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Rfc2136Provider {
        self.observer = observer;
        self
    }

    /// Tells the observer how one exchange (`AXFR`, `UPDATE`) went.
    fn observe<T>(
        &self,
        exchange: &str,
        started: std::time::Instant,
        r: &Result<T, ProviderError>,
    ) {
        let outcome = r.as_ref().map_or_else(|e| e.kind.as_str(), |_| "ok");
        self.observer
            .request(&self.name, exchange, outcome, started.elapsed());
    }

    /// UPDATE and AXFR requests sent so far (for tests and benchmarks).
    pub fn messages_sent(&self) -> usize {
        self.messages.load(Ordering::Relaxed)
    }

    /// A TCP connection to the server that signs requests and verifies every response.
    async fn connect(&self) -> Result<Conn, ProviderError> {
        let key = self.key.clone();
        let tcp = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(&self.server))
            .await
            .map_err(|_| {
                ProviderError::new(
                    ErrorKind::Transient,
                    format!("connecting to {} timed out", self.server),
                )
            })?
            .map_err(|e| {
                ProviderError::new(
                    ErrorKind::Transient,
                    format!("cannot connect to {}: {e}", self.server),
                )
            })?;
        let mut cfg = stream::Config::new();
        cfg.set_response_timeout(self.timeout);
        cfg.set_streaming_response_timeout(self.timeout);
        let (conn, transport) = stream::Connection::with_config(tcp, cfg);
        // Ends by itself when the connection is dropped.
        tokio::spawn(transport.run());
        Ok(tsig_client::Connection::new(key, conn))
    }

    /// A transport error as a provider error: TSIG failures are `Auth`, the rest transient.
    fn transport_error(&self, what: &str, e: request::Error) -> ProviderError {
        use request::Error as E;
        let (kind, msg) = match e {
            // A server that cannot parse a request answers FORMERR without a signature
            // (RFC 8945 §5.2: it never got to the TSIG record); a bad key or signature gets
            // a TSIG record with the error. So this is a refused request, not a key
            // problem: reported per change so `apply` can find the value.
            E::Authentication(domain::tsig::ValidationError::ServerUnsigned) => (
                ErrorKind::Rejected,
                "the server answered without a TSIG signature, as it does for a request it \
                 cannot parse (FORMERR): it refuses a value in it"
                    .to_string(),
            ),
            E::Authentication(v) => (
                ErrorKind::Auth,
                format!(
                    "TSIG authentication with key {:?} failed: {v} (check the key name, \
                     algorithm and secret, and the clocks: TSIG allows 300 s of skew)",
                    self.key_name
                ),
            ),
            E::StreamReadTimeout | E::StreamIdleTimeout => {
                (ErrorKind::Transient, "no response in time".to_string())
            }
            E::FormError | E::MessageBuilderPushError | E::StreamLongMessage => (
                ErrorKind::Rejected,
                format!("request could not be sent: {e}"),
            ),
            other => (ErrorKind::Transient, other.to_string()),
        };
        ProviderError::new(kind, format!("{what} via {}: {msg}", self.server))
    }

    /// Reads a zone by AXFR. `None` when the server is not authoritative for it.
    async fn transfer(&self, zone: &Fqdn) -> Result<Option<Zone>, ProviderError> {
        let what = format!("AXFR of {zone}");
        let zname = dnswire::wire_name(zone).map_err(|e| rejected(&what, e))?;
        let mut q = MessageBuilder::new_vec();
        q.header_mut().set_random_id();
        let mut q = q.question();
        q.push((&zname, Rtype::AXFR))
            .map_err(|e| rejected(&what, e.to_string()))?;
        let req = RequestMessageMulti::new(q).map_err(|e| self.transport_error(&what, e))?;
        let conn = self.connect().await?;
        self.messages.fetch_add(1, Ordering::Relaxed);
        let mut resp = SendRequestMulti::send_request(&conn, req);
        let mut sets: BTreeMap<RrKey, (u32, Vec<RData>)> = BTreeMap::new();
        let mut first = true;
        while let Some(msg) = resp
            .get_response()
            .await
            .map_err(|e| self.transport_error(&what, e))?
        {
            let rcode = msg.header().rcode();
            if first && (rcode == Rcode::NOTAUTH || rcode == Rcode::NXDOMAIN) {
                // Signed and verified, so this is the server's word: no such zone here.
                return Ok(None);
            }
            first = false;
            if rcode != Rcode::NOERROR {
                return Err(rcode_error(&what, rcode));
            }
            collect_records(&msg, zone, &mut sets).map_err(|e| rejected(&what, e))?;
        }
        let mut out = Zone::new(zone.clone());
        for (k, (ttl, vals)) in sets {
            out.put(k, RrSet::new(ttl, vals));
        }
        Ok(Some(out))
    }

    /// Encodes one change, or says why it cannot be sent.
    fn encode(&self, zone: &Fqdn, c: &Change) -> Result<Encoded, String> {
        let key = c.key();
        let rtype = Rtype::from_int(key.rtype.code().unwrap_or(0));
        let owner = dnswire::wire_name(&key.name)?;
        let wire = |set: &RrSet| -> Result<Vec<WireData>, String> {
            set.values().iter().map(dnswire::to_wire).collect()
        };
        let apex_ns = key.rtype == RecordType::NS && &key.name == zone;
        let mut e = Encoded {
            owner,
            prereq: Vec::new(),
            update: Vec::new(),
        };
        if self.guard {
            match c.old() {
                // "RRset does not exist" (RFC 2136 2.4.3).
                None => e.prereq.push((Class::NONE, 0, Rec::Empty(rtype))),
                // "RRset exists (value dependent)" (2.4.2): exactly the values read.
                Some(old) => {
                    for d in wire(old)? {
                        e.prereq.push((Class::IN, 0, Rec::Data(d)));
                    }
                }
            }
        }
        match c {
            Change::Delete { .. } if apex_ns => {
                return Err("the apex NS RRset cannot be deleted by UPDATE (the server \
                            ignores it); declare the apex NS in the manifest or ignore it"
                    .into())
            }
            Change::Delete { .. } => e.update.push((Class::ANY, 0, Rec::Empty(rtype))),
            Change::Create { new, .. } => {
                for d in wire(new)? {
                    e.update.push((Class::IN, new.ttl, Rec::Data(d)));
                }
            }
            Change::Update { old, new, .. } if apex_ns => {
                // Deleting the apex NS RRset is ignored by servers (RFC 2136 3.4.2.3), and
                // the last NS is never removed: add the new ones first, then remove the
                // old ones that are not kept.
                for d in wire(new)? {
                    e.update.push((Class::IN, new.ttl, Rec::Data(d)));
                }
                for v in old.values().iter().filter(|v| !new.values().contains(v)) {
                    e.update
                        .push((Class::NONE, 0, Rec::Data(dnswire::to_wire(v)?)));
                }
            }
            Change::Update { new, .. } => {
                // Replace the whole RRset in this (atomic) message: values and TTL.
                e.update.push((Class::ANY, 0, Rec::Empty(rtype)));
                for d in wire(new)? {
                    e.update.push((Class::IN, new.ttl, Rec::Data(d)));
                }
            }
        }
        Ok(e)
    }

    /// One UPDATE message for all of `encoded`, or why it cannot be one.
    fn build_update(
        &self,
        zone: &Name<Bytes>,
        encoded: &[Encoded],
    ) -> Result<RequestMessage<Vec<u8>>, String> {
        let full = |_| "the changes do not fit in one UPDATE message".to_string();
        let mut msg = MessageBuilder::new_vec();
        msg.header_mut().set_opcode(Opcode::UPDATE);
        msg.header_mut().set_random_id();
        let mut msg = msg.question();
        // Zone section: the zone's name and SOA type (RFC 2136 2.3).
        msg.push((zone, Rtype::SOA)).map_err(full)?;
        let mut msg = msg.answer();
        for e in encoded {
            for (class, ttl, rec) in &e.prereq {
                match rec {
                    Rec::Data(d) => msg.push((&e.owner, *class, *ttl, d)),
                    Rec::Empty(t) => msg.push((&e.owner, *class, *ttl, empty(*t)?)),
                }
                .map_err(full)?;
            }
        }
        let mut msg = msg.authority();
        for e in encoded {
            for (class, ttl, rec) in &e.update {
                match rec {
                    Rec::Data(d) => msg.push((&e.owner, *class, *ttl, d)),
                    Rec::Empty(t) => msg.push((&e.owner, *class, *ttl, empty(*t)?)),
                }
                .map_err(full)?;
            }
        }
        let msg = Message::from_octets(msg.finish()).map_err(|e| e.to_string())?;
        let req = RequestMessage::new(msg).map_err(|e| e.to_string())?;
        // The size on the wire as the stream transport composes it: without name
        // compression (`to_vec` compresses, and under-counted a 65,000-octet TXT by ~100
        // octets, so the message then failed on the wire).
        let mut target = StreamTarget::new_vec();
        req.append_message(&mut target)
            .map_err(|_| "the changes do not fit in one UPDATE message".to_string())?;
        let size = target.as_dgram_slice().len();
        // The key name on the wire: its text plus one length octet and the root.
        let room = SIGNATURE_ROOM + self.key_name.trim_end_matches('.').len() + 2;
        if size + room > MESSAGE_LIMIT {
            return Err(format!(
                "the changes need {size} bytes, more than one UPDATE message holds \
                 ({MESSAGE_LIMIT} with the signature)"
            ));
        }
        Ok(req)
    }

    /// Sends one UPDATE and returns the outcome every change in it shares.
    async fn send_update(
        &self,
        zone: &Fqdn,
        req: RequestMessage<Vec<u8>>,
    ) -> Result<(), ProviderError> {
        let what = format!("UPDATE of {zone}");
        let conn = self.connect().await?;
        self.messages.fetch_add(1, Ordering::Relaxed);
        let mut resp = SendRequest::send_request(&conn, req);
        let msg = resp
            .get_response()
            .await
            .map_err(|e| self.transport_error(&what, e))?;
        match msg.header().rcode() {
            Rcode::NOERROR => Ok(()),
            rcode => Err(rcode_error(&what, rcode)),
        }
    }
}

/// A change as UPDATE records: prerequisites and updates, sharing the owner name.
struct Encoded {
    owner: Name<Bytes>,
    prereq: Vec<(Class, u32, Rec)>,
    update: Vec<(Class, u32, Rec)>,
}

/// Record data to send: a value, or the empty RDATA of a type (RRset deletes and
/// value-independent prerequisites).
enum Rec {
    Data(WireData),
    Empty(Rtype),
}

fn empty(t: Rtype) -> Result<UnknownRecordData<Bytes>, String> {
    UnknownRecordData::from_octets(t, Bytes::new()).map_err(|e| e.to_string())
}

fn rejected(what: &str, msg: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Rejected, format!("{what}: {msg}"))
}

/// The server's answer code as a provider error with a hint at the usual cause.
fn rcode_error(what: &str, rcode: Rcode) -> ProviderError {
    let (kind, why) = match rcode {
        Rcode::YXRRSET | Rcode::NXRRSET | Rcode::YXDOMAIN | Rcode::NXDOMAIN => (
            ErrorKind::Conflict,
            "a prerequisite failed: the RRset changed since it was read",
        ),
        Rcode::REFUSED => (
            ErrorKind::Rejected,
            "refused by the server's policy (allow-update / update-policy), or a record \
             breaks its check-names or check-integrity rules",
        ),
        Rcode::NOTAUTH => (
            ErrorKind::NotFound,
            "the server is not authoritative for the zone",
        ),
        Rcode::NOTZONE => (ErrorKind::Rejected, "a name is outside the zone"),
        Rcode::FORMERR => (
            ErrorKind::Rejected,
            "the server could not parse the message",
        ),
        Rcode::NOTIMP => (ErrorKind::Unsupported, "the server does not implement this"),
        Rcode::SERVFAIL => (ErrorKind::Transient, "server failure"),
        _ => (ErrorKind::Rejected, "unexpected answer"),
    };
    ProviderError::new(kind, format!("{what}: server answered {rcode}: {why}"))
}

/// Adds the records of one AXFR message to `sets`, leaving out the SOA and unmanaged types.
fn collect_records(
    msg: &Message<Bytes>,
    zone: &Fqdn,
    sets: &mut BTreeMap<RrKey, (u32, Vec<RData>)>,
) -> Result<(), String> {
    let answer = msg.answer().map_err(|e| e.to_string())?;
    for rr in answer.limit_to::<ZoneRecordData<Bytes, ParsedName<Bytes>>>() {
        let rr = rr.map_err(|e| e.to_string())?;
        // The SOA is the server's (it bumps the serial itself): never part of the model.
        if rr.rtype() == Rtype::SOA || rr.class() != Class::IN {
            continue;
        }
        let Some(value) = dnswire::to_model(rr.data())? else {
            continue;
        };
        let name = dnswire::name_of(rr.owner())?;
        if !name.is_in(zone) {
            continue;
        }
        let e = sets
            .entry(RrKey::new(name, value.rtype()))
            .or_insert((rr.ttl().as_secs(), Vec::new()));
        // One TTL per RRset (RFC 2181); the lowest is what resolvers would see.
        e.0 = e.0.min(rr.ttl().as_secs());
        e.1.push(value);
    }
    Ok(())
}

#[async_trait]
impl Provider for Rfc2136Provider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
        // The protocol has no "list zones": the configuration says which are managed.
        Ok(self.zones.clone())
    }

    async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
        let started = std::time::Instant::now();
        let r = self.transfer(zone).await;
        self.observe("AXFR", started, &r);
        Ok(match r? {
            Some(z) => Observed::present(z),
            None => Observed::absent(zone.clone()),
        })
    }

    async fn apply(
        &self,
        zone: &Fqdn,
        _observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        let all = |e: ProviderError| changes.iter().map(|_| Err(e.clone())).collect();
        let what = format!("UPDATE of {zone}");
        let mut encoded = Vec::with_capacity(changes.len());
        let mut refused: Vec<Option<String>> = Vec::with_capacity(changes.len());
        for c in changes {
            match self.encode(zone, c) {
                Ok(e) => {
                    encoded.push(e);
                    refused.push(None);
                }
                Err(why) => refused.push(Some(why)),
            }
        }
        if refused.iter().any(Option::is_some) {
            // Refused before sending: the message is atomic, so nothing of it is sent.
            return refused
                .into_iter()
                .map(|r| match r {
                    Some(why) => Err(rejected(&what, why)),
                    None => Err(ProviderError::new(
                        ErrorKind::NotAttempted,
                        "not sent: another change of its UPDATE message was refused",
                    )),
                })
                .collect();
        }
        let zname = match dnswire::wire_name(zone) {
            Ok(n) => n,
            Err(e) => return all(rejected(&what, e)),
        };
        let req = match self.build_update(&zname, &encoded) {
            Ok(r) => r,
            Err(e) => return all(rejected(&what, e)),
        };
        let started = std::time::Instant::now();
        let r = self.send_update(zone, req).await;
        self.observe("UPDATE", started, &r);
        match r {
            Ok(()) => changes.iter().map(|_| Ok(())).collect(),
            Err(e) => all(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Seen(Mutex<Vec<(String, String, String)>>);

    impl CallObserver for Seen {
        fn request(&self, provider: &str, exchange: &str, outcome: &str, _d: Duration) {
            let mut v = self.0.lock().unwrap();
            v.push((provider.into(), exchange.into(), outcome.into()));
        }
    }

    #[tokio::test]
    async fn every_exchange_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("tsig");
        std::fs::write(&key, "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0").unwrap();
        let secret = SecretRef::File(key).resolve().unwrap();
        // Nothing listens on a port just released: every exchange fails to connect.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = closed.local_addr().unwrap().to_string();
        drop(closed);
        let settings: Rfc2136Settings = serde_json::from_value(serde_json::json!({
            "server": server,
            "tsig": {"name": "k.", "secret": "env:UNUSED"},
            "timeout": 2,
        }))
        .unwrap();
        let seen = Arc::new(Seen::default());
        let p = Rfc2136Provider::new("bind", &settings, &secret)
            .expect("a valid key")
            .with_observer(seen.clone());
        let zone = Fqdn::parse("example.test.").unwrap();
        assert_eq!(
            p.read_zone(&zone).await.unwrap_err().kind,
            ErrorKind::Transient
        );
        let change = Change::Create {
            key: RrKey::new(zone.clone(), RecordType::A),
            new: RrSet::new(60, vec![RData::A([192, 0, 2, 1].into())]),
        };
        let out = p
            .apply(&zone, &Observed::absent(zone.clone()), &[change])
            .await;
        assert_eq!(out[0].as_ref().unwrap_err().kind, ErrorKind::Transient);
        let seen = seen.0.lock().unwrap().clone();
        let t = |e: &str| ("bind".to_string(), e.to_string(), "transient".to_string());
        assert_eq!(seen, [t("AXFR"), t("UPDATE")]);
    }
}

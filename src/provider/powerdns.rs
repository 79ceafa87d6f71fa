//! `powerdns`: a PowerDNS Authoritative server through its HTTP API (`/api/v1`).
//!
//! A zone is read in one GET and a whole plan is written as one PATCH of RRsets (REPLACE or
//! DELETE), which PowerDNS validates and applies as a unit; the body is split only where the
//! server's `webserver-max-bodysize` would refuse it. A refused PATCH (422) names the bad
//! record: that change gets PowerDNS's message and `apply`'s bisection re-sends the rest.
//! A missing zone is created by [`Provider::create_zone`] (POST), its own step before the
//! first write. Every request is idempotent (REPLACE and DELETE are; a create answered
//! "already exists" is a success), so the transport retries each one where it fails.
//! Values are converted with [`presentation`].
//!
//! Records PowerDNS holds disabled (kept, not served) are read like the others, and the
//! RRset carries the per-record setting `disabled`: the list of its disabled values in
//! presentation form. A manifest that declares the value without that setting plans an
//! update that re-enables it; one that leaves the value out deletes it; one that declares
//! `octodns: {powerdns: {disabled: [...]}}` keeps those values disabled.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::http::{HttpClient, HttpOptions, HttpResponse, RateLimitSettings};
use super::{BuildContext, ChangeOutcome, ErrorKind, Observed, Provider, ProviderError};
use crate::input::HumanDuration;
use crate::model::rdata::Loc;
use crate::model::{
    presentation, ExtValue, Fqdn, RData, RecordExt, RecordType, RrKey, RrSet, Zone, MAX_TTL,
};
use crate::plan::{Capabilities, Change, Granularity, NameGap, ValueGap};
use crate::secret::{Secret, SecretError, SecretRef};

/// The `type:` of this backend's config entries.
pub const KIND: &str = "powerdns";

/// This backend's settings, under the name the registry looks for.
pub type Settings = PowerdnsSettings;

/// The secret references of these settings: the API key.
pub fn secrets_mut(settings: &mut Settings) -> Vec<&mut SecretRef> {
    vec![&mut settings.api_key]
}

/// Makes a relative `file:` API key relative to the config file, then [`PowerdnsSettings::validate`].
pub fn check(settings: &mut Settings, base_dir: &Path) -> Result<(), String> {
    settings.api_key = settings.api_key.clone().relative_to(base_dir);
    settings.validate()
}

/// Resolves the API key and makes the provider.
pub fn build(
    name: &str,
    settings: &Settings,
    ctx: &BuildContext,
) -> Result<Box<dyn Provider>, SecretError> {
    let key = ctx.secrets.resolve(&settings.api_key)?;
    Ok(Box::new(PowerdnsProvider::new(
        name,
        settings.clone(),
        key,
        ctx,
    )))
}

/// `powerdns`: a PowerDNS Authoritative server through its HTTP API.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerdnsSettings {
    /// The API's base URL, e.g. `http://127.0.0.1:8081` (a trailing `/api/v1` is allowed).
    pub url: String,
    /// The `api-key` of the server, as `env:NAME` or `file:PATH`.
    pub api_key: SecretRef,
    /// The server id in API paths.
    #[serde(default = "default_server_id")]
    pub server_id: String,
    /// Create a zone that does not exist yet before applying to it (an empty zone: SOA from
    /// the server's `default-soa-content`, the manifest's apex NS written by the first
    /// PATCH). Off by default so a typo in a zone name cannot create a stray zone.
    #[serde(default)]
    pub create_zones: bool,
    /// `kind` of zones created by zonekeeper.
    #[serde(default)]
    pub zone_kind: ZoneKind,
    /// `soa_edit_api` of zones created by zonekeeper (`DEFAULT` bumps the serial per edit).
    #[serde(default)]
    pub soa_edit_api: SoaEditApi,
    /// Largest PATCH body sent, in bytes; larger plans are split. Keep it under the
    /// server's `webserver-max-bodysize` (MB, default 2).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Manage ALIAS records. Only when the server has `expand-alias=yes` and a `resolver`:
    /// otherwise PowerDNS stores ALIAS but does not answer for it.
    #[serde(default)]
    pub alias: bool,
    /// Optional client-side rate limit (PowerDNS has none of its own).
    #[serde(default)]
    pub rate_limit: Option<RateLimitSettings>,
    /// Whole-request timeout, e.g. `120s` (the default).
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

/// The `kind` of a zone zonekeeper creates (PowerDNS zone API, `kind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ZoneKind {
    /// Served from the database, replicated by the database (no AXFR/NOTIFY).
    #[default]
    Native,
    /// A primary: sends NOTIFY, serves AXFR.
    Master,
    /// A secondary: transfers the zone from its masters.
    Slave,
}

/// How PowerDNS changes the SOA serial when the API edits a zone (`SOA-EDIT-API`
/// metadata, <https://doc.powerdns.com/authoritative/dnsupdate.html#soa-serial-updates>).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum SoaEditApi {
    /// Follow the zone's `SOA-EDIT` (the serial goes up on every edit).
    #[default]
    #[serde(rename = "DEFAULT")]
    Default,
    /// Add one to the serial.
    #[serde(rename = "INCREASE")]
    Increase,
    /// Set the serial to the current Unix time.
    #[serde(rename = "EPOCH")]
    Epoch,
    /// Set the serial as `SOA-EDIT` would.
    #[serde(rename = "SOA-EDIT")]
    SoaEdit,
    /// `SOA-EDIT`'s value, or one more than the old serial if that is larger.
    #[serde(rename = "SOA-EDIT-INCREASE")]
    SoaEditIncrease,
    /// Leave the serial alone.
    #[serde(rename = "")]
    Off,
}

fn default_server_id() -> String {
    "localhost".into()
}

/// PowerDNS's default `webserver-max-bodysize` is 2 MiB; stay a little under it.
fn default_max_body_bytes() -> usize {
    2_000_000
}

fn default_timeout() -> HumanDuration {
    HttpOptions::default().timeout.into()
}

impl PowerdnsSettings {
    /// Checks what the types cannot (called by [`check`] when the config loads).
    ///
    /// # Errors
    /// A URL that is not `http(s)://`, a server id with a `/`, `max_body_bytes` under 1024,
    /// a zero timeout or an impossible rate limit.
    pub fn validate(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.url).map_err(|e| format!("url {:?}: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("url {:?} must be http:// or https://", self.url));
        }
        if self.server_id.is_empty() || self.server_id.contains('/') {
            return Err(format!("server_id {:?} is not a server id", self.server_id));
        }
        if self.max_body_bytes < 1024 {
            return Err("max_body_bytes must be at least 1024".into());
        }
        if let Some(r) = &self.rate_limit {
            r.quota()?;
        }
        if self.timeout.get().is_zero() {
            return Err("timeout must be longer than 0s".into());
        }
        Ok(())
    }

    /// `<url>/api/v1/servers/<server_id>`.
    fn server_url(&self) -> String {
        let base = self.url.trim_end_matches('/');
        let base = base.strip_suffix("/api/v1").unwrap_or(base);
        format!("{base}/api/v1/servers/{}", self.server_id)
    }
}

/// The plan's skip reason for the values [`svcb_unstorable`] finds.
const SVCB_GAP: &str = "PowerDNS 4.7 cannot store an alpn id holding a byte outside printable \
                        ASCII, a quote, semicolon or parenthesis, nor a keyNNNNN value holding a \
                        semicolon or parenthesis (its API refuses what its renderer spells otherwise)";

/// Why PowerDNS 4.7 cannot store an SVCB/HTTPS value as given, or `None`. Its API parses
/// the content and compares it with its own rendering, and its SvcParam parser and
/// renderer disagree for some octets (checked against 4.7.3): an `alpn` id holding `"`,
/// `;`, `(`, `)` or a byte outside printable ASCII, and a `keyNNNNN` value holding `;`, `(`
/// or `)`, are refused (422) or rendered as other octets. Meant for the plan's per-value gaps, so
/// such a value is skipped with this reason rather than failing the write.
pub fn svcb_unstorable(v: &crate::model::RData) -> Option<&'static str> {
    use crate::model::svcb::SvcParam;
    let (crate::model::RData::Svcb(s) | crate::model::RData::Https(s)) = v else {
        return None;
    };
    for p in s.params.iter() {
        match p {
            SvcParam::Alpn(ids)
                if ids
                    .iter()
                    .flatten()
                    .any(|&b| !(0x20..=0x7e).contains(&b) || b"\";()".contains(&b)) =>
            {
                return Some(
                    "PowerDNS 4.7 cannot store an alpn id holding a byte outside printable ASCII, a quote, semicolon or parenthesis",
                );
            }
            SvcParam::Unknown(_, v) if v.iter().any(|b| b";()".contains(b)) => {
                return Some(
                    "PowerDNS 4.7 cannot store a keyNNNNN value holding a semicolon or parenthesis",
                );
            }
            _ => {}
        }
    }
    None
}

/// Touched names up to which a write is read back by filtered GETs, one per name; above it
/// by one export of the zone ([`Provider::read_rrsets`]). Measured on 4.7.3 with sqlite, a
/// 100k-RRset zone, 2 busy cores: a filtered GET about 0.8-2.7 ms (0.76 s for 1,000 four at
/// a time), the export 0.22-0.40 s, the JSON zone 0.76-1.5 s.
const FILTERED_READS_MAX: usize = 64;

/// Filtered reads sent at once by [`Provider::read_rrsets`] (the `tokio::join!` there has
/// this many lanes).
const FILTERED_READS_IN_FLIGHT: usize = 4;

/// The zone id in URLs: the name with its dot; `/` (RFC 2317 zones) as `=2F`, which every
/// 4.x server accepts.
fn zone_id(zone: &Fqdn) -> String {
    zone.as_str().replace('/', "=2F")
}

pub struct PowerdnsProvider {
    name: String,
    settings: PowerdnsSettings,
    caps: Capabilities,
    server_url: String,
    /// An error here (a key that is not a valid header value) is reported by every call,
    /// since `build` can only fail on secrets.
    http: Result<HttpClient, ProviderError>,
    /// How this server spells LOC values, from its version (asked once, at the first write).
    loc_style: tokio::sync::OnceCell<LocStyle>,
}

impl PowerdnsProvider {
    /// A provider for `settings` with the API key already resolved; its HTTP client takes
    /// the retry policy and observer of `ctx`.
    pub fn new(
        name: &str,
        settings: PowerdnsSettings,
        api_key: Secret,
        ctx: &BuildContext,
    ) -> PowerdnsProvider {
        let mut types: BTreeSet<RecordType> = RecordType::ALL.into_iter().collect();
        if !settings.alias {
            types.remove(&RecordType::ALIAS);
        }
        let caps = Capabilities {
            types,
            ttl_min: 0,
            ttl_max: MAX_TTL,
            granularity: Granularity::RrSet,
            batch: crate::plan::BatchLimit::UNLIMITED,
            atomic_batches: true,
            root_ns: true,
            creates_zones: settings.create_zones,
            transport_retries: true,
            // Disabled records (see the module docs). PowerDNS keeps comments per RRset too,
            // but zonekeeper does not manage them yet.
            record_settings: BTreeSet::from([DISABLED]),
            value_gaps: vec![ValueGap {
                rtype: RecordType::LOC,
                reason: "PowerDNS reads LOC sizes and precisions in 32-bit centimetres: \
                         50000000 m to 90000000 m (5e9 to 9e9 cm, RFC 1876 §2) come out as \
                         other values, so its API refuses them",
                applies: loc_size_overflows,
            }]
            .into_iter()
            .chain([RecordType::SVCB, RecordType::HTTPS].map(|rtype| ValueGap {
                rtype,
                reason: SVCB_GAP,
                applies: |v| svcb_unstorable(v).is_some(),
            }))
            .collect(),
            name_gap: Some(NameGap {
                reason: "PowerDNS's API takes names of letters, digits, '-', '_', '/' and a \
                         leading '*' only (\"contains unsupported characters\")",
                applies: |n| {
                    !n.as_str()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_/.*".contains(&b))
                },
            }),
        };
        let http = client(name, &settings, &api_key, ctx);
        PowerdnsProvider {
            name: name.to_string(),
            server_url: settings.server_url(),
            settings,
            caps,
            http,
            loc_style: tokio::sync::OnceCell::new(),
        }
    }

    /// The server's LOC spelling: [`LocStyle::Float`] before 5.0 or when the version cannot
    /// be read (4.x is what most installations run), else [`LocStyle::Exact`].
    async fn loc_style(&self) -> LocStyle {
        *self
            .loc_style
            .get_or_init(|| async {
                #[derive(Deserialize)]
                struct Server {
                    version: String,
                }
                let version = match self.call(Method::GET, "GET /servers/{id}", "", None).await {
                    Ok(r) if r.is_success() => serde_json::from_slice::<Server>(&r.body)
                        .map(|s| s.version)
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                let major: u32 = version
                    .split('.')
                    .next()
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(4);
                tracing::debug!(provider = %self.name, %version, "PowerDNS version");
                if major >= 5 {
                    LocStyle::Exact
                } else {
                    LocStyle::Float
                }
            })
            .await
    }

    /// HTTP requests sent so far (tests check that a plan costs one PATCH).
    pub fn http_requests(&self) -> usize {
        self.http.as_ref().map_or(0, HttpClient::requests)
    }

    fn http(&self) -> Result<&HttpClient, ProviderError> {
        self.http.as_ref().map_err(Clone::clone)
    }

    /// Sends a request that is safe to repeat (every request this provider makes), retried
    /// by the transport where it fails. `endpoint` is the bounded label for metrics.
    async fn call(
        &self,
        method: Method,
        endpoint: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<HttpResponse, ProviderError> {
        let http = self.http()?;
        let url = format!("{}{path}", self.server_url);
        http.send_idempotent(endpoint, || {
            let req = http.request(method.clone(), &url);
            match &body {
                Some(b) => req.header(CONTENT_TYPE, "application/json").body(b.clone()),
                None => req,
            }
        })
        .await
    }

    /// The RRsets of a zone GET's JSON body that zonekeeper manages (never the SOA).
    fn zone_of(&self, zone: &Fqdn, body: &[u8]) -> Result<Zone, ProviderError> {
        let body: ZoneBody = serde_json::from_slice(body).map_err(|e| {
            // A cut-off body is the likeliest cause: worth another try.
            ProviderError::new(
                ErrorKind::Transient,
                format!("bad zone JSON from PowerDNS: {e}"),
            )
        })?;
        let mut out = Zone::new(zone.clone());
        // Collected, then built at once (sorted, then bulk-built: cheaper than 100,000
        // inserts each comparing names label by label). No (name, type) comes twice.
        let mut rrsets = Vec::with_capacity(body.rrsets.len());
        for rr in body.rrsets {
            // SOA and types zonekeeper does not manage (or this target is not set up to
            // serve, like ALIAS) are the server's: not reported, so never deleted.
            let Ok(rtype) = rr.rtype.parse::<RecordType>() else {
                continue;
            };
            if !self.caps.types.contains(&rtype) {
                continue;
            }
            // PowerDNS prints `"`, `;`, `(` ... bare and escapes `\\`, `.`, blanks.
            let name = Fqdn::parse_printed(&rr.name).map_err(|e| {
                ProviderError::new(
                    ErrorKind::Unsupported,
                    format!("{} {}: {e}", rr.name, rr.rtype),
                )
            })?;
            let mut values = Vec::with_capacity(rr.records.len());
            let mut disabled = BTreeSet::new();
            // Disabled records are read too (not served, but there): see the module docs.
            for rec in &rr.records {
                let v = presentation::parse(rtype, &rec.content).map_err(|e| {
                    // Failing the read is safer than treating the RRset as absent and
                    // overwriting a value we did not understand.
                    ProviderError::new(
                        ErrorKind::Unsupported,
                        format!(
                            "{name} {rtype} {:?}: cannot read PowerDNS content: {e}",
                            rec.content
                        ),
                    )
                })?;
                let v = read_loc(v);
                if rec.disabled {
                    disabled.insert(v.to_string());
                }
                values.push(v);
            }
            // An RRset without records (only comments) is no RRset, as `Zone::put` has it.
            if !values.is_empty() {
                rrsets.push((
                    RrKey::new(name, rtype),
                    RrSet::new(rr.ttl, values).with_ext(disabled_setting(disabled)),
                ));
            }
        }
        out.rrsets = rrsets.into_iter().collect();
        Ok(out)
    }

    /// The transport's in-flight request limit now (lowered by overload answers; see
    /// [`super::http::InFlightLimit`]); 0 when the client could not be built.
    pub fn in_flight_limit(&self) -> usize {
        self.http().map_or(0, HttpClient::in_flight_limit)
    }

    /// One filtered zone GET (`?rrset_name=..[&rrset_type=..]`, PowerDNS 4.7 and later):
    /// the RRsets at `name` (of `rtype` when given), or `None` when the zone is missing.
    /// `include_disabled=true` makes 5.0 and later report disabled records as a whole read
    /// does (4.7-4.9 ignore it and hide them: see [`Provider::reads_rrsets`]).
    async fn read_name(
        &self,
        zone: &Fqdn,
        name: &Fqdn,
        rtype: Option<RecordType>,
    ) -> Result<Option<Zone>, ProviderError> {
        let http = self.http()?;
        let url = format!("{}/zones/{}", self.server_url, zone_id(zone));
        let rtype = rtype.map(|t| t.to_string());
        let resp = http
            .send_idempotent("GET /zones/{zone}?rrset_name", || {
                let mut q = vec![("rrset_name", name.as_str()), ("include_disabled", "true")];
                if let Some(t) = &rtype {
                    q.push(("rrset_type", t.as_str()));
                }
                http.request(Method::GET, &url).query(&q)
            })
            .await?;
        if zone_missing(&resp) {
            return Ok(None);
        }
        if !resp.is_success() {
            return Err(resp.error(format!(
                "reading {name} in zone {zone}: {}",
                error_text(&resp)
            )));
        }
        self.zone_of(zone, &resp.body).map(Some)
    }

    /// The RRsets `keys` from one GET of the zone export (`name TAB ttl TAB class TAB type
    /// TAB content` lines; disabled records left out), or `None` when the zone is missing.
    /// An RRset's TTL is its records' smallest, as the JSON read reports it.
    async fn read_export(
        &self,
        zone: &Fqdn,
        keys: &[RrKey],
    ) -> Result<Option<Zone>, ProviderError> {
        let resp = self
            .call(
                Method::GET,
                "GET /zones/{zone}/export",
                &format!("/zones/{}/export", zone_id(zone)),
                None,
            )
            .await?;
        if zone_missing(&resp) {
            return Ok(None);
        }
        if !resp.is_success() {
            return Err(resp.error(format!("exporting zone {zone}: {}", error_text(&resp))));
        }
        let text = std::str::from_utf8(&resp.body).map_err(|e| {
            ProviderError::new(
                ErrorKind::Transient,
                format!("zone export of {zone} is not UTF-8: {e}"),
            )
        })?;
        let wanted: std::collections::HashSet<(String, RecordType)> = keys
            .iter()
            .map(|k| (k.name.as_str().to_ascii_lowercase(), k.rtype))
            .collect();
        let mut sets: std::collections::BTreeMap<RrKey, (u32, Vec<RData>)> = Default::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut f = line.splitn(5, '\t');
            let (Some(name), Some(ttl), Some(_class), Some(rtype), Some(content)) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                return Err(ProviderError::new(
                    ErrorKind::Transient,
                    format!(
                        "zone export of {zone}: unexpected line {:?}",
                        line.chars().take(80).collect::<String>()
                    ),
                ));
            };
            let Ok(rtype) = rtype.parse::<RecordType>() else {
                continue;
            };
            if !wanted.contains(&(name.to_ascii_lowercase(), rtype)) {
                continue;
            }
            let name = Fqdn::parse(name).map_err(|e| {
                ProviderError::new(ErrorKind::Unsupported, format!("{name} {rtype}: {e}"))
            })?;
            let ttl: u32 = ttl.parse().map_err(|_| {
                ProviderError::new(
                    ErrorKind::Transient,
                    format!("{name} {rtype}: bad TTL {ttl:?} in the zone export"),
                )
            })?;
            let v = presentation::parse(rtype, content).map_err(|e| {
                ProviderError::new(
                    ErrorKind::Unsupported,
                    format!("{name} {rtype} {content:?}: cannot read PowerDNS content: {e}"),
                )
            })?;
            let entry = sets
                .entry(RrKey::new(name, rtype))
                .or_insert((ttl, Vec::new()));
            entry.0 = entry.0.min(ttl);
            entry.1.push(read_loc(v));
        }
        let mut out = Zone::new(zone.clone());
        for (k, (ttl, values)) in sets {
            out.put(k, RrSet::new(ttl, values));
        }
        Ok(Some(out))
    }

    /// [`PowerdnsProvider::read_name`] for each name in turn; `None` when the zone is
    /// missing.
    async fn read_names(
        &self,
        zone: &Fqdn,
        names: Vec<(&Fqdn, Option<RecordType>)>,
    ) -> Result<Option<Vec<Zone>>, ProviderError> {
        let mut got = Vec::with_capacity(names.len());
        for (name, rtype) in names {
            match self.read_name(zone, name, rtype).await? {
                Some(z) => got.push(z),
                None => return Ok(None),
            }
        }
        Ok(Some(got))
    }

    async fn patch(&self, zone: &Fqdn, body: String) -> Result<HttpResponse, ProviderError> {
        self.call(
            Method::PATCH,
            "PATCH /zones/{zone}",
            &format!("/zones/{}", zone_id(zone)),
            Some(body),
        )
        .await
    }
}

fn client(
    name: &str,
    s: &PowerdnsSettings,
    api_key: &Secret,
    ctx: &BuildContext,
) -> Result<HttpClient, ProviderError> {
    let mut key = HeaderValue::from_str(api_key.expose()).map_err(|_| {
        ProviderError::new(
            ErrorKind::Auth,
            format!("provider {name}: api_key contains characters not allowed in an HTTP header"),
        )
    })?;
    // Keeps the key out of reqwest's Debug output and HTTP/2 header compression tables.
    key.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(HeaderName::from_static("x-api-key"), key);
    // Checked when the config loaded; a value that did not come through it fails loudly.
    let rate_limit = s
        .rate_limit
        .as_ref()
        .map(RateLimitSettings::quota)
        .transpose()
        .map_err(|e| ProviderError::new(ErrorKind::Rejected, format!("provider {name}: {e}")))?;
    let opts = HttpOptions {
        headers,
        rate_limit,
        timeout: s.timeout.get(),
        overloaded: Some(database_locked),
        ..HttpOptions::default()
    };
    HttpClient::new(KIND, name, opts, ctx)
}

/// PowerDNS on sqlite (gsqlite3) answers a write that meets another one's lock with HTTP
/// 500 "database is locked": an overload signal, so the client sends fewer at once.
fn database_locked(resp: &HttpResponse) -> bool {
    resp.status.as_u16() == 500 && error_text(resp).contains("database is locked")
}

/// The `error` of a PowerDNS JSON error body, else the body text.
fn error_text(resp: &HttpResponse) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    match serde_json::from_slice::<ErrorBody>(&resp.body) {
        Ok(e) => e.error,
        Err(_) => resp.text(),
    }
}

/// True when a response says the zone does not exist (404 on 4.x; older servers answer 422
/// "Could not find domain").
fn zone_missing(resp: &HttpResponse) -> bool {
    resp.status.as_u16() == 404
        || (resp.status.as_u16() == 422 && error_text(resp).contains("Could not find domain"))
}

/// A zone GET's body, its strings borrowed from the body where they hold no JSON escape
/// (a 100k-RRset zone is 300,000 strings: not copying them is most of reading it).
#[derive(Deserialize)]
struct ZoneBody<'a> {
    #[serde(default, borrow)]
    rrsets: Vec<RrsetBody<'a>>,
}

#[derive(Deserialize)]
struct RrsetBody<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    rtype: Cow<'a, str>,
    ttl: u32,
    #[serde(default, borrow)]
    records: Vec<RecordIn<'a>>,
}

/// One record of a zone GET's body (as [`RecordBody`], borrowed).
#[derive(Deserialize)]
struct RecordIn<'a> {
    #[serde(borrow)]
    content: Cow<'a, str>,
    #[serde(default)]
    disabled: bool,
}

#[derive(Deserialize, Serialize)]
struct RecordBody {
    content: String,
    #[serde(default)]
    disabled: bool,
}

#[derive(Serialize)]
struct PatchRrset<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    rtype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    changetype: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<Vec<RecordBody>>,
}

/// The per-record setting listing an RRset's disabled values (presentation form, sorted).
pub const DISABLED: &str = "disabled";

/// The values of `set` its `disabled` setting names (presentation form).
fn disabled_values(set: &RrSet) -> BTreeSet<String> {
    match set.ext().and_then(|e| e.get(DISABLED)) {
        Some(ExtValue::List(l)) => l
            .iter()
            .filter_map(|v| match v {
                ExtValue::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// `values` as the `disabled` setting: `None` when empty (no setting at all).
fn disabled_setting(values: BTreeSet<String>) -> Option<std::sync::Arc<RecordExt>> {
    (!values.is_empty()).then(|| {
        std::sync::Arc::new(RecordExt::new().with(
            DISABLED,
            ExtValue::List(values.into_iter().map(ExtValue::Str).collect()),
        ))
    })
}

/// How a PowerDNS server spells LOC content. Its API refuses any content that is not
/// exactly its own rendering of the parsed value ("Not in expected format"), so zonekeeper
/// sends that rendering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LocStyle {
    /// PowerDNS 4.x: latitude and longitude as floating-point degrees, minutes and seconds
    /// derived from them, so 49 18 0 comes out `49 17 60.000` and a zero angle `S`/`W`
    /// (PowerDNS issue 10558).
    Float,
    /// Later servers: whole thousandths of a second, zero angles `N`/`E`.
    Exact,
}

/// `value` as PowerDNS's API content.
fn content(value: &RData, style: LocStyle) -> String {
    match value {
        RData::Loc(l) => loc_content(l, style),
        other => other.to_string(),
    }
}

/// PowerDNS's rendering of a LOC value (pdns/dnsrecords.cc, `getZoneRepresentation`):
/// `d m s.sss H d m s.sss H alt.aam size.ssm hp.hhm vp.vvm`. The metre fields are printed
/// from doubles with two decimals, the altitude from the 32-bit field read as signed, so an
/// altitude above 21374836.47 m comes out negative (PowerDNS reads that spelling back as
/// the same wire value, and [`read_loc`] undoes it).
fn loc_content(l: &Loc, style: LocStyle) -> String {
    let angle = |deg: u8, min: u8, millis: u32, positive: bool, hemi: [char; 2]| {
        let t = (i64::from(deg) * 3_600_000 + i64::from(min) * 60_000 + i64::from(millis))
            * if positive { 1 } else { -1 };
        match style {
            LocStyle::Float => {
                let degrees = t as f64 / 3_600_000.0;
                let whole = degrees.trunc();
                let minutes = 60.0 * (degrees - whole);
                let seconds = ((minutes - minutes.trunc()) * 60.0).abs();
                let h = if degrees > 0.0 { hemi[0] } else { hemi[1] };
                format!(
                    "{} {} {seconds:.3} {h}",
                    whole.abs() as i64,
                    minutes.trunc().abs() as i64
                )
            }
            LocStyle::Exact => {
                let a = t.unsigned_abs();
                let h = if t >= 0 { hemi[0] } else { hemi[1] };
                format!(
                    "{} {} {}.{:03} {h}",
                    a / 3_600_000,
                    (a % 3_600_000) / 60_000,
                    (a % 60_000) / 1000,
                    a % 1000
                )
            }
        }
    };
    let metres = |cm: u64| {
        let (mut e, mut m) = (0, cm);
        while m > 9 && m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        let mut v = 0.01 * m as f64;
        for _ in 0..e {
            v *= 10.0;
        }
        format!("{v:.2}m")
    };
    let raw_alt = (l.altitude_cm + 10_000_000) as u32;
    let altitude = f64::from(raw_alt as i32) / 100.0 - 100_000.0;
    format!(
        "{} {} {altitude:.2}m {} {} {}",
        angle(
            l.lat_degrees,
            l.lat_minutes,
            l.lat_millis,
            l.lat_direction == 'N',
            ['N', 'S']
        ),
        angle(
            l.long_degrees,
            l.long_minutes,
            l.long_millis,
            l.long_direction == 'E',
            ['E', 'W']
        ),
        metres(l.size_cm),
        metres(l.precision_horz_cm),
        metres(l.precision_vert_cm),
    )
}

/// Whether a LOC size or precision is past what PowerDNS's text parser holds (2^32 cm).
fn loc_size_overflows(v: &RData) -> bool {
    match v {
        RData::Loc(l) => [l.size_cm, l.precision_horz_cm, l.precision_vert_cm]
            .iter()
            .any(|&cm| cm >= 1 << 32),
        _ => false,
    }
}

/// A LOC read from PowerDNS: an altitude below -100000 m is PowerDNS's signed rendering of
/// one above 21374836.47 m ([`loc_content`]); the wire value is 2^32 cm higher.
fn read_loc(v: RData) -> RData {
    match v {
        RData::Loc(mut l) if l.altitude_cm < -10_000_000 => {
            l.altitude_cm += 1 << 32;
            RData::Loc(l)
        }
        other => other,
    }
}

/// One change as a PATCH `rrsets` element.
fn rrset_json(c: &Change, style: LocStyle) -> String {
    let key = c.key();
    let item = match c.new_set() {
        Some(set) => PatchRrset {
            name: key.name.as_str(),
            rtype: key.rtype.as_str(),
            ttl: Some(set.ttl),
            changetype: "REPLACE",
            records: Some({
                let disabled = disabled_values(set);
                set.values()
                    .iter()
                    .map(|v| RecordBody {
                        // `disabled` names values in their canonical form; the content is
                        // the server's own spelling.
                        disabled: disabled.contains(&v.to_string()),
                        content: content(v, style),
                    })
                    .collect()
            }),
        },
        None => PatchRrset {
            name: key.name.as_str(),
            rtype: key.rtype.as_str(),
            ttl: None,
            changetype: "DELETE",
            records: None,
        },
    };
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string(&item).unwrap_or_default()
}

/// Groups PATCH elements into bodies of at most `cap` bytes, in order: `(first, count, body)`.
/// An element bigger than `cap` on its own still goes alone (the server then explains).
fn split_bodies(items: &[String], cap: usize) -> Vec<(usize, usize, String)> {
    const HEAD: &str = "{\"rrsets\":[";
    const TAIL: &str = "]}";
    let mut out = Vec::new();
    let mut body = String::from(HEAD);
    let mut first = 0;
    for (i, item) in items.iter().enumerate() {
        let count = i - first;
        if count > 0 && body.len() + 1 + item.len() + TAIL.len() > cap {
            body.push_str(TAIL);
            out.push((
                first,
                count,
                std::mem::replace(&mut body, String::from(HEAD)),
            ));
            first = i;
        }
        if i > first {
            body.push(',');
        }
        body.push_str(item);
    }
    if items.len() > first {
        body.push_str(TAIL);
        out.push((first, items.len() - first, body));
    }
    out
}

/// The change a PowerDNS 422 message names ("Record a.example./CAA '...': ...",
/// "RRset a.example. IN A: ..."), if any.
fn culprit(message: &str, changes: &[Change]) -> Option<usize> {
    let m = message.to_ascii_lowercase();
    changes.iter().position(|c| {
        let name = c.key().name.as_str();
        let t = c.key().rtype.as_str().to_ascii_lowercase();
        m.contains(&format!("{name}/{t} "))
            || m.contains(&format!("{name} in {t}:"))
            || m.contains(&format!("{name} in {t} "))
    })
}

/// Outcomes for one refused PATCH: the named change gets the server's message, the others
/// are not attempted (so `apply` bisects and re-sends them); if none is named, all carry it.
fn refused_outcomes(err: &ProviderError, changes: &[Change]) -> Vec<ChangeOutcome> {
    match culprit(&err.message, changes) {
        Some(bad) => (0..changes.len())
            .map(|i| {
                if i == bad {
                    Err(err.clone())
                } else {
                    Err(ProviderError::new(
                        ErrorKind::NotAttempted,
                        format!(
                            "not applied: PowerDNS refused the PATCH because of {}",
                            changes[bad].key()
                        ),
                    ))
                }
            })
            .collect(),
        None => changes.iter().map(|_| Err(err.clone())).collect(),
    }
}

#[async_trait]
impl Provider for PowerdnsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Settings other than `disabled` dropped (with a note); `disabled` rewritten to the
    /// canonical presentation of the RRset's own values it names, so it reads back equal. A
    /// listed value the RRset does not hold is dropped with a note.
    fn normalize(&self, key: &RrKey, set: &mut RrSet) -> Option<String> {
        let mut note = super::drop_unstored_settings(KIND, &self.caps, key, set);
        let declared = match set.ext().and_then(|e| e.get(DISABLED)) {
            None => return note,
            Some(ExtValue::List(l)) => l.clone(),
            Some(other) => vec![other.clone()],
        };
        let mut canonical = BTreeSet::new();
        let mut unknown = Vec::new();
        for d in declared {
            let parsed = match &d {
                ExtValue::Str(text) => presentation::parse(key.rtype, text).ok(),
                _ => None,
            };
            match parsed.filter(|v| set.values().contains(v)) {
                Some(v) => {
                    canonical.insert(v.to_string());
                }
                None => unknown.push(d.to_string()),
            }
        }
        set.set_ext(disabled_setting(canonical));
        if !unknown.is_empty() {
            let more = format!(
                "{key}: octodns.powerdns.disabled names {} that the RRset does not hold: ignored",
                unknown.join(", ")
            );
            note = Some(match note {
                Some(n) => format!("{n}; {more}"),
                None => more,
            });
        }
        note
    }

    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
        #[derive(Deserialize)]
        struct ZoneItem {
            name: String,
        }
        let resp = self
            .call(Method::GET, "GET /zones", "/zones?dnssec=false", None)
            .await?;
        if !resp.is_success() {
            return Err(resp.error(error_text(&resp)));
        }
        let items: Vec<ZoneItem> = serde_json::from_slice(&resp.body).map_err(|e| {
            ProviderError::new(
                ErrorKind::Transient,
                format!("bad zone list from PowerDNS: {e}"),
            )
        })?;
        let mut zones: Vec<Fqdn> = items
            .iter()
            .filter_map(|z| Fqdn::parse(&z.name.replace("=2F", "/")).ok())
            .collect();
        zones.sort();
        Ok(zones)
    }

    async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
        let resp = self
            .call(
                Method::GET,
                "GET /zones/{zone}",
                &format!("/zones/{}", zone_id(zone)),
                None,
            )
            .await?;
        if zone_missing(&resp) {
            return Ok(Observed::absent(zone.clone()));
        }
        if !resp.is_success() {
            return Err(resp.error(format!("reading zone {zone}: {}", error_text(&resp))));
        }
        Ok(Observed::present(self.zone_of(zone, &resp.body)?))
    }

    /// True when no touched RRset holds disabled records before or after the change: 4.7-4.9
    /// leave them out of filtered reads (PowerDNS issue 11473; `include_disabled` came with
    /// 5.0) and every version leaves them out of the zone export, so those are verified by a
    /// whole read. Otherwise a partial read-back is never dearer than the whole JSON read
    /// (see [`Provider::read_rrsets`] below), whatever the zone's size.
    fn reads_rrsets(&self, changes: &[Change], _live_rrsets: usize) -> bool {
        changes.iter().all(|c| {
            c.old()
                .into_iter()
                .chain(c.new_set())
                .all(|s| s.ext().and_then(|e| e.get(DISABLED)).is_none())
        })
    }

    /// Up to [`FILTERED_READS_MAX`] touched names: one filtered GET per name (with
    /// `rrset_type` when one type is touched there), [`FILTERED_READS_IN_FLIGHT`] at a time;
    /// what a server answers beyond the keys asked (one before 4.7 ignores the filter and
    /// sends the whole zone) is dropped. More names: one GET of the zone export
    /// (`/zones/{zone}/export`, zone-file text without disabled records), which PowerDNS
    /// makes 3-4 times faster than the JSON zone, cut to `keys`.
    async fn read_rrsets(&self, zone: &Fqdn, keys: &[RrKey]) -> Result<Observed, ProviderError> {
        let mut by_name: std::collections::BTreeMap<&Fqdn, Vec<RecordType>> = Default::default();
        for k in keys {
            by_name.entry(&k.name).or_default().push(k.rtype);
        }
        if by_name.len() > FILTERED_READS_MAX {
            return Ok(match self.read_export(zone, keys).await? {
                Some(z) => Observed::present(z),
                None => Observed::absent(zone.clone()),
            });
        }
        let mut lanes: Vec<Vec<(&Fqdn, Option<RecordType>)>> =
            vec![Vec::new(); FILTERED_READS_IN_FLIGHT];
        for (i, (name, types)) in by_name.into_iter().enumerate() {
            let one = (types.len() == 1).then(|| types[0]);
            lanes[i % FILTERED_READS_IN_FLIGHT].push((name, one));
        }
        let mut lanes = lanes.into_iter();
        let mut next = || lanes.next().unwrap_or_default();
        let (a, b, c, d) = tokio::join!(
            self.read_names(zone, next()),
            self.read_names(zone, next()),
            self.read_names(zone, next()),
            self.read_names(zone, next())
        );
        let mut all = Zone::new(zone.clone());
        for part in [a?, b?, c?, d?] {
            let Some(zones) = part else {
                return Ok(Observed::absent(zone.clone()));
            };
            for z in zones {
                all.rrsets.extend(z.rrsets);
            }
        }
        Ok(super::keep_only(Observed::present(all), keys))
    }

    /// POSTs an empty zone (kind and `soa_edit_api` from the settings; no name servers:
    /// the plan's apex NS follows in the first PATCH). A 409 "already exists" is success:
    /// it is what a retry meets when the answer to an earlier POST was lost.
    async fn create_zone(&self, zone: &Fqdn) -> Result<(), ProviderError> {
        if !self.settings.create_zones {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                format!("zone {zone} does not exist on PowerDNS and create_zones is off"),
            ));
        }
        let body = serde_json::json!({
            "name": zone.as_str(),
            "kind": self.settings.zone_kind,
            "soa_edit_api": self.settings.soa_edit_api,
            "nameservers": [],
        });
        let resp = self
            .call(
                Method::POST,
                "POST /zones",
                "/zones",
                Some(body.to_string()),
            )
            .await?;
        if resp.is_success() {
            tracing::info!(provider = %self.name, %zone, "created zone");
            Ok(())
        } else if resp.status == reqwest::StatusCode::CONFLICT {
            tracing::info!(provider = %self.name, %zone, "zone already exists (an earlier create's answer was lost?)");
            Ok(())
        } else {
            Err(resp.error(format!("creating zone {zone}: {}", error_text(&resp))))
        }
    }

    async fn apply(
        &self,
        zone: &Fqdn,
        _observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        let fail_all = |e: ProviderError| changes.iter().map(|_| Err(e.clone())).collect();
        if changes.is_empty() {
            return Vec::new();
        }
        // The version is asked only when a LOC is written (it is the one type whose
        // spelling changed between versions).
        let style = if changes.iter().any(|c| c.key().rtype == RecordType::LOC) {
            self.loc_style().await
        } else {
            LocStyle::Exact
        };
        let items: Vec<String> = changes.iter().map(|c| rrset_json(c, style)).collect();
        let bodies = split_bodies(&items, self.settings.max_body_bytes);
        if bodies.len() > 1 {
            tracing::info!(provider = %self.name, %zone, patches = bodies.len(), "plan split by the body size cap");
        }
        let mut out: Vec<ChangeOutcome> = Vec::with_capacity(changes.len());
        for (first, count, body) in bodies {
            let part = &changes[first..first + count];
            let body_len = body.len();
            let started = std::time::Instant::now();
            let sent = self.patch(zone, body).await;
            tracing::debug!(
                provider = %self.name,
                %zone,
                changes = count,
                bytes = body_len,
                patch_ms = started.elapsed().as_secs_f64() * 1000.0,
                "PATCH done"
            );
            let resp = match sent {
                Ok(r) => r,
                // Transport failures the transport's retries did not cure fail the whole
                // batch as retryable: REPLACE and DELETE are idempotent, so re-sending parts
                // already applied is safe.
                Err(e) => return fail_all(e),
            };
            if zone_missing(&resp) {
                // The read found the zone (else `apply` would have created it first): it was
                // deleted since.
                let hint = if self.settings.create_zones {
                    ""
                } else {
                    " (set create_zones: true to let zonekeeper create it)"
                };
                return fail_all(ProviderError::new(
                    ErrorKind::NotFound,
                    format!("zone {zone} does not exist on PowerDNS{hint}"),
                ));
            }
            if resp.is_success() {
                out.extend(part.iter().map(|_| Ok(())));
                continue;
            }
            let mut msg = error_text(&resp);
            if resp.status.as_u16() == 400 {
                tracing::warn!(provider = %self.name, %zone, bytes = body_len, "PowerDNS answered 400 to a PATCH: over its webserver-max-bodysize?");
                // PowerDNS says only "Bad Request" when the body is over its cap.
                msg.push_str(&format!(
                    " (PATCH body of {body_len} bytes; PowerDNS refuses bodies over its \
                     webserver-max-bodysize: keep max_body_bytes, now {}, under it)",
                    self.settings.max_body_bytes
                ));
            }
            let err = resp.error(msg);
            if err.kind.is_retryable() {
                return fail_all(err);
            }
            match err.kind {
                ErrorKind::Rejected => out.extend(refused_outcomes(&err, part)),
                _ => out.extend(part.iter().map(|_| Err(err.clone()))),
            }
            // Later bodies depend on this one's order (deletes before creates): not sent.
            let rest = changes.len() - out.len();
            out.extend((0..rest).map(|_| {
                Err(ProviderError::new(
                    ErrorKind::NotAttempted,
                    "not sent: an earlier PATCH of this batch failed",
                ))
            }));
            break;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RData;

    fn change(name: &str, t: RecordType, v: RData) -> Change {
        Change::Create {
            key: RrKey::new(Fqdn::parse(name).unwrap(), t),
            new: RrSet::new(300, vec![v]),
        }
    }

    #[test]
    fn patch_elements_and_splitting() {
        let c = change(
            "www.example.com.",
            RecordType::A,
            RData::A([192, 0, 2, 1].into()),
        );
        assert_eq!(
            rrset_json(&c, LocStyle::Float),
            r#"{"name":"www.example.com.","type":"A","ttl":300,"changetype":"REPLACE","records":[{"content":"192.0.2.1","disabled":false}]}"#
        );
        let d = Change::Delete {
            key: c.key().clone(),
            old: c.new_set().unwrap().clone(),
        };
        assert_eq!(
            rrset_json(&d, LocStyle::Float),
            r#"{"name":"www.example.com.","type":"A","changetype":"DELETE"}"#
        );
        let items: Vec<String> = (0..10).map(|i| format!("\"{i:0>98}\"")).collect();
        // Everything fits: one body, valid JSON.
        let one = split_bodies(&items, 10_000);
        assert_eq!(one.len(), 1);
        assert!(serde_json::from_str::<serde_json::Value>(&one[0].2).is_ok());
        // 100-byte items, 350-byte cap: 3 per body, every body under the cap, order kept.
        let parts = split_bodies(&items, 350);
        assert_eq!(
            parts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
            vec![(0, 3), (3, 3), (6, 3), (9, 1)]
        );
        assert!(parts.iter().all(|p| p.2.len() <= 350));
        // An item over the cap still goes, alone.
        assert_eq!(split_bodies(&items[..2], 50).len(), 2);
        assert!(split_bodies(&[], 100).is_empty());
    }

    #[test]
    fn loc_is_spelled_as_the_server_renders_it() {
        let loc = |lat: (u8, u8, u32, char), long: (u8, u8, u32, char), alt: i64| {
            RData::Loc(Box::new(Loc {
                lat_degrees: lat.0,
                lat_minutes: lat.1,
                lat_millis: lat.2,
                lat_direction: lat.3,
                long_degrees: long.0,
                long_minutes: long.1,
                long_millis: long.2,
                long_direction: long.3,
                altitude_cm: alt,
                size_cm: 100,
                precision_horz_cm: 1_000_000,
                precision_vert_cm: 1_000,
            }))
        };
        // PowerDNS 4.7's own answer for issue 11's LOC ("parsed as ...").
        let hq = loc((49, 18, 0, 'N'), (10, 35, 0, 'E'), 40_900);
        assert_eq!(
            content(&hq, LocStyle::Float),
            "49 17 60.000 N 10 35 0.000 E 409.00m 1.00m 10000.00m 10.00m"
        );
        assert_eq!(
            content(&hq, LocStyle::Exact),
            "49 18 0.000 N 10 35 0.000 E 409.00m 1.00m 10000.00m 10.00m"
        );
        let zero = loc((0, 0, 0, 'N'), (0, 0, 0, 'E'), 0);
        assert!(content(&zero, LocStyle::Float).starts_with("0 0 0.000 S 0 0 0.000 W 0.00m"));
        assert!(content(&zero, LocStyle::Exact).starts_with("0 0 0.000 N 0 0 0.000 E 0.00m"));
        // Every spelling reads back as the value sent.
        for v in [
            hq,
            zero,
            loc((12, 59, 0, 'S'), (100, 1, 0, 'E'), 12_345_678),
            loc((89, 59, 59_999, 'S'), (179, 59, 59_999, 'W'), 4_284_967_295),
            loc((90, 0, 0, 'N'), (180, 0, 0, 'W'), -10_000_000),
        ] {
            for style in [LocStyle::Float, LocStyle::Exact] {
                let c = content(&v, style);
                let back = read_loc(presentation::parse(RecordType::LOC, &c).unwrap());
                assert_eq!(back, v, "{style:?} {c}");
            }
        }
        assert!(content(
            &loc((1, 0, 0, 'N'), (1, 0, 0, 'E'), 4_284_967_295),
            LocStyle::Float
        )
        .contains(" -100000.01m "));
    }

    #[test]
    fn the_named_record_gets_the_message() {
        let changes = vec![
            change(
                "a.example.com.",
                RecordType::A,
                RData::A([192, 0, 2, 1].into()),
            ),
            change(
                "bad.example.com.",
                RecordType::CNAME,
                RData::Cname(Fqdn::parse("x.net").unwrap()),
            ),
        ];
        let e = ProviderError::new(
            ErrorKind::Rejected,
            "HTTP 422: RRset bad.example.com. IN CNAME: Conflicts with pre-existing RRset",
        );
        let o = refused_outcomes(&e, &changes);
        assert_eq!(o[0].as_ref().unwrap_err().kind, ErrorKind::NotAttempted);
        assert_eq!(o[1].as_ref().unwrap_err(), &e);
        let e2 = ProviderError::new(
            ErrorKind::Rejected,
            "HTTP 422: Record a.example.com./A '1.2': Not in expected format",
        );
        assert_eq!(culprit(&e2.message, &changes), Some(0));
        let e3 = ProviderError::new(ErrorKind::Rejected, "HTTP 422: something else");
        assert!(refused_outcomes(&e3, &changes)
            .iter()
            .all(|o| o.as_ref().unwrap_err() == &e3));
    }

    #[test]
    fn settings_are_checked() {
        let s: PowerdnsSettings = serde_json::from_value(serde_json::json!({
            "url": "http://127.0.0.1:8081/api/v1/",
            "api_key": "env:PDNS_KEY",
        }))
        .unwrap();
        assert_eq!(s.server_id, "localhost");
        assert!(!s.create_zones);
        assert!(s.validate().is_ok());
        assert_eq!(
            s.server_url(),
            "http://127.0.0.1:8081/api/v1/servers/localhost"
        );
        let bad = PowerdnsSettings {
            url: "ftp://x".into(),
            ..s.clone()
        };
        assert!(bad.validate().is_err());
        assert_eq!(s.zone_kind, ZoneKind::Native);
        assert_eq!(s.soa_edit_api, SoaEditApi::Default);
        assert_eq!(s.timeout.get(), std::time::Duration::from_secs(120));
        let bad = PowerdnsSettings {
            timeout: HumanDuration::from_secs(0),
            ..s.clone()
        };
        assert!(bad.validate().is_err());
        let typed: PowerdnsSettings = serde_json::from_value(serde_json::json!({
            "url": "http://x", "api_key": "env:K", "zone_kind": "Master",
            "soa_edit_api": "SOA-EDIT-INCREASE", "timeout": "250ms",
        }))
        .unwrap();
        assert_eq!(typed.zone_kind, ZoneKind::Master);
        assert_eq!(typed.soa_edit_api, SoaEditApi::SoaEditIncrease);
        assert_eq!(typed.timeout.get(), std::time::Duration::from_millis(250));
        // What create_zone sends is the API's own spelling.
        assert_eq!(
            serde_json::to_value((typed.zone_kind, typed.soa_edit_api, SoaEditApi::Off)).unwrap(),
            serde_json::json!(["Master", "SOA-EDIT-INCREASE", ""])
        );
        for bad in [
            serde_json::json!({"url": "http://x", "api_key": "env:K", "zone_kind": "native"}),
            serde_json::json!({"url": "http://x", "api_key": "env:K", "soa_edit_api": "BUMP"}),
            serde_json::json!({"url": "http://x", "api_key": "env:K", "timeout": 120}),
        ] {
            assert!(
                serde_json::from_value::<PowerdnsSettings>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert!(
            serde_json::from_value::<PowerdnsSettings>(serde_json::json!({
                "url": "http://x", "api_key": "literal-key"
            }))
            .is_err()
        );
        assert_eq!(
            zone_id(&Fqdn::parse("0/26.2.0.192.in-addr.arpa").unwrap()),
            "0=2F26.2.0.192.in-addr.arpa."
        );
    }
}

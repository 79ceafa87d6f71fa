//! `idstore`: a test provider shaped like a cloud DNS API (Cloudflare, Porkbun, Name.com),
//! to show the v2 provider contract carries what those APIs need before the first one is
//! written:
//!
//! - **per-record ids**: the "server" ([`IdServer`]) stores every value as a record with an
//!   id. `read_zone` returns the id map in `Observed.state` ([`IdMap`] in a
//!   `ProviderState`); `apply` deletes and patches by the ids of that observation only and
//!   never lists the zone itself. An RRset update keeps the ids of unchanged values, and a
//!   changed value takes over the id of a removed one (a PATCH), as Cloudflare does;
//! - **batches limited by records** ([`Mode::Records`]): `caps.batch.max_records`, with
//!   `cost` counting the record operations a change needs; the server refuses a bigger
//!   batch, and remembers the size of every batch it took;
//! - **a whole-zone writer** ([`Mode::WholeZone`]): one call with every change, the desired
//!   zone built as observed + changes (no re-read), guarded by the observed version.
//!
//! - **a provider-specific record setting**: `proxied` (Cloudflare's), stored per record,
//!   read back into the RRset's settings (`octodns: {idstore: {proxied: true}}`), written
//!   by patching the records when only the setting changes; `normalize` drops the default
//!   (`proxied: false`) and any key the API does not have.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use zonekeeper::model::{ExtValue, Fqdn, RData, RecordExt, RrKey, RrSet, Zone};
use zonekeeper::plan::{diff::apply_to, BatchLimit, Capabilities, Change, Granularity};
use zonekeeper::provider::{
    outcome, BatchCost, ChangeOutcome, ErrorKind, Observed, Provider, ProviderError, ProviderState,
};

/// A record id as the API hands it out.
pub type RecordId = u64;

/// One stored value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub id: RecordId,
    pub key: RrKey,
    pub ttl: u32,
    pub value: RData,
    pub proxied: bool,
}

/// A record to create or to write over an existing id.
#[derive(Clone, Debug)]
pub struct NewRecord {
    pub key: RrKey,
    pub ttl: u32,
    pub value: RData,
    pub proxied: bool,
}

/// The `proxied` setting of an RRset (false when absent).
pub fn proxied(set: &RrSet) -> bool {
    set.ext()
        .and_then(|e| e.get("proxied"))
        .is_some_and(|v| *v == ExtValue::Bool(true))
}

/// One batch request, applied all-or-nothing in this order: deletes, patches, posts.
#[derive(Clone, Debug, Default)]
pub struct BatchRequest {
    pub deletes: Vec<RecordId>,
    pub patches: Vec<(RecordId, NewRecord)>,
    pub posts: Vec<NewRecord>,
}

impl BatchRequest {
    /// Record operations in the request (what the API limits).
    pub fn records(&self) -> usize {
        self.deletes.len() + self.patches.len() + self.posts.len()
    }
}

#[derive(Default)]
struct ZoneData {
    records: BTreeMap<RecordId, Record>,
    version: u64,
}

#[derive(Default)]
struct ServerState {
    zones: BTreeMap<Fqdn, ZoneData>,
    next_id: RecordId,
    /// Record operations of every batch sent, taken or refused (records mode).
    batches: Vec<usize>,
    /// Whole-zone replacements taken.
    replaces: usize,
}

/// The API's side: zones of records with ids. Cloning shares the store.
#[derive(Clone, Default)]
pub struct IdServer {
    state: Arc<Mutex<ServerState>>,
    /// The most record operations one batch may carry (`None`: no limit).
    max_records: Option<usize>,
}

impl IdServer {
    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record operations of every batch sent (taken or refused), in order.
    pub fn batch_sizes(&self) -> Vec<usize> {
        self.lock().batches.clone()
    }

    /// Whole-zone replacements taken.
    pub fn replaces(&self) -> usize {
        self.lock().replaces
    }

    /// Every record of `zone` (the API's paged list, in one go).
    pub fn list(&self, zone: &Fqdn) -> Option<(Vec<Record>, u64)> {
        let st = self.lock();
        let z = st.zones.get(zone)?;
        Some((z.records.values().cloned().collect(), z.version))
    }

    /// The id of the record holding `value` at `key`, if any.
    pub fn id_of(&self, zone: &Fqdn, key: &RrKey, value: &RData) -> Option<RecordId> {
        let st = self.lock();
        st.zones
            .get(zone)?
            .records
            .values()
            .find(|r| &r.key == key && &r.value == value)
            .map(|r| r.id)
    }

    fn create(&self, zone: &Fqdn) {
        self.lock().zones.entry(zone.clone()).or_default();
    }

    /// Deletes a record and posts it again under a new id, behind the provider's back (an
    /// edit in the API's web console).
    pub fn recreate(&self, zone: &Fqdn, id: RecordId) {
        let mut st = self.lock();
        st.next_id += 1;
        let new_id = st.next_id;
        if let Some(z) = st.zones.get_mut(zone) {
            if let Some(mut r) = z.records.remove(&id) {
                r.id = new_id;
                z.records.insert(new_id, r);
                z.version += 1;
            }
        }
    }

    fn batch(&self, zone: &Fqdn, req: BatchRequest) -> Result<(), ProviderError> {
        let mut st = self.lock();
        let n = req.records();
        // Every batch sent is counted, refused ones too: the client must never send one
        // over the limit (the server would refuse it and apply would bisect it).
        st.batches.push(n);
        if self.max_records.is_some_and(|m| n > m) {
            return Err(ProviderError::new(
                ErrorKind::Rejected,
                format!(
                    "batch of {n} records is over the limit of {:?}",
                    self.max_records
                ),
            ));
        }
        let mut next_id = st.next_id;
        let z = st.zones.get_mut(zone).ok_or_else(|| {
            ProviderError::new(ErrorKind::NotFound, format!("zone {zone} not found"))
        })?;
        // Validate every id first: all or nothing.
        for id in req
            .deletes
            .iter()
            .chain(req.patches.iter().map(|(id, _)| id))
        {
            if !z.records.contains_key(id) {
                return Err(ProviderError::new(
                    ErrorKind::Conflict,
                    format!("record {id} not found in {zone}"),
                ));
            }
        }
        for id in &req.deletes {
            z.records.remove(id);
        }
        for (id, r) in req.patches {
            z.records.insert(
                id,
                Record {
                    id,
                    key: r.key,
                    ttl: r.ttl,
                    value: r.value,
                    proxied: r.proxied,
                },
            );
        }
        for r in req.posts {
            next_id += 1;
            z.records.insert(
                next_id,
                Record {
                    id: next_id,
                    key: r.key,
                    ttl: r.ttl,
                    value: r.value,
                    proxied: r.proxied,
                },
            );
        }
        z.version += 1;
        st.next_id = next_id;
        Ok(())
    }

    /// Replaces every record of `zone`: records with an id keep it (it must exist), the
    /// others get new ids. `expected`: the version the caller read (`None`: it saw no zone,
    /// so the zone must still be empty).
    fn replace(
        &self,
        zone: &Fqdn,
        expected: Option<u64>,
        records: Vec<(Option<RecordId>, NewRecord)>,
    ) -> Result<(), ProviderError> {
        let mut st = self.lock();
        let mut next_id = st.next_id;
        let z = st.zones.get_mut(zone).ok_or_else(|| {
            ProviderError::new(ErrorKind::NotFound, format!("zone {zone} not found"))
        })?;
        let current_ok = match expected {
            Some(v) => z.version == v,
            None => z.records.is_empty(),
        };
        if !current_ok {
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                format!(
                    "zone {zone} changed since it was read (version {})",
                    z.version
                ),
            ));
        }
        let mut out = BTreeMap::new();
        for (id, r) in records {
            let id = match id {
                Some(id) if z.records.contains_key(&id) => id,
                Some(id) => {
                    return Err(ProviderError::new(
                        ErrorKind::Conflict,
                        format!("record {id} not found in {zone}"),
                    ))
                }
                None => {
                    next_id += 1;
                    next_id
                }
            };
            out.insert(
                id,
                Record {
                    id,
                    key: r.key,
                    ttl: r.ttl,
                    value: r.value,
                    proxied: r.proxied,
                },
            );
        }
        z.records = out;
        z.version += 1;
        st.next_id = next_id;
        st.replaces += 1;
        Ok(())
    }
}

/// How the provider writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Per-record batches (Cloudflare's batch endpoint) of at most `max_records` operations.
    Records { max_records: usize },
    /// One replacement of the whole zone per plan (Namecheap's `setHosts`).
    WholeZone,
}

/// What `read_zone` keeps for `apply`: the id of every value, per RRset.
#[derive(Clone, Debug, Default)]
pub struct IdMap(pub BTreeMap<RrKey, BTreeMap<RData, RecordId>>);

/// The provider (the client side of the API).
pub struct IdStoreProvider {
    name: String,
    mode: Mode,
    caps: Capabilities,
    server: IdServer,
    applying: AtomicBool,
    /// Zone lists made while an `apply` was running (must stay 0).
    lists_in_apply: AtomicUsize,
}

impl IdStoreProvider {
    /// A provider writing in `mode` against a fresh server.
    pub fn new(name: &str, mode: Mode) -> IdStoreProvider {
        let mut caps = Capabilities::everything();
        caps.record_settings = ["proxied"].into();
        caps.atomic_batches = true;
        caps.creates_zones = true;
        match mode {
            Mode::Records { max_records } => {
                caps.granularity = Granularity::Record;
                caps.batch = BatchLimit {
                    max_records: Some(max_records),
                    ..BatchLimit::UNLIMITED
                };
            }
            Mode::WholeZone => {
                caps.granularity = Granularity::Zone;
                // Meaningless for a whole-zone writer, declared on purpose: apply must not
                // split by it (a second call built from the same observation would be
                // refused by the version check).
                caps.batch = BatchLimit::changes(1);
            }
        }
        let server = IdServer {
            max_records: match mode {
                Mode::Records { max_records } => Some(max_records),
                Mode::WholeZone => None,
            },
            ..IdServer::default()
        };
        IdStoreProvider {
            name: name.to_string(),
            mode,
            caps,
            server,
            applying: AtomicBool::new(false),
            lists_in_apply: AtomicUsize::new(0),
        }
    }

    /// The API's side, for assertions.
    pub fn server(&self) -> &IdServer {
        &self.server
    }

    /// Zone lists made while an `apply` was running (the contract says 0).
    pub fn lists_in_apply(&self) -> usize {
        self.lists_in_apply.load(Ordering::SeqCst)
    }

    fn list(&self, zone: &Fqdn) -> Option<(Vec<Record>, u64)> {
        if self.applying.load(Ordering::SeqCst) {
            self.lists_in_apply.fetch_add(1, Ordering::SeqCst);
        }
        self.server.list(zone)
    }

    fn ids(observed: &Observed) -> &BTreeMap<RrKey, BTreeMap<RData, RecordId>> {
        static EMPTY: BTreeMap<RrKey, BTreeMap<RData, RecordId>> = BTreeMap::new();
        observed.state.get::<IdMap>().map_or(&EMPTY, |m| &m.0)
    }

    /// The record operations that turn `old` into `new` at `key`, using the observed ids.
    fn ops(
        key: &RrKey,
        old: Option<&RrSet>,
        new: Option<&RrSet>,
        ids: &BTreeMap<RData, RecordId>,
        req: &mut BatchRequest,
    ) -> Result<(), ProviderError> {
        let id = |v: &RData| {
            ids.get(v).copied().ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::Conflict,
                    format!("{key} {v}: no record id in the observation (read the zone again)"),
                )
            })
        };
        let empty = RrSet::new(0, Vec::new());
        let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
        let removed: Vec<&RData> = old
            .values()
            .iter()
            .filter(|v| !new.values().contains(v))
            .collect();
        let added: Vec<&RData> = new
            .values()
            .iter()
            .filter(|v| !old.values().contains(v))
            .collect();
        let record = |v: &RData| NewRecord {
            key: key.clone(),
            ttl: new.ttl,
            value: v.clone(),
            proxied: proxied(new),
        };
        // A changed value takes over a removed value's id (PATCH); the rest are deleted or
        // posted. Unchanged values keep their id, patched only for a new TTL.
        for (r, a) in removed.iter().zip(&added) {
            req.patches.push((id(r)?, record(a)));
        }
        for r in removed.iter().skip(added.len()) {
            req.deletes.push(id(r)?);
        }
        for a in added.iter().skip(removed.len()) {
            req.posts.push(record(a));
        }
        if !old.is_empty()
            && !new.is_empty()
            && (old.ttl != new.ttl || proxied(old) != proxied(new))
        {
            for v in new.values().iter().filter(|v| old.values().contains(v)) {
                req.patches.push((id(v)?, record(v)));
            }
        }
        Ok(())
    }

    fn write_records(
        &self,
        zone: &Fqdn,
        observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        let ids = Self::ids(observed);
        let none = BTreeMap::new();
        let mut req = BatchRequest::default();
        for (i, c) in changes.iter().enumerate() {
            let key_ids = ids.get(c.key()).unwrap_or(&none);
            if let Err(e) = Self::ops(c.key(), c.old(), c.new_set(), key_ids, &mut req) {
                return outcome::blame(i, &e, changes.len());
            }
        }
        match self.server.batch(zone, req) {
            Ok(()) => outcome::ok(changes.len()),
            Err(e) => outcome::all(&e, changes.len()),
        }
    }

    fn write_zone(
        &self,
        zone: &Fqdn,
        observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        let ids = Self::ids(observed);
        // The whole desired zone, from what was read: no re-read inside the write.
        let mut desired = observed.zone.clone();
        apply_to(&mut desired, changes);
        let mut records = Vec::new();
        for (key, set) in &desired.rrsets {
            for v in set.values() {
                let id = ids.get(key).and_then(|m| m.get(v)).copied();
                records.push((
                    id,
                    NewRecord {
                        key: key.clone(),
                        ttl: set.ttl,
                        value: v.clone(),
                        proxied: proxied(set),
                    },
                ));
            }
        }
        let version = observed.version.as_deref().and_then(|v| v.parse().ok());
        match self.server.replace(zone, version, records) {
            Ok(()) => outcome::ok(changes.len()),
            Err(e) => outcome::all(&e, changes.len()),
        }
    }
}

/// Clears the "applying" flag when an apply ends, however it ends.
struct Applying<'a>(&'a AtomicBool);

impl Drop for Applying<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[async_trait]
impl Provider for IdStoreProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "idstore"
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Record operations, as [`IdStoreProvider::ops`] will send them.
    fn cost(&self, change: &Change) -> BatchCost {
        let mut req = BatchRequest::default();
        // Ids do not change the count: fake them all.
        let ids: BTreeMap<RData, RecordId> = change
            .old()
            .map(|s| s.values().iter().map(|v| (v.clone(), 0)).collect())
            .unwrap_or_default();
        let _ = Self::ops(change.key(), change.old(), change.new_set(), &ids, &mut req);
        BatchCost {
            records: req.records().max(1),
            ..BatchCost::default_for(change)
        }
    }

    /// Keeps `proxied` only when true (false is the API's default, read back as no
    /// setting) and drops keys the API does not have.
    fn normalize(&self, key: &RrKey, set: &mut RrSet) -> Option<String> {
        let note = zonekeeper::provider::drop_unstored_settings(self.kind(), &self.caps, key, set);
        if set.ext().is_some() && !proxied(set) {
            set.set_ext(None);
        }
        note
    }

    async fn list_zones(&self) -> Result<Vec<Fqdn>, ProviderError> {
        Ok(self.server.lock().zones.keys().cloned().collect())
    }

    async fn read_zone(&self, zone: &Fqdn) -> Result<Observed, ProviderError> {
        let Some((records, version)) = self.list(zone) else {
            return Ok(Observed::absent(zone.clone()));
        };
        let mut values: BTreeMap<RrKey, (u32, Vec<RData>, bool)> = BTreeMap::new();
        let mut ids = IdMap::default();
        for r in records {
            let e = values
                .entry(r.key.clone())
                .or_insert((r.ttl, Vec::new(), true));
            e.0 = e.0.min(r.ttl);
            e.1.push(r.value.clone());
            // An RRset is proxied when every record of it is (Cloudflare keeps it per record).
            e.2 &= r.proxied;
            ids.0.entry(r.key).or_default().insert(r.value, r.id);
        }
        let mut z = Zone::new(zone.clone());
        for (k, (ttl, vals, on)) in values {
            let ext = on.then(|| Arc::new(RecordExt::new().with("proxied", ExtValue::Bool(true))));
            z.put(k, RrSet::new(ttl, vals).with_ext(ext));
        }
        let mut observed = Observed::present(z).with_state(ProviderState::new(ids));
        observed.version = Some(version.to_string());
        Ok(observed)
    }

    async fn create_zone(&self, zone: &Fqdn) -> Result<(), ProviderError> {
        self.server.create(zone);
        Ok(())
    }

    async fn apply(
        &self,
        zone: &Fqdn,
        observed: &Observed,
        changes: &[Change],
    ) -> Vec<ChangeOutcome> {
        self.applying.store(true, Ordering::SeqCst);
        let _done = Applying(&self.applying);
        match self.mode {
            Mode::Records { .. } => self.write_records(zone, observed, changes),
            Mode::WholeZone => self.write_zone(zone, observed, changes),
        }
    }
}

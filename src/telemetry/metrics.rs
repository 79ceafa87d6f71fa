//! The daemon's Prometheus metrics: one struct owning its own registry (no globals), fed by
//! the controller from stage reports and, as the providers' [`CallObserver`], by their
//! transports (one count per HTTP request or DNS message, per retry, per 429). Label values
//! are bounded: zone, target and provider names come from the configuration, kinds and
//! results from fixed sets.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::provider::{CallObserver, ErrorKind};

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::status::Drift;

/// Every metric the daemon exports. See the README's metrics table.
pub struct Metrics {
    registry: Registry,
    pub reconcile_total: IntCounterVec,
    pub reconcile_duration: Histogram,
    pub zone_drift_records: IntGaugeVec,
    pub changes_applied_total: IntCounterVec,
    pub last_success: GaugeVec,
    /// Transport requests (HTTP requests, DNS messages), by outcome.
    pub provider_requests_total: IntCounterVec,
    /// Transport request durations.
    pub provider_request_duration: HistogramVec,
    /// Answers that were rate limits (429, or what the provider classifies so).
    pub provider_ratelimited_total: IntCounterVec,
    /// Requests tried again, by the error kind that caused it.
    pub provider_retries_total: IntCounterVec,
    /// Each provider's in-flight request limit (lowered by overload answers).
    pub provider_in_flight_limit: IntGaugeVec,
    /// Provider trait calls (list, read, create, apply), by outcome.
    pub provider_calls_total: IntCounterVec,
    /// Provider trait call durations (retries and waits included).
    pub provider_call_duration: HistogramVec,
    pub git_fetch_total: IntCounterVec,
    pub source_revision_info: IntGaugeVec,
    pub commit_to_applied: Histogram,
    pub manifest_errors: IntGauge,
    pub unsafe_plans: IntGaugeVec,
    pub build_info: IntGaugeVec,
    pub domain_reconcile_total: IntCounterVec,
    pub domain_expiry: GaugeVec,
}

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn plain_histogram(
    r: &Registry,
    name: &str,
    help: &str,
    buckets: Vec<f64>,
) -> prometheus::Result<Histogram> {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> prometheus::Result<HistogramVec> {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

impl Metrics {
    pub fn new() -> prometheus::Result<Metrics> {
        let r = Registry::new();
        let seconds = vec![
            0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
        ];
        let m = Metrics {
            reconcile_total: counter(&r, "zonekeeper_reconcile_total", "Zone reconciles by result (success, drift, unsafe, failed).", &["zone", "result"])?,
            reconcile_duration: plain_histogram(&r, "zonekeeper_reconcile_duration_seconds", "Time to reconcile one zone on all its targets.", seconds.clone())?,
            zone_drift_records: gauge(&r, "zonekeeper_zone_drift_records", "RRsets that differ from the manifest at the last reconcile, by kind (missing, extra, changed).", &["zone", "target", "kind"])?,
            changes_applied_total: counter(&r, "zonekeeper_changes_applied_total", "RRset changes applied successfully, by operation.", &["zone", "target", "op"])?,
            last_success: {
                let g = GaugeVec::new(
                    Opts::new("zonekeeper_last_successful_reconcile_timestamp_seconds", "Unix time of the zone's last successful reconcile."),
                    &["zone"],
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            provider_requests_total: counter(&r, "zonekeeper_provider_requests_total", "Requests sent to providers (HTTP requests, DNS messages; retries count again) by outcome (ok or an error kind).", &["provider", "outcome"])?,
            provider_request_duration: histogram(&r, "zonekeeper_provider_request_duration_seconds", "Duration of requests sent to providers.", &["provider"], seconds.clone())?,
            provider_ratelimited_total: counter(&r, "zonekeeper_provider_ratelimited_total", "Provider answers that were rate limits (HTTP 429 or the provider's own throttling signal).", &["provider"])?,
            provider_retries_total: counter(&r, "zonekeeper_provider_retries_total", "Provider requests tried again, by reason (the error kind of the failed try).", &["provider", "reason"])?,
            provider_in_flight_limit: gauge(&r, "zonekeeper_provider_in_flight_limit", "Requests a provider may have in flight at once: halved on an overload answer (429, 503, PowerDNS's \"database is locked\"), raised by one per limit's worth of successes. Reported once it first changes.", &["provider"])?,
            provider_calls_total: counter(&r, "zonekeeper_provider_calls_total", "Provider operations (list, read, create, apply) by outcome (ok or an error kind); an apply counts its first failed change.", &["provider", "outcome"])?,
            provider_call_duration: histogram(&r, "zonekeeper_provider_call_duration_seconds", "Duration of provider operations, retries and waits included.", &["provider"], seconds.clone())?,
            git_fetch_total: counter(&r, "zonekeeper_git_fetch_total", "Source fetches by result (success, or an error kind).", &["result"])?,
            source_revision_info: gauge(&r, "zonekeeper_source_revision_info", "The source revision in force (value 1).", &["revision"])?,
            commit_to_applied: plain_histogram(
                &r,
                "zonekeeper_commit_to_applied_seconds",
                "Time from a commit to its changes being applied and verified (the SLO signal).",
                vec![1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0],
            )?,
            manifest_errors: {
                let g = IntGauge::new("zonekeeper_manifest_errors", "Problems in the newest source revision's manifests (0 when it is in force).")?;
                r.register(Box::new(g.clone()))?;
                g
            },
            unsafe_plans: gauge(&r, "zonekeeper_unsafe_plans", "1 while a zone's plan exceeds the safety thresholds and waits for a human.", &["zone"])?,
            build_info: gauge(&r, "zonekeeper_build_info", "Build information (value 1).", &["version"])?,
            domain_reconcile_total: counter(&r, "zonekeeper_domain_reconcile_total", "Domain (registrar settings) reconciles by result (in-sync, applied, unsafe, plan-changed, read-failed, failed, not-converged).", &["domain", "result"])?,
            domain_expiry: {
                let g = GaugeVec::new(
                    Opts::new("zonekeeper_domain_expiry_timestamp_seconds", "Unix time the domain's registration expires, as its registrar last reported."),
                    &["domain"],
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            registry: r,
        };
        m.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        Ok(m)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let families = self.registry.gather();
        if TextEncoder::new().encode(&families, &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// One finished zone reconcile: its outcome (`success`, `drift`, `unsafe`, `blocked`,
    /// `failed`), how long it took, and whether its plan waits for a human.
    pub fn record_reconcile(
        &self,
        zone: &str,
        outcome: &str,
        duration: Duration,
        unsafe_plan: bool,
    ) {
        self.reconcile_total
            .with_label_values(&[zone, outcome])
            .inc();
        self.reconcile_duration.observe(duration.as_secs_f64());
        self.unsafe_plans
            .with_label_values(&[zone])
            .set(i64::from(unsafe_plan));
    }

    /// The RRsets that differ on one target at the end of a reconcile.
    pub fn record_drift(&self, zone: &str, target: &str, drift: Drift) {
        for (kind, n) in [
            ("missing", drift.missing),
            ("extra", drift.extra),
            ("changed", drift.changed),
        ] {
            self.zone_drift_records
                .with_label_values(&[zone, target, kind])
                .set(n as i64);
        }
    }

    /// One change applied successfully (`op`: create, update, delete).
    pub fn record_applied(&self, zone: &str, target: &str, op: &str) {
        self.changes_applied_total
            .with_label_values(&[zone, target, op])
            .inc();
    }

    /// One finished domain reconcile and the expiry its registrar reported (if any).
    pub fn record_domain(
        &self,
        domain: &str,
        result: &str,
        expires: Option<std::time::SystemTime>,
    ) {
        self.domain_reconcile_total
            .with_label_values(&[domain, result])
            .inc();
        if let Some(t) = expires.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()) {
            self.domain_expiry
                .with_label_values(&[domain])
                .set(t.as_secs_f64());
        }
    }

    /// Drops a domain's series (its manifest was removed).
    pub fn forget_domain(&self, domain: &str) {
        let _ = self.domain_expiry.remove_label_values(&[domain]);
    }

    /// Drops a zone's series (the zone left the configuration), so alerts stop firing.
    pub fn forget_zone(&self, zone: &str, targets: &[String]) {
        let _ = self.unsafe_plans.remove_label_values(&[zone]);
        let _ = self.last_success.remove_label_values(&[zone]);
        for t in targets {
            for kind in ["missing", "extra", "changed"] {
                let _ = self
                    .zone_drift_records
                    .remove_label_values(&[zone, t.as_str(), kind]);
            }
        }
    }

    /// Creates the zero series of a configured provider, so its counters and histograms are
    /// exported (and `rate()` works) before its first request.
    pub fn provider_series(&self, provider: &str) {
        self.provider_requests_total
            .with_label_values(&[provider, "ok"]);
        self.provider_request_duration
            .with_label_values(&[provider]);
        self.provider_ratelimited_total
            .with_label_values(&[provider]);
        self.provider_calls_total
            .with_label_values(&[provider, "ok"]);
        self.provider_call_duration.with_label_values(&[provider]);
    }

    /// Writes every metric in the Prometheus text format to `path`, for node_exporter's
    /// textfile collector (one-shot commands: `zonekeeper apply`). The text goes to a
    /// hidden temporary file in the same directory (not matched by the collector's `*.prom`)
    /// that is then renamed over `path`, so a scrape never sees half a file.
    ///
    /// # Errors
    /// Creating, writing, syncing or renaming the file failed (the temporary file is
    /// removed then).
    pub fn write_textfile(&self, path: &Path) -> std::io::Result<()> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("metrics.prom");
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(self.render().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Marks `revision` as the one in force (and no other).
    pub fn set_revision(&self, revision: &str) {
        self.source_revision_info.reset();
        self.source_revision_info
            .with_label_values(&[revision])
            .set(1);
    }
}

/// The providers' transports report here: each request counts in
/// `provider_requests_total{provider,outcome}` and its duration in
/// `provider_request_duration_seconds`; a rate-limit answer also in
/// `provider_ratelimited_total`; each retry in `provider_retries_total{provider,reason}`.
impl CallObserver for Metrics {
    fn request(&self, provider: &str, _endpoint: &str, outcome: &str, duration: Duration) {
        self.provider_requests_total
            .with_label_values(&[provider, outcome])
            .inc();
        self.provider_request_duration
            .with_label_values(&[provider])
            .observe(duration.as_secs_f64());
        if outcome == ErrorKind::RateLimited.as_str() {
            self.provider_ratelimited_total
                .with_label_values(&[provider])
                .inc();
        }
    }

    fn retry(&self, provider: &str, kind: ErrorKind, _wait: Duration) {
        self.provider_retries_total
            .with_label_values(&[provider, kind.as_str()])
            .inc();
    }

    fn in_flight_limit(&self, provider: &str, limit: usize) {
        self.provider_in_flight_limit
            .with_label_values(&[provider])
            .set(i64::try_from(limit).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_reports_become_counters_and_a_textfile() {
        let m = Metrics::new().unwrap();
        let ms = Duration::from_millis(3);
        m.provider_series("pdns");
        m.request("pdns", "PATCH /zones/{zone}", "rate-limited", ms);
        m.retry("pdns", ErrorKind::RateLimited, Duration::from_secs(1));
        m.request("pdns", "PATCH /zones/{zone}", "transient", ms);
        m.retry("pdns", ErrorKind::Transient, ms);
        m.request("pdns", "PATCH /zones/{zone}", "ok", ms);
        let req = |o: &str| {
            m.provider_requests_total
                .with_label_values(&["pdns", o])
                .get()
        };
        assert_eq!(
            (req("ok"), req("rate-limited"), req("transient")),
            (1, 1, 1)
        );
        assert_eq!(
            m.provider_ratelimited_total
                .with_label_values(&["pdns"])
                .get(),
            1
        );
        let retries = |r: &str| {
            m.provider_retries_total
                .with_label_values(&["pdns", r])
                .get()
        };
        assert_eq!((retries("rate-limited"), retries("transient")), (1, 1));
        assert_eq!(
            m.provider_request_duration
                .with_label_values(&["pdns"])
                .get_sample_count(),
            3
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zonekeeper.prom");
        std::fs::write(&path, "stale").unwrap();
        m.write_textfile(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(
                "zonekeeper_provider_retries_total{provider=\"pdns\",reason=\"transient\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE zonekeeper_provider_ratelimited_total counter"));
        // Only the file itself is left: the temporary file was renamed over it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["zonekeeper.prom"]);
        // A directory that does not exist: an error, nothing left behind.
        assert!(m.write_textfile(&dir.path().join("no/such.prom")).is_err());
    }
}

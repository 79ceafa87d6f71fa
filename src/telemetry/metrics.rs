//! The daemon's Prometheus metrics: one struct owning its own registry (no globals), fed by
//! the controller from stage reports. Label values are bounded: zone and target names come
//! from the configuration, kinds and results from fixed sets.

use std::time::Duration;

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
    pub provider_requests_total: IntCounterVec,
    pub provider_request_duration: HistogramVec,
    pub provider_ratelimited_total: IntCounterVec,
    pub git_fetch_total: IntCounterVec,
    pub source_revision_info: IntGaugeVec,
    pub commit_to_applied: Histogram,
    pub manifest_errors: IntGauge,
    pub unsafe_plans: IntGaugeVec,
    pub build_info: IntGaugeVec,
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
            provider_requests_total: counter(&r, "zonekeeper_provider_requests_total", "Provider calls (reads and writes) by outcome (ok or an error kind).", &["provider", "outcome"])?,
            provider_request_duration: histogram(&r, "zonekeeper_provider_request_duration_seconds", "Duration of provider calls.", &["provider"], seconds.clone())?,
            provider_ratelimited_total: counter(&r, "zonekeeper_provider_ratelimited_total", "Provider calls answered with a rate-limit error.", &["provider"])?,
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

    /// Marks `revision` as the one in force (and no other).
    pub fn set_revision(&self, revision: &str) {
        self.source_revision_info.reset();
        self.source_revision_info
            .with_label_values(&[revision])
            .set(1);
    }
}

//! The instance's metrics, rendered in Prometheus text at `GET /metrics`: one recorder per
//! instance (no global state, so that several instances in one process keep their own).

use metrics::{Recorder as _, with_local_recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// The metric names (the README lists them with what to watch).
pub(crate) mod name {
    pub(crate) const CALLBACKS: &str = "hpp_merchant_callbacks_total";
    pub(crate) const CHECKOUTS: &str = "hpp_merchant_checkouts_total";
    pub(crate) const CHECKOUT_RATE_LIMIT_WAITS: &str =
        "hpp_merchant_checkout_rate_limit_waits_total";
    pub(crate) const READS: &str = "hpp_merchant_reads_total";
    pub(crate) const KLARNA_CALLS: &str = "hpp_merchant_klarna_calls_total";
    pub(crate) const EFFECTS: &str = "hpp_merchant_effects_total";
    pub(crate) const EFFECT_RECLAIMS: &str = "hpp_merchant_effect_reclaims_total";
    pub(crate) const EFFECTS_PENDING: &str = "hpp_merchant_effects_pending";
    pub(crate) const OLDEST_PENDING: &str = "hpp_merchant_effect_oldest_pending_age_seconds";
    pub(crate) const READY: &str = "hpp_merchant_ready";
    pub(crate) const REQUESTS_SHED: &str = "hpp_merchant_requests_shed_total";
    pub(crate) const RATE_LIMIT_WAITS: &str = "hpp_merchant_klarna_rate_limit_waits_total";
    pub(crate) const ORDERS: &str = "hpp_merchant_orders_total";
}

/// The recorder of one instance.
pub(crate) struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder, handle };
        let describe = |metric: &'static str, help: &'static str| {
            metrics
                .recorder
                .describe_counter(metric.into(), None, help.into());
        };
        describe(
            name::CALLBACKS,
            "Status callbacks by verdict: accepted, final (the session is final already: no read), refused (unknown session or wrong secret), too_large, store_error.",
        );
        describe(
            name::CHECKOUTS,
            "POST /checkouts by result: created, unauthorized, bad_request, rate_limited, klarna_error, store_error.",
        );
        describe(
            name::CHECKOUT_RATE_LIMIT_WAITS,
            "Checkouts that waited for the rate limit (those that waited too long are rate_limited).",
        );
        describe(
            name::READS,
            "Read Session by source (callback, batch) and outcome: merged, unusable, expired, failed.",
        );
        describe(
            name::KLARNA_CALLS,
            "Calls to Klarna by operation and HTTP status (\"error\": no answer).",
        );
        describe(
            name::EFFECTS,
            "Effects by kind and result: done, retry (failed, released), lease_lost (done, but another worker may do it again).",
        );
        describe(
            name::EFFECT_RECLAIMS,
            "Effects claimed again (attempt > 1): after a failure, or a lease that ran out (a takeover); the store does not tell which.",
        );
        describe(
            name::RATE_LIMIT_WAITS,
            "Calls to Klarna that waited for the merchant's budget or a 429's Retry-After, by category.",
        );
        describe(
            name::ORDERS,
            "Orders settled by state: placed, refused, unknown (a person must look it up).",
        );
        describe(
            name::REQUESTS_SHED,
            "Requests refused with 503 because the cap on requests under way was reached.",
        );
        metrics.recorder.describe_gauge(
            name::EFFECTS_PENDING.into(),
            None,
            "Effects not completed yet (read at scrape).".into(),
        );
        metrics.recorder.describe_gauge(
            name::OLDEST_PENDING.into(),
            None,
            "Age of the oldest effect not completed, in seconds; 0 when none (read at scrape)."
                .into(),
        );
        metrics.recorder.describe_gauge(
            name::READY.into(),
            None,
            "1 when the check (database, klarna) passed at its last run, else 0.".into(),
        );
        metrics
    }

    /// Adds one to counter `metric` with `labels`.
    pub(crate) fn count(&self, metric: &'static str, labels: &[(&'static str, String)]) {
        let labels: Vec<metrics::Label> = labels
            .iter()
            .map(|(key, value)| metrics::Label::new(*key, value.clone()))
            .collect();
        with_local_recorder(&self.recorder, || {
            metrics::counter!(metric, labels).increment(1);
        });
    }

    /// Sets gauge `metric` with `labels`.
    pub(crate) fn set(&self, metric: &'static str, labels: &[(&'static str, String)], value: f64) {
        let labels: Vec<metrics::Label> = labels
            .iter()
            .map(|(key, value)| metrics::Label::new(*key, value.clone()))
            .collect();
        with_local_recorder(&self.recorder, || {
            metrics::gauge!(metric, labels).set(value);
        });
    }

    /// Everything in Prometheus text.
    pub(crate) fn render(&self) -> String {
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_render_with_their_labels_and_help() {
        let metrics = Metrics::new();
        metrics.count(name::CALLBACKS, &[("verdict", "refused".into())]);
        metrics.count(name::CALLBACKS, &[("verdict", "refused".into())]);
        metrics.set(name::EFFECTS_PENDING, &[], 3.0);
        let text = metrics.render();
        assert!(
            text.contains("hpp_merchant_callbacks_total{verdict=\"refused\"} 2"),
            "{text}"
        );
        assert!(text.contains("hpp_merchant_effects_pending 3"), "{text}");
        assert!(
            text.contains("# HELP hpp_merchant_callbacks_total"),
            "{text}"
        );
        // Another instance's recorder is its own.
        assert!(!Metrics::new().render().contains("verdict=\"refused\""));
    }
}

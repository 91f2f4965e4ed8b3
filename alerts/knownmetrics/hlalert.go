package knownmetrics

// hlalertMetrics are the metrics hlalert run serves on /metrics, by the
// package that defines them (a test keeps this list and the code in step).
var hlalertMetrics = []struct{ name, typ, pkg string }{
	{"hlalert_rule_group_evaluation_duration_seconds", "histogram", "alerts/metrics"},
	{"hlalert_rule_group_evaluations_total", "counter", "alerts/metrics"},
	{"hlalert_rule_group_evaluation_failures_total", "counter", "alerts/metrics"},
	{"hlalert_rule_group_iterations_missed_total", "counter", "alerts/metrics"},
	{"hlalert_alerts", "gauge", "alerts/metrics"},
	{"hlalert_notifications_total", "counter", "alerts/metrics"},
	{"hlalert_datasource_errors_total", "counter", "alerts/metrics"},
	{"hlalert_notification_attempts_total", "counter", "alerts/metrics"},
	{"hlalert_notifications_failed_total", "counter", "alerts/metrics"},
	{"hlalert_notification_last_success_timestamp_seconds", "gauge", "alerts/metrics"},
	{"hlalert_email_enqueued_total", "counter", "alerts/email"},
	{"hlalert_email_sent_total", "counter", "alerts/email"},
	{"hlalert_email_delivery_failures_total", "counter", "alerts/email"},
	{"hlalert_email_rejected_total", "counter", "alerts/email"},
	{"hlalert_email_queued", "gauge", "alerts/email"},
	{"hlalert_email_oldest_queued_age_seconds", "gauge", "alerts/email"},
	{"hlalert_remote_write_samples_written_total", "counter", "alerts/remotewrite"},
	{"hlalert_remote_write_samples_dropped_total", "counter", "alerts/remotewrite"},
	{"hlalert_remote_write_requests_failed_total", "counter", "alerts/remotewrite"},
	{"hlalert_remote_write_buffered_samples", "gauge", "alerts/remotewrite"},
	{"hlalert_remote_write_last_success_timestamp_seconds", "gauge", "alerts/remotewrite"},
	{"hlalert_history_changes_pushed_total", "counter", "alerts/history"},
	{"hlalert_history_pushes_failed_total", "counter", "alerts/history"},
	{"hlalert_history_changes_dropped_total", "counter", "alerts/history"},
	{"hlalert_history_queued_changes", "gauge", "alerts/history"},
	{"hlalert_log_lines_received_total", "counter", "alerts/logingest"},
	{"hlalert_log_lines_dropped_total", "counter", "alerts/logingest"},
	{"hlalert_log_store_lines", "gauge", "alerts/logingest"},
	{"hlalert_log_store_bytes", "gauge", "alerts/logingest"},
	{"hlalert_log_store_streams", "gauge", "alerts/logingest"},
	{"hlalert_watchdog_pings_total", "counter", "alerts/watchdog"},
	{"hlalert_watchdog_ping_failures_total", "counter", "alerts/watchdog"},
	{"hlalert_watchdog_last_success_timestamp_seconds", "gauge", "alerts/watchdog"},
}

// Hlalert lists hlalert's own metrics.
func Hlalert() []Metric {
	out := make([]Metric, 0, len(hlalertMetrics))
	for _, m := range hlalertMetrics {
		out = append(out, Metric{Name: m.name, Type: m.typ, Exporter: ExporterHlalert, Source: m.pkg})
	}
	return out
}

package boardcheck

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"

	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/exporters/backup"
	"github.com/hlalert/hlalert/exporters/deploy"
	"github.com/hlalert/hlalert/exporters/nvr"
	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/smart"
	"github.com/hlalert/hlalert/exporters/zfs"
)

// Known is the set of metric names a board may read, each with where it
// comes from.
type Known struct {
	src map[string]string
}

// Has reports whether name is known.
func (k *Known) Has(name string) bool { _, ok := k.src[name]; return ok }

// Source says where a known name comes from ("" if unknown).
func (k *Known) Source(name string) string { return k.src[name] }

// Len is the number of known names.
func (k *Known) Len() int { return len(k.src) }

func (k *Known) add(name, source string) {
	if _, ok := k.src[name]; !ok {
		k.src[name] = source
	}
}

// HlalertMetrics are the series hlalert itself exposes on /metrics (the
// evaluator, the outbox, the history pusher, the remote writer, the
// watchdog) and writes to VictoriaMetrics (ALERTS, ALERTS_FOR_STATE). A test
// holds the list equal to what the components register.
var HlalertMetrics = []string{
	"ALERTS",
	"ALERTS_FOR_STATE",
	"hlalert_alerts",
	"hlalert_datasource_errors_total",
	"hlalert_email_delivery_failures_total",
	"hlalert_email_enqueued_total",
	"hlalert_email_oldest_queued_age_seconds",
	"hlalert_email_queued",
	"hlalert_email_rejected_total",
	"hlalert_email_sent_total",
	"hlalert_history_changes_dropped_total",
	"hlalert_history_changes_pushed_total",
	"hlalert_history_pushes_failed_total",
	"hlalert_history_queued_changes",
	"hlalert_notifications_total",
	"hlalert_remote_write_buffered_samples",
	"hlalert_remote_write_last_success_timestamp_seconds",
	"hlalert_remote_write_requests_failed_total",
	"hlalert_remote_write_samples_dropped_total",
	"hlalert_remote_write_samples_written_total",
	"hlalert_rule_group_evaluation_duration_seconds_bucket",
	"hlalert_rule_group_evaluation_duration_seconds_count",
	"hlalert_rule_group_evaluation_duration_seconds_sum",
	"hlalert_rule_group_evaluation_failures_total",
	"hlalert_rule_group_evaluations_total",
	"hlalert_rule_group_iterations_missed_total",
	"hlalert_watchdog_last_success_timestamp_seconds",
	"hlalert_watchdog_ping_failures_total",
	"hlalert_watchdog_pings_total",
}

//go:embed known.txt
var thirdParty string

// ExporterMetrics returns hlexporter's metric catalog (what
// exporters/catalog.md lists): every collector's metrics and the serving
// layer's.
func ExporterMetrics() []*serve.MetricDef {
	var defs []*serve.MetricDef
	for _, f := range []func() []*serve.MetricDef{serve.ServingMetricDefs, zfs.Metrics, smart.Metrics, backup.Metrics, deploy.Metrics, nvr.Metrics} {
		defs = append(defs, f()...)
	}
	return defs
}

// NewKnown builds the known names: hlexporter's catalog, hlalert's own
// metrics, the recording rules of ruleFiles, and the declared third-party
// metrics (node_exporter, VictoriaMetrics' scrape series).
func NewKnown(ruleFiles []*rulefmt.File) (*Known, error) {
	k := &Known{src: map[string]string{}}
	for _, d := range ExporterMetrics() {
		k.add(d.Name, "hlexporter")
	}
	for _, n := range HlalertMetrics {
		k.add(n, "hlalert")
	}
	for _, f := range ruleFiles {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					k.add(r.Record, "recording rule at "+r.Pos.String())
				}
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(thirdParty))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 {
			return nil, fmt.Errorf("known.txt:%d: want SOURCE VERSION METRIC, got %q", line, text)
		}
		k.add(f[2], f[0]+" "+f[1])
	}
	return k, nil
}

package boardcheck

import (
	"slices"
	"testing"

	"github.com/hlalert/hlalert/alerts/rulefmt"
)

func TestKnownSources(t *testing.T) {
	files, errs := rulefmt.LoadGlobs([]string{"../../rules/*.rules.yml"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	k, err := NewKnown(files)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{
		"hlexporter_zfs_pool_health":     "hlexporter",
		"hlexporter_collector_success":   "hlexporter",
		"hlalert_email_queued":           "hlalert",
		"ALERTS":                         "rule evaluator",
		"node_memory_MemAvailable_bytes": "node_exporter v1.",
		"up":                             "Prometheus scraping (VictoriaMetrics promscrape) v1.150.0",
		"nvr:cameras_recording:count":    "recording rule at ../../rules/nvr.rules.yml:",
	} {
		if got := k.Source(name); len(got) < len(src) || got[:len(src)] != src {
			t.Errorf("source of %s = %q, want %q...", name, got, src)
		}
	}
	if k.Has("node_filesytem_readonly") || k.Has("hlexporter_zfs_pool_healthy") {
		t.Error("names nobody exports are known")
	}
	if s := k.Suggest("hlexporter_zfs_pool_healthy"); s != " (did you mean hlexporter_zfs_pool_health?)" {
		t.Errorf("Suggest = %q", s)
	}
}

func TestMetricNames(t *testing.T) {
	got, err := MetricNames(`sum(rate(a_total{x="1"}[5m])) / on() group_left b or vector(0) + c:rec`)
	if err != nil || !slices.Equal(got, []string{"a_total", "b", "c:rec"}) {
		t.Errorf("MetricNames = %v, %v", got, err)
	}
	if _, err := MetricNames(`{job="x"}`); err == nil {
		t.Error("a selector without a name was accepted")
	}
}

func TestResolve(t *testing.T) {
	b := &Board{Vars: map[string]string{"instance": ".*", "datasource": "victoriametrics"}}
	got, err := b.Resolve(`rate(x{instance=~"$instance"}[$__rate_interval]) and y{i=~"${instance:regex}"} and z{i=~"[[instance]]"}`)
	if err != nil || got != `rate(x{instance=~".*"}[5m]) and y{i=~".*"} and z{i=~".*"}` {
		t.Errorf("Resolve = %q, %v", got, err)
	}
	if _, err := b.Resolve(`x{a="$nope", b="$zap"}`); err == nil || err.Error() != "unknown template variable $nope, $zap" {
		t.Errorf("unknown variables: %v", err)
	}
}

package boardcheck

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/email"
	"github.com/hlalert/hlalert/alerts/history"
	"github.com/hlalert/hlalert/alerts/metrics"
	"github.com/hlalert/hlalert/alerts/remotewrite"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/watchdog"
)

// descNames is a Registerer that records the names of what registers.
type descNames struct{ names []string }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *descNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names = append(d.names, m[1])
		}
	}
	return nil
}
func (d *descNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.Register(c)
	}
}
func (d *descNames) Unregister(prometheus.Collector) bool { return true }

type nopPusher struct{}

func (nopPusher) Push(context.Context, []push.Stream) error { return nil }

// HlalertMetrics is what hlalert's components register (histograms as
// their _bucket, _sum and _count series) plus ALERTS and ALERTS_FOR_STATE.
func TestHlalertMetricsMatchComponents(t *testing.T) {
	reg := &descNames{}
	metrics.NewEvaluator(reg)
	if _, err := email.NewQueue(email.QueueOptions{Dir: t.TempDir(), Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := history.New(history.Options{Pusher: nopPusher{}, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	w, err := remotewrite.New(remotewrite.Options{URL: "http://127.0.0.1:1", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	if _, err := watchdog.New(watchdog.Options{URL: "http://127.0.0.1:1/ping", Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	want := []string{rule.AlertsMetric, rule.AlertsForStateMetric}
	for _, n := range reg.names {
		if n == "hlalert_rule_group_evaluation_duration_seconds" {
			want = append(want, n+"_bucket", n+"_sum", n+"_count")
			continue
		}
		want = append(want, n)
	}
	sort.Strings(want)
	got := slices.Clone(HlalertMetrics)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("HlalertMetrics = %v\nwant (registered) %v", got, want)
	}
}

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
		"ALERTS":                         "hlalert",
		"node_memory_MemAvailable_bytes": "node_exporter 1.5.0",
		"up":                             "victoriametrics v1.150.0",
		"nvr:cameras_recording:count":    "recording rule at ../../rules/nvr.rules.yml:",
	} {
		if got := k.Source(name); len(got) < len(src) || got[:len(src)] != src {
			t.Errorf("source of %s = %q, want %q...", name, got, src)
		}
	}
	if k.Has("node_systemd_unit_state") || k.Has("hlexporter_zfs_pool_healthy") {
		t.Error("names nobody exports are known")
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

package knownmetrics

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func catalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookup(t *testing.T) {
	c := catalog(t)
	for _, tc := range []struct {
		name     string
		ok       bool
		exporter string
	}{
		{"node_filesystem_avail_bytes", true, "node_exporter"},
		{"probe_ssl_earliest_cert_expiry", true, "blackbox_exporter"},
		{"homeassistant_entity_available", true, "Home Assistant prometheus integration (/api/prometheus)"},
		{"hlexporter_collector_success", true, ExporterHlexporter},
		{"hlalert_notifications_total", true, ExporterHlalert},
		{"hlalert_rule_group_evaluation_duration_seconds_bucket", true, ExporterHlalert}, // histogram series
		{"hlalert_rule_group_evaluation_duration_seconds_count", true, ExporterHlalert},
		{"loki_request_duration_seconds_sum", true, "Grafana Loki"},
		{"homeassistant_state_change_created", true, "Home Assistant prometheus integration (/api/prometheus)"},
		{"ALERTS", true, ExporterRules},
		{"ALERTS_FOR_STATE", true, ExporterRules},
		{"hlalert_alerts_bucket", false, ""}, // a gauge has no buckets
		{"node_filesystem_avail", false, ""},
		{"", false, ""},
	} {
		m, ok := c.Lookup(tc.name)
		if ok != tc.ok || m.Exporter != tc.exporter {
			t.Errorf("Lookup(%q) = %+v, %v; want exporter %q, %v", tc.name, m, ok, tc.exporter, tc.ok)
		}
	}
}

func TestSuggest(t *testing.T) {
	c := catalog(t)
	for name, want := range map[string]string{
		"node_filesytem_avail_bytes":      " (did you mean node_filesystem_avail_bytes?)",
		"probe_ssl_earliest_cert_expiry2": " (did you mean probe_ssl_earliest_cert_expiry?)",
		"hlalert_notification_total":      " (did you mean hlalert_notifications_total?)",
		"completely_unrelated_name_here":  "",
		"x":                               "",
	} {
		if got := c.Suggest(name); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestWith(t *testing.T) {
	c := catalog(t)
	r := c.With(Metric{Name: "job:up:sum", Type: Recorded, Exporter: "rules/x.yml"})
	if _, ok := r.Lookup("job:up:sum"); !ok {
		t.Error("recorded metric not found after With")
	}
	if _, ok := c.Lookup("job:up:sum"); ok {
		t.Error("With changed the original catalog")
	}
	if got := r.Suggest("job:up:summ"); got != " (did you mean job:up:sum?)" {
		t.Errorf("Suggest after With = %q", got)
	}
}

// Every declared third-party metric names its exporter version and a
// source URL pinned to that version; bad declarations are refused.
func TestThirdParty(t *testing.T) {
	ms, err := ThirdParty()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 50 {
		t.Fatalf("only %d third-party metrics", len(ms))
	}
	for _, m := range ms {
		if !strings.HasPrefix(m.Source, "https://github.com/") || !strings.Contains(m.Source, strings.TrimPrefix(strings.TrimPrefix(m.Version, "core@"), "main@")) {
			t.Errorf("%s: source %q is not pinned to version %q", m.Name, m.Source, m.Version)
		}
	}
	for _, bad := range []struct{ yaml, err string }{
		{"exporters: [{exporter: x, version: v1, url: u, metrics: [{name: a, type: gauge, source: s, extra: 1}]}]", "field extra not found"},
		{"exporters: [{exporter: x, version: v1, url: u, metrics: [{name: a, type: gauge}]}]", "x: metrics[0]: name, type and source are required"},
		{"exporters: [{exporter: x, url: u}]", "exporters[0]: exporter, version and url are required"},
	} {
		_, err := decodeThirdParty([]byte(bad.yaml))
		if err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("decode %s: err %v, want %q", bad.yaml, err, bad.err)
		}
	}
}

// The hlexporter part is exactly the generated catalog's names.
func TestHlexporterMatchesCatalog(t *testing.T) {
	data, err := os.ReadFile("../../exporters/catalog.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_:]+)` \\|").FindAllStringSubmatch(string(data), -1) {
		want = append(want, m[1])
	}
	var got []string
	for _, m := range Hlexporter() {
		got = append(got, m.Name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Hlexporter() and exporters/catalog.md differ:\ngot  %v\nwant %v", got, want)
	}
}

// The hlalert list names every hlalert_* metric the code defines, and
// nothing else.
func TestHlalertMatchesCode(t *testing.T) {
	re := regexp.MustCompile(`Name:\s*"(hlalert_[a-z_]+)"`)
	defined := map[string]string{}
	for _, root := range []string{"..", "../../cmd/hlalert"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllSubmatch(src, -1) {
				defined[string(m[1])] = p
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(defined) < 20 {
		t.Fatalf("found only %d hlalert_* metric definitions; did the code style change?", len(defined))
	}
	declared := map[string]bool{}
	for _, m := range Hlalert() {
		declared[m.Name] = true
		if _, ok := defined[m.Name]; !ok {
			t.Errorf("%s is declared but no code defines it", m.Name)
		}
	}
	for name, where := range defined {
		if !declared[name] {
			t.Errorf("%s (defined in %s) is missing from hlalertMetrics", name, where)
		}
	}
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`up == 0`: {"up"},
		`predict_linear(node_filesystem_avail_bytes{fstype!="tmpfs"}[6h], 4*86400) < 0 and node_filesystem_readonly == 0`: {"node_filesystem_avail_bytes", "node_filesystem_readonly"},
		`{__name__="probe_success"} == 0`:                              {"probe_success"},
		`{__name__=~"probe_.*"}`:                                       nil,
		`sum(rate(x_total[5m])) / sum(rate(x_total[5m]))`:              {"x_total"},
		`WITH (f(m) = rate(m[5m])) f(loki_panic_total) > 0`:            {"loki_panic_total"},
		`time() - hlexporter_collector_last_success_timestamp_seconds`: {"hlexporter_collector_last_success_timestamp_seconds"},
	} {
		got, err := MetricNames(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("MetricNames(%s) = %v, want %v", expr, got, want)
		}
	}
	if _, err := MetricNames("rate(x[5m]"); err == nil {
		t.Error("a syntax error must be an error")
	}
}

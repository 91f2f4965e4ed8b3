package nvr

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

var update = flag.Bool("update", false, "rewrite golden files")

// constCollector serves one Result the way the registry would.
type constCollector struct {
	defs    []*serve.MetricDef
	metrics []prometheus.Metric
}

func (c constCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.defs {
		ch <- d.Desc()
	}
}

func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics {
		ch <- m
	}
}

// exposition renders metrics as /metrics text through a pedantic registry,
// which also checks them against their descriptors.
func exposition(t *testing.T, defs []*serve.MetricDef, metrics []prometheus.Metric) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(constCollector{defs, metrics}); err != nil {
		t.Fatalf("register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatalf("encode: %v", err)
		}
	}
	return buf.Bytes()
}

// checkGolden compares metrics with testdata/golden/<name>.prom (rewritten
// with -update), and cross-checks with testutil.CollectAndCompare.
func checkGolden(t *testing.T, name string, defs []*serve.MetricDef, metrics []prometheus.Metric) {
	t.Helper()
	got := exposition(t, defs, metrics)
	path := filepath.Join("testdata", "golden", name+".prom")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
	if len(metrics) > 0 {
		if err := testutil.CollectAndCompare(constCollector{defs, metrics}, bytes.NewReader(want)); err != nil {
			t.Errorf("CollectAndCompare %s: %v", path, err)
		}
	}
}

package nvr

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
	"github.com/prometheus/client_golang/prometheus"
)

var update = flag.Bool("update", false, "rewrite golden files")

// checkGolden compares metrics with testdata/golden/<name>.prom (rewritten
// with -update).
func checkGolden(t *testing.T, name string, defs []*serve.MetricDef, metrics []prometheus.Metric) {
	t.Helper()
	servetest.GoldenMetrics(t, filepath.Join("testdata", "golden", name+".prom"), defs, metrics, *update)
}

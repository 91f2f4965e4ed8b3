package knownmetrics

import (
	"fmt"

	"github.com/VictoriaMetrics/metricsql"
)

// MetricNames returns the metric names a MetricsQL (or PromQL) expression
// selects by exact name (`foo`, `{__name__="foo"}`), in order of first
// use. Selectors with a regexp or no name are left out: they name no
// single metric.
func MetricNames(expr string) ([]string, error) {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	var out []string
	seen := map[string]bool{}
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		me, ok := x.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		for _, lfs := range me.LabelFilterss {
			for _, lf := range lfs {
				if lf.Label == "__name__" && !lf.IsRegexp && !lf.IsNegative && lf.Value != "" && !seen[lf.Value] {
					seen[lf.Value] = true
					out = append(out, lf.Value)
				}
			}
		}
	})
	return out, nil
}

package boardcheck

import (
	"context"
	"fmt"
	"sort"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/series"
)

// Problem is one finding, at a panel of a board.
type Problem struct {
	Board string // file
	Where string // panel and query
	Msg   string
}

func (p Problem) Error() string { return p.Board + ": " + p.Where + ": " + p.Msg }

// Options choose the checks beyond decoding and parsing.
type Options struct {
	// Known says whether a metric name is exported by someone; nil skips
	// the metric-existence check.
	Known *Known
	// Query runs a MetricsQL instant query; nil skips the data check.
	Query func(ctx context.Context, expr string) (series.Vector, error)
	// ParseLogQL parses a LogQL query; nil skips the LogQL check.
	ParseLogQL func(expr string) error
}

// Check runs the checks on b and returns every problem found.
func Check(ctx context.Context, b *Board, o Options) []Problem {
	var out []Problem
	add := func(p Panel, t *Target, format string, args ...any) {
		out = append(out, Problem{Board: b.Path, Where: p.Where(t), Msg: fmt.Sprintf(format, args...)})
	}
	for _, p := range b.Panels {
		for i := range p.Targets {
			t := &p.Targets[i]
			expr, err := b.Resolve(t.Expr)
			if err != nil {
				add(p, t, "%v", err)
				continue
			}
			switch t.Kind {
			case "logql":
				if o.ParseLogQL != nil {
					if err := o.ParseLogQL(expr); err != nil {
						add(p, t, "LogQL: %v", err)
					}
				}
				continue
			}
			if err := mqlengine.Check(expr); err != nil {
				add(p, t, "%v", err)
				continue
			}
			if o.Known != nil {
				names, err := MetricNames(expr)
				if err != nil {
					add(p, t, "%v", err)
				}
				for _, n := range names {
					if !o.Known.Has(n) {
						hint := o.Known.Suggest(n) // " (did you mean x?)" or ""
						add(p, t, "metric %s is not exported by hlexporter, hlalert, a recording rule or a declared third-party exporter%s", n, hint)
					}
				}
			}
			if o.Query != nil {
				v, err := o.Query(ctx, expr)
				switch {
				case err != nil:
					add(p, t, "query: %v", err)
				case len(v) == 0 && p.NoValue == "":
					add(p, t, "returns no data")
				}
			}
		}
	}
	return out
}

// MetricNames returns the metric names expr selects, sorted. Unlike
// knownmetrics.MetricNames (which rules use, and which skips them), a
// selector without a plain name (a regexp on __name__) is an error here: a
// panel reading it cannot be proven to show anything.
func MetricNames(expr string) ([]string, error) {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	seen := map[string]bool{}
	var bad error
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		me, ok := x.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		for _, lfs := range me.LabelFilterss {
			name := ""
			for _, lf := range lfs {
				if lf.Label == "__name__" {
					if lf.IsRegexp || lf.IsNegative {
						bad = fmt.Errorf("selector %s picks metrics by a pattern; name them", me.AppendString(nil))
					} else {
						name = lf.Value
					}
				}
			}
			if name == "" && bad == nil {
				bad = fmt.Errorf("selector %s names no metric", me.AppendString(nil))
			}
			if name != "" {
				seen[name] = true
			}
		}
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, bad
}

// Value is one series' current value in a panel query's result.
type Value struct {
	Labels series.Labels
	V      float64
}

// Values runs every MetricsQL target of p and returns its values.
func Values(ctx context.Context, b *Board, p Panel, query func(ctx context.Context, expr string) (series.Vector, error)) ([]Value, error) {
	var out []Value
	for _, t := range p.Targets {
		if t.Kind != "metricsql" {
			continue
		}
		expr, err := b.Resolve(t.Expr)
		if err != nil {
			return nil, err
		}
		v, err := query(ctx, expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Where(&t), err)
		}
		for _, s := range v {
			out = append(out, Value{Labels: s.Labels, V: s.V})
		}
	}
	return out, nil
}

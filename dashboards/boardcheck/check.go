package boardcheck

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/series"
)

// Query runs a MetricsQL instant query.
type Query func(ctx context.Context, expr string) (series.Vector, error)

// LogQuery runs a LogQL instant query as Loki's /loki/api/v1/query
// answers it: samples for a metric query, lines for a log query
// (lqlengine.Engine.Query at the check's time).
type LogQuery func(ctx context.Context, expr string) (lqlengine.Result, error)

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
	Query Query
	// ParseLogQL parses a LogQL query; nil skips the LogQL check.
	ParseLogQL func(expr string) error
	// QueryLogQL runs a LogQL query over the log streams the boards are
	// checked against; nil skips the LogQL data checks: a metric query
	// must return samples, carrying every label it groups by (by (...)),
	// and a log query lines.
	QueryLogQL LogQuery
	// LogLabels are the label names of those log streams; when set, a
	// stream selector matching on another label is reported.
	LogLabels []string
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
						continue
					}
				}
				for _, msg := range checkLogQL(ctx, expr, p, o) {
					add(p, t, "LogQL: %s", msg)
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

// checkLogQL runs the data checks of one LogQL target (variables
// resolved) and returns what is wrong.
func checkLogQL(ctx context.Context, expr string, p Panel, o Options) []string {
	if o.LogLabels == nil && o.QueryLogQL == nil {
		return nil
	}
	var out []string
	ex, err := lqlengine.Parse(expr)
	if err != nil {
		return []string{err.Error()}
	}
	if o.LogLabels != nil {
		seen := map[string]bool{}
		lqlengine.Walk(ex, func(x lqlengine.Expr) {
			le, ok := x.(*lqlengine.LogExpr)
			if !ok {
				return
			}
			for _, m := range le.Matchers {
				if !seen[m.Name] && !slices.Contains(o.LogLabels, m.Name) {
					seen[m.Name] = true
					out = append(out, fmt.Sprintf("stream selector label %s is on none of the log streams (their labels: %s)", m.Name, strings.Join(o.LogLabels, ", ")))
				}
			}
		})
	}
	if o.QueryLogQL == nil {
		return out
	}
	res, err := o.QueryLogQL(ctx, expr)
	switch {
	case err != nil:
		return append(out, fmt.Sprintf("query: %v", err))
	case res.IsLog:
		if lineCount(res.Streams) == 0 && p.NoValue == "" {
			out = append(out, "returns no log lines")
		}
		return out
	case len(res.Vector) == 0:
		if p.NoValue == "" {
			out = append(out, "returns no data")
		}
		return out
	}
	for _, l := range groupedBy(ex) {
		if !slices.ContainsFunc(res.Vector, func(s series.Point) bool { return s.Labels.Get(l) != "" }) {
			out = append(out, fmt.Sprintf("groups by %s, which none of its %d series carries: no stream label or parser gives it", l, len(res.Vector)))
		}
	}
	return out
}

// groupedBy returns the labels of the by (...) of e's outermost
// aggregation: the labels every series of its result is meant to carry.
func groupedBy(e lqlengine.Expr) []string {
	var g *lqlengine.Grouping
	switch x := e.(type) {
	case *lqlengine.VectorAggr:
		g = x.Grouping
	case *lqlengine.RangeAggr:
		g = x.Grouping
	}
	if g == nil || g.Without {
		return nil
	}
	return g.Labels
}

func lineCount(streams []logstream.Stream) int {
	n := 0
	for _, s := range streams {
		n += len(s.Entries)
	}
	return n
}

// Value is one series' current value in a panel query's result; for a
// LogQL log query, one stream: its lines (newest first) and their number.
type Value struct {
	Labels series.Labels
	V      float64
	Lines  []logstream.Entry
}

// Values runs every target of p and returns its values: MetricsQL targets
// through query, LogQL ones through logQuery (nil: they are left out).
func Values(ctx context.Context, b *Board, p Panel, query Query, logQuery LogQuery) ([]Value, error) {
	var out []Value
	for _, t := range p.Targets {
		if t.Kind == "logql" && logQuery == nil {
			continue
		}
		expr, err := b.Resolve(t.Expr)
		if err != nil {
			return nil, err
		}
		if t.Kind == "logql" {
			res, err := logQuery(ctx, expr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.Where(&t), err)
			}
			for _, s := range res.Streams {
				out = append(out, Value{Labels: s.Labels, V: float64(len(s.Entries)), Lines: s.Entries})
			}
			for _, s := range res.Vector {
				out = append(out, Value{Labels: s.Labels, V: s.V})
			}
			continue
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

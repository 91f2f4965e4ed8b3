package mqlengine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/series"
)

var nan = math.NaN()

// timeseries is one series evaluated over the shared timestamps of an
// evalConfig: values[i] belongs to timestamps[i], NaN meaning "no value".
type timeseries struct {
	labels series.Labels // sorted, __name__ included when present
	values []float64
}

// evalConfig is the time range of one evaluation, as VictoriaMetrics'
// EvalConfig: points at start, start+step, ... end.
type evalConfig struct {
	ctx        context.Context
	e          *Engine
	start, end int64
	step       int64
	// lookbackDelta is -search.maxStalenessInterval in ms (0 = automatic).
	lookbackDelta int64
	// minStaleness is -search.minStalenessInterval in ms (0 = none).
	minStaleness int64
	maxPoints    int
	timestamps   []int64
}

func (ec *evalConfig) withRange(start, end, step int64) (*evalConfig, error) {
	n := ec.copy()
	n.start, n.end, n.step = start, end, step
	n.timestamps = nil
	if step <= 0 {
		return nil, fmt.Errorf("step must be positive, got %dms", step)
	}
	if start > end {
		return nil, fmt.Errorf("start %d exceeds end %d", start, end)
	}
	if pts := (end-start)/step + 1; pts > int64(n.maxPoints) {
		return nil, fmt.Errorf("too many points (%d) for start=%d end=%d step=%d; the limit is %d", pts, start, end, step, n.maxPoints)
	}
	return n, nil
}

func (ec *evalConfig) copy() *evalConfig {
	n := *ec
	return &n
}

func (ec *evalConfig) getTimestamps() []int64 {
	if ec.timestamps == nil {
		n := 1 + (ec.end-ec.start)/ec.step
		ts := make([]int64, n)
		t := ec.start
		for i := range ts {
			ts[i] = t
			t += ec.step
		}
		ec.timestamps = ts
	}
	return ec.timestamps
}

func (ec *evalConfig) points() int { return len(ec.getTimestamps()) }

func (e *Engine) query(ctx context.Context, ex metricsql.Expr, ts, step int64) (series.Vector, error) {
	if re, ok := ex.(*metricsql.RollupExpr); ok && re.Window != nil {
		return nil, unsupported("range vector result (a top-level [window] or subquery)")
	}
	ec := &evalConfig{
		ctx:           ctx,
		e:             e,
		start:         ts,
		end:           ts,
		step:          step,
		lookbackDelta: e.opts.MaxStalenessInterval.Milliseconds(),
		minStaleness:  e.opts.MinStalenessInterval.Milliseconds(),
		maxPoints:     e.opts.MaxPointsSubquery,
	}
	tss, err := evalExpr(ec, ex)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("query interrupted: %w", err)
	}
	out := make(series.Vector, 0, len(tss))
	seen := make(map[string]struct{}, len(tss))
	for _, t := range tss {
		v := t.values[0]
		if math.IsNaN(v) {
			continue
		}
		k := t.labels.Key()
		if _, dup := seen[k]; dup {
			return nil, fmt.Errorf("duplicate output timeseries: %s", t.labels)
		}
		seen[k] = struct{}{}
		out = append(out, series.Point{Labels: t.labels, T: ts, V: v})
	}
	out.Sort()
	return out, nil
}

// prepare applies VictoriaMetrics' parse-time rewrites: metricsql.Optimize
// (label filter push-down) and `num cmp query` -> `query reverse-cmp num`.
func prepare(e metricsql.Expr) metricsql.Expr {
	e = metricsql.Optimize(e)
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		be, ok := x.(*metricsql.BinaryOpExpr)
		if !ok || !metricsql.IsBinaryOpCmp(be.Op) {
			return
		}
		if isNumberExpr(be.Right) || !isScalarExpr(be.Left) {
			return
		}
		be.Left, be.Right = be.Right, be.Left
		be.Op = reverseCmpOp(be.Op)
	})
	return e
}

func isNumberExpr(e metricsql.Expr) bool {
	_, ok := e.(*metricsql.NumberExpr)
	return ok
}

func isScalarExpr(e metricsql.Expr) bool {
	if isNumberExpr(e) {
		return true
	}
	if fe, ok := e.(*metricsql.FuncExpr); ok {
		return strings.ToLower(fe.Name) == "time"
	}
	return false
}

func reverseCmpOp(op string) string {
	switch op {
	case ">":
		return "<"
	case "<":
		return ">"
	case ">=":
		return "<="
	case "<=":
		return ">="
	}
	return op // == and != are symmetric
}

func evalExpr(ec *evalConfig, e metricsql.Expr) ([]*timeseries, error) {
	if err := ec.ctx.Err(); err != nil {
		return nil, err
	}
	switch x := e.(type) {
	case *metricsql.MetricExpr:
		return evalRollup(ec, "default_rollup", nil, e, &metricsql.RollupExpr{Expr: x})
	case *metricsql.RollupExpr:
		return evalRollup(ec, "default_rollup", nil, e, x)
	case *metricsql.FuncExpr:
		name := strings.ToLower(x.Name)
		if _, ok := rollupFuncs[name]; ok {
			return evalRollupFuncExpr(ec, x)
		}
		return evalTransform(ec, x)
	case *metricsql.AggrFuncExpr:
		return evalAggr(ec, x)
	case *metricsql.BinaryOpExpr:
		return evalBinaryOp(ec, x)
	case *metricsql.NumberExpr:
		return evalNumber(ec, x.N), nil
	case *metricsql.StringExpr:
		return evalString(ec, x.S), nil
	case *metricsql.DurationExpr:
		return evalNumber(ec, float64(x.Duration(ec.step))/1000), nil
	}
	return nil, unsupported(fmt.Sprintf("expression %s", e.AppendString(nil)))
}

func evalNumber(ec *evalConfig, n float64) []*timeseries {
	vs := make([]float64, ec.points())
	for i := range vs {
		vs[i] = n
	}
	return []*timeseries{{values: vs}}
}

func evalString(ec *evalConfig, s string) []*timeseries {
	rv := evalNumber(ec, nan)
	if s != "" {
		rv[0].labels = series.Labels{{Name: series.MetricName, Value: s}}
	}
	return rv
}

// Label helpers. Label sets are always kept sorted and without empty values.

func setLabel(ls series.Labels, name, value string) series.Labels {
	out := make(series.Labels, 0, len(ls)+1)
	done := false
	for _, l := range ls {
		if l.Name == name {
			if value != "" {
				out = append(out, series.Label{Name: name, Value: value})
			}
			done = true
			continue
		}
		if !done && l.Name > name {
			if value != "" {
				out = append(out, series.Label{Name: name, Value: value})
			}
			done = true
		}
		out = append(out, l)
	}
	if !done && value != "" {
		out = append(out, series.Label{Name: name, Value: value})
	}
	return out
}

func delLabels(ls series.Labels, names ...string) series.Labels {
	out := make(series.Labels, 0, len(ls))
	for _, l := range ls {
		if !slices.Contains(names, l.Name) {
			out = append(out, l)
		}
	}
	return out
}

func keepLabels(ls series.Labels, names ...string) series.Labels {
	out := make(series.Labels, 0, len(names))
	for _, l := range ls {
		if slices.Contains(names, l.Name) {
			out = append(out, l)
		}
	}
	return out
}

func dropName(ls series.Labels) series.Labels {
	if !ls.Has(series.MetricName) {
		return ls
	}
	return delLabels(ls, series.MetricName)
}

func getScalarArg(tss []*timeseries, argNum int) ([]float64, error) {
	if len(tss) != 1 {
		return nil, fmt.Errorf("arg #%d must be a scalar", argNum+1)
	}
	return tss[0].values, nil
}

func getStringArg(tss []*timeseries, argNum int) (string, error) {
	if len(tss) != 1 {
		return "", fmt.Errorf("arg #%d must be a string", argNum+1)
	}
	for _, v := range tss[0].values {
		if !math.IsNaN(v) {
			return "", fmt.Errorf("arg #%d must be a string", argNum+1)
		}
	}
	return tss[0].labels.Get(series.MetricName), nil
}

func copyTimeseries(ts *timeseries) *timeseries {
	return &timeseries{labels: ts.labels, values: slices.Clone(ts.values)}
}

func errArgs(got, want int) error {
	return fmt.Errorf("unexpected number of args; got %d; want %d", got, want)
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

package mqlengine

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/series"
)

// Aggregate functions follow VictoriaMetrics v1.150.0
// app/vmselect/promql/aggr.go.

type aggrFunc func(ec *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error)

var aggrFuncs = map[string]aggrFunc{
	"any":          aggrAny,
	"avg":          simpleAggr(aggrAvg),
	"bottomk":      topK(true),
	"count":        simpleAggr(aggrCount),
	"count_values": aggrCountValues,
	"distinct":     simpleAggr(aggrDistinct),
	"geomean":      simpleAggr(aggrGeomean),
	"group":        simpleAggr(aggrGroup),
	"mad":          simpleAggr(aggrMAD),
	"max":          simpleAggr(aggrMax),
	"median":       aggrMedian,
	"min":          simpleAggr(aggrMin),
	"quantile":     aggrQuantile,
	"share":        aggrShare,
	"stddev":       simpleAggr(aggrStddev),
	"stdvar":       simpleAggr(aggrStdvar),
	"sum":          simpleAggr(aggrSum),
	"sum2":         simpleAggr(aggrSum2),
	"topk":         topK(false),
	"zscore":       aggrZScore,
}

// unsupportedAggrFuncs are VictoriaMetrics aggregates the engine rejects.
var unsupportedAggrFuncs []string

func evalAggr(ec *evalConfig, ae *metricsql.AggrFuncExpr) ([]*timeseries, error) {
	name := strings.ToLower(ae.Name)
	af := aggrFuncs[name]
	if af == nil {
		return nil, unsupported(ae.Name)
	}
	args := make([][]*timeseries, len(ae.Args))
	for i, a := range ae.Args {
		tss, err := evalExpr(ec, a)
		if err != nil {
			return nil, err
		}
		args[i] = tss
	}
	rv, err := af(ec, ae, args)
	if err != nil {
		return nil, fmt.Errorf("cannot evaluate %q: %w", ae.AppendString(nil), err)
	}
	return rv, nil
}

func removeGroupTags(ls series.Labels, m *metricsql.ModifierExpr) series.Labels {
	switch strings.ToLower(m.Op) {
	case "without":
		return dropName(applyGroup(ls, "ignoring", m.Args))
	default:
		return keepLabels(ls, m.Args...)
	}
}

// groupSeries splits tss (empty series dropped) into groups by the
// modifier, in first-seen order, keeping at most limit groups (0 = all).
// With keepOriginal the series keep their labels; otherwise they carry the
// group's labels.
func groupSeries(tss []*timeseries, m *metricsql.ModifierExpr, limit int, keepOriginal bool) [][]*timeseries {
	tss = removeEmptySeries(tss)
	idx := map[string]int{}
	var groups [][]*timeseries
	for _, t := range tss {
		ls := removeGroupTags(t.labels, m)
		k := ls.Key()
		if !keepOriginal {
			t = &timeseries{labels: ls, values: t.values}
		}
		i, ok := idx[k]
		if !ok {
			if limit > 0 && len(groups) >= limit {
				continue
			}
			i = len(groups)
			idx[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], t)
	}
	return groups
}

func concatArgs(args [][]*timeseries) ([]*timeseries, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("expecting at least one arg")
	}
	var tss []*timeseries
	for _, a := range args {
		tss = append(tss, a...)
	}
	return tss, nil
}

func simpleAggr(f func(tss []*timeseries) []*timeseries) aggrFunc {
	return func(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		tss, err := concatArgs(args)
		if err != nil {
			return nil, err
		}
		var rvs []*timeseries
		for _, g := range groupSeries(tss, &ae.Modifier, ae.Limit, false) {
			rvs = append(rvs, f(g)...)
		}
		return rvs, nil
	}
}

// reduce writes f over the non-NaN values at each point into a fresh
// series labelled as tss[0].
func reduce(tss []*timeseries, f func(vs []float64) float64) []*timeseries {
	dst := &timeseries{labels: tss[0].labels, values: make([]float64, len(tss[0].values))}
	vs := make([]float64, 0, len(tss))
	for i := range dst.values {
		vs = vs[:0]
		for _, t := range tss {
			if v := t.values[i]; !math.IsNaN(v) {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			dst.values[i] = nan
			continue
		}
		dst.values[i] = f(vs)
	}
	return []*timeseries{dst}
}

func aggrSum(tss []*timeseries) []*timeseries {
	return reduce(tss, func(vs []float64) float64 {
		var s float64
		for _, v := range vs {
			s += v
		}
		return s
	})
}

func aggrSum2(tss []*timeseries) []*timeseries {
	return reduce(tss, func(vs []float64) float64 {
		var s float64
		for _, v := range vs {
			s += v * v
		}
		return s
	})
}

func aggrGeomean(tss []*timeseries) []*timeseries {
	if len(tss) == 1 {
		return tss
	}
	return reduce(tss, func(vs []float64) float64 {
		p := 1.0
		for _, v := range vs {
			p *= v
		}
		return math.Pow(p, 1/float64(len(vs)))
	})
}

func aggrAvg(tss []*timeseries) []*timeseries {
	return reduce(tss, func(vs []float64) float64 {
		var s float64
		for _, v := range vs {
			s += v
		}
		return s / float64(len(vs))
	})
}

func aggrMin(tss []*timeseries) []*timeseries {
	return reduce(tss, func(vs []float64) float64 { return slices.Min(vs) })
}

func aggrMax(tss []*timeseries) []*timeseries {
	return reduce(tss, func(vs []float64) float64 { return slices.Max(vs) })
}

func aggrCount(tss []*timeseries) []*timeseries {
	return reduce(tss, func(vs []float64) float64 { return float64(len(vs)) })
}

func aggrGroup(tss []*timeseries) []*timeseries {
	return reduce(tss, func([]float64) float64 { return 1 })
}

func aggrDistinct(tss []*timeseries) []*timeseries {
	return reduce(tss, func(vs []float64) float64 {
		m := map[float64]struct{}{}
		for _, v := range vs {
			m[v] = struct{}{}
		}
		return float64(len(m))
	})
}

func aggrStdvar(tss []*timeseries) []*timeseries {
	if len(tss) == 1 {
		return reduce(tss, func([]float64) float64 { return 0 })
	}
	return reduce(tss, stdvarNoNaN)
}

func aggrStddev(tss []*timeseries) []*timeseries {
	if len(tss) == 1 {
		return reduce(tss, func([]float64) float64 { return 0 })
	}
	return reduce(tss, func(vs []float64) float64 { return math.Sqrt(stdvarNoNaN(vs)) })
}

// stdvarNoNaN is Welford's variance as VictoriaMetrics computes it.
func stdvarNoNaN(vs []float64) float64 {
	var avg, count, q float64
	for _, v := range vs {
		count++
		avgNew := avg + (v-avg)/count
		q += (v - avg) * (v - avgNew)
		avg = avgNew
	}
	return q / count
}

func aggrMAD(tss []*timeseries) []*timeseries {
	return reduce(tss, mad)
}

func aggrAny(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	tss, err := concatArgs(args)
	if err != nil {
		return nil, err
	}
	limit := min(ae.Limit, 1)
	var rvs []*timeseries
	for _, g := range groupSeries(tss, &ae.Modifier, limit, true) {
		rvs = append(rvs, g[0])
	}
	return rvs, nil
}

func quantileAggr(phis []float64) func(tss []*timeseries) []*timeseries {
	return func(tss []*timeseries) []*timeseries {
		dst := &timeseries{labels: tss[0].labels, values: make([]float64, len(tss[0].values))}
		vs := make([]float64, 0, len(tss))
		for i := range dst.values {
			vs = vs[:0]
			for _, t := range tss {
				vs = append(vs, t.values[i])
			}
			dst.values[i] = quantile(phis[i], vs)
		}
		return []*timeseries{dst}
	}
}

func aggrQuantile(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) != 2 {
		return nil, errArgs(len(args), 2)
	}
	phis, err := getScalarArg(args[0], 0)
	if err != nil {
		return nil, err
	}
	f := quantileAggr(phis)
	var rvs []*timeseries
	for _, g := range groupSeries(args[1], &ae.Modifier, ae.Limit, false) {
		rvs = append(rvs, f(g)...)
	}
	return rvs, nil
}

func aggrMedian(ec *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	tss, err := concatArgs(args)
	if err != nil {
		return nil, err
	}
	f := quantileAggr(evalNumber(ec, 0.5)[0].values)
	var rvs []*timeseries
	for _, g := range groupSeries(tss, &ae.Modifier, ae.Limit, false) {
		rvs = append(rvs, f(g)...)
	}
	return rvs, nil
}

func aggrShare(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	tss, err := concatArgs(args)
	if err != nil {
		return nil, err
	}
	var rvs []*timeseries
	for _, g := range groupSeries(tss, &ae.Modifier, ae.Limit, true) {
		for i := range g[0].values {
			var sum float64
			for _, t := range g {
				if v := t.values[i]; !math.IsNaN(v) && v >= 0 {
					sum += v
				}
			}
			for _, t := range g {
				if v := t.values[i]; math.IsNaN(v) || v < 0 {
					t.values[i] = nan
				} else {
					t.values[i] = v / sum
				}
			}
		}
		rvs = append(rvs, g...)
	}
	return rvs, nil
}

func aggrZScore(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	tss, err := concatArgs(args)
	if err != nil {
		return nil, err
	}
	var rvs []*timeseries
	for _, g := range groupSeries(tss, &ae.Modifier, ae.Limit, true) {
		for i := range g[0].values {
			var avg, count, q float64
			for _, t := range g {
				v := t.values[i]
				if math.IsNaN(v) {
					continue
				}
				count++
				avgNew := avg + (v-avg)/count
				q += (v - avg) * (v - avgNew)
				avg = avgNew
			}
			if count == 0 {
				continue
			}
			sd := math.Sqrt(q / count)
			for _, t := range g {
				if v := t.values[i]; !math.IsNaN(v) {
					t.values[i] = (v - avg) / sd
				}
			}
		}
		rvs = append(rvs, g...)
	}
	return rvs, nil
}

func aggrCountValues(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) != 2 {
		return nil, errArgs(len(args), 2)
	}
	dstLabel, err := getStringArg(args[0], 0)
	if err != nil {
		return nil, err
	}
	mod := metricsql.ModifierExpr{Op: ae.Modifier.Op, Args: slices.Clone(ae.Modifier.Args)}
	switch strings.ToLower(mod.Op) {
	case "without":
		mod.Args = append(mod.Args, dstLabel)
	case "by":
		mod.Args = slices.DeleteFunc(mod.Args, func(s string) bool { return s == dstLabel })
	}
	var rvs []*timeseries
	for _, g := range groupSeries(args[1], &mod, ae.Limit, false) {
		m := map[float64]*timeseries{}
		var order []float64
		for _, t := range g {
			for i, v := range t.values {
				if math.IsNaN(v) {
					continue
				}
				dst := m[v]
				if dst == nil {
					dst = &timeseries{
						labels: setLabel(g[0].labels, dstLabel, strconv.FormatFloat(v, 'f', -1, 64)),
						values: make([]float64, len(t.values)),
					}
					for j := range dst.values {
						dst.values[j] = nan
					}
					m[v] = dst
					order = append(order, v)
				}
				if math.IsNaN(dst.values[i]) {
					dst.values[i] = 1
				} else {
					dst.values[i]++
				}
			}
		}
		for _, v := range order {
			rvs = append(rvs, m[v])
		}
	}
	return rvs, nil
}

func lessWithNaNs(a, b float64) bool {
	if math.IsNaN(a) {
		return !math.IsNaN(b)
	}
	if math.IsNaN(b) {
		return false
	}
	return a < b
}

func greaterWithNaNs(a, b float64) bool {
	if math.IsNaN(a) {
		return !math.IsNaN(b)
	}
	if math.IsNaN(b) {
		return false
	}
	return a > b
}

func intK(k float64, maxV int) int {
	if math.IsNaN(k) {
		return 0
	}
	var kn int
	switch {
	case k > math.MaxInt:
		kn = math.MaxInt
	case k < math.MinInt:
		kn = math.MinInt
	default:
		kn = int(k)
	}
	if kn < 0 {
		return 0
	}
	return min(kn, maxV)
}

func topK(reverse bool) aggrFunc {
	return func(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if len(args) != 2 {
			return nil, errArgs(len(args), 2)
		}
		ks, err := getScalarArg(args[0], 0)
		if err != nil {
			return nil, err
		}
		less := lessWithNaNs
		if reverse {
			less = greaterWithNaNs
		}
		var rvs []*timeseries
		for _, g := range groupSeries(args[1], &ae.Modifier, ae.Limit, true) {
			for n := range g[0].values {
				// Stable sort over label-sorted input: ties keep label order.
				sort.SliceStable(g, func(i, j int) bool { return less(g[i].values[n], g[j].values[n]) })
				kn := intK(ks[n], len(g))
				for _, t := range g[:len(g)-kn] {
					t.values[n] = nan
				}
			}
			rvs = append(rvs, removeEmptySeries(g)...)
		}
		return rvs, nil
	}
}

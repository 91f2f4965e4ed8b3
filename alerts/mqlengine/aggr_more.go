package mqlengine

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/series"
)

// Outlier aggregates, quantiles() and label_graphite_group(), following
// VictoriaMetrics v1.150.0 aggr.go and transform.go.

func registerOutlierFuncs() {
	aggrFuncs["outliersk"] = aggrOutliersK
	aggrFuncs["outliers_mad"] = aggrOutliersMAD
	aggrFuncs["outliers_iqr"] = aggrOutliersIQR
	aggrFuncs["quantiles"] = aggrQuantiles
	transformFuncs["label_graphite_group"] = transformLabelGraphiteGroup
}

func perPointMedians(tss []*timeseries) []float64 {
	medians := make([]float64, len(tss[0].values))
	for n := range medians {
		var vs []float64
		for _, t := range tss {
			if v := t.values[n]; !math.IsNaN(v) {
				vs = append(vs, v)
			}
		}
		medians[n] = quantile(0.5, vs)
	}
	return medians
}

func aggrOutliersK(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) != 2 {
		return nil, errArgs(len(args), 2)
	}
	ks, err := getScalarArg(args[0], 0)
	if err != nil {
		return nil, err
	}
	var rvs []*timeseries
	for _, g := range groupSeries(args[1], &ae.Modifier, ae.Limit, true) {
		medians := perPointMedians(g)
		score := func(vs []float64) float64 {
			var s float64
			for n, v := range vs {
				d := v - medians[n]
				s += d * d
			}
			return s
		}
		rvs = append(rvs, rangeTopKGroup(g, ks, score, lessWithNaNs)...)
	}
	return rvs, nil
}

// rangeTopKGroup keeps, at each point i, the ks[i] series of g with the
// greatest score (by less) and drops series left empty.
func rangeTopKGroup(g []*timeseries, ks []float64, score func([]float64) float64, less func(a, b float64) bool) []*timeseries {
	vals := make(map[*timeseries]float64, len(g))
	for _, t := range g {
		vals[t] = score(t.values)
	}
	sort.SliceStable(g, func(i, j int) bool { return less(vals[g[i]], vals[g[j]]) })
	for i, k := range ks {
		for _, t := range g[:len(g)-intK(k, len(g))] {
			t.values[i] = nan
		}
	}
	return removeEmptySeries(g)
}

func aggrOutliersMAD(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) != 2 {
		return nil, errArgs(len(args), 2)
	}
	tolerances, err := getScalarArg(args[0], 0)
	if err != nil {
		return nil, err
	}
	var rvs []*timeseries
	for _, g := range groupSeries(args[1], &ae.Modifier, ae.Limit, true) {
		medians := perPointMedians(g)
		mads := make([]float64, len(medians))
		for n, m := range medians {
			var ds []float64
			for _, t := range g {
				if v := t.values[n]; !math.IsNaN(v) {
					ds = append(ds, math.Abs(v-m))
				}
			}
			mads[n] = quantile(0.5, ds) * tolerances[n]
		}
		for _, t := range g {
			for n, v := range t.values {
				if math.Abs(v-medians[n]) > mads[n] {
					rvs = append(rvs, t)
					break
				}
			}
		}
	}
	return rvs, nil
}

func aggrOutliersIQR(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) != 1 {
		return nil, errArgs(len(args), 1)
	}
	var rvs []*timeseries
	for _, g := range groupSeries(args[0], &ae.Modifier, ae.Limit, true) {
		n := len(g[0].values)
		lower, upper := make([]float64, n), make([]float64, n)
		for i := range n {
			var vs []float64
			for _, t := range g {
				if v := t.values[i]; !math.IsNaN(v) {
					vs = append(vs, v)
				}
			}
			q25, q75 := quantile(0.25, vs), quantile(0.75, vs)
			iqr := 1.5 * (q75 - q25)
			lower[i], upper[i] = q25-iqr, q75+iqr
		}
		for _, t := range g {
			for i, v := range t.values {
				if v > upper[i] || v < lower[i] {
					rvs = append(rvs, t)
					break
				}
			}
		}
	}
	return rvs, nil
}

func aggrQuantiles(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) < 3 {
		return nil, fmt.Errorf("unexpected number of args: %d; expecting at least 3 args", len(args))
	}
	dstLabel, err := getStringArg(args[0], 0)
	if err != nil {
		return nil, fmt.Errorf("cannot obtain dstLabel: %w", err)
	}
	phiArgs := args[1 : len(args)-1]
	phis := make([]float64, len(phiArgs))
	for i, a := range phiArgs {
		vs, err := getScalarArg(a, i+1)
		if err != nil {
			return nil, err
		}
		phis[i] = vs[0]
	}
	var rvs []*timeseries
	for _, g := range groupSeries(args[len(args)-1], &ae.Modifier, ae.Limit, false) {
		dst := make([]*timeseries, len(phis))
		for j, phi := range phis {
			dst[j] = &timeseries{labels: setLabel(g[0].labels, dstLabel, fmt.Sprintf("%g", phi)), values: make([]float64, len(g[0].values))}
		}
		for n := range g[0].values {
			vs := make([]float64, 0, len(g))
			for _, t := range g {
				vs = append(vs, t.values[n])
			}
			for j, phi := range phis {
				dst[j].values[n] = quantile(phi, vs)
			}
		}
		rvs = append(rvs, dst...)
	}
	return rvs, nil
}

func transformLabelGraphiteGroup(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("unexpected number of args: %d; want at least 2 args", len(args))
	}
	ids := make([]int, len(args)-1)
	for i, a := range args[1:] {
		vs, err := getScalarArg(a, i+1)
		if err != nil {
			return nil, fmt.Errorf("cannot get group name from arg #%d: %w", i+1, err)
		}
		if len(vs) > 0 {
			ids[i] = intBounded(vs[0])
		}
	}
	for _, t := range args[0] {
		groups := strings.Split(t.labels.Get(series.MetricName), ".")
		var b strings.Builder
		for j, id := range ids {
			if id >= 0 && id < len(groups) {
				b.WriteString(groups[id])
			}
			if j < len(ids)-1 {
				b.WriteByte('.')
			}
		}
		t.labels = setLabel(t.labels, series.MetricName, b.String())
	}
	return args[0], nil
}

func intBounded(f float64) int {
	switch {
	case f > math.MaxInt:
		return math.MaxInt
	case f < math.MinInt:
		return math.MinInt
	}
	return int(f)
}

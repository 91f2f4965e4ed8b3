package mqlengine

import (
	"fmt"
	"math"
	"strconv"

	"github.com/VictoriaMetrics/metricsql"
)

// The rollup functions that compute several tagged rollups at once
// (rollup, rollup_rate, ..., rollup_candlestick, aggr_over_time) or emit
// several series per input (quantiles_over_time, count_values_over_time),
// following VictoriaMetrics v1.150.0 getRollupConfigs.

func init() {
	for _, name := range []string{"rollup", "rollup_rate", "rollup_deriv", "rollup_increase", "rollup_delta",
		"rollup_scrape_interval", "rollup_candlestick"} {
		rollupFuncs[name] = argsBetween(1, 2)
		needSilenceInterval[name] = true
	}
	rollupFuncs["aggr_over_time"] = argsBetween(2, 2)
	rollupFuncs["quantiles_over_time"] = argsBetween(3, math.MaxInt)
	rollupFuncs["count_values_over_time"] = argsBetween(2, 2)
	for _, name := range []string{"rollup", "rollup_candlestick", "quantiles_over_time"} {
		rollupKeepsName[name] = true
	}
	for _, name := range []string{"rollup", "rollup_candlestick", "rollup_deriv", "rollup_rate", "rollup_scrape_interval"} {
		rollupCanAdjustWindow[name] = true
	}
	rollupRemovesCounterResets["rollup_increase"] = true
	rollupRemovesCounterResets["rollup_rate"] = true
	needSilenceInterval["scrape_interval"] = true
}

// argsBetween only checks the number of args; newRollupSpec builds these
// functions.
func argsBetween(lo, hi int) newRollupFunc {
	return func(args [][]*timeseries) (rollupFunc, error) {
		if len(args) < lo || len(args) > hi {
			return nil, fmt.Errorf("unexpected number of args; got %d; want %d...%d", len(args), lo, hi)
		}
		return nil, nil
	}
}

// rollupAggrFuncs are the functions aggr_over_time() accepts.
var rollupAggrFuncs = map[string]rollupFunc{
	"absent_over_time": rollupAbsent, "ascent_over_time": rollupAscentOverTime, "avg_over_time": rollupAvg,
	"changes": rollupChanges, "count_over_time": rollupCount, "decreases_over_time": rollupResets,
	"default_rollup": rollupDefault, "delta": rollupDelta, "deriv": rollupDerivSlow, "deriv_fast": rollupDerivFast,
	"descent_over_time": rollupDescentOverTime, "distinct_over_time": rollupDistinct,
	"first_over_time": rollupFirst, "geomean_over_time": rollupGeomean, "idelta": rollupIdelta,
	"ideriv": rollupIderiv, "increase": rollupDelta, "increase_pure": rollupIncreasePure,
	"increases_over_time": rollupIncreases, "integrate": rollupIntegrate, "irate": rollupIderiv,
	"iqr_over_time": rollupOutlierIQR, "lag": rollupLag, "last_over_time": rollupDefault,
	"lifetime": rollupLifetime, "mad_over_time": func(rfa *rollupFuncArg) float64 { return mad(rfa.values) },
	"max_over_time": rollupMax, "median_over_time": func(rfa *rollupFuncArg) float64 { return quantile(0.5, rfa.values) },
	"min_over_time": rollupMin, "present_over_time": rollupPresent,
	"range_over_time": func(rfa *rollupFuncArg) float64 { return rollupMax(rfa) - rollupMin(rfa) },
	"rate":            rollupDerivFast, "rate_over_sum": rollupRateOverSum, "resets": rollupResets,
	"scrape_interval": rollupScrapeInterval, "stale_samples_over_time": rollupStaleSamples,
	"stddev_over_time": func(rfa *rollupFuncArg) float64 { return math.Sqrt(stdvar(rfa.values)) },
	"stdvar_over_time": func(rfa *rollupFuncArg) float64 { return stdvar(rfa.values) },
	"sum_over_time":    rollupSum, "sum2_over_time": rollupSum2, "tfirst_over_time": rollupTfirst,
	"timestamp": rollupTlast, "timestamp_with_name": rollupTlast, "tlast_change_over_time": rollupTlastChange,
	"tlast_over_time": rollupTlast, "tmax_over_time": rollupTmax, "tmin_over_time": rollupTmin,
	"zscore_over_time": rollupZScoreOverTime,
	"mode_over_time": func(rfa *rollupFuncArg) float64 {
		return modeNoNaNs(rfa.prevValue, append([]float64(nil), rfa.values...))
	},
}

func newRollupSpec(name string, fe *metricsql.FuncExpr, args [][]*timeseries) (*rollupSpec, error) {
	rf, err := rollupFuncs[name](args)
	if err != nil {
		return nil, err
	}
	switch name {
	case "rollup", "rollup_rate", "rollup_deriv", "rollup_increase", "rollup_delta", "rollup_scrape_interval":
		spec := singleRollup(name, nil)
		spec.funcs = nil
		tag, err := rollupTag(fe)
		if err != nil {
			return nil, err
		}
		switch tag {
		case "min":
			spec.funcs = []taggedRollup{{rollupMin, ""}}
		case "max":
			spec.funcs = []taggedRollup{{rollupMax, ""}}
		case "avg":
			spec.funcs = []taggedRollup{{rollupAvg, ""}}
		case "":
			spec.funcs = []taggedRollup{{rollupMin, "min"}, {rollupMax, "max"}, {rollupAvg, "avg"}}
		default:
			return nil, fmt.Errorf("unexpected second arg for %s: %q; want `min`, `max` or `avg`", fe.AppendString(nil), tag)
		}
		prev := spec.pre
		var next func(values []float64, timestamps []int64)
		switch name {
		case "rollup_rate", "rollup_deriv":
			next = derivValues
		case "rollup_increase", "rollup_delta":
			next = func(values []float64, _ []int64) { deltaValues(values) }
		case "rollup_scrape_interval":
			next = scrapeIntervalValues
		}
		if next != nil {
			spec.pre = func(values []float64, timestamps []int64, si int64) {
				if prev != nil {
					prev(values, timestamps, si)
				}
				next(values, timestamps)
			}
		}
		return spec, nil
	case "rollup_candlestick":
		tag, err := rollupTag(fe)
		if err != nil {
			return nil, err
		}
		spec := &rollupSpec{}
		all := []taggedRollup{{rollupOpen, "open"}, {rollupClose, "close"}, {rollupLow, "low"}, {rollupHigh, "high"}}
		switch tag {
		case "":
			spec.funcs = all
		case "open", "close", "low", "high":
			for _, tr := range all {
				if tr.tag == tag {
					spec.funcs = []taggedRollup{tr}
				}
			}
		default:
			return nil, fmt.Errorf("unexpected second arg for %s: %q; want `min`, `max` or `avg`", fe.AppendString(nil), tag)
		}
		return spec, nil
	case "aggr_over_time":
		names, err := rollupAggrFuncNames(fe)
		if err != nil {
			return nil, err
		}
		spec := &rollupSpec{}
		for _, n := range names {
			if rollupRemovesCounterResets[n] {
				spec.pre = removeCounterResets
			}
			spec.funcs = append(spec.funcs, taggedRollup{rollupAggrFuncs[n], n})
		}
		return spec, nil
	case "quantiles_over_time":
		return newQuantilesOverTime(args)
	case "count_values_over_time":
		return newCountValuesOverTime(args)
	case "histogram_over_time":
		return newHistogramOverTime(), nil
	}
	return singleRollup(name, rf), nil
}

func rollupTag(fe *metricsql.FuncExpr) (string, error) {
	if len(fe.Args) < 2 {
		return "", nil
	}
	if len(fe.Args) != 2 {
		return "", fmt.Errorf("unexpected number of args; got %d; want 2", len(fe.Args))
	}
	se, ok := fe.Args[1].(*metricsql.StringExpr)
	if !ok {
		return "", fmt.Errorf("unexpected rollup tag type: %s; expecting string", fe.Args[1].AppendString(nil))
	}
	if se.S == "" {
		return "", fmt.Errorf("rollup tag cannot be empty")
	}
	return se.S, nil
}

func rollupAggrFuncNames(fe *metricsql.FuncExpr) ([]string, error) {
	if len(fe.Args) != 2 {
		return nil, fmt.Errorf("unexpected number of args to aggr_over_time(); got %d; want 2", len(fe.Args))
	}
	var names []string
	switch a := fe.Args[0].(type) {
	case *metricsql.StringExpr:
		names = append(names, a.S)
	case *metricsql.FuncExpr:
		if a.Name != "" {
			return nil, fmt.Errorf("%s cannot be passed to aggr_over_time(); expecting quoted aggregate function name or a list of quoted aggregate function names", a.AppendString(nil))
		}
		for _, e := range a.Args {
			se, ok := e.(*metricsql.StringExpr)
			if !ok {
				return nil, fmt.Errorf("%s cannot be passed here; expecting quoted aggregate function name", e.AppendString(nil))
			}
			names = append(names, se.S)
		}
	default:
		return nil, fmt.Errorf("%s cannot be passed to aggr_over_time(); expecting quoted aggregate function name or a list of quoted aggregate function names", a.AppendString(nil))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("aggr_over_time() must contain at least a single aggregate function name")
	}
	for _, n := range names {
		if rollupAggrFuncs[n] == nil {
			return nil, fmt.Errorf("%q cannot be used in `aggr_over_time` function; expecting quoted aggregate function name", n)
		}
	}
	return names, nil
}

func newQuantilesOverTime(args [][]*timeseries) (*rollupSpec, error) {
	phiLabel, err := getStringArg(args[0], 0)
	if err != nil {
		return nil, err
	}
	phiArgs := args[1 : len(args)-1]
	phis := make([]float64, len(phiArgs))
	phiStrs := make([]string, len(phiArgs))
	for i, a := range phiArgs {
		vs, err := getScalarArg(a, i+1)
		if err != nil {
			return nil, fmt.Errorf("cannot obtain phi from arg #%d: %w", i+1, err)
		}
		phis[i] = vs[0]
		phiStrs[i] = fmt.Sprintf("%g", vs[0])
	}
	f := func(rfa *rollupFuncArg) float64 {
		if len(rfa.values) == 0 {
			return nan
		}
		for i, s := range phiStrs {
			rfa.tsm.getOrCreate(phiLabel, s).values[rfa.idx] = quantile(phis[i], rfa.values)
		}
		return nan
	}
	return &rollupSpec{funcs: []taggedRollup{{f: f}}, multi: true}, nil
}

func newCountValuesOverTime(args [][]*timeseries) (*rollupSpec, error) {
	label, err := getStringArg(args[0], 0)
	if err != nil {
		return nil, fmt.Errorf("cannot get labelName: %w", err)
	}
	f := func(rfa *rollupFuncArg) float64 {
		for _, v := range rfa.values {
			t := rfa.tsm.getOrCreate(label, strconv.FormatFloat(v, 'g', -1, 64))
			if math.IsNaN(t.values[rfa.idx]) {
				t.values[rfa.idx] = 1
			} else {
				t.values[rfa.idx]++
			}
		}
		return nan
	}
	return &rollupSpec{funcs: []taggedRollup{{f: f}}, multi: true}, nil
}

func deltaValues(values []float64) {
	if len(values) == 0 {
		return
	}
	prevDelta := 0.0
	prev := values[0]
	for i, v := range values[1:] {
		prevDelta = v - prev
		values[i] = prevDelta
		prev = v
	}
	values[len(values)-1] = prevDelta
}

func derivValues(values []float64, timestamps []int64) {
	if len(values) == 0 {
		return
	}
	prevDeriv := 0.0
	prev, prevTs := values[0], timestamps[0]
	for i, v := range values[1:] {
		ts := timestamps[i+1]
		if ts == prevTs {
			values[i] = prevDeriv
			continue
		}
		prevDeriv = (v - prev) / (float64(ts-prevTs) / 1e3)
		values[i] = prevDeriv
		prev, prevTs = v, ts
	}
	values[len(values)-1] = prevDeriv
}

func scrapeIntervalValues(values []float64, timestamps []int64) {
	prev := nan
	for i, ts := range timestamps {
		secs := float64(ts) / 1000
		values[i] = secs - prev
		prev = secs
	}
	if len(values) > 1 {
		values[0] = values[1]
	}
}

func candlestickValues(rfa *rollupFuncArg) []float64 {
	ts := rfa.timestamps
	for len(ts) > 0 && ts[len(ts)-1] >= rfa.currTimestamp {
		ts = ts[:len(ts)-1]
	}
	if len(ts) == 0 {
		return nil
	}
	return rfa.values[:len(ts)]
}

func candlestickFirst(rfa *rollupFuncArg) float64 {
	if rfa.prevTimestamp+rfa.window >= rfa.currTimestamp {
		return rfa.prevValue
	}
	return nan
}

func rollupOpen(rfa *rollupFuncArg) float64 {
	if v := candlestickFirst(rfa); !math.IsNaN(v) {
		return v
	}
	vs := candlestickValues(rfa)
	if len(vs) == 0 {
		return nan
	}
	return vs[0]
}

func rollupClose(rfa *rollupFuncArg) float64 {
	vs := candlestickValues(rfa)
	if len(vs) == 0 {
		return candlestickFirst(rfa)
	}
	return vs[len(vs)-1]
}

func candlestickExtreme(rfa *rollupFuncArg, better func(a, b float64) bool) float64 {
	vs := candlestickValues(rfa)
	m := candlestickFirst(rfa)
	if math.IsNaN(m) {
		if len(vs) == 0 {
			return nan
		}
		m, vs = vs[0], vs[1:]
	}
	for _, v := range vs {
		if better(v, m) {
			m = v
		}
	}
	return m
}

func rollupHigh(rfa *rollupFuncArg) float64 {
	return candlestickExtreme(rfa, func(a, b float64) bool { return a > b })
}

func rollupLow(rfa *rollupFuncArg) float64 {
	return candlestickExtreme(rfa, func(a, b float64) bool { return a < b })
}

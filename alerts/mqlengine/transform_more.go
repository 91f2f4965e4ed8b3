package mqlengine

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/cespare/xxhash/v2"

	"github.com/hlalert/hlalert/alerts/series"
)

// Less common VictoriaMetrics functions: label_transform, the sort_by_label
// family, range_* and running_*, interpolate, histogram_share and
// histogram_quantiles, limitk, mode and the topk_<f> family.

// registerMoreFuncs adds these functions to the tables; transform.go's
// init calls it once transformFuncs exists.
func registerMoreFuncs() {
	for name, f := range map[string]transformFunc{
		"label_transform":            transformLabelTransform,
		"sort_by_label":              sortByLabelFunc,
		"sort_by_label_desc":         sortByLabelFunc,
		"sort_by_label_numeric":      sortByLabelFunc,
		"sort_by_label_numeric_desc": sortByLabelFunc,
		"running_sum":                runningFunc(runningSum, false),
		"running_max":                runningFunc(math.Max, false),
		"running_min":                runningFunc(math.Min, false),
		"running_avg":                runningFunc(nil, false),
		"range_sum":                  runningFunc(runningSum, true),
		"range_max":                  runningFunc(math.Max, true),
		"range_min":                  runningFunc(math.Min, true),
		"range_avg":                  runningFunc(nil, true),
		"range_first":                transformRangeFirst,
		"range_last":                 transformRangeLast,
		"range_quantile":             transformRangeQuantile,
		"range_stddev":               wholeRangeFunc(func(vs []float64) float64 { return math.Sqrt(stdvar(vs)) }),
		"range_stdvar":               wholeRangeFunc(stdvar),
		"range_mad":                  wholeRangeFunc(mad),
		"range_normalize":            transformRangeNormalize,
		"range_linear_regression":    transformRangeLinearRegression,
		"interpolate":                transformInterpolate,
		"histogram_share":            transformHistogramShare,
		"histogram_quantiles":        transformHistogramQuantiles,
	} {
		transformFuncs[name] = f
	}
	registerOutlierFuncs()
	registerVMRangeFuncs()
	aggrFuncs["limitk"] = aggrLimitK
	aggrFuncs["mode"] = simpleAggr(aggrMode)
	rollupFuncs["mode_over_time"] = oneArg(func(rfa *rollupFuncArg) float64 {
		return modeNoNaNs(rfa.prevValue, slices.Clone(rfa.values))
	})
	for name, f := range map[string]func([]float64) float64{
		"avg": avgValue, "max": maxValue, "median": func(vs []float64) float64 { return quantile(0.5, vs) },
		"last": lastValue, "min": minValue,
	} {
		aggrFuncs["topk_"+name] = rangeTopK(f, false)
		aggrFuncs["bottomk_"+name] = rangeTopK(f, true)
	}
}

func transformLabelTransform(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 4); err != nil {
		return nil, err
	}
	ss, err := stringArgs(args, 1)
	if err != nil {
		return nil, err
	}
	label, regex, repl := ss[0], ss[1], ss[2]
	r, err := metricsql.CompileRegexp(regex)
	if err != nil {
		return nil, fmt.Errorf("cannot compile regex %q: %w", regex, err)
	}
	return replaceLabel(args[0], label, label, r, repl), nil
}

// sortByLabelFunc validates its args and returns the series: the engine's
// result is always sorted by labels, so the requested order is not kept.
func sortByLabelFunc(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("expecting at least 2 args; got %d args", len(args))
	}
	if _, err := stringArgs(args, 1); err != nil {
		return nil, err
	}
	return args[0], nil
}

func runningSum(a, b float64) float64 { return a + b }

func skipLeadingNaNs(vs []float64) []float64 {
	i := 0
	for i < len(vs) && math.IsNaN(vs[i]) {
		i++
	}
	return vs[i:]
}

func skipTrailingNaNs(vs []float64) []float64 {
	i := len(vs) - 1
	for i >= 0 && math.IsNaN(vs[i]) {
		i--
	}
	return vs[:i+1]
}

func setLastValues(tss []*timeseries) {
	for _, t := range tss {
		vs := skipTrailingNaNs(t.values)
		if len(vs) == 0 {
			continue
		}
		last := vs[len(vs)-1]
		for i := range t.values {
			t.values[i] = last
		}
	}
}

// runningFunc is running_<f> (range=false) or range_<f> (range=true); a nil
// f is the running average.
func runningFunc(f func(a, b float64) float64, whole bool) transformFunc {
	return func(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := expectArgs(args, 1); err != nil {
			return nil, err
		}
		for _, t := range args[0] {
			t.labels = dropName(t.labels)
			vs := skipLeadingNaNs(t.values)
			if len(vs) == 0 {
				continue
			}
			prev := vs[0]
			vs = vs[1:]
			for i, v := range vs {
				if !math.IsNaN(v) {
					if f == nil {
						prev = prev + (v-prev)/float64(i+2)
					} else {
						prev = f(prev, v)
					}
				}
				vs[i] = prev
			}
		}
		if whole {
			setLastValues(args[0])
		}
		return args[0], nil
	}
}

func transformRangeFirst(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	for _, t := range args[0] {
		vs := skipLeadingNaNs(t.values)
		if len(vs) == 0 {
			continue
		}
		first := vs[0]
		for i := range t.values {
			t.values[i] = first
		}
	}
	return args[0], nil
}

func transformRangeLast(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	setLastValues(args[0])
	return args[0], nil
}

func transformRangeQuantile(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 2); err != nil {
		return nil, err
	}
	phis, err := getScalarArg(args[0], 0)
	if err != nil {
		return nil, err
	}
	phi := 0.0
	if len(phis) > 0 {
		phi = phis[0]
	}
	for _, t := range args[1] {
		last := -1
		var vs []float64
		for i, v := range t.values {
			if !math.IsNaN(v) {
				vs = append(vs, v)
				last = i
			}
		}
		if last >= 0 {
			slices.Sort(vs)
			t.values[last] = quantileSorted(phi, vs)
		}
	}
	setLastValues(args[1])
	return args[1], nil
}

func wholeRangeFunc(f func([]float64) float64) transformFunc {
	return func(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := expectArgs(args, 1); err != nil {
			return nil, err
		}
		for _, t := range args[0] {
			v := f(t.values)
			for i := range t.values {
				t.values[i] = v
			}
		}
		return args[0], nil
	}
}

func transformRangeNormalize(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	var rvs []*timeseries
	for _, tss := range args {
		for _, t := range tss {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range t.values {
				if math.IsNaN(v) {
					continue
				}
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			d := hi - lo
			if math.IsInf(d, 0) {
				continue
			}
			for i, v := range t.values {
				t.values[i] = (v - lo) / d
			}
			rvs = append(rvs, t)
		}
	}
	return rvs, nil
}

func transformRangeLinearRegression(ec *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	ts := ec.getTimestamps()
	for _, t := range args[0] {
		if len(ts) == 0 {
			continue
		}
		v, k := linearRegression(t.values, ts, ts[0])
		for i, x := range ts {
			t.values[i] = v + k*float64(x-ts[0])/1e3
		}
	}
	return args[0], nil
}

func transformInterpolate(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	for _, t := range args[0] {
		vs := skipTrailingNaNs(skipLeadingNaNs(t.values))
		if len(vs) == 0 {
			continue
		}
		prev := nan
		var next float64
		for i := range vs {
			if !math.IsNaN(vs[i]) {
				continue
			}
			if i > 0 {
				prev = vs[i-1]
			}
			j := i + 1
			for j < len(vs) && math.IsNaN(vs[j]) {
				j++
			}
			if j >= len(vs) {
				next = prev
			} else {
				next = vs[j]
			}
			if math.IsNaN(prev) {
				prev = next
			}
			delta := (next - prev) / float64(j-i+1)
			for i < j {
				prev += delta
				vs[i] = prev
				i++
			}
		}
	}
	return args[0], nil
}

// leGroups groups histogram buckets by their labels without __name__ and
// le, as VictoriaMetrics' groupLeTimeseries (vmrange buckets unsupported).
func leGroups(tss []*timeseries) ([][]leSeries, error) {
	groups := map[string]int{}
	var out [][]leSeries
	for _, t := range vmrangeBucketsToLE(tss) {
		leStr := t.labels.Get("le")
		if leStr == "" {
			continue
		}
		le, err := parseFloat(leStr)
		if err != nil {
			continue
		}
		t.labels = delLabels(t.labels, series.MetricName, "le")
		k := t.labels.Key()
		i, ok := groups[k]
		if !ok {
			i = len(out)
			groups[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], leSeries{le, t})
	}
	return out, nil
}

func transformHistogramShare(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	return histogramBounded(args, "le", histogramShareAt)
}

func fixBrokenBuckets(i int, xss []leSeries) {
	if len(xss) < 2 {
		return
	}
	prev := xss[0].ts.values[i]
	if math.IsNaN(prev) {
		prev = 0
		xss[0].ts.values[i] = 0
	}
	for _, xs := range xss[1:] {
		v := xs.ts.values[i]
		if math.IsNaN(v) || prev > v {
			xs.ts.values[i] = prev
		} else {
			prev = v
		}
	}
}

func histogramShareAt(i int, leReq float64, xss []leSeries) (q, lower, upper float64) {
	if math.IsNaN(leReq) || len(xss) == 0 {
		return nan, nan, nan
	}
	if leReq < 0 {
		return 0, 0, 0
	}
	if math.IsInf(leReq, 1) {
		return 1, 1, 1
	}
	fixBrokenBuckets(i, xss)
	var vPrev, lePrev float64
	for _, xs := range xss {
		v, le := xs.ts.values[i], xs.le
		if leReq >= le {
			vPrev, lePrev = v, le
			continue
		}
		vLast := xss[len(xss)-1].ts.values[i]
		lower = vPrev / vLast
		if math.IsInf(le, 1) {
			return lower, lower, 1
		}
		if lePrev == leReq {
			return lower, lower, lower
		}
		upper = v / vLast
		return lower + (v-vPrev)/vLast*(leReq-lePrev)/(le-lePrev), lower, upper
	}
	return 1, 1, 1
}

func transformHistogramQuantiles(ec *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) < 3 {
		return nil, fmt.Errorf("unexpected number of args: %d; expecting at least 3 args", len(args))
	}
	dstLabel, err := getStringArg(args[0], 0)
	if err != nil {
		return nil, fmt.Errorf("cannot obtain dstLabel: %w", err)
	}
	orig := args[len(args)-1]
	var rvs []*timeseries
	for i, phiArg := range args[1 : len(args)-1] {
		phis, err := getScalarArg(phiArg, i)
		if err != nil {
			return nil, fmt.Errorf("cannot parse phi: %w", err)
		}
		phiStr := fmt.Sprintf("%g", phis[0])
		tss := make([]*timeseries, len(orig))
		for j, t := range orig {
			tss[j] = copyTimeseries(t)
		}
		out, err := transformHistogramQuantile(ec, fe, [][]*timeseries{phiArg, tss})
		if err != nil {
			return nil, fmt.Errorf("cannot calculate quantile %s: %w", phiStr, err)
		}
		for _, t := range out {
			t.labels = setLabel(t.labels, dstLabel, phiStr)
		}
		rvs = append(rvs, out...)
	}
	return rvs, nil
}

// storageTagRank is VictoriaMetrics' storage order of well-known label
// names (lib/storage commonTagKeys): job-like labels first, then
// instance-like ones, then the rest by name. Capitalised variants share
// the rank.
var storageTagRank = func() map[string]string {
	ranks := map[string]string{
		"namespace": "\x00\x00\x00", "ns": "\x00\x00\x01", "datacenter": "\x00\x00\x08", "dc": "\x00\x00\x09",
		"environment": "\x00\x00\x0c", "env": "\x00\x00\x0d", "cluster": "\x00\x00\x10", "service": "\x00\x00\x18",
		"job": "\x00\x00\x20", "model": "\x00\x00\x28", "type": "\x00\x00\x30", "sensor_type": "\x00\x00\x38",
		"SensorType": "\x00\x00\x38", "db": "\x00\x00\x40",
		"instance": "\x00\x01\x00", "host": "\x00\x01\x08", "server": "\x00\x01\x10", "pod": "\x00\x01\x18",
		"node": "\x00\x01\x20", "device": "\x00\x01\x28", "tenant": "\x00\x01\x30", "client": "\x00\x01\x38",
		"name": "\x00\x01\x40", "measurement": "\x00\x01\x48",
	}
	for k, v := range ranks {
		ranks[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return ranks
}()

func storageTagKey(name string) string {
	if r, ok := storageTagRank[name]; ok {
		return r
	}
	return name
}

// labelsHash is VictoriaMetrics' getHash for a series read from storage:
// xxhash of the metric name then each label name and value, the labels in
// storage order.
func labelsHash(ls series.Labels) uint64 {
	tags := make(series.Labels, 0, len(ls))
	for _, l := range ls {
		if l.Name != series.MetricName {
			tags = append(tags, l)
		}
	}
	slices.SortStableFunc(tags, func(a, b series.Label) int {
		return strings.Compare(storageTagKey(a.Name), storageTagKey(b.Name))
	})
	d := xxhash.New()
	_, _ = d.WriteString(ls.Get(series.MetricName))
	for _, l := range tags {
		_, _ = d.WriteString(l.Name)
		_, _ = d.WriteString(l.Value)
	}
	return d.Sum64()
}

func aggrLimitK(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) != 2 {
		return nil, errArgs(len(args), 2)
	}
	ks, err := getScalarArg(args[0], 0)
	if err != nil {
		return nil, fmt.Errorf("cannot obtain limit arg: %w", err)
	}
	limit := 0
	if len(ks) > 0 {
		limit = max(intK(ks[0], math.MaxInt), 0)
	}
	var rvs []*timeseries
	for _, g := range groupSeries(args[1], &ae.Modifier, ae.Limit, true) {
		slices.SortStableFunc(g, func(a, b *timeseries) int {
			ha, hb := labelsHash(a.labels), labelsHash(b.labels)
			switch {
			case ha < hb:
				return -1
			case ha > hb:
				return 1
			}
			return 0
		})
		rvs = append(rvs, g[:min(limit, len(g))]...)
	}
	return rvs, nil
}

func modeNoNaNs(prev float64, a []float64) float64 {
	if len(a) == 0 {
		return prev
	}
	slices.Sort(a)
	j, dMax := -1, 0
	mode := prev
	for i, v := range a {
		if prev == v {
			continue
		}
		if d := i - j; d > dMax || math.IsNaN(mode) {
			dMax = d
			mode = prev
		}
		j = i
		prev = v
	}
	if d := len(a) - j; d > dMax || math.IsNaN(mode) {
		mode = prev
	}
	return mode
}

func aggrMode(tss []*timeseries) []*timeseries {
	dst := &timeseries{labels: tss[0].labels, values: make([]float64, len(tss[0].values))}
	for i := range dst.values {
		var a []float64
		for _, t := range tss {
			if v := t.values[i]; !math.IsNaN(v) {
				a = append(a, v)
			}
		}
		dst.values[i] = modeNoNaNs(nan, a)
	}
	return []*timeseries{dst}
}

func avgValue(vs []float64) float64 {
	var s float64
	n := 0
	for _, v := range vs {
		if !math.IsNaN(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return nan
	}
	return s / float64(n)
}

func minValue(vs []float64) float64 {
	m := nan
	for len(vs) > 0 && math.IsNaN(m) {
		m, vs = vs[0], vs[1:]
	}
	for _, v := range vs {
		if !math.IsNaN(v) && v < m {
			m = v
		}
	}
	return m
}

func maxValue(vs []float64) float64 {
	m := nan
	for len(vs) > 0 && math.IsNaN(m) {
		m, vs = vs[0], vs[1:]
	}
	for _, v := range vs {
		if !math.IsNaN(v) && v > m {
			m = v
		}
	}
	return m
}

func lastValue(vs []float64) float64 {
	vs = skipTrailingNaNs(vs)
	if len(vs) == 0 {
		return nan
	}
	return vs[len(vs)-1]
}

// rangeTopK is topk_<f> / bottomk_<f>: the k series with the highest (or
// lowest) f over the whole range, plus an optional "remaining sum" series.
func rangeTopK(f func([]float64) float64, reverse bool) aggrFunc {
	return func(_ *evalConfig, ae *metricsql.AggrFuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if len(args) < 2 || len(args) > 3 {
			return nil, fmt.Errorf("unexpected number of args; got %d; want 2...3", len(args))
		}
		ks, err := getScalarArg(args[0], 0)
		if err != nil {
			return nil, err
		}
		remaining := ""
		if len(args) == 3 {
			if remaining, err = getStringArg(args[2], 2); err != nil {
				return nil, err
			}
		}
		less := lessWithNaNs
		if reverse {
			less = greaterWithNaNs
		}
		var rvs []*timeseries
		for _, g := range groupSeries(args[1], &ae.Modifier, ae.Limit, true) {
			vals := make(map[*timeseries]float64, len(g))
			for _, t := range g {
				vals[t] = f(t.values)
			}
			sort.SliceStable(g, func(i, j int) bool { return less(vals[g[i]], vals[g[j]]) })
			var rest *timeseries
			if remaining != "" {
				name, value := remaining, remaining
				if n := strings.IndexByte(remaining, '='); n >= 0 {
					name, value = remaining[:n], remaining[n+1:]
				}
				rest = &timeseries{
					labels: setLabel(removeGroupTags(g[0].labels, &ae.Modifier), name, value),
					values: make([]float64, len(g[0].values)),
				}
				for i, k := range ks {
					kn := intK(k, len(g))
					var s float64
					n := 0
					for _, t := range g[:len(g)-kn] {
						if v := t.values[i]; !math.IsNaN(v) {
							s += v
							n++
						}
					}
					if n == 0 {
						s = nan
					}
					rest.values[i] = s
				}
			}
			for i, k := range ks {
				for _, t := range g[:len(g)-intK(k, len(g))] {
					t.values[i] = nan
				}
			}
			if rest != nil {
				g = append(g, rest)
			}
			rvs = append(rvs, removeEmptySeries(g)...)
		}
		return rvs, nil
	}
}

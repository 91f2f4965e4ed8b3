package mqlengine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/series"
)

// silenceInterval is VictoriaMetrics' maxSilenceInterval(): the extra
// history fetched for functions that look at the sample before the window,
// -search.minStalenessInterval or 5m.
func (ec *evalConfig) silenceInterval() int64 {
	if ec.minStaleness > 0 {
		return ec.minStaleness
	}
	return 5 * 60 * 1000
}

// rollupFuncArg is what a rollup function sees at one point.
type rollupFuncArg struct {
	prevValue     float64
	prevTimestamp int64
	values        []float64
	timestamps    []int64
	realPrevValue float64
	realNextValue float64
	currTimestamp int64
	idx           int
	window        int64
	tsm           *tsMap
}

type rollupFunc func(rfa *rollupFuncArg) float64

// newRollupFunc builds a rollup function from the evaluated non-rollup args
// (nil at the rollup arg's position).
type newRollupFunc func(args [][]*timeseries) (rollupFunc, error)

func oneArg(rf rollupFunc) newRollupFunc {
	return func(args [][]*timeseries) (rollupFunc, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("unexpected number of args; got %d; want 1", len(args))
		}
		return rf, nil
	}
}

// scalarParam builds a rollup function with one scalar parameter at index
// argIdx and the rollup arg elsewhere; want is the total number of args.
func scalarParam(argIdx, want int, f func(params []float64) rollupFunc) newRollupFunc {
	return func(args [][]*timeseries) (rollupFunc, error) {
		if len(args) != want {
			return nil, fmt.Errorf("unexpected number of args; got %d; want %d", len(args), want)
		}
		ps, err := getScalarArg(args[argIdx], argIdx)
		if err != nil {
			return nil, err
		}
		return f(ps), nil
	}
}

func filterFunc(f func(values []float64, limit float64) float64, share bool) newRollupFunc {
	return scalarParam(1, 2, func(limits []float64) rollupFunc {
		return func(rfa *rollupFuncArg) float64 {
			if len(rfa.values) == 0 {
				return nan
			}
			n := f(rfa.values, limits[rfa.idx])
			if share {
				return n / float64(len(rfa.values))
			}
			return n
		}
	})
}

// rollupFuncs are the rollup functions the engine implements, by name.
var rollupFuncs = map[string]newRollupFunc{
	"absent_over_time":        oneArg(rollupAbsent),
	"ascent_over_time":        oneArg(rollupAscentOverTime),
	"avg_over_time":           oneArg(rollupAvg),
	"changes":                 oneArg(rollupChanges),
	"changes_prometheus":      oneArg(rollupChangesPrometheus),
	"count_eq_over_time":      filterFunc(func(vs []float64, x float64) float64 { return countIf(vs, func(v float64) bool { return v == x }) }, false),
	"count_gt_over_time":      filterFunc(func(vs []float64, x float64) float64 { return countIf(vs, func(v float64) bool { return v > x }) }, false),
	"count_le_over_time":      filterFunc(func(vs []float64, x float64) float64 { return countIf(vs, func(v float64) bool { return v <= x }) }, false),
	"count_ne_over_time":      filterFunc(func(vs []float64, x float64) float64 { return countIf(vs, func(v float64) bool { return v != x }) }, false),
	"count_over_time":         oneArg(rollupCount),
	"decreases_over_time":     oneArg(rollupResets),
	"default_rollup":          oneArg(rollupDefault),
	"delta":                   oneArg(rollupDelta),
	"delta_prometheus":        oneArg(rollupDeltaPrometheus),
	"deriv":                   oneArg(rollupDerivSlow),
	"deriv_fast":              oneArg(rollupDerivFast),
	"descent_over_time":       oneArg(rollupDescentOverTime),
	"distinct_over_time":      oneArg(rollupDistinct),
	"duration_over_time":      scalarParam(1, 2, newDurationOverTime),
	"first_over_time":         oneArg(rollupFirst),
	"geomean_over_time":       oneArg(rollupGeomean),
	"hoeffding_bound_lower":   scalarParam(0, 2, func(phis []float64) rollupFunc { return hoeffding(phis, -1) }),
	"hoeffding_bound_upper":   scalarParam(0, 2, func(phis []float64) rollupFunc { return hoeffding(phis, +1) }),
	"holt_winters":            newHoltWinters,
	"idelta":                  oneArg(rollupIdelta),
	"ideriv":                  oneArg(rollupIderiv),
	"increase":                oneArg(rollupDelta),
	"increase_prometheus":     oneArg(rollupDeltaPrometheus),
	"increase_pure":           oneArg(rollupIncreasePure),
	"increases_over_time":     oneArg(rollupIncreases),
	"integrate":               oneArg(rollupIntegrate),
	"irate":                   oneArg(rollupIderiv),
	"lag":                     oneArg(rollupLag),
	"last_over_time":          oneArg(rollupDefault),
	"lifetime":                oneArg(rollupLifetime),
	"mad_over_time":           oneArg(func(rfa *rollupFuncArg) float64 { return mad(rfa.values) }),
	"max_over_time":           oneArg(rollupMax),
	"median_over_time":        oneArg(func(rfa *rollupFuncArg) float64 { return quantile(0.5, rfa.values) }),
	"min_over_time":           oneArg(rollupMin),
	"outlier_iqr_over_time":   oneArg(rollupOutlierIQR),
	"predict_linear":          scalarParam(1, 2, newPredictLinear),
	"present_over_time":       oneArg(rollupPresent),
	"quantile_over_time":      scalarParam(0, 2, newQuantileOverTime),
	"range_over_time":         oneArg(func(rfa *rollupFuncArg) float64 { return rollupMax(rfa) - rollupMin(rfa) }),
	"rate":                    oneArg(rollupDerivFast),
	"rate_prometheus":         oneArg(rollupDerivFastPrometheus),
	"rate_over_sum":           oneArg(rollupRateOverSum),
	"resets":                  oneArg(rollupResets),
	"scrape_interval":         oneArg(rollupScrapeInterval),
	"share_eq_over_time":      filterFunc(func(vs []float64, x float64) float64 { return countIf(vs, func(v float64) bool { return v == x }) }, true),
	"share_gt_over_time":      filterFunc(func(vs []float64, x float64) float64 { return countIf(vs, func(v float64) bool { return v > x }) }, true),
	"share_le_over_time":      filterFunc(func(vs []float64, x float64) float64 { return countIf(vs, func(v float64) bool { return v <= x }) }, true),
	"stale_samples_over_time": oneArg(rollupStaleSamples),
	"stddev_over_time":        oneArg(func(rfa *rollupFuncArg) float64 { return math.Sqrt(stdvar(rfa.values)) }),
	"stdvar_over_time":        oneArg(func(rfa *rollupFuncArg) float64 { return stdvar(rfa.values) }),
	"sum_eq_over_time":        filterFunc(func(vs []float64, x float64) float64 { return sumIf(vs, func(v float64) bool { return v == x }) }, false),
	"sum_gt_over_time":        filterFunc(func(vs []float64, x float64) float64 { return sumIf(vs, func(v float64) bool { return v > x }) }, false),
	"sum_le_over_time":        filterFunc(func(vs []float64, x float64) float64 { return sumIf(vs, func(v float64) bool { return v <= x }) }, false),
	"sum_over_time":           oneArg(rollupSum),
	"sum2_over_time":          oneArg(rollupSum2),
	"tfirst_over_time":        oneArg(rollupTfirst),
	"timestamp":               oneArg(rollupTlast),
	"timestamp_with_name":     oneArg(rollupTlast),
	"tlast_change_over_time":  oneArg(rollupTlastChange),
	"tlast_over_time":         oneArg(rollupTlast),
	"tmax_over_time":          oneArg(rollupTmax),
	"tmin_over_time":          oneArg(rollupTmin),
	"zscore_over_time":        oneArg(rollupZScoreOverTime),
}

// unsupportedRollupFuncs are VictoriaMetrics rollup functions the engine
// does not implement; they are rejected by Check.
var unsupportedRollupFuncs []string

var needSilenceInterval = map[string]bool{
	"ascent_over_time": true, "changes": true, "decreases_over_time": true, "default_rollup": true,
	"delta": true, "deriv_fast": true, "descent_over_time": true, "idelta": true, "ideriv": true,
	"increase": true, "increase_pure": true, "increases_over_time": true, "integrate": true,
	"irate": true, "lag": true, "lifetime": true, "rate": true, "resets": true,
	"scrape_interval": true, "tlast_change_over_time": true,
}

var rollupKeepsName = map[string]bool{
	"avg_over_time": true, "default_rollup": true, "first_over_time": true, "geomean_over_time": true,
	"hoeffding_bound_lower": true, "hoeffding_bound_upper": true, "holt_winters": true,
	"last_over_time": true, "max_over_time": true, "median_over_time": true, "min_over_time": true,
	"mode_over_time": true, "predict_linear": true, "quantile_over_time": true, "timestamp_with_name": true,
}

var rollupCanAdjustWindow = map[string]bool{
	"default_rollup": true, "deriv": true, "deriv_fast": true, "ideriv": true, "irate": true,
	"rate": true, "rate_over_sum": true, "scrape_interval": true, "timestamp": true,
}

var rollupRemovesCounterResets = map[string]bool{
	"increase": true, "increase_prometheus": true, "increase_pure": true, "irate": true,
	"rate": true, "rate_prometheus": true,
}

func evalRollupFuncExpr(ec *evalConfig, fe *metricsql.FuncExpr) ([]*timeseries, error) {
	name := strings.ToLower(fe.Name)
	idx := metricsql.GetRollupArgIdx(fe)
	if idx < 0 || len(fe.Args) <= idx {
		return nil, fmt.Errorf("expecting at least %d args to %q; got %d args", idx+1, fe.Name, len(fe.Args))
	}
	args := make([][]*timeseries, len(fe.Args))
	var re *metricsql.RollupExpr
	for i, a := range fe.Args {
		if i == idx {
			re = rollupExprArg(a)
			continue
		}
		tss, err := evalExpr(ec, a)
		if err != nil {
			return nil, fmt.Errorf("cannot evaluate arg #%d for %q: %w", i+1, fe.AppendString(nil), err)
		}
		args[i] = tss
	}
	spec, err := newRollupSpec(name, fe, args)
	if err != nil {
		return nil, fmt.Errorf("cannot evaluate args for %q: %w", fe.AppendString(nil), err)
	}
	return evalRollup(ec, name, spec, fe, re)
}

// rollupExprArg wraps the rollup arg as VictoriaMetrics does: a plain
// expression becomes a rollup without window, m[w:s] becomes
// default_rollup(m)[w:s].
func rollupExprArg(arg metricsql.Expr) *metricsql.RollupExpr {
	re, ok := arg.(*metricsql.RollupExpr)
	if !ok {
		return &metricsql.RollupExpr{Expr: arg}
	}
	if !re.ForSubquery() {
		return re
	}
	me, ok := re.Expr.(*metricsql.MetricExpr)
	if !ok {
		return re
	}
	n := *re
	n.Expr = &metricsql.FuncExpr{Name: "default_rollup", Args: []metricsql.Expr{&metricsql.RollupExpr{Expr: me}}}
	return &n
}

func keepMetricNames(expr metricsql.Expr) bool {
	if fe, ok := expr.(*metricsql.FuncExpr); ok {
		return fe.KeepMetricNames
	}
	return false
}

func evalRollup(ec *evalConfig, name string, spec *rollupSpec, expr metricsql.Expr, re *metricsql.RollupExpr) ([]*timeseries, error) {
	if spec == nil {
		spec = singleRollup(name, rollupDefault)
	}
	if re.At == nil {
		return evalRollupNoAt(ec, name, spec, expr, re)
	}
	tssAt, err := evalExpr(ec, re.At)
	if err != nil {
		return nil, fmt.Errorf("cannot evaluate `@` modifier: %w", err)
	}
	if len(tssAt) != 1 {
		return nil, fmt.Errorf("`@` modifier must return a single series; it returns %d series instead", len(tssAt))
	}
	at := nan
	for _, v := range tssAt[0].values {
		if !math.IsNaN(v) {
			at = v
			break
		}
	}
	if math.IsNaN(at) {
		return nil, fmt.Errorf("`@` modifier must return a non-NaN value")
	}
	atMs := int64(at * 1000)
	ecAt, err := ec.withRange(atMs, atMs, ec.step)
	if err != nil {
		return nil, err
	}
	tss, err := evalRollupNoAt(ecAt, name, spec, expr, re)
	if err != nil {
		return nil, err
	}
	n := ec.points()
	for _, ts := range tss {
		v := ts.values[0]
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = v
		}
		ts.values = vs
	}
	return tss, nil
}

func evalRollupNoAt(ec *evalConfig, name string, spec *rollupSpec, expr metricsql.Expr, re *metricsql.RollupExpr) ([]*timeseries, error) {
	var offset int64
	if re.Offset != nil {
		offset = re.Offset.Duration(ec.step)
	}
	if name == "rollup_candlestick" {
		// VictoriaMetrics applies an implicit `offset -step` to candles.
		offset -= ec.step
	}
	ecNew := ec
	if offset != 0 {
		var err error
		ecNew, err = ec.withRange(ec.start-offset, ec.end-offset, ec.step)
		if err != nil {
			return nil, err
		}
	}
	var rvs []*timeseries
	var err error
	if me, ok := re.Expr.(*metricsql.MetricExpr); ok {
		rvs, err = evalRollupMetricExpr(ecNew, name, spec, expr, me, re.Window)
	} else {
		rvs, err = evalRollupSubquery(ecNew, name, spec, expr, re)
	}
	if err != nil {
		return nil, err
	}
	if name == "absent_over_time" {
		rvs = aggregateAbsentOverTime(ecNew, re.Expr, rvs)
	}
	return rvs, nil
}

func aggregateAbsentOverTime(ec *evalConfig, expr metricsql.Expr, tss []*timeseries) []*timeseries {
	rvs := absentSeries(ec, expr)
	if len(tss) == 0 {
		return rvs
	}
	for i := range tss[0].values {
		for _, ts := range tss {
			if math.IsNaN(ts.values[i]) {
				rvs[0].values[i] = nan
				break
			}
		}
	}
	return rvs
}

// absentSeries is the series absent() returns: 1 with the equality
// filters of a single-group selector as labels.
func absentSeries(ec *evalConfig, arg metricsql.Expr) []*timeseries {
	rvs := evalNumber(ec, 1)
	me, ok := arg.(*metricsql.MetricExpr)
	if !ok || len(me.LabelFilterss) != 1 {
		return rvs
	}
	var ls series.Labels
	for _, lf := range me.LabelFilterss[0] {
		if lf.Label == "" || lf.Label == series.MetricName || lf.IsRegexp || lf.IsNegative {
			continue
		}
		ls = setLabel(ls, lf.Label, lf.Value)
	}
	rvs[0].labels = ls
	return rvs
}

func matchersOf(me *metricsql.MetricExpr) ([][]series.Matcher, error) {
	out := make([][]series.Matcher, 0, len(me.LabelFilterss))
	for _, lfs := range me.LabelFilterss {
		ms := make([]series.Matcher, 0, len(lfs))
		for _, lf := range lfs {
			name := lf.Label
			if name == "" {
				name = series.MetricName
			}
			m, err := series.NewMatcher(name, lf.Value, lf.IsNegative, lf.IsRegexp)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
		out = append(out, ms)
	}
	return out, nil
}

func selectSeries(ec *evalConfig, me *metricsql.MetricExpr, mint, maxt int64) ([]series.Series, error) {
	groups, err := matchersOf(me)
	if err != nil {
		return nil, err
	}
	if len(groups) == 1 {
		return ec.e.st.Select(groups[0], mint, maxt), nil
	}
	seen := map[string]bool{}
	var out []series.Series
	for _, ms := range groups {
		for _, s := range ec.e.st.Select(ms, mint, maxt) {
			k := s.Labels.Key()
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b series.Series) int { return series.Compare(a.Labels, b.Labels) })
	return out, nil
}

func evalRollupMetricExpr(ec *evalConfig, name string, spec *rollupSpec, expr metricsql.Expr, me *metricsql.MetricExpr, windowExpr *metricsql.DurationExpr) ([]*timeseries, error) {
	window, err := windowExpr.NonNegativeDuration(ec.step)
	if err != nil {
		return nil, fmt.Errorf("cannot parse lookbehind window in square brackets at %s: %w", expr.AppendString(nil), err)
	}
	if me.IsEmpty() {
		return evalNumber(ec, nan), nil
	}
	minT := ec.start
	if needSilenceInterval[name] {
		minT -= ec.silenceInterval()
	}
	minT -= max(window, ec.step)
	ss, err := selectSeries(ec, me, minT, ec.end)
	if err != nil {
		return nil, err
	}
	if max := ec.e.opts.MaxSeries; max > 0 && len(ss) > max {
		return nil, fmt.Errorf("the selector %s matches %d series, more than the limit of %d", me.AppendString(nil), len(ss), max)
	}
	keep := keepMetricNames(expr)
	out := make([]*timeseries, 0, len(ss))
	for _, s := range ss {
		values := make([]float64, 0, len(s.Samples))
		timestamps := make([]int64, 0, len(s.Samples))
		dropStale := name != "default_rollup" && name != "stale_samples_over_time"
		for _, smp := range s.Samples {
			if math.IsNaN(smp.V) && (dropStale || !series.IsStaleNaN(smp.V)) {
				// VictoriaMetrics never stores NaNs other than the
				// staleness marker: its ingestion drops them.
				continue
			}
			values = append(values, smp.V)
			timestamps = append(timestamps, smp.T)
		}
		if len(values) == 0 {
			// VictoriaMetrics' storage returns only series with samples
			// in the range; this one had only dropped NaNs.
			continue
		}
		out = spec.apply(out, ec, name, window, keep, s.Labels, values, timestamps)
	}
	return out, nil
}

func evalRollupSubquery(ec *evalConfig, name string, spec *rollupSpec, expr metricsql.Expr, re *metricsql.RollupExpr) ([]*timeseries, error) {
	step, err := re.Step.NonNegativeDuration(ec.step)
	if err != nil {
		return nil, fmt.Errorf("cannot parse step in square brackets at %s: %w", expr.AppendString(nil), err)
	}
	if step == 0 {
		step = ec.step
	}
	window, err := re.Window.NonNegativeDuration(ec.step)
	if err != nil {
		return nil, fmt.Errorf("cannot parse lookbehind window in square brackets at %s: %w", expr.AppendString(nil), err)
	}
	start := ec.start - (window + step + ec.silenceInterval())
	end := ec.end + step
	start -= start % step
	if adj := end % step; adj > 0 {
		end += step - adj
	}
	ecSQ, err := ec.withRange(start, end, step)
	if err != nil {
		return nil, fmt.Errorf("subquery %s: %w", re.AppendString(nil), err)
	}
	tssSQ, err := evalExpr(ecSQ, re.Expr)
	if err != nil {
		return nil, err
	}
	if len(tssSQ) == 0 {
		return nil, nil
	}
	sqTimestamps := ecSQ.getTimestamps()
	keep := keepMetricNames(expr)
	out := make([]*timeseries, 0, len(tssSQ))
	for _, t := range tssSQ {
		values := make([]float64, 0, len(t.values))
		timestamps := make([]int64, 0, len(t.values))
		for i, v := range t.values {
			if math.IsNaN(v) {
				continue
			}
			values = append(values, v)
			timestamps = append(timestamps, sqTimestamps[i])
		}
		out = spec.apply(out, ec, name, window, keep, t.labels, values, timestamps)
	}
	return out, nil
}

// rollupSpec is what a rollup function call computes: one or more tagged
// rollup functions (rollup(), aggr_over_time() have several) over the
// samples after pre.
type rollupSpec struct {
	funcs []taggedRollup
	pre   func(values []float64, timestamps []int64, stalenessInterval int64)
	// multi is set for functions that emit several series per input
	// series through rollupFuncArg.tsm (quantiles_over_time, ...).
	multi bool
}

type taggedRollup struct {
	f   rollupFunc
	tag string // value of the "rollup" label, "" for none
}

func singleRollup(name string, f rollupFunc) *rollupSpec {
	spec := &rollupSpec{funcs: []taggedRollup{{f: f}}}
	if rollupRemovesCounterResets[name] {
		spec.pre = removeCounterResets
	}
	return spec
}

// apply appends the rollups of one input series to out.
func (spec *rollupSpec) apply(out []*timeseries, ec *evalConfig, name string, window int64, keep bool,
	ls series.Labels, values []float64, timestamps []int64) []*timeseries {
	rc := newRollupConfig(ec, name, nil, window)
	if spec.pre != nil {
		spec.pre(values, timestamps, rc.stalenessInterval)
	}
	if !keep && !rollupKeepsName[name] {
		ls = dropName(ls)
	}
	for _, tr := range spec.funcs {
		rc.f = tr.f
		if spec.multi {
			tsm := &tsMap{origin: ls, n: len(rc.timestamps), m: map[string]*timeseries{}}
			rc.tsm = tsm
			rc.do(values, timestamps)
			for _, k := range tsm.order {
				out = append(out, tsm.m[k])
			}
			continue
		}
		l := ls
		if tr.tag != "" {
			l = setLabel(l, "rollup", tr.tag)
		}
		out = append(out, &timeseries{labels: l, values: rc.do(values, timestamps)})
	}
	return out
}

// tsMap collects the series a multi-output rollup function emits for one
// input series, keyed by the value of the label it adds.
type tsMap struct {
	origin series.Labels
	n      int
	m      map[string]*timeseries
	order  []string
}

func (tsm *tsMap) getOrCreate(name, value string) *timeseries {
	if t := tsm.m[value]; t != nil {
		return t
	}
	t := &timeseries{labels: setLabel(tsm.origin, name, value), values: make([]float64, tsm.n)}
	for i := range t.values {
		t.values[i] = nan
	}
	tsm.m[value] = t
	tsm.order = append(tsm.order, value)
	return t
}

// rollupConfig evaluates one rollup function over the points of an
// evalConfig, as VictoriaMetrics' rollupConfig.doInternal.
type rollupConfig struct {
	f                 rollupFunc
	start, end, step  int64
	window            int64
	mayAdjustWindow   bool
	isDefault         bool
	lookbackDelta     int64
	minStaleness      int64
	stalenessInterval int64
	timestamps        []int64
	tsm               *tsMap
	ctx               context.Context
}

func newRollupConfig(ec *evalConfig, name string, rf rollupFunc, window int64) *rollupConfig {
	si := ec.lookbackDelta
	if si != 0 {
		si += window
	}
	return &rollupConfig{
		f: rf, start: ec.start, end: ec.end, step: ec.step, window: window,
		mayAdjustWindow:   rollupCanAdjustWindow[name],
		isDefault:         name == "default_rollup",
		lookbackDelta:     ec.lookbackDelta,
		minStaleness:      ec.minStaleness,
		stalenessInterval: si,
		timestamps:        ec.getTimestamps(),
		ctx:               ec.ctx,
	}
}

func (rc *rollupConfig) do(values []float64, timestamps []int64) []float64 {
	maxPrevInterval := rc.step
	if rc.start < rc.end {
		maxPrevInterval = maxPrevIntervalFor(scrapeInterval(timestamps, rc.step))
	}
	if rc.lookbackDelta > 0 && maxPrevInterval > rc.lookbackDelta {
		maxPrevInterval = rc.lookbackDelta
	}
	if rc.minStaleness > 0 && maxPrevInterval < rc.minStaleness {
		maxPrevInterval = rc.minStaleness
	}
	window := rc.window
	if window <= 0 {
		window = rc.step
		if rc.mayAdjustWindow && window < maxPrevInterval {
			window = maxPrevInterval
		}
		if rc.isDefault && rc.lookbackDelta > 0 && window > rc.lookbackDelta {
			window = rc.lookbackDelta
		}
	}
	dst := make([]float64, 0, len(rc.timestamps))
	rfa := &rollupFuncArg{window: window, tsm: rc.tsm}
	i, j := 0, 0
	for idx, tEnd := range rc.timestamps {
		if idx%4096 == 4095 && rc.ctx.Err() != nil {
			// The caller sees the context's error at its next step; stop
			// the work here.
			for range rc.timestamps[idx:] {
				dst = append(dst, nan)
			}
			break
		}
		tStart := tEnd - window
		i = firstAfter(timestamps, tStart, i)
		j = max(j, i)
		j = firstAfter(timestamps, tEnd, j)
		rfa.idx = idx
		rfa.prevValue = nan
		rfa.prevTimestamp = tStart - maxPrevInterval
		if i < len(timestamps) && i > 0 && timestamps[i-1] > rfa.prevTimestamp {
			rfa.prevValue = values[i-1]
			rfa.prevTimestamp = timestamps[i-1]
		}
		rfa.values = values[i:j]
		rfa.timestamps = timestamps[i:j]
		rfa.realPrevValue = nan
		if i > 0 {
			pv, pt := values[i-1], timestamps[i-1]
			cur := tStart
			if len(rfa.timestamps) > 0 {
				cur = rfa.timestamps[0]
			}
			if rc.lookbackDelta == 0 || cur-pt < rc.lookbackDelta {
				rfa.realPrevValue = pv
			}
		}
		rfa.realNextValue = nan
		if j < len(values) {
			rfa.realNextValue = values[j]
		}
		rfa.currTimestamp = tEnd
		dst = append(dst, rc.f(rfa))
	}
	return dst
}

// firstAfter returns the index of the first timestamp > t, searching from
// from (timestamps are sorted and the answer is never before from).
func firstAfter(timestamps []int64, t int64, from int) int {
	lo, hi := from, len(timestamps)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if timestamps[h] <= t {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo
}

func scrapeInterval(timestamps []int64, def int64) int64 {
	if len(timestamps) < 2 {
		return def
	}
	prev := timestamps[len(timestamps)-1]
	ts := timestamps[:len(timestamps)-1]
	if len(ts) > 20 {
		ts = ts[len(ts)-20:]
	}
	intervals := make([]float64, 0, len(ts))
	for i := len(ts) - 1; i >= 0; i-- {
		intervals = append(intervals, float64(prev-ts[i]))
		prev = ts[i]
	}
	si := int64(quantile(0.6, intervals))
	if si <= 0 {
		return def
	}
	return si
}

func maxPrevIntervalFor(si int64) int64 {
	switch {
	case si <= 2000:
		return si + 4*si
	case si <= 4000:
		return si + 2*si
	case si <= 8000:
		return si + si
	case si <= 16000:
		return si + si/2
	case si <= 32000:
		return si + si/4
	}
	return si + si/8
}

func removeCounterResets(values []float64, timestamps []int64, maxStaleness int64) {
	if len(values) == 0 {
		return
	}
	var correction float64
	prev := values[0]
	for i, v := range values {
		d := v - prev
		if d < 0 {
			if -d*8 < prev {
				correction += prev - v
			} else {
				correction += prev
			}
		}
		if i > 0 && maxStaleness > 0 && timestamps[i]-timestamps[i-1] > maxStaleness {
			correction = 0
			prev = v
			continue
		}
		prev = v
		values[i] = v + correction
		if i > 0 && values[i] < values[i-1] {
			values[i] = values[i-1]
		}
	}
}

// quantile is VictoriaMetrics' quantile over values, NaNs ignored.
func quantile(phi float64, values []float64) float64 {
	a := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			a = append(a, v)
		}
	}
	slices.Sort(a)
	return quantileSorted(phi, a)
}

func quantileSorted(phi float64, values []float64) float64 {
	if len(values) == 0 || math.IsNaN(phi) {
		return nan
	}
	if phi < 0 {
		return math.Inf(-1)
	}
	if phi > 1 {
		return math.Inf(1)
	}
	n := float64(len(values))
	rank := phi * (n - 1)
	lower := math.Max(0, math.Floor(rank))
	upper := math.Min(n-1, lower+1)
	w := rank - math.Floor(rank)
	return values[int(lower)]*(1-w) + values[int(upper)]*w
}

func countIf(vs []float64, f func(float64) bool) float64 {
	n := 0
	for _, v := range vs {
		if f(v) {
			n++
		}
	}
	return float64(n)
}

func sumIf(vs []float64, f func(float64) bool) float64 {
	var s float64
	for _, v := range vs {
		if f(v) {
			s += v
		}
	}
	return s
}

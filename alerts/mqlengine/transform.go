package mqlengine

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/series"
)

// Transform functions follow VictoriaMetrics v1.150.0
// app/vmselect/promql/transform.go.

type transformFunc func(ec *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error)

var transformFuncs map[string]transformFunc

func init() {
	// Built in init because some entries refer back to evalExpr.
	transformFuncs = map[string]transformFunc{
		"":                   transformUnion,
		"union":              transformUnion,
		"abs":                oneValueFunc(math.Abs),
		"absent":             transformAbsent,
		"acos":               oneValueFunc(math.Acos),
		"acosh":              oneValueFunc(math.Acosh),
		"asin":               oneValueFunc(math.Asin),
		"asinh":              oneValueFunc(math.Asinh),
		"atan":               oneValueFunc(math.Atan),
		"atanh":              oneValueFunc(math.Atanh),
		"ceil":               oneValueFunc(math.Ceil),
		"clamp":              transformClamp,
		"clamp_max":          transformClampMax,
		"clamp_min":          transformClampMin,
		"cos":                oneValueFunc(math.Cos),
		"cosh":               oneValueFunc(math.Cosh),
		"day_of_month":       dateTimeFunc(func(t time.Time) int { return t.Day() }),
		"day_of_week":        dateTimeFunc(func(t time.Time) int { return int(t.Weekday()) }),
		"day_of_year":        dateTimeFunc(func(t time.Time) int { return t.YearDay() }),
		"days_in_month":      dateTimeFunc(daysInMonth),
		"deg":                oneValueFunc(func(v float64) float64 { return v * 180 / math.Pi }),
		"drop_common_labels": transformDropCommonLabels,
		"drop_empty_series":  transformDropEmptySeries,
		"end":                zeroArgs(func(ec *evalConfig) float64 { return float64(ec.end) / 1e3 }),
		"exp":                oneValueFunc(math.Exp),
		"floor":              oneValueFunc(math.Floor),
		"histogram_quantile": transformHistogramQuantile,
		"hour":               dateTimeFunc(func(t time.Time) int { return t.Hour() }),
		"keep_last_value":    transformKeepLastValue,
		"keep_next_value":    transformKeepNextValue,
		"label_copy":         labelCopyFunc(false),
		"label_del":          transformLabelDel,
		"label_join":         transformLabelJoin,
		"label_keep":         transformLabelKeep,
		"label_lowercase":    labelValueFunc(strings.ToLower),
		"label_map":          transformLabelMap,
		"label_match":        labelMatchFunc(true),
		"label_mismatch":     labelMatchFunc(false),
		"label_move":         labelCopyFunc(true),
		"label_replace":      transformLabelReplace,
		"label_set":          transformLabelSet,
		"label_uppercase":    labelValueFunc(strings.ToUpper),
		"label_value":        transformLabelValue,
		"labels_equal":       transformLabelsEqual,
		"ln":                 oneValueFunc(math.Log),
		"log2":               oneValueFunc(math.Log2),
		"log10":              oneValueFunc(math.Log10),
		"minute":             dateTimeFunc(func(t time.Time) int { return t.Minute() }),
		"month":              dateTimeFunc(func(t time.Time) int { return int(t.Month()) }),
		"now":                transformNow,
		"pi":                 zeroArgs(func(*evalConfig) float64 { return math.Pi }),
		"rad":                oneValueFunc(func(v float64) float64 { return v * math.Pi / 180 }),
		"remove_resets":      transformRemoveResets,
		"round":              transformRound,
		"scalar":             transformScalar,
		"sgn":                transformSgn,
		"sin":                oneValueFunc(math.Sin),
		"sinh":               oneValueFunc(math.Sinh),
		"sort":               sortFunc,
		"sort_desc":          sortFunc,
		"sqrt":               oneValueFunc(math.Sqrt),
		"start":              zeroArgs(func(ec *evalConfig) float64 { return float64(ec.start) / 1e3 }),
		"step":               zeroArgs(func(ec *evalConfig) float64 { return float64(ec.step) / 1e3 }),
		"tan":                oneValueFunc(math.Tan),
		"tanh":               oneValueFunc(math.Tanh),
		"time":               transformTime,
		"vector":             transformVector,
		"year":               dateTimeFunc(func(t time.Time) int { return t.Year() }),
	}
	registerMoreFuncs()
}

// unsupportedTransformFuncs are VictoriaMetrics functions the engine rejects.
var unsupportedTransformFuncs = []string{
	"bitmap_and", "bitmap_or", "bitmap_xor", "histogram_avg", "histogram_fraction",
	"histogram_stddev", "histogram_stdvar", "limit_offset", "rand", "rand_exponential", "rand_normal", "range_trim_outliers",
	"range_trim_spikes", "range_trim_zscore", "range_zscore", "smooth_exponential", "timezone_offset",
}

var transformKeepsName = map[string]bool{
	"ceil": true, "clamp": true, "clamp_max": true, "clamp_min": true, "floor": true,
	"keep_last_value": true, "keep_next_value": true, "round": true,
}

func evalTransform(ec *evalConfig, fe *metricsql.FuncExpr) ([]*timeseries, error) {
	name := strings.ToLower(fe.Name)
	tf := transformFuncs[name]
	if tf == nil {
		return nil, unsupported(fe.Name)
	}
	args := make([][]*timeseries, len(fe.Args))
	for i, a := range fe.Args {
		tss, err := evalExpr(ec, a)
		if err != nil {
			return nil, err
		}
		args[i] = tss
	}
	rv, err := tf(ec, fe, args)
	if err != nil {
		return nil, fmt.Errorf("cannot evaluate %q: %w", fe.AppendString(nil), err)
	}
	return rv, nil
}

func expectArgs(args [][]*timeseries, n int) error {
	if len(args) != n {
		return errArgs(len(args), n)
	}
	return nil
}

// doTransformValues applies tf to each series' values and drops the metric
// name unless the function keeps it.
func doTransformValues(fe *metricsql.FuncExpr, arg []*timeseries, tf func(values []float64)) []*timeseries {
	keep := fe.KeepMetricNames || transformKeepsName[strings.ToLower(fe.Name)]
	for _, t := range arg {
		if !keep {
			t.labels = dropName(t.labels)
		}
		tf(t.values)
	}
	return arg
}

func oneValueFunc(f func(float64) float64) transformFunc {
	return func(_ *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := expectArgs(args, 1); err != nil {
			return nil, err
		}
		return doTransformValues(fe, args[0], func(vs []float64) {
			for i, v := range vs {
				vs[i] = f(v)
			}
		}), nil
	}
}

func zeroArgs(f func(ec *evalConfig) float64) transformFunc {
	return func(ec *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := expectArgs(args, 0); err != nil {
			return nil, err
		}
		return evalNumber(ec, f(ec)), nil
	}
}

func evalTime(ec *evalConfig) []*timeseries {
	rv := evalNumber(ec, nan)
	for i, t := range ec.getTimestamps() {
		rv[0].values[i] = float64(t) / 1e3
	}
	return rv
}

func transformTime(ec *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 0); err != nil {
		return nil, err
	}
	return evalTime(ec), nil
}

func transformNow(ec *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 0); err != nil {
		return nil, err
	}
	return evalNumber(ec, float64(ec.e.now().UnixNano())/1e9), nil
}

func transformAbsent(ec *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	rvs := absentSeries(ec, fe.Args[0])
	tss := args[0]
	if len(tss) == 0 {
		return rvs, nil
	}
	for i := range tss[0].values {
		if anyValueAt(tss, i) {
			rvs[0].values[i] = nan
		}
	}
	return rvs, nil
}

func clampFunc(nArgs int, f func(v float64, i int, ps [][]float64) float64) transformFunc {
	return func(_ *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := expectArgs(args, nArgs); err != nil {
			return nil, err
		}
		ps := make([][]float64, 0, nArgs-1)
		for i := 1; i < nArgs; i++ {
			p, err := getScalarArg(args[i], i)
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
		return doTransformValues(fe, args[0], func(vs []float64) {
			for i, v := range vs {
				vs[i] = f(v, i, ps)
			}
		}), nil
	}
}

var (
	transformClamp = clampFunc(3, func(v float64, i int, ps [][]float64) float64 {
		if v > ps[1][i] {
			return ps[1][i]
		} else if v < ps[0][i] {
			return ps[0][i]
		}
		return v
	})
	transformClampMax = clampFunc(2, func(v float64, i int, ps [][]float64) float64 {
		if v > ps[0][i] {
			return ps[0][i]
		}
		return v
	})
	transformClampMin = clampFunc(2, func(v float64, i int, ps [][]float64) float64 {
		if v < ps[0][i] {
			return ps[0][i]
		}
		return v
	})
)

func dateTimeFunc(f func(t time.Time) int) transformFunc {
	return func(ec *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if len(args) > 1 {
			return nil, fmt.Errorf("too many args; got %d; want up to 1", len(args))
		}
		arg := evalTime(ec)
		if len(args) == 1 {
			arg = args[0]
		}
		return doTransformValues(fe, arg, func(vs []float64) {
			for i, v := range vs {
				if math.IsNaN(v) {
					continue
				}
				vs[i] = float64(f(time.Unix(int64(v), 0).UTC()))
			}
		}), nil
	}
}

func daysInMonth(t time.Time) int {
	// The day before the first of the next month.
	return time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func transformRound(ec *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) != 1 && len(args) != 2 {
		return nil, fmt.Errorf("unexpected number of args: %d; want 1 or 2", len(args))
	}
	nearestArg := evalNumber(ec, 1)
	if len(args) == 2 {
		nearestArg = args[1]
	}
	nearest, err := getScalarArg(nearestArg, 1)
	if err != nil {
		return nil, err
	}
	return doTransformValues(fe, args[0], func(vs []float64) {
		var nPrev, p10 float64
		for i, v := range vs {
			n := nearest[i]
			if n != nPrev {
				nPrev = n
				p10 = math.Pow10(-decimalExponent(n))
			}
			v += 0.5 * math.Copysign(n, v)
			v -= math.Mod(v, n)
			v, _ = math.Modf(v * p10)
			vs[i] = v / p10
		}
	}), nil
}

// decimalExponent is the exponent e of VictoriaMetrics' decimal.FromFloat(f):
// f = m * 10^e with the integer mantissa m as short as the float allows.
func decimalExponent(f float64) int {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	f = math.Abs(f)
	if u := uint64(f); float64(u) == f && f < 1<<55 {
		e := 0
		for u != 0 && u%10 == 0 {
			u /= 10
			e++
		}
		return e
	}
	// Non-integers: the shortest decimal representation.
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	x, _ := strconv.Atoi(exp)
	if _, frac, ok := strings.Cut(mant, "."); ok {
		x -= len(frac)
	}
	return x
}

func transformScalar(ec *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	if se, ok := fe.Args[0].(*metricsql.StringExpr); ok {
		n, err := strconv.ParseFloat(se.S, 64)
		if err != nil {
			n = nan
		}
		return evalNumber(ec, n), nil
	}
	if len(args[0]) != 1 {
		return evalNumber(ec, nan), nil
	}
	args[0][0].labels = nil
	return args[0], nil
}

func transformSgn(_ *evalConfig, fe *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	return doTransformValues(fe, args[0], func(vs []float64) {
		for i, v := range vs {
			s := 0.0
			if v < 0 {
				s = -1
			} else if v > 0 {
				s = 1
			}
			vs[i] = s
		}
	}), nil
}

// sortFunc is sort and sort_desc: the engine's result is always sorted by
// labels, so they only pass their argument through.
func sortFunc(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	return args[0], nil
}

func transformVector(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	return args[0], nil
}

func transformUnion(ec *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if len(args) < 1 {
		return evalNumber(ec, nan), nil
	}
	allScalar := true
	for _, a := range args {
		if !isScalar(a) {
			allScalar = false
			break
		}
	}
	if allScalar {
		rvs := make([]*timeseries, len(args))
		for i, a := range args {
			rvs[i] = a[0]
		}
		return rvs, nil
	}
	seen := map[string]bool{}
	var rvs []*timeseries
	for _, a := range args {
		for _, t := range a {
			k := t.labels.Key()
			if seen[k] {
				continue
			}
			seen[k] = true
			rvs = append(rvs, t)
		}
	}
	return rvs, nil
}

func transformKeepLastValue(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	for _, t := range args[0] {
		if len(t.values) == 0 {
			continue
		}
		last := t.values[0]
		for i, v := range t.values {
			if !math.IsNaN(v) {
				last = v
				continue
			}
			t.values[i] = last
		}
	}
	return args[0], nil
}

func transformKeepNextValue(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	for _, t := range args[0] {
		if len(t.values) == 0 {
			continue
		}
		next := t.values[len(t.values)-1]
		for i := len(t.values) - 1; i >= 0; i-- {
			if v := t.values[i]; !math.IsNaN(v) {
				next = v
				continue
			}
			t.values[i] = next
		}
	}
	return args[0], nil
}

func transformDropEmptySeries(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	return removeEmptySeries(args[0]), nil
}

func transformRemoveResets(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 1); err != nil {
		return nil, err
	}
	for _, t := range args[0] {
		vs := t.values
		for len(vs) > 0 && math.IsNaN(vs[0]) {
			vs = vs[1:]
		}
		if len(vs) == 0 {
			continue
		}
		var correction float64
		prev := vs[0]
		for i, v := range vs {
			if math.IsNaN(v) {
				continue
			}
			if d := v - prev; d < 0 {
				if -d*8 < prev {
					correction += prev - v
				} else {
					correction += prev
				}
			}
			prev = v
			vs[i] = v + correction
		}
	}
	return args[0], nil
}

// String args.

func stringArgs(args [][]*timeseries, from int) ([]string, error) {
	var out []string
	for i := from; i < len(args); i++ {
		s, err := getStringArg(args[i], i)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func stringPairs(args [][]*timeseries, from int) ([]string, []string, error) {
	ss, err := stringArgs(args, from)
	if err != nil {
		return nil, nil, err
	}
	if len(ss)%2 != 0 {
		return nil, nil, fmt.Errorf("the number of string args must be even; got %d", len(ss))
	}
	var ks, vs []string
	for i := 0; i < len(ss); i += 2 {
		ks = append(ks, ss[i])
		vs = append(vs, ss[i+1])
	}
	return ks, vs, nil
}

func atLeast(args [][]*timeseries, n int) error {
	if len(args) < n {
		return fmt.Errorf("not enough args; got %d; want at least %d", len(args), n)
	}
	return nil
}

func labelCopyFunc(move bool) transformFunc {
	return func(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := atLeast(args, 1); err != nil {
			return nil, err
		}
		src, dst, err := stringPairs(args, 1)
		if err != nil {
			return nil, err
		}
		for _, t := range args[0] {
			for i, s := range src {
				v := t.labels.Get(s)
				if v == "" {
					continue
				}
				t.labels = setLabel(t.labels, dst[i], v)
				if move && s != dst[i] {
					t.labels = delLabels(t.labels, s)
				}
			}
		}
		return args[0], nil
	}
}

func transformLabelDel(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := atLeast(args, 1); err != nil {
		return nil, err
	}
	names, err := stringArgs(args, 1)
	if err != nil {
		return nil, err
	}
	for _, t := range args[0] {
		t.labels = applyGroup(t.labels, "ignoring", names)
	}
	return args[0], nil
}

func transformLabelKeep(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := atLeast(args, 1); err != nil {
		return nil, err
	}
	names, err := stringArgs(args, 1)
	if err != nil {
		return nil, err
	}
	for _, t := range args[0] {
		t.labels = keepLabels(t.labels, names...)
	}
	return args[0], nil
}

func transformLabelJoin(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := atLeast(args, 3); err != nil {
		return nil, err
	}
	ss, err := stringArgs(args, 1)
	if err != nil {
		return nil, err
	}
	dst, sep, src := ss[0], ss[1], ss[2:]
	for _, t := range args[0] {
		var b strings.Builder
		for j, s := range src {
			b.WriteString(t.labels.Get(s))
			if j+1 < len(src) {
				b.WriteString(sep)
			}
		}
		t.labels = setLabel(t.labels, dst, b.String())
	}
	return args[0], nil
}

func transformLabelReplace(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 5); err != nil {
		return nil, err
	}
	ss, err := stringArgs(args, 1)
	if err != nil {
		return nil, err
	}
	dst, repl, src, regex := ss[0], ss[1], ss[2], ss[3]
	r, err := metricsql.CompileRegexpAnchored(regex)
	if err != nil {
		return nil, fmt.Errorf("cannot compile regex %q: %w", regex, err)
	}
	return replaceLabel(args[0], src, dst, r, repl), nil
}

// replaceLabel sets dst to src's value rewritten by r and repl on every
// series whose src value matches r (label_replace, label_transform).
func replaceLabel(tss []*timeseries, src, dst string, r *regexp.Regexp, repl string) []*timeseries {
	for _, t := range tss {
		v := t.labels.Get(src)
		if !r.MatchString(v) {
			continue
		}
		t.labels = setLabel(t.labels, dst, r.ReplaceAllString(v, repl))
	}
	return tss
}

func transformLabelSet(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := atLeast(args, 1); err != nil {
		return nil, err
	}
	names, values, err := stringPairs(args, 1)
	if err != nil {
		return nil, err
	}
	for _, t := range args[0] {
		for i, n := range names {
			t.labels = setLabel(t.labels, n, values[i])
		}
	}
	return args[0], nil
}

func transformLabelMap(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := atLeast(args, 2); err != nil {
		return nil, err
	}
	label, err := getStringArg(args[1], 1)
	if err != nil {
		return nil, err
	}
	src, dst, err := stringPairs(args, 2)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for i, s := range src {
		m[s] = dst[i]
	}
	for _, t := range args[0] {
		if v, ok := m[t.labels.Get(label)]; ok {
			t.labels = setLabel(t.labels, label, v)
		}
	}
	return args[0], nil
}

func labelValueFunc(f func(string) string) transformFunc {
	return func(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := atLeast(args, 2); err != nil {
			return nil, err
		}
		names, err := stringArgs(args, 1)
		if err != nil {
			return nil, err
		}
		for _, t := range args[0] {
			for _, n := range names {
				t.labels = setLabel(t.labels, n, f(t.labels.Get(n)))
			}
		}
		return args[0], nil
	}
}

func labelMatchFunc(match bool) transformFunc {
	return func(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := expectArgs(args, 3); err != nil {
			return nil, err
		}
		name, err := getStringArg(args[1], 1)
		if err != nil {
			return nil, fmt.Errorf("cannot get label name: %w", err)
		}
		re, err := getStringArg(args[2], 2)
		if err != nil {
			return nil, fmt.Errorf("cannot get regexp: %w", err)
		}
		r, err := metricsql.CompileRegexpAnchored(re)
		if err != nil {
			return nil, fmt.Errorf("cannot compile regexp %q: %w", re, err)
		}
		var rvs []*timeseries
		for _, t := range args[0] {
			if r.MatchString(t.labels.Get(name)) == match {
				rvs = append(rvs, t)
			}
		}
		return rvs, nil
	}
}

func transformLabelsEqual(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := atLeast(args, 3); err != nil {
		return nil, err
	}
	names, err := stringArgs(args, 1)
	if err != nil {
		return nil, err
	}
	var rvs []*timeseries
	for _, t := range args[0] {
		v := t.labels.Get(names[0])
		same := true
		for _, n := range names[1:] {
			if t.labels.Get(n) != v {
				same = false
				break
			}
		}
		if same {
			rvs = append(rvs, t)
		}
	}
	return rvs, nil
}

func transformLabelValue(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 2); err != nil {
		return nil, err
	}
	name, err := getStringArg(args[1], 1)
	if err != nil {
		return nil, fmt.Errorf("cannot get label name: %w", err)
	}
	for _, t := range args[0] {
		t.labels = dropName(t.labels)
		v, err := strconv.ParseFloat(t.labels.Get(name), 64)
		if err != nil {
			v = nan
		}
		for i, orig := range t.values {
			if !math.IsNaN(orig) {
				t.values[i] = v
			}
		}
	}
	return args[0], nil
}

func transformDropCommonLabels(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := atLeast(args, 1); err != nil {
		return nil, err
	}
	var rvs []*timeseries
	for _, a := range args {
		rvs = append(rvs, a...)
	}
	counts := map[series.Label]int{}
	for _, t := range rvs {
		if !t.labels.Has(series.MetricName) {
			counts[series.Label{Name: series.MetricName}]++
		}
		for _, l := range t.labels {
			counts[l]++
		}
	}
	var common []string
	for l, n := range counts {
		if n == len(rvs) {
			common = append(common, l.Name)
		}
	}
	for _, t := range rvs {
		t.labels = delLabels(t.labels, common...)
	}
	return rvs, nil
}

type leSeries struct {
	le float64
	ts *timeseries
}

func transformHistogramQuantile(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	return histogramBounded(args, "phi", histogramQuantileAt)
}

// histogramBounded is histogram_quantile and histogram_share: for each
// bucket group, at apply its per-point function (the scalar first arg and
// the group's buckets) and, with a boundsLabel third arg, also emit the
// lower and upper bounds as series labelled boundsLabel="lower"/"upper".
func histogramBounded(args [][]*timeseries, what string, at func(i int, x float64, xss []leSeries) (v, lo, up float64)) ([]*timeseries, error) {
	if len(args) < 2 || len(args) > 3 {
		return nil, fmt.Errorf("unexpected number of args; got %d; want 2...3", len(args))
	}
	xs, err := getScalarArg(args[0], 0)
	if err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", what, err)
	}
	boundsLabel := ""
	if len(args) == 3 {
		if boundsLabel, err = getStringArg(args[2], 2); err != nil {
			return nil, fmt.Errorf("cannot parse boundsLabel (arg #3): %w", err)
		}
	}
	groups, err := leGroups(args[1])
	if err != nil {
		return nil, err
	}
	var rvs []*timeseries
	for _, xss := range groups {
		sort.SliceStable(xss, func(i, j int) bool { return xss[i].le < xss[j].le })
		xss = mergeSameLE(xss)
		dst := xss[0].ts
		var lower, upper *timeseries
		if boundsLabel != "" {
			lower = &timeseries{labels: setLabel(dst.labels, boundsLabel, "lower"), values: make([]float64, len(dst.values))}
			upper = &timeseries{labels: setLabel(dst.labels, boundsLabel, "upper"), values: make([]float64, len(dst.values))}
		}
		for i := range dst.values {
			v, lo, up := at(i, xs[i], xss)
			dst.values[i] = v
			if lower != nil {
				lower.values[i], upper.values[i] = lo, up
			}
		}
		rvs = append(rvs, dst)
		if lower != nil {
			rvs = append(rvs, lower, upper)
		}
	}
	return rvs, nil
}

func mergeSameLE(xss []leSeries) []leSeries {
	d := xss[0]
	dst := xss[:1]
	for _, xs := range xss[1:] {
		if xs.le != d.le {
			dst = append(dst, xs)
			d = xs
			continue
		}
		for k, v := range xs.ts.values {
			d.ts.values[k] += v
		}
	}
	return dst
}

func histogramQuantileAt(i int, phi float64, xss []leSeries) (q, lower, upper float64) {
	if math.IsNaN(phi) {
		return nan, nan, nan
	}
	// fixBrokenBuckets
	if len(xss) >= 2 {
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
	vLast := 0.0
	if len(xss) > 0 {
		vLast = xss[len(xss)-1].ts.values[i]
	}
	if vLast == 0 {
		return nan, nan, nan
	}
	if phi < 0 {
		return math.Inf(-1), math.Inf(-1), xss[0].ts.values[i]
	}
	if phi > 1 {
		return math.Inf(1), vLast, math.Inf(1)
	}
	vReq := vLast * phi
	vPrev, lePrev := 0.0, 0.0
	for _, xs := range xss {
		v, le := xs.ts.values[i], xs.le
		if v <= 0 {
			lePrev = le
			continue
		}
		if v < vReq {
			vPrev, lePrev = v, le
			continue
		}
		if math.IsInf(le, 0) {
			break
		}
		if v == vPrev {
			return lePrev, lePrev, v
		}
		return lePrev + (le-lePrev)*(vReq-vPrev)/(v-vPrev), lePrev, le
	}
	last := nan
	for j := len(xss) - 1; j >= 0; j-- {
		if !math.IsInf(xss[j].le, 0) {
			last = xss[j].le
			break
		}
	}
	return last, last, math.Inf(1)
}

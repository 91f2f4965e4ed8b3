package lqlengine

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/series"
)

// PipelineError is Loki's refusal of a metric query whose samples carry an
// __error__ label the query did not filter or group by.
type PipelineError struct {
	Labels series.Labels
}

func (e *PipelineError) Error() string {
	errType := e.Labels.Get(errorLabel)
	return fmt.Sprintf("pipeline error: '%s' for series: '%s'.\n"+
		"Use a label filter to intentionally skip this error. (e.g | __error__!=\"%s\").\n"+
		"To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"+
		"The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n",
		errType, e.Labels.String(), errType)
}

// evalInstant evaluates a metric expression at ts; the result is sorted by
// labels and stamped with ts in milliseconds.
func (e *Engine) evalInstant(ctx context.Context, ex Expr, ts time.Time) (series.Vector, error) {
	v, err := e.eval(ctx, ex, ts.UnixNano(), nil)
	if err != nil {
		return nil, err
	}
	ms := ts.UnixMilli()
	for i := range v {
		v[i].T = ms
	}
	v.Sort()
	return v, nil
}

func (e *Engine) eval(ctx context.Context, ex Expr, ts int64, pushdown *Grouping) (series.Vector, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch n := ex.(type) {
	case *Literal:
		return series.Vector{{Labels: series.Labels{}, V: n.Value}}, nil
	case *VectorLit:
		return series.Vector{{Labels: series.Labels{}, V: n.Value}}, nil
	case *RangeAggr:
		return e.evalRange(ctx, n, ts, pushdown)
	case *VectorAggr:
		var pd *Grouping
		if r, ok := n.Inner.(*RangeAggr); ok && n.Op == "sum" && r.Grouping == nil {
			switch r.Op {
			case "bytes_over_time", "bytes_rate", "sum_over_time", "rate", "count_over_time":
				pd = n.Grouping
				if pd == nil {
					pd = &Grouping{}
				}
			}
		}
		in, err := e.eval(ctx, n.Inner, ts, pd)
		if err != nil {
			return nil, err
		}
		return vectorAggregate(n, in), nil
	case *BinOp:
		return e.evalBinOp(ctx, n, ts)
	case *LabelReplace:
		in, err := e.eval(ctx, n.Inner, ts, nil)
		if err != nil {
			return nil, err
		}
		return labelReplace(n, in)
	case *LogExpr:
		return nil, ErrLogQuery
	}
	return nil, unsupported(fmt.Sprintf("expression %T", ex))
}

// ---- range aggregations

type rsample struct {
	t int64
	v float64
}

type rseries struct {
	labels  series.Labels
	samples []rsample
}

func (e *Engine) evalRange(ctx context.Context, r *RangeAggr, ts int64, pushdown *Grouping) (series.Vector, error) {
	g := grouping{}
	for _, gr := range []*Grouping{r.Grouping, pushdown} {
		if gr != nil {
			g.groups = slices.Clone(gr.Labels)
			g.without = gr.Without
			g.noLabels = !gr.Without && len(gr.Labels) == 0
		}
	}
	if r.Op == "absent_over_time" {
		g.noLabels = true
	}
	sort.Strings(g.groups)
	src := r.Range.Log.Stages
	if r.Op != "bytes_over_time" && r.Op != "bytes_rate" {
		src = removeLineFormat(src)
	}
	stages, err := compileStages(src)
	if err != nil {
		return nil, err
	}
	var required []string
	for _, s := range stages {
		required = append(required, s.requiredLabels()...)
	}
	uw := r.Range.Unwrap
	var post []*labelFilterStage
	metricLabel := ""
	if uw != nil {
		for _, f := range uw.PostFilters {
			c, err := compileLabelFilter(f)
			if err != nil {
				return nil, err
			}
			post = append(post, c)
			required = append(required, c.names...)
		}
		if len(g.groups) == 0 || g.without {
			g.without = true
			g.groups = append(g.groups, uw.Label)
			sort.Strings(g.groups)
		}
		metricLabel = uw.Label
	}
	h := newHints(required, g.groups, g.without, g.noLabels, metricLabel)
	b := &builder{h: h}

	end := ts - r.Range.Offset.Nanoseconds()
	start := end - r.Range.Range.Nanoseconds()
	streams := e.st.Select(r.Range.Log.Matchers, time.Unix(0, start+1), time.Unix(0, end+1))
	byKey := map[string]*rseries{}
	var order []*rseries
	for i, st := range streams {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for _, en := range st.Entries {
			t := en.T.UnixNano()
			b.reset(st.Labels)
			line, ok := runStages(stages, t, en.Line, b)
			if !ok {
				continue
			}
			var v float64
			switch {
			case uw != nil:
				s, _ := b.get(uw.Label)
				if s == "" {
					continue
				}
				var err error
				switch uw.Conv {
				case convBytes:
					v, err = convertBytes(s)
				case convDuration, convDurationSec:
					v, err = convertDuration(s)
				default:
					v, err = convertFloat(s)
				}
				if err != nil {
					b.setErr(errSampleExtraction, err.Error())
				}
				pass := true
				for _, p := range post {
					if _, ok := p.process(t, line, b); !ok {
						pass = false
						break
					}
				}
				if !pass {
					continue
				}
			case r.Op == "bytes_over_time" || r.Op == "bytes_rate":
				v = float64(len(line))
			default:
				v = 1
			}
			ls := b.grouped(g)
			k := ls.Key()
			rs := byKey[k]
			if rs == nil {
				rs = &rseries{labels: ls.Copy()}
				byKey[k] = rs
				order = append(order, rs)
			}
			rs.samples = append(rs.samples, rsample{t, v})
		}
	}
	for _, rs := range order {
		if rs.labels.Has(errorLabel) && rs.labels.Get(preserveErrorLabel) != "true" {
			return nil, &PipelineError{Labels: rs.labels}
		}
	}
	if r.Op == "absent_over_time" {
		if len(order) > 0 {
			return series.Vector{}, nil
		}
		return series.Vector{{Labels: absentLabels(r.Range.Log.Matchers), V: 1}}, nil
	}
	out := make(series.Vector, 0, len(order))
	rng := r.Range.Range
	for _, rs := range order {
		slices.SortStableFunc(rs.samples, func(a, b rsample) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			}
			return 0
		})
		out = append(out, series.Point{Labels: rs.labels, V: rangeFunc(r, rng, rs.samples)})
	}
	return out, nil
}

// removeLineFormat drops the line_format stages that no later parser or
// line filter reads, as Loki's query optimizer does for metric queries
// (except bytes_over_time and bytes_rate, which measure the line).
func removeLineFormat(stages []Stage) []Stage {
	var out []Stage
	for i, s := range stages {
		if _, ok := s.(*LineFormat); !ok {
			out = append(out, s)
			continue
		}
		for _, later := range stages[i:] {
			switch later.(type) {
			case *Parser, *LineFilter:
				out = append(out, s)
			default:
				continue
			}
			break
		}
	}
	return out
}

func runStages(stages []stage, ts int64, line string, b *builder) (string, bool) {
	for _, s := range stages {
		var ok bool
		line, ok = s.process(ts, line, b)
		if !ok {
			return "", false
		}
	}
	return line, true
}

func rangeFunc(r *RangeAggr, rng time.Duration, s []rsample) float64 {
	secs := rng.Seconds()
	switch r.Op {
	case "count_over_time":
		return float64(len(s))
	case "rate":
		if r.Range.Unwrap == nil {
			return float64(len(s)) / secs
		}
		var sum float64
		for _, x := range s {
			sum += x.v
		}
		return sum / secs
	case "bytes_rate":
		var sum float64
		for _, x := range s {
			sum += x.v
		}
		return sum / secs
	case "bytes_over_time", "sum_over_time":
		var sum float64
		for _, x := range s {
			sum += x.v
		}
		return sum
	case "avg_over_time":
		var mean, count float64
		for _, x := range s {
			count++
			if math.IsInf(mean, 0) {
				if math.IsInf(x.v, 0) && (mean > 0) == (x.v > 0) {
					continue
				}
				if !math.IsInf(x.v, 0) && !math.IsNaN(x.v) {
					continue
				}
			}
			mean += x.v/count - mean/count
		}
		return mean
	case "max_over_time":
		m := math.NaN()
		for _, x := range s {
			if x.v > m || math.IsNaN(m) {
				m = x.v
			}
		}
		return m
	case "min_over_time":
		m := math.NaN()
		for _, x := range s {
			if x.v < m || math.IsNaN(m) {
				m = x.v
			}
		}
		return m
	case "stdvar_over_time", "stddev_over_time":
		var aux, count, mean float64
		for _, x := range s {
			count++
			delta := x.v - mean
			mean += delta / count
			aux += delta * (x.v - mean)
		}
		if r.Op == "stddev_over_time" {
			return math.Sqrt(aux / count)
		}
		return aux / count
	case "quantile_over_time":
		vals := make([]float64, len(s))
		for i, x := range s {
			vals[i] = x.v
		}
		return quantile(*r.Param, vals)
	case "first_over_time":
		return s[0].v
	case "last_over_time":
		return s[len(s)-1].v
	case "rate_counter":
		return extrapolatedRate(s, rng)
	}
	return math.NaN()
}

func quantile(q float64, values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(+1)
	}
	// Loki sorts by value with NaN first (its heap's order).
	sort.Slice(values, func(i, j int) bool {
		if math.IsNaN(values[i]) {
			return !math.IsNaN(values[j])
		}
		return values[i] < values[j]
	})
	n := float64(len(values))
	rank := q * (n - 1)
	lower := math.Max(0, math.Floor(rank))
	upper := math.Min(n-1, lower+1)
	w := rank - math.Floor(rank)
	return values[int(lower)]*(1-w) + values[int(upper)]*w
}

// extrapolatedRate is Prometheus' counter rate as Loki's rate_counter
// computes it (timestamps in milliseconds).
func extrapolatedRate(s []rsample, rng time.Duration) float64 {
	if len(s) < 2 {
		return 0
	}
	ms := func(t int64) int64 { return t / 1e6 }
	rangeStart := ms(s[0].t) - rng.Milliseconds()
	rangeEnd := ms(s[len(s)-1].t)
	result := s[len(s)-1].v - s[0].v
	var last float64
	for _, x := range s {
		if x.v < last {
			result += last
		}
		last = x.v
	}
	durationToStart := float64(ms(s[0].t)-rangeStart) / 1000
	durationToEnd := float64(rangeEnd-ms(s[len(s)-1].t)) / 1000
	sampled := float64(ms(s[len(s)-1].t)-ms(s[0].t)) / 1000
	avg := sampled / float64(len(s)-1)
	if result > 0 && s[0].v >= 0 {
		if z := sampled * (s[0].v / result); z < durationToStart {
			durationToStart = z
		}
	}
	threshold := avg * 1.1
	interval := sampled
	if durationToStart < threshold {
		interval += durationToStart
	} else {
		interval += avg / 2
	}
	if durationToEnd < threshold {
		interval += durationToEnd
	} else {
		interval += avg / 2
	}
	result *= interval / sampled
	return result / rng.Seconds()
}

func absentLabels(ms []series.Matcher) series.Labels {
	out := series.Labels{}
	var drop []string
	for _, m := range ms {
		if !m.Negative && !m.Regexp && !out.Has(m.Name) {
			out = append(out, series.Label{Name: m.Name, Value: m.Value})
		} else {
			drop = append(drop, m.Name)
		}
	}
	out = slices.DeleteFunc(out, func(l series.Label) bool { return slices.Contains(drop, l.Name) || l.Value == "" })
	out.Sort()
	return out
}

// ---- vector aggregations

func vectorAggregate(n *VectorAggr, in series.Vector) series.Vector {
	g := n.Grouping
	if g == nil {
		g = &Grouping{}
	}
	groups := slices.Clone(g.Labels)
	sort.Strings(groups)
	type agg struct {
		labels  series.Labels
		value   float64
		mean    float64
		count   int
		members series.Vector
	}
	result := map[string]*agg{}
	var order []*agg
	for _, s := range in {
		var m series.Labels
		if g.Without {
			m = series.Labels{}
			for _, l := range s.Labels {
				if !slices.Contains(groups, l.Name) && l.Name != series.MetricName {
					m = append(m, l)
				}
			}
		} else {
			m = series.Labels{}
			for _, l := range s.Labels {
				if slices.Contains(groups, l.Name) {
					m = append(m, l)
				}
			}
		}
		k := m.Key()
		a, ok := result[k]
		if !ok {
			a = &agg{labels: m, value: s.V, mean: s.V, count: 1}
			if n.Op == "stddev" || n.Op == "stdvar" {
				a.value = 0
			}
			a.members = series.Vector{s}
			result[k] = a
			order = append(order, a)
			continue
		}
		switch n.Op {
		case "sum":
			a.value += s.V
		case "avg":
			a.count++
			a.mean += (s.V - a.mean) / float64(a.count)
		case "max":
			if a.value < s.V || math.IsNaN(a.value) {
				a.value = s.V
			}
		case "min":
			if a.value > s.V || math.IsNaN(a.value) {
				a.value = s.V
			}
		case "count":
			a.count++
		case "stddev", "stdvar":
			a.count++
			delta := s.V - a.mean
			a.mean += delta / float64(a.count)
			a.value += delta * (s.V - a.mean)
		default:
			a.members = append(a.members, s)
		}
	}
	out := series.Vector{}
	for _, a := range order {
		switch n.Op {
		case "avg":
			a.value = a.mean
		case "count":
			a.value = float64(a.count)
		case "stddev":
			a.value = math.Sqrt(a.value / float64(a.count))
		case "stdvar":
			a.value = a.value / float64(a.count)
		case "topk", "bottomk", "sort", "sort_desc":
			ms := a.members
			desc := n.Op == "topk" || n.Op == "sort_desc"
			slices.SortStableFunc(ms, func(x, y series.Point) int {
				// NaN sorts last for topk and first... Loki's heaps put
				// NaN as the smallest value.
				xv, yv := x.V, y.V
				if desc {
					xv, yv = yv, xv
				}
				switch {
				case math.IsNaN(xv) && !math.IsNaN(yv):
					return -1
				case !math.IsNaN(xv) && math.IsNaN(yv):
					return 1
				case xv < yv:
					return -1
				case xv > yv:
					return 1
				}
				return 0
			})
			if n.Op == "topk" || n.Op == "bottomk" {
				if len(ms) > n.Param {
					ms = ms[:n.Param]
				}
			}
			out = append(out, ms...)
			continue
		}
		out = append(out, series.Point{Labels: a.labels, V: a.value})
	}
	return out
}

// ---- binary operations

func (e *Engine) evalBinOp(ctx context.Context, n *BinOp, ts int64) (series.Vector, error) {
	if l, ok := n.LHS.(*Literal); ok {
		rhs, err := e.eval(ctx, n.RHS, ts, nil)
		if err != nil {
			return nil, err
		}
		out := series.Vector{}
		for _, s := range rhs {
			v, keep := mergeOp(n.Op, l.Value, s.V, !n.Bool)
			if !keep {
				continue
			}
			if isComparison(n.Op) && !n.Bool {
				v = s.V
			}
			out = append(out, series.Point{Labels: s.Labels, V: v})
		}
		return out, nil
	}
	if r, ok := n.RHS.(*Literal); ok {
		lhs, err := e.eval(ctx, n.LHS, ts, nil)
		if err != nil {
			return nil, err
		}
		out := series.Vector{}
		for _, s := range lhs {
			v, keep := mergeOp(n.Op, s.V, r.Value, !n.Bool)
			if !keep {
				continue
			}
			if isComparison(n.Op) && !n.Bool {
				v = s.V
			}
			out = append(out, series.Point{Labels: s.Labels, V: v})
		}
		return out, nil
	}
	lhs, err := e.eval(ctx, n.LHS, ts, nil)
	if err != nil {
		return nil, err
	}
	rhs, err := e.eval(ctx, n.RHS, ts, nil)
	if err != nil {
		return nil, err
	}
	sig := func(ls series.Labels) string {
		m := n.Matching
		out := series.Labels{}
		for _, l := range ls {
			if slices.Contains(m.Labels, l.Name) == m.On {
				out = append(out, l)
			}
		}
		return out.Key()
	}
	switch n.Op {
	case "and", "or", "unless":
		return setOp(n.Op, lhs, rhs, sig), nil
	}
	card := n.Matching.Card
	if card == "group_right" {
		lhs, rhs = rhs, lhs
	}
	right := map[string]series.Point{}
	for _, s := range rhs {
		k := sig(s.Labels)
		if _, dup := right[k]; dup {
			side := "right"
			if card == "group_right" {
				side = "left"
			}
			return nil, fmt.Errorf("found duplicate series on the %s hand-side;many-to-many matching not allowed: matching labels must be unique on one side", side)
		}
		right[k] = s
	}
	matched := map[string]map[string]bool{}
	out := series.Vector{}
	for _, ls := range lhs {
		k := sig(ls.Labels)
		rs, ok := right[k]
		if !ok {
			continue
		}
		metric := resultMetric(ls.Labels, rs.Labels, n.Matching)
		inserted, exists := matched[k]
		if card == "" {
			if exists {
				return nil, fmt.Errorf("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
			}
			matched[k] = nil
		} else {
			mk := metric.Key()
			if !exists {
				inserted = map[string]bool{}
				matched[k] = inserted
			} else if inserted[mk] {
				return nil, fmt.Errorf("multiple matches for labels: grouping labels must ensure unique matches")
			}
			inserted[mk] = true
		}
		l, r := ls, rs
		if card == "group_right" {
			l, r = rs, ls
		}
		v, keep := mergeOp(n.Op, l.V, r.V, !n.Bool)
		if !keep {
			continue
		}
		if isComparison(n.Op) && !n.Bool {
			v = l.V
		}
		out = append(out, series.Point{Labels: metric, V: v})
	}
	return out, nil
}

func resultMetric(lhs, rhs series.Labels, m VectorMatching) series.Labels {
	out := lhs.Copy()
	if m.Card == "" {
		out = slices.DeleteFunc(out, func(l series.Label) bool { return slices.Contains(m.Labels, l.Name) != m.On })
	}
	for _, name := range m.Include {
		out = slices.DeleteFunc(out, func(l series.Label) bool { return l.Name == name })
		if v := rhs.Get(name); v != "" {
			out = append(out, series.Label{Name: name, Value: v})
		}
	}
	out.Sort()
	return out
}

func setOp(op string, lhs, rhs series.Vector, sig func(series.Labels) string) series.Vector {
	switch op {
	case "and":
		if len(lhs) == 0 || len(rhs) == 0 {
			return series.Vector{}
		}
		rs := map[string]bool{}
		for _, s := range rhs {
			rs[sig(s.Labels)] = true
		}
		out := series.Vector{}
		for _, s := range lhs {
			if rs[sig(s.Labels)] {
				out = append(out, s)
			}
		}
		return out
	case "or":
		if len(lhs) == 0 {
			return rhs
		}
		if len(rhs) == 0 {
			return lhs
		}
		ls := map[string]bool{}
		out := series.Vector{}
		for _, s := range lhs {
			ls[sig(s.Labels)] = true
			out = append(out, s)
		}
		for _, s := range rhs {
			if !ls[sig(s.Labels)] {
				out = append(out, s)
			}
		}
		return out
	default:
		if len(lhs) == 0 || len(rhs) == 0 {
			return lhs
		}
		rs := map[string]bool{}
		for _, s := range rhs {
			rs[sig(s.Labels)] = true
		}
		out := series.Vector{}
		for _, s := range lhs {
			if !rs[sig(s.Labels)] {
				out = append(out, s)
			}
		}
		return out
	}
}

// mergeOp applies op as Loki's MergeBinOp does; with filter a false
// comparison drops the sample (keep false), without it yields 0.
func mergeOp(op string, l, r float64, filter bool) (float64, bool) {
	cmp := func(ok bool) (float64, bool) {
		if ok {
			return 1, true
		}
		return 0, !filter
	}
	switch op {
	case "+":
		return l + r, true
	case "-":
		return l - r, true
	case "*":
		return l * r, true
	case "/":
		if r == 0 {
			return math.NaN(), true
		}
		return l / r, true
	case "%":
		if r == 0 {
			return math.NaN(), true
		}
		return math.Mod(l, r), true
	case "^":
		return math.Pow(l, r), true
	case "==":
		return cmp(l == r)
	case "!=":
		return cmp(l != r)
	case ">":
		return cmp(l > r)
	case ">=":
		return cmp(l >= r)
	case "<":
		return cmp(l < r)
	case "<=":
		return cmp(l <= r)
	}
	return math.NaN(), true
}

// applyOp folds two literals as Loki's parser does (comparisons give 0/1).
func applyOp(op string, l, r float64, _, _ bool) (float64, bool) {
	v, _ := mergeOp(op, l, r, false)
	return v, true
}

// ---- label_replace

func labelReplace(n *LabelReplace, in series.Vector) (series.Vector, error) {
	re, err := regexp.Compile("^(?:" + n.Regex + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid regex in label_replace: %w", err)
	}
	out := make(series.Vector, 0, len(in))
	for _, s := range in {
		src := s.Labels.Get(n.Src)
		idx := re.FindStringSubmatchIndex(src)
		if idx == nil {
			out = append(out, s)
			continue
		}
		res := string(re.ExpandString(nil, n.Replacement, src, idx))
		ls := slices.DeleteFunc(s.Labels.Copy(), func(l series.Label) bool { return l.Name == n.Dst })
		if res != "" {
			ls = append(ls, series.Label{Name: n.Dst, Value: res})
			ls.Sort()
		}
		out = append(out, series.Point{Labels: ls, V: s.V})
	}
	return out, nil
}

// ---- log queries

func (e *Engine) selectLogs(ctx context.Context, le *LogExpr, start, end time.Time, limit int) ([]logstream.Stream, error) {
	stages, err := compileStages(le.Stages)
	if err != nil {
		return nil, err
	}
	b := &builder{h: &hints{}}
	type out struct {
		labels  series.Labels
		entries []logstream.Entry
	}
	var all []struct {
		labels series.Labels
		e      logstream.Entry
	}
	for _, st := range e.st.Select(le.Matchers, start, end) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, en := range st.Entries {
			b.reset(st.Labels)
			line, ok := runStages(stages, en.T.UnixNano(), en.Line, b)
			if !ok {
				continue
			}
			all = append(all, struct {
				labels series.Labels
				e      logstream.Entry
			}{b.all(), logstream.Entry{T: en.T, Line: line}})
		}
	}
	// the newest lines first, as Loki's backward direction returns them
	sort.SliceStable(all, func(i, j int) bool { return all[i].e.T.After(all[j].e.T) })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	byKey := map[string]*out{}
	var order []*out
	for _, x := range all {
		k := x.labels.Key()
		o := byKey[k]
		if o == nil {
			o = &out{labels: x.labels}
			byKey[k] = o
			order = append(order, o)
		}
		o.entries = append(o.entries, x.e)
	}
	res := make([]logstream.Stream, 0, len(order))
	for _, o := range order {
		res = append(res, logstream.Stream{Labels: o.labels, Entries: o.entries})
	}
	sort.Slice(res, func(i, j int) bool { return series.Compare(res[i].Labels, res[j].Labels) < 0 })
	return res, nil
}

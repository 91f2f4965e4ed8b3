package mqlengine

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
)

// VictoriaMetrics histograms: buckets labelled vmrange="start...end" with
// 18 log-spaced buckets per decade from 1e-9 to 1e18 (the
// github.com/VictoriaMetrics/metrics Histogram layout), and the functions
// that produce or convert them.

const (
	vmE10Min            = -9
	vmE10Max            = 18
	vmBucketsPerDecimal = 18
	vmBucketsCount      = (vmE10Max - vmE10Min) * vmBucketsPerDecimal
)

var (
	vmLowerRange = fmt.Sprintf("0...%.3e", math.Pow10(vmE10Min))
	vmUpperRange = fmt.Sprintf("%.3e...+Inf", math.Pow10(vmE10Max))
	vmRanges     = func() []string {
		mult := math.Pow(10, 1.0/vmBucketsPerDecimal)
		out := make([]string, vmBucketsCount)
		v := math.Pow10(vmE10Min)
		start := fmt.Sprintf("%.3e", v)
		for i := range out {
			v *= mult
			end := fmt.Sprintf("%.3e", v)
			out[i] = start + "..." + end
			start = end
		}
		return out
	}()
)

// vmHistogram counts values into VictoriaMetrics' buckets.
type vmHistogram struct {
	lower, upper uint64
	buckets      map[int]uint64
}

func (h *vmHistogram) update(v float64) {
	if math.IsNaN(v) || v < 0 {
		return
	}
	idx := (math.Log10(v) - vmE10Min) * vmBucketsPerDecimal
	switch {
	case idx < 0:
		h.lower++
	case idx >= vmBucketsCount:
		h.upper++
	default:
		i := uint(idx)
		if idx == float64(i) && i > 0 {
			i--
		}
		if h.buckets == nil {
			h.buckets = map[int]uint64{}
		}
		h.buckets[int(i)]++
	}
}

// visit calls f for every non-empty bucket in increasing order.
func (h *vmHistogram) visit(f func(vmrange string, count uint64)) {
	if h.lower > 0 {
		f(vmLowerRange, h.lower)
	}
	idxs := make([]int, 0, len(h.buckets))
	for i := range h.buckets {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	for _, i := range idxs {
		f(vmRanges[i], h.buckets[i])
	}
	if h.upper > 0 {
		f(vmUpperRange, h.upper)
	}
}

func registerVMRangeFuncs() {
	rollupFuncs["histogram_over_time"] = argsBetween(1, 1)
	aggrFuncs["histogram"] = simpleAggr(aggrHistogram)
	transformFuncs["buckets_limit"] = transformBucketsLimit
	transformFuncs["prometheus_buckets"] = func(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
		if err := expectArgs(args, 1); err != nil {
			return nil, err
		}
		return vmrangeBucketsToLE(args[0]), nil
	}
}

func newHistogramOverTime() *rollupSpec {
	f := func(rfa *rollupFuncArg) float64 {
		var h vmHistogram
		for _, v := range rfa.values {
			h.update(v)
		}
		h.visit(func(vmrange string, count uint64) {
			rfa.tsm.getOrCreate("vmrange", vmrange).values[rfa.idx] = float64(count)
		})
		return nan
	}
	return &rollupSpec{funcs: []taggedRollup{{f: f}}, multi: true}
}

func aggrHistogram(tss []*timeseries) []*timeseries {
	m := map[string]*timeseries{}
	for i := range tss[0].values {
		var h vmHistogram
		for _, t := range tss {
			h.update(t.values[i])
		}
		h.visit(func(vmrange string, count uint64) {
			t := m[vmrange]
			if t == nil {
				t = &timeseries{labels: setLabel(tss[0].labels, "vmrange", vmrange), values: make([]float64, len(tss[0].values))}
				m[vmrange] = t
			}
			t.values[i] = float64(count)
		})
	}
	rvs := make([]*timeseries, 0, len(m))
	for _, t := range m {
		rvs = append(rvs, t)
	}
	return vmrangeBucketsToLE(rvs)
}

// vmrangeBucketsToLE turns vmrange buckets into cumulative le buckets, as
// VictoriaMetrics' function of that name; series with le pass through and
// series with neither label are dropped.
func vmrangeBucketsToLE(tss []*timeseries) []*timeseries {
	type x struct {
		startStr, endStr string
		start, end       float64
		ts               *timeseries
	}
	rvs := make([]*timeseries, 0, len(tss))
	groups := map[string][]x{}
	var order []string
	for _, t := range tss {
		vmrange := t.labels.Get("vmrange")
		if vmrange == "" {
			if t.labels.Get("le") != "" {
				rvs = append(rvs, t)
			}
			continue
		}
		startStr, endStr, ok := strings.Cut(vmrange, "...")
		if !ok {
			continue
		}
		start, err := strconv.ParseFloat(startStr, 64)
		if err != nil {
			continue
		}
		end, err := strconv.ParseFloat(endStr, 64)
		if err != nil {
			continue
		}
		t.labels = delLabels(t.labels, "le", "vmrange")
		k := t.labels.Key()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], x{startStr, endStr, start, end, t})
	}
	copyTS := func(src *timeseries, le string) *timeseries {
		return &timeseries{labels: setLabel(src.labels, "le", le), values: make([]float64, len(src.values))}
	}
	isZero := func(t *timeseries) bool {
		for _, v := range t.values {
			if v > 0 {
				return false
			}
		}
		return true
	}
	for _, k := range order {
		xss := groups[k]
		sort.SliceStable(xss, func(i, j int) bool { return xss[i].end < xss[j].end })
		var out []x
		var prev x
		uniq := map[string]*timeseries{}
		for _, xs := range xss {
			if isZero(xs.ts) {
				continue
			}
			if xs.start != prev.end && uniq[xs.startStr] == nil {
				uniq[xs.startStr] = xs.ts
				out = append(out, x{endStr: xs.startStr, end: xs.start, ts: copyTS(xs.ts, xs.startStr)})
			}
			xs.ts.labels = setLabel(xs.ts.labels, "le", xs.endStr)
			if p := uniq[xs.endStr]; p != nil {
				_ = mergeNonOverlapping(p, xs.ts)
			} else {
				out = append(out, xs)
				uniq[xs.endStr] = xs.ts
			}
			prev = xs
		}
		if prev.ts != nil && !math.IsInf(prev.end, 1) && !isZero(prev.ts) {
			out = append(out, x{endStr: "+Inf", end: math.Inf(1), ts: copyTS(prev.ts, "+Inf")})
		}
		if len(out) == 0 {
			continue
		}
		for i := range out[0].ts.values {
			count := 0.0
			for _, xs := range out {
				if v := xs.ts.values[i]; !math.IsNaN(v) && v > 0 {
					count += v
				}
				xs.ts.values[i] = count
			}
		}
		for _, xs := range out {
			rvs = append(rvs, xs.ts)
		}
	}
	return rvs
}

func transformBucketsLimit(_ *evalConfig, _ *metricsql.FuncExpr, args [][]*timeseries) ([]*timeseries, error) {
	if err := expectArgs(args, 2); err != nil {
		return nil, err
	}
	ks, err := getScalarArg(args[0], 0)
	if err != nil {
		return nil, err
	}
	limit := 0
	if len(ks) > 0 {
		limit = intBounded(ks[0])
	}
	if limit <= 0 {
		return nil, fmt.Errorf("limit must be greater than 0; got %d", limit)
	}
	limit = max(limit, 3)
	tss := vmrangeBucketsToLE(args[1])
	if len(tss) == 0 {
		return nil, nil
	}
	points := len(tss[0].values)
	type x struct {
		le, hits float64
		ts       *timeseries
	}
	groups := map[string][]x{}
	var order []string
	for _, t := range tss {
		le, err := strconv.ParseFloat(t.labels.Get("le"), 64)
		if err != nil {
			continue
		}
		k := delLabels(t.labels, "le").Key()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], x{le: le, ts: t})
	}
	var rvs []*timeseries
	for _, k := range order {
		g := groups[k]
		if len(g) <= limit {
			for _, xx := range g {
				rvs = append(rvs, xx.ts)
			}
			continue
		}
		sort.SliceStable(g, func(i, j int) bool { return g[i].le < g[j].le })
		for n := range points {
			prev := 0.0
			for i := range g {
				v := g[i].ts.values[n]
				g[i].hits += v - prev
				prev = v
			}
		}
		empty := func(h float64) bool { return !math.IsNaN(h) && math.Abs(h) < 1e-9 }
		l, r := 0, len(g)-1
		for r-l+1 > limit && empty(g[r].hits) {
			r--
		}
		for r-l+1 > limit && empty(g[l].hits) {
			l++
		}
		g = g[l : r+1]
		for len(g) > limit {
			minIdx := 1
			minHits := g[1].hits + g[2].hits
			for i := range g[1 : len(g)-2] {
				if h := g[i+1].hits + g[i+2].hits; h < minHits {
					minIdx, minHits = i+1, h
				}
			}
			g[minIdx+1].hits += g[minIdx].hits
			g = append(g[:minIdx], g[minIdx+1:]...)
		}
		for _, xx := range g {
			rvs = append(rvs, xx.ts)
		}
	}
	return rvs, nil
}

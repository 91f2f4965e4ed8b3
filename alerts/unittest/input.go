package unittest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// maxMergedPoints bounds the points of a series given several times with
// overlapping values: those are expanded one by one to be merged.
const maxMergedPoints = 1_000_000

// piece is a run of values at its place in an input series.
type piece struct {
	index int64 // of its first point
	run   ValueRun
}

func (p piece) end() int64 { return p.index + p.run.Count }

// pieces lists the present values of an input series in time order, up
// to point number last.
func pieces(s InputSeries, last int64) []piece {
	var out []piece
	var i int64
	for _, r := range s.Values {
		if i > last {
			break
		}
		if !r.Omitted {
			if i+r.Count-1 > last {
				r.Count = last - i + 1 // a prefix: its values stay the same
			}
			out = append(out, piece{i, r})
		}
		i += r.Count
	}
	return out
}

// inputUntil is the time (Unix milliseconds) of the last input sample a
// test sees: promtool loads samples only up to its last rule evaluation
// (the last multiple of evaluation_interval at or before the largest
// eval_time), so later ones are invisible even to promql_expr_test there;
// vmalert-tool loads them all.
func inputUntil(f *File, t *Test, start time.Time) int64 {
	if f.Format != Promtool {
		return math.MaxInt64
	}
	var maxEval time.Duration
	for _, at := range t.AlertTests {
		maxEval = max(maxEval, at.EvalTime)
	}
	for _, et := range t.ExprTests {
		maxEval = max(maxEval, et.EvalTime)
	}
	return start.Add(maxEval / f.EvaluationInterval * f.EvaluationInterval).UnixMilli()
}

// writeInput puts the input series into the store, one point per interval
// (milliseconds) from start. Runs stay compact. A series given more than
// once is merged: when the entries overlap, the later one wins at a shared
// time.
func writeInput(st *series.Store, in []InputSeries, start, interval, until int64) error {
	last := int64(math.MaxInt64)
	if until < math.MaxInt64 {
		if until < start {
			return nil
		}
		last = (until - start) / interval
	}
	byKey := map[string][]InputSeries{}
	var order []string
	for _, s := range in {
		k := s.Labels.Key()
		if byKey[k] == nil {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], s)
	}
	for _, k := range order {
		entries := byKey[k]
		var ps []piece
		for _, s := range entries {
			ps = append(ps, pieces(s, last)...)
		}
		slices.SortStableFunc(ps, func(a, b piece) int { return cmp.Compare(a.index, b.index) })
		overlap := false
		for i := 1; i < len(ps); i++ {
			if ps[i].index < ps[i-1].end() {
				overlap = true
			}
		}
		ls := entries[0].Labels
		if overlap {
			if err := writeMerged(st, entries, start, interval, last); err != nil {
				return err
			}
			continue
		}
		for _, p := range ps {
			if p.end() > (1<<62-max(start, 0))/interval {
				return fmt.Errorf("input series %s: %d points every %dms go beyond the time range", ls, p.end(), interval)
			}
			r := series.Run{T: start + p.index*interval, Step: interval, N: p.run.Count, Fill: p.run.fill}
			if err := st.AppendRun(ls, r); err != nil {
				return fmt.Errorf("input series %s: %w", ls, err)
			}
		}
	}
	return nil
}

// writeMerged expands the entries of one series point by point and merges
// them by time (stable: a later entry wins at a shared time).
func writeMerged(st *series.Store, entries []InputSeries, start, interval, last int64) error {
	ls := entries[0].Labels
	var n int64
	for _, s := range entries {
		for _, p := range pieces(s, last) {
			n += p.run.Count
		}
	}
	if n > maxMergedPoints {
		return fmt.Errorf("input series %s is given %d times with overlapping values, %d points in all: more than the %d that can be merged; give each time once", ls, len(entries), n, maxMergedPoints)
	}
	samples := make([]series.Sample, 0, n)
	for _, s := range entries {
		for _, p := range pieces(s, last) {
			smp := make([]series.Sample, p.run.Count)
			p.run.fill(0, smp)
			for i := range smp {
				smp[i].T = start + (p.index+int64(i))*interval
			}
			samples = append(samples, smp...)
		}
	}
	slices.SortStableFunc(samples, func(x, y series.Sample) int { return cmp.Compare(x.T, y.T) })
	for _, smp := range samples {
		if err := st.Append(ls, smp.T, smp.V); err != nil {
			return fmt.Errorf("input series %s: %w", ls, err)
		}
	}
	return nil
}

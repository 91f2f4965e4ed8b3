package unittest

import (
	"cmp"
	"fmt"
	"slices"

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

// pieces lists the present values of an input series in time order.
func pieces(s InputSeries) []piece {
	var out []piece
	var i int64
	for _, r := range s.Values {
		if !r.Omitted {
			out = append(out, piece{i, r})
		}
		i += r.Count
	}
	return out
}

// writeInput puts the input series into the store, one point per interval
// (milliseconds) from start. Runs stay compact. A series given more than
// once is merged: when the entries overlap, the later one wins at a shared
// time.
func writeInput(st *series.Store, in []InputSeries, start, interval int64) error {
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
			ps = append(ps, pieces(s)...)
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
			if err := writeMerged(st, entries, start, interval); err != nil {
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
func writeMerged(st *series.Store, entries []InputSeries, start, interval int64) error {
	ls := entries[0].Labels
	var n int64
	for _, s := range entries {
		for _, p := range pieces(s) {
			n += p.run.Count
		}
	}
	if n > maxMergedPoints {
		return fmt.Errorf("input series %s is given %d times with overlapping values, %d points in all: more than the %d that can be merged; give each time once", ls, len(entries), n, maxMergedPoints)
	}
	samples := make([]series.Sample, 0, n)
	for _, s := range entries {
		for _, p := range pieces(s) {
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

package series

import (
	"slices"
	"testing"
)

// linear is a run whose i-th value is i.
func linear(t0, step, n int64) Run {
	return Run{T: t0, Step: step, N: n, Fill: func(from int64, dst []Sample) {
		for k := range dst {
			dst[k].V = float64(from + int64(k))
		}
	}}
}

func selectAll(st *Store, mint, maxt int64) []Sample {
	out := st.Select(nil, mint, maxt)
	if len(out) == 0 {
		return nil
	}
	return out[0].Samples
}

func TestStoreRuns(t *testing.T) {
	st := NewStore()
	ls := FromStrings(MetricName, "x")
	if err := st.Append(ls, 0, -1); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendRun(ls, linear(10, 10, 10_000_000)); err != nil { // 10 .. 1e8
		t.Fatal(err)
	}
	if err := st.AppendRun(ls, linear(50, 10, 2)); err == nil {
		t.Error("a run inside the previous one was accepted")
	}
	if err := st.Append(ls, 100_000_000, 42); err != nil { // replaces the run's last sample
		t.Fatal(err)
	}
	if err := st.Append(ls, 100_000_005, 43); err != nil {
		t.Fatal(err)
	}
	if err := st.Append(ls, 99, 0); err == nil {
		t.Error("an old sample was accepted")
	}
	tests := []struct {
		mint, maxt int64
		want       []Sample
	}{
		{0, 25, []Sample{{0, -1}, {10, 0}, {20, 1}}},
		{11, 39, []Sample{{20, 1}, {30, 2}}},
		{50_000_001, 50_000_020, []Sample{{50_000_010, 5_000_000}, {50_000_020, 5_000_001}}},
		{99_999_985, 200_000_000, []Sample{{99_999_990, 9_999_998}, {100_000_000, 42}, {100_000_005, 43}}},
		{1, 9, nil},
	}
	for _, tc := range tests {
		if got := selectAll(st, tc.mint, tc.maxt); !slices.Equal(got, tc.want) {
			t.Errorf("[%d, %d]: got %v, want %v", tc.mint, tc.maxt, got, tc.want)
		}
	}
	st.DropBefore(99_999_985)
	if got, want := selectAll(st, 0, 1<<62), []Sample{{99_999_990, 9_999_998}, {100_000_000, 42}, {100_000_005, 43}}; !slices.Equal(got, want) {
		t.Errorf("after DropBefore: got %v, want %v", got, want)
	}
}

// An explicit series is returned without copying, as before runs.
func TestStoreExplicitNoCopy(t *testing.T) {
	st := NewStore()
	ls := FromStrings(MetricName, "x")
	for i := range int64(5) {
		if err := st.Append(ls, i, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	a, b := selectAll(st, 1, 3), selectAll(st, 1, 3)
	if len(a) != 3 || &a[0] != &b[0] || cap(a) != 3 {
		t.Errorf("got %v (cap %d), want a shared, clipped slice", a, cap(a))
	}
}

package unittest

import (
	"bufio"
	"math"
	"os"
	"testing"

	"github.com/hlalert/hlalert/alerts/series"
)

const stale = "stale"

// seqValue is one point of an input series: a value or an omitted point.
type seqValue struct {
	Value   float64
	Omitted bool
}

// expand lists the points of runs one by one.
func expand(runs []ValueRun) []seqValue {
	var out []seqValue
	for _, r := range runs {
		for i := int64(0); i < r.Count; i++ {
			if r.Omitted {
				out = append(out, seqValue{Omitted: true})
			} else {
				out = append(out, seqValue{Value: r.At(i)})
			}
		}
	}
	return out
}

// seq builds expected values: float64, "_" (omitted) or "stale".
func seq(vs ...any) []seqValue {
	out := make([]seqValue, len(vs))
	for i, v := range vs {
		switch v := v.(type) {
		case float64:
			out[i].Value = v
		case int:
			out[i].Value = float64(v)
		case string:
			switch v {
			case "_":
				out[i].Omitted = true
			case stale:
				out[i].Value = series.StaleNaN
			default:
				panic(v)
			}
		}
	}
	return out
}

func sameValues(a, b []seqValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Omitted != y.Omitted {
			return false
		}
		switch {
		case series.IsStaleNaN(x.Value) || series.IsStaleNaN(y.Value):
			if series.IsStaleNaN(x.Value) != series.IsStaleNaN(y.Value) {
				return false
			}
		case math.IsNaN(x.Value) || math.IsNaN(y.Value):
			if math.IsNaN(x.Value) != math.IsNaN(y.Value) {
				return false
			}
		case x.Value != y.Value:
			return false
		}
	}
	return true
}

// The expectations of vmalert-tool v1.150.0's own parser tests.
func TestParseValues(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		in   string
		want []seqValue
	}{
		{"-4", seq(-4)},
		{"_", seq("_")},
		{"stale", seq(stale)},
		{" stale    2", seq(stale, 2)},
		{"-4x1", seq(-4, -4)},
		{"_x1", seq("_")},
		{"_x0", seq("_")},
		{"_x3", seq("_", "_", "_")},
		{"0x2", seq(0, 0, 0)},
		{"1+2", seq(3)},
		{"1+1x2 0.1 0.1+0.3x2 3.14", seq(1, 2, 3, 0.1, 0.1, 0.1+0.3, 0.1+0.6, 3.14)},
		{"2-1x4", seq(2, 1, 0, -1, -2)},
		{"1+1x1 _ -4 stale 3+20x1", seq(1, 2, "_", -4, stale, 3, 23)},
		{"Inf +Inf -Inf", seq(inf, inf, -inf)},
		{"Nan Infx2", seq(math.NaN(), inf, inf, inf)},
		{"NaNx2", seq(math.NaN(), math.NaN(), math.NaN())},
		{"4e9+1x2 -3e-2x2 1e-2-1x1", seq(4e9, 4e9+1, 4e9+2, -0.03, -0.03, -0.03, 0.01, 0.01-1)},
		{".5 1.", seq(0.5, 1)},
	}
	for _, tc := range tests {
		runs, err := ParseRuns(tc.in, VMAlertTool)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := expand(runs); !sameValues(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseValuesErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{"", 0, "values cannot be empty"},
		{"   ", 0, "values cannot be empty"},
		{"x4", 0, `item "x4": bad number "x4"`},
		{"testfailed", 0, `item "testfailed": unexpected "testfailed" at column 1`},
		{"1 stalex3", 2, `item "stalex3": stale takes no operations`},
		{"1 2 1+stalex3", 4, `item "1+stalex3": stale takes no operations`},
		{"1 5m", 2, `item "5m": unexpected "m" at column 2`},
		{"1 2-3", 2, `item "2-3": want a+b, axN, a+bxN or a-bxN`},
		{"1x-3", 0, `item "1x-3": bad repetition count "-3": want a non-negative integer`},
		{"1+2+3", 0, `item "1+2+3": want a+bxN or a-bxN`},
		{"1+_x3", 0, `item "1+_x3": want a+bxN or a-bxN`},
		{"1+1x1.5", 0, `item "1+1x1.5": bad repetition count "1.5": want a non-negative integer`},
		{"1x2x3x4", 0, `item "1x2x3x4": too many parts: want a, a+b, axN, a+bxN or a-bxN`},
		{"1x99999999999", 0, `item "1x99999999999": repetition count 99999999999: more than 100000000 values`},
	}
	for _, tc := range tests {
		_, err := ParseRuns(tc.in, VMAlertTool)
		ve, ok := err.(*ValueError)
		if !ok {
			t.Errorf("%q: got %v, want a *ValueError", tc.in, err)
			continue
		}
		if ve.Offset != tc.offset || ve.Msg != tc.msg {
			t.Errorf("%q: got offset %d %q, want offset %d %q", tc.in, ve.Offset, ve.Msg, tc.offset, tc.msg)
		}
	}
}

func FuzzParseValues(f *testing.F) {
	fh, err := os.Open("testdata/values/seeds.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(sc.Text())
	}
	f.Fuzz(func(t *testing.T, s string) {
		runs, err := ParseRuns(s, VMAlertTool)
		if err != nil {
			ve, ok := err.(*ValueError)
			if !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if ve.Offset < 0 || ve.Offset > len(s) {
				t.Fatalf("offset %d out of range for %q", ve.Offset, s)
			}
			return
		}
		var n int64
		for _, r := range runs {
			n += r.Count
		}
		if n == 0 || n > MaxValues {
			t.Fatalf("%q: %d values", s, n)
		}
		// promtool's reading accepts what vmalert-tool's does, and more.
		pruns, err := ParseRuns(s, Promtool)
		if err != nil {
			t.Fatalf("%q: vmalert-tool reads it, promtool reading fails: %v", s, err)
		}
		for _, r := range pruns {
			if r.Count <= 0 || r.Count > MaxValues {
				t.Fatalf("%q: a run of %d values", s, r.Count)
			}
		}
	})
}

// At returns the run's value number i (0-based).
func (r ValueRun) At(i int64) float64 {
	var s [1]series.Sample
	r.fill(i, s[:])
	return s[0].V
}

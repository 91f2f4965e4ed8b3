package mqlengine_test

// Tests of the conformance harness itself: they need no server and run
// under -short.

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/series"
)

var conformanceUpdate = flag.Bool("conformance.update", false, "rewrite the golden files of the conformance harness tests")

// confRequiredFunctions is the engine's coverage list (notes/h1-engine.md):
// the corpus must call each of them at least once.
var confRequiredFunctions = []string{
	"avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
	"last_over_time", "first_over_time", "present_over_time", "absent_over_time",
	"stddev_over_time", "stdvar_over_time", "quantile_over_time", "changes", "resets",
	"increases_over_time", "decreases_over_time", "rate", "irate", "increase", "delta",
	"idelta", "deriv", "predict_linear", "lag", "timestamp", "default_rollup", "absent",
	"scalar", "vector", "time", "now", "abs", "ceil", "floor", "round", "clamp",
	"clamp_min", "clamp_max", "sqrt", "exp", "ln", "log2", "log10", "sgn",
	"day_of_week", "day_of_month", "days_in_month", "hour", "minute", "month", "year",
	"label_replace", "label_join", "label_set", "label_del", "label_keep", "label_copy",
	"label_move", "sort", "sort_desc", "histogram_quantile", "keep_last_value", "union",
	"sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "count_values",
	"quantile", "topk", "bottomk", "limitk", "any",
}

// confRequiredFeatures are the syntax the corpus must exercise.
var confRequiredFeatures = map[string]*regexp.Regexp{
	"by":                regexp.MustCompile(`\bby \(`),
	"without":           regexp.MustCompile(`\bwithout \(`),
	"limit":             regexp.MustCompile(`\) limit \d`),
	"on":                regexp.MustCompile(`\bon\(`),
	"ignoring":          regexp.MustCompile(`\bignoring\(`),
	"group_left":        regexp.MustCompile(`\bgroup_left\b`),
	"group_right":       regexp.MustCompile(`\bgroup_right\b`),
	"bool":              regexp.MustCompile(`\bbool\b`),
	"and":               regexp.MustCompile(`\band\b`),
	"or":                regexp.MustCompile(`\bor\b`),
	"unless":            regexp.MustCompile(`\bunless\b`),
	"default":           regexp.MustCompile(`\bdefault\b`),
	"if":                regexp.MustCompile(`\bif\b`),
	"ifnot":             regexp.MustCompile(`\bifnot\b`),
	"offset":            regexp.MustCompile(`\boffset\b`),
	"negative offset":   regexp.MustCompile(`\boffset -`),
	"@":                 regexp.MustCompile(` @ `),
	"subquery":          regexp.MustCompile(`\[\d+[smhd]:\d*[smhd]?\]`),
	"WITH":              regexp.MustCompile(`^WITH \(`),
	"keep_metric_names": regexp.MustCompile(`\bkeep_metric_names\b`),
	"bare selector":     regexp.MustCompile(`^[a-z_]+$`),
	"implicit window":   regexp.MustCompile(`^[a-z_]+\([a-z_]+\)$`),
}

func TestConformanceCorpusCoverage(t *testing.T) {
	path := filepath.Join("testdata", "conformance", "queries.txt")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := parseCorpus(path, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(corpus) < 300 {
		t.Errorf("%s: %d queries, want at least 300", path, len(corpus))
	}
	for _, fn := range confRequiredFunctions {
		re := regexp.MustCompile(`(^|[^a-z_])` + fn + `\(`)
		found := false
		for _, q := range corpus {
			if re.MatchString(q.Expr) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no query calls %s()", path, fn)
		}
	}
	for name, re := range confRequiredFeatures {
		found := false
		for _, q := range corpus {
			if re.MatchString(q.Expr) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no query uses %s (%s)", path, name, re)
		}
	}
	// The skip list stays honest: a skipped query must be one the engine
	// reports as unsupported, and only for a function outside the coverage
	// list.
	var skipped []string
	for _, q := range corpus {
		if !q.Skip {
			continue
		}
		skipped = append(skipped, fmt.Sprintf("%s:%d", path, q.Line))
		err := mqlengine.Check(q.Expr)
		var unsup *mqlengine.UnsupportedError
		switch {
		case err == nil:
			t.Errorf("%s:%d: %s is on the skip list but the engine supports it now: remove \"!skip\"", path, q.Line, q.Expr)
		case !errors.As(err, &unsup):
			t.Errorf("%s:%d: %s is on the skip list but Check fails with something other than unsupported: %v", path, q.Line, q.Expr, err)
		case slices.Contains(confRequiredFunctions, unsup.Name):
			t.Errorf("%s:%d: %s is on the skip list, but %s is on the engine's coverage list", path, q.Line, q.Expr, unsup.Name)
		}
	}
	if len(skipped) > 0 {
		t.Logf("%d queries are on the skip list: %s", len(skipped), strings.Join(skipped, ", "))
	}
}

func TestParseCorpus(t *testing.T) {
	steps := func(ds ...time.Duration) []time.Duration { return ds }
	tests := []struct {
		name, in string
		want     []corpusQuery
		err      string
	}{
		{
			name: "queries, comments, steps, skip",
			in:   "# comment\n\nup\n  [0, 5m] rate(x[5m])  \n!skip [30s] foo(x)\n",
			want: []corpusQuery{
				{Line: 3, Expr: "up", Steps: defaultConfSteps()},
				{Line: 4, Expr: "rate(x[5m])", Steps: steps(0, 5*time.Minute)},
				{Line: 5, Expr: "foo(x)", Steps: steps(30 * time.Second), Skip: true},
			},
		},
		{name: "unterminated steps", in: "up\n[1m up\n", err: "q.txt:2:1: unterminated step list"},
		{name: "bad step", in: "[1x] up\n", err: `q.txt:1:2: bad step "1x": want a Go duration like 15s, or 0 for no step`},
		{name: "negative step", in: "[-1m] up\n", err: `q.txt:1:2: bad step "-1m": want a Go duration like 15s, or 0 for no step`},
		{name: "no query", in: "[1m]\n", err: "q.txt:1:1: no query"},
		{name: "duplicate", in: "up\nsum(up)\n[1m] up\nup\n", err: "q.txt:4:1: duplicate of the query on line 1"},
		{name: "all errors reported", in: "[1m\n[2x] a\n", err: "q.txt:1:1: unterminated step list\n" + `q.txt:2:2: bad step "2x": want a Go duration like 15s, or 0 for no step`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCorpus("q.txt", []byte(tc.in))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestSameValue(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		a, b float64
		want bool
	}{
		{1, 1, true},
		{1, 1 + 1e-10, true},
		{1, 1 + 1e-8, false},
		{1e12, 1e12 + 100, true},
		{1e12, 1e12 + 10000, false},
		{0, 1e-13, true},
		{0, 1e-6, false},
		{nan, nan, true},
		{nan, series.StaleNaN, true},
		{nan, 0, false},
		{0, nan, false},
		{inf, inf, true},
		{-inf, -inf, true},
		{inf, -inf, false},
		{inf, math.MaxFloat64, false},
		{-1, 1, false},
	}
	for _, tc := range tests {
		if got := sameValue(tc.a, tc.b); got != tc.want {
			t.Errorf("sameValue(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func pt(ls series.Labels, t int64, v float64) series.Point {
	return series.Point{Labels: ls, T: t, V: v}
}

func TestCompareVectors(t *testing.T) {
	a := series.FromStrings("__name__", "up", "instance", "n1")
	b := series.FromStrings("__name__", "up", "instance", "n2")
	c := series.FromStrings("instance", "n3")
	tests := []struct {
		name      string
		want, got series.Vector
		kinds     string
	}{
		{"equal, any order", series.Vector{pt(a, 1, 1), pt(b, 1, 2)}, series.Vector{pt(b, 1, 2), pt(a, 1, 1)}, ""},
		{"both empty", nil, series.Vector{}, ""},
		{"missing", series.Vector{pt(a, 1, 1), pt(b, 1, 2)}, series.Vector{pt(a, 1, 1)}, "missing"},
		{"extra", series.Vector{pt(a, 1, 1)}, series.Vector{pt(a, 1, 1), pt(c, 1, 5)}, "extra"},
		{"value", series.Vector{pt(a, 1, 1)}, series.Vector{pt(a, 1, 1.5)}, "value"},
		{"timestamp", series.Vector{pt(a, 1, 1)}, series.Vector{pt(a, 2, 1)}, "timestamp"},
		{"NaN point only in the engine", nil, series.Vector{pt(c, 1, math.NaN())}, "extra"},
		{"duplicate", series.Vector{pt(a, 1, 1)}, series.Vector{pt(a, 1, 1), pt(a, 1, 1)}, "duplicate"},
		{"name matters", series.Vector{pt(a, 1, 1)}, series.Vector{pt(series.FromStrings("instance", "n1"), 1, 1)}, "missing,extra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var kinds []string
			for _, d := range compareVectors(tc.want, tc.got) {
				kinds = append(kinds, d.Kind)
			}
			if got := strings.Join(kinds, ","); got != tc.kinds {
				t.Errorf("kinds = %q, want %q", got, tc.kinds)
			}
		})
	}
}

// TestParseVMQueryResponse decodes answers captured from VictoriaMetrics
// v1.150.0 (and hand-written odd ones) against golden renderings.
func TestParseVMQueryResponse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "conformance", "vm_responses", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no response fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			status, body := readResponseFixture(t, f)
			got := renderVMResult(parseVMQueryResponse(status, body))
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *conformanceUpdate {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -conformance.update)", err)
			}
			if got != string(want) {
				t.Errorf("%s:\ngot:\n%s\nwant:\n%s", f, got, want)
			}
		})
	}
}

// readResponseFixture reads NAME.STATUS.json.
func readResponseFixture(t testing.TB, path string) (int, []byte) {
	t.Helper()
	parts := strings.Split(filepath.Base(path), ".")
	if len(parts) != 3 {
		t.Fatalf("%s: want NAME.STATUS.json", path)
	}
	status, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatalf("%s: status: %v", path, err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

func renderVMResult(r vmResult, err error) string {
	var b strings.Builder
	switch {
	case err != nil:
		fmt.Fprintf(&b, "bad answer: %v\n", err)
	case r.Err != nil:
		fmt.Fprintf(&b, "query error (executed=%v): %v\n", r.Executed, r.Err)
	default:
		fmt.Fprintf(&b, "%d points\n", len(r.Vec))
		for _, p := range r.Vec {
			fmt.Fprintf(&b, "%s @%d = %v\n", p.Labels, p.T, p.V)
		}
	}
	return b.String()
}

func FuzzParseVMQueryResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "conformance", "vm_responses", "*.json"))
	for _, p := range files {
		status, body := readResponseFixture(f, p)
		f.Add(status, body)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, err := parseVMQueryResponse(status, body)
		if err != nil && (r.Err != nil || r.Vec != nil) {
			t.Fatalf("both a result and an error: %+v, %v", r, err)
		}
		for _, p := range r.Vec {
			for i := 1; i < len(p.Labels); i++ {
				if p.Labels[i-1].Name >= p.Labels[i].Name {
					t.Fatalf("labels not sorted or duplicated: %v", p.Labels)
				}
			}
		}
	})
}

func TestFormatUnixMillis(t *testing.T) {
	for in, want := range map[int64]string{0: "0.000", 1751326200123: "1751326200.123", 5: "0.005", -1500: "-1.500"} {
		if got := formatUnixMillis(in); got != want {
			t.Errorf("formatUnixMillis(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestSnappyLiteralBlock decodes the framing by the snappy block format
// (varint length, then literal elements) at the length boundaries.
func TestSnappyLiteralBlock(t *testing.T) {
	for _, n := range []int{0, 1, 59, 60, 61, 256, 257, 65536, 65537, 200000} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		got, err := decodeSnappyLiterals(snappyLiteralBlock(data))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if string(got) != string(data) {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
}

func decodeSnappyLiterals(b []byte) ([]byte, error) {
	n, k := uvarint(b)
	if k <= 0 {
		return nil, fmt.Errorf("bad length")
	}
	b = b[k:]
	var out []byte
	for len(b) > 0 {
		tag := b[0]
		b = b[1:]
		if tag&3 != 0 {
			return nil, fmt.Errorf("tag %#x is not a literal", tag)
		}
		l := int(tag >> 2)
		if l >= 60 {
			w := l - 59
			if len(b) < w {
				return nil, fmt.Errorf("short literal length")
			}
			l = 0
			for i := w - 1; i >= 0; i-- {
				l = l<<8 | int(b[i])
			}
			b = b[w:]
		}
		l++
		if len(b) < l {
			return nil, fmt.Errorf("short literal: want %d, have %d", l, len(b))
		}
		out = append(out, b[:l]...)
		b = b[l:]
	}
	if uint64(len(out)) != n {
		return nil, fmt.Errorf("decoded %d bytes, header says %d", len(out), n)
	}
	return out, nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i, c := range b {
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

func TestConformanceDataDeterministic(t *testing.T) {
	a, b := generateConformanceData(), generateConformanceData()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("generateConformanceData is not deterministic")
	}
	// The data must keep exercising the corners the corpus relies on.
	var stale, nan, posInf, negInf int
	keys := map[string]bool{}
	for _, s := range a {
		if keys[s.Labels.Key()] {
			t.Errorf("series %s generated twice", s.Labels)
		}
		keys[s.Labels.Key()] = true
		for i, smp := range s.Samples {
			if i > 0 && smp.T <= s.Samples[i-1].T {
				t.Errorf("series %s: sample %d at %d is not after %d", s.Labels, i, smp.T, s.Samples[i-1].T)
			}
			switch {
			case series.IsStaleNaN(smp.V):
				stale++
			case math.IsNaN(smp.V):
				nan++
			case math.IsInf(smp.V, 1):
				posInf++
			case math.IsInf(smp.V, -1):
				negInf++
			}
		}
	}
	if stale < 4 || nan == 0 || posInf == 0 || negInf == 0 {
		t.Errorf("want staleness markers, NaN and ±Inf in the data; got %d stale, %d NaN, %d +Inf, %d -Inf", stale, nan, posInf, negInf)
	}
	if len(a) < 100 {
		t.Errorf("%d series, want at least 100", len(a))
	}
}

func TestBuildReport(t *testing.T) {
	q1 := corpusQuery{Line: 3, Expr: "up", Steps: defaultConfSteps()}
	q2 := corpusQuery{Line: 7, Expr: "foo(up)", Steps: defaultConfSteps()}
	at := confStart.Add(90 * time.Second).UnixMilli()
	all := []disagreement{
		{Query: q1, At: at, Step: time.Minute, Kind: "missing", Detail: `up{instance="n1"} = 1 only in VictoriaMetrics`},
		{Query: q1, At: at, Step: 5 * time.Minute, Kind: "value", Detail: `up{instance="n1"}: VictoriaMetrics 1, engine 0`},
		{Query: q2, At: at, Step: time.Minute, Kind: "unsupported", Detail: "not supported by the embedded engine: foo"},
		{Query: q2, At: at, Step: 5 * time.Minute, Kind: "unsupported", Detail: "not supported by the embedded engine: foo"},
	}
	skipped := []corpusQuery{{Line: 9, Expr: "bar(up)", Skip: true}}
	dataless := []corpusQuery{{Line: 11, Expr: "nonexistent"}}
	got := buildReport(all, 2, 38, 6, skipped, 1500*time.Millisecond, vmTally{Data: 4, Empty: 1, Refused: 1, Points: 9, VMTime: 2 * time.Second, EngineTime: 500 * time.Millisecond}, dataless)
	golden := filepath.Join("testdata", "conformance", "report.golden")
	if *conformanceUpdate {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -conformance.update)", err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s:\n%s", golden, got)
	}
}

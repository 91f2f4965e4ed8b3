package mqlengine

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// base is vmalert-tool's start of input series: 2000-01-01T00:00:00Z.
var base = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// load parses "labels => v v _ v stale" lines: one value per interval from
// base, "_" a gap, "stale" a staleness marker.
func load(t testing.TB, interval time.Duration, text string) *series.Store {
	t.Helper()
	st := series.NewStore()
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		sel, vals, ok := strings.Cut(line, "=>")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		ls := parseLabels(t, strings.TrimSpace(sel))
		for i, f := range strings.Fields(vals) {
			if f == "_" {
				continue
			}
			var v float64
			switch f {
			case "stale":
				v = series.StaleNaN
			default:
				var err error
				v, err = parseFloat(f)
				if err != nil {
					t.Fatalf("bad value %q in %q", f, line)
				}
			}
			ts := base.Add(time.Duration(i) * interval).UnixMilli()
			if err := st.Append(ls, ts, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st
}

// parseLabels parses name{a="b",c="d"} (no commas or quotes in values).
func parseLabels(t testing.TB, s string) series.Labels {
	t.Helper()
	name, rest, _ := strings.Cut(s, "{")
	kv := []string{series.MetricName, name}
	rest = strings.TrimSuffix(rest, "}")
	for _, p := range strings.Split(rest, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			t.Fatalf("bad label %q", p)
		}
		kv = append(kv, k, strings.Trim(v, `"`))
	}
	return series.FromStrings(kv...)
}

func format(v series.Vector) string {
	var b strings.Builder
	for i, p := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Labels.String())
		b.WriteString(" ")
		b.WriteString(formatFloat(p.V))
	}
	return b.String()
}

type engineCase struct {
	name  string
	query string
	at    time.Duration // after base
	step  time.Duration
	want  string // format() of the result, or "error: substring"
}

func runCases(t *testing.T, st *series.Store, cases []engineCase) {
	t.Helper()
	e, err := New(st, Options{Now: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		name := c.name
		if name == "" {
			name = c.query
		}
		t.Run(name, func(t *testing.T) {
			got, err := e.Query(context.Background(), c.query, base.Add(c.at), c.step)
			if want, ok := strings.CutPrefix(c.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("%s at %s: got %v, %v; want error containing %q", c.query, c.at, format(got), err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s at %s: %v", c.query, c.at, err)
			}
			if g := format(got); !sameResult(g, c.want) {
				t.Errorf("%s at %s step %s:\n got %s\nwant %s", c.query, c.at, c.step, g, c.want)
			}
		})
	}
}

// sameResult compares formatted results, numbers to a relative 1e-9.
func sameResult(got, want string) bool {
	g, w := strings.Fields(got), strings.Fields(want)
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i] == w[i] {
			continue
		}
		a, err1 := parseFloat(strings.TrimSuffix(g[i], ";"))
		b, err2 := parseFloat(strings.TrimSuffix(w[i], ";"))
		if err1 != nil || err2 != nil {
			return false
		}
		if math.Abs(a-b) > 1e-9*math.Max(math.Abs(a), math.Abs(b)) {
			return false
		}
	}
	return true
}

func TestVMAlertToolFacts(t *testing.T) {
	st := load(t, time.Minute, `x => 0 1 2 3 _ 5 10 1`)
	runCases(t, st, []engineCase{
		{query: "increase(x[5m])", at: 6 * time.Minute, step: time.Minute, want: "{} 9"},
		{query: "increase(x[5m])", at: 7 * time.Minute, step: time.Minute, want: "{} 9"},
		{query: "time()", at: time.Minute, step: time.Minute, want: "{} 946684860"},
	})
	st = load(t, time.Minute, "y => "+strings.Repeat("1 ", 61))
	runCases(t, st, []engineCase{
		{name: "default step keeps 2m old sample", query: "y", at: 62 * time.Minute, want: `y{} 1`},
		{name: "1m step drops 2m old sample", query: "y", at: 62 * time.Minute, step: time.Minute, want: ``},
	})
}

func TestUnsupported(t *testing.T) {
	var names []string
	names = append(names, unsupportedRollupFuncs...)
	names = append(names, unsupportedTransformFuncs...)
	names = append(names, unsupportedAggrFuncs...)
	for _, name := range names {
		// Find an arity the parser accepts, then expect Check to name the function.
		var err error
		for _, args := range []string{"x", "x[5m]", "1, x", "x, x", "1, x, x", "\"a\", 1, x", ""} {
			q := name + "(" + args + ")"
			if _, perr := parse(q); perr != nil {
				continue
			}
			err = Check(q)
			break
		}
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.Name != name || err.Error() != "not supported by the embedded engine: "+name {
			t.Errorf("Check(%s(...)) = %v, want not supported by the embedded engine: %s", name, err, name)
		}
	}
	for _, q := range []string{"sum(smooth_exponential(x, 0.5))", "abs(timezone_offset(\"UTC\"))"} {
		var ue *UnsupportedError
		if err := Check(q); !errors.As(err, &ue) {
			t.Errorf("Check(%q) = %v, want an *UnsupportedError", q, err)
		}
		e, _ := New(series.NewStore(), Options{})
		if _, err := e.Query(context.Background(), q, base, 0); !errors.As(err, &ue) {
			t.Errorf("Query(%q) = %v, want an *UnsupportedError", q, err)
		}
	}
	for _, q := range []string{"rate(x[5m])", "sum by (a) (x) > 1", "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")"} {
		if err := Check(q); err != nil {
			t.Errorf("Check(%q) = %v, want nil", q, err)
		}
	}
	if err := Check("sum(("); err == nil || errors.As(err, new(*UnsupportedError)) {
		t.Errorf("Check of a parse error = %v, want a parse error", err)
	}
}

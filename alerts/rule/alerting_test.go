package rule

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
)

var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// scripted answers each evaluation with the vector given for that minute
// (nil: empty result; a missing minute: an error).
type scripted map[int]series.Vector

func (s scripted) Query(_ context.Context, expr string, ts time.Time) (series.Vector, error) {
	m := int(ts.Sub(t0) / time.Minute)
	v, ok := s[m]
	if !ok {
		return nil, fmt.Errorf("no data scripted at minute %d", m)
	}
	return v, nil
}

// emptyFrom scripts an empty result for minutes from..to.
func emptyFrom(s scripted, from, to int) scripted {
	for m := from; m <= to; m++ {
		s[m] = nil
	}
	return s
}

func pt(v float64, kv ...string) series.Point {
	return series.Point{Labels: series.FromStrings(kv...), V: v}
}

func vec(ps ...series.Point) series.Vector { return ps }

func newAlertGroup(t *testing.T, r rulefmt.Rule, opts GroupOptions) (*Group, *AlertingRule) {
	t.Helper()
	if r.Expr == "" {
		r.Expr = "up == 0"
	}
	g, err := NewGroup("rules.yaml", rulefmt.Group{Name: "g", Rules: []rulefmt.Rule{r}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return g, g.Rules[0].(*AlertingRule)
}

// TestAlertStateMachine runs one alerting rule minute by minute and checks
// the state of its single alert after each evaluation.
func TestAlertStateMachine(t *testing.T) {
	up := vec(pt(0, "__name__", "up", "job", "a"))
	tests := []struct {
		name   string
		rule   rulefmt.Rule
		script scripted
		want   []string // per minute: "" (no alert) or state[@activeAt-minute]
	}{
		{
			name:   "for 0 fires at once and resolves when absent",
			rule:   rulefmt.Rule{Alert: "A"},
			script: scripted{0: up, 1: up, 2: nil, 3: nil},
			want:   []string{"firing@0", "firing@0", "inactive@0", "inactive@0"},
		},
		{
			name:   "for 2m: pending, then firing after 2m",
			rule:   rulefmt.Rule{Alert: "A", For: 2 * time.Minute},
			script: scripted{0: up, 1: up, 2: up, 3: up},
			want:   []string{"pending@0", "pending@0", "firing@0", "firing@0"},
		},
		{
			name:   "pending alert that disappears is deleted",
			rule:   rulefmt.Rule{Alert: "A", For: 5 * time.Minute},
			script: scripted{0: up, 1: up, 2: nil, 3: up},
			want:   []string{"pending@0", "pending@0", "", "pending@3"},
		},
		{
			name:   "keep_firing_for holds a firing alert",
			rule:   rulefmt.Rule{Alert: "A", KeepFiringFor: 2 * time.Minute},
			script: scripted{0: up, 1: nil, 2: nil, 3: nil, 4: up},
			want:   []string{"firing@0", "firing@0", "firing@0", "inactive@0", "firing@4"},
		},
		{
			name:   "keep_firing_for restarts when the alert comes back",
			rule:   rulefmt.Rule{Alert: "A", KeepFiringFor: 2 * time.Minute},
			script: scripted{0: up, 1: nil, 2: up, 3: nil, 4: nil, 5: nil},
			want:   []string{"firing@0", "firing@0", "firing@0", "firing@0", "firing@0", "inactive@0"},
		},
		{
			name:   "resolved alert comes back as pending with a new activeAt",
			rule:   rulefmt.Rule{Alert: "A", For: time.Minute},
			script: scripted{0: up, 1: up, 2: nil, 3: up, 4: up},
			want:   []string{"pending@0", "firing@0", "inactive@0", "pending@3", "firing@3"},
		},
		{
			name:   "a query error leaves the state unchanged",
			rule:   rulefmt.Rule{Alert: "A", For: 5 * time.Minute},
			script: scripted{0: up, 2: up},
			want:   []string{"pending@0", "pending@0", "pending@0"},
		},
		{
			name: "resolved alerts are dropped after 15m",
			rule: rulefmt.Rule{Alert: "A"},
			// vmalert drops an inactive alert once more than
			// resolvedRetention (15m) passed since it resolved: resolved
			// at minute 1, still there at 16, gone at 17.
			script: emptyFrom(scripted{0: up}, 1, 17),
			want: []string{"firing@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0",
				"inactive@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0", "inactive@0", ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, ar := newAlertGroup(t, tc.rule, GroupOptions{})
			// Every minute of want is evaluated and checked; a minute the
			// script lacks must fail the query.
			for m, want := range tc.want {
				_, errs := g.Eval(context.Background(), tc.script, t0.Add(time.Duration(m)*time.Minute))
				_, scriptedMinute := tc.script[m]
				if scriptedMinute != (len(errs) == 0) {
					t.Fatalf("minute %d: errors %v", m, errs)
				}
				if !scriptedMinute && ar.Health().Err == nil {
					t.Fatalf("minute %d: query error not recorded in health", m)
				}
				got := ""
				if as := ar.Alerts(); len(as) == 1 {
					got = fmt.Sprintf("%s@%d", as[0].State, int(as[0].ActiveAt.Sub(t0)/time.Minute))
				} else if len(as) > 1 {
					t.Fatalf("minute %d: %d alerts", m, len(as))
				}
				if got != want {
					t.Fatalf("minute %d: got %q, want %q", m, got, want)
				}
			}
		})
	}
}

func TestAlertLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		opts   GroupOptions
		in     series.Point
		want   string
	}{
		{
			name: "result labels, rule labels, alertname, alertgroup; __name__ dropped",
			in:   pt(1, "__name__", "up", "job", "a"), labels: map[string]string{"severity": "page"},
			want: `{alertgroup="g", alertname="A", job="a", severity="page"}`,
		},
		{
			name: "a conflicting rule label wins and the result's is exported",
			in:   pt(1, "job", "a"), labels: map[string]string{"job": "b"},
			want: `{alertgroup="g", alertname="A", exported_job="a", job="b"}`,
		},
		{
			name: "Prometheus labelling keeps no exported label",
			in:   pt(1, "job", "a"), labels: map[string]string{"job": "b"},
			opts: GroupOptions{PrometheusLabels: true},
			want: `{alertgroup="g", alertname="A", job="b"}`,
		},
		{
			name: "an empty rule label removes the label",
			in:   pt(1, "job", "a", "instance", "x"), labels: map[string]string{"instance": ""},
			want: `{alertgroup="g", alertname="A", job="a"}`,
		},
		{
			name: "external labels have the lowest priority",
			in:   pt(1, "job", "a"), labels: map[string]string{"cluster": "rule"},
			opts: GroupOptions{Labels: map[string]string{"cluster": "ext", "dc": "x"}},
			want: `{alertgroup="g", alertname="A", cluster="rule", dc="x", job="a"}`,
		},
		{
			name: "alertgroup can be disabled",
			in:   pt(1, "job", "a"),
			opts: GroupOptions{DisableAlertGroupLabel: true},
			want: `{alertname="A", job="a"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, ar := newAlertGroup(t, rulefmt.Rule{Alert: "A", Labels: tc.labels}, tc.opts)
			if _, errs := g.Eval(context.Background(), scripted{0: vec(tc.in)}, t0); len(errs) > 0 {
				t.Fatal(errs)
			}
			as := ar.Alerts()
			if len(as) != 1 {
				t.Fatalf("got %d alerts", len(as))
			}
			if got := as[0].Labels.String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAlertErrors(t *testing.T) {
	t.Run("duplicate after labelling", func(t *testing.T) {
		g, ar := newAlertGroup(t, rulefmt.Rule{Alert: "A", Labels: map[string]string{"job": ""}}, GroupOptions{})
		_, errs := g.Eval(context.Background(), scripted{0: vec(pt(1, "job", "a"), pt(1, "job", "b"))}, t0)
		if len(errs) != 1 || !errors.Is(errs[0], ErrDuplicate) {
			t.Fatalf("got %v, want a duplicate error", errs)
		}
		if len(ar.Alerts()) != 0 {
			t.Fatalf("alerts changed on error: %v", ar.Alerts())
		}
	})
	t.Run("limit", func(t *testing.T) {
		g, ar := newAlertGroup(t, rulefmt.Rule{Alert: "A"}, GroupOptions{})
		g.Limit = 1
		_, errs := g.Eval(context.Background(), scripted{0: vec(pt(1, "job", "a"), pt(1, "job", "b"))}, t0)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "exceeded limit of 1 with 2 alerts") {
			t.Fatalf("got %v, want a limit error", errs)
		}
		if len(ar.Alerts()) != 0 {
			t.Fatalf("alerts kept after limit: %v", ar.Alerts())
		}
	})
}

// TestAlertsSeries checks the ALERTS / ALERTS_FOR_STATE samples, including
// staleness markers on pending→firing and on resolution.
func TestAlertsSeries(t *testing.T) {
	up := vec(pt(0, "__name__", "up", "job", "a"))
	g, _ := newAlertGroup(t, rulefmt.Rule{Alert: "A", For: time.Minute}, GroupOptions{})
	script := scripted{0: up, 1: up, 2: nil}
	want := [][]string{
		{`ALERTS{alertgroup="g", alertname="A", alertstate="pending", job="a"} 1`, `ALERTS_FOR_STATE{alertgroup="g", alertname="A", job="a"} 946684800`},
		{`ALERTS{alertgroup="g", alertname="A", alertstate="pending", job="a"} stale`, `ALERTS{alertgroup="g", alertname="A", alertstate="firing", job="a"} 1`, `ALERTS_FOR_STATE{alertgroup="g", alertname="A", job="a"} 946684800`},
		{`ALERTS{alertgroup="g", alertname="A", alertstate="firing", job="a"} stale`, `ALERTS_FOR_STATE{alertgroup="g", alertname="A", job="a"} stale`},
	}
	for m, w := range want {
		ts := t0.Add(time.Duration(m) * time.Minute)
		pts, errs := g.Eval(context.Background(), script, ts)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		var got []string
		for _, p := range pts {
			if p.T != ts.UnixMilli() {
				t.Fatalf("minute %d: sample at %d, want %d", m, p.T, ts.UnixMilli())
			}
			v := strconv.FormatFloat(p.V, 'f', -1, 64)
			if series.IsStaleNaN(p.V) {
				v = "stale"
			}
			got = append(got, p.Labels.String()+" "+v)
		}
		if strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Fatalf("minute %d:\ngot\n%s\nwant\n%s", m, strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
	}
}

func TestRestore(t *testing.T) {
	g, ar := newAlertGroup(t, rulefmt.Rule{Alert: "A", For: 10 * time.Minute}, GroupOptions{})
	up := vec(pt(0, "job", "a"))
	if _, errs := g.Eval(context.Background(), scripted{0: up}, t0); len(errs) > 0 {
		t.Fatal(errs)
	}
	saved := ar.Alerts()
	_, ar2 := newAlertGroup(t, rulefmt.Rule{Alert: "A", For: 10 * time.Minute}, GroupOptions{})
	ar2.Restore(saved)
	at := t0.Add(10 * time.Minute)
	if _, err := ar2.Eval(context.Background(), scripted{10: up}, at, 0); err != nil {
		t.Fatal(err)
	}
	as := ar2.Alerts()
	if len(as) != 1 || as[0].State != StateFiring || !as[0].ActiveAt.Equal(t0) || !as[0].FiredAt.Equal(at) {
		t.Fatalf("after restore got %+v, want firing since %s", as, t0)
	}
}

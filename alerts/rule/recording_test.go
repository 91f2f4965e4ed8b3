package rule

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

func TestRecording(t *testing.T) {
	tests := []struct {
		name    string
		labels  map[string]string
		script  scripted
		want    [][]string // per minute
		wantErr string
	}{
		{
			name:   "renamed, labels added, stale marker when a series goes",
			labels: map[string]string{"team": "ops"},
			script: scripted{
				0: vec(pt(1, "__name__", "x", "job", "a"), pt(2, "job", "b")),
				1: vec(pt(3, "job", "a")),
			},
			want: [][]string{
				{`r{job="a", team="ops"} 1`, `r{job="b", team="ops"} 2`},
				{`r{job="a", team="ops"} 3`, `r{job="b", team="ops"} stale`},
			},
		},
		{
			name:   "conflicting label exported, empty label removes",
			labels: map[string]string{"job": "x", "instance": ""},
			script: scripted{0: vec(pt(1, "job", "a", "instance", "i"))},
			want:   [][]string{{`r{exported_job="a", job="x"} 1`}},
		},
		{
			name:    "duplicates after relabelling are an error",
			labels:  map[string]string{"job": ""},
			script:  scripted{0: vec(pt(1, "job", "a"), pt(1, "job", "b"))},
			wantErr: ErrDuplicate.Error(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGroup("f", rulefmt.Group{Name: "g", Rules: []rulefmt.Rule{{Record: "r", Expr: "x", Labels: tc.labels}}}, GroupOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for m := 0; m < len(tc.script); m++ {
				pts, errs := g.Eval(context.Background(), tc.script, t0.Add(time.Duration(m)*time.Minute))
				if tc.wantErr != "" {
					if len(errs) != 1 || !errors.Is(errs[0], ErrDuplicate) {
						t.Fatalf("got %v, want %q", errs, tc.wantErr)
					}
					if g.Rules[0].Health().Err == nil {
						t.Fatal("health not marked")
					}
					return
				}
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				var got []string
				for _, p := range pts {
					v := strconv.FormatFloat(p.V, 'f', -1, 64)
					if series.IsStaleNaN(p.V) {
						v = "stale"
					}
					got = append(got, p.Labels.String()+" "+v)
				}
				if strings.Join(got, "\n") != strings.Join(tc.want[m], "\n") {
					t.Fatalf("minute %d:\ngot  %q\nwant %q", m, got, tc.want[m])
				}
			}
		})
	}
}

func TestGroupEvalContinuesAfterError(t *testing.T) {
	g, err := NewGroup("f", rulefmt.Group{Name: "g", Rules: []rulefmt.Rule{
		{Record: "bad", Expr: "bad"},
		{Record: "good", Expr: "good"},
	}}, GroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := QuerierFunc(func(_ context.Context, expr string, _ time.Time) (series.Vector, error) {
		if expr == "bad" {
			return nil, errors.New("boom")
		}
		return vec(pt(1)), nil
	})
	pts, errs := g.Eval(context.Background(), q, t0)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `rule "bad"`) || !strings.Contains(errs[0].Error(), "boom") {
		t.Fatalf("errors: %v", errs)
	}
	if len(pts) != 1 || pts[0].Labels.String() != "good{}" {
		t.Fatalf("points: %v", pts)
	}
}

func TestNewGroupTemplateErrors(t *testing.T) {
	parse := func(name, text string) (Template, error) { return nil, errors.New("bad template") }
	_, err := NewGroup("f", rulefmt.Group{Name: "g", Rules: []rulefmt.Rule{
		{Pos: yamlnode.Pos{File: "f", Line: 3, Col: 5}, Alert: "A", Expr: "1", Annotations: map[string]string{"s": "{{ .x }"}},
	}}, GroupOptions{ParseTemplate: parse})
	if err == nil || !strings.Contains(err.Error(), "f:3:5") || !strings.Contains(err.Error(), "bad template") {
		t.Fatalf("got %v", err)
	}
}

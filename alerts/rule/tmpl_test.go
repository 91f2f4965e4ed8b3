package rule

import (
	"context"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/rulefmt"
)

// TestTemplatesReleasedWhenIdle checks that a rule's templates drop their
// parsed form when its query returns nothing, and render the same once the
// alert comes back.
func TestTemplatesReleasedWhenIdle(t *testing.T) {
	up := vec(pt(0, "__name__", "up", "job", "a", "instance", "h1"))
	script := scripted{0: up, 1: nil, 2: up}
	_, ar := newAlertGroup(t, rulefmt.Rule{
		Alert:       "Down",
		Labels:      map[string]string{"who": "{{ $labels.instance }}-x"},
		Annotations: map[string]string{"summary": "{{ $labels.job }} is {{ $value }}", "plain": "text"},
	}, GroupOptions{ParseTemplate: VMTemplates})
	parsed := func() (n int) {
		for _, fs := range [][]tmplField{ar.labels, ar.annotations} {
			for _, f := range fs {
				if v, ok := f.t.(*vmTemplate); ok && v.parsed.Load() != nil {
					n++
				}
			}
		}
		return n
	}
	if n := parsed(); n != 0 {
		t.Fatalf("after load: %d templates kept parsed, want 0", n)
	}
	var first map[string]string
	for m := 0; m < 3; m++ {
		if _, err := ar.Eval(context.Background(), script, t0.Add(time.Duration(m)*time.Minute), 0); err != nil {
			t.Fatalf("minute %d: %v", m, err)
		}
		switch m {
		case 0, 2:
			if n := parsed(); n != 2 {
				t.Fatalf("minute %d: %d templates parsed, want 2", m, n)
			}
			as := ar.Alerts()
			if len(as) != 1 {
				t.Fatalf("minute %d: %d alerts, want 1", m, len(as))
			}
			if got := as[0].Labels.Get("who"); got != "h1-x" {
				t.Errorf("minute %d: label who = %q, want h1-x", m, got)
			}
			if m == 0 {
				first = as[0].Annotations
			} else if got, want := as[0].Annotations["summary"], first["summary"]; got != want || got != "a is 0" {
				t.Errorf("minute 2: summary %q, first %q, want %q", got, want, "a is 0")
			}
		case 1:
			if n := parsed(); n != 0 {
				t.Fatalf("minute 1 (empty result): %d templates still parsed, want 0", n)
			}
		}
	}
}

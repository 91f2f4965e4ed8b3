package logstream

import (
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func TestAppendSelectPrune(t *testing.T) {
	st := NewStore()
	a := series.FromStrings("job", "app", "host", "a")
	b := series.FromStrings("job", "app", "host", "b")
	for _, e := range []struct {
		ls   series.Labels
		s    int
		line string
	}{
		{a, 10, "x"}, {a, 30, "z"}, {a, 20, "y"}, // out of order: kept, sorted
		{a, 20, "y"},  // exact duplicate: dropped
		{a, 20, "y2"}, // same time, other line: kept
		{b, 5, "b1"}, {b, 40, "b2"},
	} {
		if err := st.Append(e.ls, Entry{T: at(e.s), Line: e.line}); err != nil {
			t.Fatal(err)
		}
	}
	if s := st.Stats(); s.Streams != 2 || s.Entries != 6 || s.Bytes != 9 {
		t.Fatalf("stats %+v, want 2 streams, 6 entries, 9 bytes", s)
	}
	m, err := series.NewMatcher("host", "a", false, false)
	if err != nil {
		t.Fatal(err)
	}
	got := st.Select([]series.Matcher{m}, at(10), at(30))
	if len(got) != 1 {
		t.Fatalf("Select = %v", got)
	}
	var lines []string
	for _, e := range got[0].Entries {
		lines = append(lines, e.Line)
	}
	if want := "x y y2"; joined(lines) != want {
		t.Errorf("entries in [10s, 30s) = %q, want %q", joined(lines), want)
	}
	if n := st.Prune(at(20)); n != 2 {
		t.Errorf("Prune dropped %d, want 2 (x, b1)", n)
	}
	if s := st.Stats(); s.Streams != 2 || s.Entries != 4 || s.Bytes != 6 {
		t.Errorf("after Prune: %+v", s)
	}
	st.Prune(at(100))
	if s := st.Stats(); s != (Stats{}) {
		t.Errorf("after pruning everything: %+v", s)
	}
	if err := st.Append(nil, Entry{T: at(1), Line: "x"}); err == nil {
		t.Error("a stream without labels was accepted")
	}
}

func joined(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

func TestLabelNames(t *testing.T) {
	s := NewStore()
	t0 := time.Unix(1000, 0)
	if err := s.Append(series.FromStrings("job", "a", "unit", "x"), Entry{T: t0, Line: "l"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(series.FromStrings("job", "b", "host", "h"), Entry{T: t0.Add(time.Hour), Line: "l"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.LabelNames(t0, t0.Add(2*time.Hour)), ","); got != "host,job,unit" {
		t.Errorf("LabelNames = %s", got)
	}
	if got := strings.Join(s.LabelNames(t0.Add(time.Minute), t0.Add(2*time.Hour)), ","); got != "host,job" {
		t.Errorf("LabelNames after the first entry = %s, want host,job", got)
	}
}

package lqlengine

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/series"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testStore(t testing.TB) *logstream.Store {
	st := logstream.NewStore()
	add := func(ls series.Labels, at time.Duration, line string) {
		if err := st.Append(ls, logstream.Entry{T: t0.Add(at), Line: line}); err != nil {
			t.Fatal(err)
		}
	}
	a := series.FromStrings("job", "app", "host", "a")
	b := series.FromStrings("job", "app", "host", "b")
	add(a, 10*time.Second, `level=info msg="started" dur=1s size=1KB`)
	add(a, 20*time.Second, `level=error msg="disk failed" dur=250ms size=3KB`)
	add(a, 30*time.Second, `level=error msg="disk failed again" dur=2s size=2KB`)
	add(b, 15*time.Second, `{"level":"warn","host":"x","req":{"ms":12}}`)
	add(b, 25*time.Second, `{"level":"error","host":"y","req":{"ms":30}}`)
	add(b, 35*time.Second, `not json`)
	return st
}

func TestQuery(t *testing.T) {
	e := New(testStore(t))
	at := t0.Add(time.Minute)
	cases := []struct {
		q, want string
	}{
		{`count_over_time({job="app"}[1m])`, `{host="a", job="app"} 3; {host="b", job="app"} 3`},
		{`sum(count_over_time({job="app"} |= "error" [1m]))`, `{} 3`},
		{`sum by (level) (count_over_time({host="a"} | logfmt [1m]))`, `{level="error"} 2; {level="info"} 1`},
		{`sum_over_time({host="a"} | logfmt | unwrap duration(dur) [1m])`, `{host="a", job="app", level="error", msg="disk failed", size="3KB"} 0.25; {host="a", job="app", level="error", msg="disk failed again", size="2KB"} 2; {host="a", job="app", level="info", msg="started", size="1KB"} 1`},
		{`max_over_time({host="a"} | logfmt | unwrap bytes(size) [1m]) by (job)`, `{job="app"} 3000`},
		{`sum by (host_extracted) (count_over_time({host="b"} | json | __error__="" [1m]))`, `{host_extracted="x"} 1; {host_extracted="y"} 1`},
		{`sum(count_over_time({host="b"} | json | req_ms > 20 [1m]))`, `{} 1`},
		{`count_over_time({job="app"} | logfmt | size > 1.5KB [1m])`, `{host="a", job="app", level="error", msg="disk failed again", dur="2s", size="2KB"} 1; {host="a", job="app", level="error", msg="disk failed", dur="250ms", size="3KB"} 1`},
		// Loki's parser hints: under sum() without by, the json parser
		// extracts nothing, so the malformed line is no error.
		{`sum(count_over_time({host="b"} | json [1m]))`, `{} 3`},
		// a line_format no later stage reads is dropped, broken or not
		{`sum(count_over_time({host="a"} | line_format "{{.x" [1m]))`, `{} 3`},
		{`vector(2) * 3`, `{} 6`},
		{`1 + 2`, `{} 3`},
	}
	for _, c := range cases {
		v, err := e.QueryVector(context.Background(), c.q, at)
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got := render(v); got != normalize(c.want) {
			t.Errorf("%s:\n got %s\nwant %s", c.q, got, normalize(c.want))
		}
	}
	_, err := e.QueryVector(context.Background(), `count_over_time({host="b"} | json [1m])`, at)
	var pe *PipelineError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "JSONParserErr") {
		t.Errorf("malformed JSON without __error__ filter: %v, want a pipeline error", err)
	}
	if err := Check(`count_over_time({host="a"} | line_format "{{.x" |= "y" [1m])`); err == nil || !strings.Contains(err.Error(), "unclosed action") {
		t.Errorf("Check of a used broken template: %v", err)
	}
	if err := Check(`count_over_time({host="a"} | line_format "{{.x" [1m])`); err != nil {
		t.Errorf("Check of an unused broken template: %v (Loki accepts it)", err)
	}
	_, err = e.QueryVector(context.Background(), `{job="app"}`, at)
	if !errors.Is(err, ErrLogQuery) {
		t.Errorf("log query through QueryVector: %v", err)
	}
}

func render(v series.Vector) string {
	var parts []string
	for _, p := range v {
		parts = append(parts, p.Labels.String()+" "+formatFloat(p.V))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func normalize(s string) string {
	var parts []string
	for _, p := range strings.Split(s, "; ") {
		i := strings.LastIndex(p, " ")
		ls, err := ParseLabels(p[:i])
		if err != nil {
			panic(err)
		}
		parts = append(parts, ls.String()+p[i:])
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

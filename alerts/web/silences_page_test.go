package web

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/silence"
)

// The silences listing on the status page escapes every value an
// operator or API client controls: matchers, author and comment.
func TestStatusPageSilencesEscaped(t *testing.T) {
	hostile := `<script>alert(1)</script>"' onmouseover=x`
	store, err := silence.Open(silence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ms := []silence.Matcher{
		{Name: "alertname", Value: hostile, IsEqual: true},
		{Name: "host", Value: "<b>nas</b>|&amp;", IsRegex: true, IsEqual: true},
	}
	id, err := store.Add(silence.Silence{Matchers: ms, EndsAt: time.Now().Add(time.Hour), CreatedBy: hostile, Comment: hostile + "\n<img src=x onerror=y>"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Evaluator: &fakeEval{st: fixedStatus(), ready: true}, Gatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Silences: store})
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, h, "GET", "/")
	if rec.Code != 200 {
		t.Fatalf("GET /: %d", rec.Code)
	}
	page := rec.Body.String()
	for _, bad := range []string{"<script>", `" onmouseover`, "<img", "<b>nas"} {
		if strings.Contains(page, bad) {
			t.Errorf("hostile value rendered unescaped (%q) in:\n%s", bad, page)
		}
	}
	for _, want := range []string{
		id,
		"&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39; onmouseover=x", // author and comment
		"&lt;img src=x onerror=y&gt;",                                   // comment
		"&lt;b&gt;nas&lt;/b&gt;|&amp;amp;",                              // regex matcher value
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if n := strings.Count(page, "&lt;script&gt;alert(1)&lt;/script&gt;"); n != 3 {
		t.Errorf("hostile value shown escaped %d times, want 3 (matcher, author, comment)", n)
	}
}

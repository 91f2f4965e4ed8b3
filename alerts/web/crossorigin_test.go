package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/silence"
	"github.com/hlalert/hlalert/internal/authuser"
)

// A page on another site open in the operator's browser cannot reload the
// config or create or expire silences; the CLI and same-origin pages can.
func TestCrossOriginRefused(t *testing.T) {
	store, err := silence.Open(silence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEval{st: fixedStatus(), ready: true}
	h, err := New(Options{Evaluator: f, Gatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Silences: store})
	if err != nil {
		t.Fatal(err)
	}
	const body = `{"matchers":"alertname=\"DiskTooHot\"","duration":"1h","createdBy":"ops","comment":"fan swap"}`
	req := func(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r.Host = "127.0.0.1:8880"
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	oldBrowser := map[string]string{"Origin": "https://evil.example"} // no Sec-Fetch-Site
	for _, hdr := range []map[string]string{crossSite, oldBrowser, {"Sec-Fetch-Site": "same-site"}} {
		if rec := req("POST", "/api/v1/silences", hdr); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "cross-origin POST /api/v1/silences refused") {
			t.Errorf("%v: POST silences %d %q, want 403", hdr, rec.Code, rec.Body)
		}
		if rec := req("POST", "/-/reload", hdr); rec.Code != http.StatusForbidden {
			t.Errorf("%v: POST /-/reload %d, want 403", hdr, rec.Code)
		}
	}
	if l, _ := store.List(); len(l) != 0 || f.reloads != 0 {
		t.Fatalf("refused requests took effect: %d silences, %d reloads", len(l), f.reloads)
	}
	// Same origin (a page of hlalert itself) and no browser at all pass.
	rec := req("POST", "/api/v1/silences", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8880"})
	if rec.Code != 200 {
		t.Fatalf("same-origin POST: %d %s", rec.Code, rec.Body)
	}
	if rec := req("POST", "/api/v1/silences", nil); rec.Code != 200 {
		t.Fatalf("CLI POST: %d %s", rec.Code, rec.Body)
	}
	l, _ := store.List()
	if len(l) != 2 {
		t.Fatalf("%d silences, want 2", len(l))
	}
	if rec := req("DELETE", "/api/v1/silence/"+l[0].ID, crossSite); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site DELETE: %d, want 403", rec.Code)
	}
	if s, _ := store.Get(l[0].ID); s.State(s.UpdatedAt) == silence.StateExpired {
		t.Error("a cross-site DELETE expired the silence")
	}
	// Reading stays open to other origins (Grafana, Homepage).
	if rec := req("GET", "/api/v1/alerts", crossSite); rec.Code != 200 {
		t.Errorf("cross-site GET: %d", rec.Code)
	}
}

// The status page shows the silence's createdBy and, when the daemon
// checks passwords, the user who was signed in; createdBy defaults to it.
func TestStatusPageShowsAuthenticatedUser(t *testing.T) {
	store, err := silence.Open(silence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Evaluator: &fakeEval{st: fixedStatus(), ready: true}, Gatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Silences: store})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{
		`{"matchers":"alertname=\"A\"","duration":"1h","createdBy":"night shift <b>","comment":"c"}`,
		`{"matchers":"alertname=\"B\"","duration":"1h","comment":"c"}`,
	} {
		r := httptest.NewRequest("POST", "/api/v1/silences", strings.NewReader(b))
		r = r.WithContext(authuser.With(r.Context(), "alice"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			t.Fatalf("POST: %d %s", rec.Code, rec.Body)
		}
	}
	page := do(t, h, "GET", "/").Body.String()
	for _, want := range []string{
		"<td>night shift &lt;b&gt; <small>(signed in as alice)</small></td>",
		"<td>alice <small>(signed in as alice)</small></td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
}

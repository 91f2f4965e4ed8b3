package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/alert"
)

// The paths VictoriaMetrics forwards with -vmalert.proxyURL (see
// alerts/daemon's TestVMAlertProxy for the real VictoriaMetrics).
func TestVMAlertPaths(t *testing.T) {
	f := &fakeEval{ready: true, st: alert.Status{Groups: []alert.GroupStatus{
		{Name: "homelab", Type: "metricsql"}, {Name: "journal", Type: "logql"}, {Name: "hlalert", Type: "builtin"},
	}}}
	h, err := New(Options{Evaluator: f, Gatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	groups := func(rec *httptest.ResponseRecorder) []string {
		var r struct {
			Data struct {
				Groups []struct{ Name string } `json:"groups"`
			} `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", rec.Body, err)
		}
		var out []string
		for _, g := range r.Data.Groups {
			out = append(out, g.Name)
		}
		return out
	}
	for path, want := range map[string][]string{
		"/api/v1/rules":                                  {"homelab", "journal", "hlalert"},
		"/vmalert/api/v1/rules":                          {"homelab", "journal", "hlalert"},
		"/api/v1/rules?datasource_type=prometheus":       {"homelab", "hlalert"},
		"/vmalert/api/v1/rules?datasource_type=logql":    {"journal"},
		"/vmalert/api/v1/rules?datasource_type=graphite": nil,
	} {
		rec := get(path)
		if rec.Code != http.StatusOK || !slices.Equal(groups(rec), want) {
			t.Errorf("%s: %d groups %v, want %v", path, rec.Code, groups(rec), want)
		}
	}
	if rec := get("/api/v1/alerts?datasource_type=nope"); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown datasource_type: %d %s", rec.Code, rec.Body)
	}
	for _, p := range []string{"/api/v1/notifiers", "/vmalert/api/v1/notifiers"} {
		if rec := get(p); rec.Code != http.StatusOK || rec.Body.String() != `{"status":"success","data":{"notifiers":[]}}`+"\n" {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
	if rec := get("/vmalert"); rec.Code != http.StatusFound || rec.Header().Get("Location") != "vmalert/" {
		t.Errorf("/vmalert: %d %v", rec.Code, rec.Header())
	}
	for _, p := range []string{"/vmalert/", "/vmalert/groups", "/rules"} {
		if rec := get(p); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: %d %v", p, rec.Code, rec.Header())
		}
	}
}

package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/notify"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/internal/golden"
)

type fakeEval struct {
	st        alert.Status
	ready     bool
	reloadErr error
	reloads   int
}

func (f *fakeEval) Status() alert.Status { return f.st }
func (f *fakeEval) Ready() bool          { return f.ready }
func (f *fakeEval) Reload(ctx context.Context) error {
	f.reloads++
	return f.reloadErr
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixedStatus is a status with every kind of rule and alert state.
func fixedStatus() alert.Status {
	return alert.Status{
		ConfigLoaded:    t0.Add(-time.Hour),
		LastReloadError: "",
		Datasources: []alert.DatasourceStatus{
			{Name: "victoriametrics", Kind: "victoriametrics", URL: "http://vm:8428", Up: true},
			{Name: "loki", Kind: "loki", URL: "http://loki:3100", Up: false, ConsecutiveFailures: 3, LastError: "dial tcp: connection refused"},
		},
		Groups: []alert.GroupStatus{
			{
				Name: "backups", File: "/etc/hlalert/rules/backups.yaml", Type: "prometheus",
				Interval: time.Minute, LastEval: t0, LastDuration: 25 * time.Millisecond,
				Rules: []alert.RuleStatus{
					{
						Name: "BackupStale", Kind: "alerting", Expr: `time() - backup_last_success_timestamp_seconds > 86400`,
						Health: "ok", LastEval: t0, For: 10 * time.Minute, KeepFiringFor: 5 * time.Minute,
						Labels:      map[string]string{"severity": "page"},
						Annotations: map[string]string{"summary": "backup {{ $labels.repo }} is stale"},
						Alerts: []alert.Alert{
							{
								Labels:      series.FromStrings("alertname", "BackupStale", "alertgroup", "backups", "repo", "nas", "severity", "page"),
								Annotations: map[string]string{"summary": "backup nas is stale"},
								State:       alert.StateFiring, ActiveAt: t0.Add(-20 * time.Minute), FiredAt: t0.Add(-10 * time.Minute),
								LastValue: 90061.5,
							},
							{
								Labels:      series.FromStrings("alertname", "BackupStale", "alertgroup", "backups", "repo", "photos", "severity", "page"),
								Annotations: map[string]string{"summary": "backup photos is stale"},
								State:       alert.StatePending, ActiveAt: t0.Add(-2 * time.Minute), LastValue: 86500,
							},
							{
								Labels:      series.FromStrings("alertname", "BackupStale", "alertgroup", "backups", "repo", "old", "severity", "page"),
								Annotations: map[string]string{"summary": "resolved, retained"},
								State:       alert.StateInactive, ActiveAt: t0.Add(-time.Hour), ResolvedAt: t0.Add(-5 * time.Minute), LastValue: 1,
							},
						},
					},
					{
						Name: "job:backup_age_seconds:max", Kind: "recording", Expr: `max by (job) (time() - backup_last_success_timestamp_seconds)`,
						Health: "ok", LastEval: t0, Labels: map[string]string{"team": "home"},
					},
				},
			},
			{
				Name: "disks", File: "/etc/hlalert/rules/disks.yaml", Type: "prometheus",
				Interval: 30 * time.Second, LastEval: t0.Add(-10 * time.Second), LastDuration: time.Second, Missed: 2,
				Rules: []alert.RuleStatus{
					{
						Name: "ZpoolDegraded", Kind: "alerting", Expr: `zfs_pool_healthy == 0`,
						Health: "err", LastError: "query: dial tcp 10.0.0.2:8428: connection refused", LastEval: t0.Add(-10 * time.Second),
					},
					{
						Name: "NeverRan", Kind: "recording", Expr: `sum(up)`, Health: "",
					},
				},
			},
		},
	}
}

func newHandler(t *testing.T, f *fakeEval) http.Handler {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "hlalert_test_total", Help: "test counter"})
	reg.MustRegister(c)
	c.Add(3)
	h, err := New(Options{Evaluator: f, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestAPIGolden(t *testing.T) {
	tests := []struct {
		name, target string
		code         int
	}{
		{"rules", "/api/v1/rules", 200},
		{"rules_alert", "/api/v1/rules?type=alert", 200},
		{"rules_record", "/api/v1/rules?type=record", 200},
		{"rules_bad_type", "/api/v1/rules?type=bogus", 400},
		{"rules_by_name", "/api/v1/rules?rule_name[]=ZpoolDegraded&rule_name[]=BackupStale&exclude_alerts=true", 200},
		{"rules_by_group_file", "/api/v1/rules?rule_group[]=backups&rule_group[]=disks&file[]=/etc/hlalert/rules/disks.yaml", 200},
		{"rules_bad_param", "/api/v1/rules?match[]=up", 400},
		{"rules_bad_exclude", "/api/v1/rules?exclude_alerts=maybe", 400},
		{"alerts", "/api/v1/alerts", 200},
		{"alerts_empty", "/api/v1/alerts?cachebuster=1#empty", 200},
		{"rules_empty", "/api/v1/rules?cachebuster=1#empty", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEval{st: fixedStatus(), ready: true}
			if strings.HasSuffix(tc.target, "#empty") {
				f.st = alert.Status{}
			}
			rec := do(t, newHandler(t, f), "GET", tc.target)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, rec.Body.Bytes(), "", "  "); err != nil {
				t.Fatalf("response is not JSON: %v\n%s", err, rec.Body)
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".json"), pretty.Bytes())
		})
	}
}

// TestAPIShape decodes the answers with the field names Grafana's
// Prometheus client reads, so a renamed field fails here even after -update.
func TestAPIShape(t *testing.T) {
	h := newHandler(t, &fakeEval{st: fixedStatus(), ready: true})
	var rules struct {
		Status string `json:"status"`
		Data   struct {
			Groups []struct {
				Name, File     string
				Interval       float64
				EvaluationTime float64
				LastEvaluation time.Time
				Rules          []map[string]any
			}
		}
	}
	if err := json.Unmarshal(do(t, h, "GET", "/api/v1/rules").Body.Bytes(), &rules); err != nil {
		t.Fatal(err)
	}
	if rules.Status != "success" || len(rules.Data.Groups) != 2 {
		t.Fatalf("got %+v", rules)
	}
	g := rules.Data.Groups[0]
	if g.Interval != 60 || g.EvaluationTime != 0.025 || !g.LastEvaluation.Equal(t0) {
		t.Errorf("group fields: %+v", g)
	}
	ar := g.Rules[0]
	for k, want := range map[string]any{"type": "alerting", "state": "firing", "health": "ok", "duration": 600.0, "keepFiringFor": 300.0, "name": "BackupStale"} {
		if ar[k] != want {
			t.Errorf("alerting rule %s = %v, want %v", k, ar[k], want)
		}
	}
	alerts := ar["alerts"].([]any)
	if len(alerts) != 2 {
		t.Fatalf("want the firing and the pending alert (not the resolved one), got %v", alerts)
	}
	first := alerts[0].(map[string]any)
	if first["value"] != "9.00615e+04" || first["state"] != "firing" || first["activeAt"] != "2026-03-01T11:40:00Z" {
		t.Errorf("alert: %v", first)
	}
	if rr := g.Rules[1]; rr["type"] != "recording" || rr["alerts"] != nil || rr["state"] != nil {
		t.Errorf("recording rule: %v", rr)
	}
	bad := rules.Data.Groups[1].Rules[0]
	if a, ok := bad["alerts"].([]any); !ok || len(a) != 0 {
		t.Errorf("an alerting rule without alerts must have \"alerts\": [], got %#v", bad["alerts"])
	}
	if bad["health"] != "err" || !strings.Contains(bad["lastError"].(string), "connection refused") {
		t.Errorf("unhealthy rule: %v", bad)
	}
	if never := rules.Data.Groups[1].Rules[1]; never["health"] != "unknown" {
		t.Errorf("never evaluated rule: %v", never)
	}
}

func TestProbes(t *testing.T) {
	f := &fakeEval{}
	h := newHandler(t, f)
	if rec := do(t, h, "GET", "/-/healthy"); rec.Code != 200 {
		t.Errorf("/-/healthy: %d", rec.Code)
	}
	if rec := do(t, h, "GET", "/-/ready"); rec.Code != 503 {
		t.Errorf("/-/ready before ready: %d, want 503", rec.Code)
	}
	f.ready = true
	if rec := do(t, h, "GET", "/-/ready"); rec.Code != 200 {
		t.Errorf("/-/ready when ready: %d", rec.Code)
	}
	if rec := do(t, h, "GET", "/nope"); rec.Code != 404 {
		t.Errorf("/nope: %d, want 404", rec.Code)
	}
	rec := do(t, h, "GET", "/metrics")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "hlalert_test_total 3") {
		t.Errorf("/metrics: %d\n%s", rec.Code, rec.Body)
	}
}

func TestReload(t *testing.T) {
	f := &fakeEval{ready: true}
	h := newHandler(t, f)
	if rec := do(t, h, "GET", "/-/reload"); rec.Code != http.StatusMethodNotAllowed || f.reloads != 0 {
		t.Errorf("GET /-/reload: %d (reloads %d), want 405 and no reload", rec.Code, f.reloads)
	}
	if rec := do(t, h, "POST", "/-/reload"); rec.Code != 200 || f.reloads != 1 {
		t.Errorf("POST /-/reload: %d (reloads %d)", rec.Code, f.reloads)
	}
	f.reloadErr = errors.New(`rules/disks.yaml:3:5: unknown field "exprr"`)
	rec := do(t, h, "POST", "/-/reload")
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 500 || !strings.Contains(string(body), `rules/disks.yaml:3:5: unknown field "exprr"`) {
		t.Errorf("failed reload: %d %q", rec.Code, body)
	}
}

func TestStatusPage(t *testing.T) {
	f := &fakeEval{st: fixedStatus(), ready: true}
	f.st.LastReloadError = "rules/x.yaml:1:1: bad"
	rec := do(t, newHandler(t, f), "GET", "/")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	for _, want := range []string{
		"BackupStale", "job:backup_age_seconds:max", "ZpoolDegraded", // rules
		"connection refused",                // rule last error and datasource error
		`repo="nas"`,                        // active alert labels
		"backup photos is stale",            // annotations
		"2026-03-01T11:40:00Z",              // activeAt
		"rules/x.yaml:1:1: bad",             // reload error
		"1 firing, 1 pending",               // counts
		"2 missed iterations",               // missed
		"<td>90061.5</td>",                  // value
		"http://loki:3100", "down", "never", // datasource, never-evaluated rule
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(page, "resolved, retained") {
		t.Error("status page lists a resolved alert as active")
	}
	if strings.Contains(page, "<script") {
		t.Error("status page has JavaScript")
	}
}

func TestStatusPageEscapes(t *testing.T) {
	hostile := `<script>alert(1)</script>"' onmouseover=x`
	st := fixedStatus()
	g := &st.Groups[0]
	g.Name = hostile
	g.Rules[0].Name = hostile
	g.Rules[0].LastError = hostile
	g.Rules[0].Expr = hostile
	a := &g.Rules[0].Alerts[0]
	a.Labels = series.FromStrings("alertname", hostile, "host", hostile)
	a.Annotations = map[string]string{hostile: hostile}
	st.Datasources[0].URL = hostile
	st.LastReloadError = hostile
	rec := do(t, newHandler(t, &fakeEval{st: st, ready: true}), "GET", "/")
	page := rec.Body.String()
	if strings.Contains(page, "<script>") || strings.Contains(page, `" onmouseover`) {
		t.Fatalf("hostile value rendered unescaped:\n%s", page)
	}
	if n := strings.Count(page, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 8 {
		t.Errorf("want the hostile value escaped everywhere it is shown (>= 8 times), got %d", n)
	}
}

type fakeIntegrations []notify.IntegrationStatus

func (f fakeIntegrations) IntegrationStatus() []notify.IntegrationStatus { return f }

// TestStatusPageIntegrations: each integration's state, counts, last
// success, next retry and last error (escaped) are on the page.
func TestStatusPageIntegrations(t *testing.T) {
	ok := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	ints := fakeIntegrations{
		{Receiver: "ops", Integration: "alertmanager", Attempts: 7, Failures: 5, ConsecutiveFailures: 3,
			LastSuccess: ok, RetryAt: ok.Add(4 * time.Minute), LastError: `POST http://am/api/v2/alerts: 503 <busy>`},
		{Receiver: "ops", Integration: "email[0]", Attempts: 2, LastSuccess: ok.Add(time.Minute)},
	}
	reg := prometheus.NewRegistry()
	h, err := New(Options{Evaluator: &fakeEval{st: fixedStatus(), ready: true}, Gatherer: reg, Logger: slog.New(slog.DiscardHandler), Integrations: ints})
	if err != nil {
		t.Fatal(err)
	}
	page := do(t, h, "GET", "/").Body.String()
	for _, want := range []string{
		`<tr><td>ops</td><td>alertmanager</td><td><span class="err">failing</span></td><td>7</td><td>5</td><td>3</td><td>2026-03-01T11:00:00Z</td><td>2026-03-01T11:04:00Z</td><td><code class="err">POST http://am/api/v2/alerts: 503 &lt;busy&gt;</code></td></tr>`,
		`<tr><td>ops</td><td>email[0]</td><td><span class="ok">ok</span></td><td>2</td><td>0</td><td>0</td><td>2026-03-01T11:01:00Z</td><td>none</td><td></td></tr>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks\n%s\npage:\n%s", want, page)
		}
	}
	if page := do(t, newHandler(t, &fakeEval{st: fixedStatus(), ready: true}), "GET", "/").Body.String(); !strings.Contains(page, "No notification pipeline.") {
		t.Error("a page without integrations does not say so")
	}
}

func TestOptionsValidate(t *testing.T) {
	_, err := New(Options{ReloadTimeout: -1})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"Evaluator is required", "Gatherer is required", "ReloadTimeout must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

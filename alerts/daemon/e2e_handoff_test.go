package daemon

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
)

// amStandIn stands in for an Alertmanager that refuses alerts: it
// answers every POST /api/v2/alerts with the status set, and counts.
type amStandIn struct {
	mu     sync.Mutex
	status int
	got    map[int]int // requests answered, by status
	bodies []string
}

func (a *amStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	a.got[a.status]++
	a.bodies = append(a.bodies, string(body))
	http.Error(w, http.StatusText(a.status), a.status)
}

func (a *amStandIn) set(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status = status
}

func (a *amStandIn) count(status int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got[status]
}

// scrapeMetric reads one sample of the daemon's /metrics (-1: absent).
func scrapeMetric(t *testing.T, url, name string, labels map[string]string) float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(get(t, url+"/metrics")))
	if err != nil {
		t.Fatal(err)
	}
	mf := mfs[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return -1
}

// TestEndToEndHandoffFailureDoesNotBlockEmail runs the whole daemon with
// e-mail to a real Mailpit and an Alertmanager hand-off to a stand-in
// that answers 503, then 400: every mail arrives on time while the
// hand-off fails; its failures are counted on /metrics and shown on the
// status page; the 503s are retried with backoff and the 400 is not.
func TestEndToEndHandoffFailureDoesNotBlockEmail(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a real Mailpit")
	}
	t.Parallel()
	const (
		groupWait = 1 * time.Second
		early     = 300 * time.Millisecond
		jitter    = 2500 * time.Millisecond
	)
	mp := realserver.StartMailpit(t)
	tg := &series{}
	srv := httptest.NewServer(tg)
	defer srv.Close()
	tg.set(`first{host="a"}`, 0)
	tg.set(`second{host="a"}`, 0)
	am := &amStandIn{status: http.StatusServiceUnavailable, got: map[int]int{}}
	amSrv := httptest.NewServer(am)
	defer amSrv.Close()

	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yaml"), `groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: First
        expr: first > 0
      - alert: Second
        expr: second > 0
`)
	write(t, filepath.Join(dir, "alertmanager.yml"), fmt.Sprintf(`route:
  receiver: ops
  group_by: [alertname]
  group_wait: %s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: ops
    email_configs:
      - {to: op@home.example, from: hlalert@nas.home.example, smarthost: %s, require_tls: false}
`, groupWait, mp.SMTPAddr))
	write(t, filepath.Join(dir, "hlalert.yaml"), fmt.Sprintf(`datasource:
  embedded:
    targets:
      - {job: e2e, url: "%s/metrics", interval: 1s, timeout: 1s}
rule_files: [rules.yaml]
evaluation_interval: 1s
query_step: 5s
notify:
  routing_file: alertmanager.yml
  alertmanager_handoff: {urls: ["%s"], timeout: 2s}
`, srv.URL, amSrv.URL))
	log := newSyncBuffer()
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", log.String())
		}
	}()
	run := start(t, filepath.Join(dir, "hlalert.yaml"), log)
	handoff := map[string]string{"receiver": "ops", "integration": "alertmanager"}
	mail := map[string]string{"receiver": "ops", "integration": "email[0]"}
	if v := scrapeMetric(t, run.url, "hlalert_notifications_failed_total", handoff); v != 0 {
		t.Errorf("hand-off failures at start-up = %v, want a series at 0", v)
	}

	// 503: the mail arrives group_wait after the alert became active,
	// while the hand-off is being retried.
	tg.set(`first{host="a"}`, 1)
	m1 := waitPrefix(t, mp, "[FIRING:1] First", 1, 15*time.Second)[0]
	between(t, "first mail after the alert became active (hand-off answering 503)", m1.Created.Sub(activeAt(t, run.url, "First")), groupWait-early, groupWait+jitter)
	waitLog(t, log, 2, "notification failed; will retry")
	if n := am.count(http.StatusServiceUnavailable); n < 2 {
		t.Errorf("the stand-in answered %d requests with 503, want the hand-off retried", n)
	}
	if !strings.Contains(am.bodies[0], `"alertname":"First"`) {
		t.Errorf("hand-off body %s lacks the alert", am.bodies[0])
	}

	// 400: refused, not retried; the next alert's mail is on time too.
	am.set(http.StatusBadRequest)
	tg.set(`second{host="a"}`, 1)
	m2 := waitPrefix(t, mp, "[FIRING:1] Second", 1, 15*time.Second)[0]
	between(t, "second mail after its alert became active (hand-off answering 400)", m2.Created.Sub(activeAt(t, run.url, "Second")), groupWait-early, groupWait+jitter)
	waitLog(t, log, 2, "notification refused; not retried")
	refused := am.count(http.StatusBadRequest)
	time.Sleep(5 * time.Second) // a few group_interval ticks and retry waits
	if n := am.count(http.StatusBadRequest); n != refused {
		t.Errorf("the stand-in answered %d requests with 400, then %d more: a refused hand-off was retried", refused, n-refused)
	}
	if n := len(mpAll(t, mp)); n != 2 {
		t.Errorf("Mailpit holds %d mails, want 2 (one per alert group)", n)
	}

	// Counted on /metrics: attempts, failures, last success.
	requests := am.count(http.StatusServiceUnavailable) + am.count(http.StatusBadRequest)
	failed := scrapeMetric(t, run.url, "hlalert_notifications_failed_total", handoff)
	attempts := scrapeMetric(t, run.url, "hlalert_notification_attempts_total", handoff)
	// amhandoff tries each Alertmanager up to 3 times per attempt (not 4xx).
	if failed < 3 || failed != attempts || float64(requests) < failed {
		t.Errorf("hand-off attempts %v failures %v for %d requests answered with errors", attempts, failed, requests)
	}
	if v := scrapeMetric(t, run.url, "hlalert_notification_last_success_timestamp_seconds", handoff); v != 0 {
		t.Errorf("hand-off last success %v, want 0", v)
	}
	if v := scrapeMetric(t, run.url, "hlalert_notifications_failed_total", mail); v != 0 {
		t.Errorf("e-mail failures %v, want 0", v)
	}
	if v := scrapeMetric(t, run.url, "hlalert_notification_last_success_timestamp_seconds", mail); v < float64(m1.Created.Add(-time.Minute).Unix()) {
		t.Errorf("e-mail last success %v, want about %v", v, m1.Created.Unix())
	}
	page := get(t, run.url+"/")
	if !strings.Contains(page, `<td>ops</td><td>alertmanager</td><td><span class="err">failing</span>`) || !strings.Contains(page, "400 Bad Request") {
		t.Errorf("status page does not show the failing hand-off:\n%s", page)
	}
	if !strings.Contains(page, `<td>ops</td><td>email[0]</td><td><span class="ok">ok</span>`) {
		t.Errorf("status page does not show the working e-mail integration:\n%s", page)
	}
}

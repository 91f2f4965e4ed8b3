package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
)

// series is a scrape target serving gauges the test sets by their full
// series text (`name{labels}`).
type series struct {
	mu sync.Mutex
	v  map[string]int
}

func (s *series) set(name string, v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v == nil {
		s.v = map[string]int{}
	}
	s.v[name] = v
}

func (s *series) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.v))
	for n := range s.v {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s %d\n", n, s.v[n])
	}
}

type mpAddr struct{ Address string }

type mpFull struct {
	ID, MessageID, Subject string
	Created                time.Time
	To                     []mpAddr
}

func mpAll(t *testing.T, mp *realserver.Server) []mpFull {
	t.Helper()
	var out struct{ Messages []mpFull }
	mpGet(t, mp, "/api/v1/messages?limit=500", &out)
	sort.Slice(out.Messages, func(i, j int) bool { return out.Messages[i].Created.Before(out.Messages[j].Created) })
	return out.Messages
}

func withPrefix(ms []mpFull, prefix string) []mpFull {
	var out []mpFull
	for _, m := range ms {
		if strings.HasPrefix(m.Subject, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// waitPrefix polls Mailpit until n messages have a subject starting with
// prefix (failing on more) and returns them oldest first.
func waitPrefix(t *testing.T, mp *realserver.Server, prefix string, n int, within time.Duration) []mpFull {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := withPrefix(mpAll(t, mp), prefix)
		if len(got) > n {
			t.Fatalf("%d mails %q…, want %d: %+v", len(got), prefix, n, got)
		}
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails %q… after %s, want %d", len(got), prefix, within, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// between fails unless lo <= d <= hi.
func between(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	t.Logf("%s = %s (bounds [%s, %s])", what, d, lo, hi)
	if d < lo || d > hi {
		t.Errorf("%s = %s, want within [%s, %s]", what, d, lo, hi)
	}
}

func activeAt(t *testing.T, url, alertname string) time.Time {
	t.Helper()
	var out struct {
		Data struct {
			Alerts []struct {
				Labels   map[string]string
				State    string
				ActiveAt time.Time
			}
		}
	}
	if err := json.Unmarshal([]byte(get(t, url+"/api/v1/alerts")), &out); err != nil {
		t.Fatal(err)
	}
	var first time.Time
	for _, a := range out.Data.Alerts {
		if a.Labels["alertname"] == alertname && (first.IsZero() || a.ActiveAt.Before(first)) {
			first = a.ActiveAt
		}
	}
	if first.IsZero() {
		t.Fatalf("no active alert %s", alertname)
	}
	return first
}

// TestEndToEndTimingInhibitReload runs the whole daemon against a real
// Mailpit with a routing file of short timings and checks, from the
// mails' arrival times, that group_wait, group_interval and
// repeat_interval are honoured; that inhibit_rules suppress a target
// alert with equal labels (and only that one); and that POST /-/reload
// applies a good routing file and rejects a bad one, keeping the old.
func TestEndToEndTimingInhibitReload(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a real Mailpit")
	}
	t.Parallel()
	const (
		groupWait      = 1 * time.Second
		groupInterval  = 3 * time.Second
		repeatInterval = 6 * time.Second
		// jitter bounds scheduling delays: evaluation and scrape run
		// every second, delivery is a local SMTP round trip.
		early  = 300 * time.Millisecond // a timer never fires this much early
		jitter = 2500 * time.Millisecond
	)
	mp := realserver.StartMailpit(t)
	tg := &series{}
	srv := httptest.NewServer(tg)
	defer srv.Close()
	tg.set(`timing{host="a"}`, 0)
	tg.set(`timing{host="b"}`, 0)
	tg.set(`src{host="c"}`, 0)
	tg.set(`tgt{host="c"}`, 0)
	tg.set(`tgt{host="d"}`, 0)
	tg.set(`late{host="x"}`, 0)
	tg.set(`late{host="y"}`, 0)

	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yaml"), `groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: Timing
        expr: timing > 0
      - alert: Source
        expr: src > 0
        labels: {severity: critical}
      - alert: Target
        expr: tgt > 0
        labels: {severity: warning}
      - alert: Late
        expr: late > 0
`)
	routing := func(lateTo string) string {
		return fmt.Sprintf(`route:
  receiver: ops
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
  routes:
    - matchers: [alertname="Late"]
      receiver: late
receivers:
  - name: ops
    email_configs:
      - {to: op@home.example, from: hlalert@nas.home.example, smarthost: %[4]s, require_tls: false}
  - name: late
    email_configs:
      - {to: %[5]s, from: hlalert@nas.home.example, smarthost: %[4]s, require_tls: false}
inhibit_rules:
  - source_matchers: [alertname="Source"]
    target_matchers: [alertname="Target"]
    equal: [host]
`, groupWait, groupInterval, repeatInterval, mp.SMTPAddr, lateTo)
	}
	amPath := filepath.Join(dir, "alertmanager.yml")
	write(t, amPath, routing("before@home.example"))
	write(t, filepath.Join(dir, "hlalert.yaml"), fmt.Sprintf(`datasource:
  embedded:
    targets:
      - {job: e2e, url: "%s/metrics", interval: 1s, timeout: 1s}
rule_files: [rules.yaml]
evaluation_interval: 1s
query_step: 5s
notify:
  routing_file: alertmanager.yml
`, srv.URL))
	log := newSyncBuffer()
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", log.String())
		}
	}()
	run := start(t, filepath.Join(dir, "hlalert.yaml"), log)

	// Timing fires (host a); Source fires on host c.
	tg.set(`timing{host="a"}`, 1)
	tg.set(`src{host="c"}`, 1)
	m1 := waitPrefix(t, mp, "[FIRING:1] Timing", 1, 15*time.Second)[0]
	between(t, "group_wait: first mail after the alert became active", m1.Created.Sub(activeAt(t, run.url, "Timing")), groupWait-early, groupWait+jitter)
	waitPrefix(t, mp, "[FIRING:1] Source", 1, 10*time.Second)

	// A second Timing alert joins the group: it waits for the group's
	// next group_interval tick, not group_wait.
	tg.set(`timing{host="b"}`, 1)
	// Target fires on host c (inhibited by Source, equal host) and d (not).
	tg.set(`tgt{host="c"}`, 1)
	tg.set(`tgt{host="d"}`, 1)
	m2 := waitPrefix(t, mp, "[FIRING:2] Timing", 1, 15*time.Second)[0]
	between(t, "group_interval: second mail after the first", m2.Created.Sub(m1.Created), groupInterval-early, 2*groupInterval+jitter)

	tgtMails := waitPrefix(t, mp, "[FIRING:1] Target", 1, 10*time.Second)
	var body struct{ Text string }
	mpGet(t, mp, "/api/v1/message/"+tgtMails[0].ID, &body)
	if !strings.Contains(body.Text, `host = "d"`) || strings.Contains(body.Text, `host = "c"`) {
		t.Errorf("Target mail must list host d only (host c is inhibited by Source):\n%s", body.Text)
	}

	// Nothing changes: the group is repeated after repeat_interval.
	m3 := waitPrefix(t, mp, "[FIRING:2] Timing", 2, repeatInterval+groupInterval+jitter+time.Second)[1]
	between(t, "repeat_interval: repeat after the second mail", m3.Created.Sub(m2.Created), repeatInterval-early, repeatInterval+groupInterval+jitter)
	if n := len(withPrefix(mpAll(t, mp), "[FIRING:1] Timing")); n != 1 {
		t.Errorf("%d [FIRING:1] Timing mails, want 1", n)
	}
	// The inhibited alert never got its own mail, nor [FIRING:2] Target.
	if n := len(withPrefix(mpAll(t, mp), "[FIRING:2] Target")); n != 0 {
		t.Errorf("%d [FIRING:2] Target mails: the inhibited alert was notified", n)
	}

	// Reload with a good routing: Late alerts now go to after@.
	write(t, amPath, routing("after@home.example"))
	if code, msg := post(t, run.url+"/-/reload"); code != http.StatusOK {
		t.Fatalf("good reload: %d %s", code, msg)
	}
	tg.set(`late{host="x"}`, 1)
	late := waitPrefix(t, mp, "[FIRING:1] Late", 1, 10*time.Second)[0]
	if len(late.To) != 1 || late.To[0].Address != "after@home.example" {
		t.Errorf("after a good reload the Late mail went to %+v, want after@home.example", late.To)
	}

	// A bad routing file is rejected and the running routing kept.
	write(t, amPath, strings.Replace(routing("bad@home.example"), "receiver: late", "receiver: nobody", 1))
	code, msg := post(t, run.url+"/-/reload")
	if code == http.StatusOK || !strings.Contains(msg, `undefined receiver "nobody"`) {
		t.Fatalf("bad reload: %d %s, want a rejection naming the undefined receiver", code, msg)
	}
	tg.set(`late{host="y"}`, 1)
	late2 := waitPrefix(t, mp, "[FIRING:2] Late", 1, 2*groupInterval+jitter+time.Second)[0]
	if len(late2.To) != 1 || late2.To[0].Address != "after@home.example" {
		t.Errorf("after a rejected reload the Late mail went to %+v, want after@home.example (the kept routing)", late2.To)
	}
	for _, m := range mpAll(t, mp) {
		for _, a := range m.To {
			if a.Address == "before@home.example" || a.Address == "bad@home.example" {
				t.Errorf("mail %q went to %s", m.Subject, a.Address)
			}
		}
	}
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

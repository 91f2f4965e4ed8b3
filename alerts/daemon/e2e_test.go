package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/email"
	"github.com/hlalert/hlalert/alerts/internal/realserver"
)

// target is a scrape target whose metric values the test sets.
type target struct{ backup, disk atomic.Int64 }

func (tg *target) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintf(w, "backup_age_seconds{host=\"nas\"} %d\ndisk_used_ratio{host=\"nas\"} %d\n", tg.backup.Load(), tg.disk.Load())
}

type mpMsg struct {
	ID, MessageID, Subject string
}

func mpGet(t *testing.T, mp *realserver.Server, path string, v any) {
	t.Helper()
	resp, err := http.Get(mp.URL + path)
	if err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
}

func mpList(t *testing.T, mp *realserver.Server) []mpMsg {
	t.Helper()
	var out struct{ Messages []mpMsg }
	mpGet(t, mp, "/api/v1/messages", &out)
	return out.Messages
}

// waitMails polls Mailpit until it holds n messages (failing on more),
// then checks that no further one arrives for settle.
func waitMails(t *testing.T, mp *realserver.Server, n int, settle time.Duration) []mpMsg {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := mpList(t, mp)
		if len(got) > n {
			t.Fatalf("mailpit holds %d messages, want %d: %+v", len(got), n, got)
		}
		if len(got) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit holds %d messages after 15s, want %d: %+v", len(got), n, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(settle)
	got := mpList(t, mp)
	if len(got) != n {
		t.Fatalf("mailpit holds %d messages after settling, want %d: %+v", len(got), n, got)
	}
	return got
}

func headers(t *testing.T, mp *realserver.Server, id string) map[string][]string {
	t.Helper()
	var h map[string][]string
	mpGet(t, mp, "/api/v1/message/"+id+"/headers", &h)
	return h
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// daemonRun is one run of the whole daemon.
type daemonRun struct {
	cancel context.CancelFunc
	done   chan error
	url    string
}

func start(t *testing.T, cfgPath string, log io.Writer) *daemonRun {
	t.Helper()
	cfg, err := config.LoadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &daemonRun{cancel: cancel, done: make(chan error, 1), url: "http://" + ln.Addr().String()}
	go func() {
		r.done <- Run(ctx, Options{
			Config: cfg, Listener: ln,
			Logger:       slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
			QueueBackoff: email.Backoff{Initial: 200 * time.Millisecond, Max: time.Second},
		})
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *daemonRun) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
}

// syncBuffer is a log sink shared by the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEndToEnd runs hlalert's whole pipeline — embedded datasource
// scraping a test target, evaluator, dispatcher, e-mail sender, durable
// outbox queue — against a real Mailpit.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a real Mailpit")
	}
	t.Parallel()
	mp := realserver.StartMailpit(t)
	tg := &target{}
	srv := httptest.NewServer(tg)
	defer srv.Close()

	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yaml"), `groups:
  - name: homelab
    interval: 1s
    rules:
      - alert: BackupStale
        expr: backup_age_seconds > 100
        labels: {severity: critical}
        annotations: {summary: "Backup of {{ $labels.host }} is {{ $value }}s old"}
      - alert: DiskFull
        expr: disk_used_ratio > 90
        annotations: {summary: "Disk of {{ $labels.host }} is full"}
`)
	write(t, filepath.Join(dir, "alertmanager.yml"), fmt.Sprintf(`route:
  receiver: ops
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: ops
    email_configs:
      - to: Operator <op@home.example>
        from: hlalert <hlalert@nas.home.example>
        smarthost: %s
        require_tls: false
`, mp.SMTPAddr))
	write(t, filepath.Join(dir, "hlalert.yaml"), fmt.Sprintf(`datasource:
  embedded:
    targets:
      - {job: nas, url: "%s/metrics", interval: 1s, timeout: 1s}
rule_files: [rules.yaml]
evaluation_interval: 1s
query_step: 5s
external_url: http://hlalert.home.example
notify:
  routing_file: alertmanager.yml
  grafana_url: https://grafana.home.example/d/alerts
`, srv.URL))
	log := newSyncBuffer()
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", log.String())
		}
	}()
	cfgPath := filepath.Join(dir, "hlalert.yaml")
	run := start(t, cfgPath, log)

	// 1. Fires: exactly one mail, with the right subject, body and headers.
	tg.backup.Store(500)
	msgs := waitMails(t, mp, 1, 2500*time.Millisecond)
	first := msgs[0]
	if !strings.HasPrefix(first.Subject, "[FIRING:1] BackupStale") {
		t.Errorf("subject %q, want [FIRING:1] BackupStale...", first.Subject)
	}
	var body struct{ Text, HTML string }
	mpGet(t, mp, "/api/v1/message/"+first.ID, &body)
	for _, want := range []string{`host = "nas"`, "Backup of nas is 500s old", "http://hlalert.home.example", "https://grafana.home.example/d/alerts"} {
		if !strings.Contains(body.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, body.Text)
		}
	}
	h1 := headers(t, mp, first.ID)
	for _, k := range []string{"Message-Id", "In-Reply-To", "References"} {
		if len(h1[k]) != 1 {
			t.Fatalf("first mail header %s = %q; headers %v", k, h1[k], h1)
		}
	}
	if _, ok := h1[email.TransportHeader]; ok {
		t.Errorf("internal header %s reached the recipient", email.TransportHeader)
	}

	// 2. Resolves: one resolved mail threaded to the first.
	tg.backup.Store(0)
	msgs = waitMails(t, mp, 2, 2500*time.Millisecond)
	var resolved mpMsg
	for _, m := range msgs {
		if strings.HasPrefix(m.Subject, "[RESOLVED]") {
			resolved = m
		}
	}
	if resolved.ID == "" {
		t.Fatalf("no resolved mail: %+v", msgs)
	}
	h2 := headers(t, mp, resolved.ID)
	if h2["In-Reply-To"][0] != h1["In-Reply-To"][0] || h2["References"][0] != h1["References"][0] {
		t.Errorf("resolved mail not threaded: In-Reply-To %q vs %q, References %q vs %q", h2["In-Reply-To"], h1["In-Reply-To"], h2["References"], h1["References"])
	}
	if h2["Message-Id"][0] == h1["Message-Id"][0] {
		t.Errorf("both mails share Message-ID %q", h1["Message-Id"])
	}

	// 3. A silence added through the HTTP API suppresses; expiring it
	// lets the still-firing alert through.
	resp, err := http.Post(run.url+"/api/v1/silences", "application/json",
		strings.NewReader(`{"matchers":"alertname=\"BackupStale\"","duration":"1h","createdBy":"test","comment":"maintenance"}`))
	if err != nil {
		t.Fatal(err)
	}
	var added struct {
		Data struct {
			ID string `json:"silenceID"`
		}
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("add silence: %s: %s", resp.Status, raw)
	}
	if err := json.Unmarshal(raw, &added); err != nil || added.Data.ID == "" {
		t.Fatalf("add silence: %s (%v)", raw, err)
	}
	page := get(t, run.url+"/")
	if !strings.Contains(page, "maintenance") || !strings.Contains(page, added.Data.ID) {
		t.Errorf("status page does not list the silence")
	}
	tg.backup.Store(600)
	waitMails(t, mp, 2, 4*time.Second) // group_wait 1s + a few cycles: nothing
	req, _ := http.NewRequest(http.MethodDelete, run.url+"/api/v1/silence/"+added.Data.ID, nil)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("expire silence: %v %v", err, resp)
	}
	resp.Body.Close()
	msgs = waitMails(t, mp, 3, time.Second)

	// 4. SMTP down for several cycles, the whole daemon restarted during
	// the outage: every notification is delivered exactly once afterwards.
	mp.Stop()
	tg.backup.Store(0) // BackupStale resolves
	tg.disk.Store(95)  // DiskFull fires
	waitLog(t, log, 2, "email delivery failed; will retry")
	// Both notifications (the resolve, then DiskFull after its group_wait)
	// are queued before the daemon goes down.
	var queued []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		queued, _ = filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
		if len(queued) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	run.stop()
	if len(queued) != 2 {
		t.Errorf("outbox holds %d queued messages at the restart, want 2: %v", len(queued), queued)
	}
	run = start(t, cfgPath, log)
	time.Sleep(3 * time.Second) // several evaluation cycles and delivery attempts, SMTP still down
	mp.Restart(t, "/readyz")
	msgs = waitMails(t, mp, 5, 3*time.Second)
	seen := map[string]bool{}
	subjects := map[string]int{}
	for _, m := range msgs {
		if seen[m.MessageID] {
			t.Errorf("message %s delivered twice", m.MessageID)
		}
		seen[m.MessageID] = true
		subjects[strings.Fields(m.Subject)[0]+" "+strings.Fields(m.Subject)[1]]++
	}
	if subjects["[FIRING:1] BackupStale"] != 2 || subjects["[RESOLVED] BackupStale"] != 2 || subjects["[FIRING:1] DiskFull"] != 1 {
		t.Errorf("subjects %v; messages %+v", subjects, msgs)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if len(left) != 0 {
		t.Errorf("still queued: %v", left)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitLog waits until the log holds msg at least n times.
func waitLog(t *testing.T, log *syncBuffer, n int, msg string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(log.String(), msg) < n {
		if time.Now().After(deadline) {
			t.Fatalf("log has %q %d times after 15s, want %d", msg, strings.Count(log.String(), msg), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/email"
	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/notify"
	labels "github.com/hlalert/hlalert/alerts/series"
)

// TestReloadSwapsReceiverTransports reloads the notification pipeline
// the way the daemon does (PlanNotify, build, install) from receiver
// gmail, whose SMTP server is down, to receiver relay (a real Mailpit):
// the next mail goes through relay only, gmail's transport is gone, and
// gmail's queued mail stays parked in the outbox (README, "Hand-off and
// watchdog": reloads are built, then swapped).
func TestReloadSwapsReceiverTransports(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a real Mailpit")
	}
	t.Parallel()
	mp := realserver.StartMailpit(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "r.yaml"), "groups: []\n")
	routing := func(name, to, smarthost string) {
		write(t, filepath.Join(dir, "alertmanager.yml"), fmt.Sprintf(`route:
  receiver: %[1]s
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: %[1]s
    email_configs:
      - {to: %[2]s, from: hlalert@nas.home.example, smarthost: %[3]s, require_tls: false}
`, name, to, smarthost))
	}
	write(t, filepath.Join(dir, "hlalert.yaml"), "datasource: {embedded: {targets: [{job: a, url: 'http://127.0.0.1:1/m'}]}}\nrule_files: [r.yaml]\nnotify: {routing_file: alertmanager.yml}\n")
	plan := func() *Plan {
		cfg, err := config.LoadFile(filepath.Join(dir, "hlalert.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := PlanNotify(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	log := newSyncBuffer()
	logger := slog.New(slog.NewTextHandler(log, nil))
	defer func() {
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	}()
	reg := prometheus.NewRegistry()
	outbox := filepath.Join(dir, "outbox")
	queue, err := email.NewQueue(email.QueueOptions{Dir: outbox, Backoff: email.Backoff{Initial: 100 * time.Millisecond, Max: 200 * time.Millisecond}, Logger: logger, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	pl := &pipeline{queue: queue, log: logger, reg: reg}

	routing("gmail", "gmail@home.example", "127.0.0.1:1") // nothing listens: mail stays queued
	pa := plan()
	sa, err := pl.build(pa)
	if err != nil {
		t.Fatal(err)
	}
	pl.install(sa, nil)
	disp, err := notify.New(notify.Options{Config: pa.Routing, Integrations: sa.ints, StateDir: filepath.Join(dir, "state"), Logger: logger, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { disp.Run(ctx); done <- struct{}{} }()
	go func() { queue.Run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()
	if got := strings.Join(queue.Transports(), ","); got != "gmail#0" {
		t.Fatalf("transports %q, want gmail#0", got)
	}
	fire := func(name string) {
		t.Helper()
		a := alert.Alert{Labels: labels.FromStrings("alertname", name), State: alert.StateFiring, ActiveAt: time.Now(), FiredAt: time.Now()}
		if err := disp.Notify(ctx, []alert.Notification{{Group: "g", Rule: name, Alert: a}}); err != nil {
			t.Fatal(err)
		}
	}
	fire("BeforeReload")
	waitLog(t, log, 1, "email delivery failed; will retry")

	// Reload: relay replaces gmail.
	routing("relay", "relay@home.example", mp.SMTPAddr)
	sb, err := pl.build(plan())
	if err != nil {
		t.Fatal(err)
	}
	pl.install(sb, disp)
	if got := strings.Join(queue.Transports(), ","); got != "relay#0" {
		t.Fatalf("transports after the reload %q, want relay#0 only (gmail's is gone)", got)
	}
	fire("AfterReload")
	got := waitPrefix(t, mp, "[FIRING:1] AfterReload", 1, 10*time.Second)
	if len(got[0].To) != 1 || got[0].To[0].Address != "relay@home.example" {
		t.Errorf("the mail after the reload went to %+v, want relay@home.example", got[0].To)
	}
	waitLog(t, log, 1, "no transport configured for queued message; kept")
	time.Sleep(time.Second) // several queue passes
	queued, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(queued) != 1 {
		t.Fatalf("outbox holds %v, want gmail's one message parked", queued)
	}
	data, err := os.ReadFile(queued[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "gmail@home.example") || !strings.Contains(string(data), "BeforeReload") {
		t.Errorf("the parked message is not gmail's:\n%s", data)
	}
	// The still-firing BeforeReload alert now routes to relay, which has
	// not notified it yet, so relay sends its own mail about it (as
	// Alertmanager does after a reload); gmail's mail is not sent.
	waitPrefix(t, mp, "[FIRING:1] BeforeReload", 1, 10*time.Second)
	for _, m := range mpAll(t, mp) {
		if len(m.To) != 1 || m.To[0].Address != "relay@home.example" {
			t.Errorf("mail %q went to %+v, want relay@home.example only", m.Subject, m.To)
		}
	}
	st := disp.IntegrationStatus()
	if len(st) != 1 || st[0].Receiver != "relay" || st[0].Integration != "email[0]" {
		t.Errorf("integrations after the reload %+v, want relay's only", st)
	}
}

// TestReloadRefusesRestartOnlyChanges: a reload whose config changes what
// only a restart applies (here the state folder and remote_write) is
// rejected naming them, and a reload that changes only rules goes through.
func TestReloadRefusesRestartOnlyChanges(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "r.yaml"), "groups: []\n")
	base := "datasource: {embedded: {targets: [{job: a, url: 'http://127.0.0.1:1/m'}]}}\nrule_files: [r.yaml]\n"
	cfgPath := filepath.Join(dir, "hlalert.yaml")
	write(t, cfgPath, base)
	run := start(t, cfgPath, newSyncBuffer())
	waitReady(t, run.url)

	write(t, cfgPath, base+"state_dir: elsewhere\nremote_write: {url: 'http://127.0.0.1:1/api/v1/write'}\n")
	code, msg := post(t, run.url+"/-/reload")
	if code == http.StatusOK || !strings.Contains(msg, "state_dir, remote_write changed: restart hlalert to apply") {
		t.Fatalf("reload with restart-only changes: %d %s, want a rejection naming state_dir and remote_write", code, msg)
	}

	write(t, cfgPath, base)
	write(t, filepath.Join(dir, "r.yaml"), "groups: [{name: g, rules: [{record: x, expr: vector(1)}]}]\n")
	if code, msg := post(t, run.url+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload of the rules only: %d %s", code, msg)
	}
}

func TestRestartOnlyChanges(t *testing.T) {
	a := &config.Config{Listen: ":8880", StateDir: "/s", OutboxDir: "/o", RemoteWrite: &config.RemoteWrite{URL: "http://vm/api/v1/write"}}
	same := *a
	same.RuleFiles = []string{"other.yaml"}
	if got := restartOnlyChanges(a, &same); len(got) != 0 {
		t.Errorf("rules changed only: %v, want none", got)
	}
	b := same
	b.RemoteWrite = &config.RemoteWrite{URL: "http://vm2/api/v1/write"}
	b.History = &config.History{URL: "http://loki"}
	b.Datasource.Embedded = &config.Embedded{}
	want := "remote_write history datasource.embedded (the datasource mode)"
	if got := strings.Join(restartOnlyChanges(a, &b), " "); got != want {
		t.Errorf("changes = %q, want %q", got, want)
	}
}

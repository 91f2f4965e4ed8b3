package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hlalert/hlalert/alerts/evaluator"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/silence"
)

// fakeSender records batches with the (fake) time they were sent.
type fakeSender struct {
	mu    sync.Mutex
	start time.Time
	sent  []string
	fail  int // fail this many next calls
}

func (s *fakeSender) Send(ctx context.Context, b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("smtp down")
	}
	var parts []string
	for _, a := range b.Alerts {
		parts = append(parts, a.Labels["alertname"]+"/"+a.Labels["host"]+":"+a.Status)
	}
	s.sent = append(s.sent, fmt.Sprintf("%v %s #%d %s", time.Since(s.start), b.Receiver, b.Seq, strings.Join(parts, ",")))
	return nil
}

func (s *fakeSender) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

func alert(state rule.State, ls ...string) evaluator.Notification {
	var labels series.Labels
	for i := 0; i+1 < len(ls); i += 2 {
		labels = append(labels, series.Label{Name: ls[i], Value: ls[i+1]})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
	a := rule.Alert{Labels: labels, State: state, Annotations: map[string]string{"summary": "s"}}
	now := time.Now()
	a.ActiveAt, a.FiredAt = now, now
	if state == rule.StateInactive {
		a.ResolvedAt = now
	}
	return evaluator.Notification{Group: "g", Rule: ls[1], Alert: a, ExternalURL: "http://hl"}
}

type harness struct {
	t      *testing.T
	dir    string
	sender *fakeSender
	sil    Silencer
	d      *Dispatcher
	cancel context.CancelFunc
	done   chan struct{}
}

func (h *harness) start() {
	h.t.Helper()
	d, err := New(Options{
		Config:   mustLoad(h.t, "testdata/dispatch.yml"),
		Sender:   h.sender,
		Silences: h.sil,
		StateDir: h.dir,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.d = d
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { d.Run(ctx); close(h.done) }()
	synctest.Wait()
}

func (h *harness) stop() {
	h.cancel()
	<-h.done
}

func (h *harness) notify(ns ...evaluator.Notification) {
	h.t.Helper()
	if err := h.d.Notify(context.Background(), ns); err != nil {
		h.t.Fatal(err)
	}
	synctest.Wait()
}

// advance moves fake time forward and lets the dispatcher run.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func expect(t *testing.T, s *fakeSender, want ...string) {
	t.Helper()
	got := s.take()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func newHarness(t *testing.T, dir string) *harness {
	return &harness{t: t, dir: dir, sender: &fakeSender{start: time.Now()}}
}

func TestDispatcherTiming(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, dir)
		h.start()
		defer h.stop()
		h.notify(alert(rule.StateFiring, "alertname", "Disk", "host", "a"))
		advance(29 * time.Second)
		expect(t, h.sender) // group_wait not over
		advance(time.Second)
		expect(t, h.sender, "30s mail #1 Disk/a:firing")
		advance(30 * time.Second)
		h.notify(alert(rule.StateFiring, "alertname", "Disk", "host", "b"))
		advance(4*time.Minute + 29*time.Second)
		expect(t, h.sender) // group_interval not over
		advance(time.Second)
		expect(t, h.sender, "5m30s mail #2 Disk/a:firing,Disk/b:firing")
		// Nothing changes: quiet until repeat_interval has passed, at the
		// first group_interval tick after it (Alertmanager's strict check).
		advance(4 * time.Hour)
		expect(t, h.sender)
		advance(5 * time.Minute)
		expect(t, h.sender, "4h10m30s mail #3 Disk/a:firing,Disk/b:firing")
		// A resolution goes out at the next group_interval tick.
		h.notify(alert(rule.StateInactive, "alertname", "Disk", "host", "a"))
		advance(5 * time.Minute)
		expect(t, h.sender, "4h15m30s mail #4 Disk/b:firing,Disk/a:resolved")
		h.notify(alert(rule.StateInactive, "alertname", "Disk", "host", "b"))
		advance(5 * time.Minute)
		expect(t, h.sender, "4h20m30s mail #5 Disk/b:resolved")
		advance(10 * time.Hour)
		expect(t, h.sender)
		h.d.mu.Lock()
		if len(h.d.groups) != 0 || len(h.d.alerts) != 0 {
			t.Errorf("groups %d alerts %d left after all resolved", len(h.d.groups), len(h.d.alerts))
		}
		h.d.mu.Unlock()
	})
}

func TestDispatcherOldAlertSkipsGroupWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, t.TempDir())
		h.start()
		defer h.stop()
		n := alert(rule.StateFiring, "alertname", "Disk", "host", "a")
		n.Alert.FiredAt = time.Now().Add(-time.Hour)
		h.notify(n)
		expect(t, h.sender, "0s mail #1 Disk/a:firing")
	})
}

func TestDispatcherSendResolvedFalse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, t.TempDir())
		h.start()
		defer h.stop()
		h.notify(alert(rule.StateFiring, "alertname", "Q", "team", "quiet"))
		advance(30 * time.Second)
		expect(t, h.sender, "30s quiet #1 Q/:firing")
		h.notify(alert(rule.StateInactive, "alertname", "Q", "team", "quiet"))
		advance(10 * time.Minute)
		expect(t, h.sender)
	})
}

func TestDispatcherInhibitionAndSilence(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, dir)
		store, err := silence.Open(silence.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		h.sil = store
		ms, err := silence.ParseMatchers(`alertname="HostDown"`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Add(silence.Silence{Matchers: ms, EndsAt: time.Now().Add(10 * time.Minute), CreatedBy: "me", Comment: "maintenance"}); err != nil {
			t.Fatal(err)
		}
		h.start()
		defer h.stop()
		h.notify(
			alert(rule.StateFiring, "alertname", "HostDown", "host", "a", "severity", "critical"),
			alert(rule.StateFiring, "alertname", "DiskSlow", "host", "a", "severity", "warning"),
			alert(rule.StateFiring, "alertname", "DiskSlow", "host", "b", "severity", "warning"),
		)
		// HostDown silenced; DiskSlow on host a inhibited by it (a silenced
		// source still inhibits, as in Alertmanager); host b goes out.
		advance(30 * time.Second)
		expect(t, h.sender, "30s mail #1 DiskSlow/b:firing")
		advance(5 * time.Minute)
		expect(t, h.sender)
		// The silence expires at 10m: the next tick notifies HostDown.
		advance(5 * time.Minute)
		expect(t, h.sender, "10m30s mail #1 HostDown/a:firing")
		// HostDown resolves: DiskSlow on host a is no longer inhibited.
		h.notify(alert(rule.StateInactive, "alertname", "HostDown", "host", "a", "severity", "critical"))
		advance(5 * time.Minute)
		expect(t, h.sender,
			"15m30s mail #2 DiskSlow/a:firing,DiskSlow/b:firing",
			"15m30s mail #2 HostDown/a:resolved")
	})
}

func TestDispatcherRestart(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, dir)
		h.start()
		h.notify(alert(rule.StateFiring, "alertname", "Disk", "host", "a"))
		advance(30 * time.Second)
		expect(t, h.sender, "30s mail #1 Disk/a:firing")
		advance(time.Minute)
		h.stop()

		// Restart: alerts and the log come back from the state dir; the
		// group's next tick is one group_interval after the last
		// notification, and nothing is sent again.
		h2 := newHarness(t, dir)
		h2.sender = h.sender
		h2.start()
		defer h2.stop()
		advance(3 * time.Hour)
		expect(t, h.sender)
		h2.notify(alert(rule.StateInactive, "alertname", "Disk", "host", "a"))
		advance(5 * time.Minute)
		expect(t, h.sender, "3h5m30s mail #2 Disk/a:resolved")
	})
}

func TestDispatcherRetry(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, dir)
		h.sender.fail = 2
		h.start()
		h.notify(alert(rule.StateFiring, "alertname", "Disk", "host", "a"))
		advance(30 * time.Second) // first attempt fails
		advance(time.Minute)      // retry fails
		expect(t, h.sender)
		h.stop()
		// Restart while failing: the same flush (same Seq) is handed over.
		h2 := newHarness(t, dir)
		h2.sender = h.sender
		h2.start()
		defer h2.stop()
		expect(t, h.sender, "1m30s mail #1 Disk/a:firing")
		advance(time.Hour)
		expect(t, h.sender)
	})
}

func TestDispatcherResolveTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSender{start: time.Now()}
		d, err := New(Options{Config: mustLoad(t, "testdata/dispatch.yml"), Sender: s, StateDir: t.TempDir(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ResolveTimeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		if err := d.Notify(ctx, []evaluator.Notification{alert(rule.StateFiring, "alertname", "Disk", "host", "a")}); err != nil {
			t.Fatal(err)
		}
		advance(30 * time.Second)
		expect(t, s, "30s mail #1 Disk/a:firing")
		advance(time.Hour)
		expect(t, s, "1h0m30s mail #2 Disk/a:resolved")
	})
}

func TestOptionsValidate(t *testing.T) {
	_, err := New(Options{ResolveTimeout: -1})
	for _, want := range []string{"Config is required", "Sender is required", "StateDir is required", "ResolveTimeout must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(bad options) = %v, want %q", err, want)
		}
	}
}

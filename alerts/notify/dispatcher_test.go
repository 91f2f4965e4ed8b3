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

	"github.com/hlalert/hlalert/alerts/alert"
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

func (s *fakeSender) Notify(ctx context.Context, b Batch) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return true, errors.New("smtp down")
	}
	var parts []string
	for _, a := range b.Alerts {
		parts = append(parts, a.Labels["alertname"]+"/"+a.Labels["host"]+":"+a.Status)
	}
	s.sent = append(s.sent, fmt.Sprintf("%v %s #%d %s", time.Since(s.start), b.Receiver, b.Seq, strings.Join(parts, ",")))
	return false, nil
}

// mailOnly gives both receivers of testdata/dispatch.yml one integration.
func mailOnly(n Notifier) Integrations {
	return Integrations{"mail": {{Name: "email[0]", Notifier: n}}, "quiet": {{Name: "email[0]", Notifier: n}}}
}

// take returns what was sent, by time and, within one instant, by text:
// integrations and groups are notified concurrently.
func (s *fakeSender) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	at := func(l string) time.Duration {
		d, _ := time.ParseDuration(strings.Fields(l)[0])
		return d
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ai, aj := at(out[i]), at(out[j]); ai != aj {
			return ai < aj
		}
		return out[i] < out[j]
	})
	s.sent = nil
	return out
}

func notif(state alert.State, ls ...string) alert.Notification {
	var labels series.Labels
	for i := 0; i+1 < len(ls); i += 2 {
		labels = append(labels, series.Label{Name: ls[i], Value: ls[i+1]})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
	a := alert.Alert{Labels: labels, State: state, Annotations: map[string]string{"summary": "s"}}
	now := time.Now()
	a.ActiveAt, a.FiredAt = now, now
	if state == alert.StateInactive {
		a.ResolvedAt = now
	}
	return alert.Notification{Group: "g", Rule: ls[1], Alert: a, ExternalURL: "http://hl"}
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

// runDispatcher builds a dispatcher and runs it until the test ends.
func runDispatcher(t *testing.T, o Options) (*Dispatcher, context.Context) {
	t.Helper()
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d, ctx
}

func (h *harness) start() {
	h.t.Helper()
	d, err := New(Options{
		Config:       mustLoad(h.t, "testdata/dispatch.yml"),
		Integrations: mailOnly(h.sender),
		Silences:     h.sil,
		StateDir:     h.dir,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
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

func (h *harness) notify(ns ...alert.Notification) {
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
		h.notify(notif(alert.StateFiring, "alertname", "Disk", "host", "a"))
		advance(29 * time.Second)
		expect(t, h.sender) // group_wait not over
		advance(time.Second)
		expect(t, h.sender, "30s mail #1 Disk/a:firing")
		advance(30 * time.Second)
		h.notify(notif(alert.StateFiring, "alertname", "Disk", "host", "b"))
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
		h.notify(notif(alert.StateInactive, "alertname", "Disk", "host", "a"))
		advance(5 * time.Minute)
		expect(t, h.sender, "4h15m30s mail #4 Disk/b:firing,Disk/a:resolved")
		h.notify(notif(alert.StateInactive, "alertname", "Disk", "host", "b"))
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
		n := notif(alert.StateFiring, "alertname", "Disk", "host", "a")
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
		h.notify(notif(alert.StateFiring, "alertname", "Q", "team", "quiet"))
		advance(30 * time.Second)
		expect(t, h.sender, "30s quiet #1 Q/:firing")
		h.notify(notif(alert.StateInactive, "alertname", "Q", "team", "quiet"))
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
			notif(alert.StateFiring, "alertname", "HostDown", "host", "a", "severity", "critical"),
			notif(alert.StateFiring, "alertname", "DiskSlow", "host", "a", "severity", "warning"),
			notif(alert.StateFiring, "alertname", "DiskSlow", "host", "b", "severity", "warning"),
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
		h.notify(notif(alert.StateInactive, "alertname", "HostDown", "host", "a", "severity", "critical"))
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
		h.notify(notif(alert.StateFiring, "alertname", "Disk", "host", "a"))
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
		h2.notify(notif(alert.StateInactive, "alertname", "Disk", "host", "a"))
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
		h.notify(notif(alert.StateFiring, "alertname", "Disk", "host", "a"))
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
		d, ctx := runDispatcher(t, Options{Config: mustLoad(t, "testdata/dispatch.yml"), Integrations: mailOnly(s), StateDir: t.TempDir(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ResolveTimeout: time.Hour})
		if err := d.Notify(ctx, []alert.Notification{notif(alert.StateFiring, "alertname", "Disk", "host", "a")}); err != nil {
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
	for _, want := range []string{"Config is required", "StateDir is required", "ResolveTimeout must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(bad options) = %v, want %q", err, want)
		}
	}
}

// scripted is an integration that answers from a script (then succeeds),
// recording when it was called; with block set, each call waits for it
// to be closed.
type scripted struct {
	mu     sync.Mutex
	start  time.Time
	script []error // nil: success
	calls  []string
	block  chan struct{}
}

// refused is a non-retryable error (Alertmanager's 4xx).
var refused = errors.New("400 Bad Request")

func (s *scripted) Notify(ctx context.Context, b Batch) (bool, error) {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if len(s.script) > 0 {
		err, s.script = s.script[0], s.script[1:]
	}
	s.calls = append(s.calls, fmt.Sprintf("%v #%d %v", time.Since(s.start), b.Seq, err))
	return err != refused, err
}

func (s *scripted) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

func TestDispatcherIntegrationsIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mail := &fakeSender{start: time.Now()}
		down := errors.New("503 Service Unavailable")
		am := &scripted{start: time.Now(), script: []error{down, down, down, refused}}
		d, ctx := runDispatcher(t, Options{
			Config: mustLoad(t, "testdata/dispatch.yml"), StateDir: t.TempDir(),
			Integrations: Integrations{"mail": {{Name: "email[0]", Notifier: mail}, {Name: "alertmanager", Notifier: am}}},
			Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err := d.Notify(ctx, []alert.Notification{notif(alert.StateFiring, "alertname", "Disk", "host", "a")}); err != nil {
			t.Fatal(err)
		}
		advance(30 * time.Second)
		expect(t, mail, "30s mail #1 Disk/a:firing")
		// The hand-off's 503s are retried after 1m, 2m, 4m (RetryInterval
		// doubling), not at the group's ticks; the 400 is not retried.
		advance(time.Hour)
		expect(t, mail)
		want := []string{"30s #1 503 Service Unavailable", "1m30s #1 503 Service Unavailable", "3m30s #1 503 Service Unavailable", "7m30s #1 400 Bad Request"}
		if got := am.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("hand-off calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		st := d.IntegrationStatus()
		if len(st) != 2 || st[0].Integration != "alertmanager" || st[0].Attempts != 4 || st[0].Failures != 4 || st[0].ConsecutiveFailures != 4 ||
			st[0].LastError != "400 Bad Request" || !st[0].RetryAt.IsZero() || !st[0].LastSuccess.IsZero() {
			t.Errorf("hand-off status %+v", st)
		}
		if st[1].Integration != "email[0]" || st[1].Attempts != 1 || st[1].Failures != 0 || st[1].LastSuccess.IsZero() {
			t.Errorf("e-mail status %+v", st)
		}
		// The next change goes to both; the hand-off accepts it.
		if err := d.Notify(ctx, []alert.Notification{notif(alert.StateFiring, "alertname", "Disk", "host", "b")}); err != nil {
			t.Fatal(err)
		}
		advance(5 * time.Minute)
		expect(t, mail, "1h5m30s mail #2 Disk/a:firing,Disk/b:firing")
		if got := am.take(); len(got) != 1 || got[0] != "1h5m30s #2 <nil>" {
			t.Errorf("hand-off calls %q, want one at 1h5m30s", got)
		}
		if st := d.IntegrationStatus()[0]; st.ConsecutiveFailures != 0 || st.LastError != "" || st.LastSuccess.IsZero() {
			t.Errorf("hand-off status after success %+v", st)
		}
	})
}

func TestDispatcherResolvedKeptForFailingIntegration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mail := &fakeSender{start: time.Now()}
		am := &scripted{start: time.Now()}
		d, ctx := runDispatcher(t, Options{
			Config: mustLoad(t, "testdata/dispatch.yml"), StateDir: t.TempDir(),
			Integrations: Integrations{"mail": {{Name: "email[0]", Notifier: mail}, {Name: "alertmanager", Notifier: am}}},
			Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		d.Notify(ctx, []alert.Notification{notif(alert.StateFiring, "alertname", "Disk", "host", "a")})
		advance(30 * time.Second)
		expect(t, mail, "30s mail #1 Disk/a:firing")
		am.take()
		down := errors.New("503")
		am.mu.Lock()
		am.script = []error{down, down}
		am.mu.Unlock()
		d.Notify(ctx, []alert.Notification{notif(alert.StateInactive, "alertname", "Disk", "host", "a")})
		advance(5 * time.Minute)
		expect(t, mail, "5m30s mail #2 Disk/a:resolved")
		// The resolved alert stays until the hand-off has it too.
		advance(3 * time.Minute)
		want := []string{"5m30s #2 503", "6m30s #2 503", "8m30s #2 <nil>"}
		if got := am.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("hand-off calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		advance(time.Hour)
		expect(t, mail)
		if got := am.take(); len(got) != 0 {
			t.Errorf("hand-off called again: %q", got)
		}
		d.mu.Lock()
		if len(d.groups) != 0 || len(d.alerts) != 0 {
			t.Errorf("groups %d alerts %d left after everyone got the resolution", len(d.groups), len(d.alerts))
		}
		d.mu.Unlock()
	})
}

func TestDispatcherSlowIntegrationDoesNotDelayOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mail := &fakeSender{start: time.Now()}
		am := &scripted{start: time.Now(), block: make(chan struct{})}
		d, err := New(Options{
			Config: mustLoad(t, "testdata/dispatch.yml"), StateDir: t.TempDir(),
			Integrations: Integrations{"mail": {{Name: "alertmanager", Notifier: am}, {Name: "email[0]", Notifier: mail}}},
			Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		d.Notify(ctx, []alert.Notification{notif(alert.StateFiring, "alertname", "Disk", "host", "a")})
		advance(30 * time.Second)
		d.Notify(ctx, []alert.Notification{notif(alert.StateFiring, "alertname", "Mem", "host", "a")})
		advance(30 * time.Second)
		expect(t, mail, "30s mail #1 Disk/a:firing", "1m0s mail #1 Mem/a:firing")
		close(am.block)
		synctest.Wait()
		if got := am.take(); len(got) != 2 {
			t.Errorf("hand-off calls %q, want the two held ones", got)
		}
		cancel()
		<-done
	})
}

// TestDispatcherRestoresLegacyLogEntries: a state file written before
// integrations had their own log entries (one entry per receiver and
// group) still deduplicates: a restart sends nothing again.
func TestDispatcherRestoresLegacyLogEntries(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, dir)
		h.start()
		h.notify(notif(alert.StateFiring, "alertname", "Disk", "host", "a"))
		advance(30 * time.Second)
		expect(t, h.sender, "30s mail #1 Disk/a:firing")
		h.stop()
		st, err := readState(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Log) != 1 || st.Log[0].Integration != "email[0]" {
			t.Fatalf("log %+v, want one entry of email[0]", st.Log)
		}
		st.Log[0].Integration = "" // as written before
		if err := writeState(dir, st); err != nil {
			t.Fatal(err)
		}
		h2 := newHarness(t, dir)
		h2.sender = h.sender
		h2.start()
		defer h2.stop()
		advance(time.Hour)
		expect(t, h.sender)
	})
}

package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/lokiproto"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hlalert/hlalert/internal/golden"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func change(alertname, group, repo string, from, to alert.State, at time.Time) alert.StateChange {
	a := alert.Alert{
		Labels:      series.FromStrings("alertname", alertname, "alertgroup", group, "repo", repo),
		Annotations: map[string]string{"summary": "backup " + repo + " is stale"},
		State:       to, ActiveAt: at.Add(-time.Minute), LastValue: 2,
	}
	if to == alert.StateFiring {
		a.FiredAt = at
	}
	if to == alert.StateInactive {
		a.ResolvedAt = at
	}
	return alert.StateChange{Group: group, Rule: alertname, From: from, To: to, Alert: a, At: at}
}

func TestStreamsGolden(t *testing.T) {
	changes := []alert.StateChange{
		change("BackupStale", "backups", "nas", alert.StateInactive, alert.StatePending, t0),
		change("BackupStale", "backups", "photos", alert.StatePending, alert.StateFiring, t0.Add(-time.Second)),
		change("ZpoolDegraded", "disks", "tank", alert.StateFiring, alert.StateInactive, t0),
		change(`we"ird`+"\n", "g\\1", "x\ny", alert.StateInactive, alert.StatePending, t0),
	}
	got, err := json.MarshalIndent(Streams("hlalert", changes), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "streams.json"), got)
}

// fakePusher fails while down is positive (decrementing it), blocks while
// block is set, and records what it accepted.
type fakePusher struct {
	mu       sync.Mutex
	down     int
	err      error
	block    chan struct{}
	accepted []lokiproto.Entry
	calls    []time.Time
}

func (f *fakePusher) Push(ctx context.Context, streams []lokiproto.Stream) error {
	f.mu.Lock()
	f.calls = append(f.calls, time.Now())
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down > 0 {
		f.down--
		if f.err != nil {
			return f.err
		}
		return errors.New("loki push: dial tcp: connection refused")
	}
	for _, s := range streams {
		f.accepted = append(f.accepted, s.Entries...)
	}
	return nil
}

func (f *fakePusher) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.accepted {
		var l Line
		if err := json.Unmarshal([]byte(e.Line), &l); err != nil {
			panic(err)
		}
		out = append(out, l.Labels["repo"]+":"+l.To)
	}
	return out
}

func newHistory(t *testing.T, p Pusher, mod func(*Options)) *History {
	t.Helper()
	o := Options{Pusher: p, MaxQueued: 5, MaxPerPush: 3, FlushInterval: time.Second,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func batch(from, n int) []alert.StateChange {
	var out []alert.StateChange
	for i := from; i < from+n; i++ {
		out = append(out, change("A", "g", fmt.Sprint(i), alert.StateInactive, alert.StatePending, t0.Add(time.Duration(i)*time.Second)))
	}
	return out
}

func TestNeverBlocksAndDropsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePusher{block: make(chan struct{})}
		h := newHistory(t, f, nil)
		h.StateChanged(t.Context(), batch(0, 3)) // a full push: taken at once, blocks in Push
		synctest.Wait()
		start := time.Now()
		for i := 3; i < 13; i++ {
			h.StateChanged(t.Context(), batch(i, 1)) // Loki hangs: must not wait
		}
		if time.Since(start) != 0 {
			t.Error("StateChanged waited for Loki")
		}
		if v := testutil.ToFloat64(h.dropped.WithLabelValues(reasonQueueFull)); v != 5 {
			t.Errorf("queue_full drops = %v, want 5 (10 queued, 5 kept)", v)
		}
		close(f.block)
		if err := h.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := "[0:pending 1:pending 2:pending 8:pending 9:pending 10:pending 11:pending 12:pending]"
		if got := fmt.Sprint(f.lines()); got != want {
			t.Errorf("pushed %s, want %s", got, want)
		}
	})
}

func TestRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePusher{down: 4}
		h := newHistory(t, f, nil)
		start := time.Now()
		h.StateChanged(t.Context(), batch(0, 3))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		var offsets []time.Duration
		for _, c := range f.calls {
			offsets = append(offsets, c.Sub(start))
		}
		want := "[0s 100ms 300ms 700ms 1.1s]"
		if fmt.Sprint(offsets) != want {
			t.Errorf("push times %v, want %s", offsets, want)
		}
		if got := len(f.lines()); got != 3 {
			t.Errorf("pushed %d changes, want 3 once", got)
		}
		if v := testutil.ToFloat64(h.failedPushes); v != 4 {
			t.Errorf("failed pushes %v, want 4", v)
		}
		if err := h.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRefusedBatchIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePusher{down: 1, err: fmt.Errorf("push: %w", &lokipush.HTTPError{StatusCode: 400, Status: "400 Bad Request", Body: "entry too far behind"})}
		h := newHistory(t, f, nil)
		h.StateChanged(t.Context(), batch(0, 3))
		h.StateChanged(t.Context(), batch(3, 1))
		if err := h.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(f.lines()); got != "[3:pending]" {
			t.Errorf("pushed %s", got)
		}
		if v := testutil.ToFloat64(h.dropped.WithLabelValues(reasonRejected)); v != 3 {
			t.Errorf("rejected %v, want 3", v)
		}
	})
}

func TestCloseGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePusher{down: 1 << 30}
		h := newHistory(t, f, nil)
		h.StateChanged(t.Context(), batch(0, 2))
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		if err := h.Close(ctx); err == nil || !strings.Contains(err.Error(), "2 state changes not pushed") {
			t.Errorf("Close: %v", err)
		}
		h.StateChanged(t.Context(), batch(2, 1))
		if v := testutil.ToFloat64(h.dropped.WithLabelValues(reasonShutdown)); v != 3 {
			t.Errorf("shutdown drops %v, want 3", v)
		}
	})
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&lokipush.HTTPError{StatusCode: 400, Status: "400 Bad Request"}, false},
		{fmt.Errorf("wrapped: %w", &lokipush.HTTPError{StatusCode: 400}), false},
		{&lokipush.HTTPError{StatusCode: 429, Status: "429 Too Many Requests"}, true},
		{&lokipush.HTTPError{StatusCode: 500, Status: "500 Internal Server Error"}, true},
		{errors.New("loki push: dial tcp: connection refused"), true},
	} {
		if got := defaultRetryable(tc.err); got != tc.want {
			t.Errorf("%v: retryable %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	_, err := New(Options{MaxQueued: -1, MinBackoff: time.Minute, MaxBackoff: time.Second})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"Pusher is required", "must not be negative", "MinBackoff 1m0s is above MaxBackoff 1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

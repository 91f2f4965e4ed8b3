package email

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeTransport fails until up is set, and records attempt times.
type fakeTransport struct {
	mu       sync.Mutex
	up       bool
	attempts []time.Time
	got      []string
}

func (f *fakeTransport) Deliver(_ context.Context, from string, rcpts []string, msg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = append(f.attempts, time.Now())
	if !f.up {
		return errors.New("connection refused")
	}
	f.got = append(f.got, string(msg))
	return nil
}

const rawMsg = "From: a@x.example\r\nTo: b@x.example\r\nX-Hlalert-Transport: t\r\nSubject: s\r\n\r\nbody\r\n"

func TestBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		ft := &fakeTransport{}
		q, err := NewQueue(QueueOptions{Dir: dir, Transports: map[string]Transport{"t": ft}, Backoff: Backoff{Initial: 10 * time.Second, Max: 60 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := q.Enqueue("k1", []byte(rawMsg)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { q.Run(ctx); close(done) }()
		time.Sleep(155 * time.Second)
		synctest.Wait()
		ft.mu.Lock()
		var offsets []time.Duration
		for _, a := range ft.attempts {
			offsets = append(offsets, a.Sub(start))
		}
		ft.up = true
		ft.mu.Unlock()
		// 0, +10, +20, +40, +60 (capped), +60 ...
		want := []time.Duration{0, 10 * time.Second, 30 * time.Second, 70 * time.Second, 130 * time.Second}
		if len(offsets) != len(want) {
			t.Fatalf("attempts at %v, want %v", offsets, want)
		}
		for i := range want {
			if offsets[i] != want[i] {
				t.Fatalf("attempts at %v, want %v", offsets, want)
			}
		}
		time.Sleep(60 * time.Second)
		synctest.Wait()
		ft.mu.Lock()
		if len(ft.got) != 1 {
			t.Fatalf("delivered %d, want 1", len(ft.got))
		}
		if got := ft.got[0]; got != "From: a@x.example\r\nTo: b@x.example\r\nSubject: s\r\n\r\nbody\r\n" {
			t.Errorf("sent bytes %q: the transport header must be stripped", got)
		}
		ft.mu.Unlock()
		// Enqueueing the same key again (a retried batch) adds nothing.
		if added, err := q.Enqueue("k1", []byte(rawMsg)); err != nil || added {
			t.Errorf("re-enqueue of a delivered key: added=%v err=%v", added, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "sent")); err != nil {
			t.Fatal(err)
		}
		cancel()
		<-done
	})
}

// TestParkedMessagesAreNotReread: a held (outbox-only) message is read once;
// later passes do not read it again while its transport is still absent,
// and it is delivered once a transport appears.
func TestParkedMessagesAreNotReread(t *testing.T) {
	dir := t.TempDir()
	q, err := NewQueue(QueueOptions{Dir: dir, Backoff: Backoff{Initial: time.Second, Max: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	q.Replace(Transports{Held: []string{"t"}})
	if _, err := q.Enqueue("k1", []byte(rawMsg)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q.DeliverDue(ctx)
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("queued files %v, want 1", files)
	}
	// Garbage now: a pass that read it again would move it to failed/.
	if err := os.WriteFile(files[0], []byte("garbage, no headers"), 0o600); err != nil {
		t.Fatal(err)
	}
	q.DeliverDue(ctx)
	if left, _ := filepath.Glob(filepath.Join(dir, "*.eml")); len(left) != 1 {
		t.Fatalf("a parked message was read again: queued %v", left)
	}
	q.mu.Lock()
	zero := q.oldest.IsZero()
	q.mu.Unlock()
	if zero {
		t.Error("the oldest-queued gauge forgot the parked message")
	}
	// A transport appears: the message is read (and found unusable now).
	ft := &fakeTransport{up: true}
	q.Replace(Transports{SMTP: map[string]Transport{"t": ft}})
	q.DeliverDue(ctx)
	if failed, _ := filepath.Glob(filepath.Join(dir, failedDir, "*.eml")); len(failed) != 1 {
		t.Fatalf("after Replace the message was not read again: failed/ holds %v", failed)
	}
}

// TestSenderActivateSwapsTransports: a sender whose build fails leaves
// the queue's transports alone, even for its valid receivers; Activate
// installs exactly the new sender's transports, removing gone ones.
func TestSenderActivateSwapsTransports(t *testing.T) {
	q, err := NewQueue(QueueOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := Config{To: "op@home.example", From: "hlalert@nas.home.example", Smarthost: "mail.example:587"}
	a, err := NewSender(SenderOptions{Receivers: map[string][]Config{"gmail": {c}}, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Transports(); len(got) != 0 {
		t.Fatalf("NewSender installed transports before Activate: %v", got)
	}
	a.Activate()
	if got := strings.Join(q.Transports(), ","); got != "gmail#0" {
		t.Fatalf("transports %q, want gmail#0", got)
	}
	bad := c
	bad.From = ""
	if _, err := NewSender(SenderOptions{Receivers: map[string][]Config{"relay": {c}, "broken": {bad}}, Queue: q}); err == nil {
		t.Fatal("a config without from was accepted")
	}
	if got := strings.Join(q.Transports(), ","); got != "gmail#0" {
		t.Fatalf("a failed build changed the transports: %q", got)
	}
	b, err := NewSender(SenderOptions{Receivers: map[string][]Config{"relay": {c, c}}, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	b.Activate()
	if got := strings.Join(q.Transports(), ","); got != "relay#0,relay#1" {
		t.Fatalf("transports after the swap %q, want relay#0,relay#1 only", got)
	}
	ints := b.Integrations()
	if len(ints) != 1 || len(ints["relay"]) != 2 || ints["relay"][1].Name != "email[1]" {
		t.Errorf("integrations %+v", ints)
	}
}

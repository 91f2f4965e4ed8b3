package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/atomicfile"
)

// The durable queue is the outbox folder (outbox_dir): one RFC 5322
// .eml file per message, written atomically (temp file, fsync, rename,
// fsync folder) before Send returns. The deliverer sends the .eml files
// at the top of the folder in name order (names start with the UTC time
// they were queued), and after the SMTP server accepted one it renames it
// into sent/ (and fsyncs the folder) before anything else. Messages the
// server refuses permanently (5xx) maxPermanent times go to failed/.
//
// Crash windows: a crash before the rename leaves the message queued: it
// is sent again after the restart (at least once; the same Message-ID
// lets mail clients fold the duplicate). Nothing is ever dropped.
const (
	sentDir   = "sent"
	failedDir = "failed"
)

// Backoff is the retry schedule of one transport: Initial after the first
// failure, doubling up to Max.
type Backoff struct {
	Initial, Max time.Duration
}

func (b Backoff) after(attempts int) time.Duration {
	d := b.Initial
	for i := 1; i < attempts && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// QueueOptions configures a Queue.
type QueueOptions struct {
	Dir string // the outbox folder (outbox_dir); created when missing
	// Transports by name (receiver "#" email_configs index) to start
	// with; Sender.Activate replaces them (Replace).
	Transports map[string]Transport
	// DefaultTransport delivers queued .eml files without an
	// X-Hlalert-Transport header (e.g. written by hand or by older hlalert versions); "" leaves
	// them alone.
	DefaultTransport string
	Backoff          Backoff       // zero: 10s doubling up to 10m
	SentRetention    time.Duration // how long sent/ keeps delivered messages for de-duplication; zero: 7 days
	Logger           *slog.Logger
	Registerer       prometheus.Registerer
}

// Queue is the durable outbox and its deliverer.
type Queue struct {
	dir        string
	transports map[string]Transport
	deflt      string
	backoff    Backoff
	retention  time.Duration
	log        *slog.Logger
	kick       chan struct{}

	mu    sync.Mutex
	retry map[string]*retryState // by transport
	held  map[string]bool        // transports whose messages stay queued (no SMTP)
	perm  map[string]int         // permanent failures by file name
	// parked remembers queued messages that had no transport to go to
	// (held outbox-only mail, or a receiver removed by a reload), so that
	// later passes do not re-read them while that is still so.
	parked map[string]parkedMsg
	oldest time.Time // queued time of the oldest queued message; zero: none

	m queueMetrics
}

// parkedMsg is what a pass needs of a message it does not read again.
type parkedMsg struct {
	transport string
	queuedAt  time.Time
}

type retryState struct {
	attempts int
	next     time.Time
	lastErr  error
}

type queueMetrics struct {
	enqueued, sent, failures, failed prometheus.Counter
	queued                           prometheus.Gauge
	oldestAge                        prometheus.GaugeFunc
}

const maxPermanent = 5

// NewQueue creates the folders and registers the metrics.
func NewQueue(o QueueOptions) (*Queue, error) {
	if o.Dir == "" {
		return nil, errors.New("email queue: dir: required")
	}
	for _, d := range []string{o.Dir, filepath.Join(o.Dir, sentDir), filepath.Join(o.Dir, failedDir)} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("email queue: create folder: %w", err)
		}
	}
	q := &Queue{
		dir:        o.Dir,
		transports: map[string]Transport{},
		deflt:      o.DefaultTransport,
		backoff:    o.Backoff,
		retention:  o.SentRetention,
		log:        o.Logger,
		kick:       make(chan struct{}, 1),
		retry:      map[string]*retryState{},
		held:       map[string]bool{},
		perm:       map[string]int{},
		parked:     map[string]parkedMsg{},
	}
	for k, v := range o.Transports {
		q.transports[k] = v
	}
	if q.backoff.Initial <= 0 {
		q.backoff.Initial = 10 * time.Second
	}
	if q.backoff.Max < q.backoff.Initial {
		q.backoff.Max = max(10*time.Minute, q.backoff.Initial)
	}
	if q.retention <= 0 {
		q.retention = 7 * 24 * time.Hour
	}
	if q.log == nil {
		q.log = slog.Default()
	}
	q.m = queueMetrics{
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{Name: "hlalert_email_enqueued_total", Help: "E-mails written to the outbox queue."}),
		sent:     prometheus.NewCounter(prometheus.CounterOpts{Name: "hlalert_email_sent_total", Help: "E-mails accepted by the SMTP server."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "hlalert_email_delivery_failures_total", Help: "Failed SMTP delivery attempts (each is retried)."}),
		failed:   prometheus.NewCounter(prometheus.CounterOpts{Name: "hlalert_email_rejected_total", Help: "E-mails moved to failed/ after repeated permanent (5xx) refusals."}),
		queued:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "hlalert_email_queued", Help: "E-mails waiting in the outbox queue."}),
	}
	q.m.oldestAge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hlalert_email_oldest_queued_age_seconds",
		Help: "Age of the oldest e-mail waiting in the outbox queue; 0 when empty.",
	}, q.oldestAge)
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{q.m.enqueued, q.m.sent, q.m.failures, q.m.failed, q.m.queued, q.m.oldestAge} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("email queue: register metrics: %w", err)
			}
		}
	}
	if names, err := q.list(); err == nil {
		q.m.queued.Set(float64(len(names)))
	}
	return q, nil
}

// Replace installs a whole set of transports in one step (a config
// reload): transports not in t are removed. Queued messages of a removed
// transport stay in the outbox, parked: the deliverer logs them once and
// leaves them until a transport of that name is installed again (move
// them by hand to deliver them otherwise). Backoffs start over: the new
// settings are tried at once.
func (q *Queue) Replace(t Transports) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.transports = make(map[string]Transport, len(t.SMTP))
	for k, v := range t.SMTP {
		q.transports[k] = v
	}
	q.held = map[string]bool{}
	for _, k := range t.Held {
		q.held[k] = true
	}
	q.retry = map[string]*retryState{} // new settings: try them at once
	q.Kick()
}

// Transports lists the names of the installed SMTP transports, sorted.
func (q *Queue) Transports() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, 0, len(q.transports))
	for k := range q.transports {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (q *Queue) oldestAge() float64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.oldest.IsZero() {
		return 0
	}
	return time.Since(q.oldest).Seconds()
}

// Enqueue writes msg durably under key unless a message with that key
// is queued or was sent already (a retried batch). It reports whether it
// wrote a new file.
func (q *Queue) Enqueue(key string, msg []byte) (bool, error) {
	for _, d := range []string{q.dir, filepath.Join(q.dir, sentDir), filepath.Join(q.dir, failedDir)} {
		m, err := filepath.Glob(filepath.Join(d, "*-"+key+".eml"))
		if err != nil {
			return false, fmt.Errorf("email queue: look up %s: %w", key, err)
		}
		if len(m) > 0 {
			return false, nil
		}
	}
	name := time.Now().UTC().Format("20060102T150405.000000000Z") + "-mail-" + key + ".eml"
	if err := atomicfile.Write(filepath.Join(q.dir, name), msg, 0o600); err != nil {
		return false, fmt.Errorf("email queue: %w", err)
	}
	q.m.enqueued.Inc()
	q.m.queued.Inc()
	q.Kick()
	return true, nil
}

// Kick wakes the deliverer.
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Run delivers queued messages until ctx ends: at start (everything left
// by a previous run), whenever Enqueue adds one, and when a transport's
// backoff expires.
func (q *Queue) Run(ctx context.Context) error {
	for {
		next := q.DeliverDue(ctx)
		var wait <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(time.Until(next))
			wait = t.C
		}
		select {
		case <-ctx.Done():
		case <-q.kick:
		case <-wait:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (q *Queue) list() ([]string, error) {
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("email queue: read %s: %w", q.dir, err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// DeliverDue makes one delivery pass over the queue, in order. A
// transport that fails is not tried again, for any message, before its
// backoff expires, so its messages stay in order. It returns when the
// next pass is due (zero: nothing waits on a backoff).
func (q *Queue) DeliverDue(ctx context.Context) time.Time {
	q.pruneSent()
	names, err := q.list()
	if err != nil {
		q.log.Error("email queue: list", "err", err)
		return time.Now().Add(q.backoff.Initial)
	}
	var oldest time.Time
	var next time.Time
	remaining := 0
	blocked := map[string]bool{}
	listed := make(map[string]bool, len(names))
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		listed[name] = true
		q.mu.Lock()
		pm, isParked := q.parked[name]
		stillParked := isParked && q.transports[pm.transport] == nil
		q.mu.Unlock()
		if stillParked {
			remaining++
			if oldest.IsZero() || pm.queuedAt.Before(oldest) {
				oldest = pm.queuedAt
			}
			continue
		}
		path := filepath.Join(q.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			q.log.Error("email queue: read message", "file", path, "err", err)
			remaining++
			continue
		}
		env, body, err := envelope(data, q.deflt)
		if err != nil {
			q.log.Error("email queue: unusable message moved to failed/", "file", path, "err", err)
			q.moveTo(name, failedDir)
			q.m.failed.Inc()
			continue
		}
		queuedAt := time.Now()
		if fi, err := os.Stat(path); err == nil {
			queuedAt = fi.ModTime()
		}
		if oldest.IsZero() || queuedAt.Before(oldest) {
			oldest = queuedAt
		}
		remaining++
		q.mu.Lock()
		tr := q.transports[env.transport]
		rs := q.retry[env.transport]
		held := q.held[env.transport]
		q.mu.Unlock()
		if tr == nil {
			if env.transport != "" && !blocked[env.transport] && !held {
				q.log.Error("email queue: no transport configured for queued message; kept", "file", path, "transport", env.transport)
			}
			blocked[env.transport] = true
			q.mu.Lock()
			q.parked[name] = parkedMsg{transport: env.transport, queuedAt: queuedAt}
			q.mu.Unlock()
			continue
		}
		if blocked[env.transport] {
			continue
		}
		if rs != nil && time.Now().Before(rs.next) {
			blocked[env.transport] = true
			if next.IsZero() || rs.next.Before(next) {
				next = rs.next
			}
			continue
		}
		err = tr.Deliver(ctx, env.from, env.rcpts, body)
		if err == nil {
			if err := q.moveTo(name, sentDir); err != nil {
				// Accepted but not recorded: stop here rather than risk a resend loop.
				q.log.Error("email queue: delivered but could not move to sent/", "file", path, "err", err)
				return time.Now().Add(q.backoff.Initial)
			}
			q.m.sent.Inc()
			q.m.queued.Dec()
			remaining--
			if remaining == 0 {
				oldest = time.Time{}
			}
			q.mu.Lock()
			delete(q.retry, env.transport)
			delete(q.perm, name)
			q.mu.Unlock()
			q.log.Info("email sent", "file", name, "transport", env.transport, "to", strings.Join(env.rcpts, ","))
			continue
		}
		q.m.failures.Inc()
		if permanent(err) {
			q.mu.Lock()
			q.perm[name]++
			n := q.perm[name]
			q.mu.Unlock()
			if n >= maxPermanent {
				q.log.Error("email refused permanently; moved to failed/", "file", name, "transport", env.transport, "err", err)
				_ = q.moveTo(name, failedDir)
				q.m.failed.Inc()
				q.m.queued.Dec()
				remaining--
				continue
			}
		}
		q.mu.Lock()
		if rs == nil {
			rs = &retryState{}
			q.retry[env.transport] = rs
		}
		rs.attempts++
		rs.lastErr = err
		rs.next = time.Now().Add(q.backoff.after(rs.attempts))
		q.mu.Unlock()
		q.log.Warn("email delivery failed; will retry", "file", name, "transport", env.transport, "attempt", rs.attempts, "retry_at", rs.next, "err", err)
		blocked[env.transport] = true
		if next.IsZero() || rs.next.Before(next) {
			next = rs.next
		}
	}
	q.mu.Lock()
	if ctx.Err() == nil {
		for name := range q.parked {
			if !listed[name] {
				delete(q.parked, name) // sent, moved or removed by hand
			}
		}
	}
	if remaining == 0 {
		oldest = time.Time{}
	}
	q.oldest = oldest
	q.mu.Unlock()
	q.m.queued.Set(float64(remaining))
	return next
}

// Pending lists the names of the queued messages.
func (q *Queue) Pending() ([]string, error) { return q.list() }

// LastError is the last delivery error of a transport (nil: none since
// its last success).
func (q *Queue) LastError(transport string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if rs := q.retry[transport]; rs != nil {
		return rs.lastErr
	}
	return nil
}

func permanent(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500
}

type env struct {
	from, transport string
	rcpts           []string
}

// envelope reads the sender, recipients (To, Cc, Bcc) and transport from
// a queued message's headers and returns the bytes to send: the message
// without the X-Hlalert-Transport header.
func envelope(data []byte, deflt string) (env, []byte, error) {
	var e env
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return e, nil, fmt.Errorf("parse message: %w", err)
	}
	from, err := mail.ParseAddress(m.Header.Get("From"))
	if err != nil {
		return e, nil, fmt.Errorf("From: %w", err)
	}
	e.from = from.Address
	for _, h := range []string{"To", "Cc", "Bcc"} {
		if m.Header.Get(h) == "" {
			continue
		}
		list, err := m.Header.AddressList(h)
		if err != nil {
			return e, nil, fmt.Errorf("%s: %w", h, err)
		}
		for _, a := range list {
			e.rcpts = append(e.rcpts, a.Address)
		}
	}
	if len(e.rcpts) == 0 {
		return e, nil, errors.New("no recipients")
	}
	e.transport = m.Header.Get(TransportHeader)
	if e.transport == "" {
		e.transport = deflt
		return e, data, nil
	}
	return e, stripHeader(data, TransportHeader), nil
}

// stripHeader removes one header field (with continuation lines) from
// the header section.
func stripHeader(data []byte, name string) []byte {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return data
	}
	lines := strings.SplitAfter(string(data[:end+2]), "\r\n")
	var out strings.Builder
	skipping := false
	for _, l := range lines {
		if skipping && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) {
			continue
		}
		skipping = false
		if i := strings.IndexByte(l, ':'); i > 0 && strings.EqualFold(l[:i], name) {
			skipping = true
			continue
		}
		out.WriteString(l)
	}
	out.Write(data[end+2:])
	return []byte(out.String())
}

func (q *Queue) moveTo(name, sub string) error {
	if err := os.Rename(filepath.Join(q.dir, name), filepath.Join(q.dir, sub, name)); err != nil {
		return fmt.Errorf("email queue: move %s to %s/: %w", name, sub, err)
	}
	if err := atomicfile.SyncDir(filepath.Join(q.dir, sub)); err != nil {
		return fmt.Errorf("email queue: %w", err)
	}
	if err := atomicfile.SyncDir(q.dir); err != nil {
		return fmt.Errorf("email queue: %w", err)
	}
	return nil
}

// pruneSent forgets delivered messages older than the retention.
func (q *Queue) pruneSent() {
	dir := filepath.Join(q.dir, sentDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-q.retention)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

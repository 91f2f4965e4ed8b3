// Package history pushes every alert state change to Loki, so that Grafana
// can show the alert timeline: one JSON line per change, in a stream
// labelled {job="hlalert", alertname="...", group="..."}. Alert labels go in
// the line, not in the stream labels, to keep Loki's streams few.
//
// StateChanged never blocks evaluation: changes go into a bounded queue
// (the oldest are dropped, and counted, when it is full); a background loop
// pushes them in batches and retries with backoff while Loki is down.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/lokiproto"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/prometheus/client_golang/prometheus"
)

// Pusher sends streams to Loki; *lokipush.Client is one.
type Pusher interface {
	Push(ctx context.Context, streams []lokiproto.Stream) error
}

// Options configures a History.
type Options struct {
	Pusher Pusher
	// Job is the job stream label. Default "hlalert".
	Job string
	// MaxQueued bounds the queue of changes waiting to be pushed; when it
	// is full the oldest are dropped. Default 10000.
	MaxQueued int
	// MaxPerPush bounds the changes sent in one push. Default 1000.
	MaxPerPush int
	// FlushInterval is how often queued changes are pushed. Default 1s.
	FlushInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries. Defaults
	// 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Retryable tells whether a push error is worth retrying; a batch whose
	// push fails otherwise is dropped and counted. Default: everything but
	// an HTTP 4xx answer other than 429 (Loki refuses the data itself).
	Retryable  func(error) bool
	Registerer prometheus.Registerer // nil: metrics not registered
	Logger     *slog.Logger          // nil: slog.Default()
}

func (o *Options) validate() error {
	var errs []error
	if o.Pusher == nil {
		errs = append(errs, errors.New("history: Pusher is required"))
	}
	if o.MaxQueued < 0 || o.MaxPerPush < 0 || o.FlushInterval < 0 || o.MinBackoff < 0 || o.MaxBackoff < 0 {
		errs = append(errs, errors.New("history: MaxQueued, MaxPerPush, FlushInterval, MinBackoff and MaxBackoff must not be negative"))
	}
	if o.MaxBackoff > 0 && o.MinBackoff > o.MaxBackoff {
		errs = append(errs, fmt.Errorf("history: MinBackoff %s is above MaxBackoff %s", o.MinBackoff, o.MaxBackoff))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if o.Job == "" {
		o.Job = "hlalert"
	}
	if o.MaxQueued == 0 {
		o.MaxQueued = 10_000
	}
	if o.MaxPerPush == 0 {
		o.MaxPerPush = 1000
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Second
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	o.MinBackoff = min(o.MinBackoff, o.MaxBackoff)
	if o.Retryable == nil {
		o.Retryable = defaultRetryable
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// defaultRetryable retries everything but Loki's final refusals (a 4xx
// other than 429).
func defaultRetryable(err error) bool {
	var he *lokipush.HTTPError
	if errors.As(err, &he) {
		return he.Retryable()
	}
	return true
}

// History implements evaluator.StateSink.
type History struct {
	opts Options

	mu     sync.Mutex
	queue  []alert.StateChange
	closed bool

	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	pushed, failedPushes prometheus.Counter
	dropped              *prometheus.CounterVec
	queued               prometheus.Gauge
}

// Reasons for dropped changes (the "reason" label).
const (
	reasonQueueFull = "queue_full"
	reasonRejected  = "rejected"
	reasonShutdown  = "shutdown"
)

// New validates the options and starts the pushing loop; Close flushes and
// stops it.
func New(opts Options) (*History, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	h := &History{
		opts: opts,
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
		pushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hlalert_history_changes_pushed_total",
			Help: "Alert state changes pushed to Loki.",
		}),
		failedPushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hlalert_history_pushes_failed_total",
			Help: "Pushes to Loki that failed (each retry counts).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_history_changes_dropped_total",
			Help: "Alert state changes never pushed, by reason (queue_full, rejected, shutdown).",
		}, []string{"reason"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hlalert_history_queued_changes",
			Help: "Alert state changes waiting to be pushed.",
		}),
	}
	for _, r := range []string{reasonQueueFull, reasonRejected, reasonShutdown} {
		h.dropped.WithLabelValues(r)
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{h.pushed, h.failedPushes, h.dropped, h.queued} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("history: register metrics: %w", err)
			}
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	go h.loop()
	return h, nil
}

// StateChanged queues the changes; it never waits for Loki. Changes after
// Close are dropped and counted.
func (h *History) StateChanged(ctx context.Context, changes []alert.StateChange) {
	if len(changes) == 0 {
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.dropped.WithLabelValues(reasonShutdown).Add(float64(len(changes)))
		return
	}
	h.queue = append(h.queue, changes...)
	dropped := 0
	if over := len(h.queue) - h.opts.MaxQueued; over > 0 {
		n := copy(h.queue, h.queue[over:])
		clear(h.queue[n:])
		h.queue = h.queue[:n]
		dropped = over
	}
	full := len(h.queue) >= h.opts.MaxPerPush
	h.queued.Set(float64(len(h.queue)))
	h.mu.Unlock()
	if dropped > 0 {
		h.dropped.WithLabelValues(reasonQueueFull).Add(float64(dropped))
		h.opts.Logger.Warn("alert history queue full: dropped the oldest changes", "dropped", dropped, "max_queued", h.opts.MaxQueued)
	}
	if full {
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}
}

// Close stops accepting changes and pushes what is queued, retrying until
// ctx ends. It returns an error naming how many changes were lost.
func (h *History) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	close(h.stop)
	select {
	case <-h.done:
	case <-ctx.Done():
		h.cancel()
		<-h.done
	}
	h.cancel()
	h.mu.Lock()
	left := len(h.queue)
	h.queue = nil
	h.queued.Set(0)
	h.mu.Unlock()
	if left > 0 {
		h.dropped.WithLabelValues(reasonShutdown).Add(float64(left))
		h.opts.Logger.Error("alert history: changes not pushed at shutdown", "changes", left)
		return fmt.Errorf("history: %d state changes not pushed at shutdown: %w", left, context.Cause(ctx))
	}
	return nil
}

func (h *History) loop() {
	defer close(h.done)
	t := time.NewTicker(h.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-h.kick:
		case <-h.stop:
			h.pushAll()
			return
		}
		h.pushAll()
	}
}

func (h *History) take() []alert.StateChange {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := min(len(h.queue), h.opts.MaxPerPush)
	if n == 0 {
		return nil
	}
	batch := slices.Clone(h.queue[:n])
	rest := copy(h.queue, h.queue[n:])
	clear(h.queue[rest:])
	h.queue = h.queue[:rest]
	h.queued.Set(float64(len(h.queue)))
	return batch
}

func (h *History) pushAll() {
	for {
		batch := h.take()
		if batch == nil {
			return
		}
		if !h.push(batch) {
			h.mu.Lock()
			h.queue = append(batch, h.queue...)
			h.queued.Set(float64(len(h.queue)))
			h.mu.Unlock()
			return
		}
	}
}

// push sends one batch with retries; false means cancelled before Loki
// took or refused it.
func (h *History) push(batch []alert.StateChange) bool {
	streams := Streams(h.opts.Job, batch)
	backoff := h.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		err := h.opts.Pusher.Push(h.ctx, streams)
		if err == nil {
			h.pushed.Add(float64(len(batch)))
			if attempt > 1 {
				h.opts.Logger.Info("alert history push recovered", "attempts", attempt)
			}
			return true
		}
		h.failedPushes.Inc()
		if h.ctx.Err() != nil {
			return false
		}
		if !h.opts.Retryable(err) {
			h.dropped.WithLabelValues(reasonRejected).Add(float64(len(batch)))
			h.opts.Logger.Error("Loki refused alert history; dropping the batch", "changes", len(batch), "err", err)
			return true
		}
		h.opts.Logger.Warn("alert history push failed; retrying", "changes", len(batch), "attempt", attempt, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			return false
		}
		backoff = min(2*backoff, h.opts.MaxBackoff)
	}
}

// Line is the JSON document pushed for one change. Grafana reads it with
// `| json`.
type Line struct {
	Group       string            `json:"group"`
	Rule        string            `json:"rule"`
	From        string            `json:"from"`
	To          string            `json:"to"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Value       float64           `json:"value"`
	ActiveAt    *time.Time        `json:"active_at,omitempty"`
	FiredAt     *time.Time        `json:"fired_at,omitempty"`
	ResolvedAt  *time.Time        `json:"resolved_at,omitempty"`
}

func stateName(s alert.State) string {
	switch s {
	case alert.StatePending:
		return "pending"
	case alert.StateFiring:
		return "firing"
	default:
		return "inactive"
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// encodeLine renders one change. A value JSON cannot hold (NaN, ±Inf) is
// written as 0; the alert's labels and states are what matters.
func encodeLine(c alert.StateChange) string {
	v := c.Alert.LastValue
	if v != v || v > 1e308 || v < -1e308 {
		v = 0
	}
	l := Line{
		Group: c.Group, Rule: c.Rule, From: stateName(c.From), To: stateName(c.To),
		Labels: c.Alert.Labels.Map(), Annotations: c.Alert.Annotations, Value: v,
		ActiveAt: timePtr(c.Alert.ActiveAt), FiredAt: timePtr(c.Alert.FiredAt), ResolvedAt: timePtr(c.Alert.ResolvedAt),
	}
	b, err := json.Marshal(l)
	if err != nil { // only strings, maps of strings, finite numbers and times: cannot fail
		return fmt.Sprintf(`{"group":%q,"rule":%q,"error":%q}`, c.Group, c.Rule, err.Error())
	}
	return string(b)
}

// Streams groups changes into Loki streams labelled
// {job, alertname, group}, entries in time order.
func Streams(job string, changes []alert.StateChange) []lokiproto.Stream {
	idx := map[string]int{}
	var out []lokiproto.Stream
	for _, c := range changes {
		alertname := c.Alert.Labels.Get(alert.NameLabel)
		if alertname == "" {
			alertname = c.Rule
		}
		sel := "{job=" + strconv.Quote(job) + ", alertname=" + strconv.Quote(alertname) + ", group=" + strconv.Quote(c.Group) + "}"
		i, ok := idx[sel]
		if !ok {
			i = len(out)
			idx[sel] = i
			out = append(out, lokiproto.Stream{Labels: sel})
		}
		out[i].Entries = append(out[i].Entries, lokiproto.Entry{Timestamp: c.At, Line: encodeLine(c)})
	}
	for i := range out {
		slices.SortStableFunc(out[i].Entries, func(a, b lokiproto.Entry) int { return a.Timestamp.Compare(b.Timestamp) })
	}
	return out
}

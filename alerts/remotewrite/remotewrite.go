// Package remotewrite writes the samples of recording rules (and the
// ALERTS series) back to VictoriaMetrics, or any receiver of Prometheus'
// remote write protocol v1, as vmalert does.
//
// Write never blocks evaluation: samples go into a bounded in-memory buffer
// (the oldest are dropped, and counted, when it is full); a background loop
// sends them in batches, retrying with exponential backoff while the
// receiver is down; Close flushes what is left.
package remotewrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hlalert/hlalert/alerts/datasource"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configures a Writer.
type Options struct {
	// URL is the receiver's base URL, to which /api/v1/write is appended:
	// http://vm:8428 (single node),
	// http://vminsert:8480/insert/<tenant>/prometheus (cluster), or a
	// Prometheus with its remote write receiver enabled. A URL that already
	// ends in /api/v1/write is used as is; one ending in VictoriaMetrics'
	// /api/v1/import is turned into the /api/v1/write of the same prefix
	// (same storage; the remote write protocol keeps staleness markers,
	// which the JSON import cannot carry).
	URL  string
	HTTP datasource.HTTPOptions // headers, client (auth, TLS, timeout)
	// MaxBufferedSamples bounds the buffer; when full the oldest samples are
	// dropped. Default 100000.
	MaxBufferedSamples int
	// MaxSamplesPerRequest bounds a request. Default 10000.
	MaxSamplesPerRequest int
	// FlushInterval is how often buffered samples are sent even when a
	// request is not full. Default 2s.
	FlushInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a failed
	// request (doubling from min to max). Defaults 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	Registerer             prometheus.Registerer // nil: metrics not registered
	Logger                 *slog.Logger          // nil: slog.Default()
}

func (o *Options) validate() error {
	var errs []error
	if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		errs = append(errs, fmt.Errorf("remote write: url: want http(s)://host:port[/path], got %q", o.URL))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxBufferedSamples", int64(o.MaxBufferedSamples)},
		{"MaxSamplesPerRequest", int64(o.MaxSamplesPerRequest)},
		{"FlushInterval", int64(o.FlushInterval)},
		{"MinBackoff", int64(o.MinBackoff)},
		{"MaxBackoff", int64(o.MaxBackoff)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("remote write: %s must not be negative", f.name))
		}
	}
	if o.MaxBackoff > 0 && o.MinBackoff > o.MaxBackoff {
		errs = append(errs, fmt.Errorf("remote write: MinBackoff %s is above MaxBackoff %s", o.MinBackoff, o.MaxBackoff))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if o.MaxBufferedSamples == 0 {
		o.MaxBufferedSamples = 100_000
	}
	if o.MaxSamplesPerRequest == 0 {
		o.MaxSamplesPerRequest = 10_000
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 2 * time.Second
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MinBackoff > o.MaxBackoff {
		o.MinBackoff = o.MaxBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Writer implements evaluator.Writer.
type Writer struct {
	opts     Options
	endpoint string
	m        *metrics

	mu     sync.Mutex
	buf    []series.Point
	closed bool

	kick   chan struct{} // a full request is buffered
	stop   chan struct{} // Close was called
	done   chan struct{} // the loop returned
	ctx    context.Context
	cancel context.CancelFunc
}

// New validates the options and starts the sending loop. Call Close to
// flush and stop it.
func New(opts Options) (*Writer, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		opts:     opts,
		endpoint: endpoint(opts.URL),
		m:        m,
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	m.buffered.Set(0)
	opts.Logger.Info("remote write of recorded samples", "url", w.endpoint, "max_buffered", opts.MaxBufferedSamples)
	go w.loop()
	return w, nil
}

// endpoint derives the write endpoint from Options.URL.
func endpoint(raw string) string {
	u := strings.TrimRight(raw, "/")
	switch {
	case strings.HasSuffix(u, "/api/v1/write"):
		return u
	case strings.HasSuffix(u, "/api/v1/import"):
		return strings.TrimSuffix(u, "/api/v1/import") + "/api/v1/write"
	default:
		return u + "/api/v1/write"
	}
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("remote write: writer is closed")

// Write buffers pts for sending; it never blocks on the network. The writer
// keeps the points' label sets: callers must not modify them afterwards.
// When the buffer overflows the oldest samples are dropped and counted.
func (w *Writer) Write(ctx context.Context, pts []series.Point) error {
	if len(pts) == 0 {
		return nil
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.buf = append(w.buf, pts...)
	dropped := 0
	if over := len(w.buf) - w.opts.MaxBufferedSamples; over > 0 {
		n := copy(w.buf, w.buf[over:])
		clear(w.buf[n:])
		w.buf = w.buf[:n]
		dropped = over
	}
	full := len(w.buf) >= w.opts.MaxSamplesPerRequest
	w.m.buffered.Set(float64(len(w.buf)))
	w.mu.Unlock()
	if dropped > 0 {
		w.m.dropped.WithLabelValues(reasonBufferFull).Add(float64(dropped))
		w.opts.Logger.Warn("remote write buffer full: dropped the oldest samples", "dropped", dropped, "max_buffered", w.opts.MaxBufferedSamples, "url", w.endpoint)
	}
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Close stops accepting samples and sends what is buffered, retrying until
// ctx ends. It returns an error naming how many samples were not written.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	w.cancel()
	w.mu.Lock()
	left := len(w.buf)
	w.buf = nil
	w.m.buffered.Set(0)
	w.mu.Unlock()
	if left > 0 {
		w.m.dropped.WithLabelValues(reasonShutdown).Add(float64(left))
		w.opts.Logger.Error("remote write: samples not written at shutdown", "samples", left, "url", w.endpoint)
		return fmt.Errorf("remote write: %d samples not written at shutdown: %w", left, context.Cause(ctx))
	}
	return nil
}

// loop sends buffered samples every FlushInterval, or as soon as a full
// request is buffered, until Close; then it flushes what is left.
func (w *Writer) loop() {
	defer close(w.done)
	t := time.NewTicker(w.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.kick:
		case <-w.stop:
			w.sendAll()
			return
		}
		w.sendAll()
	}
}

// take removes up to one request's worth of samples from the buffer.
func (w *Writer) take() []series.Point {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(w.buf), w.opts.MaxSamplesPerRequest)
	if n == 0 {
		return nil
	}
	batch := make([]series.Point, n)
	copy(batch, w.buf)
	rest := copy(w.buf, w.buf[n:])
	clear(w.buf[rest:])
	w.buf = w.buf[:rest]
	w.m.buffered.Set(float64(len(w.buf)))
	return batch
}

// requeue puts a batch that could not be sent back in front of the buffer.
func (w *Writer) requeue(batch []series.Point) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(batch, w.buf...)
	w.m.buffered.Set(float64(len(w.buf)))
}

// sendAll sends batches until the buffer is empty or the writer is
// cancelled.
func (w *Writer) sendAll() {
	for {
		batch := w.take()
		if batch == nil {
			return
		}
		if !w.send(batch) {
			w.requeue(batch)
			return
		}
	}
}

// send posts one batch, retrying retryable failures with backoff. It
// returns false only when the writer was cancelled before the batch was
// accepted or rejected.
func (w *Writer) send(batch []series.Point) bool {
	body := encode(batch)
	backoff := w.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		retry, err := w.post(body)
		if err == nil {
			w.m.written.Add(float64(len(batch)))
			w.m.lastSuccess.SetToCurrentTime()
			if attempt > 1 {
				w.opts.Logger.Info("remote write recovered", "url", w.endpoint, "attempts", attempt)
			}
			return true
		}
		w.m.failedRequests.Inc()
		if !retry {
			w.m.dropped.WithLabelValues(reasonRejected).Add(float64(len(batch)))
			w.opts.Logger.Error("remote write rejected a batch; dropping it", "url", w.endpoint, "samples", len(batch), "err", err)
			return true
		}
		if w.ctx.Err() != nil {
			return false
		}
		w.opts.Logger.Warn("remote write failed; retrying", "url", w.endpoint, "samples", len(batch), "attempt", attempt, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			return false
		}
		backoff = min(2*backoff, w.opts.MaxBackoff)
	}
}

// post sends one request. retry tells whether a failure is worth retrying:
// network errors, 5xx and 429 are; other answers mean the receiver refuses
// the data and a retry would be refused too.
func (w *Writer) post(body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, w.endpoint, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	for k, vs := range w.opts.HTTP.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	client := w.opts.HTTP.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, fmt.Errorf("POST %s: %w", w.endpoint, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("POST %s: HTTP %s: %s", w.endpoint, resp.Status, strings.TrimSpace(string(msg)))
	return resp.StatusCode/100 == 5 || resp.StatusCode == http.StatusTooManyRequests, err
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

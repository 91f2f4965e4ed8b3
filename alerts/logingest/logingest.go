// Package logingest is the standalone mode's log receiver: Loki's push API
// (POST /loki/api/v1/push, protobuf+snappy as Alloy and Promtail send it,
// or JSON) into an in-memory logstream.Store that the embedded LogQL
// engine reads. It keeps only what the LogQL rules' windows reach (a
// retention the evaluator computes) and at most MaxBytes of lines; what it
// does not keep is counted in hlalert_log_lines_dropped_total{reason}.
package logingest

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/hlalert/hlalert/alerts/lokiproto"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/series"
)

// Drop reasons.
const (
	ReasonTooOld  = "too_old"  // older than the rules' windows reach
	ReasonLimit   = "limit"    // the store holds MaxBytes already
	ReasonNoRules = "no_rules" // no LogQL rule reads the embedded store
	ReasonInvalid = "invalid"  // bad labels (the stream is refused)
)

// DefaultMaxBytes bounds the lines kept when Options.MaxBytes is 0.
const DefaultMaxBytes = 64 << 20

// MaxBodyBytes bounds a push request's body (compressed and decoded).
const MaxBodyBytes = 16 << 20

// Options configure a Receiver. Store and Retention are required.
type Options struct {
	Store *logstream.Store
	// Retention is how far back the LogQL rules read (0: no LogQL rule
	// reads the store, nothing is kept). It is asked on every push and
	// prune, so a reloaded config takes effect at once.
	Retention func() time.Duration
	// MaxBytes bounds the bytes of lines kept; 0 means DefaultMaxBytes.
	MaxBytes int64
	// Now is the clock; nil means time.Now.
	Now        func() time.Time
	Registerer prometheus.Registerer // nil: none
	Logger     *slog.Logger          // nil: discard
}

func (o *Options) validate() error {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("logingest: Store is required"))
	}
	if o.Retention == nil {
		errs = append(errs, errors.New("logingest: Retention is required"))
	}
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("logingest: MaxBytes must not be negative, got %d", o.MaxBytes))
	}
	return errors.Join(errs...)
}

// Receiver serves POST /loki/api/v1/push.
type Receiver struct {
	opts     Options
	log      *slog.Logger
	received prometheus.Counter
	dropped  *prometheus.CounterVec

	mu     sync.Mutex
	labels map[string]series.Labels // parsed label strings, bounded
}

// maxCachedLabels bounds the cache of parsed stream label strings.
const maxCachedLabels = 10000

// New returns a receiver.
func New(opts Options) (*Receiver, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{
		opts: opts, log: opts.Logger, labels: map[string]series.Labels{},
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hlalert_log_lines_received_total",
			Help: "Log lines received on the push API (/loki/api/v1/push) of the standalone mode.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_log_lines_dropped_total",
			Help: "Pushed log lines not kept: too_old (before what the LogQL rules read), limit (the store is full), no_rules (no LogQL rule reads them), invalid (bad stream labels).",
		}, []string{"reason"}),
	}
	for _, reason := range []string{ReasonTooOld, ReasonLimit, ReasonNoRules, ReasonInvalid} {
		r.dropped.WithLabelValues(reason)
	}
	if reg := opts.Registerer; reg != nil {
		stats := func(f func(logstream.Stats) float64) func() float64 {
			return func() float64 { return f(opts.Store.Stats()) }
		}
		for _, c := range []prometheus.Collector{
			r.received, r.dropped,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hlalert_log_store_lines", Help: "Log lines held by the standalone mode's store."},
				stats(func(s logstream.Stats) float64 { return float64(s.Entries) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hlalert_log_store_bytes", Help: "Bytes of log lines held by the standalone mode's store."},
				stats(func(s logstream.Stats) float64 { return float64(s.Bytes) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hlalert_log_store_streams", Help: "Log streams held by the standalone mode's store."},
				stats(func(s logstream.Stats) float64 { return float64(s.Streams) })),
		} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("logingest: register metrics: %w", err)
			}
		}
	}
	return r, nil
}

// ServeHTTP accepts a push: 204 when decoded (lines not kept are counted,
// as Loki answers a push whose lines are too old), 400 for a body it
// cannot decode, 415 for another content type.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: push with POST", http.StatusMethodNotAllowed)
		return
	}
	streams, err := decode(req)
	if err != nil {
		var ue unsupportedTypeError
		if errors.As(err, &ue) {
			http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := r.Ingest(streams); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type unsupportedTypeError string

func (e unsupportedTypeError) Error() string { return string(e) }

// decode reads a push body: protobuf+snappy (application/x-protobuf, the
// default) or JSON (application/json, optionally gzip-encoded).
func decode(req *http.Request) ([]lokiproto.Stream, error) {
	body := io.LimitReader(req.Body, MaxBodyBytes+1)
	if ce := req.Header.Get("Content-Encoding"); ce == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		body = io.LimitReader(zr, MaxBodyBytes+1)
	} else if ce != "" && ce != "identity" && ce != "snappy" {
		return nil, unsupportedTypeError(fmt.Sprintf("content encoding %q not supported (gzip for JSON; protobuf bodies are snappy-compressed)", ce))
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(raw) > MaxBodyBytes {
		return nil, fmt.Errorf("body larger than %d bytes", MaxBodyBytes)
	}
	ct := req.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	switch strings.TrimSpace(ct) {
	case "", "application/x-protobuf":
		return decodeProto(raw)
	case "application/json":
		return decodeJSON(raw)
	}
	return nil, unsupportedTypeError(fmt.Sprintf("content type %q not supported: want application/x-protobuf (snappy) or application/json", ct))
}

func decodeProto(raw []byte) ([]lokiproto.Stream, error) {
	n, err := snappy.DecodedLen(raw)
	if err != nil {
		return nil, fmt.Errorf("snappy body: %w", err)
	}
	if n > MaxBodyBytes {
		return nil, fmt.Errorf("decoded body larger than %d bytes", MaxBodyBytes)
	}
	dec, err := snappy.Decode(nil, raw)
	if err != nil {
		return nil, fmt.Errorf("snappy body: %w", err)
	}
	streams, err := lokiproto.Unmarshal(dec)
	if err != nil {
		return nil, fmt.Errorf("protobuf body: %w", err)
	}
	for i := range streams {
		for j := range streams[i].Entries {
			streams[i].Entries[j].StructuredMetadata = nil
		}
	}
	return streams, nil
}

// jsonPush is Loki's JSON push body: {"streams": [{"stream": {...},
// "values": [["<unix ns>", "<line>"(, {structured metadata})], ...]}]}.
type jsonPush struct {
	Streams []struct {
		Stream map[string]string   `json:"stream"`
		Values [][]json.RawMessage `json:"values"`
	} `json:"streams"`
}

func decodeJSON(raw []byte) ([]lokiproto.Stream, error) {
	var jp jsonPush
	if err := json.Unmarshal(raw, &jp); err != nil {
		return nil, fmt.Errorf("JSON body: %w", err)
	}
	out := make([]lokiproto.Stream, 0, len(jp.Streams))
	for i, s := range jp.Streams {
		ls := series.FromMap(s.Stream)
		ps := lokiproto.Stream{Labels: ls.String()}
		for j, v := range s.Values {
			if len(v) < 2 || len(v) > 3 {
				return nil, fmt.Errorf("JSON body: streams[%d].values[%d]: want [\"<unix ns>\", \"<line>\"] (and structured metadata), got %d items", i, j, len(v))
			}
			var tsText, line string
			if err := json.Unmarshal(v[0], &tsText); err != nil {
				return nil, fmt.Errorf("JSON body: streams[%d].values[%d]: timestamp: want a string of Unix nanoseconds: %w", i, j, err)
			}
			ns, err := strconv.ParseInt(tsText, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("JSON body: streams[%d].values[%d]: timestamp %q: want Unix nanoseconds", i, j, tsText)
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				return nil, fmt.Errorf("JSON body: streams[%d].values[%d]: line: want a string: %w", i, j, err)
			}
			ps.Entries = append(ps.Entries, lokiproto.Entry{Timestamp: time.Unix(0, ns), Line: line})
		}
		out = append(out, ps)
	}
	return out, nil
}

// Ingest keeps what the rules read of the streams: lines newer than
// now - Retention, up to MaxBytes. A stream with bad labels is an error
// (its lines are counted as invalid); the other streams are kept.
func (r *Receiver) Ingest(streams []lokiproto.Stream) error {
	now := r.opts.Now()
	ret := r.opts.Retention()
	oldest := now.Add(-ret)
	budget := r.opts.MaxBytes - r.opts.Store.Stats().Bytes
	var errs []error
	for _, s := range streams {
		n := len(s.Entries)
		r.received.Add(float64(n))
		if ret <= 0 {
			r.dropped.WithLabelValues(ReasonNoRules).Add(float64(n))
			continue
		}
		ls, err := r.parseLabels(s.Labels)
		if err != nil {
			r.dropped.WithLabelValues(ReasonInvalid).Add(float64(n))
			errs = append(errs, err)
			continue
		}
		for _, e := range s.Entries {
			switch {
			case e.Timestamp.Before(oldest):
				r.dropped.WithLabelValues(ReasonTooOld).Inc()
				continue
			case int64(len(e.Line)) > budget:
				r.dropped.WithLabelValues(ReasonLimit).Inc()
				continue
			}
			if err := r.opts.Store.Append(ls, logstream.Entry{T: e.Timestamp, Line: e.Line}); err != nil {
				r.dropped.WithLabelValues(ReasonInvalid).Inc()
				errs = append(errs, err)
				break
			}
			budget -= int64(len(e.Line))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("push: %w", errors.Join(errs...))
	}
	return nil
}

// parseLabels reads a stream's label string ({job="x", host="y"}, as
// Loki's clients send it), cached.
func (r *Receiver) parseLabels(s string) (series.Labels, error) {
	r.mu.Lock()
	ls, ok := r.labels[s]
	r.mu.Unlock()
	if ok {
		return ls, nil
	}
	e, err := lqlengine.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("stream labels %q: %w", s, err)
	}
	le, ok := e.(*lqlengine.LogExpr)
	if !ok || len(le.Stages) > 0 {
		return nil, fmt.Errorf("stream labels %q: want a label set such as {job=\"x\"}", s)
	}
	m := make(map[string]string, len(le.Matchers))
	for _, mt := range le.Matchers {
		if mt.Negative || mt.Regexp {
			return nil, fmt.Errorf("stream labels %q: label %s: want =", s, mt.Name)
		}
		if mt.Value != "" {
			m[mt.Name] = mt.Value
		}
	}
	ls = series.FromMap(m)
	r.mu.Lock()
	if len(r.labels) >= maxCachedLabels {
		clear(r.labels)
	}
	r.labels[s] = ls
	r.mu.Unlock()
	return ls, nil
}

// Prune drops the lines older than the retention; it returns how many.
func (r *Receiver) Prune() int {
	return r.opts.Store.Prune(r.opts.Now().Add(-r.opts.Retention()))
}

// Run prunes every interval until ctx ends.
func (r *Receiver) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := r.Prune(); n > 0 {
				r.log.Debug("pruned log lines", "lines", n)
			}
		}
	}
}

// Package watchdog pings a heartbeat URL (a dead man's switch such as
// healthchecks.io or Uptime Kuma's push monitor) after healthy evaluation
// cycles, at most once per interval. When hlalert stops evaluating, or
// every cycle fails, the pings stop and the external service alerts.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configures a Watchdog.
type Options struct {
	URL      string        // heartbeat URL; required
	Method   string        // GET (default) or POST
	Interval time.Duration // minimum time between pings; zero: 1m
	Timeout  time.Duration // per ping; zero: 10s
	Client   *http.Client  // nil: a client with Timeout
	Logger   *slog.Logger
	// Now: nil: time.Now (tests inject a fake clock).
	Now        func() time.Time
	Registerer prometheus.Registerer
}

// Watchdog sends heartbeats.
type Watchdog struct {
	url, method string
	interval    time.Duration
	client      *http.Client
	log         *slog.Logger
	now         func() time.Time

	mu       sync.Mutex
	lastPing time.Time // last successful ping

	pings, failures prometheus.Counter
	lastSuccess     prometheus.Gauge
}

// New validates the options.
func New(o Options) (*Watchdog, error) {
	var errs []error
	u, err := url.Parse(o.URL)
	if o.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("watchdog: url: %q: want an http(s) URL", o.URL))
	}
	method := strings.ToUpper(o.Method)
	if method == "" {
		method = http.MethodGet
	}
	if method != http.MethodGet && method != http.MethodPost {
		errs = append(errs, fmt.Errorf("watchdog: method: %q: want GET or POST", o.Method))
	}
	if o.Interval < 0 || o.Timeout < 0 {
		errs = append(errs, errors.New("watchdog: interval and timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	w := &Watchdog{url: o.URL, method: method, interval: o.Interval, client: o.Client, log: o.Logger, now: o.Now}
	if w.interval == 0 {
		w.interval = time.Minute
	}
	if w.client == nil {
		t := o.Timeout
		if t == 0 {
			t = 10 * time.Second
		}
		w.client = &http.Client{Timeout: t}
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.now == nil {
		w.now = time.Now
	}
	w.pings = prometheus.NewCounter(prometheus.CounterOpts{Name: "hlalert_watchdog_pings_total", Help: "Successful heartbeat pings."})
	w.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "hlalert_watchdog_ping_failures_total", Help: "Failed heartbeat pings."})
	w.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hlalert_watchdog_last_success_timestamp_seconds", Help: "Time of the last successful heartbeat ping."})
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{w.pings, w.failures, w.lastSuccess} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("watchdog: register metrics: %w", err)
			}
		}
	}
	return w, nil
}

// Beat is called after each healthy evaluation cycle. It pings the URL
// unless the last successful ping is younger than the interval; a failed
// ping is retried at the next Beat. The error is for logging only.
func (w *Watchdog) Beat(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock() // one ping at a time; concurrent Beats wait and then skip
	now := w.now()
	if !w.lastPing.IsZero() && now.Sub(w.lastPing) < w.interval {
		return nil
	}
	if err := w.ping(ctx); err != nil {
		w.failures.Inc()
		w.log.Warn("watchdog heartbeat failed", "url", redact(w.url), "err", err)
		return err
	}
	w.lastPing = now
	w.pings.Inc()
	w.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
	return nil
}

func (w *Watchdog) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, w.method, w.url, nil)
	if err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL and its secret token
		}
		return fmt.Errorf("watchdog: %s %s: %w", w.method, redact(w.url), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("watchdog: %s %s: %s", w.method, redact(w.url), resp.Status)
	}
	return nil
}

// redact hides the path and query: heartbeat URLs usually embed a secret
// token.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Job is one collector with its schedule.
type Job struct {
	Collector Collector
	// Interval between updates; the first update runs at start.
	Interval time.Duration
	// Timeout bounds one update (its context's deadline). Zero means Interval.
	Timeout time.Duration
}

// Options are the Server's dependencies.
type Options struct {
	// Now is the clock for timestamps; nil means time.Now. Schedules use the
	// time package's timers (tests run them under testing/synctest).
	Now    func() time.Time
	Logger *slog.Logger
	// RuntimeMetricsMaxAge is how long /metrics reuses the Go runtime and
	// process metrics it gathered (reading /proc is most of a scrape's
	// cost): 0 means 5s, negative means gather them on every scrape.
	RuntimeMetricsMaxAge time.Duration
}

// Server runs the jobs in the background and serves their last results.
//
// Failed updates: the metrics of the last good update keep being served,
// beside hlexporter_collector_success 0 and the unchanged
// hlexporter_collector_last_success_timestamp_seconds, so they are never
// presented as fresh; when a failed update returns partial metrics, those
// (measured just now) replace the cached ones. A collector that never
// succeeded serves no data metrics and a last_success of 0.
type Server struct {
	jobs []*job
	now  func() time.Time
	log  *slog.Logger

	runtimeMaxAge time.Duration

	successDesc, durationDesc, lastSuccessDesc *prometheus.Desc
}

// servingDefs are the serving layer's own metrics (read-only).
var servingDefs = []struct{ name, help string }{
	{"hlexporter_collector_success", "Whether the collector's last update succeeded (1) or failed (0)."},
	{"hlexporter_collector_duration_seconds", "Duration of the collector's last update."},
	{"hlexporter_collector_last_success_timestamp_seconds", "Unix time of the collector's last successful update; 0 if none yet. Data metrics are as old as this."},
}

// ServingMetricDefs returns the definitions of the serving layer's own metrics.
func ServingMetricDefs() []*MetricDef {
	out := make([]*MetricDef, len(servingDefs))
	for i, d := range servingDefs {
		out[i] = NewMetricDef(d.name, d.help, Gauge, "collector")
	}
	return out
}

type job struct {
	Job
	name string
	defs []*MetricDef
	ok   map[*prometheus.Desc]bool

	mu          sync.RWMutex
	updated     bool // at least one update finished
	success     bool
	duration    time.Duration
	lastSuccess time.Time
	metrics     []prometheus.Metric
	encoded     []family // metrics, encoded for /metrics
	homepage    map[string]any
	lastErr     string
}

// New checks the jobs (names unique and non-empty, intervals positive,
// definitions well-formed) and returns a Server that has not started yet.
func New(jobs []Job, opts Options) (*Server, error) {
	s := &Server{now: opts.Now, log: opts.Logger, runtimeMaxAge: opts.RuntimeMetricsMaxAge}
	if s.runtimeMaxAge == 0 {
		s.runtimeMaxAge = 5 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	defs := ServingMetricDefs()
	s.successDesc, s.durationDesc, s.lastSuccessDesc = defs[0].Desc(), defs[1].Desc(), defs[2].Desc()
	seen := map[string]bool{}
	metricNames := map[string]string{}
	var errs []error
	for i, j := range jobs {
		if j.Collector == nil {
			errs = append(errs, fmt.Errorf("job %d: nil collector", i))
			continue
		}
		name := j.Collector.Name()
		switch {
		case name == "":
			errs = append(errs, fmt.Errorf("job %d: empty collector name", i))
		case seen[name]:
			errs = append(errs, fmt.Errorf("collector %q: configured twice", name))
		}
		seen[name] = true
		if j.Interval <= 0 {
			errs = append(errs, fmt.Errorf("collector %q: interval must be positive, got %s", name, j.Interval))
		}
		if j.Timeout < 0 {
			errs = append(errs, fmt.Errorf("collector %q: timeout must not be negative, got %s", name, j.Timeout))
		}
		if j.Timeout == 0 {
			j.Timeout = j.Interval
		}
		jb := &job{Job: j, name: name, defs: j.Collector.Describe(), ok: map[*prometheus.Desc]bool{}}
		for _, d := range jb.defs {
			if err := checkDef(d); err != nil {
				errs = append(errs, fmt.Errorf("collector %q: %w", name, err))
				continue
			}
			if other, dup := metricNames[d.Name]; dup {
				errs = append(errs, fmt.Errorf("collector %q: metric %s already defined by collector %q", name, d.Name, other))
			}
			metricNames[d.Name] = name
			jb.ok[d.Desc()] = true
		}
		s.jobs = append(s.jobs, jb)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func checkDef(d *MetricDef) error {
	if d == nil || d.desc == nil {
		return errors.New("nil metric definition (use NewMetricDef)")
	}
	if d.Help == "" {
		return fmt.Errorf("metric %s: empty help", d.Name)
	}
	switch d.Type {
	case Gauge, Counter, StateSet:
	case Info:
		if !strings.HasSuffix(d.Name, "_info") {
			return fmt.Errorf("metric %s: info metrics must end in _info", d.Name)
		}
	default:
		return fmt.Errorf("metric %s: unknown type %q", d.Name, d.Type)
	}
	if d.Type != Counter && strings.HasSuffix(d.Name, "_total") {
		return fmt.Errorf("metric %s: only counters end in _total", d.Name)
	}
	if d.Type == StateSet && len(d.Labels) == 0 {
		return fmt.Errorf("metric %s: a state set needs a state label", d.Name)
	}
	// prometheus.NewDesc records bad names/labels in the Desc itself; a
	// throwaway registry surfaces that error here rather than at scrape time.
	r := prometheus.NewPedanticRegistry()
	if err := r.Register(descOnly{d.desc}); err != nil {
		return fmt.Errorf("metric %s: %w", d.Name, err)
	}
	return nil
}

type descOnly struct{ d *prometheus.Desc }

func (c descOnly) Describe(ch chan<- *prometheus.Desc) { ch <- c.d }
func (c descOnly) Collect(chan<- prometheus.Metric)    {}

// Names lists the collectors' names in configuration order.
func (s *Server) Names() []string {
	out := make([]string, len(s.jobs))
	for i, j := range s.jobs {
		out[i] = j.name
	}
	return out
}

// Run starts every job's loop (first update at once, then one per interval;
// a slow update delays the next tick, updates of a collector never overlap)
// and blocks until ctx is done and the loops have returned.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, j := range s.jobs {
		wg.Go(func() { s.loop(ctx, j) })
	}
	wg.Wait()
}

func (s *Server) loop(ctx context.Context, j *job) {
	s.UpdateOnce(ctx, j.name)
	t := time.NewTicker(j.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.UpdateOnce(ctx, j.name)
		}
	}
}

// UpdateOnce runs one update of the named collector now and stores its
// result; Run calls it on schedule. It reports whether the update succeeded.
func (s *Server) UpdateOnce(ctx context.Context, name string) bool {
	var j *job
	for _, c := range s.jobs {
		if c.name == name {
			j = c
		}
	}
	if j == nil {
		return false
	}
	start := s.now()
	uctx, cancel := context.WithTimeout(ctx, j.Timeout)
	res, err := safeUpdate(uctx, j.Collector)
	overran := errors.Is(uctx.Err(), context.DeadlineExceeded)
	cancel()
	dur := s.now().Sub(start)
	var encoded []family
	if err == nil {
		encoded, err = j.check(res)
	}
	if err == nil && overran { // a collector that ignored its deadline
		err = fmt.Errorf("update ran past its %s timeout", j.Timeout)
	}
	if err != nil && ctx.Err() != nil {
		return false // shutting down: keep the last state, log nothing
	}
	log := s.log.With("collector", j.name, "duration", dur.Round(time.Millisecond))
	j.mu.Lock()
	j.updated = true
	j.duration = dur
	if err == nil {
		j.success = true
		j.lastSuccess = start
		j.metrics, j.encoded = res.Metrics, encoded
		j.homepage = res.Homepage
		j.lastErr = ""
	} else {
		j.success = false
		j.lastErr = err.Error()
		if len(res.Metrics) > 0 {
			if enc, perr := j.check(Result{Metrics: res.Metrics}); perr == nil {
				j.metrics, j.encoded = res.Metrics, enc
			}
		}
	}
	j.mu.Unlock()
	if err != nil {
		log.Error("collector update failed; serving its last good values with success 0", "err", err, "partial_metrics", len(res.Metrics))
		return false
	}
	log.Debug("collector updated", "metrics", len(res.Metrics))
	return true
}

func safeUpdate(ctx context.Context, c Collector) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = Result{}, fmt.Errorf("update panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return c.Update(ctx)
}

// check rejects metrics the collector did not describe, duplicate series
// and homepage fields that are not flat; it returns the metrics encoded
// for /metrics.
func (j *job) check(res Result) ([]family, error) {
	for _, m := range res.Metrics {
		if m == nil {
			return nil, errors.New("update returned a nil metric")
		}
		if !j.ok[m.Desc()] {
			return nil, fmt.Errorf("update emitted %s, which Describe does not list", m.Desc())
		}
	}
	for k, v := range res.Homepage {
		if k == "" || strings.EqualFold(k, "error") {
			return nil, fmt.Errorf("homepage field %q is not allowed", k)
		}
		switch v := v.(type) {
		case nil, bool, string, int, int64, uint64, float64, time.Time:
		case float32, int32, uint32, uint:
		default:
			return nil, fmt.Errorf("homepage field %q: %T is not a flat value", k, v)
		}
	}
	return encodeFamilies(j.defs, res.Metrics)
}

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.successDesc
	ch <- s.durationDesc
	ch <- s.lastSuccessDesc
	for _, j := range s.jobs {
		for _, d := range j.defs {
			ch <- d.Desc()
		}
	}
}

// Collect implements prometheus.Collector: it serves cached results only.
// /metrics does not use it (it copies each update's encoded families, see
// WriteExposition); it lets a Server join another registry.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	for _, j := range s.jobs {
		j.mu.RLock()
		if !j.updated {
			j.mu.RUnlock()
			continue // not run yet: nothing to say, not even success 0
		}
		succ := 0.0
		if j.success {
			succ = 1
		}
		last := 0.0
		if !j.lastSuccess.IsZero() {
			last = float64(j.lastSuccess.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(s.successDesc, prometheus.GaugeValue, succ, j.name)
		ch <- prometheus.MustNewConstMetric(s.durationDesc, prometheus.GaugeValue, j.duration.Seconds(), j.name)
		ch <- prometheus.MustNewConstMetric(s.lastSuccessDesc, prometheus.GaugeValue, last, j.name)
		for _, m := range j.metrics {
			ch <- m
		}
		j.mu.RUnlock()
	}
}

// Homepage returns the flat fields of one collector (name) or of all
// (name == ""), each key prefixed with its collector's name, plus
// <name>_success (0/1), <name>_last_success (RFC 3339, UTC) and
// <name>_age_seconds. ok is false for an unknown name.
func (s *Server) Homepage(name string) (map[string]any, bool) {
	out := map[string]any{}
	found := false
	now := s.now()
	for _, j := range s.jobs {
		if name != "" && j.name != name {
			continue
		}
		found = true
		j.mu.RLock()
		p := j.name + "_"
		succ := 0
		if j.success {
			succ = 1
		}
		out[p+"success"] = succ
		if !j.lastSuccess.IsZero() {
			out[p+"last_success"] = j.lastSuccess.UTC().Format(time.RFC3339)
			out[p+"age_seconds"] = math.Round(now.Sub(j.lastSuccess).Seconds())
		}
		for k, v := range j.homepage {
			if !strings.HasPrefix(k, p) {
				k = p + k
			}
			switch v := v.(type) {
			case time.Time:
				if v.IsZero() {
					continue
				}
				out[k] = v.UTC().Format(time.RFC3339)
			case float64:
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				out[k] = v
			case float32:
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					continue
				}
				out[k] = v
			default:
				out[k] = v
			}
		}
		j.mu.RUnlock()
	}
	return out, found
}

// Status is one collector's state for /healthz.
type Status struct {
	Name        string
	Updated     bool
	Success     bool
	LastSuccess time.Time
	LastError   string
}

// Statuses lists every collector's state, sorted by name.
func (s *Server) Statuses() []Status {
	var out []Status
	for _, j := range s.jobs {
		j.mu.RLock()
		out = append(out, Status{Name: j.name, Updated: j.updated, Success: j.success, LastSuccess: j.lastSuccess, LastError: j.lastErr})
		j.mu.RUnlock()
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

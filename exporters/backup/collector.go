package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/prometheus/client_golang/prometheus"
)

// Sources, in the order they are reported.
const (
	srcSnapshots   = "snapshots"
	srcStats       = "stats"
	srcLocks       = "locks"
	srcCheck       = "check"
	srcLastRun     = "last_run"
	srcRestoreTest = "restore_test"
)

// Deps are the collector's outside world.
type Deps struct {
	Runner cmdrun.Runner
	// Stat reads marker and summary files' mtimes; nil means os.Stat.
	Stat func(name string) (fs.FileInfo, error)
	// ReadFile reads restore summaries; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Systemctl is the systemctl binary; "" means "systemctl".
	Systemctl string
	Log       *slog.Logger
}

type collector struct {
	deps  Deps
	mu    sync.Mutex // one Update at a time: sources keep state
	repos []*repo
}

// source is one refreshable piece of a repository's data. Its metrics are
// those of its last successful refresh, and are withheld while it fails.
type source struct {
	name        string
	interval    time.Duration // 0: every update
	timeout     time.Duration // bounds one refresh
	attempted   bool
	lastAttempt time.Time
	lastSuccess time.Time
	err         error
	metrics     []prometheus.Metric
	refresh     func(ctx context.Context, r *repo, m *serve.Metrics) error
}

type repo struct {
	s       settings
	labels  []string
	sources []*source
	log     *slog.Logger

	version *Version // tool version, probed once

	// Known since the exporter started.
	lastGoodCheck, lastGoodRun, lastGoodRestore time.Time
	lastRestoreTest                             time.Time
	newestSnapshot                              time.Time
	snapshotsKnown                              bool
}

// New returns the backup collector.
func New(cfg Config, deps Deps) (serve.Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Runner == nil {
		return nil, errors.New("backup: nil runner")
	}
	if deps.Stat == nil {
		deps.Stat = os.Stat
	}
	if deps.ReadFile == nil {
		deps.ReadFile = os.ReadFile
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Systemctl == "" {
		deps.Systemctl = "systemctl"
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	c := &collector{deps: deps}
	for i, rc := range cfg.Repositories {
		s, err := resolve(cfg, fmt.Sprintf("repositories[%d]", i), rc)
		if err != nil {
			return nil, err
		}
		r := &repo{s: s, labels: []string{s.Name, s.Tool, s.Location, s.Tier},
			log: deps.Log.With("repository", s.Name, "tool", s.Tool)}
		refresh := map[string]func(ctx context.Context, r *repo, m *serve.Metrics) error{
			srcSnapshots: c.refreshSnapshots, srcStats: c.refreshStats, srcLocks: c.refreshLocks,
			srcCheck: c.refreshCheck, srcLastRun: c.refreshRun, srcRestoreTest: c.refreshRestore,
		}
		// The same lists UpdateBudget counts, so the budget holds.
		for _, name := range rc.toolSources() {
			interval := s.interval
			if name == srcCheck {
				interval = s.checkInterval
			}
			r.sources = append(r.sources, &source{name: name, interval: interval, timeout: s.Timeout, refresh: refresh[name]})
		}
		for _, name := range rc.localSources() {
			r.sources = append(r.sources, &source{name: name, timeout: LocalTimeout, refresh: refresh[name]})
		}
		c.repos = append(c.repos, r)
	}
	return c, nil
}

func (c *collector) Name() string                 { return "backup" }
func (c *collector) Describe() []*serve.MetricDef { return defs }

// Update refreshes the sources that are due (each repository in its own
// goroutine) and returns every source's last good values. A source is due
// when its interval has passed since its last attempt, successful or not:
// the update rate never changes how often a repository is read.
func (c *collector) Update(ctx context.Context) (serve.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.deps.Now()
	var wg sync.WaitGroup
	for _, r := range c.repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, src := range r.sources {
				if src.attempted && src.interval > 0 && now.Before(src.lastAttempt.Add(src.interval)) {
					continue
				}
				c.refresh(ctx, r, src, now)
			}
		}()
	}
	wg.Wait()

	var metrics []prometheus.Metric
	var status serve.Metrics
	var errs []error
	hp := map[string]any{}
	for _, r := range c.repos {
		for _, src := range r.sources {
			lv := append(append([]string(nil), r.labels...), src.name)
			ok := src.err == nil
			status.Add(mSourceSuccess, b2f(ok), lv...)
			status.Add(mSourceAttempt, unix(src.lastAttempt), lv...)
			status.Add(mSourceInterval, src.interval.Seconds(), lv...)
			if !src.lastSuccess.IsZero() {
				status.Add(mSourceGood, unix(src.lastSuccess), lv...)
			}
			if ok {
				metrics = append(metrics, src.metrics...)
			} else {
				errs = append(errs, fmt.Errorf("repository %s: %s: %w", r.s.Name, src.name, src.err))
			}
		}
		r.remembered(&status)
		r.homepage(hp, now)
	}
	list, err := status.List()
	if err != nil {
		errs = append(errs, err)
	}
	metrics = append(metrics, list...)
	summarize(hp, c.repos, now)
	return serve.Result{Metrics: metrics, Homepage: hp}, errors.Join(errs...)
}

func (c *collector) refresh(ctx context.Context, r *repo, src *source, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, src.timeout)
	defer cancel()
	var m serve.Metrics
	err := src.refresh(ctx, r, &m)
	src.attempted = true
	src.lastAttempt = now
	var list []prometheus.Metric
	if err == nil {
		list, err = m.List()
	}
	if err != nil {
		src.err = err
		src.metrics = nil
		r.log.Warn("backup source failed; its values are withheld until it succeeds", "source", src.name, "err", err)
		return
	}
	src.err = nil
	src.lastSuccess = now
	src.metrics = list
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func round1(f float64) float64 { return math.Round(f*10) / 10 }

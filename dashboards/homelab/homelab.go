// Package homelab replays a homelab from what its exporters really emitted:
// the golden /metrics files the exporter tests render from captured tool
// outputs (and a captured node_exporter), scraped by hlalert's own scraper
// as VictoriaMetrics would scrape them, with the shipped rules evaluated
// over them as `hlalert run` does (ALERTS, recording rules and hlalert's
// own metrics) — and its systemd journal as Alloy ships it: the log
// streams of the journal rules' unit tests, queried with the embedded LogQL
// engine, which the LogQL rules are evaluated over too. Dashboards are
// checked, and previewed, against it.
package homelab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/email"
	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/metrics"
	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/scrape"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/unittest"
)

// At is when the replayed homelab is looked at: every golden file's clock
// is moved here, so ages read as they did when the file was rendered.
var At = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// HlalertInstance is where the replay's hlalert serves /metrics.
const HlalertInstance = "server:8880"

// Replay window: the targets are scraped and the rules evaluated every Step
// for Window before At, so rate() has samples and every rule's for: has run
// out.
const (
	Window = 3 * time.Hour
	Step   = time.Minute
)

// Scenario files (scenarios.yaml) name, per homelab, the scrape targets and
// the golden files each serves, and the journal lines it logged.
type file struct {
	Scenarios map[string][]Target `yaml:"scenarios"`
	// Logs are, per scenario, where its journal lines come from.
	Logs map[string][]LogSource `yaml:"logs"`
}

// LogSource is the input_streams of a LogQL rule test file (lokitool
// format, as `hlalert test` reads it): the streams of its tests, with the
// labels Alloy ships the journal with, replayed with every test's start at
// Start. Entries keep their offsets from the start; none may fall after
// At.
type LogSource struct {
	Tests string `yaml:"tests"` // the test file, relative to the repository root
	// Names are the tests whose streams are replayed; empty: every test.
	Names []string  `yaml:"names"`
	Start time.Time `yaml:"start"`
}

// Target is one scraped exporter of a scenario.
type Target struct {
	Job      string   `yaml:"job"`
	Instance string   `yaml:"instance"`
	Files    []Golden `yaml:"files"`
	// Captures, instead of Files, are successive /metrics of one exporter
	// taken Step apart: the last is served at At, the one before a Step
	// earlier, and so on (the first before that), so counters move as
	// they really did.
	Captures []Golden `yaml:"captures"`
}

// bodies are the files a target serves: one exposition of its Files, or
// one per capture.
func (t Target) bodies(root string) ([][]byte, error) {
	if len(t.Captures) == 0 {
		b, err := exposition(root, t.Files)
		return [][]byte{b}, err
	}
	// One clock shift for all captures (the last one's to At), so the
	// times within them (boot time, the node's clock) stay as they were.
	last := t.Captures[len(t.Captures)-1].RenderedAt
	var out [][]byte
	for _, c := range t.Captures {
		c.RenderedAt = last
		b, err := exposition(root, []Golden{c})
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Golden is one /metrics file and the clock it was rendered with (the
// exporter test's fixed now).
type Golden struct {
	Path       string    `yaml:"path"` // relative to the repository root
	RenderedAt time.Time `yaml:"rendered_at"`
}

// Homelab is a replayed scenario.
type Homelab struct {
	Name   string
	Store  *series.Store
	Engine *mqlengine.Engine
	// Exposition is what each target served (after the clock shift), by
	// job/instance.
	Exposition map[string][]byte
	// Logs are the journal lines of the scenario's log sources, read by
	// LogEngine.
	Logs      *logstream.Store
	LogEngine *lqlengine.Engine
}

// Query evaluates a MetricsQL instant query at At.
func (h *Homelab) Query(ctx context.Context, expr string) (series.Vector, error) {
	return h.Engine.Query(ctx, expr, At, 0)
}

// QueryLogQL evaluates a LogQL instant query at At, as Loki answers
// /loki/api/v1/query: a metric query's samples, or for a log query the
// newest lines (at most 100) of the hour before At.
func (h *Homelab) QueryLogQL(ctx context.Context, expr string) (lqlengine.Result, error) {
	return h.LogEngine.Query(ctx, expr, At)
}

// LogLabelNames are the label names of the replayed log streams, sorted.
func (h *Homelab) LogLabelNames() []string {
	return h.Logs.LabelNames(At.Add(-Window), At.Add(time.Nanosecond))
}

// ReadScenarios reads a scenarios file: the scrape targets of each
// scenario by name.
func ReadScenarios(path string) (map[string][]Target, error) {
	f, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return f.Scenarios, nil
}

func readFile(path string) (*file, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenarios: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, ts := range f.Scenarios {
		for i, t := range ts {
			if t.Job == "" || t.Instance == "" || (len(t.Files) == 0) == (len(t.Captures) == 0) {
				return nil, fmt.Errorf("%s: scenarios.%s[%d]: job, instance and either files or captures are required", path, name, i)
			}
			for j, g := range append(t.Files, t.Captures...) {
				if g.Path == "" || g.RenderedAt.IsZero() {
					return nil, fmt.Errorf("%s: scenarios.%s[%d].files[%d]: path and rendered_at are required", path, name, i, j)
				}
			}
		}
	}
	for name, srcs := range f.Logs {
		if _, ok := f.Scenarios[name]; !ok {
			return nil, fmt.Errorf("%s: logs.%s: no scenario %q", path, name, name)
		}
		for i, s := range srcs {
			if s.Tests == "" || s.Start.IsZero() {
				return nil, fmt.Errorf("%s: logs.%s[%d]: tests and start are required", path, name, i)
			}
			if s.Start.Before(At.Add(-Window)) || s.Start.After(At) {
				return nil, fmt.Errorf("%s: logs.%s[%d]: start %s is outside the replay (%s to %s)", path, name, i,
					s.Start.Format(time.RFC3339), At.Add(-Window).Format(time.RFC3339), At.Format(time.RFC3339))
			}
		}
	}
	return &f, nil
}

// loadLogs appends the streams of a scenario's log sources to st.
func loadLogs(root string, srcs []LogSource, st *logstream.Store) error {
	for _, src := range srcs {
		f, errs := unittest.ReadFile(filepath.Join(root, src.Tests))
		if len(errs) > 0 {
			return fmt.Errorf("log source: %w", errors.Join(errs...))
		}
		want := map[string]bool{}
		for _, n := range src.Names {
			want[n] = true
		}
		lines, all := 0, len(want) == 0
		for _, t := range f.Tests {
			if !all && !want[t.Name] {
				continue
			}
			delete(want, t.Name)
			for _, s := range t.InputStreams {
				for _, e := range s.Entries {
					if ts := src.Start.Add(e.At); ts.After(At) {
						return fmt.Errorf("%s: %s: input stream %s: the line at %s would be logged at %s, after the replay's clock %s",
							e.Pos, t.DisplayName(), s.Labels, e.At, ts.Format(time.RFC3339), At.Format(time.RFC3339))
					}
				}
				lines += len(s.Entries)
			}
			if err := unittest.WriteStreams(st, t.InputStreams, src.Start); err != nil {
				return err
			}
		}
		if len(want) > 0 {
			return fmt.Errorf("%s: no test named %q", src.Tests, slices.Sorted(maps.Keys(want)))
		}
		if lines == 0 {
			return fmt.Errorf("%s: the tests replayed have no input_streams", src.Tests)
		}
	}
	return nil
}

// Options say where things are.
type Options struct {
	Root      string // repository root: golden paths and rules resolve against it
	Scenarios string // the scenarios file
	Rules     string // glob of rule files evaluated over the replay
	Logger    *slog.Logger
}

// Load replays scenario name.
func Load(ctx context.Context, o Options, name string) (*Homelab, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f, err := readFile(o.Scenarios)
	if err != nil {
		return nil, err
	}
	targets, ok := f.Scenarios[name]
	if !ok {
		return nil, fmt.Errorf("%s: no scenario %q", o.Scenarios, name)
	}
	h := &Homelab{Name: name, Store: series.NewStore(), Exposition: map[string][]byte{}, Logs: logstream.NewStore()}
	h.Engine, err = mqlengine.New(h.Store, mqlengine.Options{Now: func() time.Time { return At }})
	if err != nil {
		return nil, err
	}
	if err := loadLogs(o.Root, f.Logs[name], h.Logs); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	h.LogEngine = lqlengine.New(h.Logs)
	// Targets answer through an in-process transport keyed by host:port,
	// so the scraper labels them instance="host:port" as VictoriaMetrics
	// would.
	handlers := routes{}
	var scrapeTargets []scrape.Target
	var now time.Time // the scrape round in progress (scrapes run one by one)
	for _, t := range targets {
		bodies, err := t.bodies(o.Root)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %s/%s: %w", name, t.Job, t.Instance, err)
		}
		key := t.Job + "/" + t.Instance
		if _, dup := h.Exposition[key]; dup {
			return nil, fmt.Errorf("scenario %s: target %s twice", name, key)
		}
		h.Exposition[key] = bodies[len(bodies)-1]
		handlers[t.Instance] = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			i := len(bodies) - 1 - int(At.Sub(now)/Step)
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Write(bodies[max(i, 0)])
		})
		scrapeTargets = append(scrapeTargets, scrape.Target{Job: t.Job, URL: "http://" + t.Instance + "/metrics", Timeout: 10 * time.Second})
	}

	// hlalert itself: its metric set, fed by the rule evaluation below, and
	// an (empty) outbox, scraped like any target.
	reg := prometheus.NewRegistry()
	em := metrics.NewEvaluator(reg)
	em.AddDatasource("victoriametrics")
	em.AddDatasource("loki")
	outbox, err := os.MkdirTemp("", "homelab-outbox-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(outbox)
	if _, err := email.NewQueue(email.QueueOptions{Dir: outbox, Registerer: reg, Logger: o.Logger}); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	handlers[HlalertInstance] = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	scrapeTargets = append(scrapeTargets, scrape.Target{Job: "hlalert", URL: "http://" + HlalertInstance + "/metrics", Timeout: 10 * time.Second})

	groups, err := loadGroups(o)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		em.AddGroup(g.Name)
	}
	sc := scrape.New(h.Store, &http.Client{Transport: handlers}, o.Logger)
	q := rule.QuerierFunc(func(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
		return h.Engine.Query(ctx, expr, ts, 0)
	})
	lq := rule.QuerierFunc(h.LogEngine.QueryVector)
	for ts := At.Add(-Window); !ts.After(At); ts = ts.Add(Step) {
		now = ts
		for _, t := range scrapeTargets {
			if err := sc.ScrapeOnce(ctx, t, ts); err != nil {
				return nil, fmt.Errorf("scenario %s: %w", name, err)
			}
		}
		for _, g := range groups {
			gq := q
			if g.logQL {
				gq = lq
			}
			pts, errs := g.Eval(ctx, gq, ts)
			if len(errs) > 0 {
				return nil, fmt.Errorf("scenario %s: evaluate rules at %s: %w", name, ts.Format(time.RFC3339), errors.Join(errs...))
			}
			for _, p := range pts {
				if err := h.Store.Append(p.Labels, p.T, p.V); err != nil {
					return nil, fmt.Errorf("scenario %s: store rule output: %w", name, err)
				}
			}
			pending, firing := 0, 0
			for _, ar := range g.AlertingRules() {
				for _, a := range ar.Alerts() {
					switch a.State {
					case rule.StatePending:
						pending++
					case rule.StateFiring:
						firing++
					}
				}
			}
			em.ObserveEvaluation(g.Name, 20*time.Millisecond, false)
			em.SetAlerts(g.Name, pending, firing)
		}
	}
	return h, nil
}

// routes is an http.RoundTripper serving each host:port from a handler,
// in process.
type routes map[string]http.Handler

func (r routes) RoundTrip(req *http.Request) (*http.Response, error) {
	h, ok := r[req.URL.Host]
	if !ok {
		return nil, fmt.Errorf("no target %s in the scenario", req.URL.Host)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// exposition merges golden files into one /metrics text: each file's clock
// metrics moved to At, families of the same name (e.g. the serving
// layer's hlexporter_collector_* of several collectors) joined.
func exposition(root string, files []Golden) ([]byte, error) {
	fams := map[string]*dto.MetricFamily{}
	for _, g := range files {
		b, err := os.ReadFile(filepath.Join(root, g.Path))
		if err != nil {
			return nil, err
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fs, err := p.TextToMetricFamilies(bytes.NewReader(shiftClock(b, At.Sub(g.RenderedAt))))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.Path, err)
		}
		for n, f := range fs {
			if have, ok := fams[n]; ok {
				have.Metric = append(have.Metric, f.Metric...)
				continue
			}
			fams[n] = f
		}
	}
	var out bytes.Buffer
	for _, n := range slices.Sorted(maps.Keys(fams)) {
		if _, err := expfmt.MetricFamilyToText(&out, fams[n]); err != nil {
			return nil, fmt.Errorf("encode %s: %w", n, err)
		}
	}
	return out.Bytes(), nil
}

// group is a rule group and the language of its queries.
type group struct {
	*rule.Group
	logQL bool
}

// loadGroups builds the rule groups of the rule files: MetricsQL groups
// and LogQL ones (evaluated over the replay's journal).
func loadGroups(o Options) ([]group, error) {
	files, errs := rulefmt.LoadGlobs([]string{filepath.Join(o.Root, o.Rules)})
	if len(errs) > 0 {
		return nil, fmt.Errorf("load rules: %w", errors.Join(errs...))
	}
	var out []group
	for _, f := range files {
		for _, g := range f.Groups {
			rg, err := rule.NewGroup(f.Path, g, rule.GroupOptions{ParseTemplate: rule.VMTemplates})
			if err != nil {
				return nil, fmt.Errorf("rule group %s: %w", g.Name, err)
			}
			out = append(out, group{rg, g.Type == rulefmt.TypeLogQL})
		}
	}
	return out, nil
}

// clockMetric matches the metrics whose values are Unix times: they move
// with the clock when a file is replayed at another time.
var clockMetric = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*_timestamp_seconds|node_boot_time_seconds|node_time_seconds|process_start_time_seconds)(\{| )`)

// shiftClock adds d to the value of every non-zero clock metric of a text
// exposition; everything else is kept byte for byte.
func shiftClock(b []byte, d time.Duration) []byte {
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if !clockMetric.MatchString(line) {
			out.WriteString(line)
			continue
		}
		body := strings.TrimRight(line, "\n")
		i := strings.LastIndexByte(body, ' ')
		v, err := strconv.ParseFloat(body[i+1:], 64)
		if err != nil || v == 0 || math.IsNaN(v) {
			out.WriteString(line)
			continue
		}
		out.WriteString(body[:i+1] + strconv.FormatFloat(v+d.Seconds(), 'g', -1, 64) + line[len(body):])
	}
	return out.Bytes()
}

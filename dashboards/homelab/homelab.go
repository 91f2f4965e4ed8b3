// Package homelab replays a homelab from what its exporters really emitted:
// the golden /metrics files the exporter tests render from captured tool
// outputs (and a captured node_exporter), scraped by hlalert's own scraper
// as VictoriaMetrics would scrape them, with the shipped rules evaluated
// over them as `hlalert run` does (ALERTS, recording rules and hlalert's
// own metrics). Dashboards are checked, and previewed, against it.
package homelab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/email"
	"github.com/hlalert/hlalert/alerts/metrics"
	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/scrape"
	"github.com/hlalert/hlalert/alerts/series"
)

// At is when the replayed homelab is looked at: every golden file's clock
// is moved here, so ages read as they did when the file was rendered.
var At = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// Replay window: the targets are scraped and the rules evaluated every Step
// for Window before At, so rate() has samples and every rule's for: has run
// out.
const (
	Window = 3 * time.Hour
	Step   = time.Minute
)

// Scenario files (scenarios.yaml) name, per homelab, the scrape targets and
// the golden files each serves.
type file struct {
	Scenarios map[string][]Target `yaml:"scenarios"`
}

// Target is one scraped exporter of a scenario.
type Target struct {
	Job      string   `yaml:"job"`
	Instance string   `yaml:"instance"`
	Files    []Golden `yaml:"files"`
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
	// instance.
	Exposition map[string][]byte
}

// Query evaluates a MetricsQL instant query at At.
func (h *Homelab) Query(ctx context.Context, expr string) (series.Vector, error) {
	return h.Engine.Query(ctx, expr, At, 0)
}

// Scenarios lists the scenario names of the file at path.
func Scenarios(path string) ([]string, error) {
	f, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range f.Scenarios {
		names = append(names, n)
	}
	return names, nil
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
			if t.Job == "" || t.Instance == "" || len(t.Files) == 0 {
				return nil, fmt.Errorf("%s: scenarios.%s[%d]: job, instance and files are required", path, name, i)
			}
			for j, g := range t.Files {
				if g.Path == "" || g.RenderedAt.IsZero() {
					return nil, fmt.Errorf("%s: scenarios.%s[%d].files[%d]: path and rendered_at are required", path, name, i, j)
				}
			}
		}
	}
	return &f, nil
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
	h := &Homelab{Name: name, Store: series.NewStore(), Exposition: map[string][]byte{}}
	h.Engine, err = mqlengine.New(h.Store, mqlengine.Options{Now: func() time.Time { return At }})
	if err != nil {
		return nil, err
	}
	var scrapeTargets []scrape.Target
	for _, t := range targets {
		var body bytes.Buffer
		for _, g := range t.Files {
			b, err := os.ReadFile(filepath.Join(o.Root, g.Path))
			if err != nil {
				return nil, fmt.Errorf("scenario %s: %w", name, err)
			}
			body.Write(shiftClock(b, At.Sub(g.RenderedAt)))
		}
		h.Exposition[t.Instance] = body.Bytes()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Write(h.Exposition[t.Instance])
		}))
		defer srv.Close()
		scrapeTargets = append(scrapeTargets, scrape.Target{Job: t.Job, URL: srv.URL + "/metrics", Timeout: 10 * time.Second,
			Labels: map[string]string{"instance": t.Instance}})
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
	hl := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer hl.Close()
	scrapeTargets = append(scrapeTargets, scrape.Target{Job: "hlalert", URL: hl.URL + "/metrics", Timeout: 10 * time.Second,
		Labels: map[string]string{"instance": "hlalert"}})

	groups, err := loadGroups(o)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		em.AddGroup(g.Name)
	}
	sc := scrape.New(h.Store, nil, o.Logger)
	q := rule.QuerierFunc(func(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
		return h.Engine.Query(ctx, expr, ts, 0)
	})
	for ts := At.Add(-Window); !ts.After(At); ts = ts.Add(Step) {
		for _, t := range scrapeTargets {
			if err := sc.ScrapeOnce(ctx, t, ts); err != nil {
				return nil, fmt.Errorf("scenario %s: %w", name, err)
			}
		}
		for _, g := range groups {
			pts, errs := g.Eval(ctx, q, ts)
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

// loadGroups builds the MetricsQL rule groups of the rule files (LogQL
// groups need log streams the replay does not have).
func loadGroups(o Options) ([]*rule.Group, error) {
	files, errs := rulefmt.LoadGlobs([]string{filepath.Join(o.Root, o.Rules)})
	if len(errs) > 0 {
		return nil, fmt.Errorf("load rules: %w", errors.Join(errs...))
	}
	var out []*rule.Group
	for _, f := range files {
		for _, g := range f.Groups {
			if g.Type == "logql" {
				continue
			}
			rg, err := rule.NewGroup(f.Path, g, rule.GroupOptions{ParseTemplate: rule.VMTemplates})
			if err != nil {
				return nil, fmt.Errorf("rule group %s: %w", g.Name, err)
			}
			out = append(out, rg)
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


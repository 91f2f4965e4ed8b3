package boardcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/unittest"
)

// LintOptions configure Lint.
type LintOptions struct {
	// Rules are globs of rule files whose recording rules count as known
	// metrics.
	Rules []string
	// Metrics are /metrics text files (e.g. `curl host:9808/metrics`);
	// when given, every MetricsQL query must return data over them.
	Metrics []string
	// Logs are rule test files (hlalert test / lokitool format) whose
	// input_streams stand for the logs the boards read: each test's lines
	// are placed so that its last one is at Now. With them every LogQL
	// query must return data, and stream selectors may only use the
	// streams' label names.
	Logs []string
	// Now is when the metrics are taken to be scraped; zero: time.Now().
	Now time.Time
}

// Lint checks every *.json dashboard in dir (see Check) and writes one line
// per problem to w. It returns the number of problems; err is for input it
// cannot use (unreadable folder, rule or metrics file).
func Lint(ctx context.Context, dir string, o LintOptions, w io.Writer) (int, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return 0, fmt.Errorf("list dashboards: %w", err)
	}
	if len(paths) == 0 {
		return 0, fmt.Errorf("%s: no *.json dashboard", dir)
	}
	sort.Strings(paths)
	var files []*rulefmt.File
	if len(o.Rules) > 0 {
		var errs []error
		files, errs = rulefmt.LoadGlobs(o.Rules)
		if len(errs) > 0 {
			return 0, fmt.Errorf("rules: %w", errors.Join(errs...))
		}
	}
	known, err := NewKnown(files)
	if err != nil {
		return 0, err
	}
	opts := Options{Known: known, ParseLogQL: lqlengine.Check}
	if len(o.Metrics) > 0 {
		st := series.NewStore()
		for _, p := range o.Metrics {
			if err := loadExposition(p, o.Now, st); err != nil {
				return 0, err
			}
		}
		eng, err := mqlengine.New(st, mqlengine.Options{Now: func() time.Time { return o.Now }})
		if err != nil {
			return 0, err
		}
		opts.Query = func(ctx context.Context, expr string) (series.Vector, error) {
			return eng.Query(ctx, expr, o.Now, 0)
		}
	}
	if len(o.Logs) > 0 {
		st := logstream.NewStore()
		if err := loadLogTests(o.Logs, o.Now, st); err != nil {
			return 0, err
		}
		eng := lqlengine.New(st)
		opts.QueryLogQL = func(ctx context.Context, expr string) (lqlengine.Result, error) {
			return eng.Query(ctx, expr, o.Now)
		}
		opts.LogLabels = st.LabelNames(time.Time{}, o.Now.Add(time.Nanosecond))
	}
	n := 0
	for _, p := range paths {
		b, err := Load(p)
		if err != nil {
			fmt.Fprintln(w, err)
			n++
			continue
		}
		for _, pr := range Check(ctx, b, opts) {
			fmt.Fprintln(w, pr.Error())
			n++
		}
	}
	return n, nil
}

// loadExposition appends the samples of a /metrics text file at t.
func loadExposition(path string, t time.Time, st *series.Store) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, fam := range fams {
		v, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{}, fam)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, s := range v {
			m := map[string]string{}
			for k, val := range s.Metric {
				m[string(k)] = string(val)
			}
			if err := st.Append(series.FromMap(m), t.UnixMilli(), float64(s.Value)); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return nil
}

// loadLogTests appends the input_streams of the tests in the rule test
// files at paths to st, each test shifted so that its last line is at now.
func loadLogTests(paths []string, now time.Time, st *logstream.Store) error {
	lines := 0
	for _, p := range paths {
		f, errs := unittest.ReadFile(p)
		if len(errs) > 0 {
			return fmt.Errorf("logs: %w", errors.Join(errs...))
		}
		for _, t := range f.Tests {
			var last time.Duration
			for _, s := range t.InputStreams {
				for _, e := range s.Entries {
					last = max(last, e.At)
				}
			}
			if err := unittest.WriteStreams(st, t.InputStreams, now.Add(-last)); err != nil {
				return fmt.Errorf("logs: %w", err)
			}
			for _, s := range t.InputStreams {
				lines += len(s.Entries)
			}
		}
	}
	if lines == 0 {
		return fmt.Errorf("logs: no input_streams in %s", strings.Join(paths, ", "))
	}
	return nil
}

package mqlengine_test

// The conformance tier: the embedded engine against a real VictoriaMetrics
// v1.150.0 over the same generated data and a corpus of queries
// (testdata/conformance/queries.txt), at many evaluation times and steps.
//
//	go test ./alerts/mqlengine -run TestConformance -conformance.report /tmp/report.txt
//	go test ./alerts/mqlengine -run TestConformance -conformance.run 'rate\('
//
// It is skipped under -short (it needs the real server, built once from
// .ci/tools and cached).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/series"
)

var (
	conformanceReport = flag.String("conformance.report", "", "write every conformance disagreement to this file")
	conformanceRun    = flag.String("conformance.run", "", "only run corpus queries matching this regexp")
)

const (
	confRelTol = 1e-9
	// confAbsTol absorbs sums that cancel to zero in a different order
	// (1e-17 against 0): below it two values are equal.
	confAbsTol = 1e-12
	// confWorkers: the machine has 2 cores, and VictoriaMetrics needs one.
	confWorkers = 3
	// confQueryTimeout bounds one evaluation of the embedded engine.
	confQueryTimeout = 10 * time.Second
	// confReportLinesPerQuery caps the disagreements listed per query.
	confReportLinesPerQuery = 40
)

// defaultConfSteps are the steps every query is evaluated with unless its
// corpus line says otherwise: vmalert sends step = the group interval; 0
// sends no step at all, as vmalert-tool's metricsql_expr_test does
// (VictoriaMetrics then uses its default, 5m).
func defaultConfSteps() []time.Duration {
	return []time.Duration{0, 15 * time.Second, time.Minute, 5 * time.Minute}
}

// confEvalOffsets are the evaluation times, relative to confStart: before any
// data, on samples, between samples, in gaps, at and right after staleness
// markers, after series end, and after all data.
func confEvalOffsets() []time.Duration {
	m, s := time.Minute, time.Second
	return []time.Duration{
		-10 * m, -1 * s, 0, 7*s + 500*time.Millisecond, 15 * s, m, 2*m + 30*s + 123*time.Millisecond,
		5 * m, 10 * m, 10*m + 30*s, 17 * m, 25 * m, 30 * m, 36 * m, 45 * m, 45*m + 30*s, 46*m + 30*s, 52 * m,
		60 * m, 60*m + 15*s, 61 * m, 65*m + 1*time.Millisecond, 70*m + 15*s, 75 * m, 80*m + 30*s,
		85*m + 7*s, 85*m + 20*s,
		90 * m, 90*m + 30*s, 100*m + 30*s, 101 * m, 105*m + 10*s,
		120 * m, 120*m + 45*s, 125*m + 5*s, 140*m + 10*s, 150*m + 7*s, 150*m + 30*s, 165 * m,
		179*m + 59*s, 180 * m, 181 * m, 185 * m, 200 * m,
	}
}

// corpusQuery is one line of the corpus.
type corpusQuery struct {
	Line  int
	Expr  string
	Steps []time.Duration
	Skip  bool // listed as known unsupported: not evaluated
}

// parseCorpus reads the corpus: one query per line; blank lines and lines
// starting with # are ignored; an optional "[0,15s,1m] " prefix sets the
// steps (0: no step parameter); a "!skip " prefix lists a query the engine
// does not support yet.
func parseCorpus(name string, data []byte) ([]corpusQuery, error) {
	var out []corpusQuery
	var errs []error
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		q := corpusQuery{Line: line, Steps: defaultConfSteps()}
		if rest, ok := strings.CutPrefix(text, "!skip "); ok {
			q.Skip = true
			text = strings.TrimSpace(rest)
		}
		if strings.HasPrefix(text, "[") {
			end := strings.IndexByte(text, ']')
			if end < 0 {
				errs = append(errs, fmt.Errorf("%s:%d:1: unterminated step list", name, line))
				continue
			}
			q.Steps = nil
			for _, f := range strings.Split(text[1:end], ",") {
				d, err := time.ParseDuration(strings.TrimSpace(f))
				if err != nil || d < 0 {
					errs = append(errs, fmt.Errorf("%s:%d:2: bad step %q: want a Go duration like 15s, or 0 for no step", name, line, f))
					continue
				}
				q.Steps = append(q.Steps, d)
			}
			text = strings.TrimSpace(text[end+1:])
		}
		if text == "" {
			errs = append(errs, fmt.Errorf("%s:%d:1: no query", name, line))
			continue
		}
		key := fmt.Sprint(q.Steps, text)
		if prev, ok := seen[key]; ok {
			errs = append(errs, fmt.Errorf("%s:%d:1: duplicate of the query on line %d", name, line, prev))
			continue
		}
		seen[key] = line
		q.Expr = text
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	return out, errors.Join(errs...)
}

// disagreement is one difference between the engine and VictoriaMetrics.
type disagreement struct {
	Query  corpusQuery
	At     int64 // ms
	Step   time.Duration
	Kind   string // unsupported, error, missing, extra, value, timestamp
	Detail string
}

func (d disagreement) String() string {
	step := d.Step.String()
	if d.Step == 0 {
		step = "none"
	}
	return fmt.Sprintf("time=%s (%s) step=%s: %s: %s", formatUnixMillis(d.At),
		time.UnixMilli(d.At).UTC().Sub(confStart), step, d.Kind, d.Detail)
}

func sameValue(a, b float64) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return a == b
	}
	diff := math.Abs(a - b)
	return diff <= confAbsTol || diff <= confRelTol*math.Max(math.Abs(a), math.Abs(b))
}

// compareVectors compares as sets keyed by label set.
func compareVectors(want, got series.Vector) []disagreement {
	var out []disagreement
	index := func(v series.Vector, side string) map[string]series.Point {
		m := make(map[string]series.Point, len(v))
		for _, p := range v {
			k := p.Labels.Key()
			if _, dup := m[k]; dup {
				out = append(out, disagreement{Kind: "duplicate", Detail: fmt.Sprintf("%s returned %s twice", side, p.Labels)})
			}
			m[k] = p
		}
		return m
	}
	wm, gm := index(want, "VictoriaMetrics"), index(got, "engine")
	for _, w := range want {
		g, ok := gm[w.Labels.Key()]
		switch {
		case !ok:
			out = append(out, disagreement{Kind: "missing", Detail: fmt.Sprintf("%s = %v only in VictoriaMetrics", w.Labels, w.V)})
		case !sameValue(w.V, g.V):
			out = append(out, disagreement{Kind: "value", Detail: fmt.Sprintf("%s: VictoriaMetrics %v, engine %v", w.Labels, w.V, g.V)})
		case w.T != g.T:
			out = append(out, disagreement{Kind: "timestamp", Detail: fmt.Sprintf("%s: VictoriaMetrics t=%d, engine t=%d", w.Labels, w.T, g.T)})
		}
	}
	for _, g := range got {
		if _, ok := wm[g.Labels.Key()]; !ok {
			out = append(out, disagreement{Kind: "extra", Detail: fmt.Sprintf("%s = %v only in the engine", g.Labels, g.V)})
		}
	}
	return out
}

// engineQuery runs one engine evaluation, turning a panic or a hang into an
// error so one bad query cannot stop the tier.
func engineQuery(eng *mqlengine.Engine, expr string, at int64, step time.Duration) (vec series.Vector, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), confQueryTimeout)
	defer cancel()
	type res struct {
		vec series.Vector
		err error
	}
	ch := make(chan res, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- res{err: fmt.Errorf("engine panicked: %v", r)}
			}
		}()
		v, err := eng.Query(ctx, expr, time.UnixMilli(at), step)
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.vec, r.err
	case <-time.After(confQueryTimeout + time.Second):
		return nil, fmt.Errorf("engine did not answer within %s (ignores its context?)", confQueryTimeout)
	}
}

// vmTally counts what VictoriaMetrics answered, to show the comparison is
// not vacuous.
type vmTally struct {
	Data, Empty, Refused, Points int
	// VMTime and EngineTime add up the time each side took to answer.
	VMTime, EngineTime time.Duration
}

func (a *vmTally) add(b vmTally) {
	a.Data += b.Data
	a.Empty += b.Empty
	a.Refused += b.Refused
	a.Points += b.Points
	a.VMTime += b.VMTime
	a.EngineTime += b.EngineTime
}

// evaluate compares the engine with VictoriaMetrics for one query at one time
// and step.
func evaluate(ctx context.Context, vm *vmClient, eng *mqlengine.Engine, q corpusQuery, at int64, step time.Duration) ([]disagreement, vmTally, error) {
	began := time.Now()
	want, err := vm.query(ctx, q.Expr, at, step)
	if err != nil {
		return nil, vmTally{}, err
	}
	tally := vmTally{VMTime: time.Since(began)}
	switch {
	case want.Err != nil:
		tally.Refused = 1
	case len(want.Vec) == 0:
		tally.Empty = 1
	default:
		tally.Data, tally.Points = 1, len(want.Vec)
	}
	began = time.Now()
	got, gerr := engineQuery(eng, q.Expr, at, step)
	tally.EngineTime = time.Since(began)
	var out []disagreement
	var unsup *mqlengine.UnsupportedError
	switch {
	case tally.EngineTime >= confQueryTimeout:
		out = []disagreement{{Kind: "timeout", Detail: fmt.Sprintf("the engine took %s (%v); the query's other evaluations are skipped", tally.EngineTime.Round(time.Millisecond), gerr)}}
	case gerr != nil && errors.As(gerr, &unsup):
		out = []disagreement{{Kind: "unsupported", Detail: gerr.Error()}}
	case want.Err != nil && gerr != nil:
		// Both refuse the query (e.g. duplicate output series): agreement,
		// unless the engine cannot even parse what VictoriaMetrics ran.
		if cerr := mqlengine.Check(q.Expr); want.Executed && cerr != nil {
			out = []disagreement{{Kind: "error", Detail: fmt.Sprintf("VictoriaMetrics parsed the query and failed running it (%v) but the engine rejects it at parse time: %v", want.Err, cerr)}}
		}
	case want.Err != nil:
		out = []disagreement{{Kind: "error", Detail: fmt.Sprintf("VictoriaMetrics refused the query (%v) but the engine answered %d series", want.Err, len(got))}}
	case gerr != nil:
		out = []disagreement{{Kind: "error", Detail: fmt.Sprintf("the engine failed: %v; VictoriaMetrics answered %d series", gerr, len(want.Vec))}}
	default:
		out = compareVectors(want.Vec, got)
	}
	for i := range out {
		out[i].Query, out[i].At, out[i].Step = q, at, step
	}
	return out, tally, nil
}

// loadConformanceData writes the data set to VictoriaMetrics and to a store,
// and checks that VictoriaMetrics stored exactly what was sent.
func loadConformanceData(t *testing.T, vm *vmClient) *series.Store {
	t.Helper()
	data := generateConformanceData()
	st := series.NewStore()
	for _, s := range data {
		for _, smp := range s.Samples {
			if err := st.Append(s.Labels, smp.T, smp.V); err != nil {
				t.Fatalf("store: %v", err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := vm.remoteWrite(ctx, data); err != nil {
		t.Fatal(err)
	}
	if err := vm.flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Wait until everything is searchable, then check it round-tripped.
	var got map[string]*genSeries
	var diffs []string
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		got, err = vm.exportAll(ctx, confStart.Add(-time.Hour), confStart.Add(confSpan+time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		diffs = diffStored(data, got)
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(diffs) > 0 {
		t.Fatalf("VictoriaMetrics did not store the data as sent (%d differences), first ones:\n%s",
			len(diffs), strings.Join(diffs[:min(len(diffs), 20)], "\n"))
	}
	n := 0
	for _, s := range data {
		n += len(s.Samples)
	}
	t.Logf("loaded %d series, %d samples (VictoriaMetrics keeps %d series)", len(data), n, len(got))
	return st
}

// diffStored compares the generated data with VictoriaMetrics' export:
// plain NaN samples are expected to be dropped, staleness markers kept
// (exported as null), everything else exact.
func diffStored(sent []genSeries, stored map[string]*genSeries) []string {
	var diffs []string
	for _, s := range sent {
		var want []series.Sample
		for _, smp := range s.Samples {
			if math.IsNaN(smp.V) && !series.IsStaleNaN(smp.V) {
				continue
			}
			want = append(want, smp)
		}
		g := stored[s.Labels.Key()]
		if g == nil {
			diffs = append(diffs, fmt.Sprintf("%s: not stored", s.Labels))
			continue
		}
		if len(g.Samples) != len(want) {
			diffs = append(diffs, fmt.Sprintf("%s: %d samples stored, %d sent (without plain NaN)", s.Labels, len(g.Samples), len(want)))
			continue
		}
		for i, w := range want {
			gv := g.Samples[i]
			if gv.T != w.T || !(gv.V == w.V || math.IsNaN(gv.V) && math.IsNaN(w.V)) {
				diffs = append(diffs, fmt.Sprintf("%s: sample %d: stored %v@%d, sent %v@%d", s.Labels, i, gv.V, gv.T, w.V, w.T))
				break
			}
		}
	}
	return diffs
}

func TestConformance(t *testing.T) {
	corpusPath := filepath.Join("testdata", "conformance", "queries.txt")
	raw, err := os.ReadFile(corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := parseCorpus(corpusPath, raw)
	if err != nil {
		t.Fatal(err)
	}
	var filter *regexp.Regexp
	if *conformanceRun != "" {
		if filter, err = regexp.Compile(*conformanceRun); err != nil {
			t.Fatalf("-conformance.run: %v", err)
		}
	}

	srv := realserver.StartVictoriaMetrics(t)
	vm := &vmClient{base: srv.URL, hc: &http.Client{
		Timeout: 30 * time.Second,
		// Keep a connection per worker (the default keeps 2 idle per host).
		Transport: &http.Transport{MaxIdleConnsPerHost: confWorkers + 1},
	}}
	st := loadConformanceData(t, vm)
	eng, err := mqlengine.New(st, mqlengine.Options{})
	if err != nil {
		t.Fatalf("mqlengine.New: %v", err)
	}

	type job struct {
		q    corpusQuery
		at   int64
		step time.Duration
	}
	var jobs []job
	var skipped []corpusQuery
	nQueries := 0
	for _, q := range corpus {
		if filter != nil && !filter.MatchString(q.Expr) {
			continue
		}
		if q.Skip {
			skipped = append(skipped, q)
			continue
		}
		nQueries++
		for _, off := range confEvalOffsets() {
			for _, step := range q.Steps {
				jobs = append(jobs, job{q, confStart.Add(off).UnixMilli(), step})
			}
		}
	}

	began := time.Now()
	ctx := t.Context()
	var (
		mu       sync.Mutex
		all      []disagreement
		infraErr []error
		total    vmTally
		perQuery = map[int]int{}  // line -> evaluations where VictoriaMetrics returned data
		hung     = map[int]bool{} // line -> the engine timed out once: skip the rest
	)
	ch := make(chan job)
	var wg sync.WaitGroup
	for range confWorkers {
		wg.Go(func() {
			for j := range ch {
				mu.Lock()
				skip := hung[j.q.Line]
				mu.Unlock()
				if skip {
					continue
				}
				ds, tally, err := evaluate(ctx, vm, eng, j.q, j.at, j.step)
				mu.Lock()
				if slices.ContainsFunc(ds, func(d disagreement) bool { return d.Kind == "timeout" }) {
					hung[j.q.Line] = true
				}
				total.add(tally)
				perQuery[j.q.Line] += tally.Data
				if err != nil {
					infraErr = append(infraErr, fmt.Errorf("line %d %q at %s step %s: %w", j.q.Line, j.q.Expr, formatUnixMillis(j.at), j.step, err))
				}
				all = append(all, ds...)
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- j
	}
	close(ch)
	wg.Wait()
	if len(infraErr) > 0 {
		t.Fatalf("%d queries could not be asked of VictoriaMetrics; first: %v\nserver log:\n%s", len(infraErr), infraErr[0], srv.Log())
	}

	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Query.Line != b.Query.Line {
			return a.Query.Line < b.Query.Line
		}
		if a.At != b.At {
			return a.At < b.At
		}
		return a.Step < b.Step
	})
	var dataless []corpusQuery
	for _, q := range corpus {
		if !q.Skip && (filter == nil || filter.MatchString(q.Expr)) && perQuery[q.Line] == 0 {
			dataless = append(dataless, q)
		}
	}
	report := buildReport(all, nQueries, len(confEvalOffsets()), len(jobs), skipped, time.Since(began), total, dataless)
	summary := report[:strings.Index(report, "\n\n")]
	t.Log(summary)
	if *conformanceReport != "" {
		if err := os.WriteFile(*conformanceReport, []byte(report), 0o644); err != nil {
			t.Errorf("write -conformance.report: %v", err)
		}
	}
	if len(all) > 0 {
		byQuery := groupByQuery(all)
		for i, ds := range byQuery {
			if i == 40 {
				t.Errorf("... and %d more queries disagree (use -conformance.report FILE for all)", len(byQuery)-i)
				break
			}
			t.Errorf("%s:%d: %s: %d disagreements, first: %s", corpusPath, ds[0].Query.Line, ds[0].Query.Expr, len(ds), ds[0])
		}
	}
}

func groupByQuery(all []disagreement) [][]disagreement {
	var out [][]disagreement
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].Query.Line == all[i].Query.Line {
			j++
		}
		out = append(out, all[i:j])
		i = j
	}
	return out
}

// buildReport renders every disagreement, grouped by query. The first
// paragraph is the summary.
func buildReport(all []disagreement, nQueries, nTimes, nEvals int, skipped []corpusQuery, took time.Duration, tally vmTally, dataless []corpusQuery) string {
	var b strings.Builder
	byQuery := groupByQuery(all)
	kinds := map[string]int{}
	unsupported := map[string]int{}
	for _, d := range all {
		kinds[d.Kind]++
		if d.Kind == "unsupported" {
			unsupported[d.Detail]++
		}
	}
	fmt.Fprintf(&b, "conformance: %d queries x %d times x their steps = %d evaluations in %s; %d disagreements in %d queries; %d queries skipped\n",
		nQueries, nTimes, nEvals, took.Round(time.Millisecond), len(all), len(byQuery), len(skipped))
	fmt.Fprintf(&b, "  VictoriaMetrics answered with data at %d evaluations (%d points), empty at %d, refused the query at %d; %d queries never returned data\n",
		tally.Data, tally.Points, tally.Empty, tally.Refused, len(dataless))
	fmt.Fprintf(&b, "  time spent answering (summed over workers): VictoriaMetrics over HTTP %s, engine %s\n",
		tally.VMTime.Round(time.Millisecond), tally.EngineTime.Round(time.Millisecond))
	kindNames := make([]string, 0, len(kinds))
	for k := range kinds {
		kindNames = append(kindNames, k)
	}
	slices.Sort(kindNames)
	for _, k := range kindNames {
		fmt.Fprintf(&b, "  %s: %d\n", k, kinds[k])
	}
	b.WriteString("\n")
	if len(unsupported) > 0 {
		b.WriteString("unsupported (evaluations):\n")
		names := make([]string, 0, len(unsupported))
		for k := range unsupported {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			fmt.Fprintf(&b, "  %5d  %s\n", unsupported[k], k)
		}
		b.WriteString("\n")
	}
	for _, q := range skipped {
		fmt.Fprintf(&b, "skipped line %d: %s\n", q.Line, q.Expr)
	}
	if len(skipped) > 0 {
		b.WriteString("\n")
	}
	if len(dataless) > 0 {
		b.WriteString("queries for which VictoriaMetrics never returned data (by design: errors, absent, empty filters):\n")
		for _, q := range dataless {
			fmt.Fprintf(&b, "  line %d: %s\n", q.Line, q.Expr)
		}
		b.WriteString("\n")
	}
	for _, ds := range byQuery {
		fmt.Fprintf(&b, "line %d: %s   (%d disagreements)\n", ds[0].Query.Line, ds[0].Query.Expr, len(ds))
		if !slices.ContainsFunc(ds, func(d disagreement) bool { return d.Kind != "unsupported" || d.Detail != ds[0].Detail }) {
			fmt.Fprintf(&b, "    unsupported at every evaluation: %s\n\n", ds[0].Detail)
			continue
		}
		for i, d := range ds {
			if i == confReportLinesPerQuery {
				fmt.Fprintf(&b, "    ... %d more\n", len(ds)-i)
				break
			}
			fmt.Fprintf(&b, "    %s\n", d)
		}
		b.WriteString("\n")
	}
	return b.String()
}

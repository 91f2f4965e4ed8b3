package unittest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// VMStart is where vmalert-tool puts the first input point.
var vmStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultQueryStep is vmalert's default -datasource.queryStep: the step
// sent with every rule query, whatever the group interval.
const DefaultQueryStep = 5 * time.Minute

// Engine answers instant queries over a store (mqlengine.Engine does).
type Engine interface {
	Query(ctx context.Context, expr string, ts time.Time, step time.Duration) (series.Vector, error)
}

// Options configure a run. NewEngine is required.
type Options struct {
	// ExternalLabels and ExternalURL are vmalert-tool's -external.label and
	// -external.url: added to every rule's labels and shown to templates.
	ExternalLabels map[string]string
	ExternalURL    string
	// DisableAlertGroupLabel is vmalert-tool's -disableAlertgroupLabel.
	DisableAlertGroupLabel bool
	// QueryStep is the step of rule queries: vmalert's
	// -datasource.queryStep, whose default (5m) overrides the group
	// interval. 0 means 5m; a negative value means the group's interval
	// (vmalert's -datasource.queryStep=0).
	QueryStep time.Duration
	// Run selects tests by name (#N for unnamed tests); nil runs all.
	Run *regexp.Regexp
	// Parallelism bounds the tests run at once; 0 means GOMAXPROCS.
	Parallelism int
	// NewEngine returns the query engine over one test's series.
	NewEngine func(st *series.Store) (Engine, error)
	// NewLogEngine returns the LogQL engine over one test's log streams;
	// nil means the embedded engine (lqlengine).
	NewLogEngine func(st *logstream.Store) (LogEngine, error)
	// LoadRules loads rule files from glob patterns; nil means
	// rulefmt.LoadGlobs.
	LoadRules func(patterns []string) ([]*rulefmt.File, []error)
	// ParseTemplate parses label and annotation templates.
	ParseTemplate rule.TemplateParser
}

func (o *Options) validate() error {
	if o.NewEngine == nil {
		return errors.New("unittest options: NewEngine is required")
	}
	if o.Parallelism < 0 {
		return fmt.Errorf("unittest options: Parallelism must not be negative, got %d", o.Parallelism)
	}
	return nil
}

// FileResult is the outcome of one test file.
type FileResult struct {
	Path   string
	Format Format
	// Errs are problems that make the file unusable (bad YAML, missing
	// rule files): none of its tests ran.
	Errs  []error
	Tests []TestResult

	rules []*rulefmt.File // the rule files it loaded, for Coverage
}

// TestResult is the outcome of one test.
type TestResult struct {
	Name     string
	Pos      yamlnode.Pos
	Skipped  bool // not selected by Options.Run
	Failures []Failure
	Duration time.Duration

	cov *testCoverage // what its passing checks proved, for Coverage
}

// Failure is one failed check (or an evaluation error).
type Failure struct {
	Pos  yamlnode.Pos // the check's entry in the test file
	What string       // e.g. alert_rule_test groupname=g alertname=A eval_time=5m
	Diff string       // readable expected-vs-got lines
}

func (f Failure) String() string {
	if f.Diff == "" {
		return fmt.Sprintf("%s: %s", f.Pos, f.What)
	}
	return fmt.Sprintf("%s: %s\n%s", f.Pos, f.What, f.Diff)
}

// Run runs every test of every file (no fail-fast); independent tests run
// in parallel. Results are in the order of files and tests.
func Run(ctx context.Context, files []string, opts Options) ([]FileResult, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	par := opts.Parallelism
	if par == 0 {
		par = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, par)
	results := make([]FileResult, len(files))
	var wg sync.WaitGroup
	for i, path := range files {
		res := &results[i]
		res.Path = path
		f, rules, errs := prepare(path, opts)
		if len(errs) > 0 {
			res.Errs = errs
			if f != nil {
				res.Format = f.Format
			}
			continue
		}
		res.Format = f.Format
		res.rules = rules
		res.Tests = make([]TestResult, len(f.Tests))
		for j := range f.Tests {
			t := &f.Tests[j]
			tr := &res.Tests[j]
			tr.Name, tr.Pos = t.DisplayName(), t.Pos
			if opts.Run != nil && !opts.Run.MatchString(tr.Name) {
				tr.Skipped = true
				continue
			}
			if fails := verifyTest(f, t, opts); len(fails) > 0 {
				tr.Failures = fails
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					tr.Failures = []Failure{{Pos: t.Pos, What: "not run: " + ctx.Err().Error()}}
					return
				}
				defer func() { <-sem }()
				begin := time.Now()
				tr.cov = newTestCoverage()
				tr.Failures = noteSameGroup(f, rules, t, runTest(ctx, f, rules, t, opts, tr.cov))
				tr.Duration = time.Since(begin)
			}()
		}
	}
	wg.Wait()
	return results, nil
}

// MissingRuleFiles is the error of a file without rule_files, which
// only promtool's format allows (a file of promql_expr_test only); nil
// when the file has rule files or may go without.
func (f *File) MissingRuleFiles() error {
	if len(f.RuleFiles) > 0 || f.Format == Promtool {
		return nil
	}
	return &yamlnode.Error{Pos: f.RuleFilesPos, Msg: "rule_files: no rule file given"}
}

// prepare decodes a test file and loads its rule files.
func prepare(path string, opts Options) (*File, []*rulefmt.File, []error) {
	f, errs := ReadFile(path)
	if len(errs) > 0 {
		return f, nil, errs
	}
	if len(f.RuleFiles) == 0 {
		if err := f.MissingRuleFiles(); err != nil {
			return f, nil, []error{err}
		}
		return f, nil, nil
	}
	rules, rerrs := loadRules(f, opts)
	if len(rerrs) > 0 {
		return f, nil, ruleFileErrors(f, rerrs)
	}
	n := 0
	for _, rf := range rules {
		n += len(rf.Groups)
	}
	if n == 0 && f.Format != Promtool { // promtool runs a file with no group
		errs = append(errs, &yamlnode.Error{Pos: f.RuleFilesPos, Msg: fmt.Sprintf("found no rule group in %v", f.RuleFiles)})
	}
	return f, rules, errs
}

// ruleFileErrors ties rule file errors to the test file's rule_files.
func ruleFileErrors(f *File, errs []error) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		var re *yamlnode.Error
		if errors.As(e, &re) && re.Pos.Line > 0 {
			out[i] = fmt.Errorf("%s: rule_files: %w", f.RuleFilesPos, e)
		} else {
			out[i] = &yamlnode.Error{Pos: f.RuleFilesPos, Msg: "rule_files: " + e.Error()}
		}
	}
	return out
}

// verifyTest reports what vmalert-tool's verifyTestGroup rejects: the test
// fails without running.
func verifyTest(f *File, t *Test, opts Options) []Failure {
	if f.Format != VMAlertTool {
		return nil
	}
	var out []Failure
	for _, at := range t.AlertTests {
		switch {
		case opts.DisableAlertGroupLabel && at.GroupName != "":
			out = append(out, Failure{Pos: at.Pos, What: "alert_rule_test: groupname must not be set when the alertgroup label is disabled"})
		case !opts.DisableAlertGroupLabel && at.GroupName == "":
			out = append(out, Failure{Pos: at.Pos, What: "alert_rule_test: missing required field \"groupname\" (or disable the alertgroup label)"})
		}
	}
	return out
}

// stepQuerier binds the step of a group's queries.
type stepQuerier struct {
	e    Engine
	step time.Duration
}

// Query sends the time and the step in whole seconds, as vmalert's
// datasource client does (time as RFC 3339, step as "%ds").
func (q stepQuerier) Query(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
	return q.e.Query(ctx, expr, ts.Truncate(time.Second), q.step.Truncate(time.Second))
}

type alertKey struct{ group, alert string }

// runTest runs one test with fresh series and fresh rule state.
func runTest(ctx context.Context, f *File, rules []*rulefmt.File, t *Test, opts Options, cov *testCoverage) []Failure {
	prom := f.Format != VMAlertTool // promtool, lokitool
	start := vmStart
	if prom {
		start = time.Unix(0, 0).UTC()
		if t.Start != nil {
			start = *t.Start
		}
	}
	interval := t.Interval
	if interval == 0 {
		interval = f.EvaluationInterval
	}
	st := series.NewStore()
	if err := writeInput(st, t.InputSeries, start.UnixMilli(), interval.Milliseconds(), inputUntil(f, t, start)); err != nil {
		return []Failure{{Pos: t.Pos, What: err.Error()}}
	}
	eng, err := opts.NewEngine(st)
	if err != nil {
		return []Failure{{Pos: t.Pos, What: fmt.Sprintf("start the query engine: %v", err)}}
	}
	lst := logstream.NewStore()
	if err := WriteStreams(lst, t.InputStreams, start); err != nil {
		var e *yamlnode.Error
		if errors.As(err, &e) {
			return []Failure{{Pos: e.Pos, What: e.Msg}}
		}
		return []Failure{{Pos: t.Pos, What: err.Error()}}
	}
	leng, err := newLogEngine(opts, lst)
	if err != nil {
		return []Failure{{Pos: t.Pos, What: fmt.Sprintf("start the LogQL engine: %v", err)}}
	}
	isLog := logGroups(rules)

	groups, err := buildGroups(f, rules, t, opts)
	if err != nil {
		return []Failure{{Pos: t.Pos, What: err.Error()}}
	}
	noGroupName := prom || opts.DisableAlertGroupLabel

	// Expected alerts by eval time; a later entry for the same time, group
	// and alert replaces an earlier one (as in vmalert-tool).
	expected := map[time.Duration]map[alertKey]*AlertTest{}
	var maxEval time.Duration
	for i := range t.AlertTests {
		at := &t.AlertTests[i]
		if expected[at.EvalTime] == nil {
			expected[at.EvalTime] = map[alertKey]*AlertTest{}
		}
		g := at.GroupName
		if noGroupName {
			g = ""
		}
		expected[at.EvalTime][alertKey{g, at.Alertname}] = at
		maxEval = max(maxEval, at.EvalTime)
	}
	for _, et := range t.ExprTests {
		maxEval = max(maxEval, et.EvalTime)
	}
	for _, lt := range t.LogExprTests {
		maxEval = max(maxEval, lt.EvalTime)
	}
	evalTimes := slices.Sorted(maps.Keys(expected))

	var failures []Failure
	evalInterval := f.EvaluationInterval
	idx := 0
	end := start.Add(maxEval)
	for ts := start; !ts.After(end); ts = ts.Add(evalInterval) {
		if err := ctx.Err(); err != nil {
			return append(failures, Failure{Pos: t.Pos, What: "stopped: " + err.Error()})
		}
		for _, g := range groups {
			if len(g.Rules) == 0 {
				continue
			}
			step := opts.QueryStep
			switch {
			case step == 0:
				step = DefaultQueryStep
			case step < 0:
				step = g.Interval
			}
			var q rule.Querier = stepQuerier{eng, step}
			if isLog[g.Name] {
				q = logQuerier(leng)
			}
			pts, errs := g.Eval(ctx, q, ts)
			if len(errs) > 0 {
				return append(failures, Failure{Pos: t.Pos, What: fmt.Sprintf("group %q failed at %s (eval_time %s): %v", g.Name, ts.Format(time.RFC3339), ts.Sub(start), errors.Join(errs...))})
			}
			cov.noteRecorded(g)
			for _, p := range pts {
				if err := st.Append(p.Labels, p.T, p.V); err != nil {
					return append(failures, Failure{Pos: t.Pos, What: fmt.Sprintf("group %q: write %s: %v (a rule writes a series that the input series already has at a later time; not supported)", g.Name, p.Labels, err)})
				}
			}
		}
		rel := ts.Sub(start)
		for idx < len(evalTimes) && evalTimes[idx] >= rel && evalTimes[idx] < rel+evalInterval {
			failures = append(failures, checkAlerts(groups, expected[evalTimes[idx]], evalTimes[idx], noGroupName, f.Format, opts.DisableAlertGroupLabel, cov)...)
			idx++
		}
	}
	eq := func(a, b float64) bool { return valuesEqual(a, b, 1e-12) }
	if prom {
		eq = promtoolEqual(f.FuzzyCompare)
	}
	for _, et := range t.ExprTests {
		failures = append(failures, checkExpr(ctx, eng, et, start, eq, f.Format)...)
	}
	for _, lt := range t.LogExprTests {
		failures = append(failures, checkLogExpr(ctx, leng, lt, start, eq)...)
	}
	return failures
}

// buildGroups makes fresh groups in evaluation order: group_eval_order
// first by position, unlisted groups count as position 0; ties keep file
// order (what vmalert-tool's sort yields).
func buildGroups(f *File, rules []*rulefmt.File, t *Test, opts Options) ([]*rule.Group, error) {
	order := map[string]int{}
	for i, n := range f.GroupEvalOrder {
		order[n] = i
	}
	gopts := rule.GroupOptions{ParseTemplate: opts.ParseTemplate}
	if f.Format != VMAlertTool {
		gopts.ExternalLabels = t.ExternalLabels
		gopts.ExternalURL = t.ExternalURL
		gopts.DefaultInterval = f.EvaluationInterval
		gopts.DisableAlertGroupLabel = true
		gopts.PrometheusLabels = true
	} else {
		labels := maps.Clone(t.ExternalLabels)
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, opts.ExternalLabels)
		gopts.Labels = labels
		gopts.ExternalLabels = opts.ExternalLabels
		gopts.ExternalURL = opts.ExternalURL
		gopts.DefaultInterval = time.Minute
		gopts.DisableAlertGroupLabel = opts.DisableAlertGroupLabel
	}
	var groups []*rule.Group
	var errs []error
	for _, rf := range rules {
		for _, g := range rf.Groups {
			ng, err := rule.NewGroup(rf.Path, g, gopts)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			groups = append(groups, ng)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortStableFunc(groups, func(a, b *rule.Group) int { return cmp.Compare(order[a.Name], order[b.Name]) })
	return groups, nil
}

// alertEntry is an alert as compared: labels and annotations.
type alertEntry struct {
	labels, annos series.Labels
}

func (a alertEntry) String() string {
	return a.labels.String() + " annotations " + a.annos.String()
}

func compareAlertEntries(a, b alertEntry) int {
	if c := series.Compare(a.labels, b.labels); c != 0 {
		return c
	}
	return series.Compare(a.annos, b.annos)
}

func fromMap(m map[string]string) series.Labels {
	ls := make(series.Labels, 0, len(m))
	for k, v := range m {
		ls = append(ls, series.Label{Name: k, Value: v})
	}
	ls.Sort()
	return ls
}

func checkAlerts(groups []*rule.Group, exp map[alertKey]*AlertTest, at time.Duration, noGroupName bool, format Format, disableGroupLabel bool, cov *testCoverage) []Failure {
	got := map[alertKey][]alertEntry{}
	for _, g := range groups {
		gname := g.Name
		if noGroupName {
			gname = ""
		}
		for _, ar := range g.AlertingRules() {
			k := alertKey{gname, ar.Name()}
			if _, ok := exp[k]; !ok {
				continue
			}
			for _, a := range ar.Alerts() {
				if a.State != rule.StateFiring {
					continue
				}
				got[k] = append(got[k], alertEntry{a.Labels, fromMap(a.Annotations)})
			}
		}
	}
	var failures []Failure
	keys := slices.SortedFunc(maps.Keys(exp), func(a, b alertKey) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.alert, b.alert))
	})
	for _, k := range keys {
		t := exp[k]
		var want []alertEntry
		for _, ea := range t.ExpAlerts {
			ls := maps.Clone(ea.Labels)
			if ls == nil {
				ls = map[string]string{}
			}
			if format == VMAlertTool && !disableGroupLabel {
				ls[rule.AlertGroupNameLabel] = k.group
			}
			ls[rule.AlertNameLabel] = k.alert
			want = append(want, alertEntry{fromMap(ls), fromMap(ea.Annotations)})
		}
		g := got[k]
		slices.SortFunc(want, compareAlertEntries)
		slices.SortFunc(g, compareAlertEntries)
		if slices.EqualFunc(want, g, func(a, b alertEntry) bool { return compareAlertEntries(a, b) == 0 }) {
			cov.noteAlertCheck(groups, k.group, k.alert, noGroupName, len(want) > 0)
			continue
		}
		what := fmt.Sprintf("alert_rule_test alertname=%s eval_time=%s: firing alerts differ", k.alert, at)
		if format == VMAlertTool {
			what = fmt.Sprintf("alert_rule_test groupname=%s alertname=%s eval_time=%s: firing alerts differ", k.group, k.alert, at)
		}
		failures = append(failures, Failure{Pos: t.Pos, What: what, Diff: diffAlerts(want, g)})
	}
	return failures
}

// diffAlerts lists expected and got alerts: "-" expected but missing,
// "+" got but not expected, " " both.
func diffAlerts(want, got []alertEntry) string {
	var b strings.Builder
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j >= len(got) || (i < len(want) && compareAlertEntries(want[i], got[j]) < 0):
			fmt.Fprintf(&b, "    - %s   (expected, missing)\n", want[i])
			i++
		case i >= len(want) || compareAlertEntries(want[i], got[j]) > 0:
			fmt.Fprintf(&b, "    + %s   (got, not expected)\n", got[j])
			j++
		default:
			fmt.Fprintf(&b, "      %s\n", want[i])
			i++
			j++
		}
	}
	if len(want) == 0 && len(got) == 0 {
		b.WriteString("    (none)\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

type sampleEntry struct {
	labels series.Labels
	value  float64
}

func (s sampleEntry) String() string {
	return s.labels.String() + " " + formatValue(s.value)
}

func formatValue(v float64) string {
	if series.IsStaleNaN(v) {
		return "stale"
	}
	if abs(v) < 1e15 && v == v {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func valuesEqual(a, b, tol float64) bool {
	if a == b {
		return true
	}
	d := a - b
	if d < 0 {
		d = -d
	}
	m := max(abs(a), abs(b))
	return d <= tol*m
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func checkExpr(ctx context.Context, eng Engine, et ExprTest, start time.Time, eq func(a, b float64) bool, format Format) []Failure {
	kind := "metricsql_expr_test"
	if format == Promtool {
		kind = "promql_expr_test"
	}
	what := fmt.Sprintf("%s expr=%q eval_time=%s", kind, et.Expr, et.EvalTime)
	res, err := eng.Query(ctx, et.Expr, start.Add(et.EvalTime).Truncate(time.Second), 0)
	if err != nil {
		return []Failure{{Pos: et.Pos, What: what + ": " + err.Error()}}
	}
	return compareSamples(what, et.Pos, res, et.ExpSamples, eq)
}

// compareSamples matches expected samples with the samples got, in any
// order, values compared with eq.
func compareSamples(what string, pos yamlnode.Pos, res series.Vector, exp []ExpSample, eq func(a, b float64) bool) []Failure {
	got := make([]sampleEntry, 0, len(res))
	for _, p := range res {
		got = append(got, sampleEntry{p.Labels, p.V})
	}
	want := make([]sampleEntry, 0, len(exp))
	for _, s := range exp {
		want = append(want, sampleEntry{s.Labels, s.Value})
	}
	byLabelsValue := func(a, b sampleEntry) int {
		return cmp.Or(series.Compare(a.labels, b.labels), cmp.Compare(a.value, b.value))
	}
	sort.SliceStable(want, func(i, j int) bool { return byLabelsValue(want[i], want[j]) < 0 })
	sort.SliceStable(got, func(i, j int) bool { return byLabelsValue(got[i], got[j]) < 0 })
	// Match each expected sample with a got sample of the same labels and
	// a close value.
	used := make([]bool, len(got))
	matched := make([]bool, len(want))
	for i, w := range want {
		for j, g := range got {
			if !used[j] && w.labels.Equal(g.labels) && eq(w.value, g.value) {
				used[j], matched[i] = true, true
				break
			}
		}
	}
	ok := !slices.Contains(matched, false) && !slices.Contains(used, false)
	if ok {
		return nil
	}
	var b strings.Builder
	for i, w := range want {
		if matched[i] {
			fmt.Fprintf(&b, "      %s\n", w)
		} else {
			fmt.Fprintf(&b, "    - %s   (expected, missing)\n", w)
		}
	}
	for j, g := range got {
		if !used[j] {
			fmt.Fprintf(&b, "    + %s   (got, not expected)\n", g)
		}
	}
	return []Failure{{Pos: pos, What: what + ": samples differ", Diff: strings.TrimRight(b.String(), "\n")}}
}

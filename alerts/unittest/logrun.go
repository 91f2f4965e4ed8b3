package unittest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// LogEngine answers LogQL instant queries over one test's log streams
// (lqlengine.Engine does): Query for logql_expr_test (samples or lines),
// QueryVector for the rules of LogQL groups (the rule engine's seam).
type LogEngine interface {
	Query(ctx context.Context, expr string, ts time.Time) (lqlengine.Result, error)
	QueryVector(ctx context.Context, expr string, ts time.Time) (series.Vector, error)
}

// newLogEngine builds the LogQL engine over a test's streams: the
// Options' constructor, or the embedded engine.
func newLogEngine(opts Options, st *logstream.Store) (LogEngine, error) {
	if opts.NewLogEngine != nil {
		return opts.NewLogEngine(st)
	}
	return lqlengine.New(st), nil
}

// loadRules loads a test file's rule files; in a lokitool file a group
// without a type is LogQL (Loki's rule files set none).
func loadRules(f *File, opts Options) ([]*rulefmt.File, []error) {
	if opts.LoadRules != nil {
		return opts.LoadRules(f.ResolvedRuleFiles())
	}
	if f.Format == Lokitool {
		return rulefmt.LoadGlobsTyped(f.ResolvedRuleFiles(), rulefmt.TypeLogQL)
	}
	return rulefmt.LoadGlobs(f.ResolvedRuleFiles())
}

// logGroups names the LogQL groups of the rule files.
func logGroups(rules []*rulefmt.File) map[string]bool {
	out := map[string]bool{}
	for _, rf := range rules {
		for _, g := range rf.Groups {
			if g.Type == rulefmt.TypeLogQL {
				out[g.Name] = true
			}
		}
	}
	return out
}

// WriteStreams puts the input streams into the store, entries at start
// plus their offsets. Like Loki, the store keeps one of two equal lines at
// the same time of a stream.
func WriteStreams(st *logstream.Store, in []InputStream, start time.Time) error {
	for _, s := range in {
		for _, e := range s.Entries {
			if err := st.Append(s.Labels, logstream.Entry{T: start.Add(e.At), Line: e.Line}); err != nil {
				return &yamlnode.Error{Pos: e.Pos, Msg: fmt.Sprintf("input stream %s: %v", s.Labels, err)}
			}
		}
	}
	return nil
}

// logQuerier is the rule.Querier of a LogQL group: the LogQL engine
// behind the same seam as the MetricsQL one.
func logQuerier(le LogEngine) rule.Querier {
	return rule.QuerierFunc(le.QueryVector)
}

// checkLogExpr runs one logql_expr_test.
func checkLogExpr(ctx context.Context, le LogEngine, lt LogExprTest, start time.Time, eq func(a, b float64) bool) []Failure {
	what := fmt.Sprintf("logql_expr_test expr=%q eval_time=%s", lt.Expr, lt.EvalTime)
	res, err := le.Query(ctx, lt.Expr, start.Add(lt.EvalTime))
	if err != nil {
		return []Failure{{Pos: lt.Pos, What: what + ": " + err.Error()}}
	}
	switch {
	case res.IsLog && len(lt.ExpSamples) > 0:
		return []Failure{{Pos: lt.Pos, What: what + ": a log query returns lines, not samples: expect them with exp_logs"}}
	case !res.IsLog && lt.WantLogs:
		return []Failure{{Pos: lt.Pos, What: what + ": a metric query returns samples, not lines: expect them with exp_samples"}}
	case res.IsLog:
		return compareLogs(what, lt, res.Streams, start)
	}
	return compareSamples(what, lt.Pos, res.Vector, lt.ExpSamples, eq)
}

type logEntry struct {
	labels  series.Labels
	line    string
	t       time.Time
	hasTime bool
}

func (e logEntry) format(start time.Time) string {
	s := e.labels.String() + " " + strconv.Quote(e.line)
	if e.hasTime {
		s += fmt.Sprintf(" at %s (%d)", e.t.Sub(start), e.t.UnixNano())
	}
	return s
}

// compareLogs matches the expected lines with the lines got, in any
// order; an expected line without a timestamp matches a line at any time.
func compareLogs(what string, lt LogExprTest, streams []logstream.Stream, start time.Time) []Failure {
	var got []logEntry
	for _, s := range streams {
		for _, e := range s.Entries {
			got = append(got, logEntry{labels: s.Labels, line: e.Line, t: e.T, hasTime: true})
		}
	}
	want := make([]logEntry, 0, len(lt.ExpLogs))
	for _, x := range lt.ExpLogs {
		e := logEntry{labels: x.Labels, line: x.Line}
		switch {
		case x.HasTime:
			e.t, e.hasTime = x.Time, true
		case x.HasAt:
			e.t, e.hasTime = start.Add(x.At), true
		}
		want = append(want, e)
	}
	order := func(a, b logEntry) int {
		return cmp.Or(series.Compare(a.labels, b.labels), a.t.Compare(b.t), cmp.Compare(a.line, b.line))
	}
	slices.SortStableFunc(got, order)
	// Timed expectations first, so that an untimed one does not take the
	// line a timed one needs.
	slices.SortStableFunc(want, func(a, b logEntry) int {
		if a.hasTime != b.hasTime {
			if a.hasTime {
				return -1
			}
			return 1
		}
		return order(a, b)
	})
	used := make([]bool, len(got))
	matched := make([]bool, len(want))
	for i, w := range want {
		for j, g := range got {
			if !used[j] && w.labels.Equal(g.labels) && w.line == g.line && (!w.hasTime || w.t.Equal(g.t)) {
				used[j], matched[i] = true, true
				break
			}
		}
	}
	if !slices.Contains(matched, false) && !slices.Contains(used, false) {
		return nil
	}
	var b strings.Builder
	for i, w := range want {
		if matched[i] {
			fmt.Fprintf(&b, "      %s\n", w.format(start))
		} else {
			fmt.Fprintf(&b, "    - %s   (expected, missing)\n", w.format(start))
		}
	}
	for j, g := range got {
		if !used[j] {
			fmt.Fprintf(&b, "    + %s   (got, not expected)\n", g.format(start))
		}
	}
	return []Failure{{Pos: lt.Pos, What: what + ": lines differ", Diff: strings.TrimRight(b.String(), "\n")}}
}

// checkLogTests checks what a test's logql_expr_test entries query: each
// expression parses and the embedded engine supports it.
func checkLogTests(t Test) []error {
	var errs []error
	for _, lt := range t.LogExprTests {
		if err := lqlengine.Check(lt.Expr); err != nil {
			errs = append(errs, &yamlnode.Error{Pos: lt.ExprOffsetPos(rulefmt.LogQLErrOffset(lt.Expr, err)), Msg: fmt.Sprintf("expr: %v", err)})
		}
	}
	return errs
}

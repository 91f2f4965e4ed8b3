package unittest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/lokiproto"

	"github.com/hlalert/hlalert/alerts/datasource"
	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
)

// lokiBenchSuite is the LogQL suite the benchmark times: the shipped
// journal rules' tests.
const lokiBenchSuite = "../../rules/journal.test.yml"

// benchQuery is one query the suite makes: a rule's expression at an
// evaluation tick, or a logql_expr_test.
type benchQuery struct {
	test int
	expr string
	at   time.Duration // from the test's start
	logs bool          // a log query (exp_logs): Loki answers it as a range query
}

// suiteQueries lists every LogQL query `hlalert test` makes for the file:
// each LogQL rule at each evaluation tick up to the test's last eval_time,
// and each logql_expr_test.
func suiteQueries(tb testing.TB, path string) (*File, []benchQuery) {
	f, errs := ReadFile(path)
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	rules, errs := loadRules(f, Options{})
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	var exprs []string
	for _, rf := range rules {
		for _, g := range rf.Groups {
			if g.Type != rulefmt.TypeLogQL {
				continue
			}
			for _, r := range g.Rules {
				exprs = append(exprs, r.Expr)
			}
		}
	}
	var qs []benchQuery
	for i, t := range f.Tests {
		var maxEval time.Duration
		for _, at := range t.AlertTests {
			maxEval = max(maxEval, at.EvalTime)
		}
		for _, lt := range t.LogExprTests {
			maxEval = max(maxEval, lt.EvalTime)
		}
		for ts := time.Duration(0); ts <= maxEval; ts += f.EvaluationInterval {
			for _, e := range exprs {
				qs = append(qs, benchQuery{test: i, expr: e, at: ts})
			}
		}
		for _, lt := range t.LogExprTests {
			qs = append(qs, benchQuery{test: i, expr: lt.Expr, at: lt.EvalTime, logs: lt.WantLogs})
		}
	}
	return f, qs
}

// BenchmarkLogQLSuiteVsLoki times the LogQL test suite under `hlalert
// test` (decode, embedded engines, rule evaluation, checks) and the same
// queries answered by a real Loki v3.7.8 (push the test's lines, then
// every query the suite makes), one at a time on both sides, and reports
// the ratio. It also counts the metric queries whose answers differ.
// Run it with .ci/bench/logql-vs-loki.sh.
func BenchmarkLogQLSuiteVsLoki(b *testing.B) {
	f, qs := suiteQueries(b, lokiBenchSuite)
	opts := testOptions()
	opts.Parallelism = 1
	ctx := context.Background()

	// hlalert: the whole suite, as `hlalert test` runs it.
	const runs = 20
	begin := time.Now()
	for range runs {
		res, err := Run(ctx, []string{lokiBenchSuite}, opts)
		if err != nil || failed(res[0]) {
			b.Fatalf("suite failed: %v %+v", err, res)
		}
	}
	hl := time.Since(begin) / runs

	// Loki: for each test a fresh Loki (not timed), the test's lines
	// pushed two hours back (within what Loki's ingester answers), then
	// the same queries.
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	start := func(int) time.Time { return base }
	lokiAnswers := make([]series.Vector, len(qs))
	var lokiTime, pushed time.Duration
	for i, t := range f.Tests {
		lk := realserver.StartLokiWith(b, realserver.LokiOptions{Limits: []string{
			"discover_service_name: []", "discover_log_levels: false",
			"max_query_lookback: 0s", "max_entries_limit_per_query: 5000",
		}})
		pc, err := lokipush.New(lokipush.Options{URL: lk.URL})
		if err != nil {
			b.Fatal(err)
		}
		ds, err := datasource.NewLoki(datasource.LokiOptions{URL: lk.URL})
		if err != nil {
			b.Fatal(err)
		}
		begin := time.Now()
		var streams []lokiproto.Stream
		for _, s := range t.InputStreams {
			ps := lokiproto.Stream{Labels: s.Labels.String()}
			for _, e := range s.Entries {
				ps.Entries = append(ps.Entries, lokiproto.Entry{Timestamp: start(i).Add(e.At), Line: e.Line})
			}
			streams = append(streams, ps)
		}
		if err := pc.Push(ctx, streams); err != nil {
			b.Fatalf("push test %d: %v", i+1, err)
		}
		pushed += time.Since(begin)
		for k, q := range qs {
			if q.test != i {
				continue
			}
			ts := start(i).Add(q.at)
			if q.logs {
				if err := lokiLogQuery(ctx, lk.URL, q.expr, ts); err != nil {
					b.Fatalf("loki: %s at %s: %v", q.expr, q.at, err)
				}
				continue
			}
			v, err := ds.Query(ctx, q.expr, ts)
			if err != nil {
				b.Fatalf("loki: %s at %s: %v", q.expr, q.at, err)
			}
			lokiAnswers[k] = v
		}
		lokiTime += time.Since(begin)
		lk.Stop()
	}

	// The same queries on the embedded engine, for the disagreement count.
	differ := 0
	shown := map[string]bool{}
	for i, t := range f.Tests {
		lst := newTestLogStore(b, t, start(i))
		eng := lqlengine.New(lst)
		for k, q := range qs {
			if q.test != i || q.logs {
				continue
			}
			v, err := eng.QueryVector(ctx, q.expr, start(i).Add(q.at))
			if err != nil {
				b.Fatalf("engine: %s: %v", q.expr, err)
			}
			if !sameVector(v, lokiAnswers[k]) {
				differ++
				if !shown[q.expr] {
					shown[q.expr] = true
					fmt.Printf("differs: test %d %s at %s\n  engine %v\n  loki   %v\n", i+1, oneLine(q.expr), q.at, v, lokiAnswers[k])
				}
			}
		}
	}
	b.ReportMetric(float64(hl.Microseconds())/1000, "hlalert-ms")
	b.ReportMetric(float64(lokiTime.Microseconds())/1000, "loki-ms")
	b.ReportMetric(float64(lokiTime)/float64(hl), "ratio")
	b.ReportMetric(float64(differ), "disagreements")
	fmt.Printf("suite %s: %d tests, %d LogQL queries (%d metric)\n", lokiBenchSuite, len(f.Tests), len(qs), countMetric(qs))
	fmt.Printf("hlalert test (whole suite, 1 worker, mean of %d): %s\n", runs, hl)
	fmt.Printf("Loki v3.7.8 (push %s + %d queries one at a time): %s\n", pushed, len(qs), lokiTime)
	fmt.Printf("ratio Loki/hlalert: %.1fx; metric answers that differ: %d\n", float64(lokiTime)/float64(hl), differ)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func countMetric(qs []benchQuery) int {
	n := 0
	for _, q := range qs {
		if !q.logs {
			n++
		}
	}
	return n
}

func newTestLogStore(tb testing.TB, t Test, start time.Time) *logstream.Store {
	st := logstream.NewStore()
	if err := WriteStreams(st, t.InputStreams, start); err != nil {
		tb.Fatal(err)
	}
	return st
}

// lokiLogQuery asks Loki for a log query's lines in the hour before ts
// (Loki answers log queries only as range queries).
func lokiLogQuery(ctx context.Context, base, expr string, ts time.Time) error {
	q := url.Values{}
	q.Set("query", expr)
	q.Set("start", strconv.FormatInt(ts.Add(-time.Hour).UnixNano(), 10))
	q.Set("end", strconv.FormatInt(ts.UnixNano()+1, 10))
	q.Set("limit", "100")
	q.Set("direction", "backward")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/loki/api/v1/query_range?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || body.Status != "success" {
		return fmt.Errorf("HTTP %d %s", resp.StatusCode, body.Status)
	}
	return nil
}

// sameVector compares two vectors by labels and value (relative 1e-9).
func sameVector(a, b series.Vector) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(v series.Vector) map[string]float64 {
		m := map[string]float64{}
		for _, p := range v {
			m[p.Labels.String()] = p.V
		}
		return m
	}
	ka, kb := key(a), key(b)
	for _, k := range slices.Sorted(maps.Keys(ka)) {
		vb, ok := kb[k]
		if !ok || !valuesEqual(ka[k], vb, 1e-9) {
			return false
		}
	}
	return true
}

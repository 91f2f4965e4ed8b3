package lqlengine_test

// The conformance tier: the embedded engine against a real Loki v3.7.8 over
// the same generated streams and a corpus of queries
// (testdata/conformance/queries.txt), each at several instants. See
// testdata/conformance/README.md for the Loki settings.
//
//	go test ./alerts/lqlengine -run TestConformance -v
//	go test ./alerts/lqlengine -run TestConformance -conformance.run 'json'
//
// It is skipped under -short (it needs the real server, built once from
// .ci/tools and cached).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/lokiproto"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/series"
)

var (
	conformanceRun    = flag.String("conformance.run", "", "only run corpus queries matching this regexp")
	conformanceReport = flag.String("conformance.report", "", "write every disagreement to this file")
)

const (
	confRelTol = 1e-9
	confAbsTol = 1e-12
)

// confLokiOptions are the settings the tier runs Loki with; keep
// testdata/conformance/README.md in step.
func confLokiOptions() realserver.LokiOptions {
	return realserver.LokiOptions{
		Limits: []string{
			"discover_service_name: []",
			"discover_log_levels: false",
			"max_query_series: 100000",
			"max_query_lookback: 0s",
			"split_instant_metric_queries_by_interval: 0s",
			"ingestion_rate_mb: 64",
			"ingestion_burst_size_mb: 128",
		},
		QueryRange: []string{"parallelise_shardable_queries: false"},
	}
}

// confEvalOffsets are the instants, from the data's start: inside the
// data, on a burst, in gaps, at the end and after it.
func confEvalOffsets() []time.Duration {
	m, s := time.Minute, time.Second
	return []time.Duration{3 * m, 10*m + 7*s, 23*m + 30*s, 27*m + 20*s, 41*m + 13*s, 53 * m}
}

type corpusQuery struct {
	Line int
	Expr string
}

func loadCorpus(t *testing.T) []corpusQuery {
	data, err := os.ReadFile("testdata/conformance/queries.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusQuery
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if prev, ok := seen[text]; ok {
			t.Fatalf("testdata/conformance/queries.txt:%d: duplicate of line %d", line, prev)
		}
		seen[text] = line
		out = append(out, corpusQuery{line, text})
	}
	return out
}

type lokiClient struct {
	url string
	hc  *http.Client
}

// lokiResult is Loki's answer: a vector (a scalar as one label-less
// point) or its refusal.
type lokiResult struct {
	vec    series.Vector
	refuse string
}

func (c *lokiClient) query(ctx context.Context, expr string, at time.Time) (lokiResult, error) {
	q := url.Values{"query": {expr}, "time": {strconv.FormatInt(at.UnixNano(), 10)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/loki/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return lokiResult{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return lokiResult{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return lokiResult{}, err
	}
	// Loki refuses what it cannot parse or validate with 400 and a query
	// that fails while running (many-to-many matches, ...) with 500.
	if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusInternalServerError && len(body) > 0 {
		return lokiResult{refuse: strings.TrimSpace(string(body))}, nil
	}
	if resp.StatusCode != http.StatusOK {
		return lokiResult{}, fmt.Errorf("loki: HTTP %s: %s", resp.Status, body)
	}
	var r struct {
		Data struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return lokiResult{}, fmt.Errorf("decode %s: %w", body, err)
	}
	parseV := func(raw [2]json.RawMessage) (int64, float64, error) {
		var ts float64
		var vs string
		if err := json.Unmarshal(raw[0], &ts); err != nil {
			return 0, 0, err
		}
		if err := json.Unmarshal(raw[1], &vs); err != nil {
			return 0, 0, err
		}
		v, err := strconv.ParseFloat(vs, 64)
		return int64(math.Round(ts * 1000)), v, err
	}
	switch r.Data.ResultType {
	case "scalar":
		var raw [2]json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &raw); err != nil {
			return lokiResult{}, err
		}
		// Loki v3.7.8 stamps a scalar result with a time that is not the
		// query's (ms read as s); only its value is compared.
		_, v, err := parseV(raw)
		return lokiResult{vec: series.Vector{{Labels: series.Labels{}, T: at.UnixMilli(), V: v}}}, err
	case "vector":
		var items []struct {
			Metric map[string]string  `json:"metric"`
			Value  [2]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &items); err != nil {
			return lokiResult{}, err
		}
		vec := series.Vector{}
		for _, it := range items {
			t, v, err := parseV(it.Value)
			if err != nil {
				return lokiResult{}, err
			}
			ls := series.Labels{}
			for k, v := range it.Metric {
				ls = append(ls, series.Label{Name: k, Value: v})
			}
			ls.Sort()
			vec = append(vec, series.Point{Labels: ls, T: t, V: v})
		}
		return lokiResult{vec: vec}, nil
	}
	return lokiResult{}, fmt.Errorf("unexpected result type %q: %s", r.Data.ResultType, body)
}

func sameValue(a, b float64) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return a == b
	}
	d := math.Abs(a - b)
	return d <= confAbsTol || d <= confRelTol*math.Max(math.Abs(a), math.Abs(b))
}

// compare returns the differences between Loki's vector and the engine's.
// topk/bottomk may pick any of equal values: there the values are
// compared as sorted lists.
func compare(expr string, want, got series.Vector) []string {
	var out []string
	if strings.Contains(expr, "topk") || strings.Contains(expr, "bottomk") {
		wv, gv := values(want), values(got)
		if len(wv) != len(gv) {
			return []string{fmt.Sprintf("Loki returned %d samples, engine %d: %v vs %v", len(wv), len(gv), want, got)}
		}
		for i := range wv {
			if !sameValue(wv[i], gv[i]) {
				return []string{fmt.Sprintf("values differ: Loki %v, engine %v", wv, gv)}
			}
		}
		return nil
	}
	wm := map[string]series.Point{}
	for _, p := range want {
		wm[p.Labels.Key()] = p
	}
	gm := map[string]series.Point{}
	for _, p := range got {
		gm[p.Labels.Key()] = p
	}
	for _, w := range want {
		g, ok := gm[w.Labels.Key()]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("only in Loki: %s = %v", w.Labels, w.V))
		case !sameValue(w.V, g.V):
			out = append(out, fmt.Sprintf("%s: Loki %v, engine %v", w.Labels, w.V, g.V))
		case w.T != g.T:
			out = append(out, fmt.Sprintf("%s: Loki t=%d, engine t=%d", w.Labels, w.T, g.T))
		}
	}
	for _, g := range got {
		if _, ok := wm[g.Labels.Key()]; !ok {
			out = append(out, fmt.Sprintf("only in the engine: %s = %v", g.Labels, g.V))
		}
	}
	sort.Strings(out)
	return out
}

func values(v series.Vector) []float64 {
	out := make([]float64, len(v))
	for i, p := range v {
		out[i] = p.V
	}
	sort.Float64s(out)
	return out
}

func TestConformance(t *testing.T) {
	corpus := loadCorpus(t)
	if *conformanceRun != "" {
		re := regexp.MustCompile(*conformanceRun)
		var keep []corpusQuery
		for _, q := range corpus {
			if re.MatchString(q.Expr) {
				keep = append(keep, q)
			}
		}
		corpus = keep
	}
	loki := realserver.StartLokiWith(t, confLokiOptions())
	// Loki refuses lines too far in the future and, past
	// query_ingesters_within (3h), reads only flushed chunks: the data
	// ends a few minutes before now.
	start := time.Now().UTC().Truncate(time.Minute).Add(-confSpan - 5*time.Minute)
	gen := generateStreams(start)

	st := logstream.NewStore()
	var streams []lokiproto.Stream
	total := 0
	for _, gs := range gen {
		ps := lokiproto.Stream{Labels: streamSelector(gs.Labels)}
		for _, e := range gs.Entries {
			ps.Entries = append(ps.Entries, lokiproto.Entry{Timestamp: e.T, Line: e.Line})
			if err := st.Append(gs.Labels, logstream.Entry{T: e.T, Line: e.Line}); err != nil {
				t.Fatal(err)
			}
			total++
		}
		streams = append(streams, ps)
	}
	pc, err := lokipush.New(lokipush.Options{URL: loki.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := pc.Push(ctx, streams); err != nil {
		t.Fatalf("push: %v\n%s", err, loki.Log())
	}
	lc := &lokiClient{url: loki.URL, hc: &http.Client{Timeout: time.Minute}}
	// wait until Loki answers with every line
	check := fmt.Sprintf(`sum(count_over_time({job=~".+"}[%s]))`, confSpan+time.Minute)
	deadline := time.Now().Add(time.Minute)
	for {
		r, err := lc.query(ctx, check, start.Add(confSpan+30*time.Second))
		if err == nil && r.refuse == "" && len(r.vec) == 1 && int(r.vec[0].V) == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Loki did not return the %d pushed lines within a minute: %+v %v", total, r, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	eng := lqlengine.New(st)

	type job struct {
		q  corpusQuery
		at time.Duration
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var report []string
	disagreements, refusedBoth, evals, nonEmpty := 0, 0, 0, 0
	var lokiTime, engTime time.Duration
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				at := start.Add(j.at)
				t0 := time.Now()
				lr, err := lc.query(ctx, j.q.Expr, at)
				if err != nil {
					t.Errorf("queries.txt:%d %s at +%s: %v", j.q.Line, j.q.Expr, j.at, err)
					continue
				}
				t1 := time.Now()
				got, gerr := eng.QueryVector(ctx, j.q.Expr, at)
				t2 := time.Now()
				var diffs []string
				var ue *lqlengine.UnsupportedError
				switch {
				case errors.As(gerr, &ue):
					diffs = []string{"engine: " + gerr.Error()}
				case lr.refuse != "" && gerr == nil:
					diffs = []string{fmt.Sprintf("Loki refuses (%s), the engine answers %v", lr.refuse, got)}
				case lr.refuse == "" && gerr != nil:
					diffs = []string{fmt.Sprintf("Loki answers %v, the engine refuses: %v", lr.vec, gerr)}
				case lr.refuse == "":
					diffs = compare(j.q.Expr, lr.vec, got)
				}
				mu.Lock()
				lokiTime += t1.Sub(t0)
				engTime += t2.Sub(t1)
				evals++
				if lr.refuse != "" && gerr != nil {
					refusedBoth++
				}
				if len(lr.vec) > 0 {
					nonEmpty++
				}
				if len(diffs) > 0 {
					disagreements++
					if len(diffs) > 5 {
						diffs = append(diffs[:5], fmt.Sprintf("... %d more", len(diffs)-5))
					}
					report = append(report, fmt.Sprintf("queries.txt:%d %s at +%s:\n    %s", j.q.Line, j.q.Expr, j.at, strings.Join(diffs, "\n    ")))
				}
				mu.Unlock()
			}
		}()
	}
	for _, q := range corpus {
		for _, off := range confEvalOffsets() {
			jobs <- job{q, off}
		}
	}
	close(jobs)
	wg.Wait()
	// log queries: the lines of a 10-minute window, as expression tests
	// expect them
	logLines := 0
	for _, q := range confLogQueries {
		if *conformanceRun != "" && !regexp.MustCompile(*conformanceRun).MatchString(q) {
			continue
		}
		from, to := start.Add(20*time.Minute), start.Add(30*time.Minute)
		want, refuse, err := lc.logs(ctx, q, from, to, 5000)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		got, gerr := eng.QueryLogs(ctx, q, from, to, 5000)
		evals++
		switch {
		case refuse != "" || gerr != nil:
			if (refuse != "") != (gerr != nil) {
				disagreements++
				report = append(report, fmt.Sprintf("log query %s: Loki %q, engine %v", q, refuse, gerr))
			}
		default:
			w, g := flattenLogs(want), flattenLogs(got)
			logLines += len(w)
			if strings.Join(w, "\n") != strings.Join(g, "\n") {
				disagreements++
				report = append(report, fmt.Sprintf("log query %s: Loki %d lines, engine %d; first Loki %v, first engine %v", q, len(w), len(g), first(w), first(g)))
			}
		}
	}
	sort.Strings(report)
	t.Logf("log queries: %d, %d lines compared", len(confLogQueries), logLines)
	t.Logf("%d queries × %d instants = %d evaluations over %d lines: %d disagreements, %d refused by both, %d non-empty Loki answers",
		len(corpus), len(confEvalOffsets()), evals, total, disagreements, refusedBoth, nonEmpty)
	t.Logf("time answering: Loki %s (HTTP on loopback), engine %s: %.1f× faster", lokiTime.Round(time.Millisecond),
		engTime.Round(time.Millisecond), float64(lokiTime)/float64(max(engTime, time.Microsecond)))
	if *conformanceReport != "" {
		if err := os.WriteFile(*conformanceReport, []byte(strings.Join(report, "\n")+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
	if disagreements > 0 {
		show := report
		if len(show) > 40 {
			show = show[:40]
		}
		t.Errorf("%d disagreements with Loki v3.7.8:\n%s", disagreements, strings.Join(show, "\n"))
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return s[0]
}

package mqlengine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/series"
)

// TestCasesAgainstVictoriaMetrics loads every case file without staleness
// markers (the JSON import cannot carry them) into a real VictoriaMetrics
// v1.150.0 and checks that it answers each eval as the engine does, so the
// expected results in testdata/engine are VictoriaMetrics' own. Skipped
// under -short.
func TestCasesAgainstVictoriaMetrics(t *testing.T) {
	for _, cf := range caseFiles(t) {
		if slices.ContainsFunc(cf.loads, func(lb loadBlock) bool {
			return slices.ContainsFunc(lb.series, func(s string) bool { return strings.Contains(s, " stale") })
		}) {
			continue
		}
		t.Run(cf.path, func(t *testing.T) {
			var flags []string
			if cf.maxStaleness > 0 {
				flags = append(flags, "-search.maxStalenessInterval="+cf.maxStaleness.String())
			}
			if cf.minStaleness > 0 {
				flags = append(flags, "-search.minStalenessInterval="+cf.minStaleness.String())
			}
			vm := realserver.StartVictoriaMetrics(t, flags...)
			st := cf.store(t)
			if err := vmImport(vm.URL, st); err != nil {
				t.Fatal(err)
			}
			e, err := New(st, Options{MaxStalenessInterval: cf.maxStaleness, MinStalenessInterval: cf.minStaleness})
			if err != nil {
				t.Fatal(err)
			}
			compared, nonEmpty := 0, 0
			defer func() {
				t.Logf("compared %d evals with VictoriaMetrics, %d with non-empty results", compared, nonEmpty)
			}()
			for _, eb := range cf.evals {
				if strings.Contains(eb.query, "now()") {
					continue
				}
				ts := base.Add(eb.at)
				want, werr := vmQuery(vm.URL, eb.query, ts, eb.step)
				got, gerr := e.Query(context.Background(), eb.query, ts, eb.step)
				var ue *UnsupportedError
				switch {
				case gerr != nil && asUnsupported(gerr, &ue):
					continue
				case werr != nil || gerr != nil:
					if (werr == nil) != (gerr == nil) {
						t.Errorf("%s:%d: %s: VictoriaMetrics error %v, engine error %v", cf.path, eb.line, eb.query, werr, gerr)
					}
					continue
				}
				compared++
				if len(want) > 0 {
					nonEmpty++
				}
				if g, w := resultLines(got, nil), resultLines(want, nil); !sameLines(g, w) {
					t.Errorf("%s:%d: %s at %s step %s:\n engine %q\n     VM %q", cf.path, eb.line, eb.query, eb.at, eb.step, g, w)
				}
			}
		})
	}
}

func asUnsupported(err error, ue **UnsupportedError) bool {
	for err != nil {
		if u, ok := err.(*UnsupportedError); ok {
			*ue = u
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func vmImport(base string, st *series.Store) error {
	var body bytes.Buffer
	for _, s := range st.Select(nil, math.MinInt64, math.MaxInt64) {
		line := struct {
			Metric     map[string]string `json:"metric"`
			Values     []float64         `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}{Metric: s.Labels.Map()}
		for _, smp := range s.Samples {
			line.Values = append(line.Values, smp.V)
			line.Timestamps = append(line.Timestamps, smp.T)
		}
		b, err := json.Marshal(line)
		if err != nil {
			return fmt.Errorf("encode %s: %w", s.Labels, err)
		}
		body.Write(b)
		body.WriteByte('\n')
	}
	resp, err := http.Post(base+"/api/v1/import", "application/json", &body)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("import: status %s", resp.Status)
	}
	resp, err = http.Get(base + "/internal/force_flush")
	if err != nil {
		return fmt.Errorf("force flush: %w", err)
	}
	resp.Body.Close()
	return nil
}

func vmQuery(base, q string, ts time.Time, step time.Duration) (series.Vector, error) {
	v := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(ts.UnixMilli())/1e3, 'f', 3, 64)}, "nocache": {"1"}}
	if step > 0 {
		v.Set("step", strconv.FormatInt(step.Milliseconds(), 10)+"ms")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s: %s", resp.Status, body)
	}
	var r struct {
		Data struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", body, err)
	}
	if r.Data.ResultType != "vector" && r.Data.ResultType != "scalar" {
		return nil, fmt.Errorf("result type %q", r.Data.ResultType)
	}
	var out series.Vector
	for _, p := range r.Data.Result {
		s, _ := p.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %w", p.Value[1], err)
		}
		out = append(out, series.Point{Labels: series.FromMap(p.Metric), T: ts.UnixMilli(), V: f})
	}
	out.Sort()
	return out, nil
}

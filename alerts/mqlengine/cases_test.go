package mqlengine

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

var update = flag.Bool("update", false, "rewrite the expected results in testdata/engine/*.txt")

// A case file holds "load <interval>" blocks of series (one value per
// interval from base; "_" is a gap, "stale" a staleness marker) and
// "eval <at> [step=<d>] <query>" blocks followed by the expected result,
// one "labels value" line each, or "error: <substring>".
type caseFile struct {
	path string
	// maxStaleness is set by "option max_staleness <d>": Options.MaxStalenessInterval
	// here, -search.maxStalenessInterval for VictoriaMetrics.
	maxStaleness time.Duration
	// minStaleness is set by "option min_staleness <d>".
	minStaleness time.Duration
	lines        []string
	loads        []loadBlock
	evals        []evalBlock
}

type loadBlock struct {
	interval time.Duration
	series   []string
}

type evalBlock struct {
	line      int // 1-based line of the eval directive
	at, step  time.Duration
	query     string
	want      []string
	wantStart int // index in lines of the first expected line
	wantEnd   int
}

func parseCaseFile(path string, data []byte) (*caseFile, error) {
	cf := &caseFile{path: path}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		cf.lines = append(cf.lines, sc.Text())
	}
	for i := 0; i < len(cf.lines); i++ {
		l := cf.lines[i]
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		pos := fmt.Sprintf("%s:%d", path, i+1)
		switch {
		case strings.HasPrefix(t, "option max_staleness "):
			d, err := time.ParseDuration(strings.TrimPrefix(t, "option max_staleness "))
			if err != nil {
				return nil, fmt.Errorf("%s: bad max_staleness: %w", pos, err)
			}
			cf.maxStaleness = d
		case strings.HasPrefix(t, "option min_staleness "):
			d, err := time.ParseDuration(strings.TrimPrefix(t, "option min_staleness "))
			if err != nil {
				return nil, fmt.Errorf("%s: bad min_staleness: %w", pos, err)
			}
			cf.minStaleness = d
		case strings.HasPrefix(t, "load "):
			d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(t, "load ")))
			if err != nil {
				return nil, fmt.Errorf("%s: bad load interval: %w", pos, err)
			}
			lb := loadBlock{interval: d}
			for i+1 < len(cf.lines) && strings.HasPrefix(cf.lines[i+1], "  ") {
				i++
				lb.series = append(lb.series, strings.TrimSpace(cf.lines[i]))
			}
			cf.loads = append(cf.loads, lb)
		case strings.HasPrefix(t, "eval "):
			atStr, rest, _ := strings.Cut(strings.TrimPrefix(t, "eval "), " ")
			at, err := time.ParseDuration(atStr)
			if err != nil {
				return nil, fmt.Errorf("%s: bad eval time: %w", pos, err)
			}
			eb := evalBlock{line: i + 1, at: at}
			if s, ok := strings.CutPrefix(rest, "step="); ok {
				stepStr, q, _ := strings.Cut(s, " ")
				if eb.step, err = time.ParseDuration(stepStr); err != nil {
					return nil, fmt.Errorf("%s: bad step: %w", pos, err)
				}
				rest = q
			}
			eb.query = strings.TrimSpace(rest)
			if eb.query == "" {
				return nil, fmt.Errorf("%s: want eval <at> [step=<d>] <query>", pos)
			}
			eb.wantStart = i + 1
			for i+1 < len(cf.lines) && strings.HasPrefix(cf.lines[i+1], "  ") {
				i++
				eb.want = append(eb.want, strings.TrimSpace(cf.lines[i]))
			}
			eb.wantEnd = i + 1
			cf.evals = append(cf.evals, eb)
		default:
			return nil, fmt.Errorf("%s: unexpected line %q", pos, t)
		}
	}
	return cf, nil
}

func (cf *caseFile) store(t testing.TB) *series.Store {
	st := series.NewStore()
	for _, lb := range cf.loads {
		for _, s := range lb.series {
			sel, vals, ok := strings.Cut(s, " ")
			if !ok {
				t.Fatalf("%s: bad series line %q", cf.path, s)
			}
			ls := parseLabels(t, sel)
			for i, f := range strings.Fields(vals) {
				if f == "_" {
					continue
				}
				v := series.StaleNaN
				if f != "stale" {
					var err error
					if v, err = parseFloat(f); err != nil {
						t.Fatalf("%s: bad value %q", cf.path, f)
					}
				}
				if err := st.Append(ls, base.Add(time.Duration(i)*lb.interval).UnixMilli(), v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return st
}

func resultLines(v series.Vector, err error) []string {
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	out := make([]string, 0, len(v))
	for _, p := range v {
		out = append(out, strings.ReplaceAll(p.Labels.String(), " ", "")+" "+formatFloat(p.V))
	}
	return out
}

func sameLines(got, want []string) bool {
	if len(want) == 1 && strings.HasPrefix(want[0], "error: ") {
		return len(got) == 1 && strings.HasPrefix(got[0], "error: ") &&
			strings.Contains(got[0], strings.TrimPrefix(want[0], "error: "))
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !sameResult(got[i], want[i]) {
			return false
		}
	}
	return true
}

func caseFiles(t testing.TB) []*caseFile {
	paths, err := filepath.Glob("testdata/engine/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no case files: %v", err)
	}
	var out []*caseFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := parseCaseFile(p, data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cf)
	}
	return out
}

func TestCases(t *testing.T) {
	for _, cf := range caseFiles(t) {
		e, err := New(cf.store(t), Options{Now: func() time.Time { return base }, MaxStalenessInterval: cf.maxStaleness, MinStalenessInterval: cf.minStaleness})
		if err != nil {
			t.Fatal(err)
		}
		changed := false
		// Walk evals backwards so rewriting keeps earlier indexes valid.
		for i := len(cf.evals) - 1; i >= 0; i-- {
			eb := cf.evals[i]
			got := resultLines(e.Query(context.Background(), eb.query, base.Add(eb.at), eb.step))
			if sameLines(got, eb.want) {
				continue
			}
			if *update {
				repl := make([]string, len(got))
				for j, g := range got {
					repl[j] = "  " + g
				}
				cf.lines = append(cf.lines[:eb.wantStart], append(repl, cf.lines[eb.wantEnd:]...)...)
				changed = true
				continue
			}
			t.Errorf("%s:%d: %s at %s step %s:\n got %q\nwant %q", cf.path, eb.line, eb.query, eb.at, eb.step, got, eb.want)
		}
		if changed {
			if err := os.WriteFile(cf.path, []byte(strings.Join(cf.lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

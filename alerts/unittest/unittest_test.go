package unittest

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/series"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testOptions() Options {
	return Options{
		NewEngine: func(st *series.Store) (Engine, error) {
			return mqlengine.New(st, mqlengine.Options{})
		},
		ParseTemplate: rule.VMTemplates,
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func globT(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	return files
}

// TestBadFiles: each bad file's errors (all of them, with positions) are
// in its golden .err file, and Run does not pass it: the metric test files
// (testdata/bad) are unusable as a whole; of the log test files
// (testdata/streams/bad), a broken test expression fails only its test.
func TestBadFiles(t *testing.T) {
	for _, suite := range []struct {
		glob         string
		wantUnusable bool
	}{
		{"testdata/bad/*.yaml", true},
		{"testdata/streams/bad/*.bad.yaml", false},
	} {
		for _, f := range globT(t, suite.glob) {
			t.Run(filepath.Base(f), func(t *testing.T) {
				errs := Check(f)
				if len(errs) == 0 {
					t.Fatal("Check found no error")
				}
				var b strings.Builder
				for _, e := range errs {
					b.WriteString(e.Error())
					b.WriteByte('\n')
				}
				golden(t, strings.TrimSuffix(f, ".yaml")+".err", b.String())
				res, err := Run(context.Background(), []string{f}, testOptions())
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case suite.wantUnusable && len(res[0].Errs) == 0:
					t.Fatalf("Run did not call %s unusable", f)
				case !failed(res[0]):
					t.Fatalf("Run passed %s", f)
				}
			})
		}
	}
}

// TestRun runs the passing and failing suites — metric and log ones, and
// the documented examples of the lokitool rules test format, unchanged;
// the report of each failing file is in its golden .out file. The README's
// quick start and example 1 of that format expect one series {job="app"}
// from count_over_time(... | json | level="error" [5m]); Loki keeps the
// labels json extracts (one series per level/msg/duration set), so they
// fail, with a diff that shows why.
func TestRun(t *testing.T) {
	pass := append(globT(t, "testdata/pass/*.yaml"), globT(t, "testdata/promtool/*.yaml")...)
	pass = append(pass, globT(t, "testdata/streams/pass/*.yaml")...)
	pass = append(pass, globT(t, "testdata/lokitool/*.test.yml")...)
	for _, f := range pass {
		t.Run(f, func(t *testing.T) {
			if errs := Check(f); len(errs) > 0 {
				t.Fatalf("Check: %v", errs)
			}
			res, err := Run(context.Background(), []string{f}, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if failed(res[0]) {
				var b bytes.Buffer
				WriteText(&b, res)
				t.Fatalf("failed:\n%s", b.String())
			}
		})
	}
	fail := append(globT(t, "testdata/fail/*.yaml"), globT(t, "testdata/streams/fail/*.yaml")...)
	fail = append(fail, globT(t, "testdata/lokitool/*.fail.yml")...)
	for _, f := range fail {
		t.Run(f, func(t *testing.T) {
			res, err := Run(context.Background(), []string{f}, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if !failed(res[0]) || len(res[0].Errs) > 0 {
				t.Fatalf("want test failures, got %+v", res[0])
			}
			var b bytes.Buffer
			WriteText(&b, res)
			golden(t, strings.TrimSuffix(strings.TrimSuffix(f, ".yaml"), ".yml")+".out", b.String())
		})
	}
}

func TestRunSelectsAndReportsJUnit(t *testing.T) {
	opts := testOptions()
	opts.Run = regexpMust(t, "^passes$")
	res, err := Run(context.Background(), []string{"testdata/fail/wrong-alert.yaml"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res)
	if s.Tests != 1 || s.Skipped != 1 || s.Failed != 0 {
		t.Fatalf("summary %+v, want 1 test run, 1 skipped, none failed", s)
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testsuite name="testdata/fail/wrong-alert.yaml" tests="2" failures="0" errors="0" skipped="1"`, `<testcase name="passes"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("junit report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestDiscover(t *testing.T) {
	files, err := Discover([]string{"testdata"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if filepath.Base(f) == "rules.yaml" {
			t.Errorf("rule file %s taken as a test file", f)
		}
	}
	if len(files) < 8 {
		t.Errorf("found only %v", files)
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		yaml string
		want Format
	}{
		{"tests: [{alert_rule_test: [{eval_time: 1m, alertname: A, groupname: g}]}]", VMAlertTool},
		{"tests: [{alert_rule_test: [{eval_time: 1m, alertname: A}]}]", Promtool},
		{"tests: [{alert_rule_test: [{eval_time: 1m, alertname: A}], metricsql_expr_test: []}]", VMAlertTool},
		{"tests: [{promql_expr_test: []}]", Promtool},
		{"fuzzy_compare: true\ntests: []", Promtool},
		{"tests: []", VMAlertTool},
		// lokitool: log inputs and no vmalert-tool or promtool keys
		{"tests: [{input_streams: [], logql_expr_test: []}]", Lokitool},
		{"tests: [{input_streams: [], external_url: 'https://x', alert_rule_test: [{eval_time: 1m, alertname: A}]}]", Lokitool},
		{"tests: [{input_streams: [], input_series: []}]", VMAlertTool},
		{"tests: [{input_streams: [], input_series: [], alert_rule_test: [{eval_time: 1m, alertname: A}]}]", Promtool},
		{"tests: [{input_streams: [], alert_rule_test: [{eval_time: 1m, alertname: A, groupname: g}]}]", VMAlertTool},
		{"tests: [{logql_expr_test: [], promql_expr_test: []}]", Promtool},
	}
	for _, tc := range tests {
		f, errs := Decode("x.yaml", []byte("rule_files: [r.yaml]\n"+tc.yaml))
		if len(errs) > 0 {
			t.Errorf("%s: %v", tc.yaml, errs)
			continue
		}
		if f.Format != tc.want {
			t.Errorf("%s: got %s, want %s", tc.yaml, f.Format, tc.want)
		}
	}
}

func regexpMust(t *testing.T, s string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

// FuzzDecode: the test file decoder never panics, and every error it
// returns for bad input names a position.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"pass", "fail", "bad", "promtool"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, errs := Decode("f.yaml", data)
		for _, e := range errs {
			if !strings.HasPrefix(e.Error(), "f.yaml") {
				t.Fatalf("error without position: %v", e)
			}
		}
	})
}

// TestCheckExpr: Check reports a bad query expression at its entry; Run
// reports it as a failure of that check.
func TestCheckExpr(t *testing.T) {
	const f = "testdata/check/bad-expr.yaml"
	errs := Check(f)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), f+":7:9: expr: ") {
		t.Fatalf("Check: %v", errs)
	}
	res, err := Run(context.Background(), []string{f}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].Errs) > 0 || len(res[0].Tests) != 1 || len(res[0].Tests[0].Failures) != 1 {
		t.Fatalf("Run: %+v", res[0])
	}
	if p := res[0].Tests[0].Failures[0].Pos; p.Line != 7 {
		t.Fatalf("failure at %s, want line 7", p)
	}
}

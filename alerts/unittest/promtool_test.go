package unittest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/rulefmt"
)

// verdict is the outcome of a test file: pass, fail or (hlalert only)
// unusable.
type verdict struct {
	file, promtool, hlalert, why string
}

// readVerdicts reads testdata/promtool-verdicts.txt: file, promtool's
// verdict, hlalert's verdict and, where they differ, why.
func readVerdicts(t *testing.T) []verdict {
	t.Helper()
	fh, err := os.Open("testdata/promtool-verdicts.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []verdict
	sc := bufio.NewScanner(fh)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fs := strings.Fields(text)
		if len(fs) < 3 {
			t.Fatalf("promtool-verdicts.txt:%d: want file, promtool verdict, hlalert verdict [, why]", line)
		}
		v := verdict{file: filepath.Join("testdata", fs[0]), promtool: fs[1], hlalert: fs[2], why: strings.Join(fs[3:], " ")}
		if !sameVerdict(v.promtool, v.hlalert) != (v.why != "") {
			t.Fatalf("promtool-verdicts.txt:%d: say why exactly when the verdicts differ (promtool - means not run)", line)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameVerdict tells whether promtool's and hlalert's verdicts agree: a
// file hlalert calls unusable is one promtool fails.
func sameVerdict(promtool, hlalert string) bool {
	return promtool == hlalert || promtool == "fail" && hlalert == "unusable"
}

func hlalertVerdict(r FileResult) string {
	switch {
	case len(r.Errs) > 0:
		return "unusable"
	case failed(r):
		return "fail"
	}
	return "pass"
}

// TestPromtoolFiles runs the promtool constructs hlalert takes (missing
// eval_time, null or missing values, no rule_files, a ten-million-value
// run), those it fails on purpose and those it refuses, and requires the
// verdict recorded beside promtool's; failure reports and errors are in
// golden .out and .err files.
func TestPromtoolFiles(t *testing.T) {
	verdicts := readVerdicts(t)
	listed := map[string]bool{}
	for _, v := range verdicts {
		listed[v.file] = true
		t.Run(v.file, func(t *testing.T) {
			res, err := Run(context.Background(), []string{v.file}, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Format != Promtool {
				t.Errorf("read as %s, want promtool", res[0].Format)
			}
			var b bytes.Buffer
			WriteText(&b, res)
			if got := hlalertVerdict(res[0]); got != v.hlalert {
				t.Fatalf("verdict %s, recorded %s:\n%s", got, v.hlalert, b.String())
			}
			switch v.hlalert {
			case "fail":
				golden(t, strings.TrimSuffix(v.file, ".yaml")+".out", b.String())
			case "unusable":
				var e strings.Builder
				for _, err := range Check(v.file) {
					e.WriteString(err.Error())
					e.WriteByte('\n')
				}
				golden(t, strings.TrimSuffix(v.file, ".yaml")+".err", e.String())
			}
		})
	}
	for _, dir := range []string{"promtool", "promtool-fail", "promtool-bad"} {
		for _, f := range globT(t, filepath.Join("testdata", dir, "*.yaml")) {
			if !listed[f] {
				t.Errorf("%s has no verdict in testdata/promtool-verdicts.txt", f)
			}
		}
	}
}

// promtool's reading of the value notation where it differs from
// vmalert-tool's.
func TestParseRunsPromtool(t *testing.T) {
	tests := []struct {
		in   string
		want []seqValue
	}{
		{"", nil},
		{"   ", nil},
		{"_x0 1", seq(1)},
		{"_x2 1", seq("_", "_", 1)},
		{"stalex2", seq(stale, stale, stale)},
		{"0.1+0.1x3", seq(0.1, 0.2, 0.30000000000000004, 0.4)}, // added one by one, not multiplied
		{"1-0.1x2", seq(1, 0.9, 0.8)},
	}
	for _, tc := range tests {
		runs, err := ParseRuns(tc.in, Promtool)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := expand(runs); !sameValues(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
		}
	}
	// A long accumulating run: any value equals the sum done one by one.
	runs, err := ParseRuns("0.1+0.1x100000", Promtool)
	if err != nil || len(runs) != 1 {
		t.Fatalf("got %v, %v", runs, err)
	}
	v := 0.1
	for i := range int64(100_001) {
		if got := runs[0].At(i); got != v {
			t.Fatalf("value %d: got %v, want %v", i, got, v)
		}
		v += 0.1
	}
	// vmalert-tool multiplies.
	runs, _ = ParseRuns("0.1+0.1x3", VMAlertTool)
	if got := runs[0].At(2); got != 0.30000000000000004 {
		t.Errorf("vmalert-tool 0.1+0.1x3: got %v at 2, want 0.30000000000000004", got)
	}
}

// TestVerdictsMatchPromtool runs promtool (Prometheus v3.16) on the files
// of testdata/promtool-verdicts.txt and requires the verdict recorded
// there; with TestPromtoolFiles, which pins hlalert's, this compares both
// tools file by file, and every difference has its reason recorded.
// Skipped under -short.
func TestVerdictsMatchPromtool(t *testing.T) {
	bin := realserver.BuildT(t, realserver.PromtoolTool())
	agree, differ := 0, 0
	for _, v := range readVerdicts(t) {
		if v.promtool == "-" {
			continue
		}
		t.Run(v.file, func(t *testing.T) {
			got, out := runPromtool(t, bin, v.file)
			if got != v.promtool {
				t.Fatalf("promtool: %s, recorded %s:\n%s", got, v.promtool, out)
			}
			res, rerr := Run(context.Background(), []string{v.file}, testOptions())
			if rerr != nil {
				t.Fatal(rerr)
			}
			if hl := hlalertVerdict(res[0]); sameVerdict(got, hl) {
				agree++
			} else {
				differ++
				t.Logf("promtool %s, hlalert %s: %s", got, hl, v.why)
			}
		})
	}
	t.Logf("promtool and hlalert agree on %d files, differ on %d (each with its recorded reason)", agree, differ)
}

// promtoolTestdata finds promtool's own test files in the module cache
// through the tools module that builds promtool.
func promtoolTestdata(t *testing.T) string {
	t.Helper()
	mod, err := realserver.ToolsModule()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus")
	cmd.Dir = filepath.Join(mod, realserver.PromtoolTool().Module)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("locate the Prometheus module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "cmd", "promtool", "testdata")
}

// runPromtool returns promtool's verdict on a test file: pass or fail.
func runPromtool(t *testing.T, bin, file string) (string, string) {
	t.Helper()
	// promtool takes about 20 s of CPU and 3.7 GB for long-run.yaml.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "test", "rules", file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("promtool timed out on %s:\n%s", file, out.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run promtool: %v", err)
	}
	if err != nil {
		return "fail", out.String()
	}
	return "pass", out.String()
}

// TestVerdictsOnPromtoolTestdata runs promtool and hlalert on promtool's
// own test files (Prometheus v0.316.0, cmd/promtool/testdata) and pins
// both verdicts, file by file, in testdata/promtool-own-verdicts.txt
// (-update rewrites it): a change on either side shows. Skipped under
// -short.
func TestVerdictsOnPromtoolTestdata(t *testing.T) {
	bin := realserver.BuildT(t, realserver.PromtoolTool())
	dir := promtoolTestdata(t)
	files, err := Discover([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("# promtool's own test files (Prometheus v0.316.0, cmd/promtool/testdata):\n# file, promtool's verdict, hlalert's. TestVerdictsOnPromtoolTestdata -update rewrites it.\n")
	agree := 0
	for _, f := range files {
		pv, _ := runPromtool(t, bin, f)
		res, err := Run(context.Background(), []string{f}, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		hv := hlalertVerdict(res[0])
		if sameVerdict(pv, hv) {
			agree++
		}
		fmt.Fprintf(&b, "%-36s %-8s %s\n", filepath.Base(f), pv, hv)
	}
	fmt.Fprintf(&b, "# agree on %d of %d files (unusable counts as fail)\n", agree, len(files))
	t.Logf("promtool and hlalert agree on %d of %d of promtool's own test files", agree, len(files))
	golden(t, "testdata/promtool-own-verdicts.txt", b.String())
}

// What depends on a same-group read, through other recording rules and
// groups too.
func TestSameGroupCauses(t *testing.T) {
	const rules = `groups:
  - name: a
    rules:
      - record: x:double
        expr: x * 2
      - record: x:quad
        expr: x:double * 2
      - alert: Direct
        expr: x:double > 1
      - alert: Fresh
        expr: x > 1
  - name: b
    rules:
      - alert: Indirect
        expr: x:oct > 1
      - record: x:oct
        expr: x:quad * 2
      - alert: Clean
        expr: x:double > 1
`
	f, errs := rulefmt.LoadTyped("r.yaml", []byte(rules), rulefmt.TypeMetricsQL)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	records, alerts := sameGroupCauses([]*rulefmt.File{f})
	var got []string
	for _, name := range []string{"x:double", "x:quad", "x:oct"} {
		if s, ok := records[name]; ok {
			got = append(got, name+"<-"+s.Reader.Name())
		}
	}
	for _, name := range []string{"Direct", "Fresh", "Indirect", "Clean"} {
		if s, ok := alerts[name]; ok {
			got = append(got, name+"<-"+s.Reader.Name())
		}
	}
	want := []string{"x:quad<-x:quad", "x:oct<-x:quad", "Direct<-Direct", "Indirect<-x:quad"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}

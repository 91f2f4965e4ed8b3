package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testCLICase is one run of `hlalert test`: its arguments, the exit code
// and lines its stdout and stderr must contain.
type testCLICase struct {
	name      string
	args      []string
	code      int
	stdoutHas []string
	stderrHas []string
}

func runTestCLICases(t *testing.T, tests []testCLICase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"test"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			for _, s := range tc.stdoutHas {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

// TestTestCLI drives `hlalert test` as a user would and checks exit codes
// and the essential lines of its output.
func TestTestCLI(t *testing.T) {
	const td = "../../alerts/unittest/testdata"
	tests := []testCLICase{
		{name: "shipped rules pass", args: []string{"../../rules"}, code: exitOK,
			stdoutHas: []string{"ok    ../../rules/backup.test.yml", "ok    ../../rules/journal.test.yml", "PASS:"}},
		{name: "a failing file fails and shows where", args: []string{td + "/fail/wrong-alert.yaml"}, code: exitFail,
			stdoutHas: []string{"FAIL  " + td + "/fail/wrong-alert.yaml", "--- FAIL " + td + "/fail/wrong-alert.yaml:", "FAIL:"}},
		{name: "every file runs: a failure does not stop the others", args: []string{td + "/fail/wrong-alert.yaml", "../../rules/nvr.test.yml"}, code: exitFail,
			stdoutHas: []string{"FAIL  " + td + "/fail/wrong-alert.yaml", "ok    ../../rules/nvr.test.yml"}},
		{name: "unusable input exits 2", args: []string{td + "/bad/values.yaml"}, code: exitUsage,
			stdoutHas: []string{td + "/bad/values.yaml:"}},
		{name: "--run selects tests", args: []string{"--run", "^storage above", "../../rules/nvr.test.yml"}, code: exitOK,
			stdoutHas: []string{"1 tests"}},
		{name: "a wrong LogQL expectation fails with a diff", args: []string{td + "/streams/fail/wrong.yaml"}, code: exitFail,
			stdoutHas: []string{td + "/streams/fail/wrong.yaml:17:9: logql_expr_test", "+ {host=\"nas\", job=\"systemd-journal\", unit=\"sshd.service\"} 15   (got, not expected)"}},
		{name: "bad stream labels exit 2 with their column", args: []string{td + "/streams/bad/labels.bad.yaml"}, code: exitUsage,
			stdoutHas: []string{td + "/streams/bad/labels.bad.yaml:5:22: labels: label job: a stream's labels take = only, not =~"}},
		{name: "lokitool files run unchanged", args: []string{"--run", "HTTP 5xx", td + "/lokitool"}, code: exitOK,
			stdoutHas: []string{"(lokitool, 1 tests)"}},
		{name: "missing path", args: []string{"no/such/dir"}, code: exitUsage},
		{name: "no args", args: nil, code: exitUsage, stderrHas: []string{"no test file or folder given"}},
		{name: "bad flag", args: []string{"--nope"}, code: exitUsage, stderrHas: []string{"flag provided but not defined: -nope"}},
	}
	runTestCLICases(t, tests)
}

func TestTestCLIJUnit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "junit.xml")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"test", "--junit", out, "../../rules/nvr.test.yml", "../../alerts/unittest/testdata/fail/wrong-alert.yaml"}, &stdout, &stderr)
	if code != exitFail {
		t.Fatalf("exit code %d, want %d\n%s%s", code, exitFail, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil {
		t.Fatalf("junit report is not XML: %v\n%s", err, data)
	}
	var tests, failures int
	for _, s := range suites.Suites {
		tests += s.Tests
		failures += s.Failures
	}
	if len(suites.Suites) != 2 || tests < 3 || failures < 1 {
		t.Fatalf("junit: %d suites, %d tests, %d failures:\n%s", len(suites.Suites), tests, failures, data)
	}
}

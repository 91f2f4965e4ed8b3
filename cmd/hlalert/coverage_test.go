package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTestCoverageCLI(t *testing.T) {
	const td = "../../alerts/unittest/testdata/coverage"
	tests := []testCLICase{
		{name: "shipped rules are fully covered", args: []string{"--coverage-min", "100", "../../rules"}, code: exitOK,
			stdoutHas: []string{"PASS:", "coverage: 100.0%"}},
		{name: "below the minimum fails", args: []string{"--coverage-min", "100", td + "/dir"}, code: exitFail,
			stdoutHas: []string{"PASS:", `alerting rule "Untested" (group "untested"): never fired in a test`, "loaded by no test file",
				"FAIL: coverage 50.0% is below --coverage-min 100%"}},
		{name: "at the minimum passes", args: []string{"--coverage-min", "50", td + "/dir"}, code: exitOK,
			stdoutHas: []string{"coverage: 50.0% (2/4): 1/2 alerting rules fired, 1/2 tested silent, 0/0 recording rules evaluated"}},
		{name: "a file given by name does not pull in its neighbours", args: []string{"--coverage", td + "/dir/pass.test.yaml"}, code: exitOK,
			stdoutHas: []string{"coverage: 100.0%"}},
		{name: "minimum above 100", args: []string{"--coverage-min", "101", td}, code: exitUsage,
			stderrHas: []string{"--coverage-min: want a percentage from 0 to 100, got 101"}},
	}
	runTestCLICases(t, tests)
}

func TestTestCoverageOut(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cov.json")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"test", "--coverage-out", out, "../../rules/nvr.test.yml"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Files []struct {
			Path          string `json:"path"`
			AlertingRules int    `json:"alerting_rules"`
		} `json:"files"`
		Percent float64 `json:"percent"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	if len(rep.Files) != 1 || rep.Files[0].Path != "../../rules/nvr.rules.yml" || rep.Files[0].AlertingRules == 0 {
		t.Errorf("coverage JSON: %s", data)
	}
	if !strings.Contains(stdout.String(), "coverage:") {
		t.Errorf("--coverage-out also prints the report:\n%s", stdout.String())
	}
}

// A rule file reached through different spellings of its path is one file.
func TestTestCoveragePathSpellings(t *testing.T) {
	abs, err := filepath.Abs("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"test", "--coverage-min", "100", abs + "/nvr.test.yml", "../../rules/./nvr.test.yml", "../../rules/../rules/nvr.test.yml"}, &stdout, &stderr)
	if strings.Count(stdout.String(), "nvr.rules.yml (") != 1 {
		t.Errorf("nvr.rules.yml is not reported once:\n%s", stdout.String())
	}
	if code != exitOK {
		t.Errorf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

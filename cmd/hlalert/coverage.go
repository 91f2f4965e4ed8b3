package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/unittest"
)

// coverageFlags are hlalert test's coverage options.
type coverageFlags struct {
	enabled bool
	out     string
	min     float64
}

func addCoverageFlags(fs *flag.FlagSet) *coverageFlags {
	c := &coverageFlags{min: -1}
	fs.BoolVar(&c.enabled, "coverage", false, "after the tests, report per rule file the alerts no test made fire, the alerts never tested as not firing (exp_alerts: []) and the recording rules no test evaluated")
	fs.StringVar(&c.out, "coverage-out", "", "also write the coverage report as JSON to this file (implies --coverage)")
	fs.Float64Var(&c.min, "coverage-min", -1, "fail (exit 1) when coverage is below this percentage, 0 to 100 (implies --coverage)")
	return c
}

func (c *coverageFlags) on() bool { return c.enabled || c.out != "" || c.min >= 0 }

func (c *coverageFlags) validate() error {
	if c.min > 100 || (c.min < 0 && c.min != -1) {
		return fmt.Errorf("--coverage-min: want a percentage from 0 to 100, got %g", c.min)
	}
	return nil
}

// report prints the coverage of results (and of the rule files found in
// paths that no test loads) and writes the JSON file. It returns exitFail
// when coverage is below the minimum, exitUsage when the JSON file cannot
// be written, and exitOK otherwise.
func (c *coverageFlags) report(results []unittest.FileResult, paths []string, stdout, stderr io.Writer) int {
	files, errs := ruleFilesIn(paths)
	for _, e := range errs {
		fmt.Fprintf(stderr, "hlalert test: coverage: %v\n", e)
	}
	rep := unittest.Coverage(results, files)
	rep.WriteText(stdout)
	if c.out != "" {
		var b bytes.Buffer
		if err := rep.WriteJSON(&b); err != nil {
			fmt.Fprintf(stderr, "hlalert test: --coverage-out: %v\n", err)
			return exitUsage
		}
		if err := os.WriteFile(c.out, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "hlalert test: --coverage-out: %v\n", err)
			return exitUsage
		}
	}
	if c.min >= 0 && rep.Percent < c.min {
		fmt.Fprintf(stdout, "FAIL: coverage %.1f%% is below --coverage-min %g%%\n", rep.Percent, c.min)
		return exitFail
	}
	return exitOK
}

// ruleFilesIn loads the rule files in the folders of paths, so that a
// rule file no test loads counts as uncovered.
func ruleFilesIn(paths []string) ([]*rulefmt.File, []error) {
	names, err := unittest.RuleFilesIn(paths)
	if err != nil {
		return nil, []error{err}
	}
	var out []*rulefmt.File
	var errs []error
	for _, n := range names {
		f, ferrs := rulefmt.LoadFile(n)
		if len(ferrs) > 0 {
			errs = append(errs, fmt.Errorf("rule file %s does not load (its rules are not counted): %w", n, ferrs[0]))
			continue
		}
		out = append(out, f)
	}
	return out, errs
}

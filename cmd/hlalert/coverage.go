package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

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

// ruleFilesIn loads the rule files (YAML with a top-level groups: key)
// in the folders of paths, so that a rule file no test loads counts as
// uncovered. Files named explicitly are test files and are skipped here.
func ruleFilesIn(paths []string) ([]*rulefmt.File, []error) {
	var out []*rulefmt.File
	var errs []error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !hasTopLevelKey(data, "groups") {
				return nil
			}
			f, ferrs := rulefmt.Load(path, data)
			if len(ferrs) > 0 {
				errs = append(errs, fmt.Errorf("rule file %s does not load (its rules are not counted): %w", path, ferrs[0]))
				return nil
			}
			out = append(out, f)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("walk %s: %w", p, err))
		}
	}
	return out, errs
}

// hasTopLevelKey tells whether YAML data is a mapping with key at its top.
func hasTopLevelKey(data []byte, key string) bool {
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, ok := top[key]
	return ok
}

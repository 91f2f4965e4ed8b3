package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/daemon"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/unittest"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// diag is one line of check's output.
type diag struct {
	pos      yamlnode.Pos
	severity string // "error" or "warning"
	msg      string
}

const (
	sevError   = "error"
	sevWarning = "warning"
)

// runCheck validates rule files and rule test files without running them.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("check", flag.ContinueOnError)
	fset.SetOutput(stderr)
	strict := fset.Bool("strict", false, "exit 1 on warnings too")
	runConfig := fset.String("config", "", "also validate this run config (of hlalert run): its keys, its notify section (routing file, e-mail configs, templates, hand-off, watchdog) and its rule files")
	evalInterval := fset.Duration("eval-interval", time.Minute, "evaluation interval of groups without their own `interval` (vmalert's -evaluationInterval)")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: hlalert check [flags] PATH...\n       hlalert check [flags] -config hlalert.yaml [PATH...]")
		fmt.Fprintln(stderr, "\nValidates rule files and rule test files (directories are walked for *.yml and *.yaml):")
		fmt.Fprintln(stderr, "MetricsQL syntax and support by the embedded engine, templates, names, durations, keys.")
		fmt.Fprintln(stderr, "Exit status: 0 clean or only warnings, 1 errors (or warnings with -strict), 2 usage errors.")
		fmt.Fprintln(stderr, "\nflags:")
		fset.PrintDefaults()
	}
	if code, done := parseFlags(fset, args, "", stderr); done {
		return code
	}
	if fset.NArg() == 0 && *runConfig == "" {
		fmt.Fprintln(stderr, "hlalert check: no PATH given")
		fset.Usage()
		return exitUsage
	}
	if *evalInterval <= 0 {
		fmt.Fprintf(stderr, "hlalert check: -eval-interval must be positive, got %s\n", *evalInterval)
		return exitUsage
	}

	paths0 := fset.Args()
	var cfgErrs []error
	if *runConfig != "" {
		globs, errs := checkRunConfig(*runConfig)
		cfgErrs = errs
		paths0 = append(paths0, globs...)
	}
	paths, usageErrs := collectPaths(paths0)
	for _, e := range usageErrs {
		fmt.Fprintf(stderr, "hlalert check: %v\n", e)
	}
	c := &checker{ctx: ctx, evalInterval: *evalInterval, engineCheck: mqlengine.Check, checked: map[string]bool{}}
	// Test files first: a lokitool test file's rule files have untyped
	// LogQL groups, which must not be checked as MetricsQL first.
	slices.SortStableFunc(paths, func(a, b string) int {
		ta, tb := isTestPath(a), isTestPath(b)
		switch {
		case ta && !tb:
			return -1
		case tb && !ta:
			return 1
		}
		return 0
	})
	for _, p := range paths {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "hlalert check: %v\n", ctx.Err())
			return exitFail
		}
		if err := c.checkPath(p); err != nil {
			fmt.Fprintf(stderr, "hlalert check: %v\n", err)
			usageErrs = append(usageErrs, err)
		}
	}
	for _, e := range rulefmt.CheckGroupNames(c.ruleFiles) {
		c.addErr(e)
	}
	c.checkMetricNames()

	slices.SortStableFunc(c.diags, func(a, b diag) int {
		if a.pos.File != b.pos.File {
			return strings.Compare(a.pos.File, b.pos.File)
		}
		if a.pos.Line != b.pos.Line {
			return a.pos.Line - b.pos.Line
		}
		return a.pos.Col - b.pos.Col
	})
	nErr, nWarn := 0, 0
	for _, e := range cfgErrs {
		fmt.Fprintf(stdout, "%s\n", configDiag(e))
		nErr++
	}
	for _, d := range c.diags {
		fmt.Fprintf(stdout, "%s: %s: %s\n", d.pos, d.severity, d.msg)
		if d.severity == sevError {
			nErr++
		} else {
			nWarn++
		}
	}
	fmt.Fprintf(stdout, "checked %s: %s, %s\n", plural(c.nFiles, "file"), plural(nErr, "error"), plural(nWarn, "warning"))
	switch {
	case len(usageErrs) > 0:
		return exitUsage
	case nErr > 0, *strict && nWarn > 0:
		return exitFail
	}
	return exitOK
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// collectPaths expands directories into their *.yml and *.yaml files (in
// lexical order); files named explicitly are taken whatever their name.
func collectPaths(args []string) ([]string, []error) {
	var out []string
	var errs []error
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		n := len(out)
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		} else if len(out) == n {
			errs = append(errs, fmt.Errorf("no *.yml or *.yaml files in directory %s", a))
		}
	}
	return out, errs
}

type checker struct {
	ctx          context.Context
	evalInterval time.Duration
	engineCheck  func(expr string) error // mqlengine.Check
	diags        []diag
	nFiles       int
	checked      map[string]bool // rule files already checked (by clean path)
	ruleFiles    []*rulefmt.File
}

func (c *checker) add(p yamlnode.Pos, sev, format string, args ...any) {
	c.diags = append(c.diags, diag{pos: p, severity: sev, msg: fmt.Sprintf(format, args...)})
}

func (c *checker) addErr(err error) {
	var pe *yamlnode.Error
	if errors.As(err, &pe) {
		c.add(pe.Pos, sevError, "%s", pe.Msg)
		return
	}
	c.add(yamlnode.Pos{}, sevError, "%v", err)
}

// checkPath checks one file; the error is for a file that cannot be read.
func (c *checker) checkPath(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if isTestFile(data) {
		c.nFiles++
		c.checkTestFile(path)
		return nil
	}
	c.checkRuleFile(path, data)
	return nil
}

// isTestPath tells whether the file at path is a test file (unreadable:
// no, checkPath reports it).
func isTestPath(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && isTestFile(data)
}

// isTestFile tells a rule unit-test file (top-level rule_files or tests)
// from a rule file.
func isTestFile(data []byte) bool {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return false // the rule file loader reports the YAML error
	}
	_, rf := top["rule_files"]
	_, ts := top["tests"]
	return rf || ts
}

func (c *checker) checkRuleFile(path string, data []byte) {
	c.checkRuleFileTyped(path, data, rulefmt.TypeMetricsQL)
}

// checkRuleFileTyped checks a rule file whose untyped groups are
// defaultType (LogQL for the rule files of a lokitool test file).
func (c *checker) checkRuleFileTyped(path string, data []byte, defaultType string) {
	key := filepath.Clean(path)
	if c.checked[key] {
		return
	}
	c.checked[key] = true
	c.nFiles++
	f, errs := rulefmt.LoadTyped(path, data, defaultType)
	for _, e := range errs {
		c.addErr(e)
	}
	for _, w := range f.Warnings {
		c.add(w.Pos, sevWarning, "%s", w.Msg)
	}
	if len(errs) == 0 && len(f.Groups) == 0 {
		c.add(yamlnode.Pos{File: path, Line: 1, Col: 1}, sevWarning, "no rule groups in this file")
	}
	c.ruleFiles = append(c.ruleFiles, f)
	lerrs, lwarns := rulefmt.Lint(f, c.evalInterval)
	for _, e := range lerrs {
		c.add(e.Pos, sevError, "%s", e.Msg)
	}
	for _, w := range lwarns {
		c.add(w.Pos, sevWarning, "%s", w.Msg)
	}
	for _, g := range f.Groups {
		if g.Type == rulefmt.TypeLogQL {
			for _, r := range g.Rules {
				c.checkLogQLSupport(r)
			}
			continue
		}
		for _, r := range g.Rules {
			c.checkEngineSupport(r)
		}
	}
}

// checkEngineSupport reports a MetricsQL expression that parses but that
// the embedded engine (used by hlalert test and the standalone mode)
// cannot evaluate. Syntax errors are left to rulefmt.Load.
func (c *checker) checkEngineSupport(r rulefmt.Rule) {
	if _, err := metricsql.Parse(r.Expr); err != nil {
		return
	}
	err := c.engineCheck(r.Expr)
	if err == nil {
		return
	}
	pos := r.ExprPos
	var ue *mqlengine.UnsupportedError
	if errors.As(err, &ue) {
		if i := strings.Index(r.Expr, ue.Name); i >= 0 {
			pos = r.ExprOffsetPos(i)
		}
	}
	c.add(pos, sevError, "%s: %v", r.What(), err)
}

// checkLogQLSupport reports a LogQL expression that parses but that the
// embedded LogQL engine (hlalert test, the standalone mode) does not
// implement. Syntax errors are left to rulefmt.Load.
func (c *checker) checkLogQLSupport(r rulefmt.Rule) {
	if _, err := lqlengine.Parse(r.Expr); err != nil {
		return
	}
	err := lqlengine.Check(r.Expr)
	var ue *lqlengine.UnsupportedError
	if !errors.As(err, &ue) {
		return
	}
	pos := r.ExprPos
	if i := strings.Index(r.Expr, ue.Name); i >= 0 {
		pos = r.ExprOffsetPos(i)
	}
	c.add(pos, sevError, "%s: %v", r.What(), err)
}

// checkTestFile checks a rule unit-test file without running it: the file
// decodes (keys, value notation, durations), its rule_files exist and pass
// the rule checks, and its test expressions are supported by the engine.
func (c *checker) checkTestFile(path string) {
	f, errs := unittest.ReadFile(path)
	for _, e := range errs {
		c.addErr(e)
	}
	if f == nil {
		return
	}
	if err := f.MissingRuleFiles(); err != nil {
		c.addErr(err)
	}
	for i, pattern := range f.ResolvedRuleFiles() {
		pos := f.RuleFilePos[i]
		matches, err := filepath.Glob(pattern)
		if err != nil {
			c.add(pos, sevError, "rule_files: bad pattern %q: %v", f.RuleFiles[i], err)
			continue
		}
		if len(matches) == 0 {
			c.add(pos, sevError, "rule_files: no file matches %q (resolved to %s)", f.RuleFiles[i], pattern)
			continue
		}
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				c.add(pos, sevError, "rule_files: %v", err)
				continue
			}
			if f.Format == unittest.Lokitool {
				c.checkRuleFileTyped(m, data, rulefmt.TypeLogQL)
			} else {
				c.checkRuleFile(m, data)
			}
		}
	}
	for _, e := range unittest.CheckTests(f) {
		c.addErr(e)
	}
}

// checkRunConfig validates a run config and its notify section; it
// returns the rule files its rule_files globs match, to be checked too.
func checkRunConfig(path string) ([]string, []error) {
	cfg, err := config.LoadFile(path)
	if err != nil {
		return nil, unjoin(err)
	}
	var errs []error
	if _, err := daemon.PlanNotify(cfg); err != nil {
		errs = unjoin(err)
	}
	var files []string
	for _, g := range cfg.RuleFiles {
		m, _ := filepath.Glob(g)
		if len(m) == 0 {
			errs = append(errs, fmt.Errorf("%s: rule_files: %q matches no file", path, g))
		}
		files = append(files, m...)
	}
	return files, errs
}

func unjoin(err error) []error {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// configDiag formats a config error as "file:line:col: error: msg".
func configDiag(err error) string {
	var pe *yamlnode.Error
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %s: %s", pe.Pos, sevError, pe.Msg)
	}
	return fmt.Sprintf("%s: %v", sevError, err)
}

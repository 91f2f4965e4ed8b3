package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/unittest"
)

// labelFlags collects repeated --external-label name=value flags.
type labelFlags map[string]string

func (l labelFlags) String() string { return fmt.Sprint(map[string]string(l)) }

func (l labelFlags) Set(s string) error {
	n := strings.IndexByte(s, '=')
	if n <= 0 {
		return fmt.Errorf("want name=value, got %q", s)
	}
	l[s[:n]] = s[n+1:]
	return nil
}

func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hlalert test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hlalert test [flags] PATH...")
		fmt.Fprintln(stderr, "\nRuns rule unit test files (vmalert-tool, promtool or lokitool format). Folders are")
		fmt.Fprintln(stderr, "searched for *.yaml/*.yml files with a top-level tests: key.")
		fmt.Fprintln(stderr, "Exit status: 0 all passed, 1 a test failed, 2 unusable input.\n\nflags:")
		fs.PrintDefaults()
	}
	runRE := fs.String("run", "", "run only tests whose name matches this regexp (unnamed tests are #N)")
	junit := fs.String("junit", "", "also write a JUnit XML report to this file")
	extURL := fs.String("external-url", "", "external URL for templates ($externalURL), as vmalert-tool's -external.url")
	noGroup := fs.Bool("disable-alertgroup-label", false, "do not add the alertgroup label (vmalert-tool's -disableAlertgroupLabel)")
	step := fs.Duration("query-step", unittest.DefaultQueryStep, "step of rule queries, as vmalert's -datasource.queryStep; 0 means the group's interval")
	cov := addCoverageFlags(fs)
	labels := labelFlags{}
	fs.Var(labels, "external-label", "name=value added to every rule's labels and to $externalLabels (repeatable), as vmalert-tool's -external.label")
	if code, done := parseFlags(fs, args, "", stderr); done {
		return code
	}
	if err := cov.validate(); err != nil {
		fmt.Fprintf(stderr, "hlalert test: %v\n", err)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "hlalert test: no test file or folder given")
		fs.Usage()
		return exitUsage
	}
	opts := unittest.Options{
		ExternalLabels:         labels,
		ExternalURL:            *extURL,
		DisableAlertGroupLabel: *noGroup,
		NewEngine: func(st *series.Store) (unittest.Engine, error) {
			return mqlengine.New(st, mqlengine.Options{})
		},
		ParseTemplate: rule.VMTemplates,
		QueryStep:     *step,
	}
	if *step == 0 {
		opts.QueryStep = -1 // the group's interval
	}
	if *runRE != "" {
		re, err := regexp.Compile(*runRE)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert test: --run: %v\n", err)
			return exitUsage
		}
		opts.Run = re
	}
	files, err := unittest.Discover(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "hlalert test: %v\n", err)
		return exitUsage
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "hlalert test: no test files in %s\n", strings.Join(fs.Args(), " "))
		return exitUsage
	}
	results, err := unittest.Run(ctx, files, opts)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert test: %v\n", err)
		return exitUsage
	}
	unittest.WriteText(stdout, results)
	if *junit != "" {
		f, err := os.Create(*junit)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert test: --junit: %v\n", err)
			return exitUsage
		}
		werr := unittest.WriteJUnit(f, results)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			fmt.Fprintf(stderr, "hlalert test: --junit: %v\n", werr)
			return exitUsage
		}
	}
	covCode := exitOK
	if cov.on() {
		covCode = cov.report(results, fs.Args(), stdout, stderr)
	}
	s := unittest.Summarize(results)
	switch {
	case s.UnusableFiles > 0, covCode == exitUsage:
		return exitUsage
	case s.Failed > 0, covCode == exitFail:
		return exitFail
	}
	return exitOK
}

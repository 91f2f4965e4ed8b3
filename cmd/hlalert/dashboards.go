package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hlalert/hlalert/dashboards/boardcheck"
)

// runDashboards is `hlalert dashboards check DIR`.
func runDashboards(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: hlalert dashboards check [flags] DIR")
		return exitUsage
	}
	fset := flag.NewFlagSet("dashboards check", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var o boardcheck.LintOptions
	fset.Func("rules", "glob of rule files whose recording rules the boards may read (repeatable)", func(s string) error {
		o.Rules = append(o.Rules, s)
		return nil
	})
	fset.Func("metrics", "a /metrics text file (curl http://host:9808/metrics); with it every MetricsQL query must return data (repeatable)", func(s string) error {
		o.Metrics = append(o.Metrics, s)
		return nil
	})
	fset.Func("logs", "a rule test file whose input_streams stand for the logs (each test's last line at now); with it every LogQL query must return data and use only the streams' labels (repeatable)", func(s string) error {
		o.Logs = append(o.Logs, s)
		return nil
	})
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: hlalert dashboards check [flags] DIR")
		fmt.Fprintln(stderr, "\nChecks every *.json Grafana dashboard in DIR: strict decoding with the Grafana Foundation SDK")
		fmt.Fprintln(stderr, "(unknown fields fail), MetricsQL syntax and support by the embedded engine, that every metric")
		fmt.Fprintln(stderr, "read is exported by hlexporter, hlalert, a recording rule or a declared third-party exporter,")
		fmt.Fprintln(stderr, "LogQL syntax; with -metrics that every MetricsQL query returns data, with -logs every LogQL one.")
		fmt.Fprintln(stderr, "Exit status: 0 clean, 1 problems found, 2 usage errors.")
		fmt.Fprintln(stderr, "\nflags:")
		fset.PrintDefaults()
	}
	if code, done := parseFlags(fset, args[1:], "", stderr); done {
		return code
	}
	if fset.NArg() != 1 {
		fset.Usage()
		return exitUsage
	}
	n, err := boardcheck.Lint(ctx, fset.Arg(0), o, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert dashboards check: %v\n", err)
		return exitUsage
	}
	if n > 0 {
		fmt.Fprintf(stderr, "hlalert dashboards check: %d problem(s)\n", n)
		return exitFail
	}
	return exitOK
}

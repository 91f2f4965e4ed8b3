package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
)

// Exit codes shared by the subcommands.
const (
	exitOK    = 0
	exitFail  = 1 // a check or a test failed
	exitUsage = 2 // unusable input: bad flags, unreadable files
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"check":      {"validate rule files and rule test files", runCheck},
		"dashboards": {"dashboards check DIR: lint Grafana dashboards (strict decoding, queries, known metrics, data)", runDashboards},
		"route":      {"show which receivers an alert reaches and why", runRoute},
		"notify":     {"notify test: send a test e-mail through the configured outbox and SMTP", runNotify},
		"run":        {"run the rule evaluator daemon (no flags: the embedded standalone default)", runRun},
		"silence":    {"add, expire and list silences", runSilence},
		"test":       {"run rule unit tests (vmalert-tool, promtool and lokitool formats)", runTest},
		"version":    {"print the version and commit", runVersion},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hlalert: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: hlalert COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'hlalert COMMAND -h' for a command's flags.")
}

// parseFlags parses a subcommand's flags. It returns done with the exit
// code when the command must end here: -h (0), a bad flag (2, the flag
// package has said why), or, when name is not "", positional arguments the
// command does not take (2).
func parseFlags(fset *flag.FlagSet, args []string, name string, stderr io.Writer) (code int, done bool) {
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true
	}
	if name != "" && fset.NArg() > 0 {
		fmt.Fprintf(stderr, "hlalert %s: unexpected arguments %q\n", name, fset.Args())
		return exitUsage, true
	}
	return exitOK, false
}

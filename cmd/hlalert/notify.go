package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/daemon"
	"github.com/hlalert/hlalert/alerts/email"
)

// runNotify is `hlalert notify test --config hlalert.yaml [--receiver NAME]`:
// it queues a test e-mail through the path `hlalert run` uses with the
// same config (its notify section and routing_file, the outbox folder,
// SMTP) and delivers it now, reporting whether the SMTP server accepted
// it. A message that could not be sent stays in the outbox and the
// daemon delivers it once SMTP works.
func runNotify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(stderr, "usage: hlalert notify test --config hlalert.yaml [--receiver NAME] [--timeout 30s]")
		return exitUsage
	}
	fset := flag.NewFlagSet("notify test", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfgPath := fset.String("config", "", "the `hlalert run` config (its notify section) (required)")
	receiver := fset.String("receiver", "", "receiver to test; empty: every receiver with email_configs")
	timeout := fset.Duration("timeout", 30*time.Second, "SMTP timeout")
	if code, done := parseFlags(fset, args[1:], "notify test", stderr); done {
		return code
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "hlalert notify test: --config is required")
		return exitUsage
	}
	cfg, err := config.LoadFile(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert notify test: %v\n", err)
		return exitUsage
	}
	plan, err := daemon.PlanNotify(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert notify test: %v\n", err)
		return exitUsage
	}
	receivers := plan.Email.Receivers
	names := sortedKeys(receivers)
	if *receiver != "" {
		if _, ok := receivers[*receiver]; !ok {
			fmt.Fprintf(stderr, "hlalert notify test: no receiver %q with email_configs in %s (have: %s)\n", *receiver, plan.Routing.File, strings.Join(names, ", "))
			return exitUsage
		}
		names = []string{*receiver}
	}
	if len(names) == 0 {
		fmt.Fprintf(stderr, "hlalert notify test: no receiver in %s has email_configs\n", plan.Routing.File)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, err := email.NewQueue(email.QueueOptions{Dir: cfg.OutboxDir, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "hlalert notify test: %v\n", err)
		return exitFail
	}
	eo := plan.Email
	eo.Queue, eo.SMTPTimeout, eo.Logger = q, *timeout, log
	snd, err := email.NewSender(eo)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert notify test: %v\n", err)
		return exitUsage
	}
	snd.Activate()
	failed := false
	for _, name := range names {
		b := email.SampleBatch(name)
		b.GroupKey = "hlalert-notify-test"
		b.Seq = uint64(time.Now().UnixNano()) // a new test mail every run
		if err := snd.Send(ctx, b); err != nil {
			fmt.Fprintf(stderr, "receiver %s: could not queue the test mail: %v\n", name, err)
			failed = true
		}
	}
	q.DeliverDue(ctx)
	for _, name := range names {
		for i, c := range receivers[name] {
			tr := email.TransportName(name, i)
			switch err := q.LastError(tr); {
			case c.OutboxOnly:
				fmt.Fprintf(stdout, "kept %s -> %s: notify.routing_file is not set, so messages stay in the outbox as .eml files\n", tr, c.To)
			case err != nil:
				failed = true
				fmt.Fprintf(stdout, "FAIL %s -> %s: %v\n", tr, c.To, err)
			default:
				fmt.Fprintf(stdout, "ok   %s -> %s: accepted by %s\n", tr, c.To, c.Smarthost)
			}
		}
	}
	if pending, err := q.Pending(); err == nil && len(pending) > 0 {
		fmt.Fprintf(stdout, "%d message(s) queued in %s; `hlalert run` delivers them when SMTP works\n", len(pending), cfg.OutboxDir)
	}
	if failed {
		return exitFail
	}
	return exitOK
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/email"
)

// runNotify is `hlalert notify test --config FILE [--receiver NAME]`: it
// queues a test e-mail through the configured path (outbox folder +
// SMTP) and delivers it now, reporting clearly whether the SMTP server
// accepted it. A message that could not be sent stays in the outbox and
// the daemon delivers it once SMTP works.
func runNotify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(stderr, "usage: hlalert notify test --config FILE [--receiver NAME] [--timeout 30s]")
		return exitUsage
	}
	fset := flag.NewFlagSet("notify test", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfgPath := fset.String("config", "", "e-mail notification config (outbox_dir, receivers with email configs)")
	receiver := fset.String("receiver", "", "receiver to test; empty: every e-mail receiver")
	timeout := fset.Duration("timeout", 30*time.Second, "SMTP timeout")
	if err := fset.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "hlalert notify test: --config is required")
		return exitUsage
	}
	f, err := email.LoadFile(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert notify test: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, err := email.NewQueue(email.QueueOptions{Dir: f.OutboxDir, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "hlalert notify test: %v\n", err)
		return exitFail
	}
	snd, err := email.NewSender(email.SenderOptions{
		Receivers: f.Receivers, BaseDir: f.BaseDir, TemplateFiles: f.Templates, GrafanaURL: f.GrafanaURL,
		Queue: q, SMTPTimeout: *timeout, Logger: log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "hlalert notify test: %v\n", err)
		return exitUsage
	}
	names := snd.Receivers()
	if *receiver != "" {
		if _, ok := f.Receivers[*receiver]; !ok {
			fmt.Fprintf(stderr, "hlalert notify test: no e-mail receiver %q (have: %s)\n", *receiver, strings.Join(names, ", "))
			return exitUsage
		}
		names = []string{*receiver}
	}
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
		for i := range f.Receivers[name] {
			tr := email.TransportName(name, i)
			if err := q.LastError(tr); err != nil {
				failed = true
				fmt.Fprintf(stdout, "FAIL %s -> %s: %v\n", tr, f.Receivers[name][i].To, err)
				continue
			}
			fmt.Fprintf(stdout, "ok   %s -> %s: accepted by %s\n", tr, f.Receivers[name][i].To, f.Receivers[name][i].Smarthost)
		}
	}
	if pending, err := q.Pending(); err == nil && len(pending) > 0 {
		fmt.Fprintf(stdout, "%d message(s) still queued in %s; `hlalert run` delivers them when SMTP works\n", len(pending), f.OutboxDir)
	}
	if failed {
		return exitFail
	}
	return exitOK
}

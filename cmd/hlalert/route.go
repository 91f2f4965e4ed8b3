package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/daemon"
	"github.com/hlalert/hlalert/alerts/notify"
	"github.com/hlalert/hlalert/alerts/silence"
)

// runRoute is `hlalert route --config hlalert.yaml --labels 'k=v,...'`:
// which receivers an alert reaches and why, through the routing of the
// run config's notify section (its routing_file, or the built-in routing
// without one), and whether the silences and firing alerts in its
// state_dir mute it.
func runRoute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("route", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfgPath := fset.String("config", "", "the `hlalert run` config (its notify section and state_dir) (required)")
	lbls := fset.String("labels", "", "the alert's labels: 'k=v,k2=\"v, with comma\"' (required)")
	at := fset.String("time", "", "evaluate time intervals at this RFC 3339 time instead of now")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: hlalert route --config hlalert.yaml --labels 'k=v,...' [--time RFC3339]")
		fmt.Fprintln(stderr, "\nPrints which receivers an alert with these labels reaches and why: the route path with")
		fmt.Fprintln(stderr, "its matchers, group_by, timings, continue and time intervals; and whether the silences")
		fmt.Fprintln(stderr, "or firing alerts (inhibit_rules) in the config's state_dir mute it.")
		fmt.Fprintln(stderr, "\nflags:")
		fset.PrintDefaults()
	}
	if code, done := parseFlags(fset, args, "route", stderr); done {
		return code
	}
	if *cfgPath == "" || *lbls == "" {
		fmt.Fprintln(stderr, "hlalert route: --config and --labels are required")
		fset.Usage()
		return exitUsage
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert route: --time: %v\n", err)
			return exitUsage
		}
		now = t
	}
	lset, err := parseLabels(*lbls)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert route: --labels: %v\n", err)
		return exitUsage
	}
	runCfg, err := config.LoadFile(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert route: %v\n", err)
		return exitUsage
	}
	plan, err := daemon.PlanNotify(runCfg)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert route: %v\n", err)
		return exitUsage
	}
	cfg := plan.Routing
	stateDir := runCfg.StateDir
	_, statErr := os.Stat(stateDir)
	haveState := statErr == nil
	var silenced []silence.Silence
	var inhibitedBy []string
	if haveState {
		store, err := silence.Open(silence.Options{Dir: stateDir})
		if err != nil {
			fmt.Fprintf(stderr, "hlalert route: %v\n", err)
			return exitFail
		}
		ids, err := store.Mutes(lset)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert route: %v\n", err)
			return exitFail
		}
		for _, id := range ids {
			s, err := store.Get(id)
			if err == nil {
				silenced = append(silenced, s)
			}
		}
		alerts, err := notify.LoadAlerts(stateDir)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert route: %v\n", err)
			return exitFail
		}
		var firing []map[string]string
		for _, a := range alerts {
			if a.Status == "firing" {
				firing = append(firing, a.Labels)
			}
		}
		inhibitedBy = cfg.Inhibited(lset, firing)
	}

	fmt.Fprintf(stdout, "routing: %s\n", cfg.File)
	matches := cfg.Match(lset)
	fmt.Fprintf(stdout, "alert %s reaches %d route(s):\n", formatLabels(lset), len(matches))
	for _, m := range matches {
		fmt.Fprintf(stdout, "\nreceiver %s\n", m.Receiver)
		fmt.Fprintf(stdout, "  path:      %s\n", strings.Join(m.Path, " > "))
		fmt.Fprintf(stdout, "  group_by:  [%s]\n", strings.Join(m.GroupBy, ", "))
		fmt.Fprintf(stdout, "  group:     %s\n", formatLabels(m.GroupLabels))
		fmt.Fprintf(stdout, "  timings:   group_wait=%s group_interval=%s repeat_interval=%s\n", fmtDur(m.GroupWait), fmtDur(m.GroupInterval), fmtDur(m.RepeatInterval))
		fmt.Fprintf(stdout, "  continue:  %t\n", m.Continue)
		fmt.Fprintf(stdout, "  resolved:  %s\n", map[bool]string{true: "sent", false: "not sent (send_resolved: false)"}[sendsResolved(cfg.SendResolved(m.Receiver), runCfg.Notify.Receivers[m.Receiver].SendResolved)])
		if cs := plan.Email.Receivers[m.Receiver]; len(cs) > 0 && cs[0].OutboxOnly {
			fmt.Fprintf(stdout, "  delivery:  outbox only (notify.routing_file not set: messages stay in %s as .eml files)\n", runCfg.OutboxDir)
		}
		if !cfg.HasIntegrations(m.Receiver) {
			fmt.Fprintln(stdout, "  delivery:  none (receiver has no email_configs: alerts are dropped)")
		}
		if len(m.MuteTimeIntervals) > 0 || len(m.ActiveTimeIntervals) > 0 {
			fmt.Fprintf(stdout, "  intervals: mute [%s] active [%s]\n", strings.Join(m.MuteTimeIntervals, ", "), strings.Join(m.ActiveTimeIntervals, ", "))
		}
		if muted, why := cfg.TimeMuted(m, now); muted {
			fmt.Fprintf(stdout, "  muted at %s: %s\n", now.UTC().Format(time.RFC3339), why)
		}
	}
	fmt.Fprintln(stdout)
	if !haveState {
		fmt.Fprintf(stdout, "silenced, inhibited: not checked (state_dir %s does not exist yet)\n", stateDir)
		return exitOK
	}
	if len(silenced) == 0 {
		fmt.Fprintln(stdout, "silenced: no")
	}
	for _, s := range silenced {
		fmt.Fprintf(stdout, "silenced: by %s until %s (%s: %s)\n", s.ID, s.EndsAt.UTC().Format(time.RFC3339), s.CreatedBy, s.Comment)
	}
	if len(inhibitedBy) == 0 {
		fmt.Fprintln(stdout, "inhibited: no")
	} else {
		fmt.Fprintf(stdout, "inhibited: by %s\n", strings.Join(inhibitedBy, ", "))
	}
	return exitOK
}

// parseLabels parses 'k=v,k2="v2"' (Alertmanager matcher syntax, equality
// only).
func parseLabels(s string) (map[string]string, error) {
	ms, err := labels.ParseMatchers(s)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range ms {
		if m.Type != labels.MatchEqual {
			return nil, fmt.Errorf("%s: only name=value pairs are allowed", m)
		}
		if _, dup := out[m.Name]; dup {
			return nil, fmt.Errorf("label %q given twice", m.Name)
		}
		out[m.Name] = m.Value
	}
	if len(out) == 0 {
		return nil, errors.New("no labels")
	}
	return out, nil
}

func formatLabels(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func fmtDur(d time.Duration) string { return model.Duration(d).String() }

// sendsResolved: the routing's send_resolved (the dispatcher drops
// resolved alerts when it is false) and notify.receivers.NAME.send_resolved
// (the e-mail sender drops them when it is false) must both allow it.
func sendsResolved(routing bool, extra *bool) bool {
	return routing && (extra == nil || *extra)
}

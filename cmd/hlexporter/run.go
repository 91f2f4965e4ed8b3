package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/yamlnode"
	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/internal/httpaccess"
)

const usage = `hlexporter exports backup, ZFS, SMART, deploy and NVR state.

Usage:
  hlexporter [serve] --config FILE [--collectors zfs,smart] [--listen ADDR]
             [--web.config.file FILE] [--web.allow-unauthenticated-remote]
  hlexporter check --config FILE [--collectors ...]   validate the configuration
  hlexporter catalog                                  print the metric catalog (Markdown)
  hlexporter version                                  print the version and commit

Collectors: %s. Without --collectors, every collector with a section in the
configuration runs. Listen address default: %s (loopback). Beyond
loopback, hlexporter refuses to start unless --web.config.file sets up
authentication (basic_auth_users, or verified client certificates) or
--web.allow-unauthenticated-remote is given.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve", "check":
		err = serveCmd(ctx, cmd == "check", args, stdout, stderr)
	case "catalog":
		err = catalogCmd(args, stdout)
	case "version":
		fmt.Fprintf(stdout, "hlexporter %s (commit %s)\n", version, commit)
		return 0
	case "help":
		fmt.Fprintf(stdout, usage, strings.Join(names(), ", "), serve.DefaultListenAddress)
		return 0
	default:
		fmt.Fprintf(stderr, "hlexporter: unknown command %q\n", cmd)
		fmt.Fprintf(stderr, usage, strings.Join(names(), ", "), serve.DefaultListenAddress)
		return 2
	}
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "hlexporter: %v\n", err)
		return 1
	}
	return 0
}

func serveCmd(ctx context.Context, checkOnly bool, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hlexporter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML)")
	only := fs.String("collectors", "", "comma-separated collectors to run (default: every configured one)")
	listen := fs.String("listen", "", "listen address (overrides listen_address)")
	webConfig := fs.String("web.config.file", "", "Prometheus web configuration file: TLS and basic auth (exporter-toolkit format)")
	allowRemote := fs.Bool("web.allow-unauthenticated-remote", false, "serve beyond loopback with no authentication")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hlexporter: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	if *configPath == "" {
		fmt.Fprintln(stderr, "hlexporter: --config is required")
		return errUsage
	}
	cfg, err := serve.LoadFile(*configPath)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("log_level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	access, err := httpaccess.New(httpaccess.Options{WebConfigFile: *webConfig, AllowUnauthenticatedRemote: *allowRemote, Logger: log})
	if err != nil {
		return err
	}

	// Which collectors: --collectors, else every configured section.
	var selected []string
	if *only != "" {
		for _, n := range strings.Split(*only, ",") {
			n = strings.TrimSpace(n)
			if _, ok := factoryByName(n); !ok {
				return fmt.Errorf("--collectors: unknown collector %q (known: %s)", n, strings.Join(names(), ", "))
			}
			selected = append(selected, n)
		}
	} else {
		for _, s := range cfg.Collectors {
			selected = append(selected, s.Name)
		}
	}
	jobs, err := buildJobs(cfg, selected, log)
	if err != nil {
		return err
	}
	srv, err := serve.New(jobs, serve.Options{Logger: log})
	if err != nil {
		return err
	}
	addr := cfg.ListenAddress
	if *listen != "" {
		addr = *listen
	}
	// Refuse before starting any collector (and in check).
	if err := access.CheckAddress(addr); err != nil {
		return err
	}
	if checkOnly {
		fmt.Fprintf(stdout, "%s: ok (%s)\n", cfg.File, strings.Join(srv.Names(), ", "))
		return nil
	}
	log.Info("starting", "collectors", strings.Join(srv.Names(), ","), "config", cfg.File)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	err = srv.ListenAndServe(ctx, addr, access)
	cancel()
	<-done
	return err
}

// catalogCmd prints every metric of every collector and of the serving layer.
func catalogCmd(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("catalog takes no arguments")
	}
	out, err := catalog()
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}

func catalog() (string, error) {
	var entries []serve.CatalogEntry
	for _, d := range serve.ServingMetricDefs() {
		entries = append(entries, serve.CatalogEntry{Collector: "(serving)", Def: d})
	}
	for _, f := range factories() {
		for _, d := range f.metrics() {
			entries = append(entries, serve.CatalogEntry{Collector: f.name, Def: d})
		}
	}
	return serve.Catalog(entries)
}

// buildJobs builds the selected collectors from their sections (a missing
// section means defaults) and reports every problem at once, positioned
// ones in file order.
func buildJobs(cfg *serve.Config, selected []string, log *slog.Logger) ([]serve.Job, error) {
	var errs []error
	for _, s := range cfg.Collectors {
		if _, ok := factoryByName(s.Name); !ok {
			errs = append(errs, yamlnode.Errorf(s.Pos, "%s", yamlnode.UnknownKeyMsg("collectors", s.Name, names())))
		}
	}
	if len(selected) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no collectors configured (add a section under collectors:, or pass --collectors)", cfg.File))
	}
	var jobs []serve.Job
	for _, name := range selected {
		f, ok := factoryByName(name)
		if !ok {
			continue
		}
		sec, ok := cfg.Section(name)
		if !ok {
			// Selected with --collectors but not configured: defaults,
			// and a problem with them is the file's.
			sec = serve.Section{Name: name, Pos: yamlnode.Pos{File: cfg.File}}
		}
		interval, timeout, err := schedule(f, sec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d := deps{
			runner: cmdrun.Exec{Timeout: timeout},
			now:    time.Now,
			http:   &http.Client{Timeout: timeout},
			log:    log,
		}
		c, err := f.build(sec, d)
		if err != nil {
			// A field's problem at its value, any other at the section.
			errs = append(errs, sec.Place(err))
			continue
		}
		jobs = append(jobs, serve.Job{Collector: c, Interval: interval, Timeout: timeout})
	}
	// One list in file order: each positioned problem on its own.
	var flat []error
	for _, e := range errs {
		flat = append(flat, unjoin(e)...)
	}
	yamlnode.SortErrors(flat)
	return jobs, errors.Join(flat...)
}

// schedule is a collector's interval and update timeout: the section's,
// else the factory's defaults. A default timeout never exceeds the
// interval; an explicit one is honoured (a long update delays the next,
// updates never overlap). A collector with a budget gets it as its
// default timeout, and an explicit timeout below it is an error.
func schedule(f factory, sec serve.Section) (interval, timeout time.Duration, err error) {
	interval, timeout = f.interval, min(f.timeout, f.interval)
	if sec.Interval > 0 {
		interval = sec.Interval
		timeout = min(f.timeout, interval)
	}
	var check func(time.Duration) error
	if f.budget != nil {
		timeout, check = f.budget(sec)
	}
	if sec.Timeout > 0 {
		timeout = sec.Timeout
		if check != nil {
			if err := check(timeout); err != nil {
				return 0, 0, sec.Place(err)
			}
		}
	}
	if timeout <= 0 {
		timeout = interval
	}
	return interval, timeout, nil
}

// unjoin splits an errors.Join into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

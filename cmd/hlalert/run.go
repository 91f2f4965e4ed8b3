package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/datasource"
	"github.com/hlalert/hlalert/alerts/evaluator"
	"github.com/hlalert/hlalert/alerts/history"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/hlalert/hlalert/alerts/metrics"
	"github.com/hlalert/hlalert/alerts/outbox"
	"github.com/hlalert/hlalert/alerts/remotewrite"
	"github.com/hlalert/hlalert/alerts/web"
)

// defaultConfig is the standalone mode's config and rules (kept identical
// to testdata/hlalert/; a test checks it).
//
//go:embed defaultconfig/hlalert.yaml defaultconfig/hlalert.rules.yaml
var defaultConfig embed.FS

// runRun is `hlalert run`: the daemon.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("run", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfgPath := fset.String("config", "", "config file; empty runs the embedded standalone default from -data-dir")
	dataDir := fset.String("data-dir", "hlalert-data", "folder the embedded default config and rules are written to (and its state and outbox live in) when -config is not given")
	logLevel := fset.String("log.level", "info", "log level: debug, info, warn or error")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: hlalert run [flags]")
		fmt.Fprintln(stderr, "\nEvaluates the config's rule groups continuously, keeps alert state across restarts")
		fmt.Fprintln(stderr, "and datasource outages, and serves /metrics, /api/v1/rules, /api/v1/alerts and a status page.")
		fmt.Fprintln(stderr, "SIGHUP or POST /-/reload re-reads the config; a bad one is rejected and the running one kept.")
		fmt.Fprintln(stderr, "\nflags:")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "hlalert run: unexpected arguments %q\n", fset.Args())
		return exitUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "hlalert run: -log.level: %v\n", err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	path := *cfgPath
	if path == "" {
		p, err := writeDefaultConfig(*dataDir)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert run: %v\n", err)
			return exitFail
		}
		path = p
		logger.Info("no -config given: running the embedded standalone default", "config", path)
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "hlalert run: %v\n", err)
		return exitUsage
	}
	if err := serve(ctx, cfg, logger); err != nil {
		fmt.Fprintf(stderr, "hlalert run: %v\n", err)
		return exitFail
	}
	return exitOK
}

// writeDefaultConfig writes the embedded default into dir (refreshing it
// on every start) and returns the config's path.
func writeDefaultConfig(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	for _, name := range []string{"hlalert.yaml", "hlalert.rules.yaml"} {
		b, err := defaultConfig.ReadFile("defaultconfig/" + name)
		if err != nil {
			return "", fmt.Errorf("embedded default %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			return "", fmt.Errorf("write default config: %w", err)
		}
	}
	return filepath.Join(dir, "hlalert.yaml"), nil
}

func authOptions(h config.HTTP, c *http.Client) datasource.HTTPOptions {
	o := datasource.HTTPOptions{BearerToken: h.BearerToken, Client: c}
	if h.BasicAuth != nil {
		o.BasicAuthUser, o.BasicAuthPassword = h.BasicAuth.Username, h.BasicAuth.Password
	}
	return o
}

// authTransport adds basic or bearer authentication (lokipush takes a
// client, not credentials).
type authTransport struct {
	next http.RoundTripper
	opts datasource.HTTPOptions
}

func (a authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case a.opts.BearerToken != "":
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+a.opts.BearerToken)
	case a.opts.BasicAuthUser != "":
		req = req.Clone(req.Context())
		req.SetBasicAuth(a.opts.BasicAuthUser, a.opts.BasicAuthPassword)
	}
	return a.next.RoundTrip(req)
}

// serve runs the evaluator and the HTTP side until ctx ends.
func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	deps := evaluator.Deps{Logger: logger, Metrics: metrics.NewEvaluator(reg)}
	ob, err := outbox.New(outbox.Options{Dir: cfg.OutboxDir, Logger: logger, Registerer: reg})
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	deps.Notifier = ob
	var closers []func(context.Context) error
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, c := range closers {
			if err := c(ctx); err != nil {
				logger.Error("flush on shutdown", "err", err)
			}
		}
	}()
	if rw := cfg.RemoteWrite; rw != nil {
		c, err := evaluator.NewHTTPClient(rw.HTTP)
		if err != nil {
			return fmt.Errorf("remote_write: %w", err)
		}
		w, err := remotewrite.New(remotewrite.Options{URL: rw.URL, HTTP: authOptions(rw.HTTP, c), Registerer: reg, Logger: logger})
		if err != nil {
			return fmt.Errorf("remote_write: %w", err)
		}
		deps.Writer = w
		closers = append(closers, w.Close)
	}
	if hc := cfg.History; hc != nil {
		c, err := evaluator.NewHTTPClient(hc.HTTP)
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		c.Transport = authTransport{next: c.Transport, opts: authOptions(hc.HTTP, nil)}
		pc, err := lokipush.New(lokipush.Options{URL: strings.TrimSuffix(strings.TrimRight(hc.URL, "/"), "/loki/api/v1/push"), Tenant: hc.Tenant, Client: c})
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		h, err := history.New(history.Options{Pusher: pc, Registerer: reg, Logger: logger})
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		deps.StateSink = h
		closers = append(closers, h.Close)
	}
	ev, err := evaluator.New(cfg, deps)
	if err != nil {
		return err
	}
	h, err := web.New(web.Options{Evaluator: ev, Gatherer: reg, Logger: logger})
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String())

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				logger.Info("SIGHUP: reloading the config")
				if err := ev.Reload(runCtx); err != nil {
					logger.Error("reload rejected", "err", err)
				}
			}
		}
	}()
	evErr := make(chan error, 1)
	go func() { evErr <- ev.Run(runCtx) }()

	var firstErr error
	select {
	case <-ctx.Done():
	case err := <-srvErr:
		firstErr = fmt.Errorf("http: %w", err)
	}
	cancel()
	shCtx, shCancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer shCancel()
	_ = srv.Shutdown(shCtx)
	if err := <-evErr; err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

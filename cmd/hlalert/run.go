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
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/daemon"
	"github.com/hlalert/hlalert/internal/httpaccess"
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
	webConfig := fset.String("web.config.file", "", "Prometheus web configuration file: TLS and basic auth with bcrypt hashes (exporter-toolkit format, as node_exporter's)")
	allowRemote := fset.Bool("web.allow-unauthenticated-remote", false, "listen beyond loopback (the config's listen) even though no authentication is configured")
	pprofListen := fset.String("debug.pprof-listen", "", "address to serve Go profiles on (/debug/pprof/), with heap sampling every 4 KiB; empty (the default) serves none. For diagnosis only: it is unauthenticated")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: hlalert run [flags]")
		fmt.Fprintln(stderr, "\nEvaluates the config's rule groups continuously, keeps alert state across restarts")
		fmt.Fprintln(stderr, "and datasource outages, and serves /metrics, /api/v1/rules, /api/v1/alerts and a status page.")
		fmt.Fprintln(stderr, "SIGHUP or POST /-/reload re-reads the config; a bad one is rejected and the running one kept.")
		fmt.Fprintln(stderr, "A listen address beyond loopback needs authentication (-web.config.file with basic_auth_users")
		fmt.Fprintln(stderr, "or verified client certificates) or -web.allow-unauthenticated-remote.")
		fmt.Fprintln(stderr, "The Go soft memory limit is 22MiB unless the GOMEMLIMIT environment variable sets another (or off).")
		fmt.Fprintln(stderr, "\nflags:")
		fset.PrintDefaults()
	}
	if code, done := parseFlags(fset, args, "run", stderr); done {
		return code
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "hlalert run: -log.level: %v\n", err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	logger.Debug("Go memory limit", "bytes", debug.SetMemoryLimit(-1))

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
	access, err := httpaccess.New(httpaccess.Options{WebConfigFile: *webConfig, AllowUnauthenticatedRemote: *allowRemote, Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "hlalert run: %v\n", err)
		return exitUsage
	}
	if err := access.CheckAddress(cfg.Listen); err != nil {
		fmt.Fprintf(stderr, "hlalert run: %s: listen: %v\n", path, err)
		return exitUsage
	}
	if *pprofListen != "" && !*allowRemote && !httpaccess.IsLoopback(*pprofListen) {
		fmt.Fprintf(stderr, "hlalert run: -debug.pprof-listen: refusing to serve profiles on %s: they have no authentication; listen on 127.0.0.1 or pass --web.allow-unauthenticated-remote\n", *pprofListen)
		return exitUsage
	}
	if *pprofListen != "" {
		// Sample the heap finely enough to see where 10 MiB go (the
		// default is one sample per 512 KiB allocated).
		runtime.MemProfileRate = 4 << 10
		stopPprof, err := servePprof(*pprofListen, logger)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert run: -debug.pprof-listen: %v\n", err)
			return exitUsage
		}
		defer stopPprof()
	}
	if err := serve(ctx, cfg, access, logger); err != nil {
		fmt.Fprintf(stderr, "hlalert run: %v\n", err)
		return exitFail
	}
	return exitOK
}

// servePprof serves Go profiles on their own listener (never on the
// daemon's public one) until the returned stop is called:
// /debug/pprof/NAME for runtime/pprof's named profiles (heap, allocs,
// goroutine, ...) and /debug/pprof/profile?seconds=N for CPU. It uses
// runtime/pprof directly: net/http/pprof would register itself on
// http.DefaultServeMux as a side effect of being imported.
func servePprof(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || secs <= 0 || secs > 300 {
			http.Error(w, "seconds: want an integer in 1..300", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := pprof.StartCPUProfile(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-r.Context().Done():
		}
		pprof.StopCPUProfile()
	})
	mux.HandleFunc("GET /debug/pprof/{name}", func(w http.ResponseWriter, r *http.Request) {
		p := pprof.Lookup(r.PathValue("name"))
		if p == nil {
			http.Error(w, "unknown profile", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := p.WriteTo(w, 0); err != nil {
			logger.Warn("write profile", "profile", p.Name(), "err", err)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof server", "err", err)
		}
	}()
	logger.Warn("serving Go profiles", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
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

// serve runs the daemon until ctx ends; SIGHUP reloads the config.
func serve(ctx context.Context, cfg *config.Config, access *httpaccess.Access, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				logger.Info("SIGHUP: reloading the config")
				select {
				case reload <- struct{}{}:
				case <-runCtx.Done():
					return
				}
			}
		}
	}()
	return daemon.Run(runCtx, daemon.Options{Config: cfg, Logger: logger, Registry: reg, Reload: reload, Access: access})
}

// Package daemon wires `hlalert run`: the evaluator, the notification
// pipeline (dispatcher → each integration on its own: every e-mail
// config → the durable outbox queue → SMTP, and the Alertmanager
// hand-off), silences, the watchdog, remote write,
// state history and the HTTP side, and applies reloads to all of them.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/datasource"
	"github.com/hlalert/hlalert/alerts/email"
	"github.com/hlalert/hlalert/alerts/evaluator"
	"github.com/hlalert/hlalert/alerts/history"
	"github.com/hlalert/hlalert/alerts/httpclient"
	"github.com/hlalert/hlalert/alerts/logingest"
	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/hlalert/hlalert/alerts/metrics"
	"github.com/hlalert/hlalert/alerts/notify"
	"github.com/hlalert/hlalert/alerts/remotewrite"
	"github.com/hlalert/hlalert/alerts/silence"
	"github.com/hlalert/hlalert/alerts/watchdog"
	"github.com/hlalert/hlalert/alerts/web"
	"github.com/hlalert/hlalert/internal/httpaccess"
)

// Options configures Run.
type Options struct {
	Config   *config.Config // required
	Logger   *slog.Logger   // nil: slog.Default()
	Registry *prometheus.Registry
	// Reload delivers reload requests (SIGHUP in cmd/); nil: only POST /-/reload.
	Reload <-chan struct{}
	// Listener serves HTTP; nil: listen on Config.Listen.
	Listener net.Listener
	// Access is the web configuration (TLS, basic auth) and the rule for
	// listening beyond loopback; nil: plain HTTP, loopback only.
	Access *httpaccess.Access
	// Ready, when set, is called once HTTP serves (tests learn the address).
	Ready func(addr string)

	// Tuning for tests; zero values take the production defaults.
	QueueBackoff        email.Backoff
	NotifyRetryInterval time.Duration
	// LogMaxBytes bounds the pushed log lines kept in the standalone
	// mode; 0: logingest.DefaultMaxBytes.
	LogMaxBytes int64
}

// Run runs the daemon until ctx ends.
func Run(ctx context.Context, o Options) error {
	cfg := o.Config
	if cfg == nil {
		return errors.New("daemon: Config is required")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	plan, err := PlanNotify(cfg)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	queue, err := email.NewQueue(email.QueueOptions{Dir: cfg.OutboxDir, Backoff: o.QueueBackoff, Logger: logger.With("component", "outbox"), Registerer: reg})
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	sils, err := silence.Open(silence.Options{Dir: cfg.StateDir})
	if err != nil {
		return fmt.Errorf("silences: %w", err)
	}
	pl := &pipeline{queue: queue, log: logger, reg: reg}
	first, err := pl.build(plan)
	if err != nil {
		return err
	}
	pl.install(first, nil)
	disp, err := notify.New(notify.Options{
		Config: plan.Routing, Integrations: first.ints, Silences: sils, StateDir: cfg.StateDir,
		Logger: logger, RetryInterval: o.NotifyRetryInterval, Registerer: reg,
	})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	deps := evaluator.Deps{Logger: logger, Metrics: metrics.NewEvaluator(reg), Notifier: disp}
	deps.AfterEval = func(ctx context.Context, group string, healthy bool) {
		if w := pl.watchdog.Load(); w != nil && healthy {
			_ = w.Beat(ctx) // logged by the watchdog
		}
	}
	var pending atomic.Pointer[pendingReload]
	deps.Load = func(ctx context.Context) (*config.Config, error) {
		c, err := config.LoadFile(cfg.Path)
		if err != nil {
			return nil, err
		}
		if changed := restartOnlyChanges(cfg, c); len(changed) > 0 {
			return nil, fmt.Errorf("%s: %s changed: restart hlalert to apply (a reload does not rebuild them)", c.Path, strings.Join(changed, ", "))
		}
		p, err := PlanNotify(c)
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		pending.Store(&pendingReload{plan: p})
		return c, nil
	}

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
		c, err := httpclient.New("remote_write", rw.HTTP)
		if err != nil {
			return fmt.Errorf("remote_write: %w", err)
		}
		w, err := remotewrite.New(remotewrite.Options{URL: rw.URL, HTTP: datasource.HTTPOptions{Client: c}, Registerer: reg, Logger: logger})
		if err != nil {
			return fmt.Errorf("remote_write: %w", err)
		}
		deps.Writer = w
		closers = append(closers, w.Close)
	}
	if hc := cfg.History; hc != nil {
		c, err := httpclient.New("history", hc.HTTP)
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
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
	var logs *logingest.Receiver
	if cfg.Datasource.Embedded != nil {
		deps.LogStore = logstream.NewStore()
	}
	ev, err := evaluator.New(cfg, deps)
	if err != nil {
		return err
	}
	if deps.LogStore != nil {
		logs, err = logingest.New(logingest.Options{
			Store: deps.LogStore, Retention: ev.LogRetention, MaxBytes: o.LogMaxBytes,
			Registerer: reg, Logger: logger.With("component", "logingest"),
		})
		if err != nil {
			return err
		}
	}
	// reload reloads the evaluator (which calls deps.Load, validating the
	// notify section too) and, only when it accepted the new config,
	// builds the whole new notification pipeline and swaps it in: a bad
	// config, or one whose pipeline cannot be built, keeps the old whole.
	var reloadMu sync.Mutex
	reload := func(ctx context.Context) error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		pending.Store(nil)
		if err := ev.Reload(ctx); err != nil {
			return err
		}
		if p := pending.Swap(nil); p != nil {
			s, err := pl.build(p.plan)
			if err != nil {
				logger.Error("build the notification pipeline; the running one is kept", "err", err)
				return err
			}
			pl.install(s, disp)
			logger.Info("notification pipeline reloaded", "routing", p.plan.Routing.File, "transports", queue.Transports())
		}
		return nil
	}
	wopts := web.Options{Evaluator: reloader{ev, reload}, Gatherer: reg, Logger: logger, Silences: sils, Integrations: disp}
	if logs != nil {
		wopts.LogPush = logs
		logger.Info("accepting log lines on Loki's push API", "path", "/loki/api/v1/push", "keep", ev.LogRetention())
	}
	h, err := web.New(wopts)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	access := o.Access
	if access == nil {
		if access, err = httpaccess.New(httpaccess.Options{Logger: logger}); err != nil {
			return err
		}
	}
	ln := o.Listener
	if ln == nil {
		if ln, err = access.Listen(cfg.Listen); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	} else if err := access.CheckAddress(ln.Addr().String()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- access.Serve(ln, srv) }()
	logger.Info("listening", "addr", ln.Addr().String())
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-o.Reload:
				logger.Info("reloading the config")
				if err := reload(runCtx); err != nil {
					logger.Error("reload rejected", "err", err)
				}
			}
		}
	}()
	go func() { defer wg.Done(); _ = disp.Run(runCtx) }()
	go func() { defer wg.Done(); _ = queue.Run(runCtx) }()
	if logs != nil {
		wg.Add(1)
		go func() { defer wg.Done(); logs.Run(runCtx, 30*time.Second) }()
	}
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
	wg.Wait()
	return firstErr
}

type pendingReload struct{ plan *Plan }

// restartOnlyChanges names the settings of next that differ from those
// the daemon started with and that only a restart applies: the listen
// address, the state and outbox folders, the remote-write and history
// clients, and the datasource mode (embedded or not).
func restartOnlyChanges(started, next *config.Config) []string {
	var out []string
	diff := func(name string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, name)
		}
	}
	diff("listen", started.Listen, next.Listen)
	diff("state_dir", started.StateDir, next.StateDir)
	diff("outbox_dir", started.OutboxDir, next.OutboxDir)
	diff("remote_write", started.RemoteWrite, next.RemoteWrite)
	diff("history", started.History, next.History)
	diff("datasource.embedded (the datasource mode)", started.Datasource.Embedded != nil, next.Datasource.Embedded != nil)
	return out
}

// reloader is the evaluator as the web handler sees it, with the reload
// that also applies the notify section.
type reloader struct {
	*evaluator.Evaluator
	reload func(context.Context) error
}

func (r reloader) Reload(ctx context.Context) error { return r.reload(ctx) }

// Compile-time checks of what the daemon wires into the evaluator and the
// web handler: the interfaces live with their consumer, the types that
// cross them in alerts/alert (the dispatcher's check is in pipeline.go).
var (
	_ evaluator.StateSink = (*history.History)(nil)
	_ evaluator.Writer    = (*remotewrite.Writer)(nil)
	_ web.Evaluator       = reloader{}
)

// pipeline builds and installs notification setups (build, install in
// pipeline.go) around the one outbox queue.
type pipeline struct {
	queue    *email.Queue
	log      *slog.Logger
	reg      prometheus.Registerer
	watchdog atomic.Pointer[watchdog.Watchdog]
	wdReg    bool
}

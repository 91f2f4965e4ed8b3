// Package evaluator is the `hlalert run` daemon core: it schedules the rule
// groups of a config on their intervals, routes each group to its
// datasource (VictoriaMetrics, Loki or the embedded engine), keeps alert
// state honest through datasource outages (state is held, a built-in
// HlalertDatasourceDown alert fires instead), persists state after every
// change and restores it exactly at start, and reloads the config without
// losing state. Rules are evaluated by alerts/rule, the engine `hlalert
// test` uses; this package only decides when and against what.
package evaluator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/httpclient"
	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/metrics"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/statestore"
)

// Deps are the evaluator's collaborators. All are optional.
type Deps struct {
	Logger *slog.Logger
	// Notifier receives firing and resolved alerts; nil logs them.
	Notifier Notifier
	// Writer receives recorded samples and ALERTS series in the
	// VictoriaMetrics mode; nil drops them (logged once). In the embedded
	// mode they are appended to the embedded store.
	Writer Writer
	// StateSink receives every alert state change; nil: none.
	StateSink StateSink
	// Load re-reads the config on Reload; nil: config.LoadFile(cfg.Path).
	Load func(ctx context.Context) (*config.Config, error)
	// NewQuerier builds the querier of a group (tests use it to fake a
	// datasource); nil: the configured HTTP datasources or embedded engine.
	NewQuerier func(ds string, g rulefmt.Group, interval time.Duration) (rule.Querier, error)
	// HTTPClient builds the HTTP client of a datasource section or scrape
	// target; nil: httpclient.New.
	HTTPClient func(name string, h config.HTTP) (*http.Client, error)
	// Store is the embedded mode's series store; nil: a new one.
	Store *series.Store
	// LogStore is the embedded mode's log store (filled by the push API,
	// read by type: logql groups); nil: a new one.
	LogStore *logstream.Store
	// Metrics records evaluation metrics; nil: none.
	Metrics *metrics.Evaluator
	// Scrape runs the embedded mode's scraper; nil: alerts/scrape.
	// Tests set it to a no-op.
	Scrape func(ctx context.Context, targets []config.Target)
	// AfterEval is called after each evaluation of a group, once its
	// notifications are handed over; healthy means no rule failed (the
	// watchdog beats on it). nil: none.
	AfterEval func(ctx context.Context, group string, healthy bool)
}

// Evaluator runs the rule groups of a config.
type Evaluator struct {
	deps     Deps
	log      *slog.Logger
	state    *statestore.Store
	store    *series.Store
	logStore *logstream.Store

	mu         sync.Mutex // guards everything below
	cfg        *config.Config
	groups     []*group
	loaded     time.Time
	reloadErr  string
	ds         map[string]*dsHealth
	sent       map[string]sentInfo // alert key → what was last notified
	builtin    map[string]*rule.Alert
	lastSaved  map[string]rule.Alert // persisted view, for change detection
	savedSent  map[string]sentInfo
	running    bool
	runCtx     context.Context
	runWG      sync.WaitGroup
	stopScrape context.CancelFunc
	noWriter   sync.Once

	saveMu sync.Mutex // serialises state file writes
	ready  atomic.Bool
}

type sentInfo struct {
	at    time.Time
	state rule.State
}

// New builds the groups of cfg and restores the persisted alert state
// (before and independently of any datasource being reachable).
func New(cfg *config.Config, deps Deps) (*Evaluator, error) {
	if cfg == nil {
		return nil, errors.New("evaluator: config is nil")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = httpclient.New
	}
	if deps.Store == nil {
		deps.Store = series.NewStore()
	}
	if deps.LogStore == nil {
		deps.LogStore = logstream.NewStore()
	}
	st, err := statestore.Open(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	e := &Evaluator{
		deps: deps, log: deps.Logger, state: st, store: deps.Store, logStore: deps.LogStore,
		ds: map[string]*dsHealth{}, sent: map[string]sentInfo{}, builtin: map[string]*rule.Alert{},
		lastSaved: map[string]rule.Alert{}, savedSent: map[string]sentInfo{},
	}
	groups, err := e.build(cfg)
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	persisted, err := st.Load()
	if err != nil {
		return nil, fmt.Errorf("evaluator: restore state from %s: %w", st.Path(), err)
	}
	e.restore(groups, persisted)
	for _, g := range groups {
		g.refresh()
	}
	e.cfg, e.groups, e.loaded = cfg, groups, time.Now()
	e.resetDatasources(cfg)
	e.announce(nil, groups)
	return e, nil
}

// restore hands each rule its persisted alerts and remembers what was
// last notified.
func (e *Evaluator) restore(groups []*group, st statestore.State) {
	byRule := map[string][]rule.Alert{}
	for _, en := range st.Entries {
		k := ruleKey(en.File, en.Group, en.Rule)
		byRule[k] = append(byRule[k], en.Alert)
		key := en.Key()
		e.lastSaved[key] = en.Alert
		if !en.LastSentAt.IsZero() {
			e.sent[key] = sentInfo{en.LastSentAt, en.LastSentState}
			e.savedSent[key] = e.sent[key]
		}
		if en.File == builtinFile {
			a := en.Alert
			a.Labels = a.Labels.Copy()
			e.builtin[key] = &a
		}
	}
	n := 0
	for _, g := range groups {
		for _, ar := range g.g.AlertingRules() {
			if as := byRule[ruleKey(g.file, g.def.Name, ar.Name())]; len(as) > 0 {
				ar.Restore(as)
				n += len(as)
			}
		}
	}
	if len(st.Entries) > 0 {
		e.log.Info("restored alert state", "alerts", n, "builtin", len(e.builtin), "saved_at", st.SavedAt, "file", e.state.Path())
	}
}

func ruleKey(file, group, ruleName string) string {
	return statestore.Key(file, group, ruleName, nil)
}

// Run evaluates the groups until ctx ends, then saves the state.
func (e *Evaluator) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running {
		e.mu.Unlock()
		return errors.New("evaluator: already running")
	}
	e.running = true
	e.runCtx = ctx
	e.startLocked()
	e.mu.Unlock()
	e.ready.Store(true)
	e.log.Info("evaluator started", "groups", len(e.groups))

	<-ctx.Done()
	e.ready.Store(false)
	e.mu.Lock()
	e.stopLocked()
	e.running = false
	e.mu.Unlock()
	e.runWG.Wait()
	if err := e.persist(true); err != nil {
		return fmt.Errorf("evaluator: final state save: %w", err)
	}
	return nil
}

// Ready tells whether the groups are running.
func (e *Evaluator) Ready() bool { return e.ready.Load() }

// startLocked starts the group loops and the embedded scraper.
func (e *Evaluator) startLocked() {
	for _, g := range e.groups {
		gctx, cancel := context.WithCancel(e.runCtx)
		g.cancel = cancel
		g.done = make(chan struct{})
		e.runWG.Add(1)
		go func() {
			defer e.runWG.Done()
			e.loop(gctx, g)
		}()
	}
	if emb := e.cfg.Datasource.Embedded; emb != nil {
		sctx, cancel := context.WithCancel(e.runCtx)
		e.stopScrape = cancel
		e.runWG.Add(1)
		go func() {
			defer e.runWG.Done()
			e.scrape(sctx, emb.Targets)
		}()
	}
}

func (e *Evaluator) stopLocked() {
	for _, g := range e.groups {
		if g.cancel != nil {
			g.cancel()
		}
	}
	if e.stopScrape != nil {
		e.stopScrape()
		e.stopScrape = nil
	}
}

// Reload re-reads the config and its rule files. A config that does not
// load or build is rejected: the running one keeps going and the error is
// kept in Status().LastReloadError. Groups whose file, name, rules and
// settings did not change keep their rule objects and state; rules of
// changed groups get back the alerts of their same-named predecessor.
func (e *Evaluator) Reload(ctx context.Context) error {
	var cfg *config.Config
	var err error
	e.mu.Lock()
	path := e.cfg.Path
	e.mu.Unlock()
	if e.deps.Load != nil {
		cfg, err = e.deps.Load(ctx)
	} else {
		cfg, err = config.LoadFile(path)
	}
	var groups []*group
	if err == nil {
		groups, err = e.build(cfg)
	}
	if err != nil {
		err = fmt.Errorf("reload rejected, keeping the running config: %w", err)
		e.mu.Lock()
		e.reloadErr = err.Error()
		e.mu.Unlock()
		e.log.Error("reload failed", "err", err)
		return err
	}

	e.mu.Lock()
	old := e.groups
	running := e.running
	if running {
		e.stopLocked()
	}
	e.mu.Unlock()
	// Wait for the old loops to finish their evaluation in progress.
	for _, g := range old {
		if g.done != nil {
			<-g.done
		}
	}

	oldByKey := map[string]*group{}
	for _, g := range old {
		oldByKey[g.key] = g
	}
	kept, carried := 0, 0
	for _, g := range groups {
		og, ok := oldByKey[g.key]
		if !ok {
			continue
		}
		og.evalMu.Lock()
		if og.sig.equal(g.sig) {
			g.g = og.g // same rule objects, same state
			og.mu.Lock()
			g.lastEval, g.lastDur, g.lastErr, g.missed = og.lastEval, og.lastDur, og.lastErr, og.missed
			og.mu.Unlock()
			kept++
		} else {
			prev := map[string][]rule.Alert{}
			for _, ar := range og.g.AlertingRules() {
				prev[ar.Name()] = ar.Alerts()
			}
			for _, ar := range g.g.AlertingRules() {
				if as := prev[ar.Name()]; len(as) > 0 {
					ar.Restore(as)
					carried++
				}
			}
		}
		og.evalMu.Unlock()
		g.evalMu.Lock()
		g.refresh()
		g.evalMu.Unlock()
	}

	e.mu.Lock()
	e.cfg, e.groups, e.loaded, e.reloadErr = cfg, groups, time.Now(), ""
	e.resetDatasources(cfg)
	e.announce(old, groups)
	if running && e.runCtx.Err() == nil {
		e.startLocked()
	}
	e.mu.Unlock()
	e.log.Info("config reloaded", "groups", len(groups), "unchanged", kept, "alerts_carried", carried)
	if err := e.persist(false); err != nil {
		e.log.Error("save state after reload", "err", err)
	}
	return nil
}

// announce starts the metrics of new groups and datasources at 0 and
// drops those of removed groups. Called with e.mu held (or before Run).
func (e *Evaluator) announce(old, groups []*group) {
	m := e.deps.Metrics
	if m == nil {
		return
	}
	now := map[string]bool{}
	for _, g := range groups {
		now[g.def.Name] = true
		m.AddGroup(g.def.Name)
	}
	for _, g := range old {
		if !now[g.def.Name] {
			m.RemoveGroup(g.def.Name)
		}
	}
	for name := range e.ds {
		m.AddDatasource(name)
	}
}

// Status returns a fresh snapshot.
func (e *Evaluator) Status() alert.Status {
	e.mu.Lock()
	groups := slices.Clone(e.groups)
	st := alert.Status{ConfigLoaded: e.loaded, LastReloadError: e.reloadErr}
	for _, name := range sortedKeys(e.ds) {
		h := e.ds[name]
		st.Datasources = append(st.Datasources, alert.DatasourceStatus{
			Name: name, Kind: name, URL: h.url, Up: h.failures == 0 && h.evaluated,
			ConsecutiveFailures: h.failures, LastError: h.lastErr,
		})
	}
	builtin := make([]rule.Alert, 0, len(e.builtin))
	for _, a := range e.builtin {
		c := *a
		c.Labels = a.Labels.Copy()
		builtin = append(builtin, c)
	}
	e.mu.Unlock()
	for _, g := range groups {
		st.Groups = append(st.Groups, g.status())
	}
	slices.SortFunc(builtin, func(a, b rule.Alert) int { return series.Compare(a.Labels, b.Labels) })
	st.Groups = append(st.Groups, alert.GroupStatus{
		Name: builtinGroup, File: builtinFile, Type: alert.GroupTypeBuiltin,
		Rules: []alert.RuleStatus{{
			Name: DatasourceDownAlert, Kind: "alerting", Expr: "(built in: a datasource failed datasource_down_after evaluations in a row)",
			Health: "ok", Labels: map[string]string{"severity": "critical"}, Alerts: builtin,
		}},
	})
	return st
}

package evaluator

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
)

// Datasource names, as the built-in alert's datasource label shows them.
const (
	DSVictoriaMetrics = "victoriametrics"
	DSLoki            = "loki"
	DSEmbedded        = "embedded"
	DSEmbeddedLogQL   = "embedded-logql" // LogQL over the pushed log lines
)

// group is one scheduled rule group.
type group struct {
	key  string // file + name
	file string
	def  rulefmt.Group
	sig  signature
	ds   string
	q    rule.Querier
	emb  *embeddedEngine // embedded mode only

	cancel context.CancelFunc
	done   chan struct{}

	evalMu sync.Mutex // held while g's rules evaluate or change
	g      *rule.Group

	mu         sync.Mutex // guards the fields below, never held long
	lastEval   time.Time
	lastDur    time.Duration
	lastErr    string
	missed     uint64
	snapRules  []alert.RuleStatus // as of the last evaluation
	snapAlerts map[string]ref     // as of the last evaluation
}

// signature is what makes a group "unchanged" across a reload: its name,
// file, settings and rules, without positions.
type signature struct {
	File, Name, Type                string
	Interval, EvalOffset, EvalDelay time.Duration
	Limit, Concurrency              int
	Labels                          map[string]string
	Params                          map[string][]string
	Alignment                       *bool
	Rules                           []ruleSig
	DS                              string
}

type ruleSig struct {
	Alert, Record, Expr string
	For, KeepFiringFor  time.Duration
	Labels, Annotations map[string]string
}

func (s signature) equal(o signature) bool { return reflect.DeepEqual(s, o) }

func makeSignature(file string, g rulefmt.Group, interval time.Duration, ds string) signature {
	s := signature{
		File: file, Name: g.Name, Type: g.Type, Interval: interval, EvalOffset: g.EvalOffset,
		EvalDelay: g.EvalDelay, Limit: g.Limit, Concurrency: g.Concurrency, Labels: g.Labels,
		Params: g.Params, Alignment: g.EvalAlignment, DS: ds,
	}
	for _, r := range g.Rules {
		s.Rules = append(s.Rules, ruleSig{r.Alert, r.Record, r.Expr, r.For, r.KeepFiringFor, r.Labels, r.Annotations})
	}
	return s
}

// build loads the rule files of cfg and builds every group with its
// querier. Nothing is shared with the running groups.
func (e *Evaluator) build(cfg *config.Config) ([]*group, error) {
	files, errs := rulefmt.LoadGlobs(cfg.RuleFiles)
	if len(errs) > 0 {
		return nil, fmt.Errorf("rule files: %w", errors.Join(errs...))
	}
	opts := rule.GroupOptions{
		Labels: cfg.ExternalLabels, ExternalLabels: cfg.ExternalLabels, ExternalURL: cfg.ExternalURL,
		DefaultInterval: cfg.EvaluationInterval, ParseTemplate: rule.VMTemplates,
	}
	var engine *embeddedEngine
	if cfg.Datasource.Embedded != nil {
		var err error
		if engine, err = newEmbeddedEngine(e.store); err != nil {
			return nil, err
		}
		engine.logs = lqlengine.New(e.logStore)
	}
	var groups []*group
	for _, f := range files {
		for _, def := range f.Groups {
			where := fmt.Sprintf("%s: group %q", def.Pos, def.Name)
			if def.Pos.File == "" {
				where = fmt.Sprintf("%s: group %q", f.Path, def.Name)
			}
			if len(def.Rules) == 0 {
				continue
			}
			if def.Name == builtinGroup {
				errs = append(errs, fmt.Errorf("%s: the group name %q is reserved for hlalert's built-in alerts", where, builtinGroup))
				continue
			}
			if err := checkUnsupported(def); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			rg, err := rule.NewGroup(f.Path, def, opts)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			ds, err := datasourceFor(cfg, def)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			q, err := e.querier(cfg, engine, ds, def, rg.Interval)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			groups = append(groups, &group{
				key: f.Path + "\x00" + def.Name, file: f.Path, def: def, ds: ds, q: q, g: rg,
				sig: makeSignature(f.Path, def, rg.Interval, ds), emb: engineIf(ds, engine),
			})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if engine != nil {
		engine.setRetention(retentionFor(groups))
		engine.logRetention = logRetentionFor(groups)
	}
	return groups, nil
}

func engineIf(ds string, e *embeddedEngine) *embeddedEngine {
	if ds == DSEmbedded || ds == DSEmbeddedLogQL {
		return e
	}
	return nil
}

// checkUnsupported rejects vmalert group keys the daemon does not honour,
// rather than ignoring them.
func checkUnsupported(def rulefmt.Group) error {
	if len(def.Headers) > 0 {
		return errors.New("headers: not supported by hlalert run (set datasource auth in the config)")
	}
	if len(def.NotifierHeaders) > 0 {
		return errors.New("notifier_headers: not supported by hlalert run")
	}
	return nil
}

func datasourceFor(cfg *config.Config, def rulefmt.Group) (string, error) {
	switch def.Type {
	case rulefmt.TypeLogQL:
		switch {
		case cfg.Datasource.Loki != nil:
			return DSLoki, nil
		case cfg.Datasource.Embedded != nil:
			return DSEmbeddedLogQL, nil
		}
		return "", errors.New("type logql needs datasource.loki or datasource.embedded (lines pushed to /loki/api/v1/push) in the config")
	default:
		switch {
		case cfg.Datasource.VictoriaMetrics != nil:
			return DSVictoriaMetrics, nil
		case cfg.Datasource.Embedded != nil:
			if len(def.Params) > 0 {
				return "", errors.New("params: not supported by the embedded engine")
			}
			return DSEmbedded, nil
		}
		return "", errors.New("MetricsQL group needs datasource.victoriametrics or datasource.embedded in the config")
	}
}

// jitter spreads groups over their interval, the same for a group name on
// every start (vmalert hashes the group too).
func jitter(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// loop runs g on its interval until ctx ends. Ticks are at
// k*interval + offset (eval_offset, or a jitter hashed from the name); the
// evaluation time is the tick aligned to the interval unless
// eval_alignment is false, minus eval_delay. A tick that comes while the
// previous evaluation still runs is skipped and counted as missed.
func (e *Evaluator) loop(ctx context.Context, g *group) {
	defer close(g.done)
	interval := g.g.Interval
	offset := g.def.EvalOffset
	if offset == 0 {
		offset = jitter(g.def.Name, interval)
	}
	offset %= interval
	now := time.Now()
	next := now.Truncate(interval).Add(offset)
	if next.Before(now) {
		next = next.Add(interval)
	}
	t := time.NewTimer(next.Sub(now))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ts := next
		if g.def.EvalAlignment == nil || *g.def.EvalAlignment {
			ts = ts.Add(-offset)
		}
		ts = ts.Add(-g.def.EvalDelay)
		e.evalGroup(ctx, g, ts)
		next = next.Add(interval)
		now = time.Now()
		if !now.Before(next) {
			skipped := uint64(now.Sub(next)/interval) + 1
			next = next.Add(time.Duration(skipped) * interval)
			g.mu.Lock()
			g.missed += skipped
			g.mu.Unlock()
			if m := e.deps.Metrics; m != nil {
				m.MissedIterations(g.def.Name, int(skipped))
			}
			e.log.Warn("group evaluation overran its interval", "group", g.def.Name, "skipped", skipped)
		}
		t.Reset(next.Sub(now))
	}
}

// evalRules runs the group's rules: in order through rule.Group.Eval, or
// with up to concurrency rules at once (each rule object still evaluates
// alone).
func (g *group) evalRules(ctx context.Context, ts time.Time) ([]series.Point, []error) {
	if g.def.Concurrency <= 1 || len(g.g.Rules) < 2 {
		return g.g.Eval(ctx, g.q, ts)
	}
	pts := make([][]series.Point, len(g.g.Rules))
	errs := make([]error, len(g.g.Rules))
	sem := make(chan struct{}, g.def.Concurrency)
	var wg sync.WaitGroup
	for i, r := range g.g.Rules {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p, err := r.Eval(ctx, g.q, ts, g.g.Limit)
			if err != nil {
				errs[i] = fmt.Errorf("rule %q: %w", r.Name(), err)
				return
			}
			pts[i] = p
		}()
	}
	wg.Wait()
	var out []series.Point
	for _, p := range pts {
		out = append(out, p...)
	}
	var es []error
	for _, err := range errs {
		if err != nil {
			es = append(es, err)
		}
	}
	return out, es
}

// refresh snapshots the rules' health and alerts for Status and persist,
// so that neither waits for an evaluation. Called with g.evalMu held; it
// returns the alerts by key.
func (g *group) refresh() map[string]ref {
	rules := make([]alert.RuleStatus, 0, len(g.g.Rules))
	for i, r := range g.g.Rules {
		rs := alert.RuleStatus{Name: r.Name(), Expr: r.Expr(), Health: "unknown"}
		if i < len(g.def.Rules) {
			d := g.def.Rules[i]
			// Shared with the definition, which never changes; status
			// copies them on the way out.
			rs.Labels, rs.Annotations = d.Labels, d.Annotations
			rs.For, rs.KeepFiringFor = d.For, d.KeepFiringFor
		}
		h := r.Health()
		rs.LastEval = h.LastEval
		switch {
		case h.Err != nil:
			rs.Health, rs.LastError = "err", h.Err.Error()
		case !h.LastEval.IsZero():
			rs.Health = "ok"
		}
		if ar, ok := r.(*rule.AlertingRule); ok {
			rs.Kind = "alerting"
			rs.Alerts = ar.Alerts()
		} else {
			rs.Kind = "recording"
		}
		rules = append(rules, rs)
	}
	alerts := g.alerts()
	g.mu.Lock()
	g.snapRules, g.snapAlerts = rules, alerts
	g.mu.Unlock()
	return alerts
}

// status returns a deep copy of the last snapshot.
func (g *group) status() alert.GroupStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	typ := alert.GroupTypeMetricsQL
	if g.def.Type == rulefmt.TypeLogQL {
		typ = alert.GroupTypeLogQL
	}
	gs := alert.GroupStatus{
		Name: g.def.Name, File: g.file, Type: typ, Interval: g.g.Interval,
		LastEval: g.lastEval, LastDuration: g.lastDur, LastError: g.lastErr, Missed: g.missed,
	}
	for _, r := range g.snapRules {
		c := r
		c.Labels, c.Annotations = maps.Clone(r.Labels), maps.Clone(r.Annotations)
		c.Alerts = make([]rule.Alert, len(r.Alerts))
		for i, a := range r.Alerts {
			a.Labels = a.Labels.Copy()
			a.Annotations = maps.Clone(a.Annotations)
			c.Alerts[i] = a
		}
		gs.Rules = append(gs.Rules, c)
	}
	return gs
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

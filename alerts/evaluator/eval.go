package evaluator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/statestore"
)

func builtinKey(ls series.Labels) string {
	return statestore.Key(builtinFile, builtinGroup, DatasourceDownAlert, ls)
}

// ref is one alert with where it belongs.
type ref struct {
	file, group, rule string
	alert             rule.Alert
}

func (r ref) key() string { return statestore.Key(r.file, r.group, r.rule, r.alert.Labels) }

// alerts returns the group's alerts by key. Called with g.evalMu held.
func (g *group) alerts() map[string]ref {
	out := map[string]ref{}
	for _, ar := range g.g.AlertingRules() {
		for _, a := range ar.Alerts() {
			r := ref{g.file, g.def.Name, ar.Name(), a}
			out[r.key()] = r
		}
	}
	return out
}

// builtinAlerts returns copies of the built-in alerts. Called with e.mu held.
func (e *Evaluator) builtinAlerts() map[string]ref {
	out := map[string]ref{}
	for k, a := range e.builtin {
		c := *a
		c.Labels = a.Labels.Copy()
		c.Annotations = maps.Clone(a.Annotations)
		out[k] = ref{builtinFile, builtinGroup, DatasourceDownAlert, c}
	}
	return out
}

// evalGroup evaluates g at ts and does everything that follows: write
// back the samples, account the datasource's health, report state
// changes, persist, notify.
func (e *Evaluator) evalGroup(ctx context.Context, g *group, ts time.Time) {
	g.evalMu.Lock()
	before := g.alerts()
	start := time.Now()
	pts, errs := g.evalRules(ctx, ts)
	dur := time.Since(start)
	after := g.refresh()
	g.evalMu.Unlock()
	g.mu.Lock()
	g.lastEval, g.lastDur, g.lastErr = ts, dur, ""
	if err := errors.Join(errs...); err != nil {
		g.lastErr = err.Error()
	}
	g.mu.Unlock()
	log := e.log.With("group", g.def.Name, "ts", ts)

	failed, msg := false, ""
	for _, err := range errs {
		if unreachable(err) {
			failed, msg = true, err.Error()
			break
		}
	}
	if m := e.deps.Metrics; m != nil {
		m.ObserveEvaluation(g.def.Name, dur, len(errs) > 0)
		if failed {
			m.DatasourceError(g.ds)
		}
		pending, firing := 0, 0
		for _, r := range after {
			switch r.alert.State {
			case rule.StatePending:
				pending++
			case rule.StateFiring:
				firing++
			}
		}
		m.SetAlerts(g.def.Name, pending, firing)
	}
	if len(errs) > 0 {
		log.Warn("group evaluation had errors", "errors", len(errs), "datasource_unreachable", failed, "first", errs[0])
	}
	if ctx.Err() != nil && len(errs) > 0 {
		// Stopped (shutdown or reload) mid-evaluation: the errors say
		// nothing about the datasource.
		failed = false
	}
	e.write(ctx, g, pts)

	e.mu.Lock()
	bBefore := e.builtinAlerts()
	if ctx.Err() == nil {
		e.datasourceResult(g.ds, failed, msg, ts)
	}
	bAfter := e.builtinAlerts()
	e.mu.Unlock()

	changes := diff(before, after, ts)
	changes = append(changes, diff(bBefore, bAfter, ts)...)
	if len(changes) > 0 && e.deps.StateSink != nil {
		e.deps.StateSink.StateChanged(ctx, changes)
	}
	if err := e.persist(false); err != nil {
		log.Error("save alert state", "err", err)
	}
	e.notify(context.WithoutCancel(ctx), after, bAfter)
	if e.deps.AfterEval != nil && ctx.Err() == nil {
		e.deps.AfterEval(ctx, g.def.Name, len(errs) == 0)
	}
}

// write hands recorded samples and ALERTS series on: to the embedded store
// in standalone mode, else to the Writer.
func (e *Evaluator) write(ctx context.Context, g *group, pts []series.Point) {
	if len(pts) == 0 {
		return
	}
	if g.ds == DSEmbedded || g.ds == DSEmbeddedLogQL {
		for _, p := range pts {
			if err := e.store.Append(p.Labels, p.T, p.V); err != nil {
				e.log.Warn("append recorded sample", "group", g.def.Name, "series", p.Labels.String(), "err", err)
			}
		}
		return
	}
	if e.deps.Writer == nil {
		e.noWriter.Do(func() {
			e.log.Warn("no writer configured: recorded samples and ALERTS series are dropped", "group", g.def.Name)
		})
		return
	}
	if err := e.deps.Writer.Write(ctx, pts); err != nil {
		e.log.Error("write recorded samples", "group", g.def.Name, "samples", len(pts), "err", err)
	}
}

// diff lists the state changes between two views of the same alerts. An
// alert that appears is a change from inactive; one that disappears (a
// pending alert whose condition cleared) a change to inactive.
func diff(before, after map[string]ref, ts time.Time) []alert.StateChange {
	var out []alert.StateChange
	for _, k := range sortedKeys(after) {
		a := after[k]
		from := rule.StateInactive
		if b, ok := before[k]; ok {
			from = b.alert.State
		}
		if from != a.alert.State {
			out = append(out, alert.StateChange{Group: a.group, Rule: a.rule, From: from, To: a.alert.State, Alert: a.alert, At: ts})
		}
	}
	for _, k := range sortedKeys(before) {
		b := before[k]
		if _, ok := after[k]; !ok && b.alert.State != rule.StateInactive {
			gone := b.alert
			gone.State = rule.StateInactive
			gone.ResolvedAt = ts
			out = append(out, alert.StateChange{Group: b.group, Rule: b.rule, From: b.alert.State, To: rule.StateInactive, Alert: gone, At: ts})
		}
	}
	return out
}

// notify sends what is due: alerts firing that were not announced as
// firing, and alerts resolved that were announced as firing. What was sent
// is persisted with the state, so a restart neither repeats nor loses a
// notification. A failed Notify is retried after the next evaluation.
func (e *Evaluator) notify(ctx context.Context, views ...map[string]ref) {
	var due []alert.Notification
	var keys []string
	var states []rule.State
	e.mu.Lock()
	extURL := e.cfg.ExternalURL
	for _, v := range views {
		for _, k := range sortedKeys(v) {
			r := v[k]
			s, sent := e.sent[k]
			switch {
			case r.alert.State == rule.StateFiring && (!sent || s.state != rule.StateFiring):
			case r.alert.State == rule.StateInactive && sent && s.state == rule.StateFiring:
			default:
				continue
			}
			due = append(due, alert.Notification{Group: r.group, Rule: r.rule, Alert: r.alert, ExternalURL: extURL})
			keys = append(keys, k)
			states = append(states, r.alert.State)
		}
	}
	e.mu.Unlock()
	if len(due) == 0 {
		return
	}
	if e.deps.Notifier != nil {
		if err := e.deps.Notifier.Notify(ctx, due); err != nil {
			e.log.Error("notify failed; retrying after the next evaluation", "alerts", len(due), "err", err)
			if m := e.deps.Metrics; m != nil {
				m.NotificationsFailed(len(due))
			}
			return
		}
		if m := e.deps.Metrics; m != nil {
			m.NotificationsSent(len(due))
		}
	} else {
		for _, n := range due {
			e.log.Info("notification (no notifier configured)", "group", n.Group, "rule", n.Rule,
				"state", n.Alert.State.String(), "labels", n.Alert.Labels.String(), "active_at", n.Alert.ActiveAt)
		}
	}
	now := time.Now()
	e.mu.Lock()
	for i, k := range keys {
		e.sent[k] = sentInfo{now, states[i]}
	}
	e.mu.Unlock()
	if err := e.persist(false); err != nil {
		e.log.Error("save alert state after notifying", "err", err)
	}
}

// persist writes the state file when the alert states or what was
// notified changed since the last save (or always, when force).
func (e *Evaluator) persist(force bool) error {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	groups := e.groups
	all := e.builtinAlerts()
	e.mu.Unlock()
	// persist runs after every group evaluation: gather the alerts into
	// one presized map and build the state to save only when it changed.
	n := len(all)
	for _, g := range groups {
		g.mu.Lock()
		n += len(g.snapAlerts)
		g.mu.Unlock()
	}
	if n > len(all) {
		grown := make(map[string]ref, n)
		maps.Copy(grown, all)
		all = grown
	}
	for _, g := range groups {
		g.mu.Lock()
		maps.Copy(all, g.snapAlerts)
		g.mu.Unlock()
	}
	e.mu.Lock()
	changed := force || len(all) != len(e.lastSaved)
	for k, r := range all {
		if changed {
			break
		}
		old, ok := e.lastSaved[k]
		changed = !ok || !sameState(old, r.alert) || e.savedSent[k] != e.sent[k]
	}
	if !changed {
		e.mu.Unlock()
		return nil
	}
	st := statestore.State{SavedAt: time.Now(), Entries: make([]statestore.Entry, 0, len(all))}
	view := make(map[string]rule.Alert, len(all))
	for _, k := range sortedKeys(all) {
		r := all[k]
		s := e.sent[k]
		st.Entries = append(st.Entries, statestore.Entry{File: r.file, Group: r.group, Rule: r.rule, Alert: r.alert, LastSentAt: s.at, LastSentState: s.state})
		v := r.alert
		v.LastValue, v.Annotations, v.ID = 0, nil, 0
		view[k] = v
	}
	e.mu.Unlock()
	if err := e.state.Save(st); err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	e.mu.Lock()
	e.lastSaved = view
	e.savedSent = maps.Clone(e.sent)
	e.mu.Unlock()
	return nil
}

func sameState(a, b rule.Alert) bool {
	return a.State == b.State && a.ActiveAt.Equal(b.ActiveAt) && a.FiredAt.Equal(b.FiredAt) &&
		a.ResolvedAt.Equal(b.ResolvedAt) && a.KeepFiringSince.Equal(b.KeepFiringSince)
}

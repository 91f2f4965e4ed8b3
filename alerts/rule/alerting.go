package rule

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// AlertingRule is an alerting rule with its alerts. It is not safe for
// concurrent Eval calls; a group evaluates its rules one at a time.
type AlertingRule struct {
	name          string
	group         string // the group name, "" when the alertgroup label is disabled
	groupID       uint64
	expr          string
	forDur        time.Duration
	keepFiringFor time.Duration
	interval      time.Duration
	labels        []tmplField // sorted by name
	annotations   []tmplField // sorted by name
	extLabels     map[string]string
	extURL        string
	noExported    bool // Prometheus labelling: no exported_NAME labels

	alerts map[uint64]*Alert
	health Health
}

// tmplField is a label or annotation: a literal or a parsed template.
type tmplField struct {
	name, text string
	t          Template // nil: text is used as is
}

func (f tmplField) expand(ctx context.Context, d TemplateData, q TemplateQueryFunc) (string, error) {
	if f.t == nil {
		return f.text, nil
	}
	s, err := f.t.Execute(ctx, d, q)
	if err != nil {
		return s, fmt.Errorf("%s: %w", f.name, err)
	}
	return s, nil
}

func parseFields(kind, rule string, m map[string]string, parse TemplateParser) ([]tmplField, error) {
	out := make([]tmplField, 0, len(m))
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		f := tmplField{name: k, text: m[k]}
		if strings.Contains(f.text, "{{") {
			if parse == nil {
				errs = append(errs, fmt.Errorf("rule %q: %s %q is a template but no template parser was given", rule, kind, k))
				continue
			}
			t, err := parse(rule+"/"+kind+"/"+k, f.text)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: %s %q: %w", rule, kind, k, err))
				continue
			}
			f.t = t
		}
		out = append(out, f)
	}
	return out, errors.Join(errs...)
}

// Name is the alert name.
func (ar *AlertingRule) Name() string { return ar.name }

// Expr is the rule's query.
func (ar *AlertingRule) Expr() string { return ar.expr }

// Health reports the last evaluation.
func (ar *AlertingRule) Health() Health { return ar.health }

// Alerts returns copies of the rule's alerts (all states), sorted by labels.
func (ar *AlertingRule) Alerts() []Alert {
	out := make([]Alert, 0, len(ar.alerts))
	for _, a := range ar.alerts {
		c := *a
		c.Labels = a.Labels.Copy()
		c.Annotations = maps.Clone(a.Annotations)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Alert) int { return series.Compare(a.Labels, b.Labels) })
	return out
}

// Restore replaces the rule's alerts with persisted ones (the daemon calls it
// at start-up). IDs are recomputed from the labels.
func (ar *AlertingRule) Restore(alerts []Alert) {
	ar.alerts = make(map[uint64]*Alert, len(alerts))
	for _, a := range alerts {
		c := a
		c.Labels = a.Labels.Copy()
		c.Annotations = maps.Clone(a.Annotations)
		c.ID = hashLabels(c.Labels)
		ar.alerts[c.ID] = &c
	}
}

// labelSet mirrors vmalert's: origin holds the query result's labels (what
// $labels shows), processed the alert's labels.
type labelSet struct {
	origin     map[string]string
	processed  map[string]string
	noExported bool
}

// add sets a rule label: an empty value removes the label; a value that
// differs from the result's keeps the result's as exported_NAME.
func (ls *labelSet) add(k, v string) {
	if v == "" {
		delete(ls.processed, k)
		return
	}
	ls.processed[k] = v
	ov, ok := ls.origin[k]
	if !ok {
		ls.origin[k] = v
		return
	}
	if ov != v && !ls.noExported {
		ls.processed["exported_"+k] = ov
	}
}

func (ar *AlertingRule) toLabels(ctx context.Context, p series.Point, ts time.Time, q TemplateQueryFunc) (*labelSet, error) {
	ls := &labelSet{origin: make(map[string]string, len(p.Labels)), processed: make(map[string]string, len(p.Labels)+len(ar.labels)+2), noExported: ar.noExported}
	for _, l := range p.Labels {
		ls.origin[l.Name] = l.Value
		if l.Name != series.MetricName {
			ls.processed[l.Name] = l.Value
		}
	}
	d := TemplateData{Labels: maps.Clone(ls.origin), Value: p.V, Expr: ar.expr, ExternalLabels: ar.extLabels, ExternalURL: ar.extURL, Interval: ar.interval, Now: ts}
	var errs []error
	vals := make([]string, len(ar.labels))
	for i, f := range ar.labels {
		v, err := f.expand(ctx, d, q)
		if err != nil {
			errs = append(errs, err)
		}
		vals[i] = v
	}
	for i, f := range ar.labels {
		ls.add(f.name, vals[i])
	}
	ls.add(AlertNameLabel, ar.name)
	if ar.group != "" {
		ls.add(AlertGroupNameLabel, ar.group)
	}
	if err := errors.Join(errs...); err != nil {
		return ls, fmt.Errorf("expand label templates: %w", err)
	}
	return ls, nil
}

// Eval evaluates the rule at ts and advances its alerts' states. It returns
// the ALERTS and ALERTS_FOR_STATE samples (and staleness markers) to write.
// A query error marks the rule unhealthy and leaves its alerts untouched.
// A template error marks the rule unhealthy but the alerts are still updated
// (as vmalert does); it is not returned as an error.
func (ar *AlertingRule) Eval(ctx context.Context, q Querier, ts time.Time, limit int) ([]series.Point, error) {
	res, err := q.Query(ctx, ar.expr, ts)
	ar.health = Health{LastEval: ts, Samples: len(res)}
	if err != nil {
		ar.health.Err = fmt.Errorf("query %q: %w", ar.expr, err)
		return nil, ar.health.Err
	}
	if len(res) == 0 {
		ar.releaseTemplates()
	}
	tq := func(ctx context.Context, expr string) (series.Vector, error) { return q.Query(ctx, expr, ts) }

	type result struct {
		ls    series.Labels
		id    uint64
		value float64
		annos map[string]string
	}
	results := make([]result, 0, len(res))
	seen := make(map[uint64]struct{}, len(res))
	var tmplErrs []error
	for _, p := range res {
		ls, err := ar.toLabels(ctx, p, ts, tq)
		if err != nil {
			tmplErrs = append(tmplErrs, err)
		}
		labels := series.FromMap(ls.processed)
		id := hashLabels(labels)
		if _, dup := seen[id]; dup {
			ar.health.Err = fmt.Errorf("labels %s: %w", labels, ErrDuplicate)
			return nil, ar.health.Err
		}
		seen[id] = struct{}{}
		at := ts
		if a, ok := ar.alerts[id]; ok && a.State != StateInactive {
			at = a.ActiveAt
		}
		d := TemplateData{
			Labels: ls.origin, Value: p.V, Expr: ar.expr, ActiveAt: at, For: ar.forDur,
			AlertID: id, GroupID: ar.groupID, ExternalLabels: ar.extLabels, ExternalURL: ar.extURL,
			Interval: ar.interval, Now: ts,
		}
		annos := make(map[string]string, len(ar.annotations))
		for _, f := range ar.annotations {
			v, err := f.expand(ctx, d, tq)
			if err != nil {
				tmplErrs = append(tmplErrs, fmt.Errorf("expand annotation templates: %w", err))
			}
			annos[f.name] = v
		}
		results = append(results, result{labels, id, p.V, annos})
	}
	if len(tmplErrs) > 0 {
		ar.health.Err = errors.Join(tmplErrs...)
	}

	if ar.alerts == nil {
		ar.alerts = map[uint64]*Alert{}
	}
	for id, a := range ar.alerts {
		if a.State == StateInactive && ts.Sub(a.ResolvedAt) > ResolvedRetention {
			delete(ar.alerts, id)
		}
	}
	for _, r := range results {
		if a, ok := ar.alerts[r.id]; ok {
			if a.State == StateInactive {
				a.State = StatePending
				a.ActiveAt = ts
				a.FiredAt = time.Time{}
				a.ResolvedAt = time.Time{}
			}
			a.LastValue = r.value
			a.Annotations = r.annos
			a.KeepFiringSince = time.Time{}
			continue
		}
		ar.alerts[r.id] = &Alert{
			ID: r.id, Labels: r.ls, Annotations: r.annos, State: StatePending,
			ActiveAt: ts, LastValue: r.value,
		}
	}

	tsMs := ts.Unix() * 1000 // vmalert writes these at whole seconds
	var out []series.Point
	active := 0
	for _, id := range sortedIDs(ar.alerts) {
		a := ar.alerts[id]
		if _, ok := seen[id]; !ok {
			switch a.State {
			case StatePending:
				out = append(out, stalePoint(a.Labels, AlertsMetric, StatePending, tsMs), stalePoint(a.Labels, AlertsForStateMetric, -1, tsMs))
				delete(ar.alerts, id)
				continue
			case StateFiring:
				if ar.keepFiringFor > 0 && a.KeepFiringSince.IsZero() {
					a.KeepFiringSince = ts
				}
				if ts.Sub(a.KeepFiringSince) >= ar.keepFiringFor {
					a.State = StateInactive
					a.ResolvedAt = ts
					out = append(out, stalePoint(a.Labels, AlertsMetric, StateFiring, tsMs), stalePoint(a.Labels, AlertsForStateMetric, -1, tsMs))
					continue
				}
			case StateInactive:
				continue
			}
		}
		active++
		if a.State == StatePending && ts.Sub(a.ActiveAt) >= ar.forDur {
			a.State = StateFiring
			a.FiredAt = ts
			if ar.forDur > 0 {
				out = append(out, stalePoint(a.Labels, AlertsMetric, StatePending, tsMs))
			}
		}
	}
	if limit > 0 && active > limit {
		ar.alerts = map[uint64]*Alert{}
		ar.health.Err = fmt.Errorf("exec exceeded limit of %d with %d alerts", limit, active)
		return nil, ar.health.Err
	}
	for _, id := range sortedIDs(ar.alerts) {
		a := ar.alerts[id]
		if a.State == StateInactive {
			continue
		}
		out = append(out,
			series.Point{Labels: alertsLabels(a.Labels, AlertsMetric, a.State), T: tsMs, V: 1},
			series.Point{Labels: alertsLabels(a.Labels, AlertsForStateMetric, -1), T: tsMs, V: float64(a.ActiveAt.Unix())},
		)
	}
	return out, nil
}

func sortedIDs(m map[uint64]*Alert) []uint64 {
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return series.Compare(m[ids[i]].Labels, m[ids[j]].Labels) < 0 })
	return ids
}

// alertsLabels builds the labels of an ALERTS (state >= 0: with alertstate)
// or ALERTS_FOR_STATE (state < 0) series.
func alertsLabels(ls series.Labels, metric string, state State) series.Labels {
	out := make(series.Labels, 0, len(ls)+2)
	for _, l := range ls {
		if l.Name == series.MetricName || (state >= 0 && l.Name == AlertStateLabel) {
			continue
		}
		out = append(out, l)
	}
	out = append(out, series.Label{Name: series.MetricName, Value: metric})
	if state >= 0 {
		out = append(out, series.Label{Name: AlertStateLabel, Value: state.String()})
	}
	out.Sort()
	return out
}

func stalePoint(ls series.Labels, metric string, state State, tsMs int64) series.Point {
	return series.Point{Labels: alertsLabels(ls, metric, state), T: tsMs, V: series.StaleNaN}
}

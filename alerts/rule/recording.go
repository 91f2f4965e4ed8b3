package rule

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// RecordingRule records its query's result under a new metric name.
type RecordingRule struct {
	name   string
	expr   string
	labels map[string]string // not templated, as in vmalert

	noExported bool // Prometheus labelling: no exported_NAME labels

	last   map[string]series.Labels // series written by the last successful evaluation
	health Health
}

// Name is the recorded metric name.
func (rr *RecordingRule) Name() string { return rr.name }

// Expr is the rule's query.
func (rr *RecordingRule) Expr() string { return rr.expr }

// Health reports the last evaluation.
func (rr *RecordingRule) Health() Health { return rr.health }

// relabel applies vmalert's recording rule labelling: __name__ is the record
// name; a rule label with an empty value removes the label; a rule label that
// conflicts with a result label renames the result's to exported_NAME.
func (rr *RecordingRule) relabel(in series.Labels) series.Labels {
	m := make(map[string]string, len(in)+len(rr.labels)+1)
	for _, l := range in {
		m[l.Name] = l.Value
	}
	m[series.MetricName] = rr.name
	for _, k := range slices.Sorted(maps.Keys(rr.labels)) {
		v := rr.labels[k]
		if v == "" {
			delete(m, k)
			continue
		}
		if old, ok := m[k]; ok && old != v && !rr.noExported {
			m["exported_"+k] = old
		}
		m[k] = v
	}
	return series.FromMap(m)
}

// Eval evaluates the rule at ts and returns the samples to write: the
// relabelled results and staleness markers for series that disappeared.
func (rr *RecordingRule) Eval(ctx context.Context, q Querier, ts time.Time, limit int) ([]series.Point, error) {
	res, err := q.Query(ctx, rr.expr, ts)
	rr.health = Health{LastEval: ts, Samples: len(res)}
	if err != nil {
		rr.health.Err = fmt.Errorf("query %q: %w", rr.expr, err)
		return nil, rr.health.Err
	}
	if limit > 0 && len(res) > limit {
		rr.health.Err = fmt.Errorf("exec exceeded limit of %d with %d series", limit, len(res))
		return nil, rr.health.Err
	}
	tsMs := ts.UnixMilli()
	cur := make(map[string]series.Labels, len(res))
	out := make([]series.Point, 0, len(res))
	for _, p := range res {
		ls := rr.relabel(p.Labels)
		k := ls.Key()
		if _, dup := cur[k]; dup {
			rr.health.Err = fmt.Errorf("original metric %s; resulting labels %s: %w", p.Labels, ls, ErrDuplicate)
			return nil, rr.health.Err
		}
		cur[k] = ls
		out = append(out, series.Point{Labels: ls, T: tsMs, V: p.V})
	}
	var gone []series.Labels
	for k, ls := range rr.last {
		if _, ok := cur[k]; !ok {
			gone = append(gone, ls)
		}
	}
	slices.SortFunc(gone, series.Compare)
	for _, ls := range gone {
		out = append(out, series.Point{Labels: ls, T: tsMs, V: series.StaleNaN})
	}
	rr.last = cur
	return out, nil
}

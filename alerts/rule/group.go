package rule

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"time"

	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
)

// Rule is an alerting or a recording rule.
type Rule interface {
	Name() string
	Expr() string
	Health() Health
	// Eval evaluates the rule at ts; limit > 0 caps its results.
	Eval(ctx context.Context, q Querier, ts time.Time, limit int) ([]series.Point, error)
}

var (
	_ Rule = (*AlertingRule)(nil)
	_ Rule = (*RecordingRule)(nil)
)

// GroupOptions are what a group takes from its surroundings.
type GroupOptions struct {
	// Labels are added to every rule's labels with the lowest priority
	// (group labels override them, rule labels override both), as vmalert
	// does with -external.label (and vmalert-tool with a test's
	// external_labels too).
	Labels map[string]string
	// ExternalLabels and ExternalURL are $externalLabels and $externalURL
	// in templates.
	ExternalLabels map[string]string
	ExternalURL    string
	// DefaultInterval is the group's interval when its file sets none
	// (vmalert's -evaluationInterval, 1m when zero).
	DefaultInterval time.Duration
	// DisableAlertGroupLabel leaves out the alertgroup label.
	DisableAlertGroupLabel bool
	// ParseTemplate parses label and annotation templates. Required when a
	// rule has one.
	ParseTemplate TemplateParser
	// PrometheusLabels labels results as Prometheus does: a rule label
	// replaces a result label of the same name without keeping the old
	// value as exported_NAME (vmalert keeps it).
	PrometheusLabels bool
}

func (o GroupOptions) validate() error {
	if o.DefaultInterval < 0 {
		return fmt.Errorf("DefaultInterval: must not be negative, got %s", o.DefaultInterval)
	}
	return nil
}

// Group is a rule group: rules evaluated in order at each tick.
type Group struct {
	Name     string
	File     string
	Interval time.Duration
	Limit    int
	ID       uint64
	Rules    []Rule
}

// NewGroup builds a group from its file form. Every rule's templates are
// parsed; all errors are returned together.
func NewGroup(file string, g rulefmt.Group, opts GroupOptions) (*Group, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("group options: %w", err)
	}
	ng := &Group{Name: g.Name, File: file, Interval: g.Interval, Limit: g.Limit}
	if ng.Interval <= 0 {
		ng.Interval = opts.DefaultInterval
	}
	if ng.Interval <= 0 {
		ng.Interval = time.Minute
	}
	h := fnv.New64a()
	h.Write([]byte(file))
	h.Write([]byte{0xff})
	h.Write([]byte(g.Name))
	ng.ID = h.Sum64()

	extra := maps.Clone(opts.Labels)
	if extra == nil {
		extra = map[string]string{}
	}
	maps.Copy(extra, g.Labels)
	var errs []error
	for _, r := range g.Rules {
		labels := maps.Clone(extra)
		maps.Copy(labels, r.Labels)
		where := r.Pos.String()
		if r.Pos.File == "" {
			where = file
		}
		switch {
		case r.Alert != "":
			ar := &AlertingRule{
				name: r.Alert, groupID: ng.ID, expr: r.Expr,
				forDur: r.For, keepFiringFor: r.KeepFiringFor, interval: ng.Interval,
				extLabels: opts.ExternalLabels, extURL: opts.ExternalURL,
				alerts: map[uint64]*Alert{}, noExported: opts.PrometheusLabels,
			}
			if !opts.DisableAlertGroupLabel {
				ar.group = g.Name
			}
			var err1, err2 error
			ar.labels, err1 = parseFields("label", r.Alert, labels, opts.ParseTemplate)
			ar.annotations, err2 = parseFields("annotation", r.Alert, r.Annotations, opts.ParseTemplate)
			if err := errors.Join(err1, err2); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			ng.Rules = append(ng.Rules, ar)
		case r.Record != "":
			ng.Rules = append(ng.Rules, &RecordingRule{name: r.Record, expr: r.Expr, labels: labels, noExported: opts.PrometheusLabels})
		default:
			errs = append(errs, fmt.Errorf("%s: rule has neither alert nor record", where))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("group %q: %w", g.Name, err)
	}
	return ng, nil
}

// Eval evaluates every rule in order at ts, all against the same data: the
// caller writes the returned samples after the whole group ran, so a rule
// does not see what an earlier rule of its group recorded in this tick.
// Every rule runs even when an earlier one fails; the errors name the rule.
func (g *Group) Eval(ctx context.Context, q Querier, ts time.Time) ([]series.Point, []error) {
	var out []series.Point
	var errs []error
	for _, r := range g.Rules {
		if err := ctx.Err(); err != nil {
			return out, append(errs, fmt.Errorf("group %q: %w", g.Name, err))
		}
		pts, err := r.Eval(ctx, q, ts, g.Limit)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", r.Name(), err))
			continue
		}
		out = append(out, pts...)
	}
	return out, errs
}

// AlertingRules returns the group's alerting rules in order.
func (g *Group) AlertingRules() []*AlertingRule {
	var out []*AlertingRule
	for _, r := range g.Rules {
		if ar, ok := r.(*AlertingRule); ok {
			out = append(out, ar)
		}
	}
	return out
}

// Package rule is the rule engine shared by the daemon and `hlalert test`:
// alerting rules with vmalert's state machine (inactive → pending → firing,
// keep_firing_for, resolved alerts kept for a retention period) and recording
// rules, evaluated group by group at a time given by the caller. The engine
// depends only on a Querier; it never reads the clock and never sleeps.
package rule

import (
	"context"
	"errors"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/series"
)

// Querier runs an instant query at ts. The caller binds the step (vmalert
// sends the group's evaluation interval).
type Querier interface {
	Query(ctx context.Context, expr string, ts time.Time) (series.Vector, error)
}

// QuerierFunc adapts a function to Querier.
type QuerierFunc func(ctx context.Context, expr string, ts time.Time) (series.Vector, error)

// Query calls f.
func (f QuerierFunc) Query(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
	return f(ctx, expr, ts)
}

// TemplateData is what a label or annotation template sees (vmalert's
// $labels, $value, $expr, $activeAt, $for, $alertID, $groupID,
// $externalLabels, $externalURL).
type TemplateData struct {
	Labels         map[string]string
	Value          float64
	Expr           string
	ActiveAt       time.Time
	For            time.Duration
	AlertID        uint64
	GroupID        uint64
	ExternalLabels map[string]string
	ExternalURL    string
	Interval       time.Duration // the group's interval ($interval)
	Now            time.Time     // the evaluation time (what now returns)
}

// TemplateQueryFunc runs a query from inside a template, at the evaluation time.
type TemplateQueryFunc func(ctx context.Context, expr string) (series.Vector, error)

// Template is a parsed label or annotation template.
type Template interface {
	Execute(ctx context.Context, d TemplateData, q TemplateQueryFunc) (string, error)
}

// TemplateParser parses one template; name identifies it in errors.
type TemplateParser func(name, text string) (Template, error)

// Names of the labels and series vmalert adds.
const (
	AlertNameLabel       = alert.NameLabel
	AlertGroupNameLabel  = "alertgroup"
	AlertStateLabel      = "alertstate"
	AlertsMetric         = "ALERTS"
	AlertsForStateMetric = "ALERTS_FOR_STATE"
)

// ResolvedRetention is how long vmalert keeps a resolved alert.
const ResolvedRetention = 15 * time.Minute

// ErrDuplicate is returned when two results of a rule end up with the same
// label set after labelling.
var ErrDuplicate = errors.New("result contains metrics with the same labelset during evaluation")

// Health is the outcome of a rule's last evaluation.
type Health struct {
	LastEval time.Time // evaluation time of the last attempt (zero: never)
	Samples  int       // results of the last successful query
	Err      error     // last error, nil when healthy
}

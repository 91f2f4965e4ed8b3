package evaluator

import (
	"context"
	"time"

	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/series"
)

// This file is the seam between the evaluator and the HTTP side, the
// notification outbox, the recording-rule writer and the state history.
// Keep it stable: other packages code against it.

// GroupStatus is one rule group as the HTTP side shows it.
type GroupStatus struct {
	Name         string
	File         string
	Type         string // rulefmt.TypeMetricsQL ("metricsql", also for groups written "prometheus"), rulefmt.TypeLogQL ("logql"), or "builtin" (hlalert's own group)
	Interval     time.Duration
	LastEval     time.Time
	LastDuration time.Duration
	LastError    string
	Missed       uint64 // iterations skipped because the previous one overran
	Rules        []RuleStatus
}

// RuleStatus is one rule of a group.
type RuleStatus struct {
	Name          string
	Kind          string // "alerting" or "recording"
	Expr          string
	Health        string // "ok", "err" or "unknown"
	LastError     string
	LastEval      time.Time
	Labels        map[string]string
	Annotations   map[string]string
	For           time.Duration
	KeepFiringFor time.Duration
	Alerts        []rule.Alert // alerting rules only; all states
}

// Status is a snapshot of the evaluator; Status() returns a fresh copy.
type Status struct {
	Groups          []GroupStatus
	ConfigLoaded    time.Time
	LastReloadError string
	Datasources     []DatasourceStatus
}

// DatasourceStatus is the health of one datasource as the evaluator sees it.
type DatasourceStatus struct {
	Name                string // "victoriametrics", "loki" or "embedded"
	Kind                string
	URL                 string
	Up                  bool
	ConsecutiveFailures int
	LastError           string
}

// Notifier receives alert state transitions (firing, resolved) after each
// group evaluation.
type Notifier interface {
	Notify(ctx context.Context, alerts []Notification) error
}

// Notification is one alert to send: it just fired, is still firing and
// due a repeat, or just resolved (Alert.State is StateInactive).
type Notification struct {
	Group, Rule string
	Alert       rule.Alert
	ExternalURL string
}

// Writer receives recorded samples (recording rules) to write back.
type Writer interface {
	Write(ctx context.Context, pts []series.Point) error
}

// StateSink receives every alert state change (for the Loki history).
type StateSink interface {
	StateChanged(ctx context.Context, changes []StateChange)
}

// StateChange is one alert moving from one state to another.
type StateChange struct {
	Group, Rule string
	From, To    rule.State
	Alert       rule.Alert
	At          time.Time
}

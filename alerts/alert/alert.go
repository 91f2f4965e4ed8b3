// Package alert holds the alert types every consumer of the evaluator
// needs — an alert and its state, a notification, a state change and the
// evaluator's status snapshot — so that the notification pipeline, the
// state history, the HTTP side and the remote writer can use them without
// importing the evaluator and with it the query engines and the scraper
// (the role of Alertmanager's types package).
//
// The interfaces these types travel through stay with their consumer:
// evaluator.Notifier, evaluator.StateSink and evaluator.Writer in the
// evaluator, web.Evaluator in web. The daemon, which wires them, asserts
// at compile time that the implementations fit.
package alert

import (
	"fmt"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// NameLabel is the label holding an alert's rule name, as vmalert and
// Prometheus add it.
const NameLabel = "alertname"

// State is an alert's state.
type State int

// The alert states, as vmalert names them.
const (
	StateInactive State = iota
	StatePending
	StateFiring
)

func (s State) String() string {
	switch s {
	case StateInactive:
		return "inactive"
	case StatePending:
		return "pending"
	case StateFiring:
		return "firing"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Alert is one alert of an alerting rule. It is plain data so that the
// daemon can persist it and restore it with (*rule.AlertingRule).Restore.
type Alert struct {
	ID              uint64            // hash of Labels, as vmalert computes it
	Labels          series.Labels     // result labels + rule labels + alertname/alertgroup
	Annotations     map[string]string // expanded annotations
	State           State
	ActiveAt        time.Time // when it became pending
	FiredAt         time.Time // when it became firing (zero: never)
	ResolvedAt      time.Time // when it became inactive (zero: not resolved)
	LastValue       float64   // the query value at the last evaluation that returned it
	KeepFiringSince time.Time // first evaluation it was absent while firing (keep_firing_for)
}

// Notification is one alert to send: it just fired, is still firing and
// due a repeat, or just resolved (Alert.State is StateInactive).
type Notification struct {
	Group, Rule string
	Alert       Alert
	ExternalURL string
}

// StateChange is one alert moving from one state to another.
type StateChange struct {
	Group, Rule string
	From, To    State
	Alert       Alert
	At          time.Time
}

// Status is a snapshot of the evaluator; evaluator.Status() returns a
// fresh copy.
type Status struct {
	Groups          []GroupStatus
	ConfigLoaded    time.Time
	LastReloadError string
	Datasources     []DatasourceStatus
}

// GroupStatus is one rule group as the HTTP side shows it.
type GroupStatus struct {
	Name         string
	File         string
	Type         string // GroupTypeMetricsQL, GroupTypeLogQL or GroupTypeBuiltin
	Interval     time.Duration
	LastEval     time.Time
	LastDuration time.Duration
	LastError    string
	Missed       uint64 // iterations skipped because the previous one overran
	Rules        []RuleStatus
}

// The values of GroupStatus.Type.
const (
	GroupTypeMetricsQL = "metricsql" // MetricsQL groups, also those written type: prometheus
	GroupTypeLogQL     = "logql"     // LogQL groups
	GroupTypeBuiltin   = "builtin"   // hlalert's own group (its health alerts)
)

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
	Alerts        []Alert // alerting rules only; all states
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

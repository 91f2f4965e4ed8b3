// Package metrics is the metric set of the rule evaluator daemon: evaluation
// duration and failures per group, missed iterations, alerts by state,
// notifications and datasource errors. It is built on an injected
// prometheus.Registerer; every label set the evaluator announces starts at 0
// so that rate() and increase() work from start-up.
//
// Use from the evaluator:
//
//	m := metrics.NewEvaluator(reg)            // once, at start-up
//	m.AddGroup("g")                           // when a group is (re)loaded
//	m.AddDatasource("victoriametrics")        // per configured datasource
//	m.ObserveEvaluation("g", dur, err != nil) // after each group evaluation
//	m.MissedIterations("g", n)                // when ticks were skipped
//	m.SetAlerts("g", pending, firing)         // after each group evaluation
//	m.NotificationsSent(n); m.NotificationsFailed(n)
//	m.DatasourceError("victoriametrics")      // each failed query
//	m.RemoveGroup("g")                        // when a reload drops a group
//
// All methods are safe for concurrent use.
package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Alert states used as the "state" label of hlalert_alerts.
const (
	StatePending = "pending"
	StateFiring  = "firing"
)

// Evaluator holds the evaluator's metrics.
type Evaluator struct {
	evalDuration  *prometheus.HistogramVec
	evals         *prometheus.CounterVec
	evalFailures  *prometheus.CounterVec
	missed        *prometheus.CounterVec
	alerts        *prometheus.GaugeVec
	notifications *prometheus.CounterVec
	dsErrors      *prometheus.CounterVec
}

// NewEvaluator builds and registers the metrics. A nil Registerer builds
// them without registering (for tests). It panics when registration fails
// (a programming error: the same metrics registered twice on one registry),
// like prometheus.MustRegister.
func NewEvaluator(reg prometheus.Registerer) *Evaluator {
	m := &Evaluator{
		evalDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hlalert_rule_group_evaluation_duration_seconds",
			Help:    "Duration of rule group evaluations.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"group"}),
		evals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_rule_group_evaluations_total",
			Help: "Rule group evaluations.",
		}, []string{"group"}),
		evalFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_rule_group_evaluation_failures_total",
			Help: "Rule group evaluations in which at least one rule failed.",
		}, []string{"group"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_rule_group_iterations_missed_total",
			Help: "Rule group evaluations skipped because the previous one overran.",
		}, []string{"group"}),
		alerts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hlalert_alerts",
			Help: "Active alerts by group and state.",
		}, []string{"group", "state"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_notifications_total",
			Help: "Notifications handed to the notifier, by result.",
		}, []string{"result"}),
		dsErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_datasource_errors_total",
			Help: "Failed datasource queries.",
		}, []string{"datasource"}),
	}
	m.notifications.WithLabelValues("sent")
	m.notifications.WithLabelValues("failed")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.evalDuration, m.evals, m.evalFailures, m.missed, m.alerts, m.notifications, m.dsErrors} {
			if err := reg.Register(c); err != nil {
				panic(fmt.Errorf("register evaluator metrics: %w", err))
			}
		}
	}
	return m
}

// AddGroup creates the group's series at 0.
func (m *Evaluator) AddGroup(group string) {
	m.evalDuration.WithLabelValues(group)
	m.evals.WithLabelValues(group)
	m.evalFailures.WithLabelValues(group)
	m.missed.WithLabelValues(group)
	m.alerts.WithLabelValues(group, StatePending)
	m.alerts.WithLabelValues(group, StateFiring)
}

// RemoveGroup deletes the group's series (a reload dropped the group).
func (m *Evaluator) RemoveGroup(group string) {
	m.evalDuration.DeleteLabelValues(group)
	m.evals.DeleteLabelValues(group)
	m.evalFailures.DeleteLabelValues(group)
	m.missed.DeleteLabelValues(group)
	m.alerts.DeleteLabelValues(group, StatePending)
	m.alerts.DeleteLabelValues(group, StateFiring)
}

// AddDatasource creates the datasource's error counter at 0.
func (m *Evaluator) AddDatasource(name string) { m.dsErrors.WithLabelValues(name) }

// ObserveEvaluation records one group evaluation.
func (m *Evaluator) ObserveEvaluation(group string, d time.Duration, failed bool) {
	m.evalDuration.WithLabelValues(group).Observe(d.Seconds())
	m.evals.WithLabelValues(group).Inc()
	if failed {
		m.evalFailures.WithLabelValues(group).Inc()
	}
}

// MissedIterations counts n skipped evaluations of the group.
func (m *Evaluator) MissedIterations(group string, n int) {
	if n > 0 {
		m.missed.WithLabelValues(group).Add(float64(n))
	}
}

// SetAlerts sets the group's number of pending and firing alerts.
func (m *Evaluator) SetAlerts(group string, pending, firing int) {
	m.alerts.WithLabelValues(group, StatePending).Set(float64(pending))
	m.alerts.WithLabelValues(group, StateFiring).Set(float64(firing))
}

// NotificationsSent counts n notifications delivered to the notifier.
func (m *Evaluator) NotificationsSent(n int) {
	if n > 0 {
		m.notifications.WithLabelValues("sent").Add(float64(n))
	}
}

// NotificationsFailed counts n notifications the notifier refused.
func (m *Evaluator) NotificationsFailed(n int) {
	if n > 0 {
		m.notifications.WithLabelValues("failed").Add(float64(n))
	}
}

// DatasourceError counts one failed query against the datasource.
func (m *Evaluator) DatasourceError(name string) { m.dsErrors.WithLabelValues(name).Inc() }

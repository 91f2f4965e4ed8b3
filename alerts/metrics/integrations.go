package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Integrations holds the metrics of the notification integrations (each
// e-mail config of a receiver, the Alertmanager hand-off), labelled by
// receiver and integration name ("email[0]", "alertmanager"), in the
// way of Alertmanager's alertmanager_notifications{,_failed}_total:
//
//	m := metrics.NewIntegrations(reg)
//	m.Add("ops", "alertmanager")           // when a (re)load configures it
//	m.Attempt("ops", "alertmanager")       // before each delivery attempt
//	m.Failed("ops", "alertmanager")        // after a failed one
//	m.Succeeded("ops", "alertmanager", t)  // after a successful one
//	m.Remove("ops", "alertmanager")        // when a reload drops it
//
// All methods are safe for concurrent use.
type Integrations struct {
	attempts, failed *prometheus.CounterVec
	lastSuccess      *prometheus.GaugeVec
}

// NewIntegrations builds and registers the metrics (nil Registerer:
// unregistered). It panics when registration fails, like NewEvaluator.
func NewIntegrations(reg prometheus.Registerer) *Integrations {
	labels := []string{"receiver", "integration"}
	m := &Integrations{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_notification_attempts_total",
			Help: "Attempts to deliver a notification through an integration.",
		}, labels),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_notifications_failed_total",
			Help: "Failed attempts to deliver a notification through an integration.",
		}, labels),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hlalert_notification_last_success_timestamp_seconds",
			Help: "When an integration last delivered a notification (Unix time); 0: not since start-up.",
		}, labels),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.attempts, m.failed, m.lastSuccess} {
			if err := reg.Register(c); err != nil {
				panic(fmt.Errorf("register integration metrics: %w", err))
			}
		}
	}
	return m
}

// Add creates an integration's series at 0.
func (m *Integrations) Add(receiver, integration string) {
	m.attempts.WithLabelValues(receiver, integration)
	m.failed.WithLabelValues(receiver, integration)
	m.lastSuccess.WithLabelValues(receiver, integration)
}

// Remove deletes an integration's series (a reload dropped it).
func (m *Integrations) Remove(receiver, integration string) {
	m.attempts.DeleteLabelValues(receiver, integration)
	m.failed.DeleteLabelValues(receiver, integration)
	m.lastSuccess.DeleteLabelValues(receiver, integration)
}

// Attempt counts one delivery attempt.
func (m *Integrations) Attempt(receiver, integration string) {
	m.attempts.WithLabelValues(receiver, integration).Inc()
}

// Failed counts one failed delivery attempt.
func (m *Integrations) Failed(receiver, integration string) {
	m.failed.WithLabelValues(receiver, integration).Inc()
}

// Succeeded records a successful delivery at t.
func (m *Integrations) Succeeded(receiver, integration string, t time.Time) {
	m.lastSuccess.WithLabelValues(receiver, integration).Set(float64(t.UnixNano()) / 1e9)
}

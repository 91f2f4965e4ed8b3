// Package serve is the shared serving side of hlexporter: it runs each
// collector in the background on its own interval, keeps the last result,
// and serves /metrics, /api/homepage and /healthz. A scrape never runs a
// collector; it reads what the last update produced.
package serve

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector gathers one concern's data (backup, zfs, deploy, nvr).
type Collector interface {
	// Name is the collector's label value in hlexporter_collector_*.
	Name() string
	// Describe lists every metric the collector can emit, with its type; it
	// feeds the metric catalog and the registry. Update may only emit
	// metrics whose Desc comes from one of these definitions.
	Describe() []*MetricDef
	// Update does the slow work (runs tools, calls APIs) and returns what a
	// scrape will serve until the next update. An error marks the collector
	// unsuccessful; partial results may still be returned beside it.
	Update(ctx context.Context) (Result, error)
}

// Result is one update's output.
type Result struct {
	Metrics []prometheus.Metric
	// Homepage holds flat fields for Homepage's customapi widget: numbers,
	// bools, strings and time.Time (served as RFC 3339). No nesting, and no
	// key named "error".
	Homepage map[string]any
}

// MetricType is a metric's type as the catalog shows it.
type MetricType string

// Metric types. Info and StateSet are gauges on the wire (value 1, or 1 for
// the current state and 0 for the others), named as OpenMetrics names them.
const (
	Gauge    MetricType = "gauge"
	Counter  MetricType = "counter"
	Info     MetricType = "info"
	StateSet MetricType = "stateset"
)

// MetricDef is one metric's definition: it builds the prometheus.Desc used
// to emit samples and the catalog line. Create it once (NewMetricDef) and
// keep it; Desc() returns the same pointer every time.
type MetricDef struct {
	Name   string
	Help   string
	Type   MetricType
	Labels []string
	desc   *prometheus.Desc
}

// NewMetricDef defines a metric. Info metrics must be named *_info; names
// and labels are checked when the registry first sees the Desc.
func NewMetricDef(name, help string, typ MetricType, labels ...string) *MetricDef {
	return &MetricDef{
		Name: name, Help: help, Type: typ, Labels: labels,
		desc: prometheus.NewDesc(name, help, labels, nil),
	}
}

// Desc is the metric's descriptor.
func (d *MetricDef) Desc() *prometheus.Desc { return d.desc }

// valueType maps the catalog type to the wire type.
func (d *MetricDef) valueType() prometheus.ValueType {
	if d.Type == Counter {
		return prometheus.CounterValue
	}
	return prometheus.GaugeValue
}

// Metric builds one sample. It returns an error (never panics) when the
// label values do not match the definition.
func (d *MetricDef) Metric(value float64, labelValues ...string) (prometheus.Metric, error) {
	m, err := prometheus.NewConstMetric(d.desc, d.valueType(), value, labelValues...)
	if err != nil {
		return nil, fmt.Errorf("metric %s: %w", d.Name, err)
	}
	return m, nil
}

// Metrics accumulates samples for one Update; the first error sticks, so a
// collector can add many samples and check once.
type Metrics struct {
	list []prometheus.Metric
	err  error
}

// Add appends one sample of def.
func (b *Metrics) Add(def *MetricDef, value float64, labelValues ...string) {
	m, err := def.Metric(value, labelValues...)
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return
	}
	b.list = append(b.list, m)
}

// StateSet appends one sample per state: 1 for current, 0 for the others,
// with the state as the last label value (def's last label names it).
func (b *Metrics) StateSet(def *MetricDef, states []string, current string, labelValues ...string) {
	for _, s := range states {
		v := 0.0
		if s == current {
			v = 1
		}
		b.Add(def, v, append(append([]string(nil), labelValues...), s)...)
	}
}

// List returns the samples and the first error met.
func (b *Metrics) List() ([]prometheus.Metric, error) { return b.list, b.err }

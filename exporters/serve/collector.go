// Package serve is the shared serving side of hlexporter: it runs each
// collector in the background on its own interval, keeps the last result,
// and serves /metrics, /api/homepage and /healthz. A scrape never runs a
// collector; it reads what the last update produced.
package serve

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector gathers one concern's data (backup, zfs, deploy, nvr).
type Collector interface {
	// Name is the collector's label value in hlexporter_collector_*.
	Name() string
	// Describe lists every metric the collector can emit; it feeds the
	// metric catalog and the registry.
	Describe() []*prometheus.Desc
	// Update does the slow work (runs tools, calls APIs) and returns what a
	// scrape will serve until the next update. An error marks the collector
	// unsuccessful; partial results may still be returned beside it.
	Update(ctx context.Context) (Result, error)
}

// Result is one update's output.
type Result struct {
	Metrics  []prometheus.Metric
	Homepage map[string]any // flat fields for Homepage's customapi widget
}

package remotewrite

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons for dropped samples (the "reason" label).
const (
	reasonBufferFull = "buffer_full" // the buffer overflowed while the receiver was slow or down
	reasonRejected   = "rejected"    // the receiver refused the batch (4xx)
	reasonShutdown   = "shutdown"    // still buffered when Close gave up
)

type metrics struct {
	written        prometheus.Counter
	dropped        *prometheus.CounterVec
	failedRequests prometheus.Counter
	buffered       prometheus.Gauge
	lastSuccess    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hlalert_remote_write_samples_written_total",
			Help: "Samples accepted by the remote write receiver.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hlalert_remote_write_samples_dropped_total",
			Help: "Samples that will never be written, by reason (buffer_full, rejected, shutdown).",
		}, []string{"reason"}),
		failedRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hlalert_remote_write_requests_failed_total",
			Help: "Remote write requests that failed (each retry counts).",
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hlalert_remote_write_buffered_samples",
			Help: "Samples waiting in the buffer.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hlalert_remote_write_last_success_timestamp_seconds",
			Help: "When a remote write request last succeeded (0: never).",
		}),
	}
	for _, r := range []string{reasonBufferFull, reasonRejected, reasonShutdown} {
		m.dropped.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.written, m.dropped, m.failedRequests, m.buffered, m.lastSuccess} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("remote write: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

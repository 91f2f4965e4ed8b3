// Package notify turns alert notifications from the evaluator into batches
// for receivers: Alertmanager-compatible routing, aggregation groups with
// group_wait/group_interval/repeat_interval, inhibition, silences, time
// intervals and a persisted notification log.
package notify

import (
	"context"
	"time"
)

// Batch is one flush of an aggregation group to one receiver.
type Batch struct {
	Receiver    string // receiver name from the routing config
	GroupKey    string // stable id of the aggregation group (route path + group labels): email threading keys off it
	GroupLabels map[string]string
	Alerts      []Alert // firing and resolved, sorted
	ExternalURL string
	// Seq is the flush sequence number of GroupKey for Receiver (1, 2, ...).
	// (Receiver, GroupKey, Seq) identifies a flush: a batch handed over again
	// after a crash carries the same Seq.
	Seq uint64
}

// Alert is one alert inside a Batch.
type Alert struct {
	Labels, Annotations map[string]string
	StartsAt, EndsAt    time.Time
	Status              string /*"firing"|"resolved"*/
	GeneratorURL        string
	Fingerprint         string
}

// Notifier delivers a batch through one integration (Alertmanager's
// notify.Notifier). retry reports whether a failure may pass, so the
// same batch is worth sending again later; a non-retryable failure (the
// other side refused it) gives the batch up. A notifier must be
// idempotent per (Receiver, GroupKey, Seq): a batch can be handed over
// again after a crash.
type Notifier interface {
	Notify(ctx context.Context, b Batch) (retry bool, err error)
}

// Integration is one way a receiver is notified: one of its
// email_configs, the Alertmanager hand-off. Each is attempted on its own,
// concurrently with the others, with its own retries and its own
// notification log entry.
type Integration struct {
	Name     string // unique within the receiver: "email[0]", "alertmanager"
	Notifier Notifier
}

// Integrations are the integrations of each receiver, by receiver name.
type Integrations map[string][]Integration

// IntegrationStatus is how one integration of one receiver fares (the
// status page shows it; the same counts are on /metrics).
type IntegrationStatus struct {
	Receiver, Integration string
	Attempts, Failures    uint64
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int
	LastAttempt         time.Time
	LastSuccess         time.Time
	LastError           string    // of the last failed attempt, "" after a success
	RetryAt             time.Time // zero: no retry scheduled
}

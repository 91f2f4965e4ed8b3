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

// Sender delivers a batch (email, Alertmanager hand-off). A returned error
// means "retry later"; the sender must be idempotent per (GroupKey, flush
// sequence) because a batch can be handed over again after a crash.
type Sender interface {
	Send(ctx context.Context, b Batch) error
}

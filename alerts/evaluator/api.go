package evaluator

import (
	"context"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/series"
)

// This file is the seam between the evaluator and the notification
// outbox, the recording-rule writer and the state history: the small
// interfaces the evaluator calls. The data that crosses them is in
// alerts/alert, so their implementations need not import the evaluator;
// the daemon asserts at compile time that they fit.

// Notifier receives alert state transitions (firing, resolved) after each
// group evaluation.
type Notifier interface {
	Notify(ctx context.Context, alerts []alert.Notification) error
}

// Writer receives recorded samples (recording rules) to write back.
type Writer interface {
	Write(ctx context.Context, pts []series.Point) error
}

// StateSink receives every alert state change (for the Loki history).
type StateSink interface {
	StateChanged(ctx context.Context, changes []alert.StateChange)
}

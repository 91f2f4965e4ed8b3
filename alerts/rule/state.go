package rule

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

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
// daemon can persist it and restore it with (*AlertingRule).Restore.
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

// hashLabels is vmalert's alert identity: FNV-64a over the sorted labels,
// __name__ excluded.
func hashLabels(ls series.Labels) uint64 {
	h := fnv.New64a()
	for _, l := range ls {
		if l.Name == series.MetricName {
			continue
		}
		h.Write([]byte(l.Name))
		h.Write([]byte(l.Value))
		h.Write([]byte{0xff})
	}
	return h.Sum64()
}

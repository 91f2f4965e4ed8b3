package rule

import (
	"hash/fnv"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/series"
)

// State is an alert's state; the type lives in alerts/alert so that
// consumers of alerts need not import the rule engine.
type State = alert.State

// The alert states, as vmalert names them.
const (
	StateInactive = alert.StateInactive
	StatePending  = alert.StatePending
	StateFiring   = alert.StateFiring
)

// Alert is one alert of an alerting rule (see alert.Alert).
type Alert = alert.Alert

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

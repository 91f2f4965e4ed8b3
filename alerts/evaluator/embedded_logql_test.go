package evaluator

import (
	"testing"
	"time"
)

func TestLogReach(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		`count_over_time({job="x"}[5m])`:                                                 5 * time.Minute,
		`sum(count_over_time({job="x"}[5m] offset 10m)) / sum(rate({job="y"}[1h]))`:      time.Hour,
		`sum(count_over_time({job="x"}[5m] offset 1h)) > 0`:                              65 * time.Minute,
		`max_over_time({job="x"} | logfmt | __error__="" | unwrap took [30s]) by (host)`: 30 * time.Second,
		`vector(1)`:        0,
		`{job="x"} |= "a"`: 0,
		`count_over_time(`: 0,
	} {
		if got := logReach(expr); got != want {
			t.Errorf("%s: reach %s, want %s", expr, got, want)
		}
	}
}

package metrics

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hlalert/hlalert/internal/golden"
)

func TestEvaluatorMetrics(t *testing.T) {
	tests := []struct {
		name string
		do   func(m *Evaluator)
	}{
		{"start_at_zero", func(m *Evaluator) {
			m.AddGroup("disks")
			m.AddDatasource("victoriametrics")
		}},
		{"after_evaluations", func(m *Evaluator) {
			m.AddGroup("disks")
			m.AddGroup("backups")
			m.AddDatasource("victoriametrics")
			m.ObserveEvaluation("disks", 30*time.Millisecond, false)
			m.ObserveEvaluation("disks", 2*time.Second, true)
			m.MissedIterations("disks", 2)
			m.MissedIterations("disks", 0)
			m.SetAlerts("disks", 1, 3)
			m.NotificationsSent(4)
			m.NotificationsFailed(1)
			m.DatasourceError("victoriametrics")
			m.DatasourceError("loki")
		}},
		{"group_removed", func(m *Evaluator) {
			m.AddGroup("disks")
			m.AddGroup("backups")
			m.SetAlerts("backups", 2, 0)
			m.RemoveGroup("backups")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m := NewEvaluator(reg)
			tc.do(m)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			for _, mf := range mfs {
				if err := writeText(&b, mf); err != nil {
					t.Fatal(err)
				}
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".prom"), b.Bytes())
		})
	}
}

func TestDoubleRegistrationPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewEvaluator(reg)
	defer func() {
		if recover() == nil {
			t.Error("registering the evaluator metrics twice on one registry did not panic")
		}
	}()
	NewEvaluator(reg)
}

func TestIntegrationMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewIntegrations(reg)
	m.Add("ops", "email[0]")
	m.Add("ops", "alertmanager")
	m.Add("old", "email[0]")
	m.Attempt("ops", "alertmanager")
	m.Failed("ops", "alertmanager")
	m.Attempt("ops", "email[0]")
	m.Succeeded("ops", "email[0]", time.Unix(1700000000, 500e6))
	m.Remove("old", "email[0]")
	want := `# HELP hlalert_notification_attempts_total Attempts to deliver a notification through an integration.
# TYPE hlalert_notification_attempts_total counter
hlalert_notification_attempts_total{integration="alertmanager",receiver="ops"} 1
hlalert_notification_attempts_total{integration="email[0]",receiver="ops"} 1
# HELP hlalert_notification_last_success_timestamp_seconds When an integration last delivered a notification (Unix time); 0: not since start-up.
# TYPE hlalert_notification_last_success_timestamp_seconds gauge
hlalert_notification_last_success_timestamp_seconds{integration="alertmanager",receiver="ops"} 0
hlalert_notification_last_success_timestamp_seconds{integration="email[0]",receiver="ops"} 1.7000000005e+09
# HELP hlalert_notifications_failed_total Failed attempts to deliver a notification through an integration.
# TYPE hlalert_notifications_failed_total counter
hlalert_notifications_failed_total{integration="alertmanager",receiver="ops"} 1
hlalert_notifications_failed_total{integration="email[0]",receiver="ops"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

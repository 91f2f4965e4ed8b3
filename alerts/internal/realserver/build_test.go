package realserver

import "testing"

// TestBuildTools builds every pinned tool into the cache, so that .ci/run can
// pay the builds up front with a generous timeout; later runs find them
// cached.
func TestBuildTools(t *testing.T) {
	for _, tool := range []Tool{VictoriaMetricsTool(), VMAlertToolTool(), LokiTool(), MailpitTool(), PromtoolTool()} {
		t.Run(tool.Name, func(t *testing.T) {
			bin := BuildT(t, tool)
			t.Logf("%s %s: %s", tool.Name, tool.Version, bin)
		})
	}
}

func TestStartVictoriaMetrics(t *testing.T) {
	s := StartVictoriaMetrics(t)
	s.Restart(t, "/health")
	if s.URL == "" {
		t.Fatal("no URL")
	}
}

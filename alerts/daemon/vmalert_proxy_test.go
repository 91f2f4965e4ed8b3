package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/internal/realserver"
)

// rulesReply and alertsReply are the parts of /api/v1/rules and
// /api/v1/alerts Grafana reads.
type rulesReply struct {
	Status string `json:"status"`
	Data   struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name   string `json:"name"`
				State  string `json:"state"`
				Type   string `json:"type"`
				Alerts []struct {
					State  string            `json:"state"`
					Labels map[string]string `json:"labels"`
				} `json:"alerts"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"data"`
}

type proxyAlert struct {
	State  string            `json:"state"`
	Labels map[string]string `json:"labels"`
}

type alertsReply struct {
	Status string `json:"status"`
	Data   struct {
		Alerts []proxyAlert `json:"alerts"`
	} `json:"data"`
}

func getBody(t *testing.T, url, userAgent string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func groupNames(r rulesReply) []string {
	var out []string
	for _, g := range r.Data.Groups {
		out = append(out, g.Name)
	}
	return out
}

// A real VictoriaMetrics started with -vmalert.proxyURL at `hlalert run`
// answers Grafana's alerting requests with hlalert's groups and alerts: on
// /api/v1/rules and /api/v1/alerts (forwarded as they are) and on
// /vmalert/api/v1/... (forwarded with the prefix), filtered to
// Prometheus-type groups when the client is Grafana (VictoriaMetrics adds
// datasource_type=prometheus). hlalert evaluates its rules against the same
// VictoriaMetrics.
func TestVMAlertProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real VictoriaMetrics")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl := "http://" + ln.Addr().String()
	vm := realserver.StartVictoriaMetrics(t, "-vmalert.proxyURL="+hl)

	// The sample the rule fires on, written to VictoriaMetrics.
	resp, err := http.Post(vm.URL+"/api/v1/import/prometheus", "text/plain",
		strings.NewReader(fmt.Sprintf("proxy_backup_age_seconds{host=\"nas\"} 500 %d\n", time.Now().UnixMilli())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("import: %s", resp.Status)
	}

	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yaml"), `groups:
  - name: homelab
    interval: 1s
    rules:
      - alert: ProxyBackupStale
        expr: proxy_backup_age_seconds > 100
        labels: {severity: critical}
      - record: proxy:backup_age:max
        expr: max(proxy_backup_age_seconds)
  - name: journal
    type: logql
    interval: 1s
    rules:
      - alert: ProxyJournalErrors
        expr: sum(count_over_time({job="systemd-journal", level="err"}[5m])) > 0
`)
	write(t, filepath.Join(dir, "hlalert.yaml"), fmt.Sprintf(`datasource:
  victoriametrics:
    url: %s
  loki:
    url: http://127.0.0.1:9
rule_files: [rules.yaml]
evaluation_interval: 1s
state_dir: state
outbox_dir: outbox
`, vm.URL))
	cfg, err := config.LoadFile(filepath.Join(dir, "hlalert.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	log := newSyncBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Listener: ln, Logger: slog.New(slog.NewTextHandler(log, nil))})
	}()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("hlalert log:\n%s\nVictoriaMetrics log:\n%s", log.String(), vm.Log())
		}
	}()

	// Wait until the alert fires, seen through VictoriaMetrics.
	var alerts alertsReply
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := getBody(t, vm.URL+"/api/v1/alerts", "")
		alerts = alertsReply{}
		if code == http.StatusOK && json.Unmarshal(body, &alerts) == nil && slices.ContainsFunc(alerts.Data.Alerts, func(a proxyAlert) bool {
			return a.Labels["alertname"] == "ProxyBackupStale" && a.State == "firing"
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ProxyBackupStale not firing through VictoriaMetrics' /api/v1/alerts after 60s: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, a := range alerts.Data.Alerts {
		if a.Labels["alertname"] == "ProxyBackupStale" && (a.Labels["host"] != "nas" || a.Labels["severity"] != "critical") {
			t.Errorf("alert through VictoriaMetrics = %+v", a)
		}
	}

	for _, tc := range []struct {
		path, userAgent string
		wantGroups      []string
	}{
		{"/api/v1/rules", "", []string{"homelab", "journal", "hlalert"}},
		{"/vmalert/api/v1/rules", "", []string{"homelab", "journal", "hlalert"}},
		// Grafana's requests: VictoriaMetrics adds datasource_type=prometheus,
		// and hlalert leaves out its LogQL group as vmalert leaves out
		// groups of other types.
		{"/api/v1/rules", "Grafana/12.2.0", []string{"homelab", "hlalert"}},
		{"/vmalert/api/v1/rules", "Grafana/12.2.0", []string{"homelab", "hlalert"}},
	} {
		code, body := getBody(t, vm.URL+tc.path, tc.userAgent)
		var rr rulesReply
		if err := json.Unmarshal(body, &rr); err != nil || code != http.StatusOK || rr.Status != "success" {
			t.Errorf("%s (%q): %d %s (%v)", tc.path, tc.userAgent, code, body, err)
			continue
		}
		if got := groupNames(rr); !slices.Equal(got, tc.wantGroups) {
			t.Errorf("%s (%q): groups %v, want %v", tc.path, tc.userAgent, got, tc.wantGroups)
			continue
		}
		if g := rr.Data.Groups[0]; len(g.Rules) != 2 || g.Rules[0].Name != "ProxyBackupStale" || g.Rules[0].State != "firing" ||
			len(g.Rules[0].Alerts) != 1 || g.Rules[1].Type != "recording" {
			t.Errorf("%s (%q): group %+v", tc.path, tc.userAgent, g)
		}
	}

	// What VictoriaMetrics forwards is hlalert's answer byte for byte.
	for _, p := range []string{"/api/v1/alerts", "/vmalert/api/v1/alerts", "/api/v1/notifiers", "/vmalert/api/v1/notifiers"} {
		c1, viaVM := getBody(t, vm.URL+p, "")
		c2, direct := getBody(t, hl+p, "")
		if c1 != http.StatusOK || c1 != c2 || !bytes.Equal(viaVM, direct) {
			t.Errorf("%s: through VictoriaMetrics %d %s, direct %d %s", p, c1, viaVM, c2, direct)
		}
	}
	// vmalert refuses a datasource_type it does not know; so does hlalert.
	if code, body := getBody(t, vm.URL+"/api/v1/rules?datasource_type=influx", ""); code != http.StatusBadRequest ||
		!strings.Contains(string(body), `invalid parameter \"datasource_type\": not supported value \"influx\"`) {
		t.Errorf("datasource_type=influx: %d %s", code, body)
	}
	// The UI link VictoriaMetrics' vmui shows (/vmalert/) lands on hlalert's status page.
	if code, body := getBody(t, vm.URL+"/vmalert/", ""); code != http.StatusOK || !strings.Contains(string(body), "ProxyBackupStale") {
		t.Errorf("/vmalert/: %d %.300s", code, body)
	}
}

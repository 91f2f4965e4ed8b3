package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/lokiproto"

	"github.com/hlalert/hlalert/alerts/lokipush"
)

// TestStandaloneLogs pushes journal lines with a Loki client (the push
// package's types, protobuf+snappy over HTTP) to hlalert run in the
// standalone mode: a LogQL alert fires while the lines are in its window
// and resolves when they leave it; a line older than what the rules read
// is dropped and counted.
func TestStandaloneLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon for seconds")
	}
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "journal.rules.yaml"), `groups:
  - name: journal
    type: logql
    interval: 1s
    rules:
      - alert: OOMKill
        expr: 'sum by (host, process) (count_over_time({job="systemd-journal"} |= "Out of memory: Killed process" | regexp "Killed process \\d+ \\((?P<process>[^)]+)\\)" [3s])) > 0'
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.host }}: OOM killer killed {{ $labels.process }}"}
      - record: host:journal_lines:count3s
        expr: 'sum by (host) (count_over_time({job="systemd-journal"}[3s]))'
`)
	write(t, filepath.Join(dir, "hlalert.yaml"), `datasource:
  embedded:
    targets: []
rule_files: [journal.rules.yaml]
evaluation_interval: 1s
`)
	log := newSyncBuffer()
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", log.String())
		}
	}()
	run := start(t, filepath.Join(dir, "hlalert.yaml"), log)
	waitReady(t, run.url)

	pc, err := lokipush.New(lokipush.Options{URL: run.url})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	err = pc.Push(ctx, []lokiproto.Stream{
		{Labels: `{job="systemd-journal", host="nas", level="error"}`, Entries: []lokiproto.Entry{
			{Timestamp: now, Line: "Out of memory: Killed process 4242 (immich) total-vm:8123456kB, anon-rss:3456789kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:9000kB oom_score_adj:0"},
			{Timestamp: now.Add(-time.Hour), Line: "Out of memory: Killed process 1 (too-old) total-vm:1kB"},
		}},
		{Labels: `{job="systemd-journal", host="nas", unit="sshd.service", level="info"}`, Entries: []lokiproto.Entry{
			{Timestamp: now, Line: "Accepted publickey for admin from 192.168.1.10 port 50122 ssh2"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}

	firing := waitAlert(t, run.url, "OOMKill", func(as []apiAlert) bool { return len(as) == 1 && as[0].State == "firing" })
	if got := firing[0].Labels; got["host"] != "nas" || got["process"] != "immich" || got["severity"] != "warning" {
		t.Errorf("firing alert labels %v", got)
	}
	if got := firing[0].Annotations["summary"]; got != "nas: OOM killer killed immich" {
		t.Errorf("summary %q", got)
	}
	// The line leaves the 3s window: the alert resolves.
	waitAlert(t, run.url, "OOMKill", func(as []apiAlert) bool { return len(as) == 0 })

	m := metricsText(t, run.url)
	for _, want := range []string{
		`hlalert_log_lines_received_total 3`,
		`hlalert_log_lines_dropped_total{reason="too_old"} 1`,
		`hlalert_log_lines_dropped_total{reason="limit"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// A stream with a bad label set is refused with 400.
	err = pc.Push(ctx, []lokiproto.Stream{{Labels: `{job=~"x"}`, Entries: []lokiproto.Entry{{Timestamp: time.Now(), Line: "x"}}}})
	var he *lokipush.HTTPError
	if !asHTTPError(err, &he) || he.StatusCode != http.StatusBadRequest {
		t.Errorf("bad labels: got %v, want HTTP 400", err)
	}
}

type apiAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("daemon not ready after 10s")
}

// waitAlert polls /api/v1/alerts until the alerts named name satisfy ok.
func waitAlert(t *testing.T, base, name string, ok func([]apiAlert) bool) []apiAlert {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last []apiAlert
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/api/v1/alerts")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Data struct {
				Alerts []apiAlert `json:"alerts"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		last = nil
		for _, a := range body.Data.Alerts {
			if a.Labels["alertname"] == name {
				last = append(last, a)
			}
		}
		if ok(last) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("alerts %s after 15s: %+v", name, last)
	return nil
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func asHTTPError(err error, target **lokipush.HTTPError) bool {
	he, ok := err.(*lokipush.HTTPError)
	if ok {
		*target = he
	}
	return ok
}

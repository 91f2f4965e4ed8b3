package daemon

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlalert/hlalert/internal/httpaccess/accesstest"
)

// mtlsBackend answers every endpoint hlalert calls, behind TLS that
// requires the test CA's client certificate and a bearer token; it counts
// the requests that got through, by path.
type mtlsBackend struct {
	token string
	mu    sync.Mutex
	hits  map[string]int
}

func (b *mtlsBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.Header.Get("Authorization") != "Bearer "+b.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	b.mu.Lock()
	b.hits[r.URL.Path]++
	b.mu.Unlock()
	switch r.URL.Path {
	case "/api/v1/query", "/loki/api/v1/query":
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"x"},"value":[%d,"1"]}]}}`, time.Now().Unix())
	case "/metrics":
		fmt.Fprint(w, "probe 1\n")
	case "/api/v1/write", "/loki/api/v1/push":
		w.WriteHeader(http.StatusNoContent)
	default: // /ping, /api/v2/alerts
		fmt.Fprint(w, "ok")
	}
}

func (b *mtlsBackend) missing(paths []string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, p := range paths {
		if b.hits[p] == 0 {
			out = append(out, p)
		}
	}
	return out
}

// TestEndToEndClientsTakeTheSectionKeys runs the whole daemon with every
// outgoing client — scrape target, Loki and VictoriaMetrics datasources,
// remote write, history, hand-off, watchdog — pointed at a server that
// requires a client certificate and a bearer token, each section with the
// same tls and bearer_token_file keys: every one of them gets through.
func TestEndToEndClientsTakeTheSectionKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon for seconds")
	}
	t.Parallel()
	wc := accesstest.Write(t, accesstest.Spec{TLS: true})
	backend := &mtlsBackend{token: "s3cret", hits: map[string]int{}}
	srv := accesstest.MutualTLSServer(t, wc, backend)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "token"), backend.token+"\n")
	keys := func(indent int) string {
		s := fmt.Sprintf("tls: {ca_file: %s, cert_file: %s, key_file: %s}\nbearer_token_file: token\n", wc.CAFile, wc.ClientCertFile, wc.ClientKeyFile)
		pad := strings.Repeat(" ", indent)
		return pad + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pad)
	}
	write(t, filepath.Join(dir, "metrics.yaml"), `groups:
  - name: metrics
    interval: 1s
    rules:
      - record: probe:doubled
        expr: probe * 2
      - alert: Probe
        expr: probe > 0
`)
	write(t, filepath.Join(dir, "logs.yaml"), `groups:
  - name: logs
    type: logql
    interval: 1s
    rules:
      - alert: Lines
        expr: 'count_over_time({job="x"}[5m]) > 0'
`)
	write(t, filepath.Join(dir, "alertmanager.yml"), `route:
  receiver: handoff
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: handoff
`)
	notify := fmt.Sprintf(`notify:
  routing_file: alertmanager.yml
  alertmanager_handoff:
    urls: [%[1]s]
%[2]s
  watchdog:
    url: %[1]s/ping
    interval: 1s
%[2]s
`, srv.URL, keys(4))
	runs := []struct {
		name, datasource, rules string
		paths                   []string
	}{
		{
			"embedded and loki", fmt.Sprintf(`datasource:
  loki:
    url: %[1]s
%[2]s
  embedded:
    targets:
      - job: probe
        url: %[1]s/metrics
        interval: 1s
        timeout: 1s
%[3]s
history:
  url: %[1]s
%[4]s
`, srv.URL, keys(4), keys(8), keys(2)),
			"[metrics.yaml, logs.yaml]",
			[]string{"/metrics", "/loki/api/v1/query", "/loki/api/v1/push", "/api/v2/alerts", "/ping"},
		},
		{
			"victoriametrics", fmt.Sprintf(`datasource:
  victoriametrics:
    url: %[1]s
%[2]s
remote_write:
  url: %[1]s/api/v1/write
%[3]s
`, srv.URL, keys(4), keys(2)),
			"[metrics.yaml]",
			[]string{"/api/v1/query", "/api/v1/write"},
		},
	}
	for _, r := range runs {
		cfg := filepath.Join(dir, strings.ReplaceAll(r.name, " ", "-")+".yaml")
		body := r.datasource + "rule_files: " + r.rules + "\nevaluation_interval: 1s\nquery_step: 5s\n" + notify
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		log := newSyncBuffer()
		run := start(t, cfg, log)
		deadline := time.Now().Add(20 * time.Second)
		for len(backend.missing(r.paths)) > 0 && time.Now().Before(deadline) {
			select {
			case err := <-run.done:
				run.cancel() // stopped: nothing left for stop to wait for
				run.cancel = nil
				t.Fatalf("%s: the daemon stopped: %v\ndaemon log:\n%s", r.name, err, log.String())
			case <-time.After(100 * time.Millisecond):
			}
		}
		run.stop()
		if m := backend.missing(r.paths); len(m) > 0 {
			t.Errorf("%s: no request got through on %v in 20s\nconfig:\n%s\ndaemon log:\n%s", r.name, m, body, log.String())
		}
	}
}

package knownmetrics

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/lokiproto"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/lokipush"
)

// exposedNames reads a /metrics page: the names of its samples and of its
// # TYPE lines.
func exposedNames(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// checkDeclared fails for every declared metric of exporter that the real
// server does not expose (a histogram may show as _bucket/_count only).
func checkDeclared(t *testing.T, exporter string, exposed map[string]bool, extra map[string]bool) {
	t.Helper()
	ms, err := ThirdParty()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Exporter != exporter {
			continue
		}
		n++
		if exposed[m.Name] || exposed[m.Name+"_count"] || extra[m.Name] {
			continue
		}
		t.Errorf("%s: %s (declared from %s) is not exposed by the real server", exporter, m.Name, m.Version)
	}
	if n == 0 {
		t.Fatalf("no declared metrics of %q", exporter)
	}
}

// The declared VictoriaMetrics metrics, and the series its scraper writes
// (up, scrape_*), exist in the real VictoriaMetrics v1.150.0.
func TestRealVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real VictoriaMetrics")
	}
	// The scrape config gets VictoriaMetrics' own address once it runs;
	// it re-reads the file every second.
	scrape := filepath.Join(t.TempDir(), "scrape.yml")
	if err := os.WriteFile(scrape, []byte("scrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vm := realserver.StartVictoriaMetrics(t, "-promscrape.config="+scrape, "-promscrape.configCheckInterval=1s",
		"-storage.maxHourlySeries=1000000", "-storage.maxDailySeries=10000000", "-loggerLevel=INFO")
	cfg := fmt.Sprintf("scrape_configs:\n  - job_name: victoriametrics\n    scrape_interval: 1s\n    static_configs: [{targets: ['%s']}]\n", vm.Addr)
	if err := os.WriteFile(scrape, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	url := vm.URL
	// Wait until its own scrape has been stored: the scraper's series.
	scraped := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(scraped) < 4 && time.Now().Before(deadline) {
		for _, n := range []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"} {
			resp, err := http.Get(url + "/api/v1/series?match[]=" + n)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), `"__name__":"`+n+`"`) {
				scraped[n] = true
			}
		}
		_, _ = http.Get(url + "/internal/force_flush")
		time.Sleep(500 * time.Millisecond)
	}
	checkDeclared(t, "Prometheus scraping (VictoriaMetrics promscrape)", scraped, nil)
	checkDeclared(t, "VictoriaMetrics single-node", exposedNames(t, url+"/metrics"), nil)
}

// The declared Loki metrics exist in the real Loki v3.7.8 once it has
// received lines, refused some and answered queries.
func TestRealLoki(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Loki")
	}
	srv := realserver.StartLoki(t)
	ctx := context.Background()
	pc, err := lokipush.New(lokipush.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := pc.Push(ctx, []lokiproto.Stream{{Labels: `{job="systemd", unit="sshd.service"}`, Entries: []lokiproto.Entry{{Timestamp: now, Line: "accepted"}}}}); err != nil {
		t.Fatal(err)
	}
	// A stream with more labels than limits_config allows (15) is
	// discarded: loki_discarded_*.
	var labels []string
	for i := range 20 {
		labels = append(labels, fmt.Sprintf("l%d=%q", i, "v"))
	}
	if err := pc.Push(ctx, []lokiproto.Stream{{Labels: "{" + strings.Join(labels, ", ") + "}", Entries: []lokiproto.Entry{{Timestamp: now, Line: "too many labels"}}}}); err == nil {
		t.Fatal("Loki accepted a stream with 20 labels")
	}
	resp, err := http.Get(srv.URL + "/loki/api/v1/labels")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	checkDeclared(t, "Grafana Loki", exposedNames(t, srv.URL+"/metrics"), nil)
}

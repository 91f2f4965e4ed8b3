package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/evaluator"
)

// The embedded default and its copy in testdata/hlalert/ must not drift.
func TestDefaultConfigMatchesTestdata(t *testing.T) {
	for embedded, copy := range map[string]string{
		"defaultconfig/hlalert.yaml":       "../../testdata/hlalert/embedded.yaml",
		"defaultconfig/hlalert.rules.yaml": "../../testdata/hlalert/hlalert.rules.yaml",
	} {
		a, err := defaultConfig.ReadFile(embedded)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(copy)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s and %s differ: copy one over the other", embedded, copy)
		}
	}
}

// The embedded default loads and builds (its rules parse and are supported
// by the embedded engine).
func TestDefaultConfigBuilds(t *testing.T) {
	dir := t.TempDir()
	p, err := writeDefaultConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Datasource.Embedded == nil || len(cfg.Datasource.Embedded.Targets) != 2 {
		t.Fatalf("datasource %+v", cfg.Datasource)
	}
	if want := "http://" + cfg.Listen + "/metrics"; cfg.Datasource.Embedded.Targets[0].URL != want {
		t.Errorf("the self-scrape target %s is not the listen address %s", cfg.Datasource.Embedded.Targets[0].URL, want)
	}
	ev, err := evaluator.New(cfg, evaluator.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	st := ev.Status()
	if len(st.Groups) != 2 || len(st.Groups[0].Rules) != 5 {
		t.Errorf("groups: %+v", st.Groups)
	}
}

func TestRunCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("datasource: {victoriametrics: {url: vm}}\nrule_files: [x.yaml]\nlisten: nowhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"run", "--config", bad}, exitUsage, bad + `:1:37: datasource.victoriametrics.url: bad URL "vm": scheme must be http or https`},
		{[]string{"run", "--config", bad}, exitUsage, bad + `:3:9: listen: "nowhere": want host:port`},
		{[]string{"run", "--config", filepath.Join(dir, "missing.yaml")}, exitUsage, "read config:"},
		{[]string{"run", "extra"}, exitUsage, `unexpected arguments ["extra"]`},
		{[]string{"run", "-log.level", "loud"}, exitUsage, "-log.level"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit %d and %q", tc.args, code, stderr.String(), tc.code, tc.stderr)
		}
	}
}

// TestRunServes starts the daemon on a config of its own, checks that the
// HTTP side answers and that cancelling the context stops it cleanly.
func TestRunServes(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rules := "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: Always\n        expr: vector(1)\n"
	cfg := fmt.Sprintf("datasource:\n  embedded:\n    targets:\n      - {job: self, url: 'http://%s/metrics', interval: 1s}\nrule_files: [r.yaml]\nlisten: %s\n", addr, addr)
	for name, s := range map[string]string{"r.yaml": rules, "c.yaml": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--config", filepath.Join(dir, "c.yaml")}, &bytes.Buffer{}, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("not ready within 10s: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "alerts.json")); err != nil {
		t.Errorf("no state saved at shutdown: %v", err)
	}
}

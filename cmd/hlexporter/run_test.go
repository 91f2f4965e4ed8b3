package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

var update = flag.Bool("update", false, "rewrite exporters/catalog.md")

// The checked-in catalog matches what the code defines.
func TestCatalogInSync(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"catalog"}, &out, &errb); code != 0 {
		t.Fatalf("catalog: exit %d: %s", code, errb.String())
	}
	servetest.Golden(t, filepath.Join("..", "..", "exporters", "catalog.md"), out.Bytes(), *update)
}

func TestCLI(t *testing.T) {
	td := filepath.Join("..", "..", "testdata", "hlexporter")
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"check", "--config", filepath.Join(td, "hlexporter.example.yaml")}, 0, "ok (zfs, smart, backup, deploy, nvr)", ""},
		{[]string{"check", "--config", filepath.Join(td, "zfs-smart.yaml"), "--collectors", "smart"}, 0, "ok (smart)", ""},
		{[]string{"check", "--config", filepath.Join(td, "unknown-collector.bad.yaml")}, 1, "", "unknown-collector.bad.yaml:2:3: collectors.zsf: unknown collector"},
		{[]string{"check", "--config", filepath.Join(td, "bad-field.bad.yaml")}, 1, "", `bad-field.bad.yaml:3:5: pool: unknown field "pool"`},
		{[]string{"check", "--config", filepath.Join(td, "zfs-smart.yaml"), "--collectors", "zfs,nope"}, 1, "", `unknown collector "nope"`},
		{[]string{"check"}, 2, "", "--config is required"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"catalog", "extra"}, 1, "", "catalog takes no arguments"},
		{[]string{"help"}, 0, "127.0.0.1:9808", ""},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("%v: exit %d (want %d)\nstdout: %s\nstderr: %s", c.args, code, c.code, out.String(), errb.String())
		}
	}
}

// serve starts, answers /healthz and /metrics, and stops on cancel.
func TestServeEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	// A smart collector whose smartctl does not exist: the exporter serves
	// success 0 and keeps running.
	if err := os.WriteFile(cfg, []byte("collectors:\n  smart:\n    smartctl_command: /nonexistent/smartctl\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errb bytes.Buffer
	go func() { done <- run(ctx, []string{"--config", cfg, "--listen", addr}, &bytes.Buffer{}, &errb) }()
	var body string
	for i := 0; i < 100; i++ {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b := new(bytes.Buffer)
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			body = b.String()
			if strings.Contains(body, `hlexporter_collector_success{collector="smart"} 0`) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(body, `hlexporter_collector_success{collector="smart"} 0`) {
		t.Errorf("metrics:\n%s", body)
	}
	if !strings.Contains(errb.String(), "tool not found") {
		t.Errorf("no clear log line for the missing tool:\n%s", errb.String())
	}
}

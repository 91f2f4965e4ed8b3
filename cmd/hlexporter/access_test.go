package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/internal/httpaccess/accesstest"
)

// hlexporter behind a real web config (TLS from a test CA, basic auth with
// a bcrypt hash), as node_exporter's --web.config.file.
func TestServeWebConfig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("collectors:\n  smart:\n    smartctl_command: /nonexistent/smartctl\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wc := accesstest.Write(t, accesstest.Spec{TLS: true, BasicAuth: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--config", cfg, "--listen", addr, "--web.config.file", wc.Path}, &bytes.Buffer{}, &errb)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d: %s", code, errb.String())
		}
	}()
	c := wc.HTTPClient(false)
	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", "https://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := 0; get(accesstest.User, accesstest.Password) != 200; i++ {
		if i == 200 {
			t.Fatalf("no 200 over TLS with the password within 10s: %s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := get(accesstest.User, "wrong password"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("no password: %d, want 401", code)
	}
}

func TestServeRefusesRemoteWithoutAuth(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("listen_address: 0.0.0.0:9808\ncollectors:\n  smart:\n    smartctl_command: /nonexistent/smartctl\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--config", cfg},
		{"--config", cfg, "--listen", "[::]:0"},
		{"check", "--config", cfg},
	} {
		var errb bytes.Buffer
		code := run(context.Background(), args, &bytes.Buffer{}, &errb)
		if code != 1 || !strings.Contains(errb.String(), "refusing to listen on ") || !strings.Contains(errb.String(), "--web.allow-unauthenticated-remote") {
			t.Errorf("%q: exit %d: %s", args, code, errb.String())
		}
	}
}

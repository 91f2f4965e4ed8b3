package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/internal/httpaccess/accesstest"
)

// writeListenConfig writes a daemon config listening on listen and returns
// its path.
func writeListenConfig(t *testing.T, listen string) string {
	t.Helper()
	dir := t.TempDir()
	rules := "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: Always\n        expr: vector(1)\n"
	cfg := fmt.Sprintf("datasource:\n  embedded:\n    targets:\n      - {job: absent, url: 'http://127.0.0.1:9/metrics', interval: 1s}\nrule_files: [r.yaml]\nlisten: %q\n", listen)
	for name, s := range map[string]string{"r.yaml": rules, "c.yaml": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "c.yaml")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// `hlalert run` with a real web config (TLS from a test CA, basic auth
// with a bcrypt hash): a wrong password gets 401, the right one over TLS
// is served, a cross-origin POST to the silences is refused even with the
// password, and the status page shows who silenced what.
func TestRunWebConfig(t *testing.T) {
	wc := accesstest.Write(t, accesstest.Spec{TLS: true, BasicAuth: true})
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--config", writeListenConfig(t, addr), "--web.config.file", wc.Path}, &bytes.Buffer{}, &stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("exit %d\n%s", code, stderr.String())
		}
	}()
	client := wc.HTTPClient(false)
	base := "https://" + addr
	call := func(method, path, user, pass string, body string, hdr map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := call("GET", "/-/ready", accesstest.User, accesstest.Password, "", nil)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 10s: %d %s\n%s", code, body, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := call("GET", "/", accesstest.User, "wrong password", "", nil); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, _ := call("GET", "/api/v1/alerts", "", "", "", nil); code != http.StatusUnauthorized {
		t.Errorf("no password: %d, want 401", code)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/-/ready"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the TLS listener")
		}
	}
	silenceBody := `{"matchers":"alertname=\"Always\"","duration":"1h","createdBy":"on-call","comment":"known"}`
	if code, body := call("POST", "/api/v1/silences", accesstest.User, accesstest.Password, silenceBody,
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("cross-origin POST with the password: %d %s, want 403", code, body)
	}
	if code, body := call("POST", "/-/reload", accesstest.User, accesstest.Password, "", map[string]string{"Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Errorf("cross-origin reload: %d %s, want 403", code, body)
	}
	if code, body := call("POST", "/api/v1/silences", accesstest.User, accesstest.Password, silenceBody, nil); code != http.StatusOK {
		t.Fatalf("POST silence: %d %s", code, body)
	}
	code, page := call("GET", "/", accesstest.User, accesstest.Password, "", nil)
	if code != 200 || strings.Count(page, "on-call <small>(signed in as admin)</small>") != 1 {
		t.Errorf("status page (%d) does not show exactly one silence by on-call signed in as admin:\n%s", code, page)
	}
}

// A listen address beyond loopback with no authentication: refused before
// anything starts, naming the address, the file and the flags.
func TestRunRefusesRemoteWithoutAuth(t *testing.T) {
	cfg := writeListenConfig(t, "0.0.0.0:0")
	tlsOnly := accesstest.Write(t, accesstest.Spec{TLS: true})
	for _, args := range [][]string{
		{"run", "--config", cfg},
		{"run", "--config", cfg, "--web.config.file", tlsOnly.Path},
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), args, &bytes.Buffer{}, &stderr)
		want := cfg + ": listen: refusing to listen on 0.0.0.0:0 without authentication"
		if code != exitUsage || !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "--web.allow-unauthenticated-remote") {
			t.Errorf("%q: exit %d\n%s\nwant exit %d and %q", args, code, stderr.String(), exitUsage, want)
		}
	}
	var pstderr bytes.Buffer
	loopback := writeListenConfig(t, "127.0.0.1:0")
	if code := run(context.Background(), []string{"run", "--config", loopback, "--debug.pprof-listen", "0.0.0.0:0"}, &bytes.Buffer{}, &pstderr); code != exitUsage || !strings.Contains(pstderr.String(), "refusing to serve profiles on 0.0.0.0:0") {
		t.Errorf("remote pprof: exit %d\n%s", code, pstderr.String())
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"run", "--config", cfg, "--web.config.file", filepath.Join(t.TempDir(), "nope.yml")}, &bytes.Buffer{}, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--web.config.file") {
		t.Errorf("missing web config: exit %d\n%s", code, stderr.String())
	}
}

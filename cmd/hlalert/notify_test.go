package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The success path against a real SMTP server is tested in alerts/email
// (Mailpit e2e: realserver is internal to alerts/). Here: the CLI's
// failure report, exit codes and config errors.
func TestNotifyTestCLI(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "email.yaml")
	cfg := "outbox_dir: outbox\nreceivers:\n  ops:\n    - to: op@home.example\n      from: hlalert@nas.home.example\n      smarthost: 127.0.0.1:1\n      require_tls: false\n"
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"notify", "test", "--config", p, "--timeout", "2s"}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stdout.String(), "FAIL ops#0 -> op@home.example: smtp 127.0.0.1:1") ||
		!strings.Contains(stdout.String(), "1 message(s) still queued in "+filepath.Join(dir, "outbox")) {
		t.Fatalf("SMTP down: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"notify", "test", "--config", p, "--receiver", "nobody"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), `no e-mail receiver "nobody" (have: ops)`) {
		t.Fatalf("unknown receiver: exit %d stderr %s", code, stderr.String())
	}
	stderr.Reset()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("outbox_dir: x\nreceivers:\n  ops:\n    - to: a@b\n      form: typo@x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code = run(context.Background(), []string{"notify", "test", "--config", bad}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "line 5: field form not found") {
		t.Fatalf("typo: exit %d stderr %s", code, stderr.String())
	}
}

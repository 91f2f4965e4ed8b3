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
// and alerts/daemon (Mailpit e2e: realserver is internal to alerts/).
// Here: the CLI reads the run config, its failure report, exit codes and
// config errors.
func TestNotifyTestCLI(t *testing.T) {
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	down := writeRunConfig(t, "notify:\n  routing_file: alertmanager.yml\n")
	dir := filepath.Dir(down)
	write(filepath.Join(dir, "alertmanager.yml"), `route: {receiver: ops}
receivers:
  - name: ops
    email_configs:
      - to: op@home.example
        from: hlalert@nas.home.example
        smarthost: 127.0.0.1:1
        require_tls: false
  - name: nomail
`)
	builtin := writeRunConfig(t, "")
	typo := writeRunConfig(t, "notify:\n  routing_file: alertmanager.yml\n  receivers:\n    ops: {send_resolvd: true}\n")
	write(filepath.Join(filepath.Dir(typo), "alertmanager.yml"), "route: {receiver: ops}\nreceivers: [{name: ops}]\n")

	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr []string
	}{
		{"smtp_down", []string{"--config", down, "--timeout", "2s"}, exitFail,
			[]string{"FAIL ops#0 -> op@home.example: smtp 127.0.0.1:1", "1 message(s) queued in " + filepath.Join(dir, "outbox")}, nil},
		{"unknown_receiver", []string{"--config", down, "--receiver", "nobody"}, exitUsage,
			nil, []string{`no receiver "nobody" with email_configs in ` + filepath.Join(dir, "alertmanager.yml") + " (have: ops)"}},
		{"receiver_without_mail", []string{"--config", down, "--receiver", "nomail"}, exitUsage,
			nil, []string{`no receiver "nomail" with email_configs`}},
		{"builtin_outbox_only", []string{"--config", builtin}, exitOK,
			[]string{"kept outbox#0 -> operator@localhost: notify.routing_file is not set", "1 message(s) queued in " + filepath.Join(filepath.Dir(builtin), "outbox")}, nil},
		{"typo", []string{"--config", typo}, exitUsage,
			nil, []string{"hlalert.yaml:10:11: notify.receivers.ops: unknown key \"send_resolvd\""}},
		{"no_config", nil, exitUsage, nil, []string{"--config is required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"notify", "test"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
	// The built-in routing's message is an .eml file in the outbox.
	emls, _ := filepath.Glob(filepath.Join(filepath.Dir(builtin), "outbox", "*.eml"))
	if len(emls) != 1 {
		t.Errorf("outbox holds %v, want one .eml", emls)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeRunConfig writes a minimal run config with the given notify
// section into a new temporary folder and returns its path.
func writeRunConfig(t *testing.T, notify string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "hlalert.yaml")
	cfg := "datasource:\n  embedded:\n    targets: [{job: a, url: \"http://127.0.0.1:1/metrics\"}]\nrule_files: [rules.yaml]\nstate_dir: state\noutbox_dir: outbox\n" + notify
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var untilRE = regexp.MustCompile(`until \S+`)

func TestRouteCLI(t *testing.T) {
	routing, err := filepath.Abs("testdata/route/alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	withRouting := writeRunConfig(t, fmt.Sprintf("notify:\n  routing_file: %q\n", routing))
	noState := writeRunConfig(t, fmt.Sprintf("notify:\n  routing_file: %q\n", routing))
	builtin := writeRunConfig(t, "")
	badRouting, err := filepath.Abs("../../alerts/notify/testdata/bad/undefined-receiver.yml")
	if err != nil {
		t.Fatal(err)
	}
	bad := writeRunConfig(t, fmt.Sprintf("notify:\n  routing_file: %q\n", badRouting))
	typo := writeRunConfig(t, "notify:\n  routing_fil: x.yml\n")

	var out, errb bytes.Buffer
	// A silence added for the config shows up in route's answer.
	if code := run(context.Background(), []string{"silence", "add", "--config", withRouting, "--matcher", `owner="team-A"`, "--author", "me", "--comment", "test", "--duration", "1h"}, &out, &errb); code != exitOK {
		t.Fatalf("silence add: %d %s", code, errb.String())
	}
	silID := strings.TrimSpace(out.String())
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stderr   string
	}{
		{"continue", []string{"route", "--config", withRouting, "--labels", `owner=team-A,env=production,job=backup`}, exitOK, ""},
		{"root", []string{"route", "--config", withRouting, "--labels", `alertname=X`}, exitOK, ""},
		{"muted_weekend", []string{"route", "--config", withRouting, "--labels", `team=night,alertname="a, b"`, "--time", "2026-11-21T12:00:00Z"}, exitOK, ""},
		{"state", []string{"route", "--config", withRouting, "--labels", `owner=team-A`}, exitOK, ""},
		{"no_state", []string{"route", "--config", noState, "--labels", `owner=team-A`}, exitOK, ""},
		{"builtin", []string{"route", "--config", builtin, "--labels", `alertname=X,host=nas`}, exitOK, ""},
		{"bad_labels", []string{"route", "--config", withRouting, "--labels", `owner=~team`}, exitUsage, "only name=value pairs"},
		{"missing", []string{"route", "--labels", `a=b`}, exitUsage, "--config and --labels are required"},
		{"extra_args", []string{"route", "--config", withRouting, "--labels", `a=b`, "x"}, exitUsage, `unexpected arguments ["x"]`},
		{"bad_routing", []string{"route", "--config", bad, "--labels", `a=b`}, exitUsage, `undefined-receiver.yml:5:15: route.routes[0].receiver: undefined receiver "nobody"`},
		{"bad_config", []string{"route", "--config", typo, "--labels", `a=b`}, exitUsage, `hlalert.yaml:8:3: notify: unknown key "routing_fil"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.wantCode, stderr.String())
			}
			if tc.stderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
			if code != exitOK {
				return
			}
			got := strings.ReplaceAll(stdout.String(), silID, "SILENCE_ID")
			got = strings.ReplaceAll(got, filepath.Dir(routing), "TESTDATA")
			for _, c := range []string{noState, builtin} {
				got = strings.ReplaceAll(got, filepath.Dir(c), "CONFIG_DIR")
			}
			got = untilRE.ReplaceAllString(got, "until END") // the silence's end varies
			golden := filepath.Join("testdata/route", tc.name+".golden")
			if updateGolden() {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRouteCLI(t *testing.T) {
	state := t.TempDir()
	var out, errb bytes.Buffer
	// A silence in the state dir shows up in route's answer.
	if code := run(context.Background(), []string{"silence", "add", "--state-dir", state, "--matcher", `owner="team-A"`, "--author", "me", "--comment", "test", "--duration", "1h"}, &out, &errb); code != exitOK {
		t.Fatalf("silence add: %d %s", code, errb.String())
	}
	silID := strings.TrimSpace(out.String())
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stderr   string
	}{
		{"continue", []string{"route", "--config", "testdata/route/alertmanager.yml", "--labels", `owner=team-A,env=production,job=backup`}, exitOK, ""},
		{"root", []string{"route", "--config", "testdata/route/alertmanager.yml", "--labels", `alertname=X`}, exitOK, ""},
		{"muted_weekend", []string{"route", "--config", "testdata/route/alertmanager.yml", "--labels", `team=night,alertname="a, b"`, "--time", "2026-11-21T12:00:00Z"}, exitOK, ""},
		{"state", []string{"route", "--config", "testdata/route/alertmanager.yml", "--labels", `owner=team-A`, "--state-dir", state}, exitOK, ""},
		{"bad_labels", []string{"route", "--config", "testdata/route/alertmanager.yml", "--labels", `owner=~team`}, exitUsage, "only name=value pairs"},
		{"missing", []string{"route", "--labels", `a=b`}, exitUsage, "--config and --labels are required"},
		{"bad_config", []string{"route", "--config", "../../alerts/notify/testdata/bad/undefined-receiver.yml", "--labels", `a=b`}, exitUsage, `undefined-receiver.yml:5:15: undefined receiver "nobody"`},
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
			if tc.name == "state" {
				// The silence's end time varies; compare up to it.
				got = got[:strings.Index(got, "until")]
				want = want[:bytes.Index(want, []byte("until"))]
			}
			if got != string(want) {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

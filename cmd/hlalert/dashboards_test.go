package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDashboardsCheckCLI(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		stdout   []string // lines stdout must contain
		stderr   string
	}{
		{"shipped boards", []string{"dashboards", "check", "-rules", "../../rules/*.rules.yml", "../../dashboards"}, exitOK, nil, ""},
		{"with metrics: panels without data", []string{"dashboards", "check", "-rules", "../../rules/*.rules.yml",
			"-metrics", "../../exporters/nvr/testdata/golden/composed-frigate-0.16-bearer.prom", "../../dashboards"}, exitFail,
			[]string{`../../dashboards/storage.json: panel 2 "Pool health" query A: returns no data`}, "problem(s)"},
		{"broken boards", []string{"dashboards", "check", "testdata/dashboards/broken"}, exitFail, []string{
			`testdata/dashboards/broken/cameras.json: panel 3 "Camera fps" query A: metric hlexporter_nvr_camera_fps_total is not exported`,
			`testdata/dashboards/broken/storage.json: panels[1].Panel: unexpected field 'colour'`,
		}, "hlalert dashboards check: 2 problem(s)"},
		{"with logs: the shipped LogQL panels have data", []string{"dashboards", "check", "-rules", "../../rules/*.rules.yml",
			"-logs", "../../rules/journal.test.yml", "../../dashboards"}, exitOK, nil, ""},
		{"with logs: labels the streams lack", []string{"dashboards", "check", "-logs", "../../rules/journal.test.yml", "testdata/dashboards/logql-labels"}, exitFail, []string{
			`logs.json: panel 1 "Journal errors by host and unit" query A: LogQL: groups by service, which none of its 3 series carries`,
			`logs.json: panel 2 "SSH authentication failures" query A: LogQL: stream selector label service is on none of the log streams (their labels: host, job, level, unit)`,
		}, "hlalert dashboards check: 3 problem(s)"},
		{"with logs: no input_streams", []string{"dashboards", "check", "-logs", "../../rules/backup.test.yml", "../../dashboards"}, exitUsage, nil, "logs: no input_streams in ../../rules/backup.test.yml"},
		{"with logs: unreadable", []string{"dashboards", "check", "-logs", "testdata/nope.yml", "../../dashboards"}, exitUsage, nil, "logs: read test file: open testdata/nope.yml"},
		{"no dir", []string{"dashboards", "check"}, exitUsage, nil, "usage: hlalert dashboards check"},
		{"empty dir", []string{"dashboards", "check", "testdata/check/emptydir"}, exitUsage, nil, "no *.json dashboard"},
		{"no subcommand", []string{"dashboards"}, exitUsage, nil, "usage: hlalert dashboards check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, &stdout, &stderr)
			}
			for _, l := range tc.stdout {
				if !strings.Contains(stdout.String(), l) {
					t.Errorf("stdout lacks %q:\n%s", l, &stdout)
				}
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, &stderr)
			}
		})
	}
}

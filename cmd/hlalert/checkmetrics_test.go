package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hlalert check flags a misspelt metric with the closest known name and a
// template that never closes; the shipped rules read only known metrics.
func TestCheckMetricNames(t *testing.T) {
	for _, tc := range []struct {
		name, dir string
		code      int
	}{
		{"metrics", "testdata/check/metrics", exitOK}, // warnings only
		{"shipped_rules", "../../rules", exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"check", tc.dir}, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			if tc.name == "shipped_rules" {
				if strings.Contains(stdout.String(), "unknown metric") || strings.Contains(stdout.String(), "never closed") {
					t.Errorf("the shipped rules read unknown metrics or have unclosed templates:\n%s", &stdout)
				}
				return
			}
			golden := filepath.Join("testdata", "check", tc.name+".stdout")
			if updateGolden() {
				if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if stdout.String() != string(want) {
				t.Errorf("stdout:\n%s\nwant:\n%s", &stdout, want)
			}
		})
	}
}

func TestUnclosedAction(t *testing.T) {
	for s, want := range map[string]int{
		"":                      -1,
		"plain":                 -1,
		"{{ $labels.job }}":     -1,
		"{{ $labels.job ":       0,
		"a {{ x }} b {{ y":      -1, // a template: Load reports the unclosed action
		"}} {{":                 -1,
		"text {{ $value":        5,
		"{{ a }}{{ b }}{{ c }}": -1,
		"{ { not an action":     -1,
	} {
		if got := unclosedAction(s); got != want {
			t.Errorf("unclosedAction(%q) = %d, want %d", s, got, want)
		}
	}
}

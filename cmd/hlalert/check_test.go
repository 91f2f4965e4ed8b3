package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/mqlengine"
)

// The -update flag may also be declared by another test file of this
// package; register it only when nobody did (package variables are
// initialised before init functions run).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestCheckCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stderr   string // substring of stderr; "" means stderr must be empty
	}{
		{"clean", []string{"check", "testdata/check/clean"}, exitOK, ""},
		{"warnings", []string{"check", "testdata/check/warn"}, exitOK, ""},
		{"warnings_strict", []string{"check", "--strict", "--eval-interval=1m", "testdata/check/warn"}, exitFail, ""},
		{"errors", []string{"check", "testdata/check/bad"}, exitFail, ""},
		{"single_file", []string{"check", "testdata/check/bad/other.yml"}, exitOK, ""},
		{"missing_path", []string{"check", "testdata/check/clean", "testdata/check/nope.yml"}, exitUsage, "hlalert check: stat testdata/check/nope.yml: no such file or directory\n"},
		{"empty_dir", []string{"check", "testdata/check/clean", "testdata/check/emptydir"}, exitUsage, "hlalert check: no *.yml or *.yaml files in directory testdata/check/emptydir\n"},
		{"no_args", []string{"check"}, exitUsage, "hlalert check: no PATH given\nusage: hlalert check [flags] PATH..."},
		{"bad_flag", []string{"check", "--nope", "x"}, exitUsage, "flag provided but not defined: -nope"},
		{"help", []string{"check", "-h"}, exitOK, "usage: hlalert check [flags] PATH..."},
		{"run_config_bad_notify", []string{"check", "-config", "../../alerts/config/testdata/notify.bad.yaml"}, exitFail, ""},
		{"run_config_default", []string{"check", "-config", "defaultconfig/hlalert.yaml"}, exitOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, &stdout, &stderr)
			}
			if tc.stderr == "" && stderr.Len() > 0 {
				t.Errorf("unexpected stderr:\n%s", &stderr)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not contain %q", &stderr, tc.stderr)
			}
			goldenFile := filepath.Join("testdata", "check", tc.name+".stdout")
			if updateGolden() {
				if err := os.WriteFile(goldenFile, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if stdout.String() != string(want) {
				t.Errorf("stdout:\n%s\nwant:\n%s", &stdout, want)
			}
		})
	}
}

// The engine's function set grows; a fake checker pins what check does with
// its answer: the error at the unsupported name's position in the file.
func TestCheckEngineSupport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.yml")
	src := "groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: sum(limitk(1, x))\n      - record: c:d\n        expr: |\n          sum(x)\n            + range_median(y)\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &checker{
		ctx:          context.Background(),
		evalInterval: time.Minute,
		checked:      map[string]bool{},
		engineCheck: func(expr string) error {
			for _, name := range []string{"limitk", "range_median"} {
				if strings.Contains(expr, name) {
					return &mqlengine.UnsupportedError{Name: name}
				}
			}
			return nil
		},
	}
	if err := c.checkPath(path); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range c.diags {
		got = append(got, strings.TrimPrefix(d.pos.String(), dir+"/")+": "+d.severity+": "+d.msg)
	}
	want := []string{
		`r.yml:5:19: error: recording rule "a:b": not supported by the embedded engine: limitk`,
		`r.yml:9:15: error: recording rule "c:d": not supported by the embedded engine: range_median`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

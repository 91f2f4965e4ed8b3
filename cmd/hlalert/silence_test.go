package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/hlalert/hlalert/alerts/silence"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSilenceCLI(t *testing.T) {
	dir := t.TempDir()
	store, err := silence.Open(silence.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(silence.NewHandler(store, nil))
	defer srv.Close()
	for _, where := range [][]string{{"--state-dir", dir}, {"--url", srv.URL}} {
		t.Run(where[0], func(t *testing.T) {
			code, out, errs := runCLI(t, append(append([]string{"silence", "add"}, where...),
				"--matcher", "alertname=BackupStale", "--matcher", `host=~"nas|main"`, "--author", "me", "--comment", "moving\ndisks", "--duration", "2h")...)
			if code != exitOK || errs != "" {
				t.Fatalf("add: %d %q", code, errs)
			}
			id := strings.TrimSpace(out)
			if got, _ := store.Mutes(map[string]string{"alertname": "BackupStale", "host": "nas"}); len(got) != 1 || got[0] != id {
				t.Fatalf("store mutes %v, want [%s]", got, id)
			}
			code, out, errs = runCLI(t, append([]string{"silence", "list"}, where...)...)
			if code != exitOK || !strings.Contains(out, id+"  active  alertname=\"BackupStale\",host=~\"nas|main\"") || !strings.Contains(out, "me          moving disks") {
				t.Fatalf("list: %d %q %q", code, out, errs)
			}
			code, out, errs = runCLI(t, append(append([]string{"silence", "expire"}, where...), id)...)
			if code != exitOK || out != "expired "+id+"\n" {
				t.Fatalf("expire: %d %q %q", code, out, errs)
			}
			if _, out, _ = runCLI(t, append([]string{"silence", "list"}, where...)...); strings.Contains(out, id) {
				t.Errorf("expired silence listed without --all: %q", out)
			}
			if _, out, _ = runCLI(t, append([]string{"silence", "list", "--all"}, where...)...); !strings.Contains(out, id+"  expired") {
				t.Errorf("list --all: %q", out)
			}
			code, _, errs = runCLI(t, append([]string{"silence", "expire"}, append(where, "nope")...)...)
			if code != exitFail || !strings.Contains(errs, "not found") {
				t.Errorf("expire unknown: %d %q", code, errs)
			}
			code, _, errs = runCLI(t, append([]string{"silence", "add"}, append(where, "--matcher", "a=b", "--duration", "1h", "--author", "me")...)...)
			if code != exitFail || !strings.Contains(errs, "comment: required") {
				t.Errorf("add without comment: %d %q", code, errs)
			}
		})
	}
	usage := []struct {
		args []string
		want string
	}{
		{[]string{"silence"}, "usage: hlalert silence add"},
		{[]string{"silence", "bogus"}, `unknown subcommand "bogus"`},
		{[]string{"silence", "list"}, "exactly one of --config, --state-dir, --url"},
		{[]string{"silence", "add", "--state-dir", dir, "--comment", "c"}, "at least one --matcher"},
		{[]string{"silence", "add", "--state-dir", dir, "--matcher", "a=~(", "--duration", "1h", "--comment", "c"}, "--matcher"},
		{[]string{"silence", "add", "--state-dir", dir, "--matcher", "a=b", "--comment", "c"}, "exactly one of --duration and --end"},
		{[]string{"silence", "list", "--url", "ftp://x"}, "not an http(s) URL"},
		{[]string{"silence", "expire", "--state-dir", dir}, "no silence ID"},
	}
	for _, u := range usage {
		code, _, errs := runCLI(t, u.args...)
		if code != exitUsage || !strings.Contains(errs, u.want) {
			t.Errorf("%v: exit %d stderr %q, want %d and %q", u.args, code, errs, exitUsage, u.want)
		}
	}
}

// --config finds the state directory of an hlalert config.
func TestSilenceCLIConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/hlalert.yaml"
	data := "datasource:\n  embedded:\n    targets: []\nrule_files: [rules.yml]\nstate_dir: st\n"
	if err := os.WriteFile(dir+"/rules.yml", []byte("groups: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "silence", "add", "--config", cfg, "--matcher", "alertname=X", "--author", "me", "--comment", "c", "--duration", "1h")
	if code != exitOK {
		t.Fatalf("add: %d %q", code, errs)
	}
	store, err := silence.Open(silence.Options{Dir: dir + "/st"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(strings.TrimSpace(out)); err != nil {
		t.Errorf("silence not in the config's state_dir: %v", err)
	}
}

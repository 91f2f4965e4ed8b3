package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// --url with --user/--password-file sends basic auth, and --ca-file trusts
// a private CA: a TLS server that requires the credentials sees them.
func TestSilenceCLIAuth(t *testing.T) {
	store, err := silence.Open(silence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	api := silence.NewHandler(store, nil)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "s3cret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"status":"error","error":"unauthorized"}`))
			return
		}
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	add := []string{"silence", "add", "--url", srv.URL, "--matcher", "a=b", "--author", "me", "--comment", "c", "--duration", "1h"}
	code, out, errs := runCLI(t, append(add, "--user", "admin", "--password-file", pw, "--ca-file", ca)...)
	if code != exitOK || errs != "" {
		t.Fatalf("add with credentials: %d %q", code, errs)
	}
	if got, _ := store.Mutes(map[string]string{"a": "b"}); len(got) != 1 || got[0] != strings.TrimSpace(out) {
		t.Fatalf("store mutes %v, want [%s]", got, strings.TrimSpace(out))
	}
	if code, _, errs := runCLI(t, append(add, "--ca-file", ca)...); code != exitFail || !strings.Contains(errs, "HTTP 401") {
		t.Errorf("without credentials: %d %q, want a failure naming HTTP 401", code, errs)
	}
	if code, _, errs := runCLI(t, append(add, "--user", "admin", "--password-file", pw)...); code != exitFail || !strings.Contains(errs, "certificate") {
		t.Errorf("without --ca-file: %d %q, want a certificate error", code, errs)
	}
	for _, u := range []struct {
		args []string
		want string
	}{
		{append(add, "--user", "admin"), "--user and --password-file go together"},
		{append(add, "--password-file", filepath.Join(dir, "missing")), "--user and --password-file go together"},
		{append(add, "--user", "admin", "--password-file", filepath.Join(dir, "missing")), "--password-file: open"},
		{append(add, "--ca-file", pw), "no PEM certificate"},
		{[]string{"silence", "list", "--url", "https://admin:pw@host"}, "credentials in the URL"},
		{[]string{"silence", "list", "--state-dir", dir, "--user", "admin"}, "go with --url"},
	} {
		code, _, errs := runCLI(t, u.args...)
		if code != exitUsage || !strings.Contains(errs, u.want) {
			t.Errorf("%v: exit %d stderr %q, want %d and %q", u.args, code, errs, exitUsage, u.want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/backup"
	"github.com/hlalert/hlalert/exporters/deploy"
	"github.com/hlalert/hlalert/exporters/nvr"
	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
	"github.com/hlalert/hlalert/exporters/smart"
	"github.com/hlalert/hlalert/exporters/zfs"
)

var update = flag.Bool("update", false, "rewrite exporters/catalog.md, the transcripts and the .err goldens")

// The checked-in catalog matches what the code defines.
func TestCatalogInSync(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"catalog"}, &out, &errb); code != 0 {
		t.Fatalf("catalog: exit %d: %s", code, errb.String())
	}
	servetest.Golden(t, filepath.Join("..", "..", "exporters", "catalog.md"), out.Bytes(), *update)
}

func TestCLI(t *testing.T) {
	td := filepath.Join("..", "..", "testdata", "hlexporter")
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"check", "--config", filepath.Join(td, "hlexporter.example.yaml")}, 0, "ok (zfs, smart, backup, deploy, nvr)", ""},
		{[]string{"check", "--config", filepath.Join(td, "zfs-smart.yaml"), "--collectors", "smart"}, 0, "ok (smart)", ""},
		{[]string{"check", "--config", filepath.Join(td, "unknown-collector.bad.yaml")}, 1, "", `unknown-collector.bad.yaml:2:3: collectors: unknown key "zsf" (known: backup, deploy, nvr, smart, zfs)`},
		{[]string{"check", "--config", filepath.Join(td, "bad-field.bad.yaml")}, 1, "", `bad-field.bad.yaml:3:5: collectors.zfs: unknown key "pool" (known: `},
		{[]string{"check", "--config", filepath.Join(td, "zfs-smart.yaml"), "--collectors", "zfs,nope"}, 1, "", `unknown collector "nope"`},
		// Selected but not configured: its defaults' problem is the file's.
		{[]string{"check", "--config", filepath.Join(td, "zfs-smart.yaml"), "--collectors", "zfs,nvr"}, 1, "", "zfs-smart.yaml: collectors.nvr.url: missing\n"},
		{[]string{"check"}, 2, "", "--config is required"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"catalog", "extra"}, 1, "", "catalog takes no arguments"},
		{[]string{"help"}, 0, "127.0.0.1:9808", ""},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("%v: exit %d (want %d)\nstdout: %s\nstderr: %s", c.args, code, c.code, out.String(), errb.String())
		}
	}
}

// Each testdata/config/*.bad.yaml fails check with exactly the stderr of
// its .err golden: the collector sections' errors, each at its
// file:line:col, all of them, in file order.
func TestConfigErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad configs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"check", "--config", f}, &out, &errb); code != 1 || out.Len() > 0 {
				t.Fatalf("exit %d (want 1), stdout %q", code, out.String())
			}
			servetest.Golden(t, strings.TrimSuffix(f, ".yaml")+".err", errb.Bytes(), *update)
		})
	}
}

// serve starts, answers /healthz and /metrics, and stops on cancel.
func TestServeEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	// A smart collector whose smartctl does not exist: the exporter serves
	// success 0 and keeps running.
	if err := os.WriteFile(cfg, []byte("collectors:\n  smart:\n    smartctl_command: /nonexistent/smartctl\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errb bytes.Buffer
	go func() { done <- run(ctx, []string{"--config", cfg, "--listen", addr}, &bytes.Buffer{}, &errb) }()
	var body string
	for i := 0; i < 100; i++ {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b := new(bytes.Buffer)
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			body = b.String()
			if strings.Contains(body, `hlexporter_collector_success{collector="smart"} 0`) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(body, `hlexporter_collector_success{collector="smart"} 0`) {
		t.Errorf("metrics:\n%s", body)
	}
	if !strings.Contains(errb.String(), "tool not found") {
		t.Errorf("no clear log line for the missing tool:\n%s", errb.String())
	}
}

// Each collector's Describe lists exactly what its package's Metrics (the
// catalog's source) lists.
func TestDescribeMatchesCatalog(t *testing.T) {
	cfg, err := serve.LoadFile(filepath.Join("..", "..", "testdata", "hlexporter", "hlexporter.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := buildJobs(cfg, names(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(factories()) {
		t.Fatalf("built %d collectors, want %d", len(jobs), len(factories()))
	}
	for _, j := range jobs {
		f, _ := factoryByName(j.Collector.Name())
		var got, want []string
		for _, d := range j.Collector.Describe() {
			got = append(got, fmt.Sprintf("%s %s %v %q", d.Name, d.Type, d.Labels, d.Help))
		}
		for _, d := range f.metrics() {
			want = append(want, fmt.Sprintf("%s %s %v %q", d.Name, d.Type, d.Labels, d.Help))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: Describe\n%s\nMetrics\n%s", f.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// The backup collector's update timeout covers its repositories' own
// timeouts run back to back: derived by default, checked when set.
func TestBackupUpdateTimeout(t *testing.T) {
	const repo = "collectors:\n  backup:\n%s    repositories:\n      - {name: nas, tool: restic, repository: /srv/r, password_file: /p, location: nas, tier: local, timeout: 10m}\n"
	for _, c := range []struct {
		section string
		timeout time.Duration
		err     string
	}{
		{"", 40 * time.Minute, ""}, // snapshots, stats, locks, check × 10m
		{"    update_timeout: 45m\n", 45 * time.Minute, ""},
		{"    update_timeout: 30m\n", 0, `c.yaml:3:21: collectors.backup.update_timeout: 30m0s is shorter than one update of repository "nas" can take: 4 tool sources (snapshots, stats, locks, check) one after another under timeout 10m0s each = 40m0s; raise update_timeout to at least 40m0s or lower repositories[0].timeout`},
	} {
		cfg, err := serve.Load([]byte(fmt.Sprintf(repo, c.section)), "c.yaml", "")
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := buildJobs(cfg, []string{"backup"}, slog.New(slog.DiscardHandler))
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: error\n%v\nwant\n%s", c.section, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.section, err)
		}
		if jobs[0].Timeout != c.timeout || jobs[0].Interval != time.Minute {
			t.Errorf("%q: interval %s timeout %s, want 1m and %s", c.section, jobs[0].Interval, jobs[0].Timeout, c.timeout)
		}
	}
}

// The config loader resolves every key ending in _file, _path or _dir (and
// lists under _files, _paths, _dirs) against the config file's folder, so
// only keys that name local files may end that way. A new such key must be
// added here after checking that it is one.
func TestPathKeysAreLocalPaths(t *testing.T) {
	local := []string{
		"backup.repositories.cache_dir", "backup.repositories.env_file", "backup.repositories.last_run.marker_file",
		"backup.repositories.last_run.summary_file", "backup.repositories.password_file", "backup.repositories.repository_file",
		"backup.repositories.restore_test.marker_file", "backup.repositories.restore_test.summary_file",
		"deploy.profiles_dir", "nvr.password_file", "nvr.token_file",
	}
	var got []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			for _, suf := range []string{"_file", "_path", "_dir", "_files", "_paths", "_dirs"} {
				if strings.HasSuffix(name, suf) {
					got = append(got, prefix+name)
				}
			}
			walk(prefix+name+".", t.Field(i).Type)
		}
	}
	for name, cfg := range map[string]any{"zfs": zfs.Config{}, "smart": smart.Config{}, "backup": backup.Config{}, "deploy": deploy.Config{}, "nvr": nvr.Config{}} {
		walk(name+".", reflect.TypeOf(cfg))
	}
	slices.Sort(got)
	if !slices.Equal(got, local) {
		t.Errorf("path-suffixed keys\n%s\nwant (checked to be local paths)\n%s", strings.Join(got, "\n"), strings.Join(local, "\n"))
	}
	// nvr's storage key is Frigate's mount point: left as written.
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("collectors:\n  nvr:\n    url: http://127.0.0.1:5000\n    recordings_storage: /media/frigate/recordings\n    token_file: tok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := serve.LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := cfg.Section("nvr")
	var n nvr.Config
	if err := sec.Decode(&n); err != nil {
		t.Fatal(err)
	}
	if n.RecordingsStorage != "/media/frigate/recordings" || n.TokenFile != filepath.Join(dir, "tok") {
		t.Errorf("recordings_storage %q, token_file %q", n.RecordingsStorage, n.TokenFile)
	}
}

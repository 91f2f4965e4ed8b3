package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/internal/golden"
)

// TestBad loads every testdata/*.bad.yaml and compares all its errors with
// the .err golden file next to it.
func TestBad(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadFile(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			golden.Check(t, strings.TrimSuffix(f, ".yaml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

func TestFull(t *testing.T) {
	cfg, err := LoadFile("testdata/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	token := filepath.Join(dir, "secrets/loki_token")
	vm := cfg.Datasource.VictoriaMetrics
	if vm == nil || vm.URL != "http://vmselect:8481/select/0/prometheus" || vm.HTTP.Client.BasicAuth == nil ||
		vm.HTTP.Client.BasicAuth.PasswordFile != filepath.Join(dir, "secrets/vm_password") || vm.HTTP.Timeout != 10*time.Second {
		t.Errorf("victoriametrics = %+v", vm)
	}
	if got := vm.Params["extra_label"]; len(got) != 2 || got[1] != "team=home" || vm.Params.Get("nocache") != "1" {
		t.Errorf("params = %v", vm.Params)
	}
	l := cfg.Datasource.Loki
	if l == nil || l.Tenant != "homelab" || !bearer(l.HTTP, token) || l.HTTP.Timeout != DefaultTimeout {
		t.Errorf("loki = %+v", l)
	}
	if cfg.RuleFiles[0] != filepath.Join(dir, "../../../rules/*.yaml") || cfg.RuleFiles[1] != "/etc/hlalert/rules/*.yml" {
		t.Errorf("rule_files = %v", cfg.RuleFiles)
	}
	if cfg.EvaluationInterval != 30*time.Second || cfg.DatasourceDownAfter != 5 || cfg.Listen != "0.0.0.0:8880" {
		t.Errorf("interval %s, down_after %d, listen %s", cfg.EvaluationInterval, cfg.DatasourceDownAfter, cfg.Listen)
	}
	if cfg.StateDir != "/var/lib/hlalert" || cfg.OutboxDir != filepath.Join(dir, "outbox") {
		t.Errorf("state_dir %s outbox_dir %s", cfg.StateDir, cfg.OutboxDir)
	}
	// remote_write defaults to the cluster's insert path.
	if cfg.RemoteWrite == nil || cfg.RemoteWrite.URL != "http://vmselect:8481/insert/0/prometheus/api/v1/import" ||
		cfg.RemoteWrite.HTTP.Client.BasicAuth.Username != "hlalert" {
		t.Errorf("remote_write = %+v", cfg.RemoteWrite)
	}
	if cfg.History == nil || cfg.History.Tenant != "homelab" || cfg.ExternalLabels["cluster"] != "homelab" {
		t.Errorf("history %+v external_labels %v", cfg.History, cfg.ExternalLabels)
	}
	n := cfg.Notify
	if n.RoutingFile != filepath.Join(dir, "notify/alertmanager.yml") || len(n.Templates) != 1 ||
		n.Templates[0] != filepath.Join(dir, "notify/*.tmpl") || n.GrafanaURL != "https://grafana.home.arpa/d/alerts" {
		t.Errorf("notify = %+v", n)
	}
	if r := n.Receivers["ops"]; r.SendResolved == nil || *r.SendResolved || r.AuthMechanism != "XOAUTH2" ||
		r.AuthTokenFile != filepath.Join(dir, "notify/oauth_token") {
		t.Errorf("notify.receivers.ops = %+v", r)
	}
	if h := n.Handoff; h == nil || len(h.URLs) != 2 || !bearer(h.HTTP, token) || h.HTTP.Timeout != 5*time.Second {
		t.Errorf("notify.alertmanager_handoff = %+v", h)
	}
	if w := n.Watchdog; w == nil || w.Method != "POST" || w.Interval != 2*time.Minute || w.HTTP.Timeout != 10*time.Second {
		t.Errorf("notify.watchdog = %+v", w)
	}
}

// bearer tells whether h sends the token read from file.
func bearer(h HTTP, file string) bool {
	a := h.Client.Authorization
	return a != nil && a.Type == "Bearer" && a.CredentialsFile == file && h.Client.BasicAuth == nil
}

func TestEmbeddedDefaults(t *testing.T) {
	cfg, err := LoadFile("testdata/embedded.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ts := cfg.Datasource.Embedded.Targets
	if len(ts) != 2 || ts[0].Interval != 30*time.Second || ts[0].Timeout != 10*time.Second || ts[0].Labels["host"] != "nas" {
		t.Errorf("targets[0] = %+v", ts)
	}
	if ts[1].Interval != DefaultScrapeInterval || ts[1].Timeout != 10*time.Second {
		t.Errorf("targets[1] = %+v", ts[1])
	}
	if cfg.EvaluationInterval != DefaultEvaluationInterval || cfg.Listen != DefaultListen ||
		cfg.DatasourceDownAfter != DefaultDatasourceDownAfter || cfg.RemoteWrite != nil {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestImportURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://vm:8428":                           "http://vm:8428/api/v1/import",
		"http://vm:8428/":                          "http://vm:8428/api/v1/import",
		"https://h/vm/select/3:1/prometheus":       "https://h/vm/insert/3:1/prometheus/api/v1/import",
		"http://vmselect:8481/select/0/prometheus": "http://vmselect:8481/insert/0/prometheus/api/v1/import",
	} {
		if got, err := ImportURL(in); err != nil || got != want {
			t.Errorf("ImportURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// The notify section: full.good.yaml and notify.bad.yaml above, and
	// these shapes, whose relative paths resolve against testdata/.
	for _, n := range []string{
		"notify: {}\n",
		"notify:\n  routing_file: notify/alertmanager.yml\n",
		"notify:\n  routing_file: notify/alertmanager.yml\n  templates: [notify/*.tmpl]\n  receivers: {ops: {send_resolved: true}}\n",
		"notify:\n  receivers:\n    ops: {auth_mechanism: XOAUTH2, auth_token_file: notify/oauth_token}\n",
		"notify:\n  alertmanager_handoff: {urls: ['http://am:9093'], timeout: 10s}\n  watchdog: {url: 'https://hc.example/ping', method: GET, interval: 1m}\n",
		"notify: [routing_file]\n",
		"notify:\n  receivers: [ops]\n",
	} {
		f.Add([]byte("datasource: {embedded: {targets: [{job: a, url: 'http://127.0.0.1:1/m'}]}}\nrule_files: [r.yaml]\n" + n))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load("testdata/fuzz.yaml", data)
		if cfg != nil && cfg.Notify.RoutingFile != "" && !filepath.IsAbs(cfg.Notify.RoutingFile) {
			t.Fatalf("notify.routing_file %q not resolved to an absolute path", cfg.Notify.RoutingFile)
		}
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Load returned cfg %v and err %v", cfg, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "testdata/fuzz.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

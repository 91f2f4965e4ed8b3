package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlalert/hlalert/alerts/config"
)

func loadCfg(t testing.TB, notify string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	am, err := os.ReadFile("testdata/am.yml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"am.yml": string(am), "r.yaml": "groups: []\n", "token": "tok\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := "datasource: {embedded: {targets: [{job: a, url: 'http://127.0.0.1:1/m'}]}}\nrule_files: [r.yaml]\n" + notify
	cfg, err := config.Load(filepath.Join(dir, "hlalert.yaml"), []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPlanNotify(t *testing.T) {
	for _, tc := range []struct {
		name, notify string
		wantErr      []string
		check        func(t *testing.T, p *Plan)
	}{
		{name: "builtin", check: func(t *testing.T, p *Plan) {
			cs := p.Email.Receivers[BuiltinReceiver]
			if len(cs) != 1 || !cs[0].OutboxOnly || cs[0].Smarthost != "" {
				t.Errorf("built-in receiver configs = %+v", cs)
			}
		}},
		{name: "extras", notify: "notify:\n  routing_file: am.yml\n  receivers:\n    ops: {send_resolved: false, auth_mechanism: XOAUTH2, auth_token_file: token}\n",
			check: func(t *testing.T, p *Plan) {
				c := p.Email.Receivers["ops"][0]
				if c.SendResolved == nil || *c.SendResolved || c.AuthMechanism != "XOAUTH2" || !strings.HasSuffix(c.AuthTokenFile, "/token") || c.OutboxOnly {
					t.Errorf("ops config = %+v", c)
				}
			}},
		{name: "unknown receiver", notify: "notify:\n  routing_file: am.yml\n  receivers:\n    nobody: {send_resolved: true}\n    drop: {send_resolved: true}\n",
			wantErr: []string{`notify.receivers.drop: receiver "drop" has no email_configs`, `notify.receivers.nobody: no receiver "nobody" in the routing`}},
		{name: "handoff", notify: "notify:\n  routing_file: am.yml\n  alertmanager_handoff: {urls: ['http://am:9093']}\n  watchdog: {url: 'http://hc/ping'}\n",
			check: func(t *testing.T, p *Plan) {
				if p.Handoff == nil || p.Handoff.URLs[0] != "http://am:9093" || p.Watchdog == nil || p.Watchdog.URL != "http://hc/ping" {
					t.Errorf("plan = %+v", p)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanNotify(loadCfg(t, tc.notify))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

// FuzzPlanNotify: the routing file named by notify.routing_file is
// outside input (an operator's Alertmanager config); PlanNotify never
// panics, and its errors name the routing file.
func FuzzPlanNotify(f *testing.F) {
	f.Add([]byte(BuiltinRouting))
	for _, glob := range []string{"testdata/*.yml", "../notify/testdata/*.yml", "../notify/testdata/bad/*.yml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	cfg := loadCfg(f, "notify:\n  routing_file: am.yml\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(cfg.Notify.RoutingFile, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := PlanNotify(cfg)
		if (p == nil) == (err == nil) {
			t.Fatalf("PlanNotify returned plan %v and err %v", p, err)
		}
		if err != nil && !strings.Contains(err.Error(), "am.yml") {
			t.Fatalf("error does not name the routing file: %v", err)
		}
		if p != nil && p.Routing == nil {
			t.Fatal("plan without routing")
		}
	})
}

// TestPlanNotifyRoutingTemplates: the routing file's templates: globs are
// loaded (relative to the routing file, before notify.templates), so a
// broken one fails the plan and names its file.
func TestPlanNotifyRoutingTemplates(t *testing.T) {
	for _, tc := range []struct {
		name, tmpl, wantErr string
	}{
		{name: "good", tmpl: `{{ define "hlalert.email.subject" }}[hl] {{ .Status }}{{ end }}`},
		{name: "broken", tmpl: `{{ define "hlalert.email.subject" }}{{ .Status `, wantErr: "subj.tmpl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			am, err := os.ReadFile("testdata/am.yml")
			if err != nil {
				t.Fatal(err)
			}
			rdir := filepath.Join(dir, "routing")
			if err := os.MkdirAll(filepath.Join(rdir, "tmpl"), 0o755); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{
				"r.yaml":                 "groups: []\n",
				"routing/am.yml":         "templates: ['tmpl/*.tmpl']\n" + string(am),
				"routing/tmpl/subj.tmpl": tc.tmpl,
			}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data := "datasource: {embedded: {targets: [{job: a, url: 'http://127.0.0.1:1/m'}]}}\nrule_files: [r.yaml]\nnotify:\n  routing_file: routing/am.yml\n"
			cfg, err := config.Load(filepath.Join(dir, "hlalert.yaml"), []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			p, err := PlanNotify(cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("PlanNotify error = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(rdir, "tmpl", "*.tmpl"); len(p.Email.TemplateFiles) == 0 || p.Email.TemplateFiles[0] != want {
				t.Errorf("TemplateFiles = %q, want %q first", p.Email.TemplateFiles, want)
			}
		})
	}
}

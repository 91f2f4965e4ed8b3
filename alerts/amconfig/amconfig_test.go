package amconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlalert/hlalert/alerts/yamlnode"

	"github.com/hlalert/hlalert/internal/golden"
)

// TestLoadBad pins the errors of each bad file (testdata/bad/*.yml, golden
// *.err): every one an *yamlnode.Error at file:line:col, all reported.
func TestLoadBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(f, "testdata", data)
			if err == nil {
				t.Fatal("Load: no error for a bad config")
			}
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				var ye *yamlnode.Error
				if !errors.As(e, &ye) || ye.Pos.File != f {
					t.Errorf("not a positioned error in %s: %v", f, e)
				}
			}
			golden.Check(t, strings.TrimSuffix(f, ".yml")+".err", golden.Errors(err))
		})
	}
}

func TestTemplatesResolveAgainstDir(t *testing.T) {
	c, err := Load("x.yml", "/etc/hl", []byte("templates: ['t/*.tmpl', '/abs/*.tmpl']\nroute: {receiver: a}\nreceivers: [{name: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/etc/hl/t/*.tmpl", "/abs/*.tmpl"}; strings.Join(c.Templates, " ") != strings.Join(want, " ") {
		t.Errorf("Templates = %q, want %q", c.Templates, want)
	}
}

func TestSendResolvedOnlyWhenSet(t *testing.T) {
	c, err := Load("x.yml", ".", []byte(`
route: {receiver: a}
receivers:
- name: a
  email_configs:
  - {to: a@x, from: b@x, smarthost: 'h:25'}
  - {to: a@x, from: b@x, smarthost: 'h:25', send_resolved: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	ecs := c.Receivers[0].Email
	if ecs[0].SendResolved != nil || ecs[1].SendResolved == nil || *ecs[1].SendResolved {
		t.Errorf("send_resolved: %v %v, want unset and false", ecs[0].SendResolved, ecs[1].SendResolved)
	}
	if ecs[1].Pos.Line != 7 || ecs[1].Pos.Col != 5 {
		t.Errorf("second email config at %v, want line 7 col 5", ecs[1].Pos)
	}
}

// TestREADMEExample loads the README's alertmanager.yml example, so that
// what the documentation shows is what hlalert accepts.
func TestREADMEExample(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```yaml\n# alertmanager.yml\n")
	if !ok {
		t.Fatal("README has no ```yaml block starting with # alertmanager.yml")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("unterminated block")
	}
	c, err := Load("README.md alertmanager.yml", ".", []byte(block))
	if err != nil {
		t.Fatalf("the README's example does not load:\n%v", err)
	}
	if len(c.Receivers) < 2 || len(c.TimeIntervals) == 0 || len(c.InhibitRules) == 0 {
		t.Errorf("example parsed to %d receivers, %d time intervals, %d inhibit rules", len(c.Receivers), len(c.TimeIntervals), len(c.InhibitRules))
	}
}

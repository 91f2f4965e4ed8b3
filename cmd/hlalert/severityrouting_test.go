package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlalert/hlalert/alerts/rulefmt"
)

// The shipped routing example follows the severity scheme of the shipped
// rules: critical mails now, warning goes to the digest, info mails nobody.
func TestSeverityRoutingExample(t *testing.T) {
	routing, err := filepath.Abs("../../testdata/hlalert/alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeRunConfig(t, fmt.Sprintf("notify:\n  routing_file: %q\n", routing))
	for _, tc := range []struct {
		severity string
		want     []string
	}{
		{"critical", []string{"receiver email-now", "group_wait=30s group_interval=5m repeat_interval=4h"}},
		{"warning", []string{"receiver digest", "group_wait=1h group_interval=1h repeat_interval=12h"}},
		{"info", []string{"receiver status-page"}},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"route", "--config", cfg, "--labels", "alertname=X,instance=nas,severity=" + tc.severity}, &out, &errb); code != exitOK {
			t.Fatalf("route %s: exit %d: %s", tc.severity, code, errb.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("severity=%s: route output lacks %q:\n%s", tc.severity, w, out.String())
			}
		}
	}
	// The status-page receiver sends no mail.
	data, err := os.ReadFile(routing)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(data)), "- name: status-page") {
		t.Error("the status-page receiver must have no e-mail configs")
	}
}

// Every shipped alert has a severity of the documented scheme, a summary,
// a description and a link to a dashboard that dashboards/ provisions.
func TestShippedRulesSeverities(t *testing.T) {
	files, errs := rulefmt.LoadGlobs([]string{"../../rules/*.rules.yml"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	boards := map[string]bool{}
	paths, err := filepath.Glob("../../dashboards/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no dashboards (%v)", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var board struct {
			UID string `json:"uid"`
		}
		if err := json.Unmarshal(data, &board); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		boards["/d/"+board.UID] = true
	}
	n := 0
	for _, f := range files {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				n++
				switch r.Labels["severity"] {
				case "critical", "warning", "info":
				default:
					t.Errorf("%s: %s: severity %q is not critical, warning or info", r.Pos, r.Alert, r.Labels["severity"])
				}
				for _, a := range []string{"summary", "description", "dashboard"} {
					if r.Annotations[a] == "" {
						t.Errorf("%s: %s: no %s annotation", r.Pos, r.Alert, a)
					}
				}
				if d := r.Annotations["dashboard"]; d != "" && !boards[d] {
					t.Errorf("%s: %s: dashboard %q is no board of dashboards/*.json", r.Pos, r.Alert, d)
				}
			}
		}
	}
	if n < 60 {
		t.Errorf("only %d shipped alerts", n)
	}
}

package notify

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/internal/golden"
)

func mustLoad(t testing.TB, path string) *Config {
	t.Helper()
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", path, err)
	}
	return c
}

func TestLoadBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadConfig(f)
			if err == nil {
				t.Fatal("LoadConfig: no error for a bad config")
			}
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				if !strings.HasPrefix(e.Error(), f) {
					t.Errorf("error does not name the file %s: %v", f, e)
				}
			}
			golden.Check(t, strings.TrimSuffix(f, ".yml")+".err", golden.Errors(err))
		})
	}
}

func TestLoadGood(t *testing.T) {
	c := mustLoad(t, "testdata/routing.yml")
	// hlalert defaults email send_resolved to true; an explicit value wins.
	for recv, want := range map[string]bool{"notify-def": true, "notify-A": false, "notify-productionB": true, "notify-testing": true} {
		if got := c.SendResolved(recv); got != want {
			t.Errorf("SendResolved(%s) = %v, want %v", recv, got, want)
		}
	}
	if c.HasIntegrations("notify-testing") || !c.HasIntegrations("notify-def") {
		t.Errorf("HasIntegrations wrong")
	}
	if _, err := Load("inline", []byte("route: {receiver: x}\nreceivers: [{name: x}]\n")); err != nil {
		t.Errorf("Load inline: %v", err)
	}
}

// TestMatch checks routing against the expectations of Alertmanager's own
// dispatch/route_test.go (same tree, testdata/routing.yml).
func TestMatch(t *testing.T) {
	c := mustLoad(t, "testdata/routing.yml")
	type want struct {
		receiver             string
		groupBy              []string
		wait, interval, rep  time.Duration
		path                 string
		groupLabelsFromInput []string
	}
	def := want{wait: 30 * time.Second, interval: 5 * time.Minute, rep: 4 * time.Hour}
	with := func(w want, f func(*want)) want { f(&w); return w }
	cases := []struct {
		labels map[string]string
		want   []want
	}{
		{map[string]string{"owner": "team-A"}, []want{with(def, func(w *want) {
			w.receiver = "notify-A"
			w.groupBy = []string{}
			w.path = `root {} > routes[0] {owner="team-A"}`
		})}},
		{map[string]string{"owner": "team-A", "env": "unset"}, []want{with(def, func(w *want) {
			w.receiver = "notify-A"
			w.groupBy = []string{}
			w.path = `root {} > routes[0] {owner="team-A"}`
		})}},
		{map[string]string{"owner": "team-C"}, []want{with(def, func(w *want) {
			w.receiver, w.groupBy, w.wait = "notify-BC", []string{"bar", "foo"}, 2*time.Minute
			w.path = `root {} > routes[1] {owner=~"^(?:team-(B|C))$"}`
		})}},
		{map[string]string{"owner": "team-A", "env": "testing"}, []want{with(def, func(w *want) {
			w.receiver, w.groupBy = "notify-testing", []string{"..."}
			w.path = `root {} > routes[0] {owner="team-A"} > routes[0] {env="testing"}`
		})}},
		{map[string]string{"owner": "team-A", "env": "production"}, []want{
			with(def, func(w *want) {
				w.receiver, w.groupBy, w.wait = "notify-productionA", []string{}, time.Minute
				w.path = `root {} > routes[0] {owner="team-A"} > routes[1] {env="production"}`
			}),
			with(def, func(w *want) {
				w.receiver, w.groupBy, w.rep = "notify-productionB", []string{"job"}, time.Hour
				w.path = `root {} > routes[0] {owner="team-A"} > routes[2] {env=~"^(?:produ.*)$",job=~"^(?:.*)$"}`
			}),
		}},
		{map[string]string{"group_by": "role"}, []want{with(def, func(w *want) {
			w.receiver, w.groupBy = "notify-def", []string{"role"}
			w.path = `root {} > routes[2] {group_by="role"}`
		})}},
		{map[string]string{"env": "testing", "group_by": "role"}, []want{with(def, func(w *want) {
			w.receiver, w.groupBy = "notify-testing", []string{"role"}
			w.path = `root {} > routes[2] {group_by="role"} > routes[0] {env="testing"}`
		})}},
		{map[string]string{"env": "testing", "group_by": "role", "wait": "long"}, []want{with(def, func(w *want) {
			w.receiver, w.groupBy, w.wait = "notify-testing", []string{"role"}, 2*time.Minute
			w.path = `root {} > routes[2] {group_by="role"} > routes[0] {env="testing"} > routes[0] {wait="long"}`
		})}},
		{map[string]string{"alertname": "X"}, []want{with(def, func(w *want) {
			w.receiver, w.groupBy = "notify-def", []string{}
			w.path = `root {}`
		})}},
	}
	for _, tc := range cases {
		got := c.Match(tc.labels)
		if len(got) != len(tc.want) {
			t.Errorf("%v: %d routes, want %d: %+v", tc.labels, len(got), len(tc.want), got)
			continue
		}
		for i, w := range tc.want {
			g := got[i]
			if g.Receiver != w.receiver || !reflect.DeepEqual(g.GroupBy, w.groupBy) || g.GroupWait != w.wait ||
				g.GroupInterval != w.interval || g.RepeatInterval != w.rep || strings.Join(g.Path, " > ") != w.path {
				t.Errorf("%v route %d:\n got %s %v %v/%v/%v %q\nwant %s %v %v/%v/%v %q", tc.labels, i,
					g.Receiver, g.GroupBy, g.GroupWait, g.GroupInterval, g.RepeatInterval, strings.Join(g.Path, " > "),
					w.receiver, w.groupBy, w.wait, w.interval, w.rep, w.path)
			}
		}
	}
	// group_by ['...'] groups by every label; a missing group_by label is
	// left out of the group labels.
	m := c.Match(map[string]string{"owner": "team-A", "env": "testing", "x": "1"})[0]
	if !reflect.DeepEqual(m.GroupLabels, map[string]string{"owner": "team-A", "env": "testing", "x": "1"}) {
		t.Errorf("group labels for '...': %v", m.GroupLabels)
	}
	m = c.Match(map[string]string{"owner": "team-B", "foo": "f"})[0]
	if !reflect.DeepEqual(m.GroupLabels, map[string]string{"foo": "f"}) {
		t.Errorf("group labels: %v", m.GroupLabels)
	}
	other := c.Match(map[string]string{"owner": "team-B", "foo": "g"})[0]
	if m.GroupKey == other.GroupKey {
		t.Errorf("different group labels share a group key %s", m.GroupKey)
	}
}

func TestInhibited(t *testing.T) {
	c := mustLoad(t, "testdata/routing.yml")
	hostDown := map[string]string{"alertname": "HostDown", "host": "nas", "severity": "critical", "cluster": "home"}
	cases := []struct {
		name   string
		target map[string]string
		firing []map[string]string
		want   []string
	}{
		{"same host", map[string]string{"alertname": "DiskSlow", "host": "nas", "severity": "warning"}, []map[string]string{hostDown}, []string{"host-down"}},
		{"other host", map[string]string{"alertname": "DiskSlow", "host": "main", "severity": "warning"}, []map[string]string{hostDown}, nil},
		{"target not matched", map[string]string{"alertname": "DiskSlow", "host": "nas", "severity": "page"}, []map[string]string{hostDown}, nil},
		{"no source firing", map[string]string{"alertname": "DiskSlow", "host": "nas", "severity": "warning"}, nil, nil},
		// equal on a label both lack: equal (empty == empty).
		{"equal absent in both", map[string]string{"alertname": "DiskSlow", "severity": "warning"}, []map[string]string{{"alertname": "HostDown"}}, []string{"host-down"}},
		// An alert matching both sides is not inhibited by one that also matches both sides.
		{"two-sided", map[string]string{"alertname": "A", "severity": "critical", "cluster": "home"}, []map[string]string{{"alertname": "B", "severity": "critical", "cluster": "home"}}, nil},
		{"unnamed rule", map[string]string{"alertname": "A", "severity": "warning", "cluster": "home"}, []map[string]string{{"alertname": "B", "severity": "critical", "cluster": "home"}}, []string{"inhibit_rules[1]"}},
	}
	for _, tc := range cases {
		if got := c.Inhibited(tc.target, tc.firing); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Inhibited = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTimeMuted(t *testing.T) {
	c := mustLoad(t, "testdata/routing.yml")
	sat := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) // a Saturday
	mon := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	night := c.Match(map[string]string{"team": "night"})[0]
	office := c.Match(map[string]string{"team": "office"})[0]
	if m, _ := c.TimeMuted(night, sat); !m {
		t.Error("night route not muted on a Saturday")
	}
	if m, _ := c.TimeMuted(night, mon); m {
		t.Error("night route muted on a Monday")
	}
	if m, _ := c.TimeMuted(office, sat); !m {
		t.Error("office route active on a Saturday")
	}
	if m, _ := c.TimeMuted(office, mon); m {
		t.Error("office route muted on Monday noon")
	}
	if m, _ := c.TimeMuted(office, mon.Add(6*time.Hour)); !m {
		t.Error("office route active on Monday 18:00")
	}
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	bad, _ := filepath.Glob("testdata/bad/*.yml")
	for _, p := range append(files, bad...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load("fuzz.yml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yml") {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		c.Match(map[string]string{"alertname": "X", "severity": "critical"})
	})
}

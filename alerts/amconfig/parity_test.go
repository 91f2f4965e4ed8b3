package amconfig

// Parity with Alertmanager: the same files read by Alertmanager's own
// packages (config, dispatch, inhibit; test-only imports, kept out of the
// binary) give the same route tree, the same route IDs, the same matches
// for every combination of the labels the file mentions, the same inhibit
// rules, time intervals and e-mail settings.

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

func TestParityWithAlertmanager(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("want the good configs in testdata: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := Load(f, "testdata", data)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			theirs, err := amconfig.Load(string(data))
			if err != nil {
				t.Fatalf("Alertmanager's config.Load: %v", err)
			}
			reached, total := compareParsed(t, ours, theirs, 1<<20)
			// A route with children is reached only when none of them
			// matches; the label sets must reach most routes for the
			// comparison to mean much.
			if reached*3 < total*2 {
				t.Errorf("the label sets reach only %d of %d routes", reached, total)
			}
		})
	}
}

// compareParsed checks that ours (this package) and theirs (Alertmanager's
// parse of the same file) agree on everything hlalert uses.
//
// It returns how many of the tree's routes the generated label sets (at
// most maxSets of them) reached.
func compareParsed(t *testing.T, ours *Config, theirs *amconfig.Config, maxSets int) (reached, total int) {
	t.Helper()
	if got, want := ours.ResolveTimeout, time.Duration(theirs.Global.ResolveTimeout); got != want {
		t.Errorf("resolve_timeout = %v, Alertmanager %v", got, want)
	}
	root := dispatch.NewRoute(theirs.Route, nil)
	compareRoutes(t, ours.Route, root)
	hit := map[string]bool{}
	root.Walk(func(*dispatch.Route) { total++ })
	for _, ls := range labelSets(root, maxSets) {
		var got, want []string
		for _, r := range ours.Route.Match(ls) {
			got = append(got, r.ID()+" -> "+r.Receiver)
		}
		for _, r := range root.Match(ls) {
			want = append(want, r.ID()+" -> "+r.RouteOpts.Receiver)
			hit[r.ID()] = true
		}
		if !slices.Equal(got, want) {
			t.Errorf("Match(%v) = %q, Alertmanager %q", ls, got, want)
		}
	}

	reached = len(hit)
	t.Logf("%d of %d routes reached", reached, total)

	if len(ours.InhibitRules) != len(theirs.InhibitRules) {
		t.Fatalf("%d inhibit rules, Alertmanager %d", len(ours.InhibitRules), len(theirs.InhibitRules))
		return
	}
	for i, ir := range theirs.InhibitRules {
		w := inhibit.NewInhibitRule(ir)
		g := ours.InhibitRules[i]
		var wantSrc, wantTgt labels.Matchers = w.SourceMatchers, w.TargetMatchers
		sort.Sort(wantSrc)
		sort.Sort(wantTgt)
		if g.Name != w.Name || g.SourceMatchers.String() != wantSrc.String() || g.TargetMatchers.String() != wantTgt.String() {
			t.Errorf("inhibit_rules[%d] = %q %s %s, Alertmanager %q %s %s", i, g.Name, g.SourceMatchers, g.TargetMatchers, w.Name, wantSrc, wantTgt)
		}
		eq := map[model.LabelName]struct{}{}
		for _, l := range g.Equal {
			eq[l] = struct{}{}
		}
		if !maps.Equal(eq, w.Equal) {
			t.Errorf("inhibit_rules[%d].equal = %v, Alertmanager %v", i, eq, w.Equal)
		}
	}

	want := map[string]any{}
	for _, ti := range theirs.MuteTimeIntervals {
		want[ti.Name] = ti.TimeIntervals
	}
	for _, ti := range theirs.TimeIntervals {
		want[ti.Name] = ti.TimeIntervals
	}
	if len(want) != len(ours.TimeIntervals) {
		t.Errorf("%d time intervals, Alertmanager %d", len(ours.TimeIntervals), len(want))
	}
	for name, tis := range ours.TimeIntervals {
		if !reflect.DeepEqual(any(tis), want[name]) {
			t.Errorf("time interval %s = %+v, Alertmanager %+v", name, tis, want[name])
		}
	}

	if len(ours.Receivers) != len(theirs.Receivers) {
		t.Fatalf("%d receivers, Alertmanager %d", len(ours.Receivers), len(theirs.Receivers))
	}
	for i, tr := range theirs.Receivers {
		or := ours.Receivers[i]
		if or.Name != tr.Name || len(or.Email) != len(tr.EmailConfigs) {
			t.Errorf("receivers[%d] = %s with %d email configs, Alertmanager %s with %d", i, or.Name, len(or.Email), tr.Name, len(tr.EmailConfigs))
			continue
		}
		for j, te := range tr.EmailConfigs {
			compareEmail(t, fmt.Sprintf("%s email_configs[%d]", tr.Name, j), or.Email[j], te)
		}
	}
	return reached, total
}

func compareRoutes(t *testing.T, g *Route, w *dispatch.Route) {
	t.Helper()
	o := w.RouteOpts
	gb := slices.Sorted(maps.Keys(g.GroupBy))
	wb := slices.Sorted(maps.Keys(o.GroupBy))
	if g.GroupByAll != o.GroupByAll || (!g.GroupByAll && !slices.Equal(gb, wb)) {
		t.Errorf("route %s: group_by %v (all %v), Alertmanager %v (all %v)", w.ID(), gb, g.GroupByAll, wb, o.GroupByAll)
	}
	if g.ID() != w.ID() || g.Receiver != o.Receiver || g.Continue != w.Continue ||
		g.GroupWait != o.GroupWait || g.GroupInterval != o.GroupInterval || g.RepeatInterval != o.RepeatInterval ||
		!slices.Equal(g.MuteTimeIntervals, o.MuteTimeIntervals) || !slices.Equal(g.ActiveTimeIntervals, o.ActiveTimeIntervals) ||
		g.Matchers.String() != w.Matchers.String() {
		t.Errorf("route differs:\n ours %s recv=%s cont=%v wait=%v int=%v rep=%v mute=%v active=%v\n theirs %s recv=%s cont=%v wait=%v int=%v rep=%v mute=%v active=%v",
			g.ID(), g.Receiver, g.Continue, g.GroupWait, g.GroupInterval, g.RepeatInterval, g.MuteTimeIntervals, g.ActiveTimeIntervals,
			w.ID(), o.Receiver, w.Continue, o.GroupWait, o.GroupInterval, o.RepeatInterval, o.MuteTimeIntervals, o.ActiveTimeIntervals)
	}
	if len(g.Routes) != len(w.Routes) {
		t.Fatalf("route %s: %d children, Alertmanager %d", w.ID(), len(g.Routes), len(w.Routes))
	}
	for i := range w.Routes {
		compareRoutes(t, g.Routes[i], w.Routes[i])
	}
}

// labelSets are all combinations of the label values the tree's matchers
// mention (plus a value no matcher names), over at most 8 labels with the
// most values, so every branch of the tree is reached.
func labelSets(root *dispatch.Route, maxSets int) []model.LabelSet {
	values := map[string][]string{}
	root.Walk(func(r *dispatch.Route) {
		for _, m := range r.Matchers {
			vs := []string{m.Value}
			if m.Type == labels.MatchRegexp || m.Type == labels.MatchNotRegexp {
				// a few strings the regexp matches: its alternatives, its prefix
				for _, alt := range strings.Split(strings.Trim(m.Value, "()"), "|") {
					vs = append(vs, strings.TrimSuffix(strings.TrimSuffix(alt, ".*"), ")"), strings.TrimSuffix(alt, ".*")+"x")
				}
			}
			for _, v := range vs {
				if !slices.Contains(values[m.Name], v) {
					values[m.Name] = append(values[m.Name], v)
				}
			}
		}
	})
	names := slices.Sorted(maps.Keys(values))
	sort.SliceStable(names, func(i, j int) bool { return len(values[names[i]]) > len(values[names[j]]) })
	if len(names) > 8 {
		names = names[:8]
	}
	sets := []model.LabelSet{{}}
	for _, n := range names {
		if len(sets)*(len(values[n])+2) > maxSets {
			break // enough: keeps a fuzzed file from exploding
		}
		var next []model.LabelSet
		for _, s := range sets {
			for _, v := range append(values[n], "", "other") {
				c := maps.Clone(s)
				if v != "" {
					c[model.LabelName(n)] = model.LabelValue(v)
				}
				next = append(next, c)
			}
		}
		sets = next
	}
	return sets
}

func compareEmail(t *testing.T, where string, g EmailConfig, w *amconfig.EmailConfig) {
	t.Helper()
	host := ""
	if w.Smarthost.Host != "" || w.Smarthost.Port != "" {
		host = net.JoinHostPort(w.Smarthost.Host, w.Smarthost.Port)
	}
	type view struct {
		To, From, Hello, Smarthost, User, Pass, PassFile, Secret, SecretFile, Identity, Text string
		RequireTLS, Implicit                                                                 string
		CA, Cert, Key, Server                                                                string
		Insecure                                                                             bool
		MinTLS                                                                               uint16
	}
	ptr := func(b *bool) string {
		if b == nil {
			return "unset"
		}
		return fmt.Sprint(*b)
	}
	gv := view{g.To, g.From, g.Hello, g.Smarthost, g.AuthUsername, g.AuthPassword, g.AuthPasswordFile, g.AuthSecret, g.AuthSecretFile, g.AuthIdentity, g.Text,
		ptr(g.RequireTLS), ptr(g.ForceImplicitTLS), g.TLSConfig.CAFile, g.TLSConfig.CertFile, g.TLSConfig.KeyFile, g.TLSConfig.ServerName, g.TLSConfig.InsecureSkipVerify, uint16(g.TLSConfig.MinVersion)}
	wv := view{w.To, w.From, w.Hello, host, w.AuthUsername, string(w.AuthPassword), w.AuthPasswordFile, string(w.AuthSecret), w.AuthSecretFile, w.AuthIdentity, w.Text,
		ptr(w.RequireTLS), ptr(w.ForceImplicitTLS), w.TLSConfig.CAFile, w.TLSConfig.CertFile, w.TLSConfig.KeyFile, w.TLSConfig.ServerName, w.TLSConfig.InsecureSkipVerify, uint16(w.TLSConfig.MinVersion)}
	if gv != wv {
		t.Errorf("%s:\n ours   %+v\n theirs %+v", where, gv, wv)
	}
	// Alertmanager fills in its own default html body and subject; hlalert
	// leaves them empty for its own defaults.
	if w.HTML != amconfig.DefaultEmailConfig.HTML && g.HTML != w.HTML {
		t.Errorf("%s: html %q, Alertmanager %q", where, g.HTML, w.HTML)
	}
	if !maps.Equal(g.Headers, w.Headers) {
		t.Errorf("%s: headers %v, Alertmanager %v", where, g.Headers, w.Headers)
	}
	if w.SendResolved() && (g.SendResolved == nil || !*g.SendResolved) {
		t.Errorf("%s: send_resolved %s, Alertmanager true", where, ptr(g.SendResolved))
	}
}

// FuzzLoad: Load never panics, and whenever both Load and Alertmanager's
// parser accept an input, they agree on it.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	bad, _ := filepath.Glob("testdata/bad/*.yml")
	for _, p := range append(files, bad...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, err := Load("fuzz.yml", ".", data)
		if err != nil {
			return
		}
		theirs, err := func() (c *amconfig.Config, err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return amconfig.Load(string(data))
		}()
		if err != nil {
			return
		}
		compareParsed(t, ours, theirs, 2000)
	})
}

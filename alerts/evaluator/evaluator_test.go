package evaluator

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
)

// fakeDS is a datasource the test controls: every query returns vec, or
// err when set.
type fakeDS struct {
	mu    sync.Mutex
	vec   series.Vector
	err   error
	block time.Duration // each query takes this long
	calls int
}

func (f *fakeDS) set(vec series.Vector, err error) {
	f.mu.Lock()
	f.vec, f.err = vec, err
	f.mu.Unlock()
}

func (f *fakeDS) Query(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
	f.mu.Lock()
	vec, err, block := f.vec, f.err, f.block
	f.calls++
	f.mu.Unlock()
	if block > 0 {
		time.Sleep(block)
	}
	if err != nil {
		return nil, err
	}
	out := make(series.Vector, len(vec))
	for i, p := range vec {
		out[i] = series.Point{Labels: p.Labels.Copy(), T: ts.UnixMilli(), V: p.V}
	}
	return out, nil
}

var errDown = &url.Error{Op: "Get", URL: "http://vm:8428/api/v1/query", Err: errors.New("connect: connection refused")}

func down(n int) series.Vector {
	var v series.Vector
	for i := range n {
		v = append(v, series.Point{Labels: series.FromStrings("__name__", "up", "job", fmt.Sprintf("node%d", i)), V: 0})
	}
	return v
}

// fakeNotifier records notifications.
type fakeNotifier struct {
	mu   sync.Mutex
	got  []alert.Notification
	fail bool
}

func (n *fakeNotifier) Notify(ctx context.Context, ns []alert.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return errors.New("smtp down")
	}
	n.got = append(n.got, ns...)
	return nil
}

// take returns and clears what was notified, as "rule state job/datasource".
func (n *fakeNotifier) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, x := range n.got {
		who := x.Alert.Labels.Get("job") + x.Alert.Labels.Get("host") + x.Alert.Labels.Get("datasource")
		out = append(out, fmt.Sprintf("%s %s %s", x.Rule, x.Alert.State, who))
	}
	n.got = nil
	return out
}

const rulesYAML = `groups:
  - name: nodes
    interval: 10s
    rules:
      - alert: NodeDown
        expr: up == 0
        for: 30s
        labels: {severity: page}
        annotations: {summary: "{{ $labels.job }} is down"}
      - record: job:up:count
        expr: count(up)
`

// setup writes a config and rules into a fresh dir.
func setup(t *testing.T, rules string) (dir string, cfg *config.Config) {
	t.Helper()
	dir = t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yaml"), rules)
	writeFile(t, filepath.Join(dir, "hlalert.yaml"), "datasource:\n  victoriametrics:\n    url: http://vm:8428\nrule_files: [rules.yaml]\ndatasource_down_after: 3\n")
	cfg, err := config.LoadFile(filepath.Join(dir, "hlalert.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

type harness struct {
	ev     *Evaluator
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg *config.Config, ds *fakeDS, n *fakeNotifier) *harness {
	t.Helper()
	ev, err := New(cfg, Deps{
		Notifier: n,
		NewQuerier: func(string, rulefmt.Group, time.Duration) (rule.Querier, error) {
			return ds, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{ev: ev, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- ev.Run(ctx) }()
	synctest.Wait()
	return h
}

func (h *harness) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
}

func alertsOf(st alert.Status, ruleName string) []rule.Alert {
	for _, g := range st.Groups {
		for _, r := range g.Rules {
			if r.Name == ruleName {
				return r.Alerts
			}
		}
	}
	return nil
}

func states(as []rule.Alert) string {
	var s []string
	for _, a := range as {
		who := a.Labels.Get("job") + a.Labels.Get("host") + a.Labels.Get("datasource")
		s = append(s, who+"="+a.State.String())
	}
	return strings.Join(s, ",")
}

// advance lets n group intervals pass.
func advance(n int) {
	for range n {
		time.Sleep(10 * time.Second)
		synctest.Wait()
	}
}

// TestOutageAndKill walks one alert through pending and firing, a
// datasource outage (nothing resolves, the built-in alert fires and
// resolves), a kill -9 (the state file copied at a quiet moment is what a
// killed process leaves) and a restart: no notification is repeated or
// lost.
func TestOutageAndKill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, cfg := setup(t, rulesYAML)
		ds, n := &fakeDS{}, &fakeNotifier{}
		ds.set(down(1), nil)
		h := start(t, cfg, ds, n)
		advance(1)
		if got := states(alertsOf(h.ev.Status(), "NodeDown")); got != "node0=pending" {
			t.Fatalf("after 1 interval: %s", got)
		}
		advance(3)
		as := alertsOf(h.ev.Status(), "NodeDown")
		if got := states(as); got != "node0=firing" {
			t.Fatalf("after 4 intervals: %s", got)
		}
		activeAt := as[0].ActiveAt
		if got := n.take(); !slices.Equal(got, []string{"NodeDown firing node0"}) {
			t.Fatalf("notified %q", got)
		}

		// Outage: five failed evaluations.
		ds.set(nil, errDown)
		advance(5)
		st := h.ev.Status()
		if got := states(alertsOf(st, "NodeDown")); got != "node0=firing" {
			t.Errorf("during the outage: %s (must hold its state)", got)
		}
		if got := states(alertsOf(st, DatasourceDownAlert)); got != "victoriametrics=firing" {
			t.Errorf("built-in alert: %q", got)
		}
		if d := st.Datasources[0]; d.Up || d.ConsecutiveFailures != 5 || !strings.Contains(d.LastError, "connection refused") {
			t.Errorf("datasource status %+v", d)
		}
		for _, g := range st.Groups {
			for _, r := range g.Rules {
				if g.Name == "nodes" && (r.Health != "err" || !strings.Contains(r.LastError, "connection refused")) {
					t.Errorf("rule %s health %s %q", r.Name, r.Health, r.LastError)
				}
			}
		}
		if got := n.take(); !slices.Equal(got, []string{"HlalertDatasourceDown firing victoriametrics"}) {
			t.Fatalf("notified during the outage %q", got)
		}

		// Recovery: the built-in alert resolves, the node alert stays.
		ds.set(down(1), nil)
		advance(1)
		if got := n.take(); !slices.Equal(got, []string{"HlalertDatasourceDown inactive victoriametrics"}) {
			t.Fatalf("notified at recovery %q", got)
		}

		// kill -9: what is on disk now is all a restart gets.
		killed := t.TempDir()
		b, err := os.ReadFile(filepath.Join(cfg.StateDir, "alerts.json"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(killed, "alerts.json"), string(b))
		h.stop(t)

		cfg2 := *cfg
		cfg2.StateDir = killed
		ds.set(nil, errDown) // restored even while the datasource is down
		h2 := start(t, &cfg2, ds, n)
		as = alertsOf(h2.ev.Status(), "NodeDown")
		if got := states(as); got != "node0=firing" || !as[0].ActiveAt.Equal(activeAt) {
			t.Fatalf("restored %s activeAt %v, want firing since %v", got, as[0].ActiveAt, activeAt)
		}
		advance(2)
		ds.set(down(1), nil)
		advance(2)
		if got := n.take(); len(got) != 0 {
			t.Errorf("restart notified again: %q", got)
		}
		ds.set(nil, nil)
		advance(1)
		if got := n.take(); !slices.Equal(got, []string{"NodeDown inactive node0"}) {
			t.Errorf("resolve after restart notified %q", got)
		}
		advance(2)
		if got := n.take(); len(got) != 0 {
			t.Errorf("resolved twice: %q", got)
		}
		h2.stop(t)
	})
}

// TestPendingKeepsProgress: a pending alert restored after a restart fires
// at its original activeAt + for, not later.
func TestPendingKeepsProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, cfg := setup(t, rulesYAML)
		ds, n := &fakeDS{}, &fakeNotifier{}
		ds.set(down(1), nil)
		h := start(t, cfg, ds, n)
		advance(2)
		as := alertsOf(h.ev.Status(), "NodeDown")
		if states(as) != "node0=pending" {
			t.Fatalf("got %s", states(as))
		}
		activeAt := as[0].ActiveAt
		h.stop(t)
		time.Sleep(5 * time.Second) // down for half an interval

		h2 := start(t, cfg, ds, n)
		as = alertsOf(h2.ev.Status(), "NodeDown")
		if states(as) != "node0=pending" || !as[0].ActiveAt.Equal(activeAt) {
			t.Fatalf("restored %s at %v, want pending since %v", states(as), as[0].ActiveAt, activeAt)
		}
		for alerts := alertsOf(h2.ev.Status(), "NodeDown"); alerts[0].State != rule.StateFiring; alerts = alertsOf(h2.ev.Status(), "NodeDown") {
			advance(1)
		}
		as = alertsOf(h2.ev.Status(), "NodeDown")
		if got := as[0].FiredAt.Sub(activeAt); got != 30*time.Second {
			t.Errorf("fired %s after activeAt, want 30s", got)
		}
		h2.stop(t)
	})
}

// TestNotifyRetry: a failed Notify is retried, and a delivered one is not
// repeated.
func TestNotifyRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, cfg := setup(t, strings.Replace(rulesYAML, "for: 30s", "for: 0s", 1))
		ds, n := &fakeDS{}, &fakeNotifier{fail: true}
		ds.set(down(2), nil)
		h := start(t, cfg, ds, n)
		advance(2)
		n.mu.Lock()
		n.fail = false
		n.mu.Unlock()
		advance(1)
		if got := n.take(); !slices.Equal(got, []string{"NodeDown firing node0", "NodeDown firing node1"}) {
			t.Errorf("notified %q", got)
		}
		advance(2)
		if got := n.take(); len(got) != 0 {
			t.Errorf("repeated %q", got)
		}
		h.stop(t)
	})
}

// TestReload: an unchanged group keeps its rule objects and state, a bad
// config is rejected and the running one keeps going.
func TestReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir, cfg := setup(t, rulesYAML+`  - name: other
    interval: 10s
    rules:
      - alert: Other
        expr: up == 0
`)
		ds, n := &fakeDS{}, &fakeNotifier{}
		ds.set(down(1), nil)
		h := start(t, cfg, ds, n)
		advance(4)
		before := h.ev.Status()
		if states(alertsOf(before, "NodeDown")) != "node0=firing" {
			t.Fatalf("got %s", states(alertsOf(before, "NodeDown")))
		}
		h.ev.mu.Lock()
		nodesRules := h.ev.groups[0].g
		h.ev.mu.Unlock()

		// Bad: a rule file that does not parse.
		good, _ := os.ReadFile(filepath.Join(dir, "rules.yaml"))
		writeFile(t, filepath.Join(dir, "rules.yaml"), string(good)+"      - alert: Broken\n        expr: up ==\n")
		err := h.ev.Reload(context.Background())
		if err == nil || !strings.Contains(err.Error(), "rules.yaml:") {
			t.Fatalf("bad reload: %v", err)
		}
		st := h.ev.Status()
		if !strings.Contains(st.LastReloadError, "keeping the running config") || len(st.Groups) != 3 {
			t.Errorf("after a bad reload: %q, %d groups", st.LastReloadError, len(st.Groups))
		}
		advance(1)
		if states(alertsOf(h.ev.Status(), "NodeDown")) != "node0=firing" {
			t.Errorf("bad reload lost state")
		}

		// Good: group "other" changes, "nodes" does not.
		writeFile(t, filepath.Join(dir, "rules.yaml"), rulesYAML+"  - name: other\n    interval: 10s\n    rules:\n      - alert: Other\n        expr: up < 1\n")
		if err := h.ev.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		st = h.ev.Status()
		if st.LastReloadError != "" {
			t.Errorf("LastReloadError %q after a good reload", st.LastReloadError)
		}
		h.ev.mu.Lock()
		same := h.ev.groups[0].g == nodesRules
		h.ev.mu.Unlock()
		if !same {
			t.Error("unchanged group got new rule objects")
		}
		if got := states(alertsOf(st, "NodeDown")); got != "node0=firing" {
			t.Errorf("NodeDown after reload: %s", got)
		}
		if got := states(alertsOf(st, "Other")); got != "node0=firing" {
			t.Errorf("Other (changed group) after reload: %s, want its alerts carried", got)
		}
		advance(2)
		if got := n.take(); len(got) != 2 {
			t.Errorf("notifications %q, want the two firings of before the reloads only", got)
		}
		h.stop(t)
	})
}

// TestMissedIterations: an evaluation longer than the interval skips ticks
// and counts them.
func TestMissedIterations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, cfg := setup(t, rulesYAML)
		ds, n := &fakeDS{block: 12 * time.Second}, &fakeNotifier{}
		ds.set(down(1), nil)
		h := start(t, cfg, ds, n)
		advance(10)
		st := h.ev.Status()
		if st.Groups[0].Missed == 0 {
			t.Errorf("missed = 0 with 24s evaluations every 10s")
		}
		h.stop(t)
	})
}

func TestRetention(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		"up == 0":                               minLookbehind,
		"rate(x[1h]) > 0":                       time.Hour,
		"sum(rate(x[10m] offset 1h)) > 0":       70 * time.Minute,
		"max_over_time(rate(x[5m])[2h:1m]) > 1": 2*time.Hour + 5*time.Minute,
		"a / on() b[3h]":                        3 * time.Hour,
	} {
		got := exprReach(expr, time.Minute)
		if got < minLookbehind {
			got = minLookbehind
		}
		if got != want {
			t.Errorf("exprReach(%q) = %s, want %s", expr, got, want)
		}
	}
}

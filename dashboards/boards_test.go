package dashboards

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/dashboards/boardcheck"
	"github.com/hlalert/hlalert/dashboards/homelab"
)

// statusRow is the overview row whose tiles answer "is anything wrong?".
const statusRow = "Is anything wrong?"

var homelabs = struct {
	sync.Mutex
	m map[string]*homelab.Homelab
}{m: map[string]*homelab.Homelab{}}

// replay loads (once per test binary) a scenario of homelab/scenarios.yaml.
func replay(t *testing.T, name string) *homelab.Homelab {
	t.Helper()
	homelabs.Lock()
	defer homelabs.Unlock()
	if h, ok := homelabs.m[name]; ok {
		return h
	}
	h, err := homelab.Load(context.Background(), ReplayOptions(".."), name)
	if err != nil {
		t.Fatal(err)
	}
	homelabs.m[name] = h
	return h
}

func known(t *testing.T) *boardcheck.Known {
	t.Helper()
	files, errs := rulefmt.LoadGlobs([]string{"../rules/*.rules.yml"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	k, err := boardcheck.NewKnown(files)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func committed(t *testing.T) []*boardcheck.Board {
	t.Helper()
	paths, err := filepath.Glob("*.json")
	if err != nil || len(paths) != 8 {
		t.Fatalf("want the eight boards, found %v (%v)", paths, err)
	}
	var out []*boardcheck.Board
	for _, p := range paths {
		b, err := boardcheck.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func parseLogQL(expr string) error { return lqlengine.Check(expr) }

var (
	alloyJournal = regexp.MustCompile("(?s)alloyJournal = ''(.*?)''")
	alloyTarget  = regexp.MustCompile(`target_label\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)"`)
	alloyLabels  = regexp.MustCompile(`\blabels\s*=\s*\{([^}]*)\}`)
	alloyKey     = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*=`)
)

// alloyJournalLabels reads the labels the appliance's Alloy config ships
// the journal with (nix/modules/appliance.nix): the loki.source.journal's
// labels and the relabel rules' target labels, sorted.
func alloyJournalLabels(t *testing.T) []string {
	t.Helper()
	data, err := readFile("../nix/modules/appliance.nix")
	if err != nil {
		t.Fatal(err)
	}
	m := alloyJournal.FindSubmatch(data)
	if m == nil {
		t.Fatal("nix/modules/appliance.nix: no alloyJournal config")
	}
	var out []string
	for _, tm := range alloyTarget.FindAllSubmatch(m[1], -1) {
		out = append(out, string(tm[1]))
	}
	for _, lm := range alloyLabels.FindAllSubmatch(m[1], -1) {
		for _, km := range alloyKey.FindAllSubmatch(lm[1], -1) {
			out = append(out, string(km[1]))
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) < 2 {
		t.Fatalf("nix/modules/appliance.nix: alloyJournal names only labels %v", out)
	}
	return out
}

// checks are the checks of the committed boards over homelab h.
func checks(t *testing.T, h *homelab.Homelab) boardcheck.Options {
	return boardcheck.Options{Known: known(t), Query: h.Query, ParseLogQL: parseLogQL, QueryLogQL: h.QueryLogQL, LogLabels: h.LogLabelNames()}
}

// Every committed board decodes strictly; every MetricsQL query runs on the
// embedded engine and reads known metrics; every LogQL query parses and
// selects on labels the replayed journal streams carry; and on the healthy
// homelab every query returns data: MetricsQL and LogQL metric queries
// samples (carrying the labels they group by), LogQL log queries lines.
func TestBoardsShowData(t *testing.T) {
	h := replay(t, "healthy")
	o := checks(t, h)
	if want := alloyJournalLabels(t); !slices.Equal(o.LogLabels, want) {
		t.Errorf("the replayed journal streams carry %v, want the labels the appliance's Alloy ships: %v", o.LogLabels, want)
	}
	n := 0
	for _, b := range committed(t) {
		for _, p := range b.Panels {
			for _, tg := range p.Targets {
				if tg.Kind == "logql" {
					n++
				}
			}
		}
		t.Run(b.Path, func(t *testing.T) {
			probs := boardcheck.Check(context.Background(), b, o)
			for _, p := range probs {
				t.Error(p)
			}
		})
	}
	if n < 4 {
		t.Errorf("only %d LogQL targets checked, want the logs board's 4", n)
	}
}

// Panels that may be empty (they set noValue, like "No alert is firing"
// or "No OOM kill") show data on the failing homelab: they are not always
// empty. So does every LogQL panel, the logs panel's lines included.
func TestNoValuePanelsFillUp(t *testing.T) {
	h := replay(t, "failing")
	n, logql := 0, 0
	for _, b := range committed(t) {
		for _, p := range b.Panels {
			isLog := slices.ContainsFunc(p.Targets, func(t boardcheck.Target) bool { return t.Kind == "logql" })
			if p.NoValue == "" && !isLog {
				continue
			}
			n++
			if isLog {
				logql++
			}
			vals, err := boardcheck.Values(context.Background(), b, p, h.Query, h.QueryLogQL)
			if err != nil || len(vals) == 0 {
				t.Errorf("%s: %s shows nothing on the failing homelab (%v)", b.Path, p.Where(nil), err)
			}
		}
	}
	if n == logql {
		t.Error("no panel sets noValue")
	}
	if logql < 4 {
		t.Errorf("%d LogQL panels, want the logs board's 4", logql)
	}
}

// On the failing homelab every status tile of the overview is red; on the
// healthy one none is.
func TestOverviewTurnsRed(t *testing.T) {
	b, err := boardcheck.Load("overview.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []struct {
		name    string
		wantRed bool
	}{{"healthy", false}, {"failing", true}} {
		h := replay(t, sc.name)
		n := 0
		for _, p := range b.Panels {
			if p.Row != statusRow {
				continue
			}
			n++
			red, err := isRed(b, p, h)
			if err != nil {
				t.Fatal(err)
			}
			want := sc.wantRed
			if sc.name == "healthy" && p.Title == "Firing alerts" {
				// The node_exporter captures come from a VM without NTP
				// (node_timex_sync_status 0, maxerror 16s): the shipped
				// HostClockUnsynchronised rightly fires on them, and it
				// is the only warning or critical alert of the healthy
				// homelab.
				want = true
				v, err := h.Query(context.Background(), `count by (alertname) (ALERTS{alertstate="firing", severity=~"critical|warning"})`)
				if err != nil || len(v) != 1 || v[0].Labels.Get("alertname") != "HostClockUnsynchronised" {
					t.Errorf("healthy homelab fires %v (%v), want only HostClockUnsynchronised", v, err)
				}
			}
			if red != want {
				t.Errorf("%s: %s red = %v, want %v", sc.name, p.Where(nil), red, want)
			}
		}
		if n < 7 {
			t.Errorf("only %d status tiles in row %q", n, statusRow)
		}
	}
}

func isRed(b *boardcheck.Board, p boardcheck.Panel, h *homelab.Homelab) (bool, error) {
	vals, err := boardcheck.Values(context.Background(), b, p, h.Query, nil)
	if err != nil {
		return false, err
	}
	for _, v := range vals {
		if p.Colour(v.V) == "red" {
			return true, nil
		}
	}
	return false, nil
}

// Each check fails on a board broken the way community boards break.
func TestBrokenBoardsFail(t *testing.T) {
	h := replay(t, "healthy")
	o := checks(t, h)
	data, err := readFile("overview.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", `"transparent": false,`, `"transparent": false, "colour": "red",`, `unexpected field 'colour'`},
		{"renamed metric", `max by (instance, pool) (hlexporter_zfs_pool_health)`, `max by (instance, pool) (hlexporter_zfs_pool_healthy)`,
			`metric hlexporter_zfs_pool_healthy is not exported`},
		{"renamed metric shows nothing", `max by (instance, pool) (hlexporter_zfs_pool_health)`, `max by (instance, pool) (hlexporter_zfs_pool_healthy)`,
			`panel 14 "Pool health" query A: returns no data`},
		{"label that never matches", `max by (instance, pool) (hlexporter_zfs_pool_health)`, `max by (instance, pool) (hlexporter_zfs_pool_health{pool=\"rpool\"})`,
			`returns no data`},
		{"unsupported function", `count(ALERTS{alertstate=\"firing\", severity=~\"critical|warning\"})`, `count(range_trim_outliers(1, ALERTS{alertstate=\"firing\"}))`,
			`not supported by the embedded engine`},
		{"metric by pattern", `count(ALERTS{alertstate=\"firing\", severity=~\"critical|warning\"})`, `count({__name__=~\"ALERTS.*\"})`, `picks metrics by a pattern`},
		{"unknown variable", `{alertstate=\"firing\", severity`, `{alertstate=\"$state\", severity`, `unknown template variable $state`},
		{"parse error", `count(ALERTS{alertstate=\"firing\", severity=~\"critical|warning\"})`, `count(ALERTS{alertstate=\"firing\"}`, `parse`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(data, []byte(tc.old)) {
				t.Fatalf("overview.json has no %s", tc.old)
			}
			broken := bytes.Replace(data, []byte(tc.old), []byte(tc.new), 1)
			b, err := boardcheck.Parse("overview.json", broken)
			var msgs []string
			if err != nil {
				msgs = append(msgs, err.Error())
			} else {
				for _, p := range boardcheck.Check(context.Background(), b, o) {
					msgs = append(msgs, p.Error())
				}
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
				t.Errorf("problems %q, want one containing %q", msgs, tc.want)
			}
		})
	}
}

// A LogQL query that does not parse is caught.
func TestBrokenLogQLFails(t *testing.T) {
	data, err := readFile("logs.json")
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(data, []byte(`|~ \"[Oo]ut of memory: Killed process\"`), []byte(`|~ [Oo]ut of memory`), 1)
	b, err := boardcheck.Parse("logs.json", broken)
	if err != nil {
		t.Fatal(err)
	}
	probs := boardcheck.Check(context.Background(), b, boardcheck.Options{ParseLogQL: parseLogQL})
	if len(probs) == 0 || !strings.Contains(probs[0].Error(), "LogQL") {
		t.Errorf("problems = %v, want a LogQL parse error", probs)
	}
}

// A LogQL panel that selects or groups on a label the journal streams do
// not carry, or on a value they never have, is reported: the panel would
// stay empty (or lose its split) in Grafana.
func TestBrokenLogQLPanelsFail(t *testing.T) {
	h := replay(t, "healthy")
	o := checks(t, h)
	data, err := readFile("logs.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"grouped by a label no stream has", `sum by (host, unit)`, `sum by (host, service)`,
			[]string{`panel 1 "Journal errors by host and unit" query A: LogQL: groups by service, which none of its 1 series carries`}},
		{"selector on a label no stream has", `unit=\"sshd.service\"`, `service=\"sshd.service\"`,
			[]string{`panel 2 "SSH authentication failures" query A: LogQL: stream selector label service is on none of the log streams (their labels: host, job, level, unit)`,
				`panel 2 "SSH authentication failures" query A: LogQL: returns no data`}},
		{"syslog's err instead of Alloy's error", `level=~\"error|crit|alert|emerg\"`, `level=~\"err|crit|alert|emerg\"`,
			[]string{`panel 1 "Journal errors by host and unit" query A: LogQL: returns no data`,
				`panel 4 "Error lines" query A: LogQL: returns no log lines`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(data, []byte(tc.old)) {
				t.Fatalf("logs.json has no %s", tc.old)
			}
			b, err := boardcheck.Parse("logs.json", bytes.ReplaceAll(data, []byte(tc.old), []byte(tc.new)))
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, p := range boardcheck.Check(context.Background(), b, o) {
				msgs = append(msgs, p.Error())
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.Join(msgs, "\n"), w) {
					t.Errorf("problems %q, want one containing %q", msgs, w)
				}
			}
		})
	}
}

// On the failing homelab the OOM panel counts both kinds of OOM kill the
// journal tests log: the kernel's on server and a memory cgroup's on nas.
func TestOOMPanelCountsCgroupKills(t *testing.T) {
	h := replay(t, "failing")
	b, err := boardcheck.Load("logs.json")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(b.Panels, func(p boardcheck.Panel) bool { return p.Title == "OOM kills" })
	if i < 0 {
		t.Fatal("logs.json has no OOM kills panel")
	}
	vals, err := boardcheck.Values(context.Background(), b, b.Panels[i], h.Query, h.QueryLogQL)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vals {
		got = append(got, v.Labels.String()+" "+strconv.FormatFloat(v.V, 'g', -1, 64))
	}
	if want := []string{`{host="nas"} 1`, `{host="server"} 1`}; !slices.Equal(got, want) {
		t.Errorf("OOM kills = %q, want %q", got, want)
	}
}

// The replay evaluates the LogQL rules over its journal as hlalert does:
// on the failing homelab journal alerts fire (and show in the overview's
// firing table), on the healthy one none does.
func TestJournalAlertsInReplay(t *testing.T) {
	files, errs := rulefmt.LoadGlobs([]string{"../rules/journal.rules.yml"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var names []string
	for _, f := range files {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					names = append(names, r.Alert)
				}
			}
		}
	}
	expr := `count by (alertname) (ALERTS{alertstate="firing", alertname=~"` + strings.Join(names, "|") + `"})`
	for sc, want := range map[string][]string{"healthy": nil, "failing": {"BorgError", "HlexporterCollectorErrors", "ResticFatal"}} {
		v, err := replay(t, sc).Query(context.Background(), expr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range v {
			got = append(got, p.Labels.Get("alertname"))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s homelab: journal alerts firing at the replay's clock %v, want %v", sc, got, want)
		}
	}
}

// The failing homelab's status tiles stop turning red when the red step
// is lifted out of reach: the red is the thresholds' doing, not a constant.
func TestStatusNeedsThreshold(t *testing.T) {
	b, err := boardcheck.Load("overview.json")
	if err != nil {
		t.Fatal(err)
	}
	h := replay(t, "failing")
	high := 1000.0
	for _, p := range b.Panels {
		if p.Row != statusRow {
			continue
		}
		for i, s := range p.Thresholds {
			if s.Color == "red" {
				p.Thresholds[i].Value = &high
			}
		}
		if red, err := isRed(b, p, h); err != nil || red {
			t.Errorf("%s red = %v (%v) with the red step at 1000", p.Where(nil), red, err)
		}
	}
}

// TestPreviewFresh fails when the committed preview differs from what the
// boards show over the replayed homelabs: run go generate ./dashboards/... .
func TestPreviewFresh(t *testing.T) {
	files, err := Previews(context.Background(), ".", func(sc string) (*homelab.Homelab, error) { return replay(t, sc), nil })
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := readFile(filepath.Join("preview", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("preview/%s is stale (%v): run go generate ./dashboards/...", name, err)
		}
	}
	// The failing page shows the overview's status tiles red, the healthy
	// one green.
	if !bytes.Contains(files["failing.html"], []byte(`<div class="v c-red">repositories<b>`)) {
		t.Error("failing.html: the backup-problems tile is not red")
	}
	if !bytes.Contains(files["healthy.html"], []byte(`<div class="v c-green">repositories<b>0</b>`)) {
		t.Error("healthy.html: the backup-problems tile is not green")
	}
}

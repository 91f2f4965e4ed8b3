package evaluator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/lokiproto"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/datasource"
	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/statestore"
)

// importWriter is a minimal Writer for these tests: it posts samples to
// VictoriaMetrics' /api/v1/import. (alerts/remotewrite, with retries and
// a bounded buffer, is the production writer; it was not there yet when
// these tests were written.)
type importWriter struct{ url string }

func (w importWriter) Write(ctx context.Context, pts []series.Point) error {
	var buf bytes.Buffer
	for _, p := range pts {
		if series.IsStaleNaN(p.V) {
			continue // /api/v1/import cannot carry staleness markers
		}
		line, _ := json.Marshal(map[string]any{"metric": p.Labels.Map(), "values": []float64{p.V}, "timestamps": []int64{p.T}})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url+"/api/v1/import", &buf)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("import: HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}

// feeder imports test_metric{host="a"} = value every 200ms at the current
// time, as a scrape would, until the test ends. Import errors (while VM is
// stopped) are ignored.
type feeder struct{ value atomic.Int64 }

func feed(t *testing.T, vmURL string) *feeder {
	f := &feeder{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := importWriter{vmURL}
		for ctx.Err() == nil {
			_ = w.Write(ctx, []series.Point{{Labels: series.FromStrings("__name__", "test_metric", "host", "a"), T: time.Now().UnixMilli(), V: float64(f.value.Load())}})
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return f
}

// eval_delay covers VictoriaMetrics' ingestion lag: with step = 1s an
// instant query only sees the last second, and imported rows become
// searchable about a second after they arrive (vmalert's -rule.evalDelay
// does the same). keep_firing_for rides over the data gap the outage
// leaves in VictoriaMetrics itself (nothing was ingested while it was
// down, and SIGKILL loses its unflushed rows): after the restart the
// datasource answers again, truthfully, "no data" for those seconds.
const vmRules = `groups:
  - name: it
    interval: 1s
    eval_delay: 3s
    rules:
      - alert: TestHigh
        expr: test_metric > 5
        for: 2s
        keep_firing_for: 8s
        labels: {severity: page}
      - record: test:metric:sum
        expr: sum(test_metric)
`

func writeVMConfig(t *testing.T, dir, vmURL, extra string) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "rules.yaml"), vmRules)
	p := filepath.Join(dir, "hlalert.yaml")
	writeFile(t, p, fmt.Sprintf("datasource:\n  victoriametrics:\n    url: %s\n    timeout: 2s\nrule_files: [rules.yaml]\ndatasource_down_after: 3\n%s", vmURL, extra))
	return p
}

// eventually polls cond every 100ms for up to d.
// takeN takes the notifications sent until there are at least count: the
// evaluator shows a state change in Status before it calls the notifier,
// so a notification may trail the state a test waited for. It waits a
// moment more for any extra one, which the caller's comparison rejects.
func takeN(t *testing.T, n *fakeNotifier, count int) []string {
	t.Helper()
	var got []string
	eventually(t, 10*time.Second, fmt.Sprintf("%d notifications", count), func() (bool, string) {
		got = append(got, n.take()...)
		return len(got) >= count, strings.Join(got, "|")
	})
	time.Sleep(200 * time.Millisecond)
	return append(got, n.take()...)
}

func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, d, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func alertState(ev *Evaluator, ruleName string) func() (bool, string) {
	return func() (bool, string) { return false, states(alertsOf(ev.Status(), ruleName)) }
}

func waitState(t *testing.T, ev *Evaluator, ruleName, want string, d time.Duration) {
	t.Helper()
	eventually(t, d, ruleName+" = "+want, func() (bool, string) {
		_, got := alertState(ev, ruleName)()
		return got == want, got
	})
}

func runEvaluator(t *testing.T, cfg *config.Config, deps Deps) (*Evaluator, func()) {
	t.Helper()
	ev, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ev.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	return ev, stop
}

// TestIntegrationVictoriaMetrics: rules fire and resolve as data changes,
// recording rules land in VictoriaMetrics, stopping VictoriaMetrics for
// several intervals resolves nothing and raises the datasource alert,
// which resolves after the restart; and the state survives a kill.
func TestIntegrationVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	vm := realserver.StartVictoriaMetrics(t)
	f := feed(t, vm.URL)
	f.value.Store(10)
	dir := t.TempDir()
	cfg, err := config.LoadFile(writeVMConfig(t, dir, vm.URL, ""))
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNotifier{}
	ev, stop := runEvaluator(t, cfg, Deps{Notifier: n, Writer: importWriter{vm.URL}})

	waitState(t, ev, "TestHigh", "a=firing", 20*time.Second)
	firing := alertsOf(ev.Status(), "TestHigh")[0]

	// The recording rule's samples are in VictoriaMetrics.
	q, err := datasource.NewPrometheus(datasource.PrometheusOptions{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "test:metric:sum in VictoriaMetrics", func() (bool, string) {
		v, err := q.Query(context.Background(), "test:metric:sum", time.Now())
		return err == nil && len(v) == 1 && v[0].V == 10, fmt.Sprintf("%v %v", v, err)
	})

	// Outage.
	vm.Stop()
	eventually(t, 15*time.Second, "built-in datasource alert", func() (bool, string) {
		got := states(alertsOf(ev.Status(), DatasourceDownAlert))
		return got == "victoriametrics=firing", got
	})
	time.Sleep(2 * time.Second) // a few more failed intervals
	as := alertsOf(ev.Status(), "TestHigh")
	if states(as) != "a=firing" || !as[0].ActiveAt.Equal(firing.ActiveAt) {
		t.Fatalf("during the outage TestHigh is %s since %v, want firing since %v", states(as), as[0].ActiveAt, firing.ActiveAt)
	}
	vm.Restart(t, "/health")
	eventually(t, 20*time.Second, "built-in alert resolves", func() (bool, string) {
		got := states(alertsOf(ev.Status(), DatasourceDownAlert))
		return got == "victoriametrics=inactive", got
	})
	if got := states(alertsOf(ev.Status(), "TestHigh")); got != "a=firing" {
		t.Fatalf("after the outage TestHigh is %s", got)
	}
	if got := takeN(t, n, 3); strings.Join(got, "|") != "TestHigh firing a|HlalertDatasourceDown firing victoriametrics|HlalertDatasourceDown inactive victoriametrics" {
		t.Fatalf("notifications %q", got)
	}

	// Kill: the state file is what a killed process leaves (the process
	// is not asked to shut down); a new evaluator on a copy of it goes on.
	killedDir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(cfg.StateDir, statestore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(killedDir, statestore.FileName), string(b))
	stop()
	cfg2 := *cfg
	cfg2.StateDir = killedDir
	ev2, stop2 := runEvaluator(t, &cfg2, Deps{Notifier: n, Writer: importWriter{vm.URL}})
	defer stop2()
	as = alertsOf(ev2.Status(), "TestHigh")
	if states(as) != "a=firing" || !as[0].ActiveAt.Equal(firing.ActiveAt) {
		t.Fatalf("restored TestHigh %s since %v, want firing since %v", states(as), as[0].ActiveAt, firing.ActiveAt)
	}
	f.value.Store(0)
	waitState(t, ev2, "TestHigh", "a=inactive", 30*time.Second)
	if got := takeN(t, n, 1); strings.Join(got, "|") != "TestHigh inactive a" {
		t.Fatalf("notifications after the restart %q, want only the resolution", got)
	}
}

// TestIntegrationLoki: a LogQL rule fires on pushed log lines.
func TestIntegrationLoki(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	loki := realserver.StartLoki(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yaml"), `groups:
  - name: logs
    type: logql
    interval: 1s
    rules:
      - alert: BackupFailed
        expr: sum by (unit) (count_over_time({job="systemd"} |= "FAILED" [1m])) > 0
        annotations: {summary: "{{ $labels.unit }} failed {{ $value }} times"}
`)
	writeFile(t, filepath.Join(dir, "hlalert.yaml"), fmt.Sprintf("datasource:\n  loki:\n    url: %s\nrule_files: [rules.yaml]\n", loki.URL))
	cfg, err := config.LoadFile(filepath.Join(dir, "hlalert.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNotifier{}
	ev, stop := runEvaluator(t, cfg, Deps{Notifier: n})
	defer stop()
	time.Sleep(1500 * time.Millisecond)
	if got := states(alertsOf(ev.Status(), "BackupFailed")); got != "" {
		t.Fatalf("fired before any log line: %s", got)
	}
	pc, err := lokipush.New(lokipush.Options{URL: loki.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Push(context.Background(), []lokiproto.Stream{{Labels: `{job="systemd", unit="restic-backup.service"}`,
		Entries: []lokiproto.Entry{{Timestamp: time.Now(), Line: "backup FAILED: repository locked"}}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "BackupFailed fires", func() (bool, string) {
		as := alertsOf(ev.Status(), "BackupFailed")
		ok := len(as) == 1 && as[0].State == rule.StateFiring && as[0].Labels.Get("unit") == "restic-backup.service" &&
			as[0].Annotations["summary"] == "restic-backup.service failed 1 times"
		return ok, fmt.Sprintf("%+v", as)
	})
}

// TestIntegrationBinaryKill builds hlalert, runs it against a real
// VictoriaMetrics, SIGKILLs it while an alert fires and starts it again:
// the alert is still firing with its original activeAt and is not
// notified again. A broken config sent with SIGHUP is rejected and the
// running config keeps evaluating (the alert then resolves).
func TestIntegrationBinaryKill(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	vm := realserver.StartVictoriaMetrics(t)
	f := feed(t, vm.URL)
	f.value.Store(10)
	dir := t.TempDir()
	bin := filepath.Join(dir, "hlalert")
	build := exec.Command("go", "build", "-o", bin, "github.com/hlalert/hlalert/cmd/hlalert")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hlalert: %v\n%s", err, out)
	}
	port := realserver.FreePort(t)
	cfgPath := writeVMConfig(t, dir, vm.URL, fmt.Sprintf("listen: 127.0.0.1:%d\n", port))
	stateFile := filepath.Join(dir, "state", statestore.FileName)

	startBin := func() (*exec.Cmd, *syncBuffer) {
		var logs syncBuffer
		cmd := exec.Command(bin, "run", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, &logs
	}
	persisted := func(want rule.State) func() (bool, string) {
		return func() (bool, string) {
			st, err := (&statestoreReader{stateFile}).load()
			if err != nil || len(st.Entries) != 1 {
				return false, fmt.Sprintf("%v %v", st, err)
			}
			return st.Entries[0].Alert.State == want && (want != rule.StateFiring || st.Entries[0].LastSentState == rule.StateFiring), fmt.Sprintf("%+v", st.Entries[0])
		}
	}

	cmd, logs := startBin()
	eventually(t, 30*time.Second, "firing persisted and notified", persisted(rule.StateFiring))
	// The recording rule reaches VictoriaMetrics through the production
	// writer (alerts/remotewrite, Prometheus remote write).
	vmq, err := datasource.NewPrometheus(datasource.PrometheusOptions{URL: vm.URL, Step: time.Minute, Params: map[string][]string{"nocache": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "test:metric:sum written back by hlalert", func() (bool, string) {
		v, err := vmq.Query(context.Background(), "test:metric:sum", time.Now())
		return err == nil && len(v) == 1 && v[0].V == 10, fmt.Sprint(v, err)
	})
	st, _ := (&statestoreReader{stateFile}).load()
	activeAt := st.Entries[0].Alert.ActiveAt
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	outbox := filepath.Join(dir, "outbox")
	emls := func() int {
		m, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
		return len(m)
	}
	// The evaluator handed the firing alert to the notification pipeline
	// before the kill; the dispatcher may still have been waiting out
	// group_wait. After the restart it is written exactly once.
	if c := emls(); c > 1 {
		t.Fatalf("first run wrote %d notifications to the outbox:\n%s", c, logs.String())
	}

	cmd, logs = startBin()
	eventually(t, 20*time.Second, "evaluating again", func() (bool, string) {
		return strings.Contains(logs.String(), "evaluator started"), logs.String()
	})
	eventually(t, 30*time.Second, "the firing notification in the outbox", func() (bool, string) {
		return emls() == 1, fmt.Sprint(emls())
	})
	time.Sleep(3 * time.Second) // several evaluations
	st, err = (&statestoreReader{stateFile}).load()
	if err != nil || len(st.Entries) != 1 || st.Entries[0].Alert.State != rule.StateFiring || !st.Entries[0].Alert.ActiveAt.Equal(activeAt) {
		t.Fatalf("after kill -9 and restart: %+v %v, want firing since %v", st, err, activeAt)
	}
	if c := emls(); c != 1 {
		t.Fatalf("notified again after the restart: %d .eml files\n%s", c, logs.String())
	}

	// A broken config is rejected on SIGHUP; the running one goes on.
	writeFile(t, cfgPath, "datasource: {victoriametrics: {url: nope}}\nrule_files: [rules.yaml]\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "reload rejected", func() (bool, string) {
		return strings.Contains(logs.String(), "reload rejected"), logs.String()
	})
	f.value.Store(0)
	eventually(t, 30*time.Second, "resolved with the old config", persisted(rule.StateInactive))
	// The built-in route sends a group's change at its next group_interval (30s).
	eventually(t, 45*time.Second, "the resolution in the outbox", func() (bool, string) {
		return emls() == 2, fmt.Sprint(emls())
	})
}

type statestoreReader struct{ path string }

func (r *statestoreReader) load() (statestore.State, error) {
	s, err := statestore.Open(filepath.Dir(r.path))
	if err != nil {
		return statestore.State{}, err
	}
	return s.Load()
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test
// reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

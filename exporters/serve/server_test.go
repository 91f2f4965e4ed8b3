package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

var (
	valueDef = serve.NewMetricDef("hlexporter_fake_value", "A value.", serve.Gauge, "k")
	otherDef = serve.NewMetricDef("hlexporter_fake_other", "Not described.", serve.Gauge)
)

// fake is a collector whose updates are scripted.
type fake struct {
	name    string
	calls   atomic.Int64
	mu      sync.Mutex
	fail    bool
	hang    bool
	value   float64
	undescr bool
	started chan struct{}
}

func (f *fake) Name() string                 { return f.name }
func (f *fake) Describe() []*serve.MetricDef { return []*serve.MetricDef{valueDef} }
func (f *fake) Update(ctx context.Context) (serve.Result, error) {
	f.calls.Add(1)
	f.mu.Lock()
	fail, hang, v, undescr := f.fail, f.hang, f.value, f.undescr
	f.mu.Unlock()
	if hang {
		if f.started != nil {
			select {
			case f.started <- struct{}{}:
			default:
			}
		}
		<-ctx.Done()
		return serve.Result{}, ctx.Err()
	}
	if fail {
		return serve.Result{}, errors.New("backend unavailable")
	}
	var b serve.Metrics
	b.Add(valueDef, v, "a")
	if undescr {
		b.Add(otherDef, 1)
	}
	list, err := b.List()
	return serve.Result{Metrics: list, Homepage: map[string]any{"value": v, "when": time.Unix(1700000000, 0)}}, err
}

func (f *fake) set(fn func(*fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// Updates run once at start and once per interval, however often /metrics
// is scraped.
func TestUpdateCadenceIgnoresScrapes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{name: "fake", value: 1}
		srv, err := serve.New([]serve.Job{{Collector: f, Interval: time.Minute}}, serve.Options{})
		if err != nil {
			t.Fatal(err)
		}
		h, err := srv.Handler()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { srv.Run(ctx); close(done) }()
		// 10 minutes of scrapes every second.
		for i := 0; i < 600; i++ {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			if rec.Code != 200 {
				t.Fatalf("scrape %d: %d", i, rec.Code)
			}
			time.Sleep(time.Second)
		}
		synctest.Wait()
		cancel()
		<-done
		if got := f.calls.Load(); got != 11 {
			t.Errorf("Update ran %d times in 10 minutes at a 1m interval, want 11 (start + 10 ticks)", got)
		}
	})
}

// A failed update keeps the last good values, with success 0 and the old
// last-success time, so nothing stale looks fresh.
func TestFailureKeepsOldValuesNotFresh(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	f := &fake{name: "fake", value: 42}
	srv, err := serve.New([]serve.Job{{Collector: f, Interval: time.Minute}}, serve.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if !srv.UpdateOnce(context.Background(), "fake") {
		t.Fatal("first update failed")
	}
	now = time.Unix(1060, 0)
	f.set(func(f *fake) { f.fail = true })
	if srv.UpdateOnce(context.Background(), "fake") {
		t.Fatal("failing update reported success")
	}
	out := string(servetest.Render(t, srv))
	for _, want := range []string{
		`hlexporter_collector_success{collector="fake"} 0`,
		`hlexporter_collector_last_success_timestamp_seconds{collector="fake"} 1000`,
		`hlexporter_fake_value{k="a"} 42`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	hp, _ := srv.Homepage("fake")
	if hp["fake_success"] != 0 || hp["fake_age_seconds"] != 60.0 {
		t.Errorf("homepage %v", hp)
	}
}

func TestUndescribedMetricFailsTheUpdate(t *testing.T) {
	f := &fake{name: "fake", undescr: true}
	srv, _ := serve.New([]serve.Job{{Collector: f, Interval: time.Minute}}, serve.Options{})
	if srv.UpdateOnce(context.Background(), "fake") {
		t.Fatal("an undescribed metric was accepted")
	}
	if st := srv.Statuses(); !strings.Contains(st[0].LastError, "hlexporter_fake_other") {
		t.Errorf("error %q does not name the metric", st[0].LastError)
	}
}

func TestNewRejects(t *testing.T) {
	dup := &fake{name: "fake"}
	for name, jobs := range map[string][]serve.Job{
		"duplicate name":   {{Collector: dup, Interval: time.Minute}, {Collector: &fake{name: "fake"}, Interval: time.Minute}},
		"zero interval":    {{Collector: dup}},
		"nil collector":    {{Interval: time.Minute}},
		"bad metric names": {{Collector: badDefs{}, Interval: time.Minute}},
	} {
		if _, err := serve.New(jobs, serve.Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

type badDefs struct{}

func (badDefs) Name() string { return "bad" }
func (badDefs) Describe() []*serve.MetricDef {
	return []*serve.MetricDef{serve.NewMetricDef("hlexporter_bad_gauge_total", "A gauge named like a counter.", serve.Gauge)}
}
func (badDefs) Update(context.Context) (serve.Result, error) { return serve.Result{}, nil }

func TestHomepageJSON(t *testing.T) {
	f := &fake{name: "fake", value: 55.5}
	srv, _ := serve.New([]serve.Job{{Collector: f, Interval: time.Minute}}, serve.Options{Now: func() time.Time { return time.Unix(1700000100, 0) }})
	srv.UpdateOnce(context.Background(), "fake")
	h, _ := srv.Handler()
	for path, code := range map[string]int{"/api/homepage": 200, "/api/homepage/fake": 200, "/api/homepage/nope": 404, "/healthz": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != code {
			t.Errorf("%s: %d, want %d", path, rec.Code, code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/homepage", nil))
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"fake_success": 1.0, "fake_value": 55.5, "fake_when": "2023-11-14T22:13:20Z", "fake_last_success": "2023-11-14T22:15:00Z", "fake_age_seconds": 0.0}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["error"]; ok {
		t.Error("top-level error key")
	}
}

// A scrape answers from the cache while an update hangs on its backend.
// Sub-benchmarks: the hanging collector's last result holds 1 or 5000
// series; the Go runtime and process metrics are reused for 5s (the
// default) or gathered on every scrape (runtime=fresh, what a real scrape
// every 15s+ pays). The body goes to a writer that counts bytes, as a
// connection would take it. Reported: ns/op (mean), p99-ms and max-ms.
func BenchmarkScrapeWhileBackendHangs(b *testing.B) {
	for _, series := range []int{1, 5000} {
		for _, rt := range []struct {
			name   string
			maxAge time.Duration
		}{{"cached", 0}, {"fresh", -1}} {
			b.Run(fmt.Sprintf("series=%d/runtime=%s", series, rt.name), func(b *testing.B) {
				benchScrape(b, series, rt.maxAge)
			})
		}
	}
}

func benchScrape(b *testing.B, series int, runtimeMaxAge time.Duration) {
	f := &bulk{fake: fake{name: "fake", value: 1, started: make(chan struct{}, 1)}, series: series}
	srv, err := serve.New([]serve.Job{{Collector: f, Interval: time.Hour, Timeout: time.Hour}}, serve.Options{RuntimeMetricsMaxAge: runtimeMaxAge})
	if err != nil {
		b.Fatal(err)
	}
	if !srv.UpdateOnce(context.Background(), "fake") {
		b.Fatal(srv.Statuses()[0].LastError)
	}
	f.set(func(f *fake) { f.hang = true })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.UpdateOnce(ctx, "fake")
	<-f.started // the update now blocks until ctx is canceled
	h, _ := srv.Handler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	w := &countingWriter{header: http.Header{}}
	for i := 0; i < b.N; i++ {
		start := time.Now()
		w.code, w.n = 0, 0
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK || w.n == 0 {
			b.Fatalf("scrape: %d, %d bytes", w.code, w.n)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	if n := strings.Count(rec(h, req), "hlexporter_fake_value{"); n != series {
		b.Fatalf("served %d series, want %d", n, series)
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(durs[len(durs)-1].Microseconds())/1000, "max-ms")
}

// countingWriter stands for the connection: net/http writes the body
// through a small buffer to the socket, it does not keep it.
type countingWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *countingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

func rec(h http.Handler, req *http.Request) string {
	r := httptest.NewRecorder()
	h.ServeHTTP(r, req)
	return r.Body.String()
}

// bulk is a fake whose good update holds many series.
type bulk struct {
	fake
	series int
}

func (f *bulk) Update(ctx context.Context) (serve.Result, error) {
	if _, err := f.fake.Update(ctx); err != nil {
		return serve.Result{}, err
	}
	var b serve.Metrics
	for i := 0; i < f.series; i++ {
		b.Add(valueDef, float64(i), fmt.Sprintf("dataset-%05d", i))
	}
	list, err := b.List()
	return serve.Result{Metrics: list}, err
}

// /metrics serves each update's encoded families; what it serves (Go and
// process metrics aside) is exactly what gathering the Server through a
// registry gives, whatever the mix of fresh, failed and pending collectors.
func TestMetricsHandlerMatchesRegistry(t *testing.T) {
	a := &fake{name: "alpha", value: 1}
	z := &fake{name: "zulu", value: 2}
	pending := &multi{fake: &fake{name: "pending"}, def: serve.NewMetricDef("hlexporter_pending_value", "P.", serve.Gauge, "k")}
	defA := serve.NewMetricDef("hlexporter_alpha_value", "A.", serve.Gauge, "k")
	alpha := &multi{fake: a, def: defA}
	srv, err := serve.New([]serve.Job{{Collector: z, Interval: time.Minute}, {Collector: alpha, Interval: time.Minute}, {Collector: pending, Interval: time.Minute}},
		serve.Options{Now: func() time.Time { return time.Unix(1700000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	srv.UpdateOnce(context.Background(), "zulu")
	srv.UpdateOnce(context.Background(), "alpha")
	a.set(func(f *fake) { f.fail = true })
	srv.UpdateOnce(context.Background(), "alpha")
	h, err := srv.Handler()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	var served []string
	for _, l := range strings.SplitAfter(rec.Body.String(), "\n") {
		if !strings.Contains(l, " go_") && !strings.HasPrefix(l, "go_") && !strings.Contains(l, " process_") && !strings.HasPrefix(l, "process_") {
			served = append(served, l)
		}
	}
	got, want := strings.Join(served, ""), string(servetest.Render(t, srv))
	if got != want {
		t.Errorf("/metrics\n%s\nregistry\n%s", got, want)
	}
	for _, s := range []string{`hlexporter_alpha_value{k="a"} 1`, `hlexporter_collector_success{collector="alpha"} 0`, `hlexporter_fake_value{k="a"} 2`, "go_goroutines ", "process_start_time_seconds "} {
		if !strings.Contains(rec.Body.String(), s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}
	var buf strings.Builder
	if err := srv.WriteExposition(&buf); err != nil || buf.String() != want {
		t.Errorf("WriteExposition = %v\n%s\nwant\n%s", err, buf.String(), want)
	}
}

// multi wraps fake with its own metric name, so two collectors can run.
type multi struct {
	*fake
	def *serve.MetricDef
}

func (m *multi) Describe() []*serve.MetricDef { return []*serve.MetricDef{m.def} }
func (m *multi) Update(ctx context.Context) (serve.Result, error) {
	res, err := m.fake.Update(ctx)
	if err != nil {
		return res, err
	}
	var b serve.Metrics
	b.Add(m.def, m.value, "a")
	list, lerr := b.List()
	return serve.Result{Metrics: list}, lerr
}

// Two samples of one series fail the update that made them, not the scrape.
func TestDuplicateSeriesFailsTheUpdate(t *testing.T) {
	srv, _ := serve.New([]serve.Job{{Collector: dupCollector{}, Interval: time.Minute}}, serve.Options{})
	if srv.UpdateOnce(context.Background(), "dup") {
		t.Fatal("duplicate series accepted")
	}
	if st := srv.Statuses(); !strings.Contains(st[0].LastError, "hlexporter_fake_value") || !strings.Contains(st[0].LastError, "collected before") {
		t.Errorf("error %q", st[0].LastError)
	}
}

type dupCollector struct{}

func (dupCollector) Name() string                 { return "dup" }
func (dupCollector) Describe() []*serve.MetricDef { return []*serve.MetricDef{valueDef} }
func (dupCollector) Update(context.Context) (serve.Result, error) {
	var b serve.Metrics
	b.Add(valueDef, 1, "a")
	b.Add(valueDef, 2, "a")
	list, err := b.List()
	return serve.Result{Metrics: list}, err
}

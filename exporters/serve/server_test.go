package serve_test

import (
	"context"
	"encoding/json"
	"errors"
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
func BenchmarkScrapeWhileBackendHangs(b *testing.B) {
	f := &fake{name: "fake", value: 1, started: make(chan struct{}, 1)}
	srv, err := serve.New([]serve.Job{{Collector: f, Interval: time.Hour, Timeout: time.Hour}}, serve.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv.UpdateOnce(context.Background(), "fake")
	f.set(func(f *fake) { f.hang = true })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.UpdateOnce(ctx, "fake")
	<-f.started // the update now blocks until ctx is canceled
	h, _ := srv.Handler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("scrape: %d", rec.Code)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(durs[len(durs)-1].Microseconds())/1000, "max-ms")
}

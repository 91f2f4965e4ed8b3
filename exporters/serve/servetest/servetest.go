// Package servetest helps collector tests: it runs a collector's update
// through the real serving layer and renders what /metrics would serve, and
// compares output with golden files.
package servetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/hlalert/hlalert/alerts/yamlnode"
	"github.com/hlalert/hlalert/exporters/serve"
)

// Scrape runs one update of c through a serve.Server whose clock is fixed at
// now (so durations are 0 and timestamps reproducible) and returns the
// /metrics text (as the handler serves it, without Go and process metrics)
// and the update's error (nil on success).
func Scrape(t testing.TB, c serve.Collector, now time.Time) ([]byte, error) {
	t.Helper()
	srv, err := serve.New([]serve.Job{{Collector: c, Interval: time.Minute}}, serve.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("serve.New: %v", err)
	}
	var updErr error
	ok := srv.UpdateOnce(context.Background(), c.Name())
	if !ok {
		st := srv.Statuses()
		updErr = errors.New("update failed")
		if len(st) == 1 && st[0].LastError != "" {
			updErr = errors.New(st[0].LastError)
		}
	}
	var buf bytes.Buffer
	if err := srv.WriteExposition(&buf); err != nil {
		t.Fatalf("write exposition: %v", err)
	}
	return buf.Bytes(), updErr
}

// Render gathers a prometheus.Collector (a serve.Server) into the text format.
func Render(t testing.TB, c prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatalf("encode: %v", err)
		}
	}
	return buf.Bytes()
}

// Exposition renders one update's metrics (each from defs) as /metrics
// text through a pedantic registry, which also checks them against their
// definitions.
func Exposition(t testing.TB, defs []*serve.MetricDef, metrics []prometheus.Metric) []byte {
	t.Helper()
	return Render(t, static{defs, metrics})
}

// GoldenMetrics compares the exposition of metrics with the golden file at
// path (rewritten when update is set) and cross-checks the file with
// testutil.CollectAndCompare.
func GoldenMetrics(t testing.TB, path string, defs []*serve.MetricDef, metrics []prometheus.Metric, update bool) {
	t.Helper()
	Golden(t, path, Exposition(t, defs, metrics), update)
	if len(metrics) == 0 || update {
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(static{defs, metrics}, bytes.NewReader(want)); err != nil {
		t.Errorf("CollectAndCompare %s: %v", path, err)
	}
}

// static serves a fixed list of metrics.
type static struct {
	defs    []*serve.MetricDef
	metrics []prometheus.Metric
}

func (c static) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.defs {
		ch <- d.Desc()
	}
}

func (c static) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics {
		ch <- m
	}
}

// SeedFiles reads every file the glob patterns match, for fuzz seeds from
// testdata. A pattern that matches nothing fails the test, so a moved or
// renamed fixture cannot silently empty a corpus.
func SeedFiles(t testing.TB, patterns ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			t.Fatalf("seed pattern %q: %v", p, err)
		}
		if len(files) == 0 {
			t.Fatalf("seed pattern %q matches no file", p)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// Golden compares got with the file at path, or rewrites the file when
// update is set (go test -update).
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\n%s", path, diff(string(want), string(got)))
	}
}

// diff is a small line diff: lines only in want (-) and only in got (+).
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	inW, inG := map[string]int{}, map[string]int{}
	for _, l := range w {
		inW[l]++
	}
	for _, l := range g {
		inG[l]++
	}
	var b strings.Builder
	for _, l := range w {
		if inG[l] == 0 {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if inW[l] == 0 {
			b.WriteString("+ " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "(same lines, different order or count)"
	}
	return b.String()
}

// Homepage runs a collector's update result (res and its error) through a
// serve.Server whose clock is now and returns the JSON the server answers
// on /api/homepage/<name>, indented: what Homepage's customapi widget
// reads.
func Homepage(t testing.TB, name string, defs []*serve.MetricDef, res serve.Result, updErr error, now time.Time) []byte {
	t.Helper()
	c := fixed{name: name, defs: defs, res: res, err: updErr}
	srv, err := serve.New([]serve.Job{{Collector: c, Interval: time.Minute}}, serve.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("serve.New: %v", err)
	}
	srv.UpdateOnce(context.Background(), name)
	h, err := srv.Handler()
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/homepage/"+name, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/homepage/%s: %d %s", name, rec.Code, rec.Body)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(rec.Body.Bytes()), "", "  "); err != nil {
		t.Fatalf("homepage JSON: %v", err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// GoldenHomepage compares Homepage's JSON with the golden file at path
// (rewritten when update is set).
func GoldenHomepage(t testing.TB, path, name string, defs []*serve.MetricDef, res serve.Result, updErr error, now time.Time, update bool) {
	t.Helper()
	Golden(t, path, Homepage(t, name, defs, res, updErr, now), update)
}

// fixed is a collector whose update returns a fixed result.
type fixed struct {
	name string
	defs []*serve.MetricDef
	res  serve.Result
	err  error
}

func (f fixed) Name() string                 { return f.name }
func (f fixed) Describe() []*serve.MetricDef { return f.defs }
func (f fixed) Update(context.Context) (serve.Result, error) {
	return f.res, f.err
}

// ValidateError checks the error of a collector Config's Validate: every
// problem in it is a *yamlnode.FieldError (which the exporter places at
// its field's file:line:col) and, joined, they read exactly want ("" for
// no error).
func ValidateError(t testing.TB, err error, want string) {
	t.Helper()
	got := ""
	if err != nil {
		got = err.Error()
		parts := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			parts = j.Unwrap()
		}
		for _, e := range parts {
			if _, ok := e.(*yamlnode.FieldError); !ok {
				t.Errorf("%T %q is not a *yamlnode.FieldError", e, e)
			}
		}
	}
	if got != want {
		t.Errorf("Validate error\n%s\nwant\n%s", got, want)
	}
}

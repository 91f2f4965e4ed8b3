package scrape

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

func TestScrapeOnce(t *testing.T) {
	var body atomic.Value
	body.Store("# TYPE backup_ok gauge\nbackup_ok{repo=\"nas\",job=\"inner\"} 1\nbackup_ok{repo=\"cloud\"} NaN\n")
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, body.Load().(string))
	}))
	defer srv.Close()

	st := series.NewStore()
	s := New(st, srv.Client(), slog.New(slog.DiscardHandler))
	tgt := Target{Job: "hlexporter", URL: srv.URL + "/metrics", Labels: map[string]string{"node": "nas"}, Interval: time.Minute, Timeout: 5 * time.Second}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.ScrapeOnce(context.Background(), tgt, t0); err != nil {
		t.Fatal(err)
	}
	inst := strings.TrimPrefix(srv.URL, "http://")
	nas := series.FromStrings("__name__", "backup_ok", "repo", "nas", "exported_job", "inner", "job", "hlexporter", "instance", inst, "node", "nas")
	cloud := series.FromStrings("__name__", "backup_ok", "repo", "cloud", "job", "hlexporter", "instance", inst, "node", "nas")
	up := series.FromStrings("__name__", "up", "job", "hlexporter", "instance", inst, "node", "nas")

	body.Store("backup_ok{repo=\"cloud\"} 0\n")
	t1 := t0.Add(time.Minute)
	if err := s.ScrapeOnce(context.Background(), tgt, t1); err != nil {
		t.Fatal(err)
	}
	status.Store(500)
	t2 := t1.Add(time.Minute)
	if err := s.ScrapeOnce(context.Background(), tgt, t2); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("scrape of a failing target: err = %v", err)
	}

	got := map[string][]series.Sample{}
	for _, sr := range st.Select(nil, 0, math.MaxInt64) {
		got[sr.Labels.Key()] = sr.Samples
	}
	check := func(name string, ls series.Labels, want []float64) {
		t.Helper()
		smp := got[ls.Key()]
		if len(smp) != len(want) {
			t.Fatalf("%s: got %v, want values %v (have %d series)", name, smp, want, len(got))
		}
		for i, w := range want {
			v := smp[i].V
			switch {
			case series.IsStaleNaN(w):
				if !series.IsStaleNaN(v) {
					t.Errorf("%s[%d] = %v, want a staleness marker", name, i, v)
				}
			case math.IsNaN(w):
				if !math.IsNaN(v) || series.IsStaleNaN(v) {
					t.Errorf("%s[%d] = %v, want a plain NaN", name, i, v)
				}
			case v != w:
				t.Errorf("%s[%d] = %v, want %v", name, i, v, w)
			}
		}
	}
	check("nas", nas, []float64{1, series.StaleNaN})
	check("cloud", cloud, []float64{math.NaN(), 0, series.StaleNaN})
	check("up", up, []float64{1, 1, 0})
}

// roundTripFunc fakes a target in memory.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRunLogsTransitions: a target that fails for several scrapes is logged
// once when it goes down and once when it comes back, not at every scrape.
func TestRunLogsTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if k := n.Add(1); k >= 2 && k <= 5 {
				return nil, errors.New("connection refused")
			}
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("x 1\n")), Header: http.Header{}}, nil
		})}
		var logs bytes.Buffer
		s := New(series.NewStore(), client, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			s.Run(ctx, []Target{{Job: "j", URL: "http://127.0.0.1:9/metrics", Interval: time.Second, Timeout: time.Second}})
			close(done)
		}()
		time.Sleep(7500 * time.Millisecond) // scrapes at 0s..7s: up, down x4, up x3
		cancel()
		<-done
		if got := n.Load(); got != 8 {
			t.Fatalf("%d scrapes, want 8", got)
		}
		if c := strings.Count(logs.String(), "target down"); c != 1 {
			t.Errorf("logged %d 'target down' lines, want 1:\n%s", c, logs.String())
		}
		if c := strings.Count(logs.String(), "target up again"); c != 1 {
			t.Errorf("logged %d 'target up again' lines, want 1:\n%s", c, logs.String())
		}
	})
}

package watchdog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBeatRateLimitAndRetry(t *testing.T) {
	var hits atomic.Int32
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/ping/secret" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		hits.Add(1)
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w, err := New(Options{URL: srv.URL + "/ping/secret", Method: "post", Interval: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	step := func(d time.Duration, wantHits int32, wantErr bool) {
		t.Helper()
		now = now.Add(d)
		err := w.Beat(ctx)
		if (err != nil) != wantErr {
			t.Fatalf("at +%v: err %v, want error %v", d, err, wantErr)
		}
		if got := hits.Load(); got != wantHits {
			t.Fatalf("at +%v: %d pings, want %d", d, got, wantHits)
		}
	}
	step(0, 1, false)              // first beat pings
	step(30*time.Second, 1, false) // too soon
	step(31*time.Second, 2, false) // interval passed
	fail.Store(true)
	step(61*time.Second, 3, true) // failure: not counted as a ping
	fail.Store(false)
	step(time.Second, 4, false) // retried at the next beat
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Beat(ctx); err != nil || hits.Load() != 4 {
		t.Fatalf("extra ping: %v %d", err, hits.Load())
	}
}

func TestOptionsErrors(t *testing.T) {
	_, err := New(Options{URL: "nope", Method: "PUT"})
	if err == nil || !strings.Contains(err.Error(), `watchdog: url: "nope"`) || !strings.Contains(err.Error(), `watchdog: method: "PUT"`) {
		t.Fatalf("got %v", err)
	}
	w, err := New(Options{URL: "http://127.0.0.1:1/x", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Beat(context.Background())
	if err == nil || strings.Contains(err.Error(), "/x") {
		t.Fatalf("want an error with the URL path redacted, got %v", err)
	}
}

package amhandoff

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/notify"
)

func TestSendJSONShapeAndRetry(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if r.Method != http.MethodPost || r.URL.Path != "/prefix/api/v2/alerts" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		if calls == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
	}))
	defer srv.Close()
	s, err := New(Options{URLs: []string{srv.URL + "/prefix/"}, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	b := notify.Batch{Receiver: "am", GroupKey: "g", Seq: 1, Alerts: []notify.Alert{
		{Labels: map[string]string{"alertname": "A", "host": "nas"}, Annotations: map[string]string{"summary": "s"}, StartsAt: start, Status: "firing", GeneratorURL: "http://hlalert/x"},
		{Labels: map[string]string{"alertname": "B"}, StartsAt: start, EndsAt: start.Add(time.Hour), Status: "resolved"},
	}}
	if retry, err := s.Notify(context.Background(), b); err != nil || retry {
		t.Fatal(retry, err)
	}
	if calls != 2 || len(bodies) != 1 {
		t.Fatalf("calls %d bodies %d, want a retry after 503", calls, len(bodies))
	}
	want := `[{"labels":{"alertname":"A","host":"nas"},"annotations":{"summary":"s"},"startsAt":"2026-11-21T10:00:00Z","generatorURL":"http://hlalert/x"},` +
		`{"labels":{"alertname":"B"},"startsAt":"2026-11-21T10:00:00Z","endsAt":"2026-11-21T11:00:00Z"}]`
	if bodies[0] != want {
		t.Errorf("body\n%s\nwant\n%s", bodies[0], want)
	}
	var v []map[string]any
	if err := json.Unmarshal([]byte(bodies[0]), &v); err != nil {
		t.Fatal(err)
	}
}

func TestSendRejected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad alert", http.StatusBadRequest)
	}))
	defer srv.Close()
	s, err := New(Options{URLs: []string{srv.URL}, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	retry, err := s.Notify(context.Background(), notify.Batch{Alerts: []notify.Alert{{Labels: map[string]string{"a": "b"}}}})
	if err == nil || retry || !strings.Contains(err.Error(), "rejected: 400 Bad Request: bad alert") {
		t.Fatalf("got retry %v, %v; want a 400 not to be retried", retry, err)
	}
	if _, err := New(Options{URLs: []string{"ftp://x"}}); err == nil || !strings.Contains(err.Error(), `urls[0]: "ftp://x"`) {
		t.Fatalf("bad URL: %v", err)
	}
}

// TestNotifyRetryable: an Alertmanager that keeps answering 503 is a
// retryable failure after the attempts; one refusing with 400 beside
// it does not make the batch non-retryable; one accepting makes it a
// success.
func TestNotifyRetryable(t *testing.T) {
	status := func(code int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, http.StatusText(code), code)
		}))
	}
	busy, bad, ok := status(http.StatusServiceUnavailable), status(http.StatusBadRequest), status(http.StatusOK)
	defer busy.Close()
	defer bad.Close()
	defer ok.Close()
	b := notify.Batch{Alerts: []notify.Alert{{Labels: map[string]string{"a": "b"}}}}
	for _, tc := range []struct {
		urls      []string
		retry     bool
		wantError string
	}{
		{[]string{busy.URL}, true, "503 Service Unavailable"},
		{[]string{bad.URL, busy.URL}, true, "rejected: 400 Bad Request"},
		{[]string{bad.URL}, false, "rejected: 400 Bad Request"},
		{[]string{busy.URL, ok.URL}, false, ""},
	} {
		s, err := New(Options{URLs: tc.urls, Backoff: time.Millisecond, Attempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		retry, err := s.Notify(context.Background(), b)
		if retry != tc.retry || (tc.wantError == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantError)) {
			t.Errorf("%v: retry %v, %v; want retry %v, error %q", tc.urls, retry, err, tc.retry, tc.wantError)
		}
	}
}

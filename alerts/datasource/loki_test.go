package datasource

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/lokiproto"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/lokipush"
)

func TestLokiRequest(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		if strings.Contains(r.URL.Query().Get("query"), "logs") {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"streams","result":[]}}`)
			return
		}
		if strings.Contains(r.URL.Query().Get("query"), "bad") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "parse error at line 1, col 5: syntax error")
			return
		}
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"unit":"restic-backup.service"},"value":[1700000000,"3"]}]}}`)
	}))
	defer srv.Close()
	l, err := NewLoki(LokiOptions{URL: srv.URL, Tenant: "home", HTTP: HTTPOptions{Header: http.Header{"Authorization": {"Basic dTpw"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := l.Query(ctx, `sum by (unit) (count_over_time({job="systemd"} |= "Failed" [5m]))`, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || v[0].V != 3 || v[0].Labels.Get("unit") != "restic-backup.service" {
		t.Fatalf("got %v", v)
	}
	if got.Header.Get("X-Scope-OrgID") != "home" || got.URL.Query().Get("time") != "1700000000000000000" || got.URL.Path != "/loki/api/v1/query" {
		t.Fatalf("request: tenant %q time %q path %q", got.Header.Get("X-Scope-OrgID"), got.URL.Query().Get("time"), got.URL.Path)
	}
	if u, p, ok := got.BasicAuth(); !ok || u != "u" || p != "p" {
		t.Fatalf("basic auth not sent")
	}
	if _, err := l.Query(ctx, `{job="logs"}`, time.Unix(1700000000, 0)); err == nil || !strings.Contains(err.Error(), "not numbers") {
		t.Fatalf("log query: err = %v", err)
	}
	if _, err := l.Query(ctx, `bad(`, time.Unix(1700000000, 0)); err == nil || !strings.Contains(err.Error(), "(HTTP 400): parse error") {
		t.Fatalf("bad query: err = %v", err)
	}
}

// TestLokiAgainstRealLoki pushes lines into a real Loki and counts them back
// with a LogQL metric query.
func TestLokiAgainstRealLoki(t *testing.T) {
	srv := realserver.StartLoki(t)
	ctx := context.Background()
	pc, err := lokipush.New(lokipush.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	var entries []lokiproto.Entry
	for i := range 5 {
		line := "backup finished"
		if i%2 == 0 {
			line = "backup FAILED: repository locked"
		}
		entries = append(entries, lokiproto.Entry{Timestamp: now.Add(time.Duration(i-10) * time.Second), Line: line})
	}
	if err := pc.Push(ctx, []lokiproto.Stream{{Labels: `{job="systemd", unit="restic-backup.service"}`, Entries: entries}}); err != nil {
		t.Fatal(err)
	}
	l, err := NewLoki(LokiOptions{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := l.Query(ctx, `sum by (unit) (count_over_time({job="systemd"} |= "FAILED" [1m]))`, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) == 1 && v[0].V == 3 && v[0].Labels.Get("unit") == "restic-backup.service" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pushed lines not counted after 30s: %v\n%s", v, srv.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

package logingest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/hlalert/hlalert/alerts/lokiproto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/series"
)

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func newReceiver(t testing.TB, retention time.Duration, maxBytes int64) (*Receiver, *logstream.Store, *prometheus.Registry) {
	t.Helper()
	st := logstream.NewStore()
	reg := prometheus.NewRegistry()
	r, err := New(Options{
		Store: st, Retention: func() time.Duration { return retention }, MaxBytes: maxBytes,
		Now: func() time.Time { return t0 }, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, st, reg
}

func protoBody(t testing.TB, streams []lokiproto.Stream) []byte {
	t.Helper()
	// Encoded by Loki's own push package, as Alloy and promtail send it.
	var req push.PushRequest
	for _, s := range streams {
		ps := push.Stream{Labels: s.Labels}
		for _, e := range s.Entries {
			ps.Entries = append(ps.Entries, push.Entry{Timestamp: e.Timestamp, Line: e.Line})
		}
		req.Streams = append(req.Streams, ps)
	}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func post(h http.Handler, ct, ce string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/loki/api/v1/push", bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestPushProtobufAndJSON(t *testing.T) {
	r, st, reg := newReceiver(t, 10*time.Minute, 0)
	body := protoBody(t, []lokiproto.Stream{{
		Labels: `{job="systemd-journal", host="nas", unit="sshd.service"}`,
		Entries: []lokiproto.Entry{
			{Timestamp: t0.Add(-time.Minute), Line: "Failed password for root from 203.0.113.7 port 41234 ssh2"},
			{Timestamp: t0.Add(-time.Hour), Line: "too old"},
		},
	}})
	if w := post(r, "application/x-protobuf", "", body); w.Code != http.StatusNoContent {
		t.Fatalf("protobuf: %d %s", w.Code, w.Body)
	}
	js := fmt.Sprintf(`{"streams":[{"stream":{"job":"systemd-journal","host":"nas","unit":"sshd.service"},"values":[["%d","Invalid user oracle from 203.0.113.54 port 40022"],["%d","with metadata",{"trace_id":"x"}]]}]}`,
		t0.Add(-30*time.Second).UnixNano(), t0.UnixNano())
	if w := post(r, "application/json", "", []byte(js)); w.Code != http.StatusNoContent {
		t.Fatalf("json: %d %s", w.Code, w.Body)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintf(zw, `{"streams":[{"stream":{"job":"x"},"values":[["%d","gzipped"]]}]}`, t0.UnixNano())
	zw.Close()
	if w := post(r, "application/json; charset=utf-8", "gzip", gz.Bytes()); w.Code != http.StatusNoContent {
		t.Fatalf("gzip json: %d %s", w.Code, w.Body)
	}
	ms, _ := series.NewMatcher("job", "systemd-journal", false, false)
	got := st.Select([]series.Matcher{ms}, t0.Add(-time.Hour), t0.Add(time.Second))
	if len(got) != 1 || len(got[0].Entries) != 3 || got[0].Labels.String() != `{host="nas", job="systemd-journal", unit="sshd.service"}` {
		t.Fatalf("store holds %+v", got)
	}
	if want := "Failed password for root from 203.0.113.7 port 41234 ssh2"; got[0].Entries[0].Line != want {
		t.Errorf("first line %q", got[0].Entries[0].Line)
	}
	if v := testutil.ToFloat64(r.dropped.WithLabelValues(ReasonTooOld)); v != 1 {
		t.Errorf("too_old drops %v, want 1", v)
	}
	if v := testutil.ToFloat64(r.received); v != 5 {
		t.Errorf("received %v, want 5", v)
	}
	if n, err := testutil.GatherAndCount(reg, "hlalert_log_store_lines"); err != nil || n != 1 {
		t.Errorf("hlalert_log_store_lines: %d %v", n, err)
	}
}

func TestPushRefusals(t *testing.T) {
	r, _, _ := newReceiver(t, time.Minute, 0)
	for _, tc := range []struct {
		name, ct, ce string
		body         []byte
		code         int
		msg          string
	}{
		{"not snappy", "application/x-protobuf", "", []byte("plain"), 400, "snappy body"},
		{"not protobuf", "application/x-protobuf", "", snappy.Encode(nil, []byte{0xff, 0xff, 0xff}), 400, "protobuf body"},
		{"bad json", "application/json", "", []byte(`{"streams":[{"stream":{},"values":[["1"]]}]}`), 400, "want [\"<unix ns>\", \"<line>\"]"},
		{"bad json time", "application/json", "", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["yesterday","x"]]}]}`), 400, "want Unix nanoseconds"},
		{"bad labels", "application/x-protobuf", "", protoBody(t, []lokiproto.Stream{{Labels: `{job=~"x"}`, Entries: []lokiproto.Entry{{Timestamp: t0, Line: "x"}}}}), 400, "label job: want ="},
		{"no labels", "application/x-protobuf", "", protoBody(t, []lokiproto.Stream{{Labels: `{}`, Entries: []lokiproto.Entry{{Timestamp: t0, Line: "x"}}}}), 400, "stream labels"},
		{"content type", "text/plain", "", []byte("x"), 415, "content type"},
		{"encoding", "application/json", "br", []byte("x"), 415, "content encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := post(r, tc.ct, tc.ce, tc.body)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.msg) {
				t.Fatalf("got %d %q, want %d with %q", w.Code, w.Body, tc.code, tc.msg)
			}
		})
	}
}

func TestNoRulesKeepsNothing(t *testing.T) {
	r, st, _ := newReceiver(t, 0, 0)
	if err := r.Ingest([]lokiproto.Stream{{Labels: `{job="x"}`, Entries: []lokiproto.Entry{{Timestamp: t0, Line: "x"}}}}); err != nil {
		t.Fatal(err)
	}
	if s := st.Stats(); s.Entries != 0 {
		t.Fatalf("store holds %d lines", s.Entries)
	}
	if v := testutil.ToFloat64(r.dropped.WithLabelValues(ReasonNoRules)); v != 1 {
		t.Errorf("no_rules drops %v", v)
	}
}

// TestFloodStaysBounded pushes 40 MiB of journal-like lines into a store
// bounded at 4 MiB: the store holds at most 4 MiB, the rest is counted as
// dropped, and the heap stays near the bound.
func TestFloodStaysBounded(t *testing.T) {
	const maxBytes = 4 << 20
	r, st, _ := newReceiver(t, time.Hour, maxBytes)
	lines, bytesPushed := flood(t, r, 40<<20)
	s := st.Stats()
	if s.Bytes > maxBytes {
		t.Fatalf("store holds %d bytes, more than %d", s.Bytes, maxBytes)
	}
	dropped := testutil.ToFloat64(r.dropped.WithLabelValues(ReasonLimit))
	if int64(dropped)+s.Entries != int64(lines) {
		t.Fatalf("kept %d + dropped %v != pushed %d", s.Entries, dropped, lines)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("pushed %d lines (%d MiB); kept %d lines (%.1f MiB, bound %d MiB); dropped %v; heap in use after GC %.1f MiB",
		lines, bytesPushed>>20, s.Entries, float64(s.Bytes)/(1<<20), maxBytes>>20, dropped, float64(ms.HeapInuse)/(1<<20))
	runtime.KeepAlive(st)
}

// flood pushes journal-like lines through the HTTP handler in batches of
// 1000 (as Alloy batches) until total bytes of lines went in.
func flood(t testing.TB, h http.Handler, total int) (lines, pushed int) {
	hosts := []string{"server", "nas", "ha"}
	units := []string{"sshd.service", "init.scope", "zfs-zed.service", "restic-backups-photos.service"}
	ts := t0.Add(-30 * time.Minute)
	for pushed < total {
		var streams []lokiproto.Stream
		for i := range 10 {
			s := lokiproto.Stream{Labels: fmt.Sprintf(`{job="systemd-journal", host=%q, unit=%q, level="info"}`, hosts[i%3], units[i%4])}
			for range 100 {
				ts = ts.Add(time.Millisecond)
				line := fmt.Sprintf("Failed password for invalid user admin%d from 203.0.113.%d port %d ssh2", lines, lines%250, 40000+lines%20000)
				s.Entries = append(s.Entries, lokiproto.Entry{Timestamp: ts, Line: line})
				lines++
				pushed += len(line)
			}
			streams = append(streams, s)
		}
		if w := post(h, "application/x-protobuf", "", protoBody(t, streams)); w.Code != http.StatusNoContent {
			t.Fatalf("push: %d %s", w.Code, w.Body)
		}
	}
	return lines, pushed
}

// BenchmarkPushFlood measures pushing through the handler into a bounded
// store, and reports the heap in use after the flood.
func BenchmarkPushFlood(b *testing.B) {
	for range b.N {
		r, st, _ := newReceiver(b, time.Hour, 8<<20)
		lines, _ := flood(b, r, 32<<20)
		b.ReportMetric(float64(lines), "lines/op")
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(st.Stats().Bytes)/(1<<20), "kept-MiB")
		runtime.KeepAlive(st)
	}
}

package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang/snappy"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/encoding/protowire"
)

// decode parses a snappy-compressed remote write request back into points.
func decode(t *testing.T, body []byte) []series.Point {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatalf("snappy: %v", err)
	}
	var out []series.Point
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 || num != fieldTimeSeries || typ != protowire.BytesType {
			t.Fatalf("bad WriteRequest field %d/%d", num, typ)
		}
		raw = raw[n:]
		ts, n := protowire.ConsumeBytes(raw)
		raw = raw[n:]
		var p series.Point
		for len(ts) > 0 {
			num, _, n := protowire.ConsumeTag(ts)
			ts = ts[n:]
			msg, n := protowire.ConsumeBytes(ts)
			ts = ts[n:]
			switch num {
			case fieldLabels:
				var l series.Label
				for len(msg) > 0 {
					f, _, n := protowire.ConsumeTag(msg)
					msg = msg[n:]
					s, n := protowire.ConsumeString(msg)
					msg = msg[n:]
					if f == fieldLabelName {
						l.Name = s
					} else {
						l.Value = s
					}
				}
				p.Labels = append(p.Labels, l)
			case fieldSamples:
				for len(msg) > 0 {
					f, _, n := protowire.ConsumeTag(msg)
					msg = msg[n:]
					if f == fieldSampleValue {
						v, n := protowire.ConsumeFixed64(msg)
						msg = msg[n:]
						p.V = math.Float64frombits(v)
					} else {
						v, n := protowire.ConsumeVarint(msg)
						msg = msg[n:]
						p.T = int64(v)
					}
				}
			default:
				t.Fatalf("bad TimeSeries field %d", num)
			}
		}
		out = append(out, p)
	}
	return out
}

// fakeReceiver is an http.RoundTripper answering with the codes of
// script in turn (then 204), recording the time and points of each request.
type fakeReceiver struct {
	t      *testing.T
	mu     sync.Mutex
	script []int
	reqs   []request
}

type request struct {
	at     time.Time
	code   int
	points []series.Point
	header http.Header
}

func (f *fakeReceiver) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	code := http.StatusNoContent
	if len(f.script) > 0 {
		code, f.script = f.script[0], f.script[1:]
	}
	f.reqs = append(f.reqs, request{at: time.Now(), code: code, points: decode(f.t, body), header: r.Header.Clone()})
	if code == 0 {
		return nil, errors.New("connection refused")
	}
	return &http.Response{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Body: io.NopCloser(strings.NewReader("oops")), Header: http.Header{}}, nil
}

func (f *fakeReceiver) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func (f *fakeReceiver) accepted() []series.Point {
	var out []series.Point
	for _, r := range f.requests() {
		if r.code/100 == 2 {
			out = append(out, r.points...)
		}
	}
	return out
}

func pts(name string, from, n int) []series.Point {
	out := make([]series.Point, n)
	for i := range out {
		out[i] = series.Point{Labels: series.FromStrings("__name__", name, "i", fmt.Sprint(from+i)), T: int64(1000 * (from + i)), V: float64(from + i)}
	}
	return out
}

func newWriter(t *testing.T, f *fakeReceiver, reg prometheus.Registerer, mod func(*Options)) *Writer {
	t.Helper()
	o := Options{
		URL:                  "http://vm:8428/",
		HTTP:                 datasourceHTTP(f),
		MaxBufferedSamples:   10,
		MaxSamplesPerRequest: 4,
		FlushInterval:        time.Second,
		MinBackoff:           100 * time.Millisecond,
		MaxBackoff:           400 * time.Millisecond,
		Registerer:           reg,
		Logger:               slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEncodingAndHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReceiver{t: t}
		w := newWriter(t, f, nil, func(o *Options) {
			o.HTTP.Header = http.Header{"X-Tenant": {"7"}, "Authorization": {"Basic dTpw"}}
		})
		in := []series.Point{
			{Labels: series.FromStrings("__name__", "job:up:sum", "job", "node", "Z", "upper"), T: 1700000000123, V: 3.5},
			{Labels: series.FromStrings("__name__", "job:up:sum", "job", "gone"), T: 1700000000123, V: series.StaleNaN},
		}
		if err := w.Write(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 1 {
			t.Fatalf("want 1 request, got %d", len(reqs))
		}
		got := reqs[0].points
		if len(got) != 2 || !got[0].Labels.Equal(in[0].Labels) || got[0].T != in[0].T || got[0].V != 3.5 || !series.IsStaleNaN(got[1].V) {
			t.Errorf("decoded %v, want %v (stale marker kept)", got, in)
		}
		h := reqs[0].header
		for k, want := range map[string]string{
			"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
			"X-Prometheus-Remote-Write-Version": "0.1.0", "X-Tenant": "7", "Authorization": "Basic dTpw",
		} {
			if h.Get(k) != want {
				t.Errorf("header %s = %q, want %q", k, h.Get(k), want)
			}
		}
	})
}

func TestBatchingAndFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReceiver{t: t}
		w := newWriter(t, f, nil, nil)
		start := time.Now()
		w.Write(t.Context(), pts("a", 0, 2)) // below a batch: waits for the flush interval
		synctest.Wait()
		if n := len(f.requests()); n != 0 {
			t.Fatalf("sent %d requests before the flush interval", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		reqs := f.requests()
		if len(reqs) != 1 || len(reqs[0].points) != 2 || reqs[0].at.Sub(start) != time.Second {
			t.Fatalf("after 1s: %+v", reqs)
		}
		w.Write(t.Context(), pts("a", 2, 9)) // a full batch is sent at once, in batches of 4
		synctest.Wait()
		reqs = f.requests()
		if len(reqs) != 4 || len(reqs[1].points) != 4 || len(reqs[2].points) != 4 || len(reqs[3].points) != 1 {
			t.Fatalf("want batches 2,4,4,1; got %d requests", len(reqs))
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := f.accepted(); len(got) != 11 || got[10].V != 10 {
			t.Errorf("accepted %v", got)
		}
	})
}

func TestRetryWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReceiver{t: t, script: []int{503, 0, 429, 500, 500, 204}}
		reg := prometheus.NewRegistry()
		w := newWriter(t, f, reg, nil)
		start := time.Now()
		w.Write(t.Context(), pts("a", 0, 4))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		reqs := f.requests()
		var offsets []time.Duration
		for _, r := range reqs {
			offsets = append(offsets, r.at.Sub(start))
		}
		// 100ms doubling, capped at 400ms.
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond, 1100 * time.Millisecond, 1500 * time.Millisecond}
		if fmt.Sprint(offsets) != fmt.Sprint(want) {
			t.Errorf("request times %v, want %v", offsets, want)
		}
		if got := f.accepted(); len(got) != 4 {
			t.Errorf("accepted %d samples, want 4 exactly once", len(got))
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		expect := `
# HELP hlalert_remote_write_requests_failed_total Remote write requests that failed (each retry counts).
# TYPE hlalert_remote_write_requests_failed_total counter
hlalert_remote_write_requests_failed_total 5
# HELP hlalert_remote_write_samples_written_total Samples accepted by the remote write receiver.
# TYPE hlalert_remote_write_samples_written_total counter
hlalert_remote_write_samples_written_total 4
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(expect), "hlalert_remote_write_requests_failed_total", "hlalert_remote_write_samples_written_total"); err != nil {
			t.Error(err)
		}
	})
}

func TestBufferFullDropsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Down for the first 8 attempts: the in-flight batch (4) waits,
		// the buffer (10) overflows.
		f := &fakeReceiver{t: t, script: []int{0, 0, 0, 0, 0, 0, 0, 0}}
		reg := prometheus.NewRegistry()
		w := newWriter(t, f, reg, nil)
		w.Write(t.Context(), pts("a", 0, 4)) // sent at once, fails, retried
		synctest.Wait()
		for i := 4; i < 20; i += 2 {
			w.Write(t.Context(), pts("a", i, 2))
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		var got []float64
		for _, p := range f.accepted() {
			got = append(got, p.V)
		}
		// 0..3 in flight, 4..9 dropped, 10..19 kept.
		want := []float64{0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("accepted %v, want %v", got, want)
		}
		expect := `
# HELP hlalert_remote_write_samples_dropped_total Samples that will never be written, by reason (buffer_full, rejected, shutdown).
# TYPE hlalert_remote_write_samples_dropped_total counter
hlalert_remote_write_samples_dropped_total{reason="buffer_full"} 6
hlalert_remote_write_samples_dropped_total{reason="rejected"} 0
hlalert_remote_write_samples_dropped_total{reason="shutdown"} 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(expect), "hlalert_remote_write_samples_dropped_total"); err != nil {
			t.Error(err)
		}
	})
}

func TestRejectedBatchIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReceiver{t: t, script: []int{400}}
		reg := prometheus.NewRegistry()
		w := newWriter(t, f, reg, nil)
		w.Write(t.Context(), pts("a", 0, 4))
		w.Write(t.Context(), pts("a", 4, 1))
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if reqs := f.requests(); len(reqs) != 2 || len(f.accepted()) != 1 {
			t.Errorf("want the rejected batch dropped and the next sent: %+v", reqs)
		}
		if v := testutil.ToFloat64(w.m.dropped.WithLabelValues(reasonRejected)); v != 4 {
			t.Errorf("rejected = %v, want 4", v)
		}
	})
}

func TestCloseGivesUpAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReceiver{t: t, script: make([]int, 1000)} // always down
		reg := prometheus.NewRegistry()
		w := newWriter(t, f, reg, nil)
		w.Write(t.Context(), pts("a", 0, 7))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := w.Close(ctx)
		if err == nil || !strings.Contains(err.Error(), "7 samples not written at shutdown") {
			t.Errorf("Close: %v", err)
		}
		if v := testutil.ToFloat64(w.m.dropped.WithLabelValues(reasonShutdown)); v != 7 {
			t.Errorf("shutdown drops = %v, want 7", v)
		}
		if err := w.Write(t.Context(), pts("a", 0, 1)); !errors.Is(err, ErrClosed) {
			t.Errorf("Write after Close: %v", err)
		}
	})
}

func TestOptionsValidate(t *testing.T) {
	_, err := New(Options{URL: "vm:8428", MaxBufferedSamples: -1, MinBackoff: time.Minute, MaxBackoff: time.Second})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`url: want http(s)://host:port[/path], got "vm:8428"`, "MaxBufferedSamples must not be negative", "MinBackoff 1m0s is above MaxBackoff 1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://vm:8428":  "http://vm:8428/api/v1/write",
		"http://vm:8428/": "http://vm:8428/api/v1/write",
		"http://vminsert:8480/insert/0/prometheus":               "http://vminsert:8480/insert/0/prometheus/api/v1/write",
		"http://vminsert:8480/insert/0/prometheus/api/v1/import": "http://vminsert:8480/insert/0/prometheus/api/v1/write",
		"http://prom:9090/api/v1/write":                          "http://prom:9090/api/v1/write",
	} {
		if got := endpoint(in); got != want {
			t.Errorf("endpoint(%q) = %q, want %q", in, got, want)
		}
	}
}

package remotewrite

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// exported returns every stored sample of the series matching match, by
// timestamp (ms), with duplicates kept: VictoriaMetrics' /api/v1/export
// returns raw samples.
func exported(t *testing.T, vm *realserver.Server, match string) map[string][]int64 {
	t.Helper()
	resp, err := http.Get(vm.URL + "/api/v1/export?" + url.Values{"match[]": {match}}.Encode())
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("export: %s: %s", resp.Status, b)
	}
	out := map[string][]int64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct {
			Metric     map[string]string `json:"metric"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		key := series.FromMap(line.Metric).String()
		out[key] = append(out[key], line.Timestamps...)
	}
	return out
}

func flush(t *testing.T, vm *realserver.Server) {
	t.Helper()
	resp, err := http.Get(vm.URL + "/internal/force_flush")
	if err != nil {
		t.Fatalf("force_flush: %v", err)
	}
	resp.Body.Close()
}

// waitSamples polls until the series hold want samples in total.
func waitSamples(t *testing.T, vm *realserver.Server, match string, want int) map[string][]int64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		flush(t, vm)
		got := exported(t, vm, match)
		n := 0
		for _, ts := range got {
			n += len(ts)
		}
		if n >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func recorded(from, n int, base int64) []series.Point {
	out := make([]series.Point, 0, 2*n)
	for i := from; i < from+n; i++ {
		for _, host := range []string{"nas", "ha"} {
			out = append(out, series.Point{
				Labels: series.FromStrings("__name__", "host:disk_used:ratio", "host", host),
				T:      base + int64(i)*15_000, V: float64(i) / 100,
			})
		}
	}
	return out
}

func TestRealVictoriaMetricsOutageAndRestart(t *testing.T) {
	vm := realserver.StartVictoriaMetrics(t)
	reg := prometheus.NewRegistry()
	w, err := New(Options{
		URL: vm.URL, FlushInterval: 100 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Registerer: reg, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Minute).UnixMilli()
	const match = `{__name__="host:disk_used:ratio"}`

	// Points written land and are queryable.
	if err := w.Write(t.Context(), recorded(0, 10, base)); err != nil {
		t.Fatal(err)
	}
	got := waitSamples(t, vm, match, 20)
	if len(got) != 2 || len(got[`host:disk_used:ratio{host="nas"}`]) != 10 {
		t.Fatalf("after the first write: %v", got)
	}
	q, err := http.Get(vm.URL + "/api/v1/query?" + url.Values{"query": {`host:disk_used:ratio{host="ha"}`}, "time": {fmt.Sprint(float64(base+9*15_000) / 1000)}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(q.Body)
	q.Body.Close()
	var qr struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &qr); err != nil || len(qr.Data.Result) != 1 || qr.Data.Result[0].Value[1] != "0.09" {
		t.Fatalf("query the recorded series: %v %s", err, body)
	}

	// VictoriaMetrics goes away (kill -9): points are buffered and retried.
	// (kill -9 may lose what VictoriaMetrics had not saved yet, so the
	// first ten points are checked for duplicates only.)
	vm.Stop()
	if err := w.Write(t.Context(), recorded(10, 20, base)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(w.m.failedRequests) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := testutil.ToFloat64(w.m.failedRequests); n < 3 {
		t.Fatalf("want failed requests while VictoriaMetrics is down, got %v", n)
	}

	// Back up: the buffered points land, each exactly once.
	vm.Restart(t, "/health")
	got = waitSamples(t, vm, match, 40)
	if len(got) != 2 {
		t.Fatalf("after restart: %v", got)
	}
	for key, ts := range got {
		seen := map[int64]int{}
		for _, i := range relative(ts, base) {
			seen[i]++
		}
		for i := int64(0); i < 30; i++ {
			if seen[i] > 1 || (i >= 10 && seen[i] != 1) {
				t.Errorf("%s: sample %d stored %d times, want once (buffered during the outage: %v): %v", key, i, seen[i], i >= 10, relative(ts, base))
			}
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(w.m.written); v != 60 {
		t.Errorf("written = %v, want 60", v)
	}
}

// relative renders timestamps as sample indexes, for failure messages.
func relative(ts []int64, base int64) []int64 {
	out := make([]int64, len(ts))
	for i, x := range ts {
		out[i] = (x - base) / 15_000
	}
	return out
}

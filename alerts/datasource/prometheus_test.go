package datasource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/series"
)

func TestParsePrometheusResponse(t *testing.T) {
	tests := []struct {
		name, body string
		want       series.Vector
		wantErr    string
	}{
		{
			name: "vector with NaN and Inf",
			body: `{"status":"success","data":{"resultType":"vector","result":[
				{"metric":{"__name__":"b","job":"x"},"value":[1700000000.5,"+Inf"]},
				{"metric":{"__name__":"a"},"value":[1700000000,"NaN"]},
				{"metric":{"__name__":"c"},"value":[1700000000,"-2.5e3"]}]}}`,
			want: series.Vector{
				{Labels: series.FromStrings("__name__", "a"), T: 1700000000000, V: math.NaN()},
				{Labels: series.FromStrings("__name__", "b", "job", "x"), T: 1700000000500, V: math.Inf(1)},
				{Labels: series.FromStrings("__name__", "c"), T: 1700000000000, V: -2500},
			},
		},
		{
			name: "scalar",
			body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}`,
			want: series.Vector{{T: 1700000000000, V: 42}},
		},
		{name: "error", body: `{"status":"error","errorType":"bad_data","error":"unknown func"}`, wantErr: "bad_data: unknown func"},
		{name: "garbage", body: `<html>`, wantErr: "decode answer"},
		{name: "matrix", body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`, wantErr: `unsupported result type "matrix"`},
		{name: "bad value", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}`, wantErr: `bad value "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePrometheusResponse([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameVector(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func sameVector(a, b series.Vector) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		same := a[i].V == b[i].V || (math.IsNaN(a[i].V) && math.IsNaN(b[i].V))
		if !a[i].Labels.Equal(b[i].Labels) || a[i].T != b[i].T || !same {
			return false
		}
	}
	return true
}

func TestPrometheusRequest(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		got = r
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	defer srv.Close()
	p, err := NewPrometheus(PrometheusOptions{URL: srv.URL + "/select/0/prometheus/", Step: time.Minute, HTTP: HTTPOptions{Header: http.Header{"Authorization": {"Bearer s3cret"}}},
		Params: map[string][]string{"nocache": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Query(context.Background(), `up == 0`, time.UnixMilli(1700000000123)); err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"path":          {got.URL.Path, "/select/0/prometheus/api/v1/query"},
		"query":         {got.PostForm.Get("query"), "up == 0"},
		"time":          {got.PostForm.Get("time"), "1700000000.123"},
		"step":          {got.PostForm.Get("step"), "60s"},
		"nocache":       {got.PostForm.Get("nocache"), "1"},
		"authorization": {got.Header.Get("Authorization"), "Bearer s3cret"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
}

func TestPrometheusOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		opts PrometheusOptions
		want string
	}{
		{PrometheusOptions{}, "url: required"},
		{PrometheusOptions{URL: "ftp://x"}, `scheme must be http or https`},
		{PrometheusOptions{URL: "http://x", Step: -time.Second}, "step: must not be negative"},
	} {
		_, err := NewPrometheus(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPrometheus(%+v) = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

// TestPrometheusAgainstVictoriaMetrics imports a series into a real
// VictoriaMetrics and reads it back through the client.
func TestPrometheusAgainstVictoriaMetrics(t *testing.T) {
	vm := realserver.StartVictoriaMetrics(t)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var lines strings.Builder
	fmt.Fprintf(&lines, `{"metric":{"__name__":"backup_ok","repo":"nas"},"values":[1,1,0],"timestamps":[%d,%d,%d]}`+"\n",
		base.UnixMilli(), base.Add(time.Minute).UnixMilli(), base.Add(2*time.Minute).UnixMilli())
	resp, err := http.Post(vm.URL+"/api/v1/import", "application/json", strings.NewReader(lines.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := http.Get(vm.URL + "/internal/force_flush"); err != nil {
		t.Fatal(err)
	}
	p, err := NewPrometheus(PrometheusOptions{URL: vm.URL, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := p.Query(ctx, `backup_ok == 0`, base.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			if got[0].Labels.Get("repo") != "nas" || got[0].V != 0 || got[0].T != base.Add(2*time.Minute).UnixMilli() {
				t.Fatalf("got %v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("imported series not visible after 10s: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := p.Query(ctx, `nosuchfunc(x)`, base); err == nil || !strings.Contains(err.Error(), "nosuchfunc") {
		t.Fatalf("bad query error = %v", err)
	}
}

// TestStatusError: an unusable answer carries its HTTP status, so callers
// tell a failing datasource (5xx) from a wrong query (4xx) without reading
// message text.
func TestStatusError(t *testing.T) {
	for _, tc := range []struct {
		status     int
		body       string
		serverSide bool
	}{
		{http.StatusBadGateway, "<html>502 Bad Gateway</html>", true},
		{http.StatusServiceUnavailable, `{"status":"error","errorType":"unavailable","error":"too many queries"}`, true},
		{http.StatusUnprocessableEntity, `{"status":"error","errorType":"bad_data","error":"unknown func"}`, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			fmt.Fprint(w, tc.body)
		}))
		p, err := NewPrometheus(PrometheusOptions{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Query(context.Background(), "up", time.Unix(1700000000, 0))
		srv.Close()
		var se *StatusError
		if !errors.As(err, &se) {
			t.Fatalf("HTTP %d: error %v is not a *StatusError", tc.status, err)
		}
		if se.StatusCode != tc.status || se.ServerSide() != tc.serverSide {
			t.Errorf("HTTP %d: StatusCode %d, ServerSide %v; want %d, %v", tc.status, se.StatusCode, se.ServerSide(), tc.status, tc.serverSide)
		}
	}
}

// Package datasource holds the query clients of the rule engine's daemon
// mode: VictoriaMetrics (and any Prometheus-compatible query API) and, later,
// Loki. Each is one method, Query(ctx, expr, ts), returning an instant vector.
package datasource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// PrometheusOptions configures a client of a Prometheus-compatible instant
// query API: VictoriaMetrics single-node (http://host:8428), cluster
// (http://vmselect:8481/select/<tenant>/prometheus) or Prometheus.
type PrometheusOptions struct {
	URL    string        // base URL; /api/v1/query is appended
	Step   time.Duration // sent as step (vmalert sends the group interval); 0 sends none
	Params url.Values    // extra query parameters (e.g. nocache=1, extra_label)
	HTTP   HTTPOptions
}

// HTTPOptions are the transport settings shared by the datasources.
type HTTPOptions struct {
	Header http.Header // extra headers (e.g. tenant headers)
	// Client: nil: http.DefaultClient. Authentication, TLS and timeouts
	// are the client's (alerts/httpclient builds it from the config).
	Client *http.Client
}

// do sends req with the headers and reads the answer.
func (o HTTPOptions) do(req *http.Request) (status int, body []byte, err error) {
	for k, vs := range o.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

func validateURL(raw string) error {
	if raw == "" {
		return errors.New("url: required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url: scheme must be http or https, not %q", u.Scheme)
	}
	return nil
}

func (o PrometheusOptions) validate() error {
	if err := validateURL(o.URL); err != nil {
		return err
	}
	if o.Step < 0 {
		return fmt.Errorf("step: must not be negative, got %s", o.Step)
	}
	return nil
}

// Prometheus queries a Prometheus-compatible API.
type Prometheus struct {
	opts     PrometheusOptions
	endpoint string
}

// NewPrometheus returns a client; the options are validated.
func NewPrometheus(opts PrometheusOptions) (*Prometheus, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("prometheus datasource: %w", err)
	}
	return &Prometheus{opts: opts, endpoint: strings.TrimSuffix(opts.URL, "/") + "/api/v1/query"}, nil
}

// WithStep returns a client that sends another step (one per group interval).
func (p *Prometheus) WithStep(step time.Duration) *Prometheus {
	c := *p
	c.opts.Step = step
	return &c
}

// Query runs an instant query at ts.
func (p *Prometheus) Query(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
	form := url.Values{}
	for k, vs := range p.opts.Params {
		form[k] = append([]string(nil), vs...)
	}
	form.Set("query", expr)
	form.Set("time", formatTime(ts))
	if p.opts.Step > 0 {
		form.Set("step", strconv.FormatFloat(p.opts.Step.Seconds(), 'f', -1, 64)+"s")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build query request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, err := p.opts.HTTP.do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", p.endpoint, err)
	}
	v, err := ParsePrometheusResponse(body)
	if err != nil {
		return nil, &StatusError{Endpoint: p.endpoint, StatusCode: status, Err: err}
	}
	return v, nil
}

// StatusError is an answer that could not be used, with its HTTP status:
// a 5xx means the datasource is failing (down, overloaded, behind a proxy
// that lost it), a 4xx that the query itself is wrong.
type StatusError struct {
	Endpoint   string
	StatusCode int
	Err        error // what was wrong with the answer
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("query %s (HTTP %d): %v", e.Endpoint, e.StatusCode, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

// ServerSide tells whether the datasource failed (5xx) rather than the query.
func (e *StatusError) ServerSide() bool { return e.StatusCode/100 == 5 }

func formatTime(t time.Time) string {
	ms := t.UnixMilli()
	return strconv.FormatInt(ms/1000, 10) + "." + fmt.Sprintf("%03d", ms%1000)
}

type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type promSample struct {
	Metric map[string]string  `json:"metric"`
	Value  [2]json.RawMessage `json:"value"`
}

// ParsePrometheusResponse decodes an /api/v1/query answer (vector or scalar)
// into a sorted vector. Values like "NaN" and "+Inf" are understood.
func ParsePrometheusResponse(body []byte) (series.Vector, error) {
	var r promResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode answer: %w (body starts %q)", err, head(body))
	}
	switch r.Status {
	case "success":
	case "error":
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	default:
		return nil, fmt.Errorf("unknown answer status %q (body starts %q)", r.Status, head(body))
	}
	switch r.Data.ResultType {
	case "vector":
		var ss []promSample
		if err := json.Unmarshal(r.Data.Result, &ss); err != nil {
			return nil, fmt.Errorf("decode vector: %w", err)
		}
		out := make(series.Vector, 0, len(ss))
		for _, s := range ss {
			t, v, err := parsePair(s.Value)
			if err != nil {
				return nil, fmt.Errorf("series %v: %w", s.Metric, err)
			}
			out = append(out, series.Point{Labels: series.FromMap(s.Metric), T: t, V: v})
		}
		out.Sort()
		return out, nil
	case "scalar":
		var pair [2]json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &pair); err != nil {
			return nil, fmt.Errorf("decode scalar: %w", err)
		}
		t, v, err := parsePair(pair)
		if err != nil {
			return nil, fmt.Errorf("scalar: %w", err)
		}
		return series.Vector{{T: t, V: v}}, nil
	default:
		return nil, fmt.Errorf("unsupported result type %q for an instant query", r.Data.ResultType)
	}
}

func parsePair(p [2]json.RawMessage) (int64, float64, error) {
	ts, err := strconv.ParseFloat(string(p[0]), 64)
	if err != nil {
		return 0, 0, fmt.Errorf("bad timestamp %s: %w", p[0], err)
	}
	var s string
	if err := json.Unmarshal(p[1], &s); err != nil {
		return 0, 0, fmt.Errorf("bad value %s: %w", p[1], err)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("bad value %q: %w", s, err)
	}
	return int64(math.Round(ts * 1000)), v, nil
}

func head(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

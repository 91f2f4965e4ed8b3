package datasource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// LokiOptions configures a client of Loki's instant query API.
type LokiOptions struct {
	URL    string // base URL; /loki/api/v1/query is appended
	Tenant string // sent as X-Scope-OrgID when set
	HTTP   HTTPOptions
}

func (o LokiOptions) validate() error {
	return validateURL(o.URL)
}

// Loki runs LogQL metric queries (count_over_time, rate, ... over log
// streams) as instant queries.
type Loki struct {
	opts     LokiOptions
	endpoint string
}

// NewLoki returns a client; the options are validated.
func NewLoki(opts LokiOptions) (*Loki, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("loki datasource: %w", err)
	}
	return &Loki{opts: opts, endpoint: strings.TrimSuffix(opts.URL, "/") + "/loki/api/v1/query"}, nil
}

// Query runs an instant LogQL query at ts. Log queries (returning streams)
// are refused: a rule needs numbers.
func (l *Loki) Query(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
	q := url.Values{}
	q.Set("query", expr)
	q.Set("time", strconv.FormatInt(ts.UnixNano(), 10))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("build query request: %w", err)
	}
	if l.opts.Tenant != "" {
		req.Header.Set("X-Scope-OrgID", l.opts.Tenant)
	}
	status, body, err := l.opts.HTTP.do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", l.endpoint, err)
	}
	if status != http.StatusOK && !json.Valid(body) {
		// Loki answers plain text for bad queries.
		return nil, &StatusError{Endpoint: l.endpoint, StatusCode: status, Err: errors.New(strings.TrimSpace(head(body)))}
	}
	var probe struct {
		Data struct {
			ResultType string `json:"resultType"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &probe); err == nil && probe.Data.ResultType == "streams" {
		return nil, errors.New("LogQL query returned log lines, not numbers: a rule needs a metric query such as count_over_time({...}[5m])")
	}
	v, err := ParsePrometheusResponse(body)
	if err != nil {
		return nil, &StatusError{Endpoint: l.endpoint, StatusCode: status, Err: err}
	}
	return v, nil
}

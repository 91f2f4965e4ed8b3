// Package lokipush sends log lines to Loki's push API
// (/loki/api/v1/push, protobuf + snappy), for the alert state history and
// for tests that feed LogQL rules.
package lokipush

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/golang/snappy"
	"github.com/hlalert/hlalert/alerts/lokiproto"
)

// Options configures the client.
type Options struct {
	URL    string // Loki's base URL
	Tenant string // X-Scope-OrgID, when set
	Client *http.Client
}

// Client pushes streams to Loki.
type Client struct {
	endpoint string
	tenant   string
	client   *http.Client
}

// New returns a client.
func New(opts Options) (*Client, error) {
	if !strings.HasPrefix(opts.URL, "http://") && !strings.HasPrefix(opts.URL, "https://") {
		return nil, fmt.Errorf("loki push: url: want http(s)://host:port, got %q", opts.URL)
	}
	c := opts.Client
	if c == nil {
		c = http.DefaultClient
	}
	return &Client{endpoint: strings.TrimSuffix(opts.URL, "/") + "/loki/api/v1/push", tenant: opts.Tenant, client: c}, nil
}

// Push sends the streams in one request. Each stream's Labels is a LogQL
// label set such as `{job="hlalert"}`.
func (c *Client) Push(ctx context.Context, streams []lokiproto.Stream) error {
	raw := lokiproto.Marshal(streams)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return fmt.Errorf("loki push: build request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/x-protobuf")
	if c.tenant != "" {
		hr.Header.Set("X-Scope-OrgID", c.tenant)
	}
	resp, err := c.client.Do(hr)
	if err != nil {
		return fmt.Errorf("loki push: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Body: strings.TrimSpace(string(body))}
	}
	return nil
}

// HTTPError is Loki's refusal of a push.
type HTTPError struct {
	StatusCode int
	Status     string
	Body       string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("loki push: HTTP %s: %s", e.Status, e.Body) }

// Retryable tells whether pushing the same data again may succeed: Loki
// refuses bad data with a 4xx (final) but asks to slow down with 429.
func (e *HTTPError) Retryable() bool {
	return e.StatusCode/100 != 4 || e.StatusCode == 429
}

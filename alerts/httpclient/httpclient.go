// Package httpclient builds every outgoing HTTP client of `hlalert run` —
// datasources, remote write, history push, watchdog, Alertmanager
// hand-off, scrape targets — one way: from a config.HTTP section through
// Prometheus' config.NewClientFromConfig, so TLS (CA, client certificate,
// server name), basic auth, bearer token, OAuth2 and proxy work the same
// for all of them.
package httpclient

import (
	"fmt"
	"net/http"

	commoncfg "github.com/prometheus/common/config"

	"github.com/hlalert/hlalert/alerts/config"
)

// New returns the client of a section; name labels it (e.g.
// "remote_write"). Credentials are read from their files per request, so
// rotated secrets are picked up without a reload.
func New(name string, h config.HTTP) (*http.Client, error) {
	c, err := commoncfg.NewClientFromConfig(h.Client, name, commoncfg.WithUserAgent("hlalert"))
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	c.Timeout = h.Timeout
	return c, nil
}

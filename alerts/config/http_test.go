package config

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestHTTPKeys decodes every client key in one section and checks where
// each lands in Prometheus' HTTPClientConfig; an anchored secret path
// resolves like a plain one.
func TestHTTPKeys(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	cfg, err := Load("testdata/inline.yaml", []byte(`datasource:
  loki:
    url: https://loki:3100
    timeout: 5s
    oauth2:
      client_id: hlalert
      client_secret_file: &secret secrets/loki_token
      token_url: https://idp.example/token
      scopes: [read, write]
      endpoint_params: {audience: loki}
    tls:
      ca_file: notify/custom.tmpl
      server_name: loki.home.arpa
      insecure_skip_verify: false
    proxy_url: http://proxy:3128
notify:
  watchdog:
    url: https://hc.example/ping
    bearer_token_file: *secret
rule_files: [r.yaml]
`))
	if err == nil {
		t.Fatal("a CA file without a certificate loaded")
	}
	want := "testdata/inline.yaml:12:16: datasource.loki.tls.ca_file: no PEM certificate in notify/custom.tmpl"
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	cfg, err = Load("testdata/inline.yaml", []byte(`datasource:
  loki:
    url: https://loki:3100
    timeout: 5s
    oauth2:
      client_id: hlalert
      client_secret_file: &secret secrets/loki_token
      token_url: https://idp.example/token
      scopes: [read, write]
      endpoint_params: {audience: loki}
    tls:
      server_name: loki.home.arpa
      insecure_skip_verify: true
    proxy_url: http://proxy:3128
notify:
  watchdog:
    url: https://hc.example/ping
    bearer_token_file: *secret
rule_files: [r.yaml]
`))
	if err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "secrets/loki_token")
	h := cfg.Datasource.Loki.HTTP
	o := h.Client.OAuth2
	if h.Timeout != 5*time.Second || o == nil || o.ClientID != "hlalert" || o.ClientSecretFile != token ||
		o.TokenURL != "https://idp.example/token" || !slices.Equal(o.Scopes, []string{"read", "write"}) || o.EndpointParams["audience"] != "loki" {
		t.Errorf("loki: timeout %s oauth2 %+v", h.Timeout, o)
	}
	if tc := h.Client.TLSConfig; tc.ServerName != "loki.home.arpa" || !tc.InsecureSkipVerify {
		t.Errorf("loki tls = %+v", tc)
	}
	if u := h.Client.ProxyURL.URL; u == nil || u.String() != "http://proxy:3128" {
		t.Errorf("loki proxy_url = %v", u)
	}
	if !h.Client.FollowRedirects || !h.Client.EnableHTTP2 {
		t.Errorf("loki: Prometheus' client defaults lost: %+v", h.Client)
	}
	if w := cfg.Notify.Watchdog; !bearer(w.HTTP, token) || w.HTTP.Timeout != 10*time.Second {
		t.Errorf("watchdog http = %+v", w.HTTP)
	}
}

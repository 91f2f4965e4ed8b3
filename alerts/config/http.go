package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// clientKeys are the keys of every outgoing HTTP client, the same in each
// section that makes requests; httpKeys adds the request timeout.
var (
	clientKeys = []string{"basic_auth", "bearer_token_file", "oauth2", "tls", "proxy_url"}
	httpKeys   = append([]string{"timeout"}, clientKeys...)
)

// withKeys returns the section's own keys followed by more.
func withKeys(own []string, more ...string) []string {
	return append(append([]string(nil), own...), more...)
}

// http decodes a section's timeout (def when absent) and client keys.
func (d *decoder) http(fs map[string]yamlnode.Field, what string, def time.Duration) HTTP {
	h := HTTP{Timeout: def, Client: d.client(fs, what)}
	if f, ok := fs["timeout"]; ok {
		if v, ok := d.positiveDuration(f.Value, what+".timeout"); ok {
			h.Timeout = v
		}
	}
	return h
}

// client maps a section's client keys onto Prometheus' HTTPClientConfig.
// Secrets are only read from files: the paths are made absolute and
// checked to hold a secret now; the client reads them per request, so a
// rotated file is picked up without a reload.
func (d *decoder) client(fs map[string]yamlnode.Field, what string) commoncfg.HTTPClientConfig {
	c := commoncfg.DefaultHTTPClientConfig
	errs := len(d.errs)
	var auth []yamlnode.Field
	if f, ok := fs["basic_auth"]; ok {
		auth = append(auth, f)
		w := what + ".basic_auth"
		if bfs, ok := d.fields(f.Value, w, "username", "password_file"); ok {
			ba := &commoncfg.BasicAuth{}
			if g, ok := bfs["username"]; ok {
				ba.Username, _ = d.nonEmpty(g.Value, w+".username")
			} else {
				d.errorf(yamlnode.Resolve(f.Value), "%s.username: required", w)
			}
			if g, ok := bfs["password_file"]; ok {
				ba.PasswordFile = d.secretPath(g.Value, w+".password_file")
			} else {
				d.errorf(yamlnode.Resolve(f.Value), "%s.password_file: required (secrets are read from files)", w)
			}
			c.BasicAuth = ba
		}
	}
	if f, ok := fs["bearer_token_file"]; ok {
		auth = append(auth, f)
		if p := d.secretPath(f.Value, what+".bearer_token_file"); p != "" {
			c.Authorization = &commoncfg.Authorization{Type: "Bearer", CredentialsFile: p}
		}
	}
	if f, ok := fs["oauth2"]; ok {
		auth = append(auth, f)
		c.OAuth2 = d.oauth2(f.Value, what+".oauth2")
	}
	for _, f := range auth[min(1, len(auth)):] {
		d.errorf(f.Key, "%s: set one of basic_auth, bearer_token_file and oauth2, not several", what)
	}
	if f, ok := fs["tls"]; ok {
		c.TLSConfig = d.tls(f.Value, what+".tls")
	}
	if f, ok := fs["proxy_url"]; ok {
		if s := d.url(f.Value, what+".proxy_url"); s != "" {
			u, _ := url.Parse(s) // checked by d.url
			c.ProxyURL = commoncfg.URL{URL: u}
		}
	}
	if err := c.Validate(); err != nil && len(d.errs) == errs {
		// A backstop: the checks above should leave nothing for it.
		d.errorf(firstKey(fs), "%s: %v", what, err)
	}
	return c
}

func (d *decoder) tls(n *yaml.Node, what string) commoncfg.TLSConfig {
	var t commoncfg.TLSConfig
	fs, ok := d.fields(n, what, "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify")
	if !ok {
		return t
	}
	if g, ok := fs["ca_file"]; ok {
		if t.CAFile = d.existingFile(g.Value, what+".ca_file"); t.CAFile != "" {
			if pem, err := os.ReadFile(t.CAFile); err != nil {
				d.errorf(g.Value, "%s.ca_file: %v", what, pathErr(err))
			} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				d.errorf(g.Value, "%s.ca_file: no PEM certificate in %s", what, g.Value.Value)
			}
		}
	}
	if g, ok := fs["cert_file"]; ok {
		t.CertFile = d.existingFile(g.Value, what+".cert_file")
	}
	if g, ok := fs["key_file"]; ok {
		t.KeyFile = d.existingFile(g.Value, what+".key_file")
	}
	_, c := fs["cert_file"]
	_, k := fs["key_file"]
	if c != k {
		d.errorf(yamlnode.Resolve(n), "%s: cert_file and key_file go together", what)
	}
	if g, ok := fs["server_name"]; ok {
		t.ServerName, _ = d.nonEmpty(g.Value, what+".server_name")
	}
	if g, ok := fs["insecure_skip_verify"]; ok {
		t.InsecureSkipVerify, _ = d.Bool(g.Value, what+".insecure_skip_verify")
	}
	if t.CertFile != "" && t.KeyFile != "" {
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			d.errorf(fs["cert_file"].Value, "%s: cert_file and key_file: %v", what, pathErr(err))
		}
	}
	return t
}

func (d *decoder) oauth2(n *yaml.Node, what string) *commoncfg.OAuth2 {
	fs, ok := d.fields(n, what, "client_id", "client_secret_file", "token_url", "scopes", "endpoint_params")
	if !ok {
		return nil
	}
	o := &commoncfg.OAuth2{}
	if g, ok := fs["client_id"]; ok {
		o.ClientID, _ = d.nonEmpty(g.Value, what+".client_id")
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.client_id: required", what)
	}
	if g, ok := fs["client_secret_file"]; ok {
		o.ClientSecretFile = d.secretPath(g.Value, what+".client_secret_file")
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.client_secret_file: required (secrets are read from files)", what)
	}
	if g, ok := fs["token_url"]; ok {
		o.TokenURL = d.url(g.Value, what+".token_url")
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.token_url: required", what)
	}
	if g, ok := fs["scopes"]; ok {
		for _, sn := range d.List(g.Value, what+".scopes") {
			if s, ok := d.nonEmpty(sn, what+".scopes"); ok {
				o.Scopes = append(o.Scopes, s)
			}
		}
	}
	if g, ok := fs["endpoint_params"]; ok {
		pn := yamlnode.Resolve(g.Value)
		if pn.Kind != yaml.MappingNode {
			d.errorf(pn, "%s.endpoint_params: expected a mapping, got %s", what, d.KindName(pn))
		} else {
			o.EndpointParams = map[string]string{}
			for i := 0; i+1 < len(pn.Content); i += 2 {
				k := pn.Content[i]
				if s, ok := d.Str(pn.Content[i+1], fmt.Sprintf("%s.endpoint_params.%s", what, k.Value)); ok {
					o.EndpointParams[k.Value] = s
				}
			}
		}
	}
	return o
}

// secretPath checks that a *_file holds a secret and returns its absolute
// path.
func (d *decoder) secretPath(n *yaml.Node, what string) string {
	if d.secretFile(n, what) == "" {
		return ""
	}
	s, _ := d.Str(n, what) // read above, so a string
	return d.path(s)
}

// firstKey is the key node of the section's first field in the file.
func firstKey(fs map[string]yamlnode.Field) *yaml.Node {
	var first *yaml.Node
	for _, f := range fs {
		if first == nil || f.Key.Line < first.Line || (f.Key.Line == first.Line && f.Key.Column < first.Column) {
			first = f.Key
		}
	}
	return first
}

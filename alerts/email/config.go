package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	commoncfg "github.com/prometheus/common/config"

	"github.com/hlalert/hlalert/alerts/amconfig"
)

// Config is one e-mail receiver configuration. Its YAML keys are those of
// Alertmanager's email_configs entry (to, from, hello, smarthost, auth_*,
// headers, html, text, require_tls, tls_config, force_implicit_tls), plus
// hlalert's additions: send_resolved defaults to true, auth_mechanism picks
// one mechanism, and auth_token_file holds an XOAUTH2 access token.
//
// TLS policy:
//   - implicit TLS when force_implicit_tls is true, or unset and the port is 465;
//   - otherwise STARTTLS is REQUIRED (require_tls unset or true): a server
//     that does not offer it is refused and nothing is sent;
//   - require_tls: false means opportunistic STARTTLS: encrypted when the
//     server offers it, plaintext otherwise (for a local relay). Credentials
//     are never sent over an unencrypted connection.
type Config struct {
	To               string              `yaml:"to"`
	From             string              `yaml:"from"`
	Hello            string              `yaml:"hello,omitempty"`
	Smarthost        string              `yaml:"smarthost"`
	AuthUsername     string              `yaml:"auth_username,omitempty"`
	AuthPassword     string              `yaml:"auth_password,omitempty"`
	AuthPasswordFile string              `yaml:"auth_password_file,omitempty"`
	AuthSecret       string              `yaml:"auth_secret,omitempty"`
	AuthSecretFile   string              `yaml:"auth_secret_file,omitempty"`
	AuthIdentity     string              `yaml:"auth_identity,omitempty"`
	AuthMechanism    string              `yaml:"auth_mechanism,omitempty"`  // PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2; "" = best the server offers
	AuthTokenFile    string              `yaml:"auth_token_file,omitempty"` // XOAUTH2 access token, re-read at every connection
	Headers          map[string]string   `yaml:"headers,omitempty"`
	HTML             string              `yaml:"html,omitempty"`
	Text             string              `yaml:"text,omitempty"`
	RequireTLS       *bool               `yaml:"require_tls,omitempty"`
	ForceImplicitTLS *bool               `yaml:"force_implicit_tls,omitempty"`
	TLSConfig        commoncfg.TLSConfig `yaml:"tls_config,omitempty"`
	SendResolved     *bool               `yaml:"send_resolved,omitempty"`
	// OutboxOnly keeps this config's messages in the outbox folder without
	// any SMTP delivery (hlalert's built-in receiver when no routing file
	// is configured); Smarthost must be empty.
	OutboxOnly bool `yaml:"-"`
}

// Default template references: the templates shipped in default.tmpl.
const (
	DefaultSubject = `{{ template "hlalert.email.subject" . }}`
	DefaultText    = `{{ template "hlalert.email.text" . }}`
	DefaultHTML    = `{{ template "hlalert.email.html" . }}`
)

// FromAM maps an email_configs entry of the routing file onto Config.
// Unset html, text and Subject stay empty, which selects hlalert's default
// templates; send_resolved stays unset unless the entry sets it (hlalert's
// default: true).
func FromAM(c amconfig.EmailConfig) Config {
	out := Config{
		To:               c.To,
		From:             c.From,
		Hello:            c.Hello,
		Smarthost:        c.Smarthost,
		AuthUsername:     c.AuthUsername,
		AuthPassword:     c.AuthPassword,
		AuthPasswordFile: c.AuthPasswordFile,
		AuthSecret:       c.AuthSecret,
		AuthSecretFile:   c.AuthSecretFile,
		AuthIdentity:     c.AuthIdentity,
		HTML:             c.HTML,
		Text:             c.Text,
		RequireTLS:       c.RequireTLS,
		ForceImplicitTLS: c.ForceImplicitTLS,
		TLSConfig:        c.TLSConfig,
		SendResolved:     c.SendResolved,
	}
	if len(c.Headers) > 0 {
		out.Headers = maps.Clone(c.Headers)
	}
	return out
}

// mechanisms hlalert accepts in auth_mechanism.
var mechanisms = map[string]bool{
	"PLAIN": true, "LOGIN": true, "CRAM-MD5": true,
	"SCRAM-SHA-1": true, "SCRAM-SHA-256": true, "XOAUTH2": true,
}

// settings is a validated Config.
type settings struct {
	cfg      Config
	from     *mail.Address
	to       []*mail.Address
	host     string
	port     int
	implicit bool
	required bool // STARTTLS required
	mech     string
	headers  [][2]string // custom headers (name, template), sorted by name
}

// validate checks c and names every bad field under where (e.g.
// "receiver ops email_configs[0]"). Relative file paths resolve against
// baseDir.
func (c Config) validate(where, baseDir string) (*settings, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", where, field, fmt.Sprintf(format, args...)))
	}
	s := &settings{cfg: c}
	var err error
	if c.From == "" {
		bad("from", "required")
	} else if s.from, err = mail.ParseAddress(c.From); err != nil {
		bad("from", "%q: %v", c.From, err)
	}
	if c.To == "" {
		bad("to", "required")
	} else if s.to, err = mail.ParseAddressList(c.To); err != nil {
		bad("to", "%q: %v", c.To, err)
	}
	switch {
	case c.OutboxOnly:
		if c.Smarthost != "" {
			bad("smarthost", "must be empty for an outbox-only config")
		}
	case c.Smarthost == "":
		bad("smarthost", "required (host:port)")
	default:
		h, p, err := net.SplitHostPort(c.Smarthost)
		if err == nil && h == "" {
			err = errors.New("empty host")
		}
		if err != nil {
			bad("smarthost", "%q: want host:port: %v", c.Smarthost, err)
		} else if s.port, err = strconv.Atoi(p); err != nil || s.port <= 0 || s.port > 65535 {
			bad("smarthost", "%q: bad port %q", c.Smarthost, p)
		}
		s.host = h
	}
	s.implicit = s.port == 465
	if c.ForceImplicitTLS != nil {
		s.implicit = *c.ForceImplicitTLS
	}
	s.required = c.RequireTLS == nil || *c.RequireTLS
	if c.AuthPassword != "" && c.AuthPasswordFile != "" {
		bad("auth_password", "set either auth_password or auth_password_file, not both")
	}
	if c.AuthSecret != "" && c.AuthSecretFile != "" {
		bad("auth_secret", "set either auth_secret or auth_secret_file, not both")
	}
	s.cfg.AuthPasswordFile = resolve(baseDir, c.AuthPasswordFile)
	s.cfg.AuthSecretFile = resolve(baseDir, c.AuthSecretFile)
	s.cfg.AuthTokenFile = resolve(baseDir, c.AuthTokenFile)
	s.cfg.TLSConfig.CAFile = resolve(baseDir, c.TLSConfig.CAFile)
	s.cfg.TLSConfig.CertFile = resolve(baseDir, c.TLSConfig.CertFile)
	s.cfg.TLSConfig.KeyFile = resolve(baseDir, c.TLSConfig.KeyFile)
	for _, f := range []struct{ field, path string }{
		{"auth_password_file", s.cfg.AuthPasswordFile},
		{"auth_secret_file", s.cfg.AuthSecretFile},
		{"auth_token_file", s.cfg.AuthTokenFile},
	} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				bad(f.field, "%v", err)
			}
		}
	}
	s.mech = strings.ToUpper(c.AuthMechanism)
	switch {
	case s.mech != "" && !mechanisms[s.mech]:
		bad("auth_mechanism", "%q: want one of PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2", c.AuthMechanism)
	case s.mech == "XOAUTH2" && c.AuthTokenFile == "":
		bad("auth_token_file", "required with auth_mechanism XOAUTH2")
	case s.mech != "XOAUTH2" && c.AuthTokenFile != "":
		bad("auth_token_file", "only used with auth_mechanism XOAUTH2")
	case s.mech == "CRAM-MD5" && c.AuthSecret == "" && c.AuthSecretFile == "":
		bad("auth_secret", "required with auth_mechanism CRAM-MD5")
	case s.mech != "" && s.mech != "CRAM-MD5" && s.mech != "XOAUTH2" && c.AuthPassword == "" && c.AuthPasswordFile == "":
		bad("auth_password", "required with auth_mechanism %s", s.mech)
	}
	if s.mech != "" && c.AuthUsername == "" {
		bad("auth_username", "required with auth_mechanism %s", s.mech)
	}
	for name := range c.Headers {
		if !validHeaderName(name) {
			bad("headers", "%q: not a valid header name", name)
			continue
		}
		switch strings.ToLower(name) {
		case "from", "to", "cc", "bcc", "message-id", "in-reply-to", "references", "date", "mime-version", "content-type", "content-transfer-encoding", "x-hlalert-transport":
			bad("headers", "%q: set by hlalert, cannot be overridden", name)
			continue
		}
		if strings.EqualFold(name, "Subject") {
			continue
		}
		s.headers = append(s.headers, [2]string{name, c.Headers[name]})
	}
	sortHeaders(s.headers)
	if _, err := commoncfg.NewTLSConfig(&s.cfg.TLSConfig); err != nil {
		bad("tls_config", "%v", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *settings) subject() string {
	for k, v := range s.cfg.Headers {
		if strings.EqualFold(k, "Subject") {
			return v
		}
	}
	return DefaultSubject
}

func (s *settings) sendResolved() bool { return s.cfg.SendResolved == nil || *s.cfg.SendResolved }

// tlsConfig builds the TLS client config (CA, client cert, server name);
// it is rebuilt per connection so rotated files are picked up.
func (s *settings) tlsConfig() (*tls.Config, error) {
	tc, err := commoncfg.NewTLSConfig(&s.cfg.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("tls_config: %w", err)
	}
	if tc.ServerName == "" {
		tc.ServerName = s.host
	}
	return tc, nil
}

// secret returns the inline value or the trimmed content of the file.
func secret(inline, file string) (string, error) {
	if file == "" {
		return inline, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func resolve(base, p string) string {
	if p == "" || filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || r == ':' {
			return false
		}
	}
	return true
}

func sortHeaders(h [][2]string) {
	sort.Slice(h, func(i, j int) bool { return h[i][0] < h[j][0] })
}

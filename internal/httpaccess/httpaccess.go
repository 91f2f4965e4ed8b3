// Package httpaccess puts access control in front of the daemons' HTTP
// listeners (`hlalert run`, `hlexporter`): Prometheus' web configuration
// file (TLS, client certificates, basic auth with bcrypt hashes, served by
// github.com/prometheus/exporter-toolkit/web as node_exporter does), and a
// refusal to listen beyond loopback with no authentication unless the
// operator allowed it explicitly.
package httpaccess

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/internal/authuser"
)

// Default option names, as both binaries spell their flags.
const (
	DefaultConfigOption = "--web.config.file"
	DefaultAllowOption  = "--web.allow-unauthenticated-remote"
)

// Options configures the access control.
type Options struct {
	// WebConfigFile is the path of a Prometheus web configuration file;
	// empty serves plain HTTP with no authentication.
	WebConfigFile string
	// AllowUnauthenticatedRemote lets the daemon listen beyond loopback
	// with no authentication.
	AllowUnauthenticatedRemote bool
	// ConfigOption and AllowOption name the two options above in errors
	// (default DefaultConfigOption, DefaultAllowOption).
	ConfigOption, AllowOption string
	Logger                    *slog.Logger // nil: slog.Default()
}

// Access is a checked access configuration.
type Access struct {
	opts Options
	log  *slog.Logger
	// users: the web config has basic_auth_users; clientCert: it requires
	// client certificates verified against a configured CA; tls: it
	// serves TLS.
	users, clientCert, tls bool
}

// New reads and validates the web configuration file (its certificates and
// bcrypt hashes too), so that a bad one fails at start.
func New(o Options) (*Access, error) {
	if o.ConfigOption == "" {
		o.ConfigOption = DefaultConfigOption
	}
	if o.AllowOption == "" {
		o.AllowOption = DefaultAllowOption
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	a := &Access{opts: o, log: o.Logger}
	if o.WebConfigFile == "" {
		return a, nil
	}
	if err := web.Validate(o.WebConfigFile); err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.ConfigOption, o.WebConfigFile, err)
	}
	// web.Validate decoded the file strictly; read back what decides
	// whether requests are authenticated.
	b, err := os.ReadFile(o.WebConfigFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.ConfigOption, err)
	}
	c, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.ConfigOption, o.WebConfigFile, err)
	}
	a.users = len(c.Users) > 0
	a.tls = c.TLS.Cert != "" || c.TLS.CertFile != ""
	// Only a certificate verified against the configured CA names a
	// client; RequireAnyClientCert accepts any self-signed one.
	a.clientCert = a.tls && c.TLS.ClientAuth == "RequireAndVerifyClientCert" && (c.TLS.ClientCA != "" || c.TLS.ClientCAs != "")
	return a, nil
}

// webConfig is what decides whether requests are authenticated.
type webConfig struct {
	TLS struct {
		Cert       string `yaml:"cert"`
		CertFile   string `yaml:"cert_file"`
		ClientAuth string `yaml:"client_auth_type"`
		ClientCA   string `yaml:"client_ca"`
		ClientCAs  string `yaml:"client_ca_file"`
	} `yaml:"tls_server_config"`
	Users map[string]string `yaml:"basic_auth_users"`
}

func parse(b []byte) (webConfig, error) {
	var c webConfig
	err := yaml.Unmarshal(b, &c)
	return c, err
}

// usersCheck tells whether the web config lists users now, re-reading the
// file only when its modification time or size changed.
type usersCheck struct {
	path string

	mu      sync.Mutex
	mtime   time.Time
	size    int64
	checked bool
	has     bool
}

func (u *usersCheck) present() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	fi, err := os.Stat(u.path)
	if err != nil {
		return false // the toolkit answers 500 for an unreadable file
	}
	if u.checked && fi.ModTime().Equal(u.mtime) && fi.Size() == u.size {
		return u.has
	}
	b, err := os.ReadFile(u.path)
	if err != nil {
		return false
	}
	c, err := parse(b)
	u.checked, u.mtime, u.size, u.has = err == nil, fi.ModTime(), fi.Size(), err == nil && len(c.Users) > 0
	return u.has
}

// Authenticated reports whether every request must authenticate (basic
// auth, or a client certificate verified against the configured CA).
func (a *Access) Authenticated() bool { return a.users || a.clientCert }

// CheckAddress refuses a listen address beyond loopback when requests are
// not authenticated and the operator did not allow it. addr is host:port;
// an empty host (all interfaces) and any name but localhost count as
// beyond loopback.
func (a *Access) CheckAddress(addr string) error {
	if a.Authenticated() || a.opts.AllowUnauthenticatedRemote || IsLoopback(addr) {
		if a.users && !a.tls && !IsLoopback(addr) {
			a.log.Warn("basic auth without TLS: passwords cross the network in clear text; add tls_server_config to the web config", "address", addr)
		}
		return nil
	}
	return &RemoteError{Addr: addr, ConfigOption: a.opts.ConfigOption, AllowOption: a.opts.AllowOption, HasConfig: a.opts.WebConfigFile != ""}
}

// RemoteError is the refusal to listen beyond loopback unauthenticated.
type RemoteError struct {
	Addr                      string
	ConfigOption, AllowOption string
	HasConfig                 bool // a web config was given, without authentication
}

func (e *RemoteError) Error() string {
	given := "no " + e.ConfigOption + " is given"
	if e.HasConfig {
		given = "the " + e.ConfigOption + " file has no basic_auth_users and requires no verified client certificate"
	}
	return fmt.Sprintf("refusing to listen on %s without authentication: the address is not loopback and %s. "+
		"Give %s with basic_auth_users (bcrypt hashes) or tls_server_config with client_auth_type: RequireAndVerifyClientCert and a client CA, "+
		"listen on 127.0.0.1 behind a reverse proxy, or pass %s to serve anyone who can reach the address",
		e.Addr, given, e.ConfigOption, e.AllowOption)
}

// IsLoopback reports whether host:port names a loopback address only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Listen checks addr and listens on it; the address actually bound is
// checked again (a name may resolve beyond loopback).
func (a *Access) Listen(addr string) (net.Listener, error) {
	if err := a.CheckAddress(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if err := a.CheckAddress(ln.Addr().String()); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Serve serves srv on ln through the web configuration (TLS, basic auth,
// response headers, rate limit; the toolkit re-reads the file for each
// request and TLS handshake, so new certificates and passwords apply
// without a restart) until srv is shut down; it then returns
// http.ErrServerClosed, as http.Server.Serve does. With basic auth, the
// handler sees the checked user name through authuser.From.
func (a *Access) Serve(ln net.Listener, srv *http.Server) error {
	if err := a.CheckAddress(ln.Addr().String()); err != nil {
		return err
	}
	if a.opts.WebConfigFile != "" && srv.Handler != nil {
		next := srv.Handler
		users := &usersCheck{path: a.opts.WebConfigFile}
		// The toolkit's handler runs first and re-reads the file: when it
		// lists users, it has checked the password before this one runs
		// and the name in the header is the authenticated user.
		srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, _, ok := r.BasicAuth(); ok && users.present() {
				r = r.WithContext(authuser.With(r.Context(), u))
			}
			next.ServeHTTP(w, r)
		})
	}
	path := a.opts.WebConfigFile
	err := web.Serve(ln, srv, &web.FlagConfig{WebConfigFile: &path}, a.log)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return err
}

// Package nvr is hlexporter's Frigate collector: per camera the capture,
// detection, process and skipped frame rates, whether detection is enabled
// and the end of the newest recording segment (so "is it still recording"
// has an answer), detector inference time, storage in bytes (Frigate reports
// MiB), and the service's version and start time.
package nvr

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Config configures the Frigate collector.
type Config struct {
	// URL is Frigate's base URL, e.g. http://127.0.0.1:5000.
	URL string `yaml:"url"`
	// Username with PasswordFile sends HTTP basic auth; TokenFile sends a
	// bearer token (Frigate's JWT on the authenticated port). At most one.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	TokenFile    string `yaml:"token_file"`
	// RecordingsLookback is how far back the newest segment is looked for
	// (after=now-lookback): default 1h. A camera with no segment in that
	// window is reported as not recording.
	RecordingsLookback time.Duration `yaml:"recordings_lookback"`
	// Timeout bounds each request; default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// RecordingsStorage names the entry of Frigate's service.storage (a
	// mount point on the Frigate host, not a file here) whose use Homepage
	// shows; default /media/frigate/recordings. Not named *_path: the
	// config loader resolves such keys against the config file's folder.
	RecordingsStorage string `yaml:"recordings_storage"`
}

func (c Config) withDefaults() Config {
	if c.RecordingsLookback == 0 {
		c.RecordingsLookback = time.Hour
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RecordingsStorage == "" {
		c.RecordingsStorage = "/media/frigate/recordings"
	}
	return c
}

// Validate checks the configuration and reports every bad field, each a
// *yamlnode.FieldError named by its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, yamlnode.FieldErrorf(field, format, a...))
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		bad("url", "missing")
	case err != nil:
		bad("url", "%v", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		bad("url", "%q is not an http(s) URL", c.URL)
	case u.User != nil:
		bad("url", "credentials in the URL; use username and password_file")
	case u.RawQuery != "" || u.Fragment != "":
		bad("url", "%q has a query or fragment", c.URL)
	}
	switch {
	case c.Username != "" && c.PasswordFile == "":
		bad("password_file", "missing (username and password_file go together)")
	case c.Username == "" && c.PasswordFile != "":
		bad("username", "missing (username and password_file go together)")
	}
	if c.TokenFile != "" && c.Username != "" {
		bad("token_file", "use either token_file or username/password_file")
	}
	for _, p := range []struct{ field, v string }{{"password_file", c.PasswordFile}, {"token_file", c.TokenFile}} {
		if p.v != "" && !filepath.IsAbs(p.v) {
			bad(p.field, "%q is not an absolute path", p.v)
		}
	}
	if c.RecordingsLookback < 0 || c.RecordingsLookback > 0 && c.RecordingsLookback < time.Minute {
		bad("recordings_lookback", "%s must be at least 1m", c.RecordingsLookback)
	}
	if c.RecordingsStorage != "" && !strings.HasPrefix(c.RecordingsStorage, "/") {
		bad("recordings_storage", "%q is not one of Frigate's storage mount points (absolute, e.g. /media/frigate/recordings)", c.RecordingsStorage)
	}
	if c.Timeout < 0 {
		bad("timeout", "%s is negative", c.Timeout)
	}
	return errors.Join(errs...)
}

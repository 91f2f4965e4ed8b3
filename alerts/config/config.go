// Package config is the configuration of `hlalert run`: datasources, rule
// files, evaluation defaults, state and outbox folders, write-back and
// history. It is decoded strictly: every unknown key, wrong type, bad
// duration or URL is reported as file:line:col, all of them at once.
// Secrets are read from their *_file at load time; relative paths resolve
// against the config file's folder.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// Defaults applied when a key is absent.
const (
	DefaultEvaluationInterval  = time.Minute
	DefaultQueryStep           = 5 * time.Minute // vmalert's -datasource.queryStep
	DefaultListen              = "127.0.0.1:8880"
	DefaultDatasourceDownAfter = 3
	DefaultTimeout             = 30 * time.Second
	DefaultScrapeInterval      = 15 * time.Second
	DefaultStateDir            = "state"
	DefaultOutboxDir           = "outbox"
)

// Config is a decoded `hlalert run` configuration.
type Config struct {
	// Path is the file it was loaded from; Dir its folder (paths resolve
	// against it).
	Path string
	Dir  string

	Datasource         Datasource
	RuleFiles          []string // globs, made absolute
	EvaluationInterval time.Duration
	// QueryStep is the step of rule queries, which decides how far back a
	// bare selector finds a sample. 0 means each group's interval.
	QueryStep           time.Duration
	ExternalLabels      map[string]string
	ExternalURL         string
	StateDir            string // absolute
	Listen              string
	DatasourceDownAfter int
	RemoteWrite         *RemoteWrite // nil: none (embedded mode appends to its own store)
	OutboxDir           string       // absolute
	History             *History     // nil: no state history
	Notify              Notify
}

// Notify is the notification pipeline: Alertmanager-format routing,
// e-mail templates, hlalert's per-receiver e-mail extras, the hand-off to
// an external Alertmanager and the watchdog heartbeat.
type Notify struct {
	// RoutingFile is an Alertmanager configuration file (route, receivers
	// with email_configs, inhibit_rules, time_intervals), absolute. "":
	// the built-in route, which keeps every notification in outbox_dir
	// (no SMTP).
	RoutingFile string
	Templates   []string // template file globs, absolute
	GrafanaURL  string
	// Receivers holds what hlalert adds over Alertmanager's email_configs,
	// applied to every email config of the named receiver.
	Receivers map[string]ReceiverExtras
	Handoff   *Handoff  // nil: none
	Watchdog  *Watchdog // nil: none
}

// ReceiverExtras are hlalert's per-receiver e-mail settings that
// Alertmanager's format lacks (or cannot tell unset from false).
type ReceiverExtras struct {
	SendResolved  *bool
	AuthMechanism string
	AuthTokenFile string // absolute
}

// Handoff sends alerts to external Alertmanagers' /api/v2/alerts.
type Handoff struct {
	URLs []string
	HTTP HTTP
}

// Watchdog pings a dead man's switch after healthy evaluations.
type Watchdog struct {
	URL      string
	Method   string // GET or POST
	Interval time.Duration
	HTTP     HTTP
}

// Datasource holds the configured datasources. MetricsQL groups go to
// VictoriaMetrics or to the embedded engine (exactly one of them); LogQL
// groups go to Loki.
type Datasource struct {
	VictoriaMetrics *VictoriaMetrics
	Loki            *Loki
	Embedded        *Embedded
}

// HTTP is the client side of a connection, the same keys in every
// section (see http.go): authentication, TLS and proxy as Prometheus'
// HTTPClientConfig, whose secrets are *_file paths (absolute, checked to
// be readable and non-empty at load time, re-read by the client), and the
// request timeout.
type HTTP struct {
	Client  commoncfg.HTTPClientConfig
	Timeout time.Duration
}

// VictoriaMetrics is a single-node URL (http://host:8428) or a cluster
// select URL (http://vmselect:8481/select/<tenant>/prometheus).
type VictoriaMetrics struct {
	URL    string
	HTTP   HTTP
	Params url.Values
}

// Loki is a Loki query endpoint.
type Loki struct {
	URL    string
	Tenant string // X-Scope-OrgID
	HTTP   HTTP
}

// Embedded is the standalone mode: hlalert scrapes these targets itself.
type Embedded struct {
	Targets []Target
}

// Target is one endpoint the embedded mode scrapes.
type Target struct {
	Job      string
	URL      string
	Interval time.Duration
	Timeout  time.Duration
	Labels   map[string]string
	HTTP     HTTP // HTTP.Timeout is Timeout
}

// RemoteWrite is where recording rules are written back
// (VictoriaMetrics' /api/v1/import).
type RemoteWrite struct {
	URL  string
	HTTP HTTP
}

// History is the Loki push endpoint of the alert state history.
type History struct {
	URL    string // Loki base URL or full push URL
	Tenant string
	HTTP   HTTP
}

// LoadFile reads and decodes a config file.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Load(path, data)
}

// Load decodes a config; path names it in errors and anchors relative
// paths. All problems are returned joined, one per line, each with its
// file:line:col.
func Load(path string, data []byte) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config path %q: %w", path, err)
	}
	d := newDecoder(path, filepath.Dir(abs))
	cfg := d.decode(data)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.sortedErrors()...)
	}
	cfg.Path = abs
	cfg.Dir = d.dir
	return cfg, nil
}

// ImportURL derives VictoriaMetrics' /api/v1/import URL from a query URL:
// single-node http://h:8428 → http://h:8428/api/v1/import; cluster
// http://h:8481/select/T/prometheus → http://h:8481/insert/T/prometheus/api/v1/import
// keeps the host (a vmauth or proxy in front usually routes both; set
// remote_write.url when it does not).
func ImportURL(queryURL string) (string, error) {
	u, err := url.Parse(queryURL)
	if err != nil {
		return "", fmt.Errorf("url: %w", err)
	}
	p := strings.TrimRight(u.Path, "/")
	if i := strings.Index(p, "/select/"); i >= 0 {
		p = p[:i] + "/insert/" + p[i+len("/select/"):]
	}
	u.Path = p + "/api/v1/import"
	return u.String(), nil
}

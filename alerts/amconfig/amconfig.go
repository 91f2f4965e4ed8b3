// Package amconfig reads Alertmanager's configuration file format (global,
// route, receivers, inhibit_rules, time_intervals, mute_time_intervals,
// templates) into hlalert's types, strictly: every unknown key, wrong type
// and invalid value is an error at file:line:col, and all of them are
// reported at once.
//
// It replaces github.com/prometheus/alertmanager/config, whose package
// initialisation pulls in every Alertmanager integration (AWS, Kafka,
// OpenTelemetry, ...), about 250 packages that hlalert never runs. The
// semantics are Alertmanager's v0.34 ones, checked against its own packages
// in the tests: the same defaults and inheritance, matchers parsed by
// Alertmanager's matcher parser, and the same route IDs (group keys stay
// stable across upgrades). hlalert delivers by e-mail only: a receiver with
// any other integration is refused by name.
package amconfig

import (
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"path/filepath"
	"regexp/syntax"
	"sort"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/alertmanager/timeinterval"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Config is a parsed Alertmanager configuration.
type Config struct {
	// ResolveTimeout is global.resolve_timeout (default 5m).
	ResolveTimeout time.Duration
	// Route is the root of the route tree.
	Route *Route
	// Receivers in file order.
	Receivers []Receiver
	// InhibitRules in file order.
	InhibitRules []InhibitRule
	// TimeIntervals by name (time_intervals and mute_time_intervals).
	TimeIntervals map[string][]timeinterval.TimeInterval
	// Templates are the template globs, resolved against the file's folder.
	Templates []string
}

// Receiver is one receiver: a name and its e-mail configs, with the global
// smtp_* defaults applied and send_resolved set only where the file sets it.
type Receiver struct {
	Name  string
	Pos   yamlnode.Pos
	Email []EmailConfig
}

// EmailConfig is one email_configs entry, with the global smtp_*
// defaults applied as Alertmanager applies them. SendResolved is nil
// unless the entry sets it; HTML, Text and the Subject header are empty
// unless set (Alertmanager's defaults are not filled in).
type EmailConfig struct {
	Pos                                          yamlnode.Pos
	SendResolved                                 *bool
	To, From, Hello                              string
	Smarthost                                    string // host:port
	AuthUsername, AuthPassword, AuthPasswordFile string
	AuthSecret, AuthSecretFile, AuthIdentity     string
	Headers                                      map[string]string // canonical header names
	HTML, Text                                   string
	RequireTLS                                   *bool // always set: the entry's, else global.smtp_require_tls (default true)
	ForceImplicitTLS                             *bool
	TLSConfig                                    commoncfg.TLSConfig
}

// InhibitRule is one inhibit_rules entry.
type InhibitRule struct {
	Name           string
	SourceMatchers labels.Matchers
	TargetMatchers labels.Matchers
	Equal          []model.LabelName
}

// Default route timings, as Alertmanager's.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// Integrations hlalert does not run: a receiver with one of them is an
// error naming it.
var otherIntegrations = []string{
	"discord_configs", "incidentio_configs", "jira_configs", "mattermost_configs",
	"msteams_configs", "msteamsv2_configs", "opsgenie_configs", "pagerduty_configs",
	"pushover_configs", "rocketchat_configs", "slack_configs", "sns_configs",
	"telegram_configs", "victorops_configs", "webex_configs", "webhook_configs",
	"wechat_configs",
}

// The global keys of integrations hlalert does not run, and http_config
// (used by those integrations only): accepted so that an existing
// Alertmanager file loads, and unused.
var otherGlobals = []string{
	"http_config", "jira_api_url", "mattermost_webhook_url", "mattermost_webhook_url_file",
	"opsgenie_api_key", "opsgenie_api_key_file", "opsgenie_api_url", "pagerduty_url",
	"rocketchat_api_url", "rocketchat_token", "rocketchat_token_file", "rocketchat_token_id",
	"rocketchat_token_id_file", "slack_api_url", "slack_api_url_file", "slack_app_token",
	"slack_app_token_file", "slack_app_url", "telegram_api_url", "telegram_bot_token",
	"telegram_bot_token_file", "victorops_api_key", "victorops_api_key_file",
	"victorops_api_url", "webex_api_url", "wechat_api_corp_id", "wechat_api_secret",
	"wechat_api_secret_file", "wechat_api_url",
}

// global holds the smtp_* defaults of the global section.
type global struct {
	from, hello, smarthost, authUsername, authPassword, authPasswordFile string
	authSecret, authSecretFile, authIdentity                             string
	requireTLS                                                           bool
	forceImplicitTLS                                                     *bool
	tls                                                                  commoncfg.TLSConfig
}

// Load parses data, the content of file. Relative template globs resolve
// against dir. All problems are returned joined, in file order, each an
// *yamlnode.Error.
func Load(file, dir string, data []byte) (*Config, error) {
	top, err := yamlnode.Document(file, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: file}
	d.Reader = yamlnode.Reader{
		Report:    func(n *yaml.Node, msg string) { d.errorf(n, "%s", msg) },
		OtherKind: "an unexpected node",
	}
	if top == nil {
		return nil, yamlnode.Errorf(yamlnode.Pos{File: file}, "no route provided in config")
	}
	c := d.config(top, dir)
	if len(d.errs) > 0 {
		yamlnode.SortErrors(d.errs)
		return nil, errors.Join(d.errs...)
	}
	return c, nil
}

type decoder struct {
	yamlnode.Reader
	file string
	errs []error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, yamlnode.Errorf(yamlnode.At(d.file, n), format, args...))
}

// fields checks that n is a mapping with only allowed keys, each once
// (null reads as an empty mapping).
func (d *decoder) fields(n *yaml.Node, what string, allowed ...string) (map[string]yamlnode.Field, bool) {
	m := yamlnode.Mapping{Allowed: allowed, StringKeys: true, NullIsEmpty: true}
	return m.Check(n, what, d.Report)
}

func dot(what, key string) string {
	if what == "" {
		return key
	}
	return what + "." + key
}

func (d *decoder) str(fs map[string]yamlnode.Field, key, what string) string {
	f, ok := fs[key]
	if !ok {
		return ""
	}
	r := d.Reader
	r.NullIsEmpty = true
	s, _ := r.Str(f.Value, dot(what, key))
	return s
}

func (d *decoder) boolPtr(fs map[string]yamlnode.Field, key, what string) *bool {
	f, ok := fs[key]
	if !ok || yamlnode.IsNull(yamlnode.Resolve(f.Value)) {
		return nil
	}
	b, ok := d.Bool(f.Value, dot(what, key))
	if !ok {
		return nil
	}
	return &b
}

func (d *decoder) strList(fs map[string]yamlnode.Field, key, what string) ([]string, []*yaml.Node, bool) {
	f, ok := fs[key]
	if !ok {
		return nil, nil, false
	}
	r := d.Reader
	r.NullIsEmpty = true
	items := r.List(f.Value, dot(what, key))
	out := make([]string, 0, len(items))
	nodes := make([]*yaml.Node, 0, len(items))
	for i, it := range items {
		if s, ok := d.Str(it, fmt.Sprintf("%s[%d]", dot(what, key), i)); ok {
			out = append(out, s)
			nodes = append(nodes, yamlnode.Resolve(it))
		}
	}
	return out, nodes, true
}

func (d *decoder) duration(fs map[string]yamlnode.Field, key, what string) (time.Duration, bool) {
	f, ok := fs[key]
	if !ok {
		return 0, false
	}
	return d.PromDuration(f.Value, dot(what, key))
}

func (d *decoder) config(top *yaml.Node, dir string) *Config {
	fs, ok := d.fields(top, "config", "global", "route", "receivers", "inhibit_rules",
		"templates", "time_intervals", "mute_time_intervals", "tracing", "event_recorder")
	if !ok {
		return nil
	}
	for _, k := range []string{"tracing", "event_recorder"} {
		if f, ok := fs[k]; ok && !yamlnode.IsNull(yamlnode.Resolve(f.Value)) {
			d.errorf(f.Key, "%s: not supported by hlalert (it is Alertmanager's own telemetry)", k)
		}
	}
	c := &Config{ResolveTimeout: 5 * time.Minute, TimeIntervals: map[string][]timeinterval.TimeInterval{}}
	g := global{hello: "localhost", requireTLS: true}
	if f, ok := fs["global"]; ok {
		d.global(f.Value, &g, c)
	}
	if globs, _, ok := d.strList(fs, "templates", ""); ok {
		for _, t := range globs {
			if !filepath.IsAbs(t) {
				t = filepath.Join(dir, t)
			}
			c.Templates = append(c.Templates, t)
		}
	}
	receivers := map[string]bool{}
	if f, ok := fs["receivers"]; ok {
		r := d.Reader
		r.NullIsEmpty = true
		for i, rn := range r.List(f.Value, "receivers") {
			rc, ok := d.receiver(rn, fmt.Sprintf("receivers[%d]", i), &g)
			if !ok {
				continue
			}
			if receivers[rc.Name] {
				d.errorf(yamlnode.Resolve(rn), "receivers[%d]: receiver name %q is not unique", i, rc.Name)
				continue
			}
			receivers[rc.Name] = true
			c.Receivers = append(c.Receivers, rc)
		}
	}
	intervals := map[string]bool{}
	for _, key := range []string{"mute_time_intervals", "time_intervals"} {
		if f, ok := fs[key]; ok {
			d.timeIntervals(f.Value, key, c.TimeIntervals, intervals)
		}
	}
	if f, ok := fs["inhibit_rules"]; ok {
		r := d.Reader
		r.NullIsEmpty = true
		for i, in := range r.List(f.Value, "inhibit_rules") {
			if ir, ok := d.inhibitRule(in, fmt.Sprintf("inhibit_rules[%d]", i)); ok {
				c.InhibitRules = append(c.InhibitRules, ir)
			}
		}
	}
	f, ok := fs["route"]
	if !ok || yamlnode.IsNull(yamlnode.Resolve(f.Value)) {
		d.errorf(top, "config: no route provided (route: with a receiver is required)")
		return c
	}
	rc := &routeCheck{receivers: receivers, intervals: intervals}
	c.Route = d.route(f.Value, "route", nil, rc)
	return c
}

func (d *decoder) global(n *yaml.Node, g *global, c *Config) {
	own := []string{"resolve_timeout", "smtp_from", "smtp_hello", "smtp_smarthost",
		"smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file",
		"smtp_auth_secret", "smtp_auth_secret_file", "smtp_auth_identity",
		"smtp_require_tls", "smtp_tls_config", "smtp_force_implicit_tls"}
	fs, ok := d.fields(n, "global", append(own, otherGlobals...)...)
	if !ok {
		return
	}
	if v, ok := d.duration(fs, "resolve_timeout", "global"); ok {
		c.ResolveTimeout = v
	}
	if v := d.str(fs, "smtp_hello", "global"); v != "" {
		g.hello = v
	}
	g.from = d.str(fs, "smtp_from", "global")
	if f, ok := fs["smtp_smarthost"]; ok {
		g.smarthost = d.hostPort(f.Value, "global.smtp_smarthost")
	}
	g.authUsername = d.str(fs, "smtp_auth_username", "global")
	g.authPassword = d.str(fs, "smtp_auth_password", "global")
	g.authPasswordFile = d.str(fs, "smtp_auth_password_file", "global")
	g.authSecret = d.str(fs, "smtp_auth_secret", "global")
	g.authSecretFile = d.str(fs, "smtp_auth_secret_file", "global")
	g.authIdentity = d.str(fs, "smtp_auth_identity", "global")
	if g.authPassword != "" && g.authPasswordFile != "" {
		d.errorf(fs["smtp_auth_password"].Key, "global: at most one of smtp_auth_password and smtp_auth_password_file may be set")
	}
	if g.authSecret != "" && g.authSecretFile != "" {
		d.errorf(fs["smtp_auth_secret"].Key, "global: at most one of smtp_auth_secret and smtp_auth_secret_file may be set")
	}
	if b := d.boolPtr(fs, "smtp_require_tls", "global"); b != nil {
		g.requireTLS = *b
	}
	g.forceImplicitTLS = d.boolPtr(fs, "smtp_force_implicit_tls", "global")
	if f, ok := fs["smtp_tls_config"]; ok {
		g.tls = d.tls(f.Value, "global.smtp_tls_config")
	}
}

// hostPort checks a "host:port" address as Alertmanager does (an empty
// string is unset).
func (d *decoder) hostPort(n *yaml.Node, what string) string {
	r := d.Reader
	r.NullIsEmpty = true
	s, ok := r.Str(n, what)
	if !ok || s == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(s)
	switch {
	case err != nil:
		d.errorf(n, "%s: %q: want host:port: %v", what, s, err)
		return ""
	case port == "":
		d.errorf(n, "%s: %q: port cannot be empty", what, s)
		return ""
	}
	return s
}

// tlsKeys are the tls_config keys hlalert takes: files only for the key
// (secrets come from files).
var tlsKeys = []string{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify", "min_version", "max_version"}

func (d *decoder) tls(n *yaml.Node, what string) commoncfg.TLSConfig {
	var t commoncfg.TLSConfig
	fs, ok := d.fields(n, what, tlsKeys...)
	if !ok {
		return t
	}
	t.CAFile = d.str(fs, "ca_file", what)
	t.CertFile = d.str(fs, "cert_file", what)
	t.KeyFile = d.str(fs, "key_file", what)
	t.ServerName = d.str(fs, "server_name", what)
	if b := d.boolPtr(fs, "insecure_skip_verify", what); b != nil {
		t.InsecureSkipVerify = *b
	}
	for _, k := range []string{"min_version", "max_version"} {
		f, ok := fs[k]
		if !ok {
			continue
		}
		var v commoncfg.TLSVersion
		if err := yamlnode.Resolve(f.Value).Decode(&v); err != nil {
			d.errorf(f.Value, "%s: %v", dot(what, k), err)
			continue
		}
		if k == "min_version" {
			t.MinVersion = v
		} else {
			t.MaxVersion = v
		}
	}
	return t
}

var emailKeys = []string{"send_resolved", "to", "from", "hello", "smarthost",
	"auth_username", "auth_password", "auth_password_file", "auth_secret",
	"auth_secret_file", "auth_identity", "headers", "html", "text", "require_tls",
	"tls_config", "force_implicit_tls", "threading"}

func (d *decoder) receiver(n *yaml.Node, what string, g *global) (Receiver, bool) {
	var rc Receiver
	keys := append([]string{"name", "labels", "email_configs"}, otherIntegrations...)
	fs, ok := d.fields(n, what, keys...)
	if !ok {
		return rc, false
	}
	rc.Pos = yamlnode.At(d.file, yamlnode.Resolve(n))
	nf, ok := fs["name"]
	if ok {
		rc.Name, _ = d.Str(nf.Value, what+".name")
		rc.Pos = yamlnode.At(d.file, yamlnode.Resolve(nf.Value))
	}
	if rc.Name == "" {
		if ok {
			d.errorf(nf.Value, "%s: missing name in receiver", what)
		} else {
			d.errorf(yamlnode.Resolve(n), "%s: missing name in receiver", what)
		}
		return rc, false
	}
	if f, ok := fs["labels"]; ok {
		_, ls, nodes := d.StrMap(f.Value, what+".labels")
		if v, ok := ls["name"]; ok && v != rc.Name {
			d.errorf(nodes["name"], "%s: receiver label \"name\" must match receiver name %q, got %q", what, rc.Name, v)
		}
	}
	for _, k := range otherIntegrations {
		if f, ok := fs[k]; ok {
			d.errorf(f.Key, "receiver %q: %s not supported by hlalert (it sends email; use email_configs, or hand alerts to an external Alertmanager)", rc.Name, k)
		}
	}
	if f, ok := fs["email_configs"]; ok {
		r := d.Reader
		r.NullIsEmpty = true
		for i, en := range r.List(f.Value, what+".email_configs") {
			if yamlnode.IsNull(yamlnode.Resolve(en)) {
				d.errorf(yamlnode.Resolve(en), "%s.email_configs[%d]: missing email config", what, i)
				continue
			}
			if ec, ok := d.emailConfig(en, fmt.Sprintf("%s.email_configs[%d]", what, i), g); ok {
				rc.Email = append(rc.Email, ec)
			}
		}
	}
	return rc, true
}

func (d *decoder) emailConfig(n *yaml.Node, what string, g *global) (EmailConfig, bool) {
	fs, ok := d.fields(n, what, emailKeys...)
	if !ok {
		return EmailConfig{}, false
	}
	before := len(d.errs)
	ec := EmailConfig{Pos: yamlnode.At(d.file, yamlnode.Resolve(n))}
	c := &ec
	c.SendResolved = d.boolPtr(fs, "send_resolved", what)
	c.To = d.str(fs, "to", what)
	if c.To == "" {
		d.errorf(yamlnode.Resolve(n), "%s: missing to address in email config", what)
	}
	c.From = cmpOr(d.str(fs, "from", what), g.from)
	if c.From == "" {
		d.errorf(yamlnode.Resolve(n), "%s: no from address (set from, or global.smtp_from)", what)
	}
	c.Hello = cmpOr(d.str(fs, "hello", what), g.hello)
	if f, ok := fs["smarthost"]; ok {
		c.Smarthost = d.hostPort(f.Value, what+".smarthost")
	}
	c.Smarthost = cmpOr(c.Smarthost, g.smarthost)
	if c.Smarthost == "" {
		d.errorf(yamlnode.Resolve(n), "%s: no smarthost (set smarthost, or global.smtp_smarthost)", what)
	}
	c.AuthUsername = cmpOr(d.str(fs, "auth_username", what), g.authUsername)
	c.AuthPassword = d.str(fs, "auth_password", what)
	c.AuthPasswordFile = d.str(fs, "auth_password_file", what)
	if c.AuthPassword == "" && c.AuthPasswordFile == "" {
		c.AuthPassword, c.AuthPasswordFile = g.authPassword, g.authPasswordFile
	}
	c.AuthSecret = cmpOr(d.str(fs, "auth_secret", what), g.authSecret)
	c.AuthSecretFile = cmpOr(d.str(fs, "auth_secret_file", what), g.authSecretFile)
	c.AuthIdentity = cmpOr(d.str(fs, "auth_identity", what), g.authIdentity)
	if f, ok := fs["headers"]; ok {
		keys, hs, nodes := d.StrMap(f.Value, what+".headers")
		seen := map[string]bool{}
		for _, k := range keys {
			canon := textproto.CanonicalMIMEHeaderKey(k)
			if seen[canon] {
				d.errorf(nodes[k], "%s.headers: duplicate header %q", what, canon)
				continue
			}
			seen[canon] = true
			if c.Headers == nil {
				c.Headers = map[string]string{}
			}
			c.Headers[canon] = hs[k]
		}
	}
	c.HTML = d.str(fs, "html", what)
	c.Text = d.str(fs, "text", what)
	c.RequireTLS = d.boolPtr(fs, "require_tls", what)
	if c.RequireTLS == nil {
		v := g.requireTLS
		c.RequireTLS = &v
	}
	c.ForceImplicitTLS = d.boolPtr(fs, "force_implicit_tls", what)
	if c.ForceImplicitTLS == nil && g.forceImplicitTLS != nil {
		v := *g.forceImplicitTLS
		c.ForceImplicitTLS = &v
	}
	c.TLSConfig = g.tls
	if f, ok := fs["tls_config"]; ok {
		c.TLSConfig = d.tls(f.Value, what+".tls_config")
	}
	if f, ok := fs["threading"]; ok {
		// hlalert always threads the mails of an alert group (In-Reply-To
		// and References), so Alertmanager's switch has nothing to turn on.
		tf, ok := d.fields(f.Value, what+".threading", "enabled", "thread_by_date")
		if ok {
			d.boolPtr(tf, "enabled", what+".threading")
			d.str(tf, "thread_by_date", what+".threading")
		}
	}
	return ec, len(d.errs) == before
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var timeIntervalKeys = []string{"times", "weekdays", "days_of_month", "months", "years", "location"}

func (d *decoder) timeIntervals(n *yaml.Node, key string, out map[string][]timeinterval.TimeInterval, names map[string]bool) {
	r := d.Reader
	r.NullIsEmpty = true
	for i, tn := range r.List(n, key) {
		what := fmt.Sprintf("%s[%d]", key, i)
		fs, ok := d.fields(tn, what, "name", "time_intervals")
		if !ok {
			continue
		}
		name := d.str(fs, "name", what)
		if name == "" {
			d.errorf(yamlnode.Resolve(tn), "%s: missing name in time interval", what)
			continue
		}
		if names[name] {
			d.errorf(fs["name"].Value, "%s: time interval %q is not unique", what, name)
			continue
		}
		names[name] = true
		var list []timeinterval.TimeInterval
		if f, ok := fs["time_intervals"]; ok {
			for j, in := range r.List(f.Value, what+".time_intervals") {
				iw := fmt.Sprintf("%s.time_intervals[%d]", what, j)
				ifs, ok := d.fields(in, iw, timeIntervalKeys...)
				if !ok {
					continue
				}
				if tf, ok := ifs["times"]; ok {
					for k, t := range r.List(tf.Value, iw+".times") {
						d.fields(t, fmt.Sprintf("%s.times[%d]", iw, k), "start_time", "end_time")
					}
				}
				var ti timeinterval.TimeInterval
				if err := yamlnode.Resolve(in).Decode(&ti); err != nil {
					for _, e := range yamlnode.DecodeErrors(d.file, yamlnode.Resolve(in), err) {
						if ye, ok := e.(*yamlnode.Error); ok {
							if ye.Pos.Line == 0 || ye.Pos.Line == yamlnode.Resolve(in).Line && ye.Pos.Col == 0 {
								ye.Pos = yamlnode.At(d.file, yamlnode.Resolve(in))
							}
							ye.Msg = iw + ": " + ye.Msg
						}
						d.errs = append(d.errs, e)
					}
					continue
				}
				list = append(list, ti)
			}
		}
		out[name] = list
	}
}

func (d *decoder) inhibitRule(n *yaml.Node, what string) (InhibitRule, bool) {
	var ir InhibitRule
	fs, ok := d.fields(n, what, "name", "source_match", "source_match_re", "source_matchers",
		"target_match", "target_match_re", "target_matchers", "equal")
	if !ok {
		return ir, false
	}
	before := len(d.errs)
	ir.Name = d.str(fs, "name", what)
	ir.SourceMatchers = d.matchers(fs, "source_match", "source_match_re", "source_matchers", what)
	ir.TargetMatchers = d.matchers(fs, "target_match", "target_match_re", "target_matchers", what)
	eq, nodes, _ := d.strList(fs, "equal", what)
	for i, l := range eq {
		if !compat.IsValidLabelName(model.LabelName(l)) {
			d.errorf(nodes[i], "%s.equal: invalid label name %q", what, l)
			continue
		}
		ir.Equal = append(ir.Equal, model.LabelName(l))
	}
	return ir, len(d.errs) == before
}

// matchers reads the equality map, regexp map and matcher list keys of a
// route or an inhibit rule side into one sorted list, as Alertmanager
// builds it.
func (d *decoder) matchers(fs map[string]yamlnode.Field, eqKey, reKey, listKey, what string) labels.Matchers {
	var ms labels.Matchers
	if f, ok := fs[eqKey]; ok {
		keys, m, nodes := d.StrMap(f.Value, dot(what, eqKey))
		for _, k := range keys {
			if !model.LegacyValidation.IsValidLabelName(k) {
				d.errorf(nodes[k], "%s: invalid label name %q", dot(what, eqKey), k)
				continue
			}
			mt, err := labels.NewMatcher(labels.MatchEqual, k, m[k])
			if err != nil {
				d.errorf(nodes[k], "%s: %v", dot(what, eqKey), err)
				continue
			}
			ms = append(ms, mt)
		}
	}
	if f, ok := fs[reKey]; ok {
		keys, m, nodes := d.StrMap(f.Value, dot(what, reKey))
		for _, k := range keys {
			// Alertmanager keeps match_re values anchored ("^(?:v)$"), and
			// route IDs show them so.
			mt, err := labels.NewMatcher(labels.MatchRegexp, k, "^(?:"+m[k]+")$")
			if err != nil {
				var se *syntax.Error
				if errors.As(err, &se) {
					err = errors.New(string(se.Code)) // its Expr is the anchored text, not the user's
				}
				d.errorf(nodes[k], "%s.%s: bad regexp %q: %v", dot(what, reKey), k, m[k], err)
				continue
			}
			ms = append(ms, mt)
		}
	}
	if lines, nodes, ok := d.strList(fs, listKey, what); ok {
		for i, line := range lines {
			pm, err := compat.Matchers(line, "config")
			if err != nil {
				d.errorf(nodes[i], "%s[%d]: bad matcher %q: %v", dot(what, listKey), i, line, err)
				continue
			}
			ms = append(ms, pm...)
		}
	}
	sort.Sort(ms)
	return ms
}

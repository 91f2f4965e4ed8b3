package config

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// decoder walks yaml.Nodes, collecting every error with its position.
type decoder struct {
	yamlnode.Reader // reports through errorf
	file            string
	dir             string
	errs            []error
}

func newDecoder(file, dir string) *decoder {
	d := &decoder{file: file, dir: dir}
	d.Reader = yamlnode.Reader{
		Report:    func(n *yaml.Node, msg string) { d.errorf(n, "%s", msg) },
		OtherKind: "an unexpected node",
	}
	return d
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, yamlnode.Errorf(yamlnode.At(d.file, n), format, args...))
}

// sortedErrors returns the errors in file order.
func (d *decoder) sortedErrors() []error {
	yamlnode.SortErrors(d.errs)
	return d.errs
}

func (d *decoder) decode(data []byte) *Config {
	cfg := &Config{
		EvaluationInterval:  DefaultEvaluationInterval,
		QueryStep:           DefaultQueryStep,
		Listen:              DefaultListen,
		DatasourceDownAfter: DefaultDatasourceDownAfter,
		StateDir:            filepath.Join(d.dir, DefaultStateDir),
		OutboxDir:           filepath.Join(d.dir, DefaultOutboxDir),
	}
	doc, err := yamlnode.Document(d.file, data)
	if err != nil {
		d.errs = append(d.errs, err)
		return cfg
	}
	if doc == nil {
		d.errs = append(d.errs, yamlnode.Errorf(yamlnode.Pos{File: d.file}, "empty config: datasource and rule_files are required"))
		return cfg
	}
	root := yamlnode.Resolve(doc)
	fs, ok := d.fields(root, "config", "datasource", "rule_files", "evaluation_interval", "external_labels",
		"external_url", "state_dir", "listen", "datasource_down_after", "remote_write", "outbox_dir", "history", "notify", "query_step")
	if !ok {
		return cfg
	}
	if f, ok := fs["datasource"]; ok {
		cfg.Datasource = d.datasource(f)
	} else {
		d.errorf(root, "datasource: required")
	}
	if f, ok := fs["rule_files"]; ok {
		for _, n := range d.List(f.Value, "rule_files") {
			if s, ok := d.Str(n, "rule_files"); ok {
				if s == "" {
					d.errorf(n, "rule_files: empty glob")
					continue
				}
				if _, err := filepath.Match(s, ""); err != nil {
					d.errorf(n, "rule_files: bad glob %q: %v", s, err)
					continue
				}
				cfg.RuleFiles = append(cfg.RuleFiles, d.path(s))
			}
		}
	}
	if _, set := fs["rule_files"]; !set {
		d.errorf(root, "rule_files: required")
	} else if n := yamlnode.Resolve(fs["rule_files"].Value); n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.errorf(n, "rule_files: at least one glob is required")
	}
	if f, ok := fs["evaluation_interval"]; ok {
		if v, ok := d.positiveDuration(f.Value, "evaluation_interval"); ok {
			cfg.EvaluationInterval = v
		}
	}
	if f, ok := fs["query_step"]; ok {
		if v, ok := d.duration(f.Value, "query_step"); ok {
			if v < 0 {
				d.errorf(f.Value, "query_step: must not be negative")
			} else {
				cfg.QueryStep = v
			}
		}
	}
	if f, ok := fs["external_labels"]; ok {
		cfg.ExternalLabels = d.labels(f.Value, "external_labels")
	}
	if f, ok := fs["external_url"]; ok {
		cfg.ExternalURL = d.url(f.Value, "external_url")
	}
	if f, ok := fs["state_dir"]; ok {
		if s, ok := d.nonEmpty(f.Value, "state_dir"); ok {
			cfg.StateDir = d.path(s)
		}
	}
	if f, ok := fs["outbox_dir"]; ok {
		if s, ok := d.nonEmpty(f.Value, "outbox_dir"); ok {
			cfg.OutboxDir = d.path(s)
		}
	}
	if f, ok := fs["listen"]; ok {
		if s, ok := d.nonEmpty(f.Value, "listen"); ok {
			if _, port, err := splitHostPort(s); err != nil {
				d.errorf(f.Value, "listen: %v", err)
			} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
				d.errorf(f.Value, "listen: bad port %q", port)
			} else {
				cfg.Listen = s
			}
		}
	}
	if f, ok := fs["datasource_down_after"]; ok {
		if v, ok := d.Int(f.Value, "datasource_down_after", 1); ok {
			cfg.DatasourceDownAfter = v
		}
	}
	if f, ok := fs["remote_write"]; ok {
		cfg.RemoteWrite = d.remoteWrite(f.Value)
	} else if vm := cfg.Datasource.VictoriaMetrics; vm != nil {
		if u, err := ImportURL(vm.URL); err == nil {
			cfg.RemoteWrite = &RemoteWrite{URL: u, HTTP: vm.HTTP}
		}
	}
	if f, ok := fs["history"]; ok {
		cfg.History = d.history(f.Value)
	}
	if f, ok := fs["notify"]; ok {
		cfg.Notify = d.notify(f.Value)
	}
	return cfg
}

// fields checks that n is a mapping with only allowed keys, each once.
func (d *decoder) fields(n *yaml.Node, what string, allowed ...string) (map[string]yamlnode.Field, bool) {
	m := yamlnode.Mapping{Allowed: allowed, StringKeys: true}
	return m.Check(n, what, d.Report)
}

func (d *decoder) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := d.Str(n, what)
	if ok && s == "" {
		d.errorf(n, "%s: must not be empty", what)
		return "", false
	}
	return s, ok
}

func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	return d.PromDuration(n, what)
}

func (d *decoder) positiveDuration(n *yaml.Node, what string) (time.Duration, bool) {
	v, ok := d.duration(n, what)
	if ok && v <= 0 {
		d.errorf(n, "%s: must be positive", what)
		return 0, false
	}
	return v, ok
}

// url checks an http(s) URL with a host.
func (d *decoder) url(n *yaml.Node, what string) string {
	s, ok := d.nonEmpty(n, what)
	if !ok {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		d.errorf(n, "%s: bad URL %q: %v", what, s, urlErr(err))
		return ""
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		d.errorf(n, "%s: bad URL %q: scheme must be http or https", what, s)
		return ""
	}
	if u.Host == "" {
		d.errorf(n, "%s: bad URL %q: no host", what, s)
		return ""
	}
	if u.RawQuery != "" || u.Fragment != "" {
		d.errorf(n, "%s: bad URL %q: no query or fragment allowed (use params)", what, s)
		return ""
	}
	return s
}

// urlErr unwraps url.Error's repetition of the URL.
func urlErr(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (d *decoder) labels(n *yaml.Node, what string) map[string]string {
	if yamlnode.IsNull(yamlnode.Resolve(n)) {
		d.errorf(n, "%s", yamlnode.NotMappingMsg(what, yamlnode.Resolve(n)))
		return nil
	}
	keys, values, nodes := d.StrMap(n, what)
	out := map[string]string{}
	for _, k := range keys {
		if !model.LegacyValidation.IsValidLabelName(k) {
			d.errorf(nodes[k], "%s: bad label name %q", what, k)
			continue
		}
		out[k] = values[k]
	}
	return out
}

// path resolves p against the config's folder.
func (d *decoder) path(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(d.dir, p)
}

// secretFile reads a *_file secret; trailing newlines are dropped.
func (d *decoder) secretFile(n *yaml.Node, what string) string {
	s, ok := d.nonEmpty(n, what)
	if !ok {
		return ""
	}
	b, err := os.ReadFile(d.path(s))
	if err != nil {
		d.errorf(n, "%s: read %s: %v", what, s, pathErr(err))
		return ""
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		d.errorf(n, "%s: %s is empty", what, s)
	}
	return v
}

func (d *decoder) existingFile(n *yaml.Node, what string) string {
	s, ok := d.nonEmpty(n, what)
	if !ok {
		return ""
	}
	p := d.path(s)
	if _, err := os.Stat(p); err != nil {
		d.errorf(n, "%s: %s: %v", what, s, pathErr(err))
		return ""
	}
	return p
}

// pathErr drops the absolute path a *fs.PathError repeats.
func pathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

func splitHostPort(s string) (host, port string, err error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", "", fmt.Errorf("%q: want host:port", s)
	}
	return s[:i], s[i+1:], nil
}

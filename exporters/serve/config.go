package serve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Config is hlexporter's configuration file:
//
//	listen_address: 127.0.0.1:9808   # default, loopback
//	log_level: info                  # debug, info, warn, error
//	collectors:
//	  zfs:
//	    interval: 1m                 # serving keys: interval, update_timeout
//	    update_timeout: 30s
//	    ...                          # the rest is the collector's Config
//
// Every section is optional. Keys ending in _file, _path or _dir (and
// lists under keys ending in _files, _paths or _dirs) are paths, resolved
// against the configuration file's folder when relative.
type Config struct {
	ListenAddress string
	LogLevel      string
	// Collectors by name, in file order.
	Collectors []Section
	// File is where the configuration came from ("" when Load had no name).
	File string
}

// Section is one collector's part of the file.
type Section struct {
	Name     string
	Interval time.Duration // "interval"; 0 when not set: the collector's default applies
	Timeout  time.Duration // "update_timeout" (bounds one whole update); 0 when not set
	// Pos is where the section's key is, for error messages.
	Pos yamlnode.Pos
	// body is the section's mapping (nil when null).
	body *yaml.Node
	file string
}

// servingKeys are the keys of a section that serve reads itself.
func servingKeys() []string { return []string{"interval", "update_timeout"} }

// Section returns the named section, if present.
func (c *Config) Section(name string) (Section, bool) {
	for _, s := range c.Collectors {
		if s.Name == name {
			return s, true
		}
	}
	return Section{}, false
}

// Decode decodes the section's collector keys into the struct v points to,
// strictly (yamlnode.Decoder): an unknown key, a repeated key or a value
// of the wrong type fails at its file:line:col, every problem reported.
// An empty section leaves v unchanged.
func (s Section) Decode(v any) error {
	if s.body == nil {
		return nil
	}
	return yamlnode.Decoder{File: s.file, Known: servingKeys()}.Decode(s.body, "collectors."+s.Name, v)
}

// Place puts the problems err reports about the decoded section (a
// collector's Validate: *yamlnode.FieldError values, joined) at their
// file:line:col (yamlnode.Place): each at its field's value, a missing
// key at the mapping that lacks it, a problem of the whole section (or of
// an empty one) at the section's key; worded
// "collectors.<name>.<path>: message", in file order. nil stays nil.
func (s Section) Place(err error) error {
	return yamlnode.Place(s.file, s.body, "collectors."+s.Name, s.Pos, err)
}

// LoadFile reads and loads the file at path; relative paths in it resolve
// against its folder.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config path: %w", err)
	}
	return Load(b, path, filepath.Dir(abs))
}

// Load parses a configuration. file names it in errors; baseDir resolves
// relative paths ("" leaves them as they are). Every problem is reported,
// each a *yamlnode.Error at its file:line:col, joined in file order.
func Load(data []byte, file, baseDir string) (*Config, error) {
	if file == "" {
		file = "<config>"
	}
	cfg := &Config{ListenAddress: DefaultListenAddress, LogLevel: "info", File: file}
	root, err := yamlnode.Document(file, data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return cfg, nil
	}
	d := &decoder{file: file}
	d.Reader = yamlnode.Reader{
		Report:    func(n *yaml.Node, msg string) { d.errorf(n, "%s", msg) },
		OtherKind: "an unexpected node",
	}
	top := yamlnode.Mapping{Allowed: []string{"listen_address", "log_level", "collectors"}, NullIsEmpty: true, StringKeys: true, ResolveKeys: true, Merge: true}
	fields, ok := top.Check(root, "config", d.Report)
	if ok {
		if f, set := fields["listen_address"]; set {
			if v, ok := d.Str(f.Value, "listen_address"); ok && v == "" {
				d.errorf(f.Value, "listen_address: must not be empty")
			} else if ok {
				cfg.ListenAddress = v
			}
		}
		if f, set := fields["log_level"]; set {
			if v, ok := d.Str(f.Value, "log_level"); ok && !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
				d.errorf(f.Value, "log_level: %q is not one of debug, info, warn, error", v)
			} else if ok {
				cfg.LogLevel = v
			}
		}
		if f, set := fields["collectors"]; set {
			d.sections(cfg, f.Value, baseDir)
		}
	}
	if len(d.errs) > 0 {
		yamlnode.SortErrors(d.errs)
		return nil, errors.Join(d.errs...)
	}
	return cfg, nil
}

// decoder walks the configuration's nodes, collecting every problem.
type decoder struct {
	yamlnode.Reader // reports through errorf
	file            string
	errs            []error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, yamlnode.Errorf(yamlnode.At(d.file, n), format, args...))
}

// sections reads collectors: name → settings, in file order. Of each
// section it reads the serving keys; the rest is the collector's, for
// Section.Decode.
func (d *decoder) sections(cfg *Config, n *yaml.Node, baseDir string) {
	m := yamlnode.Mapping{AnyKey: true, NullIsEmpty: true, StringKeys: true, ResolveKeys: true}
	secs, ok := m.Check(n, "collectors", d.Report)
	if !ok {
		return
	}
	resolved := map[*yaml.Node]bool{}
	for _, f := range secs {
		what := "collectors." + f.Key.Value
		sec := Section{Name: f.Key.Value, Pos: yamlnode.At(d.file, f.Key), file: d.file}
		if !yamlnode.IsNull(f.Value) {
			// Only the serving keys are read here: a problem with any
			// other key is Decode's to report (once).
			serving := yamlnode.Mapping{AnyKey: true, StringKeys: true, ResolveKeys: true, Merge: true}
			fs, ok := serving.Check(f.Value, what, func(n *yaml.Node, msg string) {
				if n.Kind != yaml.ScalarNode || !slices.Contains(servingKeys(), n.Value) {
					if n == f.Value {
						d.Report(n, msg) // not a mapping
					}
					return
				}
				d.Report(n, msg)
			})
			if !ok {
				continue
			}
			if k, set := fs["interval"]; set {
				sec.Interval = d.positive(k.Value, what+".interval")
			}
			if k, set := fs["update_timeout"]; set {
				sec.Timeout = d.positive(k.Value, what+".update_timeout")
			}
			if baseDir != "" {
				resolvePaths(f.Value, baseDir, resolved)
			}
			sec.body = f.Value
		}
		cfg.Collectors = append(cfg.Collectors, sec)
	}
	slices.SortFunc(cfg.Collectors, func(a, b Section) int { return a.Pos.Compare(b.Pos) })
}

// positive reads a positive Go duration ("30s", "1m"); 0 after a problem.
func (d *decoder) positive(n *yaml.Node, what string) time.Duration {
	v, ok := d.Duration(n, what)
	if ok && v <= 0 {
		d.errorf(n, "%s: must be positive, got %s", what, yamlnode.Resolve(n).Value)
		return 0
	}
	return v
}

// resolvePaths rewrites relative path values in place (see Config),
// following aliases; done records the nodes rewritten, so a node reached
// twice is rewritten once.
func resolvePaths(n *yaml.Node, base string, done map[*yaml.Node]bool) {
	n = yamlnode.Resolve(n)
	if done[n] {
		return
	}
	done[n] = true
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], yamlnode.Resolve(n.Content[i+1])
			switch {
			case v.Kind == yaml.ScalarNode && hasSuffix(k.Value, "_file", "_path", "_dir"):
				resolveScalar(v, base, done)
			case v.Kind == yaml.SequenceNode && hasSuffix(k.Value, "_files", "_paths", "_dirs"):
				for _, c := range v.Content {
					if c = yamlnode.Resolve(c); c.Kind == yaml.ScalarNode {
						resolveScalar(c, base, done)
					}
				}
			default:
				resolvePaths(v, base, done)
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			resolvePaths(c, base, done)
		}
	}
}

func resolveScalar(v *yaml.Node, base string, done map[*yaml.Node]bool) {
	if done[v] {
		return
	}
	done[v] = true
	if v.Tag == "!!str" && v.Value != "" && !filepath.IsAbs(v.Value) {
		v.Value = filepath.Join(base, v.Value)
	}
}

func hasSuffix(s string, sufs ...string) bool {
	for _, x := range sufs {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

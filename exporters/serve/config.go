package serve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
	// body is the section without the serving keys.
	body *yaml.Node
	file string
}

// Section returns the named section, if present.
func (c *Config) Section(name string) (Section, bool) {
	for _, s := range c.Collectors {
		if s.Name == name {
			return s, true
		}
	}
	return Section{}, false
}

// Decode decodes the section's collector keys into v strictly: unknown keys
// fail with their position. A nil receiver body (section with only serving
// keys) leaves v unchanged.
func (s Section) Decode(v any) error {
	if s.body == nil {
		return nil
	}
	return decodeStrict(s.body, s.file, "collectors."+s.Name, v)
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
	top := yamlnode.Mapping{Allowed: []string{"listen_address", "log_level", "collectors"}, NullIsEmpty: true, StringKeys: true}
	fields, ok := top.Fields(root, func(is yamlnode.Issue) {
		switch is.Problem {
		case yamlnode.NotMapping:
			d.errorf(is.Node, "the configuration must be a mapping, got %s", d.KindName(is.Node))
		case yamlnode.KeyNotString:
			d.errorf(is.Node, "keys must be strings")
		case yamlnode.UnknownKey:
			d.errorf(is.Node, "unknown key %q (want listen_address, log_level, collectors)", is.Node.Value)
		case yamlnode.RepeatedKey:
			d.errorf(is.Node, "%s: defined twice", is.Node.Value)
		}
	})
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

// sections reads collectors: name → settings, in file order.
func (d *decoder) sections(cfg *Config, n *yaml.Node, baseDir string) {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "collectors: must be a mapping of collector name to settings, got %s", d.KindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlnode.Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "collectors: keys must be collector names")
			continue
		}
		what := "collectors." + k.Value
		if seen[k.Value] {
			d.errorf(k, "%s: defined twice", what)
			continue
		}
		seen[k.Value] = true
		sec := Section{Name: k.Value, Pos: yamlnode.At(d.file, k), file: d.file}
		switch {
		case yamlnode.IsNull(v):
		case v.Kind != yaml.MappingNode:
			d.errorf(v, "%s: must be a mapping, got %s", what, d.KindName(v))
			continue
		default:
			body := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
			for j := 0; j+1 < len(v.Content); j += 2 {
				kk, vv := v.Content[j], v.Content[j+1]
				switch kk.Value {
				case "interval":
					sec.Interval = d.duration(vv, what+".interval")
				case "update_timeout":
					sec.Timeout = d.duration(vv, what+".update_timeout")
				default:
					body.Content = append(body.Content, kk, vv)
				}
			}
			if baseDir != "" {
				resolvePaths(body, baseDir)
			}
			sec.body = body
		}
		cfg.Collectors = append(cfg.Collectors, sec)
	}
}

// duration reads a positive Go duration ("30s", "1m"); 0 after a problem.
func (d *decoder) duration(n *yaml.Node, what string) time.Duration {
	s, ok := d.Str(n, what)
	if !ok {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n, "%s: want a duration like 30s or 1m, got %q", what, s)
		return 0
	}
	if v <= 0 {
		d.errorf(n, "%s: must be positive, got %s", what, s)
		return 0
	}
	return v
}

// resolvePaths rewrites relative path values in place (see Config).
func resolvePaths(n *yaml.Node, base string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case v.Kind == yaml.ScalarNode && hasSuffix(k.Value, "_file", "_path", "_dir"):
				resolveScalar(v, base)
			case v.Kind == yaml.SequenceNode && hasSuffix(k.Value, "_files", "_paths", "_dirs"):
				for _, c := range v.Content {
					if c.Kind == yaml.ScalarNode {
						resolveScalar(c, base)
					}
				}
			default:
				resolvePaths(v, base)
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			resolvePaths(c, base)
		}
	}
}

func resolveScalar(v *yaml.Node, base string) {
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

// decodeStrict decodes n (at path, for messages) into v, failing on keys v's type does not have
// (checked recursively through structs, slices, maps and pointers, with
// yaml tags and ",inline"), and reporting every problem as a
// *yamlnode.Error (yaml.v3's type errors carry a line, not a column).
func decodeStrict(n *yaml.Node, file, path string, v any) error {
	var errs []error
	checkKnown(n, reflect.TypeOf(v), file, path, &errs)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := n.Decode(v); err != nil {
		return errors.Join(yamlnode.DecodeErrors(file, n, err)...)
	}
	return nil
}

var (
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	timeType        = reflect.TypeOf(time.Time{})
)

func checkKnown(n *yaml.Node, t reflect.Type, file, path string, errs *[]error) {
	if n == nil || t == nil {
		return
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return
		}
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) || t == timeType {
		return // custom decoding owns its keys
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // Decode reports the kind mismatch
		}
		fields, anyKey := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				checkKnown(v, t, file, path, errs)
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				if !anyKey {
					*errs = append(*errs, yamlnode.Errorf(yamlnode.At(file, k), "%s: unknown field %q", dotted(path, k.Value), k.Value))
				}
				continue
			}
			checkKnown(v, ft, file, dotted(path, k.Value), errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				checkKnown(c, t.Elem(), file, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				checkKnown(n.Content[i+1], t.Elem(), file, dotted(path, n.Content[i].Value), errs)
			}
		}
	}
}

func dotted(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps yaml keys to field types the way yaml.v3 names them; anyKey
// is true when an inline map accepts every key.
func yamlFields(t reflect.Type) (map[string]reflect.Type, bool) {
	out := map[string]reflect.Type{}
	anyKey := false
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				sub, a := yamlFields(ft)
				for k, v := range sub {
					out[k] = v
				}
				anyKey = anyKey || a
			case reflect.Map:
				anyKey = true
			}
			continue
		}
		if f.PkgPath != "" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out, anyKey
}

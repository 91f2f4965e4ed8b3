package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
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
	// Pos is "file:line:col" of the section's key, for error messages.
	Pos string
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
	return DecodeStrict(s.body, s.file, v)
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
// relative paths ("" leaves them as they are).
func Load(data []byte, file, baseDir string) (*Config, error) {
	if file == "" {
		file = "<config>"
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Config{ListenAddress: DefaultListenAddress, LogLevel: "info", File: file}, nil
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d:%d: a single YAML document is expected", file, extra.Line, extra.Column)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	cfg := &Config{ListenAddress: DefaultListenAddress, LogLevel: "info", File: file}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfg, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d:%d: the configuration must be a mapping", file, root.Line, root.Column)
	}
	var errs []error
	pos := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", file, n.Line, n.Column) }
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			errs = append(errs, fmt.Errorf("%s: %s: defined twice", pos(k), k.Value))
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "listen_address":
			if err := DecodeStrict(v, file, &cfg.ListenAddress); err != nil {
				errs = append(errs, err)
			} else if cfg.ListenAddress == "" {
				errs = append(errs, fmt.Errorf("%s: listen_address: must not be empty", pos(v)))
			}
		case "log_level":
			if err := DecodeStrict(v, file, &cfg.LogLevel); err != nil {
				errs = append(errs, err)
			} else if !oneOf(cfg.LogLevel, "debug", "info", "warn", "error") {
				errs = append(errs, fmt.Errorf("%s: log_level: %q is not one of debug, info, warn, error", pos(v), cfg.LogLevel))
			}
		case "collectors":
			errs = append(errs, loadSections(cfg, v, file, baseDir)...)
		default:
			errs = append(errs, fmt.Errorf("%s: unknown key %q (want listen_address, log_level, collectors)", pos(k), k.Value))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

func oneOf(s string, opts ...string) bool {
	for _, o := range opts {
		if s == o {
			return true
		}
	}
	return false
}

func loadSections(cfg *Config, n *yaml.Node, file, baseDir string) []error {
	pos := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", file, n.Line, n.Column) }
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("%s: collectors: must be a mapping of collector name to settings", pos(n))}
	}
	var errs []error
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sec := Section{Name: k.Value, Pos: pos(k), file: file}
		if seen[k.Value] {
			errs = append(errs, fmt.Errorf("%s: collectors.%s: defined twice", pos(k), k.Value))
			continue
		}
		seen[k.Value] = true
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case v.Kind != yaml.MappingNode:
			errs = append(errs, fmt.Errorf("%s: collectors.%s: must be a mapping", pos(v), k.Value))
			continue
		default:
			body := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
			for j := 0; j+1 < len(v.Content); j += 2 {
				kk, vv := v.Content[j], v.Content[j+1]
				switch kk.Value {
				case "interval", "update_timeout":
					var d time.Duration
					if err := DecodeStrict(vv, file, &d); err != nil {
						errs = append(errs, fmt.Errorf("collectors.%s.%s: %w", k.Value, kk.Value, err))
						continue
					}
					if d <= 0 {
						errs = append(errs, fmt.Errorf("%s: collectors.%s.%s: must be positive, got %s", pos(vv), k.Value, kk.Value, vv.Value))
						continue
					}
					if kk.Value == "interval" {
						sec.Interval = d
					} else {
						sec.Timeout = d
					}
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
	return errs
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

// DecodeStrict decodes n into v, failing on keys v's type does not have
// (checked recursively through structs, slices, maps and pointers, with
// yaml tags and ",inline"), and reporting every problem with file:line:col.
func DecodeStrict(n *yaml.Node, file string, v any) error {
	var errs []error
	checkKnown(n, reflect.TypeOf(v), file, "", &errs)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := n.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				errs = append(errs, fmt.Errorf("%s: %s", file, strings.TrimPrefix(e, "yaml: ")))
			}
			return errors.Join(errs...)
		}
		return fmt.Errorf("%s:%d:%d: %w", file, n.Line, n.Column, err)
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
					*errs = append(*errs, fmt.Errorf("%s:%d:%d: %s: unknown field %q", file, k.Line, k.Column, dotted(path, k.Value), k.Value))
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

package yamlnode

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Decoder decodes a YAML mapping into a Go struct by its fields' yaml tags,
// strictly and node by node, for configuration sections whose shape is a
// plain Go type (the exporter's collector sections):
//
//   - every key must name a field (unknown keys are errors that list the
//     known ones), each at most once; YAML merge keys (<<) and aliases are
//     followed as Mapping does;
//   - each value is decoded on its own, so a type error is reported at that
//     value's line and column;
//   - every problem is reported (not only the first), each an *Error, in
//     file order.
//
// Supported Go types: string, bool, the integer and float kinds,
// time.Duration (Go syntax: 30s, 1m30s), pointers, slices, maps with
// string keys, structs (yaml tag options inline, omitempty and "-"), and
// types with their own UnmarshalYAML (yaml.v3's or yaml.v2's) or
// UnmarshalText. Null leaves a value
// as it is (zero, nil). Any other type is a programming error, reported
// as such at the node.
type Decoder struct {
	// File names the file in errors.
	File string
	// Known lists keys of the top mapping that the caller reads itself:
	// they are accepted, not decoded, and named among the known keys.
	Known []string
}

// Decode decodes the node n (a mapping; null leaves v as it is) into the
// struct v points to; what names n in messages ("collectors.zfs"). The
// error joins every problem, each an *Error, sorted by position.
func (d Decoder) Decode(n *yaml.Node, what string, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("yamlnode: Decode needs a pointer to a struct, got %T", v)
	}
	s := &decodeState{file: d.File}
	s.Reader = Reader{Report: s.report, OtherKind: "an unexpected node"}
	s.structure(n, what, rv.Elem(), d.Known)
	SortErrors(s.errs)
	return errors.Join(s.errs...)
}

type decodeState struct {
	Reader
	file string
	errs []error
	// steps counts the values decoded: aliases may make a small file
	// stand for a huge value (a list of aliases of lists of aliases).
	steps int
}

// maxDecodeSteps bounds the values one Decode decodes.
const maxDecodeSteps = 1_000_000

func (s *decodeState) report(n *yaml.Node, msg string) {
	s.errs = append(s.errs, Errorf(At(s.file, n), "%s", msg))
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	// yaml.v2's interface, which yaml.v3 still calls (Prometheus'
	// model.Duration has it).
	v2UnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(unmarshal func(any) error) error
	}]()
	textType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value decodes n into v (settable), dispatching on v's type.
func (s *decodeState) value(n *yaml.Node, what string, v reflect.Value) {
	n = Resolve(n)
	if s.steps++; s.steps > maxDecodeSteps {
		if s.steps == maxDecodeSteps+1 {
			s.errorf(n, "%s: aliases expand to more than %d values", what, maxDecodeSteps)
		}
		return
	}
	if IsNull(n) {
		return
	}
	if pt := reflect.PointerTo(v.Type()); pt.Implements(unmarshalerType) || pt.Implements(v2UnmarshalerType) {
		s.unmarshaler(n, what, v)
		return
	}
	if v.Type() == durationType {
		if d, ok := s.Duration(n, what); ok {
			v.SetInt(int64(d))
		}
		return
	}
	if reflect.PointerTo(v.Type()).Implements(textType) {
		if str, ok := s.Str(n, what); ok {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(str)); err != nil {
				s.errorf(n, "%s: %v", what, err)
			}
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if v.IsNil() {
			s.value(n, what, p.Elem())
		} else {
			p.Elem().Set(v.Elem())
			s.value(n, what, p.Elem())
		}
		v.Set(p)
	case reflect.Struct:
		s.structure(n, what, v, nil)
	case reflect.Slice:
		items := s.List(n, what)
		if items == nil {
			return
		}
		out := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			s.value(item, fmt.Sprintf("%s[%d]", what, i), out.Index(i))
		}
		v.Set(out)
	case reflect.Map:
		s.mapping(n, what, v)
	case reflect.String:
		if str, ok := s.Str(n, what); ok {
			v.SetString(str)
		}
	case reflect.Bool:
		if b, ok := s.Bool(n, what); ok {
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s.number(n, what, v, "an integer", "!!int")
	case reflect.Float32, reflect.Float64:
		s.number(n, what, v, "a number", "!!int", "!!float")
	default:
		s.errorf(n, "%s: cannot decode into Go type %s (unsupported by yamlnode.Decoder)", what, v.Type())
	}
}

// number decodes a scalar of one of tags into the numeric v; yaml.v3
// checks the range.
func (s *decodeState) number(n *yaml.Node, what string, v reflect.Value, want string, tags ...string) {
	p := reflect.New(v.Type())
	if n.Kind != yaml.ScalarNode || !slices.Contains(tags, n.ShortTag()) || n.Decode(p.Interface()) != nil {
		s.errorf(n, "%s: expected %s, got %s", what, want, s.KindName(n))
		return
	}
	v.Set(p.Elem())
}

// unmarshaler lets a type with UnmarshalYAML decode its own node; its
// error is reported at the node.
func (s *decodeState) unmarshaler(n *yaml.Node, what string, v reflect.Value) {
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	if err := n.Decode(p.Interface()); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				s.errorf(n, "%s: %s", what, trimLine(e))
			}
			return
		}
		s.errorf(n, "%s: %s", what, trimLine(err.Error()))
		return
	}
	v.Set(p.Elem())
}

// trimLine drops yaml.v3's "yaml: " and "line N: " prefixes (the error is
// placed at its node).
func trimLine(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		return m[2]
	}
	return msg
}

// mapping decodes a mapping with string keys into the map v.
func (s *decodeState) mapping(n *yaml.Node, what string, v reflect.Value) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		s.errorf(n, "%s: cannot decode into Go type %s (map keys must be strings)", what, t)
		return
	}
	m := Mapping{AnyKey: true, StringKeys: true, ResolveKeys: true, Merge: true}
	fields, ok := m.Check(n, what, s.report)
	if !ok {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(fields)))
	}
	for _, k := range sortedKeys(fields) {
		f := fields[k]
		e := reflect.New(t.Elem()).Elem()
		s.value(f.Value, dotted(what, k), e)
		v.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
	}
}

// structure decodes a mapping into the struct v by its fields' yaml tags;
// known are keys accepted without a field.
func (s *decodeState) structure(n *yaml.Node, what string, v reflect.Value, known []string) {
	fields := structFields(v.Type())
	allowed := slices.Clone(known)
	for k := range fields {
		allowed = append(allowed, k)
	}
	m := Mapping{Allowed: allowed, NullIsEmpty: true, StringKeys: true, ResolveKeys: true, Merge: true}
	got, ok := m.Check(n, what, s.report)
	if !ok {
		return
	}
	for _, k := range sortedKeys(got) {
		idx, ok := fields[k]
		if !ok {
			continue // one of known
		}
		s.value(got[k].Value, dotted(what, k), fieldByIndex(v, idx))
	}
}

// fieldByIndex is v.FieldByIndex, allocating nil embedded pointers on the
// way (an inline *struct).
func fieldByIndex(v reflect.Value, idx []int) reflect.Value {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// structFields maps the yaml keys of the struct type t to field index
// paths, following yaml.v3's naming: the tag's name, else the lowercased
// field name; "-" skips a field; ",inline" lifts a struct's keys.
func structFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() != reflect.Struct {
				panic(fmt.Sprintf("yamlnode: inline field %s of %s is not a struct", f.Name, t))
			}
			for k, idx := range structFields(ft) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func dotted(what, key string) string {
	if what == "" {
		return key
	}
	return what + "." + key
}

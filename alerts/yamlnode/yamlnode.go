// Package yamlnode holds the mechanics shared by the strict decoders that
// walk gopkg.in/yaml.v3 nodes (rule files, test files, the run config, the
// exporter config): alias resolution, naming a node's kind, typed scalar
// readers, a mapping walker that checks keys and words its problems the
// same for every decoder (Mapping.Check), a decoder of mappings into Go
// structs by their yaml tags (Decoder, for the exporter's collector
// sections), and the one positioned error all of them return (Error at a
// Pos, "file:line:col: message"). Readers report problems at nodes; each
// decoder makes them Errors. Checks that run after decoding report a
// FieldError by key path; Place puts it at that value's node (Locate).
package yamlnode

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// maxAliasDepth bounds Resolve.
const maxAliasDepth = 100

// Resolve follows aliases (*name) to the node they stand for.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxAliasDepth; i++ {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is a null scalar (null, ~ or nothing).
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// KindName names n for a message: "a mapping", "a list", "null", or a
// scalar's tag and value (`int "3"`); other names any other kind.
func KindName(n *yaml.Node, other string) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if IsNull(n) {
			return "null"
		}
		return fmt.Sprintf("%s %q", strings.TrimPrefix(n.ShortTag(), "!!"), n.Value)
	}
	return other
}

// Reader reads typed values from nodes, resolving aliases first. Each
// problem goes to Report with the node it is about, as "what: message".
type Reader struct {
	// Report receives one problem at a node.
	Report func(n *yaml.Node, msg string)
	// OtherKind names a node of no known kind (KindName's other).
	OtherKind string
	// NullIsEmpty makes Str and List read null as "" and no items;
	// otherwise null is reported as the wrong type.
	NullIsEmpty bool
}

func (r Reader) errorf(n *yaml.Node, format string, args ...any) {
	r.Report(n, fmt.Sprintf(format, args...))
}

// KindName names n for a message (see KindName).
func (r Reader) KindName(n *yaml.Node) string { return KindName(n, r.OtherKind) }

// Str reads a scalar as its text.
func (r Reader) Str(n *yaml.Node, what string) (string, bool) {
	n = Resolve(n)
	if r.NullIsEmpty && IsNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode || IsNull(n) {
		r.errorf(n, "%s: expected a string, got %s", what, r.KindName(n))
		return "", false
	}
	return n.Value, true
}

// List reads a sequence's items.
func (r Reader) List(n *yaml.Node, what string) []*yaml.Node {
	n = Resolve(n)
	if r.NullIsEmpty && IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(n, "%s: expected a list, got %s", what, r.KindName(n))
		return nil
	}
	return n.Content
}

// Int reads an !!int scalar of at least min.
func (r Reader) Int(n *yaml.Node, what string, min int) (int, bool) {
	n = Resolve(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		r.errorf(n, "%s: expected an integer, got %s", what, r.KindName(n))
		return 0, false
	}
	if i < min {
		r.errorf(n, "%s: must be at least %d, got %d", what, min, i)
		return 0, false
	}
	return i, true
}

// Bool reads a !!bool scalar.
func (r Reader) Bool(n *yaml.Node, what string) (bool, bool) {
	n = Resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		r.errorf(n, "%s: expected true or false, got %s", what, r.KindName(n))
		return false, false
	}
	return b, true
}

// Duration reads a Go duration (30s, 1m30s, 1h).
func (r Reader) Duration(n *yaml.Node, what string) (time.Duration, bool) {
	n = Resolve(n)
	if n.Kind != yaml.ScalarNode || IsNull(n) {
		r.errorf(n, "%s: expected a duration like 30s or 1m, got %s", what, r.KindName(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		r.errorf(n, "%s: expected a duration like 30s or 1m, got %q", what, n.Value)
		return 0, false
	}
	return d, true
}

// PromDuration reads a duration in Prometheus' syntax (30s, 5m, 1h30m,
// 1d, 1w), as Alertmanager and VictoriaMetrics configs write them.
func (r Reader) PromDuration(n *yaml.Node, what string) (time.Duration, bool) {
	n = Resolve(n)
	if n.Kind != yaml.ScalarNode || IsNull(n) {
		r.errorf(n, "%s: expected a duration like 30s, 5m or 4h, got %s", what, r.KindName(n))
		return 0, false
	}
	d, err := model.ParseDuration(n.Value)
	if err != nil {
		r.errorf(n, "%s: expected a duration like 30s, 5m or 4h, got %q", what, n.Value)
		return 0, false
	}
	return time.Duration(d), true
}

// StrMap reads a mapping of strings to strings: its keys in file order,
// their values, and each key's node. Null is an empty mapping; a key that
// is not a scalar, a repeated key or a value that is not a string is
// reported and left out.
func (r Reader) StrMap(n *yaml.Node, what string) (keys []string, values map[string]string, nodes map[string]*yaml.Node) {
	n = Resolve(n)
	if IsNull(n) {
		return nil, nil, nil
	}
	if n.Kind != yaml.MappingNode {
		r.Report(n, NotMappingMsg(what, n))
		return nil, nil, nil
	}
	values, nodes = map[string]string{}, map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := Resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			r.errorf(k, "%s: keys must be strings, got %s", what, r.KindName(k))
			continue
		}
		if prev, dup := nodes[k.Value]; dup {
			r.Report(k, RepeatedKeyMsg(what, k.Value, prev.Line))
			continue
		}
		nodes[k.Value] = k
		v, ok := r.Str(n.Content[i+1], what+"."+k.Value)
		if !ok {
			continue
		}
		keys = append(keys, k.Value)
		values[k.Value] = v
	}
	return keys, values, nodes
}

// Field is one key of a mapping and its value (aliases resolved).
type Field struct{ Key, Value *yaml.Node }

// Problem is what Mapping.Fields found wrong.
type Problem int

// The problems of a mapping.
const (
	NotMapping   Problem = iota + 1 // Node: the value that is not a mapping
	KeyNotString                    // Node: a key that is not a scalar
	UnknownKey                      // Node: a key not in Allowed
	RepeatedKey                     // Node: the repeated key; Prev: its first use
)

// Issue is one problem of a mapping, for the caller to word.
type Issue struct {
	Problem Problem
	Node    *yaml.Node
	Prev    *yaml.Node
}

// Mapping says how Fields checks a mapping.
type Mapping struct {
	// Allowed lists the keys that may be set.
	Allowed []string
	// AnyKey accepts every key (a map of names to values): Allowed is
	// not consulted.
	AnyKey bool
	// NullIsEmpty reads null as an empty mapping; otherwise it is
	// NotMapping.
	NullIsEmpty bool
	// StringKeys reports a key that is not a scalar (KeyNotString);
	// otherwise such a key is checked by its Value like any other.
	StringKeys bool
	// ResolveKeys follows aliases used as keys before checking them.
	ResolveKeys bool
	// Merge follows YAML merge keys (<<: *base, or a list of them): their
	// mappings are checked the same way and fill in the keys not set
	// explicitly; an earlier merged mapping wins over a later one.
	Merge bool
}

// Fields returns the keys of the mapping n, each once, reporting each
// problem to report in file order (merged mappings after the explicit
// keys). ok is false when n is not a mapping.
func (m Mapping) Fields(n *yaml.Node, report func(Issue)) (fields map[string]Field, ok bool) {
	return m.fields(n, report, map[*yaml.Node]bool{})
}

// fields is Fields; merged holds the mappings merged so far in this walk:
// one merged again adds no key (its keys are all set by then), so it is
// skipped, which keeps anchors merged into anchors (<<: [*a, *a] a few
// levels deep) from taking exponential time.
func (m Mapping) fields(n *yaml.Node, report func(Issue), merged map[*yaml.Node]bool) (map[string]Field, bool) {
	n = Resolve(n)
	if m.NullIsEmpty && IsNull(n) {
		return map[string]Field{}, true
	}
	if n.Kind != yaml.MappingNode {
		report(Issue{Problem: NotMapping, Node: n})
		return nil, false
	}
	out := map[string]Field{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], Resolve(n.Content[i+1])
		if m.ResolveKeys {
			k = Resolve(k)
		}
		if m.StringKeys && k.Kind != yaml.ScalarNode {
			report(Issue{Problem: KeyNotString, Node: k})
			continue
		}
		if m.Merge && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if !m.AnyKey && !slices.Contains(m.Allowed, k.Value) {
			report(Issue{Problem: UnknownKey, Node: k})
			continue
		}
		if prev, dup := out[k.Value]; dup {
			report(Issue{Problem: RepeatedKey, Node: k, Prev: prev.Key})
			continue
		}
		out[k.Value] = Field{k, v}
	}
	for _, src := range merges {
		srcs := []*yaml.Node{src}
		if src.Kind == yaml.SequenceNode {
			srcs = src.Content
		}
		for _, s := range srcs {
			if s = Resolve(s); merged[s] {
				continue
			}
			merged[s] = true
			mf, _ := m.fields(s, report, merged)
			for k, f := range mf {
				if _, set := out[k]; !set {
					out[k] = f
				}
			}
		}
	}
	return out, true
}

// Check is Fields reporting each problem to report in the one wording all
// decoders use, what naming the mapping:
//
//	what: expected a mapping, got a list
//	what: keys must be strings, got a mapping
//	what: unknown key "x" (known: a, b, c)
//	what: key "x" repeated (first at line 3)
func (m Mapping) Check(n *yaml.Node, what string, report func(n *yaml.Node, msg string)) (map[string]Field, bool) {
	return m.Fields(n, func(is Issue) {
		k := is.Node
		switch is.Problem {
		case NotMapping:
			report(k, NotMappingMsg(what, k))
		case KeyNotString:
			report(k, fmt.Sprintf("%s: keys must be strings, got %s", what, KindName(k, "an unexpected node")))
		case UnknownKey:
			report(k, UnknownKeyMsg(what, k.Value, m.Allowed))
		case RepeatedKey:
			report(k, RepeatedKeyMsg(what, k.Value, is.Prev.Line))
		}
	})
}

// UnknownKeyMsg words an unknown key of the mapping what, listing the known
// keys sorted: what: unknown key "x" (known: a, b, c).
func UnknownKeyMsg(what, key string, known []string) string {
	list := cmp.Or(strings.Join(slices.Sorted(slices.Values(known)), ", "), "none")
	return fmt.Sprintf("%s: unknown key %q (known: %s)", what, key, list)
}

// RepeatedKeyMsg words a key set again in the mapping what, first set at
// line first: what: key "x" repeated (first at line 3).
func RepeatedKeyMsg(what, key string, first int) string {
	return fmt.Sprintf("%s: key %q repeated (first at line %d)", what, key, first)
}

// NotMappingMsg words a node n that should be the mapping what:
// what: expected a mapping, got a list.
func NotMappingMsg(what string, n *yaml.Node) string {
	return fmt.Sprintf("%s: expected a mapping, got %s", what, KindName(n, "an unexpected node"))
}

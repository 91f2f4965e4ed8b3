package yamlnode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is a problem with a decoded value found after decoding (by a
// configuration's Validate method), named by the key path of the field
// relative to the decoded mapping, as the decoders' messages write it:
// keys joined by dots, list items as [i] ("repositories[0].tool"); ""
// is the mapping itself. Place puts it at the field's file:line:col.
type FieldError struct {
	Path string
	Msg  string
}

// FieldErrorf returns a FieldError about the field at path.
func FieldErrorf(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Place turns the problems of err (an errors.Join of them, or one) about
// the mapping n of file, decoded as what ("collectors.backup"), into
// Errors in file order, each worded "what.path: message":
//
//   - a *FieldError at the value its path names (Locate), or, when the
//     path leads to a key that is not set, at the mapping that lacks it
//     (a list-level problem at the list, a whole-mapping one at n);
//   - an Error as it is;
//   - any other error, and every problem when n is nil (an empty
//     section), at fallback (the key that holds n).
func Place(file string, n *yaml.Node, what string, fallback Pos, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range flatten(err) {
		var pe *Error
		switch fe, isField := e.(*FieldError); {
		case isField:
			at := fallback
			if n != nil {
				node, _ := Locate(n, fe.Path)
				at = At(file, node)
			}
			out = append(out, Errorf(at, "%s: %s", joinPath(what, fe.Path), fe.Msg))
		case errors.As(e, &pe):
			out = append(out, e)
		default:
			out = append(out, Errorf(fallback, "%s: %v", what, e))
		}
	}
	SortErrors(out)
	return errors.Join(out...)
}

// flatten splits nested errors.Join values into their parts.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// joinPath appends a field path to what: "a" + "b[0].c" is "a.b[0].c",
// "a" + "[1]" is "a[1]".
func joinPath(what, path string) string {
	switch {
	case path == "":
		return what
	case what == "" || strings.HasPrefix(path, "["):
		return what + path
	}
	return what + "." + path
}

// Locate returns the node that the key path (see FieldError) names below
// n, following aliases and merge keys (<<) as Decoder does, and whether
// the whole path is there. When it is not (a key not set, an item past the
// end of a list, a path that does not parse), node is the deepest node on
// the way: the mapping that lacks the key, the list, or n.
func Locate(n *yaml.Node, path string) (node *yaml.Node, found bool) {
	node = Resolve(n)
	steps, ok := parsePath(path)
	if !ok {
		return node, false
	}
	for _, st := range steps {
		var next *yaml.Node
		switch {
		case st.key != nil && node.Kind == yaml.MappingNode:
			m := Mapping{AnyKey: true, ResolveKeys: true, Merge: true}
			fields, _ := m.Fields(node, func(Issue) {})
			if f, set := fields[*st.key]; set {
				next = f.Value
			}
		case st.key == nil && node.Kind == yaml.SequenceNode && st.index < len(node.Content):
			next = Resolve(node.Content[st.index])
		}
		if next == nil {
			return node, false
		}
		node = next
	}
	return node, true
}

// pathStep is one step of a key path: a mapping key, or (key nil) a list
// index.
type pathStep struct {
	key   *string
	index int
}

// parsePath splits "a.b[0][1].c" into a, b, [0], [1], c; ok is false for
// a path that is not of that form (an empty key, a bad index).
func parsePath(path string) (steps []pathStep, ok bool) {
	if path == "" {
		return nil, true
	}
	for i, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key == "" && (i > 0 || rest == "") {
			return nil, false
		}
		if key != "" {
			steps = append(steps, pathStep{key: &key})
		}
		if rest == "" {
			continue
		}
		for _, ix := range strings.Split(strings.TrimSuffix(rest, "]"), "][") {
			n, err := strconv.Atoi(ix)
			if err != nil || n < 0 || !strings.HasSuffix(rest, "]") {
				return nil, false
			}
			steps = append(steps, pathStep{index: n})
		}
	}
	return steps, true
}

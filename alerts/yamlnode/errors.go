package yamlnode

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pos is a position in a file, 1-based. Line 0 stands for the whole file,
// Col 0 for a line whose column the parser does not give (YAML syntax
// errors).
type Pos struct {
	File      string
	Line, Col int
}

// At is the position of node n in file.
func At(file string, n *yaml.Node) Pos { return Pos{File: file, Line: n.Line, Col: n.Column} }

// String renders the position as file:line:col; an unknown line or column
// is left out rather than made up (file, file:line).
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Compare orders positions by file, line and column.
func (p Pos) Compare(q Pos) int {
	return cmp.Or(strings.Compare(p.File, q.File), cmp.Compare(p.Line, q.Line), cmp.Compare(p.Col, q.Col))
}

// Error is one problem at a position of a file, rendered as
// "file:line:col: message".
type Error struct {
	Pos Pos
	Msg string
}

// Errorf returns an Error at p.
func Errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// SortErrors orders errors by position, keeping the order of equal
// positions; an error that is not an *Error keeps its place relative to
// its neighbours.
func SortErrors[E error](errs []E) {
	slices.SortStableFunc(errs, func(a, b E) int {
		var ea, eb error = a, b
		pa, oka := ea.(*Error)
		pb, okb := eb.(*Error)
		if !oka || !okb {
			return 0
		}
		return pa.Pos.Compare(pb.Pos)
	})
}

// SyntaxError turns an error of gopkg.in/yaml.v3's parser into an Error
// in file: at the line the parser names (it gives no column), or at the
// file when it names none.
func SyntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Errorf(Pos{File: file, Line: line}, "invalid YAML: %s", m[2])
	}
	return Errorf(Pos{File: file}, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// DecodeErrors turns the error of n.Decode (a reflection-based decode of
// the node n of file: for a foreign type decoded whole, such as
// Alertmanager's time intervals; a struct of our own goes through Decoder,
// which places each error at its column) into Errors: one per problem of
// a *yaml.TypeError at the line yaml.v3 names (it gives no column), else
// one at n.
func DecodeErrors(file string, n *yaml.Node, err error) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{Errorf(At(file, n), "%s", strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	out := make([]error, 0, len(te.Errors))
	for _, e := range te.Errors {
		if m := lineRE.FindStringSubmatch(e); m != nil {
			line, _ := strconv.Atoi(m[1])
			out = append(out, Errorf(Pos{File: file, Line: line}, "%s", m[2]))
		} else {
			out = append(out, Errorf(At(file, n), "%s", strings.TrimPrefix(e, "yaml: ")))
		}
	}
	return out
}

// Document parses data, the content of file, as exactly one YAML document
// and returns its top node: nil for an empty file (or one of only
// comments); a syntax error or a second document is an *Error.
func Document(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, SyntaxError(file, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, Errorf(At(file, &extra), "more than one YAML document")
	case !errors.Is(err, io.EOF):
		return nil, SyntaxError(file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

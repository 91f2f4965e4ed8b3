// Package tmpl renders vmalert-compatible label and annotation templates:
// Go text/template with vmalert's header variables ($labels, $value, $expr,
// ...) and its function set (humanize, query, first, ...).
//
// Parse checks a template at load time: syntax, undefined variables and
// functions, fields of the alert data that do not exist and {{template}}
// calls of undefined templates are all errors before any alert fires.
package tmpl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/hlalert/hlalert/alerts/series"
)

// QueryFunc runs an instant query for the query template function.
type QueryFunc func(ctx context.Context, expr string) (series.Vector, error)

// Data is what a template sees: the alert and its evaluation context.
type Data struct {
	Labels         map[string]string
	Value          float64
	Expr           string
	ActiveAt       time.Time
	For            time.Duration
	AlertID        uint64
	GroupID        uint64
	ExternalLabels map[string]string
	ExternalURL    string

	// Type is the group's datasource type ($type), e.g. "prometheus".
	Type string
	// Interval is the group's evaluation interval ($interval).
	Interval time.Duration
	// IsPartial tells whether the query result was partial ($isPartial).
	IsPartial bool
	// Now is the evaluation time the now function returns; zero means the
	// wall clock at execution.
	Now time.Time
}

// execData mirrors the fields vmalert exposes to templates (its tplData):
// these and only these names can follow a top-level dot.
type execData struct {
	Type           string
	Labels         map[string]string
	Value          float64
	Expr           string
	Interval       time.Duration
	AlertID        uint64
	GroupID        uint64
	ActiveAt       time.Time
	For            time.Duration
	IsPartial      bool
	ExternalLabels map[string]string
	ExternalURL    string
}

var dataFields = map[string]bool{
	"Type": true, "Labels": true, "Value": true, "Expr": true, "Interval": true,
	"AlertID": true, "GroupID": true, "ActiveAt": true, "For": true,
	"IsPartial": true, "ExternalLabels": true, "ExternalURL": true,
}

// header declares vmalert's template variables. It is kept on one line so
// that line numbers in the user's text are unchanged.
const header = `{{ $value := .Value }}{{ $type := .Type }}{{ $labels := .Labels }}` +
	`{{ $expr := .Expr }}{{ $interval := .Interval }}{{ $externalLabels := .ExternalLabels }}` +
	`{{ $externalURL := .ExternalURL }}{{ $alertID := .AlertID }}{{ $groupID := .GroupID }}` +
	`{{ $activeAt := .ActiveAt }}{{ $for := .For }}{{ $isPartial := .IsPartial }}`

// tplName is the internal text/template name; errors are rewritten to
// carry the caller's name.
const tplName = "t"

// Error is a template problem at a position in the template text. Line and
// Col are 1-based; Col is 0 when text/template does not say.
type Error struct {
	Name      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Col == 0 {
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Col, e.Msg)
}

// Template is a parsed and checked template, safe for concurrent Execute.
type Template struct {
	name string
	text string
	t    *template.Template // nil: text has no actions and renders verbatim

	// slots holds clones of t whose functions are bound to a reusable
	// environment, so an execution neither clones nor rebuilds the
	// function map.
	slots sync.Pool
}

// slot is a clone of the template bound to its own environment.
type slot struct {
	t   *template.Template
	env *execEnv
}

// Parse parses text as a vmalert label or annotation template. As in
// vmalert, a text without both "{{" and "}}" is not a template and renders
// verbatim.
func Parse(name, text string) (*Template, error) {
	tp := &Template{name: name, text: text}
	if !strings.Contains(text, "{{") || !strings.Contains(text, "}}") {
		return tp, nil
	}
	t, err := template.New(tplName).Option("missingkey=zero").Funcs(funcs(&execEnv{})).Parse(header + text)
	if err != nil {
		return nil, parseError(name, text, err)
	}
	if err := checkTree(name, text, t); err != nil {
		return nil, err
	}
	tp.t = t
	return tp, nil
}

// Name is the name given to Parse.
func (t *Template) Name() string { return t.name }

// Text is the template's source text.
func (t *Template) Text() string { return t.text }

// Execute renders the template for one alert. q serves the query
// function; with a nil q, query fails as vmalert's does without a
// datasource.
func (t *Template) Execute(ctx context.Context, d Data, q QueryFunc) (string, error) {
	if t.t == nil {
		return t.text, nil
	}
	sl, _ := t.slots.Get().(*slot)
	if sl == nil {
		c, err := t.t.Clone()
		if err != nil {
			return "", fmt.Errorf("template %s: clone: %w", t.name, err)
		}
		sl = &slot{env: &execEnv{}}
		sl.t = c.Option("missingkey=zero").Funcs(funcs(sl.env))
	}
	*sl.env = execEnv{ctx: ctx, query: q, data: &d}
	defer func() {
		*sl.env = execEnv{} // keep no context or data alive in the pool
		t.slots.Put(sl)
	}()
	var buf bytes.Buffer
	err := sl.t.Execute(&buf, execData{
		Type: d.Type, Labels: d.Labels, Value: d.Value, Expr: d.Expr, Interval: d.Interval,
		AlertID: d.AlertID, GroupID: d.GroupID, ActiveAt: d.ActiveAt, For: d.For,
		IsPartial: d.IsPartial, ExternalLabels: d.ExternalLabels, ExternalURL: d.ExternalURL,
	})
	if err != nil {
		return "", execError(t.name, t.text, err)
	}
	return buf.String(), nil
}

var (
	parseErrRE = regexp.MustCompile(`^template: ` + tplName + `:(\d+): (.*)$`)
	execErrRE  = regexp.MustCompile(`^template: ` + tplName + `:(\d+):(\d+): executing "` + tplName + `" at (<.*?>): (.*)$`)
	funcErrRE  = regexp.MustCompile(`^function "([^"]+)" not defined$`)
	varErrRE   = regexp.MustCompile(`^undefined variable "([^"]+)"$`)
)

// parseError turns a text/template parse error into an *Error with the
// line (and, for undefined names, the column) in the user's text.
func parseError(name, text string, err error) error {
	m := parseErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{Name: name, Line: 1, Msg: err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	msg := m[2]
	e := &Error{Name: name, Line: line, Msg: msg}
	var ident string
	if fm := funcErrRE.FindStringSubmatch(msg); fm != nil {
		ident = fm[1]
	} else if vm := varErrRE.FindStringSubmatch(msg); vm != nil {
		ident = vm[1]
	}
	if ident != "" {
		e.Col = findInLine(text, line, ident)
	}
	return e
}

// execError turns a text/template execution error into an *Error at the
// action that failed.
func execError(name, text string, err error) error {
	var ee template.ExecError
	msg := err.Error()
	if errors.As(err, &ee) {
		msg = ee.Err.Error()
	}
	m := execErrRE.FindStringSubmatch(msg)
	if m == nil {
		return &Error{Name: name, Line: 1, Msg: strings.TrimPrefix(msg, "template: "+tplName+": ")}
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2]) // 0-based byte column, header included on line 1
	if line == 1 {
		col -= len(header)
	}
	return &Error{Name: name, Line: line, Col: runeCol(text, line, col), Msg: "at " + m[3] + ": " + m[4]}
}

// runeCol turns a 0-based byte column on a 1-based line of text into a
// 1-based rune column; 0 when out of range.
func runeCol(text string, line, byteCol int) int {
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) || byteCol < 0 || byteCol > len(lines[line-1]) {
		return 0
	}
	return utf8.RuneCountInString(lines[line-1][:byteCol]) + 1
}

// findInLine returns the 1-based column (in runes) of the first whole
// occurrence of ident on the given 1-based line of text, or 0.
func findInLine(text string, line int, ident string) int {
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) {
		return 0
	}
	l := lines[line-1]
	for from := 0; from < len(l); {
		i := strings.Index(l[from:], ident)
		if i < 0 {
			return 0
		}
		i += from
		end := i + len(ident)
		if (i == 0 || !isWordByte(l[i-1]) && l[i-1] != '$' && l[i-1] != '.') && (end == len(l) || !isWordByte(l[end])) {
			return len([]rune(l[:i])) + 1
		}
		from = i + 1
	}
	return 0
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// checkTree rejects what text/template only finds at execution: a field of
// the alert data that does not exist ({{ .Lables }}) and a {{template}} of
// an undefined template.
func checkTree(name, text string, t *template.Template) error {
	c := checker{name: name, text: text, t: t}
	c.list(t.Tree.Root, true)
	return c.err
}

type checker struct {
	name, text string
	t          *template.Template
	err        error
}

func (c *checker) fail(pos parse.Pos, ident, format string, args ...any) {
	if c.err != nil {
		return
	}
	// text/template positions are byte offsets into the parsed text.
	off := int(pos) - len(header)
	if off < 0 || off > len(c.text) {
		off = 0
	}
	line := 1 + strings.Count(c.text[:off], "\n")
	col := findInLine(c.text, line, ident)
	c.err = &Error{Name: c.name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// list walks a node list; dotIsData tells whether "." is still the alert
// data (not inside range or with).
func (c *checker) list(l *parse.ListNode, dotIsData bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		c.node(n, dotIsData)
	}
}

func (c *checker) node(n parse.Node, dotIsData bool) {
	switch n := n.(type) {
	case *parse.ActionNode:
		c.pipe(n.Pipe, dotIsData)
	case *parse.IfNode:
		c.pipe(n.Pipe, dotIsData)
		c.list(n.List, dotIsData)
		c.list(n.ElseList, dotIsData)
	case *parse.RangeNode:
		c.pipe(n.Pipe, dotIsData)
		c.list(n.List, false)
		c.list(n.ElseList, dotIsData)
	case *parse.WithNode:
		c.pipe(n.Pipe, dotIsData)
		c.list(n.List, false)
		c.list(n.ElseList, dotIsData)
	case *parse.TemplateNode:
		if c.t.Lookup(n.Name) == nil {
			c.fail(n.Position(), strconv.Quote(n.Name), "template %q not defined (hlalert does not load vmalert's -rule.templates files)", n.Name)
		}
		c.pipe(n.Pipe, dotIsData)
	case *parse.ListNode:
		c.list(n, dotIsData)
	}
}

func (c *checker) pipe(p *parse.PipeNode, dotIsData bool) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			c.arg(arg, dotIsData)
		}
	}
}

func (c *checker) arg(a parse.Node, dotIsData bool) {
	switch a := a.(type) {
	case *parse.FieldNode:
		if dotIsData && !dataFields[a.Ident[0]] {
			c.fail(a.Position(), "."+a.Ident[0], "field %q not defined: the alert data has %s", a.Ident[0], fieldList())
		}
	case *parse.VariableNode:
		if a.Ident[0] == "$" && len(a.Ident) > 1 && !dataFields[a.Ident[1]] {
			c.fail(a.Position(), "$."+a.Ident[1], "field %q not defined: the alert data has %s", a.Ident[1], fieldList())
		}
	case *parse.ChainNode:
		c.arg(a.Node, dotIsData)
	case *parse.PipeNode:
		c.pipe(a, dotIsData)
	}
}

func fieldList() string {
	return "Labels, Value, Expr, Type, Interval, AlertID, GroupID, ActiveAt, For, IsPartial, ExternalLabels, ExternalURL"
}

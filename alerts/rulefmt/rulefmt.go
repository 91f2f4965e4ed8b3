// Package rulefmt reads vmalert/Prometheus rule-group files: strict decoding
// with file:line:col positions, every error reported, templates checked.
package rulefmt

import (
	"fmt"
	"time"
)

// Pos is a position in a file, 1-based.
type Pos struct {
	File      string
	Line, Col int
}

// String renders the position as file:line:col; a zero column (unknown,
// e.g. in YAML syntax errors) is left out rather than made up.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem in a rule file, at a position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// File is one rule file.
type File struct {
	Path   string
	Groups []Group
	// Warnings are problems that vmalert accepts but that are likely
	// mistakes (e.g. an annotation name Prometheus would reject).
	Warnings []*Error
}

// Header is an HTTP header of vmalert's headers / notifier_headers.
type Header struct {
	Key, Value string
}

// Group is a rule group.
type Group struct {
	Pos         Pos
	Name        string
	Type        string        // "metricsql" (default, also "prometheus") or "logql"
	Interval    time.Duration // 0: the caller's default
	EvalOffset  time.Duration
	Limit       int
	Concurrency int
	Labels      map[string]string
	Params      map[string][]string // extra query params (vmalert's params)
	Rules       []Rule

	// vmalert keys hlalert accepts and carries.
	EvalDelay       time.Duration
	EvalAlignment   *bool
	Headers         []Header
	NotifierHeaders []Header
	Debug           bool

	IntervalPos Pos // where interval is set; Pos when unset
}

// Rule is an alerting rule (Alert set) or a recording rule (Record set).
type Rule struct {
	Pos           Pos
	Alert         string
	Record        string
	Expr          string
	ExprPos       Pos // where the expression text starts
	For           time.Duration
	KeepFiringFor time.Duration
	Labels        map[string]string
	Annotations   map[string]string

	// vmalert keys hlalert accepts and carries.
	Debug              *bool
	UpdateEntriesLimit *int

	ForPos         Pos            // where for is set; Pos when unset
	LabelPos       map[string]Pos // where each label's value is
	AnnotationsPos Pos            // where annotations is; Pos when unset
	AnnotationPos  map[string]Pos `json:"-"` // where each annotation's value is

	exprPos []Pos // position of each byte of Expr in the file, zero when unknown
}

// ExprOffsetPos maps a byte offset in Expr to its position in the file. It
// falls back to ExprPos when the expression text is not a 1:1 copy of the
// file (quoted scalars with escapes) or the offset is out of range.
func (r Rule) ExprOffsetPos(off int) Pos {
	if off >= 0 && off < len(r.exprPos) && r.exprPos[off].Line != 0 {
		return r.exprPos[off]
	}
	return r.ExprPos
}

// What names the rule in messages: alerting rule "X" or recording rule "x".
func (r Rule) What() string {
	if r.Alert != "" {
		return fmt.Sprintf("alerting rule %q", r.Alert)
	}
	return fmt.Sprintf("recording rule %q", r.Record)
}

// Name is the alert or record name.
func (r Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

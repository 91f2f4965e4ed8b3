// Package rulefmt reads vmalert/Prometheus rule-group files: strict decoding
// with file:line:col positions, every error reported, templates checked.
// Its errors and warnings are *yamlnode.Error.
package rulefmt

import (
	"fmt"
	"time"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// File is one rule file.
type File struct {
	Path   string
	Groups []Group
	// Warnings are problems that vmalert accepts but that are likely
	// mistakes (e.g. an annotation name Prometheus would reject).
	Warnings []*yamlnode.Error
}

// Header is an HTTP header of vmalert's headers / notifier_headers.
type Header struct {
	Key, Value string
}

// Group is a rule group.
type Group struct {
	Pos         yamlnode.Pos
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

	IntervalPos yamlnode.Pos // where interval is set; Pos when unset
}

// Rule is an alerting rule (Alert set) or a recording rule (Record set).
type Rule struct {
	Pos           yamlnode.Pos
	Alert         string
	Record        string
	Expr          string
	ExprPos       yamlnode.Pos // where the expression text starts
	For           time.Duration
	KeepFiringFor time.Duration
	Labels        map[string]string
	Annotations   map[string]string

	// vmalert keys hlalert accepts and carries.
	Debug              *bool
	UpdateEntriesLimit *int

	ForPos         yamlnode.Pos            // where for is set; Pos when unset
	LabelPos       map[string]yamlnode.Pos // where each label's value is
	AnnotationsPos yamlnode.Pos            // where annotations is; Pos when unset
	AnnotationPos  map[string]yamlnode.Pos `json:"-"` // where each annotation's value is

	exprPos []yamlnode.Pos // position of each byte of Expr in the file, zero when unknown
}

// ExprOffsetPos maps a byte offset in Expr to its position in the file. It
// falls back to ExprPos when the expression text is not a 1:1 copy of the
// file (quoted scalars with escapes) or the offset is out of range.
func (r Rule) ExprOffsetPos(off int) yamlnode.Pos {
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

// Package rulefmt reads vmalert/Prometheus rule-group files: strict decoding
// with file:line:col positions, every error reported, templates checked.
package rulefmt

import "time"

// Pos is a position in a file, 1-based.
type Pos struct {
	File      string
	Line, Col int
}

// File is one rule file.
type File struct {
	Path   string
	Groups []Group
}

// Group is a rule group.
type Group struct {
	Pos         Pos
	Name        string
	Type        string // "metricsql" (default, also "prometheus") or "logql"
	Interval    time.Duration // 0: the caller's default
	EvalOffset  time.Duration
	Limit       int
	Concurrency int
	Labels      map[string]string
	Params      map[string][]string // extra query params (vmalert's params)
	Rules       []Rule
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
}

// Name is the alert or record name.
func (r Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

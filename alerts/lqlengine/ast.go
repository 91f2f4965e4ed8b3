package lqlengine

import (
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// Expr is a parsed LogQL expression: a *LogExpr (a log query) or one of the
// metric expressions (*RangeAggr, *VectorAggr, *BinOp, *Literal, *VectorLit,
// *LabelReplace).
type Expr interface {
	expr()
}

// IsLogQuery tells whether e returns log lines rather than samples.
func IsLogQuery(e Expr) bool {
	_, ok := e.(*LogExpr)
	return ok
}

// LogExpr is a stream selector and its pipeline: {job="app"} |= "x" | json.
type LogExpr struct {
	Matchers []series.Matcher
	Stages   []Stage
}

// Stage is one step of a pipeline: *LineFilter, *Parser, *LabelFilterStage,
// *LineFormat, *LabelFormat, *DropKeep or *Decolorize.
type Stage interface {
	stage()
}

// Line filter operators.
const (
	OpContains      = "|="
	OpNotContains   = "!="
	OpMatch         = "|~"
	OpNotMatch      = "!~"
	OpPattern       = "|>"
	OpNotPattern    = "!>"
	parserJSON      = "json"
	parserLogfmt    = "logfmt"
	parserRegexp    = "regexp"
	parserPattern   = "pattern"
	parserUnpack    = "unpack"
	convBytes       = "bytes"
	convDuration    = "duration"
	convDurationSec = "duration_seconds"
)

// LineFilter keeps the lines a filter accepts. With several Values (the
// `or` form) a positive operator accepts a line that any value matches and a
// negative one a line that no value matches.
type LineFilter struct {
	Op     string // |= != |~ !~ |> !>
	Values []FilterValue
}

// FilterValue is one operand of a line filter: a string, or ip("...").
type FilterValue struct {
	Value string
	IP    bool
}

// Parser extracts labels from the line: json, logfmt, regexp, pattern or
// unpack.
type Parser struct {
	Kind        string // json logfmt regexp pattern unpack
	Param       string // the regexp or the pattern
	Strict      bool   // logfmt --strict
	KeepEmpty   bool   // logfmt --keep-empty
	Extractions []Extraction
}

// Extraction is one `label="expression"` parameter of json or logfmt.
type Extraction struct {
	Label, Expr string
}

// LabelFilterStage keeps the lines whose labels pass a filter.
type LabelFilterStage struct {
	Filter LabelFilter
}

// LabelFilter is a predicate over labels: *LabelMatch, *NumericFilter,
// *DurationFilter, *BytesFilter, *IPLabelFilter, *BinaryLabelFilter.
type LabelFilter interface {
	labelFilter()
}

// LabelMatch compares a label's value as a string: name="v", =~, !=, !~.
type LabelMatch struct {
	Matcher series.Matcher
}

// Comparison operators of numeric, duration and bytes label filters.
const (
	CmpEQ  = "=="
	CmpNE  = "!="
	CmpGT  = ">"
	CmpGTE = ">="
	CmpLT  = "<"
	CmpLTE = "<="
)

// NumericFilter compares a label parsed as a float.
type NumericFilter struct {
	Name  string
	Op    string
	Value float64
}

// DurationFilter compares a label parsed as a Go duration.
type DurationFilter struct {
	Name  string
	Op    string
	Value time.Duration
}

// BytesFilter compares a label parsed as a humanized byte size.
type BytesFilter struct {
	Name  string
	Op    string
	Value uint64
}

// IPLabelFilter matches a label holding an IP against ip("pattern").
type IPLabelFilter struct {
	Name    string
	Negate  bool
	Pattern string
}

// BinaryLabelFilter joins two filters with and/or.
type BinaryLabelFilter struct {
	And         bool
	Left, Right LabelFilter
}

// LineFormat rewrites the line with a text/template.
type LineFormat struct {
	Template string
}

// LabelFormat renames labels or sets them from templates.
type LabelFormat struct {
	Items []LabelFmt
}

// LabelFmt is dst=src (rename) or dst="template".
type LabelFmt struct {
	Dst, Src string
	Rename   bool
}

// DropKeep is `drop` (Keep false) or `keep` (Keep true).
type DropKeep struct {
	Keep  bool
	Items []NamedMatcher
}

// NamedMatcher is a bare label name or a matcher in drop/keep.
type NamedMatcher struct {
	Name    string
	Matcher *series.Matcher
}

// Decolorize strips ANSI color sequences from the line.
type Decolorize struct{}

// LogRange is the argument of a range aggregation: a log query over a
// window, optionally offset, optionally unwrapping a label into the sample
// value.
type LogRange struct {
	Log    *LogExpr
	Range  time.Duration
	Offset time.Duration
	Unwrap *Unwrap
}

// Unwrap takes the sample value from a label.
type Unwrap struct {
	Label       string
	Conv        string // "", bytes, duration, duration_seconds
	PostFilters []LabelFilter
}

// Grouping is by (...) or without (...).
type Grouping struct {
	Without bool
	Labels  []string
}

// RangeAggr is a range aggregation: count_over_time({...}[5m]).
type RangeAggr struct {
	Op       string
	Param    *float64 // quantile_over_time's φ
	Range    *LogRange
	Grouping *Grouping
}

// VectorAggr is sum/avg/min/max/count/stddev/stdvar/topk/bottomk/sort/sort_desc.
type VectorAggr struct {
	Op       string
	Param    int // topk/bottomk's k
	Inner    Expr
	Grouping *Grouping
}

// BinOp is a binary operation with its matching modifiers.
type BinOp struct {
	Op       string
	LHS, RHS Expr
	Bool     bool
	Matching VectorMatching
}

// VectorMatching is on/ignoring and group_left/group_right.
type VectorMatching struct {
	On      bool
	Labels  []string
	Card    string // "" (one-to-one), group_left, group_right
	Include []string
}

// Literal is a number.
type Literal struct {
	Value float64
}

// VectorLit is vector(N).
type VectorLit struct {
	Value float64
}

// LabelReplace is label_replace(inner, dst, replacement, src, regex).
type LabelReplace struct {
	Inner                 Expr
	Dst, Replacement, Src string
	Regex                 string
}

func (*LogExpr) expr()      {}
func (*RangeAggr) expr()    {}
func (*VectorAggr) expr()   {}
func (*BinOp) expr()        {}
func (*Literal) expr()      {}
func (*VectorLit) expr()    {}
func (*LabelReplace) expr() {}

func (*LineFilter) stage()       {}
func (*Parser) stage()           {}
func (*LabelFilterStage) stage() {}
func (*LineFormat) stage()       {}
func (*LabelFormat) stage()      {}
func (*DropKeep) stage()         {}
func (*Decolorize) stage()       {}

func (*LabelMatch) labelFilter()        {}
func (*NumericFilter) labelFilter()     {}
func (*DurationFilter) labelFilter()    {}
func (*BytesFilter) labelFilter()       {}
func (*IPLabelFilter) labelFilter()     {}
func (*BinaryLabelFilter) labelFilter() {}

// Walk calls fn for e and every expression below it, parents first.
func Walk(e Expr, fn func(Expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch n := e.(type) {
	case *VectorAggr:
		Walk(n.Inner, fn)
	case *BinOp:
		Walk(n.LHS, fn)
		Walk(n.RHS, fn)
	case *LabelReplace:
		Walk(n.Inner, fn)
	case *RangeAggr:
		Walk(n.Range.Log, fn)
	}
}

package lqlengine

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/hlalert/hlalert/alerts/series"
)

// maxInputSize is Loki's bound on a query's length.
const maxInputSize = 128 * 1024

// Parse parses a LogQL expression as Loki v3.7.8 does, including Loki's
// validation (a selector needs a non-empty-compatible matcher, groupings
// and unwrap only where allowed, ...). Errors are *ParseError.
func Parse(expr string) (Expr, error) {
	if len(expr) >= maxInputSize {
		return nil, &ParseError{Msg: fmt.Sprintf("input size too long (%d > %d)", len(expr), maxInputSize)}
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{src: expr, toks: toks}
	e, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	if err := validate(e); err != nil {
		return nil, err
	}
	return e, nil
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (t token) is(kind tokKind, text string) bool { return t.kind == kind && t.text == text }
func (t token) isOp(text string) bool             { return t.kind == tOp && t.text == text }

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tIdent:
		return "IDENTIFIER " + strconv.Quote(t.text)
	case tString:
		return "STRING " + t.text
	case tNumber:
		return "NUMBER " + t.text
	case tDuration:
		return "DURATION"
	case tBytes:
		return "BYTES"
	case tRange:
		return "RANGE"
	case tFlag:
		return "flag " + t.text
	default:
		return strconv.Quote(t.text)
	}
}

func (p *parser) unexpected(t token) error {
	return errAt(p.src, t.pos, "syntax error: unexpected %s", describe(t))
}

func (p *parser) expected(t token, what string) error {
	return errAt(p.src, t.pos, "syntax error: unexpected %s, expecting %s", describe(t), what)
}

func (p *parser) expectOp(text string) error {
	if t := p.peek(); !t.isOp(text) {
		return p.expected(t, strconv.Quote(text))
	}
	p.advance()
	return nil
}

func (p *parser) expectString() (string, error) {
	t := p.peek()
	if t.kind != tString {
		return "", p.expected(t, "STRING")
	}
	p.advance()
	return t.str, nil
}

// binary operator precedences (Loki's grammar: or < and,unless < comparisons
// < +,- < *,/,% < ^ (right-associative)).
func binPrec(t token) int {
	switch {
	case t.is(tKeyword, "or"):
		return 1
	case t.is(tKeyword, "and"), t.is(tKeyword, "unless"):
		return 2
	case t.kind == tOp:
		switch t.text {
		case "==", "!=", "<", "<=", ">", ">=":
			return 3
		case "+", "-":
			return 4
		case "*", "/", "%":
			return 5
		case "^":
			return 6
		}
	}
	return 0
}

func (p *parser) parseExpr(minPrec int) (Expr, error) {
	lhs, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec := binPrec(t)
		if prec == 0 || prec < minPrec {
			return lhs, nil
		}
		p.advance()
		op := t.text
		b := &BinOp{Op: op}
		if err := p.parseBinModifiers(b); err != nil {
			return nil, err
		}
		next := prec + 1
		if op == "^" {
			next = prec
		}
		rhs, err := p.parseExpr(next)
		if err != nil {
			return nil, err
		}
		b.LHS, b.RHS = lhs, rhs
		lhs, err = newBinOp(b)
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseBinModifiers(b *BinOp) error {
	if p.peek().is(tKeyword, "bool") {
		p.advance()
		b.Bool = true
	}
	t := p.peek()
	if !t.is(tKeyword, "on") && !t.is(tKeyword, "ignoring") {
		return nil
	}
	p.advance()
	b.Matching.On = t.text == "on"
	ls, err := p.parseLabelList()
	if err != nil {
		return err
	}
	b.Matching.Labels = ls
	t = p.peek()
	if !t.is(tKeyword, "group_left") && !t.is(tKeyword, "group_right") {
		return nil
	}
	p.advance()
	b.Matching.Card = t.text
	if p.peek().isOp("(") {
		inc, err := p.parseLabelList()
		if err != nil {
			return err
		}
		b.Matching.Include = inc
	}
	return nil
}

// parseLabelList reads ( a, b, c ) or ( ).
func (p *parser) parseLabelList() ([]string, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var out []string
	if p.peek().isOp(")") {
		p.advance()
		return out, nil
	}
	for {
		t := p.peek()
		if t.kind != tIdent {
			return nil, p.expected(t, "IDENTIFIER")
		}
		p.advance()
		out = append(out, t.text)
		t = p.advance()
		if t.isOp(")") {
			return out, nil
		}
		if !t.isOp(",") {
			return nil, p.expected(t, `"," or ")"`)
		}
	}
}

func isLogical(op string) bool { return op == "or" || op == "and" || op == "unless" }

func isComparison(op string) bool {
	switch op {
	case "==", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// newBinOp validates a binary operation as Loki's grammar does and folds
// two literals into one.
func newBinOp(b *BinOp) (Expr, error) {
	if _, ok := b.LHS.(*LogExpr); ok {
		return nil, &ParseError{Msg: fmt.Sprintf("unexpected type for left leg of binary operation (%s): *syntax.PipelineExpr", b.Op)}
	}
	if _, ok := b.RHS.(*LogExpr); ok {
		return nil, &ParseError{Msg: fmt.Sprintf("unexpected type for right leg of binary operation (%s): *syntax.PipelineExpr", b.Op)}
	}
	l, lok := b.LHS.(*Literal)
	r, rok := b.RHS.(*Literal)
	if isLogical(b.Op) {
		if lok {
			return nil, &ParseError{Msg: fmt.Sprintf("unexpected literal for left leg of logical/set binary operation (%s): %f", b.Op, l.Value)}
		}
		if rok {
			return nil, &ParseError{Msg: fmt.Sprintf("unexpected literal for right leg of logical/set binary operation (%s): %f", b.Op, r.Value)}
		}
	}
	if lok && rok {
		v, keep := applyOp(b.Op, l.Value, r.Value, false, false)
		if !keep {
			// Loki folds a false comparison of two literals to no sample
			// at all; keep the value it returns.
			v = 0
		}
		return &Literal{Value: v}, nil
	}
	return b, nil
}

func (p *parser) parseUnary() (Expr, error) {
	t := p.peek()
	switch {
	case t.kind == tNumber:
		p.advance()
		return p.literal(t, false)
	case t.isOp("+") || t.isOp("-"):
		n := p.peekAt(1)
		if n.kind != tNumber {
			return nil, p.unexpected(t)
		}
		p.advance()
		p.advance()
		return p.literal(n, t.text == "-")
	case t.isOp("{"):
		return p.parseLogExpr()
	case t.isOp("("):
		p.advance()
		e, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return e, nil
	case t.kind == tFunc:
		return p.parseFunc()
	}
	return nil, p.unexpected(t)
}

func (p *parser) literal(t token, neg bool) (Expr, error) {
	v, err := parseNumber(t.text)
	if err != nil {
		return nil, &ParseError{Msg: fmt.Sprintf("unable to parse literal as a float: %s", err.Error())}
	}
	if neg {
		v = -v
	}
	return &Literal{Value: v}, nil
}

func parseNumber(s string) (float64, error) {
	return strconv.ParseFloat(s, 64)
}

var rangeOps = map[string]bool{
	"count_over_time": true, "rate": true, "rate_counter": true, "bytes_over_time": true, "bytes_rate": true,
	"avg_over_time": true, "sum_over_time": true, "min_over_time": true, "max_over_time": true,
	"stdvar_over_time": true, "stddev_over_time": true, "quantile_over_time": true,
	"first_over_time": true, "last_over_time": true, "absent_over_time": true,
}

var vectorOps = map[string]bool{
	"sum": true, "avg": true, "max": true, "min": true, "count": true, "stddev": true, "stdvar": true,
	"bottomk": true, "topk": true, "sort": true, "sort_desc": true, "approx_topk": true,
}

func (p *parser) parseFunc() (Expr, error) {
	t := p.advance()
	switch {
	case rangeOps[t.text]:
		return p.parseRangeAggr(t.text)
	case vectorOps[t.text]:
		return p.parseVectorAggr(t)
	case t.text == "label_replace":
		return p.parseLabelReplace()
	case t.text == "vector":
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		n := p.peek()
		if n.kind != tNumber {
			return nil, p.expected(n, "NUMBER")
		}
		p.advance()
		v, err := parseNumber(n.text)
		if err != nil {
			return nil, &ParseError{Msg: fmt.Sprintf("unable to parse vectorExpr as a float: %s", err.Error())}
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &VectorLit{Value: v}, nil
	}
	return nil, p.unexpected(t)
}

func (p *parser) parseGrouping() (*Grouping, error) {
	t := p.peek()
	if !t.is(tKeyword, "by") && !t.is(tKeyword, "without") {
		return nil, nil
	}
	p.advance()
	ls, err := p.parseLabelList()
	if err != nil {
		return nil, err
	}
	return &Grouping{Without: t.text == "without", Labels: ls}, nil
}

func (p *parser) parseRangeAggr(op string) (Expr, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var param *string
	if t := p.peek(); t.kind == tNumber && p.peekAt(1).isOp(",") {
		p.advance()
		p.advance()
		param = &t.text
	}
	lr, err := p.parseLogRange()
	if err != nil {
		return nil, err
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	g, err := p.parseGrouping()
	if err != nil {
		return nil, err
	}
	ra := &RangeAggr{Op: op, Range: lr, Grouping: g}
	if param != nil {
		if op != "quantile_over_time" {
			return nil, &ParseError{Msg: fmt.Sprintf("parameter %s not supported for operation %s", *param, op)}
		}
		v, err := strconv.ParseFloat(*param, 64)
		if err != nil {
			return nil, &ParseError{Msg: fmt.Sprintf("invalid parameter for operation %s: %s", op, err)}
		}
		ra.Param = &v
	} else if op == "quantile_over_time" {
		return nil, &ParseError{Msg: fmt.Sprintf("parameter required for operation %s", op)}
	}
	if err := validateRangeAggr(ra); err != nil {
		return nil, &ParseError{Msg: err.Error()}
	}
	return ra, nil
}

func validateRangeAggr(e *RangeAggr) error {
	if e.Grouping != nil {
		switch e.Op {
		case "avg_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time",
			"max_over_time", "min_over_time", "first_over_time", "last_over_time":
		default:
			return fmt.Errorf("grouping not allowed for %s aggregation", e.Op)
		}
	}
	if e.Range.Unwrap != nil {
		switch e.Op {
		case "avg_over_time", "sum_over_time", "max_over_time", "min_over_time", "stddev_over_time",
			"stdvar_over_time", "quantile_over_time", "rate", "rate_counter", "absent_over_time",
			"first_over_time", "last_over_time":
			return nil
		}
		return fmt.Errorf("invalid aggregation %s with unwrap", e.Op)
	}
	switch e.Op {
	case "bytes_over_time", "bytes_rate", "count_over_time", "rate", "absent_over_time":
		return nil
	}
	return fmt.Errorf("invalid aggregation %s without unwrap", e.Op)
}

// parseLogRange reads the forms of Loki's logRangeExpr: a selector with its
// pipeline and unwrap before or after the [range], optionally in
// parentheses, with an optional offset after the range.
func (p *parser) parseLogRange() (*LogRange, error) {
	if p.peek().isOp("(") {
		// ( selector [pipeline] [unwrap] ) RANGE [offset]  or  ( logRange )
		save := p.i
		p.advance()
		if p.peek().isOp("(") || p.peek().isOp("{") {
			if lr, err := p.parseLogRange(); err == nil && p.peek().isOp(")") {
				p.advance()
				return lr, nil
			}
		}
		p.i = save
		p.advance()
		if !p.peek().isOp("{") {
			return nil, p.expected(p.peek(), `"{"`)
		}
		le, unwrap, err := p.parseSelectorPipeline(true)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		rt := p.peek()
		if rt.kind != tRange {
			return nil, p.expected(rt, "RANGE")
		}
		p.advance()
		lr := &LogRange{Log: le, Range: rt.dur, Unwrap: unwrap}
		if err := p.parseOffset(lr); err != nil {
			return nil, err
		}
		return lr, nil
	}
	if !p.peek().isOp("{") {
		return nil, p.expected(p.peek(), `"{"`)
	}
	le, unwrap, err := p.parseSelectorPipeline(true)
	if err != nil {
		return nil, err
	}
	rt := p.peek()
	if rt.kind != tRange {
		return nil, p.expected(rt, "RANGE")
	}
	p.advance()
	lr := &LogRange{Log: le, Range: rt.dur, Unwrap: unwrap}
	if err := p.parseOffset(lr); err != nil {
		return nil, err
	}
	if len(le.Stages) == 0 && unwrap == nil {
		// selector RANGE [offset] pipeline [unwrap]
		stages, uw, err := p.parsePipeline(true)
		if err != nil {
			return nil, err
		}
		le.Stages = stages
		lr.Unwrap = uw
	}
	return lr, nil
}

func (p *parser) parseOffset(lr *LogRange) error {
	if !p.peek().is(tKeyword, "offset") {
		return nil
	}
	p.advance()
	t := p.peek()
	if t.kind != tDuration {
		return p.expected(t, "DURATION")
	}
	p.advance()
	lr.Offset = t.dur
	return nil
}

func (p *parser) parseLogExpr() (Expr, error) {
	le, unwrap, err := p.parseSelectorPipeline(false)
	if err != nil {
		return nil, err
	}
	if unwrap != nil {
		return nil, p.unexpected(p.peek())
	}
	if t := p.peek(); t.kind == tRange {
		return nil, errAt(p.src, t.pos, "syntax error: unexpected RANGE")
	}
	return le, nil
}

// parseSelectorPipeline reads {matchers} and the stages after it; with
// allowUnwrap an unwrap (and its post filters) may end the pipeline.
func (p *parser) parseSelectorPipeline(allowUnwrap bool) (*LogExpr, *Unwrap, error) {
	ms, err := p.parseSelector()
	if err != nil {
		return nil, nil, err
	}
	le := &LogExpr{Matchers: ms}
	stages, uw, err := p.parsePipeline(allowUnwrap)
	if err != nil {
		return nil, nil, err
	}
	le.Stages = stages
	return le, uw, nil
}

func (p *parser) parseSelector() ([]series.Matcher, error) {
	if err := p.expectOp("{"); err != nil {
		return nil, err
	}
	var ms []series.Matcher
	if p.peek().isOp("}") {
		p.advance()
		return ms, nil
	}
	for {
		m, err := p.parseMatcher()
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
		t := p.advance()
		if t.isOp("}") {
			return ms, nil
		}
		if !t.isOp(",") {
			return nil, p.expected(t, `"," or "}"`)
		}
	}
}

func (p *parser) parseMatcher() (series.Matcher, error) {
	name := p.peek()
	if name.kind != tIdent {
		return series.Matcher{}, p.expected(name, "IDENTIFIER")
	}
	p.advance()
	op := p.peek()
	if op.kind != tOp || (op.text != "=" && op.text != "!=" && op.text != "=~" && op.text != "!~") {
		return series.Matcher{}, p.expected(op, `"=", "!=", "=~" or "!~"`)
	}
	p.advance()
	v, err := p.expectString()
	if err != nil {
		return series.Matcher{}, err
	}
	m, err := newMatcher(name.text, op.text, v)
	if err != nil {
		return series.Matcher{}, &ParseError{Msg: err.Error()}
	}
	return m, nil
}

func newMatcher(name, op, v string) (series.Matcher, error) {
	return series.NewMatcher(name, v, op == "!=" || op == "!~", op == "=~" || op == "!~")
}

func isLineFilterOp(t token) bool {
	if t.kind != tOp {
		return false
	}
	switch t.text {
	case "|=", "!=", "|~", "!~", "|>", "!>":
		return true
	}
	return false
}

// parsePipeline reads stages until something that is not a stage.
func (p *parser) parsePipeline(allowUnwrap bool) ([]Stage, *Unwrap, error) {
	var stages []Stage
	for {
		t := p.peek()
		switch {
		case isLineFilterOp(t):
			lf, err := p.parseLineFilter()
			if err != nil {
				return nil, nil, err
			}
			stages = append(stages, lf)
		case t.isOp("|"):
			n := p.peekAt(1)
			if n.is(tKeyword, "unwrap") {
				if !allowUnwrap {
					return nil, nil, p.unexpected(n)
				}
				uw, err := p.parseUnwrap()
				if err != nil {
					return nil, nil, err
				}
				return stages, uw, nil
			}
			p.advance()
			st, err := p.parseStage()
			if err != nil {
				return nil, nil, err
			}
			stages = append(stages, st)
		default:
			return stages, nil, nil
		}
	}
}

func (p *parser) parseLineFilter() (*LineFilter, error) {
	op := p.advance()
	lf := &LineFilter{Op: op.text}
	for {
		v, err := p.parseFilterValue(len(lf.Values) == 0)
		if err != nil {
			return nil, err
		}
		lf.Values = append(lf.Values, v)
		if !p.peek().is(tKeyword, "or") {
			break
		}
		p.advance()
	}
	for _, v := range lf.Values {
		if err := checkFilterValue(lf.Op, v); err != nil {
			return nil, err
		}
	}
	return lf, nil
}

func (p *parser) parseFilterValue(first bool) (FilterValue, error) {
	t := p.peek()
	if t.kind == tString {
		p.advance()
		return FilterValue{Value: t.str}, nil
	}
	if t.is(tFunc, "ip") {
		p.advance()
		if err := p.expectOp("("); err != nil {
			return FilterValue{}, err
		}
		s, err := p.expectString()
		if err != nil {
			return FilterValue{}, err
		}
		if err := p.expectOp(")"); err != nil {
			return FilterValue{}, err
		}
		return FilterValue{Value: s, IP: true}, nil
	}
	return FilterValue{}, p.expected(t, "STRING")
}

func checkFilterValue(op string, v FilterValue) error {
	if v.IP {
		if op == OpMatch || op == OpNotMatch || op == OpPattern || op == OpNotPattern {
			return &ParseError{Msg: fmt.Sprintf("invalid line filter %s ip(%q): ip() only works with |= and !=", op, v.Value)}
		}
		if _, err := newIPMatcher(v.Value); err != nil {
			return &ParseError{Msg: err.Error()}
		}
		return nil
	}
	switch op {
	case OpMatch, OpNotMatch:
		if _, err := regexp.Compile(v.Value); err != nil {
			return &ParseError{Msg: err.Error()}
		}
	case OpPattern, OpNotPattern:
		if _, err := compileLinePattern(v.Value); err != nil {
			return &ParseError{Msg: err.Error()}
		}
	}
	return nil
}

func (p *parser) parseUnwrap() (*Unwrap, error) {
	p.advance() // |
	p.advance() // unwrap
	uw := &Unwrap{}
	t := p.peek()
	switch {
	case t.kind == tIdent:
		p.advance()
		uw.Label = t.text
	case t.kind == tFunc && (t.text == convBytes || t.text == convDuration || t.text == convDurationSec):
		p.advance()
		uw.Conv = t.text
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		n := p.peek()
		if n.kind != tIdent {
			return nil, p.expected(n, "IDENTIFIER")
		}
		p.advance()
		uw.Label = n.text
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	default:
		return nil, p.expected(t, "IDENTIFIER")
	}
	for p.peek().isOp("|") && startsLabelFilter(p.peekAt(1)) {
		p.advance()
		f, err := p.parseLabelFilter(0)
		if err != nil {
			return nil, err
		}
		uw.PostFilters = append(uw.PostFilters, f)
	}
	return uw, nil
}

func startsLabelFilter(t token) bool { return t.kind == tIdent || t.isOp("(") }

func (p *parser) parseStage() (Stage, error) {
	t := p.peek()
	switch {
	case t.is(tKeyword, "json"):
		p.advance()
		ps := &Parser{Kind: parserJSON}
		if p.peek().kind == tIdent {
			ex, err := p.parseExtractions()
			if err != nil {
				return nil, err
			}
			ps.Extractions = ex
		}
		return ps, nil
	case t.is(tKeyword, "logfmt"):
		p.advance()
		ps := &Parser{Kind: parserLogfmt}
		for p.peek().kind == tFlag {
			switch p.advance().text {
			case "--strict":
				ps.Strict = true
			case "--keep-empty":
				ps.KeepEmpty = true
			}
		}
		if p.peek().kind == tIdent {
			ex, err := p.parseExtractions()
			if err != nil {
				return nil, err
			}
			ps.Extractions = ex
		}
		return ps, nil
	case t.is(tKeyword, "regexp"):
		p.advance()
		s, err := p.expectString()
		if err != nil {
			return nil, err
		}
		if _, err := newRegexpParser(s); err != nil {
			return nil, &ParseError{Msg: fmt.Sprintf("invalid regexp parser: %s", err.Error())}
		}
		return &Parser{Kind: parserRegexp, Param: s}, nil
	case t.is(tKeyword, "pattern"):
		p.advance()
		s, err := p.expectString()
		if err != nil {
			return nil, err
		}
		if _, err := compilePattern(s); err != nil {
			return nil, &ParseError{Msg: fmt.Sprintf("invalid pattern parser: %s", err.Error())}
		}
		return &Parser{Kind: parserPattern, Param: s}, nil
	case t.is(tKeyword, "unpack"):
		p.advance()
		return &Parser{Kind: parserUnpack}, nil
	case t.is(tKeyword, "line_format"):
		p.advance()
		s, err := p.expectString()
		if err != nil {
			return nil, err
		}
		// Loki builds the template only when it runs the pipeline, after
		// its optimizer dropped line_format stages a metric query does not
		// need: a broken template there is no error.
		return &LineFormat{Template: s}, nil
	case t.is(tKeyword, "label_format"):
		p.advance()
		return p.parseLabelFormat()
	case t.is(tKeyword, "decolorize"):
		p.advance()
		return &Decolorize{}, nil
	case t.is(tKeyword, "drop"), t.is(tKeyword, "keep"):
		p.advance()
		return p.parseDropKeep(t.text == "keep")
	case startsLabelFilter(t):
		f, err := p.parseLabelFilter(0)
		if err != nil {
			return nil, err
		}
		return &LabelFilterStage{Filter: f}, nil
	}
	return nil, p.unexpected(t)
}

func (p *parser) parseExtractions() ([]Extraction, error) {
	var out []Extraction
	for {
		t := p.peek()
		if t.kind != tIdent {
			return nil, p.expected(t, "IDENTIFIER")
		}
		p.advance()
		ex := Extraction{Label: t.text, Expr: t.text}
		if p.peek().isOp("=") {
			p.advance()
			s, err := p.expectString()
			if err != nil {
				return nil, err
			}
			ex.Expr = s
		}
		out = append(out, ex)
		if !p.peek().isOp(",") {
			return out, nil
		}
		p.advance()
	}
}

func (p *parser) parseLabelFormat() (Stage, error) {
	lf := &LabelFormat{}
	for {
		dst := p.peek()
		if dst.kind != tIdent {
			return nil, p.expected(dst, "IDENTIFIER")
		}
		p.advance()
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v := p.peek()
		switch v.kind {
		case tIdent:
			p.advance()
			lf.Items = append(lf.Items, LabelFmt{Dst: dst.text, Src: v.text, Rename: true})
		case tString:
			p.advance()
			if _, err := newTemplate(v.str); err != nil {
				return nil, &ParseError{Msg: err.Error()}
			}
			lf.Items = append(lf.Items, LabelFmt{Dst: dst.text, Src: v.str})
		default:
			return nil, p.expected(v, "IDENTIFIER or STRING")
		}
		if !p.peek().isOp(",") {
			break
		}
		p.advance()
	}
	if err := validateLabelFormat(lf); err != nil {
		return nil, err
	}
	return lf, nil
}

func validateLabelFormat(lf *LabelFormat) error {
	seen := map[string]bool{}
	for _, it := range lf.Items {
		if seen[it.Dst] {
			return &ParseError{Msg: fmt.Sprintf("multiple label name '%s' not allowed in a single format operation", it.Dst)}
		}
		seen[it.Dst] = true
		if it.Dst == "__error__" {
			return &ParseError{Msg: fmt.Sprintf("%s cannot be formatted", it.Dst)}
		}
	}
	return nil
}

func (p *parser) parseDropKeep(keep bool) (Stage, error) {
	dk := &DropKeep{Keep: keep}
	for {
		t := p.peek()
		if t.kind != tIdent {
			return nil, p.expected(t, "IDENTIFIER")
		}
		if op := p.peekAt(1); op.kind == tOp && (op.text == "=" || op.text == "!=" || op.text == "=~" || op.text == "!~") {
			m, err := p.parseMatcher()
			if err != nil {
				return nil, err
			}
			dk.Items = append(dk.Items, NamedMatcher{Matcher: &m})
		} else {
			p.advance()
			dk.Items = append(dk.Items, NamedMatcher{Name: t.text})
		}
		if !p.peek().isOp(",") {
			return dk, nil
		}
		p.advance()
	}
}

// parseLabelFilter reads label filters joined by and, or, "," and
// juxtaposition with the precedence Loki's grammar gives them: or binds
// looser than and; "," and juxtaposition take everything to their right.
func (p *parser) parseLabelFilter(minPrec int) (LabelFilter, error) {
	left, err := p.parseLabelFilterPrimary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.isOp(","):
			if !startsLabelFilter(p.peekAt(1)) {
				return left, nil
			}
			p.advance()
			right, err := p.parseLabelFilter(0)
			if err != nil {
				return nil, err
			}
			left = &BinaryLabelFilter{And: true, Left: left, Right: right}
		case startsLabelFilter(t):
			right, err := p.parseLabelFilter(0)
			if err != nil {
				return nil, err
			}
			left = &BinaryLabelFilter{And: true, Left: left, Right: right}
		case t.is(tKeyword, "and") && minPrec <= 2:
			p.advance()
			right, err := p.parseLabelFilter(3)
			if err != nil {
				return nil, err
			}
			left = &BinaryLabelFilter{And: true, Left: left, Right: right}
		case t.is(tKeyword, "or") && minPrec <= 1:
			p.advance()
			right, err := p.parseLabelFilter(2)
			if err != nil {
				return nil, err
			}
			left = &BinaryLabelFilter{Left: left, Right: right}
		default:
			return left, nil
		}
	}
}

func (p *parser) parseLabelFilterPrimary() (LabelFilter, error) {
	t := p.peek()
	if t.isOp("(") {
		p.advance()
		f, err := p.parseLabelFilter(0)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return f, nil
	}
	if t.kind != tIdent {
		return nil, p.expected(t, "IDENTIFIER")
	}
	p.advance()
	name := t.text
	op := p.peek()
	if op.kind != tOp {
		return nil, p.unexpected(op)
	}
	p.advance()
	v := p.peek()
	switch op.text {
	case "=", "!=":
		if v.is(tFunc, "ip") {
			p.advance()
			if err := p.expectOp("("); err != nil {
				return nil, err
			}
			s, err := p.expectString()
			if err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			if _, err := newIPMatcher(s); err != nil {
				return nil, &ParseError{Msg: err.Error()}
			}
			return &IPLabelFilter{Name: name, Negate: op.text == "!=", Pattern: s}, nil
		}
		if v.kind == tString {
			p.advance()
			m, err := newMatcher(name, op.text, v.str)
			if err != nil {
				return nil, &ParseError{Msg: err.Error()}
			}
			return &LabelMatch{Matcher: m}, nil
		}
	case "=~", "!~":
		if v.kind != tString {
			return nil, p.expected(v, "STRING")
		}
		p.advance()
		m, err := newMatcher(name, op.text, v.str)
		if err != nil {
			return nil, &ParseError{Msg: err.Error()}
		}
		return &LabelMatch{Matcher: m}, nil
	case "==", ">", ">=", "<", "<=":
	default:
		return nil, p.unexpected(op)
	}
	cmp := op.text
	if cmp == "=" {
		cmp = CmpEQ
	}
	switch v.kind {
	case tDuration:
		p.advance()
		return &DurationFilter{Name: name, Op: cmp, Value: v.dur}, nil
	case tBytes:
		p.advance()
		return &BytesFilter{Name: name, Op: cmp, Value: v.b}, nil
	case tNumber:
		p.advance()
		f, err := parseNumber(v.text)
		if err != nil {
			return nil, &ParseError{Msg: fmt.Sprintf("unable to parse literal as a float: %s", err)}
		}
		return &NumericFilter{Name: name, Op: cmp, Value: f}, nil
	case tOp:
		if (v.text == "-" || v.text == "+") && p.peekAt(1).kind == tNumber {
			p.advance()
			n := p.advance()
			f, err := parseNumber(n.text)
			if err != nil {
				return nil, &ParseError{Msg: fmt.Sprintf("unable to parse literal as a float: %s", err)}
			}
			if v.text == "-" {
				f = -f
			}
			return &NumericFilter{Name: name, Op: cmp, Value: f}, nil
		}
	}
	return nil, p.unexpected(v)
}

func (p *parser) parseVectorAggr(t token) (Expr, error) {
	op := t.text
	g, err := p.parseGrouping()
	if err != nil {
		return nil, err
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var param *string
	if n := p.peek(); n.kind == tNumber && p.peekAt(1).isOp(",") {
		p.advance()
		p.advance()
		param = &n.text
	}
	inner, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	if g == nil {
		if g, err = p.parseGrouping(); err != nil {
			return nil, err
		}
	}
	if _, ok := inner.(*LogExpr); ok {
		return nil, p.unexpected(p.toks[p.i-1])
	}
	va := &VectorAggr{Op: op, Inner: inner, Grouping: g}
	switch op {
	case "topk", "bottomk", "approx_topk":
		if param == nil {
			return nil, &ParseError{Msg: fmt.Sprintf("parameter required for operation %s", op)}
		}
		k, err := strconv.Atoi(*param)
		if err != nil {
			return nil, &ParseError{Msg: fmt.Sprintf("invalid parameter %s(%s,", op, *param)}
		}
		if k <= 0 {
			return nil, &ParseError{Msg: fmt.Sprintf("invalid parameter (must be greater than 0) %s(%s", op, *param)}
		}
		if op == "approx_topk" && g != nil {
			return nil, &ParseError{Msg: fmt.Sprintf("grouping not allowed for %s aggregation", op)}
		}
		va.Param = k
	default:
		if param != nil {
			return nil, &ParseError{Msg: fmt.Sprintf("unsupported parameter for operation %s(%s,", op, *param)}
		}
	}
	if (op == "sort" || op == "sort_desc") && g != nil && len(g.Labels) > 0 {
		return nil, &ParseError{Msg: "sort and sort_desc doesn't allow grouping by "}
	}
	return va, nil
}

func (p *parser) parseLabelReplace() (Expr, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	inner, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	var args [4]string
	for i := range args {
		if err := p.expectOp(","); err != nil {
			return nil, err
		}
		if args[i], err = p.expectString(); err != nil {
			return nil, err
		}
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	if _, err := regexp.Compile("^(?:" + args[3] + ")$"); err != nil {
		return nil, &ParseError{Msg: fmt.Sprintf("invalid regex in label_replace: %s", err.Error())}
	}
	return &LabelReplace{Inner: inner, Dst: args[0], Replacement: args[1], Src: args[2], Regex: args[3]}, nil
}

// errAtLeastOneMatcher is Loki's refusal of a selector that could match
// every stream.
const errAtLeastOneMatcher = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"

// validate applies Loki's checks that run after parsing.
func validate(e Expr) error {
	var err error
	Walk(e, func(x Expr) {
		if err != nil {
			return
		}
		if le, ok := x.(*LogExpr); ok {
			if !hasNonEmptyMatcher(le.Matchers) {
				err = &ParseError{Msg: errAtLeastOneMatcher}
			}
		}
	})
	return err
}

func hasNonEmptyMatcher(ms []series.Matcher) bool {
	for _, m := range ms {
		if !m.Matches("") {
			return true
		}
	}
	return false
}

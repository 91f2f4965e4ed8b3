// Package lqlengine is an embedded LogQL engine: it evaluates instant queries
// over in-memory log streams (alerts/logstream) the way Loki v3.7.8 answers
// /loki/api/v1/query?query=...&time=... . It serves `hlalert test`,
// `hlalert check` and the standalone mode. Anything it does not implement
// fails with an *UnsupportedError instead of a silently wrong number.
package lqlengine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/series"
)

// Options tune the engine. The zero value means Loki's defaults.
type Options struct {
	// LogLookback is how far back from the evaluation time Query reads the
	// lines of a log query (Loki refuses log queries as instant queries; the
	// test runner asks for lines). 0 means 1h.
	LogLookback time.Duration
	// LogLimit bounds the lines a log query returns (Loki's limit, default
	// 100); 0 means 100.
	LogLimit int
}

func (o *Options) validate() error {
	if o.LogLookback < 0 {
		return fmt.Errorf("LogLookback: must not be negative, got %s", o.LogLookback)
	}
	if o.LogLimit < 0 {
		return fmt.Errorf("LogLimit: must not be negative, got %d", o.LogLimit)
	}
	return nil
}

// Engine evaluates LogQL over a logstream.Store. It is safe for concurrent
// use.
type Engine struct {
	st   *logstream.Store
	opts Options

	mu     sync.Mutex
	parsed map[string]parsedExpr
}

type parsedExpr struct {
	ex  Expr
	err error
}

// maxParsed bounds the parse cache; past it the cache starts over.
const maxParsed = 4096

// New returns an engine with Loki's defaults reading st.
func New(st *logstream.Store) *Engine {
	e, err := NewWithOptions(st, Options{})
	if err != nil {
		panic(err) // the zero Options are valid
	}
	return e
}

// NewWithOptions returns an engine reading st.
func NewWithOptions(st *logstream.Store, opts Options) (*Engine, error) {
	if st == nil {
		return nil, fmt.Errorf("lqlengine: nil Store")
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("lqlengine options: %w", err)
	}
	if opts.LogLookback == 0 {
		opts.LogLookback = time.Hour
	}
	if opts.LogLimit == 0 {
		opts.LogLimit = 100
	}
	return &Engine{st: st, opts: opts, parsed: map[string]parsedExpr{}}, nil
}

// UnsupportedError reports a construct the embedded engine does not
// implement.
type UnsupportedError struct {
	Name string
}

func (e *UnsupportedError) Error() string {
	return "not supported by the embedded engine: " + e.Name
}

func unsupported(name string) error { return &UnsupportedError{Name: name} }

// ErrLogQuery is returned where samples are needed and the expression is a
// log query.
var ErrLogQuery = errors.New("a log query returns lines, not samples: wrap it in a range aggregation such as count_over_time(...[5m])")

// Result is the answer to a query: samples for a metric query, streams for a
// log query.
type Result struct {
	Vector  series.Vector      // metric query
	Streams []logstream.Stream // log query (IsLog)
	IsLog   bool
}

// Check parses expr and reports a syntax error (with line and column), a
// query Loki refuses (with Loki's reason) or a construct the engine does
// not implement ("not supported by the embedded engine: X").
func Check(expr string) error {
	e, err := Parse(expr)
	if err != nil {
		return err
	}
	return checkSupported(e)
}

// Query evaluates expr at ts. A metric query yields its vector, sorted by
// labels; a log query yields the streams of the lines in
// (ts-LogLookback, ts], newest first within each stream, at most LogLimit
// lines in all.
func (e *Engine) Query(ctx context.Context, expr string, ts time.Time) (Result, error) {
	ex, err := e.prepared(expr)
	if err != nil {
		return Result{}, err
	}
	if le, ok := ex.(*LogExpr); ok {
		streams, err := e.selectLogs(ctx, le, ts.Add(-e.opts.LogLookback).Add(time.Nanosecond), ts.Add(time.Nanosecond), e.opts.LogLimit)
		if err != nil {
			return Result{}, fmt.Errorf("query %q: %w", expr, err)
		}
		return Result{Streams: streams, IsLog: true}, nil
	}
	v, err := e.evalInstant(ctx, ex, ts)
	if err != nil {
		return Result{}, fmt.Errorf("query %q: %w", expr, err)
	}
	return Result{Vector: v}, nil
}

// QueryVector is Query for the rule engine's seam (rule.QuerierFunc): a log
// query is an error (ErrLogQuery).
func (e *Engine) QueryVector(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
	ex, err := e.prepared(expr)
	if err != nil {
		return nil, err
	}
	if IsLogQuery(ex) {
		return nil, fmt.Errorf("query %q: %w", expr, ErrLogQuery)
	}
	v, err := e.evalInstant(ctx, ex, ts)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	return v, nil
}

// QueryLogs evaluates a log query over [start, end) as Loki's query_range
// does in the backward direction: the newest lines first, at most limit
// lines (0 means LogLimit).
func (e *Engine) QueryLogs(ctx context.Context, expr string, start, end time.Time, limit int) ([]logstream.Stream, error) {
	ex, err := e.prepared(expr)
	if err != nil {
		return nil, err
	}
	le, ok := ex.(*LogExpr)
	if !ok {
		return nil, fmt.Errorf("query %q: a metric query returns samples, not lines", expr)
	}
	if limit <= 0 {
		limit = e.opts.LogLimit
	}
	streams, err := e.selectLogs(ctx, le, start, end, limit)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	return streams, nil
}

// prepared parses and checks expr once; evaluation never mutates the AST,
// so concurrent queries share it.
func (e *Engine) prepared(expr string) (Expr, error) {
	e.mu.Lock()
	p, ok := e.parsed[expr]
	e.mu.Unlock()
	if ok {
		return p.ex, p.err
	}
	ex, err := Parse(expr)
	if err == nil {
		err = checkSupported(ex)
	}
	if err != nil {
		err = fmt.Errorf("query %q: %w", expr, err)
		ex = nil
	}
	p = parsedExpr{ex: ex, err: err}
	e.mu.Lock()
	if len(e.parsed) >= maxParsed {
		clear(e.parsed)
	}
	e.parsed[expr] = p
	e.mu.Unlock()
	return p.ex, p.err
}

// checkSupported reports the first construct the engine does not
// implement, and builds every pipeline the query runs so that what Loki
// refuses only when it runs the query (a broken template that is not
// optimized away, ...) is refused here too.
func checkSupported(e Expr) error {
	var err error
	Walk(e, func(x Expr) {
		if err != nil {
			return
		}
		switch n := x.(type) {
		case *VectorAggr:
			if n.Op == "approx_topk" {
				err = unsupported("approx_topk")
			}
		case *RangeAggr:
			src := n.Range.Log.Stages
			if n.Op != "bytes_over_time" && n.Op != "bytes_rate" {
				src = removeLineFormat(src)
			}
			if _, cerr := compileStages(src); cerr != nil {
				err = pipelineErr(cerr)
			}
		}
	})
	if le, ok := e.(*LogExpr); ok && err == nil {
		if _, cerr := compileStages(le.Stages); cerr != nil {
			err = pipelineErr(cerr)
		}
	}
	return err
}

func pipelineErr(err error) error {
	var ue *UnsupportedError
	if errors.As(err, &ue) {
		return err
	}
	return &ParseError{Msg: err.Error()}
}

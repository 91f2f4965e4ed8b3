// Package mqlengine is an embedded MetricsQL engine: it evaluates instant
// queries over in-memory series the way VictoriaMetrics v1.150.0 answers
// /api/v1/query?query=...&time=...&step=... . It serves `hlalert test` and the
// daemon's standalone mode. Anything it does not implement fails with an
// *UnsupportedError instead of a silently wrong number.
package mqlengine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/series"
)

// Storage is what the engine reads; *series.Store satisfies it.
type Storage interface {
	Select(ms []series.Matcher, mint, maxt int64) []series.Series
}

// DefaultStep is the step VictoriaMetrics uses for an instant query sent
// without one.
const DefaultStep = 5 * time.Minute

// Options tune the engine. The zero value means VictoriaMetrics' defaults.
type Options struct {
	// MaxStalenessInterval is VictoriaMetrics' -search.maxStalenessInterval:
	// the most a bare selector looks back for a sample. 0 (the default)
	// means it is derived from each series' scrape interval.
	MaxStalenessInterval time.Duration
	// MinStalenessInterval is -search.minStalenessInterval (default 0).
	MinStalenessInterval time.Duration
	// MaxPointsSubquery bounds the points a subquery may produce per series
	// (-search.maxPointsSubqueryPerTimeseries, default 100000).
	MaxPointsSubquery int
	// MaxSeries bounds the series a selector may return (0 = unlimited).
	MaxSeries int
	// Now is the wall clock read by now(); nil means time.Now.
	Now func() time.Time
}

func (o *Options) validate() error {
	if o.MaxStalenessInterval < 0 {
		return fmt.Errorf("MaxStalenessInterval: must not be negative, got %s", o.MaxStalenessInterval)
	}
	if o.MinStalenessInterval < 0 {
		return fmt.Errorf("MinStalenessInterval: must not be negative, got %s", o.MinStalenessInterval)
	}
	if o.MaxPointsSubquery < 0 {
		return fmt.Errorf("MaxPointsSubquery: must not be negative, got %d", o.MaxPointsSubquery)
	}
	if o.MaxSeries < 0 {
		return fmt.Errorf("MaxSeries: must not be negative, got %d", o.MaxSeries)
	}
	return nil
}

// Engine evaluates MetricsQL instant queries over a Storage. It is safe for
// concurrent use when its Storage is.
type Engine struct {
	st   Storage
	opts Options

	mu     sync.Mutex
	parsed map[string]parsedExpr // expr text → prepared AST; rules repeat the same queries
}

// parsedExpr is a cached parse: the prepared AST or the error to repeat.
type parsedExpr struct {
	ex  metricsql.Expr
	err error
}

// maxParsed bounds the parse cache; past it the cache starts over.
const maxParsed = 4096

// New returns an engine reading st.
func New(st Storage, opts Options) (*Engine, error) {
	if st == nil {
		return nil, fmt.Errorf("mqlengine: nil Storage")
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("mqlengine options: %w", err)
	}
	if opts.MaxPointsSubquery == 0 {
		opts.MaxPointsSubquery = 100000
	}
	return &Engine{st: st, opts: opts, parsed: map[string]parsedExpr{}}, nil
}

func (e *Engine) now() time.Time {
	if e.opts.Now != nil {
		return e.opts.Now()
	}
	return time.Now()
}

// UnsupportedError reports a function, aggregate or feature the embedded
// engine does not implement.
type UnsupportedError struct {
	Name string
}

func (e *UnsupportedError) Error() string {
	return "not supported by the embedded engine: " + e.Name
}

func unsupported(name string) error { return &UnsupportedError{Name: name} }

// parse parses expr as VictoriaMetrics does (WITH templates expanded).
func parse(expr string) (metricsql.Expr, error) {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	return e, nil
}

// Check parses expr (WITH templates expanded) and returns an error for a
// parse error or for anything the engine does not implement, worded
// "not supported by the embedded engine: NAME".
func Check(expr string) error {
	e, err := parse(expr)
	if err != nil {
		return err
	}
	return checkExpr(e)
}

// Query evaluates expr as VictoriaMetrics' /api/v1/query does at ts with the
// given step (0 means VictoriaMetrics' default, 5m). The result is sorted by
// labels.
func (e *Engine) Query(ctx context.Context, expr string, ts time.Time, step time.Duration) (series.Vector, error) {
	if step < 0 {
		return nil, fmt.Errorf("query %q: negative step %s", expr, step)
	}
	if step == 0 {
		step = DefaultStep
	}
	ex, err := e.prepared(expr)
	if err != nil {
		return nil, err
	}
	return e.query(ctx, ex, ts.UnixMilli(), step.Milliseconds())
}

// prepared parses, checks and prepares expr once; evaluation never mutates
// the prepared AST, so concurrent queries share it.
func (e *Engine) prepared(expr string) (metricsql.Expr, error) {
	e.mu.Lock()
	p, ok := e.parsed[expr]
	e.mu.Unlock()
	if ok {
		return p.ex, p.err
	}
	ex, err := parse(expr)
	if err == nil {
		if cerr := checkExpr(ex); cerr != nil {
			err = fmt.Errorf("query %q: %w", expr, cerr)
		} else {
			ex = prepare(ex)
		}
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

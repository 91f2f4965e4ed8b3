package lqlengine

import (
	"context"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/series"
)

// Temporary: filled in by the evaluation commits that follow the contract.

func applyOp(op string, l, r float64, boolMod, swap bool) (float64, bool) { return 0, false }
func newIPMatcher(s string) (any, error)                                  { return nil, nil }
func compileLinePattern(s string) (any, error)                            { return nil, nil }
func compilePattern(s string) (any, error)                                { return nil, nil }
func newRegexpParser(s string) (any, error)                               { return nil, nil }
func newTemplate(s string) (any, error)                                   { return nil, nil }

func (e *Engine) selectLogs(ctx context.Context, le *LogExpr, start, end time.Time, limit int) ([]logstream.Stream, error) {
	return nil, unsupported("log queries")
}

func (e *Engine) evalInstant(ctx context.Context, ex Expr, ts time.Time) (series.Vector, error) {
	return nil, unsupported("metric queries")
}

package evaluator

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/scrape"
	"github.com/hlalert/hlalert/alerts/series"
)

// embeddedEngine is the standalone mode's query side.
type embeddedEngine struct {
	eng  *mqlengine.Engine
	logs *lqlengine.Engine // LogQL over the pushed lines

	// logRetention is how far back the LogQL groups read (0: none).
	// Set once when the groups are built.
	logRetention time.Duration

	mu        sync.Mutex
	retention time.Duration
}

func newEmbeddedEngine(st *series.Store) (*embeddedEngine, error) {
	eng, err := mqlengine.New(st, mqlengine.Options{})
	if err != nil {
		return nil, fmt.Errorf("embedded engine: %w", err)
	}
	return &embeddedEngine{eng: eng}, nil
}

func (e *embeddedEngine) setRetention(d time.Duration) {
	e.mu.Lock()
	e.retention = d
	e.mu.Unlock()
}

// Retention bounds for the embedded store.
const (
	// minLookbehind covers a bare selector's staleness lookback and
	// rollups without an explicit window (VictoriaMetrics looks back up to
	// 5m for an instant query by default).
	minLookbehind = 5 * time.Minute
	// retentionMargin covers scrape jitter and a late evaluation.
	retentionMargin = 2 * time.Minute
)

// retentionFor is how much history the embedded store keeps: the longest
// window + offset any rule's expression reaches back (read from the
// MetricsQL AST: range windows, offsets, subquery windows), at least
// minLookbehind, plus two of the longest group interval and a margin.
// Expressions with `@` modifiers reach arbitrary times; they get no more
// than this bound, so such a rule sees only what was kept.
func retentionFor(groups []*group) time.Duration {
	longest := minLookbehind
	var maxInterval time.Duration
	for _, g := range groups {
		if g.ds != DSEmbedded {
			continue
		}
		iv := g.g.Interval
		maxInterval = max(maxInterval, iv)
		for _, r := range g.g.Rules {
			if d := exprReach(r.Expr(), iv); d > longest {
				longest = d
			}
		}
	}
	return longest + 2*maxInterval + retentionMargin
}

// exprReach is how far back expr reads at one evaluation; unparsable
// expressions (the rule reports them) reach minLookbehind.
func exprReach(expr string, step time.Duration) time.Duration {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return minLookbehind
	}
	return reach(e, step.Milliseconds())
}

// reach walks the AST: a rollup reaches its window plus its offset plus
// what its inner expression reaches (subqueries nest).
func reach(e metricsql.Expr, stepMs int64) time.Duration {
	var out time.Duration
	switch x := e.(type) {
	case *metricsql.RollupExpr:
		var own int64
		if x.Window != nil {
			own += x.Window.Duration(stepMs)
		} else {
			own += minLookbehind.Milliseconds()
		}
		if x.Offset != nil {
			if o := x.Offset.Duration(stepMs); o > 0 {
				own += o
			}
		}
		out = time.Duration(own)*time.Millisecond + reach(x.Expr, stepMs)
	case *metricsql.FuncExpr:
		for _, a := range x.Args {
			out = max(out, reach(a, stepMs))
		}
	case *metricsql.AggrFuncExpr:
		for _, a := range x.Args {
			out = max(out, reach(a, stepMs))
		}
	case *metricsql.BinaryOpExpr:
		out = max(reach(x.Left, stepMs), reach(x.Right, stepMs))
	}
	return out
}

// logRetentionFor is how much of the pushed log lines the standalone mode
// keeps: the longest range + offset of any LogQL rule of the embedded
// datasource, plus two of the longest group interval and a margin; 0 when
// no LogQL group reads the embedded store (nothing is kept).
func logRetentionFor(groups []*group) time.Duration {
	var longest, maxInterval time.Duration
	found := false
	for _, g := range groups {
		if g.ds != DSEmbeddedLogQL {
			continue
		}
		found = true
		maxInterval = max(maxInterval, g.g.Interval)
		for _, r := range g.g.Rules {
			longest = max(longest, logReach(r.Expr()))
		}
	}
	if !found {
		return 0
	}
	return longest + 2*maxInterval + retentionMargin
}

// logReach is how far back a LogQL expression reads: its longest range
// plus offset (unparsable expressions, which the rule reports, read
// nothing).
func logReach(expr string) time.Duration {
	e, err := lqlengine.Parse(expr)
	if err != nil {
		return 0
	}
	var out time.Duration
	lqlengine.Walk(e, func(x lqlengine.Expr) {
		if ra, ok := x.(*lqlengine.RangeAggr); ok && ra.Range != nil {
			out = max(out, ra.Range.Range+max(ra.Range.Offset, 0))
		}
	})
	return out
}

// LogRetention is how far back the standalone mode's LogQL rules read the
// pushed lines (0: no LogQL group uses the embedded datasource); the push
// receiver keeps no more.
func (e *Evaluator) LogRetention() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, g := range e.groups {
		if g.emb != nil {
			return g.emb.logRetention
		}
	}
	return 0
}

// scrape runs the embedded mode's scraper and trims the store to the
// retention the rules need.
func (e *Evaluator) scrape(ctx context.Context, targets []config.Target) {
	var eng *embeddedEngine
	e.mu.Lock()
	for _, g := range e.groups {
		if g.emb != nil {
			eng = g.emb
			break
		}
	}
	e.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				ret := retentionMargin + minLookbehind
				if eng != nil {
					eng.mu.Lock()
					ret = eng.retention
					eng.mu.Unlock()
				}
				e.store.DropBefore(now.Add(-ret).UnixMilli())
			}
		}
	}()
	if e.deps.Scrape != nil {
		e.deps.Scrape(ctx, targets)
	} else {
		st := make([]scrape.Target, 0, len(targets))
		for _, t := range targets {
			st = append(st, scrape.Target{Job: t.Job, URL: t.URL, Labels: t.Labels, Interval: t.Interval, Timeout: t.Timeout})
		}
		client := &http.Client{Transport: http.DefaultTransport}
		scrape.New(e.store, client, e.log.With("component", "scrape")).Run(ctx, st)
	}
	<-ctx.Done()
	wg.Wait()
}

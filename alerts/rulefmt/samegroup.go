package rulefmt

import (
	"fmt"
	"strings"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// SameGroupRead is a rule that reads a series an earlier recording rule
// of its group records. Prometheus evaluates it on what that rule recorded
// in the same evaluation; vmalert (and hlalert run and test) on the
// previous evaluation's value: the result comes one interval later.
type SameGroupRead struct {
	Reader   Rule
	Recorder Rule
	Pos      yamlnode.Pos // where the reader's expression names the series
}

// Message explains the read and its fix.
func (s SameGroupRead) Message() string {
	return fmt.Sprintf("%s reads %s, recorded by the rule at %d:%d of the same group: vmalert and hlalert give it the previous evaluation's value (Prometheus this evaluation's), one interval late; to read the fresh value, record it in another group evaluated first (in unit tests, list that group first in group_eval_order)",
		s.Reader.What(), s.Recorder.Record, s.Recorder.Pos.Line, s.Recorder.Pos.Col)
}

// SameGroupReads lists the rules of a MetricsQL group that read a series
// an earlier rule of the group records (by metric name).
func SameGroupReads(g Group) []SameGroupRead {
	if g.Type == TypeLogQL {
		return nil
	}
	var out []SameGroupRead
	recorded := map[string]Rule{}
	for _, r := range g.Rules {
		for _, name := range ReadNames(r.Expr) {
			rec, ok := recorded[name]
			if !ok {
				continue
			}
			pos := r.ExprPos
			if i := strings.Index(r.Expr, name); i >= 0 {
				pos = r.ExprOffsetPos(i)
			}
			out = append(out, SameGroupRead{Reader: r, Recorder: rec, Pos: pos})
		}
		if r.Record != "" {
			if _, seen := recorded[r.Record]; !seen {
				recorded[r.Record] = r
			}
		}
	}
	return out
}

// ReadNames lists the metric names a MetricsQL expression selects by
// name (name="x" or a bare x), each once, in order; nil when it does not
// parse.
func ReadNames(expr string) []string {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	metricsql.VisitAll(e, func(e metricsql.Expr) {
		me, ok := e.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		for _, lfs := range me.LabelFilterss {
			for _, lf := range lfs {
				if lf.Label == "__name__" && !lf.IsNegative && !lf.IsRegexp && !seen[lf.Value] {
					seen[lf.Value] = true
					out = append(out, lf.Value)
				}
			}
		}
	})
	return out
}

// lintSameGroup warns on each same-group read of f.
func lintSameGroup(f *File) []*yamlnode.Error {
	var out []*yamlnode.Error
	for _, g := range f.Groups {
		for _, s := range SameGroupReads(g) {
			out = append(out, &yamlnode.Error{Pos: s.Pos, Msg: s.Message()})
		}
	}
	return out
}

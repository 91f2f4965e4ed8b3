package rulefmt

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// rateFuncs need at least two samples in their window.
var rateFuncs = map[string]bool{
	"rate": true, "irate": true, "increase": true, "delta": true, "idelta": true, "deriv": true,
}

// ReservedGroup is the group of hlalert run's built-in alerts
// (HlalertDatasourceDown): a rule file may not use its name.
const ReservedGroup = "hlalert"

// Lint reports likely mistakes in a decoded rule file that vmalert
// accepts. errs are problems that make alerts wrong (two alerts of a group
// that produce the same label set); warns are questionable but may be
// intended. defaultInterval stands for groups without their own interval
// (vmalert's -evaluationInterval, 1m by default).
func Lint(f *File, defaultInterval time.Duration) (errs, warns []*yamlnode.Error) {
	warn := func(p yamlnode.Pos, format string, args ...any) {
		warns = append(warns, &yamlnode.Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
	}
	for _, g := range f.Groups {
		interval := g.Interval
		if interval == 0 {
			interval = defaultInterval
		}
		if len(g.Rules) == 0 {
			warn(g.Pos, "group %q has no rules", g.Name)
		}
		if g.Name == ReservedGroup {
			errs = append(errs, &yamlnode.Error{Pos: g.Pos, Msg: fmt.Sprintf("the group name %q is reserved for hlalert run's built-in alerts: hlalert run refuses this file; rename the group", g.Name)})
		}
		type seenAlert struct {
			pos    yamlnode.Pos
			labels map[string]string
		}
		alerts := map[string][]seenAlert{}
		for _, r := range g.Rules {
			if g.Type == TypeLogQL {
				le, lw := lintLogQL(r)
				errs, warns = append(errs, le...), append(warns, lw...)
			}
			if r.Alert == "" {
				if g.Type == TypeMetricsQL {
					warns = append(warns, lintWindows(r, interval)...)
				}
				continue
			}
			what := r.What()
			for _, prev := range alerts[r.Alert] {
				if maps.Equal(prev.labels, r.Labels) {
					errs = append(errs, &yamlnode.Error{Pos: r.Pos, Msg: fmt.Sprintf("%s: an alert of the same name and labels is defined at %d:%d; their alerts cannot be told apart", what, prev.pos.Line, prev.pos.Col)})
				} else {
					warn(r.Pos, "%s: also defined at %d:%d (with other labels)", what, prev.pos.Line, prev.pos.Col)
				}
				break
			}
			alerts[r.Alert] = append(alerts[r.Alert], seenAlert{r.Pos, r.Labels})

			if r.For > 0 && r.For < interval {
				warn(r.ForPos, "%s: for (%s) is shorter than the group's evaluation interval (%s), so it acts as %s", what, r.For, interval, interval)
			}
			var missing []string
			for _, a := range []string{"summary", "description"} {
				if _, ok := r.Annotations[a]; !ok {
					missing = append(missing, a)
				}
			}
			if len(missing) > 0 {
				warn(r.AnnotationsPos, "%s: no %s annotation", what, strings.Join(missing, " or "))
			}
			if _, ok := r.Labels["severity"]; !ok {
				if _, ok := g.Labels["severity"]; !ok {
					warn(r.Pos, "%s: no severity label", what)
				}
			}
			if g.Type == TypeMetricsQL {
				warns = append(warns, lintWindows(r, interval)...)
			}
		}
	}
	warns = append(warns, lintSameGroup(f)...)
	return errs, warns
}

// lintWindows warns about rate-like functions over a window shorter than
// two evaluation intervals, where a missed sample empties the result.
func lintWindows(r Rule, interval time.Duration) []*yamlnode.Error {
	e, err := metricsql.Parse(r.Expr)
	if err != nil {
		return nil // reported by Load
	}
	var out []*yamlnode.Error
	from := 0
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		fe, ok := x.(*metricsql.FuncExpr)
		if !ok || !rateFuncs[strings.ToLower(fe.Name)] || len(fe.Args) == 0 {
			return
		}
		re, ok := fe.Args[0].(*metricsql.RollupExpr)
		if !ok || re.Window == nil {
			return
		}
		w := time.Duration(re.Window.Duration(interval.Milliseconds())) * time.Millisecond
		if w >= 2*interval {
			return
		}
		ws := string(re.Window.AppendString(nil))
		pos := r.ExprPos
		if i := strings.Index(r.Expr[from:], "["+ws); i >= 0 {
			pos = r.ExprOffsetPos(from + i + 1)
			from += i + 1
		}
		out = append(out, &yamlnode.Error{Pos: pos, Msg: fmt.Sprintf("%s: %s() over [%s] is shorter than two evaluation intervals (%s): one missed sample leaves it empty", r.What(), fe.Name, ws, 2*interval)})
	})
	return out
}

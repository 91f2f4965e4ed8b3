package rulefmt

import (
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// lintLogQL reports the usual mistakes of a LogQL rule: an expression that
// is a log query (an error: a rule needs samples), unwrap after a parser
// without __error__ handling, a label filter on a label the pipeline
// cannot have at that point, and a regular expression line filter where a
// substring filter would do.
func lintLogQL(r Rule) (errs, warns []*yamlnode.Error) {
	e, err := lqlengine.Parse(r.Expr)
	if err != nil {
		return nil, nil // reported by Load
	}
	what := r.What()
	if lqlengine.IsLogQuery(e) {
		errs = append(errs, &yamlnode.Error{Pos: r.ExprPos, Msg: fmt.Sprintf("%s: the expression is a log query, which returns lines, not samples: wrap it in a range aggregation such as sum(count_over_time(...[5m]))", what)})
		return errs, nil
	}
	at := func(needle string) yamlnode.Pos {
		if i := strings.Index(r.Expr, needle); i >= 0 {
			return r.ExprOffsetPos(i)
		}
		return r.ExprPos
	}
	warn := func(p yamlnode.Pos, format string, args ...any) {
		warns = append(warns, &yamlnode.Error{Pos: p, Msg: what + ": " + fmt.Sprintf(format, args...)})
	}
	lqlengine.Walk(e, func(x lqlengine.Expr) {
		ra, ok := x.(*lqlengine.RangeAggr)
		if !ok || ra.Range == nil || ra.Range.Log == nil {
			return
		}
		lr := ra.Range
		stages := lr.Log.Stages
		for _, st := range stages {
			lf, ok := st.(*lqlengine.LineFilter)
			if !ok || (lf.Op != lqlengine.OpMatch && lf.Op != lqlengine.OpNotMatch) {
				continue
			}
			for _, v := range lf.Values {
				if lit, ok := literalRegexp(v.Value); ok && !v.IP {
					sub := lqlengine.OpContains
					if lf.Op == lqlengine.OpNotMatch {
						sub = lqlengine.OpNotContains
					}
					p := at(v.Value)
					if !strings.Contains(r.Expr, v.Value) {
						p = at(lf.Op)
					}
					warn(p, "line filter %s %s matches a plain string: %s %s is simpler and faster", lf.Op, strconv.Quote(v.Value), sub, strconv.Quote(lit))
				}
			}
		}
		if lr.Unwrap != nil {
			parser := ""
			errorHandled := false
			for _, st := range stages {
				switch s := st.(type) {
				case *lqlengine.Parser:
					if parser == "" {
						parser = s.Kind
					}
				case *lqlengine.LabelFilterStage:
					if parser != "" && filtersOn(s.Filter, "__error__") {
						errorHandled = true
					}
				}
			}
			for _, f := range lr.Unwrap.PostFilters {
				if filtersOn(f, "__error__") {
					errorHandled = true
				}
			}
			if parser != "" && !errorHandled {
				warn(at("unwrap"), "unwrap %s after the %s parser without __error__ handling: one line the parser or the conversion cannot read makes the whole query fail in Loki; add | __error__=\"\" after the parser or after unwrap", lr.Unwrap.Label, parser)
			}
		}
		for _, p := range lintLabelFlow(lr) {
			warn(at(p.needle), "%s", p.msg)
		}
	})
	return nil, warns
}

// literalRegexp tells whether a line filter's regular expression matches
// a plain substring (no metacharacter in effect), and returns it.
func literalRegexp(re string) (string, bool) {
	if re == "" {
		return "", false
	}
	p, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return "", false
	}
	p = p.Simplify()
	if p.Op != syntax.OpLiteral || p.Flags&syntax.FoldCase != 0 {
		return "", false
	}
	return string(p.Rune), true
}

// filtersOn tells whether a label filter tests the named label.
func filtersOn(f lqlengine.LabelFilter, name string) bool {
	for _, n := range filterLabels(f) {
		if n == name {
			return true
		}
	}
	return false
}

// filterLabels lists the labels a label filter tests.
func filterLabels(f lqlengine.LabelFilter) []string {
	switch x := f.(type) {
	case *lqlengine.LabelMatch:
		return []string{x.Matcher.Name}
	case *lqlengine.NumericFilter:
		return []string{x.Name}
	case *lqlengine.DurationFilter:
		return []string{x.Name}
	case *lqlengine.BytesFilter:
		return []string{x.Name}
	case *lqlengine.IPLabelFilter:
		return []string{x.Name}
	case *lqlengine.BinaryLabelFilter:
		return append(filterLabels(x.Left), filterLabels(x.Right)...)
	}
	return nil
}

type labelFlowIssue struct {
	needle, msg string
}

// lintLabelFlow follows the labels a pipeline can have, where that is
// knowable: after keep only the kept labels exist, after drop the dropped
// ones are gone, and a label that only a later stage produces (a parser's
// named extraction or capture, label_format) does not exist yet. Stream
// labels are unknown, so a label is flagged only when the pipeline itself
// settles that it is absent.
func lintLabelFlow(lr *lqlengine.LogRange) []labelFlowIssue {
	stages := lr.Log.Stages
	selector := map[string]bool{}
	for _, m := range lr.Log.Matchers {
		selector[m.Name] = true
	}
	var out []labelFlowIssue
	// absent: labels the pipeline has removed so far (drop), or, after
	// keep, every label but the kept ones (kept != nil).
	absent := map[string]string{}
	var kept map[string]bool
	produced := map[string]bool{}
	open := false // an open parser ran: any label may exist
	next := 0     // the index of the stage after the one being checked
	check := func(name, use string) {
		if name == "__error__" || name == "__error_details__" {
			return
		}
		if kept != nil && !kept[name] && !produced[name] {
			out = append(out, labelFlowIssue{name, fmt.Sprintf("%s on label %q after keep removed it: the label is always empty there", use, name)})
			return
		}
		if why, ok := absent[name]; ok {
			out = append(out, labelFlowIssue{name, fmt.Sprintf("%s on label %q after %s removed it: the label is always empty there", use, name, why)})
			return
		}
		if !open && !produced[name] && !selector[name] {
			if later := producedLater(stages[next:], name); later != "" {
				out = append(out, labelFlowIssue{name, fmt.Sprintf("%s on label %q comes before %s, the stage that extracts it", use, name, later)})
			}
		}
	}
	for i, st := range stages {
		next = i + 1
		switch s := st.(type) {
		case *lqlengine.LabelFilterStage:
			for _, n := range filterLabels(s.Filter) {
				check(n, "label filter")
			}
		case *lqlengine.Parser, *lqlengine.LabelFormat:
			for _, n := range producedBy(st) {
				produced[n] = true
				delete(absent, n)
			}
			if p, ok := st.(*lqlengine.Parser); ok && isOpenParser(p) {
				kept = nil
				absent = map[string]string{}
				open = true
			}
		case *lqlengine.DropKeep:
			if s.Keep {
				kept = map[string]bool{}
				for _, it := range s.Items {
					kept[it.Name] = true
				}
				produced = map[string]bool{}
				continue
			}
			for _, it := range s.Items {
				if it.Matcher == nil {
					absent[it.Name] = "drop"
					delete(produced, it.Name)
				}
			}
		}
	}
	next = len(stages)
	if lr.Unwrap != nil {
		check(lr.Unwrap.Label, "unwrap")
	}
	return out
}

// producedBy lists the labels a stage is known to produce: a parser's
// named extractions or captures, label_format's destinations. An open
// parser (json or logfmt without parameters, unpack) yields nothing here.
func producedBy(st lqlengine.Stage) []string {
	switch s := st.(type) {
	case *lqlengine.Parser:
		switch s.Kind {
		case "json", "logfmt":
			var out []string
			for _, e := range s.Extractions {
				out = append(out, e.Label)
			}
			return out
		case "regexp":
			re, err := syntax.Parse(s.Param, syntax.Perl)
			if err != nil {
				return nil
			}
			var out []string
			for _, n := range re.CapNames() {
				if n != "" {
					out = append(out, n)
				}
			}
			return out
		case "pattern":
			var out []string
			rest := s.Param
			for {
				i := strings.Index(rest, "<")
				if i < 0 {
					break
				}
				j := strings.Index(rest[i:], ">")
				if j < 0 {
					break
				}
				if n := rest[i+1 : i+j]; n != "_" && n != "" {
					out = append(out, n)
				}
				rest = rest[i+j+1:]
			}
			return out
		}
	case *lqlengine.LabelFormat:
		var out []string
		for _, it := range s.Items {
			out = append(out, it.Dst)
		}
		return out
	}
	return nil
}

// isOpenParser tells a parser that can produce any label: json or logfmt
// without parameters, unpack.
func isOpenParser(p *lqlengine.Parser) bool {
	switch p.Kind {
	case "json", "logfmt":
		return len(p.Extractions) == 0
	case "unpack":
		return true
	}
	return false
}

// producedLater names the first stage that produces the label, or "".
func producedLater(stages []lqlengine.Stage, name string) string {
	for _, st := range stages {
		for _, n := range producedBy(st) {
			if n == name {
				switch s := st.(type) {
				case *lqlengine.Parser:
					return "the " + s.Kind + " parser"
				case *lqlengine.LabelFormat:
					return "label_format"
				}
			}
		}
	}
	return ""
}

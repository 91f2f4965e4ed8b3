package main

import (
	"maps"
	"slices"
	"strings"

	"github.com/hlalert/hlalert/alerts/knownmetrics"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// checkMetricNames warns on MetricsQL rules that read a metric that is
// neither a known third-party metric, nor hlexporter's or hlalert's own,
// nor recorded by a rule of the checked files (a misspelt name makes an
// alert that can never fire). It also warns on label and annotation texts
// that open "{{" and never close it.
func (c *checker) checkMetricNames() {
	cat, err := knownmetrics.New()
	if err != nil {
		c.add(yamlnode.Pos{}, sevError, "known metrics: %v", err)
		return
	}
	var recorded []knownmetrics.Metric
	for _, f := range c.ruleFiles {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					recorded = append(recorded, knownmetrics.Metric{Name: r.Record, Type: knownmetrics.Recorded, Exporter: r.Pos.String()})
				}
			}
		}
	}
	cat = cat.With(recorded...)
	for _, f := range c.ruleFiles {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				c.checkUnclosedTemplates(r)
				if g.Type == rulefmt.TypeLogQL {
					continue
				}
				names, err := knownmetrics.MetricNames(r.Expr)
				if err != nil {
					continue // rulefmt.Load reports syntax errors
				}
				for _, n := range names {
					if _, ok := cat.Lookup(n); ok {
						continue
					}
					pos := r.ExprPos
					if i := strings.Index(r.Expr, n); i >= 0 {
						pos = r.ExprOffsetPos(i)
					}
					c.add(pos, sevWarning, "%s: unknown metric %s%s: no known exporter, hlexporter, hlalert or recording rule has it", r.What(), n, cat.Suggest(n))
				}
			}
		}
	}
}

// checkUnclosedTemplates warns on a label or annotation text that opens
// "{{" and never closes it: vmalert and hlalert render it literally,
// braces and all.
func (c *checker) checkUnclosedTemplates(r rulefmt.Rule) {
	check := func(kind, name, text string, pos yamlnode.Pos) {
		if i := unclosedAction(text); i >= 0 {
			c.add(pos, sevWarning, "%s: %s %q: %q at byte %d is never closed by \"}}\", so the text is not a template and is sent literally, braces and all", r.What(), kind, name, "{{", i)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Labels)) {
		pos, ok := r.LabelPos[k]
		if !ok {
			pos = r.Pos
		}
		check("label", k, r.Labels[k], pos)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Annotations)) {
		pos, ok := r.AnnotationPos[k]
		if !ok {
			pos = r.AnnotationsPos
		}
		check("annotation", k, r.Annotations[k], pos)
	}
}

// unclosedAction returns the offset of the "{{" of a text that vmalert
// (and hlalert's tmpl) renders literally because it has no "}}" at all, or
// -1. A text with both is parsed as a template, and an unclosed action in
// it is already an error of rulefmt.Load.
func unclosedAction(s string) int {
	i := strings.Index(s, "{{")
	if i < 0 || strings.Contains(s, "}}") {
		return -1
	}
	return i
}

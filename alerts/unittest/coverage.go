package unittest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
)

// ruleRef names one rule of a rule file: its group and its index in the
// group (two rules of a group may share a name).
type ruleRef struct {
	file  string // fileKey of the path
	group string
	index int
}

// testCoverage is what one test proved about the rules it loaded. Only
// checks that passed count.
type testCoverage struct {
	fired    map[ruleRef]bool // an alert_rule_test expected it firing, and it was
	silent   map[ruleRef]bool // an alert_rule_test expected exp_alerts: [], and none fired
	recorded map[ruleRef]bool // the recording rule returned at least one sample
}

// fileKey names a rule file however it was reached (relative, absolute,
// through ./ or ../): its absolute clean path when it has one.
func fileKey(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}

func newTestCoverage() *testCoverage {
	return &testCoverage{fired: map[ruleRef]bool{}, silent: map[ruleRef]bool{}, recorded: map[ruleRef]bool{}}
}

// noteRecorded marks the group's recording rules that returned samples in
// the evaluation that just ran.
func (c *testCoverage) noteRecorded(g *rule.Group) {
	for i, r := range g.Rules {
		if rr, ok := r.(*rule.RecordingRule); ok && rr.Health().Err == nil && rr.Health().Samples > 0 {
			c.recorded[ruleRef{fileKey(g.File), g.Name, i}] = true
		}
	}
}

// noteAlertCheck marks the alerting rules an alert_rule_test check that
// passed was about: all rules named alertname in the group (any group
// when group is "", as promtool matches by name only).
func (c *testCoverage) noteAlertCheck(groups []*rule.Group, group, alertname string, noGroupName, expectedFiring bool) {
	for _, g := range groups {
		if !noGroupName && g.Name != group {
			continue
		}
		for i, r := range g.Rules {
			if ar, ok := r.(*rule.AlertingRule); ok && ar.Name() == alertname {
				ref := ruleRef{fileKey(g.File), g.Name, i}
				if expectedFiring {
					c.fired[ref] = true
				} else {
					c.silent[ref] = true
				}
			}
		}
	}
}

// RuleFilesIn lists the rule files (YAML with a top-level groups: key)
// in the folders among paths, for Coverage: a rule file that no test loads
// counts as uncovered. Paths that are files are left out.
func RuleFilesIn(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			continue
		}
		found, err := walkYAML(p, IsRuleFile)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// CoverageReport tells, per rule file, which rules the tests exercised.
type CoverageReport struct {
	Files []FileCoverage `json:"files"`
	// Covered and Total count coverage items: two per alerting rule
	// (fired in a test, tested silent in a test) and one per recording
	// rule (evaluated to at least one sample in a test).
	Covered int     `json:"covered"`
	Total   int     `json:"total"`
	Percent float64 `json:"percent"`

	AlertingRules  int `json:"alerting_rules"`
	Fired          int `json:"fired"`
	TestedSilent   int `json:"tested_silent"`
	RecordingRules int `json:"recording_rules"`
	Evaluated      int `json:"evaluated"`
}

// FileCoverage is the coverage of one rule file.
type FileCoverage struct {
	Path           string `json:"path"`
	AlertingRules  int    `json:"alerting_rules"`
	RecordingRules int    `json:"recording_rules"`
	// Tested tells whether any test file loads this rule file.
	Tested bool `json:"tested"`
	// NeverFired are alerting rules no passing alert_rule_test expected
	// firing; NeverSilent those no passing alert_rule_test expected not
	// firing (exp_alerts: []); NeverEvaluated recording rules that
	// returned no sample in any passing test.
	NeverFired     []RuleCoverage `json:"never_fired"`
	NeverSilent    []RuleCoverage `json:"never_tested_silent"`
	NeverEvaluated []RuleCoverage `json:"never_evaluated"`
	Covered        int            `json:"covered"`
	Total          int            `json:"total"`
	Percent        float64        `json:"percent"`
}

// RuleCoverage names a rule that lacks coverage.
type RuleCoverage struct {
	Pos   string `json:"pos"` // file:line:col of the rule
	Line  int    `json:"line"`
	Group string `json:"group"`
	Name  string `json:"name"`
}

// Coverage computes what the passing tests of results proved about the
// rule files they loaded, plus ruleFiles (rule files that no test may
// load, e.g. those found beside the tests: they count as untested).
// Failed and skipped tests count for nothing.
func Coverage(results []FileResult, ruleFiles []*rulefmt.File) CoverageReport {
	files := map[string]*rulefmt.File{}
	tested := map[string]bool{}
	var order []string
	add := func(rf *rulefmt.File, isTested bool) {
		k := fileKey(rf.Path)
		if _, ok := files[k]; !ok {
			files[k] = rf
			order = append(order, k)
		}
		tested[k] = tested[k] || isTested
	}
	all := newTestCoverage()
	for _, r := range results {
		for _, rf := range r.rules {
			add(rf, true)
		}
		for _, t := range r.Tests {
			if t.Skipped || len(t.Failures) > 0 || t.cov == nil {
				continue
			}
			for k := range t.cov.fired {
				all.fired[k] = true
			}
			for k := range t.cov.silent {
				all.silent[k] = true
			}
			for k := range t.cov.recorded {
				all.recorded[k] = true
			}
		}
	}
	for _, rf := range ruleFiles {
		add(rf, false)
	}
	slices.Sort(order)

	var rep CoverageReport
	for _, k := range order {
		rf := files[k]
		fc := FileCoverage{Path: rf.Path, Tested: tested[k]}
		for _, g := range rf.Groups {
			for i, r := range g.Rules {
				ref := ruleRef{k, g.Name, i}
				rc := RuleCoverage{Pos: r.Pos.String(), Line: r.Pos.Line, Group: g.Name, Name: r.Name()}
				if r.Alert != "" {
					fc.AlertingRules++
					fc.Total += 2
					if all.fired[ref] {
						fc.Covered++
						rep.Fired++
					} else {
						fc.NeverFired = append(fc.NeverFired, rc)
					}
					if all.silent[ref] {
						fc.Covered++
						rep.TestedSilent++
					} else {
						fc.NeverSilent = append(fc.NeverSilent, rc)
					}
					continue
				}
				fc.RecordingRules++
				fc.Total++
				if all.recorded[ref] {
					fc.Covered++
					rep.Evaluated++
				} else {
					fc.NeverEvaluated = append(fc.NeverEvaluated, rc)
				}
			}
		}
		fc.Percent = percent(fc.Covered, fc.Total)
		for _, l := range []*[]RuleCoverage{&fc.NeverFired, &fc.NeverSilent, &fc.NeverEvaluated} {
			if *l == nil {
				*l = []RuleCoverage{} // [] rather than null in JSON
			}
		}
		rep.AlertingRules += fc.AlertingRules
		rep.RecordingRules += fc.RecordingRules
		rep.Covered += fc.Covered
		rep.Total += fc.Total
		rep.Files = append(rep.Files, fc)
	}
	rep.Percent = percent(rep.Covered, rep.Total)
	return rep
}

// percent is 100 for nothing to cover.
func percent(covered, total int) float64 {
	if total == 0 {
		return 100
	}
	return 100 * float64(covered) / float64(total)
}

// WriteText prints the report: one line per rule file, the rules that
// lack coverage under it, and a summary line.
func (c CoverageReport) WriteText(w io.Writer) {
	fmt.Fprintln(w, "coverage:")
	for _, f := range c.Files {
		note := ""
		if !f.Tested {
			note = ", loaded by no test file"
		}
		fmt.Fprintf(w, "  %5.1f%%  %s (%d alerting, %d recording rules%s)\n", f.Percent, f.Path, f.AlertingRules, f.RecordingRules, note)
		type miss struct {
			rc   RuleCoverage
			what string
		}
		var misses []miss
		for _, rc := range f.NeverFired {
			misses = append(misses, miss{rc, "alerting rule %q (group %q): never fired in a test"})
		}
		for _, rc := range f.NeverSilent {
			misses = append(misses, miss{rc, "alerting rule %q (group %q): never tested as not firing (exp_alerts: [])"})
		}
		for _, rc := range f.NeverEvaluated {
			misses = append(misses, miss{rc, "recording rule %q (group %q): never returned a sample in a test"})
		}
		slices.SortStableFunc(misses, func(a, b miss) int { return cmp.Compare(a.rc.Line, b.rc.Line) })
		for _, m := range misses {
			fmt.Fprintf(w, "          %s: "+m.what+"\n", m.rc.Pos, m.rc.Name, m.rc.Group)
		}
	}
	fmt.Fprintf(w, "coverage: %.1f%% (%d/%d): %d/%d alerting rules fired, %d/%d tested silent, %d/%d recording rules evaluated\n",
		c.Percent, c.Covered, c.Total, c.Fired, c.AlertingRules, c.TestedSilent, c.AlertingRules, c.Evaluated, c.RecordingRules)
}

// WriteJSON writes the report as indented JSON.
func (c CoverageReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("write coverage JSON: %w", err)
	}
	return nil
}

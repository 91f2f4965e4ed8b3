package unittest

import (
	"fmt"

	"github.com/hlalert/hlalert/alerts/rulefmt"
)

// sameGroupCauses finds what depends on a same-group read (a rule reading
// a series an earlier rule of its group records, which promtool sees fresh
// and hlalert, like vmalert, one evaluation late): the recorded series
// and alerts fed by one, directly or through other recording rules, each
// with the read at its root.
func sameGroupCauses(files []*rulefmt.File) (records, alerts map[string]rulefmt.SameGroupRead) {
	records, alerts = map[string]rulefmt.SameGroupRead{}, map[string]rulefmt.SameGroupRead{}
	var all []rulefmt.Rule
	for _, f := range files {
		for _, g := range f.Groups {
			if g.Type == rulefmt.TypeLogQL {
				continue
			}
			all = append(all, g.Rules...)
			for _, s := range rulefmt.SameGroupReads(g) {
				if s.Reader.Record != "" {
					if _, ok := records[s.Reader.Record]; !ok {
						records[s.Reader.Record] = s
					}
				} else if _, ok := alerts[s.Reader.Alert]; !ok {
					alerts[s.Reader.Alert] = s
				}
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, r := range all {
			if _, ok := records[r.Record]; ok && r.Record != "" {
				continue
			}
			if _, ok := alerts[r.Alert]; ok && r.Alert != "" {
				continue
			}
			for _, name := range rulefmt.ReadNames(r.Expr) {
				s, ok := records[name]
				if !ok {
					continue
				}
				if r.Record != "" {
					records[r.Record] = s
					changed = true
				} else {
					alerts[r.Alert] = s
				}
				break
			}
		}
	}
	return records, alerts
}

// noteSameGroup adds to each failed check of a promtool test that depends
// on a same-group read a note saying so, since that is where promtool and
// hlalert part.
func noteSameGroup(f *File, rules []*rulefmt.File, t *Test, fails []Failure) []Failure {
	if f.Format != Promtool || len(fails) == 0 {
		return fails
	}
	records, alerts := sameGroupCauses(rules)
	if len(records) == 0 && len(alerts) == 0 {
		return fails
	}
	for i := range fails {
		cause, ok := rulefmt.SameGroupRead{}, false
		for _, at := range t.AlertTests {
			if at.Pos == fails[i].Pos {
				cause, ok = alerts[at.Alertname]
			}
		}
		for _, et := range t.ExprTests {
			if et.Pos != fails[i].Pos {
				continue
			}
			for _, name := range rulefmt.ReadNames(et.Expr) {
				if cause, ok = records[name]; ok {
					break
				}
			}
		}
		if !ok {
			continue
		}
		note := fmt.Sprintf("    note: this expectation depends on a same-group read (%s): %s", cause.Pos, cause.Message())
		if fails[i].Diff != "" {
			note = "\n" + note
		}
		fails[i].Diff += note
	}
	return fails
}

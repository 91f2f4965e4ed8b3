package notify

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/hlalert/hlalert/alerts/amconfig"
)

// RouteMatch is one route an alert reaches, and why.
type RouteMatch struct {
	Receiver string
	// Path is the chain of routes from the root to the matching one, each
	// shown with its matchers ("{}" for none) and its index among siblings.
	Path                                   []string
	GroupBy                                []string // sorted; ["..."] for group_by: ['...']
	GroupLabels                            map[string]string
	GroupKey                               string
	GroupWait                              time.Duration
	GroupInterval                          time.Duration
	RepeatInterval                         time.Duration
	Continue                               bool
	MuteTimeIntervals, ActiveTimeIntervals []string

	route *amconfig.Route
}

// Match returns the routes lset reaches, in Alertmanager's order
// (depth-first, left to right, stopping at the first match of a level
// unless that route has continue: true).
func (c *Config) Match(lset map[string]string) []RouteMatch {
	ls := toLabelSet(lset)
	var out []RouteMatch
	for _, r := range c.root.Match(ls) {
		var path []string
		for n := r; n != nil; n = n.Parent() {
			desc := n.Matchers.String()
			if n.Parent() != nil {
				desc = fmt.Sprintf("routes[%d] %s", n.Index(), desc)
			} else {
				desc = "root " + desc
			}
			path = append([]string{desc}, path...)
		}
		gl := groupLabels(r, ls)
		out = append(out, RouteMatch{
			Receiver:            r.Receiver,
			Path:                path,
			GroupBy:             groupByList(r),
			GroupLabels:         gl,
			GroupKey:            groupKey(r, gl),
			GroupWait:           r.GroupWait,
			GroupInterval:       r.GroupInterval,
			RepeatInterval:      r.RepeatInterval,
			Continue:            r.Continue,
			MuteTimeIntervals:   r.MuteTimeIntervals,
			ActiveTimeIntervals: r.ActiveTimeIntervals,
			route:               r,
		})
	}
	return out
}

func groupByList(r *amconfig.Route) []string {
	if r.GroupByAll {
		return []string{"..."}
	}
	out := make([]string, 0, len(r.GroupBy))
	for ln := range r.GroupBy {
		out = append(out, string(ln))
	}
	sort.Strings(out)
	return out
}

// groupLabels are the labels of ls the route groups by (all of them for
// group_by: ['...']); a group_by label the alert lacks is left out, as in
// Alertmanager.
func groupLabels(r *amconfig.Route, ls model.LabelSet) map[string]string {
	out := map[string]string{}
	for ln, lv := range ls {
		if _, ok := r.GroupBy[ln]; ok || r.GroupByAll {
			out[string(ln)] = string(lv)
		}
	}
	return out
}

// groupKey is the stable id of an aggregation group: the route's unique id
// and the group labels.
func groupKey(r *amconfig.Route, gl map[string]string) string {
	return r.ID() + ":" + toLabelSet(gl).String()
}

func toLabelSet(m map[string]string) model.LabelSet {
	ls := make(model.LabelSet, len(m))
	for k, v := range m {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

// Inhibited returns the names (or "inhibit_rules[i]" when unnamed) of the
// inhibit rules under which one of the firing alerts inhibits target, with
// Alertmanager's semantics: the target matches target_matchers, a firing
// source matches source_matchers, the labels in equal have the same value
// in both (absent counts as empty), and an alert matching both sides
// cannot be inhibited by a source that also matches both sides.
func (c *Config) Inhibited(target map[string]string, firing []map[string]string) []string {
	tl := toLabelSet(target)
	var out []string
	for i, r := range c.inhibit {
		if !r.TargetMatchers.Matches(tl) {
			continue
		}
		twoSided := r.SourceMatchers.Matches(tl)
		for _, src := range firing {
			sl := toLabelSet(src)
			if !r.SourceMatchers.Matches(sl) || !equalOn(r, sl, tl) {
				continue
			}
			if twoSided && r.TargetMatchers.Matches(sl) {
				continue
			}
			name := r.Name
			if name == "" {
				name = fmt.Sprintf("inhibit_rules[%d]", i)
			}
			out = append(out, name)
			break
		}
	}
	return out
}

func equalOn(r amconfig.InhibitRule, a, b model.LabelSet) bool {
	for _, ln := range r.Equal {
		if a[ln] != b[ln] {
			return false
		}
	}
	return true
}

// Muted reports whether a route is outside its active time intervals or
// inside one of its mute time intervals at t, and names the interval.
func (c *Config) muted(r *amconfig.Route, t time.Time) (bool, string) {
	t = t.UTC() // an interval without location: is in UTC, as Alertmanager documents
	for _, name := range r.MuteTimeIntervals {
		for _, ti := range c.intervals[name] {
			if ti.ContainsTime(t) {
				return true, "mute_time_intervals " + name
			}
		}
	}
	if len(r.ActiveTimeIntervals) == 0 {
		return false, ""
	}
	for _, name := range r.ActiveTimeIntervals {
		for _, ti := range c.intervals[name] {
			if ti.ContainsTime(t) {
				return false, ""
			}
		}
	}
	return true, "outside active_time_intervals " + strings.Join(r.ActiveTimeIntervals, ", ")
}

// TimeMuted reports whether the matched route is muted by its time
// intervals at t, and why.
func (c *Config) TimeMuted(m RouteMatch, t time.Time) (bool, string) {
	if m.route == nil {
		return false, ""
	}
	return c.muted(m.route, t)
}

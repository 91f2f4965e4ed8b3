package notify

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/common/model"
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

	route *dispatch.Route
}

// Match returns the routes lset reaches, in Alertmanager's order
// (depth-first, left to right, stopping at the first match of a level
// unless that route has continue: true).
func (c *Config) Match(lset map[string]string) []RouteMatch {
	ls := toLabelSet(lset)
	parents := map[*dispatch.Route]*dispatch.Route{}
	c.root.Walk(func(r *dispatch.Route) {
		for _, ch := range r.Routes {
			parents[ch] = r
		}
	})
	var out []RouteMatch
	for _, r := range c.root.Match(ls) {
		var path []string
		for n := r; n != nil; n = parents[n] {
			desc := n.Matchers.String()
			if p := parents[n]; p != nil {
				for i, s := range p.Routes {
					if s == n {
						desc = fmt.Sprintf("routes[%d] %s", i, desc)
					}
				}
			} else {
				desc = "root " + desc
			}
			path = append([]string{desc}, path...)
		}
		gl := groupLabels(r, ls)
		out = append(out, RouteMatch{
			Receiver:            r.RouteOpts.Receiver,
			Path:                path,
			GroupBy:             groupByList(r),
			GroupLabels:         gl,
			GroupKey:            groupKey(r, gl),
			GroupWait:           r.RouteOpts.GroupWait,
			GroupInterval:       r.RouteOpts.GroupInterval,
			RepeatInterval:      r.RouteOpts.RepeatInterval,
			Continue:            r.Continue,
			MuteTimeIntervals:   r.RouteOpts.MuteTimeIntervals,
			ActiveTimeIntervals: r.RouteOpts.ActiveTimeIntervals,
			route:               r,
		})
	}
	return out
}

func groupByList(r *dispatch.Route) []string {
	if r.RouteOpts.GroupByAll {
		return []string{"..."}
	}
	out := make([]string, 0, len(r.RouteOpts.GroupBy))
	for ln := range r.RouteOpts.GroupBy {
		out = append(out, string(ln))
	}
	sort.Strings(out)
	return out
}

// groupLabels are the labels of ls the route groups by (all of them for
// group_by: ['...']); a group_by label the alert lacks is left out, as in
// Alertmanager.
func groupLabels(r *dispatch.Route, ls model.LabelSet) map[string]string {
	out := map[string]string{}
	for ln, lv := range ls {
		if _, ok := r.RouteOpts.GroupBy[ln]; ok || r.RouteOpts.GroupByAll {
			out[string(ln)] = string(lv)
		}
	}
	return out
}

// groupKey is the stable id of an aggregation group: the route's unique id
// and the group labels.
func groupKey(r *dispatch.Route, gl map[string]string) string {
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

func equalOn(r *inhibit.InhibitRule, a, b model.LabelSet) bool {
	for ln := range r.Equal {
		if a[ln] != b[ln] {
			return false
		}
	}
	return true
}

// Muted reports whether a route is outside its active time intervals or
// inside one of its mute time intervals at t, and names the interval.
func (c *Config) muted(r *dispatch.Route, t time.Time) (bool, string) {
	t = t.UTC() // an interval without location: is in UTC, as Alertmanager documents
	for _, name := range r.RouteOpts.MuteTimeIntervals {
		for _, ti := range c.intervals[name] {
			if ti.ContainsTime(t) {
				return true, "mute_time_intervals " + name
			}
		}
	}
	if len(r.RouteOpts.ActiveTimeIntervals) == 0 {
		return false, ""
	}
	for _, name := range r.RouteOpts.ActiveTimeIntervals {
		for _, ti := range c.intervals[name] {
			if ti.ContainsTime(t) {
				return false, ""
			}
		}
	}
	return true, "outside active_time_intervals " + strings.Join(r.RouteOpts.ActiveTimeIntervals, ", ")
}

// TimeMuted reports whether the matched route is muted by its time
// intervals at t, and why.
func (c *Config) TimeMuted(m RouteMatch, t time.Time) (bool, string) {
	if m.route == nil {
		return false, ""
	}
	return c.muted(m.route, t)
}

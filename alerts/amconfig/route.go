package amconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Route is a node of the route tree with its options resolved: a child
// inherits every option its parent has and it does not set, the root's
// unset options are Alertmanager's defaults.
type Route struct {
	parent *Route

	Receiver string
	// GroupBy holds the labels to group by; GroupByAll is group_by: ['...'].
	GroupBy                                  map[model.LabelName]struct{}
	GroupByAll                               bool
	GroupWait, GroupInterval, RepeatInterval time.Duration
	MuteTimeIntervals, ActiveTimeIntervals   []string

	// Matchers an alert must match, sorted as Alertmanager sorts them.
	Matchers labels.Matchers
	// Continue: an alert matching this route goes on to its next siblings.
	Continue bool
	Routes   []*Route
	// Pos is where the route is in the file.
	Pos yamlnode.Pos
}

// Match returns the routes lset reaches: depth-first, left to right, a
// level stopping at its first matching child unless that child has
// continue: true; a route none of whose children match is itself the match.
func (r *Route) Match(lset model.LabelSet) []*Route {
	if !r.Matchers.Matches(lset) {
		return nil
	}
	var all []*Route
	for _, c := range r.Routes {
		m := c.Match(lset)
		all = append(all, m...)
		if m != nil && !c.Continue {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, r)
	}
	return all
}

// Parent is the route r is a child of (nil for the root).
func (r *Route) Parent() *Route { return r.parent }

// Index is r's position among its parent's routes (-1 for the root).
func (r *Route) Index() int {
	if r.parent == nil {
		return -1
	}
	return slices.Index(r.parent.Routes, r)
}

// ID identifies the route uniquely: its ancestors' and its own matchers
// and positions, exactly as Alertmanager's dispatch.Route.ID, so that group
// keys (and with them the notification log) stay what they were.
func (r *Route) ID() string {
	var b strings.Builder
	if r.parent != nil {
		b.WriteString(r.parent.ID())
		b.WriteByte('/')
	}
	b.WriteString(r.Matchers.String())
	if i := r.Index(); i >= 0 {
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// Walk visits r and its descendants depth-first.
func (r *Route) Walk(visit func(*Route)) {
	visit(r)
	for _, c := range r.Routes {
		c.Walk(visit)
	}
}

// routeCheck is what routes are checked against.
type routeCheck struct {
	receivers, intervals map[string]bool
}

var routeKeys = []string{"receiver", "group_by", "continue", "match", "match_re", "matchers",
	"group_wait", "group_interval", "repeat_interval", "mute_time_intervals",
	"active_time_intervals", "routes", "labels"}

func (d *decoder) route(n *yaml.Node, what string, parent *Route, rc *routeCheck) *Route {
	r := &Route{
		parent:         parent,
		GroupBy:        map[model.LabelName]struct{}{},
		GroupWait:      DefaultGroupWait,
		GroupInterval:  DefaultGroupInterval,
		RepeatInterval: DefaultRepeatInterval,
		Pos:            yamlnode.At(d.file, yamlnode.Resolve(n)),
	}
	if parent != nil {
		r.Receiver = parent.Receiver
		r.GroupBy, r.GroupByAll = parent.GroupBy, parent.GroupByAll
		r.GroupWait, r.GroupInterval, r.RepeatInterval = parent.GroupWait, parent.GroupInterval, parent.RepeatInterval
	}
	if yamlnode.IsNull(yamlnode.Resolve(n)) {
		d.errorf(yamlnode.Resolve(n), "%s: empty route (a route needs at least matchers or a receiver)", what)
		return r
	}
	fs, ok := d.fields(n, what, routeKeys...)
	if !ok {
		return r
	}
	if f, ok := fs["labels"]; ok {
		d.errorf(f.Key, "%s: route labels are not supported by hlalert", what)
	}
	if f, ok := fs["receiver"]; ok {
		if v := d.str(fs, "receiver", what); v != "" {
			r.Receiver = v
			if !rc.receivers[v] {
				d.errorf(f.Value, "%s.receiver: undefined receiver %q used in route", what, v)
			}
		}
	}
	if parent == nil && r.Receiver == "" {
		d.errorf(yamlnode.Resolve(n), "%s: root route must specify a default receiver", what)
	}
	if f, set := fs["group_by"]; set && yamlnode.IsNull(yamlnode.Resolve(f.Value)) {
		delete(fs, "group_by") // null is unset: inherited, as in Alertmanager
	}
	if list, nodes, ok := d.strList(fs, "group_by", what); ok {
		gb := map[model.LabelName]struct{}{}
		all := false
		for i, l := range list {
			switch {
			case l == "...":
				all = true
			case !compat.IsValidLabelName(model.LabelName(l)):
				d.errorf(nodes[i], "%s.group_by: invalid label name %q", what, l)
			default:
				if _, dup := gb[model.LabelName(l)]; dup {
					d.errorf(nodes[i], "%s.group_by: duplicated label %q", what, l)
				}
				gb[model.LabelName(l)] = struct{}{}
			}
		}
		if all && len(gb) > 0 {
			d.errorf(fs["group_by"].Value, "%s.group_by: cannot have wildcard group_by ('...') and other labels at the same time", what)
		}
		r.GroupBy, r.GroupByAll = gb, all
		if all {
			r.GroupBy = map[model.LabelName]struct{}{}
		}
	}
	if v, ok := d.duration(fs, "group_wait", what); ok {
		r.GroupWait = v
	}
	for _, k := range []string{"group_interval", "repeat_interval"} {
		v, ok := d.duration(fs, k, what)
		if !ok {
			continue
		}
		if v == 0 {
			d.errorf(fs[k].Value, "%s.%s: cannot be zero", what, k)
			continue
		}
		if k == "group_interval" {
			r.GroupInterval = v
		} else {
			r.RepeatInterval = v
		}
	}
	if b := d.boolPtr(fs, "continue", what); b != nil {
		r.Continue = *b
	}
	r.Matchers = d.matchers(fs, "match", "match_re", "matchers", what)
	for _, k := range []string{"mute_time_intervals", "active_time_intervals"} {
		names, nodes, ok := d.strList(fs, k, what)
		if !ok {
			continue
		}
		for i, name := range names {
			if !rc.intervals[name] {
				d.errorf(nodes[i], "%s.%s: undefined time interval %q used in route", what, k, name)
			}
		}
		if k == "mute_time_intervals" {
			r.MuteTimeIntervals = names
		} else {
			r.ActiveTimeIntervals = names
		}
	}
	if parent == nil {
		for _, k := range []string{"match", "match_re", "matchers"} {
			if f, ok := fs[k]; ok {
				d.errorf(f.Key, "%s: root route must not have any matchers", what)
			}
		}
		for _, k := range []string{"mute_time_intervals", "active_time_intervals"} {
			if f, ok := fs[k]; ok {
				d.errorf(f.Key, "%s: root route must not have any %s", what, strings.ReplaceAll(k, "_", " "))
			}
		}
	}
	if f, ok := fs["routes"]; ok {
		rd := d.Reader
		rd.NullIsEmpty = true
		for i, cn := range rd.List(f.Value, what+".routes") {
			r.Routes = append(r.Routes, d.route(cn, fmt.Sprintf("%s.routes[%d]", what, i), r, rc))
		}
	}
	return r
}

// Package boardcheck proves that a Grafana dashboard shows what it claims:
// the JSON decodes strictly with the Grafana Foundation SDK (an unknown
// field fails), every MetricsQL query parses and runs on hlalert's embedded
// engine, every metric it reads is one somebody exports, and, given
// series, every query returns data; every LogQL query parses and, given log
// streams, selects on labels they carry and returns samples (with the
// labels it groups by) or lines. `hlalert dashboards check` runs it on a
// user's boards; the tests of hlalert's own boards run it on a replayed
// homelab.
package boardcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/dashboardlist"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/histogram"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/statushistory"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/text"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Board is a decoded dashboard with its panels flattened.
type Board struct {
	Path      string
	Dashboard dashboard.Dashboard
	Panels    []Panel
	Rows      []Row
	// Vars are the values the checks give template variables: a
	// variable's "All" value when it has one, else its current value.
	Vars map[string]string
}

// Row is a row header of the grid.
type Row struct {
	Title string
	Y     uint32
}

// Panel is one panel with what the checks need.
type Panel struct {
	ID          uint32
	Title       string
	Description string
	Type        string
	// X, Y, W, H are the panel's place on Grafana's 24-column grid.
	X, Y, W, H uint32
	Row        string // title of the row the panel sits under; "" above any row
	Unit       string
	// NoValue is what the panel shows without data; a panel that sets it
	// declares "no data" a valid answer (no alert firing), so the data
	// check lets it be empty.
	NoValue    string
	Thresholds []Step
	Targets    []Target
}

// Step is one threshold step: from Value on (nil: from -∞) the colour is
// Color.
type Step struct {
	Value *float64
	Color string
}

// Target is one query of a panel.
type Target struct {
	RefID string
	Kind  string // "metricsql" or "logql"
	Expr  string // as written, with template variables
	// Instant is true for an instant query (current value), false for a
	// range query (graph).
	Instant bool
	Legend  string // legendFormat, e.g. "{{instance}} {{pool}}"
}

// Where names the panel (and target) in messages.
func (p Panel) Where(t *Target) string {
	s := fmt.Sprintf("panel %d %q", p.ID, p.Title)
	if t != nil {
		s += " query " + t.RefID
	}
	return s
}

// Colour returns the colour the panel's thresholds give value v, as
// Grafana does: the colour of the last step whose value is ≤ v.
func (p Panel) Colour(v float64) string {
	c := ""
	for _, s := range p.Thresholds {
		if s.Value == nil || v >= *s.Value {
			c = s.Color
		}
	}
	return c
}

var registerOnce sync.Once

// register teaches the SDK's decoder the panel and query types whose
// options and targets are checked field by field: the panel types a
// homelab board uses and the Prometheus (VictoriaMetrics) and Loki
// queries. (The SDK's plugins.RegisterDefaultPlugins would add every type
// it knows: 6 MB more in the hlalert binary, 45.9 MB instead of 39.9 MB.)
// Other panel types are decoded with their options unchecked.
func register() {
	rt := cog.NewRuntime()
	for _, v := range []variants.PanelcfgConfig{
		stat.VariantConfig(), timeseries.VariantConfig(), table.VariantConfig(), logs.VariantConfig(),
		text.VariantConfig(), gauge.VariantConfig(), bargauge.VariantConfig(), piechart.VariantConfig(),
		statetimeline.VariantConfig(), statushistory.VariantConfig(), barchart.VariantConfig(),
		heatmap.VariantConfig(), histogram.VariantConfig(), dashboardlist.VariantConfig(),
	} {
		rt.RegisterPanelcfgVariant(v)
	}
	rt.RegisterDataqueryVariant(prometheus.VariantConfig())
	rt.RegisterDataqueryVariant(loki.VariantConfig())
}

// Parse decodes a dashboard strictly: every field must be one the SDK's
// dashboard, panel and query types know (the panel types' options and the
// Prometheus and Loki query types included). Errors name path.
func Parse(path string, data []byte) (*Board, error) {
	registerOnce.Do(register)
	// The SDK's strict decoders (v0.0.22) return their error list as an
	// error even when it is empty (a typed nil), and a nested decoder that
	// does so leaves its value out. So the strict pass only validates: an
	// empty list is success. The value is then decoded by the SDK's
	// ordinary decoder.
	var strict dashboard.Dashboard
	if err := strict.UnmarshalJSONStrict(data); err != nil {
		var be cog.BuildErrors
		if !errors.As(err, &be) || len(be) > 0 {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := &Board{Path: path, Dashboard: d, Vars: map[string]string{}}
	for _, v := range d.Templating.List {
		b.Vars[v.Name] = varValue(v)
	}
	row := ""
	for _, pr := range d.Panels {
		switch {
		case pr.RowPanel != nil:
			if pr.RowPanel.Title != nil {
				row = *pr.RowPanel.Title
			}
			r := Row{Title: row}
			if pr.RowPanel.GridPos != nil {
				r.Y = pr.RowPanel.GridPos.Y
			}
			b.Rows = append(b.Rows, r)
			for _, p := range pr.RowPanel.Panels {
				pp, err := panel(p, row)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				b.Panels = append(b.Panels, pp)
			}
		case pr.Panel != nil:
			pp, err := panel(*pr.Panel, row)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			b.Panels = append(b.Panels, pp)
		}
	}
	return b, nil
}

// Load reads and parses one dashboard file.
func Load(path string) (*Board, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	return Parse(path, data)
}

func varValue(v dashboard.VariableModel) string {
	if v.IncludeAll != nil && *v.IncludeAll && v.AllValue != nil {
		return *v.AllValue
	}
	if v.Current != nil && v.Current.Value.String != nil {
		return *v.Current.Value.String
	}
	if v.Query != nil && v.Query.String != nil { // constant variables
		return *v.Query.String
	}
	return ""
}

func panel(p dashboard.Panel, row string) (Panel, error) {
	out := Panel{Type: p.Type, Row: row}
	if p.Id != nil {
		out.ID = *p.Id
	}
	if p.Title != nil {
		out.Title = *p.Title
	}
	if p.Description != nil {
		out.Description = *p.Description
	}
	if g := p.GridPos; g != nil {
		out.X, out.Y, out.W, out.H = g.X, g.Y, g.W, g.H
	}
	if fc := p.FieldConfig; fc != nil {
		if fc.Defaults.Unit != nil {
			out.Unit = *fc.Defaults.Unit
		}
		if fc.Defaults.NoValue != nil {
			out.NoValue = *fc.Defaults.NoValue
		}
		if th := fc.Defaults.Thresholds; th != nil {
			for _, s := range th.Steps {
				out.Thresholds = append(out.Thresholds, Step{Value: s.Value, Color: s.Color})
			}
		}
	}
	for i, t := range p.Targets {
		tg, err := target(t)
		if err != nil {
			return Panel{}, fmt.Errorf("%s target %d: %w", out.Where(nil), i, err)
		}
		out.Targets = append(out.Targets, tg)
	}
	return out, nil
}

func target(t variants.Dataquery) (Target, error) {
	switch x := t.(type) {
	case prometheus.Dataquery:
		return promTarget(&x), nil
	case *prometheus.Dataquery:
		return promTarget(x), nil
	case loki.Dataquery:
		return lokiTarget(&x), nil
	case *loki.Dataquery:
		return lokiTarget(x), nil
	}
	return Target{}, fmt.Errorf("query of type %T: only Prometheus (VictoriaMetrics) and Loki queries can be checked; set the query's datasource type", t)
}

func promTarget(x *prometheus.Dataquery) Target {
	t := Target{Kind: "metricsql", Expr: x.Expr}
	if x.RefId != nil {
		t.RefID = *x.RefId
	}
	t.Instant = x.Instant != nil && *x.Instant && (x.Range == nil || !*x.Range)
	if x.LegendFormat != nil {
		t.Legend = *x.LegendFormat
	}
	return t
}

func lokiTarget(x *loki.Dataquery) Target {
	t := Target{Kind: "logql", Expr: x.Expr}
	if x.RefId != nil {
		t.RefID = *x.RefId
	}
	t.Instant = x.Instant != nil && *x.Instant
	if x.LegendFormat != nil {
		t.Legend = *x.LegendFormat
	}
	return t
}

// builtins are Grafana's global variables with the values the checks use.
var builtins = map[string]string{
	"__interval":      "1m",
	"__interval_ms":   "60000",
	"__rate_interval": "5m",
	"__range":         "1d",
	"__range_s":       "86400",
	"__range_ms":      "86400000",
	"__auto":          "1m",
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]`)

// Resolve substitutes template variables in expr: the board's variables
// (their "All" value, else the current one) and Grafana's globals. An
// unknown variable is an error.
func (b *Board) Resolve(expr string) (string, error) {
	var unknown []string
	out := varRef.ReplaceAllStringFunc(expr, func(m string) string {
		sm := varRef.FindStringSubmatch(m)
		name := sm[1] + sm[2] + sm[3]
		if v, ok := b.Vars[name]; ok {
			return v
		}
		if v, ok := builtins[name]; ok {
			return v
		}
		unknown = append(unknown, name)
		return m
	})
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return "", fmt.Errorf("unknown template variable $%s", strings.Join(unknown, ", $"))
	}
	return out, nil
}

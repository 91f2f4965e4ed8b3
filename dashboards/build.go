package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Datasource uids the NixOS modules provision, and the default of the
// $datasource and $loki variables.
const (
	VictoriaMetricsUID = "victoriametrics"
	LokiUID            = "loki"
	// DefaultHlalertURL is the default of $hlalert_url, where the boards
	// link to hlalert's status page.
	DefaultHlalertURL = "http://127.0.0.1:8880"
	// Tag is on every board; the boards' link menu lists boards with it.
	Tag = "hlalert"
)

// Colours of threshold steps.
const (
	green  = "green"
	orange = "orange"
	red    = "red"
)

func ptr[T any](v T) *T { return &v }

// metricsDS is the $datasource variable: VictoriaMetrics as a Prometheus
// datasource.
func metricsDS() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}
}

// logsDS is the $loki variable.
func logsDS() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("loki"), Uid: ptr("${loki}")}
}

// q is a MetricsQL range query with a legend.
func q(expr, legend string) cog.Builder[variants.Dataquery] {
	b := prometheus.NewDataqueryBuilder().Datasource(metricsDS()).Expr(expr).Range()
	if legend != "" {
		b = b.LegendFormat(legend)
	}
	return b
}

// qi is a MetricsQL instant query (stats and tables show the current value).
func qi(expr, legend string) cog.Builder[variants.Dataquery] {
	b := prometheus.NewDataqueryBuilder().Datasource(metricsDS()).Expr(expr).Instant()
	if legend != "" {
		b = b.LegendFormat(legend)
	}
	return b
}

// lq is a LogQL query.
func lq(expr, legend string) cog.Builder[variants.Dataquery] {
	b := loki.NewDataqueryBuilder().Datasource(logsDS()).Expr(expr)
	if legend != "" {
		b = b.LegendFormat(legend)
	}
	return b
}

// steps builds absolute thresholds: a base colour, then (value, colour)
// pairs.
func steps(base string, pairs ...any) *dashboard.ThresholdsConfigBuilder {
	s := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(pairs); i += 2 {
		s = append(s, dashboard.Threshold{Value: ptr(toFloat(pairs[i])), Color: pairs[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic("threshold value must be int or float64")
}

// redAbove is green below v and red from v on: the colours of an alert that
// fires at v.
func redAbove(v float64) *dashboard.ThresholdsConfigBuilder { return steps(green, v, red) }

// anyRed is green at 0 and red from 1 on: a count of problems.
func anyRed() *dashboard.ThresholdsConfigBuilder { return steps(green, 1, red) }

// status is a big coloured stat: the overview's "is anything wrong?" tiles.
func status(title, desc, unit string, th *dashboard.ThresholdsConfigBuilder, w uint32, targets ...cog.Builder[variants.Dataquery]) *stat.PanelBuilder {
	b := stat.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Thresholds(th).
		ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Height(5).Span(w)
	for _, t := range targets {
		b = b.WithTarget(t)
	}
	return b
}

// graph is a time series panel.
func graph(title, desc, unit string, w uint32, targets ...cog.Builder[variants.Dataquery]) *timeseries.PanelBuilder {
	b := timeseries.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Height(8).Span(w)
	for _, t := range targets {
		b = b.WithTarget(t)
	}
	return b
}

// tbl is a table of instant values, one row per series.
func tbl(title, desc, unit string, th *dashboard.ThresholdsConfigBuilder, w uint32, targets ...cog.Builder[variants.Dataquery]) *table.PanelBuilder {
	b := table.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Height(8).Span(w).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		WithTransformation(dashboard.DataTransformerConfig{Id: "labelsToFields", Options: map[string]any{"mode": "columns"}})
	if th != nil {
		b = b.Thresholds(th)
	}
	for _, t := range targets {
		b = b.WithTarget(t)
	}
	return b
}

// logPanel shows log lines.
func logPanel(title, desc string, w uint32, target cog.Builder[variants.Dataquery]) *logs.PanelBuilder {
	return logs.NewPanelBuilder().Title(title).Description(desc).Height(10).Span(w).
		ShowTime(true).WrapLogMessage(true).SortOrder(common.LogsSortOrderDescending).WithTarget(target)
}

// Board is one generated dashboard and the file it is written to.
type Board struct {
	File      string // file name under dashboards/
	Dashboard dashboard.Dashboard
}

// base starts a board with the shared variables and links: $datasource
// (VictoriaMetrics), $loki, $hlalert_url, the hlalert boards menu and the
// status page link.
func base(uid, title, desc string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(desc).
		Tags([]string{Tag}).
		Editable().
		Refresh("1m").
		Time("now-24h", "now").
		Timezone("browser").
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Metrics").Type("prometheus").
			Current(option("VictoriaMetrics", VictoriaMetricsUID))).
		WithVariable(dashboard.NewDatasourceVariableBuilder("loki").
			Label("Logs").Type("loki").
			Current(option("Loki", LokiUID))).
		WithVariable(dashboard.NewConstantVariableBuilder("hlalert_url").
			Value(dashboard.StringOrMap{String: ptr(DefaultHlalertURL)})).
		Link(dashboard.NewDashboardLinkBuilder("hlalert boards").
			Type(dashboard.DashboardLinkTypeDashboards).Tags([]string{Tag}).
			AsDropdown(true).KeepTime(true).IncludeVars(true)).
		Link(dashboard.NewDashboardLinkBuilder("hlalert status").
			Type(dashboard.DashboardLinkTypeLink).Url("${hlalert_url}/").
			Icon("info").Tooltip("hlalert's status page: groups, rules, alerts, silences").TargetBlank(true))
}

func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{String: ptr(text)},
		Value: dashboard.StringOrArrayOfString{String: ptr(value)},
	}
}

// instanceVar is a multi-select of the instances reporting metric.
func instanceVar(metric string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder("instance").Label("Host").
		Datasource(metricsDS()).
		Query(dashboard.StringOrMap{String: ptr("label_values(" + metric + ", instance)")}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Multi(true).IncludeAll(true).AllValue(".*").
		Current(option("All", "$__all"))
}

// Package preview renders dashboards into a static HTML page without
// Grafana: every panel at its place on the grid with its title, its
// queries and the values they return now, coloured by the panel's
// thresholds — a picture a reviewer can judge.
package preview

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/dashboards/boardcheck"
)

// Page describes one rendered page.
type Page struct {
	Title string
	// Note says where the values come from.
	Note string
	// Nav links to sibling pages (name → href).
	Nav [][2]string
}

type boardView struct {
	UID, Title, Description string
	Rows                    []rowView
	Panels                  []panelView
	GridRows                uint32
}

type rowView struct {
	Title string
	Y     uint32
}

type panelView struct {
	Title, Description, Type string
	X, Y, W, H               uint32
	Values                   []valueView
	Lines                    []lineView // a log query's newest lines
	LineNote                 string     // how many lines there are
	Queries                  []queryView
	Empty                    string // what is shown without values
	Status                   string // worst colour among the values
}

type valueView struct {
	Name, Text, Colour string
}

type lineView struct {
	Time, Stream, Line string
}

type queryView struct {
	RefID, Kind, Expr, Note string
}

// shownLines is how many of a log query's lines a panel shows.
const shownLines = 5

// lineLimit is the most lines a log query returns (Loki's default limit,
// lqlengine's too): a query that returns as many may have more.
const lineLimit = 100

// Render renders boards (in order) into one HTML page; query answers the
// MetricsQL targets, logQuery the LogQL ones (nil: they are listed, not
// run).
func Render(ctx context.Context, page Page, boards []*boardcheck.Board, query boardcheck.Query, logQuery boardcheck.LogQuery) ([]byte, error) {
	var views []boardView
	for _, b := range boards {
		bv := boardView{Title: str(b.Dashboard.Title), UID: str(b.Dashboard.Uid), Description: str(b.Dashboard.Description)}
		for _, r := range b.Rows {
			bv.Rows = append(bv.Rows, rowView{Title: r.Title, Y: r.Y})
			bv.GridRows = max(bv.GridRows, r.Y+1)
		}
		for _, p := range b.Panels {
			pv, err := panel(ctx, b, p, query, logQuery)
			if err != nil {
				return nil, err
			}
			bv.Panels = append(bv.Panels, pv)
			bv.GridRows = max(bv.GridRows, p.Y+p.H)
		}
		views = append(views, bv)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct {
		Page   Page
		Boards []boardView
	}{page, views}); err != nil {
		return nil, fmt.Errorf("render preview: %w", err)
	}
	return buf.Bytes(), nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// rank orders colours by severity for a panel's summary border.
var rank = map[string]int{"": 0, "text": 0, "green": 1, "orange": 2, "red": 3}

func panel(ctx context.Context, b *boardcheck.Board, p boardcheck.Panel, query boardcheck.Query, logQuery boardcheck.LogQuery) (panelView, error) {
	pv := panelView{Title: p.Title, Description: p.Description, Type: p.Type, X: p.X, Y: p.Y, W: p.W, H: p.H, Empty: "No data"}
	if p.NoValue != "" {
		pv.Empty = p.NoValue
	}
	for _, t := range p.Targets {
		expr, err := b.Resolve(t.Expr)
		if err != nil {
			return pv, fmt.Errorf("%s: %s: %w", b.Path, p.Where(&t), err)
		}
		qv := queryView{RefID: t.RefID, Kind: t.Kind, Expr: expr}
		if t.Kind == "logql" && logQuery == nil {
			qv.Note = "LogQL over Loki: not run here"
			pv.Queries = append(pv.Queries, qv)
			continue
		}
		pv.Queries = append(pv.Queries, qv)
		var v series.Vector
		if t.Kind == "logql" {
			res, err := logQuery(ctx, expr)
			if err != nil {
				return pv, fmt.Errorf("%s: %s: %w", b.Path, p.Where(&t), err)
			}
			if res.IsLog {
				pv.Lines, pv.LineNote = lines(res.Streams)
				continue
			}
			v = res.Vector
		} else {
			var err error
			if v, err = query(ctx, expr); err != nil {
				return pv, fmt.Errorf("%s: %s: %w", b.Path, p.Where(&t), err)
			}
		}
		for _, s := range v {
			c := p.Colour(s.V)
			if len(p.Thresholds) == 0 || p.Type == "timeseries" {
				c = ""
			}
			pv.Values = append(pv.Values, valueView{Name: legend(t.Legend, s.Labels), Text: format(s.V, p.Unit), Colour: c})
			if rank[c] > rank[pv.Status] {
				pv.Status = c
			}
		}
	}
	if len(pv.Values) == 0 && len(pv.Queries) > 0 && pv.Queries[0].Kind == "logql" && logQuery == nil {
		pv.Empty = "Logs from Loki (not run)"
	}
	sort.SliceStable(pv.Values, func(i, j int) bool { return pv.Values[i].Name < pv.Values[j].Name })
	return pv, nil
}

// lines returns the newest shownLines lines of a log query's streams,
// newest first, and a note saying how many there are.
func lines(streams []logstream.Stream) ([]lineView, string) {
	type entry struct {
		e      logstream.Entry
		labels series.Labels
	}
	var all []entry
	for _, s := range streams {
		for _, e := range s.Entries {
			all = append(all, entry{e, s.Labels})
		}
	}
	if len(all) == 0 {
		return nil, ""
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].e.T.After(all[j].e.T) })
	note := "1 line in the last hour:"
	if len(all) > 1 {
		more := ""
		if len(all) >= lineLimit {
			more = "at least "
		}
		note = fmt.Sprintf("%s%d lines in the last hour; the newest %d:", more, len(all), min(shownLines, len(all)))
	}
	var out []lineView
	for _, x := range all[:min(shownLines, len(all))] {
		var ls []string
		for _, l := range x.labels {
			if l.Name != "job" {
				ls = append(ls, l.Name+"="+l.Value)
			}
		}
		out = append(out, lineView{Time: x.e.T.UTC().Format("15:04:05"), Stream: strings.Join(ls, " "), Line: x.e.Line})
	}
	return out, note
}

var legendRef = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// legend renders a legendFormat as Grafana does; without one, the labels.
func legend(format string, ls series.Labels) string {
	if format == "" {
		var parts []string
		for _, l := range ls {
			if l.Name != "__name__" {
				parts = append(parts, l.Name+"="+l.Value)
			}
		}
		return strings.Join(parts, ", ")
	}
	return legendRef.ReplaceAllStringFunc(format, func(m string) string {
		return ls.Get(legendRef.FindStringSubmatch(m)[1])
	})
}

// format renders v in the panel's unit, roughly as Grafana does.
func format(v float64, unit string) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	switch unit {
	case "s":
		return duration(v)
	case "percentunit":
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	case "bytes":
		return bytesIEC(v)
	case "Bps":
		return bytesIEC(v) + "/s"
	case "celsius":
		return strconv.FormatFloat(v, 'f', 0, 64) + " °C"
	case "fps":
		return strconv.FormatFloat(v, 'f', 1, 64) + " fps"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func duration(sec float64) string {
	neg := ""
	if sec < 0 {
		neg, sec = "-", -sec
	}
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= 48*time.Hour:
		return neg + strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
	case d >= time.Hour:
		return neg + strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " hours"
	case d >= time.Minute:
		return neg + strconv.FormatFloat(d.Minutes(), 'f', 1, 64) + " min"
	}
	return neg + strconv.FormatFloat(sec, 'f', 1, 64) + " s"
}

func bytesIEC(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

var tmpl = template.Must(template.New("preview").Funcs(template.FuncMap{
	"add": func(a, b uint32) uint32 { return a + b },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Page.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;background:#111217;color:#ccccdc;margin:0;padding:16px}
a{color:#6e9fff}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 4px;border-top:1px solid #333;padding-top:16px}
.note{color:#8e8ea0;font-size:13px;margin:0 0 8px}
nav a{margin-right:12px}
.grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:30px;gap:6px}
.row{grid-column:1/span 24;font-weight:600;font-size:15px;align-self:end;border-bottom:1px solid #2c2d33}
.panel{background:#181b1f;border:1px solid #2c2d33;border-radius:4px;padding:6px 8px;overflow:auto;font-size:12px}
.panel.s-red{border-color:#f2495c}.panel.s-orange{border-color:#ff9830}
.ptitle{font-weight:600;font-size:13px;margin-bottom:4px}
.ptype{color:#8e8ea0;font-weight:400;font-size:11px}
.vals{display:flex;flex-wrap:wrap;gap:4px}
.v{padding:4px 6px;border-radius:3px;background:#22252b;min-width:60px}
.v b{display:block;font-size:16px}
.v.c-green{background:#1a7f4b;color:#fff}.v.c-red{background:#c4162a;color:#fff}.v.c-orange{background:#d67a10;color:#fff}.v.c-text{background:#22252b}
table.vals{display:table;border-collapse:collapse;width:100%}
table.vals td{border-bottom:1px solid #2c2d33;padding:2px 4px}
table.lines td{font-family:monospace;font-size:11px;vertical-align:top;white-space:nowrap}table.lines td:last-child{white-space:normal;word-break:break-all}
table.vals td.c-red{color:#ff7383;font-weight:600}table.vals td.c-green{color:#73bf69}table.vals td.c-orange{color:#ff9830}
.empty{color:#8e8ea0;font-style:italic}
details{margin-top:4px;color:#8e8ea0}
pre{white-space:pre-wrap;font-size:11px;margin:2px 0;color:#b8b8c8}
</style>
</head>
<body>
<h1>{{.Page.Title}}</h1>
<p class="note">{{.Page.Note}}</p>
<nav>{{range .Page.Nav}}<a href="{{index . 1}}">{{index . 0}}</a>{{end}}</nav>
<nav>{{range .Boards}}<a href="#{{.UID}}">{{.Title}}</a>{{end}}</nav>
{{range .Boards}}
<h2 id="{{.UID}}">{{.Title}} <span class="ptype">{{.UID}}</span></h2>
<p class="note">{{.Description}}</p>
<div class="grid">
{{range .Rows}}<div class="row" style="grid-row:{{add .Y 1}}">{{.Title}}</div>
{{end}}{{range .Panels}}<div class="panel{{if .Status}} s-{{.Status}}{{end}}" style="grid-column:{{add .X 1}}/span {{.W}};grid-row:{{add .Y 1}}/span {{.H}}" title="{{.Description}}">
<div class="ptitle">{{.Title}} <span class="ptype">{{.Type}}</span></div>
{{if .Lines}}<div class="note">{{.LineNote}}</div><table class="vals lines">{{range .Lines}}<tr><td>{{.Time}}</td><td>{{.Stream}}</td><td>{{.Line}}</td></tr>{{end}}</table>
{{else if .Values}}{{if eq .Type "table"}}<table class="vals">{{range .Values}}<tr><td>{{.Name}}</td><td class="c-{{.Colour}}">{{.Text}}</td></tr>{{end}}</table>
{{else}}<div class="vals">{{range .Values}}<div class="v{{if .Colour}} c-{{.Colour}}{{end}}">{{.Name}}<b>{{.Text}}</b></div>{{end}}</div>
{{end}}{{else}}<div class="empty">{{.Empty}}</div>
{{end}}<details><summary>queries</summary>{{range .Queries}}<pre>{{.RefID}} ({{.Kind}}): {{.Expr}}{{if .Note}}
— {{.Note}}{{end}}</pre>{{end}}</details>
</div>
{{end}}
</div>
{{end}}
</body>
</html>
`))

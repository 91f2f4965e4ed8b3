// Package knownmetrics is the list of metric names hlalert's rules and
// dashboards may read: third-party exporters' metrics (thirdparty.yaml,
// each with the exporter version it was verified against and its source),
// hlexporter's catalog (from the collectors' own definitions) and hlalert's
// own metrics. `hlalert check` warns on a rule that reads a name in none of
// them and suggests the closest known name.
//
//	c, err := knownmetrics.New()
//	c = c.With(knownmetrics.Metric{Name: "job:up:sum", Type: knownmetrics.Recorded})
//	if _, ok := c.Lookup(name); !ok {
//		fmt.Printf("unknown metric %s%s\n", name, c.Suggest(name))
//	}
package knownmetrics

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/exporters/backup"
	"github.com/hlalert/hlalert/exporters/deploy"
	"github.com/hlalert/hlalert/exporters/nvr"
	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/smart"
	"github.com/hlalert/hlalert/exporters/zfs"
)

// Metric types beyond the exposition format's.
const (
	// Recorded is a recording rule's output.
	Recorded = "recorded"
	// Synthetic is a series the rule evaluator writes itself (ALERTS,
	// ALERTS_FOR_STATE).
	Synthetic = "synthetic"
)

// Exporter names of the built-in sources.
const (
	ExporterHlexporter = "hlexporter"
	ExporterHlalert    = "hlalert"
	ExporterRules      = "rule evaluator"
)

// Metric is one known metric name.
type Metric struct {
	Name     string
	Type     string // counter, gauge, histogram, summary, untyped, info, stateset, recorded, synthetic
	Exporter string
	Version  string // of the exporter the name was verified against; empty for this repository's own
	Source   string // URL (third party) or what defines it here
}

// Catalog answers whether a metric name is known.
type Catalog struct {
	byName map[string]Metric
	names  []string // sorted, for Suggest
}

//go:embed thirdparty.yaml
var thirdPartyYAML []byte

type thirdPartyFile struct {
	Exporters []struct {
		Exporter string `yaml:"exporter"`
		Version  string `yaml:"version"`
		URL      string `yaml:"url"`
		Metrics  []struct {
			Name   string `yaml:"name"`
			Type   string `yaml:"type"`
			Source string `yaml:"source"`
		} `yaml:"metrics"`
	} `yaml:"exporters"`
}

// ThirdParty decodes the declared third-party metrics (strictly: an
// unknown key or a metric without name, type or source is an error).
func ThirdParty() ([]Metric, error) {
	return decodeThirdParty(thirdPartyYAML)
}

func decodeThirdParty(data []byte) ([]Metric, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f thirdPartyFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("knownmetrics: thirdparty.yaml: %w", err)
	}
	var out []Metric
	for i, e := range f.Exporters {
		if e.Exporter == "" || e.Version == "" || e.URL == "" {
			return nil, fmt.Errorf("knownmetrics: thirdparty.yaml: exporters[%d]: exporter, version and url are required", i)
		}
		for j, m := range e.Metrics {
			if m.Name == "" || m.Type == "" || m.Source == "" {
				return nil, fmt.Errorf("knownmetrics: thirdparty.yaml: %s: metrics[%d]: name, type and source are required", e.Exporter, j)
			}
			out = append(out, Metric{Name: m.Name, Type: m.Type, Exporter: e.Exporter, Version: e.Version, Source: e.URL + m.Source})
		}
	}
	return out, nil
}

// Hlexporter lists hlexporter's metrics from the collectors' definitions
// (what exporters/catalog.md is generated from).
func Hlexporter() []Metric {
	var out []Metric
	add := func(what string, defs []*serve.MetricDef) {
		for _, d := range defs {
			out = append(out, Metric{Name: d.Name, Type: string(d.Type), Exporter: ExporterHlexporter, Source: what})
		}
	}
	add("exporters/serve", serve.ServingMetricDefs())
	add("exporters/zfs", zfs.Metrics())
	add("exporters/smart", smart.Metrics())
	add("exporters/backup", backup.Metrics())
	add("exporters/deploy", deploy.Metrics())
	add("exporters/nvr", nvr.Metrics())
	return out
}

// New builds the catalog of third-party, hlexporter, hlalert and
// rule-evaluator (ALERTS, ALERTS_FOR_STATE) metrics.
func New() (*Catalog, error) {
	tp, err := ThirdParty()
	if err != nil {
		return nil, err
	}
	c := &Catalog{byName: map[string]Metric{}}
	all := slices.Concat(tp, Hlexporter(), Hlalert(), []Metric{
		{Name: "ALERTS", Type: Synthetic, Exporter: ExporterRules, Source: "alerts/rule"},
		{Name: "ALERTS_FOR_STATE", Type: Synthetic, Exporter: ExporterRules, Source: "alerts/rule"},
	})
	for _, m := range all {
		if prev, dup := c.byName[m.Name]; dup {
			return nil, fmt.Errorf("knownmetrics: %s is declared by both %s and %s", m.Name, prev.Exporter, m.Exporter)
		}
		c.byName[m.Name] = m
	}
	c.sortNames()
	return c, nil
}

func (c *Catalog) sortNames() {
	c.names = c.names[:0]
	for n := range c.byName {
		c.names = append(c.names, n)
	}
	slices.Sort(c.names)
}

// With returns a copy of the catalog with extra metrics, e.g. the outputs
// of the recording rules being checked (Type Recorded). An extra metric
// does not replace a known one of the same name.
func (c *Catalog) With(extra ...Metric) *Catalog {
	n := &Catalog{byName: make(map[string]Metric, len(c.byName)+len(extra))}
	for k, v := range c.byName {
		n.byName[k] = v
	}
	for _, m := range extra {
		if _, ok := n.byName[m.Name]; !ok {
			n.byName[m.Name] = m
		}
	}
	n.sortNames()
	return n
}

// Lookup finds a metric by the name a query uses: the name itself, or a
// histogram's or summary's _bucket, _sum or _count series, or a counter's
// _created series.
func (c *Catalog) Lookup(name string) (Metric, bool) {
	if m, ok := c.byName[name]; ok {
		return m, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count", "_created"} {
		base, ok := strings.CutSuffix(name, suf)
		if !ok {
			continue
		}
		m, ok := c.byName[base]
		if !ok {
			continue
		}
		switch {
		case m.Type == "histogram" && suf != "_created",
			m.Type == "summary" && (suf == "_sum" || suf == "_count"):
			return m, true
		}
	}
	if base, ok := strings.CutSuffix(name, "_created"); ok {
		if m, ok := c.byName[base+"_total"]; ok && m.Type == "counter" {
			return m, true
		}
	}
	return Metric{}, false
}

// Suggest returns ` (did you mean X?)` with the known name closest to name
// by edit distance, or "" when none is close (more than a third of the
// name's length away).
func (c *Catalog) Suggest(name string) string {
	best, bestD := "", len(name)/3+1
	for _, n := range c.names {
		if d := abs(len(n) - len(name)); d >= bestD {
			continue
		}
		if d := distance(name, n, bestD); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// distance is the Levenshtein distance of a and b, or limit when it is at
// least limit.
func distance(a, b string, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

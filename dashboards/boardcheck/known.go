package boardcheck

import (
	"fmt"

	"github.com/hlalert/hlalert/alerts/knownmetrics"
	"github.com/hlalert/hlalert/alerts/rulefmt"
)

// Known is the set of metric names a board may read: the project-wide
// catalog of alerts/knownmetrics (hlexporter's catalog, hlalert's own
// metrics and ALERTS, the declared third-party metrics with their versions)
// and the recording rules of the given rule files.
type Known struct {
	cat *knownmetrics.Catalog
}

// Has reports whether name is known.
func (k *Known) Has(name string) bool { _, ok := k.cat.Lookup(name); return ok }

// Source says where a known name comes from ("" if unknown): the exporter
// and its version, or the recording rule's position.
func (k *Known) Source(name string) string {
	m, ok := k.cat.Lookup(name)
	if !ok {
		return ""
	}
	if m.Version != "" {
		return m.Exporter + " " + m.Version
	}
	if m.Type == "recorded" {
		return "recording rule at " + m.Source
	}
	return m.Exporter
}

// Suggest is " (did you mean NAME?)" for the closest known metric, "" when
// none is close.
func (k *Known) Suggest(name string) string { return k.cat.Suggest(name) }

// NewKnown builds the known names with the recording rules of ruleFiles.
func NewKnown(ruleFiles []*rulefmt.File) (*Known, error) {
	cat, err := knownmetrics.New()
	if err != nil {
		return nil, fmt.Errorf("known metrics: %w", err)
	}
	var rec []knownmetrics.Metric
	for _, f := range ruleFiles {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					rec = append(rec, knownmetrics.Metric{Name: r.Record, Type: "recorded", Exporter: knownmetrics.ExporterRules, Source: r.Pos.String()})
				}
			}
		}
	}
	return &Known{cat: cat.With(rec...)}, nil
}

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

package serve

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// family is one metric family already encoded in the text exposition
// format. A collector's families are encoded once per update, so a scrape
// copies bytes instead of re-gathering and re-encoding every sample.
type family struct {
	name string
	text []byte
}

// textFormat is the exposition format /metrics serves (Prometheus text
// 0.0.4, which Prometheus and VictoriaMetrics both read).
var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// encodeFamilies gathers metrics, each of which must come from defs, into
// text-encoded families sorted by name. It refuses what a pedantic registry
// refuses (duplicate series, label values not matching their definition),
// so a bad update fails when it is made, not at every scrape.
func encodeFamilies(defs []*MetricDef, metrics []prometheus.Metric) ([]family, error) {
	if len(metrics) == 0 {
		return nil, nil
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(staticCollector{defs, metrics}); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	return encodeGathered(mfs)
}

func encodeGathered(mfs []*dto.MetricFamily) ([]family, error) {
	out := make([]family, 0, len(mfs))
	for _, mf := range mfs {
		var b bytes.Buffer
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return nil, fmt.Errorf("encode %s: %w", mf.GetName(), err)
		}
		out = append(out, family{name: mf.GetName(), text: b.Bytes()})
	}
	return out, nil
}

// staticCollector serves a fixed list of metrics.
type staticCollector struct {
	defs    []*MetricDef
	metrics []prometheus.Metric
}

func (c staticCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.defs {
		ch <- d.Desc()
	}
}

func (c staticCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics {
		ch <- m
	}
}

// servingFamilies encodes hlexporter_collector_* for the collectors that
// have updated at least once, in collector-name order (as a registry would
// sort them).
func (s *Server) servingFamilies() []family {
	type row struct {
		name                   string
		success, dur, lastSucc float64
	}
	var rows []row
	for _, j := range s.jobs {
		j.mu.RLock()
		if j.updated {
			r := row{name: j.name, dur: j.duration.Seconds()}
			if j.success {
				r.success = 1
			}
			if !j.lastSuccess.IsZero() {
				r.lastSucc = float64(j.lastSuccess.UnixNano()) / 1e9
			}
			rows = append(rows, r)
		}
		j.mu.RUnlock()
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.name, b.name) })
	out := make([]family, 0, len(servingDefs))
	for i, d := range servingDefs {
		mf := &dto.MetricFamily{Name: &servingDefs[i].name, Help: &servingDefs[i].help, Type: dto.MetricType_GAUGE.Enum()}
		for _, r := range rows {
			v := [...]float64{r.success, r.dur, r.lastSucc}[i]
			mf.Metric = append(mf.Metric, &dto.Metric{
				Label: []*dto.LabelPair{{Name: strPtr("collector"), Value: strPtr(r.name)}},
				Gauge: &dto.Gauge{Value: &v},
			})
		}
		var b bytes.Buffer
		// The names, help and labels are constants and the values numbers:
		// encoding cannot fail.
		_, _ = expfmt.MetricFamilyToText(&b, mf)
		out = append(out, family{name: d.name, text: b.Bytes()})
	}
	return out
}

func strPtr(s string) *string { return &s }

// families returns the serving families and every collector's cached ones
// (plus extra, e.g. the Go runtime's), sorted by name.
func (s *Server) families(extra []family) []family {
	out := append(s.servingFamilies(), extra...)
	for _, j := range s.jobs {
		j.mu.RLock()
		if j.updated {
			out = append(out, j.encoded...)
		}
		j.mu.RUnlock()
	}
	slices.SortStableFunc(out, func(a, b family) int { return strings.Compare(a.name, b.name) })
	return out
}

// WriteExposition writes what /metrics serves, without the Go runtime and
// process metrics: the hlexporter_collector_* families and each collector's
// last good result, in the text format, families sorted by name.
func (s *Server) WriteExposition(w io.Writer) error {
	return writeFamilies(w, s.families(nil))
}

func writeFamilies(w io.Writer, fams []family) error {
	for _, f := range fams {
		if _, err := w.Write(f.text); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}

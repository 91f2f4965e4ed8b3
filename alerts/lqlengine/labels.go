package lqlengine

import (
	"slices"
	"strings"

	"github.com/hlalert/hlalert/alerts/series"
)

// The error labels Loki sets in a pipeline.
const (
	errorLabel         = "__error__"
	errorDetailsLabel  = "__error_details__"
	preserveErrorLabel = "__preserve_error__"
	duplicateSuffix    = "_extracted"

	errJSON             = "JSONParserErr"
	errLogfmt           = "LogfmtParserErr"
	errSampleExtraction = "SampleExtractionErr"
	errLabelFilter      = "LabelFilterErr"
	errTemplateFormat   = "TemplateFormatErr"
)

// hints are Loki's parser hints: in a metric query that groups by some
// labels (or keeps none), parsers extract only the labels the query needs,
// keep the first value of a repeated key and stop once they have them all.
// The query results depend on it (a parser that stops early misses a
// malformed tail), so the engine follows the same rules.
type hints struct {
	active      bool // requiredLabels apply
	noLabels    bool
	required    []string
	preserveErr bool
	extracted   map[string]bool
}

func (h *hints) reset() { clear(h.extracted) }

func (h *hints) shouldExtract(k string) bool {
	if !h.active || len(h.required) == 0 {
		return true
	}
	return slices.Contains(h.required, k)
}

func (h *hints) shouldExtractPrefix(prefix string) bool {
	if !h.active || len(h.required) == 0 {
		return true
	}
	for _, l := range h.required {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func (h *hints) wasExtracted(k string) bool { return h.extracted[k] }

func (h *hints) recordExtracted(k string) {
	if h.extracted == nil {
		h.extracted = map[string]bool{}
	}
	h.extracted[k] = true
}

func (h *hints) allRequiredExtracted() bool {
	if !h.active || len(h.required) == 0 || len(h.extracted) < len(h.required) {
		return false
	}
	for _, l := range h.required {
		if !h.extracted[l] {
			return false
		}
	}
	return true
}

func (h *hints) skipParsing() bool { return h.noLabels || h.allRequiredExtracted() }

// newHints mirrors Loki's NewParserHint.
func newHints(required, groups []string, without, noLabels bool, metricLabel string) *hints {
	var hs []string
	add := func(ls ...string) {
		for _, l := range ls {
			hs = append(hs, l)
			if strings.HasSuffix(l, duplicateSuffix) {
				hs = append(hs, strings.TrimSuffix(l, duplicateSuffix))
			}
		}
	}
	add(required...)
	add(groups...)
	add(metricLabel)
	var uniq []string
	for _, h := range hs {
		if h != "" && !slices.Contains(uniq, h) {
			uniq = append(uniq, h)
		}
	}
	if noLabels {
		if len(uniq) > 0 {
			return &hints{active: true, required: uniq, preserveErr: slices.Contains(uniq, errorLabel)}
		}
		return &hints{noLabels: true}
	}
	if without || len(groups) == 0 {
		return &hints{}
	}
	return &hints{active: true, required: uniq, preserveErr: slices.Contains(uniq, errorLabel)}
}

// builder is the label set of one line as the pipeline changes it: the
// stream's labels, the labels stages added (parsed, in order), the names
// they deleted and the error labels.
type builder struct {
	base       series.Labels
	added      []series.Label
	del        []string
	err        string
	errDetails string
	h          *hints
}

func (b *builder) reset(base series.Labels) {
	b.base = base
	b.added = b.added[:0]
	b.del = b.del[:0]
	b.err, b.errDetails = "", ""
	b.h.reset()
}

func (b *builder) baseHas(k string) bool { return b.base.Has(k) }

func (b *builder) addedHas(k string) bool {
	for _, l := range b.added {
		if l.Name == k {
			return true
		}
	}
	return false
}

func (b *builder) get(k string) (string, bool) {
	for _, l := range b.added {
		if l.Name == k {
			return l.Value, true
		}
	}
	if slices.Contains(b.del, k) {
		return "", false
	}
	if v := b.base.Get(k); v != "" {
		return v, true
	}
	return "", false
}

func (b *builder) set(k, v string) {
	for i := range b.added {
		if b.added[i].Name == k {
			b.added[i].Value = v
			return
		}
	}
	b.added = append(b.added, series.Label{Name: k, Value: v})
	b.h.recordExtracted(k)
}

func (b *builder) delete(k string) {
	b.added = slices.DeleteFunc(b.added, func(l series.Label) bool { return l.Name == k })
	b.del = append(b.del, k)
}

// setErr sets the error labels as Loki's label filters, templates and
// unwrap do.
func (b *builder) setErr(e, details string) {
	b.err = e
	b.errDetails = details
}

// addParserErr sets the error labels as Loki's parsers do (addErrLabel).
func (b *builder) addParserErr(e string, details error) {
	b.err = e
	if details != nil {
		b.errDetails = details.Error()
	}
	if b.h.preserveErr {
		b.set(preserveErrorLabel, "true")
	}
}

func (b *builder) changed() bool { return len(b.added) > 0 || len(b.del) > 0 }

// all returns every label, sorted, with the error labels.
func (b *builder) all() series.Labels {
	out := make(series.Labels, 0, len(b.base)+len(b.added)+2)
	for _, l := range b.base {
		if slices.Contains(b.del, l.Name) || b.addedHas(l.Name) {
			continue
		}
		out = append(out, l)
	}
	out = append(out, b.added...)
	if b.err != "" {
		out = append(out, series.Label{Name: errorLabel, Value: b.err})
	}
	if b.errDetails != "" {
		out = append(out, series.Label{Name: errorDetailsLabel, Value: b.errDetails})
	}
	out.Sort()
	return out
}

// templateData is the map templates read: every label with the errors.
func (b *builder) templateData() map[string]string {
	m := make(map[string]string, len(b.base)+len(b.added)+2)
	for _, l := range b.all() {
		m[l.Name] = l.Value
	}
	return m
}

// grouping describes how sample labels are reduced at the source.
type grouping struct {
	groups   []string // sorted
	without  bool
	noLabels bool
}

// grouped mirrors Loki's GroupedLabels.
func (b *builder) grouped(g grouping) series.Labels {
	if b.err != "" {
		return b.all()
	}
	if g.noLabels {
		return series.Labels{}
	}
	if !b.changed() {
		if len(g.groups) == 0 {
			return b.base
		}
		out := series.Labels{}
		for _, l := range b.base {
			if slices.Contains(g.groups, l.Name) != g.without {
				out = append(out, l)
			}
		}
		return out
	}
	if len(g.groups) == 0 {
		return b.all()
	}
	out := series.Labels{}
	if g.without {
		for _, l := range b.base {
			if slices.Contains(b.del, l.Name) || b.addedHas(l.Name) || slices.Contains(g.groups, l.Name) {
				continue
			}
			out = append(out, l)
		}
		for _, l := range b.added {
			if !slices.Contains(g.groups, l.Name) {
				out = append(out, l)
			}
		}
		out.Sort()
		return out
	}
	for _, gname := range g.groups {
		if slices.Contains(b.del, gname) {
			continue
		}
		found := false
		for _, l := range b.added {
			if l.Name == gname {
				out = append(out, l)
				found = true
				break
			}
		}
		if !found {
			if v := b.base.Get(gname); v != "" {
				out = append(out, series.Label{Name: gname, Value: v})
			}
		}
	}
	out.Sort()
	return out
}

package rule

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/hlalert/hlalert/alerts/tmpl"
)

// VMTemplates parses templates with alerts/tmpl, vmalert's template language.
//
// The text is fully checked here, but the parsed form is not kept: it is
// re-created on the first Execute and dropped again by the rule when its
// query returns nothing (see AlertingRule.Eval). A parsed vmalert template
// holds its header variables and function tables (about 11 KiB), and most
// rules of a large rule set have no active alert, so keeping all of them
// parsed made up most of the daemon's live heap with 500 rules.
func VMTemplates(name, text string) (Template, error) {
	if _, err := tmpl.Parse(name, text); err != nil {
		return nil, err
	}
	return &vmTemplate{name: name, text: text}, nil
}

// vmTemplate is a checked template whose parsed form is made on demand.
type vmTemplate struct {
	name, text string
	parsed     atomic.Pointer[tmpl.Template] // nil: not parsed or released
}

func (v *vmTemplate) get() (*tmpl.Template, error) {
	if t := v.parsed.Load(); t != nil {
		return t, nil
	}
	t, err := tmpl.Parse(v.name, v.text)
	if err != nil {
		// The text was checked by VMTemplates; parsing is deterministic.
		return nil, fmt.Errorf("template %s: re-parse: %w", v.name, err)
	}
	v.parsed.Store(t)
	return t, nil
}

// release drops the parsed form; the next Execute parses again.
func (v *vmTemplate) release() { v.parsed.Store(nil) }

func (v *vmTemplate) Execute(ctx context.Context, d TemplateData, q TemplateQueryFunc) (string, error) {
	t, err := v.get()
	if err != nil {
		return "", err
	}
	return t.Execute(ctx, tmpl.Data{
		Labels: d.Labels, Value: d.Value, Expr: d.Expr, ActiveAt: d.ActiveAt, For: d.For,
		AlertID: d.AlertID, GroupID: d.GroupID, ExternalLabels: d.ExternalLabels, ExternalURL: d.ExternalURL,
		Type: "prometheus", Interval: d.Interval, Now: d.Now,
	}, tmpl.QueryFunc(q))
}

// releaser is a Template that can drop state it re-creates on demand.
type releaser interface{ release() }

// releaseTemplates lets the rule's templates drop their parsed forms; it is
// called when the rule's query returned nothing, so no template ran.
func (ar *AlertingRule) releaseTemplates() {
	for _, fs := range [][]tmplField{ar.labels, ar.annotations} {
		for _, f := range fs {
			if r, ok := f.t.(releaser); ok {
				r.release()
			}
		}
	}
}

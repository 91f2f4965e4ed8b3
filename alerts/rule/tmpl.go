package rule

import (
	"context"

	"github.com/hlalert/hlalert/alerts/tmpl"
)

// VMTemplates parses templates with alerts/tmpl, vmalert's template language.
func VMTemplates(name, text string) (Template, error) {
	t, err := tmpl.Parse(name, text)
	if err != nil {
		return nil, err
	}
	return vmTemplate{t}, nil
}

type vmTemplate struct{ t *tmpl.Template }

func (v vmTemplate) Execute(ctx context.Context, d TemplateData, q TemplateQueryFunc) (string, error) {
	return v.t.Execute(ctx, tmpl.Data{
		Labels: d.Labels, Value: d.Value, Expr: d.Expr, ActiveAt: d.ActiveAt, For: d.For,
		AlertID: d.AlertID, GroupID: d.GroupID, ExternalLabels: d.ExternalLabels, ExternalURL: d.ExternalURL,
		Type: "prometheus", Interval: d.Interval, Now: d.Now,
	}, tmpl.QueryFunc(q))
}

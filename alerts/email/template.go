package email

import (
	"bytes"
	_ "embed"
	"fmt"
	tmplhtml "html/template"
	"strconv"
	"strings"
	tmpltext "text/template"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/hlalert/hlalert/alerts/notify"
)

//go:embed default.tmpl
var defaultTemplates []byte

// Data is what the e-mail templates see: Alertmanager's template.Data
// (Receiver, Status, Alerts, GroupLabels, CommonLabels, CommonAnnotations,
// ExternalURL) plus hlalert's GrafanaURL and GroupKey.
type Data struct {
	*amtemplate.Data
	GrafanaURL string
	GroupKey   string
}

// Templates renders e-mails with Alertmanager's template package: its
// functions and default templates, hlalert's defaults (default.tmpl) and
// the operator's template files, in that order, so a file can redefine
// any named template.
type Templates struct {
	t *amtemplate.Template
}

// extra functions: quote (Go-quoted, one line), oneLine (control
// characters to spaces), indent (continuation lines indented), utc.
func extraFuncs() map[string]any {
	return map[string]any{
		"quote":   strconv.Quote,
		"oneLine": oneLine,
		"indent": func(prefix, s string) string {
			lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
			for i, l := range lines {
				lines[i] = oneLine(l)
			}
			return strings.Join(lines, "\n"+prefix)
		},
		"utc": func(t time.Time) string {
			if t.IsZero() {
				return "(unknown)"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
	}
}

// NewTemplates loads the templates; files are globs (relative ones
// against baseDir).
func NewTemplates(baseDir string, files ...string) (*Templates, error) {
	t, err := amtemplate.FromGlobs(nil, func(text *tmpltext.Template, html *tmplhtml.Template) {
		text.Funcs(extraFuncs())
		html.Funcs(extraFuncs())
	})
	if err != nil {
		return nil, fmt.Errorf("load alertmanager templates: %w", err)
	}
	if err := t.Parse(bytes.NewReader(defaultTemplates)); err != nil {
		return nil, fmt.Errorf("parse default.tmpl: %w", err)
	}
	for _, f := range files {
		f = resolve(baseDir, f)
		if err := t.FromGlob(f); err != nil {
			return nil, fmt.Errorf("template file %s: %w", f, err)
		}
	}
	return &Templates{t: t}, nil
}

// NewData builds the template data of a batch.
func NewData(b notify.Batch, grafanaURL string) *Data {
	d := &amtemplate.Data{
		Receiver:          b.Receiver,
		Status:            "resolved",
		GroupLabels:       amtemplate.KV(copyKV(b.GroupLabels)),
		CommonLabels:      amtemplate.KV{},
		CommonAnnotations: amtemplate.KV{},
		ExternalURL:       b.ExternalURL,
	}
	for i, a := range b.Alerts {
		st := a.Status
		if st != "resolved" {
			st = "firing"
			d.Status = "firing"
		}
		d.Alerts = append(d.Alerts, amtemplate.Alert{
			Status:       st,
			Labels:       amtemplate.KV(copyKV(a.Labels)),
			Annotations:  amtemplate.KV(copyKV(a.Annotations)),
			StartsAt:     a.StartsAt,
			EndsAt:       a.EndsAt,
			GeneratorURL: a.GeneratorURL,
			Fingerprint:  a.Fingerprint,
		})
		if i == 0 {
			for k, v := range a.Labels {
				d.CommonLabels[k] = v
			}
			for k, v := range a.Annotations {
				d.CommonAnnotations[k] = v
			}
			continue
		}
		for k, v := range d.CommonLabels {
			if a.Labels[k] != v {
				delete(d.CommonLabels, k)
			}
		}
		for k, v := range d.CommonAnnotations {
			if a.Annotations[k] != v {
				delete(d.CommonAnnotations, k)
			}
		}
	}
	return &Data{Data: d, GrafanaURL: grafanaURL, GroupKey: b.GroupKey}
}

func copyKV(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Rendered is a rendered e-mail: header values are one line, free of
// control characters, not yet MIME-encoded.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
	Headers [][2]string // custom headers from the config, sorted by name
}

// render executes the config's subject, headers, text and HTML templates.
// An empty subject, or empty text and HTML bodies, is an error: a
// template that renders nothing is a broken template, not a quiet mail.
func (t *Templates) render(s *settings, d *Data) (Rendered, error) {
	var r Rendered
	subj, err := t.t.ExecuteTextString(s.subject(), d)
	if err != nil {
		return r, fmt.Errorf("render subject: %w", err)
	}
	r.Subject = headerValue(subj)
	if r.Subject == "" {
		return r, fmt.Errorf("render subject: template %q rendered an empty subject", s.subject())
	}
	text, html := s.cfg.Text, s.cfg.HTML
	if text == "" && html == "" {
		text, html = DefaultText, DefaultHTML
	}
	if r.Text, err = t.t.ExecuteTextString(text, d); err != nil {
		return r, fmt.Errorf("render text body: %w", err)
	}
	if r.HTML, err = t.t.ExecuteHTMLString(html, d); err != nil {
		return r, fmt.Errorf("render html body: %w", err)
	}
	if strings.TrimSpace(r.Text) == "" && strings.TrimSpace(r.HTML) == "" {
		return r, fmt.Errorf("render body: text %q and html %q both rendered empty", text, html)
	}
	for _, h := range s.headers {
		v, err := t.t.ExecuteTextString(h[1], d)
		if err != nil {
			return r, fmt.Errorf("render header %s: %w", h[0], err)
		}
		r.Headers = append(r.Headers, [2]string{h[0], headerValue(v)})
	}
	return r, nil
}

// oneLine replaces control characters (CR, LF, TAB, DEL, C1 and Unicode
// line separators) with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// headerValue is a safe header value: one line, no control characters,
// white space collapsed, at most 900 bytes (RFC 5322 allows 998 per line
// before folding; the encoder folds long encoded words).
func headerValue(s string) string {
	s = strings.Join(strings.Fields(oneLine(s)), " ")
	if len(s) > 900 {
		cut := 900
		for cut > 0 && (s[cut]&0xc0) == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

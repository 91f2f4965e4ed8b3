package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var httpKeys = []string{"basic_auth", "bearer_token_file", "tls", "timeout"}

func (d *decoder) datasource(f field) Datasource {
	var ds Datasource
	fs, ok := d.fields(f.val, "datasource", "victoriametrics", "loki", "embedded")
	if !ok {
		return ds
	}
	if g, ok := fs["victoriametrics"]; ok {
		ds.VictoriaMetrics = d.victoriaMetrics(g.val)
	}
	if g, ok := fs["loki"]; ok {
		ds.Loki = d.loki(g.val)
	}
	if g, ok := fs["embedded"]; ok {
		ds.Embedded = d.embedded(g.val)
		if _, vm := fs["victoriametrics"]; vm {
			d.errorf(g.key, "datasource: set victoriametrics or embedded, not both (both answer MetricsQL groups)")
		}
	}
	if len(fs) == 0 {
		d.errorf(resolve(f.val), "datasource: set victoriametrics, loki or embedded")
	}
	return ds
}

func (d *decoder) victoriaMetrics(n *yaml.Node) *VictoriaMetrics {
	const what = "datasource.victoriametrics"
	fs, ok := d.fields(n, what, append([]string{"url", "params"}, httpKeys...)...)
	if !ok {
		return nil
	}
	vm := &VictoriaMetrics{}
	if f, ok := fs["url"]; ok {
		vm.URL = d.url(f.val, what+".url")
	} else {
		d.errorf(resolve(n), "%s.url: required", what)
	}
	if f, ok := fs["params"]; ok {
		vm.Params = d.params(f.val, what+".params")
	}
	vm.HTTP = d.http(fs, what)
	return vm
}

func (d *decoder) loki(n *yaml.Node) *Loki {
	const what = "datasource.loki"
	fs, ok := d.fields(n, what, append([]string{"url", "tenant"}, httpKeys...)...)
	if !ok {
		return nil
	}
	l := &Loki{}
	if f, ok := fs["url"]; ok {
		l.URL = d.url(f.val, what+".url")
	} else {
		d.errorf(resolve(n), "%s.url: required", what)
	}
	if f, ok := fs["tenant"]; ok {
		l.Tenant, _ = d.nonEmpty(f.val, what+".tenant")
	}
	l.HTTP = d.http(fs, what)
	return l
}

func (d *decoder) embedded(n *yaml.Node) *Embedded {
	const what = "datasource.embedded"
	fs, ok := d.fields(n, what, "targets")
	if !ok {
		return nil
	}
	e := &Embedded{}
	f, ok := fs["targets"]
	if !ok {
		d.errorf(resolve(n), "%s.targets: required", what)
		return e
	}
	seen := map[string]bool{}
	for i, tn := range d.list(f.val, what+".targets") {
		tw := fmt.Sprintf("%s.targets[%d]", what, i)
		tfs, ok := d.fields(tn, tw, "job", "url", "interval", "timeout", "labels")
		if !ok {
			continue
		}
		t := Target{Interval: DefaultScrapeInterval}
		if g, ok := tfs["job"]; ok {
			t.Job, _ = d.nonEmpty(g.val, tw+".job")
		} else {
			d.errorf(resolve(tn), "%s.job: required", tw)
		}
		if g, ok := tfs["url"]; ok {
			t.URL = d.url(g.val, tw+".url")
		} else {
			d.errorf(resolve(tn), "%s.url: required", tw)
		}
		if g, ok := tfs["interval"]; ok {
			if v, ok := d.positiveDuration(g.val, tw+".interval"); ok {
				t.Interval = v
			}
		}
		t.Timeout = t.Interval
		if t.Timeout > 10*time.Second {
			t.Timeout = 10 * time.Second
		}
		if g, ok := tfs["timeout"]; ok {
			if v, ok := d.positiveDuration(g.val, tw+".timeout"); ok {
				if v > t.Interval {
					d.errorf(g.val, "%s.timeout: %s is longer than the interval %s", tw, v, t.Interval)
				}
				t.Timeout = v
			}
		}
		if g, ok := tfs["labels"]; ok {
			t.Labels = d.labels(g.val, tw+".labels")
			for _, reserved := range []string{"job", "instance", "__name__"} {
				if _, bad := t.Labels[reserved]; bad {
					d.errorf(g.val, "%s.labels: %q is set by the scraper", tw, reserved)
				}
			}
		}
		key := t.Job + "\x00" + t.URL
		if t.Job != "" && t.URL != "" {
			if seen[key] {
				d.errorf(resolve(tn), "%s: job %q with url %q is listed twice", tw, t.Job, t.URL)
			}
			seen[key] = true
		}
		e.Targets = append(e.Targets, t)
	}
	return e
}

func (d *decoder) remoteWrite(n *yaml.Node) *RemoteWrite {
	const what = "remote_write"
	fs, ok := d.fields(n, what, append([]string{"url"}, httpKeys...)...)
	if !ok {
		return nil
	}
	rw := &RemoteWrite{}
	if f, ok := fs["url"]; ok {
		rw.URL = d.url(f.val, what+".url")
	} else {
		d.errorf(resolve(n), "%s.url: required", what)
	}
	rw.HTTP = d.http(fs, what)
	return rw
}

func (d *decoder) history(n *yaml.Node) *History {
	const what = "history"
	fs, ok := d.fields(n, what, append([]string{"url", "tenant"}, httpKeys...)...)
	if !ok {
		return nil
	}
	h := &History{}
	if f, ok := fs["url"]; ok {
		h.URL = d.url(f.val, what+".url")
	} else {
		d.errorf(resolve(n), "%s.url: required", what)
	}
	if f, ok := fs["tenant"]; ok {
		h.Tenant, _ = d.nonEmpty(f.val, what+".tenant")
	}
	h.HTTP = d.http(fs, what)
	return h
}

// http decodes the shared client keys of a section.
func (d *decoder) http(fs map[string]field, what string) HTTP {
	h := HTTP{Timeout: DefaultTimeout}
	if f, ok := fs["timeout"]; ok {
		if v, ok := d.positiveDuration(f.val, what+".timeout"); ok {
			h.Timeout = v
		}
	}
	if f, ok := fs["basic_auth"]; ok {
		w := what + ".basic_auth"
		if bfs, ok := d.fields(f.val, w, "username", "password_file"); ok {
			ba := &BasicAuth{}
			if g, ok := bfs["username"]; ok {
				ba.Username, _ = d.nonEmpty(g.val, w+".username")
			} else {
				d.errorf(resolve(f.val), "%s.username: required", w)
			}
			if g, ok := bfs["password_file"]; ok {
				ba.Password = d.secretFile(g.val, w+".password_file")
			} else {
				d.errorf(resolve(f.val), "%s.password_file: required (secrets are read from files)", w)
			}
			h.BasicAuth = ba
		}
	}
	if f, ok := fs["bearer_token_file"]; ok {
		h.BearerToken = d.secretFile(f.val, what+".bearer_token_file")
		if _, both := fs["basic_auth"]; both {
			d.errorf(f.key, "%s: set basic_auth or bearer_token_file, not both", what)
		}
	}
	if f, ok := fs["tls"]; ok {
		w := what + ".tls"
		if tfs, ok := d.fields(f.val, w, "ca_file", "cert_file", "key_file", "insecure_skip_verify"); ok {
			if g, ok := tfs["ca_file"]; ok {
				h.TLS.CAFile = d.existingFile(g.val, w+".ca_file")
			}
			if g, ok := tfs["cert_file"]; ok {
				h.TLS.CertFile = d.existingFile(g.val, w+".cert_file")
			}
			if g, ok := tfs["key_file"]; ok {
				h.TLS.KeyFile = d.existingFile(g.val, w+".key_file")
			}
			_, c := tfs["cert_file"]
			_, k := tfs["key_file"]
			if c != k {
				d.errorf(resolve(f.val), "%s: cert_file and key_file go together", w)
			}
			if g, ok := tfs["insecure_skip_verify"]; ok {
				h.TLS.InsecureSkipVerify, _ = d.boolean(g.val, w+".insecure_skip_verify")
			}
		}
	}
	return h
}

// params decodes extra query parameters: name → value or list of values.
func (d *decoder) params(n *yaml.Node, what string) url.Values {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return nil
	}
	out := url.Values{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		w := what + "." + k.Value
		if k.Value == "" || strings.ContainsAny(k.Value, "&= ") {
			d.errorf(k, "%s: bad parameter name %q", what, k.Value)
			continue
		}
		if k.Value == "query" || k.Value == "time" || k.Value == "step" {
			d.errorf(k, "%s: %q is set by hlalert", what, k.Value)
			continue
		}
		if v.Kind == yaml.SequenceNode {
			for _, e := range v.Content {
				if s, ok := d.str(e, w); ok {
					out.Add(k.Value, s)
				}
			}
			continue
		}
		if s, ok := d.str(v, w); ok {
			out.Add(k.Value, s)
		}
	}
	return out
}

var mechanisms = []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "XOAUTH2"}

func (d *decoder) notify(n *yaml.Node) Notify {
	const what = "notify"
	var out Notify
	if isNull(resolve(n)) {
		return out
	}
	fs, ok := d.fields(n, what, "routing_file", "templates", "grafana_url", "receivers", "alertmanager_handoff", "watchdog")
	if !ok {
		return out
	}
	if f, ok := fs["routing_file"]; ok {
		out.RoutingFile = d.existingFile(f.val, what+".routing_file")
	}
	if f, ok := fs["templates"]; ok {
		for _, tn := range d.list(f.val, what+".templates") {
			s, ok := d.nonEmpty(tn, what+".templates")
			if !ok {
				continue
			}
			if _, err := filepath.Match(s, ""); err != nil {
				d.errorf(tn, "%s.templates: bad glob %q: %v", what, s, err)
				continue
			}
			p := d.path(s)
			if m, _ := filepath.Glob(p); len(m) == 0 {
				d.errorf(tn, "%s.templates: %q matches no file", what, s)
				continue
			}
			out.Templates = append(out.Templates, p)
		}
	}
	if f, ok := fs["grafana_url"]; ok {
		out.GrafanaURL = d.url(f.val, what+".grafana_url")
	}
	if f, ok := fs["receivers"]; ok {
		rn := resolve(f.val)
		if rn.Kind != yaml.MappingNode {
			d.errorf(rn, "%s.receivers: expected a mapping of receiver names, got %s", what, kindName(rn))
		} else {
			out.Receivers = map[string]ReceiverExtras{}
			for i := 0; i+1 < len(rn.Content); i += 2 {
				k, v := rn.Content[i], rn.Content[i+1]
				w := fmt.Sprintf("%s.receivers.%s", what, k.Value)
				if _, dup := out.Receivers[k.Value]; dup {
					d.errorf(k, "%s.receivers: receiver %q set twice", what, k.Value)
					continue
				}
				out.Receivers[k.Value] = d.receiverExtras(v, w)
			}
		}
	}
	if f, ok := fs["alertmanager_handoff"]; ok {
		out.Handoff = d.handoff(f.val)
	}
	if f, ok := fs["watchdog"]; ok {
		out.Watchdog = d.watchdog(f.val)
	}
	return out
}

func (d *decoder) receiverExtras(n *yaml.Node, what string) ReceiverExtras {
	var r ReceiverExtras
	fs, ok := d.fields(n, what, "send_resolved", "auth_mechanism", "auth_token_file")
	if !ok {
		return r
	}
	if f, ok := fs["send_resolved"]; ok {
		if b, ok := d.boolean(f.val, what+".send_resolved"); ok {
			r.SendResolved = &b
		}
	}
	if f, ok := fs["auth_mechanism"]; ok {
		if s, ok := d.nonEmpty(f.val, what+".auth_mechanism"); ok {
			m := strings.ToUpper(s)
			known := false
			for _, k := range mechanisms {
				known = known || k == m
			}
			if !known {
				d.errorf(f.val, "%s.auth_mechanism: %q: want one of %s", what, s, strings.Join(mechanisms, ", "))
			} else {
				r.AuthMechanism = m
			}
		}
	}
	if f, ok := fs["auth_token_file"]; ok {
		r.AuthTokenFile = d.existingFile(f.val, what+".auth_token_file")
		if r.AuthMechanism != "XOAUTH2" {
			d.errorf(f.key, "%s.auth_token_file: only used with auth_mechanism: XOAUTH2", what)
		}
	} else if r.AuthMechanism == "XOAUTH2" {
		d.errorf(resolve(n), "%s.auth_token_file: required with auth_mechanism: XOAUTH2", what)
	}
	return r
}

func (d *decoder) handoff(n *yaml.Node) *Handoff {
	const what = "notify.alertmanager_handoff"
	fs, ok := d.fields(n, what, "urls", "bearer_token_file", "timeout")
	if !ok {
		return nil
	}
	h := &Handoff{Timeout: 10 * time.Second}
	if f, ok := fs["urls"]; ok {
		for _, un := range d.list(f.val, what+".urls") {
			if u := d.url(un, what+".urls"); u != "" {
				h.URLs = append(h.URLs, u)
			}
		}
		if rn := resolve(f.val); rn.Kind == yaml.SequenceNode && len(rn.Content) == 0 {
			d.errorf(rn, "%s.urls: at least one URL is required", what)
		}
	} else {
		d.errorf(resolve(n), "%s.urls: required", what)
	}
	if f, ok := fs["bearer_token_file"]; ok {
		h.BearerToken = d.secretFile(f.val, what+".bearer_token_file")
	}
	if f, ok := fs["timeout"]; ok {
		if v, ok := d.positiveDuration(f.val, what+".timeout"); ok {
			h.Timeout = v
		}
	}
	return h
}

func (d *decoder) watchdog(n *yaml.Node) *Watchdog {
	const what = "notify.watchdog"
	fs, ok := d.fields(n, what, "url", "method", "interval", "timeout")
	if !ok {
		return nil
	}
	w := &Watchdog{Method: "GET", Interval: time.Minute, Timeout: 10 * time.Second}
	if f, ok := fs["url"]; ok {
		w.URL = d.url(f.val, what+".url")
	} else {
		d.errorf(resolve(n), "%s.url: required", what)
	}
	if f, ok := fs["method"]; ok {
		if s, ok := d.nonEmpty(f.val, what+".method"); ok {
			switch m := strings.ToUpper(s); m {
			case "GET", "POST":
				w.Method = m
			default:
				d.errorf(f.val, "%s.method: %q: want GET or POST", what, s)
			}
		}
	}
	if f, ok := fs["interval"]; ok {
		if v, ok := d.positiveDuration(f.val, what+".interval"); ok {
			w.Interval = v
		}
	}
	if f, ok := fs["timeout"]; ok {
		if v, ok := d.positiveDuration(f.val, what+".timeout"); ok {
			w.Timeout = v
		}
	}
	return w
}
